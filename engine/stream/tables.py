"""A worker's tables: bytes by key, each key owned by one input partition.

A table holds the states (or de-duplication marks) of the partitions this
worker is assigned, in memory, and every write is mirrored to its compacted
changelog topic, on the partition of the input record that caused it (the
intake and timeline topics and the changelogs share one partition count).
A worker that is assigned a partition reads that changelog partition from
its beginning. The changelog topics and their layout are those the Faust
runtime of earlier versions wrote, so an upgraded worker recovers its tables.

With a `LocalStore` (HAZARD_STORE=rocksdb) each table partition is also kept
on local disk, with the changelog position it reflects. The local copy is
written only after the broker acknowledged the same writes on the changelog,
in one atomic batch with that position, so it is never ahead of the changelog:
a restarted worker loads it and reads only the changelog's tail from there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from rocksdict import AccessType, Options, Rdict, WriteBatch

log = structlog.get_logger("engine.stream.tables")


class Table(Mapping[bytes, bytes]):
    """Values by key, with the partition each key belongs to, so a revoked partition can be dropped."""

    def __init__(self, changelog: str) -> None:
        self.changelog = changelog
        self._values: dict[bytes, bytes] = {}
        self._partition: dict[bytes, int] = {}
        # Per partition, the changelog offset before which every record is in this table: where a
        # reader that takes the table's keys over (engine/stream/replica.py) goes on reading.
        self.complete: dict[int, int] = {}

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

    def partition_of(self, key: bytes) -> int | None:
        """The partition `key` belongs to; None if the table does not hold it."""
        return self._partition.get(key)

    def reached(self, partition: int, end: int) -> None:
        """Every record of `partition` before changelog offset `end` is in the table now."""
        if end > self.complete.get(partition, 0):
            self.complete[partition] = end

    def clear(self) -> None:
        """Forget every key."""
        self._values.clear()
        self._partition.clear()
        self.complete.clear()

    def take(self, partitions: Iterable[int] | None = None) -> list[tuple[bytes, bytes, int]]:
        """Remove and return (key, value, partition) of every key of `partitions` (None: all)."""
        gone = None if partitions is None else set(partitions)
        keys = [k for k, p in self._partition.items() if gone is None or p in gone]
        self.complete = {} if gone is None else {p: e for p, e in self.complete.items() if p not in gone}
        return [(k, self._values.pop(k), self._partition.pop(k)) for k in keys]

    def drop(self, partitions: Iterable[int]) -> int:
        """Forget every key of `partitions` (revoked from this worker); how many were dropped."""
        gone = set(partitions)
        keys = [k for k, p in self._partition.items() if p in gone]
        for key in keys:
            del self._values[key], self._partition[key]
        self.complete = {p: e for p, e in self.complete.items() if p not in gone}
        return len(keys)


# The key under which a local partition keeps its changelog position. 0xFF never occurs in UTF-8,
# and every key of a table is UTF-8 text (a subject id, an intake mark), so no key can equal it.
POSITION = b"\xffchangelog-position"


class LocalStore:
    """Table partitions on local disk (RocksDB), each with the changelog position it reflects."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._open: dict[tuple[str, int], Rdict] = {}

    def _db(self, changelog: str, partition: int) -> Rdict:
        key = (changelog, partition)
        if key not in self._open:
            self.root.mkdir(parents=True, exist_ok=True)
            options = Options(raw_mode=True)
            options.create_if_missing(True)
            self._open[key] = Rdict(str(self.root / f"{changelog}-{partition}.db"), options,
                                    access_type=AccessType.read_write())
        return self._open[key]

    def load(self, table: Table, partition: int) -> int | None:
        """Put the partition's stored keys into `table`; the changelog position they reflect."""
        position = None
        for key, value in self._db(table.changelog, partition).items():
            if key == POSITION:
                position = int(value)
            else:
                table.put(key, value, partition)
        return position

    def save(self, changelog: str, partition: int, writes: Iterable[tuple[bytes, bytes | None]],
             position: int) -> None:
        """Apply `writes` (None deletes) and record `position`, all or nothing."""
        batch = WriteBatch(raw_mode=True)
        for key, value in writes:
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        batch.put(POSITION, str(position).encode())
        self._db(changelog, partition).write(batch)

    def wipe(self, changelog: str, partition: int) -> None:
        """Forget the partition's local copy (its changelog no longer matches it)."""
        db = self._db(changelog, partition)
        for key in list(db.keys()):
            del db[key]

    def close(self) -> None:
        """Close every open partition."""
        for db in self._open.values():
            db.close()
        self._open.clear()


async def restore(reader: AIOKafkaConsumer, table: Table, partitions: Iterable[int],
                  local: LocalStore | None = None, stall_s: float = 60.0) -> int:
    """Load `partitions` of the table: from the local store if any, then from the changelog.

    With a local copy whose position lies within the changelog, only the
    records from that position on are read; without one (or when it does not
    match the changelog: a topic deleted and made again) the changelog is read
    from its beginning. Later records of a key replace earlier ones; an empty
    value deletes it. Returns the number of changelog records read. A broker
    request, or reading, that makes no progress for `stall_s` raises TimeoutError.
    """
    tps = [TopicPartition(table.changelog, p) for p in partitions]
    ends = await asyncio.wait_for(reader.end_offsets(tps), stall_s)
    starts = await asyncio.wait_for(reader.beginning_offsets(tps), stall_s)
    begin: dict[TopicPartition, int] = {}
    for tp in tps:
        position = local.load(table, tp.partition) if local is not None else None
        await asyncio.sleep(0)  # a quarter of a million states a partition: let heartbeats through
        if position is not None and not starts[tp] <= position <= ends[tp]:
            log.warning("local_store_discarded", changelog=tp.topic, partition=tp.partition,
                        position=position, changelog_start=starts[tp], changelog_end=ends[tp])
            local.wipe(tp.topic, tp.partition)
            table.drop([tp.partition])
            position = None
        begin[tp] = starts[tp] if position is None else position
    todo = [tp for tp in tps if ends[tp] > begin[tp]]
    if not todo:
        _reached(table, ends)
        return 0
    reader.assign(todo)
    for tp in todo:
        reader.seek(tp, begin[tp])
    count, progress = 0, time.monotonic()
    while todo:
        if time.monotonic() - progress > stall_s:
            raise TimeoutError(f"{table.changelog}: no record read for {stall_s:.0f} s, "
                               f"{len(todo)} partitions short of their end")
        batch = await reader.getmany(*todo, timeout_ms=500, max_records=50_000)
        if batch:
            progress = time.monotonic()
        for tp, records in batch.items():
            read = [(rec.key, rec.value) for rec in records if rec.offset < ends[tp]]
            for key, value in read:
                table.put(key, value, tp.partition)
            count += len(read)
            if local is not None and read:
                local.save(tp.topic, tp.partition, read, min(records[-1].offset + 1, ends[tp]))
        todo = [tp for tp in todo if await reader.position(tp) < ends[tp]]
    reader.unsubscribe()
    _reached(table, ends)
    return count


def _reached(table: Table, ends: Mapping[TopicPartition, int]) -> None:
    for tp, end in ends.items():
        table.reached(tp.partition, end)
