"""The clocks of a hazard: derived from its facts, and what happens when one runs out.

Clocks are never stored as timers. `derive` recomputes them from the state
after every change, and a clock that no longer applies simply disappears, so a
stale "deadline reached" event finds nothing to fire.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from engine.decide import emit, proposals
from engine.decide.state import Hazard, judged_late_claim
from engine.kernel.ids import clock_id
from engine.kernel.outputs import Out
from engine.kernel.referral import hold, released, withdrawal
from engine.kernel.targets import Located, Unit, lead_department, resolve, resolve_all
from engine.kernel.time import after, iso, latest, latest_of_day, local, unsure
from engine.ruleset.compiled import PROPOSE, Measure, ReferralGround, Rules, Span
from engine.zh.words import Words


def _repeat(span: Span, start: int, times: int, rules: Rules) -> int:
    due = start
    for _ in range(times):
        due = after(span, due, rules).at
    return due


def _start(h: Hazard, clock: str, at: int, rules: Rules) -> int:
    """Where duty clock `clock` counts from: the time `at` of the event that started it, or its
    arrival when that came late (engine/decide/lifecycle.py `_arrival`), while the rules say so."""
    return h.arrived.get(clock, at) if rules.late_after is not None else at


def known(h: Hazard, rules: Rules, at: int) -> int:
    """When what the engine sends about a hazard at `at` could first reach those it goes to: `at`,
    or, when the hazard's report or its confirmation reached the engine late (an app offline), once
    both had (the engine sends it on the later), while the rules say so (duties.late_arrival)."""
    if rules.late_after is None:
        return at
    return max(at, h.arrived.get("confirm", at), h.arrived.get("verify", at))


def proposal_start(h: Hazard, rules: Rules, at: int) -> int:
    """Where a proposal the ladder makes at `at` counts its time to be reviewed or decided from:
    `known`, or, when the failed review that set the deadline in force reached the engine late (so
    that the ladder against that deadline ran when it came), from then."""
    return max(known(h, rules, at), h.arrived.get("cycle", at))


def violation_start(h: Hazard, rules: Rules, found: int, eid: str) -> int:
    """Where the art. 70 proposal dated by the violation `eid` (found at `found`) counts its time
    from: `known`, or, when that violation's record reached the engine late, from then."""
    return max(known(h, rules, found), h.arrived.get(violated_key(eid), found))


def violated_key(eid: str) -> str:
    """The key of `Hazard.arrived` that keeps when the violation `eid`'s record reached the engine,
    when late."""
    return f"violated:{eid}"


def issued(h: Hazard, rules: Rules) -> int:
    """When a listed hazard's notice could reach the enterprise (`known`)."""
    return known(h, rules, h.listed[1])


def plan_due(h: Hazard, rules: Rules) -> int:
    """When a listed hazard's rectification plan is due: `plan_within` of its notice's issue."""
    return after(rules.supervision.plan_within, issued(h, rules), rules).at


def derive(h: Hazard, rules: Rules) -> dict[str, int]:
    """Every running clock of the hazard: name -> due time."""
    clocks: dict[str, int] = {}
    if h.held:  # a held referral is released even when a late record has closed the hazard since
        clocks["refer"] = min(released(held[1], rules) for held in h.held)
    if h.proposals:  # a proposal still asks for its review or decision once the hazard is closed
        proposal = proposals.due(h, rules)
        if proposal is not None:
            clocks["proposal"] = proposal
    if not h.is_open():
        return clocks
    # Once a department is referred for failing its duty, the matter is with discipline
    # inspection: its duty clocks on this hazard stop repeating.
    lead = lead_department(h, rules) if h.referred else None
    lead_referred = lead is not None and _tag(rules, lead) in h.referred
    if h.verdict is None and h.origin == "report" and not lead_referred:
        clocks["verify"] = _repeat(rules.verify.within, _start(h, "verify", h.opened_at, rules),
                                   h.verify_fails + 1, rules)
    if h.verdict == "confirmed" and h.deadline is not None and h.completed_at is None \
            and h.step < len(rules.ladder):
        clocks["ladder"] = after(rules.ladder[h.step].at, h.deadline, rules).at
    if h.completed_at is not None and not lead_referred:
        clocks["review"] = _repeat(rules.review.within, _start(h, "review", h.completed_at, rules),
                                   h.review_fails + 1, rules)
    if h.listed and h.listed[3]:
        if h.grade == "major" and h.planned_at is None and not h.plan_fired:
            clocks["plan"] = plan_due(h, rules)
        # A claim pending stops it, unless a failed review after the deadline judged every claim
        # made by then: the one pending came after the deadline and cannot answer it (it may have
        # arrived before that review, an app offline).
        if (h.completed_at is None or h.judged(h.listed[2])) and not _missed(h, _tag(rules, None)):
            clocks["supervision"] = h.listed[2]
    if h.ext is not None and h.ext_fails == 0 and h.held_to_listing():  # a listing's supervising body decides
        clocks["extension"] = after(rules.supervision.extension_decide_within,
                                    _start(h, "extension", h.ext[0], rules), rules).at
    return clocks


