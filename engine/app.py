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
import json
import time

import faust
import structlog
from aiokafka.admin import AIOKafkaAdminClient
from faust.types import TP
from prometheus_client import CollectorRegistry, generate_latest

from engine.clocks import DeadlineIndex, time_source
from engine.contract.envelope import INTAKE_TOPICS
from engine.decide.core import decide
from engine.decide.emit import lead_department
from engine.decide.replay import clock_entry
from engine.intake.process import TIMELINE, Record, decide_intake
from engine.intake.timeline import encode
from engine.metrics import EngineMetrics, HazardGauges, RuntimeGauges
from engine.ruleset import Rules
from engine.settings import Settings
from engine.store import due_of, pack, unpack
from engine.topics import TopicSpec

log = structlog.get_logger("engine.app")

SEEN_TABLE = "intake-seen"
HAZARD_TABLE = "hazards"
RAW = {"key_serializer": "raw", "value_serializer": "raw"}


def _faust_app(settings: Settings, bootstrap: str, partitions: int) -> faust.App:
    return faust.App(
        settings.app_id,
        broker=";".join(f"kafka://{hp.strip()}" for hp in bootstrap.split(",")),
        store="memory://",
        datadir=str(settings.data_dir),
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
    )


class CatchUpGate:
    """Holds the clocks back after a start or rebalance until intake has caught up.

    Events that arrived while the worker was down are older than the deadlines
    that fell due meanwhile. Firing those deadlines first would escalate a
    hazard whose completion claim is still waiting in the backlog, and would
    differ from what a worker that never stopped decides. So the timer waits
    until intake has processed every record that was there when it started.
    """

    def __init__(self, app: faust.App, bootstrap: str, group_id: str, topics: set[str]) -> None:
        self.app, self.bootstrap, self.group_id, self.topics = app, bootstrap, group_id, topics
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
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(self.group_id, partitions=tps)
        finally:
            await admin.close()
        return {TP(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()
                if meta.offset >= 0}


def create_app(settings: Settings, bootstrap: str, rules: Rules, specs: tuple[TopicSpec, ...],
               registry: CollectorRegistry | None = None) -> faust.App:
    """Build the Faust app with its agents, tables and timer."""
    prefix = settings.topic_prefix
    partitions = {s.name: s.partitions for s in specs}
    counts = {partitions[prefix + name] for name in (*INTAKE_TOPICS, TIMELINE)}
    if len(counts) != 1:
        raise ValueError("the intake and timeline topics must share one partition count "
                         "(Faust co-partitions them with the tables)")
    (n,) = counts
    app = _faust_app(settings, bootstrap, n)
    registry = registry or CollectorRegistry()
    metrics = EngineMetrics(registry)
    topics: dict[str, faust.types.TopicT] = {}

    def topic(name: str) -> faust.types.TopicT:
        if name not in topics:
            topics[name] = app.topic(prefix + name, **RAW)
        return topics[name]

    intake_names = {prefix + name for name in INTAKE_TOPICS}
    gate = CatchUpGate(app, bootstrap, settings.app_id, intake_names)
    seen = app.Table(SEEN_TABLE, partitions=n, key_type=str, value_type=str)
    hazards = app.Table(HAZARD_TABLE, partitions=n, key_type=bytes, value_type=bytes)
    index = DeadlineIndex()
    clock = time_source(settings.clock_start, settings.clock_anchor, settings.clock_rate,
                        settings.clock_end)
    gauges = HazardGauges(lambda h: lead_department(h, rules), clock.now)
    registry.register(gauges)
    offsets: dict[tuple[str, int], int] = {}  # the last offset each agent handled, per partition

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
        earliest = index.earliest()
        return max(0.0, clock.now() - earliest) if earliest is not None else 0.0

    registry.register(RuntimeGauges(lag, lambda: len(index), timer_lag))

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
            record = Record(msg.topic, msg.partition, msg.offset, msg.key, msg.value,
                            int(msg.timestamp * 1000))
            outcome = decide_intake(record, seen.get, rules.reference, settings.max_record_bytes,
                                    msg.topic.removeprefix(prefix))
            for send in outcome.sends:
                await topic(send.topic).send(key=send.key, value=send.value)
            if outcome.remember is not None:
                seen[outcome.remember[0]] = outcome.remember[1]
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

    @app.agent(topic(TIMELINE), concurrency=1, name="decide")
    async def decide_agent(stream):  # noqa: ANN001
        """Apply each timeline entry to its hazard's state and send what the rules decide."""
        async for event in stream.events():
            started = time.perf_counter()
            msg = event.message
            offsets[(msg.topic, msg.partition)] = msg.offset
            entry = json.loads(msg.value)
            if entry.get("subject_kind") != "hazard":
                continue  # inspections and alerts are not this agent's business (yet)
            key = msg.key
            raw_state = hazards.get(key)
            state = unpack(raw_state) if raw_state is not None else None
            new, outs = decide(state, entry, rules)
            if new is state:
                continue  # a re-delivered entry
            # Outputs must be on the broker before the state that records them: if the state
            # landed first and the worker died, the replayed entry would count as applied and
            # its outputs would never be sent. Most entries have none, so this rarely waits.
            pending = [await topic(out.topic).send(key=out.key.encode(), value=encode(out.event))
                       for out in outs]
            if pending:
                await asyncio.gather(*pending)
            for out in outs:
                metrics.count_output(out.event)
                log.info("decision", event_id=out.id, subject=out.key, topic=out.topic,
                         type=out.event["type"], action=out.event["data"].get("action"),
                         tier=out.event["data"].get("tier"), caused_by=entry["entry_id"],
                         partition=msg.partition, offset=msg.offset)
            hazards[key] = pack(new)
            index.set(new.id, new.next_due())
            gauges.update(new)
            metrics.processing.labels("decide").observe(time.perf_counter() - started)

    @hazards.on_recover
    async def rebuild_index() -> None:
        """After recovery or a rebalance, rebuild the deadline index from the table."""
        started = time.perf_counter()
        index.rebuild((k.decode(), due_of(v)) for k, v in hazards.items())
        gauges.reset(unpack(v) for v in hazards.values())
        gate.close()
        log.info("deadline_index_rebuilt", subjects=len(index),
                 seconds=round(time.perf_counter() - started, 3))

    @app.timer(interval=settings.tick_s)
    async def tick() -> None:
        """Publish a 'deadline reached' entry for every subject with a clock now due."""
        if not await gate.is_open():
            return
        now = clock.now()
        for due, subject in index.pop_due(now):
            await topic(TIMELINE).send(key=subject.encode(), value=encode(clock_entry(subject, due)))

    app.engine_metrics = metrics  # type: ignore[attr-defined]
    app.deadline_index = index  # type: ignore[attr-defined]
    return app
