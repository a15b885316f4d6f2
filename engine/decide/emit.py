"""Building output events: escalations, listed-supervision notices, referrals.

Every id is derived from the subject and the decision (rule, cycle, step,
due time), never from the wall clock or from which event happened to trigger
it, so a replay or a crash recovery produces the same ids.
"""

from __future__ import annotations

from typing import Any

from engine.contract.outputs import (
    ENFORCEMENT_ACTIONS,
    REFERRALS_DISCIPLINE,
    REFERRALS_JUDICIAL,
    SUPERVISION_LISTED,
)
from engine.decide.state import Hazard
from engine.kernel.escalation import escalation as kernel_escalation
from engine.kernel.escalation import escalation_id
from engine.kernel.ids import output_id
from engine.kernel.outputs import Out, envelope
from engine.kernel.referral import bounded, jurisdiction
from engine.kernel.targets import addressee, answerable, resolve, resolve_all
from engine.kernel.time import after, iso, latest
from engine.ruleset.compiled import Measure, Rules
from engine.zh.words import Words


def escalation(h: Hazard, rules: Rules, *, rule_id: str, action: str, tier: str, at: int,
               targets: list[dict[str, Any]], reason: str, key: object, caused_by: list[str],
               due_at: int | None = None) -> Out:
    """A `safety.escalation.raised` event about a hazard."""
    return kernel_escalation(
        escalation_id(h.id, rule_id, action, key), subject_kind="hazard", subject_id=h.id, action=action,
        tier=tier, targets=targets, reason=reason, rule_id=rule_id, rules_version=rules.version, at=at,
        due_at=due_at, town=h.town, sector=h.sector, grade=h.grade or h.claimed, caused_by=caused_by,
        reason_zh=Words("zh", rules.reference).reason(reason))


def supervision_listed(h: Hazard, rules: Rules, at: int) -> Out:
    """The listed-supervision notice (挂牌督办通知)."""
    notice_no, _, deadline, _ = h.listed  # type: ignore[misc]
    ls = rules.supervision
    data = {
        "notice_no": notice_no, "hazard_id": h.id,
        "enterprise": {"uscc": h.enterprise[0], "name": h.enterprise[1]} if h.enterprise else None,
        "supervising_body": resolve(ls.supervising_body, h, rules)[0],
        "responsible_units": resolve_all(ls.responsible_units, h, rules),
        "deadline": iso(deadline), "legal_basis": ls.legal_basis, "rules_version": rules.version,
    }
    # The issue time is part of the id: a notice re-issued A -> B -> A is three notices.
    eid = output_id("supervision.listed", h.id, notice_no, deadline, at)
    return Out(SUPERVISION_LISTED, h.id, envelope("safety.supervision.listed", eid, h.id, at, data))


def supervision_lifted(h: Hazard, rules: Rules, at: int, reason: str) -> Out:
    """The lifting of listed supervision (摘牌): the review passed, or a later verification found the
    hazard not a major one (engine/decide/lifecycle.py `_unlisted`)."""
    notice_no = h.listed[0]  # type: ignore[index]
    data = Words("zh", rules.reference).said({"notice_no": notice_no, "hazard_id": h.id, "reason": reason,
                                              "lifted_at": iso(at), "rules_version": rules.version})
    eid = output_id("supervision.lifted", h.id, notice_no)
    return Out(SUPERVISION_LISTED, h.id, envelope("safety.supervision.lifted", eid, h.id, at, data))


def referral(h: Hazard, rules: Rules, *, ground_id: str, code: str, reason: str, at: int,
             respondents: list[dict[str, Any]]) -> Out:
    """A referral to discipline inspection (抄报移送纪委监委) carrying the whole timeline."""
    rid = output_id("referral", h.id, ground_id)
    # load_rules admits only public bodies as respondents; `answerable` keeps it so whatever a target
    # resolves to, and names after each body the officials the reference says answer for it.
    respondents = answerable(respondents, rules.reference)
    data = {"referral_id": rid, "subject_kind": "hazard", "subject_id": h.id,
            "respondents": [{k: r[k] for k in ("kind", "id", "name")} for r in respondents],
            "grounds": code, "reason": reason, "timeline": _timeline(h, rules),
            "rules_version": rules.version}
    zh = Words("zh", rules.reference)
    zh.said(data)
    data.update(jurisdiction(respondents, rules.reference, addressee(rules), zh.reason))
    return Out(REFERRALS_DISCIPLINE, h.id, envelope("safety.referral.discipline", rid, h.id, at, data))


