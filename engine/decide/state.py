"""The compact state of one hazard, kept in the worker's table and rebuilt by replaying its timeline.

Times are whole seconds since the epoch, to keep a million open hazards small.
The state holds facts (when it was reported, verified, planned, claimed...);
the running clocks are derived from the facts (see clocks.py), so events that
arrive out of order still lead to the same state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

from engine.kernel.state import APPLIED, HistoryState, StoredHistory, entry_hash

# APPLIED and entry_hash are the redelivery window's, in the kernel; named here as well because
# the hazard core's callers have always found them beside Hazard.
__all__ = ["APPLIED", "Hazard", "entry_hash"]



VERDICTS_KEPT = 64  # the latest verdicts a hazard keeps (`Hazard.verdicts`): a real one has a handful
FAILED_REVIEWS_KEPT = 64  # the latest failed reviews whose times a hazard keeps (`failed_review_key`)
DISMISSALS = ("unfounded", "duplicate")  # the verdicts that close a hazard: nothing was to rectify
_FAILED_REVIEW = "failed_review:"


def failed_review_key(at: int) -> str:
    """The key of `Hazard.arrived` that keeps when the failed review made at `at` reached the engine.
    A failed review sent again (a retry under a fresh event id) is known by its time: two reviews of
    one hazard failed in the same second are one review, and one more would set the same deadline."""
    return f"{_FAILED_REVIEW}{at}"


def keep_failed_review(h: Hazard, at: int, arrived: int) -> None:
    """Note the failed review made at `at`, that reached the engine at `arrived`; the latest
    FAILED_REVIEWS_KEPT are kept (a key added to a stored map: no new stored format)."""
    h.arrived[failed_review_key(at)] = arrived
    for old in failed_reviews(h)[:-FAILED_REVIEWS_KEPT]:
        del h.arrived[failed_review_key(old)]


def failed_reviews(h: Hazard) -> list[int]:
    """The times of the failed reviews the hazard keeps (`keep_failed_review`), earliest first."""
    return sorted(int(k[len(_FAILED_REVIEW):]) for k in h.arrived if k.startswith(_FAILED_REVIEW))


_CLAIM = "claim:"
CLAIMS_KEPT = 64  # the latest completion claims whose times a hazard keeps (`keep_claim`)


def keep_claim(h: Hazard, at: int) -> None:
    """Note a completion claim made at `at`; the latest CLAIMS_KEPT are kept (not arrivals; a key
    added to a stored map: no new stored format). A claim sent again is known by its time."""
    h.arrived[f"{_CLAIM}{at}"] = at
    kept = claims(h)
    for old in kept[:-CLAIMS_KEPT]:
        del h.arrived[f"{_CLAIM}{old}"]


def claims(h: Hazard) -> list[int]:
    """The times of the completion claims the hazard keeps (`keep_claim`), earliest first; none in a
    state stored before 2026-12-07."""
    return sorted(int(k[len(_CLAIM):]) for k in h.arrived if k.startswith(_CLAIM))


def judged_late_claim(h: Hazard, due: int) -> tuple[int, int] | None:
    """(claim, review) for a listing's deadline `due`: the completion claim pending at it (the latest
    kept claim made by then that no failed review had judged by then, and the hazard not dismissed
    when it was made) and the first failed review after it, which judged it after the deadline; None
    when no claim was pending then or none has been judged since. The deadline's failure, if any,
    was known only from that review (engine/decide/clocks.py `unjudged`, `judged_late`). A state
    that kept no claims (stored before 2026-12-07) knows none."""
    made = [c for c in claims(h) if c <= due]
    if not made or h.dismissed_by(made[-1]):
        return None
    judging = next((r for r in failed_reviews(h) if r > made[-1]), None)
    return None if judging is None or judging <= due else (made[-1], judging)


def judged_claim(h: Hazard, t: int) -> int | None:
    """When the claim an acceptance review made at `t` judged was made: the latest made by then that
    no failed review after it and by then judged, whatever order they reached the engine in; None
    when there is none (a review on a return visit needs no claim). A state that kept no claims
    (stored before 2026-12-07) has only its pending one (`completed_at`)."""
    made = [c for c in claims(h) if c <= t]
    if not made:
        return h.completed_at if h.completed_at is not None and h.completed_at <= t else None
    claim = made[-1]
    # A claim made while the hazard stood unfounded or a duplicate, or before a verification found it
    # so, claims nothing: the hazard was closed (lifecycle `_completed`).
    if any(claim < r <= t for r in failed_reviews(h)) or h.dismissed_by(claim) or any(
            claim < v[0] <= t and v[1] in DISMISSALS for v in h.verdict_rows()):
        return None
    return claim


_ORDER_UNTIL = "order_until:"


def order_until_key(order_no: str) -> str:
    """The key of `Hazard.arrived` that keeps the `until` of the written order `order_no` to rectify
    within a time limit (责令限期整改), in epoch seconds: the deadline it binds the enterprise to
    (lifecycle `_periods`). A key added to a stored map: no new stored format."""
    return f"{_ORDER_UNTIL}{order_no}"


# The outcome of a hazard's extension decisions (延期审批), kept beside `ext_decided` (when the latest was
# made) in two keys of `Hazard.arrived`, written by `note_extension_decision` alone and read by
# `extension_outcome` alone: EXT_APPROVED, when the latest approval was decided (NO_APPROVAL: none
# was), and "ext_refused:<time>", when the request was made that the latest decision, of that time,
# refused. Both are needed: a refusal leaves the approval before it standing (an order made between
# them stands, lifecycle `_order_period`), and an approval on reconsideration answers the request it
# refused (lifecycle `_asked`). Whether the latest decision refused is not told by EXT_APPROVED being
# before `ext_decided`: a refusal may be dated the second of the approval before it. Keys added to a
# stored map: no new stored format.
EXT_APPROVED = "ext_approved"
# Kept under EXT_APPROVED when no extension decided was approved: before any time the contract allows
# (1901-2199, contract section 1).
NO_APPROVAL = -(1 << 40)
_REFUSED = "ext_refused:"


class ExtensionOutcome(NamedTuple):
    """What a hazard's extension decisions came to, as `extension_outcome` reads it."""

    approved: int | None  # when the latest approval, which moved a deadline, was decided; None: none was
    refused: int | None  # when the request was made that the latest decision refused; None: it refused none


