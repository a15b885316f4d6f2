"""Running the worker: wait for the broker, make sure the topics are right, then run the runtime.

A worker started before its broker says so in its log, keeps retrying with a
growing pause, and starts once the broker answers. Topic conflicts are not
retried: the operator must decide, so the worker says what differs and exits.
"""

from __future__ import annotations

import asyncio

import structlog
from aiokafka.errors import KafkaError

from engine import logs
from engine.alerts import load_alert_rules
from engine.broker.local import read_state
from engine.errors import EngineError
from engine.feeds.tokens import TokenFileError
from engine.reference import RulesError
from engine.ruleset import load_rules
from engine.settings import Settings
from engine.stream.runtime import Runtime
from engine.tools.kafka import admin as kafka_admin
from engine.tools.kafka import client_auth
from engine.topics import TopicsError, ensure_topics, load_topics

log = structlog.get_logger("engine.worker")

EXIT_CONFIG = 2


def _bootstrap(settings: Settings) -> str | None:
    # Re-read on every attempt: a local broker started meanwhile is picked up.
    if settings.bootstrap_servers:
        return settings.bootstrap_servers
    state = read_state()
    return state.bootstrap if state else None


async def _connect_and_prepare(settings: Settings, specs) -> str:
    """Return a bootstrap address once the broker answers and the topics are in place."""
    attempt, pause = 0, 0.5
    while True:
        attempt += 1
        bootstrap = _bootstrap(settings)
        if bootstrap is None:
            log.warning("broker_unknown", attempt=attempt, retry_in_s=pause,
                        hint="set KAFKA_BOOTSTRAP_SERVERS or run `hazard-engine broker up`")
        else:
            admin = kafka_admin(bootstrap, client_auth(settings), request_timeout_ms=10_000)
            try:
                await asyncio.wait_for(admin.start(), timeout=10)
                created = await ensure_topics(admin, specs, settings.replication_factor,
                                              settings.min_insync_replicas)
                log.info("broker_ready", bootstrap=bootstrap, attempt=attempt,
                         topics_created=created)
                return bootstrap
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("broker_unreachable", bootstrap=bootstrap, attempt=attempt,
                            retry_in_s=pause, error=f"{type(exc).__name__}: {exc}")
            finally:
                await admin.close()
        await asyncio.sleep(pause)
        pause = min(pause * 2, settings.broker_retry_max_s)


def run_worker(settings: Settings | None = None) -> int:
    """Run the intake worker until it is stopped; return the process exit code."""
    settings = settings or Settings.load()
    logs.configure(settings.log_level)
    try:
        rules = load_rules(settings.rules_dir)
        alert_rules = load_alert_rules(settings.rules_dir, rules.reference)
        specs = load_topics(settings.topics_file, settings.app_id, settings.topic_prefix)
    except (EngineError, RulesError) as exc:
        log.error("configuration_invalid", error=str(exc))
        return EXIT_CONFIG
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        bootstrap = loop.run_until_complete(_connect_and_prepare(settings, specs))
    except TopicsError as exc:
        log.error("topics_conflict", error=str(exc))
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    try:
        runtime = Runtime(settings, bootstrap, rules, specs, alert_rules=alert_rules)
    except TokenFileError as exc:
        log.error("configuration_invalid", error=str(exc))
        return EXIT_CONFIG
    loop.run_until_complete(runtime.run())
    return 0
