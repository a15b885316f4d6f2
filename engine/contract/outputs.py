"""Data of the engine's output events (contract section 4)."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from engine.contract.common import Enterprise, Sector

ENGINE_SOURCE = "/engine"
ESCALATIONS = "escalations"
SUPERVISION_LISTED = "supervision.listed"
REFERRALS_DISCIPLINE = "referrals.discipline"
ALERTS_CAP = "alerts.cap"
ENFORCEMENT_ACTIONS = "enforcement.actions"
REFERRALS_JUDICIAL = "referrals.judicial"
NOTIFICATIONS = "notifications"
INTAKE_REJECTED = "intake.rejected"
CREDIT_PROPOSALS = "credit.proposals"
INSPECTIONS_PUBLIC = "inspections.public"
# (extension) The copy of each monthly filing for the organisation department: the plans file supervision
# results "抄报同级纪委监委及组织部门备案" (line 798). Made by `hazard-engine filing`, not by the worker.
FILINGS_ORGANISATION = "filings.organisation"
OUTPUT_TOPICS = (ESCALATIONS, SUPERVISION_LISTED, REFERRALS_DISCIPLINE, ALERTS_CAP, ENFORCEMENT_ACTIONS,
                 REFERRALS_JUDICIAL, NOTIFICATIONS, INTAKE_REJECTED, CREDIT_PROPOSALS, INSPECTIONS_PUBLIC,
                 FILINGS_ORGANISATION)
CLOUDEVENT_CONTENT_TYPE = b"application/cloudevents+json; charset=utf-8"
CAP_CONTENT_TYPE = b"application/cap+xml"
_CONTENT_TYPES = {
    **{topic: CLOUDEVENT_CONTENT_TYPE for topic in OUTPUT_TOPICS},
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
TIERS: tuple[str, ...] = get_args(Tier)  # lowest first: the rules' ladder and the feeds' filters use these
LEVELS: tuple[str, ...] = get_args(ResponseLevel)  # lowest first, as the tiers


class Target(Output):
    """A unit or jurisdiction that must be told."""

    kind: Literal["department", "town", "town_government", "district", "enterprise", "unit", "post",
                  "official"]
    id: str
    name: str | None = None


REASON_ZH = ("(extension) the reason in Chinese, for the people it goes to (engine/zh/reason.py); "
             "absent where the engine does not know every part of the reason's shape")


class Escalation(Output):
    """Data of `safety.escalation.raised`: a decision a supervisor must see."""

    escalation_id: str
    subject_kind: Literal["hazard", "alert", "enterprise", "plan"] = Field(
        description="enterprise: a key enterprise's coverage cycle missed (coverage_missed, "
        "duty_failure); plan: a month and town behind the annual plan (plan_behind)")
    subject_id: str
    action: str = Field(description="remind, notify, supervision_letter, summon, "
                        "discipline_referral, response_activation, handover, report_overdue, "
                        "coverage_missed, duty_failure, plan_behind, failure_withdrawn (an "
                        "earlier failure's escalation taken back: a record of the duty done in time "
                        "arrived late), referral_withdrawn, notice_withdrawn (a town safety office's "
                        "notice that a key enterprise's cycle ran out, taken back), "
                        "plan_behind_withdrawn (a month found behind the annual plan, brought to plan "
                        "by inspections recorded after its check), proposal_overdue (an enforcement "
                        "proposal with no legal review or decision on record by its due_at), "
                        "decision_overdue (a proposal its legal review approved, with no decision on "
                        "record by its due_at: the measure's decide_within after that review), ...")
    tier: Tier | None = None
    response_level: ResponseLevel | None = None
    targets: list[Target]
    reason: str
    reason_zh: str | None = Field(default=None, description=REASON_ZH)
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
    reason_zh: str | None = Field(default=None, description=REASON_ZH)
    lifted_at: AwareDatetime
    rules_version: str


class Respondent(Output):
    """Who a referral is about: a public body or an official, never an enterprise (监察法 art. 15)."""

    kind: Literal["department", "town_government", "official"]
    id: str
    name: str | None = None


class TimelineItem(Output):
    """One step of a subject's record, as a referral carries it (三项制度: a full record)."""

    time: AwareDatetime
    event_id: str
    what: str
    what_zh: str | None = Field(
        default=None, description="what happened, in Chinese, where the engine knows the shape of its "
        "sentence (engine/zh/record.py); absent otherwise. An extension of the contract")


