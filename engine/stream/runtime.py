"""The batched runtime: one consumer group, whole batches through the pure stages, then one commit.

Per batch fetched with `getmany`:
1. intake records become timeline entries, rejections and duplicates, and
   de-duplication marks (the pure `decide_intake`); a valid intake record
   on another partition than its subject's (a null key, or a key a client
   partitioned otherwise than murmur2) is forwarded instead: sent again to
   its topic and its subject's partition, keyed by its subject, value and
   headers unchanged, and judged as that copy;
2. those records are sent and the batch waits for the broker's
   acknowledgement; each timeline entry that is the next record of its
   partition for this worker to decide is taken into the decide stage at
   once, at the offset the broker gave it, instead of a fetch later (one
   trip through the broker an event, not two);
3. the timeline records fetched, then those taken, become decisions and new
   states (the pure cores, exactly as the rule tests call them); their
   outputs and history chunks are sent, and the batch waits again;
4. then the table writes that record those effects go to their changelogs,
   and the batch waits again;
5. only then are the positions committed: the offset after the last record
   of each partition in the batch, or taken into it. The consumer still
   fetches the entries taken (moving it past them with a seek after every
   batch slowed a drain by a fifth, measured), and `_fetch` drops them.

Every record `getmany` returns is handled before the next call, and a
position is committed only as far as the records handled, so no position
can pass a record that no stage saw (the record the Faust runtime once skipped
across a SIGKILL, issue 20, has no path here). If a send or a commit fails,
nothing after it happens: the worker drops its tables, reads them again
from the changelogs and goes back to its committed positions, as a restart
would, and the deterministic output ids make the repeated records harmless.

A rebalance waits for the batch in hand (the rebalance listener takes the
same lock), so a revoked partition's last batch is committed by the worker
that handled it. Assigned partitions are paused in the listener and their
tables are read by the loop, outside the group's rebalance, before any of
their records is handled: a recovery inside the listener holds up the
group's heartbeats, and on a 3-broker cluster one never returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import signal
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import IllegalStateError, KafkaError, OutOfOrderSequenceNumber, UnknownProducerId
from prometheus_client import CollectorRegistry

from engine import __version__, board
from engine.alerts import AlertRules
from engine.clocks import from_settings
from engine.contract.envelope import INTAKE_TOPICS
from engine.contract.outputs import record_headers
from engine.cores import HISTORY_TABLES, SEEN_TABLE, TABLES, Core, build_cores, decide_entry, record_value
from engine.deadletter import DEAD_LETTER, dead_letter
from engine.enterprise import web as enterprise_web
from engine.enterprise.view import enterprise_source
from engine.feeds import web as feeds
from engine.feeds.tokens import TokenFileError, TokenStore
from engine.feeds.views import TableSource, alert_source, hazard_source
from engine.health import BrokerProbe, Readiness
from engine.http import intake as field_intake
from engine.http.limits import Limits
from engine.http.server import Pages, Server, health_pages
from engine.intake.process import TIMELINE, Record, decide_intake, processing_failure, time_window
from engine.intake.scope import OpenedTowns
from engine.intake.timeline import encode
from engine.kernel.state import chunk_key
from engine.metrics import (
    EngineMetrics,
    ReplicaGauges,
    RuntimeGauges,
)
from engine.plan.rules import optional_plan
from engine.plan.tracking import seed_entries
from engine.ruleset import Rules
from engine.settings import Settings
from engine.stream.align import Aligner
from engine.stream.held import Decoded, Held
from engine.stream.marks import MarkSweep
from engine.stream.pauses import Pauses, recovering
from engine.stream.replica import Replica, history_side, read_side
from engine.stream.sending import send_all
from engine.stream.tables import LocalStore, Table, restore
from engine.tools.kafka import client_auth, partition_for_key
from engine.tools.kafka import member as kafka_member
from engine.tools.kafka import producer as kafka_producer
from engine.tools.kafka import reader as kafka_reader
from engine.tools.kafka import started as started_client
from engine.topics import TopicSpec
from engine.views import Derived

log = structlog.get_logger("engine.stream")

MAX_BATCH = 2_000  # records per getmany: enough to amortise a round trip, small enough to stay fresh
PROBE_S = 2.0
# A worker killed without leaving holds its partitions until its session lapses: a restarted worker
# waits about that long to join (8 s of 10, measured). 6 s (the broker's least by default) lost the
# group at every recovery of a million hazards while the index was put in place on the loop (5.8 s);
# that now happens in a thread, but a rebalance still hands the replica a million keys on the loop.
SESSION_MS = 10_000
# A fetch's highwater was taken at most SETTLE_S before its answer arrived. An idle partition is
# fetched again every `fetch_wait_ms`, so the timer's horizon trails the clock by about their sum.
SETTLE_S = 0.1
# The broker answers a fetch once it has `fetch_min_bytes` (64 KiB) for it, or after `fetch_wait_ms`
# (10 ms; Settings). Answered at the first byte (aiokafka's default), a worker fed 100 events a
# second fetched again the moment each answer came, one or two records at a time, and encoding and
# decoding those requests for its 28 partitions took most of its 0.75 cores; waiting up to 10 ms it
# used 0.38, the events' p50/p99 18/26 -> 29/42 ms. A busy worker fills the minimum at once. The
# price: an idle worker asks every 10 ms, not every 200, and uses 0.09 cores instead of 0.02
# (docs/benchmarks.md).
STEP_TIMEOUT_S = 60.0  # a recovery step (a broker request, or reading with no progress) that
                       # takes longer fails, and the recovery starts again with a fresh reader
READER_STOP_S = 5.0  # how long a recovery waits for its changelog reader to close
# How long intake records wait for another intake partition that has records to read but does
# not deliver them (engine/stream/align.py); a partition that delivers is waited for in ms.
ALIGN_WAIT_S = 2.0
# Subjects opened lately whose towns intake keeps until their states hold them (`OpenedTowns`):
# more than a backlog's batches take before they are decided; some 10 MiB at most.
OPENED_TOWNS_KEPT = 65_536


# Producer errors after which the broker refuses the producer's idempotent session for good.
SEQUENCE_LOST = (OutOfOrderSequenceNumber, UnknownProducerId)


class BatchFailed(Exception):
    """A send or a commit of a batch failed: the worker must go back to its committed positions."""


@dataclass(frozen=True, slots=True)
class Appended:
    """A timeline record this worker has just sent, as the decide stage reads a fetched one."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class Send:
    """A record to produce: topic, key, value, a partition when it must be a given one, headers,
    and a timestamp when it must keep one (else the producer's clock)."""

    topic: str
    key: bytes | None
    value: bytes | None  # None: a tombstone, on a changelog
    partition: int | None = None
    headers: tuple[tuple[str, bytes | None], ...] = ()
    timestamp_ms: int | None = None


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self.runtime.revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self.runtime.assigned(set(assigned))


