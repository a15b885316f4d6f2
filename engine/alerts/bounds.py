"""How much of an alert's reports and CAP messages its state keeps: a bounded amount, whatever its age.

An alert that runs for weeks (a flood's daily 续报, a fire updated every few
minutes) would otherwise carry every figure report and every CAP message it
ever had in its state, and every decision would decode, copy and re-encode
them. The history (engine/kernel/state.py) keeps the full record of what
happened; the state keeps what its decisions read:

- `reports`: the latest `REPORTS_KEPT` figure reports, in time order. An older
  report is folded into `Alert.earlier`: the latest value of each figure with
  its time (what `figures()` reads), the largest evacuation figure given, and,
  for the grading moments inside the re-grade window (493号令 art. 13), the
  first moment with the highest grade, the latest moment, and when each report
  level was first demanded (what `assess` reads). Folding keeps every decision
  as it was as long as a report arrives no more than `REPORTS_KEPT` reports
  late in time order. A report older than the latest folded one is still
  counted exactly in the latest figures and the evacuation maximum; its
  grading moment is its own figures over the folded figures given before it,
  because the bounded state no longer holds the figures as they stood then.
- `caps`: the first CAP message (the Alert) and the latest. The next message's
  sequence number follows the latest's, and a Cancel is always the latest
  (nothing is sent after it). Its `references` name those two (capdoc.py says
  why a CAP consumer reads that correctly). A message the state no longer
  keeps becomes a line of the history, so the feeds and the board still list
  every one (`capdoc.sent`); a state stored before, with every message in
  `caps`, moves those between to its history when it is bounded. Every
  message stays on `alerts.cap`.
- `disaster_reports`: the latest `DISASTER_REPORTS_KEPT`, and the first final
  report (核报) if one was dropped: the disaster clocks read only whether there
  is a report, whether a final one came and the latest report's time.

`bound` runs on every decision (core.advance), so a state stored before these
bounds, with long lists, is bounded on its next write.
"""

from __future__ import annotations

from typing import Any

from engine.alerts.capdoc import history_item
from engine.alerts.grade import Figures, classify
from engine.alerts.rules import GRADES, AlertRules
from engine.alerts.state import FIELDS, Alert
from engine.kernel.time import after

REPORTS_KEPT = 16  # figure reports kept whole: how late (in reports) one can arrive and grade exactly
DISASTER_REPORTS_KEPT = 8  # disaster reports kept: the clocks read the latest and a final one


def regrade_end(a: Alert, rules: AlertRules) -> int:
    """When the re-grade window of a raised alert ends: figures after it do not change the grade."""
    return after(rules.regrade_window(a.kind), a.opened_at, rules).at


def bound(a: Alert, rules: AlertRules) -> None:
    """Bring the alert's reports, CAP messages and disaster reports within their bounds."""
    if len(a.reports) > REPORTS_KEPT and a.opened is not None:  # an orphan has no window to fold by
        end = regrade_end(a, rules)
        while len(a.reports) > REPORTS_KEPT:
            _fold(a, a.reports.pop(0), end, rules)
    if len(a.caps) > 2:  # a state stored before: its messages between go to the history
        a.history += [history_item(c) for c in a.caps[1:-1]]
        a.caps = [a.caps[0], a.caps[-1]]
    if len(a.disaster_reports) > DISASTER_REPORTS_KEPT:
        kept = a.disaster_reports[-DISASTER_REPORTS_KEPT:]
        if not any(r[2] == "final" for r in kept):
            final = next((r for r in a.disaster_reports if r[2] == "final"), None)
            if final is not None:
                kept = [final, *kept[1:]]  # still in time order: the final is older than all kept
        a.disaster_reports = kept


def fold_late(a: Alert, report: tuple[Any, ...], rules: AlertRules) -> None:
    """Fold a report older than the latest folded one straight into `earlier` (see the module doc)."""
    _fold(a, report, regrade_end(a, rules), rules, late=True)


