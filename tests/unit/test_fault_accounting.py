"""The fault tier's accounting counts a forwarded null-key record once (issue 15, item 2).

An engine is played here with the pure intake decision, forwarding as the
batched runtime does, and `faults.scenario.account` must find every record
accounted for; a forward that never happened must be reported.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from faults.scenario import Observed, Reference, account

from engine.intake.process import DUPLICATES, INTAKE_REJECTED, TIMELINE, Record, decide_intake
from engine.ruleset import load_rules
from engine.tools.kafka import partition_for_key

REPO = Path(__file__).resolve().parents[2]
RULES = load_rules(REPO / "rules")
REPORT = json.loads((REPO.parent / "shared" / "contract" / "examples" / "hazard-reported.json")
                    .read_text(encoding="utf-8"))
PREFIX = "t."
TOPIC = PREFIX + "hazard.reports"
PARTITIONS = 4


def home(subject: str) -> int:
    return partition_for_key(subject.encode("utf-8"), PARTITIONS)


def report(n: int, **changes: Any) -> dict[str, Any]:
    hazard_id = f"HZ-20261130-A{n:04d}"
    return {**REPORT, "id": f"acc-{n}", "subject": hazard_id,
            "data": {**REPORT["data"], "hazard_id": hazard_id}, **changes}


def away(event: dict[str, Any]) -> list[int]:
    return [p for p in range(PARTITIONS) if p != home(event["subject"])]


class Engine:
    """The batched runtime's intake in miniature: the same decision, forwarding, one mark table."""

    def __init__(self, forward: bool = True) -> None:
        self.forward = forward
        self.logs: dict[tuple[str, int], list[Any]] = {}
        self.marks: dict[str, str] = {}
        self.timeline: list[Any] = []
        self.rejected: list[dict[str, Any]] = []
        self.duplicates: list[dict[str, Any]] = []

    def produce(self, key: bytes | None, value: bytes, partition: int, headers: tuple = (),
                topic: str = TOPIC) -> None:
        log = self.logs.setdefault((topic, partition), [])
        log.append(SimpleNamespace(topic=topic, partition=partition, offset=len(log), key=key,
                                   value=value, timestamp=0, headers=headers))

    def run(self) -> None:
        done: dict[tuple[str, int], int] = {}
        while any(done.get(tp, 0) < len(log) for tp, log in self.logs.items()):
            for tp, log in list(self.logs.items()):
                while done.get(tp, 0) < len(log):
                    self._intake(log[done.get(tp, 0)])
                    done[tp] = done.get(tp, 0) + 1

    def _intake(self, r: Any) -> None:
        record = Record(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp, r.headers)
        out = decide_intake(record, self.marks.get, RULES.reference,
                            contract_topic=r.topic.removeprefix(PREFIX),
                            home=home if self.forward else None)
        if out.kind == "forwarded":
            self.produce(out.subject.encode(), r.value, home(out.subject), r.headers, r.topic)
            return
        if out.remember:
            self.marks[out.remember[0]] = out.remember[1]
        for send in out.sends:
            doc = json.loads(send.value)
            if send.topic == TIMELINE:
                self.timeline.append(SimpleNamespace(value=send.value))
            elif send.topic == DUPLICATES:
                self.duplicates.append(doc)
            elif send.topic == INTAKE_REJECTED:
                self.rejected.append(doc)

    def observed(self) -> Observed:
        intake = [r for log in self.logs.values() for r in log]
        return Observed(intake, self.timeline, self.rejected, self.duplicates, [], {}, {},
                        PARTITIONS)


def sent(engine: Engine) -> int:
    """Records as the field apps sent them, before the engine ran."""
    one, two = report(1), report(2)
    broken = report(3, time="2026-11-30T09:12:00")
    value = json.dumps(one).encode()
    engine.produce(None, value, away(one)[0])
    engine.produce(None, value, away(one)[1])
    engine.produce(one["subject"].encode(), value, home(one["subject"]))
    engine.produce(None, json.dumps(two).encode(), away(two)[0], (("traceparent", b"00-ab-01"),))
    engine.produce(None, json.dumps(two | {"id": "acc-2b"}).encode(), home(two["subject"]))
    engine.produce(None, json.dumps(broken).encode(), away(broken)[0])
    return 6


def judge(engine: Engine) -> Any:
    ns = SimpleNamespace(prefix=PREFIX)
    return account(ns, engine.observed(), RULES, Reference({}, {}, set()), "forwarding", 0)


def test_a_forwarded_record_counts_once() -> None:
    """Six records sent, three forwarded: six in, three events accepted, two duplicates, one
    rejected, and nothing left unexplained."""
    engine = Engine()
    count = sent(engine)
    engine.run()
    assert sum(map(len, engine.logs.values())) == count + 3  # the three forwarded copies
    acc = judge(engine)
    assert acc.problems == []
    assert (acc.events_in, acc.accepted, acc.duplicates, acc.rejected) == (count, 3, 2, 1)
    assert acc.extras["forwarded"] == 3


def test_an_engine_that_does_not_forward_is_caught() -> None:
    """Null keys judged where they land: the accounting names the records not forwarded."""
    engine = Engine(forward=False)
    sent(engine)
    engine.run()
    problems = judge(engine).problems
    assert any("to be forwarded" in p for p in problems)
    assert any("were not forwarded" in p for p in problems)


def test_the_fuzzed_mix_is_accounted_for_once_each() -> None:
    """The fault tier's fuzzed records, null keys among them, on partitions as a producer picks
    them: every one accounted for once, and some forwarded."""
    from faults.fuzzgen import records

    rng = random.Random(15)
    engine = Engine()
    fuzzed = list(records(600, sorted(RULES.reference.towns), per_type=4))
    for r in fuzzed:
        partition = (rng.randrange(PARTITIONS) if r.key is None
                     else partition_for_key(r.key, PARTITIONS))
        engine.produce(r.key, r.value, partition, tuple(r.headers), PREFIX + r.topic)
    engine.run()
    acc = judge(engine)
    assert acc.problems == []
    assert acc.events_in == len(fuzzed)
    assert acc.accepted and acc.duplicates and acc.rejected and acc.extras["forwarded"]
    assert {r.kind for r in fuzzed} >= {"null_key:structured", "null_key:binary"}
