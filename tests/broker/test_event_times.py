"""The times intake takes, through a real broker: a worker forgets an old event's mark, writes the
deletion to its changelog, and refuses a late copy of the event as stale (engine/stream/marks.py);
it refuses an event from ahead of its clock as `future`, and takes one within the leeway."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import EXAMPLES, FROZEN
from test_null_key_duplicates import drained, entries, metric

from engine.harness import Namespace, Worker, produce

pytestmark = pytest.mark.broker

START = datetime.fromisoformat("2026-11-30T08:00:00+08:00")
RATE = 20_000  # simulated seconds a real second: the window of a day and the day of slack in 9 s


def test_an_old_mark_is_forgotten_its_deletion_kept_and_a_late_copy_refused_as_stale(
        namespace: Namespace, tmp_path: Path) -> None:
    anchor = time.time()
    env = namespace.env(HAZARD_CLOCK_START=START.isoformat(), HAZARD_CLOCK_ANCHOR=str(anchor),
                        HAZARD_CLOCK_RATE=str(RATE), HAZARD_DEDUP_DAYS="1", HAZARD_STORE="memory")
    worker = Worker(env, tmp_path / "worker.log").start()
    second = None
    try:
        worker.wait_ready()
        # Happened now on the worker's clock: taken, and marked with that time.
        at = (START + timedelta(seconds=int((time.time() - anchor) * RATE))).isoformat()
        event = {**json.loads((EXAMPLES / "hazard-reported.json").read_text(encoding="utf-8")),
                 "id": "window-1", "time": at}
        record = (event["subject"].encode(), json.dumps(event).encode())
        asyncio.run(produce(namespace.bootstrap, namespace.topic("hazard.reports"), [record]))
        worker.wait_for('"event": "intake_marks_forgotten"', timeout=60)
        assert metric(worker, "hazard_intake_marks") == 0
        assert metric(worker, "hazard_intake_marks_forgotten_total") == 1
        # The same event again, two simulated days later: no mark says what it is, so it is stale.
        asyncio.run(produce(namespace.bootstrap, namespace.topic("hazard.reports"), [record]))
        out = drained(namespace, worker)
        assert len(entries(out["engine.timeline"], event)) == 1, "taken once"
        assert out["engine.intake.duplicates"] == []
        [rejected] = [json.loads(r.value) for r in out["intake.rejected"]]
        assert [e["type"] for e in rejected["data"]["errors"]] == ["stale"]
        assert rejected["data"]["offset"] == 1
        worker.stop()
        # Read again from the changelog alone, with no window to forget anything: the deletion is there.
        second = Worker(dict(env, HAZARD_DEDUP_DAYS="0"), tmp_path / "second.log").start()
        second.wait_ready()
        assert metric(second, "hazard_intake_marks") == 0
        assert '"marks": 0' in second.log_text() or '"marks":0' in second.log_text()
    finally:
        worker.stop()
        if second is not None:
            second.stop()


def test_an_event_from_ahead_of_the_clock_is_refused_and_one_within_the_leeway_taken(
        namespace: Namespace, tmp_path: Path) -> None:
    env = namespace.env(HAZARD_CLOCK_START=FROZEN, HAZARD_CLOCK_END=FROZEN, HAZARD_FUTURE_S="900")
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        report = json.loads((EXAMPLES / "hazard-reported.json").read_text(encoding="utf-8"))
        frozen = datetime.fromisoformat(FROZEN)
        near = {**report, "id": "near-1", "time": (frozen + timedelta(seconds=900)).isoformat()}
        ahead = {**report, "id": "ahead-1", "subject": "HZ-20261130-0777", "time": (frozen + timedelta(
            days=40)).isoformat(), "data": {**report["data"], "hazard_id": "HZ-20261130-0777"}}
        asyncio.run(produce(namespace.bootstrap, namespace.topic("hazard.reports"),
                            [(e["subject"].encode(), json.dumps(e).encode()) for e in (near, ahead)]))
        out = drained(namespace, worker)
        assert len(entries(out["engine.timeline"], near)) == 1
        assert entries(out["engine.timeline"], ahead) == []
        [rejected] = [json.loads(r.value) for r in out["intake.rejected"]]
        assert rejected["data"]["key"] == "HZ-20261130-0777"
        assert [e["type"] for e in rejected["data"]["errors"]] == ["future"]
    finally:
        worker.stop()
