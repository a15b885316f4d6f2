"""Small batches share one write of their states and one commit (`Runtime._store_due`).

A paced worker's batches are small, and most of them change the same enterprise
files: each batch used to write every state it changed and commit. Now the
batches since the last commit leave their writes waiting, each key's newest value
once, and the commit follows that write. Here a Runtime without a broker gets the
in-memory log of test_taken_entries, fed the workload in small batches:

- what it decides and sends is what deciding the log's timeline a record at a
  time decides, and what its changelogs end with is its tables;
- it writes fewer states than a worker that stores every batch, and no partition
  has more than MAX_BATCH offsets decided between two commits (the bound
  docs/redelivery.md argues from);
- a worker that stops before it stores (a crash) is followed by one that reads
  the changelogs and the commits, decides the rest again, and reaches the same
  tables and no output a record-at-a-time replay would not send.
"""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import patch

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError

from bench.workload import build
from engine.settings import Settings
from engine.stream.runtime import MAX_BATCH, BatchFailed, Runtime
from tests.unit.test_batch_decisions import _tables
from tests.unit.test_taken_entries import Log, _by_key, _feed, _fetch, _replayed, _sent, _worker


def _waiting_worker(tmp_path: Any, every_ms: int = 10_000) -> tuple[Runtime, Log]:
    """A worker whose batches wait to be stored for `every_ms`, or until MAX_BATCH / 2."""
    rt, log = _worker(tmp_path)
    rt.settings = Settings(data_dir=tmp_path, store_every_ms=every_ms, dedup_days=0)  # as `_runtime`
    rt.backlog = False  # the fetches here are small: no backlog
    return rt, log


def _changelog_writes(rt: Runtime, log: Log) -> int:
    return sum(len(records) for (topic, _), records in log.records.items()
               if topic in {t.changelog for t in (*rt.tables.values(), rt.seen)})


def _changelog_tables(rt: Runtime, log: Log) -> dict[str, dict[bytes, bytes]]:
    """Each table as its changelog ends: the newest value of each key, deletions gone."""
    out: dict[str, dict[bytes, bytes]] = {}
    for changelog in (t.changelog for t in (*rt.tables.values(), *rt.histories.values())):
        table: dict[bytes, bytes] = {}
        for (topic, _), records in log.records.items():
            if topic == changelog:
                for r in records:
                    if r.value is None:
                        table.pop(r.key, None)
                    else:
                        table[r.key] = r.value
        out[changelog] = table
    return out


def _spans(log: Log) -> list[int]:
    """Per commit, the most offsets one partition moved since the commit before."""
    last: dict[tuple[str, int], int] = {}
    spans = []
    for commit in log.commits:
        spans.append(max(end - last.get(tp, 0) for tp, end in commit.items()))
        last.update(commit)
    return spans


def test_small_batches_store_together_and_decide_what_the_timeline_decides(tmp_path: Any) -> None:
    rt, log = _waiting_worker(tmp_path / "together")
    _feed(rt, log, 3_200, 37)
    assert log.commits  # the span reached MAX_BATCH / 2 on the way
    assert rt.uncommitted  # and the last batches wait
    asyncio.run(rt._store_and_commit())
    assert not rt.uncommitted and not rt.unstored

    outputs, tables = _replayed(tmp_path, log)
    assert _by_key(_sent(rt, log)) == _by_key(outputs)
    assert _tables(rt) == tables
    assert _changelog_tables(rt, log) == tables  # a restart reads what the worker held
    assert max(_spans(log)) <= MAX_BATCH

    every, every_log = _worker(tmp_path / "every-batch")  # the same workload, stored every batch
    _feed(every, every_log, 3_200, 37)
    assert len(every_log.commits) > 4 * len(log.commits)
    assert _changelog_writes(rt, log) < 0.75 * _changelog_writes(every, every_log)  # 5,301 to 9,015 (3,000)
    assert _tables(every) == tables


