"""`python -m bench.shell`: the worker's stages timed in this process, without a broker.

The full-engine rung measures everything together: aiokafka, the broker
round trips, the pure core and the batched runtime's own work around it. This
step takes the last apart. A real `Runtime` (engine/stream/runtime.py) is
built from `Settings` as the worker builds it, and the benchmark's mixed
workload goes through its `_intake` and `_decide` stages exactly as `_handle`
calls them, batch by batch: intake records first, then the timeline entries
they caused, then the entries those decisions caused (the annual plan's links),
until nothing is left. Nothing is sent: what the stages queue is kept in
lists, and the timeline records among them come back as the next round's
input, keyed and partitioned as the broker would place them.

The same events then go through the pure path alone (`decide_intake`,
`decide_entry` on plain dicts, the outputs' bytes and the packed state), so
the difference is what the stages add around the pure core: Record and Send
objects, headers, metrics, logging, the derived views (gauges, deadline and
feeds' indices) and the table writes.

`--without` turns parts off in this process only (never in the product), one
or several, to measure what each costs:

- `logs`: the stages' structlog calls become no-ops;
- `metrics`: the Prometheus counters and histogram become no-ops;
- `views`: `Derived.store` only packs the state (no gauges, no indices);
- `enterprise-gauges`: the enterprise gauges are not updated;
- `plan`: rules without the annual plan, so no plan links (a copy of rules/);
- `format1`: states stored as before stored format 1 (engine/store.py): the
  header, then the state's own `encode()` (format 0, which `unpack` still reads).

Times are the process's CPU time, so a busy machine weighs on them less.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.workload import Item, build, frozen_clock_env
from engine import logs, store, views
from engine.alerts import load_alert_rules
from engine.cores import decide_entry, record_value
from engine.intake.process import TIMELINE, Record, decide_intake
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT, Settings
from engine.stream import runtime as runtime_module
from engine.stream.runtime import Runtime, Send
from engine.tools.kafka import partition_for_key
from engine.topics import load_topics

PARTS = ("logs", "metrics", "views", "enterprise-gauges", "plan", "format1")
PARTITIONS = 4  # as the benchmark's topics (bench/workload.py)
BATCH = 2_000  # records per round, as MAX_BATCH


@dataclass(frozen=True, slots=True)
class Rec:
    """What the stages read of an aiokafka ConsumerRecord."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp: int
    headers: tuple[tuple[str, bytes], ...] = ()


class _Silent:
    """A logger, counter or histogram that does nothing."""

    def __getattr__(self, name: str) -> Any:
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self


def _pack_format0(h: Any, summary: bytes = b"", place: bytes = b"") -> bytes:
    """`pack` as it was before stored format 1: the same header, then `h.encode()`."""
    return store.header_line(h, summary, place) + b"\n" + h.encode()


@contextlib.contextmanager
def _rules_without_plan() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bench-shell-rules-") as tmp:
        rules = Path(tmp) / "rules"
        shutil.copytree(REPO_ROOT / "rules", rules, ignore=shutil.ignore_patterns("tests"))
        plan = rules / "plan.yaml"
        text = plan.read_text(encoding="utf-8")
        plan.write_text(text.split("\nannual:", 1)[0] + "\n", encoding="utf-8")
        yield rules


def _runtime(rules_dir: Path, without: set[str]) -> Runtime:
    # The ladder's frozen clock, given to Settings as values: the benchmark's own environment
    # stays as it was (nothing but Settings reads it).
    frozen = {name.removeprefix("HAZARD_").lower(): value for name, value in frozen_clock_env().items()}
    settings = Settings(store="memory", replicas=False, rules_dir=rules_dir, **frozen)
    rules = load_rules(settings.rules_dir)
    specs = load_topics(settings.topics_file, settings.app_id, settings.topic_prefix)
    runtime = Runtime(settings, "127.0.0.1:9", rules, specs,
                      alert_rules=load_alert_rules(settings.rules_dir, rules.reference))
    if "metrics" in without:
        runtime.metrics = _Silent()  # type: ignore[assignment]
    if "views" in without:
        runtime.derived.store = lambda kind, new, chunks=None: views.pack(new, chunks=chunks)  # type: ignore[method-assign]
    if "enterprise-gauges" in without:
        runtime.derived.enterprise_gauges = None
    return runtime


