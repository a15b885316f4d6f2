"""Corrections to faust-streaming that at-least-once delivery depends on.

Both were found by the crash test (`tests/broker/test_crash.py`), which kills
the worker mid-stream and compares every hazard with a crash-free run.

1. Faust commits a consumer offset only after `Producer.flush()`, which is
   meant to drain the buffer that table changelog writes wait in. But
   `ProducerBuffer.flush` (faust/transport/producer.py, flush_atmost) gives up
   when no message leaves the buffer within 0.1 s, so the commit can run ahead
   of a state write still in the buffer. The replacement waits until the
   buffer is empty.

2. After a (re)assignment Faust seeks every partition to its committed offset
   (`Consumer.perform_seek`), but aiokafka's `seek_to_committed` skips a
   partition that has no committed offset yet. Faust can fetch records and
   then drop them unprocessed while recovery or a rebalance holds the stream
   (faust/transport/consumer.py, `getmany` leaves its batch early), trusting
   the seek to fetch them again. For a partition that never had a commit the
   seek does nothing, the fetch position stays past the dropped records, and
   the first commit of later offsets loses them for good. The crash test lost
   a hazard's verification this way: the first record ever written to its
   partition, read 50 ms before the SIGKILL. The replacement also seeks such
   partitions to their beginning, which is what `auto_offset_reset=earliest`
   means for them.

3. When the next record of a partition is more than one offset past the last,
   Faust assumes the offsets between hold nothing (compaction, transaction
   markers) and counts them as processed (`Consumer._add_gap`), so a commit
   can pass records it fetched and dropped. The ten-kill fault case lost an
   update this way. The replacement assumes nothing; the agents check every
   jump themselves (`engine/continuity.py`): they seek back once, and only a
   jump that persists is reported to Faust as empty (`add_gap`).

4. Faust commits the first run of acknowledged offsets even when it starts
   one past the committed offset (`Consumer._new_offset`: its guard is
   `min(acked) - committed > 1`, but the committed offset is the *next* record
   to read, so a run starting at committed + 1 passes). The record at the
   committed offset, still owed, is committed over. The agents create exactly
   that shape: when `engine/continuity.py` finds records skipped it seeks back
   and drops the record in hand, which Faust acknowledges; a commit before the
   skipped record comes round again moves the group past it, and a SIGKILL
   then loses it for good. The ten-kill fault case lost a rectification claim
   this way (issue 20); faust-streaming#606 reports the same off-by-one for
   agents with concurrency > 1. The replacement commits only a run that starts
   exactly at the committed offset. For a partition without a commit, fix 2
   now also records where its log begins, so that the run must start there and
   the continuity check knows the first offset to expect.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiokafka import TopicPartition
from faust.transport.consumer import Consumer
from faust.transport.producer import ProducerBuffer

log = structlog.get_logger("engine.faust_fixes")

_original_perform_seek = Consumer.perform_seek
_original_new_offset = Consumer._new_offset


async def _flush_until_empty(self: ProducerBuffer) -> None:
    """Drain the buffer completely; Faust's own flush may return with messages left."""
    rounds = 0
    while self.size:
        await self.flush_atmost(None)
        rounds += 1
        if rounds % 100 == 0:  # about every 10 s without progress: say so, keep waiting
            log.warning("producer_buffer_not_draining", waiting=self.size, rounds=rounds)


async def _seek_all_to_committed(self: Consumer) -> None:
    """Seek committed partitions to their commit and the others to their beginning."""
    await _original_perform_seek(self)
    changelogs = self.app.tables.changelog_topics
    fresh = [TopicPartition(tp.topic, tp.partition) for tp in self.assignment()
             if tp.topic not in changelogs and self._committed_offset.get(tp) is None]
    if fresh:
        await self._thread.seek_to_beginning(*fresh)
        # Where each log begins stands for its commit: the first run committed must start there,
        # and the agents' continuity check knows which offset comes first.
        for tp, first in (await self.earliest_offsets(*fresh)).items():
            self._committed_offset[tp] = first
        log.info("uncommitted_partitions_rewound", partitions=len(fresh))


async def _no_gap_on_a_jump(self: Consumer, tp: object, offset_from: int, offset_to: int) -> None:
    """Faust's own gap filling, disabled: a jump in offsets is not taken as empty offsets."""


async def add_gap(consumer: Consumer, tp: Any, offset_from: int, offset_to: int) -> None:
    """Let offsets `offset_from`..`offset_to`, known to hold no records, count as processed."""
    # Not Faust's `_add_gap`: it starts a gap one past the committed offset, so an empty offset at
    # the commit itself would never count, and with fix 4 the partition would stop committing.
    committed = consumer._committed_offset[tp]
    start = offset_from if committed is None else max(offset_from, committed)
    if start <= offset_to:
        gaps = consumer._gap[tp]
        gaps.addi(start, offset_to + 1)  # an interval tree's intervals exclude their end
        gaps.merge_overlaps()


def _commit_from_head(self: Consumer, tp: Any) -> int | None:
    """The offset to commit for `tp`: one past the run of handled offsets that starts at the commit.

    None while the offset at the commit is still owed, however many after it are handled.
    """
    acked = self._acked[tp]
    if not acked:
        return None
    gaps = self._gap[tp]
    if gaps:  # offsets known to be empty count as handled once a handled offset lies past them
        top = max(acked)
        empty = [o for span in gaps.overlap(0, top) for o in range(span.begin, span.end)]
        if empty:
            acked.extend(empty)
            gaps.chop(0, max(max(empty), top) + 1)
    acked.sort()
    committed = self._committed_offset[tp]
    head = acked[0] if committed is None else committed
    n, end = 0, head
    while n < len(acked) and acked[n] <= end:  # offsets below the commit were handled again
        end = max(end, acked[n] + 1)
        n += 1
    done = acked[:n]
    del acked[:n]
    self._acked_index[tp].difference_update(done)
    if end == head:
        return None  # the record at the commit is owed: commit nothing
    return end


def apply() -> None:
    """Install the fixes once; safe to call again."""
    if ProducerBuffer.flush is not _flush_until_empty:
        ProducerBuffer.flush = _flush_until_empty  # type: ignore[method-assign]
    if Consumer.perform_seek is not _seek_all_to_committed:
        Consumer.perform_seek = _seek_all_to_committed  # type: ignore[method-assign]
    if Consumer._add_gap is not _no_gap_on_a_jump:
        Consumer._add_gap = _no_gap_on_a_jump  # type: ignore[method-assign]
    if Consumer._new_offset is not _commit_from_head:
        Consumer._new_offset = _commit_from_head  # type: ignore[method-assign]
