"""The alert decision function: `decide_alert(state, entry, rules, now) -> (new_state, outputs)`.

It has the shape of the hazard core (engine/decide/core.py) and the same time
model: before anything else it fires every clock due up to the entry's time,
in due order; a re-delivered entry changes nothing; a `safety.clock.fired`
entry only brings the alert to its due time.

Applying a field event records its facts (the incident class, figures with
their times, the acknowledgements, disaster reports, the close); `settle` then
re-grades the alert from the facts (a 493 grade for a production accident
only) and, when the response level changes, activates it, and sends the
class's once-only notices (incident.py); last, the event's CAP document goes
out.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

from engine.alerts import bounds, capdoc, clocks, disaster, emit, incident
from engine.alerts.grade import classify, higher, level_for
from engine.alerts.rules import GRADES, AlertRules
from engine.alerts.state import Alert
from engine.kernel.apply import UnknownEntryType, advance_clocks, apply_entry
from engine.kernel.ids import clock_id
from engine.kernel.outputs import Out
from engine.kernel.referral import decided_at, reached
from engine.kernel.time import iso


def derive(a: Alert, rules: AlertRules) -> dict[str, int]:
    """Every running clock of the alert: handover and 493 report clocks, and disaster-report clocks."""
    return {**clocks.derive(a, rules), **disaster.derive(a, rules)}


def unreported(a: Alert) -> list[str]:
    """The statutory reports the alert missed and still has not made, named as its clocks are
    (`report_city`, `disaster_final`): what keeps a closed accident or disaster before its
    supervisors once every report clock has stopped, until the reports are made (补报, 核报)."""
    return clocks.unreported(a) + disaster.unreported(a)


def fire(a: Alert, name: str, due: int, rules: AlertRules) -> list[Out]:
    """Run out clock `name` at `due`, whichever kind it is."""
    if name in disaster.NAMES:
        return disaster.fire(a, name, due, rules, clock_id(a.id, name, due))
    return clocks.fire(a, name, due, rules)


def advance(a: Alert, rules: AlertRules, now: int) -> list[Out]:
    """Fire, in due order, every clock of the alert that is due at or before `now`; then bring its
    reports and CAP messages within their bounds (bounds.py), so every state written is bounded."""
    outs: list[Out] = []
    # A disaster's daily reports are the one clock of an alert that repeats: days long past (a record
    # dated long after its reports stopped) fire in spans, each far below the kernel's guard on
    # firings in one call, in the same order and with the same outputs as one call would.
    daily = disaster.next_daily(a, rules)
    while daily is not None and daily + _SPAN < now:
        outs += advance_clocks(a, rules, daily + _SPAN, derive, fire)
        daily, then = disaster.next_daily(a, rules), daily
        if daily == then:
            break
    outs += advance_clocks(a, rules, now, derive, fire)
    bounds.bound(a, rules)
    return outs


_SPAN = 365 * 86_400  # a year of daily reports, and the few other steps, in one call: under the guard


def _apply(a: Alert, entry: dict[str, Any], at: int, rules: AlertRules) -> list[Out]:
    what = entry["type"].rsplit(".", 1)[-1]
    # A report in time whose record arrived after its clock ran out (an officer's app offline).
    late = clocks.answered(a, entry, at, rules)
    met = disaster.answered(a, at, entry["data"]["report_kind"], rules) \
        if entry["type"] == "safety.disaster.reported" and (a.dstep or a.dmissed or a.final_missed) else []
    closed, acked = a.closed_at, a.acked
    # A record that came late: the daily disaster reports owed by its arrival before it (`run_out`).
    arrived = reached(entry, at)
    arrived = arrived if arrived is not None and arrived > at else None
    owed = disaster.owed_by(a, rules, arrived) if arrived is not None else []
    # With downgrades allowed, the due times of the levels missed, before the event moves them.
    dues = clocks.report_dues(a, rules) if rules.downgrade_allowed and a.missed else {}
    apply_event(a, entry, at, rules)
    outs = settle(a, rules, at, entry["event_id"])
    if dues:
        outs = _unowed_withdrawn(a, rules, dues, at, entry) + outs
    if a.acked is not None and a.acked is not acked and a.step:  # an earlier acknowledgement, late
        t, unit, when = a.acked[0], a.acked[1], decided_at(entry, at, a.watermark)
        outs = clocks.handovers_withdrawn(a, rules, t, entry["event_id"], when,
                                          f"{unit} acknowledged the alert on {iso(t)}",
                                          f"acknowledged by {unit} on {iso(t)}") + outs
    if late is not None or met:
        when = decided_at(entry, at, a.watermark)
        withdrawn = clocks.withdraw(a, rules, *late, at, entry["event_id"], when) if late is not None else []
        outs = withdrawn + disaster.withdraw(a, rules, met, at, entry["event_id"], when) + outs
    if a.closed_at != closed:  # a close whose record came after clocks that fell due since ran out
        outs = _closed_late(a, rules, at, entry) + _level_withdrawn(a, rules, at, entry) + outs
    if arrived is not None:  # the daily disaster reports long past when it came
        outs += disaster.run_out(a, rules, owed, arrived, entry["event_id"])
    return outs + capdoc.on_event(a, what, at, entry["event_id"], rules)


def _closed_late(a: Alert, rules: AlertRules, at: int, entry: dict[str, Any]) -> list[Out]:
    """Withdraw the handover steps and the daily disaster reports that ran out at or after the
    close's time, its record having come later: in time order the close would have stopped them.
    The 493 report_overdue escalations stand: the close never stops those clocks (clocks.py)."""
    days = disaster.stopped(a)
    when, eid = decided_at(entry, at, a.watermark), entry["event_id"]
    outs: list[Out] = []
    if a.step and a.closed_at is not None:
        # A handover step due at the close's very second is stopped by it, as any clock is (`open_at`).
        outs = clocks.handovers_withdrawn(a, rules, a.closed_at, eid, when,
                                          f"the alert was closed on {iso(a.closed_at)}",
                                          f"closed on {iso(a.closed_at)}")
    return outs + disaster.withdraw(a, rules, days, at, eid, when, closed=True)


def _level_withdrawn(a: Alert, rules: AlertRules, at: int, entry: dict[str, Any]) -> list[Out]:
    """Withdraw the response level activated from figures dated after the close, the close's record
    having come later: in time order the response had ended before them (`assess`), so the level
    goes back to the one the close found, told to those the withdrawn level activated."""
    if a.level is None:  # an orphan's close, or nothing activated yet
        return []
    level = assess(a, rules)[2]
    if level == a.level:
        return []
    withdrawn, a.level = a.level, level
    when, eid, closed = decided_at(entry, at, a.watermark), entry["event_id"], iso(a.closed_at or at)
    a.history.append([when, eid, f"response level {withdrawn} withdrawn: closed on {closed}"])
    reason = (f"Response level {withdrawn} of {a.id} is withdrawn: it was activated from figures dated "
              f"after the alert's close on {closed}; the record {eid} of the close reached the engine "
              f"after it. Response level {level} stands")
    return [emit.escalation(a, rules, rule_id=rules.response_rule, action="failure_withdrawn", at=when,
                            targets=emit.resolve_all(("responders", *rules.notify[withdrawn]), a, rules),
                            reason=reason, key=(withdrawn, "closed", a.closed_at), caused_by=[eid])]


def decide_alert(state: Alert | None, entry: dict[str, Any], rules: AlertRules,
                 now: int | None = None, *, owned: bool = False) -> tuple[Alert, list[Out]]:
    """Apply one timeline entry to an alert's state; return the new state and what to send.

    `state` is not modified, unless the caller hands it over with `owned` (as
    `engine.decide.core.decide`): then it is changed in place rather than copied,
    and must not be read afterwards. `now` defaults to the entry's own time; it
    never goes back behind the state's watermark.
    """
    return apply_entry(state, entry, rules, now, new=Alert, advance_fn=advance, apply_fn=_apply,
                       owned=owned, town=Alert.town)  # its raising's, which names it


# What one event type records on an alert: (alert, data, time, event id, rules) -> its history line.
Handler = Callable[[Alert, dict[str, Any], int, str, AlertRules], str]


def apply_event(a: Alert, entry: dict[str, Any], at: int, rules: AlertRules) -> None:
    """Record one field event's facts on the alert."""
    handler = HANDLERS.get(entry["type"])
    if handler is None:
        raise UnknownEntryType(f"no alert rule handles entries of type {entry['type']!r}")
    eid = entry["event_id"]
    a.history.append([at, eid, handler(a, entry["data"], at, eid, rules)])


