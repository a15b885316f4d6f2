"""rules/alerts.yaml compiled: the immutable `AlertRules` the alert core runs on, and loading it.

The file model (models.py) rejects unknown keys and wrong types;
`load_alert_rules` then checks every cross-reference (departments, target
names, thresholds that rise from one grade to the next, authorities that are
not responders) and raises `RulesFileError` naming the file and the key.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from engine.alerts.models import AlertsFile, CapEntry
from engine.cap import identifier
from engine.contract.intake import AlertKind
from engine.kernel.checker import RulesChecker
from engine.reference import Reference, load_reference
from engine.reference.parse import read_yaml, validate
from engine.ruleset.calendar import WorkCalendar
from engine.ruleset.compiled import Span

GRADES = ("especially_major", "major", "large", "general")  # highest first
LEVELS = ("I", "II", "III", "IV")  # highest first
REPORT_LEVELS = ("county", "city", "province", "state_council")  # lowest first
KINDS: tuple[str, ...] = typing.get_args(AlertKind)
# Targets an alert escalation may name; `department:<id>` names one directly.
TARGETS = frozenset({"town", "town_safety_office", "district", "post_a", "post_b", "grid_chief",
                     "responders", "duty_officer", "duty_office"})
CLASSES = ("production_accident", "non_production", "natural_disaster")
REPORT_TARGETS = TARGETS | {"authority", "authority_below"}


@dataclass(frozen=True, slots=True)
class GradeRule:
    """One accident grade and its thresholds (each "at least"; None: not a criterion)."""

    id: str
    name: str
    name_en: str
    dead: int | None
    seriously_injured: int | None
    loss_cny: float | None
    source: str


@dataclass(frozen=True, slots=True)
class Kind:
    """An alert kind, its names, and the units its response activates."""

    id: str
    name: str
    name_en: str
    responders: tuple[str, ...]
    instruction: str | None
    source: str


@dataclass(frozen=True, slots=True)
class HandoverStep:
    """One step of the duty officers' handover (应急值守): how long after the previous one, to whom."""

    rule_id: str
    after: Span
    targets: tuple[str, ...]
    skip_if_post: str | None


@dataclass(frozen=True, slots=True)
class ReportLevel:
    """One level of the accident-report chain (事故报告): its deadline and receiving units."""

    id: str
    rule_id: str
    name: str
    within: Span
    authorities: tuple[str, ...]
    overdue_targets: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class Notify:
    """Notices the law requires when a production-safety accident is reported (493号令 art. 10)."""

    rule_id: str
    within: Span
    recipients: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class DisasterStep:
    """One step of the initial disaster-report chain: post A silent, post B asked, then the town..."""

    rule_id: str
    after: Span
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DisasterReport:
    """The disaster-report clocks (灾情报告: 初报, 续报 and 零报告, 核报) of a natural disaster."""

    initial: tuple[DisasterStep, ...]
    initial_source: str
    daily_rule: str
    daily_at: tuple[int, int]  # hour, minute in Asia/Shanghai
    daily_targets: tuple[str, ...]
    daily_source: str
    final_rule: str
    final_within: Span
    final_targets: tuple[str, ...]
    final_source: str


@dataclass(frozen=True, slots=True)
class AlertRules:
    """Everything the alert core needs, compiled once from rules/alerts.yaml and rules/reference/."""

    version: str
    reference: Reference
    calendar: WorkCalendar
    grades: tuple[GradeRule, ...]  # highest first; the last is the catch-all
    missing_count_as_dead: bool
    regrade_within: Span
    regrade_by_kind: Mapping[str, Span]
    response_rule: str
    level_by_grade: Mapping[str, str]
    crowded_raise: int
    evacuate_at_least: int | None
    evacuate_raise: int
    downgrade_allowed: bool
    notify: Mapping[str, tuple[str, ...]]
    kinds: Mapping[str, Kind]
    handover: tuple[HandoverStep, ...]
    report_levels: tuple[ReportLevel, ...]  # lowest first
    reach: Mapping[str, str]  # grade -> highest report level
    cap: CapEntry
    derive_class: Mapping[str, tuple[str, str]]  # kind -> (class with an enterprise, without one)
    class_source: str
    notify_accident: Notify
    non_production_rule: str
    non_production_route: Mapping[str, tuple[str, ...]]  # kind -> targets; "" is the default
    non_production_source: str
    disaster: DisasterReport

    def incident_class(self, kind: str, enterprise_named: bool) -> str:
        """The class the rules derive for an alert that does not give one."""
        with_enterprise, without = self.derive_class[kind]
        return with_enterprise if enterprise_named else without

    def route(self, kind: str) -> tuple[str, ...]:
        """Where a non-production incident of `kind` goes: the town and the sector's department."""
        return self.non_production_route.get(kind, self.non_production_route[""])

    def grade(self, grade_id: str) -> GradeRule:
        """The grade with this id."""
        return next(g for g in self.grades if g.id == grade_id)

    def regrade_window(self, kind: str | None) -> Span:
        """How long after the accident casualty changes still re-grade it (493号令 art. 13)."""
        return self.regrade_by_kind.get(kind or "", self.regrade_within)

    def report_reach(self, grade_id: str) -> tuple[ReportLevel, ...]:
        """The report levels a grade demands, lowest first."""
        top = REPORT_LEVELS.index(self.reach[grade_id])
        return self.report_levels[: top + 1]

    def authority_level(self, unit: str) -> str | None:
        """The report level whose authority `unit` is, or None for a responder's unit."""
        return next((lv.id for lv in self.report_levels if unit in lv.authorities), None)