def test_batches_wait_no_longer_than_store_every_ms(tmp_path: Any) -> None:
    rt, log = _waiting_worker(tmp_path, every_ms=0)  # 0: after every batch, as before
    _feed(rt, log, 200, 10)
    assert not rt.uncommitted
    assert len(log.commits) >= 200 // 10

    rt, log = _waiting_worker(tmp_path / "later", every_ms=50)
    items = [i for i in build(100) if i.topic == "hazard.reports"][:2]

    async def two_batches() -> None:
        for n, item in enumerate(items):
            acked = log.append(rt.prefix + item.topic, item.key, item.value, timestamp=1_000 + n)
            tp = TopicPartition(rt.prefix + item.topic, acked.partition)
            await rt._handle({tp: [log.records[(tp.topic, tp.partition)][acked.offset]]})
            if n == 0:
                assert not log.commits and rt.uncommitted and rt.storing is None  # the first waits
                rt.unstored_since -= 0.05  # type: ignore[operator]  # as if 50 ms went by
        # The second batch took both along: a write in flight, the loop not held for it.
        assert rt.storing is not None and not rt.uncommitted and not log.commits
        await rt._stored()

    asyncio.run(two_batches())
    assert len(log.commits) == 1 and rt.storing is None


def test_a_backlog_stores_every_batch(tmp_path: Any) -> None:
    rt, log = _waiting_worker(tmp_path)
    rt.backlog = True  # each fetch brought all it was allowed
    _feed(rt, log, 200, 20)
    assert not rt.uncommitted
    assert len(log.commits) >= 200 // 20


def test_the_fetch_asks_for_no_more_than_the_span_leaves(tmp_path: Any) -> None:
    rt, log = _waiting_worker(tmp_path)
    asked: list[int] = []

    async def getmany(*_: TopicPartition, max_records: int, **__: Any) -> dict[TopicPartition, list[Any]]:
        asked.append(max_records)
        return {}

    log.getmany = getmany  # type: ignore[method-assign]
    tp = TopicPartition(rt.timeline, 1)
    rt.positions[tp], rt.committed[tp], rt.uncommitted[tp] = 700, 100, 700

    async def fetch() -> None:  # as the loop asks: the room the runtime leaves
        await rt._fetch(await rt._room())

    asyncio.run(fetch())
    assert asked == [MAX_BATCH - 600]
    assert not rt.backlog  # an empty fetch is no backlog
    assert not rt._store_due()  # 600 offsets since the commit, and the 10 s not gone by
    rt.positions[tp] = 100 + MAX_BATCH // 2
    assert rt._store_due()  # half of MAX_BATCH: stored now, whatever the time


def test_partitions_revoked_are_stored_and_committed_before_they_go(tmp_path: Any) -> None:
    rt, log = _waiting_worker(tmp_path)
    _feed(rt, log, 300, 30)
    assert not log.commits and rt.uncommitted
    assert rt.changed  # enterprise files too, not even encoded yet
    waiting = dict(rt.uncommitted)
    asyncio.run(rt.revoked({TopicPartition(rt.timeline, 0)}))
    assert log.commits == [{(tp.topic, tp.partition): end for tp, end in waiting.items()}]
    assert not rt.uncommitted and not rt.unstored and not rt.changed

    twin, twin_log = _waiting_worker(tmp_path / "twin")  # the same batches, stored at the end
    _feed(twin, twin_log, 300, 30)
    asyncio.run(twin._store_and_commit())
    # What the worker held, the revoked partition's too, is on the changelogs.
    assert _changelog_tables(rt, log) == _tables(twin)


def _recovered(tmp_path: Any, log: Log) -> Runtime:
    """A fresh worker that read every table from its changelog and set its positions to the commits,
    as `_recover` and `_seek_committed` do."""
    rt, _ = _worker(tmp_path)
    rt.consumer = log  # type: ignore[assignment]
    rt._send = log.send  # type: ignore[method-assign]
    for table in (*rt.tables.values(), *rt.histories.values(), rt.seen):
        for (topic, partition), records in log.records.items():
            if topic == table.changelog:
                for r in records:
                    table.put(r.key, r.value, partition)
    for kind, table in rt.tables.items():
        rt.derived.install(kind, rt.derived.collect(kind, table.items()))
    for commit in log.commits:
        rt.positions.update({TopicPartition(t, p): end for (t, p), end in commit.items()})
    rt.committed = dict(rt.positions)
    return rt


