"""The full accounting every fault case ends with, and the crash-free reference it compares to.

After a fault run, `observe` reads back from the broker what went in and what
came out. `account` then checks, and counts:

- every record on the intake topics is accepted, rejected or a duplicate,
  exactly once, and in the class the pure intake gives it; a null-key record
  away from its subject's partition is forwarded instead, and counts once, as
  the copy the engine sent to that partition;
- every hazard and alert ends in the state the reference gives it;
- the set of output ids equals the reference's set: none missing, none extra
  after de-duplication by id.

In a run whose clock goes on, a subject may instead end as the same events
timed by when they reached the broker give it, where a publisher held up on a
busy machine appended one after a deadline of its subject (`arrival_reference`,
`lawful`): the engine orders a record before a deadline only if it was on the
broker before it.

A case prints its row, `tests/conftest.py` prints the table of every
row at the end of the session, and each row is appended, as one JSON line, to
the file named by HAZARD_FAULTS_REPORT (if set).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.alerts import Alert, AlertRules
from engine.alerts.replay import AlertReplay
from engine.clocks.timesource import ScaledTime
from engine.contract.envelope import EVENT_TYPES, INTAKE_TOPICS
from engine.contract.outputs import OUTPUT_TOPICS as CONTRACT_OUTPUTS
from engine.decide.replay import Replay
from engine.harness import Namespace, Worker, publish_on_schedule, read_to_end, wait_drained
from engine.intake.process import (
    DUPLICATES,
    INTAKE_REJECTED,
    TIMELINE,
    Record,
    decide_intake,
    processing_failure,
)
from engine.ruleset import Rules
from engine.simulate import DAY, Planned
from engine.store import unpack
from engine.tools.kafka import partition_for_key, partitions_of, reader
from faults.poisoned_worker import Poison, PoisonForTests

# Every decision output of the contract (enforcement.actions included); rejections are judged apart.
OUTPUT_TOPICS = tuple(t for t in CONTRACT_OUTPUTS if t != "intake.rejected")


@dataclass
class Observed:
    """What a run left on the broker, read back after the worker went quiet."""

    intake: list[Any]  # records of the four intake topics
    timeline: list[Any]
    rejected: list[dict[str, Any]]
    duplicates: list[dict[str, Any]]
    output_ids: list[str]  # with repeats: one per output record read
    hazards: dict[str, Any]
    alerts: dict[str, Any]
    partitions: int = 1  # of each intake topic: where a subject's records belong


async def observe(ns: Namespace) -> Observed:
    """Read every topic a fault case is judged on, up to its end: the engine has drained."""
    async def topic(name: str) -> list[Any]:
        return await read_to_end(ns.bootstrap, ns.topic(name), timeout=600)

    intake = [r for name in INTAKE_TOPICS for r in await topic(name)]
    timeline = await topic(TIMELINE)
    rejected = [json.loads(r.value) for r in await topic(INTAKE_REJECTED)]
    duplicates = [json.loads(r.value) for r in await topic(DUPLICATES)]
    ids = []
    for name in OUTPUT_TOPICS:
        for r in await topic(name):
            ids.append(_output_id(r.value))
    states: dict[str, dict[str, Any]] = {}
    history: dict[str, dict[bytes, bytes]] = {}
    for kind, table in (("hazard", "hazards"), ("alert", "alerts")):
        records = await read_to_end(ns.bootstrap, f"{ns.name}-{table}-changelog")
        states[kind] = {r.key.decode(): r.value for r in records if r.value}
        # A long history's chunks are kept apart from the state (engine/store.py).
        chunks = await read_to_end(ns.bootstrap, f"{ns.name}-{table}-history-changelog")
        history[kind] = {r.key: r.value for r in chunks if r.value}
    consumer = reader(ns.bootstrap, {})
    await consumer.start()
    try:
        partitions = len(await partitions_of(consumer, ns.topic(INTAKE_TOPICS[0])))
    finally:
        await consumer.stop()
    return Observed(intake, timeline, rejected, duplicates, ids,
                    {k: unpack(v, history=history["hazard"]) for k, v in states["hazard"].items()},
                    {k: unpack(v, Alert, history=history["alert"]) for k, v in states["alert"].items()},
                    partitions)


def _output_id(value: bytes) -> str:
    if value.lstrip().startswith(b"<"):  # a CAP document: its identifier is the output id
        text = value.decode()
        return text.split("<identifier>", 1)[1].split("</identifier>", 1)[0]
    return json.loads(value)["id"]


def canonical(state: Any) -> dict[str, Any]:
    """A state as compared: without delivery bookkeeping, the record in a stable order."""
    doc = json.loads(state.encode())
    for volatile in ("applied", "applied_from", "watermark"):
        doc.pop(volatile, None)
    if "history" in doc:
        doc["history"] = sorted(map(tuple, doc["history"]))
    return doc


@dataclass
class Reference:
    """The fault-free outcome: final states of every subject and the ids of every output.

    `sent_by` has the ids of the outputs sent for each (kind, subject), by its entries or its
    clocks; `late_s`, for a reference of events timed by their arrival (`arrival_reference`),
    how many seconds after its time the latest of them reached the broker.
    """

    hazards: dict[str, Any]
    alerts: dict[str, Any]
    output_ids: set[str]
    sent_by: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    late_s: float = 0.0


class _BySubject:
    """Mixed into a replay: which outputs each subject's entries and clocks sent."""

    sent_by: dict[str, set[str]]

    def feed(self, entry: dict[str, Any], now: int | None = None) -> list[Any]:
        outs = super().feed(entry, now)  # type: ignore[misc]
        if outs:
            self.sent_by.setdefault(entry["subject"], set()).update(o.id for o in outs)
        return outs


