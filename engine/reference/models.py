"""Strict pydantic models of the reference files in rules/reference/, exactly as written on disk.

These are the *file* form: unknown keys and wrong types are errors, so a typo in
rules/ stops the engine at start-up instead of silently dropping a fact. The
engine never uses them directly; load.py compiles them into compiled.py's form.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

# The engine's closed sector vocabulary; sectors.yaml must cover exactly these.
SECTORS: tuple[str, ...] = (
    "hazardous_chemicals",
    "construction",
    "special_equipment",
    "fire_safety",
    "road_transport",
    "industry_trade",
    "gas",
    "agriculture",
    "crowded_places",
    "fireworks",
    "hazardous_waste",
    "other",
)

# Ids end up in Kafka keys, metric labels and log lines, so no spaces or punctuation.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
VERSION_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z.+-]*$"

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Version = Annotated[str, StringConstraints(pattern=VERSION_PATTERN, max_length=50)]


class _FileModel(BaseModel):
    """Base of the file models: unknown keys are errors and parsed values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DistrictEntry(_FileModel):
    """The district itself (区)."""

    id: Id
    name: Text


class GridEntry(_FileModel):
    """A grid (网格), the smallest cell a grid worker (网格员) covers."""

    chief_role: Id | None = None


class CommunityEntry(_FileModel):
    """A community or village (社区/村) and its grids."""

    name: Text
    grids: Annotated[dict[Id, GridEntry], Field(min_length=1)]


class OfficialEntry(_FileModel):
    """An official who answers for a body's safety supervision (e.g. 分管安全生产的负责人)."""

    id: Id
    name: Text
    post: Text  # the post, as the body names it: 分管安全生产副局长


class TownEntry(_FileModel):
    """A town (镇) or street (街道) with its safety office (安监站) and communities."""

    name: Text
    kind: Literal["street", "town"]
    safety_office: Id
    communities: Annotated[dict[Id, CommunityEntry], Field(min_length=1)]
    # Named in its government's referrals to discipline inspection after the town government.
    officials: tuple[OfficialEntry, ...] = ()


class JurisdictionFile(_FileModel):
    """rules/reference/jurisdiction.yaml: the district's town / community / grid tree."""

    version: Version
    sample: StrictBool = False
    district: DistrictEntry
    towns: Annotated[dict[Id, TownEntry], Field(min_length=1)]


class DepartmentEntry(_FileModel):
    """A district department (区直部门)."""

    name: Text
    name_en: Text
    level: Literal["district", "city_branch", "vertical"]
    # Named in its referrals to discipline inspection after the department (contract section 4, v2).
    officials: tuple[OfficialEntry, ...] = ()


class DepartmentsFile(_FileModel):
    """rules/reference/departments.yaml: the departments sectors and referrals point at."""

    version: Version
    departments: Annotated[dict[Id, DepartmentEntry], Field(min_length=1)]


class SectorEntry(_FileModel):
    """One sector's lead department, co-leads and joint departments."""

    name: Text | None = None  # as the district says it (危险化学品); the board shows the id without it
    # Optional here only so that a missing lead gets the loader's own message
    # ("管行业必须管安全") rather than pydantic's generic "field required".
    lead: Id | None = None
    # The plans often name several departments as 牵头 for one campaign; the engine
    # routes duties to `lead` (named first) and keeps the others as co-leads.
    co_lead: tuple[Id, ...] = ()
    joint: tuple[Id, ...] = ()
    source: Text


class SectorsFile(_FileModel):
    """rules/reference/sectors.yaml: sector -> lead and joint departments."""

    version: Version
    # Keys are checked against SECTORS by the loader, which can name the missing ones.
    sectors: dict[Id, SectorEntry]


# File name -> model; the loader requires exactly these, allows calendar.yaml (notices.py)
# besides, and rejects any other YAML file.
FILE_MODELS: dict[str, type[_FileModel]] = {
    "jurisdiction.yaml": JurisdictionFile,
    "departments.yaml": DepartmentsFile,
    "sectors.yaml": SectorsFile,
}
