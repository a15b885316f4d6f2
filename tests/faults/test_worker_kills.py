"""Worker crashes: the worker SIGKILLed 10 times at random points while field apps publish and clocks fire.

A district of 400 hazards runs on a scaled clock (a simulated day every four
seconds), with repeated and broken events among the field apps' records. Each
kill lands on a random simulated day, a random fraction of a second into it;
the worker is restarted at once. The run must end exactly where a crash-free
run of the same events ends: every record accounted for, every hazard in the
same state, the same set of escalation ids.
"""

from __future__ import annotations

import os
import random
import time

import pytest

from engine.harness import Namespace, Worker
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT
from engine.simulate import DAY, District
from faults.scenario import (
    START,
    account,
    arrival_reference,
    district_run,
    kill_and_restart,
    noisy,
    reference_run,
    report,
)

pytestmark = pytest.mark.broker

KILLS = int(os.environ.get("FAULTS_KILLS", 10))
SEED = int(os.environ.get("FAULTS_SEED", 0))  # tests/faults/repeat.py runs the case with others
HAZARDS = int(os.environ.get("FAULTS_HAZARDS", 400))
END_DAY = 44


@pytest.mark.long(195)
def test_ten_sigkills_lose_nothing(namespace: Namespace, tmp_path) -> None:
    """Ten SIGKILLs at random points: the same records, states and escalation ids as no crash."""
    rules = load_rules(REPO_ROOT / "rules")
    rng = random.Random(11 + SEED)
    end = int(START.timestamp()) + END_DAY * DAY
    district = District(START, seed=5 + SEED, min_gap_days=7, office_hours=(8, 12))
    events = [p for p in district.events(HAZARDS, 12) if p.at < end - DAY]
    want = reference_run(events, end, rules)
    days = sorted(rng.sample(range(2, END_DAY - 3, 3 if KILLS <= 13 else 2), KILLS))

    def kill_at_random(worker: Worker) -> dict[str, float | None]:
        time.sleep(rng.uniform(0, 3))
        return kill_and_restart(worker)

    run = district_run(namespace, tmp_path, noisy(events, seed=3 + SEED), end,
                       {day: kill_at_random for day in days})
    acc = account(namespace, run.observed, rules, want, "worker SIGKILL", len(run.recoveries),
                  late=arrival_reference(events, run, end, rules))
    acc.extras.update(seed=SEED, kill_days=days, recoveries_ready_s=[r["ready_s"] for r in run.recoveries],
                      seconds=round(run.seconds), events_per_s=round(run.sent / run.seconds, 1))
    report(acc)
    assert len(run.recoveries) == KILLS
    assert not acc.problems, acc.problems[:10]
    assert acc.duplicates and acc.rejected  # the noise reached the engine and was told apart
