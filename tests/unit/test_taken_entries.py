"""Timeline entries decided as they are sent: what the fetch would have decided, at the same offsets.

`Runtime._handle` sends a batch's timeline entries first and takes each one that
is the next record of its partition for the worker straight into the decide
stage (`_appended`), instead of fetching it a batch later. Here a Runtime without
a broker gets an in-memory log in its place (offsets per topic and partition, as
the broker gives them; a consumer that commits)
and the benchmark's workload goes through `_handle` batch after batch. Deciding
the timeline the log ends with, one record at a time on a fresh runtime, must
give the same outputs and the same tables: taking an entry at once decides it
exactly where it sits in the timeline.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from datetime import datetime
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError

from bench.workload import build
from engine.intake.timeline import encode
from engine.stream.runtime import MAX_BATCH, Runtime
from engine.stream.sending import Acked
from engine.tools.kafka import partition_for_key
from tests.unit.test_batch_decisions import Rec, _runtime, _tables


class Log:
    """A broker's logs and one consumer's positions, enough for `_handle`."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.records: dict[tuple[str, int], list[Rec]] = defaultdict(list)
        self.sends: list[list[str]] = []  # the topics of each round trip, in order
        self.commits: list[dict[tuple[str, int], int]] = []
        # Commits of the positions last committed, unchanged: the runtime's check that the group
        # still counts it as a member before it writes states (`Runtime._still_member`).
        self.probes: list[dict[tuple[str, int], int]] = []
        self.refuse = False  # the coordinator refuses every commit: this worker's session ended

    def append(self, topic: str, key: bytes | None, value: bytes, partition: int | None = None,
               timestamp: int = 0) -> Acked:
        if partition is None:
            partition = 0 if key is None else partition_for_key(key, self.rt.intake_partitions)
        log = self.records[(topic, partition)]
        log.append(Rec(topic, partition, len(log), key, value, timestamp))  # type: ignore[arg-type]
        return Acked(partition, len(log) - 1)

    async def send(self, records: list[Any]) -> list[Acked]:
        if not records:
            return []
        self.sends.append(sorted({r.topic for r in records}))
        return [self.append(r.topic, r.key, r.value, r.partition) for r in records]

    async def commit(self, commits: dict[TopicPartition, int]) -> None:
        if self.refuse:
            raise CommitFailedError("the group has already rebalanced")
        done = {(tp.topic, tp.partition): end for tp, end in commits.items()}
        # A commit that moves no partition past where the runtime last committed it is the check.
        probe = all(self.rt.committed.get(tp) == end for tp, end in commits.items())
        (self.probes if probe else self.commits).append(done)

    async def getmany(self, *partitions: TopicPartition, **_: Any) -> dict[TopicPartition, list[Rec]]:
        """Every record of the timeline from its start, as a consumer never moved past what was taken."""
        return {TopicPartition(t, p): list(records) for (t, p), records in self.records.items()
                if t == self.rt.timeline and records}


def _worker(tmp_path: Any) -> tuple[Runtime, Log]:
    rt = _runtime(tmp_path)
    log = Log(rt)
    rt._send = log.send  # type: ignore[method-assign]
    rt.consumer = log  # type: ignore[assignment]
    # Assigned and recovered with empty tables: every partition's next record is its first.
    rt.positions = {TopicPartition(t, p): 0 for t in (*rt.intake_topics, rt.timeline)
                    for p in range(rt.intake_partitions)}
    return rt, log


def _fetch(rt: Runtime, log: Log) -> dict[TopicPartition, list[Rec]]:
    """Every timeline record past the worker's positions, as a fetch would hand them over."""
    batch = {}
    for p in range(rt.intake_partitions):
        tp = TopicPartition(rt.timeline, p)
        records = log.records[(rt.timeline, p)][rt.positions[tp]:]
        if records:
            batch[tp] = records[:MAX_BATCH]
    return batch


def _feed(rt: Runtime, log: Log, events: int, size: int) -> None:
    """The workload's first `events` through the intake topics, `size` a batch, each batch with what
    a fetch would bring of the timeline; then fetches until the timeline is decided to its end."""
    items = build(events)

    async def run() -> None:
        for start in range(0, len(items), size):
            batch = _fetch(rt, log)
            for n, item in enumerate(items[start:start + size]):
                acked = log.append(rt.prefix + item.topic, item.key, item.value, timestamp=1_000 + start + n)
                tp = TopicPartition(rt.prefix + item.topic, acked.partition)
                batch.setdefault(tp, []).append(log.records[(tp.topic, tp.partition)][acked.offset])
            await rt._handle(batch)
            # The clocks due by the batch's last event, sent as the worker's timer sends them: the
            # next batch fetches them, ahead of the entries it appends after them.
            now = datetime.fromisoformat(json.loads(items[min(start + size, len(items)) - 1].value)["time"])
            for kind, index in rt.indices.items():
                for at, subject in index.pop_due(now.timestamp()):
                    log.append(rt.timeline, subject.encode(), encode(rt.cores[kind].clock_entry(subject, at)))
        while batch := _fetch(rt, log):
            await rt._handle(batch)
        await rt._stored()  # a shared write the last batch left in flight (test_stored_together)

    asyncio.run(run())


