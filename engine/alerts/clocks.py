"""The clocks of an alert, derived from its facts, and what happens when one runs out.

Two kinds run once an alert is raised:

- `handover`: the duty officers' handover (应急值守). Until a responder
  acknowledges the alert, it passes to the town's duty officer, the grid
  chief, the town and the district, each step `after` the previous one. The
  close ends it: the response is over.
- `report_<level>`: the accident-report clocks (493号令 arts. 9, 11), of
  production-safety accidents only (no level is demanded of another class). The
  county level is due `within` of the accident; each level above is due
  `within` of the report to the level below when that report came in time,
  else of the level below's due time, so one late report does not push the
  whole chain back. A level a re-grade adds is due `within` of the re-grade at
  the earliest (补报, art. 13). A missed clock escalates once (report_overdue).
  The close does not stop them: closing the alert ends the response, not the
  duty to report the accident (arts. 9, 11, 13).

The disaster-report clocks of natural disasters are in disaster.py; core.py
runs both sets.

As for hazards, nothing is stored as a timer: `derive` recomputes the clocks
after every change, and a clock that no longer applies simply disappears.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.alerts import emit
from engine.alerts.rules import AlertRules, HandoverStep, words
from engine.alerts.state import Alert
from engine.kernel.ids import clock_id
from engine.kernel.outputs import Out
from engine.kernel.time import after, iso


def handover_due(a: Alert, rules: AlertRules) -> tuple[int, int] | None:
    """The next handover step (its index in the rules) and when it is due; None if none runs."""
    if a.opened is None or a.acked is not None or a.step >= len(rules.handover):
        return None  # every step passed: no need to work out their due times again
    return next(((i, due) for i, due, _ in _handovers(a, rules) if i >= a.step), None)


def _handovers(a: Alert, rules: AlertRules) -> Iterator[tuple[int, int, HandoverStep]]:
    """Each handover step of the alert's chain, in order: its index in the rules, when it falls due,
    and the step. A step for the post the alert was raised at is left out: the chain starts past it."""
    due = a.opened_at
    for i, step in enumerate(rules.handover):
        if step.skip_if_post is not None and step.skip_if_post == (a.post or "A"):
            continue
        due = after(step.after, due, rules).at
        yield i, due, step


def report_dues(a: Alert, rules: AlertRules) -> dict[str, int]:
    """The due time of every report level demanded so far, reported or not, lowest first."""
    dues: dict[str, int] = {}
    base = a.opened_at
    for level in rules.report_levels:
        demanded = a.demanded.get(level.id)
        if demanded is None or base is None:
            break
        due = after(level.within, max(base, demanded), rules).at
        dues[level.id] = due
        reported = a.reported.get(level.id)
        base = min(reported, due) if reported is not None else due
    return dues


def derive(a: Alert, rules: AlertRules) -> dict[str, int]:
    """Every running clock of the alert: name -> due time. Closing stops the handover from the close
    on (`Alert.open_at`; a step due before it runs out, whichever record came first); the report
    clocks run on, since the duty to report outlives the response. A drill's close ends them too:
    no accident happened, so no duty to report one outlives the drill."""
    if a.opened is None:
        return {}
    # A level reported after its due time had its clock run out all the same, whichever of the
    # report's record and the timer came first.
    # With downgrades allowed, a level the grade as it now stands no longer reaches is not owed: one
    # reported stays demanded on the record (core._demand_as_graded), but its clock runs no more.
    owed = {lv.id for lv in rules.report_reach(a.grade)} if rules.downgrade_allowed and a.grade else None
    clocks = {f"report_{lv}": due for lv, due in report_dues(a, rules).items()
              if lv not in a.missed and a.reported.get(lv, due + 1) > due
              and (not a.exercise or a.open_at(due)) and (owed is None or lv in owed)}
    step = handover_due(a, rules)
    if step is not None and a.open_at(step[1]):
        clocks["handover"] = step[1]
    return clocks


def unreported(a: Alert) -> list[str]:
    """The report clocks (`report_<level>`) that ran out with no report made since: a level reported
    late (补报, an acknowledgement by its authority after its due time) is missed but made. A
    drill's are none: no accident happened, so nothing is owed once the drill ends."""
    return [] if a.exercise else [f"report_{lv}" for lv in a.missed if lv not in a.reported]


def fire(a: Alert, name: str, due: int, rules: AlertRules) -> list[Out]:
    """Run out clock `name` at `due`: move the facts it moves, and return what to send."""
    cause = clock_id(a.id, name, due)
    if name == "handover":
        return _handover(a, rules, due, cause)
    return _report(a, rules, name.removeprefix("report_"), due, cause)