def note_extension_decision(h: Hazard, at: int, approved: bool, asked: int | None) -> None:
    """Record the extension decision made at `at`, an approval or a refusal of the request made at
    `asked` (None: none was before the body), and move `ext_decided` to it when it is the latest.
    Only an approval moves a deadline, so the latest approval's time is kept whatever was decided
    since; only the latest decision by time says whether a request stands refused, whatever order
    the decisions reached the engine in (an older one changes neither that nor `ext_decided`)."""
    since = h.arrived.get(EXT_APPROVED, NO_APPROVAL if h.ext_decided is None else h.ext_decided)
    h.arrived[EXT_APPROVED] = max(since, at) if approved else since
    if h.ext_decided is None or at >= h.ext_decided:
        for old in [k for k in h.arrived if k.startswith(_REFUSED)]:
            del h.arrived[old]
        if not approved and asked is not None:
            h.arrived[f"{_REFUSED}{at}"] = asked
        h.ext_decided = at


def extension_outcome(h: Hazard) -> ExtensionOutcome:
    """What the hazard's extension decisions came to (`note_extension_decision`). A state stored before
    2026-12-07 may keep neither key: its latest decision (`ext_decided`) reads as an approval, which
    refused nothing. One stored while only EXT_APPROVED was kept (a6193ae to e7085d3) knows its
    approvals and no refused request: its latest decision refused none, as that code read it."""
    approved = h.arrived.get(EXT_APPROVED, h.ext_decided)
    refused = None if h.ext_decided is None else h.arrived.get(f"{_REFUSED}{h.ext_decided}")
    return ExtensionOutcome(None if approved == NO_APPROVAL else approved, refused)


_ORDER_AT = "order_at:"


def order_at_key(order_no: str) -> str:
    """The key of `Hazard.arrived` that keeps the time of the record of the written order `order_no`
    that stands, the latest by time (a correction: lifecycle `_order_record`). A key added to a stored
    map: no new stored format; without it (a state stored before 2026-12-07), the order's time."""
    return f"{_ORDER_AT}{order_no}"


_NAMED_LATE = "lead_named_late:"


def lead_named_late_key(at: int) -> str:
    """The key of `Hazard.arrived` that marks the verification made at `at`, dated by a listed
    deadline, as having reached the engine after that deadline had passed: the lead department it
    named was never told of the listing in time (lifecycle `_notice_again`), and a referral for the
    missed deadline names the lead told before it (`Hazard.lead_by`). A key added to a stored map:
    no new stored format."""
    return f"{_NAMED_LATE}{at}"


