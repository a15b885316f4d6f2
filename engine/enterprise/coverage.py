"""Coverage clocks: a key enterprise (重点企业) inspected on its fixed cycle (全覆盖), or escalated.

The cycle runs from the last inspection on file, or from the classification
that made the enterprise a key one when it was never inspected; its length is
`coverage.days` of its risk class (rules/plan.yaml). When it runs out, the town
safety office is told at once; `grace_days` later, the sector's lead
department is told, and the miss counts as that department's duty failure
(不履行安全监管职责). An inspection starts the next cycle and stops both.

A duty failure is referred to discipline inspection (抄报移送纪委监委) by the
same ground, threshold and respondents as a hazard's duty failure
(rules/hazards.yaml `referral.duty_failure`: the plans' line 798, "不履行安全监管
职责的情况，一律抄报移送纪委监委"), once the department's missed cycles on this
enterprise reach the threshold. The hazard side refers such failures without
waiting for a person's decision ("一律"), so this side does too; the referral
names the department, never the enterprise (监察法 art. 15).

Inspectors' tablets work offline, so as for a hazard (engine/kernel/referral.py)
the referral waits the rules' `duties.late_arrival.after` before it is sent,
and an inspection dated within the missed cycle's period withdraws the failure
whenever it arrives: the department is told, a held referral is not sent, and
one already sent is withdrawn. So does a record, reaching the engine late,
that the enterprise was no longer a key one, or closed, or re-classified to a
class whose cycle had not run out, before the cycle was missed; a cycle taken
back that way runs again under the new class (`reclassified`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.contract.outputs import ESCALATIONS, REFERRALS_DISCIPLINE
from engine.kernel.escalation import escalation
from engine.kernel.ids import output_id
from engine.kernel.outputs import Out, envelope
from engine.kernel.referral import hold, released, withdrawal
from engine.kernel.targets import answerable, department_unit, resolve, resolve_all
from engine.kernel.time import iso
from engine.zh.words import Words

DAY = 86_400


@dataclass(frozen=True, slots=True)
class EnterpriseRules:
    """What the enterprise core reads: the hazard rules (reference, version), coverage and credit rules."""

    rules: Any
    coverage: Any | None  # engine.plan.rules.Coverage; None: no coverage clocks
    credit: Any | None = None  # engine.plan.rules.Credit; None: no credit thresholds (rules/plan.yaml)


@dataclass(frozen=True, slots=True)
class _Place:
    """An enterprise's file as `engine.kernel.targets.Located`: its targets resolve as a hazard's do."""

    town: str | None
    sector: str | None
    enterprise: tuple[str, str | None]
    lead: str | None = None  # no override: the sector's lead department


def _place(f: Any) -> _Place:
    return _Place(f.town, f.sector, (f.id, f.name))


def cycle_base(f: Any) -> int | None:
    """Where the current cycle starts: the last inspection, else the classification as key."""
    if f.last_inspection is not None:
        return f.last_inspection[0]
    return f.classified[0] if f.classified else None


def derive(f: Any, er: EnterpriseRules) -> dict[str, int]:
    """The coverage clock running now, if any, and the hold of a referral waiting to be sent."""
    cov = er.coverage
    held = [m[1] for m in f.missed if m[4] == HELD] if cov is not None else []  # none without its rules
    clocks = {"refer": min(released(at, er.rules) for at in held)} if held else {}
    base = cycle_base(f)
    if cov is None or not f.key or f.status() != "registered" or not f.risk_class or base is None:
        return clocks
    if f.cov_base != base:  # a new cycle: what the last one escalated is behind it
        f.cov_base, f.cov_step = base, 0
        _forget_runs(f)
    due = base + getattr(cov.days, f.risk_class) * DAY
    if f.cov_step == 0:
        clocks["coverage"] = due
    elif f.cov_step == 1:
        clocks["coverage_lead"] = due + cov.grace_days * DAY
    return clocks


# What became of the referral of a missed cycle (the last place of a `missed` record).
HELD, SENT = "held", "sent"
MISSED = 24  # missed cycles kept for a late inspection to answer (a held referral is always kept)


def _escalation_id(f: Any, action: str, base: int | None = None) -> str:
    base = f.cov_base if base is None else base
    return output_id("escalation", f.id, "coverage", action, base, *_run(f, base))


def _run(f: Any, base: int) -> tuple[Any, ...]:
    """What names a cycle's outputs apart from its earlier runs: nothing for its first run (the ids
    as they always were), ("run", n) for the n-th time it ran again (`reclassified`)."""
    n = f.reruns.get(str(base), 0)
    return ("run", n) if n else ()


def _forget_runs(f: Any) -> None:
    """Keep the runs of the current cycle and of the missed cycles still kept, no others."""
    if f.reruns:
        kept = {str(f.cov_base), *(str(m[0]) for m in f.missed)}
        f.reruns = {k: n for k, n in f.reruns.items() if k in kept}


def _escalation(f: Any, er: EnterpriseRules, action: str, tier: str, at: int,
                targets: list[dict[str, Any]], reason: str, base: int | None = None,
                caused_by: str | None = None) -> Out:
    base = f.cov_base if base is None else base
    return escalation(_escalation_id(f, action, base), subject_kind="enterprise", subject_id=f.id,
                      action=action, tier=tier, targets=targets, reason=reason,
                      rule_id=f"coverage.{f.risk_class}", rules_version=er.rules.version, at=at, due_at=None,
                      town=f.town, sector=f.sector, grade=None,
                      caused_by=[caused_by or f"coverage-cycle:{base}"],
                      reason_zh=Words("zh", er.rules.reference).reason(reason))


def _lead(f: Any, er: EnterpriseRules) -> str | None:
    return er.rules.reference.sector_lead(f.sector).id if f.sector else None


def _what(f: Any, er: EnterpriseRules, base: int, risk_class: str | None = None) -> str:
    days = getattr(er.coverage.days, risk_class or f.risk_class)
    return (f"key enterprise {f.name or f.id} still not inspected {er.coverage.grace_days} days "
            f"after its {days}-day cycle from {iso(base)} ran out")


def fire(f: Any, name: str, due: int, er: EnterpriseRules) -> list[Out]:
    """Escalate a missed cycle: the town safety office first, then the lead department; or send
    the referrals whose hold ended at `due`."""
    if name == "refer":
        return _release(f, er, due)
    f.cov_step += 1
    if name == "coverage":
        return _town_told(f, er, f.cov_base, due)
    start = f.last_inspection[1] if f.last_inspection else (f.classified[3] if f.classified else f.id)
    return _lead_failed(f, er, f.cov_base, due, start)


def _town_told(f: Any, er: EnterpriseRules, base: int, due: int) -> list[Out]:
    """The cycle from `base` ran out at `due`: the town safety office is told."""
    days = getattr(er.coverage.days, f.risk_class)
    targets = resolve("town_safety_office", _place(f), er.rules)
    return [_escalation(f, er, "coverage_missed", "yellow", due, targets,
                        f"key enterprise {f.name or f.id} ({f.risk_class}) not inspected within "
                        f"{days} days of {iso(base)}", base)]


def _lead_failed(f: Any, er: EnterpriseRules, base: int, due: int, start: str) -> list[Out]:
    """The cycle from `base` (begun by event `start`) still not inspected at `due`: the lead
    department's duty failure, kept in `missed`, and its referral held or sent at the threshold."""
    lead = _lead(f, er)
    targets = [department_unit(lead, er.rules.reference)] if lead else []
    what = _what(f, er, base)
    outs = [_escalation(f, er, "duty_failure", "orange", due, targets,
                        f"{what}: a duty failure of the lead department (不履行安全监管职责)", base)]
    if not lead:
        return outs
    f.duty_fails[lead] = f.duty_fails.get(lead, 0) + 1
    # [cycle base, missed at, department, the event that started the cycle, what became of its referral]
    missed = [base, due, lead, start, None]
    f.missed.append(missed)
    kept = [m for m in f.missed if m[4] != HELD]
    for old in kept[:-MISSED]:
        f.missed.remove(old)
    if f.duty_fails[lead] >= er.rules.duty_failures.threshold:
        if hold(er.rules) is not None:
            missed[4] = HELD
        else:
            sent = _refer(f, er, missed, due)
            missed[4] = SENT if sent else None
            outs += sent
    return outs


