"""Where the full engine's time goes: py-spy on a busy worker, and the pure core timed alone.

py-spy samples the worker while it drains a pre-filled backlog (the full
engine, as on rung 4) and writes folded stacks (`--format raw`), which
speedscope or flamegraph.pl turn into a picture. The report ranks functions
by their own time (the frame on top of the stack) and the engine's functions
by the time spent inside them, and adds up own time by package.

The pure core is then run in this process over the same events, with no
Kafka: intake as `decide_intake`, decisions as the decide stage
makes them (unpack the state, decide, encode the outputs, pack the state).
The difference to the rungs' CPU per event is what the streaming shell costs.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import sysconfig
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bench.ladder import Engine, prepare
from bench.workload import Item, paced
from engine.alerts import Alert, decide_alert, load_alert_rules
from engine.contract.outputs import ALERTS_CAP
from engine.decide.core import decide
from engine.intake.process import TIMELINE, Record, decide_intake
from engine.intake.timeline import encode
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT, Settings
from engine.store import pack, unpack

Stacks = Counter[tuple[str, ...]]
PACED_WARMUP_S = 5.0  # of a paced stream before the samples start: the worker's batches settle


def py_spy() -> str | None:
    """The py-spy beside this interpreter, or on the PATH."""
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def parse_folded(text: str) -> Stacks:
    """Folded stacks (`frame;frame;... count`, root first) as a counter of frame tuples."""
    stacks: Stacks = Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[tuple(stack.split(";"))] += int(count)
    return stacks


# Where code lives, longest first; a frame's file is named relative to it (py-spy --full-filenames).
_ROOTS = sorted({str(REPO_ROOT) + "/", sysconfig.get_paths()["stdlib"] + "/"}, key=len, reverse=True)


def _path(where: str) -> str:
    path = where.rsplit(":", 1)[0].split("site-packages/")[-1]
    return next((path.removeprefix(root) for root in _ROOTS if path.startswith(root)), path)


def function(frame: str) -> str:
    """A frame as `name (package/file.py)`: no line number, no install path, so its samples add up."""
    name, _, where = frame.partition(" (")
    return f"{name} ({_path(where)})" if where else name


def package(frame: str) -> str:
    """What a frame belongs to: an engine module (`engine/stream`), a library or a stdlib module."""
    parts = _path(frame.partition(" (")[2]).split("/")
    if parts[0] == "engine" and len(parts) > 1:
        return "engine/" + parts[1].removesuffix(".py")
    return parts[0].removesuffix(".py") or "?"


ENTRY = {"engine/__main__", "engine/cli", "engine/worker"}  # on every stack of the worker's main thread

# Concerns the docs discuss, each matched by substrings of a frame; a sample counts in every concern
# on its stack, so the shares overlap and do not add up to 100.
CONCERNS = {
    "intake stage": ("Runtime._intake (",),
    "decide stage": ("Runtime._decide (",),
    "pure core: intake (decide_intake)": ("decide_intake (",),
    "pure core: decisions (engine/decide, engine/alerts)": ("engine/decide/", "engine/alerts/"),
    "producing (aiokafka producer)": ("aiokafka/producer/",),
    "consuming (aiokafka fetcher)": ("aiokafka/consumer/",),
    "table changelogs and local store": ("Runtime._written (", "engine/stream/tables.py"),
    "logging (stdlib logging, structlog)": ("logging/__init__.py", "structlog/"),
    "JSON (stdlib json)": ("json/",),
    "pydantic": ("pydantic/",),
    "state copies (copy.deepcopy)": ("copy.py",),
    "metrics (prometheus_client)": ("prometheus_client/",),
}


def waiting(stack: tuple[str, ...]) -> bool:
    """Whether a sample shows the event loop waiting in epoll for the network, not computing."""
    return function(stack[-1]).startswith(("EpollSelector.select ", "select "))


def shares(counts: Counter[str], total: int, top: int) -> list[dict[str, Any]]:
    """The `top` entries of a counter, with their share of `total` samples in percent."""
    return [{"name": name, "samples": n, "percent": round(100 * n / total, 1)}
            for name, n in counts.most_common(top)]


def summarise(stacks: Stacks, top: int = 10) -> dict[str, Any]:
    """Where busy samples go: top functions by own time, engine functions inclusive, packages, concerns.

    Samples of a thread waiting in epoll are counted apart: py-spy records
    them, but they are the event loop waiting on the broker, not CPU.
    """
    total = sum(stacks.values())
    own: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    concerns: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    idle = 0
    for stack, n in stacks.items():
        thread = "main" if "runpy" in stack[0] else "other threads"
        if waiting(stack):
            idle += n
            threads[f"{thread}, waiting in epoll"] += n
            continue
        threads[f"{thread}, busy"] += n
        own[function(stack[-1])] += n
        packages[package(stack[-1])] += n
        for name in {function(f) for f in stack if package(f).startswith("engine/")
                     and package(f) not in ENTRY}:
            inside[name] += n
        for concern, marks in CONCERNS.items():
            if any(mark in frame for frame in stack for mark in marks):
                concerns[concern] += n
    busy = max(total - idle, 1)
    return {"samples": total, "waiting_in_epoll_percent": round(100 * idle / max(total, 1), 1),
            "samples_by_thread": dict(threads.most_common()),
            "top_self": shares(own, busy, top), "top_engine_inclusive": shares(inside, busy, top),
            "by_package": shares(packages, busy, top),
            "by_concern": shares(concerns, busy, len(CONCERNS))}


def _spy(pid: int, seconds: float, out: Path, rate: int) -> list[str]:
    """The py-spy command that samples a process for `seconds`, writing folded stacks to `out`."""
    spy = py_spy()
    if spy is None:
        raise FileNotFoundError("py-spy is not installed: pip install -e '.[bench]'")
    # Full file names: py-spy would shorten engine/decide/core.py (a folder without __init__.py) to core.py.
    return [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", str(rate),
            "--format", "raw", "--full-filenames", "--output", str(out)]


def _finished(done: subprocess.CompletedProcess[str] | subprocess.Popen[str], stderr: str) -> None:
    if done.returncode != 0:
        raise RuntimeError(f"py-spy exited with {done.returncode}: {stderr[-1000:]}")


def record(pid: int, seconds: float, out: Path, rate: int = 100) -> None:
    """Sample a process with py-spy for `seconds`, writing folded stacks to `out`."""
    done = subprocess.run(_spy(pid, seconds, out, rate), capture_output=True, text=True)
    _finished(done, done.stderr)


def record_paced(engine: Engine, items: Sequence[Item], rate: float, seconds: float, out: Path,
                 spy_rate: int = 100) -> dict[str, Any]:
    """Sample the first worker with py-spy while `items` are published at `rate` per second.

    The samples start once the first few seconds of the stream have passed and
    last `seconds`; the worker's CPU is taken over the whole stream. A worker
    fed at a pace takes small batches, which cost more per event than the
    large ones it drains from a backlog (docs/benchmarks.md).
    """
    assert engine.workers[0].proc is not None and engine.trace is not None

    async def feed() -> tuple[float, float]:
        stream = asyncio.ensure_future(paced(engine.ns.bootstrap, engine.ns.prefix, list(items), rate))
        await asyncio.sleep(PACED_WARMUP_S)
        spy = subprocess.Popen(_spy(engine.workers[0].proc.pid, seconds, out, spy_rate),  # type: ignore[union-attr]
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        start, end = await stream
        _, stderr = await asyncio.to_thread(spy.communicate)
        _finished(spy, stderr)
        return start, end

    start, end = asyncio.run(feed())
    usage = engine.trace.between(start, end)
    return {"paced_rate": rate, "paced_events": len(items), "paced_seconds": round(end - start, 1),
            "worker_cores": round(usage.cpu_seconds / usage.seconds, 2),
            "cpu_us_per_event": round(usage.cpu_seconds / len(items) * 1e6, 1)}


def _cpu_per_million(cpu_s: float, events: int) -> float:
    return round(cpu_s / events * 1e6, 1)


def core_rates(items: Sequence[Item]) -> dict[str, Any]:
    """CPU seconds per million events of the pure core, run in this process without Kafka."""
    settings = Settings()
    rules = load_rules(settings.rules_dir)
    alert_rules = load_alert_rules(settings.rules_dir, rules.reference)
    seen: dict[str, str] = {}
    entries: list[bytes] = []
    started = time.process_time()
    for offset, item in enumerate(items):
        record_ = Record(item.topic, 0, offset, item.key, item.value, int(time.time() * 1000))
        outcome = decide_intake(record_, seen.get, rules.reference, contract_topic=item.topic)
        if outcome.remember is not None:
            seen[outcome.remember[0]] = outcome.remember[1]
        entries += [s.value for s in outcome.sends if s.topic == TIMELINE]
    intake_cpu = time.process_time() - started
    cores: dict[str, tuple[Callable[..., Any], Callable[[bytes], Any]]] = {
        "hazard": (lambda st, e: decide(st, e, rules, owned=True), unpack),  # as the decide stage
        "alert": (lambda st, e: decide_alert(st, e, alert_rules), lambda raw: unpack(raw, Alert))}
    tables: dict[str, dict[str, bytes]] = {kind: {} for kind in cores}
    started = time.process_time()
    for raw_entry in entries:
        entry = json.loads(raw_entry)
        if entry["subject_kind"] not in cores:
            continue  # an inspection: recorded, no rules act on it
        decide_fn, decode = cores[entry["subject_kind"]]
        table = tables[entry["subject_kind"]]
        raw_state = table.get(entry["subject"])
        new, outs = decide_fn(decode(raw_state) if raw_state else None, entry)
        for out in outs:  # serialised as the agent sends them: CAP as XML, the rest as JSON
            if out.topic == ALERTS_CAP:
                out.event["xml"].encode("utf-8")
            else:
                encode(out.event)
        table[entry["subject"]] = pack(new)
    decide_cpu = time.process_time() - started
    return {"events": len(items), "timeline_entries": len(entries),
            "intake_cpu_s_per_million": _cpu_per_million(intake_cpu, len(items)),
            "decide_cpu_s_per_million": _cpu_per_million(decide_cpu, len(items)),
            "core_events_per_cpu_s": round(len(items) / (intake_cpu + decide_cpu), 1)}


def run(bootstrap: str, root: Path, items: Sequence[Item], seconds: float, out: Path,
        core_items: Iterable[Item] = (), say: Callable[[str], None] = print,
        rate: float | None = None) -> dict[str, Any]:
    """Profile the full engine for `seconds`, draining `items` queued beforehand, or with `rate`
    fed them at that pace; then time the pure core alone."""
    how = f"fed {rate:,.0f} events/s" if rate else f"{len(items)} events queued"
    say(f"profile: py-spy on the full engine for {seconds:.0f} s ({how})")
    ns = prepare(bootstrap, root, "profile", [] if rate else items)
    paced_figures: dict[str, Any] = {}
    try:
        with Engine(ns) as engine:
            engine.wait_assigned()
            assert engine.workers[0].proc is not None
            if rate:
                paced_figures = record_paced(engine, items, rate, seconds, out)
            else:
                record(engine.workers[0].proc.pid, seconds, out)
    finally:
        asyncio.run(ns.delete_topics())
    result = {"folded_stacks": str(out), "seconds": seconds, **paced_figures,
              **summarise(parse_folded(out.read_text()))}
    core = list(core_items)
    if core:
        say(f"profile: the pure core over {len(core)} events, no Kafka")
        result["core"] = core_rates(core)
    return result