def _intake_records(runtime: Runtime, items: Sequence[Item]) -> list[Rec]:
    offsets: dict[tuple[str, int], int] = defaultdict(int)
    out = []
    for n, item in enumerate(items):
        topic = runtime.prefix + item.topic
        partition = partition_for_key(item.key, PARTITIONS)
        offset = offsets[(topic, partition)]
        offsets[(topic, partition)] += 1
        out.append(Rec(topic, partition, offset, item.key, item.value, 1_700_000_000_000 + n))
    return out


def run_stages(runtime: Runtime, items: Sequence[Item]) -> dict[str, Any]:
    """Intake and decide stages over `items`, batch by batch; CPU seconds of each."""
    intake_cpu = decide_cpu = 0.0
    entries = decisions = sends_n = writes_n = outputs = 0
    kinds = {table.changelog: kind for kind, table in runtime.tables.items()}
    by_kind: dict[str, int] = defaultdict(int)
    timeline_offsets: dict[int, int] = defaultdict(int)
    records = _intake_records(runtime, items)
    loop = asyncio.new_event_loop()

    def to_timeline(sends: list[Send]) -> list[Rec]:
        out = []
        for s in sends:
            if s.topic == runtime.timeline:
                partition = partition_for_key(s.key, PARTITIONS)
                out.append(Rec(s.topic, partition, timeline_offsets[partition], s.key, s.value,
                               1_800_000_000_000))
                timeline_offsets[partition] += 1
        return out

    handed: list[Send] = []  # outputs a batch's decisions sent before their last round

    async def take(outs: list[Send]) -> list[Rec]:
        # The links among the outputs, decided in the same batch, as the worker takes them.
        handed.extend(outs)
        return to_timeline(outs)

    for start in range(0, len(records), BATCH):
        sends: list[Send] = []
        writes: list[Send] = []
        began = time.process_time()
        for rec in records[start:start + BATCH]:
            runtime._intake(rec, sends, writes)
        intake_cpu += time.process_time() - began
        sends_n, writes_n = sends_n + len(sends), writes_n + len(writes)
        pending = to_timeline(sends)
        handed.clear()
        sends, writes = [], []
        began = time.process_time()
        loop.run_until_complete(runtime._decide_all([pending], sends, writes, take))  # as `_handle` does
        decide_cpu += time.process_time() - began
        sends = handed + sends
        entries += len(pending) + sum(s.topic == runtime.timeline for s in sends)
        decisions += len(writes)
        outputs += len(sends)
        for write in writes:
            by_kind[kinds[write.topic]] += 1
        sends_n, writes_n = sends_n + len(sends), writes_n + len(writes)
    loop.close()
    return {"events": len(items), "timeline_entries": entries, "decisions_stored": decisions,
            "sends": sends_n, "table_writes": writes_n, "outputs": outputs, "decided_by_kind": dict(by_kind),
            "intake_us_per_event": round(intake_cpu / len(items) * 1e6, 1),
            "decide_us_per_event": round(decide_cpu / len(items) * 1e6, 1),
            "us_per_event": round((intake_cpu + decide_cpu) / len(items) * 1e6, 1)}


def run_pure(runtime: Runtime, items: Sequence[Item]) -> dict[str, Any]:
    """The same events through the pure path only: what the stages add is the difference."""
    seen: dict[str, str] = {}
    tables: dict[str, dict[bytes, bytes]] = {kind: {} for kind in runtime.cores}
    timeline = []
    began = time.process_time()
    for rec in _intake_records(runtime, items):
        record = Record(rec.topic, rec.partition, rec.offset, rec.key, rec.value, rec.timestamp)
        outcome = decide_intake(record, seen.get, runtime.rules.reference,
                                runtime.settings.max_record_bytes, runtime.intake_topics[rec.topic],
                                runtime._home)
        if outcome.remember is not None:
            seen[outcome.remember[0]] = outcome.remember[1]
        timeline += [(s.key, s.value) for s in outcome.sends if s.topic == TIMELINE]
    intake_cpu = time.process_time() - began
    began = time.process_time()
    while timeline:
        batch, timeline = timeline, []
        for key, value in batch:
            decision = decide_entry(runtime.cores, tables, key, value)
            if decision is None or decision.new is decision.state:
                continue
            for out in decision.outs:
                value_ = record_value(out)
                if out.topic == TIMELINE:
                    timeline.append((out.key.encode(), value_))
            tables[decision.core.kind][key] = views.pack(decision.new)
    decide_cpu = time.process_time() - began
    return {"intake_us_per_event": round(intake_cpu / len(items) * 1e6, 1),
            "decide_us_per_event": round(decide_cpu / len(items) * 1e6, 1),
            "us_per_event": round((intake_cpu + decide_cpu) / len(items) * 1e6, 1)}