def _raised(a: Alert, d: dict[str, Any], at: int, eid: str, rules: AlertRules) -> str:
    if a.opened is not None:
        if at >= a.opened_at:
            if a.enterprise is None and d.get("enterprise"):
                # One raising named the enterprise where it happened: that is known, whichever raising
                # is dated first, and its class follows as the earliest raising's kind gives it.
                _enterprise_named(a, d, rules)
                return (f"raised again: the enterprise {d['enterprise']['name']} named, "
                        f"now {a.incident_class}")
            return "raised again: ignored (the first raising stands)"
        # Raised again, dated earlier: this is the accident's first report, as it would have been had
        # it arrived first (the other then "raised again"). The accident happened by then, and every
        # clock counts from it (493号令 art. 9), whichever record reached the engine first; the clocks
        # move back, so what already ran stays due. Its kind, place, enterprise and class are the
        # alert's too: what was sent on the other's stands. Whether it is a drill stays as first
        # raised: a second raising turns no real alert into a drill, nor a drill into a real one.
        a.opened, a.opened_at = eid, at
        named = a.enterprise
        _describe(a, d, rules)
        if a.enterprise is None and named is not None:  # the later-dated raising named it: still known
            _enterprise_named(a, {"enterprise": named, "incident_class": d.get("incident_class")}, rules)
        _figures(a, at, eid, d, rules)
        return (f"raised again, dated earlier: the accident's time is now {iso(at)}; "
                f"{d['kind']} in {a.town()}, {a.incident_class}")
    a.opened, a.opened_at = eid, at
    a.exercise = d.get("exercise", False)
    _describe(a, d, rules)
    _figures(a, at, eid, d, rules)
    return (f"raised: {d['kind']} in {a.town()}, {a.incident_class}"
            + (" (exercise)" if a.exercise else ""))


