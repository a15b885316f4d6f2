"""Fuzzed intake: 100,000 records drawn from the JSON Schemas, valid, subtly invalid, raw bytes,
hostile keys and hostile headers (CloudEvents binary mode among them).

The records go through the real broker as fast as the publisher sends them,
which is also a burst far above a district's rate. The engine must not crash
or stall; every record must end accepted, rejected with a named reason, or a
duplicate, exactly as the pure intake decides; and the decision agent must
reach the states and outputs the pure core reaches on the same timeline.

The worker's clock stands still before every event's time, so no deadline
fires and the outcome does not depend on how clocks interleave with the burst.
FAULTS_FUZZ_RECORDS sets the number of records (100,000 by default).
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from engine.alerts import load_alert_rules
from engine.harness import Namespace, Worker, wait_drained
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT
from engine.tools.kafka import producer
from faults.fuzzgen import records
from faults.scenario import account, observe, replay_timeline, report

pytestmark = pytest.mark.broker

COUNT = int(os.environ.get("FAULTS_FUZZ_RECORDS", 100_000))
FROZEN = "2026-08-01T00:00:00+08:00"  # before every generated event time


async def _publish(ns: Namespace, batch: list) -> float:
    started = time.monotonic()
    async with producer(ns.bootstrap) as prod:  # a plain producer: the records carry headers
        for i in range(0, len(batch), 5000):
            sent = [await prod.send(ns.topic(r.topic), r.value, key=r.key,
                                    headers=list(r.headers) or None) for r in batch[i:i + 5000]]
            await asyncio.gather(*sent)
    return time.monotonic() - started


@pytest.mark.long(300)
def test_fuzzed_records_are_all_accounted_for(namespace: Namespace, tmp_path) -> None:
    """Every fuzzed record is accepted, rejected with a reason, or a duplicate; nothing stalls."""
    rules = load_rules(REPO_ROOT / "rules")
    alert_rules = load_alert_rules(REPO_ROOT / "rules", rules.reference)
    fuzzed = list(records(COUNT, sorted(rules.reference.towns)))
    worker = Worker(namespace.env(HAZARD_CLOCK_START=FROZEN, HAZARD_CLOCK_END=FROZEN),
                    tmp_path / "worker.log")
    try:
        worker.start().wait_ready(timeout=120)
        sent_s = asyncio.run(_publish(namespace, fuzzed))
        started = time.monotonic()
        asyncio.run(wait_drained(namespace, idle_timeout=120, alive=worker.alive))
        drained_s = time.monotonic() - started + sent_s
        assert worker.alive(), f"the worker died:\n{worker.log_text()[-3000:]}"
        seen = asyncio.run(observe(namespace))
    finally:
        worker.stop()
    assert "Traceback" not in worker.log_text(), worker.log_text()[-3000:]

    want = replay_timeline(seen.timeline, rules, alert_rules)
    acc = account(namespace, seen, rules, want,
                  "fuzzed intake (schemas, mutations, bytes, keys, headers)", COUNT)
    kinds: dict[str, int] = {}
    for r in fuzzed:
        kinds[r.kind.split(":")[0]] = kinds.get(r.kind.split(":")[0], 0) + 1
    acc.extras.update(made=kinds, publish_s=round(sent_s, 1), drained_s=round(drained_s, 1),
                      records_per_s=round(COUNT / drained_s))
    report(acc)
    assert acc.events_in == COUNT
    assert not acc.problems, acc.problems[:10]
    assert acc.accepted and acc.rejected and acc.duplicates  # the mix reached every class
