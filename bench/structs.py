"""`python -m bench.structs [--events N]`: the state's own encoding against msgspec's structs.

Issue 12 names msgspec as one candidate for the state ("fast structs for state
where they pay; measure it against what you have"). This measures what it
could pay before anything moves to it: the mixed workload (`bench.core`'s,
no broker) is run through the hazard and alert cores as the decide stage runs
them, and for every subject's last stored record it times, per state, in one
process and interleaved round by round:

- `unpack` (lazy, as a decision reads it) and `pack` (as the store writes it),
  what the engine does now (engine/store.py);
- orjson's `loads` and `dumps` of the record's state line alone, the floor of
  any JSON form of the same document;
- msgspec, the state's fields as a `msgspec.Struct` with the same defaults:
  JSON by name with the defaults left out (what the stored record's "with
  names" asks for), JSON as an array, and MessagePack as an array.

msgspec's rows are the codec alone: its struct holds the positional lists as
the code keeps them (`listed`, `failures`...), where the stored record names
their places, and it has no header, history tail or applied hashes. So they
are what a state kept as a struct would pay at best, not a drop-in figure.
Times are CPU time (`time.process_time_ns`), the median of the rounds.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import MISSING, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from bench.core import Clock, Path_, intake
from bench.workload import build
from engine import codec
from engine.alerts.state import Alert
from engine.decide.state import Hazard
from engine.kernel.state import STORED
from engine.settings import REPO_ROOT, Settings
from engine.store import pack, unpack

KINDS: dict[str, type[Any]] = {"hazard": Hazard, "alert": Alert}
# Fields a struct would not carry as they are: the stored parts kept undecoded, and what is derived
# (the clocks) or stored on lines of its own (the history and the applied hashes).
_APART = {*STORED, "history", "applied", "clocks"}


def mirror(cls: type[Any], array_like: bool = False) -> type[msgspec.Struct]:
    """A msgspec struct with the state class's fields and defaults, those stored apart left out."""
    spec: list[Any] = []
    for f in fields(cls):
        if f.name in _APART:
            continue
        if f.default is not MISSING:
            spec.append((f.name, Any, f.default))
        elif f.default_factory is not MISSING:
            spec.append((f.name, Any, msgspec.field(default_factory=f.default_factory)))
        else:
            spec.append((f.name, Any))
    return msgspec.defstruct(f"{cls.__name__}Struct", spec, omit_defaults=not array_like,
                             array_like=array_like)


def records(events: int) -> dict[str, list[bytes]]:
    """Each subject's last stored record, by kind, after the workload's first `events` events."""
    path = Path_(Settings())
    tables: dict[str, dict[str, bytes]] = {kind: {} for kind in KINDS}
    histories: dict[str, dict[bytes, bytes]] = {kind: {} for kind in KINDS}
    for value in intake(build(events), path.rules, Clock()):
        entry = codec.loads(value)
        kind = entry["subject_kind"]
        if kind in tables:
            table = tables[kind]
            table[entry["subject"]] = path.step(kind, table.get(entry["subject"]), entry, Clock(),
                                                histories[kind])[0]
    return {kind: list(table.values()) for kind, table in tables.items()}


def _per_item_us(fn: Callable[[Any], Any], items: list[Any]) -> float:
    gc.collect()
    started = time.process_time_ns()
    for item in items:
        fn(item)
    return (time.process_time_ns() - started) / len(items) / 1000


def measure(kind: str, raws: list[bytes], rounds: int) -> dict[str, Any]:
    """µs per state of each way to read and write `kind`'s states, and their bytes."""
    cls = KINDS[kind]
    states = [unpack(raw, cls, lazy=True) for raw in raws]
    lines = [raw.split(b"\n", 2)[1] for raw in raws]
    named, array = mirror(cls), mirror(cls, array_like=True)
    by_name = [named(**{n: getattr(s, n) for n in named.__struct_fields__}) for s in states]
    as_array = [array(**{n: getattr(s, n) for n in array.__struct_fields__}) for s in states]
    json_enc, pack_enc = msgspec.json.Encoder(), msgspec.msgpack.Encoder()
    named_json = [json_enc.encode(s) for s in by_name]
    array_json = [json_enc.encode(s) for s in as_array]
    array_pack = [pack_enc.encode(s) for s in as_array]
    docs = [codec.loads(line) for line in lines]
    ways: dict[str, tuple[Callable[[Any], Any], list[Any]]] = {
        "engine unpack (lazy)": (lambda raw: unpack(raw, cls, lazy=True), raws),
        "engine pack": (lambda s: pack(s, b"", b"", {}), states),
        "orjson loads, state line": (codec.loads, lines),
        "orjson dumps, state line": (codec.dumps, docs),
        "msgspec JSON by name, decode": (msgspec.json.Decoder(named).decode, named_json),
        "msgspec JSON by name, encode": (json_enc.encode, by_name),
        "msgspec JSON array, decode": (msgspec.json.Decoder(array).decode, array_json),
        "msgspec JSON array, encode": (json_enc.encode, as_array),
        "msgspec MessagePack array, decode": (msgspec.msgpack.Decoder(array).decode, array_pack),
        "msgspec MessagePack array, encode": (pack_enc.encode, as_array),
    }
    times: dict[str, list[float]] = {way: [] for way in ways}
    for _ in range(rounds):  # interleaved: a slow moment of the machine weighs on every way alike
        for way, (fn, items) in ways.items():
            times[way].append(_per_item_us(fn, items))
    return {"states": len(raws),
            "us_per_state": {way: round(statistics.median(ts), 2) for way, ts in times.items()},
            "median_bytes": {"engine record": _median_len(raws), "engine state line": _median_len(lines),
                             "msgspec JSON by name": _median_len(named_json),
                             "msgspec JSON array": _median_len(array_json),
                             "msgspec MessagePack array": _median_len(array_pack)}}


def _median_len(items: Iterable[bytes]) -> int:
    return int(statistics.median(map(len, items)))


def report(result: dict[str, Any]) -> str:
    lines = []
    for kind, got in result["kinds"].items():
        lines += [f"{kind}: {got['states']} states, µs per state (median of {result['rounds']} rounds)"]
        lines += [f"  {way:<36}{us:>8.2f}" for way, us in got["us_per_state"].items()]
        lines += ["  bytes, median: " + ", ".join(f"{k} {v:,}" for k, v in got["median_bytes"].items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.structs", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="workload events (default 20,000)")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds of every way (default 7)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results" / "structs-latest.json")
    args = parser.parse_args(argv)
    stored = records(args.events)
    result = {"run": datetime.now(UTC).isoformat(timespec="seconds"), "events": args.events,
              "rounds": args.rounds, "msgspec": msgspec.__version__,
              "kinds": {kind: measure(kind, raws, args.rounds) for kind, raws in stored.items() if raws}}
    print(report(result))
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
