"""The ladder: the broker's ceiling, the Python client's, the engine's intake and the full engine.

Every rung reads the same workload (bench/workload.py) from the same broker,
in a namespace of its own whose topics are deleted afterwards:

1. `kcat -C -e -o beginning` drains each intake topic: what the broker serves.
2. a bare aiokafka `getmany` loop that decodes every value as JSON.
3. the engine with intake only (HAZARD_DECIDE=false): validate, de-duplicate,
   append to the timeline.
4. the full engine with the default rules, its clock frozen before the first
   event, so it decides what the events bring and sends its escalations.

Rates of rungs 3 and 4 come from the records' own timestamps: from the first
timeline entry to the last output of the pre-filled events (the last timeline
entry, or the last state the decision agent stored). CPU and memory come from
/proc, sampled every quarter second and interpolated to that span.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from bench.latency import (
    Position,
    Rec,
    Window,
    escalation_causes,
    escalation_latencies,
    growth_ms,
    intake_latencies,
    read_records,
    summary,
)
from bench.proc import tree_cpu_seconds, tree_rss_bytes
from bench.workload import Item, create_topics, frozen_clock_env, intake_topics, paced, prefill
from engine.broker.install import free_port
from engine.broker.local import read_state
from engine.contract.envelope import INTAKE_TOPICS
from engine.harness import Namespace, Worker, group_progress, wait_drained
from engine.intake.process import TIMELINE
from engine.metrics import BATCH_PHASES
from engine.tools.kafka import partitions_of, reader

LOG_LEVEL = "warning"  # per-decision info lines would be part of what is measured; see the info rung
LOADS = (0.5, 0.8)  # latency is measured at these fractions of a rung's measured maximum
# A window whose median latency rose by more than this from its first quarter to its last did not
# keep pace: the worker was building a backlog.
SATURATED_GROWTH_MS = 1000.0
PROBE_STEP = 0.1  # below a saturated load, lower loads are tried this far apart


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy since boot, all cores together."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def broker_pid(bootstrap: str) -> int | None:
    """The local broker's process, when it is the one at `bootstrap`."""
    state = read_state()
    return state.pid if state is not None and state.bootstrap == bootstrap else None


def interpolate(points: Sequence[tuple[float, float]], t: float) -> float:
    """The value at `t` of a series of (time, value) points, linear between them, flat outside."""
    if t <= points[0][0]:
        return points[0][1]
    for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
        if t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1]


@dataclass(frozen=True, slots=True)
class Usage:
    """What the processes under test, the broker and the machine used over one span."""

    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    broker_cpu_seconds: float | None
    machine_busy_cores: float


class Trace:
    """Samples CPU and memory of some process trees, the broker and the machine, in a thread."""

    def __init__(self, pids: Sequence[int], broker: int | None, every_s: float = 0.25) -> None:
        self.pids, self.broker, self.every_s = list(pids), broker, every_s
        self.samples: list[tuple[float, float, int, float, float]] = []  # at, cpu, rss, broker, busy
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        self.samples.append((
            time.time(), sum(tree_cpu_seconds(p) for p in self.pids),
            sum(tree_rss_bytes(p) for p in self.pids),
            tree_cpu_seconds(self.broker) if self.broker else 0.0, _machine_busy_seconds()))

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self._sample()

    def __enter__(self) -> Trace:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def between(self, start: float, end: float) -> Usage:
        """Usage from `start` to `end` (epoch seconds), interpolated between samples."""
        def delta(column: int) -> float:
            points = [(s[0], s[column]) for s in self.samples]
            return interpolate(points, end) - interpolate(points, start)

        inside = [s[2] for s in self.samples if start <= s[0] <= end] or [self.samples[-1][2]]
        seconds = max(end - start, 1e-9)
        return Usage(seconds, delta(1), max(inside), delta(3) if self.broker else None,
                     delta(4) / seconds)