def measure_once(items: Sequence[Item], without: set[str],
                 level: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """One run of the stages (a fresh runtime) and one of the pure path, with `without` turned off."""
    logs.configure(level)
    saved = runtime_module.log
    if "logs" in without:
        runtime_module.log = _Silent()
    if "format1" in without:
        views.pack = _pack_format0  # Derived.store and the pure path below pack through it
    try:
        with (_rules_without_plan() if "plan" in without
              else contextlib.nullcontext(REPO_ROOT / "rules")) as rules_dir:
            return (run_stages(_runtime(rules_dir, without), items),
                    run_pure(_runtime(rules_dir, without), items))
    finally:
        runtime_module.log = saved
        views.pack = store.pack


def measure(items: Sequence[Item], variants: list[set[str]], level: str,
            rounds: int) -> list[dict[str, Any]]:
    """The best of `rounds` runs of each variant, the variants taken in turn within each round
    (so that a busy spell of the machine weighs on all of them alike)."""
    runs: list[list[tuple[dict[str, Any], dict[str, Any]]]] = [[] for _ in variants]
    for _ in range(rounds):
        for n, without in enumerate(variants):
            runs[n].append(measure_once(items, without, level))
    results = []
    for without, done in zip(variants, runs, strict=True):
        best = min((s for s, _ in done), key=lambda r: r["us_per_event"])
        best_pure = min((p for _, p in done), key=lambda r: r["us_per_event"])
        results.append({"without": sorted(without), "log_level": level, "stages": best, "pure": best_pure,
                        "shell_us_per_event": round(best["us_per_event"] - best_pure["us_per_event"], 1)})
    return results


def _per_call_us(fn: Any, args_list: Sequence[tuple[Any, ...]], repeat: int = 7) -> float:
    """The least time, over `repeat` passes, of calling `fn` once on each of `args_list`, per call."""
    best = float("inf")
    for _ in range(repeat):
        began = time.process_time()
        for args in args_list:
            fn(*args)
        best = min(best, time.process_time() - began)
    return best / len(args_list) * 1e6


def part_costs(items: Sequence[Item], level: str = "warning") -> dict[str, Any]:
    """What each part of the stages costs per call, and per event at the workload's rates.

    Each part is timed alone over the states and outputs the workload produced (the least
    of several passes, so a busy machine weighs on it little), then multiplied by how many
    times an event causes it: a decision per subject kind, an output, an intake record.
    """
    logs.configure(level)
    runtime = _runtime(REPO_ROOT / "rules", set())
    counts = run_stages(runtime, items)
    events = len(items)
    states = {kind: [(kind, runtime.cores[kind].decode(raw)) for raw in table.values()]
              for kind, table in runtime.tables.items() if len(table)}
    decisions = {kind: counts["decided_by_kind"].get(kind, 0) / events for kind in states}
    out: dict[str, Any] = {"decisions_per_event": {k: round(v, 3) for k, v in decisions.items()},
                           "outputs_per_event": round(counts["outputs"] / events, 3), "parts": {}}
    parts = out["parts"]

    def part(name: str, per_call: float, per_event: float) -> None:
        parts[name] = {"us_per_call": round(per_call, 2), "us_per_event": round(per_call * per_event, 1)}

    for kind, pairs in states.items():
        raws = [(runtime.derived.store(kind, st),) for _, st in pairs]
        decode = runtime.cores[kind].decode
        alone = [(st,) for _, st in pairs]
        part(f"{kind}: pack (format 1)", _per_call_us(store.pack, alone), decisions[kind])
        zero = [(_pack_format0(st),) for _, st in pairs]
        # A format 0 record decodes whole (history and all), and encodes whole.
        part(f"{kind}: pack as format 0", _per_call_us(_pack_format0, [(decode(z),) for z, in zero]),
             decisions[kind])
        part(f"{kind}: decode (format 1)", _per_call_us(decode, raws), decisions[kind])
        part(f"{kind}: decode of format 0", _per_call_us(decode, zero), decisions[kind])
        part(f"{kind}: Derived.store (with pack)", _per_call_us(runtime.derived.store, pairs),
             decisions[kind])
        if kind == "enterprise":
            part("enterprise: gauges update", _per_call_us(runtime.enterprise_gauges.update, alone),
                 decisions[kind])
    outputs = counts["outputs"] / events
    fields = {"event_id": "0f0e0d0c-0b0a-4908-8706-050403020100", "subject": "HZ-0001",
              "topic": "escalations", "type": "safety.escalation.raised", "action": "notify",
              "caused_by": "x", "partition": 1, "offset": 2}
    part("decision log line", _per_call_us(lambda: runtime_module.log.info("decision", **fields),
                                           [()] * 2000), outputs)
    metrics = runtime.metrics
    # As the stages call them: through EngineMetrics' helpers where the tree has them.
    observe = getattr(metrics, "observe", lambda stage, s: metrics.processing.labels(stage).observe(s))
    count = getattr(metrics, "count_intake",
                    lambda topic, kind: metrics.intake_records.labels(topic, kind).inc())
    part("processing histogram", _per_call_us(lambda: observe("decide", 0.0001), [()] * 2000),
         1 + counts["timeline_entries"] / events)
    part("intake counter", _per_call_us(lambda: count("hazard.reports", "accepted"), [()] * 2000), 1)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Time the stages with every part on, then with each `--without` part off in turn."""
    args = argparse.ArgumentParser(prog="python -m bench.shell", description=__doc__.splitlines()[0])
    args.add_argument("--events", type=int, default=5_000)
    args.add_argument("--rounds", type=int, default=3, help="runs of each variant; the best counts")
    args.add_argument("--level", default="warning", help="the worker's log level (the ladder's: warning)")
    args.add_argument("--without", default="", help=f"parts to turn off one at a time: {', '.join(PARTS)}"
                      " (a+b turns two off together)")
    args.add_argument("--out", type=Path, help="write the results as JSON here")
    args.add_argument("--parts", action="store_true", help="also time each part alone (robust to a busy "
                      "machine) and give its cost per event")
    opts = args.parse_args(argv)
    variants: list[set[str]] = [set()]
    for spec in filter(None, opts.without.split(",")):
        parts = set(spec.split("+"))
        if unknown := parts - set(PARTS):
            args.error(f"unknown parts: {', '.join(sorted(unknown))}")
        variants.append(parts)
    items = build(opts.events)
    results = measure(items, variants, opts.level, opts.rounds)
    for without, result in zip(variants, results, strict=True):
        s, p = result["stages"], result["pure"]
        print(f"without {'+'.join(sorted(without)) or 'nothing':<24} "
              f"stages {s['us_per_event']:7.1f} µs/event (intake {s['intake_us_per_event']:.1f}, "
              f"decide {s['decide_us_per_event']:.1f}); "
              f"pure {p['us_per_event']:7.1f}; shell {result['shell_us_per_event']:6.1f}", flush=True)
    report: dict[str, Any] = {"events": opts.events, "results": results}
    if opts.parts:
        report["parts"] = part_costs(items, opts.level)
        print(f"per event: decisions {report['parts']['decisions_per_event']}, "
              f"outputs {report['parts']['outputs_per_event']}")
        for name, cost in report["parts"]["parts"].items():
            print(f"  {name:<44} {cost['us_per_call']:8.2f} µs a call "
                  f"{cost['us_per_event']:7.1f} µs an event")
    if opts.out:
        opts.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

