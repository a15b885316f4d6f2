"""Data of the engine's output events (contract section 4)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from engine.contract.common import Enterprise, Sector

ENGINE_SOURCE = "/engine"
ESCALATIONS = "escalations"
SUPERVISION_LISTED = "supervision.listed"
REFERRALS_DISCIPLINE = "referrals.discipline"
ALERTS_CAP = "alerts.cap"
INTAKE_REJECTED = "intake.rejected"
OUTPUT_TOPICS = (ESCALATIONS, SUPERVISION_LISTED, REFERRALS_DISCIPLINE, ALERTS_CAP, INTAKE_REJECTED)
# Output topics that version 2 of the contract adds; declared in topics/ as their emitters arrive.
ENFORCEMENT_ACTIONS = "enforcement.actions"
REFERRALS_JUDICIAL = "referrals.judicial"
NOTIFICATIONS = "notifications"
CLOUDEVENT_CONTENT_TYPE = b"application/cloudevents+json; charset=utf-8"
CAP_CONTENT_TYPE = b"application/cap+xml"
_CONTENT_TYPES = {
    **{topic: CLOUDEVENT_CONTENT_TYPE
       for topic in (*OUTPUT_TOPICS, ENFORCEMENT_ACTIONS, REFERRALS_JUDICIAL, NOTIFICATIONS)},
    ALERTS_CAP: CAP_CONTENT_TYPE,
}


def record_headers(topic: str) -> list[tuple[str, bytes]]:
    """The Kafka headers of a record the engine writes to `topic` (contract name, without a prefix).

    Every output topic's records carry their content-type (contract section 1,
    v2): a structured CloudEvent, or a CAP document on alerts.cap. Internal
    topics are the engine's own business and get none.
    """
    content_type = _CONTENT_TYPES.get(topic)
    return [] if content_type is None else [("content-type", content_type)]


class Output(BaseModel):
    """Base of output data: the engine writes it, so it is strict and immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Tier = Literal["blue", "yellow", "orange", "red"]
ResponseLevel = Literal["IV", "III", "II", "I"]


class Target(Output):
    """A unit or jurisdiction that must be told."""

    kind: Literal["department", "town", "district", "enterprise", "unit", "post", "official"]
    id: str
    name: str | None = None


class Escalation(Output):
    """Data of `safety.escalation.raised`: a decision a supervisor must see."""

    escalation_id: str
    subject_kind: Literal["hazard", "alert"]
    subject_id: str
    action: str = Field(description="remind, notify, supervision_letter, summon, listed_supervision, "
                        "discipline_referral, response_activation, handover, report_overdue, ...")
    tier: Tier | None = None
    response_level: ResponseLevel | None = None
    targets: list[Target]
    reason: str
    rule_id: str
    rules_version: str
    due_at: AwareDatetime | None = None
    town: str | None = None
    sector: Sector | None = None
    grade: str | None = None
    caused_by: list[str]


class SupervisionListed(Output):
    """Data of `safety.supervision.listed`: a listed-supervision notice (挂牌督办)."""

    notice_no: str
    hazard_id: str
    enterprise: Enterprise | None
    supervising_body: Target
    responsible_units: list[Target]
    deadline: AwareDatetime
    legal_basis: str
    rules_version: str


class SupervisionLifted(Output):
    """Data of `safety.supervision.lifted`: listed supervision ends (摘牌)."""

    notice_no: str
    hazard_id: str
    reason: str
    lifted_at: AwareDatetime
    rules_version: str


class Respondent(Output):
    """Who a referral is about."""

    kind: Literal["enterprise", "department", "official"]
    id: str
    name: str | None = None


class TimelineItem(Output):
    """One step of a subject's record, as a referral carries it (三项制度: a full record)."""

    time: AwareDatetime
    event_id: str
    what: str


class DisciplineReferral(Output):
    """Data of `safety.referral.discipline`: a referral to discipline inspection (抄报移送纪委监委)."""

    referral_id: str
    subject_kind: Literal["hazard", "alert"]
    subject_id: str
    respondents: list[Respondent]
    grounds: str
    timeline: list[TimelineItem]
    rules_version: str


class RejectionError(Output):
    """One reason a record was rejected: where in the record, and what is wrong."""

    loc: list[str | int]
    msg: str
    type: str = Field(description="a stable code for the kind of error, for counting and filtering")


class RejectedHeader(Output):
    """One Kafka header of a rejected record, so that a binary-mode event can be read and sent again."""

    name: str
    value_base64: str | None  # None for a header without a value
    # Present only when the value was too long to repeat whole: its size and SHA-256.
    value_bytes: int | None = None
    value_sha256: str | None = None


class IntakeRejected(Output):
    """Data of `safety.intake.rejected`: what could not be accepted, why, and the original bytes."""

    topic: str
    partition: int
    offset: int
    key: str | None
    received_at: AwareDatetime
    errors: Annotated[list[RejectionError], Field(min_length=1)]
    raw_base64: str
    # Extensions, present only when the record's key or value was too long to repeat whole: the
    # excerpt above is its start, and these give the whole one's size and SHA-256.
    key_bytes: int | None = None
    key_sha256: str | None = None
    raw_bytes: int | None = None
    raw_sha256: str | None = None
    # Extension, present only when the record had headers (a binary-mode event's attributes).
    headers: list[RejectedHeader] | None = None

    def dump(self) -> dict:
        """The data as JSON values, without the extensions that do not apply."""
        cut = {"key_bytes", "key_sha256", "raw_bytes", "raw_sha256", "headers"}
        data = self.model_dump(mode="json", exclude={f for f in cut if getattr(self, f) is None})
        for header in data.get("headers", ()):
            for field in ("value_bytes", "value_sha256"):
                if header[field] is None:
                    del header[field]
        return data


OUTPUT_TYPES: dict[str, tuple[str, type[Output]]] = {
    "safety.escalation.raised": (ESCALATIONS, Escalation),
    "safety.supervision.listed": (SUPERVISION_LISTED, SupervisionListed),
    "safety.supervision.lifted": (SUPERVISION_LISTED, SupervisionLifted),
    "safety.referral.discipline": (REFERRALS_DISCIPLINE, DisciplineReferral),
    "safety.intake.rejected": (INTAKE_REJECTED, IntakeRejected),
}
