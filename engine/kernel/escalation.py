"""The one builder of `safety.escalation.raised`, whatever the subject: hazard, alert, enterprise, plan.

Each core says what is escalated, to whom and why; the event's shape (contract
section 4) is built here once. `response_level` is an alert's only: the key is
left out of every other subject's escalation, as it always was.
"""

from __future__ import annotations

from typing import Any

from engine.contract.outputs import ESCALATIONS
from engine.kernel.ids import output_id
from engine.kernel.outputs import Out, envelope
from engine.kernel.targets import Unit
from engine.kernel.time import iso

_NO_LEVEL = object()


def escalation_id(subject_id: str, rule_id: str, action: str, key: object) -> str:
    """The id of a rule's escalation: the subject, the rule, the action and what makes it this one."""
    return output_id("escalation", subject_id, rule_id, action, key)


def escalation(eid: str, *, subject_kind: str, subject_id: str, action: str, tier: str | None,
               targets: list[Unit], reason: str, rule_id: str, rules_version: str, at: int,
               due_at: int | None, town: str | None, sector: str | None, grade: str | None,
               caused_by: list[str], response_level: Any = _NO_LEVEL, reason_zh: str | None = None) -> Out:
    """A `safety.escalation.raised` event with id `eid`, keyed and addressed by its subject; with
    `reason_zh`, the reason in Chinese too (engine/zh/reason.py)."""
    data: dict[str, Any] = {"escalation_id": eid, "subject_kind": subject_kind, "subject_id": subject_id,
                            "action": action, "tier": tier}
    if response_level is not _NO_LEVEL:
        data["response_level"] = response_level
    data["targets"], data["reason"] = targets, reason
    if reason_zh is not None:
        data["reason_zh"] = reason_zh
    data.update({"rule_id": rule_id,
                 "rules_version": rules_version, "due_at": iso(due_at), "town": town, "sector": sector,
                 "grade": grade, "caused_by": caused_by})
    return Out(ESCALATIONS, subject_id, envelope("safety.escalation.raised", eid, subject_id, at, data))