def _handover(a: Alert, rules: AlertRules, due: int, cause: str) -> list[Out]:
    i, _ = handover_due(a, rules)  # type: ignore[misc]
    step = rules.handover[i]
    a.step = i + 1
    following = handover_due(a, rules)
    if following is not None and not a.open_at(following[1]):
        following = None  # closed by then: no step follows
    targets = emit.resolve_all(step.targets, a, rules)
    names = ", ".join(t["name"] or t["id"] for t in targets)
    a.history.append([due, cause, f"handover {step.rule_id} to {names}"])
    reason = (f"Alert {a.id} was not acknowledged {_since(due - a.opened_at)} after it was raised: "
              f"handed over to {names} (应急值守)")
    return [emit.escalation(a, rules, rule_id=step.rule_id, action="handover", at=due, targets=targets,
                            reason=reason, key=(i, due), caused_by=[cause],
                            due_at=following[1] if following else None)]


def handovers_withdrawn(a: Alert, rules: AlertRules, since: int, eid: str, at: int, why: str,
                        how: str) -> list[Out]:
    """Take back the handover steps that ran and fell due at or after `since`, when record `eid`,
    reaching the engine at `at`, shows the alert needed no more handing over from then: a responder
    had acknowledged it, or it was closed (an officer's app offline). In time order they would not
    have run (a step due at the record's very second too: the record comes first, as every record
    does); each step's recipients are told (`failure_withdrawn`), so that nobody takes on an alert
    that has its responder. The steps before stand. `why` says what the record showed; `how` ends
    the record's line."""
    late = [(i, due, step) for i, due, step in _handovers(a, rules) if i < a.step and due >= since]
    if not late:
        return []
    a.step = late[0][0]
    a.history.append([at, eid, f"handover steps {', '.join(s.rule_id for _, _, s in late)} withdrawn: {how}"])
    return [emit.escalation(a, rules, rule_id=step.rule_id, action="failure_withdrawn", at=at,
                            targets=emit.resolve_all(step.targets, a, rules),
                            reason=(f"The handover {step.rule_id} of {a.id} at {iso(due)} is withdrawn: "
                                    f"{why}, before it; the record {eid} reached the engine after it"),
                            key=(i, due), caused_by=[eid], due_at=due)  # the step's, as it ran
            for i, due, step in late]


def _report(a: Alert, rules: AlertRules, level_id: str, due: int, cause: str) -> list[Out]:
    level = next(lv for lv in rules.report_levels if lv.id == level_id)
    a.missed.append(level_id)
    a.history.append([due, cause, f"report to {level_id} overdue"])
    grade = rules.grade(a.grade).name if a.grade else "the accident"
    reason = (f"{grade} {a.id}: no report reached {level.name} by {iso(due)} ({words(level.within)} "
              f"allowed; 生产安全事故报告和调查处理条例 arts. 9, 11)")
    return [emit.escalation(a, rules, rule_id=level.rule_id, action="report_overdue", at=due,
                            targets=emit.resolve_all(level.overdue_targets, a, rules, level),
                            reason=reason, key=(level_id, due), caused_by=[cause], due_at=due)]


def answered(a: Alert, entry: dict[str, Any], at: int, rules: AlertRules) -> tuple[str, int] | None:
    """The missed report level, and its due time, that an acknowledgement by the level's authority
    dated `at`, by that due time, shows was reported in time; asked before the entry is applied."""
    if entry["type"] != "safety.alert.acknowledged" or not a.missed:
        return None
    level = rules.authority_level(entry["data"]["unit"])
    if level is None or level not in a.missed:
        return None
    due = report_dues(a, rules).get(level)
    return None if due is None or at > due else (level, due)


def withdraw(a: Alert, rules: AlertRules, level_id: str, due: int, done: int, eid: str,
             at: int) -> list[Out]:
    """The report to `level_id` was made in time (at `done`), but the record reached the engine
    after the clock ran out: withdraw the report_overdue escalation at `at`, to those it went to."""
    level = next(lv for lv in rules.report_levels if lv.id == level_id)
    a.missed.remove(level_id)
    a.history.append([at, eid, f"report to {level_id} overdue: withdrawn, reported on {iso(done)}"])
    reason = (f"The report_overdue of {a.id} to {level.name} at {iso(due)} is withdrawn: the record "
              f"{eid} of the report on {iso(done)}, in time, reached the engine after it")
    return [emit.escalation(a, rules, rule_id=level.rule_id, action="failure_withdrawn", at=at,
                            targets=emit.resolve_all(level.overdue_targets, a, rules, level),
                            reason=reason, key=(level_id, due), caused_by=[eid], due_at=due)]


def _since(seconds: int) -> str:
    minutes = seconds // 60
    return f"{minutes} minutes" if minutes < 120 else f"{minutes // 60} hours {minutes % 60} minutes"
