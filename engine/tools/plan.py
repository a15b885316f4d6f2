"""`hazard-engine plan draw` and `plan verify`: the random draw from the broker's records, and its audit.

The draw reads every enterprise's latest file from the enterprises table's
changelog and the earlier draws from `inspections.draws`, so it needs no
running worker; with `--record` it writes its `safety.inspection.drawn` event
there, keyed by period. `plan verify FILE` re-runs a recorded draw from its own
inputs and the roster, and says whether it gives the same list.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from engine import codec
from engine.contract.outputs import ESCALATIONS, INSPECTIONS_PUBLIC, record_headers
from engine.cores import TABLES
from engine.enterprise.state import EnterpriseFile
from engine.kernel.time import epoch, iso
from engine.plan.annual import behind_escalations, progress
from engine.plan.draw import DRAWN_TYPE, DrawError, draw_event, publication, rerun, standing
from engine.plan.rules import PlanRules
from engine.ruleset.calendar import SHANGHAI
from engine.store import unpack
from engine.tools.kafka import opened, producer, read_to_end, require_topic

DRAWS_TOPIC = "inspections.draws"
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


async def latest_files(bootstrap: str, app_id: str,
                       auth: Mapping[str, Any] | None = None) -> list[EnterpriseFile]:
    """Every enterprise's latest file in the table's changelog."""
    latest: dict[bytes, bytes | None] = {}
    for r in await read_to_end(bootstrap, f"{app_id}-{TABLES['enterprise']}-changelog", auth):
        latest[r.key] = r.value
    return [unpack(v, EnterpriseFile) for v in latest.values() if v]


async def recorded_draw_events(bootstrap: str, prefix: str,
                               auth: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every draw event recorded so far, in the order recorded."""
    records = await read_to_end(bootstrap, prefix + DRAWS_TOPIC, auth)
    return [e for e in map(codec.loads, (r.value for r in records if r.value)) if e.get("type") == DRAWN_TYPE]