def _describe(a: Alert, d: dict[str, Any], rules: AlertRules) -> None:
    """Take the alert's kind, place, enterprise and class from raising `d` (its class given, or
    derived from its kind and whether it names an enterprise)."""
    a.kind = d["kind"]
    a.location = {k: v for k, v in d["location"].items() if v is not None}
    a.description = d["description"]
    a.crowded, a.post = d.get("crowded_place", False), d.get("post")
    a.enterprise = d.get("enterprise")
    a.incident_class = d.get("incident_class") or rules.incident_class(d["kind"], a.enterprise is not None)


def _enterprise_named(a: Alert, d: dict[str, Any], rules: AlertRules) -> None:
    """The enterprise `d` names becomes the alert's, and the class the earliest raising's kind gives
    with an enterprise named, unless that raising gave its class itself (then `d`'s, if it gives one)."""
    derived = a.incident_class == rules.incident_class(a.kind, False)
    a.enterprise = d["enterprise"]
    if d.get("incident_class") or derived:
        a.incident_class = d.get("incident_class") or rules.incident_class(a.kind, True)


def _updated(a: Alert, d: dict[str, Any], at: int, eid: str, rules: AlertRules) -> str:
    _figures(a, at, eid, d, rules)
    return "updated" + (f": {d['note']}" if d.get("note") else "")


