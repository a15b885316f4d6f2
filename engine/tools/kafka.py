"""Small helpers the tools share: where the broker is, and producer and consumer settings."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from engine.broker.local import read_state
from engine.errors import EngineError
from engine.settings import Settings


class NoBroker(EngineError):
    """No broker address is configured and no local broker runs."""


def bootstrap_for(settings: Settings) -> str:
    """Return KAFKA_BOOTSTRAP_SERVERS, else the running local broker's address."""
    if settings.bootstrap_servers:
        return settings.bootstrap_servers
    state = read_state()
    if state is None:
        raise NoBroker("no broker: set KAFKA_BOOTSTRAP_SERVERS or run `hazard-engine broker up`")
    return state.bootstrap


def producer(bootstrap: str) -> AIOKafkaProducer:
    """A producer that waits for every in-sync replica and never writes a record twice."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
        max_request_size=16 * 1024 * 1024, request_timeout_ms=30_000,
        linger_ms=5,
    )


def reader(bootstrap: str) -> AIOKafkaConsumer:
    """A consumer without a group, for reading topics from a chosen position."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024,
    )


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    """The partitions of a topic, asking the broker when the consumer's metadata lacks it."""
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer._client.force_metadata_update()  # a topic the consumer has not met yet
        partitions = consumer.partitions_for_topic(topic)
    return sorted(partitions or ())
