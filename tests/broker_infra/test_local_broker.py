"""Start a real local Kafka broker and check reuse, status, traffic, shutdown and start failures."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from engine.broker import cli, local
from engine.broker.install import KafkaInstallError, ensure_installed
from engine.broker.session import broker_session
from engine.settings_sources import ConfigError

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Give the module its own broker state, reusing the already installed jars."""
    # Resolved before the cache moves, so the jars come from the real cache (installed once).
    libs = ensure_installed().libs
    root = tmp_path_factory.mktemp("hazard-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HAZARD_CACHE_DIR", str(root))
        mp.setenv("HAZARD_KAFKA_LIBS", str(libs))
        mp.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
        mp.delenv("HAZARD_BROKER", raising=False)
        try:
            yield root
        finally:
            local.down(timeout=10)


@pytest.fixture(autouse=True)
def restore_structlog() -> Iterator[None]:
    """Undo the CLI's structlog setup so later tests see structlog as they left it."""
    configured = structlog.is_configured()
    yield
    if not configured:
        structlog.reset_defaults()


@pytest.fixture
def broker() -> local.UpResult:
    """Return the module's broker, starting it if an earlier test stopped it."""
    return local.ensure_up(timeout=90)


def _gone(pid: int) -> bool:
    return not local.pid_alive(pid) and not Path(f"/proc/{pid}").exists()


def test_up_twice_reuses_the_same_broker(broker: local.UpResult) -> None:
    """A second `up` finds the recorded broker alive and returns it instead of starting one."""
    again = local.ensure_up()
    assert again.started is False
    assert (again.bootstrap, again.state.pid) == (broker.bootstrap, broker.state.pid)
    assert local.up() == broker.bootstrap
    assert broker.state.start_seconds > 0


def test_status_reports_running_broker(broker: local.UpResult) -> None:
    """`status` reports the running broker's pid, bootstrap, log and uptime."""
    st = local.status()
    assert st.running
    assert (st.pid, st.bootstrap) == (broker.state.pid, broker.bootstrap)
    assert Path(st.log_path).is_file() and Path(st.data_dir).is_dir()
    assert st.uptime_seconds is not None and st.uptime_seconds >= 0


def test_produced_message_is_consumed_by_a_group(broker: local.UpResult) -> None:
    """A message produced to a new topic is read back by a consumer group."""
    topic, payload = f"roundtrip-{uuid.uuid4().hex[:8]}", b"hazard-42"

    async def roundtrip() -> bytes:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        finally:
            await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, payload)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=broker.bootstrap, group_id="t", auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            return (await consumer.getone()).value
        finally:
            await consumer.stop()

    assert asyncio.run(asyncio.wait_for(roundtrip(), 60)) == payload


def test_session_reuses_running_broker_and_leaves_it_up(broker: local.UpResult) -> None:
    """`broker_session(stop_on_exit=True)` does not stop a broker it did not start."""
    with broker_session(stop_on_exit=True) as bootstrap:
        assert bootstrap == broker.bootstrap
    assert local.status().running


def test_session_and_resolver_use_env_bootstrap_without_starting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With KAFKA_BOOTSTRAP_SERVERS set, nothing is started and the address is used as is."""
    monkeypatch.setenv("HAZARD_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.example:9092")
    assert local.resolve_bootstrap() == "kafka.example:9092"
    with broker_session() as bootstrap:
        assert bootstrap == "kafka.example:9092"
    assert not local.state_path().exists()


def test_unknown_broker_mode_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """A misspelt HAZARD_BROKER fails loudly instead of silently starting a local broker."""
    monkeypatch.setenv("HAZARD_BROKER", "testcontainer")
    with pytest.raises(ConfigError, match="HAZARD_BROKER.*'testcontainers'"), broker_session():
        pass


def test_dead_broker_is_replaced(broker: local.UpResult) -> None:
    """After the recorded broker is killed, `up` notices and starts a new one."""
    os.kill(broker.state.pid, signal.SIGKILL)
    replacement = local.ensure_up()
    assert replacement.started
    assert replacement.state.pid != broker.state.pid
    assert _gone(broker.state.pid)


def test_cli_up_prints_bootstrap_last_and_status_reads_running(
    broker: local.UpResult, capsys: pytest.CaptureFixture[str]
) -> None:
    """`broker up` ends stdout with the bootstrap address; `broker status` says running."""
    assert cli.main(["broker", "up"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == broker.bootstrap
    assert cli.main(["broker", "status"]) == 0
    out = capsys.readouterr().out
    assert "running" in out and "not running" not in out and str(broker.state.pid) in out


def test_down_stops_the_broker(broker: local.UpResult, capsys: pytest.CaptureFixture[str]) -> None:
    """`down` ends the broker process, status then says not running, and a repeat is a no-op."""
    result = local.down(timeout=20)
    assert result.stopped and result.pid == broker.state.pid
    assert _gone(broker.state.pid)
    assert not local.status().running
    assert not local.state_path().exists()
    assert cli.main(["broker", "down"]) == 0
    assert "nothing to stop" in capsys.readouterr().out
    assert cli.main(["broker", "status"]) == 0
    assert "not running" in capsys.readouterr().out


def test_session_stops_a_broker_it_started_when_asked() -> None:
    """`broker_session(stop_on_exit=True)` stops the broker when it was the one to start it."""
    local.down()
    with broker_session(stop_on_exit=True) as bootstrap:
        pid = local.status().pid
        assert pid is not None and local.status().bootstrap == bootstrap
    assert _gone(pid)
    assert not local.status().running


def test_occupied_port_raises_start_error_with_log_lines(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A broker that cannot bind a port fails fast with the broker log's cause in the error."""
    monkeypatch.setenv("HAZARD_CACHE_DIR", str(tmp_path))
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(local.BrokerStartError) as caught:
            # The controller binds first, so squatting its port fails the start soonest.
            local.ensure_up(timeout=60, controller_port=port)
    message = str(caught.value)
    assert "exited" in message
    assert f"failed to bind to 127.0.0.1:{port}" in message
    assert "[KafkaRaftServer" in message or "(kafka." in message  # genuine log lines
    assert not local.state_path().exists()
    assert not local.status().running


def test_broken_config_raises_start_error_with_log_lines(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An invalid server.properties value raises BrokerStartError quoting Kafka's complaint."""
    monkeypatch.setenv("HAZARD_CACHE_DIR", str(tmp_path))
    with pytest.raises(local.BrokerStartError, match="Invalid value zero for configuration"):
        local.ensure_up(timeout=60, extra_properties={"num.io.threads": "zero"})
    assert not local.state_path().exists()


def test_cli_up_failure_prints_error_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When the broker cannot start, `broker up` prints the error with its log tail and exits 1."""

    def failing_up(**_kwargs: object) -> local.UpResult:
        raise local.BrokerStartError("Kafka exited with code 1 while starting\n[log] boom")

    monkeypatch.setattr(local, "ensure_up", failing_up)
    assert cli.main(["broker", "up"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "[log] boom" in captured.err and "Traceback" not in captured.err


def test_failed_maven_install_raises_with_its_output_and_is_redone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A failing `mvn` raises KafkaInstallError with mvn's output and leaves no install marker."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "mvn").write_text("#!/bin/sh\necho 'Could not resolve org.apache.kafka'\nexit 1\n")
    (fake_bin / "mvn").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("HAZARD_KAFKA_LIBS")
    with pytest.raises(KafkaInstallError, match="Could not resolve org.apache.kafka"):
        ensure_installed(root=tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("kafka/*/.installed"))
