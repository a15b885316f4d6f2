"""One way to get a Kafka bootstrap address, shared by the test fixture, the demo and benchmarks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from engine.broker.install import Progress
from engine.broker.local import DEFAULT_START_TIMEOUT, down, ensure_up

log = structlog.get_logger("engine.broker.session")

# HAZARD_BROKER values; the local broker is the default because it needs no Docker daemon.
BROKER_MODES = ("local", "testcontainers")


@contextmanager
def testcontainers_kafka(image: str | None = None) -> Iterator[str]:
    """Run Kafka in a Docker container via testcontainers, yielding its bootstrap address."""
    # Imported lazily: testcontainers is a test extra, and it needs Docker only when used.
    try:
        from testcontainers.community.kafka import KafkaContainer
    except ImportError:  # testcontainers < 4.9 kept Kafka at the top level
        from testcontainers.kafka import KafkaContainer

    image = image or os.environ.get("HAZARD_KAFKA_IMAGE")
    container = KafkaContainer(image) if image else KafkaContainer()
    if hasattr(container, "with_kraft"):
        container = container.with_kraft()
    container.start()
    try:
        bootstrap = container.get_bootstrap_server()
        log.info("broker.testcontainers.started", bootstrap=bootstrap)
        yield bootstrap
    finally:
        container.stop()


@contextmanager
def broker_session(
    *,
    stop_on_exit: bool = False,
    timeout: float = DEFAULT_START_TIMEOUT,
    progress: Progress | None = None,
) -> Iterator[str]:
    """Yield a bootstrap address from testcontainers, $KAFKA_BOOTSTRAP_SERVERS or the local broker.

    `stop_on_exit` stops the local broker at the end, and only if this session started it;
    by default it is left running so the next session starts in no time.
    """
    mode = os.environ.get("HAZARD_BROKER", "").strip().lower() or "local"
    if mode not in BROKER_MODES:
        raise ValueError(f"HAZARD_BROKER={mode!r}: expected one of {', '.join(BROKER_MODES)}")
    if mode == "testcontainers":
        with testcontainers_kafka() as bootstrap:
            yield bootstrap
        return

    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return

    result = ensure_up(timeout, progress)
    try:
        yield result.bootstrap
    finally:
        if stop_on_exit and result.started:
            down()
