"""The CloudEvents 1.0 envelope (contract section 1) and the registry of event types and their topics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, create_model
from pydantic_core import PydanticCustomError

from engine.contract import enforcement, enterprise, intake
from engine.contract.common import Instant
from engine.contract.mediatype import data_content_type_problem

# CloudEvents allows extension attributes, so the envelope accepts keys it does
# not know; its data, which the contract defines, does not.
_ENVELOPE_CONFIG = ConfigDict(extra="allow", frozen=True)


def _json_media_type(value: str) -> str:
    # Kept as sent: the contract does not say how to normalise it, and the timeline does not carry it.
    problem = data_content_type_problem(value)
    if problem is not None:
        raise PydanticCustomError(*problem)
    return value


# A JSON media type with parameters, e.g. `application/json; charset=utf-8` (contract section 1, v2).
DataContentType = Annotated[
    str,
    AfterValidator(_json_media_type),
    WithJsonSchema({"type": "string", "examples": ["application/json",
                                                   "application/json; charset=utf-8"],
                    "description": "a JSON media type; a charset, if given, is utf-8"}),
]


class Envelope(BaseModel):
    """The attributes every event carries, whatever its type."""

    model_config = _ENVELOPE_CONFIG

    specversion: Annotated[Literal["1.0"], Field(description="always 1.0")]
    id: Annotated[str, Field(min_length=1, max_length=200, description=(
        "unique per event, chosen by the producer; the same source and id again is a duplicate"))]
    source: Annotated[str, Field(min_length=1, max_length=500, description=(
        "URI reference of the sending app or device, e.g. /apps/inspector/3f2a"))]
    type: Annotated[str, Field(description="the event type, which decides its topic and its data")]
    time: Annotated[Instant, Field(description=(
        "RFC 3339 with an offset: when it happened in the field"))]
    subject: Annotated[str, Field(min_length=1, max_length=200, description=(
        "the hazard_id, alert_id, inspection_id or (enterprise records) uscc the event is about; "
        "the record key"))]
    datacontenttype: Annotated[DataContentType | None, Field(description=(
        "a JSON media type when present, e.g. application/json; charset=utf-8"))] = None
    data: Annotated[Any, Field(description="the object the event type defines")]


SubjectKind = Literal["hazard", "alert", "inspection", "enterprise"]


@dataclass(frozen=True, slots=True)
class EventType:
    """One intake event type: its topic, its data model, and which data field names the subject."""

    name: str
    topic: str
    data_model: type[BaseModel]
    subject_field: str
    subject_kind: SubjectKind
    model: type[Envelope]


def _event_type(name: str, topic: str, data_model: type[BaseModel], subject_field: str,
                subject_kind: SubjectKind) -> EventType:
    model = create_model(
        "".join(w.capitalize() for w in name.replace("_", ".").split(".")[1:]) + "Event",
        __base__=Envelope,
        __doc__=f"A `{name}` event on topic `{topic}`.",
        type=(Literal[name], ...),  # type: ignore[valid-type]
        data=(data_model, ...),
    )
    return EventType(name, topic, data_model, subject_field, subject_kind, model)


HAZARD_REPORTS = "hazard.reports"
INSPECTION_FINDINGS = "inspection.findings"
RECTIFICATION_UPDATES = "rectification.updates"
RESPONDER_ALERTS = "responder.alerts"
ENFORCEMENT_RECORDS = "enforcement.records"
ENTERPRISE_RECORDS = "enterprise.records"
INTAKE_TOPICS = (HAZARD_REPORTS, INSPECTION_FINDINGS, RECTIFICATION_UPDATES, RESPONDER_ALERTS,
                 ENFORCEMENT_RECORDS, ENTERPRISE_RECORDS)

_R = RECTIFICATION_UPDATES
EVENT_TYPES: dict[str, EventType] = {
    t.name: t
    for t in (
        _event_type("safety.hazard.reported", HAZARD_REPORTS, intake.HazardReported,
                    "hazard_id", "hazard"),
        _event_type("safety.inspection.recorded", INSPECTION_FINDINGS, intake.InspectionRecorded,
                    "inspection_id", "inspection"),
        _event_type("safety.hazard.verified", _R, intake.HazardVerified, "hazard_id", "hazard"),
        _event_type("safety.rectification.planned", _R, intake.RectificationPlanned,
                    "hazard_id", "hazard"),
        _event_type("safety.rectification.progressed", _R, intake.RectificationProgressed,
                    "hazard_id", "hazard"),
        _event_type("safety.rectification.completed", _R, intake.RectificationCompleted,
                    "hazard_id", "hazard"),
        _event_type("safety.rectification.reviewed", _R, intake.RectificationReviewed,
                    "hazard_id", "hazard"),
        _event_type("safety.rectification.extension_requested", _R, intake.ExtensionRequested,
                    "hazard_id", "hazard"),
        _event_type("safety.rectification.extension_decided", _R, intake.ExtensionDecided,
                    "hazard_id", "hazard"),
        _event_type("safety.alert.raised", RESPONDER_ALERTS, intake.AlertRaised, "alert_id", "alert"),
        _event_type("safety.alert.updated", RESPONDER_ALERTS, intake.AlertUpdated,
                    "alert_id", "alert"),
        _event_type("safety.alert.acknowledged", RESPONDER_ALERTS, intake.AlertAcknowledged,
                    "alert_id", "alert"),
        _event_type("safety.alert.closed", RESPONDER_ALERTS, intake.AlertClosed, "alert_id", "alert"),
        _event_type("safety.disaster.reported", RESPONDER_ALERTS, intake.DisasterReported,
                    "alert_id", "alert"),
        _event_type("safety.enforcement.ordered", ENFORCEMENT_RECORDS, enforcement.EnforcementOrdered,
                    "hazard_id", "hazard"),
        _event_type("safety.enforcement.penalized", ENFORCEMENT_RECORDS,
                    enforcement.EnforcementPenalized, "hazard_id", "hazard"),
        _event_type("safety.enforcement.legal_reviewed", ENFORCEMENT_RECORDS,
                    enforcement.EnforcementLegalReviewed, "hazard_id", "hazard"),
        _event_type("safety.enforcement.violated", ENFORCEMENT_RECORDS, enforcement.EnforcementViolated,
                    "hazard_id", "hazard"),
        _event_type("safety.enforcement.lifted", ENFORCEMENT_RECORDS, enforcement.EnforcementLifted,
                    "hazard_id", "hazard"),
        _event_type("safety.enterprise.registered", ENTERPRISE_RECORDS,
                    enterprise.EnterpriseRegistered, "uscc", "enterprise"),
        _event_type("safety.enterprise.classified", ENTERPRISE_RECORDS,
                    enterprise.EnterpriseClassified, "uscc", "enterprise"),
        _event_type("safety.enterprise.closed", ENTERPRISE_RECORDS, enterprise.EnterpriseClosed,
                    "uscc", "enterprise"),
        _event_type("safety.credit.decided", ENTERPRISE_RECORDS, enterprise.CreditDecided,
                    "uscc", "enterprise"),
    )
}


def types_on(topic: str) -> tuple[str, ...]:
    """Return the event types that belong on an intake topic."""
    return tuple(name for name, t in EVENT_TYPES.items() if t.topic == topic)