@dataclass
class _Hazards(_BySubject, Replay):
    sent_by: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class _Alerts(_BySubject, AlertReplay):
    sent_by: dict[str, set[str]] = field(default_factory=dict)


def _reference(hazards: _Hazards, alerts: _Alerts | None) -> Reference:
    sent_by = {("hazard", s): ids for s, ids in hazards.sent_by.items()}
    if alerts is not None:
        sent_by.update({("alert", s): ids for s, ids in alerts.sent_by.items()})
    ids = {o.id for _, o in hazards.outputs} | ({o.id for _, o in alerts.outputs} if alerts else set())
    assert ids == set().union(*sent_by.values()), "every output is some subject's"
    return Reference(hazards.states, alerts.states if alerts else {}, ids, sent_by)


def reference_run(events: list[Any], end: int, rules: Rules,
                  alert_rules: AlertRules | None = None, clocks: bool = True) -> Reference:
    """A crash-free run of planned events: through intake and the core, clocks fired in order.

    Without `clocks`, no deadline fires: the run of a worker whose clock stands still.
    """
    hazards, alerts = _Hazards(rules), _Alerts(alert_rules) if alert_rules else None
    for i, planned in enumerate(events):
        topic = EVENT_TYPES[planned.event["type"]].topic
        out = decide_intake(Record(topic, 0, i, None, json.dumps(planned.event).encode(), 0),
                            {}.get, rules.reference)
        assert out.kind == "accepted", out
        if clocks:
            hazards.advance_to(planned.at)
        for send in out.sends:
            hazards.feed(json.loads(send.value))
            if alerts:
                alerts.feed(json.loads(send.value))
    if clocks:
        hazards.advance_to(end)
    return _reference(hazards, alerts)


def replay_timeline(timeline: list[Any], rules: Rules,
                    alert_rules: AlertRules | None = None) -> Reference:
    """The pure core over a timeline as the engine wrote it, with no clock fired.

    For a run on a stopped clock: each subject's entries are applied in the
    order of its partition, which is the order the decision agent saw them.
    """
    hazards, alerts = _Hazards(rules), _Alerts(alert_rules) if alert_rules else None
    for r in sorted(timeline, key=lambda r: (r.partition, r.offset)):
        entry = json.loads(r.value)
        hazards.feed(entry)
        if alerts:
            alerts.feed(entry)
    return _reference(hazards, alerts)