class DisciplineReferral(Output):
    """Data of `safety.referral.discipline`: a referral to discipline inspection (抄报移送纪委监委)."""

    referral_id: str
    subject_kind: Literal["hazard", "alert", "department"] = Field(
        description="department: a periodic_filing, whose subject_id is the department's id")
    subject_id: str
    respondents: Annotated[list[Respondent], Field(min_length=1)]
    grounds: Literal["duty_failure", "listed_supervision_failed", "periodic_filing"] = Field(
        description="duty_failure (不履行安全监管职责), listed_supervision_failed (挂牌督办 not "
        "fulfilled by its deadline) or periodic_filing (监督检查结果抄报备案)")
    reason: str | None = Field(default=None, description="the grounds as a sentence a person can read")
    reason_zh: str | None = Field(default=None, description=REASON_ZH)
    jurisdiction_note: str | None = Field(
        default=None, description="(extension) present only when a respondent is a department whose "
        "officials the district does not manage (a branch of a city bureau, a vertically managed "
        "body): discipline inspection follows who manages the cadres (管理权限), so the district's "
        "纪委监委, to whom the referral goes, is not their supervisory body and is asked to pass it on "
        "to the one that is")
    jurisdiction_note_zh: str | None = Field(default=None, description="(extension) `jurisdiction_note` "
                                             "in Chinese")
    timeline: list[TimelineItem]
    rules_version: str
    filed_at: AwareDatetime | None = Field(
        default=None, description="(extension) a periodic_filing's only: when it was made and sent. "
        "Its `time` is the month's last second; a month filed later than its filing day (a scheduler "
        "back from a stop, or by hand) is built from the hazards' states as they were at `filed_at`")
    found_ids: list[str] | None = Field(
        default=None, description="(extension) a periodic_filing's only: the hazards it counts as found "
        "in the month, by id (its supplements: those whose records reached the engine after the month "
        "was filed)")
    supplements: str | None = Field(
        default=None, description="(extension) on a supplement to a month's periodic_filing: the "
        "`referral_id` of the filing it adds to. A hazard found in the month whose records reached the "
        "engine after the month was filed is in no filing of it; at the next filing day it is filed "
        "as a supplement, dated like the filing at the month's last second")


class ReferralWithdrawn(DisciplineReferral):
    """Data of `safety.referral.withdrawn` (an extension of the contract, on referrals.discipline):
    a referral sent before a record showed the duty done in time, withdrawn. `referral_id` is the
    referral's. A hazard's: the timeline holds the late record and the withdrawal (the hazard's
    record as it stands). A key enterprise's missed cycle's (subject_kind department): the timeline
    is the cycle's steps as the referral went, and `reason` names the record."""


Measure = Literal["fine", "suspend", "suspend_for_overhaul", "utility_stop_notice"]


class AmountRange(Output):
    """The range a fine may fall in, in CNY, as the law sets it (the decision picks the amount)."""

    min: Annotated[int, Field(ge=0)]
    max: Annotated[int, Field(ge=0)]


