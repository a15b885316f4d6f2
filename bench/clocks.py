"""Clocks at scale: a million open hazards in one worker: its memory, timer lag, and recovery after SIGKILL.

The benchmark issue asks, for 1,000,000 open hazards with deadlines spread over
time in one worker, for the RSS per open hazard (goal: at most 2 KB), the timer
lag while deadlines fall due steadily (goal: p99 at most 1 s), and the time to
recover after the worker is SIGKILLed (goal: at most 60 s).

**Loading.** Intake takes about 900 records/s, so the states are built with the
pure core and produced straight into the hazard table's changelog
(`<app_id>-hazards-changelog`), keyed by hazard id and placed by the producer's
default murmur2 partitioner, where the worker itself would have written them.
Every hazard is a general hazard (一般事故隐患) reported by a grid worker and
confirmed before the simulated start, with a rectification date (rectify_by).
Its clocks are the overdue ladder (blue 2 days before the date, yellow on it,
orange 3 and red 7 days after, the overhaul proposal 14 days after): five
clocks, each sending an escalation or an enforcement proposal when it runs
out. A general hazard is never listed (挂牌督办 is for major hazards).

**Spreading.** `per_day` hazards have their date on each simulated day of a
steady stretch that starts `lead_days` days before the start (those hazards are
part-way up the ladder: the core itself brings them to the start) and lasts
past the end of the run; so on every simulated day `FIRINGS_PER_HAZARD * per_day` clocks fall
due, as in a district at steady state. The other hazards have dates a year
after the stretch, spread over a year: open, indexed and held in memory, but
not due during the run. Every ladder clock runs out at 23:59:59 of a day, so
the worker's scaled clock runs one simulated day per `seconds_per_day` real
seconds: a batch of `FIRINGS_PER_HAZARD * per_day` clocks falls due that often, which at a
quarter of a second is close to a steady flow.

**Timer lag** (see `firings`): for each clock that ran out, the real seconds
between the real instant the scaled clock reached its due time and the Kafka
timestamp (CreateTime, set by the worker's producer) of the first escalation it
caused. An escalation's `time` is the due time of the clock that caused it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import json
import math
import random
import re
import shutil
import tempfile
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition

from bench.proc import Sampler, tree_rss_bytes
from engine.clocks import ScaledTime
from engine.contract.envelope import EVENT_TYPES
from engine.contract.outputs import ESCALATIONS
from engine.decide.clocks import derive
from engine.decide.core import CLOCK_TYPE
from engine.decide.lifecycle import epoch
from engine.decide.replay import Replay
from engine.decide.state import Hazard
from engine.feeds.index import hazard_place
from engine.harness import READY, Namespace, Worker, produce, read_all
from engine.intake.process import TIMELINE, Record, decide_intake
from engine.kernel.copies import fingerprint
from engine.kernel.targets import lead_department
from engine.kernel.time import iso
from engine.metrics import HazardGauges
from engine.ruleset import Rules, load_rules
from engine.ruleset.calendar import SHANGHAI, WorkCalendar
from engine.settings import REPO_ROOT
from engine.simulate import PROBLEMS, SECTORS, TOWNS, make_uscc
from engine.store import pack
from engine.tools.kafka import partitions_of, reader

DAY = 86400
START = datetime(2026, 1, 5, tzinfo=SHANGHAI)  # the simulated start: a Monday, at midnight
SECONDS_PER_DAY = 0.25  # real seconds per simulated day
QUICK_HAZARDS = 50_000
FIRINGS_PER_HAZARD = 5  # blue, yellow, orange, red (with the fine proposal), overhaul
REPORTED_BY, VERIFIED_BY = "/apps/grid/bench", "/apps/office/bench"
TOWN_IDS = sorted(TOWNS)
ENTERPRISES = tuple((uscc, f"Enterprise {i} Co., Ltd.")
                    for i, uscc in enumerate(make_uscc(random.Random(11)) for _ in range(60)))


# --- the workload: which hazards, with which dates -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Workload:
    """How many hazards, how their rectification dates are spread, and how fast simulated time runs."""

    hazards: int
    per_day: int = 2  # 40 clocks due per real second: the worker sends about 100 at most (measured)
    steady_days: int = 2000
    lead_days: int = 15  # a hazard dated earlier has run out of clocks by the start (unit-tested)
    seconds_per_day: float = SECONDS_PER_DAY
    bulk_gap_days: int = 365
    bulk_days: int = 365
    start: datetime = START
    burst: int = 0  # hazards dated `burst_day`, the first ones (`run_burst`)
    burst_day: int = 0

    def __post_init__(self) -> None:
        if self.hazards <= self.burst + self.steady:
            raise ValueError(f"{self.hazards} hazards: the burst and the steady stretch alone need "
                             f"{self.burst + self.steady}")

    @property
    def steady(self) -> int:
        """How many hazards are dated in the steady stretch (the first ones)."""
        return self.per_day * (self.lead_days + self.steady_days)

    @property
    def rate(self) -> float:
        """Simulated seconds per real second."""
        return DAY / self.seconds_per_day

    @property
    def due_rate(self) -> float:
        """Clocks falling due per real second, by design, during the steady stretch."""
        return FIRINGS_PER_HAZARD * self.per_day / self.seconds_per_day

    def day_of(self, i: int) -> int:
        """The rectification date of hazard `i`, in days after the start's date."""
        if i < self.burst:
            return self.burst_day
        i -= self.burst
        if i < self.steady:
            return i // self.per_day - self.lead_days
        bulk = self.hazards - self.burst - self.steady
        return self.steady_days + self.bulk_gap_days + (i - self.steady) * self.bulk_days // bulk

    def clock(self, anchor: float) -> ScaledTime:
        """The worker's scaled clock: the simulated start at real instant `anchor`."""
        return ScaledTime(self.start.timestamp(), anchor, self.rate)

    def env(self, anchor: float, tick_s: float) -> dict[str, str]:
        """The worker settings that run this clock."""
        return {"HAZARD_CLOCK_START": self.start.isoformat(), "HAZARD_CLOCK_ANCHOR": str(anchor),
                "HAZARD_CLOCK_RATE": str(self.rate), "HAZARD_TICK_S": str(tick_s)}


