"""A worker's tables on the batched runtime: bytes by key, each key owned by one input partition.

A table holds the states (or de-duplication marks) of the partitions this
worker is assigned, in memory, and every write is mirrored to its compacted
changelog topic, on the partition of the input record that caused it (the
intake and timeline topics and the changelogs share one partition count).
A worker that is assigned a partition reads that changelog partition from
its beginning; the changelog topics and their layout are those the Faust
runtime wrote, so either runtime recovers the other's tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

log = structlog.get_logger("engine.stream.tables")


class Table(Mapping[bytes, bytes]):
    """Values by key, with the partition each key belongs to, so a revoked partition can be dropped."""

    def __init__(self, changelog: str) -> None:
        self.changelog = changelog
        self._values: dict[bytes, bytes] = {}
        self._partition: dict[bytes, int] = {}

    def __getitem__(self, key: bytes) -> bytes:
        return self._values[key]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def put(self, key: bytes, value: bytes | None, partition: int) -> None:
        """Set (or, with None, delete) `key`, owned by `partition`."""
        if value is None:
            self._values.pop(key, None)
            self._partition.pop(key, None)
        else:
            self._values[key] = value
            self._partition[key] = partition

    def clear(self) -> None:
        """Forget every key."""
        self._values.clear()
        self._partition.clear()

    def drop(self, partitions: Iterable[int]) -> int:
        """Forget every key of `partitions` (revoked from this worker); how many were dropped."""
        gone = set(partitions)
        keys = [k for k, p in self._partition.items() if p in gone]
        for key in keys:
            del self._values[key], self._partition[key]
        return len(keys)


async def restore(reader: AIOKafkaConsumer, table: Table, partitions: Iterable[int]) -> int:
    """Load `partitions` of the table from its changelog, read from the beginning to its end now.

    Later records of a key replace earlier ones; an empty value deletes it.
    Returns the number of changelog records read.
    """
    tps = [TopicPartition(table.changelog, p) for p in partitions]
    ends = await reader.end_offsets(tps)
    todo = [tp for tp in tps if ends[tp] > 0]
    if not todo:
        return 0
    reader.assign(todo)
    await reader.seek_to_beginning(*todo)
    count = 0
    while todo:
        batch = await reader.getmany(*todo, timeout_ms=500, max_records=50_000)
        for tp, records in batch.items():
            for rec in records:
                if rec.offset < ends[tp]:
                    table.put(rec.key, rec.value, tp.partition)
                    count += 1
        todo = [tp for tp in todo if await reader.position(tp) < ends[tp]]
    reader.unsubscribe()
    return count
