"""`hazard-engine gateway`: `POST /events` as its own process, off the workers' machines.

It holds no state: it checks each event with the intake's own code, sends what
passes to the intake topics and answers once the broker has it. It sees no
subject's town, so an event about a subject outside a token's towns is judged
by the worker's intake stage alone; `GET /events/rejected`, which reads
`intake.rejected` on each request, gives a field app those verdicts back. Any
number of gateways may run beside any number of workers. It also answers
`/healthz`, and `/metrics` with what `POST /events` answered and the process's
own figures.
"""

from __future__ import annotations

import asyncio
import signal

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.process_collector import PROCESS_COLLECTOR

from engine import logs
from engine.clocks.timesource import from_settings
from engine.errors import EngineError
from engine.feeds.tokens import TokenFileError, TokenStore
from engine.http import intake
from engine.http.limits import Limits
from engine.http.server import Pages, Server, liveness_page, metrics_page
from engine.metrics import HttpIntakeMetrics
from engine.reference import RulesError, load_reference
from engine.settings import Settings
from engine.tools.kafka import bootstrap_for

log = structlog.get_logger("engine.gateway")
EXIT_CONFIG = 2


def gateway_pages(settings: Settings) -> Pages:
    """The gateway's routes: `POST /events`, `GET /events/rejected`, `GET /healthz` and `GET /metrics`."""
    known = load_reference(settings.rules_dir)
    tokens = TokenStore.from_settings(settings)
    unknown = tokens.unknown_ids(set(known.towns), set(known.departments))
    if unknown:
        raise TokenFileError(f"{tokens.path}: unknown {', '.join(unknown)}")
    pages = Pages()
    liveness_page(pages)
    registry = CollectorRegistry()
    registry.register(PROCESS_COLLECTOR)
    metrics_page(pages, registry)
    # The broker's address is looked up at the first POST, so a gateway may start before it.
    intake.register(pages, settings=settings, bootstrap=lambda: bootstrap_for(settings),
                    tokens=tokens, known=known, metrics=HttpIntakeMetrics(registry),
                    now=from_settings(settings).now)
    return pages


async def _serve(pages: Pages, settings: Settings) -> None:
    server = Server(pages, settings.gateway_bind, settings.gateway_port, Limits.from_settings(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    log.info("gateway_listening", host=settings.gateway_bind, port=settings.gateway_port)
    try:
        await stop.wait()
    finally:
        await server.stop()
        log.info("gateway_stopped")


def run_gateway(settings: Settings | None = None) -> int:
    """Serve `POST /events` until SIGTERM or SIGINT; the process exit code."""
    settings = settings or Settings.load()
    logs.configure(settings.log_level)
    try:
        pages = gateway_pages(settings)
    except (EngineError, RulesError, TokenFileError) as exc:
        log.error("configuration_invalid", error=str(exc))
        return EXIT_CONFIG
    asyncio.run(_serve(pages, settings))
    return 0