def arrival_reference(events: list[Planned], run: DistrictRun, end: int, rules: Rules,
                      alert_rules: AlertRules | None = None) -> Reference:
    """The reference run again, each event at the simulated time it reached the broker.

    The reference assumes every event reaches the engine before any deadline
    after its own time. A publisher held up on a busy machine (a stalled
    process, a broker slow to append) can break that: an event appended to
    its topic after a deadline of its subject came due may be decided after
    that deadline fired, lawfully (the engine guarantees the order only for
    records on the broker before the deadline: `intake_horizon`). This run puts
    each event at its first copy's LogAppendTime on the run's clock, so the
    deadlines before that fire first. `account` judges a subject by it only
    where the planned reference and this one differ and the engine's state is
    this one's.
    """
    first: dict[bytes, float] = {}
    for r in run.observed.intake:
        first[r.value] = min(first.get(r.value, r.timestamp), r.timestamp)
    timed, late = [], 0.0
    for p in events:
        arrived = first.get(json.dumps(p.event).encode())
        if arrived is None:  # never published (the run ended first): the reference has it anyway
            timed.append(p)
            continue
        late = max(late, arrived / 1000 - run.clock.real_time_of(p.at))
        timed.append(Planned(max(p.at, int(run.clock.at(arrived / 1000))), p.event))
    ref = reference_run(sorted(timed, key=lambda p: p.at), end, rules, alert_rules)
    ref.late_s = round(late, 2)
    return ref


def lawful(want: Reference, late: Reference, seen: Observed) -> tuple[Reference, list[str]]:
    """The reference each subject is judged by: `want`, or `late` where that is the engine's outcome.

    A subject whose outcome is the same in both is judged by `want`. One whose
    outcomes differ is judged by `late` when the engine's state is `late`'s
    and the outputs `late` sent for it all came; otherwise by `want`, which
    then reports it. Returns the reference and the subjects judged by `late`.
    """
    states = {"hazard": dict(want.hazards), "alert": dict(want.alerts)}
    theirs = {"hazard": late.hazards, "alert": late.alerts}
    got = {"hazard": seen.hazards, "alert": seen.alerts}
    sent_by, by_arrival = dict(want.sent_by), []
    got_ids = set(seen.output_ids)
    for kind, mine in states.items():
        for subject, state in mine.items():
            other = theirs[kind].get(subject)
            if other is None or subject not in got[kind]:
                continue
            ours, others = sent_by.get((kind, subject), set()), late.sent_by.get((kind, subject), set())
            same = canonical(state) == canonical(other)
            if same and ours == others:
                continue
            engine = canonical(got[kind][subject])
            if engine == canonical(other) and others <= got_ids and not (
                    engine == canonical(state) and ours <= got_ids):
                mine[subject], sent_by[(kind, subject)] = other, others
                by_arrival.append(subject)
    ids = set().union(*sent_by.values()) if sent_by else set(want.output_ids)
    return Reference(states["hazard"], states["alert"], ids, sent_by), by_arrival


@dataclass
class Accounting:
    """One row of the fault table, and every problem found."""

    fault: str
    injected: int
    events_in: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    escalations: int = 0
    missing: int = 0
    extra: int = 0
    states_differ: int = 0
    extras: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        """The table row, without the problem list."""
        doc = asdict(self)
        doc.pop("problems")
        return doc


def _position(prefix: str, topic: str, partition: int, offset: int) -> str:
    return f"{topic.removeprefix(prefix)}/{partition}/{offset}"


