"""Tables on local disk (HAZARD_STORE=rocksdb): a restart reads only the changelog's tail.

Against the real broker: a changelog partition is restored once from its
beginning into a local store, gains more records, and is restored again into
an empty table from the same store; the second restore reads only the new
records and ends with exactly what a full read of the changelog gives.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from engine.harness import Namespace
from engine.stream.tables import POSITION, LocalStore, Table, restore

pytestmark = pytest.mark.broker


async def _changelog(ns: Namespace) -> str:
    name = f"{ns.name}-hazards-changelog"
    admin = AIOKafkaAdminClient(bootstrap_servers=ns.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 2, 1, topic_configs={"cleanup.policy": "compact"})])
    finally:
        await admin.close()
    return name


async def _write(ns: Namespace, topic: str, records: list[tuple[int, bytes, bytes | None]]) -> None:
    prod = AIOKafkaProducer(bootstrap_servers=ns.bootstrap, acks="all")
    await prod.start()
    try:
        await asyncio.gather(*[await prod.send(topic, value, key=key, partition=partition)
                               for partition, key, value in records])
    finally:
        await prod.stop()


@asynccontextmanager
async def _reader(ns: Namespace) -> AsyncIterator[AIOKafkaConsumer]:
    reader = AIOKafkaConsumer(bootstrap_servers=ns.bootstrap, group_id=None, enable_auto_commit=False)
    await reader.start()
    try:
        yield reader
    finally:
        await reader.stop()


async def _restore(ns: Namespace, topic: str, local: LocalStore | None) -> tuple[Table, int]:
    table = Table(topic)
    async with _reader(ns) as reader:
        read = await restore(reader, table, [0, 1], local)
    return table, read


def test_a_restart_reads_only_what_the_changelog_gained(namespace: Namespace, tmp_path: Path) -> None:
    """Second restore from the local store: only the tail is read, and the table is exact."""
    async def run() -> None:
        topic = await _changelog(namespace)
        first = [(n % 2, f"HZ-{n}".encode(), f"state {n}".encode()) for n in range(300)]
        await _write(namespace, topic, first)
        local = LocalStore(tmp_path / "tables")
        table, read = await _restore(namespace, topic, local)
        assert read == 300 and len(table) == 300
        assert table.complete == {0: 150, 1: 150}, "where a replica taking it over reads on"
        local.close()

        later = [(n % 2, f"HZ-{n}".encode(), f"state {n} v2".encode()) for n in range(0, 300, 10)]
        later += [(0, b"HZ-0", None), (1, b"HZ-new", b"new state")]  # a deletion and a new key
        await _write(namespace, topic, later)
        local = LocalStore(tmp_path / "tables")
        again, read = await _restore(namespace, topic, local)
        local.close()
        assert read == len(later), "only the records written after the first restore"
        assert again.complete == {0: 181, 1: 151}
        full, _ = await _restore(namespace, topic, None)
        assert dict(again.items()) == dict(full.items())
        assert b"HZ-0" not in again and again[b"HZ-10"] == b"state 10 v2"
        assert again[b"HZ-new"] == b"new state"
        assert POSITION not in again, "the stored position is not a state"

    asyncio.run(run())


def test_a_local_copy_the_changelog_does_not_match_is_discarded(namespace: Namespace,
                                                                 tmp_path: Path) -> None:
    """A position past the changelog's end (the topic was made again): read it all, drop the rest."""
    async def run() -> None:
        topic = await _changelog(namespace)
        await _write(namespace, topic, [(0, b"HZ-1", b"kept"), (1, b"HZ-2", b"kept")])
        local = LocalStore(tmp_path / "tables")
        local.save(topic, 0, [(b"HZ-stale", b"from another life")], 9_999)
        table, read = await _restore(namespace, topic, local)
        local.close()
        assert read == 2
        assert dict(table.items()) == {b"HZ-1": b"kept", b"HZ-2": b"kept"}

    asyncio.run(run())