def _acknowledged(a: Alert, d: dict[str, Any], at: int, eid: str, rules: AlertRules) -> str:
    level = rules.authority_level(d["unit"])
    if level is not None:  # a report received by that level's authority
        a.reported[level] = min(a.reported.get(level, at), at)
        return f"reported to {level} ({d['unit']})"
    if a.acked is None or a.acked[0] > at:  # a responder takes it on: the earliest one stands
        a.acked = [at, d["unit"], eid]
    return f"acknowledged by {d['unit']}"


def _disaster_reported(a: Alert, d: dict[str, Any], at: int, eid: str, rules: AlertRules) -> str:
    """safety.disaster.reported: a disaster information officer's report."""
    report = (at, eid, d["report_kind"], d["post"])
    a.disaster_reports.insert(bisect.bisect_right([r[0] for r in a.disaster_reports], at), report)
    figures = d.get("figures") or {}
    _figures(a, at, eid, {"casualties": figures.get("casualties"),
                          "estimated_loss_cny": figures.get("direct_loss_cny")}, rules)
    return f"disaster report {d['report_kind']} from post {d['post']}"


def _closed(a: Alert, d: dict[str, Any], at: int, eid: str, rules: AlertRules) -> str:
    if a.closed_at is None or a.closed_at > at:
        a.closed_at, a.closed_by = at, eid
    return "closed"


# The handler of each full event type an alert's timeline carries: every contract type whose
# subject is an alert (tests/unit/test_dispatch.py checks the list).
HANDLERS: dict[str, Handler] = {
    "safety.alert.raised": _raised,
    "safety.alert.updated": _updated,
    "safety.alert.acknowledged": _acknowledged,
    "safety.alert.closed": _closed,
    "safety.disaster.reported": _disaster_reported,
}


def _figures(a: Alert, at: int, eid: str, d: dict[str, Any], rules: AlertRules) -> None:
    report = (at, eid, d.get("casualties"), d.get("estimated_loss_cny"), d.get("people_to_evacuate"))
    if not any(v is not None for v in report[2:]):
        return
    if a.earlier is not None and at < a.earlier["until"]:
        bounds.fold_late(a, report, rules)  # older than a report folded already (bounds.py)
    else:  # in time order; events at one instant in arrival order
        a.reports.insert(bisect.bisect_right([r[0] for r in a.reports], at), report)


def assess(a: Alert, rules: AlertRules) -> tuple[str, list[str], str, list[str], dict[str, int]]:
    """Grade, level and report levels demanded (with when), from the alert's figures alone.

    Figures count for the grade only up to the re-grade window's end (493号令
    art. 13). Unless the rules allow a downgrade, the grade is the highest any
    moment's figures reached, and the evacuation figure the highest given, so
    the outcome does not depend on the order the updates arrive in. The level
    follows the response band, which may count the missing with the dead
    (`classify`); the grade, and so the report levels demanded, never does.
    """
    end = bounds.regrade_end(a, rules)
    # Each report time's figures in one pass: asking figures(until=t) for each t re-read every
    # report before t, so an alert with many updates cost the square of their number.
    by_time = a.figures_by_time(end)
    # The response ends at the close: figures dated from then on still re-grade the accident for its
    # report (art. 13) but pick no response level.
    responding = [(t, f) for t, f in by_time if a.open_at(t)]
    folded = a.earlier or {}  # the moments of the reports folded out of `reports` (bounds.py)
    best, last = folded.get("best"), folded.get("last")
    # A state folded before the band was kept apart has the grade's moments only. Folded figures dated
    # from the close on pick no level either (bounds.open_band).
    band_best = bounds.open_band(a, folded, folded.get("band_best", best))
    band_last = folded.get("band_last", last)
    if band_last is not None and not a.open_at(band_last["time"]):
        band_last = band_best  # with downgrade allowed: the best before the close, not the last (bounds.py)
    opening = (a.opened_at, a.figures(until=a.opened_at))
    if not by_time and last is None:
        by_time = [opening]
    if not responding and band_last is None:
        responding = [opening]
    moments = [(t, *classify(figures, rules)) for t, figures in by_time]
    bands = [(t, *classify(figures, rules, response=True)) for t, figures in responding]
    demanded: dict[str, int] = dict(folded.get("demanded", {}))
    # Until the figures show death, injury or loss there is no accident to report (493号令 art. 2):
    # the first moment that shows them demands the levels, as a re-grade does (补报).
    for (t, grade_id, _), (_, figures) in zip(moments, by_time, strict=True):
        for level in rules.report_reach(grade_id) if figures.harm() else ():
            demanded.setdefault(level.id, max(t, a.opened_at))
    if rules.downgrade_allowed:
        # The levels owed follow the grade as it now stands (`owed_by_time`), not every grade it had.
        demanded = owed_by_time(a, rules, moments, by_time)[-1][2]
        _, grade, why = moments[-1] if moments else (last["time"], last["grade"], last["why"])
        _, band, band_why = bands[-1] if bands else (band_last["time"], band_last["grade"], band_last["why"])
        evacuate = a.figures(until=None if a.closed_at is None else a.closed_at - 1).evacuate
    else:
        earlier = [(best["time"], best["grade"], best["why"])] if best is not None else []
        _, grade, why = min(earlier + moments, key=lambda m: GRADES.index(m[1]))
        earlier = [(band_best["time"], band_best["grade"], band_best["why"])] if band_best is not None else []
        _, band, band_why = min(earlier + bands, key=lambda m: GRADES.index(m[1]))
        given = [r[4] for r in a.reports if r[4] is not None and a.open_at(r[0])]
        if bounds.open_evacuate(a, folded) is not None:
            given.append(bounds.open_evacuate(a, folded))
        evacuate = max(given, default=None)
    level, level_why = level_for(band, a.crowded, evacuate, rules)
    if band != grade:
        level_why = [f"response band counting the missing with the dead (国家安全生产事故灾难应急预案): "
                     f"{band_why[0]}", *level_why]
    return grade, why, level, level_why, demanded


