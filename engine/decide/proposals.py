"""The due time of each enforcement proposal: watched until a record answers it.

A proposal on `enforcement.actions` names its `due_at`: the time for its legal
review (法制审核) when the measure needs one, else for the decision itself
(rules/hazards.yaml `enforcement`). The plans ask for the whole of enforcement
to be supervised (line 608, "强化执法全过程监督"); a proposal nobody reviews or
decides is the gap this closes. When no record answers a proposal by its due
time, the rules' `proposal_due` tells the units it names; a record made in time
that reaches the engine later takes that back, and so does the proposal's own
withdrawal.

What answers a proposal (`answered`): its legal review, by proposal id, of
either outcome; for a measure decided without one, a decision of its kind (a
fine's penalty decision, a suspension's order). Such a decision answers every
proposal of its measure made by its time; made before any, it answers the
earliest (the department acted first), and those made with it in the same
second. A later one, made after a failed review ran the ladder again, needs a
decision since. Nothing records a notice to stop power supply, so such a
proposal is watched only when it needs legal review.

The facts are kept on the hazard (`Hazard.proposals`, `Hazard.answers`), so the
clock is derived like every other (engine/decide/clocks.py `derive`).
"""

from __future__ import annotations

from typing import Any

from engine.decide import emit
from engine.decide.state import Hazard
from engine.kernel.outputs import Out
from engine.kernel.targets import resolve_all
from engine.kernel.time import after, iso, latest
from engine.ruleset.compiled import Measure, ProposalDue, Rules
from engine.zh.words import ANSWER_RECORDS

# The decision that answers a measure decided without legal review: a penalty decision
# (safety.enforcement.penalized) or an order of the measure's own kind (safety.enforcement.ordered).
_DECIDED_BY = {"fine": "penalized", "suspend": "suspend", "suspend_for_overhaul": "suspend_for_overhaul"}


ESCALATED, WITHDRAWN = "escalated", "withdrawn"


def note(h: Hazard, rules: Rules, measure: Measure, sent: Out, at: int) -> None:
    """Keep the facts of a proposal sent, made at `at`: it is watched from now on. Its due time is
    the latest it may fall (`due_at_latest` when a holiday notice is missing), never earlier."""
    pid = sent.event["data"]["proposal_id"]
    if any(p[0] == pid for p in h.proposals):
        return
    due = latest(measure.due_within, at, after(measure.due_within, at, rules).at, rules)
    h.proposals.append([pid, measure.id, at, due, measure.needs_legal_review, None])
    h.proposals.sort(key=lambda p: (p[2], p[0]))  # arrival order must not matter


def watched(p: list[Any]) -> bool:
    """Whether a record can answer proposal `p`: its legal review, or a decision of its kind."""
    return bool(p[4]) or p[1] in _DECIDED_BY


def answered(h: Hazard, p: list[Any]) -> tuple[int, str, str] | None:
    """The earliest record on file that answers proposal `p`: (its time, its kind, its event id)."""
    pid, measure, made, _, review, _ = p
    if review:
        found = [(a[2], a[0], a[3]) for a in h.answers if a[0] == "legal_reviewed" and a[1] == pid]
    else:
        kind = _DECIDED_BY.get(measure)
        if kind == "penalized":
            found = [(a[2], a[0], a[3]) for a in h.answers if a[0] == "penalized"]
        else:
            found = [(o[2], "ordered", o[3]) for o in h.orders if o[1] == kind]
        made_all = [q[2] for q in h.proposals if q[1] == measure]
        # A decision answers the proposals of its measure made by its time; made before any, the
        # earliest (the department acted first). Times alone decide, whatever order records came in.
        found = [f for f in found if made <= f[0] or (min(made_all) > f[0] and made == min(made_all))]
    return min(found, default=None)


def due(h: Hazard, rules: Rules) -> int | None:
    """When the earliest proposal still unanswered falls due; None when none is watched."""
    if rules.proposal_due is None:
        return None
    return min((p[3] for p in h.proposals if _owed(h, p)), default=None)


def _owed(h: Hazard, p: list[Any]) -> bool:
    """Whether proposal `p` is to be escalated when it falls due: watched, not escalated yet, no
    record answers it, and the hazard not found unfounded or a duplicate by then (`_pressing`)."""
    return p[5] is None and watched(p) and answered(h, p) is None and _pressing(h, p[3])


def standing(h: Hazard) -> list[dict[str, Any]]:
    """Each proposal standing on the hazard, for a supervisor: when it was made and due, and where
    it stands (`awaiting` its review or decision, `answered` by a record dated by its due time,
    `answered_late`, `overdue` and escalated, `not_pressed`: the hazard was found unfounded or a
    duplicate, `not_watched`: nothing on record can answer it), with the record that answered it."""
    views = []
    for p in h.proposals:
        found = answered(h, p) if watched(p) else None
        views.append({"proposal_id": p[0], "measure": p[1], "proposed_at": iso(p[2]), "due": iso(p[3]),
                      "needs_legal_review": bool(p[4]), "status": _status(h, p, found),
                      "answered_by": {"record": found[1], "time": iso(found[0]), "event_id": found[2]}
                      if found else None})
    return views


def statuses(h: Hazard) -> dict[str, str]:
    """Where each proposal on the hazard stands (`standing`'s `status`), by proposal id."""
    return {p[0]: _status(h, p, answered(h, p) if watched(p) else None) for p in h.proposals}


def _status(h: Hazard, p: list[Any], found: tuple[int, str, str] | None) -> str:
    if not watched(p):
        return "not_watched"
    if found is not None:
        return "answered" if found[0] <= p[3] else "answered_late"
    if p[5] == ESCALATED:
        return "overdue"
    return "awaiting" if p[5] is None and _pressing(h, p[3]) else "not_pressed"