@dataclass
class Rung:
    """One rung's figures, as the table and the JSON report them."""

    name: str
    what: str
    events: int
    usage: Usage
    latency: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        """Events handled per second of the span."""
        return self.events / self.usage.seconds

    @property
    def cpu_s_per_million(self) -> float:
        """CPU seconds the process under test spent per million events."""
        return self.usage.cpu_seconds / self.events * 1e6

    def as_dict(self) -> dict[str, Any]:
        """Everything, with the derived figures, for the JSON report."""
        return {"name": self.name, "what": self.what, "events": self.events,
                "events_per_s": round(self.events_per_s, 1),
                "cpu_s_per_million": round(self.cpu_s_per_million, 1),
                "peak_rss_mb": round(self.usage.peak_rss_bytes / 2**20, 1),
                "cores_used": round(self.usage.cpu_seconds / self.usage.seconds, 2),
                "events_per_cpu_s": round(self.events / max(self.usage.cpu_seconds, 1e-9), 1),
                **{k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self.usage).items()},
                "latency": self.latency, "notes": self.notes}


# --- rung 1: kcat ---------------------------------------------------------------------------

KCAT_FETCH_WAIT_MS = 5  # librdkafka waits 500 ms at a partition's end; that would be most of the run


def _vm_hwm_bytes(pid: int) -> int:
    """A live process's peak resident memory since its exec (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def run_child(cmd: list[str]) -> tuple[float, float, int, str]:
    """Run a command to its end: its wall seconds, CPU seconds, peak memory and stderr.

    Peak memory is read from /proc while it runs: the rusage of a child forked
    from this big process would count this process's memory too.
    """
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
        started, peak = time.monotonic(), 0
        while True:
            peak = max(peak, _vm_hwm_bytes(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.005)
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}: {stderr[-1000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, peak, stderr


def kcat_rung(bootstrap: str, prefix: str, events: int, rounds: int = 3) -> Rung:
    """Drain each intake topic with kcat, one topic after another; the median of `rounds` rounds.

    A round lasts well under a second, so one busy moment of a neighbour would
    weigh on a single round.
    """
    kcat = shutil.which("kcat")
    if kcat is None:
        raise FileNotFoundError("kcat is not installed (apt-get install kcat)")
    measured = []
    with Trace([], broker_pid(bootstrap)) as trace:
        for _ in range(rounds):
            seconds, cpu, peak, consumed, spans = 0.0, 0.0, 0, 0, []
            for topic in intake_topics(prefix):
                began = time.time()
                wall, used, hwm, stderr = run_child([
                    kcat, "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e",
                    "-X", f"fetch.wait.max.ms={KCAT_FETCH_WAIT_MS}"])
                spans.append((began, began + wall))
                seconds, cpu, peak = seconds + wall, cpu + used, max(peak, hwm)
                consumed += sum(int(n) for n in re.findall(r"at offset (\d+)", stderr))
            measured.append((seconds, cpu, peak, consumed, spans))
    seconds, cpu, peak, consumed, spans = sorted(measured)[len(measured) // 2]
    parts = [trace.between(a, b) for a, b in spans]
    broker = sum(p.broker_cpu_seconds or 0.0 for p in parts) if trace.broker else None
    busy = sum(p.machine_busy_cores * p.seconds for p in parts) / sum(p.seconds for p in parts)
    return Rung("1 kcat", "kcat -C -e -o beginning, each intake topic in turn, values to /dev/null, "
                f"-X fetch.wait.max.ms={KCAT_FETCH_WAIT_MS}; median of {rounds} rounds",
                events, Usage(seconds, cpu, peak, broker, busy),
                notes={"consumed": consumed, "round_seconds": [round(m[0], 3) for m in measured]})


# --- rung 2: aiokafka -------------------------------------------------------------------------

async def _drain(bootstrap: str, topics: list[str], expect: int, timeout_s: float) -> dict[str, Any]:
    consumer = reader(bootstrap)
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.time()
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in await partitions_of(consumer, t)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        count = 0
        while count < expect:
            if time.time() - started > timeout_s:
                raise TimeoutError(f"consumed {count} of {expect} records in {timeout_s:.0f} s")
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    json.loads(record.value)
                count += len(records)
        ended = time.time()
    finally:
        await consumer.stop()
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"start": started, "end": ended, "count": count, "peak_rss_bytes": after.ru_maxrss * 1024,
            "cpu_seconds": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime}


def drain_main(args: list[str]) -> None:
    """The child of rung 2: `BOOTSTRAP EXPECT TOPIC...`; prints its figures as JSON."""
    bootstrap, expect, *topics = args
    print(json.dumps(asyncio.run(_drain(bootstrap, topics, int(expect), timeout_s=600))))


def aiokafka_rung(bootstrap: str, prefix: str, events: int) -> Rung:
    """A fresh interpreter drains the intake topics with getmany and json.loads, and reports itself."""
    code = "import sys; from bench.ladder import drain_main; drain_main(sys.argv[1:])"
    with Trace([], broker_pid(bootstrap)) as trace:
        # A process of its own, so its CPU and memory are the client's alone.
        done = subprocess.run([sys.executable, "-c", code, bootstrap, str(events), *intake_topics(prefix)],
                              capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    if done.returncode != 0:
        raise RuntimeError(f"the aiokafka drain exited with {done.returncode}: {done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    usage = trace.between(result["start"], result["end"])
    return Rung("2 aiokafka", "AIOKafkaConsumer.getmany loop + json.loads, no group, one process",
                events, Usage(usage.seconds, result["cpu_seconds"], result["peak_rss_bytes"],
                              usage.broker_cpu_seconds, usage.machine_busy_cores),
                notes={"consumed": result["count"]})


# --- the engine under test --------------------------------------------------------------------

def scrape(port: int) -> list[tuple[str, dict[str, str], float]]:
    """The samples of a worker's /metrics page; empty while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return []
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text)
            for s in family.samples]


