"""The compiled, immutable reference data the engine consults on every event.

Everything is a frozen dataclass over read-only mappings, built once at start-up
by load_reference(); lookups are plain dict hits so checking an event's town,
grid or sector costs O(1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from engine.reference.notices import NO_NOTICES, HolidayNotices


@dataclass(frozen=True, slots=True)
class Official:
    """An official who answers for a department's or a town government's safety supervision."""

    id: str
    name: str
    post: str


@dataclass(frozen=True, slots=True)
class Department:
    """A district department (区直部门) that can lead or join a sector's supervision."""

    id: str
    name: str
    name_en: str
    # district: its officials are the district's cadres; city_branch: a branch of a city bureau
    # stationed in the district (市…局度假区分局), its officials the city's; vertical: a body managed
    # vertically from above the district (垂直管理). Only the first answer to the district's 纪委监委,
    # which holds officials to account by who manages them (管理权限): `district_managed`.
    level: Literal["district", "city_branch", "vertical"]
    officials: tuple[Official, ...] = ()

    @property
    def district_managed(self) -> bool:
        """Whether the district manages the department's officials (管理权限), so its discipline
        commission is theirs."""
        return self.level == "district"


@dataclass(frozen=True, slots=True)
class Grid:
    """A grid (网格), covered by a grid worker (网格员); ids are unique district-wide."""

    id: str
    town: str
    community: str
    chief_role: str | None


@dataclass(frozen=True, slots=True)
class Community:
    """A community or village (社区/村) and its grids."""

    id: str
    name: str
    town: str
    # Left out of equality and hashing: the id already identifies the community.
    grids: Mapping[str, Grid] = field(compare=False)


@dataclass(frozen=True, slots=True)
class Town:
    """A town (镇) or street (街道) with its safety office (安监站) and communities."""

    id: str
    name: str
    kind: Literal["street", "town"]
    safety_office: str
    communities: Mapping[str, Community] = field(compare=False)
    officials: tuple[Official, ...] = ()


@dataclass(frozen=True, slots=True)
class District:
    """The district (区) the engine serves."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class SectorAssignment:
    """Who supervises a sector: one lead department (管行业必须管安全), co-leads and joint departments."""

    sector: str
    lead: Department
    joint: tuple[Department, ...]
    source: str
    co_lead: tuple[Department, ...] = ()
    name: str | None = None  # the district's name of the sector (危险化学品), for people to read
    # Lead, co-leads, then joint in file order; precomputed because routing asks for it per event.
    departments: tuple[Department, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "departments", (self.lead, *self.co_lead, *self.joint))


@dataclass(frozen=True, slots=True, eq=False)
class Reference:
    """All reference data of one rules/ directory, validated and cross-checked."""

    version: str  # one version if every file agrees, else "file=version;..." sorted
    versions: Mapping[str, str]  # file name -> its `version`
    sample: bool  # jurisdiction.yaml is marked as sample data a district must replace
    district: District
    towns: Mapping[str, Town]
    departments: Mapping[str, Department]
    sectors: Mapping[str, SectorAssignment]
    grids: Mapping[str, Grid]  # every grid by id, across all towns
    # The holiday notices of calendar.yaml; they travel with the reference data so that
    # every set of rules built on it counts working days the same way.
    notices: HolidayNotices = NO_NOTICES

    def has_town(self, town_id: str) -> bool:
        """Whether `town_id` is a town of the jurisdiction tree."""
        return town_id in self.towns

    def has_department(self, department_id: str) -> bool:
        """Whether `department_id` is defined in departments.yaml."""
        return department_id in self.departments

    def department(self, department_id: str) -> Department | None:
        """The department with this id, or None."""
        return self.departments.get(department_id)

    def community(self, town_id: str, community_id: str) -> Community | None:
        """The community `community_id` of town `town_id`, or None if either is unknown."""
        town = self.towns.get(town_id)
        return town.communities.get(community_id) if town is not None else None

    def grid(self, grid_id: str) -> Grid | None:
        """The grid with this id, or None."""
        return self.grids.get(grid_id)

    def town_of_grid(self, grid_id: str) -> str | None:
        """The id of the town containing grid `grid_id`, or None if the grid is unknown."""
        grid = self.grids.get(grid_id)
        return grid.town if grid is not None else None

    def sector_lead(self, sector: str) -> Department:
        """The lead department of `sector`; KeyError if the sector is not in the fixed list."""
        return self._sector(sector).lead

    def sector_departments(self, sector: str) -> tuple[Department, ...]:
        """Every department supervising `sector`, lead first; KeyError for an unknown sector."""
        return self._sector(sector).departments

    def _sector(self, sector: str) -> SectorAssignment:
        try:
            return self.sectors[sector]
        except KeyError:
            raise KeyError(f"unknown sector {sector!r} (known: {', '.join(self.sectors)})") \
                from None

    def __repr__(self) -> str:
        return (
            f"Reference(version={self.version!r}, district={self.district.id!r}, "
            f"towns={len(self.towns)}, grids={len(self.grids)}, "
            f"departments={len(self.departments)}, sectors={len(self.sectors)})"
        )
