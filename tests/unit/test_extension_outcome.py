"""What a hazard keeps of its extension decisions' outcome, read the same from states stored by older code.

A hazard keeps when its latest extension decision was made (`ext_decided`, since format 8) and, in
keys of `Hazard.arrived` added without a new stored format, when the latest approval was decided
(`ext_approved`, since a6193ae) and which request the latest decision refused (`ext_refused:<time>`,
since e7085d3). A state stored before either key was kept reads its latest decision as an approval;
one stored between the two knows its approvals but no refusal's request. Each story below is stored
at a point as today's code stores it, and as the code before each key would have (the keys it did
not keep taken out), then goes on: the decisions pinned are those the tree of 2026-12-07 gives.
"""

from __future__ import annotations

from typing import Any

import pytest
from decide_fixtures import (
    at,
    end_of,
    entry_time,
    events,
    ext_decision,
    ext_request,
    run,
)
from test_decide import MAJOR, general_confirmed, major_planned
from test_order_period import HZ, rectify_within

from engine.decide.replay import Replay
from engine.store import pack, unpack

TODAY = "today"  # both keys kept
APPROVALS_KEPT = "approvals-kept"  # stored after a6193ae, before e7085d3: `ext_approved` alone
NEITHER = "neither"  # stored before a6193ae: neither key
STORED_BY = [TODAY, APPROVALS_KEPT, NEITHER]


def stored_by(rp: Replay, hid: str, code: str) -> None:
    """Store the hazard's state and load it again, as the code `code` would have stored it."""
    h = rp.states[hid]
    gone = {APPROVALS_KEPT: ("ext_refused:",), NEITHER: ("ext_refused:", "ext_approved")}.get(code, ())
    for key in [k for k in h.arrived if k.startswith(gone)]:
        del h.arrived[key]
    rp.states[hid] = unpack(pack(h))


def go_on(rp: Replay, *entries: dict[str, Any], now: str | None = None, until: str | None = None) -> None:
    """Feed entries after the state was stored, each at `now` (reaching the engine then) or at its own
    time; then advance to `until`."""
    for entry in entries:
        t = at(now) if now is not None else entry_time(entry)
        rp.advance_to(t)
        rp.feed(entry, now=t)
    if until is not None:
        rp.advance_to(at(until))


def withdrawn(rp: Replay) -> list[str]:
    """The grounds of every referral withdrawn."""
    return [e["data"]["grounds"] for e in events(rp, "safety.referral.withdrawn")]


@pytest.mark.parametrize(("code", "deadline"), [
    pytest.param(TODAY, "2026-11-30", id=TODAY),
    pytest.param(APPROVALS_KEPT, "2026-11-30", id=APPROVALS_KEPT),
    pytest.param(NEITHER, "2026-11-20", id=NEITHER),
])
def test_an_order_made_between_an_approval_and_a_refusal_stands_where_the_approval_is_known(
        code: str, deadline: str) -> None:
    """Approved on 4 Nov 10:00, refused on 6 Nov; an order made on 4 Nov 12:00 reaches the engine
    after. Knowing when the approval was, the order made after it stands; a state that kept no
    approval takes its latest decision (the refusal) for one, and the order gives way to it."""
    rp = run(*general_confirmed(), ext_request(HZ, "2026-11-04 09:00", "2026-11-20"),
             ext_decision(HZ, "2026-11-04 10:00", "2026-11-20"),
             ext_request(HZ, "2026-11-05 09:00", "2026-12-20"), ext_decision(HZ, "2026-11-06 09:00"))
    stored_by(rp, HZ, code)
    go_on(rp, rectify_within("2026-11-04 12:00", "2026-11-30"), now="2026-11-07 09:00")
    assert rp.states[HZ].deadline == end_of(deadline)


@pytest.mark.parametrize("code", STORED_BY)
def test_a_decision_after_a_stored_approval_counts_it_from_when_it_was_decided(code: str) -> None:
    """Stored with an approval of 4 Nov 10:00 as the latest decision and a request pending: every
    reading takes that decision for the approval it was, so an order made after it, arriving after
    the refusal that follows, stands."""
    rp = run(*general_confirmed(), ext_request(HZ, "2026-11-04 09:00", "2026-11-20"),
             ext_decision(HZ, "2026-11-04 10:00", "2026-11-20"),
             ext_request(HZ, "2026-11-05 09:00", "2026-12-20"))
    stored_by(rp, HZ, code)
    go_on(rp, ext_decision(HZ, "2026-11-06 09:00"))
    go_on(rp, rectify_within("2026-11-04 12:00", "2026-11-30"), now="2026-11-07 09:00")
    assert rp.states[HZ].deadline == end_of("2026-11-30")


@pytest.mark.parametrize(("code", "taken_back"), [
    pytest.param(TODAY, ["listed_supervision_failed"], id=TODAY),
    pytest.param(APPROVALS_KEPT, [], id=APPROVALS_KEPT),
    pytest.param(NEITHER, [], id=NEITHER),
])
def test_a_refusal_reconsidered_after_the_deadline_withdraws_the_referral_where_its_request_is_known(
        code: str, taken_back: list[str]) -> None:
    """Asked on 20 April, refused on 22 April, approved on reconsideration on 5 June, after the listed
    deadline of 1 June: the request was before the body since April, and the referral goes. A state
    that kept no refused request reads the refusal as an approval: nobody is known to have asked,
    and the referral stands."""
    rp = run(*major_planned(), ext_request(MAJOR, "2026-04-20 10:00", "2026-07-31"),
             ext_decision(MAJOR, "2026-04-22 10:00"))
    stored_by(rp, MAJOR, code)
    go_on(rp, ext_decision(MAJOR, "2026-06-05 10:00", "2026-07-31"), until="2026-06-06 00:00")
    assert len(events(rp, "safety.referral.discipline", grounds="listed_supervision_failed")) == 1
    assert withdrawn(rp) == taken_back
    assert rp.states[MAJOR].deadline == end_of("2026-07-31")


