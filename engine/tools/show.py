"""`hazard-engine show HAZARD_ID`: a hazard's state, its running clocks and its timeline.

`hazard-engine show --enterprise USCC` prints an enterprise's file (一企一档) the same way.

The state is read from the hazard table's changelog (its history's chunks from the history
table's changelog) and the timeline from the
timeline topic, on the one partition the hazard's id hashes to, so this works
without the worker and without its HTTP server.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping
from typing import Any

from aiokafka import TopicPartition

from engine.cores import HISTORY_TABLES, TABLES
from engine.decide import proposals
from engine.decide.clocks import WITHDRAWN
from engine.decide.state import Hazard
from engine.enterprise.coverage import classes_on_file, next_step, notices_standing, spells
from engine.enterprise.state import EnterpriseFile
from engine.intake.process import TIMELINE
from engine.kernel.time import iso
from engine.store import unpack
from engine.tools.kafka import partition_for_key, partitions_of, reader, started


async def _records_for_key(bootstrap: str, topic: str, key: bytes,
                           auth: Mapping[str, Any] | None = None, chunks: bool = False) -> list[Any]:
    """The records of `key` on the partition it hashes to; with `chunks`, those of its history
    chunks instead (keys `chunk_key(key, n)`, written to the same partition)."""
    consumer = await started(reader(bootstrap, auth))
    try:
        all_partitions = await partitions_of(consumer, topic)
        if not all_partitions:
            return []
        # The worker writes a table's changelog to the partition of the record that changed it,
        # which is the timeline partition the key hashes to, as Kafka's default partitioner does.
        partition = partition_for_key(key, len(all_partitions))
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        found = []
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            found += [r for r in batch.get(tp, [])
                      if (r.key.rpartition(b"#")[0] == key if chunks else r.key == key)]
        return found
    finally:
        await consumer.stop()


async def load(bootstrap: str, prefix: str, app_id: str, hazard_id: str,
               auth: Mapping[str, Any] | None = None) -> tuple[Hazard | None, list[dict[str, Any]]]:
    """The latest stored state of a hazard and its timeline entries, in order."""
    key = hazard_id.encode()
    changes = await _records_for_key(bootstrap, f"{app_id}-hazards-changelog", key, auth)
    chunks = await _records_for_key(bootstrap, f"{app_id}-{HISTORY_TABLES['hazard']}-changelog", key,
                                    auth, chunks=True)
    entries = await _records_for_key(bootstrap, prefix + TIMELINE, key, auth)
    latest = changes[-1].value if changes else None
    history = {r.key: r.value for r in chunks}
    return (unpack(latest, history=history) if latest else None), [json.loads(r.value) for r in entries]


def render(h: Hazard | None, entries: list[dict[str, Any]], hazard_id: str, now: int | None = None) -> str:
    """A readable page about one hazard: with `now`, whether it is overdue then."""
    if h is None and not entries:
        return f"{hazard_id}: no such hazard on this broker"
    lines = []
    if h is None:  # an alert's id, say: its timeline entries are all there is to show here
        lines.append(f"{hazard_id}: no hazard of this id on this broker, only timeline entries (`show` reads "
                     "hazards; an alert's state: GET /alerts/{id} or /board/alerts/{id})")
    if h is not None:
        lines += [
            f"{h.id}  status={h.status()}  tier={h.tier or '-'}  grade={h.grade or h.claimed or '-'}",
            f"  title: {h.title}",
            f"  town={h.town}  sector={h.sector}  enterprise={h.enterprise[1] if h.enterprise else '-'}",
            f"  deadline: {iso(h.deadline) or '-'}{'  (approximate)' if h.approx else ''}"
            f"{'  OVERDUE (no completion claim)' if now is not None and h.overdue(now) else ''}"
            f"  cycle={h.cycle}  ladder steps fired={h.step}",
        ]
        standing = [r for r in h.referred if not r.startswith(WITHDRAWN)]
        withdrawn = [r.removeprefix(WITHDRAWN) for r in h.referred if r.startswith(WITHDRAWN)]
        if standing or withdrawn:
            lines.append(f"  referrals: {', '.join(standing) or 'none standing'}"
                         + (f"; withdrawn: {', '.join(withdrawn)}" if withdrawn else ""))
        if h.listed:
            lines.append(f"  listed supervision: {h.listed[0]}, deadline {iso(h.listed[2])}, "
                         f"{'active' if h.listed[3] else 'lifted'}")
        lines.append("  running clocks:" if h.clocks else "  running clocks: none")
        lines += [f"    {name:<12} due {iso(due)}" for name, due in sorted(h.clocks.items(),
                                                                        key=lambda kv: kv[1])]
        if h.proposals:
            lines.append("  enforcement proposals:")
            lines += [_proposal_line(p) for p in proposals.standing(h)]
        lines.append("  record (三项制度), in the order the engine took each step (one recorded late "
                     "stands where it arrived):")
        lines += [f"    {iso(t)}  {what}  [{eid}]" for t, eid, what in h.timeline()]
    lines.append(f"  timeline entries: {len(entries)}")
    lines += [f"    {e.get('time')}  {e['type']}  {e.get('event_id') or e['entry_id']}"
              for e in entries]
    return "\n".join(lines)


def _proposal_line(p: dict[str, Any]) -> str:
    """One enforcement proposal and where it stands (engine/decide/proposals.py `standing`)."""
    answer = _answered(p["answered_by"])
    decision = p.get("decision")
    then = (f"  decision due {decision['due']}  {decision['status']}{_answered(decision['decided_by'])}"
            if decision else "")
    return (f"    {p['measure']:<21} proposed {p['proposed_at']}  due {p['due']}  {p['status']}{answer}{then}"
            f"  [{p['proposal_id']}]")


def _answered(by: dict[str, Any] | None) -> str:
    """The record that answered a proposal or decided it, in brackets: its kind, outcome and time."""
    if not by:
        return ""
    outcome = f" {by['outcome']}" if by.get("outcome") else ""
    return f" ({by['record']}{outcome} {by['time']})"


def run(bootstrap: str, prefix: str, app_id: str, hazard_id: str, as_json: bool,
        auth: Mapping[str, Any] | None = None, now: int | None = None) -> int:
    """Print one hazard (overdue or not as of `now`, the engine's clock); exit 1 when it is unknown."""
    h, entries = asyncio.run(load(bootstrap, prefix, app_id, hazard_id, auth))
    if as_json:
        print(json.dumps({"state": json.loads(h.encode()) if h else None,
                          "status": h.status() if h else None, "timeline": entries},
                         ensure_ascii=False, indent=2))
    elif h is not None or entries:
        print(render(h, entries, hazard_id, now))
    if h is None and not entries:  # said once, where errors go
        print(render(h, entries, hazard_id, now), file=sys.stderr)
        return 1
    return 0


async def load_enterprise(bootstrap: str, prefix: str, app_id: str, uscc: str,
                          auth: Mapping[str, Any] | None = None
                          ) -> tuple[EnterpriseFile | None, list[dict[str, Any]]]:
    """The latest stored file of an enterprise and its timeline entries (records, inspections, links)."""
    key = uscc.encode()
    changes = await _records_for_key(bootstrap, f"{app_id}-{TABLES['enterprise']}-changelog", key, auth)
    entries = await _records_for_key(bootstrap, prefix + TIMELINE, key, auth)
    latest = changes[-1].value if changes else None
    return (unpack(latest, EnterpriseFile) if latest else None), [json.loads(r.value) for r in entries]


def render_enterprise(f: EnterpriseFile | None, entries: list[dict[str, Any]], uscc: str,
                      now: int) -> str:
    """A readable page about one enterprise's file (一企一档)."""
    if f is None and not entries:
        return f"{uscc}: no such enterprise on this broker"
    lines = []
    if f is not None:
        overdue = f.overdue(now)
        key = "  key enterprise (重点企业)" if f.key else ""
        lines += [
            f"{f.id}  {f.name or '-'}  status={f.status()}  risk class={f.risk_class or '-'}{key}",
            f"  town={f.town or '-'}  sector={f.sector or '-'}  legal representative="
            f"{f.legal_representative or '-'}",
            f"  hazards: {len(f.hazards) + f.open_beyond} open, {len(overdue)} overdue, {f.closed} closed",
        ]
        if f.closed_in:  # by the town each lay in (since 2026-12-07; those closed before, in none)
            lines.append("    closed: " + ", ".join(f"{town} {n}" for town, n in sorted(f.closed_in.items())))
        # Each with the town it lies in, which may be another than the enterprise's (a site elsewhere).
        lines += [f"    {hid:<24} {h[0]:<12} in {h[8] or '? (town not known: stored before 2026-12-07)'}  "
                  f"deadline {iso(h[2]) or '-'}{'  OVERDUE' if hid in overdue else ''}"
                  for hid, h in sorted(f.hazards.items())]
        closed = spells(f)
        if closed:  # the days no coverage cycle counts
            lines.append("  closed: " + ", ".join(f"{iso(since)} to {iso(until) if until else 'now'}"
                                                  for since, until in closed))
        if f.key:  # the classes each coverage cycle ran under, and the running cycle's next step
            lines.append("  classified: " + ", ".join(f"{risk}{'' if key else ' (not key)'} from {iso(t)}"
                                                      for t, risk, key, _ in classes_on_file(f)))
            step = next_step(f)
            said = {"town_safety_office": "the town safety office told",
                    "lead_department": "the lead department's miss"}
            lines.append(f"  coverage cycle from {iso(f.cov_base) or '-'}: "
                         + (f"next, {said[step[0]]} at {iso(step[1])}" if step else "no clock running"))
        # The cycles run out uninspected, and their referrals.
        for base, at, dept, _, referral, cls, *_ in f.missed:
            lines.append(f"  missed: the cycle from {iso(base)}"
                         + (f" ({cls})" if cls else "")
                         + f", at {iso(at)}: a duty failure of {dept}; referral {referral or 'none'}")
        for n in notices_standing(f):  # the town safety office's notices that a cycle ran out
            lines.append(f"  town safety office told: the cycle from {n['cycle_from']}"
                         + (f" ({n['risk_class']})" if n["risk_class"] else "")
                         + f" ran out, at {n['told_at']} [{n['escalation_id']}]")
        last = f.last_inspection
        lines.append(f"  inspections: {f.inspections}; last "
                     + (f"{iso(last[0])} {last[1]} ({last[2]}, {last[3]} finding(s))" if last else "none"))
        if f.refusals:
            lines.append("  inspections REFUSED (拒绝、阻碍检查): " + ", ".join(
                f"{iid} {iso(t)}" for iid, t in sorted(f.refusals.items(), key=lambda kv: (kv[1], kv[0]))))
        lines.append("  orders in force:" if f.orders else "  orders in force: none")
        lines += [f"    {no}  {o[0]}  on {o[1]} since {iso(o[2])}" for no, o in sorted(f.orders.items())]
        lines.append(f"  alerts: {f.alerts}; violated orders: {f.violations}; "
                     f"enforcement proposals: {len(f.proposals)}")
        lines.append(f"  record (latest {len(f.recent)}):")
        lines += [f"    {iso(t)}  {what}  [{eid}]" for t, eid, what, _ in f.recent]
    lines.append(f"  timeline entries: {len(entries)}")
    return "\n".join(lines)


def run_enterprise(bootstrap: str, prefix: str, app_id: str, uscc: str, as_json: bool,
                   *, now: float, auth: Mapping[str, Any] | None = None) -> int:
    """Print one enterprise's file as of `now` (the settings' time source); exit 1 when it is unknown."""
    f, entries = asyncio.run(load_enterprise(bootstrap, prefix, app_id, uscc, auth))
    at = int(now)
    if as_json:
        print(json.dumps({"state": json.loads(f.encode()) if f else None,
                          "status": f.status() if f else None,
                          "overdue": f.overdue(at) if f else [], "timeline": entries},
                         ensure_ascii=False, indent=2))
    else:
        print(render_enterprise(f, entries, uscc, at))
    if f is None and not entries:
        print(f"no enterprise {uscc!r}", file=sys.stderr)
        return 1
    return 0
