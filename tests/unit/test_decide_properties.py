"""Properties of the decision core over random, valid histories of a few hazards.

A history is a few hazards, each opened by a report or an inspection finding
and followed by a random choice and timing of verification, plan, progress,
completion, review and extension events. From it:

- determinism: the same entries, replayed afresh, give the same outputs and states;
- idempotence: an entry delivered again, right after itself or later, changes nothing;
- reordering: arrivals reordered within what the engine may see (see `reorderings`)
  lead to the same final states (and the same output ids);
- the floor of a referral: with records arriving late, every duty failure left on file is one
  the records alone show (`_failed_by_the_records`), not only one the engine agrees with itself on;
- an enforcement proposal is left escalated as overdue exactly when its records alone show it
  standing and unanswered by its due time (`proposals_answered` draws its legal reviews and
  penalty decisions, some of them late).
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any

from decide_fixtures import (
    RULES,
    at,
    complete,
    entry_time,
    event,
    ext_decision,
    ext_request,
    finding,
    hazard_entries,
    inspection,
    plan,
    progress,
    report,
    review,
    verify,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.contract.envelope import EVENT_TYPES
from engine.contract.outputs import OUTPUT_TYPES, Escalation
from engine.decide.emit import iso
from engine.decide.proposals import FORCE_RECTIFICATION
from engine.decide.replay import Replay
from engine.decide.state import Hazard
from engine.kernel.apply import CLOCK_TYPE
from engine.kernel.escalation import escalation_id
from engine.kernel.outputs import Out
from engine.kernel.referral import WITHDRAWN
from engine.kernel.time import after, epoch, latest

MINUTE, HOUR, DAY = 60, 3600, 86400
WITHDRAWN_TYPES = {sent: kind for sent, (kind, _) in WITHDRAWN.items()}  # a sent output's withdrawal type
START = at("2026-03-02 08:00")
END = at("2026-12-31 00:00")  # every clock a history sets has fired by then, within 2026's holiday data
# A rectify_within order's `until`: its period is the hazard's deadline (lifecycle `_order_period`), so
# it lies as far off as the report's rectify_by, to keep the overdue ladder out of the orders'
# properties (before 2026-12-07 the engine read no `until`, and these orders gave 2026-11-20).
_UNTIL = "2027-06-30"
SECTORS = ["fire_safety", "hazardous_chemicals", "construction", "gas", "other"]
LEADS = [None, None, None, "market_supervision", "housing_construction"]

# DECIDE_EXAMPLES=2000 runs a deeper search locally; the default keeps each property to a few seconds.
# CI derandomises, so a run is repeatable; DECIDE_RANDOM=1 explores new examples.
PROPERTY = settings(max_examples=int(os.environ.get("DECIDE_EXAMPLES", "80")), deadline=None,
                    derandomize=not os.environ.get("DECIDE_RANDOM"),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Gaps between one hazard's events: often under an hour (so that reorderings have something to
# swap), sometimes hours, sometimes days or weeks (so that clocks fire in between).
GAPS = st.one_of(st.integers(MINUTE, 50 * MINUTE), st.integers(HOUR, 20 * HOUR),
                 st.integers(DAY, 40 * DAY))
ACTIONS = ["plan", "progress", "complete", "review_passed", "review_failed", "ext_request",
           "ext_approved", "ext_rejected", "reverify"]


def day(t: int) -> str:
    return iso(t)[:10]


class Story:
    """One subject's story as it is drawn: the time it has reached, and its events' ids in turn."""

    def __init__(self, draw: st.DrawFn, subject: str, start: int, gaps: st.SearchStrategy[int]) -> None:
        self.draw, self.subject, self.t, self.gaps = draw, subject, start, gaps
        self.count = iter(range(100))

    def eid(self) -> str:
        """The next event's id."""
        return f"{self.subject}-{next(self.count)}"

    def later(self) -> int:
        """The time of the next event, a drawn gap after the last."""
        self.t += self.draw(self.gaps)
        return self.t