class Runtime:
    """A worker on aiokafka: intake, decisions and clocks over batches, with its HTTP server."""

    def __init__(self, settings: Settings, bootstrap: str, rules: Rules, specs: tuple[TopicSpec, ...],
                 alert_rules: AlertRules | None = None, registry: CollectorRegistry | None = None,
                 tokens: TokenStore | None = None) -> None:
        self.settings, self.bootstrap, self.rules = settings, bootstrap, rules
        self.auth = client_auth(settings)
        prefix = self.prefix = settings.topic_prefix
        partitions = {s.name: s.partitions for s in specs}
        counts = {partitions[prefix + name] for name in (*INTAKE_TOPICS, TIMELINE)}
        if len(counts) != 1:
            raise ValueError("the intake and timeline topics must share one partition count "
                             "(partition N of each, and of each changelog, belong together)")
        self.intake_topics = {prefix + name: name for name in INTAKE_TOPICS}
        # ensure_topics made sure the broker has the declared counts, so this needs no request.
        self.intake_partitions = counts.pop()
        self.timeline = prefix + TIMELINE
        plan = optional_plan(settings.rules_dir, rules.reference)
        self.cores: dict[str, Core] = build_cores(rules, alert_rules, plan)
        self.alert_rules = alert_rules  # the feeds' alert views name departments and handovers by them
        # The annual plan's towns, each a subject the worker creates on the partition it owns.
        self.plan_seeds = seed_entries(plan.annual) if "plan" in self.cores else []
        self.unseeded: set[int] = set()  # partitions recovered whose plan subjects are not checked yet
        app_id = settings.app_id
        self.tables = {kind: Table(f"{app_id}-{TABLES[kind]}-changelog") for kind in self.cores}
        self.seen = Table(f"{app_id}-{SEEN_TABLE}-changelog")
        self.sweep = MarkSweep(self.seen, settings.dedup_days)  # old marks forgotten (engine/stream/marks.py)
        self.last_sweep = 0.0
        # Hazards' and alerts' histories, in chunks apart from their states (engine/store.py).
        self.histories = {kind: Table(f"{app_id}-{HISTORY_TABLES[kind]}-changelog")
                          for kind in self.cores if kind in HISTORY_TABLES}
        self.history_changelogs = {t.changelog for t in self.histories.values()}
        # Enterprise files and plan towns stay decoded between batches (engine/stream/held.py).
        self.decoded = Decoded({kind for kind in self.cores if kind not in HISTORY_TABLES})
        self.by_changelog = {t.changelog: t for t in (*self.tables.values(), *self.histories.values(),
                                                      self.seen)}
        self.local = (LocalStore(settings.data_dir / app_id / "tables")
                      if settings.store == "rocksdb" else None)
        self.clock = from_settings(settings)
        self.registry = registry or CollectorRegistry()
        self.metrics = EngineMetrics(self.registry, __version__, rules.version,
                                     rules.calendar.last_known_year, rules.reference)
        self.derived = Derived.build(self.cores, rules, self.clock.now)
        self.indices = self.derived.indices
        self.gauges, self.alert_gauges = self.derived.gauges, self.derived.alert_gauges
        self.enterprise_gauges = self.derived.enterprise_gauges
        for gauges in (self.gauges, self.alert_gauges, self.enterprise_gauges):
            self.registry.register(gauges)
        self.aligner = Aligner(ALIGN_WAIT_S, MAX_BATCH)  # intake held until the others catch up
        self.registry.register(RuntimeGauges(self._lag, lambda: sum(map(len, self.indices.values())),
                                             self._timer_lag, lambda: len(self.aligner),
                                             lambda: len(self.seen)))
        self.pauses = Pauses()
        self.registry.register(self.pauses)
        self.readiness = Readiness(frozenset(self.cores), settings.decide, settings.tick_s)
        # What the HTTP pages read of the partitions other workers own (engine/stream/replica.py).
        self.replica = (Replica({kind: t.changelog for kind, t in self.tables.items()},
                                self.derived.place_of,
                                {kind: t.changelog for kind, t in self.histories.items()})
                        if settings.replicas else None)
        if self.replica is not None:
            self.registry.register(ReplicaGauges(self.replica.lags))
            self.readiness.replica_caught_up = self.replica.caught_up.is_set
        self.lock = asyncio.Lock()
        self.positions: dict[TopicPartition, int] = {}  # next offset to handle, per assigned partition
        # Small batches share one write of their states and one commit (`_store_due`): what the
        # batches since the last commit left to write (the newest value of each changelog key) and
        # to commit, where each partition was committed, and since when something waits.
        self.committed: dict[TopicPartition, int] = {}
        self.unstored: dict[tuple[str, int | None, bytes | None], Send] = {}
        self.uncommitted: dict[TopicPartition, int] = {}
        self.unstored_since: float | None = None
        # Enterprise files and plan towns the batches since the last commit changed, not encoded yet
        # (`_decide_all` with `keep`), and the records that changed each since its table's bytes.
        self.changed: dict[tuple[str, bytes], Any] = {}
        self.changed_records: dict[tuple[str, bytes], list[Any]] = {}
        self.backlog = True  # the last fetch brought all it was allowed: the records are waiting
        # The shared write in flight: the broker acknowledging it and the commit after it, while
        # the loop goes on with the next batches (`_store_and_commit`).
        self.storing: asyncio.Future[None] | None = None
        self.handled_until: dict[TopicPartition, int] = {}  # intake: latest record timestamp handled, ms
        self.forwards, self.forwarded_ms = 0, 0  # records forwarded home; when the last were acked
        self.opened_towns = OpenedTowns(OPENED_TOWNS_KEPT)  # a field-app token's scope, at intake
        self.waiting: dict[TopicPartition, int] = {}  # intake ends the clocks wait for after assignment
        self.last_tick = 0.0
        self.stopping = asyncio.Event()
        self.tokens = tokens or TokenStore.from_settings(settings)
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.failures = 0  # batches failed in a row, for the pause before the next try
        self.unrecovered = False  # partitions were assigned whose tables are not read yet
        self.generation = 0  # rebalances seen; a batch fetched before one is not handled
        self.pages = self._pages()  # a tokens file naming unknown towns fails here, at start

    # --- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Consume, decide, send, commit, tick, until SIGTERM or SIGINT."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        server = Server(self.pages, self.settings.web_bind, self.settings.web_port,
                        Limits.from_settings(self.settings))
        await server.start()
        probe = BrokerProbe(self.bootstrap, self.auth)
        self.producer = await self._new_producer()
        self.consumer = self._new_consumer()
        topics = [*self.intake_topics, *([self.timeline] if self.settings.decide else [])]
        self.consumer.subscribe(topics, listener=_Rebalance(self))
        await self.consumer.start()
        log.info("worker_started", runtime="batch", topics=topics)
        # The broker probe runs beside the loop: a batch waiting out an outage must not also
        # keep /readyz from saying the broker is gone.
        watch = asyncio.create_task(self._watch_broker(probe), name="broker-probe")
        follow = (asyncio.create_task(self.replica.follow(lambda: kafka_reader(self.bootstrap, self.auth),
                                                          self.settings.broker_retry_max_s),
                                      name="replica")
                  if self.replica is not None else None)
        self.pauses.start()  # stopped in the finally below
        try:
            while not self.stopping.is_set():
                try:
                    if self.storing is not None and self.storing.done():
                        await self._stored()  # raises BatchFailed if it failed: go back
                    if self.unrecovered:
                        await self._recover_assigned()
                    room = await self._room()
                    if room <= 0:  # (its tables are read again first)
                        continue
                    generation = self.generation
                    started = time.perf_counter()
                    batch = await self._fetch(room)
                    self.metrics.batch_seconds["fetch"].inc(time.perf_counter() - started)
                    if batch:
                        async with self.lock:
                            if generation == self.generation and not self.unrecovered:
                                await self._handle(batch)
                            else:  # fetched before a rebalance dropped the tables: read again
                                log.info("batch_dropped_after_rebalance",
                                         records=sum(map(len, batch.values())))
                    elif self.uncommitted:  # nothing came: what the last batches left waits no more
                        async with self.lock:
                            if not self.unrecovered:
                                await self._store_and_commit(wait=False)
                    await self._tick()
                    self._sweep_marks()
                    self.failures = 0
                except BatchFailed as exc:
                    self.failures += 1
                    pause = min(0.25 * 2 ** self.failures, 30.0)
                    log.error("batch_failed_going_back", error=str(exc)[:500], failures=self.failures,
                              retry_in_s=pause)
                    if isinstance(exc.__cause__, SEQUENCE_LOST):
                        await self._renew_producer(exc.__cause__)
                    await asyncio.sleep(pause)
                    await self._go_back()
            # Stopping: what the last batches left is stored and committed. Not on an error or a
            # cancellation, which may have left a batch half-way with the states it took.
            if (self.uncommitted or self.storing is not None) and not self.unrecovered:
                try:
                    async with self.lock:
                        await self._store_and_commit()
                except BatchFailed as exc:  # read again from the last commit by whoever comes next
                    log.warning("store_at_stop_failed", error=str(exc)[:300])
        finally:
            for task in (watch, follow):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            self.pauses.stop()
            await server.stop()
            await probe.close()
            await self.consumer.stop()
            await self.producer.stop()
            if self.local is not None:
                self.local.close()
            log.info("worker_stopped")

    async def _fetch(self, max_records: int = MAX_BATCH) -> dict[TopicPartition, list[Any]]:
        """The next batch: timeline records as fetched, intake records once aligned in time.

        While intake records are held back for a partition that is behind, the fetch asks
        for that partition alone: the fetcher hands its buffers over one partition after
        another, and would otherwise hand over a whole backlog of the others first.
        """
        wanted = (self.aligner.blocking(*await self._behind())) if self.aligner.held else []
        fetched = await self.consumer.getmany(*wanted, timeout_ms=100, max_records=max_records)
        self.backlog = sum(map(len, fetched.values())) >= max_records
        batch = {}
        for tp, records in fetched.items():
            if tp.topic in self.intake_topics:
                continue
            # Entries this worker took as it sent them (`_appended`) come again: decided already.
            if records[0].offset < self.positions.get(tp, 0):
                records = [r for r in records if r.offset >= self.positions[tp]]
            if records:
                batch[tp] = records
        self.aligner.add({tp: records for tp, records in fetched.items() if tp.topic in self.intake_topics})
        if self.aligner.held:
            batch.update(self.aligner.release(*await self._behind(), time.monotonic(), max_records))
        return batch

    async def _behind(self) -> tuple[list[TopicPartition], Callable[[TopicPartition], bool]]:
        """The assigned intake partitions, and whether each has records on the broker that getmany
        did not hand over yet: its consumer position (past transaction markers too) short of
        the highwater its last fetch saw. Unknown counts as behind."""
        partitions = [tp for tp in self.consumer.assignment() if tp.topic in self.intake_topics]
        behind: dict[TopicPartition, bool] = {}
        for tp in partitions:
            try:
                high, at = self.consumer.highwater(tp), await self.consumer.position(tp)
            except (AssertionError, IllegalStateError):  # revoked meanwhile: the batch is dropped
                high = at = None
            behind[tp] = high is None or at is None or at < high
        return partitions, lambda tp: behind.get(tp, True)

    async def _handle(self, batch: dict[TopicPartition, list[Any]]) -> None:
        """Handle every record of a batch and send what it caused; store and commit, or leave that
        to a later batch while batches are small (`_store_due`)."""
        sends: list[Send] = []
        writes: list[Send] = []
        phases, started = self.metrics.batch_seconds, time.perf_counter()
        commits = {tp: records[-1].offset + 1 for tp, records in batch.items()}
        forwards = self.forwards  # before intake, which counts what it forwards
        intake = [records for tp, records in batch.items() if tp.topic in self.intake_topics]
        # A subject's events come on several intake topics; the timeline fixes their order. Taken
        # by the time the field apps sent them (each partition's own order kept), a backlog after
        # an outage keeps the order they were published in, not one topic after another.
        for rec in heapq.merge(*intake, key=lambda r: r.timestamp):
            self._intake(rec, sends, writes)
        if intake:  # the broker stamps intake records (LogAppendTime): its clock against this host's
            newest = max(records[-1].timestamp for records in intake) / 1000
            self.metrics.clock_behind.set(max(0.0, newest - time.time()))
        started = _phase(phases["intake"], started)
        pending = [records for tp, records in batch.items() if tp.topic not in self.intake_topics]
        # Per timeline partition, how many more records may be decided before the next commit (see
        # `_appended`): MAX_BATCH less what the batches since the last one and this one's fetch hold.
        room = {tp.partition: MAX_BATCH - self._since(tp) - len(batch.get(tp, ()))
                for tp in {*self.positions, *batch} if tp.topic == self.timeline}
        taken: list[Appended] = []
        if sends:  # the timeline entries, rejections and forwarded copies, on the broker first
            acked = await self._send(sends)
            if self.forwards != forwards:  # copies now on the broker that no fetch has seen yet
                self.forwarded_ms = int(time.time() * 1000)
            started = _phase(phases["send"], started)
            taken = self._appended(sends, acked, room, commits)
            pending.append(list(taken))

        async def take(outs: list[Send]) -> list[Appended]:
            """Send the outputs decided so far; the links among them to decide in this batch too."""
            nonlocal started
            started = _phase(phases["decide"], started)
            acked = await self._send(outs)
            started = _phase(phases["send"], started)
            more = self._appended(outs, acked, room, commits)
            taken.extend(more)
            return more

        outs: list[Send] = []
        decided: list[Send] = []
        await self._decide_all(pending, outs, decided, take, keep=self._may_wait())
        started = _phase(phases["decide"], started)
        # The outputs not sent yet and the history chunks first, in one round trip: a state on a
        # changelog never records an output or counts a chunk that is not on the broker.
        chunks = [w for w in decided if w.topic in self.history_changelogs]
        writes += [w for w in decided if w.topic not in self.history_changelogs]
        acked = await self._send(outs + chunks)
        started = _phase(phases["send"], started)
        self._written(chunks, acked[len(outs):])
        self.unstored.update(((w.topic, w.partition, w.key), w) for w in writes)  # the newest of each key
        for tp in commits:  # where each partition's run since its commit starts, if not known yet
            self.committed.setdefault(tp, self.positions.get(tp, 0))
        self.uncommitted.update(commits)
        self.positions.update(commits)
        self.metrics.batch_records.observe(sum(map(len, batch.values())))
        self.metrics.timeline_entries["taken"].inc(len(taken))
        self.metrics.timeline_entries["fetched"].inc(sum(len(records) for tp, records in batch.items()
                                                         if tp.topic == self.timeline))
        self.handled_until.update({tp: max(r.timestamp for r in records)
                                   for tp, records in batch.items() if tp.topic in self.intake_topics})
        self._note_caught_up(commits)
        if self._store_due():
            # Paced, the loop goes on while the broker acknowledges the write; in a backlog each
            # batch waits for its own, as it always did.
            await self._store_and_commit(wait=not self._may_wait())

    async def _room(self) -> int:
        """How many records the next fetch may bring: MAX_BATCH less the span since the last commit.

        A paced batch that fills a partition to MAX_BATCH (a small fetch, with the entries
        it took) leaves its shared write in flight and the span at MAX_BATCH: then that write
        is awaited and all that waits is committed first, rather than asking `getmany` for
        no records, which aiokafka refuses (a ValueError that ended the worker's loop).
        """
        if self._span() >= MAX_BATCH:
            async with self.lock:
                if not self.unrecovered:
                    await self._store_and_commit()
        return MAX_BATCH - self._span()

    def _since(self, tp: TopicPartition) -> int:
        """How many offsets of `tp` were decided since its last commit."""
        at = self.positions.get(tp)
        return 0 if at is None else at - self.committed.get(tp, at)

    def _span(self) -> int:
        """The most offsets of one partition decided since its last commit (a write in flight is
        not committed yet): at most MAX_BATCH."""
        return max(map(self._since, self.positions), default=0)

    def _store_due(self) -> bool:
        """Whether what the batches since the last commit changed is stored and committed now.

        It waits for more batches only while they are small and recent: it goes after a fetch
        that brought all it was allowed (a backlog, where one batch already holds many events
        of each busy subject), once a partition has MAX_BATCH / 2 offsets decided since its
        commit, and `store_every_ms` after the first batch that waits. The fetch asks for no
        more than MAX_BATCH less that span, so no partition ever has more than MAX_BATCH
        records decided since its last commit: the bound docs/redelivery.md argues from.
        """
        if not self._may_wait() or self._span() >= MAX_BATCH // 2:
            return True
        now = time.monotonic()
        if self.unstored_since is None:
            self.unstored_since = now
        return now - self.unstored_since >= self.settings.store_every_ms / 1000

    def _may_wait(self) -> bool:
        """Whether this batch's writes may wait for later batches: not in a backlog, nor when
        `store_every_ms` is 0."""
        return not self.backlog and self.settings.store_every_ms > 0

    async def _store_and_commit(self, wait: bool = True) -> None:
        """Write the states and marks the batches since the last commit changed, then commit past them.

        Each key's newest value is written once, however many of the batches changed it (an
        enterprise file hears from most batches); the commit waits for the broker's
        acknowledgement of every write, so nothing is committed before what it caused is there.
        Without `wait` the loop goes on with the next batches meanwhile (`self.storing`): their
        outputs do not depend on it, the next write waits for this one (a key's values reach
        its changelog in order, commits go in order), and if it fails the loop goes back to
        the last commit that was made. Positions count from that commit until this one is made
        (`_since`), so the bound on what a failure sends back stays MAX_BATCH.
        """
        await self._stored()
        started = time.perf_counter()
        changed: list[Send] = []
        self._store_changed(changed)
        self.unstored.update(((w.topic, w.partition, w.key), w) for w in changed)
        _phase(self.metrics.batch_seconds["decide"], started)
        writes, commits = list(self.unstored.values()), dict(self.uncommitted)
        self._forget_unstored()
        if writes or commits:
            self.storing = asyncio.ensure_future(self._write_and_commit(writes, commits))
        if wait:
            await self._stored()

    async def _write_and_commit(self, writes: list[Send], commits: dict[TopicPartition, int]) -> None:
        """Send a shared write, have it acknowledged and in the local store, then commit past it.

        Its store and commit phases are the broker's time, which the loop spends on the next
        batches unless it waits (`_stored`)."""
        phases, started = self.metrics.batch_seconds, time.perf_counter()
        if writes:
            await self._still_member(commits)
        self._written(writes, await self._send(writes))
        started = _phase(phases["store"], started)
        if commits:
            try:
                await self.consumer.commit(commits)
            except Exception as exc:  # noqa: BLE001 - any failed commit: the batches come again
                raise BatchFailed(f"commit failed: {type(exc).__name__}: {exc}") from exc
        _phase(phases["commit"], started)
        self.metrics.commits.inc()
        self.metrics.state_writes.inc(len(writes))
        self.committed.update(commits)

    async def _still_member(self, commits: dict[TopicPartition, int]) -> None:
        """BatchFailed unless the group still counts this worker as the owner of `commits`' partitions.

        A worker whose session lapsed (its loop stalled or its process was stopped for longer
        than SESSION_MS, or the coordinator was out of its reach) does not know at once that
        its partitions went to another worker, which has stored newer states of the same keys
        since. Its write would then be the newest record of those keys on their changelogs,
        and whoever reads them next (a restart from the local store, a rebalance, the replica)
        would take the older states: decisions lost, a clock that runs again. Before the
        states go out, the positions last committed are committed again, unchanged: the
        coordinator takes that only from a member of the group's current generation (during
        a rebalance too, before this worker gives its partitions up) and refuses one whose
        session it ended. Refused, the batch fails before anything is written, and the
        worker goes back (or, revoked, reads its tables again) as after any failed commit.
        What is left: a stall between this check and the write's few milliseconds, and a
        group that every other member left meanwhile (Kafka takes a commit without a
        generation from an empty group, which aiokafka sends once it has dropped its own).
        """
        again = {tp: self.committed[tp] for tp in commits if tp in self.committed}
        if not again:
            return
        try:
            await self.consumer.commit(again)
        except Exception as exc:  # noqa: BLE001 - whatever it was, the states must not go out
            raise BatchFailed(f"not a member of the group any more, states not written: "
                              f"{type(exc).__name__}: {exc}") from exc

    async def _stored(self) -> None:
        """Wait until the shared write in flight (if any) is acknowledged and committed;
        BatchFailed if it failed."""
        storing, self.storing = self.storing, None
        if storing is not None:
            await storing

    def _drop_storing(self) -> None:
        """Going back: the write in flight no longer counts (its commit, if made, is read back)."""
        storing, self.storing = self.storing, None
        if storing is not None:
            storing.cancel()
            # Its end is not awaited: retrieve it, so that a failure is not reported as lost.
            storing.add_done_callback(lambda done: done.cancelled() or done.exception())

    def _store_changed(self, writes: list[Send]) -> None:
        """Store the enterprise files and plan towns the batches left in `changed`: encoded once
        for all those batches, each with its table write queued in `writes`."""
        for (kind, key), state in self.changed.items():
            self._store(kind, key, state, self.changed_records[(kind, key)][-1].partition, writes)
        self.changed.clear()
        self.changed_records.clear()

    def _forget_unstored(self) -> None:
        """Nothing waits to be stored or committed: it is on its way, or the tables are read again."""
        self.unstored.clear()
        self.uncommitted.clear()
        self.unstored_since = None
        self.changed.clear()
        self.changed_records.clear()

    def _appended(self, sends: list[Send], acked: list[Any], room: dict[int, int],
                  commits: dict[TopicPartition, int]) -> list[Appended]:
        """The timeline entries just sent that the decide stage takes now, instead of a fetch later.

        An entry is taken when it is the next record of its partition for this worker to
        decide: every record before it was decided, in an earlier batch or earlier in this
        one, so deciding it now is what fetching it would do, in the same order and at the
        same offset (which its decision records). At the first entry of a partition that is
        not (a clock entry sent between two batches, another worker's record, a gap), the
        rest of that partition's entries are left to the fetch, in order. `room` is how many
        more records of each partition the batch may decide, MAX_BATCH in all, fetched and
        taken together: the bound docs/redelivery.md argues from. `commits` is moved past
        what is taken, and `_fetch` drops them when they come.
        """
        if not self.settings.decide:
            return []
        taken: list[Appended] = []
        nexts: dict[int, int | None] = {}  # per timeline partition: the offset to take next, or None
        ends: dict[int, int] = {}  # per timeline partition: the offset after the last entry taken
        timeline = self.timeline
        for send, meta in zip(sends, acked, strict=True):
            if send.topic != timeline:
                continue
            part, offset = meta.partition, meta.offset
            expected = nexts.get(part, -1)
            if expected == -1:  # the partition's first entry in these sends
                tp = TopicPartition(timeline, part)
                expected = commits.get(tp, self.positions.get(tp))
            if offset != expected or room.get(part, MAX_BATCH) <= 0:
                nexts[part] = None  # the fetch brings this one and the rest of its partition
                continue
            taken.append(Appended(timeline, part, offset, send.key, send.value))
            nexts[part] = ends[part] = offset + 1
            room[part] = room.get(part, MAX_BATCH) - 1
        for part, end in ends.items():
            commits[TopicPartition(timeline, part)] = end
        return taken

    def _new_consumer(self) -> AIOKafkaConsumer:
        """The worker's member of its group, not started."""
        return kafka_member(
            # Dynamic membership: aiokafka 0.14 carries a static member's id on JoinGroup and
            # SyncGroup only (not on heartbeats), and sends no LeaveGroup for a static member.
            self.bootstrap, self.auth, self.settings.app_id,
            partition_assignment_strategy=(RangePartitionAssignor,),
            session_timeout_ms=SESSION_MS, heartbeat_interval_ms=2_000,
            fetch_max_wait_ms=self.settings.fetch_wait_ms, fetch_min_bytes=self.settings.fetch_min_bytes)

    async def _new_producer(self) -> AIOKafkaProducer:
        return await started_client(kafka_producer(self.bootstrap, self.auth))

    async def _renew_producer(self, cause: BaseException) -> None:
        """Replace a producer whose idempotent session the broker no longer accepts.

        After an outage the broker can refuse the producer's sequence numbers for good
        (OutOfOrderSequenceNumber); every retry of the same producer fails the same way.
        A new producer gets a new producer id; the batch is sent again from the committed
        positions, and the deterministic ids make what the old one did send harmless.
        """
        try:
            fresh = await self._new_producer()
        except Exception as exc:  # noqa: BLE001 - the broker may be away still: the next failure tries again
            log.warning("producer_renewal_failed", error=f"{type(exc).__name__}: {exc}"[:300])
            return
        log.warning("producer_renewed", cause=type(cause).__name__)
        old, self.producer = self.producer, fresh
        with contextlib.suppress(Exception):
            await asyncio.wait_for(old.stop(), READER_STOP_S)

    async def _send(self, records: list[Send]) -> list[Any]:
        """Send records and wait until the broker acknowledged every one; BatchFailed if not.

        Returns the broker's metadata of each record (its partition and offset), in order.
        """
        if not records:
            return []
        try:
            return await send_all(self.producer, records)
        except Exception as exc:  # noqa: BLE001 - whatever the broker said, nothing may be committed
            raise BatchFailed(f"send failed: {type(exc).__name__}: {exc}") from exc

    def _written(self, writes: list[Send], acked: list[Any]) -> None:
        """Table writes the changelogs acknowledged: each table is complete up to them, and the
        local store (if any) gets them with their positions."""
        if not writes:
            return
        parts: dict[tuple[str, int], list[tuple[bytes, bytes | None]]] = {}
        ends: dict[tuple[str, int], int] = {}
        for write, meta in zip(writes, acked, strict=True):
            part = (write.topic, meta.partition)
            parts.setdefault(part, []).append((write.key, write.value))
            ends[part] = max(ends.get(part, 0), meta.offset + 1)
        for (changelog, partition), end in ends.items():
            self.by_changelog[changelog].reached(partition, end)
        if self.local is None:
            return
        try:
            for (changelog, partition), items in parts.items():
                self.local.save(changelog, partition, items, ends[(changelog, partition)])
        except Exception as exc:  # noqa: BLE001 - a full disk: go back, the changelog has it all
            raise BatchFailed(f"local store failed: {type(exc).__name__}: {exc}") from exc

    # --- the stages -------------------------------------------------------------------------

    def _intake(self, rec: Any, sends: list[Send], writes: list[Send]) -> None:
        """Validate, de-duplicate and normalise one intake record into the timeline."""
        started = time.perf_counter()
        record = Record(rec.topic, rec.partition, rec.offset, rec.key, rec.value, rec.timestamp,
                        headers=tuple(rec.headers or ()))
        now = self.clock.now()
        try:
            outcome = decide_intake(record, self._seen_mark, self.rules.reference,
                                    self.settings.max_record_bytes, self.intake_topics[rec.topic],
                                    self._home, *self._time_window(now), now=now,
                                    skew_s=self.settings.future_s, town_of=self._town_of)
        except Exception as exc:  # a bug must not hold the partition: reject, move on
            log.exception("intake_failed", topic=rec.topic, partition=rec.partition, offset=rec.offset)
            outcome = processing_failure(record, exc)
            self.metrics.dead_letters.labels("intake").inc()
        if outcome.kind == "forwarded":
            self._forward(rec, outcome.subject, sends)
            self.metrics.observe("intake", time.perf_counter() - started)
            return
        sends.extend(Send(self.prefix + s.topic, s.key, s.value, None, self._headers(s.topic))
                     for s in outcome.sends)
        if outcome.opened:
            self.opened_towns.note(outcome.opened)
        if outcome.remember is not None:
            key, mark = outcome.remember[0].encode(), outcome.remember[1].encode()
            self.seen.put(key, mark, rec.partition)
            writes.append(Send(self.seen.changelog, key, mark, rec.partition))
        self.metrics.count_intake(rec.topic, outcome.kind, outcome.reasons)
        if outcome.kind == "accepted" and outcome.delay_s is not None:
            self.metrics.arrival_delay.labels(rec.topic).observe(max(0, outcome.delay_s))
        self.metrics.observe("intake", time.perf_counter() - started)
        if outcome.kind != "accepted":
            log.info(f"intake_{outcome.kind}", event_id=outcome.event_id, subject=outcome.subject,
                     topic=rec.topic, partition=rec.partition, offset=rec.offset,
                     reasons=list(outcome.reasons) or None)

    def _town_of(self, kind: str, subject: str) -> str | None:
        """The town a subject of this worker's partitions is in, for a field-app token's scope:
        its state's, else the one an event accepted lately opened it in (not decided yet)."""
        index = self.derived.places.get(kind)
        place = index.get(subject) if index is not None else None
        if place is not None and place.town is not None:
            return place.town
        return self.opened_towns.get(kind, subject)

    def _time_window(self, now: float) -> tuple[int | None, int | None]:
        """The event times intake takes at `now` (`decide_intake`'s `stale_before`, `future_after`)."""
        return time_window(now, self.settings.dedup_days, self.settings.future_s)

    def _sweep_marks(self) -> None:
        """Forget the next slice of marks past the window, once per tick (engine/stream/marks.py);
        their deletions go to the changelog and the local store with the next commit."""
        now_m = time.monotonic()
        if now_m - self.last_sweep < self.settings.tick_s:
            return
        self.last_sweep = now_m
        try:
            changes = self.sweep.step(self.clock.now())
        except Exception:  # housekeeping: a failure here must not stop the worker
            log.exception("intake_marks_sweep_failed")
            return
        changelog = self.seen.changelog
        for key, value, partition in changes:
            self.unstored[(changelog, partition, key)] = Send(changelog, key, value, partition)
        forgotten = sum(value is None for _, value, _ in changes)
        if forgotten:
            self.metrics.marks_forgotten.inc(forgotten)
            log.info("intake_marks_forgotten", marks=forgotten, held=len(self.seen))

    def _home(self, subject: str) -> int:
        """The intake partition of a subject: where a record keyed by it lands, and its marks sit."""
        return partition_for_key(subject.encode("utf-8"), self.intake_partitions)

    def _forward(self, rec: Any, subject: str, sends: list[Send]) -> None:
        """Send a record that landed away from its subject's partition (a null key, or a client
        partitioning keys otherwise than murmur2) again to its topic, keyed by its subject, to the
        subject's partition, to be judged there.

        Value, headers and timestamp are the record's own, so the copy is the event the field
        app sent, keyed as the contract asks; on an intake topic stamped by the broker
        (LogAppendTime) the copy's timestamp is when it is appended, at or after the record's.
        The copy goes to the subject's partition by number, so it is never forwarded again. Like
        every send, it is acknowledged before this record's position is committed; a copy sent
        again after a crash is a duplicate on the subject's partition.
        """
        sends.append(Send(rec.topic, subject.encode("utf-8"), rec.value, self._home(subject),
                          tuple(rec.headers or ()), rec.timestamp))
        self.metrics.intake_forwarded.labels(rec.topic).inc()
        self.forwards += 1
        log.info("intake_forwarded", subject=subject, topic=rec.topic, partition=rec.partition,
                 offset=rec.offset, to_partition=self._home(subject))

    @staticmethod
    @functools.cache
    def _headers(topic: str) -> tuple[tuple[str, bytes], ...]:
        return tuple(record_headers(topic))  # a few topics, each asked once per output

    def _seen_mark(self, key: str) -> str | None:
        mark = self.seen.get(key.encode())
        return None if mark is None else mark.decode()

    async def _decide_all(self, timeline: list[list[Any]], sends: list[Send], writes: list[Send],
                          take: Callable[[list[Send]], Awaitable[list[Appended]]] | None = None,
                          keep: bool = False) -> None:
        """Decide a batch's timeline entries in order; store each subject's state once, at the end.

        A subject with several entries in the batch (an enterprise file, which every
        hazard of the enterprise updates) is decoded once and encoded once, not once
        an entry: its state goes from one decision to the next in `held`. With `take`,
        the decisions' outputs are handed to it whenever they include timeline entries
        (links), and the entries it returns are decided next, in the same `held`, so
        a file that hears from the batch's hazards and from its inspections is still
        stored once; `sends` keeps only what was not handed over. With `keep`, the
        enterprise files and plan towns changed are not stored yet but left in `changed`
        for the next batches, until `_store_and_commit` stores them once for all.
        """
        held = Held(self.tables, self.decoded, self.changed)  # each subject's state in this batch
        done: dict[tuple[str, bytes], list[Any]] = {}  # the records that brought it there
        while timeline:
            for records in timeline:
                for rec in records:
                    self._decide(rec, held, done, sends)
            if take is None or not any(s.topic == self.timeline for s in sends):
                break
            more = await take(sends)  # sent: they leave `sends`
            sends.clear()
            timeline = [more] if more else []
        for (kind, key), state in held.items():
            records = done.get((kind, key))
            earlier = self.changed_records.get((kind, key))  # it came from `changed`, unstored
            if records is None:
                if earlier is not None:
                    self.changed[(kind, key)] = state  # unchanged by this batch: still to store
                continue  # else kept decoded from an earlier batch (engine/stream/held.py), unchanged
            if keep and kind in self.decoded.kinds:
                self.changed[(kind, key)] = state
                self.changed_records.setdefault((kind, key), []).extend(records)
                continue
            started = time.perf_counter()
            self._store(kind, key, state, records[-1].partition, writes)
            self.changed_records.pop((kind, key), None)
            self.metrics.observe("decide", time.perf_counter() - started)
        held.unused(done)

    def _decide(self, rec: Any, held: dict[tuple[str, bytes], Any], done: dict[tuple[str, bytes], list[Any]],
                sends: list[Send]) -> None:
        """Apply one timeline entry to its subject's state and queue the outputs the rules decide."""
        started = time.perf_counter()
        try:
            decision = decide_entry(self.cores, self.tables, rec.key, rec.value, self.histories, held,
                                    (rec.partition, rec.offset))
        except Exception as exc:  # a bug must not hold the partition: dead-letter, move on
            log.exception("decision_failed", subject=(rec.key or b"").decode("utf-8", "replace"),
                          partition=rec.partition, offset=rec.offset)
            letter = dead_letter("decide", rec.topic, rec.partition, rec.offset, rec.key, rec.value, exc)
            sends.append(Send(self.prefix + DEAD_LETTER, rec.key, encode(letter)))
            self.metrics.dead_letters.labels("decide").inc()
            self._decide_again(rec.key, held, done)
            return
        if decision is None or decision.new is decision.state:
            return  # no rules for its kind, or a re-delivered entry
        core, entry, outs = decision.core, decision.entry, decision.outs
        held[(core.kind, rec.key)] = decision.new
        done.setdefault((core.kind, rec.key), []).append(rec)
        for out in outs:
            sends.append(Send(self.prefix + out.topic, out.key.encode(), record_value(out), None,
                              self._headers(out.topic)))
            self.metrics.count_output(out.event)
            log.info("decision", event_id=out.id, subject=out.key, topic=out.topic,
                     type=out.event["type"], action=out.event.get("data", {}).get("action"),
                     caused_by=entry["entry_id"], partition=rec.partition, offset=rec.offset)
        self.metrics.observe("decide", time.perf_counter() - started)

    def _decide_again(self, key: bytes | None, held: dict[tuple[str, bytes], Any],
                      done: dict[tuple[str, bytes], list[Any]]) -> None:
        """After a failed decision: the subject's state as its earlier entries of the batch left it.

        The failed decision may have changed the held state in place before it raised,
        so it is decided again from the table's state through the entries that
        succeeded, an earlier batch's not stored yet first (the rules are
        deterministic: the same states, outputs dropped).
        """
        for kind, subject in [k for k in held if k[1] == key]:
            del held[(kind, subject)]  # (a state kept from an earlier batch is not kept any more)
            # An earlier batch's changes not stored yet are decided again first.
            earlier = self.changed_records.get((kind, subject), [])
            for rec in [*earlier, *done.get((kind, subject), ())]:
                decision = decide_entry(self.cores, self.tables, rec.key, rec.value, self.histories,
                                        held, (rec.partition, rec.offset))
                if decision is not None and decision.new is not decision.state:
                    held[(kind, subject)] = decision.new

    def _store(self, kind: str, key: bytes, state: Any, partition: int, writes: list[Send]) -> None:
        """Put a subject's new state in its table, its history's full chunks in theirs, and queue both."""
        table = self.tables[kind]
        history = self.histories.get(kind)
        chunks: dict[int, bytes] | None = {} if history is not None else None
        packed = self.derived.store(kind, state, chunks)
        if history is not None and chunks:
            for n, value in chunks.items():
                chunk = chunk_key(key, n)
                history.put(chunk, value, partition)
                writes.append(Send(history.changelog, chunk, value, partition))
        table.put(key, packed, partition)
        writes.append(Send(table.changelog, key, packed, partition))
        self.decoded.keep((kind, key), packed, state)

    # --- clocks -----------------------------------------------------------------------------

    async def _watch_broker(self, probe: BrokerProbe) -> None:
        """Ask the broker every PROBE_S whether it answers, and tell the readiness."""
        while True:
            await probe.check(self.readiness)
            await asyncio.sleep(PROBE_S)

    async def _tick(self) -> None:
        """Publish a 'deadline reached' entry for every subject with a clock now due."""
        now_m = time.monotonic()
        if not self.settings.decide or now_m - self.last_tick < self.settings.tick_s:
            return
        self.last_tick = now_m
        held = bool(self.waiting) or len(self.readiness.recovered) < len(self.cores)
        self.readiness.ticked(held)
        if held:
            return
        await self._seed_plan()
        horizon = self._intake_horizon()
        if horizon is None:
            return
        now = min(self.clock.now(), self.clock.at(horizon))
        due = [Send(self.timeline, subject.encode(), encode(self.cores[kind].clock_entry(subject, at)))
               for kind, index in self.indices.items() for at, subject in index.pop_due(now)]
        await self._send(due)

    async def _seed_plan(self) -> None:
        """Send the seed of each town of the annual plan that a partition just recovered lacks.

        A month and town with no inspection has no state anywhere else, so no clock
        would fire for it (engine/plan/tracking.py). A seed sent twice (a rebalance
        before the first was decided) is recognised by its id and changes nothing.
        """
        if not self.unseeded:
            return
        table = self.tables["plan"]
        missing = [e for e in self.plan_seeds
                   if self._home(e["subject"]) in self.unseeded and table.get(e["subject"].encode()) is None]
        await self._send([Send(self.timeline, e["subject"].encode(), encode(e)) for e in missing])
        self.unseeded = set()
        if missing:
            log.info("plan_seeded", subjects=[e["subject"] for e in missing])

    def _intake_horizon(self) -> float | None:
        """`intake_horizon` over the assigned intake partitions, as the consumer last saw them.

        A fetch answered before this worker's last forwarded copies were acknowledged
        cannot vouch for them: until each partition is fetched again, the clocks wait.
        """
        def polled(tp: TopicPartition) -> int | None:
            at = self.consumer.last_poll_timestamp(tp)
            return at if at is not None and at > self.forwarded_ms else None

        return intake_horizon(
            (self.positions.get(tp, 0), self.consumer.highwater(tp), polled(tp),
             self.handled_until.get(tp, 0))
            for tp in self.consumer.assignment() if tp.topic in self.intake_topics)

    def _note_caught_up(self, commits: dict[TopicPartition, int]) -> None:
        """Open the clocks once intake has handled what was there when partitions were assigned."""
        if not self.waiting:
            return
        for tp, position in commits.items():
            if tp in self.waiting and position >= self.waiting[tp]:
                del self.waiting[tp]
        if not self.waiting:
            log.info("clocks_resumed")

    # --- rebalancing and recovery -----------------------------------------------------------

    async def revoked(self, revoked: set[TopicPartition]) -> None:
        """Partitions leave this worker: after the batch in hand, forget their states."""
        async with self.lock:
            self.generation += 1
            if (self.uncommitted or self.storing is not None) and not self.unrecovered:
                try:  # what the last batches changed, stored and committed before another takes it
                    await self._store_and_commit()
                except BatchFailed as exc:  # read again from the last commit, here or elsewhere
                    log.warning("store_before_revoke_failed", error=str(exc)[:300])
                    self._forget_unstored()
                    self.unrecovered = True  # this worker's tables are ahead of the changelogs
            self.readiness.revoked()
            gone = {tp.partition for tp in revoked}
            if self.replica is not None:  # the replica answers for them from now on
                self.replica.hand_over(self.tables, self.histories, self.derived.place_index, gone)
            else:
                for table in (*self.tables.values(), *self.histories.values()):
                    table.drop(gone)
            self.seen.drop(gone)
            self.aligner.clear(revoked)
            for tp in revoked:
                self.positions.pop(tp, None)
                self.committed.pop(tp, None)
                self.handled_until.pop(tp, None)
                self.waiting.pop(tp, None)
            log.info("partitions_revoked", partitions=sorted(gone))

    async def assigned(self, assigned: set[TopicPartition]) -> None:
        """Partitions come to this worker: hold them until the loop has read their tables."""
        async with self.lock:
            self.generation += 1
            self.consumer.pause(*self.consumer.assignment())
            self.aligner.clear()  # fetched again from the commits once the tables are read
            self.unrecovered = True
            log.info("partitions_assigned", partitions=sorted({tp.partition for tp in assigned}))

    async def _recover_assigned(self) -> None:
        """Read the tables of the whole assignment, then let its records flow."""
        attempt = 0
        while not self.stopping.is_set():
            attempt += 1
            assignment = self.consumer.assignment()
            try:
                async with self.lock:
                    await self._recover({tp.partition for tp in assignment})
                    if assignment != self.consumer.assignment():
                        continue  # a rebalance came meanwhile: read what is assigned now
                    await self._seek_committed(assignment)
                    self.unrecovered = False
                    self.consumer.resume(*assignment)
                return
            except (TimeoutError, KafkaError, OSError) as exc:
                log.warning("recovery_failed_retrying", attempt=attempt,
                            error=f"{type(exc).__name__}: {exc}"[:300])
                await asyncio.sleep(min(0.5 * attempt, self.settings.broker_retry_max_s))

    async def _seek_committed(self, assignment: set[TopicPartition]) -> None:
        """Fetch every assigned partition again from its committed position (or its beginning).

        After a recovery the tables hold what the committed positions caused, so reading
        on from anywhere else would skip records (or apply them to tables that lack them).
        What the aligner held is fetched again with the rest.
        """
        self.aligner.clear()
        for tp in assignment:
            committed = await asyncio.wait_for(self.consumer.committed(tp), STEP_TIMEOUT_S)
            if committed is None:
                await self.consumer.seek_to_beginning(tp)
                # Where the log starts now (retention may have moved it): the clocks' horizon
                # compares this partition's position with its highwater.
                self.positions[tp] = await asyncio.wait_for(self.consumer.position(tp), STEP_TIMEOUT_S)
            else:
                self.consumer.seek(tp, committed)
                self.positions[tp] = committed
        self.committed = dict(self.positions)

    async def _recover(self, numbers: set[int]) -> None:
        # No cyclic collection while the tables are read; one at the end, then what was built is frozen
        # out of the collector's walks (engine/stream/pauses.py).
        self._drop_storing()
        self._forget_unstored()  # the tables are read again from the changelogs
        with recovering() as settled:
            started, read = time.perf_counter(), 0
            reader = await asyncio.wait_for(started_client(kafka_reader(self.bootstrap, self.auth)),
                                            STEP_TIMEOUT_S)
            try:
                if self.replica is not None:  # answering for the partitions while they are read
                    self.replica.hand_over(self.tables, self.histories, self.derived.place_index)
                for table in (*self.tables.values(), *self.histories.values(), self.seen):
                    table.clear()
                    read += await restore(reader, table, sorted(numbers), self.local, STEP_TIMEOUT_S)
                    log.info("table_restored", changelog=table.changelog, keys=len(table))
            finally:
                # Stopping the reader once hung for minutes after a broker of the cluster came back
                # (the 3-broker fault case): what it read is in the tables, so do not wait for it.
                try:
                    await asyncio.wait_for(reader.stop(), READER_STOP_S)
                except TimeoutError:
                    log.warning("changelog_reader_stop_timed_out", seconds=READER_STOP_S)
            for kind, table in self.tables.items():
                # Read in a thread, so that the consumer keeps its heartbeats (a million hazards: half
                # a minute); put in place here, on the loop, where /metrics and the feeds read them.
                collected = await asyncio.to_thread(self.derived.collect, kind, table.items())
                self.derived.install(kind, collected)
                self.readiness.table_recovered(kind)
            if self.replica is not None:  # the worker's own tables answer for its partitions again
                self.replica.release(numbers)
            intake = [tp for tp in self.consumer.assignment() if tp.topic in self.intake_topics]
            ends = await asyncio.wait_for(self.consumer.end_offsets(intake), STEP_TIMEOUT_S) if intake else {}
            committed = {tp: await asyncio.wait_for(self.consumer.committed(tp), STEP_TIMEOUT_S)
                         for tp in intake}
            self.positions = {tp: off for tp, off in committed.items() if off is not None}
            self.handled_until = {}
            self.waiting = {tp: end for tp, end in ends.items() if (committed.get(tp) or 0) < end}
            if self.plan_seeds:
                self.unseeded = set(numbers)
            log.info("clocks_held", partitions_behind=len(self.waiting))
        log.info("worker_ready", partitions=sorted(numbers), states=sum(map(len, self.tables.values())),
                 marks=len(self.seen), changelog_records_read=read, gc_frozen=settled.frozen,
                 gc_settle_s=round(settled.seconds, 3),
                 local_store=self.local is not None, seconds=round(time.perf_counter() - started, 3))

    async def _go_back(self) -> None:
        """After a failed batch: tables from the changelogs again, positions from the commits."""
        pause = 0.5
        while not self.stopping.is_set():
            try:
                async with self.lock:
                    assignment = self.consumer.assignment()
                    # Paused until every position is set: resumed together, the partitions are
                    # fetched together, so the first batch is not the partitions sought first alone
                    # (a subject's report on one intake topic behind its plan on another).
                    self.consumer.pause(*assignment)
                    await self._recover({tp.partition for tp in assignment})
                    await self._seek_committed(assignment)
                    if not self.unrecovered:  # else the rebalance's recovery resumes them
                        self.consumer.resume(*assignment)
                return
            except Exception as exc:  # noqa: BLE001 - the broker is still away: wait and try again
                log.warning("going_back_failed", error=f"{type(exc).__name__}: {exc}"[:300],
                            retry_in_s=pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.settings.broker_retry_max_s)

    # --- what the HTTP server and the metrics read -------------------------------------------

    def _pages(self) -> Pages:
        pages = Pages()
        health_pages(pages, self.registry, self.readiness)
        unknown = self.tokens.unknown_ids(set(self.rules.reference.towns),
                                          set(self.rules.reference.departments))
        if unknown:
            raise TokenFileError(f"{self.tokens.path}: unknown {', '.join(unknown)}")
        now = self.clock.now
        hazards = self._source("hazard", lambda table, index: hazard_source(
            table, self.rules, now, index, history_side(self.replica, "hazard", self.histories["hazard"])))
        alerts = (self._source("alert", lambda table, index: alert_source(
            table, now, index, self.rules.reference,
            history_side(self.replica, "alert", self.histories["alert"]), self.alert_rules))
                  if "alert" in self.tables else None)
        feeds.register(pages, settings=self.settings, bootstrap=self.bootstrap, hazards=hazards,
                       alerts=alerts, tokens=self.tokens, now=self.clock.now, known=self.rules.reference)
        # A hazard a file stored before format 14 keeps no town for is named by the hazards' index.
        enterprises = self._source("enterprise", lambda table, index: enterprise_source(
            table, self.rules, now, index, lambda hid: (p.town if (p := hazards.place(hid)) else None)))
        enterprise_web.register(pages, settings=self.settings, tokens=self.tokens, now=self.clock.now,
                                enterprises=enterprises, known=self.rules.reference)
        seen = {"hazard": hazards, "alert": alerts, "enterprise": enterprises}
        field_intake.register(pages, settings=self.settings, bootstrap=self.bootstrap,
                              tokens=self.tokens, known=self.rules.reference,
                              metrics=self.metrics.http_intake, now=self.clock.now,
                              town_of=functools.partial(_seen_town, seen), seen=self._seen_mark)
        board.register(pages, settings=self.settings, bootstrap=self.bootstrap, hazards=hazards,
                       alerts=alerts, tokens=self.tokens, reference=self.rules.reference,
                       now=self.clock.now, signouts=board.KafkaSignOuts(
                           self.bootstrap, board.signouts_topic(self.settings.app_id), self.auth),
                       enterprises=enterprises)
        return pages

    def _source(self, kind: str, make: Callable[[Any, Any], TableSource]) -> TableSource:
        """What the pages of `kind` read: its table and place index, with the replica's if any."""
        table, index, behind = read_side(self.replica, kind, self.tables[kind],
                                         self.derived.place_index(kind))
        source = make(table, index)
        source.behind = behind
        return source

    def _lag(self) -> dict[tuple[str, int], int]:
        out = {}
        if self.consumer is None:
            return out
        for tp in self.consumer.assignment():
            high = self.consumer.highwater(tp)
            if high is not None and tp in self.positions:
                out[(tp.topic, tp.partition)] = max(0, high - self.positions[tp])
        return out

    def _timer_lag(self) -> float:
        dues = [d for d in (i.earliest() for i in self.indices.values()) if d is not None]
        return max(0.0, self.clock.now() - min(dues)) if dues else 0.0


