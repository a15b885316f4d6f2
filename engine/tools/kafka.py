"""Small helpers the tools share: where the broker is, and producer and consumer settings."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.helpers import create_ssl_context
from aiokafka.partitioner import murmur2

from engine.broker.local import read_state
from engine.errors import EngineError
from engine.settings import Settings


class NoBroker(EngineError):
    """No broker address is configured and no local broker runs."""


class NoTopic(EngineError):
    """A topic a tool reads or writes does not exist on the broker."""


def bootstrap_for(settings: Settings) -> str:
    """Return KAFKA_BOOTSTRAP_SERVERS, else the running local broker's address."""
    if settings.bootstrap_servers:
        return settings.bootstrap_servers
    state = read_state()
    if state is None:
        raise NoBroker("no broker: set KAFKA_BOOTSTRAP_SERVERS or run `hazard-engine broker up`")
    return state.bootstrap


def client_auth(settings: Settings) -> dict[str, Any]:
    """aiokafka's security options from the KAFKA_SECURITY_PROTOCOL/KAFKA_SASL_* settings.

    Empty when none is set, so clients of the plain broker are built exactly as before. Over TLS
    (SSL, SASL_SSL) the broker's certificate is checked against the system's trusted authorities:
    aiokafka needs a context for it and made none, so both protocols failed at the first client.
    """
    password = settings.kafka_sasl_password
    options: dict[str, Any] = {
        "security_protocol": settings.kafka_security_protocol,
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        # aiokafka names them "plain" but uses them for SCRAM too.
        "sasl_plain_username": settings.kafka_sasl_username,
        "sasl_plain_password": password.get_secret_value() if password else None,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context()
    return {key: value for key, value in options.items() if value is not None}


def _auth(auth: Mapping[str, Any] | None) -> Mapping[str, Any]:
    # Without a login from the caller, the tools take the one the process is configured with.
    return client_auth(Settings.load()) if auth is None else auth


# The bytes of records one record batch of a partition holds (aiokafka's `max_batch_size`, 16 KiB
# by default). A worker's batch sends each enterprise file (about 10 KB) and every 20 timeline
# entries in a record batch of their own at 16 KiB: about a hundred record batches, each a future,
# a callback chain and a place in the produce request, for one batch of 157 events. At 1 MiB they
# are one a partition: the two sends of such a batch took 8.4 ms of CPU against 20
# (docs/benchmarks.md). Every declared topic takes records of 4 MiB at least (topics/topics.yaml;
# a test holds it), so the broker never refuses a batch for its size.
BATCH_BYTES = 1024 * 1024


Client = TypeVar("Client", AIOKafkaProducer, AIOKafkaConsumer)


async def started(client: Client) -> Client:
    """`client`, started; stopped again when its start fails (the broker away, a login refused),
    so that no half-started client is left behind. aiokafka's own `async with` does not stop a
    client whose start failed, and the garbage collector's warning about it, logged with a
    traceback at whatever moment it runs, has failed an unrelated test (CPython 3.11's traceback
    carets parse source with `ast`, and `ast` is not reentrant: gh-106905)."""
    try:
        await client.start()
    except BaseException:
        await client.stop()
        raise
    return client


@contextlib.asynccontextmanager
async def opened(client: Client) -> AsyncIterator[Client]:
    """`client` started (as `started`) for the block, and stopped after it."""
    await started(client)
    try:
        yield client
    finally:
        await client.stop()


def producer(bootstrap: str, auth: Mapping[str, Any] | None = None) -> AIOKafkaProducer:
    """A producer that waits for every in-sync replica and never writes a record twice."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
        max_request_size=16 * 1024 * 1024, request_timeout_ms=30_000,
        max_batch_size=BATCH_BYTES, linger_ms=5, **_auth(auth),
    )


class OnDemandProducer:
    """A producer made by `make` and started on first use, again after a failed start (within
    `start_s` when given), and stopped by `close`: for HTTP handlers that send now and then."""

    def __init__(self, make: Callable[[], AIOKafkaProducer], start_s: float | None = None) -> None:
        self.make, self.start_s = make, start_s
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    async def get(self) -> AIOKafkaProducer:
        """The producer, started."""
        async with self._starting:
            if self._producer is None:
                self._producer = await asyncio.wait_for(started(self.make()), self.start_s)
            return self._producer

    async def close(self) -> None:
        """Stop the producer, after what it still holds is sent or has failed."""
        if self._producer is not None:
            made, self._producer = self._producer, None
            await made.stop()


_FETCH = {"fetch_max_bytes": 64 * 1024 * 1024, "max_partition_fetch_bytes": 16 * 1024 * 1024}


def reader(bootstrap: str, auth: Mapping[str, Any] | None = None, **options: Any) -> AIOKafkaConsumer:
    """A consumer without a group, for reading topics from a chosen position (`options` are
    aiokafka's, e.g. a client id or where to start when a position is gone)."""
    return AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                            **{**_FETCH, **options}, **_auth(auth))


def member(bootstrap: str, auth: Mapping[str, Any] | None, group_id: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer in `group_id` that commits only when told to, reading from the earliest kept
    record where the group has no position (the worker's; `options` are aiokafka's)."""
    return AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False,
                            auto_offset_reset="earliest", **{**_FETCH, **options}, **_auth(auth))


def admin(bootstrap: str, auth: Mapping[str, Any] | None = None, **options: Any) -> AIOKafkaAdminClient:
    """An admin client (not yet started), logging in with `auth` when given."""
    return AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options, **_auth(auth))


def connection(bootstrap: str, auth: Mapping[str, Any] | None = None, **options: Any) -> AIOKafkaClient:
    """A bare client (not yet bootstrapped), for requests the admin client does not carry
    (ACLs in batches, client quotas)."""
    return AIOKafkaClient(bootstrap_servers=bootstrap, **options, **_auth(auth))


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition a producer's default partitioner gives `key` on a topic of `partitions` partitions.

    aiokafka's DefaultPartitioner (aiokafka/partitioner.py) takes murmur2 of the key, as the Java
    client's `Utils.murmur2`, keeps its low 31 bits and takes it modulo the number of partitions;
    its own `murmur2` is used here, so the two cannot drift apart.
    """
    return (murmur2(key) & 0x7FFFFFFF) % partitions


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    """The partitions of a topic, asking the broker when the consumer's metadata lacks it.

    Once a consumer is assigned partitions, its metadata covers only their topics, and its own
    update asks for no other: a topic outside them is then looked up in the whole cluster's."""
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer._client.force_metadata_update()  # a topic the consumer has not met yet
        partitions = consumer.partitions_for_topic(topic)
    if not partitions and consumer.assignment():
        partitions = (await consumer._client.fetch_all_metadata()).partitions_for_topic(topic)
    return sorted(partitions or ())


async def require_topic(bootstrap: str, topic: str, auth: Mapping[str, Any] | None = None) -> None:
    """NoTopic unless `topic` exists: a tool sends only to topics the worker has made."""
    consumer = await started(reader(bootstrap, auth))
    try:
        exists = bool(await partitions_of(consumer, topic))
    finally:
        await consumer.stop()
    if not exists:
        raise NoTopic(f"topic {topic} does not exist: start the worker once (it creates every topic "
                      "of topics/topics.yaml), then send again")


async def read_to_end(bootstrap: str, topic: str, auth: Mapping[str, Any] | None = None, *,
                      timeout: float = 300.0,
                      on_batch: Callable[[int, int], None] | None = None,
                      keep: Callable[[Any], bool] | None = None) -> list[Any]:
    """Read a topic from the beginning up to the end offsets it has now, without waiting for silence.

    For a topic whose writers are done, or a look at what it holds now: records
    written after the call starts are not waited for. `on_batch(read, total)` is
    told the progress, in records (offsets), after each batch; with `keep`, only
    the records it accepts are kept.
    """
    consumer = await started(reader(bootstrap, auth))
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(consumer, topic)]
        if not tps:
            return []
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        total = sum(ends[tp] - starts[tp] for tp in tps)
        todo = [tp for tp in tps if ends[tp] > starts[tp]]
        out: list[Any] = []
        if not todo:
            return out
        consumer.assign(todo)
        await consumer.seek_to_beginning(*todo)
        deadline = time.monotonic() + timeout
        while todo:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: not read to its end offsets within {timeout} s")
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                out.extend(records if keep is None else filter(keep, records))
            # A transaction marker takes the last offset without a record: the position says it all.
            todo = [tp for tp in todo if await consumer.position(tp) < ends[tp]]
            if on_batch is not None:
                done = 0
                for tp in consumer.assignment():
                    done += min(await consumer.position(tp), ends[tp]) - starts[tp]
                on_batch(done, total)
        return out
    finally:
        await consumer.stop()
