"""Two workers share the district: one joins while clocks fire, is SIGKILLed mid-batch, and returns.

- Day 3: a second worker joins the group with an empty local store: a
  rebalance while deadlines fall due, and a first start from the changelogs
  alone for the partitions it takes.
- Day 12: the second worker is SIGKILLed at a random moment, mid-batch; its
  partitions wait out its session and go back to the first worker.
- Day 16: it starts again, from its local store and the changelogs' tail.
- Day 30: it stops cleanly, and the first worker takes every partition back.

Both keep their tables on local disk (HAZARD_STORE=rocksdb). The run must end
where a crash-free run of one worker ends: every record accounted for, every
subject in the same state, the same escalation ids.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from engine.harness import Namespace, Worker, free_port
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT
from engine.simulate import DAY, District
from faults.scenario import START, account, arrival_reference, district_run, noisy, reference_run, report

pytestmark = pytest.mark.broker

END_DAY = 40


class Second:
    """The second worker: its own port, data directory and log, the first's clock and topics."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.worker: Worker | None = None
        self.steps: list[dict[str, float]] = []

    def _make(self, first: Worker) -> Worker:
        env = dict(first.env, HAZARD_WEB_PORT=str(free_port()),
                   HAZARD_DATA_DIR=str(self.tmp_path / "second-worker-data"))
        return Worker(env, self.tmp_path / "second-worker.log")

    def join(self, first: Worker) -> dict[str, float]:
        started = time.monotonic()
        self.worker = self._make(first).start()
        self.worker.wait_ready(timeout=120)
        return {"joined_ready_s": round(time.monotonic() - started, 2)}

    def kill(self, first: Worker, rng: random.Random) -> dict[str, float]:
        assert self.worker is not None
        time.sleep(rng.uniform(0, 2))
        self.worker.kill()
        return {"second_killed": 1.0, "first_alive": float(first.alive())}

    def restart(self, first: Worker) -> dict[str, float]:
        assert self.worker is not None
        started = time.monotonic()
        self.worker.start()
        self.worker.wait_ready(timeout=120)
        return {"restarted_ready_s": round(time.monotonic() - started, 2)}

    def leave(self, first: Worker) -> dict[str, float]:
        assert self.worker is not None
        code = self.worker.stop()
        return {"second_exit_code": float(code)}


@pytest.mark.long(180)
def test_a_second_worker_joins_dies_mid_batch_and_returns(namespace: Namespace, tmp_path) -> None:
    """Rebalances with clocks due, a SIGKILL mid-batch and a restart from the local store lose nothing."""
    rules = load_rules(REPO_ROOT / "rules")
    rng = random.Random(29)
    end = int(START.timestamp()) + END_DAY * DAY
    district = District(START, seed=31, min_gap_days=7, office_hours=(8, 12))
    events = [p for p in district.events(300, 12) if p.at < end - DAY]
    want = reference_run(events, end, rules)
    second = Second(tmp_path)
    faults = {3: second.join, 12: lambda first: second.kill(first, rng), 16: second.restart,
              30: second.leave}
    try:
        run = district_run(namespace, tmp_path, noisy(events, seed=7), end, faults,
                           env={"HAZARD_STORE": "rocksdb"})
    finally:
        if second.worker is not None:
            second.worker.stop()
    acc = account(namespace, run.observed, rules, want, "two workers: join, SIGKILL, return, leave",
                  len(run.recoveries), late=arrival_reference(events, run, end, rules))
    acc.extras.update(steps=run.recoveries, seconds=round(run.seconds))
    report(acc)
    assert len(run.recoveries) == 4, "every step of the second worker ran"
    assert all(r.get("first_alive", 1.0) == 1.0 for r in run.recoveries)
    log = (tmp_path / "second-worker.log").read_text()
    assert log.count('"event": "worker_ready"') >= 2, "the second worker recovered partitions twice"
    assert '"local_store": true' in log
    assert not acc.problems, acc.problems[:10]
