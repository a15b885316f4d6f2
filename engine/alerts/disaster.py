"""The disaster-report clocks of a natural disaster (灾情报告), and what happens when one runs out.

A natural disaster is not graded under 493号令; its information officers
(灾害信息员 A、B 岗) report it in three stages, as 自然灾害情况统计调查制度 sets:

- `disaster_initial` (初报): post A files the initial report within the first
  step's time; if A is silent, post B is asked; then the town, then the
  district duty office, each step `after` the previous one. Any report from
  either post stops the chain.
- `disaster_daily` (续报 / 零报告): from the first report until the final one
  (or the alert's close, 灾情稳定), a report is due every day at the rules'
  hour, even when nothing changed (24小时零报告). Each missed day escalates
  once, and the next day's report is due as usual. A record that comes long
  after it, and makes more than a week of them owed that were past by then (a
  disaster recorded long after it happened), gets one escalation naming how
  many (`run_out`).
- `disaster_final` (核报): once the alert is closed, the final report is due
  within the rules' span; missing it escalates once.

As for every clock here, nothing is stored as a timer: `derive` recomputes
the due times from the facts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import takewhile

from engine.alerts import emit
from engine.alerts.rules import AlertRules, words
from engine.alerts.state import Alert
from engine.kernel.outputs import Out
from engine.kernel.time import after, iso, latest, local, unsure
from engine.ruleset.calendar import SHANGHAI

INITIAL, DAILY, FINAL = "disaster_initial", "disaster_daily", "disaster_final"
NAMES = (INITIAL, DAILY, FINAL)
RUN = 7  # daily reports run out at once beyond which one escalation names them all (`run_out`)


def initial_due(a: Alert, rules: AlertRules) -> tuple[int, int] | None:
    """The next step of the initial-report chain (its index) and when it is due; None if none runs."""
    if a.opened is None or a.disaster_reports or a.dstep >= len(rules.disaster.initial):
        return None
    due = a.opened_at
    for i, step in enumerate(rules.disaster.initial):
        due = after(step.after, due, rules).at
        if i >= a.dstep:
            return i, due
    return None


def daily_due(a: Alert, rules: AlertRules) -> int | None:
    """When the next daily report (续报 or 零报告) is due: the rules' hour of the first day after the
    first report on file that no report met (one made that day, by the hour) and that has not run
    out already; None before the first report, or past the final one.

    A report dated before the disaster (a device's clock set wrong) counts as made at the
    disaster: nothing can be reported before it happened, so no day before it owes a report, and
    a date years early does not make every day since run out at once.

    Every day's due time is judged by the reports on file, not counted on from the latest: a
    report dated a day later whose record came first does not skip the day between. In time order
    it is the hour on the day after the latest report, as it always was. The reports on file are
    the latest few (bounds.py): the days before them have passed, met or run out, either way.
    """
    return next(_owed(a, rules), None)


def _owed(a: Alert, rules: AlertRules) -> Iterator[int]:
    """Every daily report's due time, from the first `daily_due` gives, that no report met and that
    has not run out already, in time order; none past the final report."""
    if a.opened is None or not a.disaster_reports:
        return
    hour, minute = rules.disaster.daily_at
    final = min((r[0] for r in a.disaster_reports if r[2] == "final"), default=None)
    missed = set(a.dmissed)  # a set: a disaster recorded years late has run out hundreds of days
    day = local(max(a.disaster_reports[0][0], a.opened_at)).date() + timedelta(days=1)
    while True:
        due = int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).timestamp())
        if final is not None and due > final:
            return
        met = any(r[0] <= due and local(r[0]).date() == day for r in a.disaster_reports)
        if not met and due not in missed:
            yield due
        day += timedelta(days=1)


def owed_by(a: Alert, rules: AlertRules, until: int) -> list[int]:
    """The daily reports due by `until`, while the alert was open, that no report met and that have
    not run out already (`daily_due`, one after another)."""
    return list(takewhile(lambda due: due <= until and a.open_at(due), _owed(a, rules)))


def run_out(a: Alert, rules: AlertRules, before: list[int], until: int, eid: str) -> list[Out]:
    """When record `eid`, reaching the engine at `until`, makes more than `RUN` daily reports owed
    that were due by then (`before`: those owed by then before it), record them all as missed and
    send one report_overdue that says how many, rather than one for each day.

    That is a disaster recorded long after it happened (its first report dated then) or a report
    dated long before the first on file: each day's escalation would tell the same units of days
    long past, hundreds at a time. The days were past when the engine learned of them, whatever
    its timer did since, so the same records give the same outputs. Fewer are left to the clock,
    one a day, as always.
    """
    if a.incident_class != "natural_disaster":
        return []
    had = set(before)
    days = [due for due in owed_by(a, rules, until) if due not in had]
    if len(days) <= RUN:
        return []
    a.dmissed += days
    d, last = rules.disaster, days[-1]
    a.history.append([until, eid, f"daily reports overdue: {len(days)}, from {iso(days[0])} to {iso(last)}"])
    reason = (f"No daily disaster report (续报, or 零报告 when nothing changed) on {a.id} for {len(days)} "
              f"days, from {iso(days[0])} to {iso(last)}: the report is due every day until the final "
              "report (24小时零报告)")
    return [emit.escalation(a, rules, rule_id=d.daily_rule, action="report_overdue", at=last,
                            targets=emit.resolve_all(d.daily_targets, a, rules), reason=reason,
                            key=(DAILY, days[0], last), caused_by=[eid], due_at=next_daily(a, rules))]


def next_daily(a: Alert, rules: AlertRules) -> int | None:
    """When the next daily report is due, if the alert is still open then."""
    due = daily_due(a, rules)
    return due if due is not None and a.open_at(due) else None


def final_due(a: Alert, rules: AlertRules) -> int | None:
    """When the final report (核报) is due after the close; None while open, once filed or missed."""
    if a.opened is None or a.closed_at is None or a.final_missed \
            or any(r[2] == "final" for r in a.disaster_reports):
        return None
    return after(rules.disaster.final_within, a.closed_at, rules).at


def unreported(a: Alert) -> list[str]:
    """[FINAL] while the final report (核报) of a closed natural disaster ran out and none is on file
    yet. Only that one: from the close the final clock runs until a final report is filed or it runs
    out, so a closed disaster has either a running clock, its final report, or this; and a day
    missed before cannot be made on its own day again, the final report settles what it left
    unsaid. A drill's are none, as for the accident reports (clocks.unreported)."""
    if a.exercise or not a.final_missed:
        return []
    return [] if any(r[2] == "final" for r in a.disaster_reports) else [FINAL]


def derive(a: Alert, rules: AlertRules) -> dict[str, int]:
    """The running disaster-report clocks of a natural disaster: name -> due time."""
    if a.incident_class != "natural_disaster":
        return {}
    clocks: dict[str, int] = {}
    step = initial_due(a, rules)
    if step is not None and a.open_at(step[1]):  # the close stops it from then on (`Alert.open_at`)
        clocks[INITIAL] = step[1]
    daily = daily_due(a, rules)
    if daily is not None and a.open_at(daily):
        clocks[DAILY] = daily
    final = final_due(a, rules)
    if final is not None:
        clocks[FINAL] = final
    return clocks


def answered(a: Alert, at: int, kind: str, rules: AlertRules) -> list[tuple[str, int, int | None]]:
    """The disaster clocks that already ran out which a report of `kind` made at `at` shows were
    met: (clock, due, initial step), asked before the report is applied (its record arrived late).

    - an initial-chain step whose due time came at or after `at`, unless a report already on
      file is dated by it too (that one answered it, or the step never fired);
    - a daily report missed on the report's own day, at or after its time (a report on a day
      before the hour covers that day's report, `daily_due`), and, for the final report, every
      daily report missed after it (none was due past the final one);
    - the final report, missed, when this is the final one dated by its due time (or, where
      that counted working days through a year no holiday notice covers, by the latest it
      could truly fall).
    """
    if a.incident_class != "natural_disaster" or a.opened_at is None:
        return []
    found: list[tuple[str, int, int | None]] = []
    first = min((r[0] for r in a.disaster_reports), default=None)
    due = a.opened_at
    for i, step in enumerate(rules.disaster.initial[:a.dstep]):
        due = after(step.after, due, rules).at
        if at <= due and (first is None or due < first):
            found.append((INITIAL, due, i))
    day = local(at).date()
    # A final report ends the daily reports: every one missed after it was never due.
    found += [(DAILY, d, None) for d in a.dmissed
              if at <= d and (local(d).date() == day or (kind == "final" and d > at))]
    if kind == "final" and a.final_missed and a.closed_at is not None:
        final = after(rules.disaster.final_within, a.closed_at, rules).at
        if at <= latest(rules.disaster.final_within, a.closed_at, final, rules):
            found.append((FINAL, final, None))
    return found


def stopped(a: Alert) -> list[tuple[str, int, int | None]]:
    """The daily reports missed at or after the alert's close, as `answered` gives clocks: asked once
    a close is applied, whose record reached the engine after they ran out."""
    return [(DAILY, due, None) for due in a.dmissed if not a.open_at(due)] if a.closed_at is not None else []


def withdraw(a: Alert, rules: AlertRules, found: list[tuple[str, int, int | None]], done: int, eid: str,
             at: int, closed: bool = False) -> list[Out]:
    """Withdraw, at `at`, the report_overdue escalations of the clocks `answered` found (or, with
    `closed`, `stopped` found: the alert was closed at `done`), to those they went to; a daily day
    or the final report withdrawn no longer counts as missed."""
    d = rules.disaster
    outs: list[Out] = []
    for name, due, i in found:
        if i is not None:  # an initial-chain step (the only clock with a step)
            step = d.initial[i]
            rule_id, targets, key = step.rule_id, step.targets, (name, i, due)
        elif name == DAILY:
            a.dmissed.remove(due)
            rule_id, targets, key = d.daily_rule, d.daily_targets, (name, due)
        else:
            a.final_missed = False
            rule_id, targets, key = d.final_rule, d.final_targets, (name, due)
        if closed:
            a.history.append([at, eid, f"{name} overdue of {iso(due)}: withdrawn, closed on {iso(done)}"])
            why = (f"the alert was closed on {iso(done)}, before it fell due; the record {eid} of the "
                   "close reached the engine after it")
        else:
            a.history.append([at, eid, f"{name} overdue of {iso(due)}: withdrawn, reported on {iso(done)}"])
            when = "in time" if done <= due else "by the latest its approximate due time could truly fall"
            why = f"the record {eid} of the report on {iso(done)}, {when}, reached the engine after it"
        outs.append(emit.escalation(
            a, rules, rule_id=rule_id, action="failure_withdrawn", at=at,
            targets=emit.resolve_all(targets, a, rules), key=key, caused_by=[eid], due_at=due,
            reason=f"The report_overdue of {a.id} ({name}) at {iso(due)} is withdrawn: {why}"))
    return outs


def fire(a: Alert, name: str, due: int, rules: AlertRules, cause: str) -> list[Out]:
    """Run out disaster clock `name` at `due`: record it, and return the escalation to send."""
    d = rules.disaster
    if name == INITIAL:
        i, _ = initial_due(a, rules)  # type: ignore[misc]
        step = d.initial[i]
        a.dstep = i + 1
        following = initial_due(a, rules)
        if following is not None and not a.open_at(following[1]):
            following = None  # closed by then: no step follows
        targets = emit.resolve_all(step.targets, a, rules)
        names = ", ".join(t["name"] or t["id"] for t in targets)
        silent = "post A" if i == 0 else "post A and every unit asked since"
        reason = (f"No initial disaster report (初报) on {a.id} from {silent} by {iso(due)}: "
                  f"asked {names} to report (灾害信息员 A、B 岗; 自然灾害情况统计调查制度)")
        a.history.append([due, cause, f"initial report asked of {names}"])
        return [emit.escalation(a, rules, rule_id=step.rule_id, action="report_overdue", at=due,
                                targets=targets, reason=reason, key=(name, i, due), caused_by=[cause],
                                due_at=following[1] if following else None)]
    if name == DAILY:
        a.dmissed.append(due)
        reason = (f"No daily disaster report (续报, or 零报告 when nothing changed) on {a.id} by "
                  f"{iso(due)}: the report is due every day until the final report (24小时零报告)")
        a.history.append([due, cause, "daily report overdue"])
        return [emit.escalation(a, rules, rule_id=d.daily_rule, action="report_overdue", at=due,
                                targets=emit.resolve_all(d.daily_targets, a, rules), reason=reason,
                                key=(name, due), caused_by=[cause], due_at=next_daily(a, rules))]
    a.final_missed = True
    until = latest(d.final_within, a.closed_at, due, rules)
    doubt = unsure(due, until, "a final report dated by then takes this back")
    reason = (f"No final disaster report (核报) on {a.id} within {words(d.final_within)} of its close "
              f"(灾情稳定) at {iso(a.closed_at)}{doubt}")
    a.history.append([due, cause, "final report overdue"])
    return [emit.escalation(a, rules, rule_id=d.final_rule, action="report_overdue", at=due,
                            targets=emit.resolve_all(d.final_targets, a, rules), reason=reason,
                            key=(name, due), caused_by=[cause], due_at=due)]
