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

A review that approves a proposal leaves its decision to be made: when the
measure names a `decide_within`, the decision (a record of its kind, as above)
is due that long after the earliest approving review (`decision_due`), and is
watched the same way (`decision_overdue`, and the same take-backs). A returned
review ends the watch: the department may revise the case or drop it, and no
record says which.

An escalation taken back because a verification found the hazard unfounded or
a duplicate before the due time is raised again when a verification recorded
later, dated between that one and the due time, confirms the hazard
(`confirmed`): time order would have escalated it and left it standing. Each
raising again has an id of its own (the watch's count of them, in its key),
and so has each take-back. When the dismissal reached the engine before the
due time, nothing went then: such a confirmation raises the escalation late,
when it comes, under the id time order gives it, and its reason names it, as
a raising again's does. An approving review that reaches the engine after the
decision it gave a time to was due raises that decision's escalation the same
way (`approved_late`).

The facts are kept on the hazard (`Hazard.proposals`, `Hazard.answers`), so the
clock is derived like every other (engine/decide/clocks.py `derive`).
"""

from __future__ import annotations

from typing import Any

from engine.decide import emit
from engine.decide.state import DISMISSALS, Hazard
from engine.kernel.outputs import Out
from engine.kernel.targets import resolve_all
from engine.kernel.time import after, epoch, iso, latest
from engine.ruleset.compiled import Measure, ProposalDue, Rules
from engine.zh.words import ANSWER_RECORDS

# The decision that answers a measure decided without legal review: a penalty decision
# (safety.enforcement.penalized) or an order of the measure's own kind (safety.enforcement.ordered).
_DECIDED_BY = {"fine": "penalized", "suspend": "suspend", "suspend_for_overhaul": "suspend_for_overhaul"}


ESCALATED, WITHDRAWN = "escalated", "withdrawn"
# The places of a proposal's two watches' states: its review (or decision), its decision after approval;
# and how often each was raised again after a take-back (None: never).
_STATE, _DUE2, _DECISION, _AGAIN, _AGAIN2 = 5, 6, 7, 8, 9
# Where its time to be answered counted from as it was sent (None in a row stored before format 12).
_FROM = 10


def note(h: Hazard, rules: Rules, measure: Measure, sent: Out, at: int, start: int | None = None) -> None:
    """Keep the facts of a proposal sent, made at `at`, its time counted from `start` (default `at`;
    engine/decide/clocks.py `known`): it is watched from now on. Its due time is the latest it may
    fall (`due_at_latest` when a holiday notice is missing), never earlier."""
    pid = sent.event["data"]["proposal_id"]
    if any(p[0] == pid for p in h.proposals):
        return
    start = at if start is None else start
    due = latest(measure.due_within, start, after(measure.due_within, start, rules).at, rules)
    p = [pid, measure.id, at, due, measure.needs_legal_review, None, None, None, None, None, start]
    h.proposals.append(p)
    h.proposals.sort(key=lambda p: (p[2], p[0]))  # arrival order must not matter
    _approved_then(h, rules, p)  # a review on file already (the proposal made in its very second)


def on_file(h: Hazard, measure: str, t: int) -> str | None:
    """What already stands against the hazard's enterprise for `measure` at `t`, as the record says
    it, or None: a decision of its kind made by `t` (a fine's penalty decision, an order of the
    measure's own kind), else a proposal of it made before `t` and not withdrawn (`gone`), decided
    or not. The ladder proposes the measure no further (engine/decide/clocks.py `_ladder`): for the
    same hazard left unremoved, 行政处罚法 (2021) art. 29 allows one fine ("对当事人的同一个违法行为，
    不得给予两次以上罚款的行政处罚"), and 安全生产法 art. 102's step after it is 停产停业整顿, which
    the ladder's next step proposes; an order asked for or made already is not asked for again."""
    kind = _DECIDED_BY.get(measure)
    if kind == "penalized":
        decided = [(a[2], "penalty decision", a[1]) for a in h.answers if a[0] == kind and a[2] <= t]
    else:
        decided = [(o[2], "order", o[0]) for o in h.orders if o[1] == kind and o[2] <= t]
    made = [(p[2], "proposal", p[0]) for p in h.proposals if p[1] == measure and p[2] < t]
    stands = min(decided, default=None) or min(made, default=None)
    if stands is None:
        return None
    when, what, ref = stands
    # Art. 29 forbids a second fine decided, so it is cited where one was; a proposal still awaiting
    # its review or decision is simply pending, and the record says no more of it.
    law = " (一事不再罚, 行政处罚法 art. 29)" if measure == "fine" and what == "penalty decision" else ""
    return f"the {what} {ref} of {iso(when)} stands on this hazard{law}"


def went(h: Hazard, sent: Out) -> bool:
    """Whether the proposal `sent`, restated to be withdrawn, went when its ladder step ran: it is on
    file, or, where none of its measure is (a hazard stored before proposals were kept), nothing of
    its measure stood then to leave it out (`on_file`)."""
    d = sent.event["data"]
    if any(p[0] == d["proposal_id"] for p in h.proposals):
        return True
    return not any(p[1] == d["measure"] for p in h.proposals) and on_file(h, d["measure"],
                                                                          epoch(sent.event["time"])) is None


def counted_from(h: Hazard, pid: str, reckoned: int) -> int:
    """Where proposal `pid` counted its time to be answered from as it was sent, for its withdrawal
    to restate it so: a late record may have moved where such a proposal counts from since (a
    second confirmation reaching the engine late moves `clocks.known`). `reckoned`, where it counts
    from now, for a proposal not on file or on a row stored before format 12, which keeps none."""
    return next((p[_FROM] for p in h.proposals if p[0] == pid and p[_FROM] is not None), reckoned)


def watched(p: list[Any]) -> bool:
    """Whether a record can answer proposal `p`: its legal review, or a decision of its kind."""
    return bool(p[4]) or p[1] in _DECIDED_BY


def answered(h: Hazard, p: list[Any]) -> tuple[int, str, str] | None:
    """The earliest record on file that answers proposal `p`: (its time, its kind, its event id)."""
    if p[4]:
        return min(((a[2], a[0], a[3]) for a in h.answers if a[0] == "legal_reviewed" and a[1] == p[0]),
                   default=None)
    return decided(h, p)


def decided(h: Hazard, p: list[Any]) -> tuple[int, str, str] | None:
    """The earliest decision on file that decides proposal `p`'s measure: (its time, its kind, its
    event id). A decision answers the proposals of its measure made by its time; made before any,
    the earliest (the department acted first). Times alone decide, whatever order records came in."""
    kind = _DECIDED_BY.get(p[1])
    if kind is None:
        return None
    if kind == "penalized":
        found = [(a[2], a[0], a[3]) for a in h.answers if a[0] == "penalized"]
    else:
        found = [(o[2], "ordered", o[3]) for o in h.orders if o[1] == kind]
    made, first = p[2], min(q[2] for q in h.proposals if q[1] == p[1])
    return min((f for f in found if made <= f[0] or (first > f[0] and made == first)), default=None)


def approved(h: Hazard, p: list[Any]) -> tuple[int, str] | None:
    """The earliest legal review on file that approved proposal `p`: (its time, its event id). A
    review stored before outcomes were kept approved nothing this can tell."""
    return min(((a[2], a[3]) for a in h.answers
                if a[0] == "legal_reviewed" and a[1] == p[0] and a[4] == "approved"), default=None)


def _decision_due(rules: Rules, p: list[Any], approved_at: int) -> int | None:
    """When the decision on proposal `p` falls due, its legal review having approved it at
    `approved_at`: the measure's `decide_within` after it, at the latest it may fall; None when no
    decision is watched (no `decide_within`, or no record that could show it made)."""
    measure = rules.enforcement.get(p[1])
    if not p[4] or measure is None or measure.decide_within is None or p[1] not in _DECIDED_BY:
        return None
    span = measure.decide_within
    return latest(span, approved_at, after(span, approved_at, rules).at, rules)


def due(h: Hazard, rules: Rules) -> int | None:
    """When the earliest proposal still unanswered, or decision still not made after an approving
    review, falls due; None when none is watched."""
    if rules.proposal_due is None:
        return None
    dues = [p[3] for p in h.proposals if _owed(h, p)]
    dues += [d for p in h.proposals if (d := _decision_owed(h, p)) is not None]
    return min(dues, default=None)


def _owed(h: Hazard, p: list[Any]) -> bool:
    """Whether proposal `p` is to be escalated when it falls due: watched, not escalated yet, no
    record answers it by then (one made since, on file before the watch could run out, answers it
    late: time order escalated it and left it standing), and the hazard not found unfounded or a
    duplicate by then (`_pressing`)."""
    return (p[_STATE] is None and watched(p) and not _by(answered(h, p), p[3])
            and _pressing(h, p, p[3]))


def _decision_owed(h: Hazard, p: list[Any]) -> int | None:
    """When the decision on proposal `p` falls due, if it is to be escalated then: approved, not
    escalated yet, no decision on file made by then (as for `_owed`: an approving review recorded
    late can start the decision's time after a decision made too late is on file), and the hazard
    not found unfounded or a duplicate by then."""
    d = p[_DUE2]
    if p[_DECISION] is not None or d is None:
        return None
    return d if not _by(decided(h, p), d) and _pressing(h, p, d) else None


def _by(found: tuple[int, str, str] | None, due_at: int) -> bool:
    """Whether `found`, the record that answers a watch (`answered`, `decided`), was made by `due_at`."""
    return found is not None and found[0] <= due_at


def standing(h: Hazard) -> list[dict[str, Any]]:
    """Each proposal standing on the hazard, for a supervisor: when it was made and due, and where
    it stands (`awaiting` its review or decision, `answered` by a record dated by its due time,
    `answered_late`, `overdue` and escalated, `not_pressed`: the hazard was found unfounded or a
    duplicate, or, for an order to stop, rectified and accepted (`moot`), `not_watched`: nothing on
    record can answer it), with the record that answered it (a review with its outcome); once a
    review approved it, the decision then due (`decision`: when it is due, where it stands as
    above, and the decision on file)."""
    views = []
    for p in h.proposals:
        found = answered(h, p) if watched(p) else None
        views.append({"proposal_id": p[0], "measure": p[1], "proposed_at": iso(p[2]), "due": iso(p[3]),
                      "needs_legal_review": bool(p[4]), "status": _status(h, p, found),
                      "answered_by": _record(h, found), "decision": _decision(h, p)})
    return views


def _record(h: Hazard, found: tuple[int, str, str] | None) -> dict[str, Any] | None:
    """The record that answered a proposal, for a supervisor; a review's with its outcome."""
    if found is None:
        return None
    view = {"record": found[1], "time": iso(found[0]), "event_id": found[2]}
    if found[1] == "legal_reviewed":
        view["outcome"] = next(a[4] for a in h.answers if a[3] == found[2])
    return view


def _decision(h: Hazard, p: list[Any]) -> dict[str, Any] | None:
    """The decision due on proposal `p` after a review approved it, and where it stands."""
    d = p[_DUE2]
    if d is None:
        return None
    found = decided(h, p)
    return {"due": iso(d), "status": _stage(h, p, d, p[_DECISION], found), "decided_by": _record(h, found)}


def statuses(h: Hazard) -> dict[str, str]:
    """Where each proposal on the hazard stands, by proposal id, in one word (the enterprise's file):
    `standing`'s `status`, or once a review approved it, its decision's status after `decision_`
    (`decision_awaiting`, `decision_answered`, `decision_answered_late`, `decision_overdue`,
    `decision_not_pressed`)."""
    said = {}
    for p in h.proposals:
        d = p[_DUE2]
        said[p[0]] = (f"decision_{_stage(h, p, d, p[_DECISION], decided(h, p))}" if d is not None
                      else _status(h, p, answered(h, p) if watched(p) else None))
    return said


def _status(h: Hazard, p: list[Any], found: tuple[int, str, str] | None) -> str:
    return _stage(h, p, p[3], p[_STATE], found) if watched(p) else "not_watched"


def _stage(h: Hazard, p: list[Any], due_at: int, state: str | None,
           found: tuple[int, str, str] | None) -> str:
    """Where a watch of proposal `p` due at `due_at`, in `state`, stands, `found` the record that
    answers it."""
    if found is not None:
        return "answered" if _by(found, due_at) else "answered_late"
    if state == ESCALATED:
        return "overdue"
    return "awaiting" if state is None and _pressing(h, p, due_at) else "not_pressed"


def _pressing(h: Hazard, p: list[Any], t: int) -> bool:
    """Whether the hazard's enterprise is pressed for a decision on proposal `p` due at `t`: unless
    the latest verification made by then found the hazard unfounded or a duplicate, or the proposal
    is moot by then (`moot`). A dismissed proposal has lost its ground, whatever closed the hazard
    since (a review passed later revives nothing); a verification after `t`, of any verdict, leaves
    the proposal as it stood at `t`. With no verdicts kept (one verification, or a state stored
    before they were kept) the latest verification alone judges."""
    return not h.dismissed_by(t) and not moot(h, p, t)


# The measures that exist to get a hazard eliminated, not to punish a past act: 安全生产法 (2021)
# art. 102's 停产停业整顿 is for an enterprise that refuses to eliminate it (拒不执行的); art. 65's
# suspension lasts until the major hazard is removed (重大事故隐患排除后，经审查同意，方可恢复); art. 70's
# notice to stop power supply is lifted once the decision is carried out. A fine, for the act done,
# is none of them.
FORCE_RECTIFICATION = frozenset({"suspend", "suspend_for_overhaul", "utility_stop_notice"})


def moot(h: Hazard, p: list[Any], t: int) -> bool:
    """Whether proposal `p` had lost its point by `t`: a measure that forces rectification
    (FORCE_RECTIFICATION), on a hazard an acceptance review (复查验收) had passed by then, rectified and
    accepted. Nobody is pressed to review or decide it from then, nor does the monthly filing count it."""
    return p[1] in FORCE_RECTIFICATION and h.passed_at is not None and h.passed_at <= t


def _what(p: list[Any]) -> str:
    return "legal review (法制审核)" if p[4] else "decision"


def overdue(h: Hazard, rules: Rules, at: int, cause: str) -> list[Out]:
    """Run out the proposals' clock at `at`: tell the rule's units of each proposal due by then that
    no record answers (`proposal_overdue`), and of each decision due by then, after a review that
    approved its proposal, that none is on record (`decision_overdue`)."""
    rule = rules.proposal_due
    if rule is None:
        return []
    outs: list[Out] = []
    for p in h.proposals:
        if p[3] <= at and _owed(h, p):
            reason, said = _told(h, p)
            _raised(p)
            h.history.append([at, cause, said])
            outs.append(_escalation(h, rule, rules, p, "proposal_overdue", at, reason, cause))
        d = _decision_owed(h, p)
        if d is not None and d <= at:
            reason, said = _told(h, p, second=True)
            _raised(p, second=True)
            h.history.append([at, cause, said])
            outs.append(_escalation(h, rule, rules, p, "decision_overdue", at, reason, cause, second=True))
    return outs


def _told(h: Hazard, p: list[Any], second: bool = False) -> tuple[str, str]:
    """What an escalation that proposal `p` (with `second`, its decision) is overdue says: its reason,
    and its line in the hazard's record."""
    pid, measure, made = p[0], p[1], iso(p[2])
    uscc = h.enterprise[0] if h.enterprise else "?"
    what = f"Enforcement proposal {pid} ({measure}) against {uscc}, made {made},"
    if not second:
        missing = f"no {_what(p)} on record by {iso(p[3])}"
        return f"{what} has {missing}", f"proposal {pid} ({measure}): {missing}"
    ok, d = iso(approved(h, p)[0]), iso(p[_DUE2])  # type: ignore[index]
    return (f"{what} approved by its legal review (法制审核) on {ok}, has no decision on record by {d}",
            f"proposal {pid} ({measure}): no decision on record by {d}, its legal review approved it on {ok}")


def _raised(p: list[Any], second: bool = False) -> None:
    """Mark proposal `p`'s watch (with `second`, its decision's) escalated; raised again after a
    take-back, count it, which keys its id and its next take-back's."""
    state, count = (_DECISION, _AGAIN2) if second else (_STATE, _AGAIN)
    if p[state] == WITHDRAWN:
        p[count] = (p[count] or 0) + 1
    p[state] = ESCALATED


def _escalation(h: Hazard, rule: ProposalDue, rules: Rules, p: list[Any], action: str, at: int,
                reason: str, cause: str, second: bool = False) -> Out:
    """An escalation about proposal `p`'s first watch (its review or decision) or, with `second`,
    about the decision due after a review approved it; raised again after a take-back, under a key
    of its own, and so is that raising's take-back."""
    key, due_at = ((p[0], "decision"), p[_DUE2]) if second else ((p[0],), p[3])
    if n := p[_AGAIN2 if second else _AGAIN]:
        key = (*key, n)
    return emit.escalation(h, rules, rule_id=rule.rule_id, action=action, tier=rule.tier, at=at,
                           targets=resolve_all(rule.targets, h, rules), reason=reason, key=key,
                           caused_by=[cause], due_at=due_at)


def recorded(h: Hazard, rules: Rules, kind: str, d: dict[str, Any], at: int, eid: str) -> None:
    """Keep a record that may answer a proposal: a legal review or a penalty decision (an order is
    kept on the hazard already, `Hazard.orders`). A review that approves a proposal sets when its
    decision falls due, from the earliest such review (`_decision_due`)."""
    ref = d["proposal_id"] if kind == "legal_reviewed" else d["decision_no"]
    if not any(a[3] == eid for a in h.answers):
        h.answers.append([kind, ref, at, eid, d.get("outcome") if kind == "legal_reviewed" else None])
        h.answers.sort(key=lambda a: (a[2], a[3]))
    for p in h.proposals:
        if p[0] == ref:
            _approved_then(h, rules, p)


def _approved_then(h: Hazard, rules: Rules, p: list[Any]) -> None:
    """Set when the decision on proposal `p` falls due, from the earliest review on file approving it."""
    ok = approved(h, p)
    if ok is not None:
        p[_DUE2] = _decision_due(rules, p, ok[0])


def answered_late(h: Hazard, rules: Rules, eid: str, decided_at: int) -> list[Out]:
    """Take back each overdue escalation that record `eid`, reaching the engine at `decided_at`,
    shows was not due: the record answers the proposal, or decides it after an approving review,
    and was made by the due time. (With the rules' `proposal_due` taken out since, it stands:
    nobody is told by a rule that no longer is.)"""
    rule = rules.proposal_due
    if rule is None:
        return []
    outs: list[Out] = []
    for p in h.proposals:
        watches = ((p[3], p[_STATE], answered, False), (p[_DUE2], p[_DECISION], decided, True))
        for due_at, state, answer, second in watches:
            found = answer(h, p) if state == ESCALATED else None
            if found is not None and found[2] == eid and _by(found, due_at):
                what, made = ANSWER_RECORDS[found[1]], iso(found[0])
                outs.append(_take_back(h, rule, rules, p, eid, decided_at, f"the {what} {eid} of {made}, by",
                                       f"{what} made on {made}", second))
    return outs


def dismissed(h: Hazard, rules: Rules, verdict: str, done: int, eid: str, decided_at: int) -> list[Out]:
    """A verification at `done` that found the hazard unfounded or a duplicate, reaching the engine
    at `decided_at`, takes back each overdue escalation of a proposal, or of a decision, due after
    it that the verdicts on file now show was not pressing at its due time (`_pressing`: this
    verdict is the latest by then). A verification recorded since that finds it confirmed between
    this one and the due time raises it again (`confirmed`)."""
    return _unpressed_since(h, rules, done, eid, decided_at,
                            f"the verification {eid} of {iso(done)}, which found it {verdict} before",
                            f"found {verdict} on {iso(done)}")


def _unpressed_since(h: Hazard, rules: Rules, done: int, eid: str, decided_at: int, why: str,
                     how: str) -> list[Out]:
    """Take back, for the record `eid` made at `done` and reaching the engine at `decided_at`, each
    overdue escalation of a proposal, then of a decision, due since `done` that the records on file
    now show was not pressing at its due time (`_pressing`); `why` and `how` as `_take_back` has them."""
    rule = rules.proposal_due
    if rule is None:
        return []
    outs = [_take_back(h, rule, rules, p, eid, decided_at, why, how)
            for p in h.proposals if p[_STATE] == ESCALATED and p[3] >= done and not _pressing(h, p, p[3])]
    return outs + [_take_back(h, rule, rules, p, eid, decided_at, why, how, second=True)
                   for p in h.proposals if p[_DECISION] == ESCALATED and p[_DUE2] is not None
                   and p[_DUE2] >= done and not _pressing(h, p, p[_DUE2])]


def accepted(h: Hazard, rules: Rules, done: int, eid: str, decided_at: int) -> list[Out]:
    """An acceptance review (复查验收) that passed at `done`, decided at `decided_at`: each proposal of a
    measure that forces rectification (FORCE_RECTIFICATION), or its decision, due after it and not
    answered by then, is moot from then (`moot`). The record says so for each still awaited, and an
    escalation that it was overdue, raised before the review's record came (an inspector's tablet
    offline), is taken back, to those it went to. A fine is left as it stands: it is for the act done."""
    if h.passed_at != done:
        return []  # not the review that stands (`moot` reads the first passed)
    for p in h.proposals:
        for due_at, place, answer in ((p[3], _STATE, answered), (p[_DUE2], _DECISION, decided)):
            if (due_at is not None and due_at > done and p[place] is None and moot(h, p, due_at)
                    and watched(p) and not _by(answer(h, p), done)):
                whose = "its decision " if place == _DECISION else ""
                # A note, nothing sent: dated by the review, so records in either order say it alike.
                h.history.append([done, eid, f"proposal {p[0]} ({p[1]}): {whose}no longer pressed, the "
                                             f"hazard rectified and accepted on {iso(done)}"])
    return _unpressed_since(h, rules, done, eid, decided_at,
                            f"the acceptance review {eid} of {iso(done)}, which passed before",
                            f"review passed on {iso(done)}")


def confirmed(h: Hazard, rules: Rules, verdict: str, done: int, eid: str, reached: int | None,
              decided_at: int) -> list[Out]:
    """A verification at `done` that did not dismiss the hazard, decided at `decided_at`, raises each
    overdue escalation, of a proposal or of a decision due since `done`, that the verdicts on file
    now show pressing at its due time (this verdict is the latest by then), no record answering it
    by then (one made since leaves it standing, as in time order): again, when a dismissal took it
    back; late, when a dismissal on file before the due time had kept it from going and the
    verification reached the engine after that time (`reached`, where the intake vouched for it;
    `_kept_down`). Either way its reason names this record."""
    rule = rules.proposal_due
    if rule is None:
        return []
    outs: list[Out] = []
    for p in h.proposals:
        for due_at, place, answer, second in ((p[3], _STATE, answered, False),
                                              (p[_DUE2], _DECISION, decided, True)):
            if due_at is None or due_at < done or not _pressing(h, p, due_at):
                continue
            if p[place] != WITHDRAWN and not (p[place] is None and reached is not None and due_at < reached
                                              and _kept_down(h, done, due_at)):
                continue
            found = answer(h, p)
            if _by(found, due_at):
                continue
            reason, said = _told(h, p, second)
            _raised(p, second)
            n = p[_AGAIN2 if second else _AGAIN]
            how = f"raised again ({n})" if n else "raised late"
            by = f"{how}: the verification {eid} of {iso(done)}"
            h.history.append([decided_at, eid, f"{said}, {by} found it {verdict} before then"])
            outs.append(_escalation(
                h, rule, rules, p, "decision_overdue" if second else "proposal_overdue", decided_at,
                f"{reason}; {by}, which found it {verdict} before then, reached the engine after it",
                eid, second))
    return outs


def approved_late(h: Hazard, rules: Rules, eid: str, reached: int | None, decided_at: int) -> list[Out]:
    """A legal review `eid` that approved a proposal, reaching the engine at `reached`, after the
    decision it gave a time to (`decision_due`) was due: raise that decision's escalation now, when it
    comes, caused by the review and under the id time order gives it, its reason and its record line
    saying why it comes late. The decision is owed as the clock would find it (`_decision_owed`);
    with no arrival intake could vouch for (`reached` None) the clock raises it, dated at its due
    time, as any clock run late."""
    rule = rules.proposal_due
    if rule is None or reached is None:
        return []
    outs: list[Out] = []
    for p in h.proposals:
        ok = approved(h, p)
        if ok is None or ok[1] != eid:
            continue  # not the review its decision's time counts from
        due_at = _decision_owed(h, p)
        if due_at is None or due_at >= reached:
            continue
        reason, said = _told(h, p, second=True)
        _raised(p, second=True)
        h.history.append([decided_at, eid, f"{said}, raised late: the review reached the engine on "
                                           f"{iso(reached)}"])
        late = f"raised late: the legal review {eid} that approved it reached the engine on {iso(reached)}"
        outs.append(_escalation(h, rule, rules, p, "decision_overdue", decided_at,
                                f"{reason}; {late}, after the decision was due", eid, second=True))
    return outs


def _kept_down(h: Hazard, done: int, t: int) -> bool:
    """Whether the verdict at `done` is the latest by `t` and the one before it a dismissal: without
    it, nothing was pressing at `t`, so no clock ran out then."""
    then = [v for v in h.verdicts if v[0] <= t]
    return len(then) > 1 and then[-1][0] == done and then[-2][1] in DISMISSALS


def _take_back(h: Hazard, rule: ProposalDue, rules: Rules, p: list[Any], eid: str, decided_at: int,
               why: str, how: str, second: bool = False) -> Out:
    """Take back proposal `p`'s overdue escalation (with `second`, its decision's) for record `eid`,
    which reached the engine at `decided_at`: `why` begins the reason, which goes on " the due time
    {due} of [the decision on ]proposal {id}, reached the engine after it"; `how` ends the record's
    line."""
    place, whose, due_at = (_DECISION, "the decision on ", p[_DUE2]) if second else (_STATE, "", p[3])
    p[place] = WITHDRAWN
    that = "its decision" if second else "it"
    said = f"proposal {p[0]}: the escalation that {that} was overdue withdrawn: {how}"
    h.history.append([decided_at, eid, said])
    reason = (f"The escalation {rule.rule_id} of {h.id} is withdrawn: {why} the due time {iso(due_at)} of "
              f"{whose}proposal {p[0]}, reached the engine after it")
    return _escalation(h, rule, rules, p, "failure_withdrawn", decided_at, reason, eid, second)


def gone(h: Hazard, rules: Rules, withdrawn: list[Out], at: int, cause: str) -> list[Out]:
    """Forget the proposals `withdrawn` (as their withdrawals were sent, at `at`): their clocks
    stop, and an escalation that one, or its decision, was overdue is taken back too."""
    ids = {o.event["data"]["proposal_id"] for o in withdrawn if "proposal_id" in o.event["data"]}
    rule = rules.proposal_due
    outs: list[Out] = []
    for p in [p for p in h.proposals if p[0] in ids]:
        h.proposals.remove(p)
        if rule is None:
            continue
        said = f"The escalation {rule.rule_id} of {h.id} is withdrawn: proposal {p[0]} was withdrawn"
        outs += [_escalation(h, rule, rules, p, "failure_withdrawn", at, said, cause, second)
                 for place, second in ((_STATE, False), (_DECISION, True)) if p[place] == ESCALATED]
    return outs
