"""Applying one field event to a hazard: the lifecycle facts each event type records.

Field apps work offline, so events come in any order. Each event records its
facts with its own time; where two events set the same fact, the later event
time wins, whatever order they arrived in. Opening the hazard (a report or a
finding) is what starts its clocks; until then it is an orphan.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from engine.contract.roles import ROLES, SETS_DEADLINE
from engine.decide import emit, proposals
from engine.decide.clocks import (
    DONE,
    Why,
    accepted,
    answer,
    claimed,
    dismissed,
    extended,
    extended_late,
    judged_late,
    list_hazard,
    mark_withdrawn,
    ordered,
    planned,
    sent_again,
    unjudged,
    violated_key,
    violation_start,
)
from engine.decide.state import (
    DISMISSALS,
    VERDICTS_KEPT,
    Hazard,
    extension_outcome,
    failed_review_key,
    keep_claim,
    keep_failed_review,
    keep_plan,
    lead_named_late_key,
    note_extension_decision,
    order_at_key,
    order_until_key,
)
from engine.intake.timeline import FINDING_TYPE
from engine.kernel.apply import UnknownEntryType
from engine.kernel.entries import (
    Entry,
    ExtensionDecided,
    ExtensionRequested,
    FindingData,
    HazardReported,
    HazardVerified,
    RectificationCompleted,
    RectificationPlanned,
    RectificationProgressed,
    RectificationReviewed,
)
from engine.kernel.outputs import Out
from engine.kernel.referral import decided_at, reached, withdrawal
from engine.kernel.targets import lead_department, resolve_all
from engine.kernel.time import after, epoch, iso, unmoved, utc
from engine.ruleset.compiled import Grade, Rules, Span
from engine.zh.words import Words


def _open(h: Hazard, at: int, event_id: str, origin: str, d: dict[str, Any]) -> None:
    if h.opened is not None and (h.opened_at or 0) <= at:
        return  # opened already, by an earlier report or finding
    h.opened, h.opened_at, h.origin = event_id, at, origin
    h.sector = d["sector"]
    h.town = d.get("location", {}).get("town")
    lat, lon = d.get("location", {}).get("lat"), d.get("location", {}).get("lon")
    h.point = [lat, lon] if lat is not None and lon is not None else h.point
    ent = d.get("enterprise")
    h.enterprise = [ent["uscc"], ent["name"]] if ent else h.enterprise
    if d.get("rectify_by") and sets_deadline(d):
        h.rectify_by = epoch(d["rectify_by"])


def _close(h: Hazard, at: int, how: str) -> None:
    # Of two events that close the hazard, the later one says how, whichever arrived first.
    if h.closed_at is None or h.closed_at <= at:
        h.closed_at, h.closed_how = at, how


def _confirm(h: Hazard, at: int, event_id: str, grade: str, lead: str | None = None) -> None:
    _verdict(h, at, "confirmed", grade, lead)
    if h.verified_at is not None and h.verified_at > at:
        return
    h.verdict, h.grade, h.verified_at, h.confirmed_by = "confirmed", grade, at, event_id


# What one event type records on a hazard: (hazard, data, time, event id, rules) -> (what, outputs).
# The data is the TypedDict engine/kernel/entries.py `DATA_TYPES` gives for the handler's type.
Handler = Callable[[Hazard, Any, int, str, Rules], tuple[str, list[Out]]]


def apply_event(h: Hazard, entry: Entry, at: int, rules: Rules) -> list[Out]:
    """Record one field event's facts on the hazard; return notices it issues at once."""
    kind = entry["type"]
    handler = HANDLERS.get(kind)
    if handler is None:
        raise UnknownEntryType(f"no hazard rule handles entries of type {kind!r}")
    eid = entry["event_id"]
    failed = _failed_review(entry)  # asked once: up to six of the tests below want it
    if failed and failed_review_key(at) in h.arrived:
        # The same failed review sent again under a fresh event id (an app retrying): counting it
        # again would start another cycle with the same deadline, and run its ladder again.
        h.history.append([at, eid, "review failed: recorded again, counted once"])
        return []
    late = rules.late_after is not None and (kind in _LATE or failed)
    known = h.arrived.get("verify", h.opened_at) if late else None  # when a report first reached it
    # An extension's decision (or its request, when the decision came first) may move a deadline
    # whose ladder has run: what ran after the approval is taken back below.
    # With them the listing's deadline, and when the request a decision answers was made (pending,
    # or refused and now reconsidered: `_asked`; None when no request is before the body).
    moved = ((h.deadline, h.step, h.early[0] if kind != _DECIDED and h.early else at,
              h.listed[2] if h.listed else None, _asked(h))
             if kind in _EXTENSION else None)
    early = h.early if kind == _REQUESTED else None  # a decision that came before this request
    before = (h.deadline, h.step) if kind == _ORDERED else None  # an order's period may move it
    what, outs = handler(h, entry["data"], at, eid, rules)
    by_order = before is not None and h.deadline != before[0]  # the order's period, or its correction
    if h.closed_how is not None:
        # No claim awaits review on a closed hazard, whichever arrived first: the claim or the close,
        # nor is any review of one missed.
        h.completed_at = None
        h.review_fails = 0
    if late:
        arrived = _known_at(entry, at, rules)
        clock = _STARTS.get(kind)
        if clock is not None:
            _arrival(h, clock, eid, at, arrived, known)
        if h.confirmed_by == eid:  # the confirmation that stands: a listed hazard's notice waits for it
            _arrival(h, "confirm", eid, at, arrived, None)
        if (h.cycle_start == at and failed) or by_order:  # it set the deadline in force
            _arrival(h, "cycle", eid, at, arrived, None)
        if failed:
            keep_failed_review(h, at, arrived)
        if kind == _VIOLATED and arrived != at:  # the art. 70 proposal it dates counts from it
            h.arrived[violated_key(eid)] = arrived
        if arrived != at:  # on the record (三项制度): why its clock counts from later
            what += f" (reached the engine late, on {iso(arrived)})"
    h.history.append([at, eid, what])
    if h.failures:  # a record of a duty done in time, reaching the engine after its failure fired
        for clock, why in _answers(h, entry, at):
            outs += answer(h, rules, clock, at, eid, decided_at(entry, at, h.watermark), why)
    if failed and h.listed and not (h.is_open() and h.listed[3]):
        # Made while the hazard stood listed, reaching the engine after a close made since.
        outs += judged_late(h, rules, at)
    if h.failures and (unlisting := _unlisting(h, entry, at)) is not None:
        # Closed or no longer listed before a failed review, applied first, judged a claim pending at
        # the listing's deadline.
        outs += unjudged(h, rules, *unlisting, at, eid, decided_at(entry, at, h.watermark))
    if moved is not None and kind == _DECIDED and h.failures:
        # Approved after the listing's deadline, on a request made by it: the supervising body's delay.
        outs += extended_late(h, rules, moved[3], moved[4], at, eid, decided_at(entry, at, h.watermark))
    if moved is not None and kind == _REQUESTED and h.failures:
        # A request whose decision reached the engine first: what that decision answers, by its time.
        outs += _request_answered(h, rules, entry, at, moved[3], early, decided_at(entry, at, h.watermark))
    if h.proposals and kind in _ANSWER_TYPES:  # a review or a decision made in time, late
        decided = decided_at(entry, at, h.watermark)
        outs += proposals.answered_late(h, rules, eid, decided)
        if kind == _REVIEWED and entry["data"]["outcome"] == "approved":
            # An approval that reached the engine after the decision it gave a time to was due.
            outs += proposals.approved_late(h, rules, eid, reached(entry, at), decided)
    if h.step and kind == "safety.rectification.completed" and not h.judged(at) and (
            (h.completed_at is not None and at <= h.completed_at)
            or (h.closed_at is not None and at <= h.closed_at)):
        # A claim no failed review has judged, made before ladder steps that ran because no claim had
        # come: the one that stands, an earlier one reaching the engine after it, or one made before
        # the record that closed the hazard (in time order the ladder stopped at the first claim).
        outs += claimed(h, rules, at, eid, decided_at(entry, at, h.watermark))
    if h.plan_fired and kind == "safety.rectification.planned":  # a plan filed in time, late
        outs += planned(h, rules, at, eid, decided_at(entry, at, h.watermark))
    if ((h.step or h.plan_fired) and kind == "safety.hazard.verified" and h.closed_how in DISMISSALS
            and h.closed_at == at and h.verified_at == at):
        # Found unfounded or a duplicate in time: what ran after that (the ladder's steps, the
        # escalation that no plan was filed) is taken back.
        outs += dismissed(h, rules, h.closed_how, at, eid, decided_at(entry, at, h.watermark))
    if h.proposals and kind == "safety.hazard.verified":
        # Found unfounded or a duplicate before a proposal's due time: nobody was to be pressed to
        # decide it. Found otherwise since such a verdict and before that time: somebody was.
        verdict, decided = entry["data"]["verdict"], decided_at(entry, at, h.watermark)
        if verdict in DISMISSALS:
            outs += proposals.dismissed(h, rules, verdict, at, eid, decided)
        else:
            outs += proposals.confirmed(h, rules, verdict, at, eid, reached(entry, at), decided)
    if h.proposals and kind == _RECTIFICATION_REVIEWED and entry["data"]["outcome"] == "passed":
        # Rectified and accepted: an order to stop asked for to get the hazard eliminated is moot.
        outs += proposals.accepted(h, rules, at, eid, decided_at(entry, at, h.watermark))
    if (h.step or h.plan_fired) and kind == _RECTIFICATION_REVIEWED \
            and entry["data"]["outcome"] == "passed":
        # Accepted as rectified in time (a passed review closes for good, whichever close came
        # first): what ran after that is taken back, as for a verdict.
        outs += accepted(h, rules, at, eid, decided_at(entry, at, h.watermark))
    if kind == _LIFTED:  # a lifting recorded after violations found since
        outs += _lifted_late(h, rules, entry["data"]["order_no"], at, eid, decided_at(entry, at, h.watermark))
    if (h.referred and kind == "safety.hazard.verified" and entry["data"]["verdict"] in DISMISSALS
            and any(v[1] >= at for v in h.violations)):  # found unfounded before violations found since
        verdict = entry["data"]["verdict"]
        outs += _dismissed_late(h, rules, at, verdict, eid, decided_at(entry, at, h.watermark))
    if h.referred and kind in _VERIFYING and h.violations:
        # Found unfounded or a duplicate since the violation, or graded below major, before it or
        # since: no order on a major hazard was refused, as the verifications by time now say.
        outs += _judged_again(h, rules, entry, at, eid, decided_at(entry, at, h.watermark))
    if by_order and before is not None and before[0] is not None and before[1]:
        # An order whose record reached the engine after ladder steps ran against the deadline it replaced.
        d = entry["data"]
        period = d["order"] == RECTIFY_WITHIN and bool(d.get("until")) and h.deadline == epoch(d["until"])
        outs += ordered(h, rules, before[0], before[1], at, eid, decided_at(entry, at, h.watermark), period)
    if moved is not None and moved[1] and h.step == 0 and h.deadline is not None and h.deadline > moved[0]:
        # An approval that reached the engine after ladder steps ran against the deadline it moved.
        outs += extended(h, rules, moved[0], moved[1], moved[2], eid, decided_at(entry, at, h.watermark))
    return outs