def test_a_worker_that_stops_before_storing_is_followed_by_one_that_reaches_the_same_tables(
        tmp_path: Any) -> None:
    first, log = _waiting_worker(tmp_path / "first")
    _feed(first, log, 3_200, 37)
    assert log.commits  # some batches were stored and committed on the way
    assert first.uncommitted and first.unstored  # it stops here, without storing the last ones
    assert first.changed  # nor the enterprise files those changed

    second = _recovered(tmp_path / "second", log)
    behind = sum(end - second.positions.get(tp, 0) for tp, end in first.positions.items())
    assert behind > 0  # there is something to decide again
    # The intake records after the commits, and the timeline after them, read again.
    batch: dict[TopicPartition, list[Any]] = {
        tp: log.records[(tp.topic, tp.partition)][second.positions[tp]:]
        for tp in first.positions if tp.topic in second.intake_topics
        and log.records[(tp.topic, tp.partition)][second.positions[tp]:]}
    batch |= _fetch(second, log)

    async def drain() -> None:
        current = batch
        while current:
            await second._handle(current)
            current = _fetch(second, log)

    asyncio.run(drain())
    assert not second.uncommitted  # stored every batch: a backlog, as after a restart

    outputs, tables = _replayed(tmp_path / "replay", log)
    assert _tables(second) == tables
    # Decided again, the same outputs: nothing the record-at-a-time replay does not send.
    assert set(_sent(second, log)) == set(outputs)


def test_a_write_in_flight_that_fails_is_reported_and_nothing_is_committed(tmp_path: Any) -> None:
    rt, log = _waiting_worker(tmp_path)
    real = log.send

    async def send(records: list[Any]) -> list[Any]:
        if any(r.topic.endswith("-changelog") for r in records):
            raise KafkaTimeoutError("the broker went away")
        return await real(records)

    rt._send = Runtime._send.__get__(rt)  # type: ignore[method-assign]  # its BatchFailed wrapping
    rt.producer = object()  # type: ignore[assignment]
    items = [i for i in build(60) if i.topic == "hazard.reports"][:3]

    async def run() -> None:
        for n, item in enumerate(items):
            acked = log.append(rt.prefix + item.topic, item.key, item.value, timestamp=1_000 + n)
            tp = TopicPartition(rt.prefix + item.topic, acked.partition)
            if n < 2:
                await rt._handle({tp: [log.records[(tp.topic, tp.partition)][acked.offset]]})
                rt.unstored_since = 0.0  # due: the next batch's write goes in flight
                continue
            # The loop sees it fail when it looks (each turn), or at the next write at the latest.
            await asyncio.sleep(0)
            assert rt.storing is not None and rt.storing.done()
            with pytest.raises(BatchFailed, match="the broker went away"):
                await rt._handle({tp: [log.records[(tp.topic, tp.partition)][acked.offset]]})

    with patch("engine.stream.runtime.send_all", lambda _producer, records: send(records)):
        asyncio.run(run())
    assert not log.commits  # nothing committed past a write that failed
    assert rt.storing is None


def test_a_write_waits_for_the_one_in_flight_and_going_back_drops_it(tmp_path: Any) -> None:
    rt, log = _waiting_worker(tmp_path)
    _feed(rt, log, 300, 30)
    release = asyncio.Event()
    real = log.send

    async def slow(records: list[Any]) -> list[Any]:  # the broker slow to acknowledge
        await release.wait()
        return await real(records)

    async def run() -> None:
        rt._send = slow  # type: ignore[method-assign]
        await rt._store_and_commit(wait=False)
        first = rt.storing
        assert first is not None and not log.commits
        second = asyncio.ensure_future(rt._store_and_commit(wait=False))
        await asyncio.sleep(0)
        assert not second.done()  # it waits for the write in flight
        release.set()
        await second
        assert first.done() and log.commits
        # Going back drops a write in flight instead of waiting for it.
        rt.unstored[("t", 0, b"k")] = object()  # type: ignore[assignment]
        rt.uncommitted[TopicPartition(rt.timeline, 0)] = 10**6
        release.clear()
        await rt._store_and_commit(wait=False)
        assert rt.storing is not None
        rt._drop_storing()
        assert rt.storing is None

    asyncio.run(run())