def _fold(a: Alert, report: tuple[Any, ...], end: int, rules: AlertRules, late: bool = False) -> None:
    e = a.earlier if a.earlier is not None else {"until": report[0]}
    a.earlier = e
    at = report[0]
    if not late:
        e["until"] = at
    before = [e.get(f) if e.get(f"{f}_at", at + 1) <= at else None for f in FIELDS]
    for f, value in zip(FIELDS, report[2:], strict=True):
        if value is not None and (late is False or e.get(f"{f}_at", at) <= at):
            e[f], e[f"{f}_at"] = value, at
    evacuate = report[4]
    if evacuate is not None:
        most = e.get("to_evacuate_max")
        if most is None or evacuate > most or (evacuate == most and at < e.get("to_evacuate_max_at", at)):
            e["to_evacuate_max"], e["to_evacuate_max_at"] = evacuate, at
        # The first figure that raises the level, for a close dated before the largest (`open_evacuate`).
        if rules.evacuate_at_least is not None and evacuate >= rules.evacuate_at_least \
                and at < e.get("evacuate_raises", [at + 1])[0]:
            e["evacuate_raises"] = [at, evacuate]
    if at > end:
        return  # after the re-grade window: no grading moment
    if not late and a.reports and a.reports[0][0] == at:
        return  # not the last report at its instant: the moment is the kept one's
    figures = Figures.of(*(v if v is not None else b for v, b in zip(report[2:], before, strict=True)))
    grade, why = classify(figures, rules)
    _moment(e, "", {"time": at, "grade": grade, "why": why}, late)
    band, band_why = classify(figures, rules, response=True)
    _moment(e, "band_", {"time": at, "grade": band, "why": band_why}, late)
    e["band_steps"] = _step(e.get("band_steps", []), {"time": at, "grade": band, "why": band_why})
    if rules.downgrade_allowed and not late:  # the levels owed as graded then (`core.owed_by_time`)
        owed, since = e.get("owed") or folded_owed(e, rules), max(at, a.opened_at)
        harm = figures.harm() or bool(e.get("demanded"))
        e["owed"] = {lv.id: owed.get(lv.id, since) for lv in rules.report_reach(grade)} if harm else {}
    demanded = e.setdefault("demanded", {})
    for level in rules.report_reach(grade) if figures.harm() else ():  # as `core.assess`
        t = max(at, a.opened_at)
        demanded[level.id] = min(demanded.get(level.id, t), t)


def folded_owed(e: dict[str, Any], rules: AlertRules) -> dict[str, int]:
    """The report levels the folded reports leave owed with downgrades allowed, for a state folded
    without them: those the latest folded moment's grade reaches, from when each was first demanded."""
    demanded, last = e.get("demanded") or {}, e.get("last")
    if last is None:
        return {}
    return {lv.id: demanded[lv.id] for lv in rules.report_reach(last["grade"]) if lv.id in demanded}


def _step(steps: list[dict[str, Any]], moment: dict[str, Any]) -> list[dict[str, Any]]:
    """The folded band's moments each higher than every one before it in time, with `moment` among
    them: at most one a grade. The highest band before any time (a close's) is the last of them
    dated before it (`open_band`)."""
    at, rank = moment["time"], GRADES.index
    before = [m for m in steps if m["time"] <= at]
    if before and rank(before[-1]["grade"]) <= rank(moment["grade"]):
        return steps  # no higher than the highest before it
    higher = [m for m in steps if m["time"] > at and rank(m["grade"]) < rank(moment["grade"])]
    return [*before, moment, *higher]


def open_band(a: Alert, e: dict[str, Any], best: dict[str, Any] | None) -> dict[str, Any] | None:
    """The folded band's best moment while the alert was open (its response ends at the close): the
    highest, the first of its grade, dated before the close. A state folded before the steps were
    kept has its best only."""
    if best is None or a.open_at(best["time"]) or "band_steps" not in e:
        return best
    return next((m for m in reversed(e["band_steps"]) if a.open_at(m["time"])), None)


def open_evacuate(a: Alert, e: dict[str, Any]) -> int | None:
    """The largest evacuation figure of the folded reports dated before the close, as far as it picks
    the level: the largest when it is, else the first that raises the level (a figure below it
    raises nothing, whatever it is), else None."""
    most, at = e.get("to_evacuate_max"), e.get("to_evacuate_max_at")
    if most is None or at is None or a.open_at(at):
        return most
    raises = e.get("evacuate_raises")
    return raises[1] if raises is not None and a.open_at(raises[0]) else None


def _moment(e: dict[str, Any], prefix: str, moment: dict[str, Any], late: bool) -> None:
    """Keep `moment` as the folded best (the highest, the first of its grade) and last, under the 493
    grade's keys (`best`, `last`) or the response band's (`band_best`, `band_last`: the band may
    count the missing with the dead, `classify`)."""
    best, grade, at = e.get(f"{prefix}best"), moment["grade"], moment["time"]
    if best is None or GRADES.index(grade) < GRADES.index(best["grade"]) \
            or (late and grade == best["grade"] and at < best["time"]):
        e[f"{prefix}best"] = moment
    if e.get(f"{prefix}last") is None or at >= e[f"{prefix}last"]["time"]:
        e[f"{prefix}last"] = moment