def words(span: Span) -> str:
    """A span as a person writes it: '1 hour', '10 minutes'."""
    return f"{span.n} {span.unit[:-1]}" if span.n == 1 and span.unit.endswith("s") else str(span)


def load_alert_rules(rules_dir: Path | str, reference: Reference | None = None) -> AlertRules:
    """Load and check rules/alerts.yaml (with rules/reference/); raise RulesFileError on any problem."""
    rules_dir = Path(rules_dir)
    reference = reference if reference is not None else load_reference(rules_dir)
    shown = f"{rules_dir.name or rules_dir.resolve().name}/alerts.yaml"
    f = validate(AlertsFile, read_yaml(rules_dir / "alerts.yaml", shown), shown)
    c = RulesChecker(shown, reference, TARGETS)

    g = f.grading
    c.complete("grading.grades", g.grades, GRADES)
    grades = tuple(GradeRule(gid, e.name, e.name_en, e.dead, e.seriously_injured, e.loss_cny, e.source)
                   for gid, e in ((gid, g.grades[gid]) for gid in GRADES))
    if any(v is not None for v in (grades[-1].dead, grades[-1].seriously_injured, grades[-1].loss_cny)):
        raise c.fail("grading.grades.general", "the lowest grade takes everything below the others: "
                     "give it no thresholds")
    for metric in ("dead", "seriously_injured", "loss_cny"):
        for high, low in zip(grades[:-1], grades[1:-1], strict=False):
            hv, lv = getattr(high, metric), getattr(low, metric)
            if hv is not None and lv is not None and hv <= lv:
                raise c.fail(f"grading.grades.{high.id}.{metric}", f"{hv} is not above {low.id}'s {lv} "
                             "(thresholds rise from one grade to the next)")

    r = f.response
    c.complete("response.by_grade", r.by_grade, GRADES)
    c.complete("response.notify", r.notify, LEVELS)
    for high, low in zip(GRADES, GRADES[1:], strict=False):
        if LEVELS.index(r.by_grade[high]) > LEVELS.index(r.by_grade[low]):
            raise c.fail(f"response.by_grade.{high}", f"level {r.by_grade[high]} is below {low}'s "
                         f"{r.by_grade[low]} (a graver accident never gets a lower level)")
    notify = {lv: c.targets(f"response.notify.{lv}", r.notify[lv]) for lv in LEVELS}

    c.complete("kinds", f.kinds, KINDS)
    no_recursion = TARGETS - {"responders"}
    kinds = {k: Kind(k, e.name, e.name_en, c.targets(f"kinds.{k}.responders", e.responders, no_recursion),
                     e.instruction, e.source) for k, e in f.kinds.items()}

    steps = tuple(HandoverStep(s.rule_id, c.span(f"handover.steps[{i}].after", s.after),
                               c.targets(f"handover.steps[{i}].targets", s.targets), s.skip_if_post)
                  for i, s in enumerate(f.handover.steps))
    for i, s in enumerate(steps):
        if s.after.unit not in ("minutes", "hours"):
            raise c.fail(f"handover.steps[{i}].after", "handover steps are minutes or hours")

    rep = f.accident_report
    c.complete("accident_report.levels", rep.levels, REPORT_LEVELS)
    c.complete("accident_report.reach", rep.reach, GRADES)
    levels = tuple(ReportLevel(
        lid, e.rule_id, e.name, c.span(f"accident_report.levels.{lid}.within", e.within),
        tuple(e.authorities),
        c.targets(f"accident_report.levels.{lid}.overdue_targets", e.overdue_targets, REPORT_TARGETS),
        e.source) for lid, e in ((lid, rep.levels[lid]) for lid in REPORT_LEVELS))
    responders = {t.split(":", 1)[1] for k in kinds.values() for t in k.responders if ":" in t}
    seen: set[str] = set()
    for lv in levels:
        for i, unit in enumerate(lv.authorities):
            key = f"accident_report.levels.{lv.id}.authorities[{i}]"
            if unit in seen:
                raise c.fail(key, f'"{unit}" is an authority of two levels')
            if unit in responders:
                raise c.fail(key, f'"{unit}" also responds to alerts: its acknowledgement would be read '
                             "as a report; give the authority its own unit id")
            seen.add(unit)
    for high, low in zip(GRADES, GRADES[1:], strict=False):
        if REPORT_LEVELS.index(rep.reach[high]) < REPORT_LEVELS.index(rep.reach[low]):
            raise c.fail(f"accident_report.reach.{high}", f"reaches lower than {low}")

    c.complete("incident_class.derive", f.incident_class.derive, KINDS)
    derive_class = {k: (e.enterprise, e.no_enterprise) for k, e in f.incident_class.derive.items()}
    n = f.accident_notifications
    notify_accident = Notify(n.rule_id, c.span("accident_notifications.within", n.within),
                             c.targets("accident_notifications.recipients", n.recipients), n.source)
    npr = f.non_production
    route = {k: c.targets(f"non_production.route.{k}", v) for k, v in npr.route.items()}
    route[""] = c.targets("non_production.default", npr.default)
    d = f.disaster_report
    hour, minute = (int(x) for x in d.daily.at.split(":"))
    disaster = DisasterReport(
        initial=tuple(DisasterStep(s.rule_id, c.span(f"disaster_report.initial[{i}].after", s.after),
                                   c.targets(f"disaster_report.initial[{i}].targets", s.targets))
                      for i, s in enumerate(d.initial)),
        initial_source=d.initial_source, daily_rule=d.daily.rule_id, daily_at=(hour, minute),
        daily_targets=c.targets("disaster_report.daily.targets", d.daily.targets),
        daily_source=d.daily.source, final_rule=d.final.rule_id,
        final_within=c.span("disaster_report.final.within", d.final.within),
        final_targets=c.targets("disaster_report.final.targets", d.final.targets),
        final_source=d.final.source)
    for i, step in enumerate(disaster.initial):
        if step.after.unit not in ("minutes", "hours"):
            raise c.fail(f"disaster_report.initial[{i}].after", "initial report steps are minutes or hours")

    try:
        identifier(f.cap.issuer_code, datetime(2026, 1, 1, tzinfo=UTC), 1, "AL-1")
    except ValueError as exc:
        raise c.fail("cap.issuer_code", str(exc)) from None
    if set(f.cap.sender) & set(" ,<&"):
        raise c.fail("cap.sender", "CAP 1.2 forbids spaces, commas, '<' and '&' in a sender")

    return AlertRules(
        version=f.version if f.version == reference.version else f"{f.version}+ref{reference.version}",
        # No last day on a rest day moved (民法典 art. 203 para. 1): the alert rules' one period in
        # days is the re-grade window, in which figures change a grade, not a time to act by;
        # moving its end would let late figures add report duties (rules/alerts.yaml).
        reference=reference, calendar=WorkCalendar(reference.notices, rest_day_moves_last_day=False),
        grades=grades,
        missing_count_as_dead=g.missing_count_as_dead,
        regrade_within=c.span("grading.regrade_within", g.regrade_within),
        regrade_by_kind=MappingProxyType({k: c.span(f"grading.regrade_within_by_kind.{k}", v)
                                          for k, v in g.regrade_within_by_kind.items()}),
        response_rule=r.rule_id, level_by_grade=MappingProxyType(dict(r.by_grade)),
        crowded_raise=r.raise_.crowded_place,
        evacuate_at_least=r.raise_.people_to_evacuate.at_least if r.raise_.people_to_evacuate else None,
        evacuate_raise=r.raise_.people_to_evacuate.by if r.raise_.people_to_evacuate else 0,
        downgrade_allowed=r.downgrade.allowed, notify=MappingProxyType(notify),
        kinds=MappingProxyType(kinds), handover=steps, report_levels=levels,
        reach=MappingProxyType(dict(rep.reach)), cap=f.cap,
        derive_class=MappingProxyType(derive_class), class_source=f.incident_class.source,
        notify_accident=notify_accident, non_production_rule=npr.rule_id,
        non_production_route=MappingProxyType(route), non_production_source=npr.source,
        disaster=disaster,
    )