@st.composite
def hazard_story(draw: st.DrawFn, hid: str, others: list[str]) -> list[dict[str, Any]]:
    """One hazard's entries, in the order they happened."""
    story = Story(draw, hid, START + draw(st.integers(0, 30 * DAY)), GAPS)
    eid, later, t = story.eid, story.later, story.t
    entries: list[dict[str, Any]] = []
    opening = draw(st.sampled_from(["report", "report", "le_finding", "expert_finding"]))
    sector = draw(st.sampled_from(SECTORS))
    grade = draw(st.sampled_from(["general", "general", "major"]))
    rectify_by = day(t + draw(st.integers(2, 60)) * DAY) if draw(st.booleans()) else None
    if opening == "report":
        entries.append(report(hid, iso(t), grade=grade, sector=sector, rectify_by=rectify_by,
                              event_id=eid()))
    else:
        kind = "expert_check" if opening == "expert_finding" else "routine"
        immediate = opening == "le_finding" and draw(st.integers(0, 5)) == 0
        entries += hazard_entries(inspection(
            iso(t), [finding(hid, grade, sector=sector, immediate=immediate, rectify_by=rectify_by)],
            kind=kind, inspection_id=f"INS-{hid}", event_id=eid()))
    if opening != "le_finding" and draw(st.integers(0, 4)) > 0:
        verdict = draw(st.sampled_from(["confirmed"] * 4 + ["unfounded", "duplicate"]))
        entries.append(verify(hid, iso(later()), verdict,
                              draw(st.sampled_from(["general", "general", "major"])),
                              lead=draw(st.sampled_from(LEADS)),
                              duplicate_of=draw(st.sampled_from(others)), event_id=eid()))
    for action in draw(st.lists(st.sampled_from(ACTIONS), max_size=7)):
        now = later()
        if action == "plan":
            entries.append(plan(hid, iso(now), day(now + draw(st.integers(5, 90)) * DAY), event_id=eid()))
        elif action == "progress":
            entries.append(progress(hid, iso(now), draw(st.integers(0, 100)), event_id=eid()))
        elif action == "complete":
            entries.append(complete(hid, iso(now), event_id=eid()))
        elif action == "reverify":  # a later verification: re-graded, or found unfounded or a duplicate
            verdict = draw(st.sampled_from(["confirmed"] * 3 + ["unfounded", "duplicate"]))
            entries.append(verify(hid, iso(now), verdict, draw(st.sampled_from(["general", "major"])),
                                  duplicate_of=draw(st.sampled_from(others)), event_id=eid()))
        elif action.startswith("review_"):
            entries.append(review(hid, iso(now), action.removeprefix("review_"), event_id=eid()))
        elif action == "ext_request":
            until = day(now + draw(st.integers(20, 200)) * DAY)
            entries.append(ext_request(hid, iso(now), until, event_id=eid()))
        else:
            new = day(now + draw(st.integers(20, 200)) * DAY) if action == "ext_approved" else None
            entries.append(ext_decision(hid, iso(now), new, event_id=eid()))
    return entries


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A few hazards' entries, merged in time order (each hazard's own order kept on ties)."""
    count = draw(st.integers(1, 3))
    ids = [f"HZ-{i}" for i in range(count)]
    entries: list[dict[str, Any]] = []
    for hid in ids:
        entries += draw(hazard_story(hid, [x for x in ids if x != hid] or ["HZ-9"]))
    return sorted(entries, key=entry_time)


def replay(arrivals: list[tuple[int, dict[str, Any]]], *, record: dict[str, set[int]] | None = None
           ) -> Replay:
    """Feed (now, entry) pairs in arrival order, then run every clock to END.

    Before each arrival, time advances only up to the earliest entry still to come: a timer never
    runs ahead of an event the engine is yet to see. `record` collects every clock due time each
    subject ever had.
    """
    rp = Replay(RULES)
    if record is not None:
        _recording_fired(rp, record)
    times = [entry_time(e) for _, e in arrivals]
    for i, (now, entry) in enumerate(arrivals):
        rp.advance_to(min(times[i:]))
        if record is not None:
            _record(rp, record)
        rp.feed(entry, now=now)
        if record is not None:
            _record(rp, record)
    rp.advance_to(END)
    return rp


def _record(rp: Replay, record: dict[str, set[int]]) -> None:
    for sid, h in rp.states.items():
        record.setdefault(sid, set()).update(h.clocks.values())


def _recording_fired(rp: Replay, record: dict[str, set[int]]) -> None:
    """Also record the due time of every clock `rp` fires: one advance may fire several clocks of a
    subject (a ladder's steps one after another), whose due times no look at its clocks between
    arrivals sees, and a step due at an event's own second is one its arrival may not cross."""
    feed = rp.feed

    def recorded(entry: dict[str, Any], now: int | None = None) -> list[Any]:
        if entry.get("type") == CLOCK_TYPE:
            record.setdefault(entry["subject"], set()).add(entry["data"]["due"])
        return feed(entry, now)

    rp.feed = recorded  # type: ignore[method-assign]


def in_order(entries: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    return [(entry_time(e), e) for e in entries]


def canonical(h: Hazard) -> dict[str, Any]:
    """A state without what depends on delivery (which entries, up to when), history as a set."""
    d = dataclasses.asdict(h)
    del d["applied"], d["applied_from"], d["watermark"]
    d["history"] = sorted(d["history"])
    return d


def states(rp: Replay) -> dict[str, dict[str, Any]]:
    return {sid: canonical(h) for sid, h in rp.states.items()}


# --- determinism ----------------------------------------------------------------------------------


@PROPERTY
@given(histories())
def test_the_same_entries_give_the_same_outputs_and_states(entries: list[dict[str, Any]]) -> None:
    """Replaying the same entries afresh gives the same outputs (ids and events) and the same states."""
    a, b = replay(in_order(entries)), replay(in_order(entries))
    assert [(t, o.topic, o.key, o.event) for t, o in a.outputs] == \
        [(t, o.topic, o.key, o.event) for t, o in b.outputs]
    assert a.states == b.states
    # One id, one decision: outputs that share an id (a notice issued again with the same
    # deadline) carry the same data.
    by_id: dict[str, dict[str, Any]] = {}
    for _, o in a.outputs:
        assert by_id.setdefault(o.id, o.event["data"]) == o.event["data"], o.id


# --- idempotence ----------------------------------------------------------------------------------


@st.composite
def with_redeliveries(draw: st.DrawFn, stories: st.SearchStrategy[list[dict[str, Any]]] | None = None
                      ) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]:
    """A history (of hazards, or drawn from `stories`), and the same arrivals with copies of some
    entries delivered again, right after themselves or later (arriving at that later slot's time)."""
    entries = draw(stories if stories is not None else histories())
    arrivals = in_order(entries)
    copies = draw(st.lists(st.tuples(st.integers(0, len(entries) - 1), st.integers(0, 2 * len(entries))),
                           min_size=1, max_size=6))
    # Insert from the back so that earlier positions stay valid.
    for original, delay in sorted(copies, key=lambda c: c[0] + 1 + c[1], reverse=True):
        pos = min(original + 1 + delay, len(arrivals))
        now = arrivals[pos - 1][0]
        arrivals.insert(pos, (max(now, entry_time(entries[original])), entries[original]))
    return entries, arrivals


@PROPERTY
@given(with_redeliveries())
def test_redelivered_entries_change_nothing(case: tuple[list, list]) -> None:
    """Entries delivered again give the same output ids and the same final states."""
    entries, arrivals = case
    once, again = replay(in_order(entries)), replay(arrivals)
    assert {o.id for _, o in again.outputs} == {o.id for _, o in once.outputs}
    assert states(again) == states(once)


# --- reordering -----------------------------------------------------------------------------------


def _subject_positions(entries: list[dict[str, Any]]) -> dict[str, list[int]]:
    positions: dict[str, list[int]] = {}
    for i, e in enumerate(entries):
        positions.setdefault(e["subject"], []).append(i)
    return positions


def _kind(e: dict[str, Any]) -> str:
    """An entry's kind, with the outcome where it matters: 'reviewed.failed', 'verified.confirmed'..."""
    kind, d = e["type"].rsplit(".", 1)[-1], e["data"]
    if kind == "reviewed":
        return f"reviewed.{d['outcome']}"
    if kind == "verified":
        return f"verified.{d['verdict']}"
    if kind == "extension_decided":
        return f"extension_decided.{'approved' if d['approved'] else 'rejected'}"
    if kind == "finding" and d["immediate"]:
        return "finding.immediate"
    return kind


OPENS_OR_CONFIRMS = {"reported", "finding", "finding.immediate", "verified.confirmed"}
CLOSES = {"reviewed.passed", "verified.unfounded", "verified.duplicate", "finding.immediate"}
SETS_DEADLINE = OPENS_OR_CONFIRMS | {"reviewed.failed", "extension_decided.approved"}
EXTENSION = {"extension_requested", "extension_decided.approved", "extension_decided.rejected"}
CONFIRMS = {"finding", "verified.confirmed"}


def _commute(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two close events of one hazard may arrive in either order and lead to one state.

    Not these pairs, where the engine must act on what it knows when the event arrives:
    - a close (passed review, unfounded or duplicate verdict, immediate finding) and the opening
      or confirmation: on confirmation the engine acts at once, as if a clock fell due then (it
      sets the deadline, and lists a major hazard, sending the notice it cannot take back), and a
      hazard that arrives already closed is given neither;
    - a review and the opening or confirmation: a failed review's new deadline depends on the grade;
    - a completion claim and the opening or confirmation: a confirmation whose deadline (an
      inspector's rectify_by) has already passed escalates at once unless a claim is already known;
    - an extension request and anything that sets or moves the deadline: the request is judged
      against the deadline in force when it arrives;
    - two extension events (request, decisions): a decision answers the pending request, and only
      the first decision to arrive finds one; a decision arriving before its request is void;
    - a failed review and an approved extension: both set the deadline, and the last to arrive stands;
    - a close and an approved extension: on a listed hazard the approval sends the listing notice
      again with the new deadline at once, which a hazard that arrives closed is not sent (a
      random search of 8,000 examples found this pair: review passed at 09:04, the extension
      approved at 09:05 arriving first);
    - two confirmations (a law-enforcement finding, a verification that confirms): the cycle
      counts from the confirmation known when the hazard first has one, and a confirmation dated
      earlier arriving later does not move it (found once the histories had later verifications);
    - two closes (a passed review, an unfounded or duplicate verdict): on a listed hazard the
      first to arrive lifts the listing, and the record says why in its words;
    - a confirmation and an approved extension: a confirmation as major lists the hazard at once with
      the deadline known then, and an approval arriving after it issues the notice again with its
      own (found once the histories had later verifications);
    - a passed and a failed review (contradictory, a minute apart): on a hazard listed after its
      listing's deadline had passed, a failed review arriving first lets that deadline run out
      before the passed one closes the hazard (found, on the tree before these properties had
      later verifications too, once they did: a confirmation as major after the deadline);
    - a failed review and a close before it (an unfounded or duplicate verdict, a passed review),
      both after a listing's deadline at which a claim was pending: the review arriving first
      judges the claim, and the deadline runs out at once; the close, arriving next, withdraws that
      failure and its referral (found by a deep search: an unfounded verdict one second after the
      deadline, the review failed a minute later). The record keeps both, so the states differ in
      their history; what each department is held to does not
      (`test_reorderings_that_change_the_record_leave_the_same_duties`).
    """
    ka, kb = _kind(a), _kind(b)

    def one_each(x: set[str], y: set[str]) -> bool:
        return (ka in x and kb in y) or (kb in x and ka in y)

    return not (one_each(CLOSES | {"reviewed.failed", "completed"}, OPENS_OR_CONFIRMS)
                or one_each(CLOSES, {"reviewed.failed"})
                or one_each({"extension_requested"}, SETS_DEADLINE)
                or (ka in EXTENSION and kb in EXTENSION)
                or one_each({"reviewed.failed"}, {"extension_decided.approved"})
                or one_each(CLOSES, {"extension_decided.approved"})
                or (ka in CONFIRMS and kb in CONFIRMS) or (ka in CLOSES and kb in CLOSES)
                or {ka, kb} == {"reviewed.passed", "reviewed.failed"}
                or one_each(CONFIRMS, {"extension_decided.approved"}))


def _commute_on_duties(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two close events of one hazard may arrive in either order and hold every department to
    the same duties (failures on file, referrals standing or held), whatever the record says of how
    the engine got there: the pairs that `_commute` allows, and a failed review with a close that
    the engine acts on at once, then takes back (`_commute`'s last two pairs)."""
    kinds = {_kind(a), _kind(b)}
    return _commute(a, b) or ("reviewed.failed" in kinds and len(kinds) == 2
                              and kinds - {"reviewed.failed"} <= CLOSES - {"finding.immediate"})


@st.composite
def reorderings(draw: st.DrawFn, commute: Any = _commute
                ) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]:
    """A history, and an arrival order the engine must treat the same (the pairs that `commute`).

    Allowed: (1) events of different hazards interleave arbitrarily; (2) two consecutive events of
    one hazard less than an hour apart swap, when no clock of that hazard falls due between them
    (otherwise the clock would rightly fire on the facts known by then) and the two commute (see
    `_commute`: a first, looser generator found the pairs listed there). Each event moves at most
    one place among its own hazard's events.
    """
    entries = draw(histories())
    dues: dict[str, set[int]] = {}
    replay(in_order(entries), record=dues)
    order = list(range(len(entries)))
    for subject, pos in _subject_positions(entries).items():
        i = 0
        while i + 1 < len(pos):
            a, b = entries[pos[i]], entries[pos[i + 1]]
            t1, t2 = entry_time(a), entry_time(b)
            clear = not any(t1 <= d <= t2 for d in dues.get(subject, ()))
            if t2 - t1 < HOUR and clear and commute(a, b) and draw(st.booleans()):
                order[pos[i]], order[pos[i + 1]] = order[pos[i + 1]], order[pos[i]]
                i += 2
            else:
                i += 1
    # Interleave the hazards' arrival sequences at random, keeping each hazard's own order.
    queues: dict[str, list[int]] = {}
    for k in order:
        queues.setdefault(entries[k]["subject"], []).append(k)
    labels = [s for s, q in queues.items() for _ in q]
    labels = draw(st.permutations(labels))
    arrival = [queues[s].pop(0) for s in labels]
    return entries, [(entry_time(entries[k]), entries[k]) for k in arrival]


@PROPERTY
@given(reorderings())
def test_allowed_reorderings_give_the_same_final_states(case: tuple[list, list]) -> None:
    """Arrivals reordered within the allowed window end in the same states, with the same output ids."""
    entries, arrivals = case
    reordered, ordered = replay(arrivals), replay(in_order(entries))
    got, want = states(reordered), states(ordered)
    assert got == want, _diff(got, want)
    assert {o.id for _, o in reordered.outputs} == {o.id for _, o in ordered.outputs}


def duties(rp: Replay) -> dict[str, tuple[list[str], list[list[Any]], list[str]]]:
    """What each hazard holds its departments to: the referral grounds sent and standing, the duty
    failures on file, and the referrals held."""
    return {sid: (sorted(h.referred), sorted(h.failures, key=repr), sorted(held[0] for held in h.held))
            for sid, h in rp.states.items()}


@PROPERTY
@given(reorderings(commute=_commute_on_duties))
def test_reorderings_that_change_the_record_leave_the_same_duties(case: tuple[list, list]) -> None:
    """Arrivals reordered within the allowed window, and a failed review swapped with a close made
    before it, leave every department held to the same duties: a failure the review's arrival let
    run out, the close withdraws (a wrong referral is worse than none)."""
    entries, arrivals = case
    assert duties(replay(arrivals)) == duties(replay(in_order(entries)))


def _diff(got: dict[str, dict[str, Any]], want: dict[str, dict[str, Any]]) -> str:
    return "; ".join(f"{sid}.{k}: {got[sid].get(k)!r} != {want[sid].get(k)!r}"
                     for sid in want for k in want[sid] if got.get(sid, {}).get(k) != want[sid][k])


# --- who answers for what (issue 14) --------------------------------------------------------------


def _enterprise_ids(entries: list[dict[str, Any]]) -> set[str]:
    ids: set[str] = set()
    for e in entries:
        d = e["data"]
        for ent in (d.get("enterprise"), (d.get("inspection") or {}).get("enterprise")):
            if ent:
                ids.add(ent["uscc"])
    return ids


@PROPERTY
@given(histories())
def test_no_referral_ever_names_an_enterprise(entries: list[dict[str, Any]]) -> None:
    """Every discipline referral names public bodies only (监察法 art. 15), never an enterprise."""
    rp = replay(in_order(entries))
    enterprises = _enterprise_ids(entries)
    for _, o in rp.outputs:
        if o.event["type"] != "safety.referral.discipline":
            continue
        respondents = o.event["data"]["respondents"]
        assert respondents, o.event
        assert {r["kind"] for r in respondents} <= {"department", "town_government", "official"}
        assert not {r["id"] for r in respondents} & enterprises
        assert o.event["data"]["grounds"] in ("duty_failure", "listed_supervision_failed")


# A department's act that answers its duty clock: the verification of a report, the review of a
# completion claim, the decision on an extension request (engine/decide/clocks.py).
ACTS = {"safety.hazard.verified": "verify", "safety.rectification.reviewed": "review",
        "safety.rectification.extension_decided": "extension"}
ASKS = {"review": "safety.rectification.completed", "extension": "safety.rectification.extension_requested"}


def arriving_late(draw: st.DrawFn, entries: list[dict[str, Any]], delays: list[int]
                  ) -> list[tuple[int, dict[str, Any]]]:
    """`entries` (in time order) as they arrive when some reach the engine late (an app offline), by
    one of `delays`, though never after their subject's next record: (arrival, entry) pairs in
    arrival order, a late entry saying when it arrived (`arrived_at`)."""
    arrivals = []
    for i, e in enumerate(entries):
        t = came = entry_time(e)
        if draw(st.integers(0, 2)) == 0:
            following = [entry_time(x) for x in entries[i + 1:] if x["subject"] == e["subject"]]
            came = max(t, min([t + draw(st.sampled_from(delays))] + [f - 1 for f in following[:1]]))
        arrivals.append((came, i, {**e, "arrived_at": iso(came)} if came > t else e))
    return [(came, e) for came, _, e in sorted(arrivals, key=lambda a: a[:2])]


def timer_to_each_arrival(rp: Any, arrivals: list[tuple[int, dict[str, Any]]], end: int) -> Any:
    """Feed (arrival, entry) pairs to replay `rp`, its timer running up to each arrival (what fell due
    before a late record fires before it), then to `end`."""
    for came, entry in arrivals:
        rp.advance_to(came - 1)
        rp.feed(entry, now=came)
    rp.advance_to(end)
    return rp


@st.composite
def acts_arriving_late(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]:
    """A history, and its arrivals with some records reaching the engine late (a tablet offline),
    from minutes to weeks after they were made: a department's act may come after the failure it
    answers went out, and a report or a claim after the department could have known of it."""
    entries = draw(histories())
    return entries, arriving_late(draw, entries, [5 * MINUTE, 20 * HOUR, 3 * DAY, 12 * DAY])


SETTLES = ("safety.rectification.completed", "safety.rectification.reviewed", "safety.hazard.verified")


@st.composite
def settled_late(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]:
    """A history whose records arrive as `acts_arriving_late` has them, or else with each hazard's
    last record, when it is a claim, a review or a verdict, arriving 5 to 25 days late (an app
    offline past the ladder's steps): what those steps proposed is then withdrawn, which the
    plain draw rarely reaches."""
    entries, arrivals = draw(acts_arriving_late())
    if draw(st.booleans()):
        return entries, arrivals
    last = {e["subject"]: e for e in entries}
    late = {id(e): entry_time(e) + draw(st.integers(5, 25)) * DAY
            for e in last.values() if e["type"] in SETTLES}
    timed = [(late.get(id(e), entry_time(e)), i, e) for i, e in enumerate(entries)]
    return entries, [(came, {**e, "arrived_at": iso(came)} if id(e) in late else e)
                     for came, _, e in sorted(timed, key=lambda a: a[:2])]


def _failed_by_the_records(entries: list[dict[str, Any]], hid: str, clock: str, due: int) -> bool:
    """Whether the records alone show a department's duty of `clock` on `hid` undone by `due`, not as
    the engine counts its periods: no verification dated by then; no review (or no decision on the
    extension) dated from the latest claim (or request) made by then, up to then."""
    mine = [e for e in entries if e["subject"] == hid]
    if clock == "supervision":
        return _listing_missed_by_the_records(mine, due)
    done = [entry_time(e) for e in mine if ACTS.get(e["type"]) == clock]
    if clock == "verify":
        return not any(t <= due for t in done)
    asked = [entry_time(e) for e in mine if e["type"] == ASKS[clock] and entry_time(e) <= due]
    return bool(asked) and not any(max(asked) <= t <= due for t in done)


def _stood_closed(kinds: list[tuple[int, str]], by: int) -> bool:
    """Whether the latest verdict by `by` among (time, kind) `kinds` (`_kind`) found the hazard
    unfounded or a duplicate."""
    verdicts = [k for when, k in kinds if when <= by and k.startswith("verified.")]
    return bool(verdicts) and verdicts[-1] in ("verified.unfounded", "verified.duplicate")


def _listing_missed_by_the_records(mine: list[dict[str, Any]], due: int) -> bool:
    """Whether a listed hazard's records alone show its listing's deadline `due` missed: not closed
    by then (a passed review; a verification, the latest by then, that found it unfounded or a
    duplicate), and no completion claim made by then that a review after it did not fail. A claim
    made while the hazard stood unfounded or a duplicate, or before a verification found it so,
    claims nothing once a later one confirms it: the hazard was closed, and the enterprise was
    given its full time again from the confirmation (engine/decide/lifecycle.py)."""
    kinds = [(entry_time(e), _kind(e)) for e in mine if entry_time(e) <= due]
    if "reviewed.passed" in {k for _, k in kinds} or _stood_closed(kinds, due):
        return False
    every = [(entry_time(e), _kind(e)) for e in mine]
    failed = sorted(r for r, k in every if k == "reviewed.failed")

    def judged(claim: int) -> bool:
        # By the first failed review after it, made while the hazard stood: one made once a
        # verification had found it unfounded or a duplicate, or a review had passed, judged no
        # hazard, and no listing's deadline ran out (engine/decide/clocks.py `unjudged`).
        first = next((r for r in failed if r >= claim), None)
        return first is not None and not _stood_closed(every, first) and not any(
            t <= first for t, k in every if k == "reviewed.passed")

    closed = [t for t, k in kinds if k in ("verified.unfounded", "verified.duplicate")]
    claims = [t for t, k in kinds if k == "completed" and not _stood_closed(kinds, t)
              and not any(c >= t for c in closed)]  # a close since voids it (the claim awaits no review)
    return all(judged(t) for t in claims)


@PROPERTY
@given(settled_late())
def test_every_duty_failure_left_on_file_is_one_the_records_show(
        case: tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]) -> None:
    """Once every record is in, whichever acts came late, every duty failure a hazard keeps, and so
    every referral of its department left standing (a wrong referral is worse than none), is one the
    records show undone by its deadline (`_failed_by_the_records`); and each standing referral's
    department has a failure on file."""
    entries, arrivals = case
    rp = timer_to_each_arrival(Replay(RULES), arrivals, END)
    withdraws_only_what_was_sent([o for _, o in rp.outputs])
    for h in rp.states.values():
        for clock, since, due, _ in h.failures:
            assert _failed_by_the_records(entries, h.id, clock, due), (h.id, clock, iso(since), iso(due))
    withdrawn = {o.event["data"]["referral_id"] for _, o in rp.outputs
                 if o.event["type"] == "safety.referral.withdrawn"}
    for _, o in rp.outputs:
        d = o.event["data"]
        if o.event["type"] == "safety.referral.discipline" and d["referral_id"] not in withdrawn \
                and d["grounds"] == "duty_failure":
            failing = {f[3] for f in rp.states[o.key].failures if f[3] is not None}
            assert failing, (o.key, d["reason"])


LADDER = {step.rule_id for step in RULES.ladder}


def _overdue_by_the_records(mine: list[dict[str, Any]], t: int) -> bool:
    """Whether a hazard's records alone leave it to be rectified at `t`, as a ladder step then says:
    not closed before `t` (an acceptance review passed, a finding fixed on the spot, or a
    verification, the latest before `t`, that found it unfounded or a duplicate), and no completion
    claim made before `t` still awaiting its review then (a failed review after a claim judges it; a
    close after a claim voids it, and a claim made while the hazard stood closed claims nothing).
    Not the deadline itself: whether `t` is a step's time against the deadline in force is the
    engine's arithmetic, checked by the rule tests."""
    kinds = [(entry_time(e), _kind(e)) for e in mine if entry_time(e) < t]
    if {"reviewed.passed", "finding.immediate"} & {k for _, k in kinds} or _stood_closed(kinds, t):
        return False
    closes = [when for when, k in kinds if k in ("verified.unfounded", "verified.duplicate")]
    failed = [when for when, k in kinds if k == "reviewed.failed"]
    claims = [when for when, k in kinds if k == "completed" and not _stood_closed(kinds, when)
              and not any(c >= when for c in closes)]
    return all(any(r >= c for r in failed) for c in claims)


def _standing(rp: Replay, rule_ids: set[str]) -> list[dict[str, Any]]:
    """The escalations and enforcement proposals of rules `rule_ids` that `rp` sent and did not
    take back (no `failure_withdrawn` of the same step, no `safety.enforcement.withdrawn`)."""
    events = [o.event for _, o in rp.outputs]
    withdrawn = {e["data"]["proposal_id"] for e in events if e["type"] == "safety.enforcement.withdrawn"}
    taken_back = [(e["subject"], e["data"]["rule_id"], e["data"]["due_at"], e["data"]["reason"])
                  for e in events if e["type"] == "safety.escalation.raised"
                  and e["data"]["action"] == "failure_withdrawn"]
    standing = []
    for e in events:
        d = e["data"]
        if d.get("rule_id") not in rule_ids:
            continue
        if e["type"] == "safety.enforcement.proposed":
            stands = d["proposal_id"] not in withdrawn
        elif e["type"] == "safety.escalation.raised" and d["action"] != "failure_withdrawn":
            stands = not any(s == e["subject"] and r == d["rule_id"] and due == d["due_at"]
                             and f"{d['rule_id']} of {e['time']}" in why for s, r, due, why in taken_back)
        else:
            stands = False
        if stands:
            standing.append(e)
    return standing


@PROPERTY
@given(settled_late())
def test_every_ladder_step_and_proposal_left_standing_is_one_the_records_show(
        case: tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]) -> None:
    """Once every record is in, whichever came late (a claim synced a week after it was made, a
    verdict of unfounded, a review), every step of the overdue ladder not withdrawn (a reminder,
    a supervision letter, a summons) and every enforcement proposal against the enterprise not
    withdrawn (a fine, an order to stop for overhaul: a wrong one is worse than none) came at a
    time the records alone show the hazard open with no completion claim awaiting its review
    (`_overdue_by_the_records`)."""
    entries, arrivals = case
    rp = timer_to_each_arrival(Replay(RULES), arrivals, END)
    withdraws_only_what_was_sent([o for _, o in rp.outputs])
    for e in _standing(rp, LADDER):
        mine = [x for x in entries if x["subject"] == e["subject"]]
        # A step whose time had passed when a confirmation (one that opened the hazard again) set its
        # deadline goes with it, under the step's own time: the records are judged then too.
        t = epoch(e["time"])
        then = [t] + [entry_time(x) + 1 for x in mine if entry_time(x) >= t and _kind(x) in CONFIRMS]
        assert any(_overdue_by_the_records(mine, u) for u in then), (
            e["subject"], e["data"]["rule_id"], e["time"], e["data"].get("action"))


