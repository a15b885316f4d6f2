"""The annual enforcement plan's progress: inspections planned against done, by month and town.

Planned is the plan's monthly number for the town plus every campaign that
touches the month (rules/plan.yaml, `annual`); done is the inspections the
enterprises' files count for that month, by the enterprise's town. A month
that has ended with fewer done than planned is behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from engine.enterprise.state import EnterpriseFile
from engine.kernel.escalation import escalation
from engine.kernel.ids import output_id
from engine.kernel.outputs import Out
from engine.kernel.targets import department_unit, shared_unit
from engine.plan.rules import Annual
from engine.zh.words import Words


def _month_span(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    last = date(year + month // 12, month % 12 + 1, 1).toordinal() - 1
    return first, date.fromordinal(last)


def planned(annual: Annual, town: str, year: int, month: int) -> tuple[int, list[str]]:
    """The inspections planned in one town and month, and the campaigns that add to them."""
    first, last = _month_span(year, month)
    active = [c for c in annual.campaigns if c.from_ <= last and c.to >= first]
    return annual.per_month[town] + sum(c.extra_per_month for c in active), [c.id for c in active]


def progress(files: Iterable[EnterpriseFile], annual: Annual, today: date) -> list[dict[str, Any]]:
    """One row per month and town of the plan's year: planned, done, and whether it fell behind.

    A month before `tracked_from` is never behind: the engine did not record its inspections.
    """
    done: dict[tuple[str, str], int] = {}
    for f in files:
        for month, count in f.months.items():
            done[(month, f.town or "")] = done.get((month, f.town or ""), 0) + count
    rows = []
    for month in range(1, 13):
        key = f"{annual.year}-{month:02d}"
        ended = _month_span(annual.year, month)[1] < today and month >= annual.tracked_from
        for town in sorted(annual.per_month):
            want, campaigns = planned(annual, town, annual.year, month)
            got = done.get((key, town), 0)
            rows.append({"month": key, "town": town, "planned": want, "done": got,
                         "campaigns": campaigns, "behind": ended and got < want})
    return rows


def caught_up(row: dict[str, Any], annual: Annual, reference: Any, rules_version: str, lead: str, at: int,
              cause: str) -> Out:
    """The withdrawal of a month and town's escalation behind plan (`behind_escalations`), once
    inspections made in that month but recorded after its check bring it to plan: to the same
    recipients, under an id of its own that derives from the one it withdraws."""
    subject = f"{row['month']}/{row['town']}"
    reason = (f"The escalation annual.behind of {subject} is withdrawn: {row['done']} of {row['planned']} "
              f"planned inspections were done in {row['month']}, counting those recorded after the check "
              "(年度执法计划)")
    return _month_escalation(row, annual, reference, rules_version, lead, at, "plan_behind_withdrawn",
                             reason, [cause])


def behind_escalations(rows: Iterable[dict[str, Any]], annual: Annual, reference: Any, rules_version: str,
                       lead: str, at: int) -> list[Out]:
    """An escalation for each month and town behind plan, to the town safety office and `lead`.

    Its id derives from the plan's year, the month and the town, so publishing the
    progress again sends nothing new to a subscriber that de-duplicates.
    """
    return [_month_escalation(r, annual, reference, rules_version, lead, at, "plan_behind",
                              f"{reference.towns[r['town']].name}: {r['done']} of {r['planned']} planned "
                              f"inspections done in {r['month']} (年度执法计划)", [])
            for r in rows if r["behind"]]


def _month_escalation(row: dict[str, Any], annual: Annual, reference: Any, rules_version: str, lead: str,
                      at: int, action: str, reason: str, caused_by: list[str]) -> Out:
    """A month and town's escalation about the plan (`plan_behind`, or its withdrawal), to the town
    safety office and `lead`. The escalation behind plan has the id of the year, month and town; its
    withdrawal an id derived from that one."""
    town = reference.towns[row["town"]]
    subject = f"{row['month']}/{row['town']}"
    eid = output_id("escalation", "annual-plan", annual.year, subject)
    if action != "plan_behind":
        eid = output_id("withdrawn", eid)
    office = shared_unit("town_safety_office", town, reference) or []
    return escalation(
        eid, subject_kind="plan", subject_id=subject, action=action, tier="orange",
        targets=[*office, department_unit(lead, reference)], reason=reason, rule_id="annual.behind",
        rules_version=rules_version, at=at, due_at=None, town=row["town"], sector=None, grade=None,
        caused_by=caused_by, reason_zh=Words("zh", reference).reason(reason))
