"""Tests of the reference data in rules/reference/ and of its strict loader."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.reference import (
    REFERENCE_FILES,
    SECTORS,
    Reference,
    RulesError,
    RulesFileError,
    load_reference,
)

RULES = Path(__file__).resolve().parents[2] / "rules"
FIXTURES = Path(__file__).resolve().parent / "testdata" / "reference"

# The district plans' assignment (安全生产规划 section 三): sector -> (lead, co-leads, joint).
SECTOR_PLAN = {
    "hazardous_chemicals": ("safety_bureau", ("market_supervision", "public_security"), ()),
    "construction": ("housing_construction", ("law_enforcement",), ()),
    "special_equipment": ("market_supervision", (), ("housing_construction", "culture_tourism")),
    "fire_safety": ("fire_rescue", (), (
        "public_security", "social_development", "education_sports", "housing_construction",
        "agriculture_rural", "culture_tourism", "health", "market_supervision")),
    "road_transport": ("public_security", (), ("housing_construction", "law_enforcement",
                                                "safety_bureau")),
    "industry_trade": ("safety_bureau", (), ("economic_development", "market_supervision")),
    "gas": ("housing_construction", ("law_enforcement",), ()),
    "agriculture": ("agriculture_rural", ("natural_resources",), ()),
    "crowded_places": ("safety_bureau", ("law_enforcement",),
                       ("economic_development", "market_supervision")),
    "fireworks": ("safety_bureau", ("market_supervision", "public_security"), ()),
    "hazardous_waste": ("ecology_environment", (), ()),
    "other": ("safety_bureau", (), ()),
}

DEPARTMENT_NAMES = {
    "safety_bureau": "区安监局",
    "market_supervision": "区市场监管局",
    "public_security": "市公安局度假区分局",
    "fire_rescue": "区消防救援大队",
    "economic_development": "区经发局",
    "housing_construction": "区住建局",
    "law_enforcement": "区综合行政执法局",
    "agriculture_rural": "区农业农村局",
    "natural_resources": "市自然资源和规划局度假区分局",
    "ecology_environment": "市生态环境局度假区分局",
    "culture_tourism": "区文化旅游局",
    "social_development": "区社发局",
    "education_sports": "区教育体育中心",
    "health": "区卫计局",
    "discipline_inspection": "区纪委监委",
    # 493号令 art. 10's notified bodies: SAMPLE names, the plans name none.
    "human_resources": "区人力资源和社会保障部门",
    "trade_union": "区总工会",
    "procuratorate": "区人民检察院",
}


@pytest.fixture(scope="module")
def ref() -> Reference:
    """The shipped reference data, loaded once for the module."""
    return load_reference(RULES)


def _copy(tmp_path: Path) -> Path:
    """A private copy of the shipped rules dir, named `rules` so messages read as in production."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES / "reference", rules / "reference")
    return rules


def _patched(tmp_path: Path, file: str, edit: Callable[[dict[str, Any]], None]) -> Path:
    """Copy the shipped rules and apply `edit` to the parsed YAML of one file."""
    rules = _copy(tmp_path)
    path = rules / "reference" / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return rules


def _error(rules: Path) -> RulesFileError:
    """The RulesFileError that loading `rules` raises."""
    with pytest.raises(RulesFileError) as caught:
        load_reference(rules)
    return caught.value


# --- the shipped data -------------------------------------------------------------------


def test_shipped_rules_load(ref: Reference) -> None:
    """The shipped rules/ loads, with one version across files and marked as sample data."""
    assert ref.version == "2026.1"
    assert dict(ref.versions) == {n: "2026.1" for n in ("jurisdiction", "departments", "sectors",
                                                         "calendar")}
    assert ref.sample is True
    assert (ref.district.id, ref.district.name) == ("district", "度假区")


def test_four_sample_towns(ref: Reference) -> None:
    """The four sample towns exist with their Chinese names, kinds and own safety offices."""
    assert {t.id: (t.name, t.kind) for t in ref.towns.values()} == {
        "lihaiwu": ("李海务街道", "street"),
        "huxi": ("湖西街道", "street"),
        "zhulaozhuang": ("朱老庄镇", "town"),
        "yuji": ("于集镇", "town"),
    }
    offices = [t.safety_office for t in ref.towns.values()]
    assert len(set(offices)) == 4
    for town in ref.towns.values():
        assert 2 <= len(town.communities) <= 3
        assert all(2 <= len(c.grids) <= 3 for c in town.communities.values())


