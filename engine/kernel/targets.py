"""Targets: a rule names whom to tell ("town", "district", "department:<id>"), a core finds the units.

Each core resolves its own target names (an alert's duty officer) and hands
the names every core reads alike to `shared_unit`. A subject located by town,
sector and enterprise (a hazard, an enterprise's file) resolves through
`resolve`, which adds the lead and sector departments, the town government and
the supervising body. A unit is {kind, id, name}; `unique` keeps each unit once, in
the order first named.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from engine.reference.compiled import Reference, Town

if TYPE_CHECKING:
    from engine.ruleset.compiled import Rules

Unit = dict[str, Any]

# Who discipline inspection may be asked about (contract section 4, v2): a hazard's referral and an
# enterprise's coverage referral keep only units of these kinds.
RESPONDENT_KINDS = frozenset({"department", "town_government", "official"})


class Located(Protocol):
    """What `resolve` reads of a subject: where it is, its sector, its enterprise, a lead override."""

    @property
    def town(self) -> str | None: ...
    @property
    def sector(self) -> str | None: ...
    @property
    def enterprise(self) -> Sequence[Any] | None: ...  # (USCC, name)
    @property
    def lead(self) -> str | None: ...  # the verification's lead department, if it named one


def department_unit(dept_id: str, reference: Reference) -> Unit:
    """A department as a target or respondent: kind, id and its Chinese name."""
    dept = reference.department(dept_id)
    return {"kind": "department", "id": dept_id, "name": dept.name if dept else None}


def shared_unit(target: str, town: Town | None, reference: Reference) -> list[Unit] | None:
    """The units of a target every core resolves alike, for a subject in `town`; None when the
    name is not one of them (the core resolves it itself)."""
    if target == "town":
        return [{"kind": "town", "id": town.id, "name": town.name}] if town else []
    if target == "town_safety_office":
        return [{"kind": "unit", "id": town.safety_office, "name": f"{town.name}安监站"}] if town else []
    if target == "district":
        return [{"kind": "district", "id": reference.district.id, "name": reference.district.name}]
    if target.startswith("department:"):
        return [department_unit(target.split(":", 1)[1], reference)]
    return None


def addressee(rules: Rules) -> str:
    """The name of the body referrals to discipline inspection go to (`referral.target`, a body of
    the district's, e.g. 区纪委监委), for a referral's words."""
    units = shared_unit(rules.referral_target, None, rules.reference) or []
    return str(units[0]["name"] or units[0]["id"]) if units else rules.referral_target


def unique(units: Iterable[Unit]) -> list[Unit]:
    """Each unit once (by kind and id), in the order first named."""
    seen, out = set(), []
    for unit in units:
        if (unit["kind"], unit["id"]) not in seen:
            seen.add((unit["kind"], unit["id"]))
            out.append(unit)
    return out


def answerable(units: Iterable[Unit], reference: Reference) -> list[Unit]:
    """A referral's respondents: each public body, then the officials the reference names as
    answering for it (contract section 4, v2: 纪委监委 hold officials to account); each once."""
    def with_officials(unit: Unit) -> list[Unit]:
        if unit["kind"] == "department":
            body = reference.department(unit["id"])
            officials = body.officials if body else ()
        elif unit["kind"] == "town_government":
            town = reference.towns.get(unit["id"])
            officials = town.officials if town else ()
        else:
            officials = ()
        return [unit] + [{"kind": "official", "id": o.id, "name": f"{unit['name'] or ''}{o.post} {o.name}"}
                         for o in officials]
    return unique(u for unit in units if unit["kind"] in RESPONDENT_KINDS for u in with_officials(unit))


def resolve(target: str, h: Located, rules: Rules, failing: str | None = None) -> list[Unit]:
    """A rule's target name as units, through the jurisdiction tree and the sector map.

    The hazard core resolves its targets here, and so does the enterprise core
    (an enterprise's file is located by the same town and sector); `failing` is
    the department a referral is about.
    """
    ref = rules.reference
    town = ref.towns.get(h.town) if h.town else None
    shared = shared_unit(target, town, ref)
    if shared is not None:
        return shared
    if target == "enterprise":
        return [{"kind": "enterprise", "id": h.enterprise[0], "name": h.enterprise[1]}] \
            if h.enterprise else []
    if target == "town_government":
        # The plans address 镇政府 and 街道办事处 (the preamble: "各镇政府、街道办事处").
        body = "办事处" if town and town.kind == "street" else "人民政府"
        return [{"kind": "town_government", "id": town.id, "name": f"{town.name}{body}"}] if town else []
    if target == "lead_department":
        dept = lead_department(h, rules)
        return [department_unit(dept, ref)] if dept else []
    if target == "sector_departments":
        return [department_unit(d.id, ref) for d in ref.sector_departments(h.sector)] if h.sector else []
    if target == "supervising_body":
        return resolve(rules.supervision.supervising_body, h, rules)
    if target == "failing_department":
        return [department_unit(failing, ref)] if failing else []
    raise ValueError(f"unknown target {target!r}")  # load_rules rejects these


def resolve_all(targets: tuple[str, ...], h: Located, rules: Rules,
                failing: str | None = None) -> list[Unit]:
    """Resolve several targets, each unit once, in order."""
    return unique([unit for target in targets for unit in resolve(target, h, rules, failing)])


def lead_department(h: Located, rules: Rules) -> str | None:
    """The verification's override, else the sector's lead department (管行业必须管安全)."""
    if h.lead:
        return h.lead
    return rules.reference.sector_lead(h.sector).id if h.sector else None