@pytest.mark.parametrize(("code", "taken_back"), [
    pytest.param(TODAY, ["listed_supervision_failed"], id=TODAY),
    pytest.param(APPROVALS_KEPT, [], id=APPROVALS_KEPT),
    pytest.param(NEITHER, [], id=NEITHER),
])
def test_a_refusal_dated_the_second_of_an_approval_is_still_the_latest_decision(
        code: str, taken_back: list[str]) -> None:
    """Approved on 3 April 10:00 to 31 July; asked again on 10 April; a refusal dated 3 April 10:00,
    the approval's second, reaches the engine after that request. It is the latest decision and
    refused the request of 10 April, though the latest approval is of its very second (so whether
    the latest decision refused cannot be told from the approval's time alone). Reconsidered after
    31 July, that request withdraws the referral."""
    rp = run(*major_planned(), ext_request(MAJOR, "2026-04-01 10:00", "2026-07-31"),
             ext_decision(MAJOR, "2026-04-03 10:00", "2026-07-31"),
             ext_request(MAJOR, "2026-04-10 10:00", "2026-08-31"))
    go_on(rp, ext_decision(MAJOR, "2026-04-03 10:00"), now="2026-04-11 10:00")
    stored_by(rp, MAJOR, code)
    go_on(rp, ext_decision(MAJOR, "2026-08-05 10:00", "2026-08-31"), until="2026-08-06 00:00")
    assert len(events(rp, "safety.referral.discipline", grounds="listed_supervision_failed")) == 1
    assert withdrawn(rp) == taken_back


@pytest.mark.parametrize(("code", "deadline"), [
    pytest.param(TODAY, "2026-07-31", id=TODAY),
    pytest.param(APPROVALS_KEPT, "2026-06-01", id=APPROVALS_KEPT),
    pytest.param(NEITHER, "2026-06-01", id=NEITHER),
])
def test_an_older_approval_after_a_stored_refusal_moves_the_deadline_where_the_refusal_is_known(
        code: str, deadline: str) -> None:
    """Refused on 22 April; an approval dated 21 April reaches the engine on the 25th. After a refusal
    of a request it answers that request; a state that kept no refusal takes the decision of the
    22nd for an approval, which the older one gives way to."""
    rp = run(*major_planned(), ext_request(MAJOR, "2026-04-20 10:00", "2026-07-31"),
             ext_decision(MAJOR, "2026-04-22 10:00"))
    stored_by(rp, MAJOR, code)
    go_on(rp, ext_decision(MAJOR, "2026-04-21 10:00", "2026-07-31"), now="2026-04-25 10:00")
    assert rp.states[MAJOR].deadline == end_of(deadline)


@pytest.mark.parametrize(("code", "taken_back"), [
    pytest.param(TODAY, [], id=TODAY),
    pytest.param(APPROVALS_KEPT, ["listed_supervision_failed"], id=APPROVALS_KEPT),
    pytest.param(NEITHER, ["listed_supervision_failed"], id=NEITHER),
])
def test_a_request_reaching_the_engine_after_a_refusal_withdraws_nothing_where_the_refusal_is_known(
        code: str, taken_back: list[str]) -> None:
    """Due 15 May after an approval; referred on the 16th; approved again on 20 May with nobody asking
    (the referral stands); asked on 25 May and refused on the 27th. A request made on 10 April
    reaches the engine after: the decision on file answers it. A refusal moves nothing, so nothing is
    withdrawn; a state that kept no refusal takes the decision of the 27th for an approval of it,
    and withdraws the referral for 15 May (the old reading, kept)."""
    rp = run(*major_planned(), ext_request(MAJOR, "2026-04-01 10:00", "2026-05-15"),
             ext_decision(MAJOR, "2026-04-03 10:00", "2026-05-15"), until="2026-05-17 00:00")
    go_on(rp, ext_decision(MAJOR, "2026-05-20 10:00", "2026-07-31"),
          ext_request(MAJOR, "2026-05-25 10:00", "2026-08-31"), ext_decision(MAJOR, "2026-05-27 10:00"))
    assert withdrawn(rp) == []
    stored_by(rp, MAJOR, code)
    go_on(rp, ext_request(MAJOR, "2026-04-10 10:00", "2026-07-31"), now="2026-05-28 10:00")
    assert withdrawn(rp) == taken_back
    assert rp.states[MAJOR].deadline == end_of("2026-07-31")


def test_the_stored_keys_are_as_the_tree_of_2026_12_07_writes_them() -> None:
    """A state stored by today's code keeps its outcome under the same keys and values as before, so a
    worker of the tree before reads it back the same."""
    rp = run(*major_planned(), ext_request(MAJOR, "2026-04-01 10:00", "2026-07-31"),
             ext_decision(MAJOR, "2026-04-03 10:00", "2026-07-31"),
             ext_request(MAJOR, "2026-04-20 10:00", "2026-08-31"), ext_decision(MAJOR, "2026-04-22 10:00"))
    h = rp.states[MAJOR]
    kept = {k: v for k, v in h.arrived.items() if k.startswith("ext_")}
    assert kept == {"ext_approved": at("2026-04-03 10:00"), f"ext_refused:{at('2026-04-22 10:00')}":
                    at("2026-04-20 10:00")}
    assert h.ext_decided == at("2026-04-22 10:00")