def test_departments(ref: Reference) -> None:
    """Every department the sectors and referrals need is defined with its Chinese name."""
    assert {d.id: d.name for d in ref.departments.values()} == DEPARTMENT_NAMES
    assert all(d.name_en for d in ref.departments.values())
    # Whose cadres their officials are (管理权限): a branch of a city bureau's are the city's, the fire
    # and rescue brigade's are managed vertically; the rest are the district's own.
    assert {d.id: d.level for d in ref.departments.values() if d.level != "district"} == {
        "public_security": "city_branch", "natural_resources": "city_branch",
        "ecology_environment": "city_branch", "fire_rescue": "vertical"}
    assert all(d.name.startswith("市") for d in ref.departments.values() if d.level == "city_branch")
    assert ref.departments["discipline_inspection"].district_managed
    assert ref.has_department("discipline_inspection")
    assert not ref.has_department("fire_brigade")


def test_sector_map_matches_plan(ref: Reference) -> None:
    """Each sector's lead, co-lead and joint departments are exactly the district plan's assignment."""
    assert tuple(SECTOR_PLAN) == SECTORS
    actual = {
        name: (a.lead.id, tuple(d.id for d in a.co_lead), tuple(d.id for d in a.joint))
        for name, a in ref.sectors.items()
    }
    assert actual == SECTOR_PLAN
    assert all("管行业必须管安全" in a.source or "综合监管" in a.source
               for a in ref.sectors.values())


def test_sector_lookups(ref: Reference) -> None:
    """sector_lead gives the lead and sector_departments lists it first, then co-leads, then joint ones."""
    assert ref.sector_lead("fire_safety").name == "区消防救援大队"
    assert [d.id for d in ref.sector_departments("fireworks")] == [
        "safety_bureau", "market_supervision", "public_security",
    ]
    assert ref.sector_departments("hazardous_waste") == (ref.departments["ecology_environment"],)
    with pytest.raises(KeyError, match="unknown sector 'mining'"):
        ref.sector_lead("mining")


def test_grid_lookups(ref: Reference) -> None:
    """Grids resolve to their town and community, and unknown ids give None."""
    assert ref.town_of_grid("LHW-03") == "lihaiwu"
    assert ref.town_of_grid("HX-11") == "huxi"
    assert ref.town_of_grid("NOPE-99") is None
    grid = ref.grid("LHW-03")
    assert grid is not None and (grid.community, grid.chief_role) == ("lihaiwu-c2", "grid_chief")
    community = ref.community("lihaiwu", "lihaiwu-c2")
    assert community is not None and "LHW-03" in community.grids
    assert ref.community("huxi", "lihaiwu-c2") is None
    assert ref.community("atlantis", "lihaiwu-c2") is None


def test_has_town(ref: Reference) -> None:
    """has_town knows the jurisdiction's towns and nothing else."""
    assert ref.has_town("lihaiwu")
    assert not ref.has_town("atlantis")
    assert not ref.has_town("LHW-03")


