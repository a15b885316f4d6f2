"""Referrals for a missed deadline that a late record may still take back, for every core.

A department's record of a duty done in time can reach the engine after the
deadline it met: a tablet offline on an inspection, a verification entered in
the field. So a referral to discipline inspection (抄报移送纪委监委) for a missed
deadline waits `hold` after it, the span the rules give an event to arrive
(`duties.late_arrival.after` in rules/hazards.yaml), and a record dated by the
deadline withdraws the failure whenever it comes: a held referral is not sent,
and one sent already is withdrawn with `safety.referral.withdrawn` (`withdrawal`).
An enforcement proposal against an enterprise whose premise a late record
undoes (a completion claimed in time) is withdrawn the same way, with
`safety.enforcement.withdrawn`.
"""

from __future__ import annotations

from typing import Any

from engine.kernel.ids import output_id
from engine.kernel.outputs import Out, envelope
from engine.kernel.time import after, epoch

# What withdraws each kind of output sent, and the name its ids are derived under.
WITHDRAWN = {"safety.referral.discipline": ("safety.referral.withdrawn", "referral.withdrawn"),
             "safety.enforcement.proposed": ("safety.enforcement.withdrawn", "enforcement.withdrawn")}


def hold(rules: Any) -> Any | None:
    """How long a referral for a deadline missed waits for a record dated by it (a Span of the
    hazard rules' `late_after`); None when it does not wait (no late_arrival, or 0 minutes)."""
    span = rules.late_after
    return span if span is not None and span.n > 0 else None


def released(missed_at: int, rules: Any) -> int:
    """When a referral for a deadline missed at `missed_at` is sent, unless a record withdraws it."""
    wait = hold(rules)
    return missed_at if wait is None else after(wait, missed_at, rules).at


def decided_at(entry: dict[str, Any], done: int, watermark: int) -> int:
    """When a record of a duty done at `done` withdraws a failure: when it reached the engine (its
    `arrived_at`, where intake could vouch for it), else the latest time its subject was brought
    to, so never before the failure it withdraws."""
    arrival = entry.get("arrived_at")
    return max(done, watermark, done if arrival is None else epoch(arrival))


def withdrawal(sent: Out, reason: str, at: int) -> Out:
    """The withdrawal of `sent` (a referral or an enforcement proposal, as it was sent): its data,
    with `reason` saying why, as a `safety.referral.withdrawn` or `safety.enforcement.withdrawn`
    of an id of its own, on the same topic and key; the data keeps the withdrawn one's id
    (`referral_id`, `proposal_id`)."""
    event = sent.event
    kind, name = WITHDRAWN[event["type"]]
    data: dict[str, Any] = {**event["data"], "reason": reason}
    return Out(sent.topic, sent.key, envelope(kind, output_id(name, event["id"]), event["subject"], at, data))
