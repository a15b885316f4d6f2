"""Reference data of the district: jurisdiction tree, departments, sector leads and holiday notices.

The facts live in rules/reference/*.yaml so a district can replace them without
code changes; load_reference() validates them strictly at start-up and returns
an immutable Reference that the hot path queries in O(1).

    ref = load_reference(Path("rules"))
    ref.has_town("lihaiwu")                 # True
    ref.town_of_grid("LHW-03")              # "lihaiwu"
    ref.sector_lead("fire_safety").id       # "fire_rescue"
    ref.notices.years[2026].number          # "国办发明电〔2025〕7号" (from calendar.yaml)
"""

from engine.reference.compiled import (
    Community,
    Department,
    District,
    Grid,
    Reference,
    SectorAssignment,
    Town,
)
from engine.reference.errors import RulesError, RulesFileError
from engine.reference.load import REFERENCE_FILES, load_reference
from engine.reference.models import SECTORS

__all__ = [
    "REFERENCE_FILES",
    "SECTORS",
    "Community",
    "Department",
    "District",
    "Grid",
    "Reference",
    "RulesError",
    "RulesFileError",
    "SectorAssignment",
    "Town",
    "load_reference",
]
