"""Scale-out: the full engine with one worker, then two, on the 4-partition topics.

Both runs start their workers on empty topics, wait until every worker holds
partitions, and only then send the events in one burst, so no rebalance falls
inside what is measured. The combined rate comes from the records'
timestamps, as on the ladder; each worker's /metrics page says which intake
partitions it held and how many records it handled.

The machine has few cores and the broker shares them, so a second worker
cannot double the rate; `explain` says how much of the shortfall the cores
account for, and what else does.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.ladder import Engine, drain_usage, prepare
from bench.workload import Item, prefill


def _run(bootstrap: str, root: Path, items: Sequence[Item], workers: int) -> dict[str, Any]:
    ns = prepare(bootstrap, root, f"scaleout-{workers}", [])
    try:
        with Engine(ns, workers=workers) as engine:
            engine.wait_assigned()
            asyncio.run(prefill(bootstrap, ns.prefix, list(items)))
            usage = drain_usage(engine)
            spread = engine.spread()
    finally:
        asyncio.run(ns.delete_topics())
    return {"workers": workers, "events": len(items),
            "events_per_s": round(len(items) / usage.seconds, 1),
            "seconds": round(usage.seconds, 2),
            "cpu_s_per_million": round(usage.cpu_seconds / len(items) * 1e6, 1),
            "worker_cores": round(usage.cpu_seconds / usage.seconds, 2),
            "broker_cores": (round(usage.broker_cpu_seconds / usage.seconds, 2)
                             if usage.broker_cpu_seconds is not None else None),
            "machine_busy_cores": round(usage.machine_busy_cores, 2),
            "peak_rss_mb": round(usage.peak_rss_bytes / 2**20, 1),
            "spread": spread}


def explain(one: dict[str, Any], two: dict[str, Any], cores: int) -> dict[str, float]:
    """Split the shortfall of two workers from twice one worker's rate into its causes, in events/s.

    At one worker's CPU per event, twice its rate needs twice its cores. The
    cores the two workers got fewer than that were either taken (the machine
    had none idle: the broker and the neighbours used them) or left idle (the
    workers waited: for the broker's acknowledgements, for each other). What
    is left is that each event cost more CPU with two workers. The three add
    up to the shortfall exactly.
    """
    cpu_per_event = one["cpu_s_per_million"] / 1e6
    short = 2 * one["worker_cores"] - two["worker_cores"]
    idle = max(0.0, cores - two["machine_busy_cores"])
    taken = min(max(0.0, short - idle), max(short, 0.0))
    return {"ideal_events_per_s": round(2 * one["events_per_s"], 1),
            "lost_to_cores_taken": round(taken / cpu_per_event, 1),
            "lost_to_cores_left_idle": round((short - taken) / cpu_per_event, 1),
            "lost_to_cpu_per_event": round(two["worker_cores"] / cpu_per_event - two["events_per_s"], 1)}


def run(bootstrap: str, root: Path, items: Sequence[Item],
        say: Callable[[str], None] = print) -> dict[str, Any]:
    """One worker, then two, on the same events; the rates, the spread and what CPU explains."""
    runs = []
    for workers in (1, 2):
        say(f"scale-out: {workers} worker(s), {len(items)} events")
        runs.append(_run(bootstrap, root, items, workers))
        say(f"  {runs[-1]['events_per_s']:,.0f} events/s")
    one, two = runs
    cores = os.cpu_count() or 1
    return {"runs": runs, "cores": cores, "speedup": round(two["events_per_s"] / one["events_per_s"], 2),
            **explain(one, two, cores)}
