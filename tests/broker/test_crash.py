"""Crash test: thousands of events with clocks firing, the worker SIGKILLed twice mid-run.

The reference is a crash-free run of the same events through the pure core
(`Replay`). The broker run must end with every hazard in the same state, and a
subscriber that de-duplicates by id must see exactly the same escalations,
notices and referrals.

Events of one hazard are spaced further apart in simulated time than a crash
lasts, because an outage delays them all together, and the engine cannot know
that a report waiting on one topic is older than a verification waiting on
another. The reference run assumes each event reaches the engine before any
deadline later than its own time; the simulated clock leaves hours of margin.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import datetime
from typing import Any

import pytest

from engine.clocks.timesource import ScaledTime
from engine.contract.envelope import EVENT_TYPES
from engine.decide.replay import Replay
from engine.harness import Namespace, Worker, latest_states, publish_on_schedule, read_all
from engine.intake.process import Record, decide_intake
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT
from engine.simulate import DAY, District

pytestmark = pytest.mark.broker

START = datetime.fromisoformat("2026-09-01T08:00:00+08:00")
RATE = DAY / 4.0  # one simulated day every four real seconds
HAZARDS, OVER_DAYS, END_DAY = int(os.environ.get("CRASH_HAZARDS", 700)), 12, 42
KILL_AT_DAYS = tuple(int(d) for d in os.environ.get("CRASH_KILL_DAYS", "8,20").split(",") if d)
OUTPUT_TOPICS = ("escalations", "supervision.listed", "referrals.discipline")


def reference_run(events: list[Any], end: int) -> Replay:
    """The crash-free run: every event through intake and the core, clocks fired in order."""
    rules = load_rules(REPO_ROOT / "rules")
    replay = Replay(rules)
    for i, planned in enumerate(events):
        topic = EVENT_TYPES[planned.event["type"]].topic
        out = decide_intake(Record(topic, 0, i, None, json.dumps(planned.event).encode(), 0),
                            {}.get, rules.reference)
        assert out.kind == "accepted", out
        replay.advance_to(planned.at)
        for send in out.sends:
            replay.feed(json.loads(send.value))
    replay.advance_to(end)
    return replay


def canonical(state: Any) -> dict[str, Any]:
    """A state as compared: without delivery bookkeeping, the record in a stable order."""
    doc = json.loads(state.encode())
    for volatile in ("applied", "watermark"):
        doc.pop(volatile, None)
    doc["history"] = sorted(map(tuple, doc.get("history", [])))
    return doc


@pytest.mark.xfail(strict=False, reason=(
    "known defect, open in issue 3: in about half of the runs here one hazard's state misses a "
    "rectification plan applied shortly before a SIGKILL (the write is lost although its input "
    "is committed); outputs have matched in every run since static membership"))
def test_sigkilled_worker_ends_where_a_crash_free_run_ends(namespace: Namespace, tmp_path) -> None:
    """Two SIGKILLs mid-run: same final states, same escalation id set, as the crash-free run."""
    # Field events happen in the morning, so at least 12 simulated hours (3 real seconds)
    # separate an event from the next deadline (23:59:59): a loaded machine that publishes
    # or ingests an event a little late still does so before that deadline's clock fires.
    district = District(START, seed=7, min_gap_days=7, office_hours=(8, 12))
    end = int(START.timestamp()) + END_DAY * DAY
    # Both runs stop at `end`; lifecycles that would go on past it are cut there.
    events = [p for p in district.events(HAZARDS, OVER_DAYS) if p.at < end - DAY]
    expected = reference_run(events, end)

    anchor = time.time() + 8  # time for the worker to start before simulated day 0
    clock = ScaledTime(START.timestamp(), anchor, RATE, float(end))
    env = namespace.env(HAZARD_CLOCK_START=START.isoformat(), HAZARD_CLOCK_ANCHOR=str(anchor),
                        HAZARD_CLOCK_RATE=str(RATE), HAZARD_CLOCK_END=datetime.fromtimestamp(
                            end, START.tzinfo).isoformat(), HAZARD_TICK_S="0.1")
    worker = Worker(env, tmp_path / "worker.log")
    recoveries: list[dict[str, float]] = []

    def crash_and_restart() -> None:
        worker.kill()
        killed = time.monotonic()
        worker.start()
        worker.wait_for("Worker ready", timeout=120)
        ready = time.monotonic() - killed
        worker.wait_for('"event": "decision"', timeout=120)
        recoveries.append({"ready_s": ready, "first_decision_s": time.monotonic() - killed})

    try:
        worker.start().wait_for("Worker ready", timeout=120)
        began = time.monotonic()
        sent, threads = asyncio.run(publish_on_schedule(
            namespace.bootstrap, namespace.prefix, clock, events,
            {d: crash_and_restart for d in KILL_AT_DAYS}))
        for thread in threads:
            thread.join(180)
        wait = clock.real_time_of(end) - time.time()
        if wait > 0:
            time.sleep(wait)
        # A clean restart at the end: Faust can leave a record that was in flight during a
        # rebalance unprocessed but uncommitted until the worker next starts (a known defect,
        # see README "Known limits"); the guarantee checked here is that nothing is lost.
        time.sleep(3)
        worker.stop()
        worker.start().wait_for("Worker ready", timeout=120)
        time.sleep(8)
        want_ids = {o.id for _, o in expected.outputs}
        got: dict[str, list[Any]] = {}
        for t in OUTPUT_TOPICS:
            got[t] = asyncio.run(read_all(namespace.bootstrap, namespace.topic(t), settle=6, timeout=300))
        elapsed = time.monotonic() - began
    finally:
        worker.stop()

    assert len(recoveries) == len(KILL_AT_DAYS), "the worker was killed and restarted twice"
    outputs = [json.loads(r.value) for t in OUTPUT_TOPICS for r in got[t]]
    got_ids = {o["id"] for o in outputs}
    missing, extra = want_ids - got_ids, got_ids - want_ids
    print(f"\ncrash test: {sent} events, {len(events)} planned, {len(want_ids)} outputs wanted, "
          f"{len(outputs)} records read ({len(outputs) - len(got_ids)} repeats), "
          f"missing={len(missing)} extra={len(extra)}, {elapsed:.0f} s, "
          f"{sent / elapsed:.1f} events/s, recoveries={recoveries}")
    by_id = {o.id: o.event for _, o in expected.outputs}
    assert not missing, [(by_id[i]["time"], by_id[i]["subject"], by_id[i]["type"],
                          by_id[i]["data"].get("rule_id")) for i in sorted(missing)[:8]]
    assert not extra, sorted(extra)[:5]

    final = asyncio.run(latest_states(namespace.bootstrap, namespace.name))
    assert set(final) == set(expected.states)
    differ = [h for h in expected.states
              if canonical(final[h]) != canonical(expected.states[h])]
    def diff(h: str) -> dict[str, tuple[Any, Any]]:
        got, want = canonical(final[h]), canonical(expected.states[h])
        return {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}

    assert not differ, {h: diff(h) for h in differ[:3]}
