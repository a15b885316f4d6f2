"""Fixtures shared by all tests: one real Kafka broker per session, and isolated namespaces."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.broker import broker_session
from engine.harness import Namespace, Worker

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO.parent / "shared" / "contract" / "examples"


TIERS = {"unit": "unit", "broker": "broker", "broker_infra": "broker", "faults": "faults"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier by folder, so `-m unit`, `-m broker` or `-m faults` picks one."""
    for item in items:
        folder = Path(str(item.fspath)).relative_to(REPO / "tests").parts[0]
        tier = TIERS.get(folder)
        if tier is not None:
            item.add_marker(tier)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real broker: testcontainers, KAFKA_BOOTSTRAP_SERVERS, or the local one started here.

    On a developer's machine a local broker is left running for the next run;
    in CI it is stopped, if this session started it.
    """
    with broker_session(stop_on_exit=bool(os.environ.get("CI"))) as bootstrap:
        yield bootstrap


@pytest.fixture
def namespace(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Namespace]:
    """Fresh topics, consumer group and data dir for one test, on the session's broker."""
    ns = Namespace(kafka_bootstrap, tmp_path)
    yield ns
    asyncio.run(ns.delete_topics())


# The contract's examples are dated 2026-11-30. On the real clock a worker fires their deadlines
# once those dates pass, and a test about intake would read clock entries it never asked for; so
# the `worker` fixture's clock stands still before them. Tests of clocks set their own.
FROZEN = "2026-11-01T00:00:00+08:00"


@pytest.fixture
def worker(namespace: Namespace, tmp_path: Path) -> Iterator[Worker]:
    """A worker process for the test's namespace, its clock stopped, stopped when the test ends."""
    w = Worker(namespace.env(HAZARD_CLOCK_START=FROZEN, HAZARD_CLOCK_END=FROZEN), tmp_path / "worker.log")
    yield w
    w.stop()