# The key of `Hazard.arrived` that kept, in a state stored on 2026-12-07 before the claims were kept
# by time (`keep_claim`), when the completion claim a passed review judged was made (the review
# clears `completed_at`), for `Hazard.overdue`. Read only: the claims kept by time tell it since
# (`judged_claim`).
PASSED_CLAIM = "passed_claim"

_PLAN = "plan:"
PLANS_KEPT = 64  # the latest rectification plans whose responsible person a hazard keeps by time


def plan_key(at: int, person: str) -> str:
    """The key of `Hazard.arrived` that keeps the rectification plan made at `at` and the responsible
    person (整改责任人) it names; its value is the plan's own time. Kept so a transfer to the public
    security bureau names who was responsible when the violation was found (`Hazard.responsible_by`),
    not whoever a later plan names. A key added to a stored map: no new stored format."""
    return f"{_PLAN}{at}:{person}"


def keep_plan(h: Hazard, at: int, person: str) -> None:
    """Note the plan made at `at` naming `person`, keeping the latest PLANS_KEPT. A state stored before
    plans were kept knows its latest plan's person (`responsible`, `planned_at`): it is kept first."""
    if not any(k.startswith(_PLAN) for k in h.arrived) and h.responsible and h.planned_at is not None:
        h.arrived[plan_key(h.planned_at, h.responsible)] = h.planned_at
    h.arrived[plan_key(at, person)] = at
    kept = sorted((v, k) for k, v in h.arrived.items() if k.startswith(_PLAN))
    for _, old in kept[:-PLANS_KEPT]:
        del h.arrived[old]


