"""Data of the intake events (contract section 3), one model per event type."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from engine.contract.common import (
    Actor,
    Deadline,
    Enterprise,
    Id,
    Location,
    NonEmpty,
    Sector,
    Strict,
    check_department,
)
from engine.contract.roles import check_role, law_enforcement_officers

Uri = Annotated[str, Field(min_length=1, max_length=2000)]


class HazardReported(Strict):
    """A hazard reported from the field: a patrol, a self-inspection, the public or a sensor."""

    hazard_id: Id
    title: NonEmpty
    description: NonEmpty
    sector: Sector
    grade_claimed: Literal["general", "major", "unknown"]
    found_via: Literal[
        "enforcement", "expert_check", "unannounced", "random_check",
        "self_inspection", "grid_patrol", "public_report", "sensor",
    ]
    location: Location
    enterprise: Enterprise | None = None
    reporter: Actor
    evidence: list[Uri] = Field(default_factory=list, max_length=100)
    rectify_by: Deadline | None = None


class Finding(Strict):
    """One hazard found by an inspection, confirmed at its grade when the inspection is law enforcement."""

    hazard_id: Id
    sector: Sector
    grade: Literal["general", "major"]
    clause: NonEmpty
    description: NonEmpty
    rectify_by: Deadline | None = None
    immediate: bool = False


InspectionKind = Literal[
    "routine", "random_check", "unannounced", "special_campaign", "expert_check", "follow_up"
]
EXPERT_CHECK = "expert_check"  # the one kind that is not law enforcement (contract section 3)


def law_enforcement(kind: str) -> bool:
    """Whether an inspection of `kind` is law enforcement (执法检查): every kind but an expert check.
    Only law enforcement keeps a key enterprise on its cycle (the plans' "全覆盖"执法检查, line 864)
    and counts toward the annual enforcement plan (执法计划, line 606)."""
    return kind != EXPERT_CHECK


class InspectionRecorded(Strict):
    """An inspection and its findings; an empty list of findings is valid and counts."""

    inspection_id: Id
    kind: InspectionKind
    inspectors: list[Actor] = Field(min_length=1, max_length=50)
    enterprise: Enterprise
    location: Location
    findings: list[Finding] = Field(max_length=500)
    outcome: Literal["completed", "refused"] = Field(
        default="completed",
        description="refused: the enterprise refused or obstructed the inspection (拒绝、阻碍检查), which "
                    "then found nothing; only a law-enforcement inspection can be refused")

    @model_validator(mode="after")
    def _two_for_enforcement(self) -> InspectionRecorded:
        # Law enforcement needs at least two officers (行政处罚法 art. 42); an expert check does not.
        officers = law_enforcement_officers(self.inspectors)
        if self.kind != "expert_check" and officers < 2:
            raise PydanticCustomError(
                "inspectors",
                "a '{kind}' inspection is law enforcement and needs at least two inspectors (role "
                "'inspector'), got {n}", {"kind": self.kind, "n": officers},
            )
        if self.outcome == "refused" and self.kind == "expert_check":
            raise PydanticCustomError(
                "outcome", "an expert_check is not law enforcement: only a law-enforcement inspection is "
                "refused (拒绝、阻碍检查); record the expert's findings instead")
        if self.outcome == "refused" and self.findings:
            raise PydanticCustomError(
                "outcome", "a refused inspection has no findings, got {n}: record what was found by a "
                "completed inspection", {"n": len(self.findings)})
        ids = [f.hazard_id for f in self.findings]
        if len(ids) != len(set(ids)):
            raise PydanticCustomError("findings", "two findings share one hazard_id")
        return self


class HazardVerified(Strict):
    """A department's verdict on a reported hazard: confirmed at a grade, unfounded, or a duplicate."""

    hazard_id: Id
    verdict: Literal["confirmed", "unfounded", "duplicate"]
    grade: Literal["general", "major"] | None = None
    duplicate_of: Id | None = None
    lead_department: Id | None = None
    by: Actor

    @field_validator("by")
    @classmethod
    def _verifier(cls, actor: Actor) -> Actor:
        return check_role("verify", actor)

    @field_validator("lead_department")
    @classmethod
    def _department_in_rules(cls, department: str | None, info: ValidationInfo) -> str | None:
        return check_department(department, info)

    @model_validator(mode="after")
    def _verdict_fields(self) -> HazardVerified:
        if self.verdict == "confirmed" and self.grade is None:
            raise PydanticCustomError("grade", "grade is required when the verdict is 'confirmed'")
        if self.verdict != "confirmed" and self.grade is not None:
            raise PydanticCustomError("grade", "grade is given only when the verdict is 'confirmed'")
        if (self.verdict == "duplicate") != (self.duplicate_of is not None):
            raise PydanticCustomError(
                "duplicate_of", "duplicate_of is required with, and only with, verdict 'duplicate'"
            )
        if self.duplicate_of == self.hazard_id:
            raise PydanticCustomError("duplicate_of", "a hazard cannot duplicate itself")
        return self


class RectificationPlanned(Strict):
    """The enterprise's rectification plan (整改方案) with its target date."""

    hazard_id: Id
    plan_summary: NonEmpty
    responsible_person: NonEmpty
    funds_cny: float | None = Field(default=None, ge=0)
    target_date: Deadline
    by: Actor

    @field_validator("by")
    @classmethod
    def _answers_for_the_work(cls, actor: Actor) -> Actor:
        return check_role("rectify", actor)


class RectificationProgressed(Strict):
    """Progress of a rectification in percent."""

    hazard_id: Id
    percent: int = Field(ge=0, le=100)
    note: NonEmpty
    by: Actor

    @field_validator("by")
    @classmethod
    def _answers_for_the_work(cls, actor: Actor) -> Actor:
        return check_role("rectify", actor)


class RectificationCompleted(Strict):
    """A claim that the rectification is done; it still needs a review."""

    hazard_id: Id
    note: NonEmpty
    evidence: list[Uri] = Field(max_length=100)
    by: Actor

    @field_validator("by")
    @classmethod
    def _answers_for_the_work(cls, actor: Actor) -> Actor:
        return check_role("rectify", actor)


class RectificationReviewed(Strict):
    """The acceptance review (复查验收) of a completed rectification."""

    hazard_id: Id
    outcome: Literal["passed", "failed"]
    note: NonEmpty
    by: Actor

    @field_validator("by")
    @classmethod
    def _inspector_or_expert(cls, actor: Actor) -> Actor:
        return check_role("review", actor)


class ExtensionRequested(Strict):
    """A request to move a rectification deadline (延期申请)."""

    hazard_id: Id
    requested_until: Deadline
    reason: NonEmpty
    by: Actor

    @field_validator("by")
    @classmethod
    def _answers_for_the_work(cls, actor: Actor) -> Actor:
        return check_role("rectify", actor)


class ExtensionDecided(Strict):
    """A supervisor's decision on an extension request."""

    hazard_id: Id
    approved: bool
    new_deadline: Deadline | None = None
    by: Actor

    @field_validator("by")
    @classmethod
    def _supervisor(cls, actor: Actor) -> Actor:
        return check_role("decide_extension", actor)

    @model_validator(mode="after")
    def _deadline_when_approved(self) -> ExtensionDecided:
        if self.approved != (self.new_deadline is not None):
            raise PydanticCustomError(
                "new_deadline", "new_deadline is required with, and only with, approved=true"
            )
        return self


Count = Annotated[int, Field(ge=0, le=1_000_000)]


class Casualties(Strict):
    """People harmed or in danger; the missing count with the dead for grading (死亡含失踪)."""

    dead: Count = 0
    missing: Count = 0
    seriously_injured: Annotated[Count, Field(description=(
        "重伤, the acutely poisoned at work included (急性工业中毒: 493号令 art. 3 counts them as "
        "seriously injured when it grades an accident)"))] = 0
    injured: Count = 0
    trapped: Count = 0


AlertKind = Literal[
    "fire", "explosion", "hazardous_chemical_leak", "gas_leak", "co_poisoning", "drowning",
    "flood", "structural_collapse", "traffic", "crowd_crush", "special_equipment", "other",
]


IncidentClass = Literal["production_accident", "non_production", "natural_disaster"]


class AlertRaised(Strict):
    """A first responder's alert (网格员 第一响应人, 灾害信息员) about something happening now."""

    alert_id: Id
    kind: AlertKind
    location: Location
    casualties: Casualties = Field(default_factory=Casualties)
    estimated_loss_cny: float | None = Field(default=None, ge=0)
    people_to_evacuate: Count | None = None
    crowded_place: bool = False
    description: NonEmpty
    reporter: Actor
    post: Literal["A", "B"] | None = None
    exercise: bool = False  # an extension of the contract: a drill, published as CAP status Exercise
    enterprise: Enterprise | None = None  # (v2) where it happened, when in a business
    incident_class: IncidentClass | None = Field(
        default=None, description="(v2) production_accident (生产安全事故), non_production (非生产类) or "
        "natural_disaster; when absent the rules derive it from kind and enterprise")


class AlertUpdated(Strict):
    """New figures for an alert; at least one of them is given."""

    alert_id: Id
    casualties: Casualties | None = None
    estimated_loss_cny: float | None = Field(default=None, ge=0)
    people_to_evacuate: Count | None = None
    note: NonEmpty | None = None

    @model_validator(mode="after")
    def _something(self) -> AlertUpdated:
        if all(v is None for v in (self.casualties, self.estimated_loss_cny,
                                   self.people_to_evacuate, self.note)):
            raise PydanticCustomError(
                "empty_update",
                "an update carries at least one of casualties, estimated_loss_cny, "
                "people_to_evacuate or note",
            )
        return self


class AlertAcknowledged(Strict):
    """A unit takes the alert on; this stops the A/B handover chain."""

    alert_id: Id
    unit: Id
    by: Actor

    @field_validator("by")
    @classmethod
    def _responder(cls, actor: Actor) -> Actor:
        return check_role("respond", actor)


class AlertClosed(Strict):
    """The response is over: the handover stops; the accident-report clocks run on (493号令 art. 9)."""

    alert_id: Id
    note: NonEmpty
    by: Actor

    @field_validator("by")
    @classmethod
    def _responder(cls, actor: Actor) -> Actor:
        return check_role("respond", actor)


class DisasterFigures(Strict):
    """The figures a disaster report (灾情报告) carries; each optional, as the report stage allows."""

    affected_population: Count | None = None  # 受灾人口
    relocated: Count | None = None  # 紧急转移安置人口
    casualties: Casualties | None = None
    houses_collapsed: Count | None = None  # 倒塌房屋（户）
    crop_area_ha: float | None = Field(default=None, ge=0)  # 农作物受灾面积（公顷）
    direct_loss_cny: float | None = Field(default=None, ge=0)  # 直接经济损失


class DisasterReported(Strict):
    """(v2) A disaster information officer's report (灾情 初报/续报/核报/零报告) from post A or B."""

    alert_id: Id
    report_kind: Literal["initial", "update", "final", "zero"]
    post: Literal["A", "B"]
    by: Actor
    figures: DisasterFigures = Field(default_factory=DisasterFigures)
    note: NonEmpty | None = None

    @field_validator("by")
    @classmethod
    def _officer(cls, by: Actor) -> Actor:
        return check_role("report_disaster", by)