def _answers(h: Hazard, entry: Entry, at: int) -> tuple[tuple[str, Why], ...]:
    """The clocks whose duty a record answers at its time `at`, each with why: done (a verification,
    or a finding of law enforcement, which confirms itself; a review; an extension decision; for
    the listed-supervision deadline, a completion claim no failed review has judged, or a review
    that passed), or no longer owed (a dismissal, a re-grade, a close, a deadline moved)."""
    kind, data = entry["type"], entry["data"]
    if kind == "safety.hazard.verified":
        if data["verdict"] in DISMISSALS:
            # Found unfounded or a duplicate, the hazard owed no rectification from then: nor a
            # listing's; and closed by it, no review of a claim and no extension decision either (in
            # time order their clocks stop with the close: engine/decide/clocks.py `derive`).
            closes = h.closed_how in DISMISSALS and h.closed_at == at
            moot = Why(f"found the hazard {data['verdict']} on {iso(at)}, before the deadline, so the duty "
                       "never fell due", f"found {data['verdict']}")
            return ((("verify", DONE), ("supervision", moot), ("review", moot), ("extension", moot)) if closes
                    else (("verify", DONE), ("supervision", moot)))
        if h.verified_at == at and h.listed is not None and h.grade != "major":
            # Re-graded by the latest verification: the listing ends then (`settle` lifts it:
            # `_unlisted`), and a listing's deadline missed since was no listing's (README: no
            # department is referred for the deadline of a listing it no longer has).
            return (("verify", DONE), ("supervision", Why(
                f"re-graded the hazard {h.grade} on {iso(at)}, which ended its listing before the deadline, "
                "so no listing's deadline fell due", f"re-graded {h.grade}")))
        return (("verify", DONE),)
    if kind == FINDING_TYPE:
        return (("verify", DONE),) if data["inspection"]["law_enforcement"] else ()
    if kind == _RECTIFICATION_REVIEWED:
        # Passed, the hazard is closed for good: no listing's deadline and no extension decision
        # was owed from then.
        if data["outcome"] != "passed":
            return (("review", DONE),)
        return (("review", DONE), ("supervision", DONE), ("extension", Why(
            f"accepted the hazard as rectified on {iso(at)}, so no extension decision fell due",
            "review passed")))
    if kind == _DECIDED:
        # Approved, it also answers the listed-supervision deadline it moved past (`answer` then
        # withdraws that failure only where its period holds the approval; `extended_late` where
        # the approval came after it).
        if not (data["approved"] and _moved_past(h)):
            return (("extension", DONE),)
        return (("extension", DONE), ("supervision", _extended_in_time(h, at)))
    if kind == "safety.rectification.completed":
        return () if h.judged(at) else (("supervision", DONE),)
    return ()


def _unlisting(h: Hazard, entry: Entry, at: int) -> tuple[str, str] | None:
    """What a record at `at` did that ended listed supervision's hold on the hazard from then, in the
    words of a withdrawal's reason and of the record (`clocks.unjudged`): a verification that found
    it unfounded or a duplicate, or graded it below major, or an acceptance review that passed.
    None for any other record."""
    kind, data = entry["type"], entry["data"]
    if kind == "safety.hazard.verified" and data["verdict"] in DISMISSALS:
        return f"found the hazard {data['verdict']}", f"found {data['verdict']}"
    if kind == "safety.hazard.verified" and data.get("grade") not in (None, "major"):
        return f"re-graded the hazard {data['grade']}", f"re-graded {data['grade']}"
    if kind == _RECTIFICATION_REVIEWED and data["outcome"] == "passed":
        return "accepted the hazard as rectified", "review passed"
    return None