def owed_by_time(a: Alert, rules: AlertRules, moments: list[tuple[str, ...]] | None = None,
                 by_time: list[tuple[int, Any]] | None = None) -> list[tuple[int, str, dict[str, int]]]:
    """With downgrades allowed: after each grading moment, in time order, its time, the grade and the
    report levels owed, each with when it was demanded afresh (the start of its latest spell of
    being owed).

    A level is owed while the grade as it stands reaches it (493号令 arts. 3, 10): a lowered grade
    stops demanding the levels above its reach, and a grade raised again demands them afresh from
    then, as any re-grade does (补报, art. 13). Once the figures have shown harm the alert stays an
    accident (art. 2): figures lowered to none grade it general, not no accident at all. The first
    item is the folded reports' (bounds.py), at the latest folded moment's time, when any were folded.
    """
    if moments is None or by_time is None:
        by_time = a.figures_by_time(bounds.regrade_end(a, rules))
        if not by_time and (a.earlier or {}).get("last") is None:
            by_time = [(a.opened_at, a.figures(until=a.opened_at))]
        moments = [(t, *classify(figures, rules)) for t, figures in by_time]
    folded = a.earlier or {}
    owed: dict[str, int] = dict(folded.get("owed") or bounds.folded_owed(folded, rules))
    harm = bool(folded.get("demanded"))
    out: list[tuple[int, str, dict[str, int]]] = []
    if folded.get("last") is not None:
        out.append((folded["last"]["time"], folded["last"]["grade"], owed))
    for (t, grade_id, *_), (_, figures) in zip(moments, by_time, strict=True):
        harm = harm or figures.harm()
        since = max(t, a.opened_at)
        owed = {level.id: owed.get(level.id, since) for level in rules.report_reach(grade_id)} if harm else {}
        out.append((t, grade_id, owed))
    return out or [(a.opened_at, GRADES[-1], {})]


