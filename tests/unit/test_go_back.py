"""Going back after a failed batch: no partition is fetched until every one is sought.

`_go_back` asks the broker for each partition's committed offset in turn. While it
did, the consumer's fetcher went on fetching the partitions already sought, so the
first batch afterwards held those alone: in the broker-loss fault case a hazard's
plan (rectification topic) reached the timeline before its report (hazard topic).
Here a consumer that records what it is asked shows the order: pause everything,
seek everything, then resume everything together.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition

from engine.stream.runtime import Runtime
from tests.unit.test_batch_decisions import _runtime  # a Runtime without a broker


class Consumer:
    """The calls `_go_back` makes of the consumer, in order; committed offsets as given."""

    def __init__(self, assignment: set[TopicPartition], committed: dict[TopicPartition, int | None]) -> None:
        self._assignment, self._committed = assignment, committed
        self.calls: list[tuple[str, Any]] = []

    def assignment(self) -> set[TopicPartition]:
        return set(self._assignment)

    def pause(self, *tps: TopicPartition) -> None:
        self.calls.append(("pause", frozenset(tps)))

    def resume(self, *tps: TopicPartition) -> None:
        self.calls.append(("resume", frozenset(tps)))

    async def committed(self, tp: TopicPartition) -> int | None:
        await asyncio.sleep(0)  # the fetcher would run here
        return self._committed[tp]

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.calls.append(("seek", tp))

    async def seek_to_beginning(self, tp: TopicPartition) -> None:
        self.calls.append(("seek", tp))

    async def position(self, tp: TopicPartition) -> int:
        return 0


def _assignment(rt: Runtime) -> set[TopicPartition]:
    return {TopicPartition(topic, n) for topic in (*rt.intake_topics, rt.timeline) for n in range(2)}


def test_going_back_pauses_every_partition_until_all_are_sought(tmp_path: Path) -> None:
    rt = _runtime(tmp_path)
    assignment = _assignment(rt)
    consumer = Consumer(assignment, {tp: (None if tp.partition else 7) for tp in assignment})
    rt.consumer = consumer  # type: ignore[assignment]
    recovered: list[set[int]] = []

    async def recover(numbers: set[int]) -> None:
        recovered.append(numbers)

    rt._recover = recover  # type: ignore[method-assign]
    asyncio.run(rt._go_back())
    names = [name for name, _ in consumer.calls]
    assert names[0] == "pause" and names[-1] == "resume"
    assert names[1:-1] == ["seek"] * len(assignment)
    assert consumer.calls[0][1] == consumer.calls[-1][1] == frozenset(assignment)
    assert {tp for name, tp in consumer.calls if name == "seek"} == assignment
    assert recovered == [{0, 1}]


def test_an_assignment_waiting_for_its_recovery_keeps_its_partitions_paused(tmp_path: Path) -> None:
    # A rebalance that came before the failed batch paused the new assignment; the loop's
    # `_recover_assigned` resumes it once its tables are read, not the going back.
    rt = _runtime(tmp_path)
    assignment = _assignment(rt)
    consumer = Consumer(assignment, dict.fromkeys(assignment, 3))
    rt.consumer = consumer  # type: ignore[assignment]
    rt.unrecovered = True

    async def recover(numbers: set[int]) -> None:
        pass

    rt._recover = recover  # type: ignore[method-assign]
    asyncio.run(rt._go_back())
    assert [name for name, _ in consumer.calls].count("resume") == 0