Outputs = list[tuple[str, bytes, bytes]]


def _replayed(tmp_path: Any, log: Log) -> tuple[Outputs, dict[str, dict[bytes, bytes]]]:
    """The log's timeline decided again, a record at a time, on a runtime of its own."""
    rt = _runtime(tmp_path / "replay")
    outputs: Outputs = []
    links: list[tuple[bytes, bytes]] = []
    for p in range(rt.intake_partitions):
        for rec in log.records[(rt.timeline, p)]:
            sends: list[Any] = []
            asyncio.run(rt._decide_all([[rec]], sends, []))
            outputs += [(s.topic, s.key, s.value) for s in sends if s.topic != rt.timeline]
            links += [(s.key, s.value) for s in sends if s.topic == rt.timeline]
    # What the decisions sent to the timeline is what the log holds besides the intake's entries.
    assert set(links) <= {(r.key, r.value) for p in range(rt.intake_partitions)
                          for r in log.records[(rt.timeline, p)]}
    return outputs, _tables(rt)


def _by_key(outputs: list[tuple[str, bytes, bytes]]) -> dict[tuple[str, bytes], list[bytes]]:
    """Outputs per topic and key, in order: the order Kafka keeps and a consumer relies on."""
    out: dict[tuple[str, bytes], list[bytes]] = defaultdict(list)
    for topic, key, value in outputs:
        out[(topic, key)].append(value)
    return dict(out)


def _sent(rt: Runtime, log: Log) -> list[tuple[str, bytes, bytes]]:
    """The outputs on the log: every topic but the intake topics, the timeline and the changelogs."""
    return [(r.topic, r.key, r.value) for (topic, _), records in log.records.items()
            if topic != rt.timeline and topic not in rt.intake_topics and not topic.endswith("-changelog")
            for r in records]


@pytest.mark.parametrize("size", [1, 37, 300])
def test_entries_taken_as_sent_decide_what_the_timeline_decides_in_order(tmp_path: Any, size: int) -> None:
    rt, log = _worker(tmp_path)
    _feed(rt, log, 1_200, size)
    taken = rt.registry.get_sample_value("hazard_timeline_entries_total", {"path": "taken"})
    assert taken  # entries were taken, not only fetched
    fired = [r for (topic, _), records in log.records.items() if topic == rt.timeline
             for r in records if b'"safety.clock.fired"' in r.value]
    assert fired  # and clock entries fetched ahead of them
    outputs, tables = _replayed(tmp_path, log)
    assert outputs  # the workload escalates
    assert _by_key(_sent(rt, log)) == _by_key(outputs)
    assert _tables(rt) == tables


def test_a_batch_decides_its_own_entries_sends_what_they_cause_then_commits_past_them(tmp_path: Any) -> None:
    rt, log = _worker(tmp_path)
    item = next(i for i in build(20) if i.topic == "hazard.reports")
    acked = log.append(rt.prefix + item.topic, item.key, item.value, timestamp=1_000)
    tp = TopicPartition(rt.prefix + item.topic, acked.partition)

    asyncio.run(rt._handle({tp: log.records[(tp.topic, tp.partition)]}))
    timeline = (rt.timeline, acked.partition)
    # The entry; what the hazard's decision sent (its link to its enterprise, taken too); the
    # states of both and the mark; then one commit past the entry and the link.
    assert log.sends == [[rt.timeline], [rt.timeline], [rt.tables["enterprise"].changelog,
                                                        rt.tables["hazard"].changelog, rt.seen.changelog]]
    [link] = [r for (topic, _), records in log.records.items() if topic == rt.timeline
              for r in records if r.key != item.key]
    ends = {timeline: 1} | {(rt.timeline, link.partition): link.offset + 1}
    assert log.commits == [{(tp.topic, tp.partition): 1, **ends}]
    assert {(tp.topic, tp.partition): end for tp, end in rt.positions.items() if tp.topic == rt.timeline
            and end} == ends
    assert rt.tables["hazard"].get(item.key) is not None
    assert rt.tables["enterprise"].get(link.key) is not None


def test_an_entry_after_a_record_the_worker_has_not_decided_is_left_to_the_fetch(tmp_path: Any) -> None:
    rt, log = _worker(tmp_path)
    item = next(i for i in build(20) if i.topic == "hazard.reports")
    home = partition_for_key(item.key, rt.intake_partitions)
    log.append(rt.timeline, b"someone-else", b"{}", partition=home)  # a clock entry, say, not fetched yet
    acked = log.append(rt.prefix + item.topic, item.key, item.value, timestamp=1_000)
    tp = TopicPartition(rt.prefix + item.topic, acked.partition)

    asyncio.run(rt._handle({tp: log.records[(tp.topic, tp.partition)]}))
    assert log.commits == [{(tp.topic, tp.partition): 1}]  # the timeline's position stays
    assert rt.positions[TopicPartition(rt.timeline, home)] == 0
    assert rt.tables["hazard"].get(item.key) is None  # decided once fetched, after the record before it


