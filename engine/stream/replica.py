"""Read-only copies of the partitions a worker does not own, so that any worker answers for any subject.

A worker's tables hold the partitions it is assigned. For the HTTP look-ups
(`/hazards`, `/alerts`, `/enterprises`, the board, the escalations feed's
departments) each worker also keeps a `Replica`: one group-less consumer,
assigned every partition of the hazard, alert and enterprise changelogs,
fetches those the worker does not own, from their beginning, and then follows
their ends; the partitions the worker owns (and has recovered) are paused.
Their records go to the replica's table and place index. The pages
read the replica first and the worker's own tables after (`ReadTable`,
`engine.feeds.index.Indices`), so each subject is answered by exactly one copy.

Partitions move between the two without an empty moment:
- revoked (and before every recovery): the worker's own keys of those
  partitions move into the replica (`hand_over`), which from then on fetches
  their records from where the worker's table was complete (`Table.complete`),
  so it reads only what came after what it was handed;
- assigned: the replica keeps answering for the partition until the worker's
  table of it is recovered, then forgets it (`release`).

How stale a replica is shows as `lag`: the records of its partitions it has
not applied yet (end of the changelog minus the position read), per kind, in
the metric `hazard_replica_lag_records` and the header `X-Replica-Lag-Records`
on every look-up. The design and its memory cost are in docs/several-workers.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from engine.feeds.index import Indices, Place, PlaceIndex
from engine.stream.tables import Table
from engine.tools.kafka import partitions_of

log = structlog.get_logger("engine.stream.replica")

BATCH = 2_000  # records applied per turn: the decisions share the event loop
STOP_S = 5.0  # how long stopping waits for the reader to close


class Replica:
    """The states of the partitions this worker does not own, per kind, with their places."""

    def __init__(self, changelogs: Mapping[str, str], place_of: Callable[[str, bytes], Place],
                 histories: Mapping[str, str] | None = None) -> None:
        self.kinds = {changelog: kind for kind, changelog in changelogs.items()}
        self.tables = {kind: Table(changelog) for kind, changelog in changelogs.items()}
        # The history tables (engine/store.py): kept like the states, without places.
        self.history_kinds = {changelog: kind for kind, changelog in (histories or {}).items()}
        self.histories = {kind: Table(changelog) for kind, changelog in (histories or {}).items()}
        self.indices = {kind: PlaceIndex() for kind in changelogs}
        self.place_of = place_of  # where the feeds file a stored state (`Derived.place_of`)
        self.owned: set[int] = set()  # partitions the worker's own tables answer for
        self.positions: dict[tuple[str, int], int] = {}  # next offset to read, per changelog partition
        self.restand: set[tuple[str, int]] = set()  # partitions whose position a take-over set
        self.ends: dict[tuple[str, int], int] = {}  # the changelogs' ends, as last seen
        self.started_ends: dict[tuple[str, int], int] | None = None  # the ends when reading began
        self.caught_up = asyncio.Event()  # read once up to where the changelogs ended at the start
        self.owned_known = asyncio.Event()  # the worker has recovered its first assignment

    # --- what the reader and the runtime call ------------------------------------------------

    def apply(self, changelog: str, partition: int, offset: int, key: bytes | None,
              value: bytes | None) -> None:
        """One changelog record: kept when its partition is not the worker's own, counted past always."""
        self.positions[(changelog, partition)] = offset + 1
        if changelog in self.history_kinds:
            if key is not None and partition not in self.owned:
                self.histories[self.history_kinds[changelog]].put(key, value or None, partition)
            return
        kind = self.kinds.get(changelog)
        if kind is None or key is None or partition in self.owned:
            return
        index = self.indices[kind]
        subject = key.decode("utf-8", "replace")
        if not value:  # a tombstone: the state is gone
            self.tables[kind].put(key, None, partition)
            index.discard(subject)
            return
        try:
            place = self.place_of(kind, value)
        except Exception:  # noqa: BLE001 - a record no reader can place must not stop the replica
            log.warning("replica_record_unreadable", changelog=changelog, partition=partition,
                        offset=offset)
            return
        self.tables[kind].put(key, value, partition)
        index.put(subject, place)

    def hand_over(self, tables: Mapping[str, Table], histories: Mapping[str, Table],
                  index_of: Callable[[str], PlaceIndex], partitions: Iterable[int] | None = None) -> int:
        """The worker's own tables give up `partitions` (None: all): their keys move here; how many.

        Every kind's keys and history chunks move first, and only then does the
        replica start following those partitions itself: a kind handed over after
        the partitions were disowned would move nothing (see `adopt`).
        """
        numbers = None if partitions is None else set(partitions)
        moved = sum(self.adopt_history(kind, history, numbers) for kind, history in histories.items())
        moved += sum(self.adopt(kind, table, index_of(kind), numbers) for kind, table in tables.items())
        self.disown(numbers)
        return moved

    def adopt(self, kind: str, table: Table, index: PlaceIndex,
              partitions: Iterable[int] | None = None) -> int:
        """Take over the worker's own keys of `partitions` (None: all of them); how many moved.

        Only the keys of partitions the worker's table answers for (released to
        it after a whole recovery) move: for any other partition the replica
        follows the changelog itself, and what the table holds of it (a recovery
        that failed half-way) may be older. Those keys leave the table all the
        same. Places come from the worker's `index`, which its next recovery
        rebuilds. The partitions stay owned: `hand_over` disowns them once every
        kind has moved.
        """
        numbers = None if partitions is None else set(partitions)
        self._stand_where(table, numbers)
        moved = [row for row in table.take(numbers) if row[2] in self.owned]
        mine, placed = self.tables[kind], []
        for key, value, partition in moved:
            subject = key.decode("utf-8", "replace")
            place = index.get(subject)
            if place is None:
                try:
                    place = self.place_of(kind, value)
                except Exception:  # noqa: BLE001 - as in apply
                    continue
            mine.put(key, value, partition)
            placed.append((subject, place))
        self.indices[kind].put_many(placed)
        return len(moved)

    def adopt_history(self, kind: str, table: Table, partitions: Iterable[int] | None = None) -> int:
        """As `adopt`, for a history table."""
        numbers = None if partitions is None else set(partitions)
        self._stand_where(table, numbers)
        mine, moved = self.histories[kind], 0
        for key, value, partition in table.take(numbers):
            if partition in self.owned:
                mine.put(key, value, partition)
                moved += 1
        return moved

    def _stand_where(self, table: Table, partitions: set[int] | None) -> None:
        """Follow the owned `partitions` of `table` on from where the table is complete.

        The reader does not fetch the partitions the worker owns (the worker wrote or
        read every record of them), so what the table holds is where the replica
        stands when it takes them over.
        """
        for partition, end in table.complete.items():
            if partition in self.owned and (partitions is None or partition in partitions):
                self.positions[(table.changelog, partition)] = end
                self.restand.add((table.changelog, partition))

    def disown(self, partitions: Iterable[int] | None = None) -> None:
        """The worker's own tables no longer answer for `partitions` (None: any): follow them here."""
        self.owned = set() if partitions is None else self.owned - set(partitions)

    def release(self, partitions: Iterable[int]) -> int:
        """The worker's own tables hold `partitions` now: forget them here; how many keys went."""
        numbers = set(partitions)
        self.owned |= numbers
        self.owned_known.set()
        gone = 0
        for history in self.histories.values():
            gone += len(history.take(numbers))
        for kind, table in self.tables.items():
            taken = table.take(numbers)
            self.indices[kind].discard_many(key.decode("utf-8", "replace") for key, _, _ in taken)
            gone += len(taken)
        return gone

    def lag(self, kind: str) -> int:
        """Records of the replicated partitions of `kind` not applied yet."""
        changelogs = {self.tables[kind].changelog}
        if kind in self.histories:
            changelogs.add(self.histories[kind].changelog)
        return sum(max(0, end - self.positions.get(tp, 0)) for tp, end in self.ends.items()
                   if tp[0] in changelogs and tp[1] not in self.owned)

    def lags(self) -> dict[str, int]:
        """`lag` of every kind, for the metrics."""
        return {kind: self.lag(kind) for kind in self.tables}

    def note_ends(self, ends: Mapping[tuple[str, int], int]) -> None:
        """The changelogs' ends as the reader saw them; the first ones set what catching up means."""
        self.ends.update(ends)
        if self.started_ends is None:
            self.started_ends = dict(ends)
        if not self.caught_up.is_set() and all(
                self.positions.get(tp, 0) >= end for tp, end in self.started_ends.items()
                if tp[1] not in self.owned):
            self.caught_up.set()
            log.info("replica_caught_up", subjects={k: len(t) for k, t in self.tables.items()})

    # --- the reader ---------------------------------------------------------------------------

    async def follow(self, make_reader: Callable[[], AIOKafkaConsumer], retry_max_s: float) -> None:
        """Read every changelog partition, from where this replica stands, until cancelled.

        Reading starts once the worker has recovered its first assignment, so
        that a first start does not hold the worker's own partitions twice.
        """
        await self.owned_known.wait()
        pause = 0.5
        while True:
            consumer = make_reader()
            try:
                await consumer.start()
                tps = [TopicPartition(changelog, p) for changelog in (*self.kinds, *self.history_kinds)
                       for p in await partitions_of(consumer, changelog)]
                if not tps:
                    raise KafkaError("no changelog partitions found yet")
                consumer.assign(tps)
                starts = await consumer.beginning_offsets(tps)
                ends = await consumer.end_offsets(tps)
                self.note_ends({(tp.topic, tp.partition): end for tp, end in ends.items()})
                followed: set[TopicPartition] | None = None
                pause = 0.5
                while True:
                    followed = self._follow_now(consumer, tps, followed, starts)
                    if not followed:  # the worker owns every partition: nothing to read
                        self.note_ends({})
                        await asyncio.sleep(0.5)
                        continue
                    batch = await consumer.getmany(timeout_ms=500, max_records=BATCH)
                    for tp, records in batch.items():
                        for rec in records:
                            self.apply(tp.topic, tp.partition, rec.offset, rec.key, rec.value)
                    for tp in followed - {tp for tp in tps if tp.partition in self.owned}:
                        at = (tp.topic, tp.partition)  # past offsets compaction left empty, too
                        self.positions[at] = max(self.positions.get(at, 0), await consumer.position(tp))
                    seen = {(tp.topic, tp.partition): high for tp in followed
                            if (high := consumer.highwater(tp)) is not None}
                    self.note_ends(seen)
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("replica_reader_failed_retrying", error=f"{type(exc).__name__}: {exc}"[:300],
                            retry_in_s=pause)
            finally:
                with contextlib.suppress(TimeoutError, KafkaError, OSError):
                    await asyncio.wait_for(consumer.stop(), STOP_S)
            await asyncio.sleep(pause)
            pause = min(pause * 2, retry_max_s)

    def _follow_now(self, consumer: AIOKafkaConsumer, tps: list[TopicPartition],
                    followed: set[TopicPartition] | None, starts: Mapping[TopicPartition, int]
                    ) -> set[TopicPartition]:
        """Fetch the partitions the worker does not own, each from where this replica stands.

        An owned partition is not fetched at all (a worker that owns them all reads
        nothing here); one the worker gave up is fetched again from the position its
        table was complete up to (`_stand_where`), never before the changelog's
        first kept record (the reader's own reset is "latest", which would skip
        what is there).
        """
        now = {tp for tp in tps if tp.partition not in self.owned}
        moved = {tp for tp in now if (tp.topic, tp.partition) in self.restand}
        if followed is None or now != followed or moved:
            consumer.pause(*(set(tps) - now))
            for tp in now - (followed or set()) | moved:
                consumer.seek(tp, max(starts[tp], self.positions.get((tp.topic, tp.partition), 0)))
            consumer.resume(*now)
            self.restand.clear()
        return now


class ReadTable(Mapping[bytes, bytes]):
    """The replica's table and the worker's own as one, the replica's first (engine/feeds/views.py)."""

    def __init__(self, replica: Mapping[bytes, bytes], own: Mapping[bytes, bytes]) -> None:
        self.replica, self.own = replica, own

    def __getitem__(self, key: bytes) -> bytes:
        value = self.replica.get(key)
        return self.own[key] if value is None else value

    def __iter__(self) -> Iterator[bytes]:
        yield from list(self.replica)
        yield from (key for key in list(self.own) if key not in self.replica)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def read_side(replica: Replica | None, kind: str, table: Table,
              index: PlaceIndex) -> tuple[Mapping[bytes, bytes], Any, Callable[[], int] | None]:
    """What the pages of `kind` read: the table, the place index, and the replica's lag (or None)."""
    if replica is None:
        return table, index, None
    return (ReadTable(replica.tables[kind], table), Indices(replica.indices[kind], index),
            lambda: replica.lag(kind))


def history_side(replica: Replica | None, kind: str, table: Table) -> Mapping[bytes, bytes]:
    """The history table the pages of `kind` read: the replica's and the worker's own as one."""
    if replica is None:
        return table
    return ReadTable(replica.histories[kind], table)
