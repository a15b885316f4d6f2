"""Strict file models of rules/hazards.yaml; unknown keys and bad values fail at load."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

Tier = Literal["blue", "yellow", "orange", "red"]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GradeEntry(_File):
    name: str
    rectify_within: str
    after_failed_review: str
    source: str = Field(min_length=1)


class DutyEntry(_File):
    rule_id: str
    within: str
    source: str = Field(min_length=1)


class LateArrivalEntry(_File):
    after: str
    source: str = Field(min_length=1)


class Duties(_File):
    verify: DutyEntry
    review: DutyEntry
    late_arrival: LateArrivalEntry | None = None
    escalate_to: list[str] = Field(min_length=1)
    tier: Tier


class StepEntry(_File):
    rule_id: str
    at: str
    tier: Tier
    actions: list[str] = Field(min_length=1)
    targets: list[str] = Field(min_length=1)
    source: str = Field(min_length=1)


class SupervisionEntry(_File):
    rule_id: str
    notice_no: str
    supervising_body: str
    responsible_units: list[str] = Field(min_length=1)
    legal_basis: str
    max_deadline: str
    plan_within: str
    plan_tier: Tier
    plan_targets: list[str] = Field(min_length=1)
    extension_request_before: str
    extension_decide_within: str
    source: str = Field(min_length=1)


class GroundEntry(_File):
    rule_id: str
    respondents: list[str] = Field(min_length=1)
    threshold: int = Field(default=1, ge=1)
    source: str = Field(min_length=1)


class MeasureEntry(_File):
    legal_basis: str = Field(min_length=1)
    amount_range_cny: list[int] | None = Field(default=None, min_length=2, max_length=2)
    needs_legal_review: bool
    due_within: str
    decide_within: str | None = None
    source: str = Field(min_length=1)


class ProposalDueEntry(_File):
    rule_id: str
    tier: Tier
    escalate_to: list[str] = Field(min_length=1)
    source: str = Field(min_length=1)


class JudicialEntry(_File):
    rule_id: str
    offence: str = Field(min_length=1)
    recipient: str
    orders: list[Literal["rectify_within", "suspend", "suspend_for_overhaul"]] = Field(min_length=1)
    grades: list[Literal["general", "major"]] = Field(min_length=1)
    source: str = Field(min_length=1)


class ReferralEntry(_File):
    target: str
    listed_supervision_failed: GroundEntry
    duty_failure: GroundEntry
    periodic_filing: GroundEntry | None = None


class PeriodsEntry(_File):
    rest_day_moves_last_day: StrictBool = True
    source: str = Field(min_length=1)


class HazardsFile(_File):
    version: str
    grades: dict[Literal["general", "major"], GradeEntry]
    duties: Duties
    overdue_ladder: list[StepEntry] = Field(min_length=1)
    listed_supervision: SupervisionEntry
    referral: ReferralEntry
    enforcement: dict[Literal["fine", "suspend", "suspend_for_overhaul", "utility_stop_notice"],
                      MeasureEntry] = Field(default_factory=dict)
    proposal_due: ProposalDueEntry | None = None
    judicial: JudicialEntry | None = None
    periods: PeriodsEntry | None = None  # left out: a last day on a rest day is moved (the default)
