"""Sending a batch's records as record batches, one per topic and partition, not one by one.

`AIOKafkaProducer.send` costs a coroutine, a metadata wait, a partition set, a
future and an accumulator lookup per record, and the worker sends three to
four records per event. `send_all` does that work once per topic and
partition: it chooses each record's partition as the producer would (the
partition it was given, else murmur2 of its key, `partition_for_key`),
appends the records in order to aiokafka's `BatchBuilder`s, submits each
builder with `send_batch` and waits for them all. A record's offset is its
batch's base offset plus its place in the batch, which is what the broker
assigns. A builder is closed before it is submitted: nothing else the producer
sends joins it, and the sender takes it at once instead of waiting out
`linger_ms`, which the worker, awaiting every batch it sends, has no use for.

Records of one partition keep their order: their builders are submitted in
order and aiokafka queues them in that order. A record with neither a key nor
a partition goes through `send` as before (the producer spreads those), and
so does a record too large for a batch of its own (accepted or refused by the
producer's own checks); the builders still open for the partitions such a
record may go to are submitted before it, so the order holds for it too.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from engine.tools.kafka import partition_for_key


class Outgoing(Protocol):
    """What `send_all` reads of a record to send (engine.stream.runtime.Send)."""

    @property
    def topic(self) -> str: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes: ...
    @property
    def partition(self) -> int | None: ...
    @property
    def headers(self) -> tuple[tuple[str, bytes | None], ...]: ...
    @property
    def timestamp_ms(self) -> int | None: ...


class Acked(NamedTuple):
    """Where the broker put a record."""

    partition: int
    offset: int


@functools.lru_cache(maxsize=65_536)
def _partition(key: bytes, partitions: int) -> int:
    # Subjects come back batch after batch; murmur2 is pure Python in aiokafka.
    return partition_for_key(key, partitions)


async def send_all(producer: Any, records: Sequence[Outgoing]) -> list[Acked]:
    """Send `records` and wait until the broker acknowledged every one; where each went, in order.

    Raises whatever the producer or the broker raised for any of them (the caller
    commits nothing then).
    """
    counts: dict[str, int] = {}
    for topic in {r.topic for r in records if r.partition is None and r.key is not None}:
        counts[topic] = len(await producer.partitions_for(topic))
    # Per topic and partition: the builder being filled, and the records in it (their indexes).
    open_: dict[tuple[str, int], tuple[Any, list[int]]] = {}
    waits: list[tuple[asyncio.Future[Any], list[int]]] = []
    singles: list[tuple[asyncio.Future[Any], int]] = []

    async def submit(tp: tuple[str, int]) -> None:
        builder, members = open_.pop(tp)
        builder.close()  # complete: no other send joins it, and it does not linger (linger_ms)
        waits.append((await producer.send_batch(builder, tp[0], partition=tp[1]), members))

    for i, r in enumerate(records):
        partition = r.partition if r.partition is not None else (
            None if r.key is None else _partition(r.key, counts[r.topic]))
        if partition is None:  # the producer picks one: what is open for the topic goes first
            for tp in [tp for tp in open_ if tp[0] == r.topic]:
                await submit(tp)
            singles.append((await producer.send(r.topic, r.value, key=r.key, timestamp_ms=r.timestamp_ms,
                                                headers=list(r.headers) or None), i))
            continue
        tp = (r.topic, partition)
        for _ in range(2):
            if tp not in open_:
                open_[tp] = (producer.create_batch(), [])
            builder, members = open_[tp]
            if builder.append(key=r.key, value=r.value, timestamp=r.timestamp_ms,
                              headers=list(r.headers)) is not None:
                members.append(i)
                break
            if not members:  # alone and still too large: the producer's send says why
                del open_[tp]  # (nothing of this partition is left unsubmitted before it)
                singles.append((await producer.send(r.topic, r.value, key=r.key, partition=partition,
                                                    timestamp_ms=r.timestamp_ms,
                                                    headers=list(r.headers) or None), i))
                break
            await submit(tp)  # full: send it, and put the record in a new one
    for tp in list(open_):
        await submit(tp)

    acked: list[Acked | None] = [None] * len(records)
    metas = await asyncio.gather(*(f for f, _ in waits), *(f for f, _ in singles))
    for (_, members), meta in zip(waits, metas, strict=False):
        for n, i in enumerate(members):
            acked[i] = Acked(meta.partition, meta.offset + n)
    for (_, i), meta in zip(singles, metas[len(waits):], strict=True):
        acked[i] = Acked(meta.partition, meta.offset)
    return acked  # type: ignore[return-value] - every place is filled
