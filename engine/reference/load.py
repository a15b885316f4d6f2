"""load_reference(): read rules/reference/*.yaml, validate, cross-check and compile them."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from engine.reference.checks import check_jurisdiction, check_officials, check_sectors
from engine.reference.compiled import (
    Community,
    Department,
    District,
    Grid,
    Official,
    Reference,
    SectorAssignment,
    Town,
)
from engine.reference.errors import RulesFileError
from engine.reference.models import (
    FILE_MODELS,
    SECTORS,
    DepartmentsFile,
    JurisdictionFile,
    OfficialEntry,
    SectorsFile,
)
from engine.reference.notices import NO_NOTICES, CalendarFile, HolidayNotices, compile_notices
from engine.reference.parse import M, read_yaml, validate

REFERENCE_FILES: tuple[str, ...] = tuple(FILE_MODELS)
# Optional: without it the calendar relies on the chinese-calendar package alone.
CALENDAR_FILE = "calendar.yaml"
ROSTER_FILE = "inspectors.yaml"  # optional: the inspectors' roster the random draw reads (engine/plan/)


def load_reference(rules_dir: Path) -> Reference:
    """Load the reference data under `rules_dir`/reference/, or raise a RulesError saying why."""
    rules_dir = Path(rules_dir)
    # Messages show `rules/reference/x.yaml` whatever the working directory, which is
    # the path an operator recognises from the repository and the container image.
    label = rules_dir.name or rules_dir.resolve().name
    ref_dir = rules_dir / "reference"
    expected = ", ".join(REFERENCE_FILES)
    allowed = f"{expected} and optionally {CALENDAR_FILE} and {ROSTER_FILE}"
    if not ref_dir.is_dir():
        raise RulesFileError(
            f"{label}/reference", None, f"directory not found (it must hold {expected})"
        )

    def shown(name: str) -> str:
        return f"{label}/reference/{name}"

    # A misspelt file name would otherwise drop its facts without a word.
    for path in sorted(ref_dir.iterdir()):
        if path.suffix in (".yaml", ".yml") and not path.name.startswith(".") \
                and path.name not in FILE_MODELS and path.name not in (CALENDAR_FILE, ROSTER_FILE):
            raise RulesFileError(
                shown(path.name), None, f"unknown reference file (expected only {allowed})"
            )
    for name in REFERENCE_FILES:
        if not (ref_dir / name).is_file():
            raise RulesFileError(
                shown(name), None, f"file not found ({label}/reference/ must hold {expected})"
            )

    def read(model: type[M], name: str) -> M:
        return validate(model, read_yaml(ref_dir / name, shown(name)), shown(name))

    jur = read(JurisdictionFile, "jurisdiction.yaml")
    deps = read(DepartmentsFile, "departments.yaml")
    secs = read(SectorsFile, "sectors.yaml")

    check_jurisdiction(jur, shown("jurisdiction.yaml"), deps.departments)
    check_sectors(secs, shown("sectors.yaml"), deps.departments)
    check_officials(deps, shown("departments.yaml"), jur, shown("jurisdiction.yaml"))
    notices = NO_NOTICES
    if (ref_dir / CALENDAR_FILE).is_file():
        notices = compile_notices(read(CalendarFile, CALENDAR_FILE), shown(CALENDAR_FILE))
    return _compile(jur, deps, secs, notices)


def _officials(entries: tuple[OfficialEntry, ...]) -> tuple[Official, ...]:
    return tuple(Official(o.id, o.name, o.post) for o in entries)


def _compile(jur: JurisdictionFile, deps: DepartmentsFile, secs: SectorsFile,
             notices: HolidayNotices) -> Reference:
    """Build the frozen runtime form from file models that have passed every check."""
    departments = {
        dept_id: Department(dept_id, entry.name, entry.name_en, entry.level, _officials(entry.officials))
        for dept_id, entry in deps.departments.items()
    }
    grids: dict[str, Grid] = {}
    towns: dict[str, Town] = {}
    for town_id, town in jur.towns.items():
        communities: dict[str, Community] = {}
        for community_id, community in town.communities.items():
            own = {
                grid_id: Grid(grid_id, town_id, community_id, grid.chief_role)
                for grid_id, grid in community.grids.items()
            }
            grids.update(own)
            communities[community_id] = Community(
                community_id, community.name, town_id, MappingProxyType(own)
            )
        towns[town_id] = Town(
            town_id, town.name, town.kind, town.safety_office, MappingProxyType(communities),
            _officials(town.officials),
        )

    sectors = {}
    for name in SECTORS:  # fixed order, not file order, so iteration is stable
        entry = secs.sectors[name]
        assert entry.lead is not None  # check_sectors guarantees it
        sectors[name] = SectorAssignment(
            name,
            departments[entry.lead],
            tuple(departments[dept] for dept in entry.joint),
            entry.source,
            tuple(departments[dept] for dept in entry.co_lead),
            entry.name,
        )

    versions = {"jurisdiction": jur.version, "departments": deps.version, "sectors": secs.version}
    if notices.version is not None:
        # A changed calendar changes deadlines, so it must change the rules version too.
        versions["calendar"] = notices.version
    distinct = set(versions.values())
    version = (
        distinct.pop()
        if len(distinct) == 1
        else ";".join(f"{name}={value}" for name, value in sorted(versions.items()))
    )
    return Reference(
        version=version,
        versions=MappingProxyType(versions),
        sample=jur.sample,
        district=District(jur.district.id, jur.district.name),
        towns=MappingProxyType(towns),
        departments=MappingProxyType(departments),
        sectors=MappingProxyType(sectors),
        grids=MappingProxyType(grids),
        notices=notices,
    )