def _request_answered(h: Hazard, rules: Rules, entry: Entry, at: int, deadline: int | None,
                      early: list[Any] | None, decided: int) -> list[Out]:
    """What a request made at `at`, whose decision reached the engine before it, withdraws: what
    that decision would have withdrawn had the request come first (in time order), said in the
    decision's words, with the decision's own time. A request record approves nothing, and an
    approval made after the deadline was not made before it (until 2026-12-07 such a request was
    said to have "approved on" its own day "before the deadline passed").

    Decided now by the approval kept for it (`early`, made before the hazard had a deadline: applied
    at this request, `_extension_request`): a listing's deadline it moved past is answered as by an
    approval in time (`answer`, where the failure's period holds the approval), or, approved after
    it, as by a late approval of a request made in time (`extended_late`). Answered by an approval on
    file since (`_extension_request`: the decision of `ext_decided`, applied when it came, with no
    request before the body): that approval, made after a listed deadline this request came before,
    withdraws its failure as a late approval of a pending request would have. Either way only a
    request the district's practice leaves a decision owed on (`_may_ask`) counts: one made too
    late was never pending in time order, and an approval after the deadline leaves its referral."""
    outs: list[Out] = []
    if early is not None and early[1] and h.early is None:  # the approval kept for it, applied now
        done, by = early[0], early[3]
        if _moved_past(h):
            outs += answer(h, rules, "supervision", done, by, decided, _extended_in_time(h, done))
        if deadline is not None and _may_ask(h, at, deadline, rules):
            outs += extended_late(h, rules, deadline, at, done, by, decided)
        return outs
    if h.ext_decided is None or at > h.ext_decided or extension_outcome(h).refused is not None:
        return []  # not answered by an approval on file
    for due in sorted({f[2] for f in h.failures if f[0] == "supervision" and at <= f[2] < h.ext_decided}):
        if _may_ask(h, at, due, rules):
            outs += extended_late(h, rules, due, at, h.ext_decided, entry["event_id"], decided)
    return outs


def _may_ask(h: Hazard, at: int, deadline: int, rules: Rules) -> bool:
    """Whether a request made at `at` against `deadline` leaves a decision owed on it: made at least
    the district's working days before it, or on a hazard not held to listed supervision
    (`_extension_request`)."""
    return not h.held_to_listing() or _working_days_left(at, deadline, rules) >= \
        rules.supervision.extension_request_before.n


def _working_days_left(at: int, deadline: int, rules: Rules) -> int:
    """The working days from `at` to `deadline`; in a year no holiday notice covers, the most there
    could be (a request is judged too late only if too late by them)."""
    left, approximate = rules.calendar.working_days_between(utc(at), utc(deadline))
    return rules.calendar.most_working_days_between(utc(at), utc(deadline)) if approximate else left


def _asked(h: Hazard) -> int | None:
    """When the request before the supervising body was made: the pending one, or the one its latest
    decision refused (an approval on reconsideration answers it). None when the latest decision
    approved a request, or none was decided: an approval then answers no request, and a referral
    for a deadline missed before it stands (until 2026-12-07 the time of any earlier decision was
    taken for a request, approvals included: a referral was withdrawn "on a request" nobody made)."""
    if h.ext:
        return h.ext[0]  # type: ignore[no-any-return]
    return extension_outcome(h).refused


def _extended_in_time(h: Hazard, approved: int) -> Why:
    """Why an extension approved at `approved` answers a listing's deadline it moved: not a duty done,
    a deadline no longer in force."""
    return Why(f"approved on {iso(approved)} an extension to {iso(h.listed[2])}, before the deadline "  # type: ignore[index]
               "passed, so the deadline missed was no longer in force", "deadline extended")


def _moved_past(h: Hazard) -> bool:
    """Whether the listing's deadline now lies past a listed-supervision failure on file."""
    return h.listed is not None and any(f[0] == "supervision" and h.listed[2] > f[2] for f in h.failures)


_DECIDED = "safety.rectification.extension_decided"
_REQUESTED = "safety.rectification.extension_requested"
_EXTENSION = frozenset({_DECIDED, _REQUESTED})

# The department's duty clock each event type starts (engine/decide/clocks.py `derive`).
_STARTS = {"safety.hazard.reported": "verify", FINDING_TYPE: "verify",
           "safety.rectification.completed": "review",
           "safety.rectification.extension_requested": "extension"}
# The types whose arrival can count: those, and a verification (a confirmation lists a major
# hazard, and the enterprise's plan is due from the notice: engine/decide/clocks.py `issued`);
# and a failed review (`_failed_review`); and a violation of an order (its art. 70 proposal counts
# from it: `_utility_stop`); and an order, whose period may set the deadline a ladder runs against
# (its proposals count from when it came, as a failed review's do: `_order_period`).
_VIOLATED = "safety.enforcement.violated"
_ORDERED = "safety.enforcement.ordered"
_LATE = frozenset({*_STARTS, "safety.hazard.verified", _VIOLATED, _ORDERED})
_RECTIFICATION_REVIEWED = "safety.rectification.reviewed"


def _failed_review(entry: Entry) -> bool:
    """Whether `entry` is a failed review: it sets a new deadline, whose ladder a late record of it
    may run at once, proposals and all."""
    return entry["type"] == _RECTIFICATION_REVIEWED and entry["data"]["outcome"] == "failed"


def _known_at(entry: Entry, at: int, rules: Rules) -> int:
    """When the department could first know of `entry`: its own time `at`, or when it reached the
    engine if that was more than the rules' `duties.late_arrival.after` later (an app offline).
    Called only with that rule set (`apply_event`)."""
    arrival = entry.get("arrived_at")
    if arrival is None:
        return at
    arrived = epoch(arrival)
    return arrived if arrived > after(rules.late_after, at, rules).at else at


def _arrival(h: Hazard, clock: str, eid: str, at: int, known: int, before: int | None) -> None:
    """Record where duty clock `clock` counts from, after an event that starts it was applied.

    The verify clock counts from the first moment any report or finding of the hazard was known,
    whichever of them opened it (the earliest by time): so the order they arrive in does not matter.
    The review and extension clocks count from the claim or request that stands (the latest, or
    the pending one) and from when it was known; "confirm" is when the confirmation that stands
    was known, "cycle" when the failed review that set the deadline in force was (the ladder its
    deadline runs may have run before then, and its proposals count from it: engine/decide/clocks.py
    `proposal_start`).
    """
    if clock == "verify":
        start = known if before is None else min(before, known)
        stands = h.opened_at
    elif clock in ("confirm", "cycle"):
        start, stands = known, at
    elif clock == "review":
        if h.completed_at != at:
            return  # a claim that does not stand starts nothing
        start, stands = known, at
    else:
        if h.ext is None or h.ext[2] != eid:
            return  # a request refused as too late, or none pending
        start, stands = known, at
    if stands is not None and start > stands:
        h.arrived[clock] = start
    else:
        h.arrived.pop(clock, None)


def sets_deadline(d: dict[str, Any]) -> bool:
    """Whether the report or finding `d` sets its hazard's deadline when it names one (`rectify_by`):
    a finding, as its inspection sets it; a report, when an inspector or a supervisor made it
    (contract section 5: "unless the inspector sets `rectify_by`"). An enterprise's date on its own
    hazard, or a passer-by's, would move the ladder, its summons and its fines."""
    reporter = d.get("reporter")
    return reporter is None or reporter["role"] in SETS_DEADLINE


def _reported(h: Hazard, d: HazardReported, at: int, eid: str, rules: Rules) -> tuple[str, list[Out]]:
    _open(h, at, eid, "report", d)
    h.title = h.title or d["title"]
    h.claimed = d["grade_claimed"]
    what = f"reported ({d['grade_claimed']}) via {d['found_via']}"
    if d.get("rectify_by") and not sets_deadline(d):
        what += (f"; its rectify_by {d['rectify_by']} not applied: a deadline is an inspector's to set, "
                 f"and the reporter is {d['reporter']['role']}")
    return what, []


def _finding(h: Hazard, d: FindingData, at: int, eid: str, rules: Rules) -> tuple[str, list[Out]]:
    insp = d["inspection"]
    _open(h, at, eid, "finding" if insp["law_enforcement"] else "report",
          {**d, "location": insp["location"], "enterprise": insp["enterprise"]})
    h.title = h.title or d["description"][:80]
    h.claimed = d["grade"]
    what = f"found by {insp['kind']} inspection {insp['inspection_id']} ({d['grade']})"
    if insp["law_enforcement"]:
        _confirm(h, at, eid, d["grade"])  # a law-enforcement finding confirms itself
    if d.get("immediate"):
        h.immediate = True  # rectified on the spot: no later verification opens it again
        _close(h, at, "immediate")
        what += ", fixed on the spot"
    return what, []


