"""Coverage clocks: a key enterprise (重点企业) inspected on its fixed cycle (全覆盖), or escalated.

The cycle runs from the last inspection on file, or from the classification
that made the enterprise a key one when it was never inspected; its length is
`coverage.days` of its risk class (rules/plan.yaml). When it runs out, the town
safety office is told at once; `grace_days` later, the sector's lead
department is told, and the miss counts as that department's duty failure
(不履行安全监管职责). An inspection starts the next cycle and stops both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.contract.outputs import ESCALATIONS
from engine.decide.emit import Out, department_unit, envelope, iso, output_id

DAY = 86_400


@dataclass(frozen=True, slots=True)
class EnterpriseRules:
    """What the enterprise core reads: the hazard rules (reference, version), coverage and credit rules."""

    rules: Any
    coverage: Any | None  # engine.plan.rules.Coverage; None: no coverage clocks
    credit: Any | None = None  # engine.plan.rules.Credit; None: no credit thresholds (rules/plan.yaml)


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


def _escalation(f: Any, er: EnterpriseRules, action: str, tier: str, at: int,
                targets: list[dict[str, Any]], reason: str) -> Out:
    eid = output_id("escalation", f.id, "coverage", action, f.cov_base)
    data = {"escalation_id": eid, "subject_kind": "enterprise", "subject_id": f.id, "action": action,
            "tier": tier, "targets": targets, "reason": reason, "rule_id": f"coverage.{f.risk_class}",
            "rules_version": er.rules.version, "due_at": None, "town": f.town, "sector": f.sector,
            "grade": None, "caused_by": [f"coverage-cycle:{f.cov_base}"]}
    return Out(ESCALATIONS, f.id, envelope("safety.escalation.raised", eid, f.id, at, data))


def fire(f: Any, name: str, due: int, er: EnterpriseRules) -> list[Out]:
    """Escalate a missed cycle: the town safety office first, then the lead department."""
    ref = er.rules.reference
    days = getattr(er.coverage.days, f.risk_class)
    since = iso(f.cov_base)
    f.cov_step += 1
    if name == "coverage":
        town = ref.towns.get(f.town) if f.town else None
        targets = [{"kind": "unit", "id": town.safety_office, "name": f"{town.name}安监站"}] if town else []
        return [_escalation(f, er, "coverage_missed", "yellow", due, targets,
                            f"key enterprise {f.name or f.id} ({f.risk_class}) not inspected within "
                            f"{days} days of {since}")]
    lead = ref.sector_lead(f.sector).id if f.sector else None
    if lead:
        f.duty_fails[lead] = f.duty_fails.get(lead, 0) + 1
    targets = [department_unit(lead, er.rules)] if lead else []
    return [_escalation(f, er, "duty_failure", "orange", due, targets,
                        f"key enterprise {f.name or f.id} still not inspected {er.coverage.grace_days} days "
                        f"after its {days}-day cycle from {since} ran out: a duty failure of the lead "
                        "department (不履行安全监管职责)")]
