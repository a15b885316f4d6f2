"""Small helpers the tools share: where the broker is, and producer and consumer settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

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


def client_auth(settings: Settings) -> dict[str, str]:
    """aiokafka's security options from the KAFKA_SECURITY_PROTOCOL/KAFKA_SASL_* settings.

    Empty when none is set, so clients of the plain broker are built exactly as before.
    """
    password = settings.kafka_sasl_password
    options = {
        "security_protocol": settings.kafka_security_protocol,
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        # aiokafka names them "plain" but uses them for SCRAM too.
        "sasl_plain_username": settings.kafka_sasl_username,
        "sasl_plain_password": password.get_secret_value() if password else None,
    }
    return {key: value for key, value in options.items() if value is not None}


def _auth(auth: Mapping[str, Any] | None) -> Mapping[str, Any]:
    # Without a login from the caller, the tools take the one the process is configured with.
    return client_auth(Settings.load()) if auth is None else auth


def producer(bootstrap: str, auth: Mapping[str, Any] | None = None) -> AIOKafkaProducer:
    """A producer that waits for every in-sync replica and never writes a record twice."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
        max_request_size=16 * 1024 * 1024, request_timeout_ms=30_000,
        linger_ms=5, **_auth(auth),
    )


def reader(bootstrap: str, auth: Mapping[str, Any] | None = None) -> AIOKafkaConsumer:
    """A consumer without a group, for reading topics from a chosen position."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024,
        **_auth(auth),
    )


def admin(bootstrap: str, auth: Mapping[str, Any] | None = None, **options: Any) -> AIOKafkaAdminClient:
    """An admin client (not yet started), logging in with `auth` when given."""
    return AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options, **_auth(auth))


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    """The partitions of a topic, asking the broker when the consumer's metadata lacks it."""
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer._client.force_metadata_update()  # a topic the consumer has not met yet
        partitions = consumer.partitions_for_topic(topic)
    return sorted(partitions or ())
