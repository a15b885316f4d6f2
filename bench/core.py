"""`python -m bench.core`: the pure path timed part by part, and per-event cost against history length.

No broker. Two measurements, both in this process:

1. The benchmark's mixed workload (bench/workload.py) goes through the pure
   path as a worker takes it: intake (`decide_intake`: validation,
   de-duplication, normalisation into timeline entries), then for each
   timeline entry of a hazard or an alert: reading the stored state
   (`state_decode`), the decision (`decide`), encoding its outputs
   (`output_encode`: CAP as XML bytes, the rest as JSON) and packing the new
   state for its table (`state_encode`). Each part is given in µs per
   workload event, so the parts add up to the whole path per event.
2. One hazard and one alert collect a long history (a hazard: a report, a
   verification, then progress updates; an alert: a raising, then updates).
   At 10, 100, 1,000 and 5,000 events of history the next `--probe` events go
   through decode, decide, output encoding and packing from the stored bytes,
   and the average per event is given, with the stored size of the state
   record and of its history's chunks, and the bytes a decision writes. The
   same is measured with the history kept whole in the record (as format 1
   kept it), in the same run, and printed side by side.
   An alert goes to 5,000 as a hazard does: its state keeps a bounded number
   of reports and CAP messages, and each CAP update names two earlier
   messages, not all of them (engine/alerts/bounds.py).
3. The same workload's timeline through the decide stage as a worker wires it
   (`as_worker`): the hazard and alert cores with their enterprise links, the
   enterprise files, the plan's towns, and the views every store updates, per
   kind of subject. The first measurement leaves these out on purpose (it is
   the path issue 12 set its target on, and the tree it is compared with had
   no enterprise files); this one is what a worker pays per event before any
   Kafka work.

Times are the process's CPU time (`time.process_time_ns`), not the wall
clock, so other processes on a shared machine weigh on them less.

With `--baseline FILE` (default bench/results/core-before.json, when it
exists) the figures of an earlier run are printed beside this run's. Those
were taken on another day, maybe on another machine: the same code ran at
83.8 µs an event on one host and 53.5 on the next (docs/benchmarks.md). With
`--before COMMIT` the earlier tree is measured in this run instead, on this
machine, just before this tree: a temporary `git worktree` of COMMIT runs its
own `bench.core` with the same sizes. COMMIT needs a `bench/core.py` of its
own: 73767be is the tree before issue 12's work (2fbe3f1) with the first
`bench/core.py` added, and nothing else.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.workload import START, build
from engine import codec
from engine.alerts import decide_alert, load_alert_rules
from engine.cores import HISTORY_TABLES, build_cores, record_value
from engine.decide.core import decide
from engine.enterprise.links import link_entry
from engine.intake.process import TIMELINE, Record, decide_intake
from engine.kernel import time as kernel_time
from engine.kernel.state import chunk_key
from engine.plan.rules import optional_plan
from engine.plan.tracking import seed_entries
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT, Settings
from engine.store import pack
from engine.views import Derived

BASELINE = REPO_ROOT / "bench" / "results" / "core-before.json"
HISTORY_LENGTHS = {"hazard": (10, 100, 1_000, 5_000), "alert": (10, 100, 1_000, 5_000)}
PARTS = ("intake", "state_decode", "decide", "output_encode", "state_encode")


class Clock:
    """Nanoseconds spent per named part, and how many times each part was timed.

    Each timing reads the process's CPU clock twice, and what passes between a
    reading's sample and the next one's (the system call's way out and in, and
    Python's call) is counted in the part: about 0.6 µs a timing on this host,
    some 3 µs of each workload event over the 4 to 5 timings it takes.
    `reading_ns()` measures that cost once a process, and `net_ns()` is the
    parts with it taken out, the path's own cost.
    """

    _reading: int | None = None  # the clock's own cost per timing, measured once a process

    def __init__(self) -> None:
        self.ns: dict[str, int] = dict.fromkeys(PARTS, 0)
        self.calls: dict[str, int] = dict.fromkeys(PARTS, 0)

    def timed(self, part: str, fn: Callable[..., Any], *args: Any) -> Any:
        started = time.process_time_ns()
        result = fn(*args)
        self.ns[part] += time.process_time_ns() - started
        self.calls[part] += 1
        return result

    @classmethod
    def reading_ns(cls) -> int:
        """What a timing of nothing counts: the median gap between two back-to-back readings."""
        if cls._reading is None:
            read = time.process_time_ns
            gaps = []
            for _ in range(5_001):
                started = read()
                gaps.append(read() - started)
            cls._reading = sorted(gaps)[len(gaps) // 2]
        return cls._reading

    @classmethod
    def net(cls, ns: int, timings: int) -> int:
        """`ns` counted over `timings` timings, less the clock's own cost of each (never below 0)."""
        return max(0, ns - timings * cls.reading_ns())

    def net_ns(self) -> dict[str, int]:
        """The nanoseconds per part less the clock's own cost of timing it."""
        return {part: self.net(ns, self.calls[part]) for part, ns in self.ns.items()}


class Path_:
    """The pure path of the decide stage, from stored bytes to stored bytes, with its parts timed."""

    def __init__(self, settings: Settings) -> None:
        self.rules = load_rules(settings.rules_dir)
        self.alert_rules = load_alert_rules(settings.rules_dir, self.rules.reference)
        # A stored state is read as the decide stage reads it (the cores' decode); the decision is
        # the bare core's, without the enterprise links the runtime adds, and like the decide stage
        # it hands the hazard and alert cores the state it has just decoded (`owned`).
        cores = build_cores(self.rules, self.alert_rules)
        self.cores: dict[str, tuple[Callable[[Any, dict[str, Any]], Any], Callable[[bytes], Any]]] = {
            "hazard": (lambda st, e: decide(st, e, self.rules, owned=True), cores["hazard"].decode),
            "alert": (lambda st, e: decide_alert(st, e, self.alert_rules, owned=True), cores["alert"].decode)}

    def step(self, kind: str, raw: bytes | None, entry: dict[str, Any], clock: Clock,
             history: dict[bytes, bytes] | None) -> tuple[bytes, int]:
        """One timeline entry applied to a stored state; the new stored bytes, and the bytes of the
        history chunks it wrote to `history` (the history table, as the worker keeps it). Without
        `history` the whole history stays in the record, as format 1 kept it."""
        decide_fn, decode = self.cores[kind]
        state = (None if raw is None else clock.timed("state_decode", decode, raw) if history is None
                 else clock.timed("state_decode", lambda: decode(raw, history=history)))
        new, outs = clock.timed("decide", decide_fn, state, entry)
        clock.timed("output_encode", lambda: [record_value(o) for o in outs])
        if history is None:
            return clock.timed("state_encode", pack, new), 0
        chunks: dict[int, bytes] = {}
        packed = clock.timed("state_encode", pack, new, b"", b"", chunks)
        key = entry["subject"].encode()
        history.update((chunk_key(key, n), value) for n, value in chunks.items())
        return packed, sum(map(len, chunks.values()))


def intake(items: list[Any], rules: Any, clock: Clock) -> list[bytes]:
    """The workload through `decide_intake`; the timeline entries it writes, as the bytes it sends.

    Kept as bytes, as the broker keeps them: a list of decoded entries growing
    through the run made every full collection of the garbage collector walk it,
    and that walk was charged to whichever part was timed when it came.
    """
    seen: dict[str, str] = {}
    entries: list[bytes] = []
    for offset, item in enumerate(items):
        record = Record(item.topic, 0, offset, item.key, item.value, int(START.timestamp() * 1000))
        outcome = clock.timed("intake", decide_intake, record, seen.get, rules.reference, 1_000_000,
                              item.topic)
        if outcome.remember is not None:
            seen[outcome.remember[0]] = outcome.remember[1]
        entries += [s.value for s in outcome.sends if s.topic == TIMELINE]
    return entries


def mixed(path: Path_, events: int, rounds: int = 5) -> dict[str, Any]:
    """µs per workload event of each part of the pure path, over the mixed workload, steady.

    The workload goes through once (the cold round), then `rounds` times more,
    each from empty tables and empty caches of values (`_forget_values`); the
    round of the median total is reported, with the clock's own cost taken out
    (`Clock.net_ns`). The cold round pays once what a worker pays once in its
    life (the functions written per state class, the interpreter's specialised
    code, the heap grown): 9-13% of its total on 2026-12-04. Its total with the
    clock's cost in is kept too (`cold_total_us_per_event`), measured as every
    run before then was, and as `--before` measures an older tree.
    """
    items = build(events)
    runs = []
    for _ in range(1 + rounds):
        _forget_values()
        runs.append(_mixed_round(path, items))
    per = 1000 * len(items)
    totals = [sum(clock.net_ns().values()) for clock, _ in runs]
    middle = sorted(range(1, 1 + rounds), key=totals.__getitem__)[rounds // 2]
    (clock, entries), cold = runs[middle], runs[0][0]
    return {"events": len(items), "timeline_entries": entries,
            "us_per_event": {part: round(ns / per, 1) for part, ns in clock.net_ns().items()},
            "total_us_per_event": round(totals[middle] / per, 1),
            "rounds_us_per_event": [round(total / per, 1) for total in totals[1:]],
            "cold_total_us_per_event": round(sum(cold.ns.values()) / per, 1),
            "clock_ns_per_timing": Clock.reading_ns(),
            "timings_per_event": round(sum(clock.calls.values()) / len(items), 2)}


def _forget_values() -> None:
    """Empty the engine's caches of values: times as text, deadlines by day, a calendar's days,
    CAP's leaves, enterprises' codes (the bounded `lru_cache`s, and the due times of
    engine/kernel/time.py). Every round then meets its times and days as new, as a worker meets a
    stream's new events (without it, a round found all 2,125 time texts, 2,514 CAP leaves and 471
    due days of the workload cached by the round before). What a process builds once (the
    functions written per state class, the CAP schema: unbounded caches) stays built."""
    for found in gc.get_objects():
        if (isinstance(found, functools._lru_cache_wrapper) and found.cache_info().maxsize is not None
                and getattr(found, "__module__", "").startswith("engine.")):
            found.cache_clear()
    for due in kernel_time._DUE.values():
        due.clear()  # in place: the cache the time module last used is one of these


def _mixed_round(path: Path_, items: list[Any]) -> tuple[Clock, int]:
    """One pass of the workload through the pure path from empty tables: its clock, and how many
    timeline entries intake wrote."""
    clock = Clock()
    entries = intake(items, path.rules, clock)
    tables: dict[str, dict[str, bytes]] = {kind: {} for kind in path.cores}
    histories: dict[str, dict[bytes, bytes]] = {kind: {} for kind in path.cores}
    for value in entries:
        entry = codec.loads(value)  # the timeline record read back: not one of the parts timed
        kind = entry["subject_kind"]
        if kind in tables:
            table = tables[kind]
            table[entry["subject"]] = path.step(kind, table.get(entry["subject"]), entry, clock,
                                                histories[kind])[0]
    return clock, len(entries)


def _event(type_: str, subject: str, n: int, at: datetime, data: dict[str, Any]) -> bytes:
    return json.dumps({"specversion": "1.0", "id": f"{subject}-{n}", "source": "/apps/bench/history",
                       "type": type_, "subject": subject, "time": at.isoformat(),
                       "data": data}, ensure_ascii=False).encode()


def hazard_events(count: int) -> list[tuple[str, bytes]]:
    """A hazard's events: reported, verified (general), then progress updates every 10 minutes."""
    hid, who = "HZ-HISTORY", {"id": "ent-1", "role": "enterprise"}
    out = [("hazard.reports", _event("safety.hazard.reported", hid, 0, START, {
        "hazard_id": hid, "title": "Gas pipe corroded at the meter", "description": "Gas pipe corroded",
        "sector": "gas", "grade_claimed": "general", "found_via": "grid_patrol",
        "location": {"town": "lihaiwu", "grid": "LHW-01"},
        "enterprise": {"uscc": "913715NL60ABF8TX61", "name": "Enterprise 40 Co., Ltd."},
        "reporter": {"id": "gw-1", "role": "grid_worker"}})),
        ("rectification.updates", _event("safety.hazard.verified", hid, 1, START + timedelta(hours=1), {
            "hazard_id": hid, "verdict": "confirmed", "grade": "general",
            "by": {"id": "sup-1", "role": "supervisor"}}))]
    for n in range(2, count):
        out.append(("rectification.updates", _event(
            "safety.rectification.progressed", hid, n, START + timedelta(hours=2, minutes=10 * n),
            {"hazard_id": hid, "percent": min(n, 99), "note": f"step {n}", "by": who})))
    return out


def alert_events(count: int) -> list[tuple[str, bytes]]:
    """An alert's events: raised, then figure updates every 6 hours (a long incident's 续报).

    Updates this far apart keep about 120 of them inside the re-grade window
    (30 days), whose grading looks at every report time in it.
    """
    aid = "AL-HISTORY"
    out = [("responder.alerts", _event("safety.alert.raised", aid, 0, START, {
        "alert_id": aid, "kind": "fire",
        "location": {"town": "huxi", "grid": "HX-11", "address": "Market 1, stall row C"},
        "casualties": {"dead": 0, "missing": 0, "seriously_injured": 0, "injured": 1, "trapped": 0},
        "people_to_evacuate": 10, "crowded_place": False, "description": "Small fire in a stall.",
        "reporter": {"id": "gw-1102", "role": "grid_worker"}, "post": "A"}))]
    for n in range(1, count):
        out.append(("responder.alerts", _event(
            "safety.alert.updated", aid, n, START + timedelta(hours=6 * n),
            {"alert_id": aid, "casualties": {"injured": 1 + n % 3}, "note": f"update {n}"})))
    return out


def history(path: Path_, kind: str, events: list[tuple[str, bytes]], probe: int,
            chunked: bool = True) -> list[dict[str, Any]]:
    """Per-event cost of the decide stage's pure path, and the stored size, at each history length.

    `chunked`: the history kept in chunks apart, as the worker keeps it; else whole in the record.
    """
    seen: dict[str, str] = {}
    entries = []
    for offset, (topic, value) in enumerate(events):
        outcome = decide_intake(Record(topic, 0, offset, value[:0] or None, value, 0), seen.get,
                                path.rules.reference, 1_000_000, topic)
        if outcome.kind != "accepted":
            raise ValueError(f"history event {offset} of {kind} not accepted: {outcome.reasons}")
        seen[outcome.remember[0]] = outcome.remember[1]  # type: ignore[index]
        entries += [codec.loads(s.value) for s in outcome.sends if s.topic == TIMELINE]
    rows, raw, applied = [], None, 0
    table: dict[bytes, bytes] | None = {} if chunked else None
    for length in HISTORY_LENGTHS[kind]:
        while applied < length:  # grow the history (untimed)
            raw = path.step(kind, raw, entries[applied], Clock(), table)[0]
            applied += 1
        assert raw is not None
        kept = sum(map(len, table.values())) if table is not None else 0
        clock, probed, written = Clock(), raw, 0
        probe_table = dict(table) if table is not None else None  # the probe's chunks are not kept
        for entry in entries[applied:applied + probe]:
            probed, chunk_bytes = path.step(kind, probed, entry, clock, probe_table)
            written += len(probed) + chunk_bytes
        rows.append({"history": length, "us_per_event": round(sum(clock.net_ns().values()) / 1000 / probe, 1),
                     "stored_bytes": len(raw), "history_bytes": kept,
                     "written_bytes_per_event": round(written / probe)})
    return rows


ENTERPRISE_SIZES = ((10, 0), (10, 50), (100, 50), (500, 50))  # (open hazards, proposals) on file


def _hazard_link(n: int, hid: str, at: int, proposals: list[list[str]] | None = None,
                 states: dict[str, str] | None = None) -> dict[str, Any]:
    """A link of hazard `hid` to the benchmark's enterprise, as the hazard core's `with_hazard_links`
    sends it, caused by timeline record `n` (so a copy is told apart by its source, as in a worker)."""
    data: dict[str, Any] = {
        "kind": "hazard", "id": hid, "name": "Enterprise 40 Co., Ltd.", "status": "verified" if n % 2 else
        "reported", "open": True, "grade": "general", "deadline": at + 10 * 86_400, "completed": False,
        "tier": None, "department": "emergency", "sector": "gas", "town": "lihaiwu", "listed": False,
        "orders": [], "violations": 0, "first": False, "proposals": proposals or [], "lifted": [],
        "new_violations": 0, "violated": []}
    if states:
        data["proposal_states"] = states
    cause = {"entry_id": f"bench-{n}", "time": START.isoformat(),
             "position": {"topic": TIMELINE, "partition": 0, "offset": n}}
    entry = link_entry("913715NL60ABF8TX61", cause, data).event
    entry["position"] = {"topic": TIMELINE, "partition": 0, "offset": 1_000_000 + n}
    return entry


def enterprise_sizes(probe: int) -> list[dict[str, Any]]:
    """What one hazard's link costs its enterprise's file, against how much the file holds: its open
    hazards (kept in detail up to 500) and the enforcement proposals on file (the latest 50).

    The file is built by the enterprise core and decoded once; then `probe` links to its hazards
    are decided one after the other on it (`decide`: the core, owned, as the decide stage hands
    over a file it keeps decoded, engine/stream/held.py), and the file is stored as often
    (`store`: `Derived.store`, the pack and the gauges' and feeds' views, which a worker pays once
    a commit for such a file). The garbage collector is held off while timing.
    """
    settings = Settings()
    rules = load_rules(settings.rules_dir)
    alert_rules = load_alert_rules(settings.rules_dir, rules.reference)
    cores = build_cores(rules, alert_rules, optional_plan(settings.rules_dir, rules.reference))
    core, derived = cores["enterprise"], Derived.build(cores, rules, START.timestamp)
    decide_owned = core.decide_owned or core.decide
    at, rows = int(START.timestamp()), []
    for hazards, proposals in ENTERPRISE_SIZES:
        state, n = None, 0
        for k in range(hazards):
            state, _ = core.decide(state, _hazard_link(n, f"HZ-{k:05d}", at))
            n += 1
        for k in range(proposals):
            pid = f"P-{k:05d}"
            state, _ = core.decide(state, _hazard_link(n, f"HZ-{k % hazards:05d}", at, [[pid, "fine"]],
                                                       {pid: "awaiting"}))
            n += 1
        raw = pack(state)
        file = core.decode(raw)
        links = [_hazard_link(n + i, f"HZ-{i % hazards:05d}", at) for i in range(probe)]
        gc.disable()
        try:
            started = time.process_time_ns()
            for link in links:
                file = decide_owned(file, link)[0]
            middle = time.process_time_ns()
            for _ in links:
                derived.store("enterprise", file)
            ended = time.process_time_ns()
        finally:
            gc.enable()
        rows.append({"open_hazards": hazards, "proposals": proposals, "stored_bytes": len(raw),
                     "decide_us": round(Clock.net(middle - started, probe) / 1000 / probe, 1),
                     "store_us": round(Clock.net(ended - middle, probe) / 1000 / probe, 1)})
    return rows


def as_worker(events: int) -> dict[str, Any]:
    """µs per workload event of the decide stage as a worker wires it, by kind of subject.

    `mixed` times the bare hazard and alert cores, the path issue 12 set its target
    on. A worker decides more for the same events: each hazard's and alert's
    decision also files what changed under its enterprise (a link, a timeline
    entry of the enterprise), the enterprise files and the annual plan's towns
    are decided too, and every stored state updates the deadline index, the
    gauges and the feeds' place index (`Derived.store`, which packs it). Here the
    timeline goes through the cores of `build_cores` a record at a time, each
    link decided right after the entry that sent it, as a batch of one record
    would; `decode` reads the stored bytes, `decide` is the core with its links,
    `outputs` encodes what it sends, `store` is `Derived.store` and then dropping
    the decoded state (until 2026-12-07 the next record's timers paid that: a
    hazard's decision was charged 7-8 µs for freeing the enterprise file decided
    before it). No broker, no table writes, no metrics or logs. Nothing stays decoded from one record to
    the next: the runtime keeps enterprise files decoded across batches and
    encodes each once per commit (engine/stream/held.py), so their `decode` and
    `store` here are what it pays at worst, with batches of one record.
    """
    settings = Settings()
    rules = load_rules(settings.rules_dir)
    alert_rules = load_alert_rules(settings.rules_dir, rules.reference)
    plan = optional_plan(settings.rules_dir, rules.reference)
    cores = build_cores(rules, alert_rules, plan)
    derived = Derived.build(cores, rules, START.timestamp)
    items = build(events)
    # The annual plan's towns first, as a worker seeds them when it starts (`Runtime._seed_plan`).
    seeds = [codec.dumps(e) for e in seed_entries(plan.annual)] if "plan" in cores else []
    entries = seeds + intake(items, rules, Clock())
    tables: dict[str, dict[bytes, bytes]] = {kind: {} for kind in cores}
    histories: dict[str, dict[bytes, bytes]] = {kind: {} for kind in cores if kind in HISTORY_TABLES}
    ns: dict[str, dict[str, int]] = {kind: dict.fromkeys(("decode", "decide", "outputs", "store"), 0)
                                     for kind in cores}
    counts: dict[str, int] = dict.fromkeys(cores, 0)
    clock = time.process_time_ns
    queue, offset = list(reversed(entries)), 0
    while queue:
        entry = codec.loads(queue.pop())  # the timeline record read back: not timed
        entry["position"] = {"topic": TIMELINE, "partition": 0, "offset": offset}
        offset += 1
        core = cores.get(entry["subject_kind"])
        if core is None:
            continue  # no rules act on its kind
        kind, key, parts = core.kind, entry["subject"].encode(), ns[core.kind]
        history = histories.get(kind)
        raw = tables[kind].get(key)
        t0 = clock()
        state = (None if raw is None else core.decode(raw) if history is None
                 else core.decode(raw, history=history))
        t1 = clock()
        new, outs = (core.decide_owned or core.decide)(state, entry)
        t2 = clock()
        values = [record_value(out) for out in outs]
        t3 = clock()
        chunks: dict[int, bytes] | None = {} if history is not None else None
        tables[kind][key] = derived.store(kind, new, chunks)
        state = new = None  # freed here, not inside the next record's decode or decision
        t4 = clock()
        parts["decode"] += t1 - t0
        parts["decide"] += t2 - t1
        parts["outputs"] += t3 - t2
        parts["store"] += t4 - t3
        counts[kind] += 1
        if history is not None and chunks:
            history.update((chunk_key(key, n), value) for n, value in chunks.items())
        # Links (entries of the enterprise's or the town's timeline) next, as the batch takes them.
        queue += reversed([value for out, value in zip(outs, values, strict=True) if out.topic == TIMELINE])
    for kind, parts in ns.items():  # each part's time holds one of the clock's own gaps a decision
        for part in parts:
            parts[part] = Clock.net(parts[part], counts[kind])
    per_event = {kind: {part: round(v / 1000 / len(items), 1) for part, v in parts.items()}
                 for kind, parts in ns.items()}
    return {"events": len(items), "decisions": counts, "us_per_event": per_event,
            "total_us_per_event": round(sum(sum(p.values()) for p in ns.values()) / 1000 / len(items), 1)}


def run(events: int, probe: int, rounds: int = 5) -> dict[str, Any]:
    """The three measurements."""
    path = Path_(Settings())
    return {"mixed": mixed(path, events, rounds), "as_worker": as_worker(events),
            "enterprise": enterprise_sizes(max(probe, 300)),
            "history": {"hazard": history(path, "hazard", hazard_events(5_000 + probe), probe),
                        "alert": history(path, "alert", alert_events(5_000 + probe), probe)},
            # The same, the history kept whole in the record (format 1): before and after, one run.
            "history_whole": {"hazard": history(path, "hazard", hazard_events(5_000 + probe), probe, False),
                              "alert": history(path, "alert", alert_events(5_000 + probe), probe, False)}}


def _cell(value: Any) -> str:
    return "-" if value is None else f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def report(now: dict[str, Any], before: dict[str, Any] | None) -> str:
    """The figures as two tables, an earlier run's beside this one's when given."""
    def col(doc: dict[str, Any] | None, pick: Callable[[dict[str, Any]], Any]) -> str:
        try:
            return _cell(pick(doc)) if doc is not None else "-"
        except (KeyError, IndexError, TypeError):
            return "-"

    lines = [f"pure path over the mixed workload ({now['mixed']['events']:,} events, "
             f"{now['mixed']['timeline_entries']:,} timeline entries), µs per event",
             f"{'part':<16}{'before':>10}{'now':>10}"]
    def part_of(name: str) -> Callable[[dict[str, Any]], Any]:
        if name == "total":
            return lambda d: d["mixed"]["total_us_per_event"]
        return lambda d: d["mixed"]["us_per_event"][name]

    for part in (*PARTS, "total"):
        lines.append(f"{part:<16}{col(before, part_of(part)):>10}{col(now, part_of(part)):>10}")
    mixed_now = now["mixed"]
    if "rounds_us_per_event" in mixed_now:
        lines += [f"now: the median of {len(mixed_now['rounds_us_per_event'])} rounds after a cold one ("
                  + ", ".join(map(_cell, mixed_now["rounds_us_per_event"])) + "), net of the clock's own "
                  f"{mixed_now['clock_ns_per_timing']:,} ns a timing ({mixed_now['timings_per_event']} "
                  "timings an event)",
                  f"cold round, the clock's cost in (as earlier runs and --before measure): "
                  f"{_cell(mixed_now['cold_total_us_per_event'])}"]
    if "as_worker" in now:
        worker = now["as_worker"]
        lines += ["", "the decide stage as a worker wires it (links, enterprise files, plan towns, "
                      "views), µs per workload event; decisions: "
                      + ", ".join(f"{kind} {n:,}" for kind, n in worker["decisions"].items()),
                  f"{'subject':<12}{'decode':>9}{'decide':>9}{'outputs':>9}{'store':>9}{'total':>9}"]
        for kind, parts in worker["us_per_event"].items():
            lines.append(f"{kind:<12}" + "".join(f"{_cell(v):>9}" for v in parts.values())
                         + f"{_cell(sum(parts.values())):>9}")
        lines.append(f"{'all':<12}{'':>36}{_cell(worker['total_us_per_event']):>9}"
                     f"   (intake adds {_cell(now['mixed']['us_per_event']['intake'])})")
    if "enterprise" in now:
        lines += ["", "one hazard's link to its enterprise's file against what the file holds, µs "
                      "(decide: the core, from the decoded file; store: pack and views)",
                  f"{'open':>6}{'proposals':>11}{'bytes':>9}{'decide before':>15}{'decide now':>12}"
                  f"{'store before':>14}{'store now':>11}"]
        for i, row in enumerate(now["enterprise"]):
            lines.append(f"{row['open_hazards']:>6,}{row['proposals']:>11,}{row['stored_bytes']:>9,}"
                         f"{col(before, lambda d, i=i: d['enterprise'][i]['decide_us']):>15}"
                         f"{_cell(row['decide_us']):>12}"
                         f"{col(before, lambda d, i=i: d['enterprise'][i]['store_us']):>14}"
                         f"{_cell(row['store_us']):>11}")
    lines += ["", "decide stage per event (decode, decide, outputs, pack) against history length",
              f"{'subject':<8}{'history':>9}{'µs before':>12}{'µs now':>10}{'bytes before':>14}"
              f"{'bytes now':>12}"]
    for kind in ("hazard", "alert"):
        for i, row in enumerate(now["history"][kind]):
            lines.append(f"{kind:<8}{row['history']:>9,}"
                         f"{col(before, lambda d, k=kind, i=i: d['history'][k][i]['us_per_event']):>12}"
                         f"{_cell(row['us_per_event']):>10}"
                         f"{col(before, lambda d, k=kind, i=i: d['history'][k][i]['stored_bytes']):>14}"
                         f"{_cell(row['stored_bytes']):>12}")
    if "history_whole" not in now:
        return "\n".join(lines)
    lines += ["", "in this run: the history whole in the record (format 1) | in chunks apart (format 2)",
              f"{'subject':<8}{'history':>9}{'µs whole':>10}{'µs chunks':>11}{'record whole':>14}"
              f"{'record':>9}{'chunks':>10}{'written whole':>15}{'written':>9}"]
    for kind in ("hazard", "alert"):
        for row, whole in zip(now["history"][kind], now["history_whole"][kind], strict=True):
            lines.append(f"{kind:<8}{row['history']:>9,}{_cell(whole['us_per_event']):>10}"
                         f"{_cell(row['us_per_event']):>11}{_cell(whole['stored_bytes']):>14}"
                         f"{_cell(row['stored_bytes']):>9}{_cell(row['history_bytes']):>10}"
                         f"{_cell(whole['written_bytes_per_event']):>15}"
                         f"{_cell(row['written_bytes_per_event']):>9}")
    lines.append("(record: the state's table record; chunks: its history table's bytes; written: "
                 "bytes a decision writes to the changelogs, on average)")
    return "\n".join(lines)


def measure_commit(commit: str, events: int, probe: int) -> dict[str, Any]:
    """`bench.core`'s figures for another commit of this repository, measured now on this machine:
    its own `bench/core.py`, run in a temporary worktree of it."""
    def run_(cmd: list[str], **options: Any) -> None:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, **options)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:4])} ... failed ({done.returncode}): "
                               f"{(done.stderr or done.stdout)[-2000:]}")

    with tempfile.TemporaryDirectory(prefix="bench-core-before-") as scratch:
        tree, out = Path(scratch) / "tree", Path(scratch) / "before.json"
        git = ["git", "-C", str(REPO_ROOT)]
        run_([*git, "worktree", "add", "--detach", "--quiet", str(tree), commit])
        try:
            # Its report goes nowhere: the JSON is what is printed beside this run (and its
            # baseline is a file that does not exist, so it reads none). On the path first, the
            # worktree's own engine is the one imported.
            run_([sys.executable, "-m", "bench.core", "--events", str(events), "--probe", str(probe),
                  "--baseline", str(out.with_suffix(".none")), "--out", str(out)],
                 cwd=tree, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree)})
            return json.loads(out.read_text())
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=False,
                           capture_output=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.core", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="events of the mixed workload")
    parser.add_argument("--probe", type=int, default=50, help="events timed at each history length")
    parser.add_argument("--rounds", type=int, default=5, help="timed passes of the mixed workload "
                        "after the cold one; the median is reported")
    parser.add_argument("--baseline", type=Path, default=BASELINE, help="an earlier run's JSON")
    parser.add_argument("--before", metavar="COMMIT", help="measure this commit now, on this machine, "
                        "and print it as 'before' (instead of --baseline); it needs a bench/core.py")
    parser.add_argument("--out", type=Path, default=None, help="write this run's figures as JSON")
    args = parser.parse_args(argv)
    if args.before is not None:
        before = measure_commit(args.before, args.events, args.probe)
        print(f"before: {args.before}, measured in this run")
    else:
        before = json.loads(args.baseline.read_text()) if args.baseline.exists() else None
    now = run(args.events, args.probe, args.rounds)
    print(report(now, before))
    if args.out is not None:
        args.out.write_text(json.dumps(now, indent=2) + "\n")
        print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
