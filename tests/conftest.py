"""Fixtures shared by all tests: one real Kafka broker per session, and isolated namespaces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka_helpers import Namespace, Worker

from engine.broker import broker_session

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO.parent / "shared" / "contract" / "examples"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real broker: testcontainers, KAFKA_BOOTSTRAP_SERVERS, or the local one started here."""
    with broker_session() as bootstrap:
        yield bootstrap


@pytest.fixture
def namespace(kafka_bootstrap: str, tmp_path: Path) -> Namespace:
    """Fresh topics, consumer group and data dir for one test, on the session's broker."""
    return Namespace(kafka_bootstrap, tmp_path)


@pytest.fixture
def worker(namespace: Namespace, tmp_path: Path) -> Iterator[Worker]:
    """A worker process for the test's namespace, stopped when the test ends."""
    w = Worker(namespace.env(), tmp_path / "worker.log")
    yield w
    w.stop()