def test_reference_is_immutable(ref: Reference) -> None:
    """Neither the Reference nor its mappings can be changed after loading."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.version = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ref.towns["atlantis"] = ref.towns["huxi"]  # type: ignore[index]
    with pytest.raises(TypeError):
        ref.towns["huxi"].communities["x"] = None  # type: ignore[index]


def test_other_data_loads() -> None:
    """A minimal, unrelated rules dir loads, and differing file versions are all reported."""
    other = load_reference(FIXTURES / "minimal")
    assert other.version == "departments=2025.2;jurisdiction=2025.1;sectors=2025.1"
    assert other.sample is False
    assert list(other.towns) == ["alpha"]
    assert other.town_of_grid("A-01") == "alpha"
    assert other.grid("A-01").chief_role is None  # type: ignore[union-attr]
    assert {a.lead.id for a in other.sectors.values()} == {"safety"}


# --- failures: each names file, key and fix ------------------------------------------------


def test_unknown_key(tmp_path: Path) -> None:
    """A misspelt key is an error listing the allowed keys."""
    def edit(d: dict[str, Any]) -> None:
        d["sectors"]["fire_safety"]["leed"] = d["sectors"]["fire_safety"].pop("lead")

    err = _error(_patched(tmp_path, "sectors.yaml", edit))
    assert str(err) == (
        "rules/reference/sectors.yaml: sectors.fire_safety.leed: "
        "unknown key (allowed: name, lead, co_lead, joint, source)"
    )
    assert (err.file, err.key) == ("rules/reference/sectors.yaml", "sectors.fire_safety.leed")
    assert isinstance(err, RulesError)


def test_dangling_department(tmp_path: Path) -> None:
    """A sector naming an undefined department is an error pointing at departments.yaml."""
    def edit(d: dict[str, Any]) -> None:
        d["sectors"]["fire_safety"]["lead"] = "fire_brigade"

    assert str(_error(_patched(tmp_path, "sectors.yaml", edit))) == (
        "rules/reference/sectors.yaml: sectors.fire_safety.lead: "
        'unknown department "fire_brigade" (define it in departments.yaml)'
    )


def test_dangling_joint_department(tmp_path: Path) -> None:
    """A joint department must be defined too, and the key names its list position."""
    def edit(d: dict[str, Any]) -> None:
        d["sectors"]["agriculture"]["joint"] = ["ecology_environment", "forestry"]

    err = _error(_patched(tmp_path, "sectors.yaml", edit))
    assert err.key == "sectors.agriculture.joint[1]"
    assert err.reason == 'unknown department "forestry" (define it in departments.yaml)'


def test_sector_without_lead(tmp_path: Path) -> None:
    """A sector without a lead department is refused, citing 管行业必须管安全."""
    def edit(d: dict[str, Any]) -> None:
        del d["sectors"]["gas"]["lead"]

    assert str(_error(_patched(tmp_path, "sectors.yaml", edit))) == (
        "rules/reference/sectors.yaml: sectors.gas: "
        'no lead department (every sector needs one: "管行业必须管安全")'
    )


def test_joint_repeats_lead(tmp_path: Path) -> None:
    """Listing the lead department again under joint is an error."""
    def edit(d: dict[str, Any]) -> None:
        d["sectors"]["fire_safety"]["joint"] = ["fire_rescue"]

    err = _error(_patched(tmp_path, "sectors.yaml", edit))
    assert err.key == "sectors.fire_safety.joint[0]"
    assert "already the lead department" in err.reason


def test_missing_sector(tmp_path: Path) -> None:
    """Every sector of the fixed list must have an entry."""
    def edit(d: dict[str, Any]) -> None:
        del d["sectors"]["fireworks"]

    err = _error(_patched(tmp_path, "sectors.yaml", edit))
    assert (err.file, err.key) == ("rules/reference/sectors.yaml", "sectors")
    assert err.reason.startswith('missing sector "fireworks" (every sector of the fixed list')


def test_unknown_sector(tmp_path: Path) -> None:
    """A sector name outside the fixed list is an error listing the allowed names."""
    def edit(d: dict[str, Any]) -> None:
        d["sectors"]["mining"] = {"lead": "safety_bureau", "source": "x"}

    err = _error(_patched(tmp_path, "sectors.yaml", edit))
    assert err.key == "sectors.mining"
    assert err.reason == f"unknown sector (allowed: {', '.join(SECTORS)})"


def test_duplicate_grid_id(tmp_path: Path) -> None:
    """A grid id used in two communities is an error naming both places."""
    def edit(d: dict[str, Any]) -> None:
        d["towns"]["huxi"]["communities"]["huxi-c1"]["grids"]["LHW-03"] = {}

    assert str(_error(_patched(tmp_path, "jurisdiction.yaml", edit))) == (
        "rules/reference/jurisdiction.yaml: towns.huxi.communities.huxi-c1.grids.LHW-03: "
        'duplicate id "LHW-03" (already used at towns.lihaiwu.communities.lihaiwu-c2.grids.LHW-03;'
        " ids must be unique across towns, communities and grids)"
    )


def test_community_id_clashes_with_town(tmp_path: Path) -> None:
    """Towns, communities and grids share one id space."""
    def edit(d: dict[str, Any]) -> None:
        d["towns"]["yuji"]["communities"]["huxi"] = {"name": "重名社区", "grids": {"YJ-99": {}}}

    err = _error(_patched(tmp_path, "jurisdiction.yaml", edit))
    assert err.key == "towns.yuji.communities.huxi"
    assert err.reason.startswith('duplicate id "huxi" (already used at towns.huxi;')


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    """A key repeated in one mapping is an error with its line, not a silent overwrite."""
    rules = _copy(tmp_path)
    (rules / "reference" / "departments.yaml").write_text(
        'version: "2026.1"\n'
        "departments:\n"
        "  safety_bureau: {name: 区安监局, name_en: Safety, level: district}\n"
        "  safety_bureau: {name: 区安监局, name_en: Safety, level: district}\n",
        encoding="utf-8",
    )
    err = _error(rules)
    assert str(err) == (
        "rules/reference/departments.yaml: line 4, column 3: "
        'duplicate key "safety_bureau" (each key may appear only once)'
    )
    assert err.line == 4


def test_yaml_syntax_error(tmp_path: Path) -> None:
    """Broken YAML is an error giving the line and the parser's complaint."""
    rules = _copy(tmp_path)
    (rules / "reference" / "sectors.yaml").write_text(
        'version: "2026.1"\n'
        "sectors:\n"
        "  gas:\n"
        "    joint: [law_enforcement\n"
        "    lead: housing_construction\n",
        encoding="utf-8",
    )
    err = _error(rules)
    assert (err.file, err.key, err.line) == ("rules/reference/sectors.yaml", None, 5)
    assert str(err).startswith("rules/reference/sectors.yaml: line 5, column 9: YAML syntax error:")
    assert "(opened at line 4)" in err.reason


