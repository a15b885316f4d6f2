"""`first_offset` against a real broker: records found where they are, a transaction marker's offset skipped.

The agents take a jump in offsets as empty only when this probe says so (see
engine/continuity.py), so it must tell a marker from a record.
"""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import NewTopic
from faust.types import TP

from engine.continuity import first_offset
from engine.harness import Namespace, read_all
from engine.tools.kafka import admin

pytestmark = pytest.mark.broker


async def _probe(ns: Namespace) -> dict[str, int | None]:
    topic = ns.topic("probe")
    client = admin(ns.bootstrap)
    await client.start()
    try:
        await client.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await client.close()
    plain = AIOKafkaProducer(bootstrap_servers=ns.bootstrap, acks="all")
    txn = AIOKafkaProducer(bootstrap_servers=ns.bootstrap, transactional_id=f"{ns.name}-probe")
    await plain.start()
    await txn.start()
    try:
        await plain.send_and_wait(topic, b"first", partition=0)  # offset 0
        async with txn.transaction():  # offset 1; its commit marker takes offset 2
            await txn.send(topic, b"in a transaction", partition=0)
        await plain.send_and_wait(topic, b"after the marker", partition=0)  # offset 3
    finally:
        await plain.stop()
        await txn.stop()
    # The coordinator writes the commit marker after it answers, so the last record may land
    # before or after it: the marker's offset is the one of the four that holds no record.
    records = [r.offset for r in await read_all(ns.bootstrap, topic, settle=1.0)]
    assert len(records) == 3
    marker = ({0, 1, 2, 3} - set(records)).pop()
    tp = TP(topic, 0)
    return {"records": records, "marker": marker,
            "at each record": [await first_offset(ns.bootstrap, {}, tp, o) for o in records],
            "at the marker": await first_offset(ns.bootstrap, {}, tp, marker, timeout_s=1.0),
            "past the end": await first_offset(ns.bootstrap, {}, tp, 4, timeout_s=1.0)}


def test_first_offset_finds_records_and_steps_over_a_marker(namespace: Namespace) -> None:
    """Records are found at their offsets; from a commit marker the next record is found."""
    try:
        got = asyncio.run(_probe(namespace))
    finally:
        asyncio.run(namespace.delete_topics())
    assert got["at each record"] == got["records"]
    assert got["marker"] in (2, 3)  # after the transaction's record at 1
    assert got["at the marker"] == (3 if got["marker"] == 2 else None)
    assert got["past the end"] is None