def account(ns: Namespace, seen: Observed, rules: Rules, want: Reference, fault: str,
            injected: int, poison: Poison | None = None, late: Reference | None = None) -> Accounting:
    """Check a fault run against the pure intake and the reference; count the table's columns.

    `poison` is what the worker's stages were poisoned with (`faults.poisoned_worker`):
    a record it makes intake raise on must be rejected as a processing error. `late` is
    the reference of the same events timed by their arrival (`arrival_reference`), for a
    run whose clock went on: a subject may end as it gives (`lawful`).
    """
    acc = Accounting(fault, injected)
    if late is not None:
        want, by_arrival = lawful(want, late, seen)
        acc.extras.update(publisher_late_s=late.late_s, judged_by_arrival=len(by_arrival))
        if by_arrival:
            acc.extras["by_arrival"] = by_arrival[:10]
    prefix = ns.prefix
    inputs = sorted(seen.intake, key=lambda r: (r.topic, r.partition, r.offset))
    acc.events_in = len(inputs)

    # What the engine did with each intake record, by position.
    verdicts: dict[str, list[str]] = {}
    for r in seen.timeline:
        origin = json.loads(r.value).get("origin")
        if origin:  # clock entries have none
            pos = _position(prefix, origin["topic"], origin["partition"], origin["offset"])
            if "accepted" not in verdicts.setdefault(pos, []):
                verdicts[pos].append("accepted")
    for doc in seen.rejected:
        d = doc["data"]
        verdicts.setdefault(_position(prefix, d["topic"], d["partition"], d["offset"]), []).append(
            "rejected")
    for doc in seen.duplicates:
        topic, partition, offset = doc["position"].rsplit("/", 2)
        verdicts.setdefault(_position(prefix, topic, int(partition), int(offset)), []).append(
            "duplicate")

    # What the pure intake gives each record, routing null keys by the engine's partitions. A
    # forwarded record has no verdict of its own: the engine sent it again, keyed by subject, to
    # its subject's partition, and the record it sent (the same topic, value and headers) is
    # judged in its place, so each record a field app sent counts once.
    # Copies of one event (the same source and id) may sit on different topics, and which the
    # engine meets first depends on how it interleaves them; so the first copy it met must be
    # accepted and every other a duplicate, and within a partition the first is the lowest offset.
    def home(subject: str) -> int:
        return partition_for_key(subject.encode("utf-8"), seen.partitions)

    decided = []
    for r in inputs:
        record = Record(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp,
                        headers=tuple(r.headers or ()))
        try:
            if poison is not None:
                poison.check("intake", r.value)
            out = decide_intake(record, {}.get, rules.reference,
                                contract_topic=r.topic.removeprefix(prefix), home=home)
        except PoisonForTests as exc:
            out = processing_failure(record, exc)
        decided.append((r, record, out))
    forwarded: Counter[tuple[Any, ...]] = Counter(
        (r.topic, home(out.subject), out.subject.encode("utf-8"), r.value, record.headers)
        for r, record, out in decided if out.kind == "forwarded")
    reasons: Counter[str] = Counter()
    copies: dict[str, list[tuple[str, str, int]]] = {}
    for r, record, out in decided:
        pos = _position(prefix, r.topic, r.partition, r.offset)
        got = sorted(set(verdicts.pop(pos, [])))
        if out.kind == "forwarded":
            if got:
                acc.problems.append(f"{pos}: a null key away from partition {home(out.subject)}, "
                                    f"to be forwarded, but the engine says {got}")
            continue
        sent_again = (r.topic, r.partition, r.key, r.value, record.headers)
        if forwarded[sent_again] > 0:  # the engine's copy, not a record of its own
            forwarded[sent_again] -= 1
            acc.events_in -= 1
        if out.kind == "rejected":
            acc.rejected += 1
            reasons.update(out.reasons)
            if got != ["rejected"]:
                acc.problems.append(f"{pos}: engine says {got or 'nothing'}, pure intake rejects "
                                    f"it ({', '.join(out.reasons)})")
            continue
        assert out.remember is not None
        tp = f"{r.topic}/{r.partition}"
        copies.setdefault(out.remember[0], []).append((pos, tp, r.offset, got))
    acc.extras["forwarded"] = sum(1 for *_, out in decided if out.kind == "forwarded")
    if +forwarded:
        acc.problems.append(f"{sum(forwarded.values())} null-key records were not forwarded to "
                            f"their subjects' partitions, e.g. {next(iter(+forwarded))[:3]}")
    for key, group in copies.items():
        accepted = [c for c in group if c[3] == ["accepted"]]
        others = [c for c in group if c[3] != ["accepted"]]
        acc.accepted += 1
        acc.duplicates += len(group) - 1
        if len(accepted) != 1 or any(c[3] != ["duplicate"] for c in others):
            acc.problems.append(f"event {key}: copies {[(c[0], c[3]) for c in group]}; want one "
                                "accepted and the rest duplicates")
            continue
        first = min(c[2] for c in group if c[1] == accepted[0][1])
        if accepted[0][2] != first:
            acc.problems.append(f"event {key}: {accepted[0][0]} accepted, but an earlier copy in "
                                "its partition is not")
    for pos, got in verdicts.items():
        acc.problems.append(f"{pos}: a verdict {got} for no intake record")
    unnamed = [d for d in seen.rejected if not all(e.get("type") and e.get("msg")
                                                   for e in d["data"]["errors"])]
    if unnamed:
        acc.problems.append(f"{len(unnamed)} rejections without a named reason")
    acc.extras["rejection_reasons"] = dict(reasons.most_common(12))

    got_ids = set(seen.output_ids)
    acc.escalations = len(got_ids)
    missing, extra = want.output_ids - got_ids, got_ids - want.output_ids
    acc.missing, acc.extra = len(missing), len(extra)
    acc.extras["output_records_read"] = len(seen.output_ids)
    if missing:
        acc.problems.append(f"{len(missing)} outputs missing, e.g. {sorted(missing)[:3]}")
    if extra:
        acc.problems.append(f"{len(extra)} outputs extra, e.g. {sorted(extra)[:3]}")

    for kind, got_states, want_states in (("hazard", seen.hazards, want.hazards),
                                          ("alert", seen.alerts, want.alerts)):
        if set(got_states) != set(want_states):
            only = sorted(set(got_states) ^ set(want_states))
            acc.problems.append(f"{kind} subjects differ: {only[:5]}")
        differ = [s for s in want_states if s in got_states
                  and canonical(got_states[s]) != canonical(want_states[s])]
        acc.states_differ += len(differ)
        for s in differ[:3]:
            g, w = canonical(got_states[s]), canonical(want_states[s])
            acc.problems.append(f"{kind} {s} differs: " + str(
                {k: (g.get(k), w.get(k)) for k in set(g) | set(w) if g.get(k) != w.get(k)}))
    return acc