@dataclass(frozen=True, slots=True)
class Spec:
    """One hazard of the workload: where, what, when it was reported and confirmed, and its date."""

    id: str
    reported_at: int
    verified_at: int
    rectify_by: int  # 23:59:59 of the rectification date, as `epoch` reads a date
    town: str
    grid: str
    sector: str
    enterprise: tuple[str, str]

    @property
    def report_id(self) -> str:
        """The event id of the grid worker's report."""
        return f"{self.id}/reported"

    @property
    def verify_id(self) -> str:
        """The event id of the confirmation."""
        return f"{self.id}/verified"

    @property
    def rectify_date(self) -> str:
        """The rectification date as the report gives it (YYYY-MM-DD)."""
        return datetime.fromtimestamp(self.rectify_by, SHANGHAI).date().isoformat()


def spec(w: Workload, i: int) -> Spec:
    """Hazard `i`: confirmed 7 days before its date, or the day before the start if that is earlier."""
    # Whole days in epoch seconds: Asia/Shanghai has had no daylight saving time since 1991.
    midnight = int(w.start.timestamp())
    day = w.day_of(i)
    verified = midnight + min(day - 7, -1) * DAY + 10 * 3600 + (i * 7 % 360) * 60
    town = TOWN_IDS[i % len(TOWN_IDS)]
    return Spec(id=f"HZ-B{i:07d}", reported_at=verified - DAY - 3600, verified_at=verified,
                rectify_by=midnight + (day + 1) * DAY - 1, town=town,
                grid=TOWNS[town][i // len(TOWN_IDS) % len(TOWNS[town])],
                sector=SECTORS[i % len(SECTORS)], enterprise=ENTERPRISES[i % len(ENTERPRISES)])


def _entry(type_: str, at: int, data: dict[str, Any], subject: str, event_id: str, source: str,
           rules: Rules) -> dict[str, Any]:
    """One field event made into its timeline entry by the real intake."""
    topic = EVENT_TYPES[type_].topic
    event = {"specversion": "1.0", "id": event_id, "source": source, "type": type_, "time": iso(at),
             "subject": subject, "data": data}
    outcome = decide_intake(Record(topic, 0, 0, None, json.dumps(event).encode(), 0), {}.get,
                            rules.reference, contract_topic=topic)
    if outcome.kind != "accepted":
        raise ValueError(f"the benchmark's own {type_} was not accepted: {outcome.reasons}")
    return json.loads(outcome.sends[0].value)


_REPORTED, _VERIFIED = "safety.hazard.reported", "safety.hazard.verified"


def _sent(s: Spec) -> tuple[dict[str, Any], dict[str, Any]]:
    """The data of the hazard's report and confirmation, as the field apps send them."""
    report = {"hazard_id": s.id, "title": PROBLEMS[s.sector], "description": PROBLEMS[s.sector],
              "sector": s.sector, "grade_claimed": "general", "found_via": "grid_patrol",
              "location": {"town": s.town, "grid": s.grid},
              "enterprise": {"uscc": s.enterprise[0], "name": s.enterprise[1]},
              "reporter": {"id": "insp-1", "role": "inspector"},  # an inspector's date is the deadline
              "rectify_by": s.rectify_date}
    verify = {"hazard_id": s.id, "verdict": "confirmed", "grade": "general",
              "by": {"id": "sup-1", "role": "supervisor"}}
    return report, verify


def entries(s: Spec, rules: Rules) -> list[dict[str, Any]]:
    """The hazard's report and confirmation, as timeline entries."""
    report, verify = _sent(s)
    return [_entry(_REPORTED, s.reported_at, report, s.id, s.report_id, REPORTED_BY, rules),
            _entry(_VERIFIED, s.verified_at, verify, s.id, s.verify_id, VERIFIED_BY, rules)]


def _seen(s: Spec) -> list[int]:
    """The fingerprints the core keeps of the two records (engine/kernel/copies.py): of their data
    as the intake completes it, the fields they leave out at their defaults."""
    report, verify = _sent(s)
    report = {**report, "location": {"community": None, "address": None, "lat": None, "lon": None,
                                     **report["location"]},
              "reporter": {**report["reporter"], "name": None, "anonymous": False}, "evidence": []}
    verify = {**verify, "duplicate_of": None, "lead_department": None,
              "by": {**verify["by"], "name": None, "anonymous": False}}
    return [fingerprint({"type": _REPORTED, "data": report}, s.reported_at),
            fingerprint({"type": _VERIFIED, "data": verify}, s.verified_at)]


def core_state(s: Spec, rules: Rules, at: int) -> Hazard:
    """The hazard's state at `at`, from its entries run through the pure core (clocks fired on the way)."""
    replay = Replay(rules)
    for entry in entries(s, rules):
        replay.feed(entry)
    replay.advance_to(at)
    return replay.states[s.id]


# The source records the two entries came from (engine/kernel/state.py `remember`): `_entry` puts
# each at offset 0 of partition 0 of its event's topic.
_SOURCES = [f"{EVENT_TYPES[t].topic}/0" for t in (_REPORTED, _VERIFIED)]


def fast_state(s: Spec, rules: Rules) -> Hazard:
    """The state `core_state` gives before any clock has run out, built directly (about 20 times faster)."""
    h = Hazard(
        id=s.id, opened=s.report_id, opened_at=s.reported_at, origin="report", title=PROBLEMS[s.sector],
        sector=s.sector, town=s.town, enterprise=list(s.enterprise), claimed="general",
        rectify_by=s.rectify_by, verdict="confirmed", grade="general", verified_at=s.verified_at,
        confirmed_by=s.verify_id, cycle_start=s.verified_at, deadline=s.rectify_by,
        applied_from={key: {"starts": [0], "ends": [1]} for key in _SOURCES},
        history=[[s.reported_at, s.report_id, "reported (general) via grid_patrol"],
                 [s.verified_at, s.verify_id, "verified: confirmed (general)"]],
        seen=_seen(s), watermark=s.verified_at)
    h.clocks = derive(h, rules)
    return h


def state(w: Workload, i: int, rules: Rules) -> Hazard:
    """Hazard `i` as it stands at the simulated start."""
    s = spec(w, i)
    h = fast_state(s, rules)
    start = int(w.start.timestamp())
    due = h.next_due()
    return core_state(s, rules, start) if due is not None and due <= start else h


def table_records(w: Workload, rules: Rules, begin: int = 0, end: int | None = None
                  ) -> Iterator[tuple[bytes, bytes]]:
    """Hazards `begin` to `end` as the worker keeps them: key and `pack`ed value, as in its changelog.

    The header carries the gauges' view and the feeds' place of the hazard, as the worker writes them.
    """
    gauges = HazardGauges(lambda h: lead_department(h, rules), time.time)
    for i in range(begin, w.hazards if end is None else end):
        h = state(w, i, rules)
        place = hazard_place(h, lead_department(h, rules))
        yield h.id.encode(), pack(h, gauges.view(h).encode(rules.version), place.encode(rules.version))


@functools.cache
def district_rules() -> Rules:
    """The repository's rules, loaded once per process, without the clock of each enforcement
    proposal's due time (`proposal_due`) and with no last day of a period moved off a rest day
    (`periods.rest_day_moves_last_day: false`): both fall due on working days, a varying number a
    day, and this benchmark holds the ladder's five clocks a hazard, the same number due every
    day. Counting them costs the same either way (a cached due time per start day)."""
    rules = load_rules(REPO_ROOT / "rules")
    return dataclasses.replace(rules, proposal_due=None, calendar=WorkCalendar(rules.reference.notices))


def worker_rules(workdir: Path) -> Path:
    """A copy of the repository's rules in `workdir` as `district_rules` reads them (no
    `proposal_due` section, no last day moved), for the workers' HAZARD_RULES_DIR."""
    dest = workdir / "rules"
    shutil.copytree(REPO_ROOT / "rules", dest, dirs_exist_ok=True)
    hazards = dest / "hazards.yaml"
    text = re.sub(r"^proposal_due:\n(?:[ #].*\n|\n)*", "", hazards.read_text(), flags=re.M)
    moved, kept = "\n  rest_day_moves_last_day: true\n", "\n  rest_day_moves_last_day: false\n"
    hazards.write_text(text.replace(moved, kept))
    return dest


def _chunk(w: Workload, begin: int, end: int) -> list[tuple[bytes, bytes]]:
    return list(table_records(w, district_rules(), begin, end))  # in a pool process


def table_chunks(w: Workload, size: int = 50_000, processes: int = 2) -> Iterator[list[tuple[bytes, bytes]]]:
    """Every hazard's table record, in chunks of `size`, in order, built by `processes` processes.

    Building a state takes about as long as producing it; in other processes
    it overlaps with the producing.
    """
    with ProcessPoolExecutor(processes) as pool:
        pending: deque[Future[list[tuple[bytes, bytes]]]] = deque()
        for begin in range(0, w.hazards, size):
            pending.append(pool.submit(_chunk, w, begin, min(begin + size, w.hazards)))
            if len(pending) > processes:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def expected_escalations(w: Workload, rules: Rules, until: int) -> dict[str, tuple[str, int]]:
    """Every escalation the pure core sends from the start up to `until`: id -> (hazard, due time)."""
    # The first clock (blue) runs out before the date: hazards dated a little after `until` count too.
    last_day = math.ceil((until - w.start.timestamp()) / DAY) + max(0, -rules.ladder[0].at.n)
    replay = Replay(rules)
    for i in range(w.hazards):  # hazards come in date order, after the burst's
        if w.day_of(i) > last_day:
            if i < w.burst:
                continue
            break
        h = state(w, i, rules)
        replay.states[h.id] = h
        replay.index.set(h.id, h.next_due())
    replay.advance_to(until)
    return {o.id: (o.key, epoch(o.event["time"])) for _, o in replay.outputs if o.topic == ESCALATIONS}


# --- lag, from the escalations' timestamps --------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0 to 100) by the nearest-rank method; None when there are no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True, slots=True)
class Firing:
    """One clock that ran out: its hazard, due time, when its first escalation was sent, and the lag."""

    subject: str
    due: int
    sent: float
    lag: float


def firings(escalations: Iterable[tuple[dict[str, Any], int]], clock: ScaledTime) -> list[Firing]:
    """Group escalations (CloudEvent, Kafka timestamp in ms) by the clock that caused them.

    A clock is its hazard and its due time (the escalation's `time`). Its lag is
    the real seconds from `clock.real_time_of(due)`, when the worker's scaled
    clock reached the due time, to the earliest timestamp among its escalations;
    a copy sent again after a crash does not count.
    """
    first: dict[tuple[str, int], float] = {}
    for event, timestamp_ms in escalations:
        key = (event["subject"], epoch(event["time"]))
        first[key] = min(first.get(key, math.inf), timestamp_ms / 1000)
    return sorted((Firing(subject, due, sent, sent - clock.real_time_of(due))
                   for (subject, due), sent in first.items()), key=lambda f: (f.due, f.subject))


def lag_summary(fired: Iterable[Firing]) -> dict[str, Any]:
    """p50, p99 and the largest lag, in real seconds, and how many clocks they cover."""
    lags = [f.lag for f in fired]
    return {"p50_s": _round(percentile(lags, 50)), "p99_s": _round(percentile(lags, 99)),
            "max_s": _round(max(lags, default=None)), "clocks": len(lags)}


def caught_up_at(fired: Iterable[Firing], since: float, threshold: float) -> float | None:
    """When the worker had caught up after `since`: the first escalation sent on time after the last late one.

    On time means a lag of at most `threshold` seconds. None if the run ended
    before an escalation was on time again.
    """
    after = sorted((f for f in fired if f.sent >= since), key=lambda f: f.sent)
    late = [i for i, f in enumerate(after) if f.lag > threshold]
    if not late:
        return after[0].sent if after else None
    return after[late[-1] + 1].sent if late[-1] + 1 < len(after) else None


def _round(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)


# --- the worker's log -----------------------------------------------------------------------------

MARKS = {"broker_ready": '"broker_ready"', "assigned": '"partitions_assigned"',
         "rebuilt": '"deadline_index_rebuilt"', "ready": READY}


def log_marks(text: str) -> dict[str, Any]:
    """When each step of a worker's start was logged (epoch seconds), and the hazard index rebuild."""
    marks: dict[str, Any] = {}
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        for name, needle in MARKS.items():
            if name in marks or needle not in line:
                continue
            record = json.loads(line)
            if name == "rebuilt":
                if record.get("kind") != "hazard":
                    continue
                marks["rebuild"] = {"seconds": record["seconds"], "subjects": record["subjects"]}
            marks[name] = datetime.fromisoformat(record["timestamp"]).timestamp()
    return marks


def start_phases(spawned: float, marks: dict[str, Any]) -> dict[str, float | None]:
    """Where a worker's start went, from its spawning: imports and topic checks, joining the group,
    reading the changelog, rebuilding the deadline index (and the gauges), the rest until ready."""

    def span(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(b - a, 2)

    rebuild = marks.get("rebuild", {}).get("seconds")
    rebuild_began = marks["rebuilt"] - rebuild if rebuild is not None and "rebuilt" in marks else None
    return {"startup_s": span(spawned, marks.get("broker_ready")),
            "join_s": span(marks.get("broker_ready"), marks.get("assigned")),
            "changelog_read_s": span(marks.get("assigned"), rebuild_began),
            "index_rebuild_s": rebuild,
            "until_ready_s": span(marks.get("rebuilt"), marks.get("ready")),
            "ready_s": span(spawned, marks.get("ready"))}


# --- the broker -----------------------------------------------------------------------------------


async def load_changelog(bootstrap: str, topic: str, chunks: Iterable[list[tuple[bytes, bytes]]]
                         ) -> dict[str, float]:
    """Produce table records into the changelog; return counts, and how long producing waited for them."""
    count = size = 0
    waiting = 0.0
    began = time.perf_counter()
    chunks = iter(chunks)
    while True:
        t = time.perf_counter()
        batch = next(chunks, None)
        waiting += time.perf_counter() - t
        if batch is None:
            break
        await produce(bootstrap, topic, batch)  # type: ignore[arg-type]
        count += len(batch)
        size += sum(len(k) + len(v) for k, v in batch)
    return {"records": count, "bytes": size, "build_wait_s": round(waiting, 2),
            "seconds": round(time.perf_counter() - began, 2)}


async def read_now(bootstrap: str, topic: str, last: int | None = None) -> list[Any]:
    """A topic's records up to its end as of now: all, or the last `last` of each partition.

    Unlike `read_all`, it does not wait for the topic to go quiet, so it reads
    while the worker goes on writing.
    """
    consumer = reader(bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(consumer, topic)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        first = {tp: starts[tp] if last is None else max(starts[tp], ends[tp] - last) for tp in tps}
        for tp in tps:
            consumer.seek(tp, first[tp])
        out: list[Any] = []
        pending = {tp for tp in tps if first[tp] < ends[tp]}
        deadline = time.monotonic() + 600
        while pending and time.monotonic() < deadline:
            for tp, records in (await consumer.getmany(*pending, timeout_ms=200)).items():
                out += [r for r in records if r.offset < ends[tp]]
                if records and records[-1].offset >= ends[tp] - 1:
                    pending.discard(tp)
        return out
    finally:
        await consumer.stop()


def wait_caught_up(bootstrap: str, topic: str, clock: ScaledTime, since: float, threshold: float,
                   timeout: float) -> bool:
    """Wait until the latest escalation sent after `since` was on time (a lag within `threshold`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = asyncio.run(read_now(bootstrap, topic, last=50))
        fired = [f for f in firings(((json.loads(r.value), r.timestamp) for r in records), clock)
                 if f.sent >= since]
        if fired and max(fired, key=lambda f: f.sent).lag <= threshold:
            return True
        time.sleep(2)
    return False


# --- the run --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phases:
    """How long each part of the run lasts, in real seconds."""

    settle_s: float = 5.0  # after "Worker ready", before RSS is read
    warmup_s: float = 10.0  # after the clock starts (or the worker is ready), before lag counts
    measure_s: float = 120.0  # lag is measured over clocks due in this long a window
    kill_after_s: float = 5.0  # the SIGKILL comes this long after the window
    after_s: float = 30.0  # watched after catching up, for the lag after recovery
    catch_up_timeout_s: float = 600.0
    tick_s: float = 0.1  # HAZARD_TICK_S: the timer's period

    @classmethod
    def quick(cls) -> Phases:
        """Short phases for a development run."""
        return cls(settle_s=3.0, warmup_s=5.0, measure_s=25.0, after_s=10.0, catch_up_timeout_s=120.0)

    @staticmethod
    def ready_estimate(hazards: int) -> float:
        """A generous guess of how long a worker takes to recover `hazards` states."""
        return 15 + hazards * 300e-6  # measured with Faust: about 4,000 states/s here

    def span_s(self, hazards: int) -> float:
        """The longest the scaled clock can run in one run: the steady stretch must last that long."""
        return (2 * (self.ready_estimate(hazards) + self.catch_up_timeout_s) + self.warmup_s
                + self.measure_s + self.kill_after_s + self.after_s + 60)  # 60: reading the topics


def _sleep_until(t: float) -> None:
    time.sleep(max(0.0, t - time.time()))


def _ready(worker: Worker, hazards: int) -> dict[str, Any]:
    """Wait for the worker to be ready; return the marks of its start."""
    worker.wait_for(READY, timeout=max(300.0, 4 * Phases.ready_estimate(hazards)))
    return log_marks(worker.log_text())


def _events(records: Iterable[Any]) -> list[tuple[dict[str, Any], int]]:
    """Decoded values with their Kafka timestamps (ms)."""
    return [(json.loads(r.value), r.timestamp) for r in records]


def run(bootstrap: str, workdir: Path, hazards: int = 1_000_000, quick: bool = False,
        store: str = "memory") -> dict[str, Any]:
    """Load `hazards` open hazards into one worker; measure memory, timer lag and recovery after SIGKILL.

    `quick` caps the hazards at 50,000 and shortens every phase. `store` is the
    worker's HAZARD_STORE: memory reads the whole changelog at every start,
    rocksdb only what it gained since the worker's last write to local disk. The worker's
    log goes to `workdir/worker.log`, every clock's lag to `workdir/firings.csv`;
    the namespace's topics are deleted at the end.
    """
    phases = Phases.quick() if quick else Phases()
    hazards = min(hazards, QUICK_HAZARDS) if quick else hazards
    w = Workload(hazards, steady_days=math.ceil(phases.span_s(hazards) / SECONDS_PER_DAY) + 10)
    rules = district_rules()
    workdir.mkdir(parents=True, exist_ok=True)
    rules_dir = worker_rules(workdir)
    ns = Namespace(bootstrap, workdir)
    escalations = ns.topic(ESCALATIONS)
    log = workdir / "worker.log"
    worker: Worker | None = None
    out: dict[str, Any] = {"hazards": hazards}
    try:
        # A worker with an empty table creates the topics and gives the baseline RSS.
        worker = Worker(ns.env(**w.env(time.time(), phases.tick_s), HAZARD_STORE=store,
                                  HAZARD_RULES_DIR=str(rules_dir)), log).start()
        _ready(worker, 0)
        time.sleep(phases.settle_s)
        out["rss_bytes_baseline"] = tree_rss_bytes(worker.proc.pid)
        worker.stop()

        loaded = asyncio.run(load_changelog(bootstrap, f"{ns.name}-hazards-changelog", table_chunks(w)))

        # The loaded worker. Its clock starts when it should be ready, so the lag starts clean;
        # if it is ready later, the window opens once it has caught up.
        spawned = time.time()
        anchor = spawned + Phases.ready_estimate(hazards)
        clock = w.clock(anchor)
        worker = Worker(ns.env(**w.env(anchor, phases.tick_s), HAZARD_STORE=store,
                                  HAZARD_RULES_DIR=str(rules_dir)), log).start()
        with Sampler(worker.proc.pid) as sampler:
            marks = _ready(worker, hazards)
            time.sleep(phases.settle_s)
            out["rss_bytes_loaded"] = tree_rss_bytes(worker.proc.pid)
            _sleep_until(anchor)
            out["on_time_before_window"] = wait_caught_up(bootstrap, escalations, clock, anchor, 1.0,
                                                          phases.catch_up_timeout_s)
            begin = time.time() + phases.warmup_s
            window = (begin, begin + phases.measure_s)
            _sleep_until(window[1] + phases.kill_after_s)
        killing = time.time()
        steady = [f for f in firings(_events(asyncio.run(read_now(bootstrap, escalations))), clock)
                  if window[0] <= clock.real_time_of(f.due) < window[1] and f.sent < killing]
        # On time again after the kill: within the goal of 1 s, or twice the steady p99 if worse.
        threshold = max(1.0, 2 * (percentile([f.lag for f in steady], 99) or 0.0))

        # SIGKILL mid-stream; the restarted worker must catch up with what fell due meanwhile.
        worker.kill()
        killed = time.time()
        worker.start()
        restarted = time.time()
        again = _ready(worker, hazards)
        caught = wait_caught_up(bootstrap, escalations, clock, restarted, threshold,
                                phases.catch_up_timeout_s)
        time.sleep(phases.after_s)
        out["rss_bytes_after_restart"] = tree_rss_bytes(worker.proc.pid)
        worker.stop()
        stopped, until = time.time(), int(clock.now())  # once stopped: it fires clocks until then

        events = _events(asyncio.run(read_all(bootstrap, escalations, settle=3, timeout=600)))
        timeline = _events(asyncio.run(read_all(bootstrap, ns.topic(TIMELINE), settle=3, timeout=600)))
        recovery = start_phases(spawned, marks)
        out.update(
            rss_bytes_peak=sampler.peak_rss,
            rss_per_hazard_bytes=round((out["rss_bytes_loaded"] - out["rss_bytes_baseline"]) / hazards),
            state_bytes_avg=round(loaded["bytes"] / loaded["records"]), changelog_bytes=loaded["bytes"],
            load_seconds=loaded["seconds"], load_waiting_for_build_s=loaded["build_wait_s"],
            recovery_ready_s=recovery["ready_s"], index_rebuild_s=recovery["index_rebuild_s"],
            index_rebuild_subjects=marks.get("rebuild", {}).get("subjects"), recovery_phases=recovery,
            clock_started_after_ready_s=round(anchor - marks["ready"], 2))
        out.update(_figures(w, rules, clock, events, timeline, window, killed, restarted, stopped, until,
                            threshold, caught, start_phases(restarted, again)))
        _write_firings(workdir / "firings.csv", firings(events, clock), clock)
        stretch_ends = clock.real_time_of(w.start.timestamp() + w.steady_days * DAY)
        out["settings"] = {"store": store, "tick_s": phases.tick_s, "seconds_per_day": w.seconds_per_day,
                           "clock_rate": w.rate, "hazards_dated_per_day": w.per_day,
                           "steady_hazards": w.steady, "measure_s": phases.measure_s,
                           "caught_up_lag_s": round(threshold, 3),
                           "steady_stretch_outlasted_run_s": round(stretch_ends - stopped, 1)}
        out["notes"] = NOTES
        return out
    finally:
        if worker is not None:
            worker.stop()
        asyncio.run(ns.delete_topics())


BURST = 13_700  # a million hazards dated over a year: the clocks that run out at one midnight
BURST_SECONDS_PER_DAY = 20.0  # the burst's blue clocks, then its yellow ones two days (40 s) later


def run_burst(bootstrap: str, workdir: Path, hazards: int = 1_000_000, burst: int = BURST,
              store: str = "rocksdb", timeout_s: float = 120.0) -> dict[str, Any]:
    """`burst` of `hazards` open hazards have a clock that runs out at the same instant: how long until
    every one has escalated.

    The burst's hazards share one rectification date, so their first clocks (the
    blue step, before the date) all run out at 23:59:59 of one simulated day,
    about 40 real seconds after the worker should be ready; the rest are the
    steady stretch (a clock every 2 s) and the bulk, as in `run`. Simulated time
    runs a day per 20 real seconds, so the burst's next step is 40 s away. The
    figures: from the instant the worker's clock reached the due time to the
    first and the last escalation of the burst (Kafka timestamps), and when the
    timer put the clocks on the timeline; each hazard of the burst must
    escalate exactly once for that clock.
    """
    rules = district_rules()
    first_step = -rules.ladder[0].at.n  # days before the date the first step runs out (blue: 2)
    ready_s = 30 + hazards * 60e-6  # a first start from the changelog: 34-38 s for a million (measured)
    rate = DAY / BURST_SECONDS_PER_DAY
    # The burst's due time, 23:59:59 of its day, 20 to 40 real seconds after the anchor.
    burst_day = math.ceil(20 * rate / DAY) + first_step
    w = Workload(hazards, per_day=1, steady_days=math.ceil((ready_s + timeout_s + 300) * rate / DAY),
                 seconds_per_day=BURST_SECONDS_PER_DAY, burst=burst, burst_day=burst_day)
    probe = state(w, 0, rules)
    due = probe.next_due()
    assert due is not None and all(state(w, i, rules).next_due() == due for i in (1, burst - 1))
    ids = {spec(w, i).id for i in range(burst)}
    workdir.mkdir(parents=True, exist_ok=True)
    rules_dir = worker_rules(workdir)
    ns = Namespace(bootstrap, workdir)
    escalations = ns.topic(ESCALATIONS)
    worker: Worker | None = None
    try:
        # A worker with an empty table creates the topics.
        worker = Worker(ns.env(**w.env(time.time(), 0.1), HAZARD_STORE=store,
                                  HAZARD_RULES_DIR=str(rules_dir)), workdir / "worker.log").start()
        _ready(worker, 0)
        worker.stop()
        loaded = asyncio.run(load_changelog(bootstrap, f"{ns.name}-hazards-changelog", table_chunks(w)))
        spawned = time.time()
        anchor = spawned + ready_s
        clock = w.clock(anchor)
        due_real = clock.real_time_of(due)
        worker = Worker(ns.env(**w.env(anchor, 0.1), HAZARD_STORE=store,
                                  HAZARD_RULES_DIR=str(rules_dir)), workdir / "worker.log").start()
        marks = _ready(worker, hazards)
        if marks["ready"] > due_real - 5:
            raise RuntimeError(f"the worker was ready {marks['ready'] - due_real:+.1f} s from the burst: "
                               "raise Phases.ready_estimate")
        deadline = due_real + timeout_s
        got: dict[str, float] = {}
        while time.time() < deadline and len(got) < burst:
            time.sleep(2)
            for event, ts in _events(asyncio.run(read_now(bootstrap, escalations))):
                if event["subject"] in ids and epoch(event["time"]) == due:
                    got[event["subject"]] = min(got.get(event["subject"], math.inf), ts / 1000)
        worker.stop()
        events = [(e, ts) for e, ts in _events(asyncio.run(read_now(bootstrap, escalations)))
                  if e["subject"] in ids and epoch(e["time"]) == due]
        timeline = _clock_entries(_events(asyncio.run(read_now(bootstrap, ns.topic(TIMELINE)))))
        entered = sorted(t for (subject, at), t in timeline.items() if at == due and subject in ids)
        sent = sorted(got.values())
        return {
            "hazards": hazards, "burst": burst, "due": iso(due),
            "escalated": len(got), "escalations_sent": len(events),
            "sent_twice": len(events) - len({e["id"] for e, _ in events}),
            "on_timeline_first_s": _round(entered[0] - due_real) if entered else None,
            "on_timeline_last_s": _round(entered[-1] - due_real) if entered else None,
            "first_escalation_s": _round(sent[0] - due_real) if sent else None,
            "cleared_s": _round(sent[-1] - due_real) if len(sent) == burst else None,
            "clocks_per_s": round(burst / (sent[-1] - sent[0]), 1) if len(sent) == burst else None,
            "ready_s": round(marks["ready"] - spawned, 2), "load_seconds": loaded["seconds"],
            "settings": {"store": store, "tick_s": 0.1, "seconds_per_day": w.seconds_per_day,
                         "burst_day": burst_day, "timeout_s": timeout_s},
        }
    finally:
        if worker is not None:
            worker.stop()
        asyncio.run(ns.delete_topics())


def _write_firings(path: Path, fired: list[Firing], clock: ScaledTime) -> None:
    """Every clock that ran out, one line each, to look at the lag over time."""
    with path.open("w") as f:
        f.write("hazard,due,due_real,sent,lag_s\n")
        f.writelines(f"{x.subject},{x.due},{clock.real_time_of(x.due):.3f},{x.sent:.3f},{x.lag:.3f}\n"
                     for x in fired)


def _clock_entries(timeline: Iterable[tuple[dict[str, Any], int]]) -> dict[tuple[str, int], float]:
    """When the timer first sent each clock's "deadline reached" entry: (hazard, due) -> epoch s."""
    sent: dict[tuple[str, int], float] = {}
    for entry, timestamp_ms in timeline:
        if entry.get("type") == CLOCK_TYPE:
            key = (entry["subject"], entry["data"]["due"])
            sent[key] = min(sent.get(key, math.inf), timestamp_ms / 1000)
    return sent


def _figures(w: Workload, rules: Rules, clock: ScaledTime, events: list[tuple[dict[str, Any], int]],
             timeline: list[tuple[dict[str, Any], int]], window: tuple[float, float], killed: float,
             restarted: float, stopped: float, until: int, threshold: float, caught: bool,
             phases: dict[str, float | None]) -> dict[str, Any]:
    """Lag, due rate, recovery and correctness, from every escalation and timeline entry of the run."""
    # The reference replays the hazards; the annual plan's towns escalate too (plan_behind, a town
    # and month with no inspections), and are counted apart.
    others = [e for e, _ in events if e.get("data", {}).get("subject_kind", "hazard") != "hazard"]
    events = [(e, ts) for e, ts in events if e.get("data", {}).get("subject_kind", "hazard") == "hazard"]
    fired = firings(events, clock)
    in_window = [f for f in fired if window[0] <= clock.real_time_of(f.due) < window[1]]
    steady = [f for f in in_window if f.sent < killed]
    lag = lag_summary(steady)
    entered = _clock_entries(timeline)
    timer = [entered[(f.subject, f.due)] - clock.real_time_of(f.due) for f in steady
             if (f.subject, f.due) in entered]
    decided = [f.sent - entered[(f.subject, f.due)] for f in steady if (f.subject, f.due) in entered]
    after = caught_up_at(fired, restarted, threshold) if caught else None
    settled = [f for f in fired if after is not None and clock.real_time_of(f.due) >= after]
    backlog = [f for f in fired if after is not None and restarted <= f.sent <= after]
    expected = expected_escalations(w, rules, until)
    seen = {e["id"] for e, _ in events}
    before_kill = {e["id"] for e, ts in events if ts / 1000 < killed}
    since_restart = sorted((ts / 1000, e["id"]) for e, ts in events if ts / 1000 >= restarted)
    correct = [t for t, i in since_restart if i in expected]
    new = [t for t, i in since_restart if i in expected and i not in before_kill]
    missing = [i for i, (_, due) in expected.items()
               if i not in seen and clock.real_time_of(due) < stopped - 10]
    catch_up_s = after - backlog[0].sent if backlog and after is not None else 0.0
    return {
        "timer_lag_p50_s": lag["p50_s"], "timer_lag_p99_s": lag["p99_s"], "timer_lag_max_s": lag["max_s"],
        "timer_lag_clocks": lag["clocks"], "timer_lag_unsent_at_kill": len(in_window) - len(steady),
        "timer_lag_parts": {"due_to_timeline_p50_s": _round(percentile(timer, 50)),
                            "due_to_timeline_p99_s": _round(percentile(timer, 99)),
                            "timeline_to_escalation_p50_s": _round(percentile(decided, 50)),
                            "timeline_to_escalation_p99_s": _round(percentile(decided, 99))},
        "due_rate_per_s": round(len(in_window) / (window[1] - window[0]), 1),
        "due_rate_design_per_s": w.due_rate,
        "recovery_after_kill": {
            "ready_s": phases["ready_s"],
            "first_escalation_s": _round(correct[0] - restarted, 2) if correct else None,
            "first_new_escalation_s": _round(new[0] - restarted, 2) if new else None,
            "caught_up_s": _round(after - restarted, 2) if after is not None else None,
            "down_s": round(restarted - killed, 2),
            "backlog_clocks": len(backlog),
            "catch_up_rate_per_s": round(len(backlog) / catch_up_s, 1) if catch_up_s > 0 else None,
            "phases": phases,
        },
        "timer_lag_after_recovery": lag_summary(settled),
        "escalations": {"sent": len(events), "distinct": len(seen), "expected": len(expected),
                        "of_other_subjects": dict(Counter(str(e["data"].get("action")) for e in others)),
                        "unexpected": len(seen - expected.keys()), "missing": len(missing),
                        "resent_after_kill": sum(1 for _, i in since_restart if i in before_kill)},
    }


NOTES = [
    "rss: process-tree RSS of the worker once it is ready and has settled, minus the same worker's "
    "RSS with an empty table; per hazard = that difference / hazards",
    "timer lag: per clock that ran out (hazard, due time), real seconds from the instant the scaled "
    "clock reached the due time to the Kafka timestamp of its first escalation; only clocks due "
    "in the measuring window, which ends before the kill",
    "due rate: clocks due per real second in the window; each clock is one decision with 1 to 3 "
    "outputs (9 outputs per 5 clocks)",
    "deadlines fall due in batches: the ladder's clocks all run out at 23:59:59, and a simulated "
    "day passes every seconds_per_day real seconds",
    "recovery_after_kill: from the restart (a new process, right after SIGKILL) to 'Worker ready', "
    "to the first escalation whose id the pure core also sends, and to the first on-time "
    "escalation after the last late one (caught_up_s; on time: a lag within settings.caught_up_lag_s, "
    "1 s or twice the steady p99 if that is more); catch_up_rate_per_s is the clocks escalated per "
    "second while catching up, the most the worker can do",
    "escalations: every id sent is checked against a crash-free run of the pure core (Replay) over "
    "the same states up to the instant the worker stopped; missing counts ids due more than 10 s "
    "before the stop that never came",
    "load: states built with the pure core (the first clocks of hazards dated before the start "
    "fired by Replay) and produced into the hazard changelog, bypassing intake",
]


def main() -> None:
    """`python -m bench.clocks [--quick] [--hazards N]`: run on the shared broker, print JSON."""
    from engine.broker.session import broker_session

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 hazards and short phases")
    parser.add_argument("--hazards", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, help="where the worker's log goes (default: a temp dir)")
    parser.add_argument("--store", choices=("memory", "rocksdb"), default="memory",
                        help="the worker's HAZARD_STORE")
    parser.add_argument("--burst", type=int, nargs="?", const=BURST,
                        help=f"only the burst: this many clocks due at once (default {BURST:,}) "
                             "among the hazards, how long until all have escalated (`run_burst`)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-clocks-"))
    with broker_session() as bootstrap:
        if args.burst:
            print(json.dumps(run_burst(bootstrap, workdir, args.hazards, args.burst, args.store), indent=2))
        else:
            print(json.dumps(run(bootstrap, workdir, args.hazards, args.quick, args.store), indent=2))


if __name__ == "__main__":
    main()