def _duty_failure(h: Hazard, rules: Rules, due: int, dept: str | None, clock: str, since: int,
                  what: str, cause: str) -> list[Out]:
    """A department missed its own deadline (不履行安全监管职责): escalate, and refer if repeated.

    The failure is kept as [clock, since, due, department], closed hazard or not: a record of the
    department's act dated between `since` and `due` that arrives later withdraws it (`answer`).
    """
    if dept is None:
        return []
    h.duty_fails[dept] = h.duty_fails.get(dept, 0) + 1
    count = h.duty_fails[dept]
    h.failures.append([clock, since, due, dept])
    rule_id = _RULE[clock](rules)
    until = _answerable(clock, since, due, rules)
    doubt = unsure(due, until, "a referral waits for that")
    outs = [emit.escalation(
        h, rules, rule_id=rule_id, action="notify", tier=rules.duty_tier, at=due,
        targets=resolve_all(rules.duty_targets, h, rules, failing=dept),
        reason=f"{what}: the deadline {iso(due)} passed (不履行安全监管职责, failure {count}){doubt}",
        key=(due, dept), caused_by=[cause])]
    h.history.append([due, cause, f"duty failure {rule_id} by {dept} ({count})"])
    tag = _tag(rules, dept)
    if count >= rules.duty_failures.threshold and not _missed(h, tag):
        outs += _refer_or_hold(h, rules, due, tag, dept,
                               f"{dept} failed its duty on this hazard {count} times "
                               f"(不履行安全监管职责), last: {what}", cause, until)
    return outs


def _missed(h: Hazard, tag: str) -> bool:
    """Whether the referral `tag` has been sent, or is held to be sent."""
    return tag in h.referred or any(held[0] == tag for held in h.held)


def _ground(rules: Rules, failing: str | None) -> ReferralGround:
    # A department's duty failure names the department; a missed listed-supervision deadline, none.
    return rules.duty_failures if failing is not None else rules.supervision_missed


def _tag(rules: Rules, failing: str | None) -> str:
    """How `referred` and `held` name the referral of `failing`'s duty failures (or of the missed
    listed-supervision deadline, for None)."""
    ground = _ground(rules, failing)
    return ground.rule_id if failing is None else f"{ground.rule_id}:{failing}"


def _refer_or_hold(h: Hazard, rules: Rules, at: int, tag: str, failing: str | None, reason: str,
                   cause: str, until: int | None = None) -> list[Out]:
    """Refer at once, or, while the rules allow records time to arrive (`hold`), hold the referral
    as [tag, missed at, failing department, reason, cause] until then (`_release`). A deadline that
    may truly fall as late as `until` (`_answerable`) counts as missed then."""
    missed = at if until is None else until
    if hold(rules) is None and missed <= at:
        h.referred.append(tag)
        return _refer(h, rules, at, tag, _ground(rules, failing), failing, reason, cause)
    h.held.append([tag, missed, failing, reason, cause])
    h.history.append([at, cause, f"referral {_ground(rules, failing).rule_id} held until "
                                 f"{iso(released(missed, rules))} for records dated before the deadline"])
    return []


class _Told(NamedTuple):
    """A hazard as its listing notice stood: where it is, and the lead department told."""

    town: str | None
    sector: str | None
    enterprise: Sequence[Any] | None
    lead: str | None


def _respondents(h: Hazard, rules: Rules, ground: ReferralGround, failing: str | None) -> list[Unit]:
    """Who answers for the referral on `ground`. A missed listing: the bodies its notice went to, the
    lead department as it stood at the deadline (a lead named since was never told; one named before
    it had the notice issued again: lifecycle `_notice_again`). A duty failure: the failing one."""
    located: Located = h
    if failing is None and h.listed:
        located = _Told(h.town, h.sector, h.enterprise, h.lead_by(h.listed[2], told=True))
    return resolve_all(ground.respondents, located, rules, failing=failing)


def _refer(h: Hazard, rules: Rules, at: int, tag: str, ground: ReferralGround,
           failing: str | None, reason: str, cause: str) -> list[Out]:
    units = _respondents(h, rules, ground, failing)
    if not units:
        return []  # nobody public to answer for it (no town, no lead): nothing to refer
    h.history.append([at, cause, f"referred to discipline inspection: {ground.rule_id}"])
    gid = _referral_id(h, tag)
    return [
        emit.referral(h, rules, ground_id=gid, code=ground.code, reason=reason, at=at,
                      respondents=units),
        emit.escalation(h, rules, rule_id=ground.rule_id, action="discipline_referral", tier="red",
                        at=at, targets=resolve(rules.referral_target, h, rules) + units,
                        reason=f"Referred to discipline inspection (抄报移送纪委监委): {reason}",
                        key=gid, caused_by=[cause]),
    ]