PLAN_MISSED = f"{RULES.supervision.rule_id}.plan"


@PROPERTY
@given(settled_late())
def test_every_missing_plan_escalation_left_standing_is_one_the_records_show(
        case: tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]) -> None:
    """Once every record is in, every escalation that a listed hazard's enterprise filed no
    rectification plan (整改方案) in time, not withdrawn, came when the records alone show no plan
    filed by then and the hazard not closed before it (`_overdue_by_the_records` without its
    claims: a claim does not stand in for the plan)."""
    entries, arrivals = case
    rp = timer_to_each_arrival(Replay(RULES), arrivals, END)
    withdraws_only_what_was_sent([o for _, o in rp.outputs])
    for e in _standing(rp, {PLAN_MISSED}):
        t = epoch(e["time"])
        mine = [x for x in entries if x["subject"] == e["subject"]]
        assert not any(_kind(x) == "planned" and entry_time(x) <= t for x in mine), (e["subject"], e["time"])
        unclaimed = [x for x in mine if _kind(x) != "completed"]
        then = [t] + [entry_time(x) + 1 for x in mine if entry_time(x) >= t and _kind(x) in CONFIRMS]
        assert any(_overdue_by_the_records(unclaimed, u) for u in then), (e["subject"], e["time"])


PROPOSAL_DUE = RULES.proposal_due.rule_id  # type: ignore[union-attr]
_VERIFYING = ("verified.", "finding")  # the records that say what a hazard is (a finding confirms itself)