class EnforcementProposed(Output):
    """Data of `safety.enforcement.proposed`: a measure the rules propose against an enterprise."""

    proposal_id: str
    hazard_id: str
    enterprise: Enterprise
    measure: Measure = Field(description="fine (罚款), suspend (责令暂时停产停业, art. 65), "
                             "suspend_for_overhaul (责令停产停业整顿, art. 102), utility_stop_notice "
                             "(通知停止供电, art. 70)")
    legal_basis: str
    amount_range_cny: AmountRange | None = Field(description="for fines: the statutory range")
    needs_legal_review: bool = Field(description="whether legal review (法制审核) must come first")
    due_at: AwareDatetime | None = Field(description="when the legal review (if needed), else the "
                                         "decision, is due")
    due_at_latest: AwareDatetime | None = Field(
        default=None, description="(extension) present only when due_at is approximate: it counts "
        "working days into a year whose holiday notice (国务院办公厅 放假安排) is not yet published, "
        "and the notice may move the day as late as this")
    due_counted_from: AwareDatetime | None = Field(
        default=None, description="(extension) present only when due_at counts from later than the "
        "proposal's own time: the hazard's report, its confirmation, the failed review that set its "
        "deadline or (for utility_stop_notice) the violation that dates it reached the engine late "
        "(an app offline), so the proposal went out late, and the department could know of it only "
        "from this time")
    rule_id: str
    rules_version: str
    caused_by: list[str]


class EnforcementWithdrawn(EnforcementProposed):
    """Data of `safety.enforcement.withdrawn` (an extension of the contract, on enforcement.actions):
    a proposal sent before a record showed its premise false, withdrawn (the enterprise claimed
    the rectification complete before the step that proposed it, on an app that was offline; an
    order lifted before the violation an art. 70 proposal went on, its record late).
    `proposal_id` is the proposal's, and the other fields restate it as it was sent, its due time
    too (for a proposal sent by an engine of stored format 12, 2026-12-07, or later: before, a due
    time that a late confirmation moved since was restated as it stood), save what the rules give:
    `legal_basis`, `amount_range_cny`, `rules_version`, and the working days counted to the due
    time are the rules' in force when it is withdrawn. `reason` says why."""

    reason: str
    reason_zh: str | None = Field(default=None, description=REASON_ZH)


class CreditProposed(Output):
    """Data of `safety.credit.proposed`: the rules propose listing an enterprise as dishonest (失信).

    A proposal, not a decision: it counts only once a supervisor's
    `safety.credit.decided` records the decision, and nothing is published before.
    """

    proposal_id: str
    enterprise: dict[str, str | None] = Field(description="uscc and name (as known)")
    criterion: Literal["violated_suspension", "repeated_overdue_major", "refused_inspection"]
    legal_basis: str
    reason: str
    reason_zh: str | None = Field(default=None, description=REASON_ZH)
    evidence: list[dict[str, object]] = Field(description="the hazards, orders or inspections it rests on")
    needs_decision: bool = Field(description="always true: a person decides (safety.credit.decided)")
    town: str | None = None
    proposed_at: AwareDatetime


class CreditWithdrawn(CreditProposed):
    """Data of `safety.credit.withdrawn` (an extension, on credit.proposals): a proposal sent before a
    record showed its premise false, withdrawn. A major hazard it counted overdue was claimed
    complete by its deadline on an app that was offline, the claim recorded after the proposal.
    `proposal_id` is the proposal's; `reason` says why the withdrawal."""

    decided: str | None = Field(
        default=None, description="the outcome of a person's decision (safety.credit.decided) on "
        "file for the proposal when it was withdrawn, e.g. listed; null if none was. The engine "
        "does not undo a decision: the department that made it reviews it")


class PublishedPick(Output):
    """One enterprise of a published draw: who was sent, and what its inspection found."""

    uscc: str
    name: str | None = None
    town: str | None = None
    inspectors: list[str]
    inspections_in_period: int
    last_inspection: dict[str, object] | None = Field(
        description="the period's last inspection on file: inspection_id, kind, time, findings")
    refused_in_period: list[dict[str, str]] = Field(
        default_factory=list,
        description="inspections of the period the enterprise refused or obstructed (拒绝、阻碍检查): "
                    "inspection_id, time; a refusal is a result, published like a finding")