WITHDRAWN = "withdrawn:"  # the mark in `referred` of a referral sent and withdrawn since


def referral_respondents(h: Hazard, rules: Rules, tag: str) -> list[Unit]:
    """The bodies that answer for a hazard's referral to discipline inspection `tag` (as `referred`
    and `held` name it, `_tag`), as the referral names them."""
    failing = tag.partition(":")[2] or None
    return _respondents(h, rules, _ground(rules, failing), failing)


def _referral_id(h: Hazard, tag: str) -> str:
    """The ground id of referral `tag`'s current sending: the tag, then "#2", "#3"... for one sent
    again after a withdrawal (a new referral: its id must differ from the one withdrawn)."""
    return tag + (sent_again(h, tag) or "")


def sent_again(h: Hazard, tag: str) -> str | None:
    """What marks the current sending of ground `tag` as one after a withdrawal ("#2", "#3"...);
    None for its first. Referrals, transfers and proposals sent again take it into their ids."""
    withdrawn = h.referred.count(WITHDRAWN + tag)
    return None if withdrawn == 0 else f"#{withdrawn + 1}"


def mark_withdrawn(h: Hazard, tag: str) -> None:
    """Ground `tag`, sent, is withdrawn: a later sending of it counts as sent again (`sent_again`)."""
    h.referred.remove(tag)
    h.referred.append(WITHDRAWN + tag)


def _release(h: Hazard, rules: Rules, due: int, cause: str) -> list[Out]:
    """Send the held referrals whose hold ends at `due`: no record has withdrawn their failure."""
    outs: list[Out] = []
    for held in [held for held in h.held if released(held[1], rules) <= due]:
        h.held.remove(held)
        tag, _, failing, reason, failed_by = held
        h.referred.append(tag)
        outs += _refer(h, rules, due, tag, _ground(rules, failing), failing, reason, failed_by)
    return outs


class Why(NamedTuple):
    """Why a record withdraws a duty failure, in the words of each place that says it: the
    withdrawn referral's reason (`reason`, after "the record {id} "; `answer`), and the hazard's
    record (`how`, before " on {time}"). A record that made the duty moot says so: it is not the duty
    done, and discipline inspectors must not read that a body did what it never had to do."""

    reason: str
    how: str


DONE = Why("shows the duty done in time", "done")


def answer(h: Hazard, rules: Rules, clock: str, done: int, eid: str, at: int, why: Why = DONE) -> list[Out]:
    """A record that the duty of `clock` was done at `done` (or, `why` says, made moot then),
    decided at `at`, withdraws the failures it answers.

    An app offline past the deadline: the department verified (reviewed, decided) in time, but
    the record reached the engine after the failure was escalated. Each failure of `clock` whose
    period holds `done` is withdrawn and said so to those the failure was escalated to; a referral
    it no longer supports is dropped while held, and withdrawn, to discipline inspection, once sent.
    """
    hit = [f for f in h.failures if f[0] == clock and f[1] <= done <= _answerable(clock, f[1], f[2], rules)]
    reason = f"the record {eid} {why.reason}; it reached the engine after the referral was sent"
    return _withdraw_failures(h, rules, hit, done, eid, at, why.how, reason)


def extended_late(h: Hazard, rules: Rules, deadline: int | None, asked: int | None, done: int, eid: str,
                  at: int) -> list[Out]:
    """An extension the supervising body approved at `done`, decided at `at`, after the listing's
    deadline `deadline` had passed, on a request made by then and before the approval (`asked`: when
    the pending request, or the refused one reconsidered, was made; None with no request before the
    body, lifecycle `_asked`): the failure to meet `deadline` is withdrawn. With none, nothing is:
    when the deadline passed nobody had asked to move it, and the words would name a request nobody
    made.

    The deadline is the supervising body's to set and move (督办单位); the enterprise asked in time, and
    the body took until after the deadline to decide. That delay is the body's own failure, which
    stands (`_extension`); the town government and the lead department are held to the deadline
    it set, which now is the later one: if that is missed too, the listing's clock refers them
    again for it (`derive`), as a new referral."""
    if (deadline is None or asked is None or asked > deadline or asked > done or not h.listed
            or h.listed[2] <= deadline):
        return []
    hit = [f for f in h.failures if f[0] == "supervision" and f[2] == deadline]
    new = iso(h.listed[2])
    reason = (f"the supervising body approved on {iso(done)} the extension {eid}, on a request before it "
              f"since {iso(asked)}, before the deadline {iso(deadline)}, and moved the deadline to {new}: "
              "nobody is held to the deadline it moved")
    return _withdraw_failures(h, rules, hit, done, eid, at, f"deadline moved to {new}", reason)