def _release(f: Any, er: EnterpriseRules, due: int) -> list[Out]:
    """Send the held referrals whose hold ends at `due`: no inspection dated in time has come."""
    outs: list[Out] = []
    for missed in f.missed:
        if missed[4] == HELD and released(missed[1], er.rules) <= due:
            sent = _refer(f, er, missed, due)
            missed[4] = SENT if sent else None
            outs += sent
    return outs


def answer(f: Any, er: EnterpriseRules, done: int, eid: str, at: int, inspection: str | None = None
           ) -> list[Out]:
    """An inspection done at `done` (`inspection`, its id; `eid`, its event), decided at `at`,
    withdraws each missed cycle whose period holds it.

    The inspector's tablet was offline: the inspection, in time, reached the engine after the
    lead department's duty failure was escalated. The department is told the failure is
    withdrawn; a held referral is not sent, and one already sent is withdrawn. With a
    threshold above 1, a later cycle's referral that counted a withdrawn failure goes the same
    way when the failures before it no longer reach the threshold.

    A cycle missed after it that ran from the classification on file (the enterprise never
    inspected, as far as the engine knew) goes too: once inspected, its cycles run from its
    inspections (`cycle_base`), so in time order that cycle never ran; the one from this
    inspection runs now, under ids of its own (another base).

    An inspection before the last on file started a cycle that the next one ended: if that came
    only after the cycle's days and grace, time order missed it then, and that miss is raised
    now, dated then (`_missed_then`), as for a re-classification.
    """
    started = f.classified[3] if f.classified else None
    outs = _take_back(f, er, [m for m in f.missed if m[0] <= done <= m[1]
                              or (done < m[0] and m[3] == started)], eid, at,
                      f"inspection {eid} of {iso(done)}, in time, reached the engine after it",
                      f"inspection {eid} of {iso(done)} shows the duty done in time; it reached the engine "
                      "after the referral was sent")
    cov, ended = er.coverage, _next_inspection(f, done)
    if (cov is None or ended is None or not f.key or f.status() != "registered" or not f.risk_class
            or any(m[0] == done for m in f.missed)):
        return outs
    days = getattr(cov.days, f.risk_class)
    if ended > done + (days + cov.grace_days) * DAY:
        outs += _missed_then(f, er, done, inspection or eid, days)
    return outs