@st.composite
def proposals_answered(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]:
    """A history as `settled_late` draws it, and for about half of the enforcement proposals it leads
    to, a record that answers one: its legal review (naming its id, made after it) or, for a fine,
    a penalty decision (made from 2 days before it), up to 10 days after it, reaching the engine at
    once or up to 8 days late; after about half of the approving reviews, an order of the measure's
    kind, made from a day before the review to 10 days after it, reaching the engine the same way.
    For about a quarter of the proposals whose due time passes, and of the decisions due after an
    approving review that no order follows, verdicts dated before that time and recorded after it:
    a dismissal (unfounded or a duplicate), and for half of those a confirmation dated after it,
    reaching the engine before or after the dismissal, which takes an escalation back and raises it
    again. The proposals come from a first run without those records; the
    verdicts change the hazard's life from their dates on (a confirmation after a dismissal opens a
    new cycle), which the properties judge by the records alone."""
    from decide_fixtures import INSPECTORS, event

    entries, arrivals = draw(settled_late())
    rp = timer_to_each_arrival(Replay(RULES), arrivals, END)
    extra = []
    for n, e in enumerate(o.event for _, o in rp.outputs if o.event["type"] == "safety.enforcement.proposed"):
        d, made, hid = e["data"], epoch(e["time"]), e["data"]["hazard_id"]
        due = epoch(d.get("due_at_latest") or d["due_at"])
        if due + 6 * DAY < END and made < due - HOUR and draw(st.integers(0, 3)) == 0:
            extra += _verdicts_around(draw, entries, hid, made, due, f"{hid}-v{n}")
        if not draw(st.booleans()) or (not d["needs_legal_review"] and d["measure"] != "fine"):
            continue
        t = min(END - DAY, made + draw(st.integers(0 if d["needs_legal_review"] else -2 * DAY, 10 * DAY)))
        records = []
        if d["needs_legal_review"]:
            outcome = draw(st.sampled_from(["approved", "returned"]))
            records += event("safety.enforcement.legal_reviewed", iso(t), {
                "hazard_id": hid, "proposal_id": d["proposal_id"], "outcome": outcome, "by": INSPECTORS[0]},
                hid, f"{hid}-lr{n}")
            if outcome == "approved" and d["measure"] in _DECIDED_BY_ORDER and draw(st.booleans()):
                decided = min(END - DAY, t + draw(st.integers(-DAY, 10 * DAY)))
                records += event("safety.enforcement.ordered", iso(decided), {
                    "hazard_id": hid, "order_no": f"令{n}", "order": d["measure"],
                    "legal_basis": "安全生产法 art. 102", "by": INSPECTORS}, hid, f"{hid}-or{n}")
            elif outcome == "approved" and d["measure"] in _DECIDED_BY_ORDER and draw(st.integers(0, 3)) == 0:
                span = RULES.enforcement[d["measure"]].decide_within
                decide_by = latest(span, t, after(span, t, RULES).at, RULES)
                if decide_by + 6 * DAY < END:  # verdicts around the decision's due time instead
                    extra += _verdicts_around(draw, entries, hid, t, decide_by, f"{hid}-w{n}")
        else:
            records += event("safety.enforcement.penalized", iso(t), {
                "hazard_id": hid, "decision_no": f"罚{n}", "fine_cny": 10000,
                "legal_basis": "安全生产法 art. 102",
                "by": INSPECTORS[0]}, hid, f"{hid}-pd{n}")
        for record in records:
            made = entry_time(record)
            came = made + draw(st.sampled_from([0, HOUR, 3 * DAY, 8 * DAY]))
            extra.append((came, {**record, "arrived_at": iso(came)} if came > made else record))
    return entries + [e for _, e in extra], sorted(arrivals + extra, key=lambda a: a[0])


def _verdicts_around(draw: st.DrawFn, entries: list[dict[str, Any]], hid: str, made: int, due: int,
                     ref: str) -> list[tuple[int, dict[str, Any]]]:
    """A dismissal of hazard `hid` dated between `made` and `due`, and maybe a confirmation after it,
    before `due`, each recorded after `due` (in either order), or the dismissal, one time in three,
    before it: (arrival, entry) pairs. The seconds of their times keep them apart from every other
    record's."""
    from decide_fixtures import SUPERVISOR, event

    grades = [e["data"]["grade"] for e in entries if e["subject"] == hid and _kind(e) == "verified.confirmed"]
    dismissed = draw(st.integers(made + 1, due - HOUR)) // 60 * 60 + 17
    verdict = draw(st.sampled_from(["unfounded", "duplicate"]))
    data = {"hazard_id": hid, "verdict": verdict, "by": SUPERVISOR,
            **({"duplicate_of": f"{hid}-original"} if verdict == "duplicate" else {})}
    records = [(dismissed, event("safety.hazard.verified", iso(dismissed), data, hid, f"{ref}d"))]
    if grades and draw(st.booleans()):
        confirmed = draw(st.integers(dismissed + 60, due)) // 60 * 60 - 17
        records.append((confirmed, event("safety.hazard.verified", iso(confirmed), {
            "hazard_id": hid, "verdict": "confirmed", "grade": grades[0], "by": SUPERVISOR}, hid, f"{ref}c")))
    pairs = []
    for n, (t, [entry]) in enumerate(records):
        came = draw(st.integers(t + 1, due - 1)) if n == 0 and draw(st.integers(0, 2)) == 0 else \
            due + draw(st.integers(1, 5 * DAY))
        pairs.append((came, {**entry, "arrived_at": iso(came)}))
    return pairs


_DECIDED_BY_ORDER = ("suspend", "suspend_for_overhaul")  # measures an order of their own kind decides


def _pressing_by_the_records(mine: list[dict[str, Any]], due: int, measure: str) -> bool:
    """Whether a hazard's records alone leave its enterprise's proposal of `measure` to be decided at
    `due`: the latest verification by then did not find it unfounded or a duplicate (whatever closed
    it since: a review passed after such a verdict does not give a proposal its ground back), and,
    for an order to stop (停产停业整顿 is for a refusal to eliminate the hazard, 安全生产法 art. 102),
    no acceptance review had passed by then (since 2026-12-07: before, it was pressed all the same)."""
    kinds = [_kind(x) for x in sorted(mine, key=entry_time)
             if entry_time(x) <= due and _kind(x).startswith(_VERIFYING)]
    if measure in FORCE_RECTIFICATION and any(
            _kind(x) == "reviewed.passed" and entry_time(x) <= due for x in mine):
        return False
    return not kinds or kinds[-1] not in ("verified.unfounded", "verified.duplicate")


def _answered_by_the_records(mine: list[dict[str, Any]], p: dict[str, Any], earliest: int, due: int) -> bool:
    """Whether a record dated by `due` answers proposal `p` (its data, made at `p["made"]`): its legal
    review, naming it; for a fine, a penalty decision made since it, or made before the hazard's
    earliest fine standing (made at `earliest`) when it is that one."""
    if p["needs_legal_review"]:
        return any(x["type"] == "safety.enforcement.legal_reviewed" and x["data"]["proposal_id"] ==
                   p["proposal_id"] and entry_time(x) <= due for x in mine)
    made = epoch(p["made"])
    return any(x["type"] == "safety.enforcement.penalized" and entry_time(x) <= due
               and (made <= entry_time(x) or made == earliest) for x in mine)


def _proposals_run(arrivals: list[tuple[int, dict[str, Any]]]) -> tuple[list[dict[str, Any]],
                                                                         list[dict[str, Any]]]:
    """Every output event of the arrivals run to the end, and the enforcement proposals among them
    still standing (not withdrawn)."""
    rp = timer_to_each_arrival(Replay(RULES), arrivals, END)
    withdraws_only_what_was_sent([o for _, o in rp.outputs])
    events = [o.event for _, o in rp.outputs]
    withdrawn = {e["data"]["proposal_id"] for e in events if e["type"] == "safety.enforcement.withdrawn"}
    return events, [e for e in events if e["type"] == "safety.enforcement.proposed"
                    and e["data"]["proposal_id"] not in withdrawn]


def _left_escalated(events: list[dict[str, Any]], action: str, *watch: str) -> set[tuple[str, str]]:
    """(hazard, proposal id) of each `action` escalation about a proposal not taken back since (the
    take-back's id is the escalation's key, the proposal id and `watch`, and when it was raised again
    how often, under failure_withdrawn)."""
    ids = {e["id"] for e in events}
    left = set()
    for e in events:
        if e["type"] != "safety.escalation.raised" or e["data"]["action"] != action:
            continue
        reason = e["data"]["reason"]
        again = [int(n) for n in re.findall(r"; raised again \((\d+)\)", reason)]
        pid = reason.split()[2]
        if escalation_id(e["subject"], PROPOSAL_DUE, "failure_withdrawn", (pid, *watch, *again)) not in ids:
            left.add((e["subject"], pid))
    return left


