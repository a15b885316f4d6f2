"""The timeline entry as every core reads it: the envelope, and the data of each event type.

An entry is the JSON object the intake writes to the timeline
(engine/intake/timeline.py), so at run time it stays a dict: these are
TypedDicts, which cost nothing per event, and say what each key holds. The
data of a contract event type is its model (engine/contract/) normalised:
every field present, defaults filled in, times and dates as RFC 3339 text in
Asia/Shanghai, enums as their values. tests/unit/test_entries.py checks each
TypedDict against its model, and the entries the intake writes against these.

A handler is chosen by the entry's full `type` from its core's table
(`HANDLERS` in engine/decide/lifecycle.py and engine/alerts/core.py), and
`DATA_TYPES` names the data each type carries.
"""

# No `from __future__ import annotations` here: TypedDict reads NotRequired from evaluated annotations.
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

from engine.contract.enforcement import OrderKind
from engine.contract.enterprise import RiskClass
from engine.contract.intake import AlertKind, IncidentClass, InspectionKind

# --- what several event types share (engine/contract/common.py) --------------------------------


class Actor(TypedDict):
    """Who did it; `role` is a `Role` value."""

    id: str | None
    role: str
    name: str | None
    anonymous: bool


class Location(TypedDict):
    """Where: a town of the jurisdiction tree, optionally finer and with coordinates."""

    town: str
    community: str | None
    grid: str | None
    address: str | None
    lat: float | None
    lon: float | None


class Enterprise(TypedDict):
    """An enterprise by its USCC and name."""

    uscc: str
    name: str


class Casualties(TypedDict):
    """People harmed or in danger."""

    dead: int
    missing: int
    seriously_injured: int
    injured: int
    trapped: int


# --- hazards ------------------------------------------------------------------------------------


class HazardReported(TypedDict):
    hazard_id: str
    title: str
    description: str
    sector: str  # a Sector value
    grade_claimed: str  # general | major | unknown
    found_via: str
    location: Location
    enterprise: Enterprise | None
    reporter: Actor
    evidence: list[str]
    rectify_by: str | None


class Finding(TypedDict):
    hazard_id: str
    sector: str  # a Sector value
    grade: str  # general | major
    clause: str
    description: str
    rectify_by: str | None
    immediate: bool


class InspectionRecorded(TypedDict):
    inspection_id: str
    kind: InspectionKind
    inspectors: list[Actor]
    enterprise: Enterprise
    location: Location
    findings: list[Finding]
    outcome: str  # completed | refused


class HazardVerified(TypedDict):
    hazard_id: str
    verdict: str  # confirmed | unfounded | duplicate
    grade: str | None
    duplicate_of: str | None
    lead_department: str | None
    by: Actor


class RectificationPlanned(TypedDict):
    hazard_id: str
    plan_summary: str
    responsible_person: str
    funds_cny: float | None
    target_date: str
    by: Actor


class RectificationProgressed(TypedDict):
    hazard_id: str
    percent: int
    note: str
    by: Actor


class RectificationCompleted(TypedDict):
    hazard_id: str
    note: str
    evidence: list[str]
    by: Actor


class RectificationReviewed(TypedDict):
    hazard_id: str
    outcome: str  # passed | failed
    note: str
    by: Actor


class ExtensionRequested(TypedDict):
    hazard_id: str
    requested_until: str
    reason: str
    by: Actor


class ExtensionDecided(TypedDict):
    hazard_id: str
    approved: bool
    new_deadline: str | None
    by: Actor


# --- enforcement records (contract section 3) --------------------------------------------------


class EnforcementOrdered(TypedDict):
    hazard_id: str
    order_no: str
    order: OrderKind
    until: str | None
    legal_basis: str
    by: list[Actor]


class EnforcementPenalized(TypedDict):
    hazard_id: str
    decision_no: str
    fine_cny: int
    legal_basis: str
    by: Actor


class EnforcementLegalReviewed(TypedDict):
    hazard_id: str
    proposal_id: str
    outcome: str  # approved | returned
    by: Actor


class EnforcementViolated(TypedDict):
    hazard_id: str
    order_no: str
    found_at: str
    description: str
    evidence: list[str]
    by: list[Actor]


class EnforcementLifted(TypedDict):
    hazard_id: str
    order_no: str
    by: Actor


# --- alerts -------------------------------------------------------------------------------------


class AlertRaised(TypedDict):
    alert_id: str
    kind: AlertKind
    location: Location
    casualties: Casualties
    estimated_loss_cny: float | None
    people_to_evacuate: int | None
    crowded_place: bool
    description: str
    reporter: Actor
    post: str | None  # A | B
    exercise: bool
    enterprise: Enterprise | None
    incident_class: IncidentClass | None


class AlertUpdated(TypedDict):
    alert_id: str
    casualties: Casualties | None
    estimated_loss_cny: float | None
    people_to_evacuate: int | None
    note: str | None


class AlertAcknowledged(TypedDict):
    alert_id: str
    unit: str
    by: Actor


class AlertClosed(TypedDict):
    alert_id: str
    note: str
    by: Actor


class DisasterFigures(TypedDict):
    affected_population: int | None
    relocated: int | None
    casualties: Casualties | None
    houses_collapsed: int | None
    crop_area_ha: float | None
    direct_loss_cny: float | None


class DisasterReported(TypedDict):
    alert_id: str
    report_kind: str  # initial | update | final | zero
    post: str  # A | B
    by: Actor
    figures: DisasterFigures
    note: str | None


# --- enterprise records -------------------------------------------------------------------------


class EnterpriseRegistered(TypedDict):
    uscc: str
    name: str
    location: Location
    sector: str  # a Sector value
    legal_representative: str
    by: Actor


