"""Targets: a rule names whom to tell ("town", "district", "department:<id>"), a core finds the units.

Each core resolves its own target names (a hazard's lead department, an
alert's duty officer) and hands the names every core reads alike to
`shared_unit`. A unit is {kind, id, name}; `unique` keeps each unit once, in
the order first named.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.reference.compiled import Reference, Town

Unit = dict[str, Any]

# Who discipline inspection may be asked about (contract section 4, v2): a hazard's referral and an
# enterprise's coverage referral keep only units of these kinds.
RESPONDENT_KINDS = frozenset({"department", "town_government", "official"})


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


def unique(units: Iterable[Unit]) -> list[Unit]:
    """Each unit once (by kind and id), in the order first named."""
    seen, out = set(), []
    for unit in units:
        if (unit["kind"], unit["id"]) not in seen:
            seen.add((unit["kind"], unit["id"]))
            out.append(unit)
    return out
