"""The alert decision function: `decide_alert(state, entry, rules, now) -> (new_state, outputs)`.

It has the shape of the hazard core (engine/decide/core.py) and the same time
model: before anything else it fires every clock due up to the entry's time,
in due order; a re-delivered entry changes nothing; a `safety.clock.fired`
entry only brings the alert to its due time.

Applying a field event records its facts (figures with their times, the
acknowledgements, the close); `settle` then re-grades the alert from the
facts and, when the response level changes, activates it; last, the event's
CAP document goes out.
"""

from __future__ import annotations

import bisect
from typing import Any

from engine.alerts import capdoc, emit
from engine.alerts.clocks import after, derive, fire
from engine.alerts.grade import classify, higher, level_for
from engine.alerts.rules import GRADES, AlertRules
from engine.alerts.state import Alert
from engine.decide.core import advance_clocks, apply_entry
from engine.decide.emit import Out


def advance(a: Alert, rules: AlertRules, now: int) -> list[Out]:
    """Fire, in due order, every clock of the alert that is due at or before `now`."""
    return advance_clocks(a, rules, now, derive, fire)


def _apply(a: Alert, entry: dict[str, Any], at: int, rules: AlertRules) -> list[Out]:
    what = entry["type"].rsplit(".", 1)[-1]
    apply_event(a, entry, at, rules)
    outs = settle(a, rules, at, entry["event_id"])
    return outs + capdoc.on_event(a, what, at, entry["event_id"], rules)


def decide_alert(state: Alert | None, entry: dict[str, Any], rules: AlertRules,
                 now: int | None = None) -> tuple[Alert, list[Out]]:
    """Apply one timeline entry to an alert's state; return the new state and what to send.

    `state` is not modified. `now` defaults to the entry's own time; it never
    goes back behind the state's watermark.
    """
    return apply_entry(state, entry, rules, now, new=Alert, advance_fn=advance, apply_fn=_apply)


def apply_event(a: Alert, entry: dict[str, Any], at: int, rules: AlertRules) -> None:
    """Record one field event's facts on the alert."""
    what = entry["type"].rsplit(".", 1)[-1]
    d, eid = entry["data"], entry["event_id"]
    if what == "raised":
        if a.opened is None:
            a.opened, a.opened_at, a.kind = eid, at, d["kind"]
            a.location = {k: v for k, v in d["location"].items() if v is not None}
            a.description = d["description"]
            a.crowded, a.post = d.get("crowded_place", False), d.get("post")
            a.exercise = d.get("exercise", False)
            _figures(a, at, eid, d)
            note = f"raised: {d['kind']} in {a.town()}" + (" (exercise)" if a.exercise else "")
        else:
            note = "raised again: ignored (the first raising stands)"
    elif what == "updated":
        _figures(a, at, eid, d)
        note = "updated" + (f": {d['note']}" if d.get("note") else "")
    elif what == "acknowledged":
        level = rules.authority_level(d["unit"])
        if level is not None:  # a report received by that level's authority
            a.reported[level] = min(a.reported.get(level, at), at)
            note = f"reported to {level} ({d['unit']})"
        else:  # a responder takes the alert on: the earliest acknowledgement stands
            if a.acked is None or a.acked[0] > at:
                a.acked = [at, d["unit"], eid]
            note = f"acknowledged by {d['unit']}"
    elif what == "closed":
        if a.closed_at is None or a.closed_at > at:
            a.closed_at, a.closed_by = at, eid
        note = "closed"
    else:
        note = what
    a.history.append([at, eid, note])


def _figures(a: Alert, at: int, eid: str, d: dict[str, Any]) -> None:
    report = [at, eid, d.get("casualties"), d.get("estimated_loss_cny"), d.get("people_to_evacuate")]
    if any(v is not None for v in report[2:]):
        # In time order; events at one instant in arrival order.
        a.reports.insert(bisect.bisect_right([r[0] for r in a.reports], at), report)


def assess(a: Alert, rules: AlertRules) -> tuple[str, list[str], str, list[str], dict[str, int]]:
    """Grade, level and report levels demanded (with when), from the alert's figures alone.

    Figures count for the grade only up to the re-grade window's end (493号令
    art. 13). Unless the rules allow a downgrade, the grade is the highest any
    moment's figures reached, and the evacuation figure the highest given, so
    the outcome does not depend on the order the updates arrive in.
    """
    end = after(rules.regrade_window(a.kind), a.opened_at, rules)
    times = sorted({r[0] for r in a.reports if r[0] <= end}) or [a.opened_at]
    moments = [(t, *classify(a.figures(until=t), rules)) for t in times]
    demanded: dict[str, int] = {}
    for t, grade_id, _ in moments:
        for level in rules.report_reach(grade_id):
            demanded.setdefault(level.id, max(t, a.opened_at))
    if rules.downgrade_allowed:
        _, grade, why = moments[-1]
        evacuate = a.figures().evacuate
    else:
        _, grade, why = min(moments, key=lambda m: GRADES.index(m[1]))
        evacuate = max((r[4] for r in a.reports if r[4] is not None), default=None)
    level, level_why = level_for(grade, a.crowded, evacuate, rules)
    return grade, why, level, level_why, demanded


def settle(a: Alert, rules: AlertRules, at: int, cause: str) -> list[Out]:
    """Re-grade the alert; activate its new response level when the level changes."""
    if a.opened is None or (a.closed_at is not None and at >= a.closed_at):
        return []  # an orphan waits for its raising; a closed alert no longer re-grades
    grade, why, level, level_why, demanded = assess(a, rules)
    for level_id, t in demanded.items():
        a.demanded[level_id] = min(a.demanded.get(level_id, t), t)
    a.grade = grade
    if level == a.level or not (higher(a.level, level) or rules.downgrade_allowed):
        return []
    before, a.level = a.level, level
    kind = rules.kinds[a.kind]
    targets = emit.resolve_all(("responders", *rules.notify[level]), a, rules)
    change = ("activated" if before is None else
              f"raised from {before}" if higher(before, level) else f"lowered from {before}")
    reason = (f"{kind.name} ({kind.name_en}) at {emit.place(a, rules)}: {'; '.join(why)}; "
              f"{'; '.join(level_why)}. Response level {level} {change}: activate "
              + ", ".join(t["name"] or t["id"] for t in targets))
    a.history.append([at, cause, f"response level {level} ({change})"])
    return [emit.escalation(a, rules, rule_id=rules.response_rule, action="response_activation",
                            at=at, targets=targets, reason=reason, key=(level, at),
                            caused_by=[cause])]
