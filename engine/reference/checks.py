"""Cross-reference checks that a single file model cannot express on its own.

Each check raises RulesFileError naming the file, the dotted key and the fix; the
loader runs them after every file has validated, so the ids they compare exist.
"""

from __future__ import annotations

from collections.abc import Container

from engine.reference.errors import RulesFileError
from engine.reference.models import SECTORS, DepartmentsFile, JurisdictionFile, SectorsFile


def check_jurisdiction(jur: JurisdictionFile, shown: str, departments: Container[str]) -> None:
    """Ids are unique across the whole tree, and each town has its own safety office unit."""
    # One namespace for district, towns, communities and grids: an event's location
    # may carry any of them, and a shared id would make it ambiguous.
    used: dict[str, str] = {jur.district.id: "district.id"}

    def claim(id_: str, key: str) -> None:
        if id_ in used:
            raise RulesFileError(
                shown, key,
                f'duplicate id "{id_}" (already used at {used[id_]}; '
                "ids must be unique across towns, communities and grids)",
            )
        used[id_] = key

    offices: dict[str, str] = {}
    for town_id, town in jur.towns.items():
        town_key = f"towns.{town_id}"
        claim(town_id, town_key)
        for community_id, community in town.communities.items():
            community_key = f"{town_key}.communities.{community_id}"
            claim(community_id, community_key)
            for grid_id in community.grids:
                claim(grid_id, f"{community_key}.grids.{grid_id}")

        office_key = f"{town_key}.safety_office"
        # Escalations are addressed to unit ids, so an office must not alias a
        # department or another town's office.
        if town.safety_office in departments:
            raise RulesFileError(
                shown, office_key,
                f'"{town.safety_office}" is a department id in departments.yaml '
                "(give the town safety office, 安监站, its own unit id)",
            )
        if town.safety_office in offices:
            raise RulesFileError(
                shown, office_key,
                f'"{town.safety_office}" is already the safety office of town '
                f"{offices[town.safety_office]} (each town needs its own unit id)",
            )
        offices[town.safety_office] = town_id


def check_officials(deps: DepartmentsFile, deps_shown: str, jur: JurisdictionFile, jur_shown: str) -> None:
    """An official's id names one person: listed under several bodies (a deputy head answering
    for two departments), it has the same name everywhere."""
    seen: dict[str, tuple[str, str]] = {}
    bodies = [(deps_shown, f"departments.{d}", e.officials) for d, e in deps.departments.items()] + \
        [(jur_shown, f"towns.{t}", e.officials) for t, e in jur.towns.items()]
    for shown, body, officials in bodies:
        for i, official in enumerate(officials):
            key = f"{body}.officials[{i}].id"
            first = seen.setdefault(official.id, (official.name, f"{shown}: {key}"))
            if first[0] != official.name:
                raise RulesFileError(
                    shown, key,
                    f'official id "{official.id}" is already {first[0]} at {first[1]} '
                    "(one id, one person: give this official an id of their own)",
                )


def check_sectors(sectors: SectorsFile, shown: str, departments: Container[str]) -> None:
    """Exactly the fixed sectors appear, each with a lead, and every department exists."""
    for name in sectors.sectors:
        if name not in SECTORS:
            raise RulesFileError(
                shown, f"sectors.{name}",
                f"unknown sector (allowed: {', '.join(SECTORS)})",
            )
    missing = [name for name in SECTORS if name not in sectors.sectors]
    if missing:
        listed = ", ".join(f'"{name}"' for name in missing)
        raise RulesFileError(
            shown, "sectors",
            f"missing sector {listed} (every sector of the fixed list needs an entry "
            f"with a lead department: {', '.join(SECTORS)})",
        )

    for name, entry in sectors.sectors.items():
        key = f"sectors.{name}"
        if entry.lead is None:
            raise RulesFileError(
                shown, key, 'no lead department (every sector needs one: "管行业必须管安全")'
            )
        _check_department(entry.lead, f"{key}.lead", shown, departments)
        seen = [entry.lead]
        for field_name in ("co_lead", "joint"):
            for index, dept in enumerate(getattr(entry, field_name)):
                dept_key = f"{key}.{field_name}[{index}]"
                _check_department(dept, dept_key, shown, departments)
                if dept == entry.lead:
                    raise RulesFileError(
                        shown, dept_key,
                        f'"{dept}" is already the lead department (list it only as lead)',
                    )
                if dept in seen:
                    raise RulesFileError(shown, dept_key, f'"{dept}" is listed twice (list it once)')
                seen.append(dept)


def _check_department(dept: str, key: str, shown: str, departments: Container[str]) -> None:
    """Reject a department id that departments.yaml does not define."""
    if dept not in departments:
        raise RulesFileError(
            shown, key, f'unknown department "{dept}" (define it in departments.yaml)'
        )
