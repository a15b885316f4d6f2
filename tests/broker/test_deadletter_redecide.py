"""Records the engine failed on, taken again once the cause is gone (`hazard-engine deadletter`).

The worker runs first from the fault suite's entry point (`faults.poisoned_worker`), whose
stages raise on records carrying their markers, as a bug would: of three reports, one's decision
is dead-lettered (its hazard is never decided, and publishing the report again only records a
duplicate), and one's intake record is rejected as a processing error. The worker is then run as
the product ("the fix deployed"), and `deadletter redecide --all` sends the entry back to its
timeline partition and the intake record back to its topic: both hazards are decided. A second
run leaves them alone, as `deadletter list` now says where each went; sent once more all the
same (`--again`), the copies change nothing.
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
from faults.poisoned_worker import ARGV, DECIDE_MARK, INTAKE_MARK, poisoned_env

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
    unread = _report("HZ-DL-3", "dl-e2e-3", " " + INTAKE_MARK.decode())
    worker = Worker(poisoned_env(namespace.env()), tmp_path / "worker.log", argv=ARGV).start()
    try:
        worker.wait_ready()
        _publish(namespace, poisoned, plain, unread)
        asyncio.run(wait_drained(namespace, idle_timeout=120, alive=worker.alive))
        _publish(namespace, poisoned)  # sent again by the field app: a duplicate, never decided
        asyncio.run(wait_drained(namespace, idle_timeout=120, alive=worker.alive))
    finally:
        worker.stop()
    [letter] = [json.loads(r.value) for r in asyncio.run(read_all(
        namespace.bootstrap, namespace.topic(DEAD_LETTER), expect=1))]
    assert _hazard(namespace, "HZ-DL-1") is None and _hazard(namespace, "HZ-DL-2") is not None
    assert _hazard(namespace, "HZ-DL-3") is None

    listed = _cli(namespace, "deadletter", "list")
    assert listed.returncode == 0, listed.stderr
    [decide, intake] = listed.stdout.splitlines()
    assert decide.startswith(letter["id"]) and " decide " in decide
    assert "safety.hazard.reported HZ-DL-1: PoisonForTests" in decide
    assert " intake " + namespace.topic("hazard.reports") in intake
    assert "safety.hazard.reported HZ-DL-3: processing_error: the engine failed on this record: " \
           "PoisonForTests" in intake
    unknown = _cli(namespace, "deadletter", "redecide", "no-such-letter")
    assert unknown.returncode == 1 and "no-such-letter" in unknown.stderr
    dry = _cli(namespace, "deadletter", "redecide", "--all", "--dry-run")
    assert dry.returncode == 0 and dry.stdout.startswith("would send again: " + letter["id"])
    assert len(dry.stdout.splitlines()) == 2

    worker = Worker(namespace.env(), tmp_path / "worker.log").start()  # the fix deployed
    try:
        worker.wait_ready()
        sent = _cli(namespace, "deadletter", "redecide", "--all")
        assert sent.returncode == 0, sent.stderr
        where = f"{namespace.topic('engine.timeline')}[{letter['partition']}]@"
        [to_timeline, to_intake] = sent.stdout.splitlines()
        assert to_timeline.startswith("sent again as " + where)
        assert to_intake.startswith(f"sent again as {namespace.topic('hazard.reports')}[")
        asyncio.run(wait_drained(namespace, idle_timeout=120, alive=worker.alive))
        listed = _cli(namespace, "deadletter", "list")
        assert listed.stdout.count("; sent again as ") == 2 and f"; sent again as {where}" in listed.stdout
        left = _cli(namespace, "deadletter", "redecide", "--all")
        assert left.returncode == 0
        assert [line.split(":")[0] for line in left.stdout.splitlines()] == [
            "left alone, sent again before (--again sends it anyway)"] * 2 + ["no letter to send again"]
        again = _cli(namespace, "deadletter", "redecide", "--all", "--again")  # the copies change nothing
        assert again.returncode == 0 and again.stdout.startswith("sent again as " + where)
        asyncio.run(wait_drained(namespace, idle_timeout=120, alive=worker.alive))
    finally:
        worker.stop()
    for hazard, event in (("HZ-DL-1", poisoned), ("HZ-DL-3", unread)):
        state = _hazard(namespace, hazard)
        assert state is not None and state["id"] == hazard
        reported = [line for line in state["history"] if line[1] == event["id"]]
        assert len(reported) == 1, state["history"]
    letters = [json.loads(r.value) for r in asyncio.run(read_all(
        namespace.bootstrap, namespace.topic(DEAD_LETTER), settle=1))]
    assert [x["id"] for x in letters if "agent" in x] == [letter["id"]]  # nothing raised again
    assert sorted(x["redecided"] for x in letters if "agent" not in x).count(letter["id"]) == 2
    assert len([x for x in letters if "agent" not in x]) == 4