def released_from(f: Any, er: EnterpriseRules, done: int, how: str, eid: str, at: int) -> list[Out]:
    """The enterprise ceased at `done` to owe its cycle (`how`: "declassified", no longer a key
    enterprise; "closed"), decided at `at`: each cycle missed after that was owed by nobody, and is
    withdrawn as an inspection in time withdraws it (`answer`). The record came late (an app
    offline); in time order the clock would have stopped at `done`."""
    ceased = "no longer a key enterprise" if how == "declassified" else "closed"
    return _take_back(f, er, [m for m in f.missed if done <= m[1]], eid, at,
                      f"the enterprise was {ceased} from {iso(done)} ({eid}), before it, and the record "
                      "reached the engine after it",
                      f"the record {eid} shows the enterprise {ceased} from {iso(done)}, before the cycle "
                      "was missed; it reached the engine after the referral was sent")


def reclassified(f: Any, er: EnterpriseRules, was: str | None, was_started: str | None, done: int,
                 eid: str, at: int) -> list[Out]:
    """The enterprise, still a key one, re-classified at `done` from class `was` (decided at `at`),
    on a record that reached the engine after cycles were missed since (an app offline).

    In time order a cycle that ran from the classification this one replaces (`was_started`,
    its event: never inspected since) would have started again at `done`, as `cycle_base` has
    it, and one that ran from an inspection would have run the new class's days. A cycle
    missed after `done` sooner than that is withdrawn as an inspection in time withdraws it
    (`answer`), the referral rebuilt as it was sent, under class `was`. Then, as time order
    would have had it: a cycle that runs on (no inspection since its start) runs again under
    the new class; one whose next inspection came only after the new class's end was missed
    then, and that miss is raised now, dated then; one answered by it was never missed. What a
    cycle escalates after its miss was withdrawn goes under ids of its own (`_run`).
    """
    cov = er.coverage
    if cov is None or not f.risk_class:
        return []
    days = getattr(cov.days, f.risk_class)
    overdue = (days + cov.grace_days) * DAY
    hit, again = [], {}  # the misses withdrawn; the cycles missed later instead: start -> what began it
    for m in f.missed:
        start, began = (done, eid) if m[3] == was_started else (m[0], m[3])  # its cycle, in time order
        if not done <= m[1] < start + overdue:
            continue
        hit.append(m)
        ended = _next_inspection(f, start)
        if ended is not None and ended > start + overdue:
            again[start] = began
    if not hit:
        return []
    said = f"re-classified {f.risk_class} ({days}-day cycle) from {iso(done)}"
    outs = _take_back(f, er, hit, eid, at,
                      f"the enterprise was {said} ({eid}), before it, and the record reached the engine "
                      "after it",
                      f"the record {eid} shows the enterprise {said}, before the cycle was missed; it "
                      "reached the engine after the referral was sent", was)
    used = {m[0] for m in hit}  # bases whose ids went out and were withdrawn
    for base in used & ({f.cov_base} | again.keys()):
        f.reruns[str(base)] = f.reruns.get(str(base), 0) + 1
    if cycle_base(f) == f.cov_base and f.cov_base in used:
        f.cov_step = 0  # it runs on: `derive` sets its clocks under the new class
    for start, began in sorted(again.items()):
        outs += _missed_then(f, er, start, began, days)
    _forget_runs(f)
    return outs