def batch_phases(samples: list[tuple[str, dict[str, str], float]]) -> dict[str, float]:
    """Seconds a worker's batches have spent in each phase so far (`hazard_batch_seconds_total`)."""
    return {labels["phase"]: value for name, labels, value in samples
            if name == "hazard_batch_seconds_total" and "phase" in labels}


def phases_between(before: dict[str, float], after: dict[str, float],
                   keys: Sequence[str] = BATCH_PHASES) -> dict[str, float]:
    """The seconds of each phase (or the count of each of `keys`) from one scrape to a later one (a
    key missing from either: 0)."""
    return {key: round(after.get(key, 0.0) - before.get(key, 0.0), 3) for key in keys}


def timeline_paths(samples: list[tuple[str, dict[str, str], float]]) -> dict[str, float]:
    """Timeline records a worker has decided so far, taken as it sent them or fetched
    (`hazard_timeline_entries_total`)."""
    return {labels["path"]: value for name, labels, value in samples
            if name == "hazard_timeline_entries_total" and "path" in labels}


STORE_COUNTS = {"hazard_batch_records_count": "batches", "hazard_commits_total": "commits",
                "hazard_state_writes_total": "state_writes"}


def store_counts(samples: list[tuple[str, dict[str, str], float]]) -> dict[str, float]:
    """Batches a worker has handled so far, the commits they took and the states those wrote
    (several small batches share one commit: HAZARD_STORE_EVERY_MS)."""
    return {STORE_COUNTS[name]: value for name, _, value in samples if name in STORE_COUNTS}


def assigned(samples: list[tuple[str, dict[str, str], float]], prefix: str) -> dict[str, list[int]]:
    """The intake partitions a worker holds, by contract topic name, from its consumer-lag gauge."""
    out: dict[str, list[int]] = defaultdict(list)
    for name, labels, _ in samples:
        topic = labels.get("topic", "").removeprefix(prefix)
        if name == "hazard_consumer_lag_records" and topic in INTAKE_TOPICS:
            out[topic].append(int(labels["partition"]))
    return {t: sorted(ps) for t, ps in sorted(out.items())}


