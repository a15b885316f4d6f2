"""An enterprise's file as supervisors read it, where the feeds' index files it, and its StateSource."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from engine.enterprise import credit
from engine.enterprise.coverage import HELD, classes_on_file, next_step, notices_standing, spells
from engine.enterprise.state import EnterpriseFile
from engine.feeds.filters import RecordPage
from engine.feeds.index import Indices, Place, PlaceIndex
from engine.feeds.tokens import Scope
from engine.feeds.views import TableSource, record_page
from engine.kernel.referral import released
from engine.kernel.time import iso
from engine.store import unpack
from engine.zh.words import Words

_LEAD = operator.itemgetter(5)  # an open hazard's lead department in the file
_TOWN = operator.itemgetter(8)  # where an open hazard lies (None: stored before format 14, not known)

# How much of a file a viewer sees (`seen_as`). A district-wide viewer, or a department's across the
# district, sees it whole. The supervisor of the enterprise's own town sees the enterprise's own
# business (who it is, its class and key-enterprise cycle, inspections, alerts, credit, its record)
# and the hazards of its towns. The supervisor of a town where only hazards of it lie (属地: a site
# in another town) sees who the enterprise is, its class and its credit-list entries in force, and
# of the rest only what concerns its towns: their hazards, the orders and enforcement proposals on
# those, their closed count and the steps of the record that name them.
WHOLE, ENTERPRISE_TOWN, HAZARD_TOWN = "whole", "enterprise_town", "hazard_town"
# What the supervisor of a town where only hazards of the enterprise lie is not shown: the
# enterprise's own supervision by its town and lead department (inspections, the key-enterprise
# cycle and its duty failures, alerts at the enterprise, credit proposals awaiting a decision and
# what they count), and the outputs keyed by the enterprise (its cycle's escalations and credit
# proposals: `outputs`, which the board does not list then).
OWN_BUSINESS = ("coverage_due", "inspections", "last_inspection", "refused_inspections", "missed_cycles",
                "coverage_notices", "duty_failures", "violations", "alerts", "last_alert", "credit_proposals",
                "outputs")
# How the file's record named a hazard in the words of a step stored before format 15, which kept
# no hazard id (core.py `_hazard`, `_settled`, the proposals' lines).
_NAMES_HAZARD = re.compile(r"\bhazard ([^\s()]+)")


def departments(f: EnterpriseFile, rules: Any, shown: Collection[str] | None = None) -> tuple[str, ...]:
    """The departments that see a file: its sector's lead department, and the lead of each open hazard
    (of those `shown`, when a view shows some alone: another town's hazards' leads are not said)."""
    rows = f.hazards.values() if shown is None else (f.hazards[hid] for hid in shown)
    return _with_sector_lead(f, rules, set(map(_LEAD, rows)))


def _with_sector_lead(f: EnterpriseFile, rules: Any, leads: set[str | None]) -> tuple[str, ...]:
    """`leads`, the open hazards' lead departments (few distinct, many hazards), with the lead of the
    enterprise's sector, sorted."""
    found = {lead for lead in leads if lead}
    if f.sector:
        found.add(rules.reference.sector_lead(f.sector).id)
    return tuple(sorted(found))


def other_towns(f: EnterpriseFile, towns: Iterable[str | None] | None = None) -> tuple[str, ...]:
    """The towns besides the enterprise's own where open hazards of it lie (`towns`: those of the
    hazards a view shows; else as the file keeps them): their supervisors find the file."""
    found = set(towns if towns is not None else map(_TOWN, f.hazards.values()))  # few distinct
    return tuple(sorted(t for t in found - {f.town} if t))


def enterprise_place(f: EnterpriseFile, rules: Any) -> Place:
    """A file's place: its town and the other towns where its open hazards lie, its departments,
    overdue once one of its open hazards is.

    What `departments`, `other_towns` and `EnterpriseFile.overdue_after` give, from one pass over
    the open hazards instead of three: every store of a file asks, and a busy file has hundreds of
    them (the overdue time is `overdue_after`'s rule, restated in the pass)."""
    leads: set[str | None] = set()
    towns: set[str | None] = set()
    due = None
    for row in f.hazards.values():
        leads.add(row[5])
        towns.add(row[8])
        deadline = row[2]
        if deadline is not None and not row[3] and (due is None or deadline < due):
            due = deadline
    return Place.of(f.town, _with_sector_lead(f, rules, leads), due, other_towns(f, towns))


def viewer_towns(scope: Scope | None) -> frozenset[str] | None:
    """The towns a viewer's scope limits a file to; None for one that sees every town (district-wide,
    or a department's across the district, or no scope: the tools)."""
    return None if scope is None or scope.district or not scope.towns else scope.towns


def hazard_towns(f: EnterpriseFile,
                 town_of: Callable[[str], str | None] | None = None) -> dict[str, str | None]:
    """Where each open hazard the file lists lies: as the file keeps it, else (a row stored before
    format 14) as the hazard's own state says (`town_of`: the hazards' index on a worker), else None,
    not known."""
    return {hid: _TOWN(row) if _TOWN(row) is not None or town_of is None else town_of(hid)
            for hid, row in f.hazards.items()}


def seen_as(f: EnterpriseFile, towns: Collection[str] | None) -> str:
    """How much of the file a viewer limited to `towns` (None: every town) sees: WHOLE,
    ENTERPRISE_TOWN or HAZARD_TOWN."""
    if towns is None:
        return WHOLE
    return ENTERPRISE_TOWN if f.town in towns else HAZARD_TOWN