@st.composite
def confirmed_again_late(draw: st.DrawFn) -> list[tuple[int, dict[str, Any]]]:
    """Arrivals of a general hazard confirmed in time, confirmed again (maybe at another grade, by
    another lead department) by a record that reaches the engine days late, and claimed complete
    by a record later still: a ladder step may have proposed a fine between the two records' times
    and their arrivals, which the claim then withdraws, after the late confirmation moved where
    what the engine sends counts from (engine/decide/clocks.py `known`)."""
    hid, t = "HZ-C", START + draw(st.integers(0, 30 * DAY))
    # Due a week after its confirmation, the ladder's red step (a fine) runs a week after that.
    again = draw(st.integers(t + HOUR, t + 15 * DAY))
    came = draw(st.integers(max(again, t + 10 * DAY), t + 40 * DAY))
    claimed = draw(st.integers(again, t + 16 * DAY))
    last = draw(st.integers(max(claimed, came), max(claimed, came) + 10 * DAY))
    arrivals = [(t, report(hid, iso(t), event_id="r")), (t + HOUR, verify(hid, iso(t + HOUR), event_id="c")),
                (came, verify(hid, iso(again), "confirmed", draw(st.sampled_from(["general", "major"])),
                              lead=draw(st.sampled_from(LEADS)), event_id="c2")),
                (last, complete(hid, iso(claimed), event_id="d"))]
    return sorted(((w, e if w == entry_time(e) else {**e, "arrived_at": iso(w)}) for w, e in arrivals),
                  key=lambda a: a[0])


@PROPERTY
@given(confirmed_again_late())
def test_a_proposal_withdrawn_after_a_confirmation_came_late_is_restated_as_it_went(
        arrivals: list[tuple[int, dict[str, Any]]]) -> None:
    """Whatever a confirmation recorded late moved since, a withdrawn enforcement proposal is
    restated due as it went (`withdraws_only_what_was_sent`)."""
    rp = timer_to_each_arrival(Replay(RULES), arrivals, END)
    withdraws_only_what_was_sent([o for _, o in rp.outputs])


@PROPERTY
@given(proposals_answered())
def test_a_proposal_is_left_escalated_exactly_when_its_records_show_it_unanswered_by_its_due_time(
        case: tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]) -> None:
    """Once every record is in, whichever came late (a legal review synced days after it was made, a
    penalty decision, a claim that withdrew the proposal, a verdict of unfounded), a proposal is
    left escalated as overdue (`proposal_overdue` not taken back) exactly when it stands (not
    withdrawn), its due time passed, the records alone show no legal review of it (or, for a fine,
    no penalty decision) dated by then, and the hazard not found unfounded or a duplicate by
    then."""
    entries, arrivals = case
    events, standing = _proposals_run(arrivals)
    earliest: dict[str, int] = {}  # each hazard's earliest fine standing
    for e in standing:
        if e["data"]["measure"] == "fine":
            hid = e["data"]["hazard_id"]
            earliest[hid] = min(earliest.get(hid, epoch(e["time"])), epoch(e["time"]))
    want = set()
    for e in standing:
        d, hid = e["data"], e["data"]["hazard_id"]
        due = epoch(d.get("due_at_latest") or d["due_at"])
        if due >= END or not (d["needs_legal_review"] or d["measure"] == "fine"):
            continue
        mine = [x for x in entries if x["subject"] == hid]
        if not _answered_by_the_records(mine, {**d, "made": e["time"]}, earliest.get(hid, 0), due) \
                and _pressing_by_the_records(mine, due, d["measure"]):
            want.add((hid, d["proposal_id"]))
    assert _left_escalated(events, "proposal_overdue") == want


@PROPERTY
@given(proposals_answered())
def test_a_decision_is_left_escalated_exactly_when_its_records_show_none_in_time_after_an_approval(
        case: tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]) -> None:
    """Once every record is in, whichever came late, the decision on a proposal is left escalated as
    overdue (`decision_overdue` not taken back) exactly when the proposal stands, a legal review on
    record approved it, its measure names a time to decide (`decide_within`, counted from the
    earliest approving review) that has passed, no order of its kind dated by then decides it (made
    since the proposal, or before the hazard's earliest proposal of that measure when it is that
    one), and the hazard was not found unfounded or a duplicate by then."""
    entries, arrivals = case
    events, standing = _proposals_run(arrivals)
    want = set()
    for e in standing:
        d, hid = e["data"], e["data"]["hazard_id"]
        span = RULES.enforcement[d["measure"]].decide_within
        mine = [x for x in entries if x["subject"] == hid]
        approvals = [entry_time(x) for x in mine if x["type"] == "safety.enforcement.legal_reviewed"
                     and x["data"]["proposal_id"] == d["proposal_id"] and x["data"]["outcome"] == "approved"]
        if span is None or not approvals or d["measure"] not in _DECIDED_BY_ORDER:
            continue
        ok = min(approvals)
        due = latest(span, ok, after(span, ok, RULES).at, RULES)
        made = epoch(e["time"])
        first = min(epoch(o["time"]) for o in standing if o["data"]["hazard_id"] == hid
                    and o["data"]["measure"] == d["measure"])
        decided = any(x["type"] == "safety.enforcement.ordered" and x["data"]["order"] == d["measure"]
                      and entry_time(x) <= due and (made <= entry_time(x) or made == first) for x in mine)
        if due < END and not decided and _pressing_by_the_records(mine, due, d["measure"]):
            want.add((hid, d["proposal_id"]))
    assert _left_escalated(events, "decision_overdue", "decision") == want


@PROPERTY
@given(histories())
def test_only_major_hazards_are_ever_listed(entries: list[dict[str, Any]]) -> None:
    """Every listed-supervision notice is about a hazard confirmed major, addressed to public bodies;
    a hazard still listed at the end is open and confirmed major, and one no longer listed had its
    lifting sent (a passed review, or a later verification that found it not major)."""
    rp = replay(in_order(entries))
    lifted = {o.key for _, o in rp.outputs if o.event["type"] == "safety.supervision.lifted"}
    for _, o in rp.outputs:
        if o.event["type"] != "safety.supervision.listed":
            continue
        assert rp.states[o.key].grade == "major" or o.key in lifted, o.event
        assert {u["kind"] for u in o.event["data"]["responsible_units"]} <= {"department", "town_government"}
    for h in rp.states.values():
        if h.listed and h.listed[3]:
            assert h.is_open() and h.verdict == "confirmed" and h.grade == "major", h.id
        elif h.listed:
            assert h.id in lifted, h.id


def _listed_by_the_records(mine: list[dict[str, Any]]) -> bool:
    """Whether a hazard's records alone, all of them, leave it under listed supervision: its latest
    verdict (a verification, or a law-enforcement finding, which confirms itself) confirms it major,
    and nothing closed it (an acceptance review that passed, a finding fixed on the spot, or that
    latest verdict finding it unfounded or a duplicate)."""
    verdicts = []
    for e in mine:
        d = e["data"]
        if e["type"] == "safety.hazard.verified":
            verdicts.append((entry_time(e), d["verdict"], d.get("grade")))
        elif _kind(e).startswith("finding") and d["inspection"]["law_enforcement"]:
            verdicts.append((entry_time(e), "confirmed", d["grade"]))
    kinds = {_kind(e) for e in mine}
    if not verdicts or {"reviewed.passed", "finding.immediate"} & kinds:
        return False
    _, verdict, grade = max(verdicts, key=lambda v: v[0])
    return verdict == "confirmed" and grade == "major"


@PROPERTY
@given(settled_late())
def test_a_hazard_is_left_listed_exactly_when_its_records_show_it_open_and_major(
        case: tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]) -> None:
    """Once every record is in, whichever came late, a hazard stands under listed supervision (挂牌督办,
    for 重大事故隐患 only) if and only if its records alone show it open and confirmed major by its
    latest verdict (`_listed_by_the_records`); every notice not in force had its lifting sent."""
    entries, arrivals = case
    rp = timer_to_each_arrival(Replay(RULES), arrivals, END)
    withdraws_only_what_was_sent([o for _, o in rp.outputs])
    lifted = {o.key for _, o in rp.outputs if o.event["type"] == "safety.supervision.lifted"}
    for h in rp.states.values():
        mine = [e for e in entries if e["subject"] == h.id]
        in_force = bool(h.listed and h.listed[3])
        assert in_force == _listed_by_the_records(mine), (h.id, h.listed, h.verdict, h.grade, h.closed_how)
        if h.listed and not in_force:
            assert h.id in lifted, h.id


@PROPERTY
@given(histories())
def test_enforcement_proposals_name_the_hazards_enterprise(entries: list[dict[str, Any]]) -> None:
    """Every enforcement proposal is against an enterprise of the history, on enforcement.actions."""
    rp = replay(in_order(entries))
    enterprises = _enterprise_ids(entries)
    for _, o in rp.outputs:
        if o.event["type"] == "safety.enforcement.proposed":
            assert o.topic == "enforcement.actions"
            assert o.event["data"]["enterprise"]["uscc"] in enterprises
            assert o.event["data"]["measure"] in RULES.enforcement


@PROPERTY
@given(histories())
def test_every_output_is_one_the_contract_describes(entries: list[dict[str, Any]]) -> None:
    """Every output is of a type the contract lists, on its topic, its data valid as its model, its
    envelope's id the output's; an escalation names its hazard and says why, to whom."""
    for _, out in replay(in_order(entries)).outputs:
        described(out, "hazard")


def described(out: Out, kind: str | None = None) -> Any:
    """The output's data as the contract's model of its type, its topic and envelope id checked; an
    escalation's subject is its key (of `kind`, when given) and it says why, in Chinese too."""
    topic, model = OUTPUT_TYPES[out.event["type"]]
    data = model.model_validate(out.event["data"])
    assert out.topic == topic and out.event["id"] == out.id, out.event
    if isinstance(data, Escalation):
        assert (data.subject_id, data.escalation_id) == (out.key, out.id), data
        assert kind is None or data.subject_kind == kind, data
        assert data.rule_id and data.reason and data.reason_zh, data
    return data


_NAMED_BY = {"safety.referral.discipline": "referral_id", "safety.referral.judicial": "referral_id",
             "safety.enforcement.proposed": "proposal_id", "safety.credit.proposed": "proposal_id"}


_DUE_AS_SENT = ("due_at", "due_at_latest", "due_counted_from")