def _unowed_withdrawn(a: Alert, rules: AlertRules, dues: dict[str, int], at: int,
                      entry: dict[str, Any]) -> list[Out]:
    """With downgrades allowed, withdraw the report_overdue of a level that the grade as it stood at
    its due time did not reach, a record dated by then that lowered the grade having reached the
    engine after it ran out: in time order the level was no longer owed, and its clock had stopped.
    One that ran out while the grade reached it stands: it was owed then."""
    spells = owed_by_time(a, rules)
    when, eid = decided_at(entry, at, a.watermark), entry["event_id"]
    outs: list[Out] = []
    for level_id in list(a.missed):
        due = dues.get(level_id)
        standing = next((s for s in reversed(spells) if due is not None and s[0] <= due), None)
        if standing is None or level_id in standing[2]:
            continue
        t, grade = standing[0], standing[1]
        level = next(lv for lv in rules.report_levels if lv.id == level_id)
        a.missed.remove(level_id)
        a.history.append([when, eid, f"report to {level_id} overdue: withdrawn, graded {grade} on {iso(t)}"])
        reason = (f"The report_overdue of {a.id} to {level.name} at {iso(due)} is withdrawn: the accident "
                  f"was graded {rules.grade(grade).name} on {iso(t)}, before it fell due, which is not "
                  f"reported that far; the record {eid} reached the engine after it")
        outs.append(emit.escalation(a, rules, rule_id=level.rule_id, action="failure_withdrawn", at=when,
                                    targets=emit.resolve_all(level.overdue_targets, a, rules, level),
                                    reason=reason, key=(level_id, due), caused_by=[eid], due_at=due))
    if outs:
        _demand_as_graded(a, spells[-1][2])
    return outs


def _demand_as_graded(a: Alert, owed: dict[str, int]) -> None:
    """With downgrades allowed, the report levels demanded are those the grade as it now stands
    reaches (`owed_by_time`). A level no longer owed stops being demanded, and its clock with it;
    one reported or missed stays on the record (with when it was first demanded), as does what
    was sent about it. A level owed afresh is demanded from then, unless it is on the record."""
    kept = {lv: t for lv, t in a.demanded.items() if lv in a.reported or lv in a.missed}
    a.demanded = {**{lv: t for lv, t in owed.items() if lv not in kept}, **kept}


def settle(a: Alert, rules: AlertRules, at: int, cause: str) -> list[Out]:
    """Re-grade the alert; activate its new response level when the level changes.

    Only a production-safety accident gets a 493 grade, report clocks and the
    art. 10 notifications, and only once its figures show death, injury or
    direct loss (art. 2; before, e.g. a gas leak at a restaurant nobody was hurt
    by, it is a 险情); a non-production incident or a natural disaster gets the
    response level of its figures' band and goes where its class says.

    The close ends the response, not the duty to report: figures dated after it
    still re-grade an accident within the art. 13 window (补报), demanding the
    report levels the new grade reaches and sending the art. 10 notice if none
    went yet, but activate no response level.
    """
    if a.opened is None:
        return []  # an orphan waits for its raising
    grade, why, level, level_why, demanded = assess(a, rules)
    accident = a.incident_class == "production_accident" and bool(demanded)
    if accident:
        if rules.downgrade_allowed:
            before = set(a.demanded)
            _demand_as_graded(a, demanded)
            a.history += [[at, cause, f"report to {lv.id} no longer demanded: graded {grade}"]
                          for lv in rules.report_levels if lv.id in before - set(a.demanded)]
        for level_id, t in () if rules.downgrade_allowed else demanded.items():
            a.demanded[level_id] = min(a.demanded.get(level_id, t), t)
        a.grade = grade
    elif a.incident_class == "production_accident":
        why = ["no death, injury or direct loss (493号令 art. 2): no 493号令 grade yet; response band of "
               "the figures (district practice): " + "; ".join(why)]
    else:
        why = [f"{incident.CLASS_NAMES[a.incident_class or '']}: no 493号令 grade; response band of "
               f"the figures (district practice): " + "; ".join(why)]
    outs = _activate(a, rules, at, cause, level, why, level_why) if a.open_at(at) else []
    return outs + incident.on_settle(a, rules, at, cause)


def _activate(a: Alert, rules: AlertRules, at: int, cause: str, level: str, why: list[str],
              level_why: list[str]) -> list[Out]:
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