def _verified(h: Hazard, d: HazardVerified, at: int, eid: str, rules: Rules) -> tuple[str, list[Out]]:
    what = f"verified: {d['verdict']}"
    lead = d.get("lead_department")
    told = lead_department(h, rules)  # the lead a listed hazard's notice names
    if d["verdict"] == "confirmed":
        _confirm(h, at, eid, d["grade"], lead)
        what += f" ({d['grade']})"
        if (h.confirmed_by == eid and h.closed_how in DISMISSALS and h.closed_at <= at  # type: ignore[operator]
                and h.passed_at is None and not h.immediate):
            # The latest verification stands: a hazard an earlier one found unfounded or a duplicate
            # is open again, with a deadline from this confirmation (`settle`), not lost. One whose
            # acceptance review passed, or that was fixed on the spot, was rectified: it stays closed.
            what += f"; reopened: the verification of {iso(h.closed_at)} had found it {h.closed_how}"
            h.closed_at = h.closed_how = h.duplicate_of = None
            # Told there was nothing to rectify, the enterprise has its full time again, from now.
            h.step, h.tier = 0, None
            h.cycle_start = start = max(at, h.opened_at)
            h.deadline, h.approx = _rectify_deadline(h, rules, start, reopened=True)
    else:
        _verdict(h, at, d["verdict"], None, lead)  # kept by time whatever the order; the latest stands below
        if h.verified_at is None or h.verified_at <= at:
            h.verdict, h.verified_at = d["verdict"], at
            h.duplicate_of = d.get("duplicate_of")
            _close(h, at, d["verdict"])
    _lead(h, lead)
    return _notice_again(h, rules, at, told, what)


def _notice_again(h: Hazard, rules: Rules, at: int, told: str | None, what: str) -> tuple[str, list[Out]]:
    """Issue a listed hazard's notice again when a verification made another department its lead.

    The notice goes to the town and the lead department (`listed_supervision.responsible_units`),
    and they answer for a missed deadline (`referral.listed_supervision_failed`: "the bodies the
    notice was sent to"). A lead named since the notice never had it: it is issued again, its number
    and deadline as they stand, so that the department a referral would name is one that was told.
    Not once the deadline has passed, by the verification's time or by the time the engine had
    reached when it came (`watermark`: a record dated before the deadline that arrives after it
    tells nobody in time), nor for a hazard that no longer stands confirmed major (`settle` lifts
    its listing). The notice is dated when it is issued: the verification's time, or the engine's
    for a record that came late."""
    now = lead_department(h, rules)
    issued = max(at, h.watermark, h.listed[1]) if h.listed else at
    if now == told or not (h.listed and h.listed[3]) or h.verdict != "confirmed" or h.grade != "major":
        return what, []
    if h.listed[2] <= issued:
        if at <= h.listed[2]:  # dated in time, come too late to tell anyone: the referral keeps the lead told
            h.arrived[lead_named_late_key(at)] = issued
        return what, []
    return (f"{what}; notice {h.listed[0]} issued again to the new lead department {now}",
            [emit.supervision_listed(h, rules, issued)])


def _lead(h: Hazard, named: str | None) -> None:
    """Set the lead department override after a verification that named `named` (or none): the one
    the latest verification by time that names one named (`verdicts`), so that an older one reaching
    the engine after a newer one does not set it back. With one verification, or with rows stored
    before format 13 (which keep no lead), the one named last, as before."""
    leads = [v[3] for v in h.verdicts if v[3]]
    if leads:
        h.lead = leads[-1]
    elif named:
        h.lead = named

def _verdict(h: Hazard, at: int, verdict: str, grade: str | None = None, lead: str | None = None) -> None:
    """Keep a verdict by its time, with the grade a confirmation gave and the lead department it
    named, whichever order verdicts come in (`Hazard.verdicts`), from the second one on: with one,
    the latest verification (`verdict`, `grade`, `lead`, `verified_at`) says it all, and most hazards
    are verified once (a list kept for each cost the pure path 5–11% of its time)."""
    if not h.verdicts:
        if h.verified_at is None:
            return  # the first: nothing to keep beside it yet
        h.verdicts.append([h.verified_at, h.verdict, h.grade if h.verdict == "confirmed" else None, h.lead])
    h.verdicts.append([at, verdict, grade, lead])
    h.verdicts.sort(key=lambda v: v[0])  # stable: of two in one second, the one applied later is later
    del h.verdicts[:-VERDICTS_KEPT]


def _planned(h: Hazard, d: RectificationPlanned, at: int, eid: str, rules: Rules) -> tuple[str, list[Out]]:
    keep_plan(h, at, d["responsible_person"])  # who was responsible when (`Hazard.responsible_by`)
    if h.planned_at is None or h.planned_at <= at:  # the latest plan stands
        h.planned_at, h.plan_target = at, epoch(d["target_date"])
        h.responsible = d["responsible_person"]
    return f"rectification planned, target {iso(epoch(d['target_date']))}", []


def _progressed(h: Hazard, d: RectificationProgressed, at: int, eid: str,
                rules: Rules) -> tuple[str, list[Out]]:
    h.progress = max(h.progress, d["percent"])
    return f"rectification {d['percent']}% done", []


def _completed(h: Hazard, d: RectificationCompleted, at: int, eid: str,
               rules: Rules) -> tuple[str, list[Out]]:
    keep_claim(h, at)
    # The latest claim stands; a claim that a later failed review has judged already does not.
    if h.closed_how is None and not h.judged(at) and (h.completed_at is None or h.completed_at <= at):
        h.completed_at = at
        h.review_fails = 0  # the review clock runs afresh from the newest claim
    return "rectification claimed complete", []


def _reviewed(h: Hazard, d: RectificationReviewed, at: int, eid: str, rules: Rules) -> tuple[str, list[Out]]:
    return _review(h, at, eid, d["outcome"], rules)


def _enforcement(kind: str) -> Handler:
    def record(h: Hazard, d: dict[str, Any], at: int, eid: str, rules: Rules) -> tuple[str, list[Out]]:
        return _enforcement_record(h, kind, at, eid, d, rules), []
    return record


_ENFORCEMENT = ("ordered", "penalized", "legal_reviewed", "violated", "lifted")
_ANSWERS = ("penalized", "legal_reviewed")  # kept for the proposals they answer (`Hazard.answers`)
_REVIEWED = "safety.enforcement.legal_reviewed"
_ANSWER_TYPES = frozenset(f"safety.enforcement.{kind}" for kind in (*_ANSWERS, "ordered"))


def _enforcement_record(h: Hazard, kind: str, at: int, eid: str, d: dict[str, Any], rules: Rules) -> str:
    """Record an enforcement record's facts; return the timeline's words for it."""
    if kind == "ordered":
        until = f" until {d['until']}" if d.get("until") else ""
        said = f"order {d['order_no']}: {d['order']}{until} ({d['legal_basis']})"
        return said + _order_record(h, rules, d, at, eid)
    if kind in _ANSWERS:
        proposals.recorded(h, rules, kind, d, at, eid)
    if kind == "penalized":
        return f"penalty decision {d['decision_no']}: fine {d['fine_cny']} CNY ({d['legal_basis']})"
    if kind == "legal_reviewed":
        return f"legal review (法制审核) of proposal {d['proposal_id']}: {d['outcome']}"
    if kind == "violated":
        if not any(v[2] == eid for v in h.violations):
            h.violations.append([d["order_no"], at, eid, list(d["evidence"]), None])
            h.violations.sort(key=lambda v: (v[1], v[2]))
        if h.lifted.get(d["order_no"], at + 1) <= at:
            lifted = iso(h.lifted[d["order_no"]])
            return (f"order {d['order_no']} found violated after its lifting on {lifted}, so no order in "
                    f"force was: {d['description']}")
        return f"order {d['order_no']} found violated: {d['description']}"
    if d["order_no"] not in h.lifted or at < h.lifted[d["order_no"]]:
        h.lifted[d["order_no"]] = at
    return f"order {d['order_no']} lifted"


_LIFTED = "safety.enforcement.lifted"


