"""One way to get a Kafka bootstrap address, shared by the test fixture, the demo and benchmarks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from engine.broker.install import Progress
from engine.broker.local import DEFAULT_START_TIMEOUT, broker_dir, down, ensure_up
from engine.settings import ToolSettings

log = structlog.get_logger("engine.broker.session")


@contextmanager
def testcontainers_kafka(image: str | None = None,
                         settings: ToolSettings | None = None) -> Iterator[str]:
    """Run Kafka in a Docker container via testcontainers, yielding its bootstrap address.

    The image is `image`, else HAZARD_KAFKA_IMAGE, else testcontainers' default.
    """
    # Imported lazily: testcontainers is a test extra, and it needs Docker only when used.
    try:
        from testcontainers.community.kafka import KafkaContainer
    except ImportError:  # testcontainers < 4.9 kept Kafka at the top level
        from testcontainers.kafka import KafkaContainer

    image = image or (settings or ToolSettings.load()).kafka_image
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
    settings: ToolSettings | None = None,
) -> Iterator[str]:
    """Yield a bootstrap address from testcontainers, $KAFKA_BOOTSTRAP_SERVERS or the local broker.

    HAZARD_BROKER picks (`settings`, default: the environment's ToolSettings; a
    bad value raises ConfigError naming it). `stop_on_exit` stops the local broker
    at the end, and only if this session started it; by default it is left running
    so the next session starts in no time.
    """
    settings = settings or ToolSettings.load()
    if settings.broker == "testcontainers":
        with testcontainers_kafka(settings=settings) as bootstrap:
            yield bootstrap
        return

    if settings.bootstrap_servers:
        yield settings.bootstrap_servers
        return

    result = ensure_up(timeout, progress, settings=settings)
    try:
        yield result.bootstrap
    finally:
        if stop_on_exit and result.started:
            down(home=broker_dir(settings))