def unjudged(h: Hazard, rules: Rules, what: str, how: str, done: int, eid: str, at: int) -> list[Out]:
    """A record of `done`, decided at `at`, that closed the hazard or ended its listing (`what` it did,
    `how` the record says so) withdraws the failure of a listing's deadline at which a completion
    claim was pending, when only a failed review made at or after `done` judged that claim
    (state `judged_late_claim`): in time order that review found the listing ended, and its deadline
    did not run out (`derive`), whatever a verification after the close found. Reaching the engine
    after the review, the record takes back what the review's arrival let run out. A failed review
    made before the close (while the hazard stood listed) leaves the failure standing, and one
    reaching the engine after the close raises it (`judged_late`)."""
    hit = []
    for f in h.failures:
        pending = judged_late_claim(h, f[2]) if f[0] == "supervision" else None
        if pending is not None and f[2] < done <= pending[1]:  # closed between the deadline and the review
            hit.append(f)
    reason = (f"the record {eid} {what} on {iso(done)}, before a failed review judged the completion claim "
              "pending at the deadline, so no listing's deadline was missed while the hazard stood listed; "
              "it reached the engine after the referral was sent")
    return _withdraw_failures(h, rules, hit, done, eid, at, how, reason)


def judged_late(h: Hazard, rules: Rules, at: int) -> list[Out]:
    """A failed review made at `at`, reaching the engine once a record made after it had closed the
    hazard or ended its listing, that judged the completion claim pending at the listing's deadline
    (`judged_late_claim`; the first failed review after the claim): the hazard stood listed when the
    review came, and in time order the listing's deadline ran out then (`derive`), the failure
    standing through the close that followed (`unjudged`). It runs out now, with the clock's own id
    as its cause, as it would have; a referral a close had withdrawn is sent again (`sent_again`)."""
    due = h.listed[2] if h.listed else None
    pending = None if due is None else judged_late_claim(h, due)
    if pending is None or due is None or pending[1] != at or _missed(h, _tag(rules, None)) \
            or h.unlisted_between(due, at):
        return []
    return _supervision(h, rules, due, clock_id(h.id, "supervision", due))


def _withdraw_failures(h: Hazard, rules: Rules, hit: list[list[Any]], done: int, eid: str, at: int,
                       how: str, reason: str) -> list[Out]:
    """Withdraw the failures `hit` because of the record `eid` of `done`, decided at `at`: each one's
    escalation, and the referrals they alone supported, with `reason`; `how` says why on the record."""
    if not hit:
        return []
    outs: list[Out] = []
    touched: dict[str, str | None] = {}
    for failure in hit:
        h.failures.remove(failure)
        _, _, due, dept = failure
        touched[_tag(rules, dept)] = dept
        if dept is not None:
            h.duty_fails[dept] -= 1
            outs.append(emit.escalation(
                h, rules, rule_id=_RULE[failure[0]](rules), action="failure_withdrawn", tier=rules.duty_tier,
                at=at, targets=resolve_all(rules.duty_targets, h, rules, failing=dept),
                reason=f"The duty failure of {dept} on {h.id} at the deadline {iso(due)} is withdrawn: "
                       f"the record {eid} of {iso(done)}, in time, reached the engine after it",
                key=(due, dept), caused_by=[eid]))
        h.history.append([at, eid, f"{_RULE[failure[0]](rules)} failure of {iso(due)} withdrawn: "
                                   f"{how} on {iso(done)}"])
    for tag, failing in touched.items():
        if not _stands(h, rules, failing):
            outs += _withdraw(h, rules, at, tag, failing, eid, reason)
    return outs


def _stands(h: Hazard, rules: Rules, failing: str | None) -> bool:
    if failing is None:
        return any(f[0] == "supervision" for f in h.failures)
    return h.duty_fails.get(failing, 0) >= rules.duty_failures.threshold


def _withdraw(h: Hazard, rules: Rules, at: int, tag: str, failing: str | None, eid: str,
              reason: str) -> list[Out]:
    """Drop the referral `tag` that its failures no longer support: held, or sent (withdrawn then,
    `reason` saying why)."""
    ground = _ground(rules, failing)
    held = [held for held in h.held if held[0] == tag]
    if held:
        h.held.remove(held[0])
        h.history.append([at, eid, f"held referral {ground.rule_id} dropped: its failure was withdrawn"])
        return []
    if tag not in h.referred:
        return []  # never referred: the failures were below the threshold
    units = _respondents(h, rules, ground, failing)
    gid = _referral_id(h, tag)
    mark_withdrawn(h, tag)
    if not units:
        return []  # nobody public answered for it: nothing was sent (`_refer`)
    h.history.append([at, eid, f"referral to discipline inspection withdrawn: {ground.rule_id}"])
    # The referral as it was sent, but given the withdrawal's reason: its reason_zh is that reason's.
    sent = emit.referral(h, rules, ground_id=gid, code=ground.code, reason=reason, at=at, respondents=units)
    return [
        withdrawal(sent, reason, at, sent.event["data"].get("reason_zh")),
        emit.escalation(h, rules, rule_id=ground.rule_id, action="referral_withdrawn",
                        tier=rules.duty_tier, at=at,
                        targets=resolve(rules.referral_target, h, rules) + units,
                        reason=f"Referral to discipline inspection withdrawn: {reason}",
                        key=gid, caused_by=[eid]),
    ]