def _lifted_late(h: Hazard, rules: Rules, order_no: str, at: int, eid: str, decided: int) -> list[Out]:
    """An order's lifting at `at`, decided at `decided` (when its record reached the engine), whose
    record came after violations found since (an app offline):
    they violated no order in force. What they caused and no violation before the lifting
    supports is withdrawn, to those it went to: the transfer to the public security bureau
    (`safety.referral.judicial_withdrawn`) and the art. 70 utility stop proposal
    (`safety.enforcement.withdrawn`). The enterprise's file withdraws its credit proposals (the
    link says which violations no longer count). A violation before the lifting, recorded later
    still, is transferred again under an id of its own (`_transfer`, `_utility_stop`)."""
    after_it = [v for v in h.violations if v[0] == order_no and v[1] >= at]
    if h.lifted[order_no] != at or not after_it or any(
            v[0] == order_no and h.in_force(order_no, v[1]) for v in h.violations):
        return []  # nothing found since, or a violation while it was in force supports what was sent
    said = (f"order {order_no} was lifted on {iso(at)}, before the violation found on {iso(after_it[0][1])}; "
            f"the record {eid} of the lifting reached the engine after it")
    return _taken_back(h, rules, order_no, after_it, said, decided, eid,
                       "as the violations found since its lifting violated no order in force")


def _dismissed_late(h: Hazard, rules: Rules, at: int, verdict: str, eid: str, decided: int) -> list[Out]:
    """A verification at `at` that found the hazard unfounded or a duplicate, decided at `decided`,
    whose record came after violations found since (an app offline): they were found on no hazard
    to rectify, so no order was refused because of a major hazard (刑法 art. 134-1) and no art. 70
    stop was called for. What they caused and no violation on a standing hazard supports is
    withdrawn, as for a lifting (`_lifted_late`)."""
    if not h.dismissed_by(at):
        return []  # a verification by then, applied earlier, found otherwise
    outs: list[Out] = []
    for order_no in dict.fromkeys(v[0] for v in h.violations if v[1] >= at):
        after_it = [v for v in h.violations if v[0] == order_no and v[1] >= at]
        if any(v[0] == order_no and h.in_force(order_no, v[1]) and not h.dismissed_by(v[1])
               for v in h.violations):
            continue  # a violation on a standing hazard supports what was sent
        said = (f"the verification {eid} of {iso(at)}, which found it {verdict} before the violation of "
                f"order {order_no} found on {iso(after_it[0][1])}, reached the engine after it")
        why = f"as the violations found since it was found {verdict} were on no hazard to rectify"
        outs += _taken_back(h, rules, order_no, after_it, said, decided, eid, why)
    return outs


_VERIFYING = frozenset({"safety.hazard.verified", FINDING_TYPE})  # the records that give a verdict


def _judged_again(h: Hazard, rules: Rules, entry: Entry, at: int, eid: str, decided: int) -> list[Out]:
    """A verification at `at` (or a law-enforcement finding, which confirms itself), decided at
    `decided`, that found the hazard unfounded or a duplicate, or graded it below major. A transfer
    stands while a violation of its order was found in force on a hazard confirmed at a grade it is
    for then (`Hazard.graded_by`); an art. 70 proposal, while the hazard also stands confirmed major
    now (`_grounded`). A verification dated before the violation and reaching the engine after it
    can take the first away, one made at any time the second, and what lost its ground is withdrawn.
    `_dismissed_late` has said why for a dismissal before the violation."""
    data = entry["data"]
    if entry["type"] == FINDING_TYPE and not data["inspection"]["law_enforcement"]:
        return []  # a finding of another inspection verifies nothing
    verdict = data["verdict"] if entry["type"] == "safety.hazard.verified" else "confirmed"
    grade = data.get("grade") if verdict == "confirmed" else None
    if grade == "major":
        return []  # confirmed major: it takes no ground away
    found = f"re-graded the hazard {grade}" if verdict == "confirmed" else f"found it {verdict}"
    j, outs = rules.judicial, []
    for order_no in dict.fromkeys(v[0] for v in h.violations):
        tags = set()
        if (j is not None and f"{j.rule_id}:{order_no}" in h.referred
                and not _grounded(h, order_no, j.grades, now=False)):
            tags.add(f"{j.rule_id}:{order_no}")
        if f"{UTILITY_STOP}:{order_no}" in h.referred and not _grounded(h, order_no, ("major",)):
            tags.add(f"{UTILITY_STOP}:{order_no}")
        if not tags:
            continue
        its = sorted((v for v in h.violations if v[0] == order_no), key=lambda v: v[1])
        on = next((v for v in its if tags & set(v[4] or ())), its[0])
        said = (f"the verification {eid} of {iso(at)} {found}, so order {order_no}, found violated on "
                f"{iso(on[1])}, is not held to be on a major hazard")
        why = f"as the verification of {iso(at)} {found}, it is not held to be on a major hazard"
        outs += _taken_back(h, rules, order_no, its, said, decided, eid, why, tags)
    return outs


def _grounded(h: Hazard, order_no: str, grades: Collection[str], found: int | None = None,
              now: bool = True) -> bool:
    """Whether a violation of order `order_no` (the one found at `found`; None: any) was found while
    the order was in force, on a hazard confirmed at one of `grades` then (`Hazard.graded_by`), and
    with `now`, the hazard stands confirmed at one of them now (its latest verification by time):
    the ground a transfer (刑法 art. 134-1, `_transfer`: a refusal then) and an art. 70 proposal
    (`_utility_stop`: a stop to force the order, for a danger that stands) go on."""
    if now and (h.verdict != "confirmed" or h.grade not in grades):
        return False
    return any(v[0] == order_no and (found is None or v[1] == found) and h.in_force(order_no, v[1])
               and h.graded_by(v[1]) in grades for v in h.violations)


def _taken_back(h: Hazard, rules: Rules, order_no: str, after_it: list[list[Any]], said: str, decided: int,
                eid: str, why: str, tags: Collection[str] | None = None) -> list[Out]:
    """Withdraw what violations `after_it` of order `order_no` caused, `said` why, to those it went
    to: the transfer to the public security bureau (`safety.referral.judicial_withdrawn`) and the
    art. 70 utility stop proposal (`safety.enforcement.withdrawn`), each restated as it was sent,
    or of those the ones `tags` names; `why` ends the hazard's record line."""
    zh = Words("zh", rules.reference)
    outs: list[Out] = []
    j = rules.judicial
    if j is not None and (tag := f"{j.rule_id}:{order_no}") in h.referred and (tags is None or tag in tags):
        _, found, _, evidence, _ = _sent_on(after_it, tag)
        sent = emit.judicial_referral(h, rules, order_no=order_no, at=found, evidence=evidence,
                                      again=sent_again(h, tag))  # as it was sent
        reason = f"Transfer withdrawn: {said}"
        outs.append(withdrawal(sent, reason, decided, zh.reason(reason)))
        mark_withdrawn(h, tag)
    measure = rules.enforcement.get(UTILITY_STOP)
    proposed: list[Out] = []
    if measure is not None and (tag := f"{UTILITY_STOP}:{order_no}") in h.referred and (
            tags is None or tag in tags):
        _, found, cause, _, _ = _sent_on(after_it, tag)
        again = sent_again(h, tag)
        rule_id, key = f"enforcement.{UTILITY_STOP}", order_no if again is None else (order_no, again)
        start = proposals.counted_from(h, emit.proposal_id(h, rule_id, measure, key),
                                       violation_start(h, rules, found, cause))  # as it was sent
        sent = emit.enforcement_proposed(h, rules, measure, rule_id=rule_id, at=found, key=key,
                                         caused_by=[cause], counted_from=start)
        reason = f"Enforcement proposal withdrawn: {said}"
        outs.append(withdrawal(sent, reason, decided, zh.reason(reason)))
        mark_withdrawn(h, tag)
        proposed.append(sent)
    if outs:  # the withdrawals alone, not the escalations of a watched proposal `gone` takes back
        h.history.append([decided, eid, f"order {order_no}: " + " and ".join(
            _WITHDRAWN_WHAT[o.event["type"]] for o in outs) + f" withdrawn, {why}"])
    return outs + proposals.gone(h, rules, proposed, decided, eid)


