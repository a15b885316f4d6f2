"""The worker tracks the annual enforcement plan: a month and town that fell behind escalates by itself.

`hazard-engine plan progress` counts planned against done when someone runs
it. The worker does the same for every town of the plan without being asked,
through a small core of its own (`decide_plan`, pure), one subject per year
and town, keyed `YEAR/TOWN` (e.g. `2027/huxi`) on the timeline like any
other subject:

- a seed entry (`SEED_TYPE`) creates the subject. A month and town with no
  inspection at all has no state anywhere else, so without the seed no clock
  could fire for it. The worker sends one for each town of the plan whose
  subject it does not hold yet (engine/stream/runtime.py); its id and content
  derive from the year and town alone, so sending it again changes nothing;
- a link (`LINK_TYPE`) counts one inspection, in the month it was made. The
  enterprise core's wrapper `with_plan_links` adds it when an enterprise's file
  counts an inspection (a refused one does not count, as in the file, nor does
  an inspection recorded again under a fresh event id), for the town of the
  file at that moment; and one with `uncounted` takes one out of its month,
  when a file no longer counts an inspection it counted (recorded again as
  refused: the later record supersedes the earlier one);
- a clock per month, due `check_days` after the month ends (00:00 Beijing
  time on the 1st of the next month): planned against done, and when fewer
  were done, the same escalation `plan progress --publish` sends
  (engine/plan/annual.py `behind_escalations`), with the same id, so a
  subscriber that de-duplicates sees one escalation whoever raised it first.

The plan (its year, towns, numbers, campaigns and lead department) is read
from the rules, not from the seed: a changed plan.yaml applies to the months
not checked yet. A month already checked is not checked again. Months before
the plan's `tracked_from` are never checked: an engine started mid-year did not
see their inspections, and finding them all behind would escalate wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar

from engine import codec
from engine.feeds.index import Place
from engine.intake.process import TIMELINE
from engine.intake.timeline import INSPECTED_TYPE
from engine.kernel.apply import CLOCK_TYPE, advance_clocks, apply_entry, entry_time
from engine.kernel.entries import with_cause
from engine.kernel.ids import output_id
from engine.kernel.outputs import Out
from engine.kernel.state import from_doc
from engine.kernel.time import iso
from engine.plan.annual import behind_escalations, caught_up, planned
from engine.ruleset.calendar import SHANGHAI

SEED_TYPE = "safety.plan.seeded"  # internal: a year and town of the annual plan to track
LINK_TYPE = "safety.plan.inspected"  # internal: one inspection counted for a town and month
DAY = 86_400


@dataclass(frozen=True, slots=True)
class PlanTracking:
    """What the plan core reads: the annual plan, the reference (towns, departments), the plan's version."""

    annual: Any  # engine.plan.rules.Annual
    reference: Any
    version: str


@dataclass(slots=True)
class PlanTown:
    """One town's year of the annual plan: inspections done by month, and the months checked."""

    id: str  # YEAR/TOWN
    year: int = 0
    town: str = ""
    done: dict[str, int] = field(default_factory=dict)  # YYYY-MM -> inspections counted
    checked: int = 0  # months of the year checked so far (1 = January checked)
    behind: list[str] = field(default_factory=list)  # months found behind and escalated
    clocks: dict[str, int] = field(default_factory=dict)  # clock name -> due (derived)
    applied: list[int] = field(default_factory=list)
    # The records of each source partition (`source_of`'s key) whose entries it applied, those of the
    # last SPAN offsets there, as runs of offsets: {"starts": [...], "ends": [...]} (`remember`).
    applied_from: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    watermark: int = 0

    # Every field is named already: no positional lists to name in the stored record (engine/store.py).
    NAMED: ClassVar[dict[str, tuple[str, tuple[str, ...]]]] = {}

    def doc(self, whole: bool = True, named: bool = False) -> dict[str, Any]:
        """The fields by name, empty ones left out; without the applied hashes unless `whole` (the
        table stores them raw, after the state: engine/store.py). `named` changes nothing: a plan
        town has no positional lists."""
        return {name: getattr(self, name) for name in _FIELD_NAMES
                if getattr(self, name) not in ([], {}) and (whole or name != "applied")}

    def encode(self) -> bytes:
        """Serialise compactly, leaving out empty fields."""
        return codec.dumps(self.doc())

    @classmethod
    def decode(cls, raw: bytes) -> PlanTown:
        """The inverse of encode."""
        return from_doc(cls, codec.loads(raw))

    def next_due(self) -> int | None:
        """The next month's check, for the deadline index."""
        return min(self.clocks.values()) if self.clocks else None


_FIELD_NAMES = [f.name for f in fields(PlanTown)]


def subject(year: int, town: str) -> str:
    """The key of a town's year of the plan."""
    return f"{year}/{town}"


