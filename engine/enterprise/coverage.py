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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.contract.outputs import ESCALATIONS, REFERRALS_DISCIPLINE
from engine.kernel.escalation import escalation
from engine.kernel.ids import output_id
from engine.kernel.outputs import Out, envelope
from engine.kernel.targets import RESPONDENT_KINDS, department_unit, resolve, resolve_all
from engine.kernel.time import iso

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
    """The coverage clock running now, if any."""
    cov = er.coverage
    base = cycle_base(f)
    if cov is None or not f.key or f.status() != "registered" or not f.risk_class or base is None:
        return {}
    if f.cov_base != base:  # a new cycle: what the last one escalated is behind it
        f.cov_base, f.cov_step = base, 0
    due = base + getattr(cov.days, f.risk_class) * DAY
    if f.cov_step == 0:
        return {"coverage": due}
    if f.cov_step == 1:
        return {"coverage_lead": due + cov.grace_days * DAY}
    return {}


def _escalation_id(f: Any, action: str) -> str:
    return output_id("escalation", f.id, "coverage", action, f.cov_base)


def _escalation(f: Any, er: EnterpriseRules, action: str, tier: str, at: int,
                targets: list[dict[str, Any]], reason: str) -> Out:
    return escalation(_escalation_id(f, action), subject_kind="enterprise", subject_id=f.id, action=action,
                      tier=tier, targets=targets, reason=reason, rule_id=f"coverage.{f.risk_class}",
                      rules_version=er.rules.version, at=at, due_at=None, town=f.town, sector=f.sector,
                      grade=None, caused_by=[f"coverage-cycle:{f.cov_base}"])


def fire(f: Any, name: str, due: int, er: EnterpriseRules) -> list[Out]:
    """Escalate a missed cycle: the town safety office first, then the lead department."""
    ref = er.rules.reference
    days = getattr(er.coverage.days, f.risk_class)
    since = iso(f.cov_base)
    f.cov_step += 1
    if name == "coverage":
        targets = resolve("town_safety_office", _place(f), er.rules)
        return [_escalation(f, er, "coverage_missed", "yellow", due, targets,
                            f"key enterprise {f.name or f.id} ({f.risk_class}) not inspected within "
                            f"{days} days of {since}")]
    lead = ref.sector_lead(f.sector).id if f.sector else None
    if lead:
        f.duty_fails[lead] = f.duty_fails.get(lead, 0) + 1
    targets = [department_unit(lead, er.rules.reference)] if lead else []
    what = (f"key enterprise {f.name or f.id} still not inspected {er.coverage.grace_days} days "
            f"after its {days}-day cycle from {since} ran out")
    outs = [_escalation(f, er, "duty_failure", "orange", due, targets,
                        f"{what}: a duty failure of the lead department (不履行安全监管职责)")]
    ground = er.rules.duty_failures
    if lead and f.duty_fails[lead] >= ground.threshold:
        outs += _refer(f, er, lead, due, what)
    return outs


def _refer(f: Any, er: EnterpriseRules, dept: str, at: int, what: str) -> list[Out]:
    """Refer the department's duty failure to discipline inspection, as a hazard's is referred."""
    rules, ground = er.rules, er.rules.duty_failures
    place = _place(f)
    units = [u for u in resolve_all(ground.respondents, place, rules, failing=dept)
             if u["kind"] in RESPONDENT_KINDS]
    if not units:
        return []  # nobody public to answer for it: nothing to refer
    tag = f"{ground.rule_id}:{dept}:coverage:{f.id}:{f.cov_base}"
    count = f.duty_fails[dept]
    reason = (f"{dept} failed its duty (不履行安全监管职责) on key enterprise {f.name or f.id} "
              f"{count} time(s): {what}")
    start = f.last_inspection[1] if f.last_inspection else (f.classified[3] if f.classified else f.id)
    town_due = f.cov_base + getattr(er.coverage.days, f.risk_class) * DAY
    timeline = [
        {"time": iso(f.cov_base), "event_id": start, "what": "coverage cycle started (last inspection, "
         "or classification as a key enterprise)"},
        {"time": iso(town_due), "event_id": _escalation_id(f, "coverage_missed"),
         "what": "cycle ran out: the town safety office was told"},
        {"time": iso(at), "event_id": _escalation_id(f, "duty_failure"),
         "what": f"still not inspected: duty failure of {dept}"}]
    rid = output_id("referral", tag)
    data = {"referral_id": rid, "subject_kind": "department", "subject_id": dept,
            "respondents": [{k: u[k] for k in ("kind", "id", "name")} for u in units],
            "grounds": ground.code, "reason": reason, "timeline": timeline,
            "rules_version": rules.version}
    targets = resolve(rules.referral_target, place, rules) + units
    eid = output_id("escalation", f.id, "coverage", "discipline_referral", f.cov_base)
    esc = {"escalation_id": eid, "subject_kind": "enterprise", "subject_id": f.id,
           "action": "discipline_referral", "tier": "red", "targets": targets,
           "reason": f"Referred to discipline inspection (抄报移送纪委监委): {reason}",
           "rules_version": rules.version, "rule_id": ground.rule_id, "due_at": None, "town": f.town,
           "sector": f.sector, "grade": None, "caused_by": [_escalation_id(f, "duty_failure")]}
    return [Out(REFERRALS_DISCIPLINE, dept, envelope("safety.referral.discipline", rid, dept, at, data)),
            Out(ESCALATIONS, f.id, envelope("safety.escalation.raised", eid, f.id, at, esc))]