def _pressing(h: Hazard, t: int) -> bool:
    """Whether the hazard's enterprise is pressed for a decision due at `t`: unless the latest
    verification, made by then, found the hazard unfounded or a duplicate. The proposal has then
    lost its ground, whatever closed the hazard since (a review passed later revives nothing); a
    verification after `t` leaves the proposal as it stood at `t`."""
    return not (h.verdict in ("unfounded", "duplicate") and h.verified_at is not None and h.verified_at <= t)


def _what(p: list[Any]) -> str:
    return "legal review (法制审核)" if p[4] else "decision"


def overdue(h: Hazard, rules: Rules, at: int, cause: str) -> list[Out]:
    """Run out the proposals' clock at `at`: tell the rule's units of each proposal due by then that
    no record answers (`proposal_overdue`)."""
    rule = rules.proposal_due
    if rule is None:
        return []
    outs: list[Out] = []
    for p in h.proposals:
        if p[3] > at or not _owed(h, p):
            continue
        p[5] = ESCALATED
        pid, measure, made = p[0], p[1], p[2]
        uscc = h.enterprise[0] if h.enterprise else "?"
        reason = (f"Enforcement proposal {pid} ({measure}) against {uscc}, made {iso(made)}, "
                  f"has no {_what(p)} on record by {iso(p[3])}")
        h.history.append([at, cause, f"proposal {pid} ({measure}): no {_what(p)} on record by {iso(p[3])}"])
        outs.append(_escalation(h, rule, rules, p, "proposal_overdue", at, reason, cause))
    return outs


def _escalation(h: Hazard, rule: ProposalDue, rules: Rules, p: list[Any], action: str, at: int,
                reason: str, cause: str) -> Out:
    return emit.escalation(h, rules, rule_id=rule.rule_id, action=action, tier=rule.tier, at=at,
                           targets=resolve_all(rule.targets, h, rules), reason=reason, key=(p[0],),
                           caused_by=[cause], due_at=p[3])


def recorded(h: Hazard, kind: str, d: dict[str, Any], at: int, eid: str) -> None:
    """Keep a record that may answer a proposal: a legal review or a penalty decision (an order is
    kept on the hazard already, `Hazard.orders`)."""
    ref = d["proposal_id"] if kind == "legal_reviewed" else d["decision_no"]
    if not any(a[3] == eid for a in h.answers):
        h.answers.append([kind, ref, at, eid])
        h.answers.sort(key=lambda a: (a[2], a[3]))


def answered_late(h: Hazard, rules: Rules, eid: str, decided: int) -> list[Out]:
    """Take back each overdue escalation that record `eid`, reaching the engine at `decided`, shows
    was not due: the record answers the proposal and was made by its due time. (With the rules'
    `proposal_due` taken out since, it stands: nobody is told by a rule that no longer is.)"""
    rule = rules.proposal_due
    if rule is None:
        return []
    outs: list[Out] = []
    for p in h.proposals:
        found = answered(h, p) if p[5] == ESCALATED else None
        if found is not None and found[2] == eid and found[0] <= p[3]:
            what, made = ANSWER_RECORDS[found[1]], iso(found[0])
            outs.append(_take_back(h, rule, rules, p, eid, decided, f"the {what} {eid} of {made}, by",
                                   f"{what} made on {made}"))
    return outs


def dismissed(h: Hazard, rules: Rules, verdict: str, done: int, eid: str, decided: int) -> list[Out]:
    """A verification at `done` that found the hazard unfounded or a duplicate, reaching the engine
    at `decided`, takes back each overdue escalation of a proposal due after it: from then nobody
    was to be pressed to decide it (`due`). Taken back, it is not raised again should a later
    verification confirm the hazard once more."""
    rule = rules.proposal_due
    if rule is None:
        return []
    return [_take_back(h, rule, rules, p, eid, decided,
                       f"the verification {eid} of {iso(done)}, which found it {verdict} before",
                       f"found {verdict} on {iso(done)}")
            for p in h.proposals if p[5] == ESCALATED and p[3] > done]


def _take_back(h: Hazard, rule: ProposalDue, rules: Rules, p: list[Any], eid: str, decided: int, why: str,
               how: str) -> Out:
    """Take back proposal `p`'s overdue escalation for record `eid`, which reached the engine at
    `decided`: `why` begins the reason, which goes on " the due time {due} of proposal {id}, reached
    the engine after it"; `how` ends the record's line."""
    p[5] = WITHDRAWN
    h.history.append([decided, eid, f"proposal {p[0]}: the escalation that it was overdue withdrawn: {how}"])
    reason = (f"The escalation {rule.rule_id} of {h.id} is withdrawn: {why} the due time {iso(p[3])} of "
              f"proposal {p[0]}, reached the engine after it")
    return _escalation(h, rule, rules, p, "failure_withdrawn", decided, reason, eid)


def gone(h: Hazard, rules: Rules, withdrawn: list[Out], at: int, cause: str) -> list[Out]:
    """Forget the proposals `withdrawn` (as their withdrawals were sent, at `at`): their clock
    stops, and an escalation that one was overdue is taken back too."""
    ids = {o.event["data"]["proposal_id"] for o in withdrawn if "proposal_id" in o.event["data"]}
    rule = rules.proposal_due
    outs: list[Out] = []
    for p in [p for p in h.proposals if p[0] in ids]:
        h.proposals.remove(p)
        if p[5] == ESCALATED and rule is not None:
            reason = f"The escalation {rule.rule_id} of {h.id} is withdrawn: proposal {p[0]} was withdrawn"
            outs.append(_escalation(h, rule, rules, p, "failure_withdrawn", at, reason, cause))
    return outs
