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
`safety.enforcement.withdrawn`, and so is a proposal for the credit list that
counted the hazard overdue (`safety.credit.withdrawn`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson

from engine.kernel.ids import output_id
from engine.kernel.outputs import Out, envelope
from engine.kernel.time import after, epoch
from engine.reference.compiled import Reference

# What withdraws each kind of output sent, and the name its ids are derived under.
WITHDRAWN = {"safety.referral.discipline": ("safety.referral.withdrawn", "referral.withdrawn"),
             "safety.enforcement.proposed": ("safety.enforcement.withdrawn", "enforcement.withdrawn"),
             "safety.credit.proposed": ("safety.credit.withdrawn", "credit.withdrawn"),
             "safety.referral.judicial": ("safety.referral.judicial_withdrawn", "judicial.withdrawn")}


# Why the district's discipline commission is not the supervisory body of a department's officials,
# by the department's level (rules/reference/departments.yaml; engine/zh/reason.py reads each back).
_NOT_THE_DISTRICTS = {
    "city_branch": "is a branch of a city bureau, its officials managed by the city, not the district",
    "vertical": "is managed vertically from above the district (垂直管理), its officials not the district's",
}


def jurisdiction(respondents: Iterable[dict[str, Any]], reference: Reference, addressee: str,
                 say: Callable[[str], str | None]) -> dict[str, str]:
    """What a referral to `addressee`, the district's discipline commission, says of each respondent
    department whose officials the district does not manage (`Department.district_managed`):
    監察 follows who manages the cadres (管理权限, 监察法 art. 16, 2018 numbering), so the district's
    commission is not their supervisory body and is asked to pass the referral on to the one that
    is, which the engine does not know (contract v2 names no body beyond the district's). Empty
    for a referral of the district's own bodies. `say` gives each sentence in Chinese."""
    notes = []
    for unit in respondents:
        dept = reference.department(unit["id"]) if unit["kind"] == "department" else None
        if dept is not None and not dept.district_managed:
            notes.append(f"{dept.name} {_NOT_THE_DISTRICTS[dept.level]} (管理权限): {addressee} is not "
                         "their supervisory body and is asked to pass this on to the one that is")
    if not notes:
        return {}
    said = [say(n) for n in notes]
    return {"jurisdiction_note": "; ".join(notes),
            **({"jurisdiction_note_zh": "；".join(said)} if all(said) else {})}  # type: ignore[arg-type]


# The most JSON a referral's timeline takes: the referral topics take records of 4 MiB, and a
# record the broker refuses would stop its partition's worker for good.
TIMELINE_BYTES = 1024 * 1024
_OMITTED_ROOM = 1024  # for the line that says what was left out


def bounded(items: list[dict[str, Any]], budget: int = TIMELINE_BYTES) -> list[dict[str, Any]]:
    """A referral's timeline as it is sent: whole while its JSON fits `budget` bytes, else its
    first steps (a quarter of the budget) and its latest (the rest), with one line between them
    saying how many steps it leaves out and from when to when. The subject's whole record stays
    in the engine (`hazard-engine show`): a hazard that thousands of events reached (a field app
    resending with fresh ids) is still referred, not stuck on a record too large to send."""
    sizes = [len(orjson.dumps(item)) + 1 for item in items]
    if sum(sizes) <= budget:
        return items
    head, used = 0, 0
    while head < len(items) and used + sizes[head] <= budget // 4:
        used += sizes[head]
        head += 1
    tail, used = len(items), 0
    while tail > head and used + sizes[tail - 1] <= budget - budget // 4 - _OMITTED_ROOM:
        tail -= 1
        used += sizes[tail]
    first, last, count = items[head]["time"], items[tail - 1]["time"], tail - head
    note = {"time": first, "event_id": "omitted",
            "what": f"{count} steps from {first} to {last} are left out here to keep this record under "
                    f"{budget} bytes; the subject's whole record stays in the engine (hazard-engine show)",
            "what_zh": f"此处略去 {first} 至 {last} 的 {count} 条记录（本件不超过 {budget} 字节）；"
                       "完整记录保存在引擎中（hazard-engine show）"}
    return [*items[:head], note, *items[tail:]]


def hold(rules: Any) -> Any | None:
    """How long a referral for a deadline missed waits for a record dated by it (a Span of the
    hazard rules' `late_after`); None when it does not wait (no late_arrival, or 0 minutes)."""
    span = rules.late_after
    return span if span is not None and span.n > 0 else None


def released(missed_at: int, rules: Any) -> int:
    """When a referral for a deadline missed at `missed_at` is sent, unless a record withdraws it."""
    wait = hold(rules)
    return missed_at if wait is None else after(wait, missed_at, rules).at


def reached(entry: dict[str, Any], done: int) -> int | None:
    """When a record made at `done` reached the engine, where intake could vouch for it (its
    `arrived_at`, never before `done`); None where it could not."""
    arrival = entry.get("arrived_at")
    return None if arrival is None else max(done, epoch(arrival))


def decided_at(entry: dict[str, Any], done: int, watermark: int) -> int:
    """When a record of a duty done at `done` withdraws a failure: when it reached the engine
    (`reached`), else the latest time its subject was brought to, so never before the failure it
    withdraws."""
    return max(done, watermark, reached(entry, done) or done)


def withdrawal(sent: Out, reason: str, at: int, reason_zh: str | None = None) -> Out:
    """The withdrawal of `sent` (a referral, an enforcement or a credit proposal, as it was sent):
    its data, with `reason` saying why, as the type `WITHDRAWN` names, of an id of its own, on the
    same topic and key; the data keeps the withdrawn one's id (`referral_id`, `proposal_id`)."""
    event = sent.event
    kind, name = WITHDRAWN[event["type"]]
    data: dict[str, Any] = {**event["data"], "reason": reason}
    data.pop("reason_zh", None)  # the withdrawn one's: this one's reason is another
    if reason_zh is not None:
        data["reason_zh"] = reason_zh
    return Out(sent.topic, sent.key, envelope(kind, output_id(name, event["id"]), event["subject"], at, data))