async def recorded_draws(bootstrap: str, prefix: str,
                         auth: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The data of every draw recorded so far, in the order recorded."""
    return [e["data"] for e in await recorded_draw_events(bootstrap, prefix, auth)]


async def _send(bootstrap: str, topic: str, records: list[tuple[str, dict[str, Any]]],
                headers: list[tuple[str, bytes]], auth: Mapping[str, Any] | None) -> None:
    """Send (key, event) records to a topic that must exist already."""
    await require_topic(bootstrap, topic, auth)
    async with opened(producer(bootstrap, auth)) as prod:
        sent = [await prod.send(topic, codec.dumps(event), key=key.encode(), headers=headers or None)
                for key, event in records]
        await asyncio.gather(*sent)


def run_draw(bootstrap: str, prefix: str, app_id: str, period: str, seed: str, plan: PlanRules,
             record: bool, as_json: bool, *, now: float, auth: Mapping[str, Any] | None = None) -> int:
    """Draw a period's enterprises and inspectors; print them, and record the draw if asked."""
    if not PERIOD.match(period):
        print(f"plan draw: --period {period!r} is not a month, YYYY-MM", file=sys.stderr)
        return 2
    if not seed.strip():
        print("plan draw: --seed must not be empty: it is published so that anyone can re-run the draw",
              file=sys.stderr)
        return 2
    earlier = asyncio.run(recorded_draws(bootstrap, prefix, auth))
    drawn = standing(earlier, period)
    if record and drawn is not None:
        print(f"plan draw: {period} was drawn already (draw {drawn['draw_id']}, seed {drawn['seed']!r}): one "
              "draw per period, and that one stands; `plan publish` publishes it", file=sys.stderr)
        return 2
    files = asyncio.run(latest_files(bootstrap, app_id, auth))
    event = draw_event(seed, period, files, plan, earlier, int(now))
    if record:
        asyncio.run(_send(bootstrap, prefix + DRAWS_TOPIC, [(period, event)], [], auth))
    if as_json:
        print(json.dumps(event, ensure_ascii=False, indent=2))
        return 0
    names = {f.id: (f.name or "-", f.town or "-", f.risk_class or "-") for f in files}
    d = event["data"]
    for n, p in enumerate(d["picks"], 1):
        name, town, risk = names.get(p["uscc"], ("-", "-", "-"))
        pair = " + ".join(p["inspectors"]) or f"UNASSIGNED: {p['unassigned']}"
        print(f"{n:>3}. {p['uscc']}  {name}  ({town}, {risk}, weight {p['weight']})  {pair}")
    ex = d["excluded"]
    print(f"draw {d['draw_id']} for {period}, seed {seed!r}: {len(d['picks'])} of "
          f"{len(d['inputs']['candidates'])} candidates; left out {ex['key_enterprise']} key, "
          f"{ex['closed']} closed, {ex['unregistered']} unregistered"
          + (f"; recorded on {prefix}{DRAWS_TOPIC}" if record else " (not recorded)"))
    return 0


def run_publish(bootstrap: str, prefix: str, app_id: str, period: str, as_json: bool, *, now: float,
                auth: Mapping[str, Any] | None = None) -> int:
    """Publish a period's recorded draw with its results on inspections.public (一公开), once inspected."""
    events = asyncio.run(recorded_draw_events(bootstrap, prefix, auth))
    drawn = next((e for e in events if e["data"]["period"] == period), None)  # the one that stands
    if drawn is None:
        print(f"plan publish: no draw recorded for {period} on {prefix}{DRAWS_TOPIC}", file=sys.stderr)
        return 2
    files = {f.id: f for f in asyncio.run(latest_files(bootstrap, app_id, auth))}
    drawn_at = epoch(drawn["time"])
    event, missing = publication(drawn["data"], files, int(now), drawn_at)
    if event is None:
        # What `publication` waits for: an inspection before the draw, or an expert's visit, is on file
        # perhaps, but is not the draw's result (until 2026-12-07 this said "no inspection recorded").
        more = " …" if len(missing) > 10 else ""
        print(f"plan publish: not yet: {len(missing)} drawn enterprise(s) sent a pair have no "
              "law-enforcement inspection (an expert check is not one), done or refused, on file in "
              f"{period} dated at or after the draw ({iso(drawn_at)}): {', '.join(missing[:10])}{more}",
              file=sys.stderr)
        return 1
    asyncio.run(_send(bootstrap, prefix + INSPECTIONS_PUBLIC, [(period, event)],
                      record_headers(INSPECTIONS_PUBLIC), auth))
    if as_json:
        print(json.dumps(event, ensure_ascii=False, indent=2))
    print(f"published draw {event['data']['draw_id']} for {period} with {len(event['data']['picks'])} "
          f"results on {prefix}{INSPECTIONS_PUBLIC}", file=sys.stderr)
    return 0


def run_progress(bootstrap: str, prefix: str, app_id: str, plan: PlanRules, reference: Any,
                 publish: bool, as_json: bool, *, now: float, auth: Mapping[str, Any] | None = None) -> int:
    """Print the annual plan's progress by month and town; 1 when a month that ended fell behind.

    With `publish`, each month and town behind goes to `escalations` (a deterministic id each).
    """
    if plan.annual is None:
        print("plan progress: rules/plan.yaml has no `annual` section", file=sys.stderr)
        return 2
    files = asyncio.run(latest_files(bootstrap, app_id, auth))
    rows = progress(files, plan.annual, datetime.fromtimestamp(now, SHANGHAI).date())
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for r in rows:
            flag = "  BEHIND" if r["behind"] else ""
            extra = f"  ({', '.join(r['campaigns'])})" if r["campaigns"] else ""
            print(f"{r['month']}  {r['town']:<14} planned {r['planned']:>4}  done {r['done']:>4}"
                  f"{flag}{extra}")
    behind = [r for r in rows if r["behind"]]
    if publish and behind:
        outs = behind_escalations(behind, plan.annual, reference, plan.version,
                                  plan.annual.lead_department, int(now))
        asyncio.run(_send(bootstrap, prefix + ESCALATIONS, [(o.key, o.event) for o in outs],
                          record_headers(ESCALATIONS), auth))
    print(f"{len(behind)} month-town(s) behind plan in {plan.annual.year}"
          + (f", escalated on {prefix}{ESCALATIONS}" if publish and behind else ""), file=sys.stderr)
    return 1 if behind else 0


def run_verify(path: Path, plan: PlanRules) -> int:
    """Re-run a recorded draw (a JSON file of its event) and compare: 0 when the lists agree."""
    try:
        event = json.loads(path.read_text(encoding="utf-8"))
        data = event["data"]
        again = rerun(data, plan)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = str(exc) if isinstance(exc, DrawError) else f"{type(exc).__name__}: {exc}"
        print(f"plan verify: {path}: cannot re-run it: {reason}", file=sys.stderr)
        return 2
    if again == data["picks"]:
        print(f"draw {data['draw_id']} ({data['period']}): the re-run gives the same "
              f"{len(again)} picks and pairs")
        return 0
    print(f"draw {data['draw_id']} ({data['period']}): the re-run DIFFERS from the recorded picks",
          file=sys.stderr)
    for want, got in zip(data["picks"], again, strict=False):
        if want != got:
            print(f"  recorded {want}\n  re-run   {got}", file=sys.stderr)
            break
    return 1