def _sent_on(violations: list[list[Any]], tag: str) -> list[Any]:
    """The violation of `violations` (an order's found since its lifting, in time order) that ground
    `tag` was sent on, its mark taken off: the withdrawal restates what went as it went, though a
    violation found earlier may have come since. For a violation stored before format 10, which
    keeps no mark, the first: the one such a ground went on unless an earlier one came after it."""
    for v in violations:
        if tag in (v[4] or ()):
            v[4] = [t for t in v[4] if t != tag] or None
            return v
    return violations[0]


def _sent(v: list[Any], tag: str) -> None:
    """Mark violation `v` as the one ground `tag` went on (`_sent_on`)."""
    v[4] = [*(v[4] or ()), tag]


# What `_taken_back` withdraws, as the hazard's record names it (engine/zh/record.py reads it).
_WITHDRAWN_WHAT = {"safety.referral.judicial_withdrawn": "the transfer to the public security bureau",
                   "safety.enforcement.withdrawn": "the utility_stop_notice proposal"}


RECTIFY_WITHIN = "rectify_within"  # an order to rectify within a time limit (责令限期整改)


def _periods(h: Hazard) -> list[tuple[int, int, str]]:
    """The periods the written orders on file to rectify within a time limit (责令限期整改) give the
    enterprise, by the orders' time: (made at, until, order no). An order whose `until` had passed
    when it was made gives none."""
    return [(o[2], until, o[0]) for o in h.orders if o[1] == RECTIFY_WITHIN
            and (until := h.arrived.get(order_until_key(o[0]))) is not None and until > o[2]]


def _order_record(h: Hazard, rules: Rules, d: dict[str, Any], at: int, eid: str) -> str:
    """Keep a record of a written order made at `at`; return what the record's words add.

    An order number names one written order (文书编号). Its records sent again under fresh event ids
    with another kind or another `until` are corrections: the latest record by its own time stands
    (at one time, the one giving the later `until`), whichever reached the engine first, and the
    order counts as made when its first record by time says (a violation since violated it). So the
    order keeps the first record's time and id, and the standing record's kind, time (ORDER_AT) and
    `until` (`order_until_key`). A correction that changes the period in force sets the deadline
    again, as though the standing record had been the only one (`_unperiod`)."""
    no, kind = d["order_no"], d["order"]
    until = epoch(d["until"]) if kind == RECTIFY_WITHIN and d.get("until") else None
    o = next((o for o in h.orders if o[0] == no), None)
    if o is None:
        o = [no, kind, at, eid]
        h.orders.append(o)
        old = None
    else:
        old_until = h.arrived.get(order_until_key(no)) if o[1] == RECTIFY_WITHIN else None
        old = (h.arrived.get(order_at_key(no), o[2]), _NO_UNTIL if old_until is None else old_until, o[1])
        if (at, eid) < (o[2], o[3]):
            o[2], o[3] = at, eid  # made when its first record by time says
    h.orders.sort(key=lambda o: (o[2], o[0]))  # arrival order must not matter
    this = (at, _NO_UNTIL if until is None else until, kind)
    if old is not None and this <= old:
        return "" if this == old else f"; corrected by its record of {iso(old[0])}"
    in_force = h.is_open() and old is not None and old[1] != _NO_UNTIL and old[1] == h.deadline
    o[1] = kind
    h.arrived[order_at_key(no)] = at
    if until is None:
        h.arrived.pop(order_until_key(no), None)
    else:
        h.arrived[order_until_key(no)] = until
    if in_force:  # the period the correction replaced was the deadline: set it again without that
        return _unperiod(h, rules)
    return "" if until is None else _order_period(h, rules, no, until, o[2])


_NO_UNTIL = -(1 << 40)  # an order record with no `until`: before any the contract allows (1901-2199)


def _unperiod(h: Hazard, rules: Rules) -> str:
    """Set the deadline again after a correction took away, or changed, the order's period that was
    the deadline in force: what the hazard's cycle gives with the orders' periods as they now stand
    (`_rectify_deadline`, `_review`); a listed hazard keeps its notice's deadline. An extension
    approved before the order, which the order's period had replaced, is not restored (README,
    Known limits)."""
    if h.listed and h.listed[3]:
        deadline, approx = h.listed[2], False
    elif h.cycle == 0 and h.cycle_start is not None:
        deadline, approx = _rectify_deadline(h, rules, h.cycle_start)
    elif h.cycle_start is not None:
        deadline, approx = _failed_review_deadline(h, rules, h.cycle_start)
    else:
        return ""
    if deadline == h.deadline:
        return ""
    h.deadline, h.approx = deadline, approx
    h.step, h.tier = 0, None  # the ladder runs again against the deadline the correction leaves
    return f"; the rectification deadline becomes {iso(deadline)}"


def _failed_review_deadline(h: Hazard, rules: Rules, at: int) -> tuple[int, bool]:
    """The deadline a failed review at `at` sets, and whether it is approximate. A written order's
    period (责令限期整改) binds the enterprise: one made since the review sets the deadline; one made
    before it, while its period still runs, leaves the enterprise that period."""
    deadline, approx = after(rules.grades[h.grade or "general"].after_failed_review, at, rules)
    since = [until for made, until, _ in _periods(h) if made >= at]
    running = [until for made, until, _ in _periods(h) if made < at and until > deadline]
    if since or running:
        deadline, approx = since[-1] if since else max(running), False
    return deadline, approx


def _order_period(h: Hazard, rules: Rules, order_no: str, until: int, at: int) -> str:
    """Keep the period of the order `order_no` to rectify within a time limit (责令限期整改), made at
    `at`, and let it set the deadline the ladder runs against; return what the record adds.

    安全生产法 (2021) art. 102 fines an enterprise that does not eliminate a hazard "立即或者限期",
    the period being the order's: the enterprise is bound by it, longer or shorter than the engine's
    default (contract section 3: `until` for `rectify_within`). So the latest such order by time
    replaces the deadline set before it (the confirmation's, a failed review's); one made before a
    failed review leaves the enterprise its period while it still runs (`_review`), and one made
    before the latest approved extension gives way to it (a refusal moves no deadline, so the order
    made before it stands, whichever reached the engine first). A hazard not confirmed yet takes it when
    it is (`_rectify_deadline`). The listed-supervision notice's own deadline is not the order's to
    move. Steps that ran against the deadline replaced, after the order was made, are taken back
    (`apply_event`, engine/decide/clocks.py `ordered`)."""
    if until <= at:
        return "; its until had passed when it was made: no deadline from it"
    if not h.is_open() or h.deadline is None or h.verdict != "confirmed" or h.cycle_start is None:
        return ""  # closed, or not confirmed yet: `_rectify_deadline` takes the period then
    latest = max(_periods(h), default=None)
    if latest is None:
        return ""
    approved = extension_outcome(h).approved  # a refusal moves no deadline, so it gives way to no order
    if latest[2] != order_no or (approved is not None and at < approved):
        return ""  # a later order, or a later approved extension, set the deadline in force
    if h.cycle and at < h.cycle_start:  # made before the failed review that set it: while it still runs
        if until <= h.deadline:
            return ""
    elif h.cycle == 0 and until <= h.cycle_start:
        return ""  # its period ran out before the hazard was confirmed: the grade's time from then
    if until == h.deadline:
        return ""
    h.deadline, h.approx = until, False
    h.step, h.tier = 0, None  # the ladder runs again against the order's period
    return f"; the rectification deadline becomes {iso(until)}"


