"""The draw's rules (rules/plan.yaml) and the inspectors' roster (rules/reference/inspectors.yaml).

Both files are parsed into strict models, cross-checked against the reference
(every inspector's department must exist), then compiled into `PlanRules`,
the immutable form the pure draw reads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from engine import codec
from engine.contract.common import Uscc
from engine.reference import Reference
from engine.reference.errors import RulesFileError
from engine.reference.load import ROSTER_FILE
from engine.reference.parse import read_yaml, validate

PLAN_FILE = "plan.yaml"
RISK_CLASSES = ("red", "orange", "yellow", "blue")


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weights(_File):
    """A weight per risk class, and one for an enterprise not classified yet."""

    red: float = Field(gt=0)
    orange: float = Field(gt=0)
    yellow: float = Field(gt=0)
    blue: float = Field(gt=0)
    unclassified: float = Field(gt=0)


class History(_File):
    """Multipliers read from an enterprise's file."""

    overdue_hazard: float = Field(gt=0)
    violated_order: float = Field(gt=0)
    never_inspected: float = Field(gt=0)


class Draw(_File):
    """How many enterprises a period draws, how an inspector's load is capped, how they weigh."""

    per_period: int = Field(ge=1, le=100_000)
    max_per_inspector: int = Field(ge=1, le=10_000)
    weights: Weights
    history: History


class CoverageDays(_File):
    """Days between inspections of a key enterprise, by risk class."""

    red: int = Field(ge=1, le=3650)
    orange: int = Field(ge=1, le=3650)
    yellow: int = Field(ge=1, le=3650)
    blue: int = Field(ge=1, le=3650)


class Coverage(_File):
    """The key enterprises' fixed inspection cycle (全覆盖) and the grace before the lead department."""

    days: CoverageDays
    grace_days: int = Field(ge=0, le=365)


class Threshold(_File):
    """A credit criterion's threshold: `count` occurrences within `window_days` days."""

    count: int = Field(ge=1, le=1000)
    window_days: int = Field(ge=1, le=3650)


class Credit(_File):
    """When the enterprise core proposes an enterprise for the credit list (失信), by criterion."""

    overdue_major: Threshold  # major hazards (重大事故隐患) overdue
    refused_inspection: Threshold  # inspections refused or obstructed (拒绝、阻碍检查)


class Campaign(_File):
    """A campaign of a 重点时段 (e.g. 岁末年初, 汛期) adding inspections to each month it touches."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    from_: date = Field(alias="from")
    to: date
    extra_per_month: int = Field(ge=0, le=100_000)


class Annual(_File):
    """The annual enforcement plan (年度安全生产执法计划): inspections a month per town, and campaigns."""

    year: int = Field(ge=2000, le=2100)
    lead_department: str
    per_month: dict[str, int]
    check_days: int = Field(default=0, ge=0, le=28)  # the worker checks a month this long after it ends
    # The first month whose inspections the engine records: a month before it is never found
    # behind, since what was done in it is not on file (an engine started mid-year).
    tracked_from: int = Field(default=1, ge=1, le=12)
    campaigns: list[Campaign] = Field(default_factory=list)


class PlanFile(_File):
    """rules/plan.yaml."""

    version: str
    draw: Draw
    coverage: Coverage
    credit: Credit
    annual: Annual | None = None


class Conflict(_File):
    """A declared conflict of interest (回避): the inspector is never sent to this enterprise."""

    uscc: Uscc
    reason: str = Field(min_length=1)


class InspectorEntry(_File):
    """One certified law-enforcement officer of the roster."""

    name: str = Field(min_length=1)
    department: str
    conflicts: list[Conflict] = Field(default_factory=list)


class RosterFile(_File):
    """rules/reference/inspectors.yaml."""

    version: str
    sample: bool = False
    inspectors: dict[str, InspectorEntry] = Field(min_length=2)


@dataclass(frozen=True, slots=True)
class Inspector:
    """An inspector as the draw reads it."""

    id: str
    name: str
    department: str
    conflicts: frozenset[str]


@dataclass(frozen=True, slots=True)
class PlanRules:
    """The compiled draw rules and roster; `roster_digest` names the roster an audit must use."""

    version: str
    draw: Draw
    inspectors: tuple[Inspector, ...]
    coverage: Coverage
    credit: Credit
    annual: Annual | None = None

    @property
    def roster_digest(self) -> str:
        """SHA-256 of the roster as the draw reads it (ids and conflicts, in id order)."""
        doc = [[i.id, sorted(i.conflicts)] for i in self.inspectors]
        return hashlib.sha256(codec.dumps(doc)).hexdigest()


def load_plan(rules_dir: Path, reference: Reference, label: str = "rules") -> PlanRules:
    """Read, check and compile rules/plan.yaml and rules/reference/inspectors.yaml."""
    plan = validate(PlanFile, read_yaml(rules_dir / PLAN_FILE, f"{label}/{PLAN_FILE}"),
                    f"{label}/{PLAN_FILE}")
    shown = f"{label}/reference/{ROSTER_FILE}"
    roster = validate(RosterFile, read_yaml(rules_dir / "reference" / ROSTER_FILE, shown), shown)
    shown_plan = f"{label}/{PLAN_FILE}"
    for town in (plan.annual.per_month if plan.annual else {}):
        if not reference.has_town(town):
            raise RulesFileError(shown_plan, f"annual.per_month.{town}", f"unknown town {town!r}: it is "
                                 "not in reference/jurisdiction.yaml")
    if plan.annual and not reference.has_department(plan.annual.lead_department):
        raise RulesFileError(shown_plan, "annual.lead_department", f"unknown department "
                             f"{plan.annual.lead_department!r}: it is not in reference/departments.yaml")
    for n, c in enumerate(plan.annual.campaigns if plan.annual else []):
        if c.to < c.from_:
            raise RulesFileError(shown_plan, f"annual.campaigns.{n}.to", f"campaign {c.id!r} ends "
                                 f"({c.to}) before it starts ({c.from_})")
    for inspector_id, entry in roster.inspectors.items():
        if not reference.has_department(entry.department):
            raise RulesFileError(shown, f"inspectors.{inspector_id}.department",
                                 f"unknown department {entry.department!r}: it is not in "
                                 "reference/departments.yaml")
    inspectors = tuple(Inspector(i, e.name, e.department, frozenset(c.uscc for c in e.conflicts))
                       for i, e in sorted(roster.inspectors.items()))
    return PlanRules(plan.version, plan.draw, inspectors, plan.coverage, plan.credit, plan.annual)


def optional_plan(rules_dir: Path, reference: Reference) -> PlanRules | None:
    """The plan rules when the rules dir has a plan.yaml; None (no coverage clocks) when it has none."""
    return load_plan(rules_dir, reference) if (rules_dir / PLAN_FILE).is_file() else None