def _ladder(h: Hazard, rules: Rules, due: int, cause: str) -> list[Out]:
    step = rules.ladder[h.step]
    h.step += 1
    h.tier = step.tier
    overdue = "" if step.at.n < 0 else ", due today" if step.at.n == 0 else f", {step.at} past the deadline"
    approx = " (deadline approximate: no holiday notice for its year)" if h.approx else ""
    reason = (f"Rectification of {h.id} due {iso(h.deadline)} is not claimed complete"
              f"{overdue} ({step.tier}){approx}")
    targets = resolve_all(step.targets, h, rules)
    outs = [emit.escalation(h, rules, rule_id=step.rule_id, action=action, tier=step.tier, at=due,
                            targets=targets, reason=reason, key=(h.cycle, due), caused_by=[cause],
                            due_at=h.deadline)
            for action in step.actions if not action.startswith(PROPOSE)]
    h.history.append([due, cause, f"ladder {step.rule_id}: {', '.join(step.actions)}"])
    for action in step.actions:
        if action.startswith(PROPOSE):
            measure = rules.enforcement[action.removeprefix(PROPOSE)]
            stands = proposals.on_file(h, measure.id, due) if h.enterprise else None
            if stands is not None:  # one fine for one act (一事不再罚), one order asked for once
                h.history.append([due, cause, f"{measure.id} not proposed again: {stands}"])
                continue
            outs += _propose(h, rules, measure, step.rule_id, due, cause)
    return outs


def claimed(h: Hazard, rules: Rules, done: int, eid: str, at: int) -> list[Out]:
    """A completion claim made at `done`, decided at `at`, takes back the ladder's steps that ran
    after it.

    Each step escalated because the rectification was not claimed complete by its time; an
    enterprise's app offline past the deadline made that untrue. Each such step's recipients are
    told (`failure_withdrawn`), each enforcement proposal it made is withdrawn
    (`safety.enforcement.withdrawn`), and the tier falls back to the last step that stands. The
    claim still awaits its review; a failed review starts a new ladder as ever.
    """
    if h.deadline is None:
        return []
    late, outs = _take_back(h, rules, h.deadline, h.step, done, eid, at,
                            f"the completion claim {eid} of {iso(done)}, made before the step")
    if not late:
        return []
    h.step = late[0]
    h.tier = rules.ladder[h.step - 1].tier if h.step else None
    h.history.append([at, eid, f"ladder steps {', '.join(rules.ladder[i].rule_id for i in late)} "
                               f"withdrawn: claimed complete on {iso(done)}"])
    return outs


def extended(h: Hazard, rules: Rules, deadline: int, steps: int, done: int, eid: str, at: int) -> list[Out]:
    """An extension approved at `done`, decided at `at`, takes back the ladder's steps that ran
    against the deadline it moved (`deadline`, `steps` of them had run) after it was approved.

    In time order they would not have run: from its approval the rectification was due later.
    An app offline past the old deadline made them run. As for a claim (`claimed`), each step's
    recipients are told and its enforcement proposals withdrawn; the ladder has started again
    against the new deadline already (engine/decide/lifecycle.py `_decide_extension`)."""
    late, outs = _take_back(h, rules, deadline, steps, done, eid, at,
                            f"the extension {eid} approved on {iso(done)}, before the step")
    if late:
        h.history.append([at, eid, f"ladder steps {', '.join(rules.ladder[i].rule_id for i in late)} "
                                   f"withdrawn: extension approved on {iso(done)}"])
    return outs


def ordered(h: Hazard, rules: Rules, deadline: int, steps: int, done: int, eid: str, at: int,
            period: bool = True) -> list[Out]:
    """A written order to rectify within a time limit (责令限期整改) made at `done`, decided at `at`,
    takes back the ladder's steps that ran against the deadline it replaced (`deadline`, `steps` of
    them had run) after it was made: from then the enterprise was bound by the order's period, and
    in time order none of them would have run (an inspector's tablet offline). As for an extension
    (`extended`); the ladder runs against the order's period already (lifecycle `_order_period`).
    Not `period`: a correction of the order (lifecycle `_order_record`) took its period away, and
    the deadline is the hazard's cycle's again; the record says so, not that a period was ordered."""
    late, outs = _take_back(h, rules, deadline, steps, done, eid, at,
                            f"the order {eid} of {iso(done)}, which set the deadline {iso(h.deadline)} "
                            "before the step")
    if late:
        why = (f"ordered on {iso(done)} to rectify by {iso(h.deadline)}" if period else
               f"the order corrected on {iso(done)} left the deadline {iso(h.deadline)}")
        h.history.append([at, eid, f"ladder steps {', '.join(rules.ladder[i].rule_id for i in late)} "
                                   f"withdrawn: {why}"])
    return outs


