"""The Faust application: a thin shell that reads records, calls the pure core, and writes.

Two agents: `intake` validates field events into the timeline; `decide` reads
the timeline, keeps each hazard's state in a table, and writes escalations,
notices and referrals. A timer publishes "deadline reached" entries back into
the timeline, keyed by subject, so the timeline stays the one record of what
happened and the decision agent is the only writer of state.

Concurrency stays at 1 on every agent: with more, Faust can commit past
messages not yet processed (faust-streaming#606). Delivery is at least once;
every output id is deterministic, so a replay repeats ids instead of inventing
new ones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import faust
import structlog
from aiokafka.admin import AIOKafkaAdminClient
from faust.types import TP
from prometheus_client import CollectorRegistry, generate_latest

from engine import __version__, board, faust_fixes
from engine.alerts import AlertRules
from engine.clocks import DeadlineIndex, time_source
from engine.continuity import Continuity, Verdict, first_offset, rewind
from engine.contract.envelope import INTAKE_TOPICS
from engine.contract.outputs import record_headers
from engine.cores import SEEN_TABLE, TABLES, build_cores, decide_entry, record_value
from engine.deadletter import DEAD_LETTER, dead_letter
from engine.decide.emit import lead_department
from engine.feeds import web as feeds
from engine.feeds.tokens import TokenFileError, TokenStore
from engine.feeds.views import alert_source, hazard_source
from engine.health import BrokerProbe, Readiness
from engine.http import intake as field_intake
from engine.http.limits import Limits, apply_to_faust
from engine.intake.process import TIMELINE, Record, decide_intake, processing_failure
from engine.intake.timeline import encode
from engine.metrics import AlertGauges, EngineMetrics, HazardGauges, RuntimeGauges
from engine.ruleset import Rules
from engine.settings import Settings
from engine.tools.kafka import client_auth
from engine.topics import TopicSpec
from engine.views import Derived

log = structlog.get_logger("engine.app")

RAW = {"key_serializer": "raw", "value_serializer": "raw"}


def _credentials(settings: Settings) -> faust.SASLCredentials | None:
    """SASL/SCRAM credentials from settings, for a broker started with `broker up --secure`."""
    if not settings.kafka_sasl_username:
        return None
    password = settings.kafka_sasl_password
    return faust.SASLCredentials(username=settings.kafka_sasl_username,
                                 password=password.get_secret_value() if password else None,
                                 mechanism=settings.kafka_sasl_mechanism or "SCRAM-SHA-512")


def _faust_app(settings: Settings, bootstrap: str, partitions: int) -> faust.App:
    return faust.App(
        settings.app_id,
        broker=";".join(f"kafka://{hp.strip()}" for hp in bootstrap.split(",")),
        broker_credentials=_credentials(settings),
        store=f"{settings.store}://",
        datadir=str(settings.data_dir / settings.app_id),  # one engine's tables apart from another's
        topic_partitions=partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=False,  # the engine creates every topic itself (topics/topics.yaml)
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
        producer_acks=-1,
        producer_max_request_size=16 * 1024 * 1024,
        # Faust's default linger of 0 sends one produce request per record;
        # a few milliseconds lets records share batches (measured: 753 -> 917 records/s).
        producer_linger=0.005,
        # The web server serves /metrics; Faust's own pages are off, tables above all,
        # since they would show every hazard's state to anyone who can reach the port.
        web_enabled=True,
        web_port=settings.web_port,
        web_bind=settings.web_bind,
        web_host=settings.web_bind,
        web_tables_enabled=False,
        web_router_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
        web_metrics_enabled=False,
        table_standby_replicas=0,
        # A SIGKILLed worker holds its partitions until its session times out;
        # 10 s instead of Faust's 60 s keeps recovery after a crash short.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        # Static membership: a restarted worker rejoins as itself, so no second rebalance
        # follows its restart (Faust can drop a record that is in flight when a rebalance
        # suspends the stream; it is read again only after the next restart).
        consumer_group_instance_id=settings.instance_id,
    )


class CatchUpGate:
    """Holds the clocks back after a start or rebalance until intake has caught up.

    Events that arrived while the worker was down are older than the deadlines
    that fell due meanwhile. Firing those deadlines first would escalate a
    hazard whose completion claim is still waiting in the backlog, and would
    differ from what a worker that never stopped decides. So the timer waits
    until intake has processed every record that was there when it started.
    """

    def __init__(self, app: faust.App, bootstrap: str, group_id: str, topics: set[str],
                 auth: dict[str, Any] | None = None) -> None:
        self.app, self.bootstrap, self.group_id, self.topics = app, bootstrap, group_id, topics
        self.auth = dict(auth or {})
        self._open = False
        self._waiting: dict[TP, int] | None = None
        self._processed: dict[TP, int] = {}

    def processed(self, tp: TP, offset: int) -> None:
        """Note that intake has handled the record at `offset`."""
        self._processed[tp] = offset

    def close(self) -> None:
        """Hold the clocks again: partitions have just been (re)assigned."""
        self._open, self._waiting = False, None

    async def is_open(self) -> bool:
        """Whether intake has caught up with what was there when the gate closed."""
        if self._open:
            return True
        if self._waiting is None:
            tps = [tp for tp in self.app.consumer.assignment() if tp.topic in self.topics]
            if not tps:
                return False
            ends = await self.app.consumer.highwaters(*tps)
            committed = await self._committed(tps)
            self._waiting = {tp: end for tp, end in ends.items() if committed.get(tp, 0) < end}
            log.info("clocks_held", partitions_behind=len(self._waiting))
        self._waiting = {tp: end for tp, end in self._waiting.items()
                         if self._processed.get(tp, -1) + 1 < end}
        if not self._waiting:
            self._open = True
            log.info("clocks_resumed")
        return self._open

    async def _committed(self, tps: list[TP]) -> dict[TP, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, **self.auth)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(self.group_id, partitions=tps)
        finally:
            await admin.close()
        return {TP(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()
                if meta.offset >= 0}


def _headers(headers: Any) -> tuple[tuple[str, bytes], ...]:
    # Faust hands a record's headers over as a list of pairs or as a mapping.
    return tuple(headers.items()) if isinstance(headers, Mapping) else tuple(headers or ())


def create_app(settings: Settings, bootstrap: str, rules: Rules, specs: tuple[TopicSpec, ...],
               registry: CollectorRegistry | None = None,
               alert_rules: AlertRules | None = None) -> faust.App:
    """Build the Faust app with its agents, tables and timer."""
    faust_fixes.apply()
    prefix = settings.topic_prefix
    partitions = {s.name: s.partitions for s in specs}
    counts = {partitions[prefix + name] for name in (*INTAKE_TOPICS, TIMELINE)}
    if len(counts) != 1:
        raise ValueError("the intake and timeline topics must share one partition count "
                         "(Faust co-partitions them with the tables)")
    (n,) = counts
    app = _faust_app(settings, bootstrap, n)
    registry = registry or CollectorRegistry()
    metrics = EngineMetrics(registry, __version__, rules.version, rules.calendar.last_known_year)
    topics: dict[str, faust.types.TopicT] = {}

    def topic(name: str) -> faust.types.TopicT:
        if name not in topics:
            topics[name] = app.topic(prefix + name, **RAW)
        return topics[name]

    intake_names = {prefix + name for name in INTAKE_TOPICS}
    gate = CatchUpGate(app, bootstrap, settings.app_id, intake_names, client_auth(settings))
    # Keys and marks are stored as raw UTF-8: typed as str, Faust would JSON-encode both for every
    # record (about 1% of the busy time in the profile).
    seen = app.Table(SEEN_TABLE, partitions=n, key_type=bytes, value_type=bytes)

    def seen_mark(key: str) -> str | None:
        mark = seen.get(key.encode())
        return None if mark is None else mark.decode()

    cores = build_cores(rules, alert_rules)
    tables = {kind: app.Table(TABLES[kind], partitions=n, key_type=bytes, value_type=bytes)
              for kind in cores}
    indices = {kind: DeadlineIndex() for kind in cores}
    clock = time_source(settings.clock_start, settings.clock_anchor, settings.clock_rate,
                        settings.clock_end)
    gauges = HazardGauges(lambda h: lead_department(h, rules), clock.now)
    registry.register(gauges)
    alert_gauges = AlertGauges()
    registry.register(alert_gauges)
    derived = Derived(cores, indices, gauges, alert_gauges, rules.version)
    offsets: dict[tuple[str, int], int] = {}  # the last offset each agent handled, per partition
    readiness = Readiness(frozenset(cores), settings.decide, settings.tick_s)
    continuity = Continuity()

    async def in_order(msg: Any) -> bool:
        """False if records before `msg` were skipped; then they are fetched again, `msg` after."""
        if msg.tp not in continuity.expected:
            committed = app.consumer._committed_offset.get(msg.tp)  # set by the seek at assignment
            if committed is not None:
                continuity.start(msg.tp, committed)
        verdict, expected = continuity.check(msg.tp, msg.offset)
        if verdict is Verdict.CONFIRM:  # the jump came again after a rewind: is it real?
            first = await first_offset(bootstrap, client_auth(settings), msg.tp, expected)
            if first is None or first < msg.offset:
                # Records lie between (a stale copy came first), or the broker did not say: again.
                verdict = Verdict.REWIND
            else:  # nothing lies between: those offsets may be committed
                continuity.gap(msg.tp, msg.offset)
                log.info("offsets_empty", topic=msg.topic, partition=msg.partition,
                         offsets=f"{expected}-{msg.offset - 1}")
                await faust_fixes.add_gap(app.consumer, msg.tp, expected, msg.offset - 1)
        if verdict is Verdict.REWIND:
            await rewind(app.consumer, msg.tp, expected, msg.offset)
            return False
        return True

    async def send_confirmed(name: str, key: bytes | None, value: bytes, msg: Any) -> None:
        """Send and wait for the broker's acknowledgement, retrying for as long as it refuses.

        The partition waits rather than moves past a record whose only trace would be lost.
        """
        pause = 0.5
        while True:
            try:
                await (await topic(name).send(key=key, value=value, headers=record_headers(name)))
                return
            except Exception as exc:  # noqa: BLE001 - any refusal: say so, wait, try again
                log.error("send_refused_retrying", to=name, bytes=len(value), topic=msg.topic,
                          partition=msg.partition, offset=msg.offset, retry_in_s=pause,
                          error=f"{type(exc).__name__}: {exc}"[:300])
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)

    consumed = {*intake_names, prefix + TIMELINE}

    def lag() -> dict[tuple[str, int], int]:
        out = {}
        for tp in app.consumer.assignment():
            if tp.topic not in consumed:
                continue  # changelogs are read only during recovery
            high = app.consumer.highwater(tp)
            if high is not None:
                out[(tp.topic, tp.partition)] = max(0, high - offsets.get((tp.topic, tp.partition), -1) - 1)
        return out

    def timer_lag() -> float:
        dues = [d for d in (i.earliest() for i in indices.values()) if d is not None]
        return max(0.0, clock.now() - min(dues)) if dues else 0.0

    registry.register(RuntimeGauges(lag, lambda: sum(map(len, indices.values())), timer_lag))

    @app.page("/metrics")
    async def metrics_page(web, request):  # noqa: ANN001 - Faust's view arguments
        """Prometheus metrics of this worker."""
        # aiohttp refuses a charset inside content_type; the exposition format is UTF-8 anyway.
        return web.bytes(generate_latest(registry), content_type="text/plain; version=0.0.4")

    @app.agent(app.topic(*(prefix + name for name in INTAKE_TOPICS), **RAW), concurrency=1,
               name="intake")
    async def intake(stream):  # noqa: ANN001 - Faust's stream type
        """Validate, de-duplicate and normalise every intake record into the timeline."""
        async for event in stream.events():
            started = time.perf_counter()
            msg = event.message
            if not await in_order(msg):
                continue
            record = Record(msg.topic, msg.partition, msg.offset, msg.key, msg.value,
                            int(msg.timestamp * 1000), headers=_headers(msg.headers))
            try:
                outcome = decide_intake(record, seen_mark, rules.reference,
                                        settings.max_record_bytes, msg.topic.removeprefix(prefix))
            except Exception as exc:  # a bug must not hold the partition: reject, move on
                log.exception("intake_failed", topic=msg.topic, partition=msg.partition,
                              offset=msg.offset)
                outcome = processing_failure(record, exc)
                metrics.dead_letters.labels("intake").inc()
            for send in outcome.sends:
                if outcome.kind == "rejected":  # rare, and the only record of the input: confirm it
                    await send_confirmed(send.topic, send.key, send.value, msg)
                else:
                    await topic(send.topic).send(key=send.key, value=send.value,
                                                 headers=record_headers(send.topic))
            if outcome.remember is not None:
                seen[outcome.remember[0].encode()] = outcome.remember[1].encode()
            gate.processed(msg.tp, msg.offset)
            offsets[(msg.topic, msg.partition)] = msg.offset
            metrics.intake_records.labels(msg.topic, outcome.kind).inc()
            for reason in outcome.reasons:
                metrics.intake_rejections.labels(msg.topic, reason).inc()
            metrics.processing.labels("intake").observe(time.perf_counter() - started)
            if outcome.kind != "accepted":
                log.info(f"intake_{outcome.kind}", event_id=outcome.event_id,
                         subject=outcome.subject, topic=msg.topic, partition=msg.partition,
                         offset=msg.offset, reasons=list(outcome.reasons) or None)

    if settings.decide:  # HAZARD_DECIDE=false runs intake only
        @app.agent(topic(TIMELINE), concurrency=1, name="decide")
        async def decide_agent(stream):  # noqa: ANN001
            """Apply each timeline entry to its subject's state and send what the rules decide."""
            async for event in stream.events():
                started = time.perf_counter()
                msg = event.message
                if not await in_order(msg):
                    continue
                offsets[(msg.topic, msg.partition)] = msg.offset
                try:
                    decision = decide_entry(cores, tables, msg.key, msg.value)
                except Exception as exc:  # a bug must not hold the partition: dead-letter, move on
                    log.exception("decision_failed", subject=(msg.key or b"").decode("utf-8", "replace"),
                                  partition=msg.partition, offset=msg.offset)
                    letter = dead_letter("decide", msg.topic, msg.partition, msg.offset, msg.key,
                                         msg.value, exc)
                    await (await topic(DEAD_LETTER).send(key=msg.key, value=encode(letter)))
                    metrics.dead_letters.labels("decide").inc()
                    continue
                if decision is None or decision.new is decision.state:
                    continue  # no rules for its kind, or a re-delivered entry
                core, entry, new, outs = decision.core, decision.entry, decision.new, decision.outs
                table = tables[core.kind]
                # Outputs must be on the broker before the state that records them: if the state
                # landed first and the worker died, the replayed entry would count as applied and
                # its outputs would never be sent. Most entries have none, so this rarely waits.
                pending = [await topic(out.topic).send(key=out.key.encode(), value=record_value(out),
                                                       headers=record_headers(out.topic))
                           for out in outs]
                if pending:
                    await asyncio.gather(*pending)
                for out in outs:
                    metrics.count_output(out.event)
                    log.info("decision", event_id=out.id, subject=out.key, topic=out.topic,
                             type=out.event["type"], action=out.event.get("data", {}).get("action"),
                             caused_by=entry["entry_id"], partition=msg.partition, offset=msg.offset)
                table[msg.key] = derived.store(core.kind, new)
                metrics.processing.labels("decide").observe(time.perf_counter() - started)

    def on_recover(kind: str) -> Callable[[], Awaitable[None]]:
        async def rebuild() -> None:
            """After recovery or a rebalance, rebuild the deadline index and gauges from the table."""
            derived.rebuild(kind, tables[kind].items())
            readiness.table_recovered(kind)
            gate.close()
            continuity.reset()
        return rebuild

    for kind, table in tables.items():
        table.on_recover(on_recover(kind))

    @app.on_partitions_revoked.connect
    async def on_revoked(_app: Any, *_: Any, **__: Any) -> None:
        """Partitions are being reassigned: not ready until their tables are recovered again."""
        readiness.revoked()

    probe = BrokerProbe(bootstrap, client_auth(settings))

    @app.timer(interval=2.0, on_leader=False)
    async def probe_broker() -> None:
        """Ask the broker for metadata, so /readyz knows whether it answers."""
        await probe.check(readiness)

    @app.task
    async def first_probe() -> None:
        """Probe the broker at once, so readiness need not wait for the timer's first interval."""
        await probe.check(readiness)

    @app.page("/healthz")
    async def healthz(web, request):  # noqa: ANN001 - Faust's view arguments
        """Liveness: the process answers."""
        return web.json({"alive": True})

    @app.page("/readyz")
    async def readyz(web, request):  # noqa: ANN001
        """Readiness: tables recovered, clocks ticking, broker reachable; 503 with what is missing."""
        ready, body = readiness.report()
        return web.json(body, status=200 if ready else 503)

    if settings.decide:
        @app.timer(interval=settings.tick_s)
        async def tick() -> None:
            """Publish a 'deadline reached' entry for every subject with a clock now due."""
            held = not await gate.is_open()
            readiness.ticked(held)
            if held:
                return
            now = clock.now()
            for kind, index in indices.items():
                for due, subject in index.pop_due(now):
                    entry = cores[kind].clock_entry(subject, due)
                    await topic(TIMELINE).send(key=subject.encode(), value=encode(entry))

    tokens = TokenStore.from_settings(settings)  # HAZARD_TOKENS_FILE; unset, the feeds answer 401
    unknown = tokens.unknown_ids(set(rules.reference.towns), set(rules.reference.departments))
    if unknown:
        raise TokenFileError(f"{tokens.path}: unknown {', '.join(unknown)}")
    hazards = hazard_source(tables["hazard"], rules, clock.now, derived.place_index("hazard"))
    alerts = (alert_source(tables["alert"], clock.now, derived.place_index("alert"))
              if "alert" in tables else None)
    feeds.register(app, settings=settings, bootstrap=bootstrap, hazards=hazards, alerts=alerts,
                   tokens=tokens, now=clock.now)
    field_intake.register(app, settings=settings, bootstrap=bootstrap, tokens=tokens, known=rules.reference)
    board.register(app, settings=settings, bootstrap=bootstrap, hazards=hazards, alerts=alerts,
                   tokens=tokens, reference=rules.reference, now=clock.now)

    apply_to_faust(app, Limits.from_settings(settings))
    app.engine_metrics = metrics  # type: ignore[attr-defined]
    app.readiness = readiness  # type: ignore[attr-defined]
    app.deadline_indices = indices  # type: ignore[attr-defined]
    return app
