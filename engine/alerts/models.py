"""Strict file models of rules/alerts.yaml: unknown keys and wrong values fail at load.

This is the file form only; rules.py checks cross-references and compiles it
into the immutable `AlertRules` the alert core runs on.
"""

from __future__ import annotations

import typing
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.contract.intake import AlertKind, IncidentClass

Grade = Literal["especially_major", "major", "large", "general"]
Level = Literal["I", "II", "III", "IV"]
ReportLevelId = Literal["county", "city", "province", "state_council"]
Text = typing.Annotated[str, Field(min_length=1)]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GradeEntry(_File):
    name: Text
    name_en: Text
    dead: int | None = Field(default=None, ge=1)
    seriously_injured: int | None = Field(default=None, ge=1)
    loss_cny: float | None = Field(default=None, gt=0)
    source: Text


class GradingEntry(_File):
    missing_count_as_dead: bool
    regrade_within: str
    regrade_within_by_kind: dict[AlertKind, str] = Field(default_factory=dict)
    source: Text
    grades: dict[Grade, GradeEntry]


class EvacuateEntry(_File):
    at_least: int = Field(ge=1)
    by: int = Field(ge=0, le=3)


class RaiseEntry(_File):
    crowded_place: int = Field(default=0, ge=0, le=3)
    people_to_evacuate: EvacuateEntry | None = None


class DowngradeEntry(_File):
    allowed: bool


class ResponseEntry(_File):
    rule_id: Text
    by_grade: dict[Grade, Level]
    raise_: RaiseEntry = Field(alias="raise")
    downgrade: DowngradeEntry
    notify: dict[Level, list[str]]
    source: Text


class KindEntry(_File):
    name: Text
    name_en: Text
    responders: list[str] = Field(min_length=1)
    instruction: Text | None = None
    source: Text


class StepEntry(_File):
    rule_id: Text
    after: str
    targets: list[str] = Field(min_length=1)
    skip_if_post: Literal["A", "B"] | None = None


class HandoverEntry(_File):
    steps: list[StepEntry] = Field(min_length=1)
    source: Text


class ReportLevelEntry(_File):
    rule_id: Text
    name: Text
    within: str
    authorities: list[Text] = Field(min_length=1)
    overdue_targets: list[str] = Field(min_length=1)
    source: Text


class ReportEntry(_File):
    levels: dict[ReportLevelId, ReportLevelEntry]
    reach: dict[Grade, ReportLevelId]
    source: Text


class CapEntry(_File):
    rule_id: Text
    issuer_code: Text
    sender: Text
    sender_name: Text
    circle_radius_km: float = Field(gt=0)
    source: Text


class DeriveEntry(_File):
    enterprise: IncidentClass
    no_enterprise: IncidentClass


class IncidentClassEntry(_File):
    derive: dict[AlertKind, DeriveEntry]
    source: Text


class NotifyEntry(_File):
    rule_id: Text
    within: str
    recipients: list[str] = Field(min_length=1)
    source: Text


class NonProductionEntry(_File):
    rule_id: Text
    route: dict[AlertKind, list[str]] = Field(default_factory=dict)
    default: list[str] = Field(min_length=1)
    source: Text


class DisasterStepEntry(_File):
    rule_id: Text
    after: str
    targets: list[str] = Field(min_length=1)


class DailyEntry(_File):
    rule_id: Text
    at: typing.Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    targets: list[str] = Field(min_length=1)
    source: Text


class FinalEntry(_File):
    rule_id: Text
    within: str
    targets: list[str] = Field(min_length=1)
    source: Text


class DisasterReportEntry(_File):
    initial: list[DisasterStepEntry] = Field(min_length=1)
    initial_source: Text
    daily: DailyEntry
    final: FinalEntry


class AlertsFile(_File):
    version: str
    grading: GradingEntry
    response: ResponseEntry
    kinds: dict[AlertKind, KindEntry]
    handover: HandoverEntry
    accident_report: ReportEntry
    incident_class: IncidentClassEntry
    accident_notifications: NotifyEntry
    non_production: NonProductionEntry
    disaster_report: DisasterReportEntry
    cap: CapEntry
