"""Links from hazards and alerts to their enterprise's file: extra timeline entries keyed by USCC.

The hazard and alert cores stay as they are; `with_hazard_links` and
`with_alert_links` wrap them, compare what an enterprise's file shows of the
subject before and after an entry, and when it changed add one timeline entry
(`LINK_TYPE`) keyed by the enterprise's USCC to the outputs. The runtime sends
it like any output, so it lands on the enterprise's partition and the
enterprise core files it there. Its id derives from the entry that caused it,
so a replay yields the same link, and the file recognises it as applied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.decide.proposals import statuses
from engine.decide.state import DISMISSALS
from engine.enterprise.core import LINK_TYPE
from engine.intake.process import TIMELINE
from engine.intake.timeline import FINDING_TYPE
from engine.kernel.apply import entry_time
from engine.kernel.entries import with_cause
from engine.kernel.ids import output_id
from engine.kernel.outputs import Out
from engine.kernel.referral import WITHDRAWN
from engine.kernel.targets import lead_department

PROPOSED = "safety.enforcement.proposed"
COMPLETED = "safety.rectification.completed"
REVIEWED = "safety.rectification.reviewed"
VERIFIED = "safety.hazard.verified"
EXTENSION_DECIDED = "safety.rectification.extension_decided"
EXTENSION_REQUESTED = "safety.rectification.extension_requested"
PROPOSAL_WITHDRAWN = WITHDRAWN[PROPOSED][0]  # engine/kernel/referral.py: what withdraws a proposal

Decide = Callable[[Any, dict[str, Any]], tuple[Any, list[Out]]]


def hazard_summary(h: Any, rules: Any) -> dict[str, Any] | None:
    """What an enterprise's file shows of one hazard; None when it names no enterprise."""
    if h is None or not h.enterprise or h.opened is None:
        return None
    return {"status": h.status(), "open": h.is_open(), "grade": h.grade or h.claimed,
            "deadline": h.deadline, "completed": h.completed_at is not None, "tier": h.tier,
            "department": lead_department(h, rules), "sector": h.sector, "town": h.town,
            "listed": bool(h.listed and h.listed[3]),
            "orders": [[o[0], o[1], o[2]] for o in h.orders], "violations": len(h.violations)}


def link_entry(uscc: str, cause: dict[str, Any], data: dict[str, Any]) -> Out:
    """The timeline entry that files `data` under enterprise `uscc`, caused by entry `cause`."""
    eid = output_id("enterprise-link", cause["entry_id"], data["kind"], data["id"])
    entry = {"entry_id": eid, "id": eid, "subject": uscc, "subject_kind": "enterprise",
             "type": LINK_TYPE, "source": "/engine", "event_id": cause.get("event_id") or cause["entry_id"],
             "time": cause["time"], "data": data}
    return Out(TIMELINE, uscc, with_cause(entry, cause))


def with_hazard_links(decide: Decide, rules: Any) -> Decide:
    """The hazard core, adding a link whenever what the enterprise's file shows of the hazard changes."""

    def decide_linked(state: Any, entry: dict[str, Any]) -> tuple[Any, list[Out]]:
        # What the file shows of the hazard before, read first: a core that was handed its
        # state (`owned`) changes the state's lists in place.
        before = hazard_summary(state, rules)
        counted = _counted(state)
        stood = _proposal_states(state)
        approved = _approval(state, entry)  # read before too: a decision clears an early one
        new, outs = decide(state, entry)
        if new is state:
            return new, outs  # a re-delivered entry: nothing changed, nothing to link
        after = hazard_summary(new, rules)
        if after is None:
            return new, outs
        proposals = [[o.event["data"]["proposal_id"], o.event["data"]["measure"]]
                     for o in outs if o.event["type"] == PROPOSED]
        withdrawn = [o.event["data"]["proposal_id"] for o in outs if o.event["type"] == PROPOSAL_WITHDRAWN]
        lifted = ([entry["data"]["order_no"]] if entry.get("type") == "safety.enforcement.lifted"
                  else [])
        # Violations that count now and did not (a new one, or one whose order came after it), and
        # those that counted and no longer do (their order's lifting, recorded late, came since).
        counts = _counted(new)
        violated = [v for eid, v in counts.items() if eid not in counted]
        unviolated = [v for eid, v in counted.items() if eid not in counts]
        # Where each proposal stands now, of those whose standing changed (awaiting its review or
        # decision, answered, overdue...), for the file to show beside it.
        states = {pid: st for pid, st in _proposal_states(new).items() if stood.get(pid) != st}
        # A re-grade below major recorded late, on a hazard confirmed major again since, leaves the
        # summary as it was, and still takes the hazard out of a count it stood out of at a deadline.
        regraded = _regraded(new, entry)
        if after == before and not (proposals or lifted or withdrawn or violated or unviolated or states
                                    or regraded):
            return new, outs
        data = {"kind": "hazard", "id": new.id, "name": new.enterprise[1], **after,
                "first": before is None, "proposals": proposals, "lifted": lifted,
                "new_violations": after["violations"] - (before or {}).get("violations", 0),
                "violated": violated}
        if unviolated:  # only then, as `withdrawn`
            data["unviolated"] = unviolated
        if withdrawn:  # only then, so that every other link is as it always was
            data["withdrawn"] = withdrawn
        if states:  # only then, as `withdrawn`
            data["proposal_states"] = states
        # When the hazard stopped owing its rectification by the deadline it had, and how: a
        # completion claim that stands, an acceptance review that passed (a return visit needs no
        # claim before it), a verification that closed it as unfounded or a duplicate, or an
        # extension approved then that moved the deadline later. A major hazard the file counted
        # overdue from a deadline this came by counts no more (engine/enterprise/credit.py).
        if entry.get("type") == COMPLETED and new.completed_at is not None:
            data["settled_at"], data["settled_by"] = new.completed_at, "claim"
        elif entry.get("type") == REVIEWED and entry["data"]["outcome"] == "passed":
            data["settled_at"], data["settled_by"] = entry_time(entry), "passed"
        elif (entry.get("type") == VERIFIED and new.closed_how in DISMISSALS
              and new.verified_at == new.closed_at):
            data["settled_at"], data["settled_by"] = new.closed_at, new.closed_how
        elif (approved is not None and before is not None and before["deadline"] is not None
              and new.deadline is not None and new.deadline > before["deadline"]):
            data["settled_at"], data["settled_by"] = approved, "extension"
        elif regraded:
            # Below major from then until `settled_until` (None: still): no major hazard was
            # overdue at a deadline in between, as the hazard core lifts its listed supervision.
            data["settled_at"], data["settled_by"] = entry_time(entry), "regraded"
            data["settled_until"] = _major_again(new, entry_time(entry))
        return new, [*outs, link_entry(new.enterprise[0], entry, data)]

    return decide_linked


