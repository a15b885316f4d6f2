"""A report that reaches the engine days late, through a real broker: the lead department's verify
clock counts from the record's arrival, not from the report's own time (rules: duties.late_arrival).

The worker's clock stands 20 days past the machine's, so both reports' deadlines have passed
and their failures fire at once. The late report's record is stamped by its producer with the
report's own time, as a gateway forwarding an offline app's events might: the intake topics are
stamped by the broker as it appends (LogAppendTime, topics/topics.yaml), so its arrival is still
today, and a record never sits outside the topics' retention.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, REPO
from test_null_key_duplicates import entries

from engine.harness import Namespace, Worker, produce, read_all, wait_drained
from engine.kernel.time import after, epoch, iso
from engine.ruleset import load_rules
from engine.ruleset.calendar import SHANGHAI
from engine.tools.kafka import producer

pytestmark = pytest.mark.broker


def _report(hazard_id: str, event_id: str, at: datetime) -> dict[str, Any]:
    report = json.loads((EXAMPLES / "hazard-reported.json").read_text(encoding="utf-8"))
    return {**report, "id": event_id, "subject": hazard_id, "time": at.isoformat(),
            "data": {**report["data"], "hazard_id": hazard_id}}


def test_a_report_five_days_late_is_counted_from_its_arrival(namespace: Namespace, tmp_path: Path) -> None:
    rules = load_rules(REPO / "rules")
    today = datetime.fromtimestamp(time.time(), SHANGHAI).replace(microsecond=0)
    frozen = (today + timedelta(days=20)).isoformat()
    worker = Worker(namespace.env(HAZARD_CLOCK_START=frozen, HAZARD_CLOCK_END=frozen),
                    tmp_path / "worker.log").start()
    late = _report("HZ-LATE-E2E-1", "late-e2e-1", today - timedelta(days=5))  # an app offline 5 days
    prompt = _report("HZ-LATE-E2E-2", "late-e2e-2", today - timedelta(hours=1))
    try:
        worker.wait_ready()
        asyncio.run(_stamped(namespace, [(e, epoch(e["time"]) * 1000) for e in (late, prompt)]))
        asyncio.run(wait_drained(namespace, idle_timeout=120, alive=worker.alive))
        failures = {e["subject"]: e["data"] for e in map(json.loads, (r.value for r in asyncio.run(read_all(
            namespace.bootstrap, namespace.topic("escalations"), expect=2,
            where=lambda r: json.loads(r.value)["data"].get("rule_id") == "duty.verify"))))}
        timeline = asyncio.run(read_all(namespace.bootstrap, namespace.topic("engine.timeline")))
    finally:
        worker.stop()

    [(_, entry)] = entries(timeline, late)
    arrived = epoch(entry["arrived_at"])  # the broker's timestamp of the record, not its producer's
    assert abs(arrived - today.timestamp()) < 600
    due = after(rules.verify.within, arrived, rules).at
    assert failures["HZ-LATE-E2E-1"]["reason"].startswith(
        f"HZ-LATE-E2E-1 was not verified within 3 working days of reaching the engine on "
        f"{iso(arrived)} (its own time: {late['time']}): the deadline {iso(due)} passed")
    # An hour's delay is transport: counted from the report's own time, as before.
    on_time = after(rules.verify.within, epoch(prompt["time"]), rules).at
    assert failures["HZ-LATE-E2E-2"]["reason"].startswith(
        f"HZ-LATE-E2E-2 was not verified within 3 working days: the deadline {iso(on_time)} passed")


async def _stamped(namespace: Namespace, events: list[tuple[dict[str, Any], int]]) -> None:
    """Each event on hazard.reports, its record's timestamp set by the producer to the given ms."""
    async with producer(namespace.bootstrap) as prod:
        sent = [await prod.send(namespace.topic("hazard.reports"), json.dumps(e).encode(),
                                key=e["subject"].encode(), timestamp_ms=ms) for e, ms in events]
        await asyncio.gather(*sent)


def _verified(hazard_id: str, event_id: str, at: datetime) -> dict[str, Any]:
    return {"specversion": "1.0", "id": event_id, "source": "/apps/fire/tablet-07",
            "type": "safety.hazard.verified", "time": at.isoformat(), "subject": hazard_id,
            "data": {"hazard_id": hazard_id, "verdict": "confirmed", "grade": "general",
                     "by": {"id": "fire-01", "role": "inspector"}}}


def test_a_verification_in_time_reaching_the_worker_after_the_referral_withdraws_it(
        namespace: Namespace, tmp_path: Path) -> None:
    """The worker's clock stands 20 days on: the report's verify deadline, and the day its referral
    waits, are past. The referral goes; then a verification dated an hour before the deadline comes
    (a tablet offline) and the worker withdraws the failure and the referral, on the broker."""
    rules = load_rules(REPO / "rules")
    today = datetime.fromtimestamp(time.time(), SHANGHAI).replace(microsecond=0)
    frozen = (today + timedelta(days=20)).isoformat()
    worker = Worker(namespace.env(HAZARD_CLOCK_START=frozen, HAZARD_CLOCK_END=frozen),
                    tmp_path / "worker.log").start()
    report = _report("HZ-WD-E2E", "wd-e2e-r", today - timedelta(hours=1))
    due = after(rules.verify.within, epoch(report["time"]), rules).at
    verified = _verified("HZ-WD-E2E", "wd-e2e-v", datetime.fromtimestamp(due - 3600, SHANGHAI))

    def referrals(expect: int) -> list[dict[str, Any]]:
        return [json.loads(r.value) for r in asyncio.run(read_all(
            namespace.bootstrap, namespace.topic("referrals.discipline"), expect=expect))]

    try:
        worker.wait_ready()
        asyncio.run(produce(namespace.bootstrap, namespace.topic("hazard.reports"),
                            [(b"HZ-WD-E2E", json.dumps(report).encode())]))
        asyncio.run(wait_drained(namespace, idle_timeout=120, alive=worker.alive))
        [referral] = referrals(1)
        asyncio.run(produce(namespace.bootstrap, namespace.topic("rectification.updates"),
                            [(b"HZ-WD-E2E", json.dumps(verified).encode())]))
        asyncio.run(wait_drained(namespace, idle_timeout=120, alive=worker.alive))
        sent = referrals(2)
        escalations = [json.loads(r.value)["data"] for r in asyncio.run(read_all(
            namespace.bootstrap, namespace.topic("escalations"), expect=4,
            where=lambda r: not json.loads(r.value)["data"]["rule_id"].startswith("ladder.")))]
    finally:
        worker.stop()

    assert referral["type"] == "safety.referral.discipline"
    assert referral["time"] == iso(after(rules.late_after, due, rules).at)  # the deadline, then the hold
    [withdrawal] = [e for e in sent if e["type"] == "safety.referral.withdrawn"]
    assert withdrawal["data"]["referral_id"] == referral["data"]["referral_id"]
    assert [r["id"] for r in withdrawal["data"]["respondents"]] == ["fire_rescue"]
    assert sorted(e["action"] for e in escalations) == [
        "discipline_referral", "failure_withdrawn", "notify", "referral_withdrawn"]
