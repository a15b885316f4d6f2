"""`python -m bench [--quick] [--out FILE]`: the whole benchmark in one command.

It uses $KAFKA_BOOTSTRAP_SERVERS, or starts the local broker through the
project's broker code; installs kcat as `hazard-engine setup` does when it is
missing; then runs the ladder (bench/ladder.py), the scale-out
(bench/scaleout.py), the profile (bench/profile.py) and, when its module is
there, a million clocks (bench/clocks.py). It prints tables and writes every
figure as JSON. docs/benchmarks.md explains the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import http, ladder, profile, scaleout
from bench.workload import build, describe
from engine.broker import broker_session
from engine.broker.install import KAFKA_VERSION
from engine.metrics import BATCH_PHASES
from engine.settings import REPO_ROOT

DEFAULT_OUT = REPO_ROOT / "bench" / "results" / "latest.json"
TARGETS = {"share_of_aiokafka": 0.5, "events_per_s_per_worker": 10_000, "p99_ms_at_50pct": 100}


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much each step does: events per rung, seconds per latency point and profile."""

    raw_events: int  # rungs 1 and 2
    intake_events: int  # rung 3
    # Rung 4 and scale-out. A drain of 10,000 took 3.4 s on a quick host, half of it filling the
    # pipeline (0.48 cores, 2,927 events/s, where 40,000 ran 7,163 at 0.94): too short to be the
    # worker's maximum, and the latency windows are taken at shares of it.
    full_events: int
    latency_events: int  # the events after rung 4's drain that its latency windows can use
    latency_s: float  # each latency point
    profile_s: float
    core_events: int  # the pure core, timed without Kafka
    info_rung: bool  # rung 4 again with HAZARD_LOG_LEVEL=info
    http_events: int  # the HTTP intake beside the Kafka intake (bench/http.py)