def _approval(h: Any, entry: dict[str, Any]) -> int | None:
    """When the extension `entry` may approve was decided: the decision's own time, or for a request,
    that of a decision on file that came before it (engine/decide/lifecycle.py `_extension_request`);
    None for any other entry. Whether it was approved the deadline it moves says."""
    if entry.get("type") == EXTENSION_DECIDED:
        return entry_time(entry) if entry["data"]["approved"] else None
    if entry.get("type") == EXTENSION_REQUESTED and h is not None and h.early is not None and h.early[1]:
        return h.early[0]
    return None


def _regraded(h: Any, entry: dict[str, Any]) -> bool:
    """Whether `entry` is a verification (or a law-enforcement finding, which confirms itself) that
    confirmed hazard `h` below major, the grade standing at its time (`Hazard.graded_by`), on a
    hazard reported or confirmed major besides: the only ones an enterprise's file may count as
    overdue major hazards (any other link stays as it always was)."""
    kind, d = entry.get("type"), entry["data"]
    if h.claimed != "major" and h.grade != "major" and not any(v[2] == "major" for v in h.verdicts):
        return False
    if not ((kind == VERIFIED and d["verdict"] == "confirmed")
            or (kind == FINDING_TYPE and d["inspection"]["law_enforcement"])):
        return False
    return d["grade"] != "major" and h.graded_by(entry_time(entry)) not in (None, "major")


def _major_again(h: Any, t: int) -> int | None:
    """When a confirmation after `t` graded hazard `h` major again (its verdicts by time); None if
    none did."""
    again = [v[0] for v in h.verdicts if v[0] > t and v[1] == "confirmed" and (v[2] or h.grade) == "major"]
    return min(again, default=None)


def _proposal_states(h: Any) -> dict[str, str]:
    """Where each enforcement proposal on a hazard stands (engine/decide/proposals.py `statuses`)."""
    return statuses(h) if h is not None and h.proposals else {}


def _counted(h: Any) -> dict[str, list[Any]]:
    """A hazard's violations that count for its enterprise's file, by event id: of an order on file,
    found while it was in force, and while the hazard did not stand found unfounded or a duplicate
    (`Hazard.dismissed_by`): working on under an order made for a hazard that was not there, or that
    another report counts, is transferred nowhere (engine/decide/lifecycle.py `_dismissed_late`), and
    no ground for the credit list either."""
    if h is None or not h.violations:
        return {}
    return {v[2]: v[:4] for v in h.violations  # as links always named them
            if h.in_force(v[0], v[1]) and not h.dismissed_by(v[1])}


def with_alert_links(decide: Decide) -> Decide:
    """The alert core, adding a link when an alert raised at an enterprise opens."""

    def decide_linked(state: Any, entry: dict[str, Any]) -> tuple[Any, list[Out]]:
        was_open = state is not None and state.opened is not None  # read before an owned decision
        new, outs = decide(state, entry)
        if new is state or not new.enterprise or new.opened is None:
            return new, outs
        if was_open:
            return new, outs  # linked when it was raised
        data = {"kind": "alert", "id": new.id, "raised": True, "alert_kind": new.kind,
                "town": new.town(), "name": new.enterprise.get("name")}
        return new, [*outs, link_entry(new.enterprise["uscc"], entry, data)]

    return decide_linked