@dataclass(slots=True)
class Hazard(HistoryState):
    """Everything the rules need to know about one hazard (隐患)."""

    id: str
    opened: str | None = None  # event id of the opening report or finding; None: an orphan
    opened_at: int | None = None
    origin: str | None = None  # report | finding
    title: str = ""
    sector: str | None = None
    town: str | None = None
    point: list[float] | None = None  # [lat, lon] of the opening event's location, when it gave them
    enterprise: list[str] | None = None  # [uscc, name]
    claimed: str | None = None  # grade claimed by the reporter
    rectify_by: int | None = None  # deadline set by the inspector (lifecycle `sets_deadline`)
    verdict: str | None = None  # confirmed | unfounded | duplicate
    grade: str | None = None  # general | major, once confirmed
    verified_at: int | None = None
    # Every verification's verdict by its time, a law-enforcement finding's as a confirmation, whatever
    # order they arrived in: [at, verdict, grade (a confirmation's; None for a dismissal), lead (the
    # lead department it named, or None)], the latest VERDICTS_KEPT (what stood at a proposal's due
    # time, engine/decide/proposals.py `_pressing`; the grade a violation was found at, `graded_by`;
    # the lead department, `lead`). Grade and lead are None in a row stored before format 13. Kept
    # from the second verdict on: empty while `verdict`, `grade`, `lead` and `verified_at` tell the
    # only one, and in a state stored before they were kept.
    verdicts: list[list[Any]] = field(default_factory=list)
    confirmed_by: str | None = None  # event id of the confirmation
    duplicate_of: str | None = None
    # Lead department override: the one the latest verification by time that names one named (with
    # `verdicts` kept, `lifecycle._lead`), whatever order they arrived in.
    lead: str | None = None
    immediate: bool = False  # fixed on the spot during an inspection
    cycle: int = 0  # rectification cycle; a failed review starts the next
    cycle_start: int | None = None
    deadline: int | None = None  # rectification deadline of this cycle
    approx: bool = False  # a deadline computed without a holiday notice for its year
    planned_at: int | None = None
    plan_target: int | None = None
    progress: int = 0
    completed_at: int | None = None  # a completion claim awaiting review
    closed_at: int | None = None
    closed_how: str | None = None  # passed | immediate | unfounded | duplicate
    # The earliest acceptance review that passed: rectified, never reopened (the latest, in a state
    # stored before 2026-12-07; only whether there is one counted then).
    passed_at: int | None = None
    step: int = 0  # ladder steps fired in this cycle
    tier: str | None = None
    listed: list[Any] | None = None  # [notice_no, listed_at, deadline, active]
    plan_fired: bool = False  # the escalation that no plan was filed stands (a plan in time withdraws it)
    ext: list[Any] | None = None  # pending extension: [requested_at, requested_until, event id]
    # When the latest extension decision was made: it answers every request made by then (since format 8).
    ext_decided: int | None = None
    early: list[Any] | None = None  # a decision that came before its request: [at, approved, new, id]
    verify_fails: int = 0
    review_fails: int = 0
    ext_fails: int = 0
    duty_fails: dict[str, int] = field(default_factory=dict)  # department -> failures
    # Duty clock (verify, review, extension) -> when the event that starts it reached the engine,
    # where that counts instead of the event's own time (rules: duties.late_arrival); "confirm":
    # when the confirmation that stands did (a listed hazard's plan counts from the later);
    # "cycle": when the failed review that set the deadline in force did (its ladder's proposals);
    # "violated:<event id>": when a violation of an order did (the art. 70 proposal it dates);
    # "failed_review:<time>": when each of the latest FAILED_REVIEWS_KEPT failed reviews did, by its
    # time (one sent again under a fresh event id is known by it: `failed_review_key`);
    # "plan:<time>:<person>": the latest PLANS_KEPT rectification plans by their own time, the value
    # (`plan_key`).
    # "ext_approved": not an arrival, when the latest approved extension was decided; "ext_refused:<time>":
    # not an arrival, when the request was made that the latest extension decision, of that time,
    # refused (both `note_extension_decision`, read by `extension_outcome`).
    # "order_until:<order no>": not an arrival, the `until` of a written order to rectify within a
    # time limit (`order_until_key`); "order_at:<order no>": not an arrival, the time of the order's
    # record that stands (`order_at_key`).
    # "claim:<time>": not an arrival, each of the latest CLAIMS_KEPT completion claims by its time
    # (`keep_claim`), from which the claim a passed review judged is read (`judged_claim`), and the
    # claim pending at a listing's deadline that a failed review judged only after it (`judged_late_claim`).
    arrived: dict[str, int] = field(default_factory=dict)
    referred: list[str] = field(default_factory=list)  # referral grounds already sent
    # Missed deadlines a late record of the duty done in time may still withdraw: [clock, since,
    # due, department] (engine/decide/clocks.py `answer`); a listed-supervision one has no department.
    failures: list[list[Any]] = field(default_factory=list)
    # Referrals waiting out the rules' hold before they are sent: [tag, missed at, department, reason,
    # cause] (engine/decide/clocks.py `_refer_or_hold`).
    held: list[list[Any]] = field(default_factory=list)
    responsible: str | None = None  # the rectification plan's responsible person (整改责任人)
    orders: list[list[Any]] = field(default_factory=list)  # [order_no, order, at, event id]
    # [order_no, at, event id, evidence, the grounds sent on it: a transfer's or a utility stop
    # proposal's tag (lifecycle._sent), or None]
    violations: list[list[Any]] = field(default_factory=list)
    lifted: dict[str, int] = field(default_factory=dict)  # order no -> when it was lifted (解除)
    # Enforcement proposals sent, each watched until a record answers it (engine/decide/proposals.py):
    # [proposal id, measure, made at, due (the latest it may fall), needs legal review, state,
    # decision due, decision, raised again, decision raised again, counted from]; the state: None
    # while watched, "escalated" once it ran out unanswered, "withdrawn" once a record made in time,
    # reaching the engine late, took that back; the decision due: when the decision is due once a
    # legal review approved the proposal (None while none did, or when the rules watch no decision
    # after it), and the decision its state; raised again: how often each escalation was raised
    # again after a take-back (None: never), which keys its ids; counted from: where its time to be
    # answered counted from as it went (its withdrawal restates it so; None in a row stored before
    # format 12).
    proposals: list[list[Any]] = field(default_factory=list)
    # The records that may answer one: [kind (legal_reviewed | penalized), proposal id or decision
    # no, at, event id, outcome (a review's: approved | returned; None for a penalty, and for a
    # review stored before outcomes were kept)]; an order (ordered) is in `orders`.
    answers: list[list[Any]] = field(default_factory=list)
    clocks: dict[str, int] = field(default_factory=dict)  # clock name -> due (derived)
    applied: list[int] = field(default_factory=list)  # hashes of the latest APPLIED entries without a source
    # The records of each source partition (`source_of`'s key) whose entries it applied, those of the
    # last SPAN offsets there, as runs of offsets: {"starts": [...], "ends": [...]} (`remember`).
    applied_from: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    # Fingerprints of the latest field records applied (engine/kernel/copies.py; since format 8).
    seen: list[int] = field(default_factory=list)
    history: list[list[Any]] = field(default_factory=list)  # [time, event id, what]
    # Entries a field-app token limited to towns sent before the hazard had a town, whole, in the
    # order they came, at most scope.PARKED: each applied or rejected once it is opened
    # (engine/kernel/scope.py; since format 16).
    parked: list[dict[str, Any]] = field(default_factory=list)
    # [time, hash] of such entries applied (and of any other entry of a token limited to towns
    # that names no town), the latest scope.HELD_APPLIED by time: a copy of one changes nothing,
    # a copy of any other is judged afresh with its own stamp.
    held_applied: list[list[int]] = field(default_factory=list)
    watermark: int = 0  # the latest time this state has been brought to
    # The history stored before, not decoded: its full chunks apart in the history table and its
    # tail (engine/store.py); the decision path only appends to `history`. None when the whole
    # history is in `history`; read both with `timeline()`.
    history_stored: StoredHistory | None = None
    # The applied hashes stored before, 8 bytes each, not decoded; `applied` holds those added since.
    applied_stored: bytes = b""

    # What each place of a positional field means; the stored record names them (engine/store.py).
    # "one": the field holds one such list (stored as a dict by name); "many": a list of them; "map":
    # a dict of them (both stored as the rows under the list of names, since format 5).
    NAMED: ClassVar[dict[str, tuple[str, tuple[str, ...]]]] = {
        "point": ("one", ("lat", "lon")),
        "enterprise": ("one", ("uscc", "name")),
        "listed": ("one", ("notice_no", "listed_at", "deadline", "active")),
        "ext": ("one", ("requested_at", "requested_until", "event_id")),
        "early": ("one", ("at", "approved", "new_deadline", "event_id")),
        "orders": ("many", ("order_no", "order", "at", "event_id")),
        "violations": ("many", ("order_no", "at", "event_id", "evidence", "sent")),
        "proposals": ("many", ("proposal_id", "measure", "at", "due", "legal_review", "state", "decision_due",
                                "decision", "raised_again", "decision_raised_again", "counted_from")),
        "answers": ("many", ("kind", "ref", "at", "event_id", "outcome")),
        "verdicts": ("many", ("at", "verdict", "grade", "lead")),
        "failures": ("many", ("clock", "since", "due", "department")),
        "held": ("many", ("tag", "missed_at", "department", "reason", "cause")),
    }
    # Places added to a field of NAMED after rows of it were first stored, with what such a row
    # holds there when it is read back (engine/store.py `_rows`).
    ADDED: ClassVar[dict[str, dict[str, Any]]] = {
        "proposals": {"decision_due": None, "decision": None, "raised_again": None,
                      "decision_raised_again": None, "counted_from": None},  # the last since format 12
        "answers": {"outcome": None},
        "violations": {"sent": None},  # since format 10 (2026-12-07)
        "verdicts": {"grade": None, "lead": None},  # since format 13 (2026-12-07)
    }

    def status(self) -> str:
        """Where the hazard stands in its lifecycle."""
        if self.closed_how:
            return {"passed": "closed", "immediate": "closed"}.get(self.closed_how, self.closed_how)
        if self.opened is None:
            return "orphan"
        if self.completed_at is not None:
            return "completed"
        if self.progress > 0:
            return "in_progress"
        if self.planned_at is not None:
            return "planned"
        if self.verdict == "confirmed":
            return "verified"
        return "reported"

    def is_open(self) -> bool:
        """Open: reported or found, and not closed in any way."""
        return self.opened is not None and self.closed_how is None

    def judged(self, at: int) -> bool:
        """Whether a completion claimed at `at` came before a failed review, which judged it: every
        claim made by `at` has then been judged, whatever claim came since."""
        return self.cycle > 0 and self.cycle_start is not None and at < self.cycle_start

    def held_to_listing(self) -> bool:
        """Whether listed supervision's rules hold for the hazard: graded major (contract section 5,
        "major hazard"). Its grade, not whether a listing stands now: a passed review lifts the
        listing, and a request recorded after it must be judged as one recorded before it is."""
        return self.grade == "major"

    def unlisted_between(self, a: int, b: int) -> bool:
        """Whether a record made after `a` and by `b` ended listed supervision's hold on the hazard: a
        verification that found it unfounded or a duplicate or graded it below major (`verdicts` by
        time; with none kept, the latest verification alone), or an acceptance review that passed."""
        return (self.passed_at is not None and a < self.passed_at <= b) or any(
            a < v[0] <= b and (v[1] in DISMISSALS or (v[1] == "confirmed" and v[2] not in (None, "major")))
            for v in self.verdict_rows())

    def verdict_rows(self) -> list[list[Any]]:
        """Every verdict kept, as `verdicts` rows [at, verdict, grade, ...]: the rows, or, while only one
        verification was made, that one."""
        if self.verdicts:
            return self.verdicts
        return [[self.verified_at, self.verdict, self.grade]] if self.verified_at is not None else []

    def dismissed_by(self, t: int) -> bool:
        """Whether the latest verification made by `t` found the hazard unfounded or a duplicate
        (`verdicts` by time; with none kept, the latest verification alone): from then nothing was
        to be rectified, pressed or refused on it, whatever verification came since."""
        if not self.verdicts:
            return self.verdict in DISMISSALS and self.verified_at is not None and self.verified_at <= t
        then = None
        for at, verdict, *_ in self.verdicts:
            if at > t:
                break
            then = verdict
        return then in DISMISSALS

    def graded_by(self, t: int) -> str | None:
        """The grade the hazard stood confirmed at `t`: that of the latest verification made by `t`
        (`verdicts` by time; with none kept, the latest verification alone), None when it found the
        hazard unfounded or a duplicate. Before its first verification, the grade of its first
        confirmation: that tells what the hazard was (an order may come before it, and is judged
        once it comes). A confirmation kept in a row stored before format 13, which kept no grade,
        counts at the grade the hazard stands at now, as before then."""
        if not self.verdicts:
            return self.grade if self.verdict == "confirmed" else None
        then = next((v for v in self.verdicts if v[1] == "confirmed"), None)
        for v in self.verdicts:
            if v[0] > t:
                break
            then = v
        if then is None or then[1] != "confirmed":
            return None
        return then[2] or self.grade

    def lead_by(self, t: int, told: bool = False) -> str | None:
        """The lead department override standing at `t`: the one the latest verification made by `t`
        that names one named (`verdicts` by time), None (the sector's lead) when none by then did.
        With no rows naming one (a hazard verified once, or rows stored before format 13), the
        override as it stands. `told`: leave out verifications that reached the engine only after
        the listed deadline had passed (`lead_named_late_key`), as their lead was not told by then."""
        named = [v for v in self.verdicts if v[3]]
        if not named:
            return self.lead
        by = [v[3] for v in named if v[0] <= t and not (told and lead_named_late_key(v[0]) in self.arrived)]
        return by[-1] if by else None

    def responsible_by(self, t: int) -> tuple[int, str] | None:
        """The rectification plan standing at `t` as (its time, the responsible person it names): the
        latest plan made by `t` (`plan_key`), whatever order plans came in; None when no plan kept was
        made by then, so no record says who was responsible at `t`. A state stored before plans were
        kept knows only its latest plan: named when that plan was made by `t`, None otherwise (an
        earlier plan may have named someone else, and nothing says who)."""
        plans = sorted((v, k.split(":", 2)[2]) for k, v in self.arrived.items() if k.startswith(_PLAN))
        if not plans and self.responsible and self.planned_at is not None:
            plans = [(self.planned_at, self.responsible)]
        by = [p for p in plans if p[0] <= t]
        return by[-1] if by else None

    def in_force(self, order_no: str, t: int) -> bool:
        """Whether order `order_no` was in force at `t`, as far as the records on file say: made at
        or before it, and not lifted at or before it. A violation found before the order was made,
        or after its lifting, violates nothing."""
        lifted = self.lifted.get(order_no)
        return (lifted is None or t < lifted) and any(o[0] == order_no and o[2] <= t for o in self.orders)

    def overdue(self, now: int) -> bool:
        """Past its rectification deadline at `now` with no completion claim made by then pending.

        A hazard closed by then is not overdue. One a passed review closed after `now` (asked by a
        month's filing, made days after the month) was open at `now`: overdue unless the claim that
        review judged (`judged_claim`, from the claims kept by time; in a state stored before they
        were, PASSED_CLAIM) was made by then. One closed before either was kept counts as it did
        before 2026-12-07: the claim it had is not known."""
        if self.is_open():
            claim = self.completed_at
        elif self.closed_how == "passed" and self.closed_at is not None and self.closed_at > now:
            claim, before = judged_claim(self, self.closed_at), self.arrived.get(PASSED_CLAIM)
            if before is not None and (claim is None or before > claim):
                claim = before
        else:
            return False
        return self.deadline is not None and now > self.deadline and (claim is None or claim > now)