ROWS: list[dict[str, Any]] = []  # this process's rows; tests/conftest.py hands each to its test's report


def report(acc: Accounting) -> None:
    """Print the row; keep it for the session's table; append it to $HAZARD_FAULTS_REPORT."""
    row = acc.row()
    ROWS.append(row)
    print("\nfault accounting:", json.dumps(row, ensure_ascii=False))
    path = os.environ.get("HAZARD_FAULTS_REPORT")
    if path:
        with Path(path).open("a") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


# --- A simulated district run with faults injected on given days ---------------------------

START = datetime.fromisoformat("2026-09-01T08:00:00+08:00")
SECONDS_PER_DAY = 4.0  # one simulated day every four real seconds


def noisy(events: list[Planned], seed: int = 3, every_dup: int = 20, every_bad: int = 30
          ) -> list[Planned]:
    """The district's events plus repeats (same source and id) and broken copies.

    A repeat goes out a simulated hour after its original, as a field app that
    did not see its acknowledgement sends again; a broken copy has a time
    without an offset and an id of its own, so the engine rejects it.
    """
    rng = random.Random(seed)
    extra = []
    for n, planned in enumerate(events):
        if n % every_dup == 0:
            extra.append(Planned(planned.at + 3600, planned.event))
        if n % every_bad == 0:
            broken = json.loads(json.dumps(planned.event))
            broken["id"] = f"{broken['id']}-broken"
            broken["time"] = broken["time"][:19]
            extra.append(Planned(planned.at + rng.randrange(60, 3600), broken))
    return sorted([*events, *extra], key=lambda p: p.at)


@dataclass
class DistrictRun:
    """What a district run with faults produced, and how long the faults took to recover."""

    observed: Observed
    sent: int
    seconds: float
    recoveries: list[dict[str, float | None]]
    publish_retries: int
    clock: Any = None  # the run's ScaledTime: when, in real time, each simulated instant came


