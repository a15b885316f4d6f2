"""free_port picks a port that no outgoing connection can take before the server binds it."""

from __future__ import annotations

import random
import socket
from pathlib import Path
from typing import Any

import pytest

from engine.broker.install import EPHEMERAL_RANGE, free_port


def test_a_free_port_is_outside_the_kernels_ephemeral_range_and_can_be_bound() -> None:
    if not EPHEMERAL_RANGE.exists():
        pytest.fail("this suite runs on Linux, where the kernel publishes its ephemeral range")
    low, high = map(int, EPHEMERAL_RANGE.read_text().split())
    for _ in range(50):
        port = free_port()
        assert not low <= port <= high, f"{port} is in the ephemeral range {low}-{high}"
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))


def test_a_seeded_random_module_does_not_make_two_workers_pick_alike() -> None:
    """Hypothesis seeds `random` in each test process alike; the picks do not come from it."""
    random.seed(7)
    first = [free_port() for _ in range(5)]
    random.seed(7)
    assert [free_port() for _ in range(5)] != first


def test_a_port_in_use_is_not_picked(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        taken = held.getsockname()[1]
        picks = iter([taken, taken, 20_000])
        monkeypatch.setattr("engine.broker.install._PICK.choice",
                            lambda seq: next(picks) if isinstance(seq, range) else seq[0])
        assert free_port() != taken


def test_a_broker_whose_picked_port_was_taken_starts_again_on_others(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Kafka exiting with "Address already in use" on ports `free_port` picked is started again on
    new ones; on ports the caller named, or failing for another cause, the error stands."""
    from engine.broker import local
    from engine.broker.install import BrokerStartError
    from engine.settings import ToolSettings

    settings = ToolSettings(cache_dir=tmp_path)
    taken = BrokerStartError("Kafka exited with code 1 while starting\nCaused by: java.net.BindException: "
                             "Address already in use")
    calls: list[tuple[int | None, int | None]] = []

    def launch(timeout: float, progress: Any, port: int | None, controller_port: int | None,
               extra: Any, settings_: Any) -> Any:
        calls.append((port, controller_port))
        if len(calls) < 3:
            raise taken
        return "started"

    monkeypatch.setattr(local, "_launch", launch)
    assert local.ensure_up(settings=settings).state == "started" and len(calls) == 3
    calls.clear()
    with pytest.raises(BrokerStartError, match="Address already in use"):
        local.ensure_up(settings=settings, port=20_001, controller_port=20_002)
    assert calls == [(20_001, 20_002)]

    def broken(*_: Any) -> Any:
        calls.append((None, None))
        raise BrokerStartError("Kafka storage format failed (exit 1)")

    calls.clear()
    monkeypatch.setattr(local, "_launch", broken)
    with pytest.raises(BrokerStartError, match="storage format"):
        local.ensure_up(settings=settings)
    assert len(calls) == 1


def test_the_secure_broker_and_a_cluster_start_again_on_other_ports_the_same_way(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`on_free_ports` retries only a start whose ports were picked and were found taken, calling
    `pick_again` before each new try; the third failure stands."""
    from engine.broker import local
    from engine.broker.install import BrokerStartError

    taken = BrokerStartError("node 1 exited: failed to bind to 127.0.0.1:23456: Address already in use")
    tries: list[str] = []

    def failing(times: int) -> Any:
        def launch() -> str:
            tries.append("launch")
            if tries.count("launch") <= times:
                raise taken
            return "up"
        return launch

    assert local.on_free_ports(failing(2), None, pick_again=lambda: tries.append("pick")) == "up"
    assert tries == ["launch", "pick", "launch", "pick", "launch"]
    tries.clear()
    with pytest.raises(BrokerStartError, match="Address already in use"):
        local.on_free_ports(failing(3), None, pick_again=lambda: tries.append("pick"))
    assert tries.count("launch") == 3
    tries.clear()
    with pytest.raises(BrokerStartError):
        local.on_free_ports(failing(1), None, picked=False, pick_again=lambda: tries.append("pick"))
    assert tries == ["launch"]


def test_every_port_of_the_two_spans_is_as_likely(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Ports are drawn evenly over both spans: a span drawn first made the 4,536 ports above the
    range five times as likely as the 22,768 below, and two callers met there more often."""
    ranges = tmp_path / "ip_local_port_range"
    ranges.write_text("32768\t60999\n")
    monkeypatch.setattr("engine.broker.install.EPHEMERAL_RANGE", ranges)
    picks = [free_port() for _ in range(3_000)]
    assert all(10_000 <= port < 32_768 or 61_000 <= port < 65_536 for port in picks)
    above = sum(port >= 61_000 for port in picks) / len(picks)
    # Even: 4,536 of 27,304 ports, 16.6% (1.9 points is 3 sigma at 3,000 picks); span first: 50%.
    assert 0.12 < above < 0.22, f"{above:.1%} of the picks above the range"