def enforcement_proposed(h: Hazard, rules: Rules, measure: Measure, *, rule_id: str, at: int,
                         key: object, caused_by: list[str], counted_from: int | None = None) -> Out:
    """A proposal of an enforcement measure against the hazard's enterprise (never a public body),
    made at `at` and due the measure's `due_within` after `counted_from` (default `at`): when the
    department could first know of it, sent beside the due time when later (`due_counted_from`).

    When that counts working days into a year no holiday notice covers yet, the day is approximate
    and the latest it may truly fall is sent beside it (`due_at_latest`)."""
    start = at if counted_from is None else counted_from
    due_at = after(measure.due_within, start, rules).at
    due_at_latest = latest(measure.due_within, start, due_at, rules)
    pid = proposal_id(h, rule_id, measure, key)
    amount = measure.amount_range_cny
    data = {
        "proposal_id": pid, "hazard_id": h.id,
        "enterprise": {"uscc": h.enterprise[0], "name": h.enterprise[1]},  # type: ignore[index]
        "measure": measure.id, "legal_basis": measure.legal_basis,
        "amount_range_cny": {"min": amount[0], "max": amount[1]} if amount else None,
        "needs_legal_review": measure.needs_legal_review, "due_at": iso(due_at),
        **({"due_at_latest": iso(due_at_latest)} if due_at_latest != due_at else {}),
        **({"due_counted_from": iso(start)} if start != at else {}),
        "rule_id": rule_id, "rules_version": rules.version, "caused_by": caused_by,
    }
    return Out(ENFORCEMENT_ACTIONS, h.id, envelope("safety.enforcement.proposed", pid, h.id, at, data))


def proposal_id(h: Hazard, rule_id: str, measure: Measure, key: object) -> str:
    """The id of the enforcement proposal of `measure` that rule `rule_id` makes about `h` under `key`."""
    return output_id("enforcement", h.id, rule_id, measure.id, key)


def _timeline(h: Hazard, rules: Rules) -> list[dict[str, Any]]:
    # In time order: events from offline apps arrive late, and history is kept in arrival order.
    zh = Words("zh", rules.reference)
    return bounded([zh.timeline_item(t, e, w) for t, e, w in sorted(h.timeline(), key=lambda i: i[0])])


def judicial_referral(h: Hazard, rules: Rules, *, order_no: str, at: int, evidence: list[str],
                      again: str | None = None) -> Out:
    """A transfer to the public security bureau (行刑衔接) of an order on a major hazard found violated
    at `at`; `again`: "#2", "#3"... for a transfer of the order sent again after one was withdrawn."""
    j = rules.judicial
    rid = output_id("judicial", h.id, order_no) if again is None else output_id("judicial", h.id, order_no,
                                                                                 again)
    data = {
        "referral_id": rid, "hazard_id": h.id,
        "enterprise": {"uscc": h.enterprise[0], "name": h.enterprise[1]} if h.enterprise else None,
        **_persons(h, at, Words("zh", rules.reference)),
        "offence": j.offence,  # type: ignore[union-attr]
        "recipient": resolve(j.recipient, h, rules)[0],  # type: ignore[union-attr]
        "order_no": order_no, "evidence": evidence, "timeline": _timeline(h, rules),
        "rules_version": rules.version,
    }
    return Out(REFERRALS_JUDICIAL, h.id, envelope("safety.referral.judicial", rid, h.id, at, data))


def _persons(h: Hazard, found: int, zh: Words) -> dict[str, Any]:
    """Who a transfer names, and on what record (`persons`, `persons_note`): the responsible person
    (整改责任人) of the rectification plan standing when the violation was found (`responsible_by`),
    never one a later plan named; nobody, and the note says so, when no plan kept was made by then.
    The plan names who was to rectify the hazard: no record says who worked on under the order."""
    plan = h.responsible_by(found)
    if plan is None:
        note = (f"No person is named: no rectification plan kept on record was made by {iso(found)}, "
                "when the violation was found, so no record says who was responsible then")
        persons = []
    else:
        note = (f"The person named is the responsible person (整改责任人) of the rectification plan of "
                f"{iso(plan[0])}, the latest made by {iso(found)}, when the violation was found; no record "
                "names who worked on under the order")
        persons = [{"name": plan[1], "role": "responsible_person", "named_at": iso(plan[0])}]
    return {"persons": persons, "persons_note": note, "persons_note_zh": zh.reason(note)}
