"""One enterprise's file among 10,000, each with a year of events: what reading it costs.

`python -m bench.enterprises` runs the pure cores (hazard, enterprise, links)
over a year for `--built` enterprises: each registered and classified, inspected
monthly, with `--hazards` general hazards a year reported, verified, planned and
closed after review, and one left open past its deadline. Their packed files
are then copied under new USCCs up to `--enterprises` (a file's cost depends on
its own bounded size, not on how many others there are), and the view a
`GET /enterprises/{uscc}` returns is built for random USCCs, as is a
`GET /hazards/{id}` view for comparison. No broker, no HTTP: the figures are
the worker's own work per request, and JSON encoding of the answer. Last, the
board's numbers read every file in the district's scope (its referrals list
names a key enterprise's missed cycles): that read's CPU, wall time and the
event loop's longest time without a turn, as `bench.holds` measures the
hazards' read.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import time
from datetime import datetime, timedelta
from typing import Any

from engine import codec
from engine.board import picture
from engine.contract.envelope import EVENT_TYPES
from engine.contract.uscc import check_character
from engine.enterprise.replay import DistrictReplay
from engine.enterprise.state import EnterpriseFile
from engine.enterprise.view import enterprise_place, enterprise_source, enterprise_view
from engine.feeds.index import PlaceIndex
from engine.feeds.share import LoopShare
from engine.feeds.tokens import Scope
from engine.feeds.views import every_visible, hazard_view
from engine.intake.process import Record, decide_intake
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT
from engine.store import pack, unpack

START = datetime.fromisoformat("2026-01-05T09:00:00+08:00")
SUP = {"id": "sup-1", "role": "supervisor"}
INSPECTORS = [{"id": "i1", "role": "inspector"}, {"id": "i2", "role": "inspector"}]


def uscc(n: int) -> str:
    body = f"91371500MA{n:07d}"
    return body + check_character(body)


class Events:
    """CloudEvents through the real intake, as timeline entries."""

    def __init__(self, rules: Any) -> None:
        self.rules, self.n = rules, 0

    def __call__(self, type_: str, subject: str, when: datetime, data: dict[str, Any]) -> list[dict]:
        self.n += 1
        topic = EVENT_TYPES[type_].topic
        cloud = {"specversion": "1.0", "id": f"b-{self.n}", "source": "/bench", "type": type_,
                 "time": when.isoformat(), "subject": subject, "data": data}
        out = decide_intake(Record(topic, 0, self.n, None, json.dumps(cloud).encode(), 0), {}.get,
                            self.rules.reference, contract_topic=topic)
        assert out.kind == "accepted", out
        return [json.loads(s.value) for s in out.sends]


def year_of(code: str, k: int, hazards: int, ev: Events) -> list[dict]:
    """One enterprise's year: registration, class, monthly inspections, hazards opened and closed."""
    town = ["lihaiwu", "zhulaozhuang", "huxi", "yuji"][k % 4]
    ent = {"uscc": code, "name": f"Firm {k}"}
    out = ev("safety.enterprise.registered", code, START, {
        "uscc": code, "name": f"Firm {k}", "sector": "industry_trade", "location": {"town": town},
        "legal_representative": "Zhang", "by": SUP})
    out += ev("safety.enterprise.classified", code, START, {
        "uscc": code, "risk_class": ["red", "orange", "yellow", "blue"][k % 4], "key_enterprise": k % 5 == 0,
        "decided_by": SUP, "decided_at": START.isoformat()})
    for m in range(12):
        out += ev("safety.inspection.recorded", f"INS-{k}-{m}", START + timedelta(days=30 * m), {
            "inspection_id": f"INS-{k}-{m}", "kind": "routine", "inspectors": INSPECTORS, "enterprise": ent,
            "location": {"town": town}, "findings": []})
    for h in range(hazards):
        hid, t = f"HZ-{k}-{h}", START + timedelta(days=h * 365 // max(hazards, 1))
        out += ev("safety.hazard.reported", hid, t, {
            "hazard_id": hid, "title": "Blocked exit", "description": "Pallets", "sector": "fire_safety",
            "grade_claimed": "general", "found_via": "grid_patrol", "location": {"town": town},
            "enterprise": ent, "reporter": {"id": "gw", "role": "grid_worker"}})
        out += ev("safety.hazard.verified", hid, t + timedelta(hours=4),
                  {"hazard_id": hid, "verdict": "confirmed", "grade": "general", "by": SUP})
        if h == hazards - 1:
            continue  # left open, past its deadline by the year's end
        out += ev("safety.rectification.completed", hid, t + timedelta(days=3), {
            "hazard_id": hid, "note": "Done", "evidence": [], "by": {"id": "e", "role": "enterprise"}})
        out += ev("safety.rectification.reviewed", hid, t + timedelta(days=4), {
            "hazard_id": hid, "outcome": "passed", "note": "OK", "by": INSPECTORS[0]})
    return out


def timed(fn: Any, keys: list[Any]) -> dict[str, float]:
    samples = []
    for key in keys:
        started = time.perf_counter()
        fn(key)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"samples": len(samples), "p50_ms": round(samples[len(samples) // 2], 4),
            "p99_ms": round(samples[int(len(samples) * 0.99)], 4), "max_ms": round(samples[-1], 4)}


def board_read(table: dict[bytes, bytes], rules: Any, now: float) -> dict[str, Any]:
    """The board's read of every file in the district's scope, and its referrals list from them."""
    from bench.holds import watched

    index = PlaceIndex()
    index.put_many((key.decode(), enterprise_place(unpack(raw, EnterpriseFile), rules))
                   for key, raw in table.items())
    source = enterprise_source(table, rules, lambda: now, index)

    async def read() -> int:
        files = await every_visible(source, Scope("district", district=True), now, LoopShare(1.0, 64),
                                    keep=picture.has_missed_cycles)
        return len(picture.referrals([], files))

    gc.collect()
    gc.freeze()  # what is alive after recovery, as a worker freezes it (engine/stream/pauses.py)
    try:
        referring, took = asyncio.run(watched(read))
    finally:
        gc.unfreeze()
    return {"files": len(table), "files_with_referrals": referring, **took}


def main(argv: list[str] | None = None) -> None:
    """Build, copy, read, print the figures as JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--enterprises", type=int, default=10_000)
    p.add_argument("--built", type=int, default=200, help="enterprises whose year is run through the cores")
    p.add_argument("--hazards", type=int, default=12, help="hazards a year per enterprise")
    p.add_argument("--reads", type=int, default=5_000)
    args = p.parse_args(argv)
    rules = load_rules(REPO_ROOT / "rules")
    ev, rp = Events(rules), DistrictReplay.of(rules)
    started, entries = time.perf_counter(), 0
    for k in range(args.built):
        for e in year_of(uscc(k), k, args.hazards, ev):
            rp.feed(e)
            entries += 1
    build_s = time.perf_counter() - started
    built = [pack(rp.state("enterprise", uscc(k))) for k in range(args.built)]
    table = {}
    for n in range(args.enterprises):  # copies under new USCCs: a file's cost is its own size
        raw = built[n % args.built]
        f = unpack(raw, EnterpriseFile)
        f.id = uscc(n)
        table[uscc(n).encode()] = pack(f)
    hazards = {hid.encode(): pack(h) for hid, h in rp.states["hazard"].items()}
    now = (START + timedelta(days=365)).timestamp()
    rnd = random.Random(17)
    keys = [rnd.choice(list(table)) for _ in range(args.reads)]
    hkeys = [rnd.choice(list(hazards)) for _ in range(args.reads)]
    sizes = sorted(len(v) for v in built)
    sample = enterprise_view(unpack(table[keys[0]], EnterpriseFile), rules, now)
    result = {
        "enterprises": args.enterprises, "built_through_cores": args.built,
        "timeline_entries_fed": entries, "build_seconds": round(build_s, 1),
        "file_bytes": {"p50": sizes[len(sizes) // 2], "max": sizes[-1]},
        "sample_file": {k: sample[k] for k in ("hazards", "inspections", "status")},
        "enterprise_view": timed(lambda k: codec.dumps(enterprise_view(unpack(table[k], EnterpriseFile),
                                                                       rules, now)), keys),
        "hazard_view": timed(lambda k: codec.dumps(hazard_view(unpack(hazards[k]), rules, now)), hkeys),
        "board_read": board_read(table, rules, now),
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
