"""An enterprise's file as supervisors read it, where the feeds' index files it, and its StateSource."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from engine.enterprise import credit
from engine.enterprise.coverage import HELD, classes_on_file, next_step, notices_standing, spells
from engine.enterprise.state import EnterpriseFile
from engine.feeds.filters import RecordPage
from engine.feeds.index import Indices, Place, PlaceIndex
from engine.feeds.views import TableSource, record_page
from engine.kernel.referral import released
from engine.kernel.time import iso
from engine.store import unpack
from engine.zh.words import Words

_LEAD = operator.itemgetter(5)  # an open hazard's lead department in the file


def departments(f: EnterpriseFile, rules: Any) -> tuple[str, ...]:
    """The departments that see a file: its sector's lead department, and the lead of each open hazard."""
    found = {lead for lead in set(map(_LEAD, f.hazards.values())) if lead}  # few distinct, many hazards
    if f.sector:
        found.add(rules.reference.sector_lead(f.sector).id)
    return tuple(sorted(found))


def enterprise_place(f: EnterpriseFile, rules: Any) -> Place:
    """A file's place: its town, its departments, overdue once one of its open hazards is."""
    return Place.of(f.town, departments(f, rules), f.overdue_after())


def enterprise_view(f: EnterpriseFile, rules: Any, now: float,
                    record: RecordPage | None = None) -> dict[str, Any]:
    """The file of one enterprise (一企一档) for a supervisor, with that page of the recent steps of
    its record the file keeps (a hazard's own steps are in the hazard's record)."""
    overdue = f.overdue(int(now))
    classified = None
    if f.classified:
        decided_at, by, decision_no, _ = f.classified
        classified = {"decided_at": iso(decided_at), "decided_by": by, "decision_no": decision_no}
    last, step = f.last_inspection, next_step(f)
    view = {
        "kind": "enterprise", "id": f.id, "uscc": f.id, "status": f.status(), "name": f.name,
        "town": f.town, "departments": list(departments(f, rules)), "sector": f.sector,
        "address": f.address, "legal_representative": f.legal_representative,
        "registered_at": iso(f.registered_at), "closed_at": iso(f.closed_at),
        "closed_reason": f.closed_reason,
        # Every spell it was closed that the file keeps, oldest first ("until": null while it still is):
        # no coverage cycle counts those days.
        "closed_spells": [{"from": iso(since), "until": iso(until)} for since, until in spells(f)],
        "risk_class": f.risk_class, "key_enterprise": f.key, "classified": classified,
        # Every classification kept, oldest first: a coverage cycle ran under those in force while it ran.
        "classifications": [{"decided_at": iso(t), "risk_class": risk, "key_enterprise": key, "event_id": eid}
                            for t, risk, key, eid in classes_on_file(f)],
        # When the running coverage cycle's next step falls due (the town safety office told, then the
        # lead department's miss); null when no cycle clock runs.
        "coverage_due": {"step": step[0], "at": iso(step[1])} if step else None,
        "overdue": bool(overdue),
        "hazards": {"open": len(f.hazards) + f.open_beyond, "overdue": len(overdue), "closed": f.closed},
        "open_hazards": [
            {"id": hid, "status": h[0], "grade": h[1], "deadline": iso(h[2]), "completion_claimed": h[3],
             "tier": h[4], "lead_department": h[5], "listed": h[7], "overdue": hid in overdue}
            for hid, h in sorted(f.hazards.items())],
        "inspections": f.inspections,
        "last_inspection": ({"time": iso(last[0]), "inspection_id": last[1], "kind": last[2],
                             "findings": last[3]} if last else None),
        "refused_inspections": [{"inspection_id": iid, "time": iso(t)} for iid, t in
                                sorted(f.refusals.items(), key=lambda kv: (kv[1], kv[0]))],
        "orders_in_force": [{"order_no": no, "order": o[0], "hazard_id": o[1], "since": iso(o[2])}
                            for no, o in sorted(f.orders.items(), key=lambda kv: (kv[1][2], kv[0]))],
        # Its key-enterprise cycles that ran out uninspected, the latest coverage.MISSED and every
        # referral held: the department that failed its duty, and its referral to discipline
        # inspection (held: waiting a day for an inspection recorded late; sent; or none).
        # Each with the referral's ground as a hazard's referrals name theirs, a held one's end, and
        # the class the cycle ran out under (None for a miss stored before 2026-12-06).
        "missed_cycles": [{"cycle_from": iso(base), "missed_at": iso(at), "department": dept,
                           "referral": referral, "ground": f"{rules.duty_failures.rule_id}:{dept}",
                           "risk_class": cls,
                           **({"held_until": iso(released(at, rules))} if referral == HELD else {})}
                          for base, at, dept, _, referral, cls, *_ in f.missed],
        # The town safety office's notices that a key-enterprise cycle ran out, those standing (a
        # late record withdraws one time order never gave), the latest coverage.MISSED + 1.
        "coverage_notices": notices_standing(f),
        "duty_failures": dict(sorted(f.duty_fails.items())),
        "violations": f.violations,
        "alerts": f.alerts,
        "last_alert": ({"time": iso(f.last_alert[0]), "alert_id": f.last_alert[1],
                        "alert_kind": f.last_alert[2]} if f.last_alert else None),
        # Each with where it stands, as its hazard says (awaiting its legal review or decision,
        # answered, answered_late, overdue, not_pressed, not_watched); None if filed before 2026-12-05.
        "proposals": [{"time": iso(t), "proposal_id": p, "measure": m, "hazard_id": h,
                       "status": f.proposal_states.get(p)} for t, p, m, h in f.proposals],
        # Proposals are for the supervisors who decide; only a person's decision makes a list entry.
        "credit": {
            "proposals": [{"proposal_id": pid, "criterion": criterion, "proposed_at": iso(at),
                           "decision": decision[0] if decision else "awaiting a person's decision",
                           **({"withdrawn_at": iso(f.credit_withdrawn[pid])} if pid in f.credit_withdrawn
                              else {})}
                          for pid, criterion, at, decision in f.credit if criterion is not None],
            # Decisions naming a proposal the file has not made: no list entry (credit.listed).
            "unmatched": [{"proposal_id": pid, "decision": decision[0], "decision_no": decision[4],
                           "decided_at": iso(decision[1])}
                          for pid, criterion, _, decision in f.credit if criterion is None and decision],
            "listed": credit.listed(f, int(now))},
    }
    if record is not None:
        view.update(record_page(f.recent, record, Words("zh", rules.reference)))
    return view


def enterprise_source(table: Mapping[bytes, bytes], rules: Any, now: Callable[[], float],
                      index: PlaceIndex | Indices) -> TableSource:
    """The enterprises table (values as `engine.store.pack` writes them) as a StateSource."""
    return TableSource(table, lambda raw, record: enterprise_view(unpack(raw, EnterpriseFile), rules, now(),
                                                                  record), index)