def _seen_town(sources: dict[str, TableSource | None], kind: str, subject: str) -> str | None:
    """A subject's town as the pages see it (the worker's states, and the replica's if it keeps
    one): what `POST /events` holds a field-app token's towns to before sending."""
    source = sources.get(kind)
    place = source.place(subject) if source is not None else None
    return place.town if place is not None else None


def _phase(counter: Any, started: float) -> float:
    """Add the seconds since `started` to a phase's counter; the time now, where the next phase starts."""
    now = time.perf_counter()
    counter.inc(now - started)
    return now


def intake_horizon(partitions: Iterable[tuple[int, int | None, int | None, int]]) -> float | None:
    """The real instant before which every intake record that reached the broker is handled.

    The timer fires deadlines only up to it, so a rectification report sent
    before its deadline is decided before the deadline's escalation, however
    far behind the worker runs (a burst, a restart, a busy machine). Each
    partition is (next offset to handle, highwater of its last fetch, when
    that fetch was answered in ms, timestamp of the latest record handled in
    ms). Caught up with that highwater, everything sent before the fetch is
    handled (less SETTLE_S for the broker's side of the fetch); behind it,
    everything up to the latest record handled, since the records after it
    were sent later. None while a partition has not been fetched yet.
    """
    horizon = float("inf")
    for position, high, polled, handled in partitions:
        if high is None or polled is None:
            return None
        horizon = min(horizon, polled / 1000 - SETTLE_S if position >= high else handled / 1000)
    return horizon


async def run_runtime(runtime: Runtime) -> None:
    """Run a runtime to its end, for `engine.worker`."""
    with contextlib.suppress(asyncio.CancelledError):
        await runtime.run()