def district_run(ns: Namespace, tmp_path: Path, events: list[Planned], end: int,
                 faults: dict[int, Callable[[Worker], dict[str, float | None]]] | None = None,
                 env: dict[str, str] | None = None, seconds_per_day: float = SECONDS_PER_DAY,
                 frozen: bool = False, argv: tuple[str, ...] | None = None) -> DistrictRun:
    """Run the district's events on a scaled clock, calling `faults[day](worker)` on those days.

    Each fault callback runs in a thread while publishing goes on, and returns
    the figures it measured (say, seconds until the worker was ready again).
    With `frozen`, the worker's clock stands still before the first event, so
    no deadline fires: for faults (a broker outage) that delay events by more
    simulated time than separates them from their deadlines. The run ends with
    a clean restart of the worker and a drained backlog.
    """
    anchor = time.time() + 8  # time for the worker to start before simulated day 0
    rate = DAY / seconds_per_day
    clock = ScaledTime(START.timestamp(), anchor, rate, float(end))
    if frozen:
        still = datetime.fromtimestamp(START.timestamp() - DAY, START.tzinfo).isoformat()
        times = {"HAZARD_CLOCK_START": still, "HAZARD_CLOCK_END": still}
    else:
        times = {"HAZARD_CLOCK_START": START.isoformat(), "HAZARD_CLOCK_ANCHOR": str(anchor),
                 "HAZARD_CLOCK_RATE": str(rate), "HAZARD_TICK_S": "0.1",
                 "HAZARD_CLOCK_END": datetime.fromtimestamp(end, START.tzinfo).isoformat()}
    worker = Worker(ns.env(**times, **(env or {})), tmp_path / "worker.log",
                    *([argv] if argv else []))
    recoveries: list[dict[str, float | None]] = []
    one_at_a_time = threading.Lock()

    def inject(fault: Callable[[Worker], dict[str, float | None]]) -> Callable[[], None]:
        # On a busy machine a recovery can outlast the days to the next fault; that fault then
        # waits for it, so that each is injected into a worker that is up, and each is counted.
        def run() -> None:
            with one_at_a_time:
                recoveries.append(fault(worker))
        return run

    try:
        worker.start().wait_ready(timeout=120)
        began = time.monotonic()
        stats: dict[str, int] = {}
        sent, threads = asyncio.run(publish_on_schedule(
            ns.bootstrap, ns.prefix, clock, events,
            {d: inject(f) for d, f in (faults or {}).items()}, stats=stats))
        for thread in threads:
            thread.join(300)
        wait = clock.real_time_of(end) - time.time()
        if wait > 0:
            time.sleep(wait)
        asyncio.run(wait_drained(ns, idle_timeout=120, alive=worker.alive))
        # A clean stop and start before judging: whatever a fault left uncommitted is read again.
        worker.stop()
        worker.start().wait_ready(timeout=120)
        asyncio.run(wait_drained(ns, idle_timeout=120, alive=worker.alive))
        seconds = time.monotonic() - began
        observed = asyncio.run(observe(ns))
    finally:
        worker.stop()
    return DistrictRun(observed, sent, seconds, recoveries, stats.get("publish_retries", 0), clock)


DECISION_WAIT_S = 30.0  # a recovered worker decides within seconds while the run's clock goes on


def kill_and_restart(worker: Worker) -> dict[str, float | None]:
    """SIGKILL the worker, start it again, and time its recovery.

    `ready_s` runs to the first 200 on /readyz (tables recovered, clocks
    ticking, broker answering), `first_decision_s` to the first output decided after it (None
    when nothing came to decide within DECISION_WAIT_S: the run's clock had ended).
    """
    worker.kill()
    killed = time.monotonic()
    worker.start()
    worker.wait_ready(timeout=120)
    ready = round(time.monotonic() - killed, 2)
    try:
        worker.wait_for('"event": "decision"', timeout=DECISION_WAIT_S)
        decided: float | None = round(time.monotonic() - killed, 2)
    except AssertionError:
        if not worker.alive():
            raise
        # Nothing came to decide: the run's clock had ended and every event was in. Kills queue
        # behind each other (`district_run`), so at nightly size (19 kills, one every two days,
        # ~12 s a recovery) the last come after the end; each used to wait 120 s here and fail.
        decided = None
    return {"ready_s": ready, "first_decision_s": decided}
