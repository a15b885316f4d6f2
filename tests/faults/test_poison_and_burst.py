"""Poison and overload: records that make the engine's code raise, and a burst of 10x the normal rate.

Poison: the worker runs from the suite's own entry point
(`faults.poisoned_worker`), whose intake stage raises on some records and whose
decide stage raises on some timeline entries, as a bug would. Neither may
hold its partition: the intake record is rejected as a processing error, the
timeline entry goes to `engine.deadletter` with the exception, and the events
behind them on the same partitions are decided as if the poisoned ones had
never been sent.

Burst: the district's events arrive at ten times the pace of the worker-kill
case. The backlog absorbs them; nothing is dropped.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from engine.deadletter import DEAD_LETTER
from engine.harness import Namespace, read_all
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT
from engine.simulate import DAY, District
from faults.poisoned_worker import ARGV, DECIDE_MARK, INTAKE_MARK, POISON, poisoned_env
from faults.scenario import SECONDS_PER_DAY, START, account, district_run, noisy, reference_run, report

pytestmark = pytest.mark.broker

def _district(hazards: int, seed: int, days: int = 20) -> tuple[list, int]:
    end = int(START.timestamp()) + days * DAY
    events = District(START, seed=seed, min_gap_days=1, office_hours=(8, 17)).events(hazards, 12)
    return [p for p in events if p.at < end - DAY], end


@pytest.mark.long(40)
def test_poisoned_records_do_not_block_their_partitions(namespace: Namespace, tmp_path) -> None:
    """Records that make an agent raise are set aside with the exception; the rest flows."""
    rules = load_rules(REPO_ROOT / "rules")
    events, end = _district(200, seed=21)
    reports = [p for p in events if p.event["type"] == "safety.hazard.reported"]
    for_decide, for_intake = reports[5:50:9], reports[7:60:11]  # early in the stream, so
    for planned in for_decide:                                  # later events queue behind
        planned.event["data"]["description"] += " " + DECIDE_MARK.decode()
    for planned in for_intake:
        planned.event["data"]["description"] += " " + INTAKE_MARK.decode()
    poisoned = {p.event["id"] for p in (*for_decide, *for_intake)}
    want = reference_run([p for p in events if p.event["id"] not in poisoned], end, rules,
                         clocks=False)

    run = district_run(namespace, tmp_path, noisy(events), end, frozen=True,
                       seconds_per_day=1.0, env=poisoned_env({}), argv=ARGV)
    letters = [json.loads(r.value) for r in asyncio.run(
        read_all(namespace.bootstrap, namespace.topic(DEAD_LETTER), settle=2))]
    acc = account(namespace, run.observed, rules, want, "poison records (test hook)",
                  len(for_decide) + len(for_intake), poison=POISON)
    processing_errors = [d for d in run.observed.rejected
                         if d["data"]["errors"][0]["type"] == "processing_error"]
    acc.extras.update(dead_letters=len(letters), processing_errors=len(processing_errors))
    report(acc)
    assert not acc.problems, acc.problems[:10]
    # One letter per poisoned report (a repeat of it is a duplicate and never reaches decide).
    assert sorted(json.loads(d["value"])["subject"] for d in letters) == sorted(
        p.event["subject"] for p in for_decide)
    for letter in letters:
        assert letter["error"]["type"] == "PoisonForTests"
        assert DECIDE_MARK.decode() in letter["error"]["message"] and letter["error"]["traceback"]
    intake_failed = {d["data"]["key"] for d in processing_errors}
    assert intake_failed == {p.event["subject"] for p in for_intake}
    assert all("PoisonForTests" in d["data"]["errors"][0]["msg"] for d in processing_errors)


@pytest.mark.long(35)
def test_a_burst_of_ten_times_the_rate_is_absorbed(namespace: Namespace, tmp_path) -> None:
    """The district at ten times the worker-kill case's pace: every event accounted for."""
    rules = load_rules(REPO_ROOT / "rules")
    events, end = _district(700, seed=23, days=40)
    want = reference_run(events, end, rules, clocks=False)
    run = district_run(namespace, tmp_path, noisy(events), end, frozen=True,
                       seconds_per_day=SECONDS_PER_DAY / 10)
    acc = account(namespace, run.observed, rules, want, "burst at 10x the normal rate", 1)
    publish_s = 40 * SECONDS_PER_DAY / 10
    acc.extras.update(published_per_s=round(run.sent / publish_s),
                      normal_per_s=round(run.sent / (40 * SECONDS_PER_DAY), 1),
                      drained_after_s=round(run.seconds))
    report(acc)
    assert not acc.problems, acc.problems[:10]
