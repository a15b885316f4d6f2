"""Latency from a field app's send to the engine's output, joined record by record.

The clock starts at the intake record's timestamp, which the broker sets as it
appends the record (the intake topics are LogAppendTime; before 2026-12-04 the
publisher's producer stamped it, up to its 5 ms linger earlier), and stops at
the output record's produce timestamp, stamped by the worker. Both clocks are
this machine's, so no skew enters.

- Intake (rung 3): the output is the event's timeline entry, found by the
  entry's `origin` {topic, partition, offset}; an inspection writes two entries
  and counts when its last one is written.
- Full engine (rung 4): the output is an escalation. Its `data.caused_by`
  names the timeline entry that caused it when an event did it directly (an
  alert raised, a claim too late); an overdue-ladder step that a late
  completion fires names its clock instead, so the cause is then the subject's
  latest timeline entry written before the escalation: the field event that
  moved the hazard's time past the deadline. The worker's own clock is frozen,
  so no timer fires anything.

Only records produced in the steady part of a paced window count: the first
part of each window is warm-up.
"""

from __future__ import annotations

import bisect
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.harness import read_all

Position = tuple[str, int, int]  # topic, partition, offset
Sample = tuple[int, int]  # when the input was sent (ms), and its latency (ms)


@dataclass(frozen=True, slots=True)
class Rec:
    """What the latency joins need of a consumed record."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes

    @property
    def position(self) -> Position:
        """Where the record sits."""
        return (self.topic, self.partition, self.offset)


@dataclass(frozen=True, slots=True)
class Window:
    """A paced run: publishing went from `start` to `end` (epoch seconds), after `warmup` s of warm-up."""

    start: float
    end: float
    warmup: float

    def steady(self, timestamp_ms: int) -> bool:
        """Whether a record produced at `timestamp_ms` belongs to the steady part."""
        return (self.start + self.warmup) * 1000 <= timestamp_ms <= self.end * 1000


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), interpolating linearly between the closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(latencies_ms: Sequence[float]) -> dict[str, Any]:
    """Sample count, p50, p99 and max of latencies in milliseconds."""
    return {"samples": len(latencies_ms),
            "p50_ms": round(percentile(latencies_ms, 50), 1),
            "p99_ms": round(percentile(latencies_ms, 99), 1),
            "max_ms": round(max(latencies_ms), 1) if latencies_ms else math.nan}


def _origin(entry: dict[str, Any]) -> Position:
    o = entry["origin"]
    return (o["topic"], o["partition"], o["offset"])


def growth_ms(samples: Sequence[Sample]) -> float | None:
    """How much the median latency rose from the first quarter of a window's sends to the last.

    A worker that keeps pace has no trend: its latency is as long at the end of
    the window as at the start. One that does not builds a backlog, and the
    latency of what was sent last includes all of it. None: too few samples.
    """
    ordered = sorted(samples)
    quarter = len(ordered) // 4
    if quarter < 8:
        return None
    first = percentile([lat for _, lat in ordered[:quarter]], 50)
    last = percentile([lat for _, lat in ordered[-quarter:]], 50)
    return last - first


def intake_latencies(inputs: Iterable[Rec], timeline: Iterable[Rec], window: Window) -> list[Sample]:
    """(send time, milliseconds to its last timeline entry) of each steady input."""
    written: dict[Position, int] = {}
    for rec in timeline:
        origin = _origin(json.loads(rec.value))
        written[origin] = max(written.get(origin, 0), rec.timestamp_ms)
    return [(r.timestamp_ms, written[r.position] - r.timestamp_ms) for r in inputs
            if window.steady(r.timestamp_ms) and r.position in written]


def escalation_causes(timeline: Iterable[Rec], escalations: Iterable[Rec]
                      ) -> tuple[list[tuple[int, Position]], dict[str, int]]:
    """Each escalation's timestamp and the input record that caused it, and how causes were found."""
    by_id: dict[str, Position] = {}
    by_subject: dict[str, list[tuple[int, Position]]] = defaultdict(list)
    for rec in timeline:
        entry = json.loads(rec.value)
        if "origin" not in entry:
            continue  # a clock's entry; none comes while the worker's clock is frozen
        by_id[entry["entry_id"]] = _origin(entry)
        by_subject[entry["subject"]].append((rec.timestamp_ms, _origin(entry)))
    for entries in by_subject.values():
        entries.sort()
    causes: list[tuple[int, Position]] = []
    joined = {"by_caused_by": 0, "by_subject": 0, "unjoined": 0}
    for rec in escalations:
        event = json.loads(rec.value)
        named = event["data"].get("caused_by") or []
        origin = by_id.get(named[0]) if named else None
        if origin is not None:
            joined["by_caused_by"] += 1
        else:
            entries = by_subject.get(event["subject"], [])
            i = bisect.bisect_right(entries, rec.timestamp_ms, key=lambda e: e[0])
            origin = entries[i - 1][1] if i else None
            joined["by_subject" if origin else "unjoined"] += 1
        if origin is not None:
            causes.append((rec.timestamp_ms, origin))
    return causes, joined


def escalation_latencies(inputs: Iterable[Rec], causes: Iterable[tuple[int, Position]],
                         window: Window) -> list[Sample]:
    """(send time of the causing input, milliseconds to the escalation), for steady inputs."""
    sent = {r.position: r.timestamp_ms for r in inputs}
    return [(sent[origin], at - sent[origin]) for at, origin in causes
            if origin in sent and window.steady(sent[origin])]


async def read_records(bootstrap: str, topics: Iterable[str]) -> list[Rec]:
    """Every record of the topics, from the beginning."""
    out: list[Rec] = []
    for topic in topics:
        out += [Rec(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value)
                for r in await read_all(bootstrap, topic, settle=2.0, timeout=300)]
    return out