class InspectionsPublished(Output):
    """Data of `safety.inspection.published` (双随机、一公开): a draw and its results, once inspected."""

    draw_id: str
    period: str
    seed: str
    method: str
    inputs_sha256: str = Field(description="SHA-256 of the recorded draw's inputs, for an audit")
    picks: list[PublishedPick]
    rules_version: str


class Person(Output):
    """A person named in the records of a case, with the role in which they were recorded."""

    name: str
    role: str = Field(description="e.g. responsible_person (整改责任人) from the rectification plan")
    named_at: AwareDatetime | None = Field(
        default=None, description="(extension) the time of the record that names them: for "
        "responsible_person, the rectification plan standing when the violation was found (the latest "
        "made by then), never a later one")


class JudicialReferral(Output):
    """Data of `safety.referral.judicial`: a transfer to the public security bureau (行刑衔接)."""

    referral_id: str
    hazard_id: str
    enterprise: Enterprise | None
    persons: list[Person]
    persons_note: str | None = Field(
        default=None, description="(extension) on what record `persons` names each person, or why it "
        "names nobody: no rectification plan on record was made by the time the violation was found, "
        "so no record says who was responsible then")
    persons_note_zh: str | None = Field(default=None, description="(extension) `persons_note` in Chinese")
    offence: str = Field(description="e.g. 刑法 art. 134-1 (危险作业罪)")
    recipient: Target
    order_no: str | None = Field(default=None, description="the order found violated")
    evidence: list[str] = Field(default_factory=list, description="URIs of the violation's evidence")
    timeline: list[TimelineItem]
    rules_version: str


class JudicialWithdrawn(JudicialReferral):
    """Data of `safety.referral.judicial_withdrawn` (an extension, on referrals.judicial): a transfer
    sent before a record showed its premise false, withdrawn. The order was lifted (解除) before the
    violation it was transferred for, and the lifting's record reached the engine after it, so no
    order in force was violated. `referral_id` is the transfer's; `reason` says why."""

    reason: str
    reason_zh: str | None = Field(default=None, description=REASON_ZH)


class NotificationDue(Output):
    """Data of `safety.notification.due` (v2): a notice the law requires to other bodies.

    E.g. 493号令 art. 10: a production-safety accident reported up the levels is
    notified at the same time to the public security organ, the human resources
    and social security department, the trade union and the procuratorate.
    """

    notification_id: str
    subject_kind: Literal["hazard", "alert"]
    subject_id: str
    recipients: Annotated[list[Target], Field(min_length=1)]
    legal_basis: str
    reason: str
    reason_zh: str | None = Field(default=None, description=REASON_ZH)
    due_at: AwareDatetime | None = Field(description="by when the notice must have gone out")
    incident_class: str | None = None
    grade: str | None = None
    town: str | None = None
    rule_id: str
    rules_version: str
    caused_by: list[str]


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
    "safety.referral.withdrawn": (REFERRALS_DISCIPLINE, ReferralWithdrawn),
    "safety.enforcement.proposed": (ENFORCEMENT_ACTIONS, EnforcementProposed),
    "safety.enforcement.withdrawn": (ENFORCEMENT_ACTIONS, EnforcementWithdrawn),
    "safety.referral.judicial": (REFERRALS_JUDICIAL, JudicialReferral),
    "safety.referral.judicial_withdrawn": (REFERRALS_JUDICIAL, JudicialWithdrawn),
    "safety.notification.due": (NOTIFICATIONS, NotificationDue),
    "safety.intake.rejected": (INTAKE_REJECTED, IntakeRejected),
    "safety.credit.proposed": (CREDIT_PROPOSALS, CreditProposed),
    "safety.credit.withdrawn": (CREDIT_PROPOSALS, CreditWithdrawn),
    "safety.inspection.published": (INSPECTIONS_PUBLIC, InspectionsPublished),
}