def withdraws_only_what_was_sent(outs: list[Out]) -> None:
    """Every withdrawal takes back something sent before it, once: a referral, transfer or proposal
    withdrawn names one sent (its `referral_id` or `proposal_id`), and a `failure_withdrawn`
    escalation names an escalation sent before it. A withdrawal of what was never sent tells its
    recipients of a referral or a fine that does not exist.

    A withdrawal restates what it takes back as it stands when it goes, not always as it was sent:
    a credit proposal's decision, a hazard's referral's timeline (README, "Known limits"). A key
    enterprise's missed cycle's referral is restated with the timeline it went with, a transfer on
    the violation it went on, an enforcement proposal with the due time it went with (where it
    counted from, though a late record moved that since).

    And the town safety office is told a cycle ran out once while its notice stands: a cycle told
    again (raised again, or running again, after a late record) withdraws the notice first, or
    leaves it standing and says nothing more."""
    kinds = {withdrawn: sent for sent, withdrawn in WITHDRAWN_TYPES.items()}
    before: list[dict[str, Any]] = []
    taken: set[tuple[str, str]] = set()
    standing: set[tuple[str, str]] = set()  # (enterprise, cycle start) of each notice standing
    for out in outs:
        event, data = out.event, out.event.get("data") or {}  # a CAP message has its XML instead
        sent = kinds.get(event["type"])
        if sent is not None:
            name = data[_NAMED_BY[sent]]
            assert any(e["type"] == sent and e["data"][_NAMED_BY[sent]] == name for e in before), \
                f"{event['type']} of nothing sent: {data.get('reason')}"
            assert (sent, name) not in taken, f"{event['type']} twice: {data.get('reason')}"
            taken.add((sent, name))
            referred = [e["data"] for e in before if e["type"] == sent and e["data"][_NAMED_BY[sent]] == name]
            steps = referred[-1].get("timeline") or []
            if steps and steps[0]["what"].startswith("coverage cycle"):  # a key enterprise's missed cycle's
                assert data["timeline"] == steps, "a missed cycle's referral restated otherwise"
            if sent == "safety.referral.judicial":  # on the violation it went on
                assert data["evidence"] == referred[-1]["evidence"], "a transfer restated otherwise"
            if sent == "safety.enforcement.proposed":  # due as it went
                assert [data.get(k) for k in _DUE_AS_SENT] == [referred[-1].get(k) for k in _DUE_AS_SENT], \
                    f"a proposal restated due otherwise: {data.get('reason')}"
        elif event["type"] == "safety.escalation.raised" and data["action"] == "failure_withdrawn":
            assert any(_withdraws(event, e) for e in before), data["reason"]
        elif event["type"] == "safety.escalation.raised" and data["action"] == "notice_withdrawn":
            assert any(_withdraws_notice(event, e) for e in before), data["reason"]
            standing.discard(_notice_of(event))
        elif event["type"] == "safety.escalation.raised" and data["action"] == "coverage_missed":
            assert _notice_of(event) not in standing, f"told again, its notice standing: {data['reason']}"
            standing.add(_notice_of(event))
        before.append(event)


_MISSED_AT = re.compile(r"on key enterprise .+ at (\S+) is withdrawn")
_CYCLE = re.compile(r"not inspected within (\d+ days of \S+)")
_CYCLE_START = re.compile(r"not inspected within \d+ days of (\S+)")


def _notice_of(event: dict[str, Any]) -> tuple[str, str]:
    """The enterprise and the cycle's start a notice to the town safety office, or its withdrawal,
    names."""
    return event["subject"], _CYCLE_START.search(event["data"]["reason"])[1]


def _withdraws_notice(withdrawal: dict[str, Any], sent: dict[str, Any]) -> bool:
    """Whether `notice_withdrawn` escalation `withdrawal` takes back the town safety office's notice
    `sent`: of the same enterprise and rule (the class the cycle ran out under, as the notice went),
    of the same cycle (its days and start, as both reasons name them)."""
    if sent["type"] != withdrawal["type"] or sent["subject"] != withdrawal["subject"]:
        return False
    d, s = withdrawal["data"], sent["data"]
    cycle, told = _CYCLE.search(d["reason"]), _CYCLE.search(s["reason"])
    return (s["action"] == "coverage_missed" and s["rule_id"] == d["rule_id"] and cycle is not None
            and told is not None and told[1] == cycle[1])


def _withdraws(withdrawal: dict[str, Any], sent: dict[str, Any]) -> bool:
    """Whether `failure_withdrawn` escalation `withdrawal` takes back escalation `sent`: of the same
    subject and rule, due at the same time (an alert's handover or report step: the withdrawal's
    due time is the time the step ran, as the step's own due time is when the alert is handed on
    or asked of the next). A key enterprise's failure has no due time: it is the
    one sent at the time the withdrawal names, under the same rule (the class it ran out under,
    which the file keeps with each miss since stored format 9)."""
    if sent["type"] != withdrawal["type"] or sent["subject"] != withdrawal["subject"]:
        return False
    d, s = withdrawal["data"], sent["data"]
    if s["action"] == "failure_withdrawn":
        return False
    if d["subject_kind"] == "enterprise":
        named = _MISSED_AT.search(d["reason"])
        return (named is not None and s["action"] == "duty_failure" and sent["time"] == named[1]
                and s["rule_id"] == d["rule_id"])
    if d["subject_kind"] == "alert":  # an alert's step is named by its time: its own due_at says
        return s["rule_id"] == d["rule_id"] and sent["time"] == d["due_at"]  # when it passes on next
    return s["rule_id"] == d["rule_id"] and s["due_at"] == d["due_at"]


# --- the art. 70 notice and the monthly filing (issue 14) ------------------------------------------


def violation(hid: str, t: int, ref: object, event_id: str | None = None,
              order_no: str = "ORD-1") -> dict[str, Any]:
    """`safety.enforcement.violated` of order `order_no` on `hid`, found at `t`, its video named by `ref`."""
    from decide_fixtures import INSPECTORS, event

    [entry] = event("safety.enforcement.violated", iso(t), {
        "hazard_id": hid, "order_no": order_no, "found_at": iso(t), "description": "Worked on.",
        "evidence": [f"https://files.example.org/{ref}.jpg"], "by": INSPECTORS}, hid, event_id)
    return entry


@PROPERTY
@given(st.sampled_from(["suspend", "suspend_for_overhaul", "rectify_within"]),
       st.sampled_from(["general", "major"]), st.integers(1, 3), st.permutations(range(3)),
       st.integers(0, 5 * DAY))
def test_a_violated_stop_order_on_a_major_hazard_gets_one_power_notice_whatever_the_order(
        order: str, grade: str, violations: int, arrival: list[int], spread: int) -> None:
    """Order and violations in any arrival order: one utility_stop_notice, same id, and only for a
    stop order on a major hazard (安全生产法 art. 70)."""
    from decide_fixtures import INSPECTORS, event

    hid = f"HZ-A70-{order}-{grade}"
    opened = hazard_entries(inspection("2026-11-02 09:00", [finding(hid, grade)]))
    data = {"hazard_id": hid, "order_no": "ORD-1", "order": order, "legal_basis": "安全生产法",
            "by": INSPECTORS} | ({"until": _UNTIL} if order == "rectify_within" else {})
    [ordered] = event("safety.enforcement.ordered", "2026-11-02 11:00", data, hid, f"{hid}-o")
    found = [violation(hid, at("2026-11-04 10:00") + i * spread, i, f"{hid}-v{i}") for i in range(violations)]
    records = [ordered, *found][:3]
    arrivals = [records[i] for i in arrival if i < len(records)]
    last = max(entry_time(e) for e in records)
    rp = replay([(max(entry_time(e) for e in opened), e) for e in opened]
                + [(last, e) for e in arrivals])
    notices = [o for _, o in rp.outputs if o.event["type"] == "safety.enforcement.proposed"
               and o.event["data"]["measure"] == "utility_stop_notice"]
    if order == "rectify_within" or grade == "general":
        assert notices == []
    else:
        assert len(notices) == 1
        in_order_rp = replay(in_order(opened + records))
        assert [o.id for _, o in in_order_rp.outputs if o.id == notices[0].id] == [notices[0].id]


# The art. 70 notice waiting for legal review, as a district may set it: then it is watched.
_NOTICE = RULES.enforcement["utility_stop_notice"]
_WATCHED_NOTICE = dataclasses.replace(RULES, enforcement={
    **RULES.enforcement, "utility_stop_notice": dataclasses.replace(_NOTICE, needs_legal_review=True)})


@PROPERTY
@given(st.lists(st.sampled_from([0, 5 * MINUTE, 20 * HOUR, 3 * DAY, 12 * DAY]), min_size=1, max_size=3),
       st.integers(0, 5 * DAY))
def test_a_power_notice_is_never_due_before_the_violation_that_dates_it_could_be_known(
        delays: list[int], spread: int) -> None:
    """Violations of a stop order on a major hazard, each reaching the engine late or not: the one
    notice is dated by the first violation to reach it, and its time to be reviewed ends after that
    record's arrival when the intake vouched for it (more than `duties.late_arrival.after` late), so
    the department is never told it is overdue before it could see it; in time, it counts from the
    violation itself."""
    from decide_fixtures import INSPECTORS, event

    hid = "HZ-A70-late"
    opened = hazard_entries(inspection("2026-11-02 09:00", [finding(hid, "major")]))
    [ordered] = event("safety.enforcement.ordered", "2026-11-02 11:00", {
        "hazard_id": hid, "order_no": "ORD-1", "order": "suspend", "legal_basis": "安全生产法",
        "by": INSPECTORS}, hid, f"{hid}-o")
    found = at("2026-11-04 10:00")
    arrivals = [(max(entry_time(e) for e in opened), e) for e in opened] + [(entry_time(ordered), ordered)]
    came = []
    for i, delay in enumerate(delays):
        t = found + i * spread
        came.append((t + delay, i, t))
        v = violation(hid, t, i, f"{hid}-v{i}")
        arrivals.append((t + delay, {**v, "arrived_at": iso(t + delay)} if delay else v))
    arrivals.sort(key=lambda a: a[0])
    rp = timer_to_each_arrival(Replay(_WATCHED_NOTICE), arrivals, END)
    withdraws_only_what_was_sent([o for _, o in rp.outputs])
    [notice] = [o.event for _, o in rp.outputs if o.event["type"] == "safety.enforcement.proposed"]
    # The first violation to arrive makes it (`came` is in the order they are fed) and dates it.
    arrived, first, t = min(came)
    assert notice["time"] == iso(t) and notice["data"]["caused_by"] == [f"{hid}-v{first}"]
    assert RULES.late_after is not None
    vouched = arrived > after(RULES.late_after, t, RULES).at
    start = arrived if vouched else t
    measure = _WATCHED_NOTICE.enforcement["utility_stop_notice"]
    assert epoch(notice["data"]["due_at"]) == after(measure.due_within, start, _WATCHED_NOTICE).at
    assert notice["data"].get("due_counted_from") == (iso(start) if vouched else None)
    told = [o.event for _, o in rp.outputs if o.event["type"] == "safety.escalation.raised"
            and o.event["data"]["action"] == "proposal_overdue"]
    assert [epoch(e["time"]) for e in told] == [epoch(notice["data"]["due_at"])]  # no review ever came


