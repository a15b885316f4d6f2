"""`python -m bench.fixed_pace [--rate R] [--drain N] [--tag T]`: one tree at fixed paces, for an A/B.

The ladder puts its latency windows at shares of the rate the worker drained,
so two trees (or two runs of one tree on a machine whose speed moves) are
measured at different paces and their latencies cannot be set side by side.
This drains `--drain` events (the rate and CPU a backlog gets), then feeds the
worker at 50% and 80% of a fixed `--rate` for `--seconds` each and prints one
JSON line: the drain, and per pace the worker's cores and CPU per million
events, the machine's busy cores (the broker shares them) and p50/p99 produce
to escalation. Run it from each tree's directory in turn (a `git worktree` of
the other commit, with this file copied in if it predates it), alternating,
so that the machine's drift falls on both.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.ladder import engine_rung
from bench.workload import build

POINT_KEYS = ("target_rate", "achieved_rate", "saturated", "worker_cores", "machine_busy_cores",
              "cpu_s_per_million", "p50_ms", "p99_ms", "timeline_entries", "stores")


def run(bootstrap: str, root: Path, drain: int, rate: float, seconds: float) -> dict[str, Any]:
    """The drained rate of `drain` events, then the worker at 50% and 80% of `rate` (rung 4 of the
    ladder with its paces fixed)."""
    items = build(drain + int(rate * 1.3 * seconds) + 1_000)
    rung = engine_rung(bootstrap, root, items, drain, True, seconds, name="fixed pace", latency_rate=rate)
    figures = rung.as_dict()
    drained = {"events": drain, "events_per_s": round(rung.events_per_s),
               "cpu_s_per_million": round(rung.cpu_s_per_million),
               "worker_cores": figures["cores_used"],
               "machine_busy_cores": round(rung.usage.machine_busy_cores, 2)}
    return {"drain": drained, "paced": [{k: p[k] for k in POINT_KEYS if k in p} for p in rung.latency]}


def main(argv: Sequence[str] | None = None) -> None:
    from engine.broker.session import broker_session

    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--rate", type=float, default=3_000.0, help="events/s the paces are shares of")
    args.add_argument("--seconds", type=float, default=20.0, help="length of each paced window")
    args.add_argument("--drain", type=int, default=40_000, help="events drained first")
    args.add_argument("--tag", default="", help="a name for this run in its JSON line")
    args.add_argument("--workdir", type=Path, default=None,
                      help="where the worker keeps its data (default: a temporary directory)")
    opts = args.parse_args(argv)
    with broker_session() as bootstrap, tempfile.TemporaryDirectory(prefix="fixed-pace-") as tmp:
        result = run(bootstrap, opts.workdir or Path(tmp), opts.drain, opts.rate, opts.seconds)
    print(json.dumps({"tag": opts.tag, "rate": opts.rate, **result}))


if __name__ == "__main__":
    main()