def dismissed(h: Hazard, rules: Rules, verdict: str, done: int, eid: str, at: int) -> list[Out]:
    """A verification at `done` that found the hazard unfounded or a duplicate, decided at `at`,
    takes back the ladder's steps that ran after it: from then the hazard was closed, and in time
    order none of them would have run. As for a claim (`claimed`)."""
    return _closed_before(h, rules, done, eid, at,
                          f"the verification {eid} of {iso(done)}, which found it {verdict} before the step",
                          f"found {verdict}")


def accepted(h: Hazard, rules: Rules, done: int, eid: str, at: int) -> list[Out]:
    """An acceptance review (复查验收) at `done` that passed, decided at `at`, takes back the ladder's
    steps that ran after it: from then the hazard was rectified and closed, and in time order none
    of them would have run (an inspector's tablet offline; a review passed on a return visit needs
    no claim before it). As for a claim (`claimed`)."""
    return _closed_before(h, rules, done, eid, at,
                          f"the acceptance review {eid} of {iso(done)}, which passed before the step",
                          "review passed")


def _closed_before(h: Hazard, rules: Rules, done: int, eid: str, at: int, why: str, how: str) -> list[Out]:
    """Take back what ran after `done` because the hazard was still open, when the record `eid`
    closed it then (`dismissed`, `accepted`): the ladder's steps that fell due after it, and a
    listed hazard's escalation that no rectification plan had been filed, when it fell due after
    it (closed, the hazard needed no plan). `why` begins each withdrawal's reason, `how` ends the
    record's lines ("… withdrawn: {how} on {done}")."""
    outs: list[Out] = []
    if h.deadline is not None and h.step:
        late, outs = _take_back(h, rules, h.deadline, h.step, done, eid, at, why)
        if late:
            h.step = late[0]
            h.tier = rules.ladder[h.step - 1].tier if h.step else None
            h.history.append([at, eid, f"ladder steps {', '.join(rules.ladder[i].rule_id for i in late)} "
                                       f"withdrawn: {how} on {iso(done)}"])
    if h.plan_fired and h.listed:
        due = plan_due(h, rules)
        if due >= done:  # an act at the second a step falls due is in time (kernel/apply.py)
            step = f"{plan_rule(rules)} of {h.id} is withdrawn: {why} {plan_rule(rules)} of {iso(due)}"
            outs.append(_plan_withdrawn(h, rules, due, eid, at, how, done,
                                        f"The escalation {step}, reached the engine after it"))
    return outs


def _take_back(h: Hazard, rules: Rules, deadline: int, steps: int, done: int, eid: str, at: int,
               why: str) -> tuple[list[int], list[Out]]:
    """Withdraw the first `steps` ladder steps against `deadline` that fell due at or after `done`: their
    escalations (`failure_withdrawn`, to the same recipients) and enforcement proposals. `why`
    begins the reason, which goes on " {step} of {due}, reached the engine after it". Returns the
    steps taken back and the outputs."""
    fired = [(i, after(rules.ladder[i].at, deadline, rules).at) for i in range(steps)]
    late = [(i, due) for i, due in fired if due >= done]  # one due at the act's second: in time too
    outs: list[Out] = []
    for i, due in late:
        step = rules.ladder[i]
        reason = f"{why} {step.rule_id} of {iso(due)}, reached the engine after it"
        outs.append(emit.escalation(
            h, rules, rule_id=step.rule_id, action="failure_withdrawn", tier=step.tier, at=at,
            targets=resolve_all(step.targets, h, rules),
            reason=f"The escalation {step.rule_id} of {h.id} is withdrawn: {reason}",
            key=(h.cycle, due), caused_by=[eid], due_at=deadline))
        for action in step.actions:
            if action.startswith(PROPOSE) and h.enterprise:
                sent = _propose(h, rules, rules.enforcement[action.removeprefix(PROPOSE)], step.rule_id, due,
                                clock_id(h.id, "ladder", due), record=False)
                sent = [o for o in sent if proposals.went(h, o)]  # not one the step left out (`_ladder`)
                said = f"Enforcement proposal withdrawn: {reason}"
                outs += [withdrawal(proposal, said, at, Words("zh", rules.reference).reason(said))
                         for proposal in sent]
                outs += proposals.gone(h, rules, sent, at, eid)
    return [i for i, _ in late], outs