def _missed_then(f: Any, er: EnterpriseRules, start: int, began: str, days: int) -> list[Out]:
    """Raise the steps of the cycle from `start` (begun by event `began`), missed in time order under
    the class on file, each dated when it came due; the current cycle's own steps are not touched."""
    return (_town_told(f, er, start, start + days * DAY)
            + _lead_failed(f, er, start, start + (days + er.coverage.grace_days) * DAY, began))


def _next_inspection(f: Any, after: int) -> int | None:
    """When the first inspection on file after `after` was, which ended a cycle from `after`; None if
    none came since. A file stored before 2026-12-05 keeps no times but its last inspection's."""
    later = [t for t in f.inspected if t > after]
    if later:
        return later[0]
    last = f.last_inspection[0] if f.last_inspection else None
    return last if last is not None and last > after else None


def _take_back(f: Any, er: EnterpriseRules, hit: list[list[Any]], eid: str, at: int, why: str,
               referral_why: str, risk_class: str | None = None) -> list[Out]:
    """Withdraw the missed cycles `hit`: each department told `why`, each referral sent withdrawn
    saying `referral_why` (rebuilt as sent under `risk_class`, if the class changed since), a
    held one dropped, and the referrals that counted them recounted."""
    outs: list[Out] = []
    for missed in hit:
        f.missed.remove(missed)
        base, due, dept, _, referral = missed
        f.duty_fails[dept] -= 1
        outs.append(_escalation(
            f, er, "failure_withdrawn", "orange", at, [department_unit(dept, er.rules.reference)],
            f"The duty failure of {dept} on key enterprise {f.name or f.id} at {iso(due)} is withdrawn: "
            f"{why}", base, eid))
        if referral == SENT:
            outs += _withdraw(f, er, missed, eid, at, referral_why, risk_class)
    for dept in {m[2] for m in hit}:
        outs += _recount(f, er, dept, eid, at, risk_class)
    return outs


def _recount(f: Any, er: EnterpriseRules, dept: str, eid: str, at: int,
             risk_class: str | None = None) -> list[Out]:
    """Drop or withdraw the referrals of `dept`'s missed cycles that no longer reach the threshold.

    A missed cycle is referred when it is the department's threshold-th failure or later; its
    place counts every failure still standing, including those too old to be kept in `missed`.
    """
    mine = sorted((m for m in f.missed if m[2] == dept), key=lambda m: m[1])
    outs: list[Out] = []
    for later, missed in enumerate(reversed(mine)):
        place = f.duty_fails[dept] - later
        if place >= er.rules.duty_failures.threshold or missed[4] not in (HELD, SENT):
            continue
        if missed[4] == SENT:
            outs += _withdraw(f, er, missed, eid, at, f"inspection {eid} withdrew an earlier failure "
                                                      f"of {dept}: this cycle's is its failure {place}, "
                                                      f"under the threshold of "
                                                      f"{er.rules.duty_failures.threshold}",
                              risk_class)
        missed[4] = None
    return outs