class Engine:
    """Workers of one namespace, started together and traced until they stop."""

    def __init__(self, ns: Namespace, workers: int = 1, decide: bool = True,
                 log_level: str = LOG_LEVEL, env: dict[str, str] | None = None) -> None:
        self.ns, self.decide = ns, decide
        self.ports = [ns.web_port] + [free_port() for _ in range(workers - 1)]
        self.workers = [Worker(ns.env(
            HAZARD_LOG_LEVEL=log_level, HAZARD_DECIDE=str(decide).lower(),
            HAZARD_WEB_PORT=str(port),
            HAZARD_DATA_DIR=str(ns.root / f"worker-{i + 1}-data"), **frozen_clock_env(),
            **(env or {})),
            ns.root / f"worker-{i + 1}.log") for i, port in enumerate(self.ports)]
        self.trace: Trace | None = None

    def __enter__(self) -> Engine:
        for worker in self.workers:
            worker.start()
        pids = [w.proc.pid for w in self.workers if w.proc]
        self.trace = Trace(pids, broker_pid(self.ns.bootstrap)).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.trace:
            self.trace.__exit__()
        for worker in self.workers:
            worker.stop()

    @property
    def intake(self) -> set[str]:
        """The physical names of the intake topics."""
        return set(intake_topics(self.ns.prefix))

    def spread(self) -> list[dict[str, Any]]:
        """Which intake partitions each worker holds and how many intake records it handled."""
        out = []
        for i, port in enumerate(self.ports):
            samples = scrape(port)
            out.append({"worker": i + 1, "partitions": assigned(samples, self.ns.prefix),
                        "intake_records": int(sum(v for n, _, v in samples
                                                  if n == "hazard_intake_records_total"))})
        return out

    def wait_assigned(self, timeout: float = 180) -> None:
        """Wait until every worker holds intake partitions (or, at the timeout, one at least)."""
        deadline = time.monotonic() + timeout
        while True:
            for worker in self.workers:
                if not worker.alive():
                    raise RuntimeError(f"a worker exited:\n{worker.log_text()[-3000:]}")
            held = [bool(s["partitions"]) for s in self.spread()]
            if all(held) or (time.monotonic() > deadline and any(held)):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"no partitions assigned after {timeout:.0f} s")
            time.sleep(0.5)

    def alive(self) -> bool:
        """Whether every worker still runs."""
        return all(w.alive() for w in self.workers)

    async def drain(self, idle_timeout: float = 120) -> None:
        """Wait until the group committed everything the engine reads."""
        if self.decide:
            await wait_drained(self.ns, idle_timeout, self.alive)
            return
        topics = sorted(self.intake)
        last, since = -1, time.monotonic()
        while True:
            done, end = await group_progress(self.ns, topics)
            if done >= end:
                return
            if not self.alive():
                raise RuntimeError("a worker died while draining")
            if done != last:
                last, since = done, time.monotonic()
            elif time.monotonic() - since > idle_timeout:
                raise RuntimeError(f"engine stalled at {done} of {end} records")
            await asyncio.sleep(0.5)

    def finished_topics(self) -> list[str]:
        """Where the last record of an event's handling lands: the timeline, or the decided state."""
        if not self.decide:
            return [self.ns.topic(TIMELINE)]
        return [f"{self.ns.name}-{table}-changelog" for table in ("hazards", "alerts")]

    async def span(self) -> tuple[float, float]:
        """From the first timeline entry to the last finished record (epoch seconds)."""
        timeline = await read_records(self.ns.bootstrap, [self.ns.topic(TIMELINE)])
        finished = await read_records(self.ns.bootstrap, self.finished_topics())
        return (min(r.timestamp_ms for r in timeline) / 1000,
                max(r.timestamp_ms for r in finished) / 1000)


