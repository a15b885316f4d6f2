"""Building alert escalations: resolving the rules' target names, and the contract's event shape.

Ids come from the alert and the decision (rule, step or level, due time), as
for hazards (engine/decide/emit.py), so a replay produces the same ids.
"""

from __future__ import annotations

from typing import Any

from engine.alerts.rules import AlertRules, ReportLevel
from engine.alerts.state import Alert
from engine.kernel.escalation import escalation as kernel_escalation
from engine.kernel.escalation import escalation_id
from engine.kernel.outputs import EXERCISE, Out
from engine.kernel.targets import shared_unit, unique
from engine.zh.words import Words


def _post(a: Alert, rules: AlertRules, post: str) -> dict[str, Any]:
    town = rules.reference.towns.get(a.town() or "")
    return {"kind": "post", "id": f"{a.town()}:{post}",
            "name": f"{town.name if town else a.town()}灾害信息员{post}岗"}


def resolve(target: str, a: Alert, rules: AlertRules,
            level: ReportLevel | None = None) -> list[dict[str, Any]]:
    """Turn a rule's target name into concrete units, through the jurisdiction tree and the kind."""
    ref = rules.reference
    town = ref.towns.get(a.town() or "")
    shared = shared_unit(target, town, ref)
    if shared is not None:
        return shared
    if target in ("post_a", "post_b"):
        return [_post(a, rules, target[-1].upper())]
    if target == "duty_officer":  # the town's duty officer (镇街应急值守)
        return [{"kind": "official", "id": f"{town.id}:duty_officer", "name": f"{town.name}应急值班员"}] \
            if town else []
    if target == "duty_office":  # the district's emergency duty office (区应急值班室)
        return [{"kind": "unit", "id": f"{ref.district.id}:duty_office",
                 "name": f"{ref.district.name}应急值班室"}]
    if target == "grid_chief":
        grid = ref.grid((a.location or {}).get("grid") or "")
        if grid is None or grid.chief_role is None:  # no known grid: its town's safety office
            return resolve("town_safety_office", a, rules)
        return [{"kind": "official", "id": f"{grid.id}:{grid.chief_role}", "name": f"{grid.id}网格长"}]
    if target == "responders":
        return resolve_all(rules.kinds[a.kind].responders, a, rules) if a.kind else []
    if target == "authority" and level is not None:
        return [{"kind": "unit", "id": u, "name": level.name} for u in level.authorities]
    if target == "authority_below" and level is not None:
        i = rules.report_levels.index(level)
        return resolve("authority", a, rules, rules.report_levels[i - 1]) if i else resolve("town", a, rules)
    raise ValueError(f"unknown alert target {target!r}")  # load_alert_rules rejects these


def resolve_all(targets: tuple[str, ...], a: Alert, rules: AlertRules,
                level: ReportLevel | None = None) -> list[dict[str, Any]]:
    """Resolve several targets, each unit once, in order."""
    return unique(unit for target in targets for unit in resolve(target, a, rules, level))


def escalation(a: Alert, rules: AlertRules, *, rule_id: str, action: str, at: int,
               targets: list[dict[str, Any]], reason: str, key: object, caused_by: list[str],
               due_at: int | None = None) -> Out:
    """A `safety.escalation.raised` event about an alert (tier None, response_level set)."""
    reason = (EXERCISE if a.exercise else "") + reason
    return kernel_escalation(
        escalation_id(a.id, rule_id, action, key), subject_kind="alert", subject_id=a.id, action=action,
        tier=None, response_level=a.level, targets=targets, reason=reason,
        rule_id=rule_id, rules_version=rules.version, at=at, due_at=due_at, town=a.town(), sector=None,
        grade=a.grade, caused_by=caused_by, reason_zh=Words("zh", rules.reference).reason(reason))


def place(a: Alert, rules: AlertRules) -> str:
    """Where the alert is, in words: district, town, community, grid and address."""
    ref = rules.reference
    loc = a.location or {}
    town = ref.towns.get(loc.get("town", ""))
    grid = ref.grid(loc.get("grid") or "")
    community = ref.community(loc.get("town", ""), loc.get("community") or (grid.community if grid else ""))
    parts = [ref.district.name + (town.name if town else loc.get("town", ""))]
    if community is not None:
        parts.append(community.name)
    if loc.get("grid"):
        parts.append(f"{loc['grid']}网格")
    if loc.get("address"):
        parts.append(loc["address"])
    return " ".join(parts)
