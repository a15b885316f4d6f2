"""Kafka for development: a local KRaft broker run as a Java process, and how to pick a broker."""

from engine.broker.install import KAFKA_VERSION, KafkaInstallError, ensure_installed
from engine.broker.local import (
    BrokerStartError,
    BrokerStatus,
    DownResult,
    UpResult,
    down,
    ensure_up,
    resolve_bootstrap,
    status,
    up,
)
from engine.broker.session import broker_session

__all__ = [
    "KAFKA_VERSION",
    "BrokerStartError",
    "BrokerStatus",
    "DownResult",
    "KafkaInstallError",
    "UpResult",
    "broker_session",
    "down",
    "ensure_installed",
    "ensure_up",
    "resolve_bootstrap",
    "status",
    "up",
]