def _rectify_deadline(h: Hazard, rules: Rules, start: int, reopened: bool = False) -> tuple[int, bool]:
    """The rectification deadline of a hazard confirmed at `start`, and whether it is approximate:
    the period of the latest written order to rectify within a time limit (`_periods`), else the
    deadline its report set (`rectify_by`), when it is after `start`, else the grade's window
    from `start` (none set, or one that passed before the hazard was confirmed). Reopened after a
    verdict of unfounded or a duplicate, the enterprise has that window in full, and the order's or
    the report's deadline counts only when it gives more."""
    window, approx = after(rules.grades[h.grade or "general"].rectify_within, start, rules)
    periods = _periods(h)
    set_by = periods[-1][1] if periods else h.rectify_by
    if set_by is not None and set_by > (window if reopened else start):
        return set_by, False
    return window, approx


def settle(h: Hazard, rules: Rules, at: int, cause: str) -> list[Out]:
    """Bring derived facts up to date: the deadline, listed supervision, and judicial transfers."""
    outs: list[Out] = []
    if h.is_open() and h.verdict == "confirmed" and h.deadline is None:
        start = max(h.verified_at, h.opened_at)
        h.cycle_start = start
        h.deadline, h.approx = _rectify_deadline(h, rules, start)
    if h.is_open() and h.grade == "major" and h.verdict == "confirmed" and not (h.listed and h.listed[3]):
        # Not listed yet, or listed before and lifted when a verification found it not major
        # (`_unlisted`): a later one confirms it major again.
        _regraded(h, rules, cause)
        outs += list_hazard(h, rules, max(h.verified_at, h.opened_at), h.confirmed_by or cause)
        if h.listed:
            h.deadline = h.listed[2]
    if h.listed and h.listed[3] and (h.verdict != "confirmed" or h.grade != "major"):
        outs.append(_unlisted(h, rules, at, cause))
    return outs + _transfer(h, rules) + _utility_stop(h, rules)


def _unlisted(h: Hazard, rules: Rules, at: int, cause: str) -> Out:
    """Lift listed supervision (摘牌) from a hazard a later verification found not to be a major one.

    Listed supervision is for major hazards only (16号令; the plans, line 798). A hazard the latest
    verification re-grades general keeps its general ladder and deadline, but no listing, and no
    listing's deadline to refer its departments for; one found unfounded or a duplicate is closed.
    Either way the listing is lifted on the record, with the notice that says so."""
    h.listed[3] = False  # type: ignore[index]
    if h.verdict == "confirmed":
        reason = (f"re-graded {h.grade} by the verification of {iso(h.verified_at)}: listed supervision is "
                  "for major hazards only")
    else:
        found = "unfounded" if h.verdict == "unfounded" else f"a duplicate of {h.duplicate_of}"
        reason = f"the verification of {iso(h.verified_at)} found it {found}"
    h.history.append([at, cause, f"listed supervision {h.listed[0]} lifted: {reason}"])  # type: ignore[index]
    return emit.supervision_lifted(h, rules, at, reason)


def _regraded(h: Hazard, rules: Rules, cause: str) -> None:
    """Give a hazard confirmed at a lower grade, and now confirmed major, the major grade's time.

    Its deadline is the lower grade's window from its first confirmation (7 days for a general
    hazard, or its window after a failed review); listed supervision would keep it, and a major
    hazard, which needs a treatment plan, would miss its notice's deadline within days and have
    its responsible units referred. So a deadline that is still exactly what another grade's
    window gave (its last day on a rest day moved or, stored before 2026-12-07 or with that
    turned off, not: `unmoved`) runs the major grade's window from the confirmation as major
    instead, when that is later. A deadline a person set (an approved extension, or
    `rectify_by`) is left as it is, but for one case: an inspector's `rectify_by` for the
    lower grade that runs out before the listing's rectification plan is due
    (`listed_supervision.plan_within` of the notice). A notice cannot ask for a treatment plan
    by a day and for the hazard rectified before it, so
    such a date is one set for a general hazard, not for this one, and the major grade's window
    runs instead, as it does for a date already passed when the hazard is listed (clocks
    `list_hazard`).
    """
    if h.deadline is None or h.cycle_start is None \
            or any(until == h.deadline for _, until, _ in _periods(h)):
        return

    def window(grade: Grade) -> Span:
        return grade.after_failed_review if h.cycle else grade.rectify_within

    since = max(h.verified_at, h.opened_at)
    if h.rectify_by is not None:
        if (h.deadline != h.rectify_by or h.deadline <= since  # passed: the notice gives time (list_hazard)
                or h.deadline > after(rules.supervision.plan_within, since, rules).at):
            return
        why = "set for the lower grade runs out before the listing's plan is due; it"
    elif any(h.deadline in (after(window(g), h.cycle_start, rules).at, unmoved(window(g), h.cycle_start))
             for name, g in rules.grades.items() if name != "major"):
        why = "of the lower grade"
    else:
        return
    deadline, approx = after(window(rules.grades["major"]), since, rules)
    if deadline <= h.deadline:
        return
    h.history.append([since, h.confirmed_by or cause,
                      f"re-graded major: the deadline {iso(h.deadline)} {why} becomes {iso(deadline)}"])
    h.deadline, h.approx = deadline, approx
    h.step, h.tier = 0, None  # the ladder runs again against the new deadline


def _transfer(h: Hazard, rules: Rules) -> list[Out]:
    """Transfer a violated order on a major hazard to the public security bureau (刑法 art. 134-1).

    Checked after every event: the violation, the order and the confirmation of
    the grade may arrive in any order, and the transfer follows the last of them.
    The grade is the one the hazard stood confirmed at when the violation was found
    (`Hazard.graded_by`): the refusal was then, and a verification made since does
    not undo it; one made before it and recorded late does (`_judged_again`).
    """
    j = rules.judicial
    if not h.violations or j is None:
        return []
    outs: list[Out] = []
    orders = {o[0]: o for o in h.orders}
    for v in h.violations:
        order_no, found, eid, evidence, _ = v
        tag = f"{j.rule_id}:{order_no}"
        order = orders.get(order_no)
        if (order is None or order[1] not in j.orders or tag in h.referred
                or not _grounded(h, order_no, j.grades, found, now=False)):
            continue
        h.referred.append(tag)
        _sent(v, tag)
        h.history.append([found, eid, f"transferred to the public security bureau: {j.offence}"])
        outs.append(emit.judicial_referral(h, rules, order_no=order_no, at=found, evidence=evidence,
                                           again=sent_again(h, tag)))
    return outs


# 安全生产法 (2021) art. 70 reaches decisions to stop production or business, work or use (停产停业、
# 停止施工、停止使用相关设施或者设备) made on an enterprise with a major hazard (重大事故隐患).
_STOP_ORDERS = frozenset({"suspend", "suspend_for_overhaul"})
UTILITY_STOP = "utility_stop_notice"


def _utility_stop(h: Hazard, rules: Rules) -> list[Out]:
    """Propose the art. 70 notice to stop power supply when a stop order on a major hazard is violated.

    The enterprise refusing to carry out the decision is on record; whether there
    is a real danger of an accident (现实危险) and the head's approval are the
    department's to judge, so this is a proposal, once per order, dated by the
    first violation found, on a hazard confirmed major then and now: a stop to force an
    order is for a danger that stands, and one a later verification found general or
    dismissed is withdrawn (`_judged_again`). Its time counts from when the department could know of it
    (engine/decide/clocks.py `violation_start`): a violation recorded late, or found on a
    hazard whose report or confirmation reached the engine late, is not due before they
    came. Without `utility_stop_notice` in the rules' enforcement, or without a named
    enterprise, nothing is proposed.
    """
    if not h.violations:
        return []
    measure = rules.enforcement.get(UTILITY_STOP)
    if measure is None or not h.enterprise or h.grade != "major" or h.verdict != "confirmed":
        return []
    outs: list[Out] = []
    orders = {o[0]: o for o in h.orders}
    for v in h.violations:
        order_no, found, eid, _, _ = v
        tag = f"{UTILITY_STOP}:{order_no}"
        order = orders.get(order_no)
        if order is None or order[1] not in _STOP_ORDERS or tag in h.referred:
            continue
        if not _grounded(h, order_no, ("major",), found):
            continue
        h.referred.append(tag)
        _sent(v, tag)
        h.history.append([found, eid, f"proposed {UTILITY_STOP} (安全生产法 art. 70) on order {order_no}"])
        again = sent_again(h, tag)
        start = violation_start(h, rules, found, eid)
        sent = emit.enforcement_proposed(h, rules, measure, rule_id=f"enforcement.{UTILITY_STOP}",
                                         at=found, key=order_no if again is None else (order_no, again),
                                         caused_by=[eid], counted_from=start)
        proposals.note(h, rules, measure, sent, found, start)
        outs.append(sent)
    return outs