def record_lines(recent: list[list[Any]], shown: Collection[str], part: str) -> list[list[Any]]:
    """The steps of a file's record a viewer sees: every one seen whole; else those about a hazard
    it is shown, and, by the enterprise's own town, those about the enterprise itself. A step says
    the hazard it concerns (core.py `_note`), whatever its words name; one stored before format 15
    says none, and is about the hazards its words name (all of them shown, for it to be shown). A
    step about a hazard the file no longer lists (closed since) is about a hazard of no known town:
    shown whole only (the hazard's own record has it, for its town)."""
    if part == WHOLE:
        return recent
    kept = []
    for line in recent:
        about = line[3]
        named = _NAMES_HAZARD.findall(line[2]) if about is None else [about] if about else []
        if part == HAZARD_TOWN and line[2].startswith("credit proposal "):
            continue  # the enterprise's credit, withheld from a town where only hazards of it lie
        if (all(h in shown for h in named) and named) or (not named and part == ENTERPRISE_TOWN):
            kept.append(line)
    return kept


def enterprise_view(f: EnterpriseFile, rules: Any, now: float, record: RecordPage | None = None,
                    towns: Collection[str] | None = None,
                    town_of: Callable[[str], str | None] | None = None) -> dict[str, Any]:
    """The file of one enterprise (一企一档) for a supervisor, with that page of the recent steps of
    its record the file keeps (a hazard's own steps are in the hazard's record), limited to what a
    viewer of `towns` sees (None: seen whole; `seen_as`). `town_of` names the town of a hazard the
    file keeps none for (stored before format 14)."""
    where = hazard_towns(f, town_of)
    part = seen_as(f, towns)
    shown = {hid for hid, town in where.items() if towns is None or town in towns}
    view = _whole_view(f, rules, now, shown, where)
    if part != WHOLE:
        _limit(view, f, rules, towns or (), part)
    if record is not None:
        lines = record_lines(f.recent, shown, part)
        view.update(record_page(lines, record, Words("zh", rules.reference)))
    return view


def _limit(view: dict[str, Any], f: EnterpriseFile, rules: Any, towns: Collection[str], part: str) -> None:
    """Limit a file's view to a viewer of `towns`: what names the hazards it is not shown goes, and
    the counts no town's hazards can be told apart in (those beyond MAX_OPEN, and those closed before
    format 14); seen from a town where only hazards of it lie, so does the enterprise's own business
    (OWN_BUSINESS)."""
    counts = view["hazards"]
    counts["open"] = len(view["open_hazards"])
    counts["closed"] = sum(f.closed_in.get(t, 0) for t in towns)
    shown = {h["id"] for h in view["open_hazards"]}
    # An order or a proposal on a hazard the file no longer lists (closed) names one of no known town.
    view["orders_in_force"] = [o for o in view["orders_in_force"] if o["hazard_id"] in shown]
    view["proposals"] = [p for p in view["proposals"] if p["hazard_id"] in shown]
    view["departments"] = list(departments(f, rules, shown))
    view["seen_as"], view["seen_from"] = part, sorted(towns)
    if part != HAZARD_TOWN:
        return
    for key in OWN_BUSINESS:
        if key in view:
            view[key] = [] if isinstance(view[key], list) else {} if isinstance(view[key], dict) else None
    view["credit"]["proposals"], view["credit"]["unmatched"] = [], []
    view["withheld"] = list(OWN_BUSINESS)


def _whole_view(f: EnterpriseFile, rules: Any, now: float, shown: Collection[str],
                where: Mapping[str, str | None]) -> dict[str, Any]:
    """The file's view, its hazards and what names them (orders, enforcement proposals) those in
    `shown`, each open hazard with its town (`where`)."""
    overdue = [hid for hid in f.overdue(int(now)) if hid in shown]
    classified = None
    if f.classified:
        decided_at, by, decision_no, _ = f.classified
        classified = {"decided_at": iso(decided_at), "decided_by": by, "decision_no": decision_no}
    last, step = f.last_inspection, next_step(f)
    return {
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
        # The towns besides its own where the open hazards it shows lie (a town's supervisor finds
        # the file by them), and how much of the file the viewer sees (`_limit`).
        "other_towns": list(other_towns(f, (where[hid] for hid in shown))),
        "seen_as": WHOLE, "seen_from": None, "withheld": [],
        "overdue": bool(overdue),
        "hazards": {"open": len(f.hazards) + f.open_beyond, "overdue": len(overdue), "closed": f.closed},
        # Each with the town it lies in (null: stored before 2026-12-07 and not known yet).
        "open_hazards": [
            {"id": hid, "status": h[0], "grade": h[1], "deadline": iso(h[2]), "completion_claimed": h[3],
             "tier": h[4], "lead_department": h[5], "listed": h[7], "town": where[hid],
             "overdue": hid in overdue}
            for hid, h in sorted(f.hazards.items()) if hid in shown],
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


def enterprise_source(table: Mapping[bytes, bytes], rules: Any, now: Callable[[], float],
                      index: PlaceIndex | Indices,
                      town_of: Callable[[str], str | None] | None = None) -> TableSource:
    """The enterprises table (values as `engine.store.pack` writes them) as a StateSource, each file
    limited to what the scope asking sees of it (`enterprise_view`); `town_of` names the town of a
    hazard a file keeps none for (the hazards' index)."""
    return TableSource(table, lambda raw, record, scope: enterprise_view(
        unpack(raw, EnterpriseFile), rules, now(), record, viewer_towns(scope), town_of), index, scoped=True)