def prepare(bootstrap: str, root: Path, name: str, items: Sequence[Item]) -> Namespace:
    """A fresh namespace with its topics created, its intake topics holding `items`."""
    ns = Namespace(bootstrap, root / name)
    ns.root.mkdir(parents=True, exist_ok=True)
    asyncio.run(create_topics(bootstrap, ns.prefix, ns.name))
    if items:
        asyncio.run(prefill(bootstrap, ns.prefix, list(items)))
    return ns


def drain_usage(engine: Engine) -> Usage:
    """Wait until a started engine has handled its pre-filled topics; what that took."""
    engine.wait_assigned()
    asyncio.run(engine.drain())
    start, end = asyncio.run(engine.span())
    assert engine.trace is not None
    return engine.trace.between(start, end)


# --- rungs 3 and 4: the engine -----------------------------------------------------------------

def latency_points(engine: Engine, items: Sequence[Item], rate: float, seconds: float
                   ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Publish at each load of `rate` for `seconds`, then join every output to its input.

    A window whose latency grew by more than `SATURATED_GROWTH_MS` from its
    first quarter to its last did not keep pace (see `growth_ms`): its latency
    measures how long the window was, not the engine, so it is marked saturated
    and not quoted. Below a saturated load, lower loads are tried, `PROBE_STEP`
    apart and above the last load that kept pace, to find the highest paced
    rate the worker sustains. The backlog maximum comes from large fetched
    batches; a paced stream of single records costs more per event.

    Returns a point per window, and how escalations were joined to their causes.
    """
    ns, offset = engine.ns, 0
    loads, kept_pace = list(LOADS), 0.0
    inputs: list[Rec] = []
    timeline: list[Rec] = []
    causes: list[tuple[int, Position]] = []
    notes: dict[str, Any] = {}
    points: list[dict[str, Any]] = []
    while loads:
        load = loads.pop(0)
        count = min(int(rate * load * seconds), len(items) - offset)
        if count < 10:
            break
        scraped = scrape(ns.web_port)
        phases, paths, stores = batch_phases(scraped), timeline_paths(scraped), store_counts(scraped)
        start, end = asyncio.run(paced(ns.bootstrap, ns.prefix, items[offset:offset + count], rate * load))
        offset += count
        window = Window(start, end, warmup=max(2.0, 0.2 * (end - start)))
        asyncio.run(engine.drain())
        scraped = scrape(ns.web_port)
        phases = phases_between(phases, batch_phases(scraped))
        paths = phases_between(paths, timeline_paths(scraped), ("taken", "fetched"))
        stores = phases_between(stores, store_counts(scraped), tuple(STORE_COUNTS.values()))
        inputs = asyncio.run(read_records(ns.bootstrap, sorted(engine.intake)))
        timeline = asyncio.run(read_records(ns.bootstrap, [ns.topic(TIMELINE)]))
        if engine.decide:
            escalations = asyncio.run(read_records(ns.bootstrap, [ns.topic("escalations")]))
            causes, notes["escalations_joined"] = escalation_causes(timeline, escalations)
        samples = (escalation_latencies(inputs, causes, window) if engine.decide
                   else intake_latencies(inputs, timeline, window))
        growth = growth_ms(samples)
        saturated = growth is not None and growth > SATURATED_GROWTH_MS
        if not saturated:
            kept_pace = max(kept_pace, load)
        elif not loads and round(load - PROBE_STEP, 2) > kept_pace:
            loads.append(round(load - PROBE_STEP, 2))
        assert engine.trace is not None
        usage = engine.trace.between(window.start, window.end)
        points.append({"load": load, "probe": load not in LOADS, "target_rate": round(rate * load, 1),
                       "achieved_rate": round(count / (window.end - window.start), 1),
                       "seconds": round(window.end - window.start, 1),
                       "warmup_s": round(window.warmup, 1),
                       "growth_ms": None if growth is None else round(growth, 1),
                       "saturated": saturated,
                       "output": "escalation" if engine.decide else "timeline entry",
                       "worker_cores": round(usage.cpu_seconds / usage.seconds, 2),
                       "cpu_s_per_million": round(usage.cpu_seconds / count * 1e6, 1),
                       "machine_busy_cores": round(usage.machine_busy_cores, 2),
                       # The worker's batches from the window's start to the end of its drain, by phase:
                       # where its wall time went (fetch includes waiting for records).
                       "batch_phases_s": phases,
                       # Timeline records decided in that time: taken in the batch that sent them, or
                       # fetched a batch later.
                       "timeline_entries": paths,
                       # The batches of that time, the commits they shared, the state writes those took.
                       "stores": stores,
                       **summary([lat for _, lat in samples])})
    notes["highest_load_kept_pace"] = kept_pace or None
    return points, notes


def engine_rung(bootstrap: str, root: Path, items: Sequence[Item], events: int, decide: bool,
                latency_s: float, log_level: str = LOG_LEVEL, name: str | None = None,
                latency_rate: float | None = None) -> Rung:
    """Drain `events` pre-filled events with one worker, then measure latency at 50% and 80% load:
    of the rate it drained, or of `latency_rate` (the same paces for every tree of an A/B)."""
    name = name or ("4 full engine" if decide else "3 intake only")
    ns = prepare(bootstrap, root, re.sub(r"\W+", "-", name), items[:events])
    try:
        with Engine(ns, decide=decide, log_level=log_level) as engine:
            usage = drain_usage(engine)
            rung = Rung(name, ("validate, de-duplicate, decide with the default rules, send outputs"
                               if decide else "validate, de-duplicate, append to the timeline")
                        + f"; HAZARD_LOG_LEVEL={log_level}", events, usage)
            if latency_s > 0:
                rung.latency, rung.notes = latency_points(engine, items[events:],
                                                          latency_rate or rung.events_per_s, latency_s)
        return rung
    finally:
        asyncio.run(ns.delete_topics())


def run(bootstrap: str, root: Path, items: Sequence[Item], raw_events: int, intake_events: int,
        full_events: int, latency_s: float, info_rung: bool,
        say: Callable[[str], None] = print) -> list[Rung]:
    """Every rung of the ladder, in order; a rung that cannot run is left out with a message."""
    rungs: list[Rung] = []
    say(f"rungs 1-2: pre-filling {raw_events} events")
    ns = prepare(bootstrap, root, "raw", items[:raw_events])
    try:
        for rung in (kcat_rung, aiokafka_rung):
            try:
                rungs.append(rung(bootstrap, ns.prefix, raw_events))
                say(f"  {rungs[-1].name}: {rungs[-1].events_per_s:,.0f} events/s")
            except (FileNotFoundError, RuntimeError) as err:
                say(f"  {rung.__name__} skipped: {err}")
    finally:
        asyncio.run(ns.delete_topics())
    for decide, events in ((False, intake_events), (True, full_events)):
        say(f"rung {4 if decide else 3}: {events} events, then latency at "
            f"{', '.join(f'{x:.0%}' for x in LOADS)} for {latency_s:.0f} s each")
        rungs.append(engine_rung(bootstrap, root, items, events, decide, latency_s))
        say(f"  {rungs[-1].name}: {rungs[-1].events_per_s:,.0f} events/s")
    if info_rung:
        say(f"rung 4 with HAZARD_LOG_LEVEL=info: {full_events} events, rate only")
        rungs.append(engine_rung(bootstrap, root, items, full_events, True, 0, "info",
                                 "4i full, info logs"))
        say(f"  {rungs[-1].name}: {rungs[-1].events_per_s:,.0f} events/s")
    return rungs
