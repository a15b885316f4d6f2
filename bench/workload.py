"""The benchmark's workload: realistic contract events, mixed as the demo mixes them, and how to send them.

Every rung reads the same events: the simulated district's hazards
(engine/simulate.py: reports, inspections, verifications, plans, completions,
reviews) with one first-responder alert (警情, `safety.alert.*`) for every 40
hazards, as the demo has one night-market fire beside its 40 hazards. The
events go to the four intake topics the contract assigns them, keyed by
subject; the topics are created from topics/topics.yaml first, so they have
the engine's partitions and settings.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from engine.contract.envelope import EVENT_TYPES, INTAKE_TOPICS
from engine.settings import Settings
from engine.simulate import DAY, District
from engine.tools.kafka import producer
from engine.topics import ensure_topics, load_topics

START = datetime.fromisoformat("2026-01-05T08:00:00+08:00")  # a Monday, inside the holiday data
SEED = 20260105
HAZARDS_PER_ALERT = 40  # the demo: one incident beside 40 simulated hazards
EVENTS_PER_HAZARD = 3.6  # about what the district generates; only used to size the generation
HAZARDS_PER_DAY = 150  # a busy district: every field app of every town at work


@dataclass(frozen=True, slots=True)
class Item:
    """One event ready to send: its intake topic (without prefix), key and JSON bytes."""

    topic: str
    key: bytes
    value: bytes
    type: str


def _alert(n: int, at: int) -> list[tuple[int, dict[str, Any]]]:
    """One incident as the demo's night-market fire goes: raised, updated, acknowledged, closed."""
    alert_id = f"AL-BENCH-{n:05d}"
    grid = ("HX-11", "huxi") if n % 2 else ("LHW-03", "lihaiwu")
    duty = {"id": "duty-1", "role": "info_officer"}
    steps: list[tuple[int, str, dict[str, Any]]] = [
        (0, "safety.alert.raised", {
            "kind": "fire", "location": {"town": grid[1], "grid": grid[0],
                                         "address": f"Market {n}, stall row C"},
            "casualties": {"dead": 0, "missing": 1, "seriously_injured": 2, "injured": 5, "trapped": 3},
            "people_to_evacuate": 400, "crowded_place": True,
            "description": "Fire spreading along stall row C; smoke in the covered walkway.",
            "reporter": {"id": "gw-1102", "role": "grid_worker"}, "post": "A"}),
        (20 * 60, "safety.alert.updated", {
            "casualties": {"dead": 2, "missing": 2, "seriously_injured": 6, "trapped": 5},
            "note": "Roof of row C collapsed"}),
        (27 * 60, "safety.alert.acknowledged", {"unit": "fire_rescue", "by": duty}),
        (35 * 60, "safety.alert.acknowledged", {"unit": "district_emergency", "by": duty}),
        (45 * 60, "safety.alert.updated", {
            "casualties": {"dead": 8, "missing": 3, "seriously_injured": 12, "trapped": 0}}),
        (7 * 3600, "safety.alert.closed", {"note": "Fire out, site handed over", "by": duty}),
    ]
    tz = START.tzinfo
    return [(at + offset, {
        "specversion": "1.0", "id": f"{alert_id}-{i}", "source": f"/apps/grid/{grid[0]}",
        "type": type_, "time": datetime.fromtimestamp(at + offset, tz).isoformat(),
        "subject": alert_id, "data": {"alert_id": alert_id, **data}})
        for i, (offset, type_, data) in enumerate(steps)]


def build(count: int, seed: int = SEED) -> list[Item]:
    """The first `count` events of the district's workload, in the order their times come."""
    hazards = int(count / EVENTS_PER_HAZARD * 1.3) + 10  # generate a margin, then cut at `count`
    days = hazards / HAZARDS_PER_DAY
    planned = [(p.at, p.event) for p in District(START, seed=seed).events(hazards, days)]
    alerts = hazards // HAZARDS_PER_ALERT
    for n in range(alerts):
        planned += _alert(n, int(START.timestamp() + (n + 0.5) * days * DAY / alerts))
    planned.sort(key=lambda pair: pair[0])
    if len(planned) < count:
        raise ValueError(f"the district made {len(planned)} events, fewer than {count}")
    return [Item(EVENT_TYPES[e["type"]].topic, e["subject"].encode(),
                 json.dumps(e, ensure_ascii=False).encode(), e["type"])
            for _, e in planned[:count]]


def frozen_clock_env() -> dict[str, str]:
    """A worker environment whose clock stands still a day before the first event.

    No deadline ever comes due on the timer, so the full engine decides only
    what the events themselves bring: a completion claimed late fires the
    overdue ladder (escalations) the moment it is applied.
    """
    before = (START - timedelta(days=1)).isoformat()
    # The events are ahead of that clock by design: intake takes them whatever their time.
    return {"HAZARD_CLOCK_START": before, "HAZARD_CLOCK_END": before, "HAZARD_FUTURE_S": "0"}


def describe(items: list[Item]) -> dict[str, Any]:
    """Sizes and mix of a workload, as the docs state them."""
    sizes = [len(i.value) for i in items]
    return {
        "events": len(items),
        "bytes_min": min(sizes), "bytes_median": int(statistics.median(sizes)),
        "bytes_mean": round(statistics.fmean(sizes)), "bytes_max": max(sizes),
        "by_topic": dict(Counter(i.topic for i in items).most_common()),
        "by_type": dict(Counter(i.type for i in items).most_common()),
    }


async def create_topics(bootstrap: str, prefix: str, app_id: str) -> None:
    """Create a namespace's topics as the worker would, so pre-filled topics have its partitions."""
    settings = Settings()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await ensure_topics(admin, load_topics(settings.topics_file, app_id, prefix),
                            settings.replication_factor, settings.min_insync_replicas)
    finally:
        await admin.close()


async def prefill(bootstrap: str, prefix: str, items: list[Item], chunk: int = 5000) -> None:
    """Send every item as fast as the producer goes, acknowledged by the broker before returning."""
    async with producer(bootstrap) as prod:
        for start in range(0, len(items), chunk):
            futures = [await prod.send(prefix + i.topic, i.value, key=i.key)
                       for i in items[start:start + chunk]]
            await asyncio.gather(*futures)


def due(rate: float, elapsed: float, total: int) -> int:
    """How many events a publisher pacing `rate` per second should have sent after `elapsed` s."""
    return min(total, max(0, int(rate * elapsed) + 1))


async def paced(bootstrap: str, prefix: str, items: list[Item], rate: float,
                tick: float = 0.005) -> tuple[float, float]:
    """Send the items at `rate` per second; return the wall-clock start and end (epoch seconds).

    Each record is stamped by the broker as it is appended (the intake topics
    are LogAppendTime), so the latency the ladder measures starts when the
    event reaches the broker, as the engine's duty clocks do.
    """
    async with producer(bootstrap) as prod:
        futures = []
        started, sent = time.monotonic(), 0
        wall_start = time.time()
        while sent < len(items):
            for item in items[sent:due(rate, time.monotonic() - started, len(items))]:
                futures.append(await prod.send(prefix + item.topic, item.value, key=item.key))
                sent += 1
            await asyncio.sleep(tick)
        wall_end = time.time()
        await asyncio.gather(*futures)
    return wall_start, wall_end


def intake_topics(prefix: str) -> list[str]:
    """The physical names of the four intake topics in a namespace."""
    return [prefix + t for t in INTAKE_TOPICS]
