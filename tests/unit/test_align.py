"""Intake records aligned in time across the intake topics (engine/stream/align.py).

With a backlog, aiokafka's getmany hands over one partition's buffer after
another. Measured on the broker (docs/benchmarks.md), a backlog of 30,000 events
decided that way turned 95% of the hazards' verifications into no-ops: the
verification came from `rectification.updates` before the report it verifies
came from `hazard.reports`. These tests hold the runtime to the order the field
apps sent in.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition
from prometheus_client import generate_latest

from engine.stream.align import Aligner
from tests.unit.test_batch_decisions import Rec, _runtime  # a record; a Runtime without a broker

A, B = TopicPartition("reports", 0), TopicPartition("updates", 0)
A1, B1 = TopicPartition("reports", 1), TopicPartition("updates", 1)


def recs(tp: TopicPartition, *stamps: int, first: int = 0) -> list[Rec]:
    return [Rec(tp.topic, tp.partition, first + i, b"h-1", b"{}", t) for i, t in enumerate(stamps)]


def offsets(released: dict[Any, list[Rec]]) -> dict[str, list[int]]:
    return {f"{tp.topic}-{tp.partition}": [r.offset for r in rs] for tp, rs in released.items()}


def test_a_partition_behind_holds_back_what_came_after_its_last_record() -> None:
    aligner = Aligner(max_wait_s=2.0)
    aligner.add({B: recs(B, 10, 20, 30)})
    behind = {A: True, B: False}
    # The report topic has records to read and none fetched: nothing of number 0 may go.
    assert aligner.release([A, B], behind.__getitem__, now=0.0) == {}
    assert aligner.blocking([A, B], lambda tp: True) == [A]
    # Its records up to time 25 arrive; the reports go, and the updates up to 25 with them.
    aligner.add({A: recs(A, 5, 25)})
    released = aligner.release([A, B], behind.__getitem__, now=0.1)
    assert offsets(released) == {"reports-0": [0, 1], "updates-0": [0, 1]}
    assert offsets({B: list(aligner.held[B])}) == {"updates-0": [2]}
    # Nothing more on the report topic: the rest goes.
    behind[A] = False
    assert offsets(aligner.release([A, B], behind.__getitem__, now=0.2)) == {"updates-0": [2]}
    assert not aligner.held and len(aligner) == 0


def test_partitions_with_nothing_more_to_read_hold_nothing_back() -> None:
    aligner = Aligner(max_wait_s=2.0)
    aligner.add({A: recs(A, 50), B: recs(B, 10)})
    released = aligner.release([A, B], lambda tp: False, now=0.0)
    assert offsets(released) == {"reports-0": [0], "updates-0": [0]}


def test_a_partition_of_another_number_is_waited_for_too() -> None:
    # An inspection's finding is keyed by the inspection: the entries it makes for a hazard
    # join events that came on another partition number.
    aligner = Aligner(max_wait_s=2.0)
    aligner.add({B: recs(B, 10), B1: recs(B1, 30)})
    behind = {A: False, B: False, A1: True, B1: False}
    assert aligner.release([A, B, A1, B1], behind.__getitem__, now=0.0) == {}
    assert aligner.blocking([A, B, A1, B1], behind.__getitem__) == [A1]
    aligner.add({A1: recs(A1, 20)})
    assert offsets(aligner.release([A, B, A1, B1], behind.__getitem__, now=0.1)) == {"updates-0": [0],
                                                                                     "reports-1": [0]}
    assert set(aligner.held) == {B1}


def test_a_partition_that_never_delivers_is_waited_for_at_most_max_wait() -> None:
    aligner = Aligner(max_wait_s=2.0)
    aligner.add({B: recs(B, 10, 20)})
    behind = {A: True, B: False}
    assert aligner.release([A, B], behind.__getitem__, now=100.0) == {}
    assert aligner.release([A, B], behind.__getitem__, now=101.9) == {}
    assert offsets(aligner.release([A, B], behind.__getitem__, now=102.0)) == {"updates-0": [0, 1]}
    # The wait counts afresh for records held later.
    aligner.add({B: recs(B, 30, first=2)})
    assert aligner.release([A, B], behind.__getitem__, now=102.5) == {}
    assert offsets(aligner.release([A, B], behind.__getitem__, now=104.5)) == {"updates-0": [2]}


def test_records_released_are_a_prefix_of_each_partition() -> None:
    # A clock running back on the sending side: a later record with an earlier time waits
    # behind the record before it, so a commit never passes a record not handed over.
    aligner = Aligner(max_wait_s=2.0)
    aligner.add({A: recs(A, 10, 40), B: recs(B, 30, 5)})
    behind = {A: True, B: False}
    assert offsets(aligner.release([A, B], behind.__getitem__, now=0.0)) == {"updates-0": [0, 1],
                                                                             "reports-0": [0, 1]}
    aligner.add({A: recs(A, 20, first=2), B: recs(B, 50, 15, first=2)})
    assert offsets(aligner.release([A, B], behind.__getitem__, now=0.1)) == {"reports-0": [2]}
    assert [r.offset for r in aligner.held[B]] == [2, 3]


def test_clear_forgets_what_is_held() -> None:
    aligner = Aligner(max_wait_s=2.0)
    aligner.add({B: recs(B, 10), B1: recs(B1, 10)})
    aligner.clear([B])
    assert set(aligner.held) == {B1}
    aligner.clear()
    assert not aligner.held


class Consumer:
    """Hands its buffered records over as aiokafka's fetcher does: partition after partition,
    in the order they were buffered, up to `max_records`, or only the partitions asked for."""

    def __init__(self, assignment: set[TopicPartition], buffered: dict[TopicPartition, list[Rec]]) -> None:
        self._assignment = assignment
        self.buffered = buffered
        self.high = {tp: (records[-1].offset + 1 if records else 0) for tp, records in buffered.items()}
        self.at = {tp: 0 for tp in buffered}  # the position: the next offset handed over
        self.asked: list[tuple[TopicPartition, ...]] = []

    def assignment(self) -> set[TopicPartition]:
        return set(self._assignment)

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.high.get(tp, 0)

    async def position(self, tp: TopicPartition) -> int:
        return self.at.get(tp, 0)

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[Rec]]:
        self.asked.append(partitions)
        room = max_records or 10**9
        out: dict[TopicPartition, list[Rec]] = {}
        for tp in list(self.buffered):
            if (partitions and tp not in partitions) or not self.buffered[tp] or not room:
                continue
            out[tp], self.buffered[tp] = self.buffered[tp][:room], self.buffered[tp][room:]
            room -= len(out[tp])
            self.at[tp] = out[tp][-1].offset + 1
        return out


def test_the_runtime_hands_a_backlog_over_in_the_order_it_was_sent(tmp_path: Path) -> None:
    rt = _runtime(tmp_path)
    reports, updates = (TopicPartition(t, 0) for t in sorted(rt.intake_topics)[:2])
    others = {TopicPartition(t, 0) for t in rt.intake_topics} - {reports, updates}
    # Four updates buffered first (a backlog), their reports after; 3 records a batch.
    buffered = {updates: recs(updates, 2, 4, 6, 8), reports: recs(reports, 1, 3, 5, 7),
                **{tp: [] for tp in others}}
    consumer = Consumer({reports, updates, *others}, buffered)
    rt.consumer = consumer  # type: ignore[assignment]

    async def fetch_all() -> list[Rec]:
        handed: list[Rec] = []
        for _ in range(20):
            batch = await rt._fetch(max_records=3)
            handed += sorted((r for rs in batch.values() for r in rs), key=lambda r: r.timestamp)
        return handed

    handed = asyncio.run(fetch_all())
    assert [r.timestamp for r in handed] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert (reports,) in consumer.asked  # the partition held back for was asked for alone


def test_a_partition_ending_in_transaction_markers_is_not_behind(tmp_path: Path) -> None:
    # A field app writing with Kafka transactions leaves a marker after its records: the
    # highwater is one past the last record, and the consumer's position passes the marker.
    rt = _runtime(tmp_path)
    reports, updates = (TopicPartition(t, 0) for t in sorted(rt.intake_topics)[:2])

    def first_batch(position: int) -> dict[Any, list[Rec]]:
        consumer = Consumer({reports, updates}, {reports: recs(reports, 5), updates: []})
        consumer.high[updates], consumer.at[updates] = 2, position  # record 0 handed over before
        rt.consumer = consumer  # type: ignore[assignment]
        rt.aligner.clear()
        return asyncio.run(rt._fetch(max_records=3))

    assert first_batch(position=1) == {}  # record 1 is still to come: the report waits for it
    assert offsets(first_batch(position=2)) == {f"{reports.topic}-0": [0]}  # 1 was the marker


def test_the_records_held_are_a_gauge(tmp_path: Path) -> None:
    rt = _runtime(tmp_path)
    rt.aligner.add({B: recs(B, 10, 20), B1: recs(B1, 30)})
    assert b"hazard_intake_held_records 3.0" in generate_latest(rt.registry)


def test_at_most_the_limit_goes_at_once_the_earliest_first() -> None:
    """Records held over several fetches go in batches no larger than the limit (docs/redelivery.md
    argues the window of applied entries from a batch's size): the earliest by time, each
    partition's in its own order, and the rest at the next release."""
    aligner = Aligner(max_wait_s=2.0, limit=3)
    aligner.add({A: recs(A, 1, 4, 6, 9), B: recs(B, 2, 3, 8)})
    first = aligner.release([A, B], lambda tp: False, now=0.0)
    assert offsets(first) == {"reports-0": [0], "updates-0": [0, 1]}
    second = aligner.release([A, B], lambda tp: False, now=0.1)
    assert offsets(second) == {"reports-0": [1, 2], "updates-0": [2]}
    assert offsets(aligner.release([A, B], lambda tp: False, now=0.2)) == {"reports-0": [3]}
    assert not aligner.held


def test_the_runtime_lets_go_no_more_than_a_batch_at_once(tmp_path: Path) -> None:
    from engine.stream.runtime import MAX_BATCH
    assert _runtime(tmp_path).aligner.limit == MAX_BATCH