class EnterpriseClassified(TypedDict):
    uscc: str
    risk_class: RiskClass
    key_enterprise: bool
    decided_by: Actor
    decided_at: str
    basis: str | None
    decision_no: str | None


class EnterpriseClosed(TypedDict):
    uscc: str
    reason: str
    by: Actor


class CreditDecided(TypedDict):
    uscc: str
    proposal_id: str
    outcome: str  # listed | rejected
    listed_from: str | None
    listed_until: str | None
    decision_no: str
    note: str | None
    by: Actor


# --- the entries the engine writes itself -------------------------------------------------------


class InspectionContext(TypedDict):
    """What a finding's entry and the enterprise's entry carry of their inspection."""

    inspection_id: str
    kind: InspectionKind
    enterprise: Enterprise
    location: Location
    law_enforcement: bool


class FindingData(Finding):
    """One finding of an inspection, as the entry under its hazard_id carries it (FINDING_TYPE)."""

    inspection: InspectionContext


class InspectedData(InspectionContext):
    """An inspection as the entry under its enterprise's USCC carries it (INSPECTED_TYPE)."""

    findings: int
    outcome: str
    inspectors: list[str | None]


class ClockData(TypedDict):
    """A clock's firing (CLOCK_TYPE): the due time it was published for, in epoch seconds."""

    due: int


class Origin(TypedDict):
    """Where a record sits: its topic, partition and offset. An intake entry's `origin` is the
    intake record of its event; a link's `cause` the timeline record of the entry that caused it."""

    topic: str
    partition: int
    offset: int


class Entry(TypedDict):
    """A timeline entry.

    Every entry has the first six keys. An entry the intake wrote for a field
    event also has `source`, `event_id`, `received_at` and `origin`, and
    `arrived_at` when the intake could vouch for its arrival; an entry the
    engine writes itself (a clock's firing, an enterprise or plan link) has
    those of them it needs, and a link its output `id` and, when the decide stage
    read its cause from the timeline, `cause`. `position` is not in the record:
    the decide stage adds where it read the entry (engine/cores.py `decide_entry`).
    `data` is the `DATA_TYPES` entry of `type`.

    Each entry of an event a field-app token limited to towns sent (`POST /events`
    stamps its records), those of an inspection's findings and its enterprise too,
    and each link such an entry causes, has `towns` and `field_app`; an entry of
    a copy of an event taken before for a token's towns alone has `copy`
    (engine/kernel/scope.py).
    """

    entry_id: str
    subject: str
    subject_kind: str  # hazard | alert | inspection | enterprise | plan
    type: str
    time: str
    data: Any  # the TypedDict DATA_TYPES gives for `type`
    source: NotRequired[str]
    event_id: NotRequired[str]
    received_at: NotRequired[str]
    arrived_at: NotRequired[str]  # the arrival duty clocks may count from (engine/intake/process.py)
    origin: NotRequired[Origin]
    id: NotRequired[str]
    cause: NotRequired[Origin]
    position: NotRequired[Origin]
    towns: NotRequired[list[str]]  # the towns of the token that sent its event, sorted
    field_app: NotRequired[str]  # that token's name
    copy: NotRequired[bool]  # a copy of an event whose first copy a token limited to towns sent


# The keys of a field-app token's stamp on an entry (`Entry.towns`, `Entry.field_app`), and of a
# copy's mark (`Entry.copy`).
TOWNS, FIELD_APP, COPY = "towns", "field_app", "copy"


def with_cause(link: dict[str, Any], cause: Mapping[str, Any]) -> dict[str, Any]:
    """`link`, an entry the engine makes for another subject from the entry `cause`, naming where
    the decide stage read `cause` (its `position`, when it gave one) as its `cause`: the record
    a copy of the link would come from too (engine/kernel/state.py `source_of`). A link carries
    the stamp of a field-app token's towns its cause carries (`TOWNS`, `FIELD_APP`): an enterprise's
    file found by it was found by that token (engine/kernel/scope.py)."""
    if "position" in cause:
        link["cause"] = cause["position"]
    if TOWNS in cause:
        link[TOWNS] = cause[TOWNS]
        if FIELD_APP in cause:
            link[FIELD_APP] = cause[FIELD_APP]
    return link


# The data each entry type carries: every contract type by its full name, and the engine's own.
DATA_TYPES: dict[str, type[Any]] = {
    "safety.hazard.reported": HazardReported,
    "safety.inspection.recorded": InspectionRecorded,
    "safety.hazard.verified": HazardVerified,
    "safety.rectification.planned": RectificationPlanned,
    "safety.rectification.progressed": RectificationProgressed,
    "safety.rectification.completed": RectificationCompleted,
    "safety.rectification.reviewed": RectificationReviewed,
    "safety.rectification.extension_requested": ExtensionRequested,
    "safety.rectification.extension_decided": ExtensionDecided,
    "safety.alert.raised": AlertRaised,
    "safety.alert.updated": AlertUpdated,
    "safety.alert.acknowledged": AlertAcknowledged,
    "safety.alert.closed": AlertClosed,
    "safety.disaster.reported": DisasterReported,
    "safety.enforcement.ordered": EnforcementOrdered,
    "safety.enforcement.penalized": EnforcementPenalized,
    "safety.enforcement.legal_reviewed": EnforcementLegalReviewed,
    "safety.enforcement.violated": EnforcementViolated,
    "safety.enforcement.lifted": EnforcementLifted,
    "safety.enterprise.registered": EnterpriseRegistered,
    "safety.enterprise.classified": EnterpriseClassified,
    "safety.enterprise.closed": EnterpriseClosed,
    "safety.credit.decided": CreditDecided,
    "safety.inspection.finding": FindingData,
    "safety.inspection.enterprise": InspectedData,
    "safety.clock.fired": ClockData,
}