def test_a_batch_decides_at_most_max_batch_records_of_a_partition(tmp_path: Any) -> None:
    rt, log = _worker(tmp_path)
    items = [i for i in build(400) if i.topic == "hazard.reports"]
    home = partition_for_key(items[0].key, rt.intake_partitions)
    items = [i for i in items if partition_for_key(i.key, rt.intake_partitions) == home][:3]
    timeline = TopicPartition(rt.timeline, home)
    # A fetch that brought MAX_BATCH - 1 records of the partition: room for one entry more.
    for _ in range(MAX_BATCH - 1):
        log.append(rt.timeline, b"filler", b"{}", partition=home)
    fetched = list(log.records[(rt.timeline, home)])
    batch: dict[TopicPartition, list[Any]] = {timeline: fetched}
    for item in items:
        acked = log.append(rt.prefix + item.topic, item.key, item.value, timestamp=1_000)
        tp = TopicPartition(rt.prefix + item.topic, acked.partition)
        batch.setdefault(tp, []).append(log.records[(tp.topic, tp.partition)][acked.offset])

    asyncio.run(rt._handle(batch))
    assert log.commits[-1][(rt.timeline, home)] == MAX_BATCH  # the fetched, and one taken
    assert rt.positions[timeline] == MAX_BATCH


def test_a_paced_batch_that_fills_a_partition_is_committed_before_the_next_fetch(tmp_path: Any) -> None:
    """A small fetch whose own entries fill a partition to MAX_BATCH leaves its write in flight and
    no room: the next fetch would ask aiokafka for `max_records=0`, which it refuses."""
    rt, log = _worker(tmp_path)
    items = [i for i in build(3_000) if i.topic == "hazard.reports"]
    home = partition_for_key(items[0].key, rt.intake_partitions)
    items = [i for i in items if partition_for_key(i.key, rt.intake_partitions) == home][:100]
    timeline = TopicPartition(rt.timeline, home)
    # Earlier small batches decided MAX_BATCH / 2 records of the partition; their writes wait.
    for _ in range(MAX_BATCH // 2):
        log.append(rt.timeline, b"filler", b"{}", partition=home)
    rt.positions[timeline] = rt.uncommitted[timeline] = MAX_BATCH // 2
    rt.committed[timeline] = 0
    # The next fetch asked for MAX_BATCH less that span and brought one record fewer: no backlog,
    # so the batch's write is left in flight. Its hazards' entries and links fill the partition.
    for _ in range(MAX_BATCH // 2 - 1 - len(items)):
        log.append(rt.timeline, b"filler", b"{}", partition=home)
    batch: dict[TopicPartition, list[Any]] = {timeline: log.records[(rt.timeline, home)][MAX_BATCH // 2:]}
    for n, item in enumerate(items):
        acked = log.append(rt.prefix + item.topic, item.key, item.value, timestamp=1_000 + n)
        tp = TopicPartition(rt.prefix + item.topic, acked.partition)
        batch.setdefault(tp, []).append(log.records[(tp.topic, tp.partition)][acked.offset])
    assert sum(map(len, batch.values())) == MAX_BATCH // 2 - 1
    rt.backlog = False

    async def run() -> tuple[int, int, bool]:
        await rt._handle(batch)
        span, in_flight = rt._span(), rt.storing is not None
        return span, await rt._room(), in_flight

    span, room, in_flight = asyncio.run(run())
    assert (span, in_flight) == (MAX_BATCH, True)
    assert room == MAX_BATCH  # committed first: the fetch may bring a whole batch again
    assert log.commits[-1][(rt.timeline, home)] == MAX_BATCH


def test_a_fetch_drops_the_entries_the_worker_took_and_keeps_the_rest(tmp_path: Any) -> None:
    """The consumer is not moved past what was taken: the fetch hands those entries over again,
    and only the records from the worker's position on reach the batch."""
    rt, log = _worker(tmp_path)
    items = [i for i in build(60) if i.topic == "hazard.reports"][:5]
    batch: dict[TopicPartition, list[Any]] = {}
    for n, item in enumerate(items):
        acked = log.append(rt.prefix + item.topic, item.key, item.value, timestamp=1_000 + n)
        tp = TopicPartition(rt.prefix + item.topic, acked.partition)
        batch.setdefault(tp, []).append(log.records[(tp.topic, tp.partition)][acked.offset])
    asyncio.run(rt._handle(batch))
    assert not _fetch(rt, log)  # every entry and link was taken
    clock = log.append(rt.timeline, items[0].key, b'{"kind": "a clock entry after them"}',
                       partition=partition_for_key(items[0].key, rt.intake_partitions))

    fetched = asyncio.run(rt._fetch())
    assert {(tp.partition, tuple(r.offset for r in records)) for tp, records in fetched.items()} == {
        (clock.partition, (clock.offset,))}