def month_end(year: int, month: int) -> int:
    """The instant a month ends in Beijing time: 00:00 on the 1st of the next month."""
    return int(datetime(year + month // 12, month % 12 + 1, 1, tzinfo=SHANGHAI).timestamp())


def seed_entry(year: int, town: str) -> dict[str, Any]:
    """The timeline entry that starts tracking a town's year; the same bytes every time it is made."""
    key = subject(year, town)
    eid = output_id("plan-seed", year, town)
    return {"entry_id": eid, "id": eid, "subject": key, "subject_kind": "plan", "type": SEED_TYPE,
            "source": "/engine", "event_id": eid, "time": iso(month_end(year - 1, 12)),
            "data": {"year": year, "town": town}}


def seed_entries(annual: Any) -> list[dict[str, Any]]:
    """A seed for each town of the plan, in town order."""
    return [seed_entry(annual.year, town) for town in sorted(annual.per_month)]


def derive(p: PlanTown, pt: PlanTracking) -> dict[str, int]:
    """The next month's check, while the plan covers this year and town."""
    a = pt.annual
    if a.year != p.year or p.town not in a.per_month or p.checked >= 12:
        return {}
    return {"month": month_end(p.year, _next_month(p, a)) + a.check_days * DAY}


def _next_month(p: PlanTown, annual: Any) -> int:
    """The month to check next: the one after the last checked, and never before `tracked_from`."""
    return max(p.checked + 1, annual.tracked_from)


def fire(p: PlanTown, name: str, due: int, pt: PlanTracking) -> list[Out]:
    """Check the next month: escalate it, as `plan progress --publish` would, if it fell behind."""
    p.checked = _next_month(p, pt.annual)
    month = f"{p.year}-{p.checked:02d}"
    want, campaigns = planned(pt.annual, p.town, p.year, p.checked)
    got = p.done.get(month, 0)
    row = {"month": month, "town": p.town, "planned": want, "done": got, "campaigns": campaigns,
           "behind": got < want}
    if got < want:
        p.behind.append(month)
    return behind_escalations([row], pt.annual, pt.reference, pt.version, pt.annual.lead_department, due)


def _advance(p: PlanTown, pt: PlanTracking, now: int) -> list[Out]:
    return advance_clocks(p, pt, now, derive, fire)


def _apply(p: PlanTown, entry: dict[str, Any], at: int, pt: PlanTracking) -> list[Out]:
    d, kind = entry["data"], entry["type"]
    if kind == SEED_TYPE:
        p.year, p.town = d["year"], d["town"]
    elif kind == LINK_TYPE and d.get("uncounted"):
        # An inspection counted before, recorded again as refused: it was not done. A month checked
        # already is not checked again (README, known limits).
        p.year, p.town = p.year or d["year"], p.town or d["town"]
        if p.done.get(d["month"], 0) > 1:
            p.done[d["month"]] -= 1
        else:
            p.done.pop(d["month"], None)
    elif kind == LINK_TYPE:
        p.year, p.town = p.year or d["year"], p.town or d["town"]
        month = d["month"]
        p.done[month] = p.done.get(month, 0) + 1
        if month in p.behind:  # an inspection of a month found behind, recorded after its check
            want, _ = planned(pt.annual, p.town, p.year, int(month[5:]))
            if p.done[month] >= want:
                p.behind.remove(month)
                row = {"month": month, "town": p.town, "planned": want, "done": p.done[month]}
                return [caught_up(row, pt.annual, pt.reference, pt.version, pt.annual.lead_department, at,
                                  entry.get("event_id") or entry["entry_id"])]
    else:
        raise ValueError(f"the plan core has no rule for entry type {kind!r}")
    return []


def decide_plan(state: PlanTown | None, entry: dict[str, Any], rules: PlanTracking,
                now: int | None = None) -> tuple[PlanTown, list[Out]]:
    """Apply one timeline entry to a town's year of the plan; `state` is not modified.

    Only a clock entry (the worker's timer, or `now`) moves the months on: the links of
    different enterprises come from different partitions, in no order, and a later
    inspection arriving first must not close a month before an earlier one is counted.
    """
    if now is None and entry["type"] != CLOCK_TYPE:
        now = 0  # never behind the state's watermark (apply_entry): nothing new falls due
    return apply_entry(state, entry, rules, now, new=PlanTown, advance_fn=_advance, apply_fn=_apply)


def plan_place(p: PlanTown, lead: str) -> Place:
    """Where the feeds' index files a town's plan: its town and the plan's lead department."""
    return Place.of(p.town or None, (lead,), None)


def inspection_link(cause: dict[str, Any], town: str, annual: Any,
                    uncounted: str | None = None) -> Out | None:
    """The link counting an inspection for its town and month, when the plan tracks them; else None.
    With `uncounted`, a month: the link that takes one inspection out of that month's count (one
    counted before, recorded again as refused)."""
    month = uncounted or iso(entry_time(cause))[:7]
    if int(month[:4]) != annual.year or town not in annual.per_month:
        return None
    key = subject(annual.year, town)
    eid = output_id("plan-link", cause["entry_id"])
    entry = {"entry_id": eid, "id": eid, "subject": key, "subject_kind": "plan", "type": LINK_TYPE,
             "source": "/engine", "event_id": cause.get("event_id") or cause["entry_id"],
             "time": cause["time"], "data": {"year": annual.year, "town": town, "month": month,
                                             "inspection_id": cause["data"].get("inspection_id"),
                                             **({"uncounted": True} if uncounted else {})}}
    return Out(TIMELINE, key, with_cause(entry, cause))


def with_plan_links(decide: Any, annual: Any) -> Any:
    """The enterprise core, adding a link to the plan whenever a file counts an inspection, or
    no longer counts one (recorded again as refused)."""

    def decide_linked(state: Any, entry: dict[str, Any]) -> tuple[Any, list[Out]]:
        counted = state.inspections if state is not None else 0  # before: `decide` may own the state
        refused = entry.get("type") == INSPECTED_TYPE and entry["data"].get("outcome") == "refused"
        months = dict(state.months) if refused and state is not None else {}
        new, outs = decide(state, entry)
        if entry.get("type") != INSPECTED_TYPE or new.inspections == counted or not new.town:
            return new, outs  # re-delivered, refused, or an inspection the file counts already
        if new.inspections < counted:  # one counted before, recorded again as refused
            dropped = [m for m, n in months.items() if new.months.get(m, 0) < n]
            link = inspection_link(entry, new.town, annual, dropped[0]) if dropped else None
            return new, outs if link is None else [*outs, link]
        link = inspection_link(entry, new.town, annual)
        return new, outs if link is None else [*outs, link]

    return decide_linked