def _withdraw(f: Any, er: EnterpriseRules, missed: list[Any], eid: str, at: int, reason: str,
              risk_class: str | None = None) -> list[Out]:
    """Withdraw the referral sent for `missed` (`safety.referral.withdrawn`), and tell its recipients."""
    base, due = missed[0], missed[1]
    sent = _refer(f, er, missed, due, risk_class)
    if not sent:
        return []  # nobody public answers for it under today's rules: nothing to withdraw from
    referral_out, esc = sent
    told = {**esc.event["data"], "action": "referral_withdrawn", "tier": "orange",
            "escalation_id": _escalation_id(f, "referral_withdrawn", base), "caused_by": [eid],
            "reason": f"Referral to discipline inspection withdrawn: {reason}"}
    zh = Words("zh", er.rules.reference)
    zh.said(told)
    raised = envelope("safety.escalation.raised", told["escalation_id"], f.id, at, told)
    return [withdrawal(referral_out, reason, at, zh.reason(reason)), Out(ESCALATIONS, f.id, raised)]


def _refer(f: Any, er: EnterpriseRules, missed: list[Any], at: int,
           risk_class: str | None = None) -> list[Out]:
    """Refer the department's duty failure to discipline inspection, as a hazard's is referred;
    the cycle's days those of `risk_class` (the class it was sent under), else the file's."""
    base, due, dept, start, _ = missed
    rules, ground = er.rules, er.rules.duty_failures
    place = _place(f)
    units = answerable(resolve_all(ground.respondents, place, rules, failing=dept), rules.reference)
    if not units:
        return []  # nobody public to answer for it: nothing to refer
    what = _what(f, er, base, risk_class)
    run = "".join(f":{part}" for part in _run(f, base))
    tag = f"{ground.rule_id}:{dept}:coverage:{f.id}:{base}{run}"
    count = f.duty_fails[dept]
    reason = (f"{dept} failed its duty (不履行安全监管职责) on key enterprise {f.name or f.id} "
              f"{count} time(s): {what}")
    town_due = base + getattr(er.coverage.days, risk_class or f.risk_class) * DAY
    zh = Words("zh", rules.reference)
    timeline = [
        zh.timeline_item(base, start, "coverage cycle started (last inspection, or classification as a "
                         "key enterprise)"),
        zh.timeline_item(town_due, _escalation_id(f, "coverage_missed", base),
                         "cycle ran out: the town safety office was told"),
        zh.timeline_item(due, _escalation_id(f, "duty_failure", base),
                         f"still not inspected: duty failure of {dept}")]
    rid = output_id("referral", tag)
    data = {"referral_id": rid, "subject_kind": "department", "subject_id": dept,
            "respondents": [{k: u[k] for k in ("kind", "id", "name")} for u in units],
            "grounds": ground.code, "reason": reason, "timeline": timeline,
            "rules_version": rules.version}
    zh.said(data)
    # Told as a hazard's referral is: discipline inspection and the bodies (its officials are named in it).
    targets = resolve(rules.referral_target, place, rules) + [u for u in units if u["kind"] != "official"]
    eid = _escalation_id(f, "discipline_referral", base)
    esc = {"escalation_id": eid, "subject_kind": "enterprise", "subject_id": f.id,
           "action": "discipline_referral", "tier": "red", "targets": targets,
           "reason": f"Referred to discipline inspection (抄报移送纪委监委): {reason}",
           "rules_version": rules.version, "rule_id": ground.rule_id, "due_at": None, "town": f.town,
           "sector": f.sector, "grade": None, "caused_by": [_escalation_id(f, "duty_failure", base)]}
    zh.said(esc)
    return [Out(REFERRALS_DISCIPLINE, dept, envelope("safety.referral.discipline", rid, dept, at, data)),
            Out(ESCALATIONS, f.id, envelope("safety.escalation.raised", eid, f.id, at, esc))]