def _review(h: Hazard, at: int, eid: str, outcome: str, rules: Rules) -> tuple[str, list[Out]]:
    if outcome == "passed":
        _close(h, at, "passed")
        h.passed_at = min(at, h.passed_at or at)  # rectified and accepted from the first (proposals `moot`)
        if h.completed_at is not None and h.completed_at <= at:
            keep_claim(h, h.completed_at)  # the claim it judged, in a state stored before claims were kept
        h.completed_at = None
        h.review_fails = 0  # a review ends the count of its claim's missed reviews, as a failed one does
        outs = []
        if h.listed and h.listed[3]:
            h.listed[3] = False
            outs.append(emit.supervision_lifted(h, rules, at, "the acceptance review (复查验收) passed"))
        return "review passed: closed", outs
    # A failed review sends the hazard back to rectification with a new deadline.
    h.cycle += 1
    keep_failed_review(h, at, at)  # when it reached the engine, if late: `apply_event`
    if h.completed_at is not None and h.completed_at <= at:
        h.completed_at = None  # the claim it judged; a later claim still awaits its review
    deadline, approx = _failed_review_deadline(h, rules, at)
    if h.cycle_start is None or h.cycle_start <= at:  # the latest failed review sets the deadline
        h.cycle_start, h.deadline, h.approx = at, deadline, approx
    h.step, h.tier = 0, None
    h.review_fails = 0
    return f"review failed: new deadline {iso(deadline)}", []


def _extension_request(h: Hazard, at: int, eid: str, d: ExtensionRequested,
                       rules: Rules) -> tuple[str, list[Out]]:
    ls = rules.supervision
    if h.ext_decided is not None and at <= h.ext_decided:
        # Made before a decision on file (sent again under a fresh event id, or reaching the engine
        # after it): that decision answered it. Pending again, it would be the department's to decide
        # a second time, and an escalation and a referral for not deciding what it had decided.
        return (f"extension requested until {d['requested_until']}: answered by the decision of "
                f"{iso(h.ext_decided)}"), []
    if h.deadline is None:
        return "extension requested, but no deadline runs", []
    left = _working_days_left(at, h.deadline, rules)  # no notice for the year: the most there could be
    # The time to ask is listed supervision's (Qingdao's 3+X rules, contract section 5 "major
    # hazard"): a hazard not graded major is asked for and decided without it, and no decision is
    # owed by a supervising body it does not have (engine/decide/clocks.py `derive`).
    early = h.early is not None and h.early[0] >= at  # decided already, the record of it arriving first
    if left >= ls.extension_request_before.n or not h.held_to_listing() or early:
        # Made too late for the district's practice, but decided all the same by the supervising
        # body: the 20 working days say when to ask, not what the body may decide (`_extension_decision`).
        h.ext, h.ext_fails = [at, epoch(d["requested_until"]), eid], 0
        what = f"extension requested until {d['requested_until']} ({left} working days left)"
        if early:
            decided, outs = _decide_extension(h, h.early, rules)  # type: ignore[arg-type]
            return f"{what}; {decided}", outs
        return what, []
    # The district's practice says when to ask; it does not bind the supervising body, whose
    # approval of the request still moves the deadline (`_extension_decision`). No decision is owed.
    reason = (f"Extension request on {h.id} came {left} working days before the deadline {iso(h.deadline)}; "
              f"the rules ask for at least {ls.extension_request_before}: no decision on it is due, and the "
              "deadline stands unless the supervising body approves it")
    out = emit.escalation(h, rules, rule_id=f"{ls.rule_id}.extension", action="notify",
                          tier=h.tier or "blue", at=at,
                          targets=resolve_all(("enterprise", "supervising_body"), h, rules),
                          reason=reason, key=("too_late", eid), caused_by=[eid])
    return "extension requested too late: deadline unchanged", [out]


def _extension_decision(h: Hazard, at: int, eid: str, d: ExtensionDecided,
                        rules: Rules) -> tuple[str, list[Out]]:
    """Record the supervising body's decision on an extension.

    The deadline of a listed hazard is the supervising body's (督办单位) to set and move, and an
    approval by one whose role may decide extensions (engine/contract/roles.py) moves it, whether
    a request is pending or not: one it refused and now approves on reconsideration, one the
    engine judged too late by the district's 20-working-day practice (when to ask, not a limit on
    the body), or one whose record has not arrived yet (an app offline: it is answered by this
    decision when it comes, `_extension_request`). Only without a deadline yet (the hazard not
    confirmed), and for a refusal, which has nothing to move, is the decision kept for its request."""
    decision = [at, d["approved"], epoch(d["new_deadline"]) if d.get("new_deadline") else None, eid]
    role = d["by"]["role"]
    if role not in ROLES["decide_extension"]:
        return f"extension decided by a {role}, who decides none: not applied", []
    if h.ext is None and (h.deadline is None or not d["approved"]):
        # Offline apps: the decision may arrive before its request. A refusal with none pending changes
        # nothing, and an approval before any deadline runs has nothing to move: keep it; a request
        # made before it, arriving later, is then decided at once.
        h.early = decision
        return "extension decided before any valid request arrived: kept for its request", []
    if h.ext is None and h.ext_decided is not None and at < h.ext_decided and (
            _asked(h) is None or decision[2] <= h.deadline):
        # Older than the decision on file: the latest decision by time stands, whichever arrived
        # first. An approval on file set the deadline in force, shorter or longer (until 2026-12-07
        # an older approval giving a later deadline, arriving last, overrode it). A refusal on file
        # moved nothing, and an older approval, which in time order came first and moved the
        # deadline, still does when it gives a later one.
        return f"extension decided: answered already by the decision of {iso(h.ext_decided)}", []
    if h.ext is None and h.deadline == decision[2]:
        return f"extension approved: the deadline is {iso(h.deadline)} already", []  # nothing moves
    return _decide_extension(h, decision, rules)


def _decide_extension(h: Hazard, decision: list[Any], rules: Rules) -> tuple[str, list[Out]]:
    at, approved, new, _ = decision
    asked = h.ext[0] if h.ext else None
    h.ext, h.early = None, None
    note_extension_decision(h, at, approved, asked)
    if not approved:
        return "extension rejected: deadline unchanged", []
    if h.listed:
        new = min(new, after(rules.supervision.max_deadline, h.listed[1], rules).at)
        h.listed[2] = new
    h.deadline, h.approx = new, False
    h.step, h.tier = 0, None
    # The notice is issued again with the new deadline.
    outs = [emit.supervision_listed(h, rules, at)] if h.listed and h.listed[3] else []
    return f"extension approved: new deadline {iso(new)}", outs


# The handler of each full event type a hazard's timeline carries: every contract type whose
# subject is a hazard, and an inspection's finding (tests/unit/test_dispatch.py checks the list).
HANDLERS: dict[str, Handler] = {
    "safety.hazard.reported": _reported,
    FINDING_TYPE: _finding,
    "safety.hazard.verified": _verified,
    "safety.rectification.planned": _planned,
    "safety.rectification.progressed": _progressed,
    "safety.rectification.completed": _completed,
    "safety.rectification.reviewed": _reviewed,
    "safety.rectification.extension_requested": lambda h, d, at, eid, rules: _extension_request(
        h, at, eid, d, rules),
    "safety.rectification.extension_decided": lambda h, d, at, eid, rules: _extension_decision(
        h, at, eid, d, rules),
    **{f"safety.enforcement.{kind}": _enforcement(kind) for kind in _ENFORCEMENT},
}