def _propose(h: Hazard, rules: Rules, measure: Measure, rule_id: str, due: int, cause: str,
             record: bool = True) -> list[Out]:
    """Propose an enforcement measure against the enterprise (安全生产法 art. 102 and others).

    A hazard in a public place names no enterprise: there is nobody to fine, so nothing is proposed.
    """
    if not h.enterprise:
        return []
    review = "after legal review (法制审核)" if measure.needs_legal_review else "no legal review first"
    if record:  # not when `claimed` builds it again to withdraw it
        h.history.append([due, cause, f"proposed {measure.id} against {h.enterprise[0]}, {review}"])
    # Its time to be reviewed or decided counts from when the department could know of it: a ladder
    # run late, once the hazard's report, confirmation and failed review had reached the engine,
    # asks nobody for a decision due before they got the proposal.
    start = proposal_start(h, rules, due)
    if not record:  # restated to be withdrawn, as it went
        start = proposals.counted_from(h, emit.proposal_id(h, rule_id, measure, (h.cycle, due)), start)
    sent = emit.enforcement_proposed(h, rules, measure, rule_id=rule_id, at=due, key=(h.cycle, due),
                                     caused_by=[cause], counted_from=start)
    if record:
        proposals.note(h, rules, measure, sent, due, start)
    return [sent]


def list_hazard(h: Hazard, rules: Rules, at: int, cause: str) -> list[Out]:
    """Place a major hazard (重大事故隐患) under listed supervision (挂牌督办) from `at`.

    Only major hazards are listed (16号令; the plans, line 798): a general hazard
    left unfixed goes to enforcement against the enterprise instead. A hazard listed before and
    lifted when a verification found it not major is listed again under a notice number of its
    own (the first's with "-2", "-3"...).
    """
    if h.grade != "major" or h.deadline is None:
        return []
    ls = rules.supervision
    year = local(at).year
    notice = ls.notice_no.format(district=rules.reference.district.name, year=year, hazard_id=h.id)
    if h.listed is not None:  # listed again after a lifting: a notice of its own, "-2", "-3"...
        before = h.listed[0]
        notice += f"-{int(before.rsplit('-', 1)[1]) + 1 if before.startswith(notice + '-') else 2}"
        # The escalation that no plan came for the first notice was that notice's: a plan filed
        # now cannot take it back as if it had been due from this one (`planned`).
        h.plan_fired = False
    ceiling = after(ls.max_deadline, at, rules)
    deadline = min(h.deadline, ceiling.at)
    passed = ""
    if deadline <= at:
        # A deadline that passed before the hazard was confirmed major (one a person set while it
        # stood general): a notice cannot give a deadline already gone, nor its units be referred
        # for missing it. It gives the major grade's time from the notice; the ladder runs again.
        passed = f" (the deadline {iso(deadline)} had passed before the notice)"
        deadline, h.approx = min(after(rules.grades["major"].rectify_within, at, rules), ceiling)
        h.step, h.tier = 0, None
    elif deadline != h.deadline:  # the ceiling: approximate as its last day is (a period in days)
        h.approx = ceiling.approximate
    h.listed = [notice, at, deadline, True]
    h.history.append([at, cause, f"listed supervision {notice}, deadline {iso(deadline)}{passed}"])
    return [emit.supervision_listed(h, rules, at)]


def fire(h: Hazard, name: str, due: int, rules: Rules) -> list[Out]:
    """Run out clock `name` at `due`: change the counters it moves, and return what to send."""
    return _FIRE[name](h, rules, due, clock_id(h.id, name, due))


def _counted(h: Hazard, clock: str, at: int | None, rules: Rules) -> str:
    """Where a duty clock counted from, when it was the event's arrival rather than its time."""
    arrived = h.arrived.get(clock) if rules.late_after is not None else None
    if arrived is None:
        return ""
    return f" of reaching the engine on {iso(arrived)} (its own time: {iso(at)})"


def _verify(h: Hazard, rules: Rules, due: int, cause: str) -> list[Out]:
    h.verify_fails += 1
    return _duty_failure(h, rules, due, lead_department(h, rules), "verify", h.opened_at,
                         f"{h.id} was not verified within {rules.verify.within}"
                         f"{_counted(h, 'verify', h.opened_at, rules)}", cause)


def _review(h: Hazard, rules: Rules, due: int, cause: str) -> list[Out]:
    h.review_fails += 1
    return _duty_failure(h, rules, due, lead_department(h, rules), "review", h.completed_at,
                         f"the completion claim on {h.id} was not reviewed within {rules.review.within}"
                         f"{_counted(h, 'review', h.completed_at, rules)}", cause)


def _plan(h: Hazard, rules: Rules, due: int, cause: str) -> list[Out]:
    h.plan_fired = True
    ls = rules.supervision
    h.history.append([due, cause, "rectification plan overdue"])
    start = issued(h, rules)
    late = f", issued on {iso(start)} once its report and confirmation had reached the engine" \
        if start != h.listed[1] else ""
    until = latest(ls.plan_within, start, due, rules)
    doubt = unsure(due, until, "a plan filed by then takes this back")
    return [emit.escalation(
        h, rules, rule_id=plan_rule(rules), action="notify", tier=ls.plan_tier, at=due,
        targets=resolve_all(ls.plan_targets, h, rules),
        reason=f"No rectification plan (整改方案) filed for listed hazard {h.id} within "
               f"{ls.plan_within} of notice {h.listed[0]}{late}{doubt}", key=due, caused_by=[cause])]