FULL = Sizes(200_000, 40_000, 40_000, 360_000, 30, 40, 20_000, True, 10_000)
QUICK = Sizes(20_000, 5_000, 1_500, 18_500, 10, 10, 3_000, False, 2_000)
STEPS = ("ladder", "scaleout", "profile", "clocks", "http")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table: text left-aligned, numbers right-aligned with thousands separators."""
    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return str(value)

    cells = [[cell(v) for v in row] for row in rows]
    numeric = [all(isinstance(row[i], int | float) or row[i] is None for row in rows) and bool(rows)
               for i in range(len(headers))]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def _latency(rung: dict[str, Any], load: float) -> str | None:
    point = next((p for p in rung["latency"] if p["load"] == load), None)
    if not point or not point["samples"]:
        return None
    if point.get("saturated"):
        return "saturated"
    return f"{point['p50_ms']:.0f} / {point['p99_ms']:.0f}"


def _kept_pace(rung: dict[str, Any]) -> str | None:
    """The highest paced load without a growing backlog, when it is below a quoted load."""
    points = [p for p in rung["latency"] if p["samples"] and not p.get("saturated")]
    if not points or not any(p.get("saturated") for p in rung["latency"]):
        return None
    best = max(points, key=lambda p: p["load"])
    return f"{best['load']:.0%}: {best['p50_ms']:.0f} / {best['p99_ms']:.0f}"


def ladder_table(rungs: list[dict[str, Any]]) -> str:
    """The ladder as a table; the ratio column compares each rung with the bare aiokafka client."""
    client = next((r["events_per_s"] for r in rungs if r["name"].startswith("2 ")), None)
    return format_table(
        ["rung", "events", "events/s", "x aiokafka", "CPU-s/M", "events/CPU-s", "peak RSS MB", "cores",
         "machine busy", "p50/p99 ms @50%", "p50/p99 ms @80%", "highest paced load kept"],
        [[r["name"], r["events"], r["events_per_s"], r["events_per_s"] / client if client else None,
          r["cpu_s_per_million"], r["events_per_cpu_s"], r["peak_rss_mb"], r["cores_used"],
          r["machine_busy_cores"], _latency(r, 0.5), _latency(r, 0.8), _kept_pace(r)]
         for r in rungs])


def phases_table(rungs: list[dict[str, Any]]) -> str | None:
    """Where each latency window's batches spent the worker's wall time, as shares of it (from the
    window's start to the end of its drain); None when no window recorded its phases."""
    rows = [[r["name"], f"{p['load']:.0%}", p["target_rate"], "yes" if p.get("saturated") else "no",
             *(f"{100 * p['batch_phases_s'].get(phase, 0) / total:.0f}%" for phase in BATCH_PHASES)]
            for r in rungs for p in r.get("latency", ())
            if (total := sum(p.get("batch_phases_s", {}).values())) > 0]
    if not rows:
        return None
    return format_table(["rung", "load", "events/s", "saturated", *BATCH_PHASES], rows)


def scaleout_table(result: dict[str, Any]) -> str:
    """One row per run of the scale-out, with how the intake partitions were spread."""
    def spread(run: dict[str, Any]) -> str:
        def held(worker: dict[str, Any]) -> str:
            return ",".join(map(str, sorted({p for ps in worker["partitions"].values() for p in ps})))

        return "; ".join(f"w{w['worker']}: p{held(w)} {w['intake_records']:,} rec" for w in run["spread"])

    return format_table(["workers", "events/s", "CPU-s/M", "worker cores", "broker cores", "machine busy",
                         "partitions"],
                        [[r["workers"], r["events_per_s"], r["cpu_s_per_million"], r["worker_cores"],
                          r["broker_cores"], r["machine_busy_cores"], spread(r)] for r in result["runs"]])


def targets(rungs: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's goals against the full engine's figures: met or not, and by what factor."""
    by = {r["name"].split()[0]: r for r in rungs}
    full, client = by.get("4"), by.get("2")
    if full is None:
        return {}
    out: dict[str, Any] = {}
    if client:
        share = full["events_per_s"] / client["events_per_s"]
        out["share_of_aiokafka"] = {"goal": TARGETS["share_of_aiokafka"], "measured": round(share, 4),
                                    "met": share >= TARGETS["share_of_aiokafka"]}
    rate = full["events_per_s"]
    out["events_per_s_per_worker"] = {"goal": TARGETS["events_per_s_per_worker"], "measured": rate,
                                      "met": rate >= TARGETS["events_per_s_per_worker"],
                                      "times_short": round(TARGETS["events_per_s_per_worker"] / rate, 1)}
    half = next((p for p in full["latency"]
                 if p["load"] == 0.5 and p["samples"] and not p.get("saturated")), None)
    if half:
        out["p99_ms_at_50pct"] = {"goal": TARGETS["p99_ms_at_50pct"], "measured": half["p99_ms"],
                                  "met": half["p99_ms"] <= TARGETS["p99_ms_at_50pct"]}
    return out


def _git_commit() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT,
                               capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+uncommitted changes" if dirty else "")


def run_info(bootstrap: str, quick: bool) -> dict[str, Any]:
    """Where and when the run happened, so figures can be compared with their context."""
    return {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": socket.gethostname(),
            "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg(),
            "python": platform.python_version(), "kernel": platform.release(),
            "kafka": KAFKA_VERSION if ladder.broker_pid(bootstrap) else "external broker",
            "bootstrap": bootstrap, "quick": quick, "commit": _git_commit()}


def ensure_kcat(say: Callable[[str], None]) -> None:
    """Install kcat as `hazard-engine setup` installs its Debian tools, when it is missing."""
    if shutil.which("kcat"):
        return
    from engine.tools import setup

    say("kcat is missing: installing it with `hazard-engine setup`")
    if setup.run(bench=True) != 0:
        say("kcat could not be installed; rung 1 will be skipped")


def _step(report: dict[str, Any], name: str, say: Callable[[str], None], work: Callable[[], Any]) -> Any:
    """Run one step; a failure is reported and recorded, and the other steps still run."""
    try:
        report[name] = work()
    except Exception as exc:  # a benchmark step failing must not lose the others' figures
        say(f"{name} failed: {exc!r}\n{traceback.format_exc()}")
        report[name] = {"error": repr(exc)}
    return report[name]


def _clocks(bootstrap: str, root: Path, quick: bool, say: Callable[[str], None]) -> dict[str, Any]:
    try:
        from bench import clocks
    except ImportError as exc:
        say(f"clocks skipped: {exc}")
        return {"skipped": str(exc)}
    say("clocks: a million open hazards (bench/clocks.py)" + (", quick" if quick else ""))
    return clocks.run(bootstrap, root / "clocks", quick=quick)


def _flat(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _flat(v, f"{prefix}{k}.")]
    return [(prefix.rstrip("."), value)] if not isinstance(value, list) else []


def print_report(report: dict[str, Any], say: Callable[[str], None]) -> None:
    """The tables of a run."""
    w = report.get("workload", {})
    say(f"\nworkload: {w.get('events', 0):,} events, {w.get('bytes_min')}-{w.get('bytes_max')} bytes "
        f"(median {w.get('bytes_median')}), 4 intake topics x 4 partitions")
    if isinstance(report.get("ladder"), list):
        say("\n" + ladder_table(report["ladder"]))
        phases = phases_table(report["ladder"])
        if phases:
            say("\nwhere the batches' wall time went in each latency window (hazard_batch_seconds_total):\n"
                + phases)
        for name, t in report.get("targets", {}).items():
            say(f"  goal {name}: {t['goal']}, measured {t['measured']} -> {'met' if t['met'] else 'MISSED'}")
    if "runs" in report.get("scaleout", {}):
        s = report["scaleout"]
        say("\n" + scaleout_table(s))
        say(f"  speedup {s['speedup']}x; short of twice one worker ({s['ideal_events_per_s']:,.0f}/s) by "
            f"{s['lost_to_cores_taken']:,.0f}/s for cores taken by others, "
            f"{s['lost_to_cores_left_idle']:,.0f}/s for cores left idle, "
            f"{s['lost_to_cpu_per_event']:,.0f}/s for more CPU per event")
    if "top_self" in report.get("profile", {}):
        p = report["profile"]
        say(f"\nprofile: {p['samples']} samples, {p['waiting_in_epoll_percent']}% waiting in epoll; "
            "busy samples by own time:")
        say(format_table(["function", "% busy"], [[f["name"], f["percent"]] for f in p["top_self"]]))
        if "core" in p:
            c = p["core"]
            say(f"  the pure core without Kafka: intake {c['intake_cpu_s_per_million']:,.0f} + decide "
                f"{c['decide_cpu_s_per_million']:,.0f} CPU-s per million events "
                f"({c['core_events_per_cpu_s']:,.0f} events per CPU-second)")
    if "kafka" in report.get("http", {}):
        h = report["http"]
        rows = [["kafka intake (pre-filled)", h["kafka"]["events"], h["kafka"]["events_per_s"], None, None]]
        rows += [[f"POST /events, {r['events_per_request']} a request", r["events"], r["events_per_s"],
                  r["latency_to_202"]["p50_ms"], r["latency_to_202"]["p99_ms"]]
                 for r in (h.get("http-one"), h.get("http-batch")) if isinstance(r, dict)]
        say("\nHTTP intake beside Kafka intake (one intake-only worker, one run):")
        say(format_table(["intake", "events", "events/s", "p50 ms to 202", "p99 ms to 202"], rows))
    if isinstance(report.get("clocks"), dict):
        say("\nclocks:")
        say(format_table(["figure", "value"], _flat(report["clocks"])))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return 0 when every step ran."""
    args = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    args.add_argument("--quick", action="store_true", help="small sizes, for development: a few minutes")
    args.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON results")
    args.add_argument("--only", default=",".join(STEPS), help=f"steps to run, of {', '.join(STEPS)}")
    args.add_argument("--profile-rate", type=float, default=None, metavar="EVENTS_PER_S",
                      help="profile the worker fed at this pace instead of draining a backlog "
                      "(half the full engine rung's rate is the ladder's 50%% point)")
    opts = args.parse_args(argv)
    steps = {s.strip() for s in opts.only.split(",") if s.strip()}
    if unknown := steps - set(STEPS):
        args.error(f"unknown steps: {', '.join(sorted(unknown))}")
    sizes = QUICK if opts.quick else FULL

    def say(text: str) -> None:
        print(text, flush=True)

    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # retries on fresh topics are expected
    if "ladder" in steps:
        ensure_kcat(say)
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    with broker_session(progress=lambda m: say(f"broker: {m}")) as bootstrap, \
            tempfile.TemporaryDirectory(prefix="hazard-bench-") as tmp:
        root = Path(tmp)
        report: dict[str, Any] = {"run": run_info(bootstrap, opts.quick)}
        built = max(sizes.raw_events, sizes.full_events + sizes.latency_events)
        say(f"broker {bootstrap}; building {built:,} events")
        items = build(built)
        report["workload"] = describe(items)
        report["settings"] = {
            "partitions_per_topic": 4, "replication_factor": 1, "intake_topics": 4,
            "producer": "acks=all, idempotent, linger 5 ms (engine.tools.kafka.producer)",
            "worker_log_level": ladder.LOG_LEVEL, "worker_clock": "frozen a day before the first event",
            "latency_loads": list(ladder.LOADS), "sizes": asdict(sizes)}
        if "ladder" in steps:
            rungs = _step(report, "ladder", say, lambda: [r.as_dict() for r in ladder.run(
                bootstrap, root, items, sizes.raw_events, sizes.intake_events, sizes.full_events,
                sizes.latency_s, sizes.info_rung, say)])
            if isinstance(rungs, list):
                report["targets"] = targets(rungs)
        # Without the ladder's rung 4, a drain quicker than any measured (7,163/s at best), so that a
        # profile of the drain has events queued for the whole window and samples a busy worker.
        full_rate = next((r["events_per_s"] for r in report.get("ladder", []) if isinstance(r, dict)
                          and r.get("name", "").startswith("4 ")), 8_000.0)
        if "scaleout" in steps:
            _step(report, "scaleout", say,
                  lambda: scaleout.run(bootstrap, root, items[:sizes.full_events], say))
        if "profile" in steps:
            rate = opts.profile_rate
            queued = min(len(items), int((rate or full_rate) * (sizes.profile_s + 15)))
            _step(report, "profile", say, lambda: profile.run(
                bootstrap, root, items[:queued], sizes.profile_s,
                opts.out.with_suffix(".profile.folded"), items[:sizes.core_events], say, rate))
        if "clocks" in steps:
            _step(report, "clocks", say, lambda: _clocks(bootstrap, root, opts.quick, say))
        if "http" in steps:
            _step(report, "http", say, lambda: http.run(bootstrap, root, items, sizes.http_events, say))
    opts.out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    print_report(report, say)
    say(f"\nresults: {opts.out}")
    return 1 if any(isinstance(v, dict) and "error" in v for v in report.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