def test_missing_file(tmp_path: Path) -> None:
    """A missing reference file is an error naming it and the files a rules dir needs."""
    rules = _copy(tmp_path)
    (rules / "reference" / "departments.yaml").unlink()
    assert str(_error(rules)) == (
        "rules/reference/departments.yaml: file not found "
        f"(rules/reference/ must hold {', '.join(REFERENCE_FILES)})"
    )


def test_unknown_file(tmp_path: Path) -> None:
    """A YAML file the loader does not know (e.g. a misspelt name) is an error."""
    rules = _copy(tmp_path)
    (rules / "reference" / "sector.yaml").write_text("version: '1'\n", encoding="utf-8")
    err = _error(rules)
    assert err.file == "rules/reference/sector.yaml"
    assert err.reason.startswith("unknown reference file")


def test_unquoted_version(tmp_path: Path) -> None:
    """A version YAML reads as a number is an error telling to quote it."""
    def edit(d: dict[str, Any]) -> None:
        d["version"] = 2026.1

    err = _error(_patched(tmp_path, "departments.yaml", edit))
    assert (err.key, err.reason) == (
        "version", "expected text, got float 2026.1 (quote it in YAML)"
    )


def test_safety_office_must_not_be_a_department(tmp_path: Path) -> None:
    """A town's safety office needs its own unit id, distinct from every department."""
    def edit(d: dict[str, Any]) -> None:
        d["towns"]["huxi"]["safety_office"] = "safety_bureau"

    err = _error(_patched(tmp_path, "jurisdiction.yaml", edit))
    assert err.key == "towns.huxi.safety_office"
    assert err.reason.startswith('"safety_bureau" is a department id in departments.yaml')


def test_bad_town_kind(tmp_path: Path) -> None:
    """A town kind other than street or town is an error naming the choices."""
    def edit(d: dict[str, Any]) -> None:
        d["towns"]["yuji"]["kind"] = "village"

    err = _error(_patched(tmp_path, "jurisdiction.yaml", edit))
    assert err.key == "towns.yuji.kind"
    assert err.reason == "expected 'street' or 'town', got 'village'"