def planned(h: Hazard, rules: Rules, done: int, eid: str, at: int) -> list[Out]:
    """A rectification plan filed at `done`, decided at `at`, takes back the escalation that no
    plan had been filed, when it was filed by the plan's due time (an enterprise's app offline),
    or, where that time counted working days through a year no holiday notice covers, by the
    latest it could truly fall. `plan_fired` then no longer stands, so a second such plan takes
    nothing back again."""
    if not h.plan_fired or not h.listed:
        return []
    ls = rules.supervision
    start = issued(h, rules)
    due = after(ls.plan_within, start, rules).at
    until = latest(ls.plan_within, start, due, rules)
    if done > until:
        return []
    when = "filed by then" if done <= due else \
        f"filed by {iso(until)}, the latest that approximate due time could truly fall"
    return [_plan_withdrawn(h, rules, due, eid, at, "plan filed", done,
                            f"The escalation {plan_rule(rules)} of {iso(due)} on {h.id} is withdrawn: the "
                            f"rectification plan {eid} of {iso(done)}, {when}, reached the engine after it")]


def _plan_withdrawn(h: Hazard, rules: Rules, due: int, eid: str, at: int, how: str, done: int,
                    reason: str) -> Out:
    """Take back the escalation, due at `due`, that a listed hazard's enterprise had filed no plan
    (`planned`, `_closed_before`): the record `eid`, decided at `at`, showed it "{how}" at `done`.
    Its recipients are told, with `reason`."""
    ls = rules.supervision
    h.plan_fired = False
    h.history.append([at, eid, f"{plan_rule(rules)} of {iso(due)} withdrawn: {how} on {iso(done)}"])
    return emit.escalation(h, rules, rule_id=plan_rule(rules), action="failure_withdrawn", tier=ls.plan_tier,
                           at=at, targets=resolve_all(ls.plan_targets, h, rules), reason=reason, key=due,
                           caused_by=[eid])


def plan_rule(rules: Rules) -> str:
    """The rule id of the escalation that a listed hazard's plan was not filed in time."""
    return f"{rules.supervision.rule_id}.plan"


def _supervision(h: Hazard, rules: Rules, due: int, cause: str) -> list[Out]:
    # A completion claim dated by the deadline that arrives later withdraws it (`answer`); in a year
    # no holiday notice covers, one dated by the latest day the deadline could fall (`_answerable`).
    h.failures.append(["supervision", h.listed[1], due, None])
    until = _answerable("supervision", h.listed[1], due, rules)
    return _refer_or_hold(h, rules, due, _tag(rules, None), None,
                          f"the listed-supervision deadline {iso(due)} of notice {h.listed[0]} was "
                          f"missed{unsure(due, until, 'a referral waits for that')}", cause, until)


def _extension(h: Hazard, rules: Rules, due: int, cause: str) -> list[Out]:
    h.ext_fails += 1
    body = rules.supervision.supervising_body
    dept = body.split(":", 1)[1] if body.startswith("department:") else lead_department(h, rules)
    return _duty_failure(h, rules, due, dept, "extension", h.ext[0],
                         f"the extension request on {h.id} was not decided within "
                         f"{rules.supervision.extension_decide_within}"
                         f"{_counted(h, 'extension', h.ext[0], rules)}", cause)


# What running out each clock does: (hazard, rules, due, the clock's id as the cause) -> outputs.
_FIRE: dict[str, Callable[[Hazard, Rules, int, str], list[Out]]] = {
    "verify": _verify,
    "ladder": _ladder,
    "review": _review,
    "plan": _plan,
    "supervision": _supervision,
    "extension": _extension,
    "refer": _release,
    "proposal": proposals.overdue,
}

# The rule each duty clock's failure is escalated under (`_duty_failure`, `answer`).
_RULE: dict[str, Callable[[Rules], str]] = {
    "verify": lambda rules: rules.verify.rule_id,
    "review": lambda rules: rules.review.rule_id,
    "extension": lambda rules: f"{rules.supervision.rule_id}.extension",
    "supervision": lambda rules: rules.supervision_missed.rule_id,
}

# The span each department duty's deadline is counted by (the listed-supervision deadline may be a
# date a person set: `latest_of_day`).
_SPAN: dict[str, Callable[[Rules], Span]] = {
    "verify": lambda rules: rules.verify.within,
    "review": lambda rules: rules.review.within,
    "extension": lambda rules: rules.supervision.extension_decide_within,
}


def _answerable(clock: str, since: int, due: int, rules: Rules) -> int:
    """Until when a record of the duty of `clock` answers its failure at `due`: the deadline, or
    where it was counted through a year no holiday notice covers, the latest it could truly fall
    (`latest`; for the listing's deadline, which may be a period or a date set, `latest_of_day`)."""
    if clock == "supervision":
        return latest_of_day(due, rules)
    span = _SPAN.get(clock)
    return due if span is None else latest(span(rules), since, due, rules)
