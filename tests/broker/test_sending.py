"""`send_all` against a real broker: every record where it says, in order, on the key's partition.

The worker sends a batch's records as aiokafka record batches, one per topic
and partition, and takes each record's offset from its batch's base offset
(engine/stream/sending.py). Here a mix of keyed records, records for a given
partition, records without a key, a record larger than a batch and enough
records to fill several batches of one partition go to a three-partition
topic; reading the topic back must find each record at the partition and
offset `send_all` returned, on the partition its key hashes to, and each
partition's records in the order they were sent.
"""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin import NewTopic

from engine.harness import Namespace, read_to_end
from engine.stream.runtime import Send
from engine.stream.sending import send_all
from engine.tools.kafka import admin, partition_for_key, producer

pytestmark = pytest.mark.broker

PARTITIONS = 3


def _records(topic: str) -> list[Send]:
    out = [Send(topic, f"HZ-{n % 40:04d}".encode(), b'{"n":%d}' % n) for n in range(600)]
    out.insert(10, Send(topic, b"HZ-BIG", b"x" * 40_000))  # larger than a record batch (16 KB)
    out.insert(20, Send(topic, None, b'{"no key":1}'))
    out.insert(30, Send(topic, b"HZ-0001", b'{"given":2}', partition=2, timestamp_ms=1_700_000_000_000,
                        headers=(("ce_type", b"safety.test"),)))
    return out


async def _send(ns: Namespace, topic: str, records: list[Send]) -> list[object]:
    client = admin(ns.bootstrap, {})
    await client.start()
    try:
        await client.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await client.close()
    sender = producer(ns.bootstrap, {})
    await sender.start()
    try:
        return await send_all(sender, records)
    finally:
        await sender.stop()


def test_every_record_lands_where_send_all_says(namespace: Namespace) -> None:
    topic = namespace.topic("sending")
    records = _records(topic)
    acked = asyncio.run(_send(namespace, topic, records))
    stored = {(r.partition, r.offset): r for r in asyncio.run(read_to_end(namespace.bootstrap, topic))}

    assert len(acked) == len(records) == len(stored)
    assert len(set(acked)) == len(acked)  # no two records claim one place
    for sent, (partition, offset) in zip(records, acked, strict=True):
        got = stored[(partition, offset)]
        assert (got.key, got.value) == (sent.key, sent.value)
        if sent.partition is not None:
            assert partition == sent.partition
        elif sent.key is not None:
            assert partition == partition_for_key(sent.key, PARTITIONS)
    given = stored[acked[30]]
    assert given.timestamp == 1_700_000_000_000
    assert list(given.headers) == [("ce_type", b"safety.test")]
    # Per partition, the offsets rise in the order the records were sent.
    for p in range(PARTITIONS):
        offsets = [offset for partition, offset in acked if partition == p]
        assert offsets == sorted(offsets) and offsets