# Rules a district may set that change what the enforcement records cause: the art. 70 notice
# waiting for legal review, no late arrival counted, no proposal watched, no transfer, no notice.
_ENFORCING = [
    RULES, _WATCHED_NOTICE, dataclasses.replace(_WATCHED_NOTICE, late_after=None),
    dataclasses.replace(_WATCHED_NOTICE, proposal_due=None), dataclasses.replace(RULES, judicial=None),
    dataclasses.replace(RULES, enforcement={k: v for k, v in RULES.enforcement.items()
                                            if k != "utility_stop_notice"})]


@st.composite
def enforcement_records(draw: st.DrawFn) -> tuple[Any, str, list[int], int | None,
                                                  list[tuple[int, dict[str, Any]]]]:
    """Under rules drawn from `_ENFORCING`, a hazard (major or general) and an order on it;
    violations found before it was made, or before or after its lifting (or no lifting); maybe
    the legal review of the art. 70 notice they lead to (approved or returned). Each record reaches
    the engine at once or up to 12 days late. Returns the rules, the order's kind, the violations'
    times, the lifting's, and the (arrival, entry) pairs in arrival order."""
    from decide_fixtures import INSPECTORS, event

    rules = draw(st.sampled_from(_ENFORCING))
    hid, grade = "HZ-ENF", draw(st.sampled_from(["major", "major", "general"]))
    opened = [report(hid, "2026-11-02 09:00", grade=grade, rectify_by="2027-06-30", event_id=f"{hid}-r"),
              verify(hid, "2026-11-02 10:00", "confirmed", grade, event_id=f"{hid}-c")]
    order = draw(st.sampled_from(["suspend", "suspend_for_overhaul", "rectify_within"]))
    [ordered] = event("safety.enforcement.ordered", "2026-11-02 16:00", {
        "hazard_id": hid, "order_no": "ORD-1", "order": order, "legal_basis": "安全生产法 art. 65",
        "by": INSPECTORS} | ({"until": _UNTIL} if order == "rectify_within" else {}), hid, f"{hid}-o")
    lifted = draw(st.sampled_from([None, at("2026-11-05 10:00"), at("2026-11-09 10:00")]))
    days = [at("2026-11-02 12:00")] + [at(f"2026-11-{d} 10:00") + 60 for d in ("04", "05", "06", "10")]
    found = draw(st.lists(st.sampled_from(days), min_size=1, max_size=3, unique=True))
    records = [ordered] + [violation(hid, t, t, f"{hid}-v{t}") for t in found]
    if lifted is not None:
        records += event("safety.enforcement.lifted", iso(lifted), {
            "hazard_id": hid, "order_no": "ORD-1", "by": INSPECTORS[0]}, hid, f"{hid}-l")
    arrivals = [(entry_time(e), e) for e in opened]
    for e in records:
        t = entry_time(e)
        came = t + draw(st.sampled_from([0, 0, 20 * HOUR, 3 * DAY, 12 * DAY]))
        arrivals.append((came, {**e, "arrived_at": iso(came)} if came > t else e))
    arrivals.sort(key=lambda a: a[0])
    notices = [o.event for _, o in timer_to_each_arrival(Replay(rules), arrivals, END).outputs
               if o.event["type"] == "safety.enforcement.proposed"]
    if notices and draw(st.booleans()):  # its legal review, made up to 5 days after it
        [review_] = event("safety.enforcement.legal_reviewed", iso(epoch(notices[0]["time"]) + draw(
            st.integers(HOUR, 5 * DAY))), {"hazard_id": hid, "proposal_id": notices[0]["data"]["proposal_id"],
                                          "outcome": draw(st.sampled_from(["approved", "returned"])),
                                          "by": INSPECTORS[0]}, hid, f"{hid}-lr")
        t = entry_time(review_)
        came = t + draw(st.sampled_from([0, 3 * DAY]))
        arrivals = sorted([*arrivals, (came, {**review_, "arrived_at": iso(came)} if came > t else review_)],
                          key=lambda a: a[0])
    return rules, order, found, lifted, arrivals


@PROPERTY
@given(enforcement_records())
def test_enforcement_records_late_or_not_under_any_rules_leave_standing_what_they_show(
        case: tuple[Any, str, list[int], int | None, list[tuple[int, dict[str, Any]]]]) -> None:
    """Whatever the rules a district sets and whenever each record reaches the engine, no decision
    fails, every output is one the contract describes, and once every record is in, a transfer to
    the public security bureau and an art. 70 notice stand (sent and not withdrawn) once each when
    a violation was found while the order was in force and the rules and the hazard call for them,
    and not at all otherwise; only a standing notice is still watched."""
    rules, order, found, lifted, arrivals = case
    rp = timer_to_each_arrival(Replay(rules), arrivals, END)
    withdraws_only_what_was_sent([o for _, o in rp.outputs])
    for _, out in rp.outputs:
        described(out, "hazard")
    in_force = [t for t in found if at("2026-11-02 16:00") <= t and (lifted is None or t < lifted)]
    major = all(e["data"].get("grade", "major") == "major" for _, e in arrivals
                if e["type"] in ("safety.hazard.reported", "safety.hazard.verified"))
    events_ = [o.event for _, o in rp.outputs]

    def standing(sent: str, ref: str) -> set[str]:
        made = {e["data"][ref] for e in events_ if e["type"] == sent}
        return made - {e["data"][ref] for e in events_ if e["type"] == WITHDRAWN_TYPES[sent]}

    j = rules.judicial
    transfer = bool(in_force) and major and j is not None and order in j.orders
    assert len(standing("safety.referral.judicial", "referral_id")) == int(transfer)
    notice = (bool(in_force) and major and "utility_stop_notice" in rules.enforcement
              and order in ("suspend", "suspend_for_overhaul"))
    notices = standing("safety.enforcement.proposed", "proposal_id")
    assert len(notices) == int(notice)
    assert {p[0] for p in rp.states["HZ-ENF"].proposals} <= notices


# Two orders on one hazard: when each was made, and the times it may be lifted.
_ORDERS = {"ORD-1": ("2026-11-02 16:00", [None, "2026-11-05 10:00", "2026-11-09 10:00"]),
           "ORD-2": ("2026-11-04 09:00", [None, "2026-11-06 09:00", "2026-11-10 12:00"])}


@st.composite
def two_orders(draw: st.DrawFn) -> tuple[Any, dict[str, str], dict[str, int | None],
                                          list[tuple[str, int]], list[tuple[int, dict[str, Any]]]]:
    """Under rules drawn from `_ENFORCING`, a hazard (major or general) with two orders of kinds
    drawn alone, each lifted or not; violations of either, found before its order, while it is in
    force or after its lifting. Each record reaches the engine at once or up to 12 days late.
    Returns the rules, each order's kind and lifting, the violations (order, found) and the
    (arrival, entry) pairs in arrival order."""
    from decide_fixtures import INSPECTORS, event

    rules = draw(st.sampled_from(_ENFORCING))
    hid, grade = "HZ-ENF", draw(st.sampled_from(["major", "major", "general"]))
    records = [report(hid, "2026-11-02 09:00", grade=grade, rectify_by="2027-06-30", event_id=f"{hid}-r"),
               verify(hid, "2026-11-02 10:00", "confirmed", grade, event_id=f"{hid}-c")]
    kinds, lifted = {}, {}
    for order_no, (made, liftings) in _ORDERS.items():
        kind = kinds[order_no] = draw(st.sampled_from(["suspend", "suspend_for_overhaul", "rectify_within"]))
        records += event("safety.enforcement.ordered", made, {
            "hazard_id": hid, "order_no": order_no, "order": kind, "legal_basis": "安全生产法 art. 65",
            "by": INSPECTORS} | ({"until": _UNTIL} if kind == "rectify_within" else {}), hid,
            f"{hid}-o{order_no}")
        lift = draw(st.sampled_from(liftings))
        lifted[order_no] = None if lift is None else at(lift)
        if lift is not None:
            records += event("safety.enforcement.lifted", lift, {
                "hazard_id": hid, "order_no": order_no, "by": INSPECTORS[0]}, hid, f"{hid}-l{order_no}")
    days = [at("2026-11-02 12:00")] + [at(f"2026-11-{d} 10:00") + 60 for d in ("03", "04", "05", "06", "10")]
    found = draw(st.lists(st.tuples(st.sampled_from(sorted(_ORDERS)), st.sampled_from(days)),
                          min_size=1, max_size=4, unique=True))
    records += [violation(hid, t, f"{o}-{t}", f"{hid}-v{o}-{t}", order_no=o) for o, t in found]
    arrivals = []
    for e in records:
        t = entry_time(e)
        came = t + (draw(st.sampled_from([0, 0, 20 * HOUR, 3 * DAY, 12 * DAY])) if e["type"].startswith(
            "safety.enforcement.") else 0)
        arrivals.append((came, {**e, "arrived_at": iso(came)} if came > t else e))
    arrivals.sort(key=lambda a: a[0])
    return rules, kinds, lifted, found, arrivals


@PROPERTY
@given(two_orders())
def test_two_orders_on_one_hazard_are_each_judged_by_their_own_violations_and_lifting(
        case: tuple[Any, dict[str, str], dict[str, int | None], list[tuple[str, int]],
                    list[tuple[int, dict[str, Any]]]]) -> None:
    """Whenever each record reaches the engine, an order's transfer to the public security bureau
    and its art. 70 notice stand once each when a violation of that order was found while that
    order was in force (made, and not yet lifted) and the rules and the hazard call for them, and
    not at all otherwise: the other order's violations and lifting change nothing of it."""
    rules, kinds, lifted, found, arrivals = case
    rp = timer_to_each_arrival(Replay(rules), arrivals, END)
    outs = [o for _, o in rp.outputs]
    withdraws_only_what_was_sent(outs)
    for out in outs:
        described(out, "hazard")
    major = all(e["data"].get("grade", "major") == "major" for _, e in arrivals
                if e["type"] in ("safety.hazard.reported", "safety.hazard.verified"))
    broken = {o for o, t in found if at(_ORDERS[o][0]) <= t and (lifted[o] is None or t < lifted[o])}
    events_ = [o.event for o in outs]

    j = rules.judicial
    transfers = [] if j is None or not major else sorted(o for o in broken if kinds[o] in j.orders)
    transferred = _not_withdrawn(events_, "safety.referral.judicial", "referral_id")
    assert sorted(e["data"]["order_no"] for e in transferred) == transfers
    stops = [] if not major or "utility_stop_notice" not in rules.enforcement else sorted(
        o for o in broken if kinds[o] in ("suspend", "suspend_for_overhaul"))
    notices = _not_withdrawn(events_, "safety.enforcement.proposed", "proposal_id")
    assert len(notices) == len(stops), (stops, [n["data"] for n in notices])
    assert {p[0] for p in rp.states["HZ-ENF"].proposals} <= {n["data"]["proposal_id"] for n in notices}


