"""A decision that raised, decided again once the cause is gone (`hazard-engine deadletter`).

The worker runs first from the fault suite's entry point (`faults.poisoned_worker`), whose
decide stage raises on an entry carrying its marker, as a bug would: one of two reports is
dead-lettered, and its hazard is never decided. Publishing the report again only records a
duplicate. The worker is then run as the product ("the fix deployed"), and `deadletter
redecide` puts the entry back on its timeline partition: the hazard is decided. A second run
leaves the entry alone, as `deadletter list` now says where it went; sent once more all the
same (`--again`), the copy changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from faults.poisoned_worker import ARGV, DECIDE_MARK, poisoned_env

from engine.deadletter import DEAD_LETTER
from engine.harness import Namespace, Worker, produce, read_all, wait_drained

pytestmark = pytest.mark.broker


def _report(hazard_id: str, event_id: str, note: str = "") -> dict[str, Any]:
    report = json.loads((EXAMPLES / "hazard-reported.json").read_text(encoding="utf-8"))
    data = {**report["data"], "hazard_id": hazard_id, "description": report["data"]["description"] + note}
    return {**report, "id": event_id, "subject": hazard_id, "data": data}


def _cli(namespace: Namespace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], env=namespace.env(), text=True,
                          capture_output=True, timeout=120)


def _hazard(namespace: Namespace, hazard_id: str) -> dict[str, Any] | None:
    shown = _cli(namespace, "show", hazard_id, "--json")
    return json.loads(shown.stdout)["state"]


def _publish(namespace: Namespace, *events: dict[str, Any]) -> None:
    asyncio.run(produce(namespace.bootstrap, namespace.topic("hazard.reports"),
                        [(e["subject"].encode(), json.dumps(e).encode()) for e in events]))


def test_a_dead_lettered_decision_is_decided_again_once_its_cause_is_fixed(
        namespace: Namespace, tmp_path: Path) -> None:
    poisoned = _report("HZ-DL-1", "dl-e2e-1", " " + DECIDE_MARK.decode())
    plain = _report("HZ-DL-2", "dl-e2e-2")
    worker = Worker(poisoned_env(namespace.env()), tmp_path / "worker.log", argv=ARGV).start()
    try:
        worker.wait_ready()
        _publish(namespace, poisoned, plain)
        asyncio.run(wait_drained(namespace, idle_timeout=120, alive=worker.alive))
        _publish(namespace, poisoned)  # sent again by the field app: a duplicate, never decided
        asyncio.run(wait_drained(namespace, idle_timeout=120, alive=worker.alive))
    finally:
        worker.stop()
    [letter] = [json.loads(r.value) for r in asyncio.run(read_all(
        namespace.bootstrap, namespace.topic(DEAD_LETTER), expect=1))]
    assert _hazard(namespace, "HZ-DL-1") is None and _hazard(namespace, "HZ-DL-2") is not None

    listed = _cli(namespace, "deadletter", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith(letter["id"]) and "safety.hazard.reported HZ-DL-1" in listed.stdout
    assert "PoisonForTests" in listed.stdout
    unknown = _cli(namespace, "deadletter", "redecide", "no-such-letter")
    assert unknown.returncode == 1 and "no-such-letter" in unknown.stderr
    dry = _cli(namespace, "deadletter", "redecide", "--all", "--dry-run")
    assert dry.returncode == 0 and dry.stdout.startswith("would send again: " + letter["id"])

    worker = Worker(namespace.env(), tmp_path / "worker.log").start()  # the fix deployed
    try:
        worker.wait_ready()
        sent = _cli(namespace, "deadletter", "redecide", letter["id"])
        assert sent.returncode == 0, sent.stderr
        where = f"{namespace.topic('engine.timeline')}[{letter['partition']}]@"
        assert sent.stdout.startswith("sent again as " + where)
        asyncio.run(wait_drained(namespace, idle_timeout=120, alive=worker.alive))
        listed = _cli(namespace, "deadletter", "list")
        assert f"; sent again as {where}" in listed.stdout
        left = _cli(namespace, "deadletter", "redecide", "--all")
        assert left.returncode == 0 and left.stdout.startswith("left alone, sent again before")
        again = _cli(namespace, "deadletter", "redecide", "--all", "--again")  # the copy changes nothing
        assert again.returncode == 0 and again.stdout.startswith("sent again as " + where)
        asyncio.run(wait_drained(namespace, idle_timeout=120, alive=worker.alive))
    finally:
        worker.stop()
    state = _hazard(namespace, "HZ-DL-1")
    assert state is not None and state["id"] == "HZ-DL-1"
    reported = [line for line in state["history"] if line[1] == poisoned["id"]]
    assert len(reported) == 1, state["history"]
    letters = [json.loads(r.value) for r in asyncio.run(read_all(
        namespace.bootstrap, namespace.topic(DEAD_LETTER), settle=1))]
    assert [x["id"] for x in letters if "agent" in x] == [letter["id"]]  # nothing raised again
    assert [x["redecided"] for x in letters if "agent" not in x] == [letter["id"]] * 2