def _not_withdrawn(events_: list[dict[str, Any]], sent: str, ref: str) -> list[dict[str, Any]]:
    """The outputs of type `sent` among `events_` that no withdrawal naming their `ref` took back."""
    gone = {e["data"][ref] for e in events_ if e["type"] == WITHDRAWN_TYPES[sent]}
    return [e for e in events_ if e["type"] == sent and e["data"][ref] not in gone]


# When a second verification of the hazard of `verified_again` may be made: before the order, between
# its violations, after them.
_AGAIN = ["2026-11-02 14:00", "2026-11-04 12:00", "2026-11-05 12:00", "2026-11-11 10:00"]


@st.composite
def verified_again(draw: st.DrawFn) -> tuple[Any, str, list[int], tuple[int, str, str | None],
                                              list[tuple[int, dict[str, Any]]]]:
    """Under rules drawn from `_ENFORCING`, a hazard confirmed major or general, a stop order or an
    order to rectify on it, violations found while it is in force, and a second verification made
    before, between or after them that confirms it at a grade or finds it unfounded. Each record but
    the first verification reaches the engine at once or up to 12 days late. Returns the rules, the
    order's kind, the violations' times, the first verification's (time, verdict, grade) and the
    second's, and the (arrival, entry) pairs in arrival order."""
    from decide_fixtures import INSPECTORS, event

    rules = draw(st.sampled_from(_ENFORCING))
    hid, grade = "HZ-ENF", draw(st.sampled_from(["major", "general"]))
    opened = [report(hid, "2026-11-02 09:00", grade="major", rectify_by="2027-06-30", event_id=f"{hid}-r"),
              verify(hid, "2026-11-02 10:00", "confirmed", grade, event_id=f"{hid}-c")]
    order = draw(st.sampled_from(["suspend", "suspend_for_overhaul", "rectify_within"]))
    [ordered] = event("safety.enforcement.ordered", "2026-11-02 16:00", {
        "hazard_id": hid, "order_no": "ORD-1", "order": order, "legal_basis": "安全生产法 art. 65",
        "by": INSPECTORS} | ({"until": _UNTIL} if order == "rectify_within" else {}), hid, f"{hid}-o")
    found = draw(st.lists(st.sampled_from([at(f"2026-11-{d} 10:00") for d in ("03", "05", "10")]),
                          min_size=1, max_size=2, unique=True))
    when = at(draw(st.sampled_from(_AGAIN)))
    verdict, again = draw(st.sampled_from([("confirmed", "major"), ("confirmed", "general"),
                                           ("unfounded", None)]))
    second = verify(hid, iso(when), verdict, again, event_id=f"{hid}-c2")
    arrivals = [(entry_time(e), e) for e in opened]
    for e in [ordered, second, *(violation(hid, t, t, f"{hid}-v{t}") for t in found)]:
        t = entry_time(e)
        came = t + draw(st.sampled_from([0, 0, 20 * HOUR, 3 * DAY, 12 * DAY]))
        arrivals.append((came, {**e, "arrived_at": iso(came)} if came > t else e))
    arrivals.sort(key=lambda a: a[0])
    first = (at("2026-11-02 10:00"), "confirmed", grade)
    return rules, order, found, (first, (when, verdict, again)), arrivals


@PROPERTY
@given(verified_again())
def test_a_transfer_stands_on_the_grade_at_the_violation_and_a_power_stop_on_the_grade_now_too(
        case: tuple[Any, str, list[int], tuple[Any, ...], list[tuple[int, dict[str, Any]]]]) -> None:
    """Whenever each record reaches the engine, once every record is in, an order's transfer to the
    public security bureau stands once when a violation was found while the hazard stood confirmed
    at a grade the transfer is for (the latest verification by the violation's time; before any,
    the first), and not at all otherwise: a verification made since changes nothing of it. The
    art. 70 notice stands once when, besides, the hazard stands confirmed major now (the latest
    verification by time)."""
    rules, order, found, verdicts, arrivals = case
    rp = timer_to_each_arrival(Replay(rules), arrivals, END)
    outs = [o for _, o in rp.outputs]
    withdraws_only_what_was_sent(outs)
    for out in outs:
        described(out, "hazard")

    def graded(t: int) -> str | None:
        by_then = [v for v in sorted(verdicts, key=lambda v: v[0]) if v[0] <= t] or [verdicts[0]]
        return by_then[-1][2] if by_then[-1][1] == "confirmed" else None

    events_ = [o.event for o in outs]

    in_force = [t for t in found if t >= at("2026-11-02 16:00")]
    j = rules.judicial
    transfer = j is not None and order in j.orders and any(graded(t) in j.grades for t in in_force)
    assert len(_not_withdrawn(events_, "safety.referral.judicial", "referral_id")) == int(transfer)
    now = graded(END)
    stop = ("utility_stop_notice" in rules.enforcement and order in ("suspend", "suspend_for_overhaul")
            and now == "major" and any(graded(t) == "major" for t in in_force))
    assert len(_not_withdrawn(events_, "safety.enforcement.proposed", "proposal_id")) == int(stop)


def _measures(**changes: Any) -> dict[str, Any]:
    return {k: dataclasses.replace(m, **changes) for k, m in RULES.enforcement.items()}


def _ladder(**steps: dict[str, Any]) -> tuple[Any, ...]:
    """The shipped ladder with steps changed by rule id (`{}`: left out)."""
    return tuple(dataclasses.replace(step, **steps[step.rule_id]) if steps.get(step.rule_id) else step
                 for step in RULES.ladder if steps.get(step.rule_id, True) != {})


# Other rules a district may set for the whole life of a hazard: every measure waiting for legal
# review, or none (and no decision watched after one); referral only at a second failure; a ladder
# that proposes the fine on the due date, or the fine and the overhaul in one step.
_DISTRICTS = [
    dataclasses.replace(RULES, enforcement=_measures(needs_legal_review=True)),
    dataclasses.replace(RULES, enforcement=_measures(needs_legal_review=False, decide_within=None)),
    dataclasses.replace(RULES, duty_failures=dataclasses.replace(RULES.duty_failures, threshold=2),
                        supervision_missed=dataclasses.replace(RULES.supervision_missed, threshold=2)),
    dataclasses.replace(RULES, late_after=None, proposal_due=None),
    dataclasses.replace(RULES, ladder=_ladder(**{
        "ladder.yellow": {"actions": ("remind", "notify", "propose:fine")},
        "ladder.red": {"actions": ("summon",)}})),
    dataclasses.replace(RULES, ladder=_ladder(**{
        "ladder.red": {"actions": ("summon", "propose:fine", "propose:suspend_for_overhaul")},
        "ladder.overhaul": {}}))]


OTHER_RULES = _DISTRICTS + _ENFORCING  # every rule set above (tests/unit/test_district_properties.py)


@PROPERTY
@given(st.sampled_from(OTHER_RULES), proposals_answered())
def test_under_any_rules_a_district_sets_no_decision_fails_and_every_output_is_lawful(
        rules: Any, case: tuple[list, list]) -> None:
    """Histories whose records arrive late, with proposals answered or not, decided under rules
    other than the shipped ones: no decision fails, the same arrivals decide the same, every output
    is one the contract describes, and no referral names an enterprise."""
    entries, arrivals = case
    rp = timer_to_each_arrival(Replay(rules), arrivals, END)
    withdraws_only_what_was_sent([o for _, o in rp.outputs])
    again = timer_to_each_arrival(Replay(rules), arrivals, END)
    assert [o.event for _, o in rp.outputs] == [o.event for _, o in again.outputs]
    enterprises = _enterprise_ids(entries)
    for _, out in rp.outputs:
        described(out, "hazard")
        if out.event["type"] == "safety.referral.discipline":
            assert not {r["id"] for r in out.event["data"]["respondents"]} & enterprises


@PROPERTY
@given(histories(), st.sampled_from(["2026-03", "2026-04", "2026-06", "2026-12"]))
def test_monthly_filings_count_every_hazard_of_the_month_once_and_name_departments_only(
        entries: list[dict[str, Any]], month: str) -> None:
    """The filings found-counts add up to the hazards opened that month; respondents are departments."""
    from engine.decide.filing import month_bounds, monthly_filings

    rp = replay(in_order(entries))
    start, end = month_bounds(month)
    outs = monthly_filings(rp.states.values(), month, RULES)
    assert len({o.key for o in outs}) == len(outs)
    found = sum(int(o.event["data"]["reason"].split(": ", 1)[1].split(" hazards found")[0]) for o in outs)
    assert found == sum(1 for h in rp.states.values() if h.opened is not None and start <= h.opened_at < end)
    for o in outs:
        assert [r["kind"] for r in o.event["data"]["respondents"]] == ["department"]
        assert o.event["data"]["grounds"] == "periodic_filing"


@st.composite
def sent_again(draw: st.DrawFn) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, dict[str, Any]]]]:
    """Arrivals of `settled_late`, and the same with one to three of the field records sent again
    through the intake under fresh event ids (an app that did not hear the broker's answer), each
    copy reaching the engine with its first or one, three or twelve days after it."""
    _, arrivals = draw(settled_late())
    copied = list(arrivals)
    picks = st.tuples(st.integers(0, len(arrivals) - 1), st.sampled_from([0, 1, 3, 12]))
    for i, delay in draw(st.lists(picks, min_size=1, max_size=3)):
        came, entry = arrivals[i]
        if entry["type"] not in EVENT_TYPES:
            continue  # an inspection's finding: its inspection is sent again, not the finding
        [copy] = [e for e in event(entry["type"], entry["time"], entry["data"], entry["subject"])
                  if e["subject"] == entry["subject"]]
        when = came + delay * DAY
        if delay:
            copy["arrived_at"] = iso(when)
        j = copied.index((came, entry)) + 1
        while j < len(copied) and copied[j][0] <= when:
            j += 1
        copied.insert(j, (when, copy))
    return arrivals, copied


@PROPERTY
@given(sent_again())
def test_a_field_record_sent_again_under_a_fresh_event_id_changes_no_output(
        case: tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, dict[str, Any]]]]) -> None:
    """A copy of a report, a verification, a claim, a review, an extension's request or decision,
    under an event id of its own, at once or days later: the outputs are those of the records
    sent once, the same ids and the same events (a referral's timeline aside: it lists the copy's
    arrival, a step of the hazard's record). Before engine/kernel/copies.py a failed review ran
    its ladder again, a late copy moved a duty's start, and a decided extension request pending
    again had the bureau referred to discipline inspection."""
    arrivals, copied = case
    once, again = replay(arrivals), replay(copied)

    def said(rp: Replay) -> dict[str, Any]:
        return {o.id: {**o.event, "data": {k: v for k, v in o.event["data"].items() if k != "timeline"}}
                for _, o in rp.outputs}

    assert said(again) == said(once)
