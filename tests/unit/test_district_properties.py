"""Properties of the cores wired as a worker wires them, over random histories of a few hazards.

The hazard histories of tests/unit/test_decide_properties.py (reports at one
enterprise, inspection findings at another) go through `DistrictReplay` with
the shipped rules and plan (rules/plan.yaml: coverage clocks, credit
thresholds): each hazard's decision links what changed to its enterprise's
file, which is decided in turn, with every subject's clocks fired as the
worker's timer fires them. From it:

- determinism: the same entries give the same outputs and the same states;
- one id, one output, across every kind of subject;
- every output is of a type the contract lists, on its topic, valid as its model;
- idempotence: an entry delivered again, right after itself or later, changes nothing,
  in the hazards and in the files their links reach.

A fifth holds the lawful floor of the credit list: once every record is in, no proposal left
standing counts a hazard claimed complete by its deadline, whichever claims came late.

What these do not hold: links of several hazards interleaved otherwise (as
links from different partitions can arrive) may date a credit proposal
otherwise, docs/enterprises.md, "Records out of time order".
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from datetime import datetime, timedelta, timezone
from datetime import time as dt_time
from typing import Any

import pytest
from decide_fixtures import INSPECTORS, REPO, RULES, at, complete, end_of, event, report, review, ts, verify
from hypothesis import given
from hypothesis import strategies as st
from test_alerts import ALERT_RULES
from test_decide_properties import (
    END,
    OTHER_RULES,
    PROPERTY,
    described,
    histories,
    settled_late,
    violation,
    with_redeliveries,
    withdraws_only_what_was_sent,
)

from engine.decide import proposals
from engine.enterprise.replay import DistrictReplay
from engine.intake.timeline import INSPECTED_TYPE
from engine.kernel.apply import entry_time
from engine.kernel.referral import WITHDRAWN
from engine.kernel.time import epoch, iso
from engine.plan.rules import optional_plan
from engine.zh.words import Words

PLAN = optional_plan(REPO / "rules", RULES.reference)


def advance(rp: DistrictReplay, t: int) -> None:
    """Fire every clock of every subject due at or before `t`, earliest first, as the timer does."""
    while True:
        due = min(((state.next_due(), kind, subject) for kind, table in rp.states.items()
                   for subject, state in table.items() if state.next_due() is not None), default=None)
        if due is None or due[0] > t:
            return
        rp.feed(rp.cores[due[1]].clock_entry(due[2], due[0]))


def run(arrivals: list[dict[str, Any]]) -> DistrictReplay:
    """Feed the entries in arrival order, the timer running up to the second before each (a clock
    due at an entry's very second fires after it), then to END."""
    rp = DistrictReplay.of(RULES, ALERT_RULES, PLAN)
    for entry in arrivals:
        advance(rp, entry_time(entry) - 1)
        rp.feed(entry)
    advance(rp, END)
    return rp


def canonical(rp: DistrictReplay) -> dict[str, dict[str, Any]]:
    """Every subject's state without what depends on delivery (which entries, up to when)."""
    out: dict[str, dict[str, Any]] = {}
    for kind, table in rp.states.items():
        for subject, state in table.items():
            doc = state.doc()
            for name in ("applied", "applied_from", "watermark"):
                doc.pop(name, None)
            if "history" in doc:
                doc["history"] = sorted(map(repr, doc["history"]))
            out[f"{kind}:{subject}"] = doc
    return out


@PROPERTY
@given(histories())
def test_the_same_entries_give_the_same_outputs_and_states(entries: list[dict[str, Any]]) -> None:
    a, b = run(entries), run(entries)
    assert [(o.topic, o.key, o.event) for o in a.outputs] == [(o.topic, o.key, o.event) for o in b.outputs]
    assert canonical(a) == canonical(b)


@PROPERTY
@given(histories())
def test_outputs_that_share_an_id_are_the_same_output_and_the_contract_describes_each(
        entries: list[dict[str, Any]]) -> None:
    by_id: dict[str, tuple[str, dict[str, Any]]] = {}
    for out in run(entries).outputs:
        assert by_id.setdefault(out.id, (out.topic, out.event)) == (out.topic, out.event), out.id
        described(out)


@PROPERTY
@given(with_redeliveries())
def test_redelivered_entries_change_nothing(case: tuple[list, list]) -> None:
    entries, arrivals = case
    once, again = run(entries), run([entry for _, entry in arrivals])
    assert sorted(o.id for o in again.outputs) == sorted(o.id for o in once.outputs)
    assert canonical(again) == canonical(once)


@PROPERTY
@given(settled_late())
def test_an_enterprises_file_ends_showing_its_hazards_and_proposals_as_they_stand(
        case: tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]) -> None:
    """Whichever records came late, once every record is in, each enterprise's file shows what its
    hazards' own states and outputs say: the open hazards, each with its status, grade, deadline,
    tier and listing as the hazard has them, and the enforcement proposals sent and not withdrawn
    (a fine withdrawn since must not stay on the enterprise's page), each where it stands."""
    _, arrivals = case
    rp = DistrictReplay.of(RULES, ALERT_RULES, PLAN)
    for came, entry in arrivals:
        advance(rp, came - 1)
        rp.feed(entry)
    advance(rp, END)
    withdraws_only_what_was_sent(rp.outputs)
    events = [o.event for o in rp.outputs]
    withdrawn = {e["data"]["proposal_id"] for e in events if e["type"] == "safety.enforcement.withdrawn"}
    standing: dict[str, set[str]] = {}
    for e in events:
        if e["type"] == "safety.enforcement.proposed" and e["data"]["proposal_id"] not in withdrawn:
            standing.setdefault(e["data"]["enterprise"]["uscc"], set()).add(e["data"]["proposal_id"])
    hazards = rp.states["hazard"]
    stands = {p["proposal_id"]: p["status"] for h in hazards.values() for p in proposals.standing(h)}
    for uscc, f in rp.states.get("enterprise", {}).items():
        assert {p[1] for p in f.proposals} == standing.get(uscc, set()), uscc
        # Each as its hazard says it stands: awaiting its review or decision, overdue, answered...
        assert {p[1]: f.proposal_states.get(p[1]) for p in f.proposals} == {
            p[1]: stands[p[1]] for p in f.proposals}, uscc
        mine = {hid: h for hid, h in hazards.items() if h.enterprise and h.enterprise[0] == uscc
                and h.opened is not None}
        assert set(f.hazards) == {hid for hid, h in mine.items() if h.is_open()}, uscc
        for hid, row in f.hazards.items():
            h = mine[hid]
            assert row[:3] == [h.status(), h.grade or h.claimed, h.deadline], (hid, row)
            assert (row[4], row[7]) == (h.tier, bool(h.listed and h.listed[3])), (hid, row)


@st.composite
def claims_late_or_not(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, int | None], set[str]]:
    """Major hazards at one enterprise, each claimed complete (or passed by a review on a return
    visit, or found unfounded) before its deadline, after it or not at all; each such record in
    time order or after everything else (an app offline), with the arrival it says. Returns the
    arrivals, each hazard's time of that record (None: none) and the hazards found unfounded."""
    entries, late, claimed, unfounded = [], [], {}, set()
    for i in range(draw(st.integers(2, 4))):
        hid, day = f"HZ-{i + 1}", draw(st.integers(1, 20))
        reported = at(f"2026-11-{day:02d} 09:00")
        due = draw(st.integers(2, 8))
        deadline = end_of(iso(reported + due * 86_400)[:10])
        entries += [report(hid, iso(reported), grade="major", rectify_by=iso(deadline)[:10]),
                    verify(hid, iso(reported + 3600), grade="major")]
        when = draw(st.sampled_from([None, "before", "after"]))
        claimed[hid] = None if when is None else deadline + (-7200 if when == "before" else 86_400)
        if claimed[hid] is not None:
            how = draw(st.sampled_from(["claim", "claim", "passed", "unfounded"]))
            claim = (complete(hid, iso(claimed[hid])) if how == "claim" else
                     review(hid, iso(claimed[hid]), "passed") if how == "passed" else
                     verify(hid, iso(claimed[hid]), verdict="unfounded", grade=None))
            if how == "unfounded":
                unfounded.add(hid)
            (late if draw(st.booleans()) else entries).append(claim)
    entries.sort(key=entry_time)
    return entries + [{**c, "arrived_at": ts("2026-12-20 10:00")} for c in late], claimed, unfounded


@PROPERTY
@given(claims_late_or_not())
def test_no_credit_proposal_left_standing_counts_a_hazard_claimed_complete_by_its_deadline(
        case: tuple[list[dict[str, Any]], dict[str, int | None], set[str]]) -> None:
    """Whichever claims (or passed reviews, or unfounded verdicts) come late, once every record is
    in, each proposal for the credit list not withdrawn counts only hazards claimed (or passed)
    after their deadline or never, and none found unfounded (a wrong listing is worse than none);
    and a proposal is withdrawn only when such a record came late, or a verdict of unfounded after
    the deadline."""
    arrivals, claimed, unfounded = case
    rp = run(arrivals)
    sent = {o.event["data"]["proposal_id"]: o.event["data"] for o in rp.outputs
            if o.event["type"] == "safety.credit.proposed"}
    withdrawn = {o.event["data"]["proposal_id"] for o in rp.outputs
                 if o.event["type"] == "safety.credit.withdrawn"}
    assert withdrawn <= sent.keys()
    for pid in sent.keys() - withdrawn:
        for counted in sent[pid]["evidence"]:
            claim = claimed[counted["hazard_id"]]
            assert counted["hazard_id"] not in unfounded, (pid, counted)
            assert claim is None or claim > epoch(counted["overdue_since"]), (pid, counted, claim)
    if not any("arrived_at" in entry for entry in arrivals) and not unfounded:
        assert withdrawn == set()


@st.composite
def stop_orders_lifted(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[int], int | None]:
    """A major hazard, an order to stop on it, violations found before it was made, or before or
    after its lifting (or no lifting), the enforcement records arriving in any order. Returns the
    arrivals, the violations' times and the lifting's (None: not lifted)."""
    hid = "HZ-LIFT"
    opened = [report(hid, "2026-11-02 09:00", grade="major", rectify_by="2027-06-30"),
              verify(hid, "2026-11-02 10:00", grade="major")]
    [ordered] = event("safety.enforcement.ordered", "2026-11-02 16:00", {
        "hazard_id": hid, "order_no": "ORD-1",
        "order": draw(st.sampled_from(["suspend", "suspend_for_overhaul"])),
        "legal_basis": "安全生产法 art. 65", "by": INSPECTORS}, hid)
    lifted = draw(st.sampled_from([None, at("2026-11-05 10:00")]))
    days = [at("2026-11-02 12:00")] + [at(f"2026-11-{day} 10:00") for day in ("04", "05", "06", "08")]
    found = draw(st.lists(st.sampled_from(days), min_size=1, max_size=3, unique=True))
    records = [ordered] + [violation(hid, t, t) for t in found]
    if lifted is not None:
        records += event("safety.enforcement.lifted", iso(lifted), {"hazard_id": hid, "order_no": "ORD-1",
                                                                   "by": INSPECTORS[0]}, hid)
    arrivals = draw(st.permutations(records))
    return [registered_at(), *opened, *arrivals], found, lifted


def registered_at() -> dict[str, Any]:
    from test_enterprise import registered  # a test module's helper: imported where it is needed
    return registered()


@PROPERTY
@given(stop_orders_lifted())
def test_what_a_violation_causes_stands_only_if_the_order_was_in_force_whatever_the_order_of_records(
        case: tuple[list[dict[str, Any]], list[int], int | None]) -> None:
    """Once every record is in, a transfer to the public security bureau and an art. 70 utility
    stop stand (sent, not withdrawn) once if a violation was found while the order was in force
    and not at all otherwise; a credit proposal stands for each such violation and no other."""
    arrivals, found, lifted = case
    rp = DistrictReplay.of(RULES, ALERT_RULES, PLAN)
    for entry in arrivals:
        rp.feed(entry)
    in_force = [t for t in found if at("2026-11-02 16:00") <= t and (lifted is None or t < lifted)]

    def standing(kind: str, name: str, measure: str | None = None) -> list[dict[str, Any]]:
        sent = [o.event["data"] for o in rp.outputs if o.event["type"] == kind
                and (measure is None or o.event["data"].get("measure") == measure)]
        taken = {o.event["data"][name] for o in rp.outputs if o.event["type"] == WITHDRAWN[kind][0]}
        return [d for d in sent if d[name] not in taken]

    assert len(standing("safety.referral.judicial", "referral_id")) == (1 if in_force else 0)
    assert len(standing("safety.enforcement.proposed", "proposal_id", "utility_stop_notice")) == (
        1 if in_force else 0)
    credit = standing("safety.credit.proposed", "proposal_id")
    assert sorted(epoch(d["proposed_at"]) for d in credit) == sorted(in_force)


CLASSES = ["red", "orange", "yellow", "blue"]
DAY = 86_400
COVERED = at("2026-11-01 10:00")  # when the enterprise of `key_enterprise_records` is classified key


@st.composite
def key_enterprise_records(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A key enterprise classified on 1 Nov and inspected on 2 Nov, then, on days drawn over seven
    months, inspected or classified again (any class, now and then no longer a key one), and
    perhaps closed and registered again later, up to three times. Each record comes in time order or reaches
    the engine late (an app offline), on a drawn later day, with the arrival it says. Returns the
    records in time order and as they arrived."""
    from test_enterprise import SUPERVISOR, USCC, _inspected_at, classified, event, registered

    first = iso(COVERED + DAY)
    risk = draw(st.sampled_from(CLASSES))
    # Now and then registered only after it was classified: nothing is owed before (coverage.walk).
    on_register = draw(st.sampled_from([None, None, None, 0.5, 20.5, 45.5]))
    head = [*([registered()] if on_register is None else []), classified(risk, True, "2026-11-01 10:00"),
            _inspected_at(first, first, "INS-0")]
    days = sorted(draw(st.lists(st.integers(2, 210), min_size=1, max_size=5, unique=True)))
    records = []
    for day in days:
        when = iso(COVERED + day * DAY)
        if draw(st.integers(0, 2)) == 0:
            key = draw(st.integers(0, 5)) > 0
            records.append(classified(draw(st.sampled_from(CLASSES)), key, when, time=when))
        else:
            records.append(_inspected_at(when, when, f"INS-{day}"))
    if on_register is not None:
        at_ = bisect.bisect(days, on_register)
        days.insert(at_, on_register)
        records.insert(at_, registered(time=iso(COVERED + on_register * DAY)))
    spells = draw(st.sampled_from([0, 0, 0, 0, 0, 1, 1, 2, 3]))
    # Closed on a day among them and registered again on a later one, as many times as `spells`.
    ends = sorted(day + 0.5 for day in draw(  # half days: apart from every other record
        st.lists(st.integers(3, 209), min_size=2 * spells, max_size=2 * spells, unique=True)))
    for closed, back in zip(ends[::2], ends[1::2], strict=True):
        [closing] = event("safety.enterprise.closed", iso(COVERED + closed * DAY),
                          {"uscc": USCC, "reason": "suspended", "by": SUPERVISOR}, USCC)
        for day, record in ((closed, closing), (back, registered(time=iso(COVERED + back * DAY)))):
            at_ = bisect.bisect(days, day)
            days.insert(at_, day)
            records.insert(at_, record)
    arrivals = []  # (arrival day, place in time order, record)
    for i, (day, record) in enumerate(zip(days, records, strict=True)):
        late = draw(st.sampled_from([0, 0, 3, 20, 60, 240]))
        came = min(day + late, 240) if late else day
        arrived = {**record, "arrived_at": iso(COVERED + came * DAY)} if late else record
        arrivals.append((came, i, arrived))
    in_time = sorted([*head, *records], key=lambda r: epoch(r["time"]))  # a registration after the head's
    return in_time, [*head, *(r for _, _, r in sorted(arrivals, key=lambda a: a[:2]))]


def _days(referrals: list[tuple[str, int, int]]) -> list[tuple[str, float, float]]:
    """Referrals as (department, cycle start, miss) in days from 1 Nov, to read a failing case by."""
    return [(dept, (start - COVERED) / DAY, (missed - COVERED) / DAY) for dept, start, missed in referrals]


def _story(arrivals: list[dict[str, Any]]) -> list[str]:
    """Records as they arrived, one line each, days from 1 Nov, to read a failing case by."""
    lines = []
    for r in arrivals:
        day = (epoch(r["time"]) - COVERED) / DAY
        arrival = epoch(r.get("arrived_at") or r["time"])
        came = f" (came day {(arrival - COVERED) / DAY:g})" if arrival > epoch(r["time"]) else ""
        d = r["data"]
        what = (f"classified {d['risk_class']}{' key' if d['key_enterprise'] else ' NOT key'}"
                if r["type"] == "safety.enterprise.classified" else r["type"].rsplit(".", 1)[1])
        lines.append(f"day {day:g}: {what}{came}")
    return lines


def _standing_referrals(arrivals: list[dict[str, Any]]) -> tuple[list[tuple[str, int, int]], list[Any]]:
    """The discipline referrals left standing once `arrivals` are in, each (department, when the cycle
    started, when it was missed), the clocks run as the timer runs them up to each arrival; and
    every output."""
    rp = DistrictReplay.of(RULES, ALERT_RULES, PLAN)
    for entry in arrivals:
        advance(rp, max(entry_time(entry), epoch(entry.get("arrived_at") or entry["time"])) - 1)
        rp.feed(entry)
    advance(rp, COVERED + 400 * DAY)
    withdraws_only_what_was_sent(rp.outputs)
    sent = [o.event["data"] for o in rp.outputs if o.event["type"] == "safety.referral.discipline"]
    taken = {o.event["data"]["referral_id"] for o in rp.outputs
             if o.event["type"] == "safety.referral.withdrawn"}
    return sorted((d["subject_id"], epoch(d["timeline"][0]["time"]), epoch(d["timeline"][-1]["time"]))
                  for d in sent if d["referral_id"] not in taken), rp.outputs


@PROPERTY
@given(key_enterprise_records())
def test_a_referral_for_a_missed_cycle_stands_only_where_time_order_missed_one(
        case: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    """Whichever inspections and classifications come late, once every record is in, referrals for
    missed cycles stand for the very cycles time order missed, of the same departments (a wrong
    referral is worse than none, and a lost one is a duty failure unreferred), none dated sooner
    than time order has the miss (a class recorded late that shortened a cycle leaves the miss
    dated as it was sent: `coverage.reconcile`); every output, a cycle's run again too, has an id
    of its own."""
    in_order, arrivals = case
    want, outputs_then = _standing_referrals(in_order)
    got, outputs = _standing_referrals(arrivals)
    told = "\n".join([f"got {_days(got)}", f"want {_days(want)}", *_story(arrivals)])
    # The town safety office's notice of each cycle time order missed stands: the last word to it on
    # that cycle is a notice, not its withdrawal. (A notice of a cycle inspected since, within the
    # grace days, is not raised late: the office would chase an inspection already done.) And no
    # notice stands of a cycle time order never told it of.
    notices, notices_then = _standing_notices(outputs), _standing_notices(outputs_then)
    assert all(start in notices for _, start, _ in want), told
    assert notices.keys() <= notices_then.keys(), "\n".join(
        [f"notices {sorted((n - COVERED) / DAY for n in notices)}, in time order "
         f"{sorted((n - COVERED) / DAY for n in notices_then)}", told])
    # A notice dated before time order tells the office went under the class time order tells it
    # under: one that went sooner under another (a longer class recorded late) is withdrawn and
    # told anew. One dated later, time order's sooner (a shorter class recorded late), stands as sent.
    ruled, ruled_then = _standing_notice_rules(outputs), _standing_notice_rules(outputs_then)
    for start, (at_, rule) in ruled.items():
        assert at_ >= ruled_then[start][0] or rule == ruled_then[start][1], "\n".join(
            [f"the notice of the cycle from day {(start - COVERED) / DAY:g} stands under {rule} of day "
             f"{(at_ - COVERED) / DAY:g}; time order told it under {ruled_then[start][1]} on day "
             f"{(ruled_then[start][0] - COVERED) / DAY:g}", told])
    for start, at_ in notices_then.items():
        assert _owed(in_order, "", start, at_, 0), "\n".join(
            [f"time order told the town of the cycle from day {(start - COVERED) / DAY:g} "
             f"on day {(at_ - COVERED) / DAY:g}", told])
    for referral in want:
        assert _owed(in_order, *referral), "\n".join([f"time order referred {_days([referral])}", told])
    for start in _surely_missed(in_order):  # nor does time order lose a referral plainly owed
        assert start in {s for _, s, _ in want}, "\n".join(
            [f"time order referred no miss of the cycle from day {(start - COVERED) / DAY:g}", told])
    assert len(got) == len(want), told
    for (dept, start, missed), (dept_then, start_then, missed_then) in zip(got, want, strict=True):
        assert (dept, start) == (dept_then, start_then) and missed >= missed_then, told
    ids = [o.id for o in outputs]
    twice = [(o.event["data"].get("action") or o.event["type"], o.event["time"]) for o in outputs
             if ids.count(o.id) > 1]
    assert len(ids) == len(set(ids)), "\n".join([f"an id sent twice: {twice}", told])


def _owed(records: list[dict[str, Any]], dept: str, start: int, missed: int,
          grace: int | None = None) -> bool:
    """Whether a miss of the cycle from `start` at `missed` could be owed at all, judged from the
    records alone, not as the engine reckons cycles: no inspection after the cycle's start up to the
    miss, and the enterprise open (registered, and neither closed nor yet to be registered again)
    and a key one throughout the grace days before it, which the lead department always has.
    With `grace` 0, whether the town safety office could be told at `missed` that the cycle ran
    out: no inspection since its start, and the enterprise open and a key one then."""
    grace = PLAN.coverage.grace_days * DAY if grace is None else grace
    open_, key, changes = False, False, []  # (time, open, key) after each record, in time order
    for r in sorted(records, key=lambda r: epoch(r["time"])):
        t, d = epoch(r["time"]), r["data"]
        if r["type"] == "safety.inspection.enterprise" and start < t <= missed:
            return False
        if r["type"] == "safety.enterprise.classified":
            t, key = epoch(d["decided_at"]), d["key_enterprise"]
        open_ = {"safety.enterprise.closed": False,
                 "safety.enterprise.registered": True}.get(r["type"], open_)
        changes.append((t, open_, key))
    changes.sort(key=lambda c: c[0])
    state = [(o, k) for t, o, k in changes if t <= missed - grace][-1:]
    during = [(o, k) for t, o, k in changes if missed - grace < t <= missed]
    return all(o and k for o, k in state + during)


_BEIJING = timezone(timedelta(hours=8))


def _surely_missed(records: list[dict[str, Any]]) -> list[int]:
    """The starts of cycles the records alone show missed, plainly: an inspection while the enterprise
    was registered, open and a key one of a class, then no record of any kind (no inspection, no
    decision, no closure or registration) for that class's days and the grace days after."""
    grace = PLAN.coverage.grace_days * DAY
    timed = sorted(records, key=lambda r: epoch(r["time"]))
    found = []
    open_, key, risk = False, False, None
    for i, r in enumerate(timed):
        t, d = epoch(r["time"]), r["data"]
        if r["type"] == "safety.enterprise.classified":
            key, risk = d["key_enterprise"], d["risk_class"]
        open_ = {"safety.enterprise.closed": False,
                 "safety.enterprise.registered": True}.get(r["type"], open_)
        if r["type"] == "safety.inspection.enterprise" and open_ and key and risk:
            # Days as the law counts a period (民法典 arts. 201, 203): the inspection's day not counted,
            # the last day ending at midnight, Beijing time.
            day = (datetime.fromtimestamp(t, _BEIJING) + timedelta(days=getattr(PLAN.coverage.days, risk))
                   + timedelta(seconds=grace)).date()
            end = int(datetime.combine(day, dt_time(23, 59, 59), _BEIJING).timestamp())
            if all(epoch(x["time"]) > end for x in timed[i + 1:]):
                found.append(t)
    return found


def _standing_notices(outputs: list[Any]) -> dict[int, int]:
    """The cycles whose town safety office's notice stands (the last word to it on each a notice),
    each with when it was told."""
    return {start: told for start, (told, _) in _standing_notice_rules(outputs).items()}


def _standing_notice_rules(outputs: list[Any]) -> dict[int, tuple[int, str]]:
    """`_standing_notices`, each with the rule it went under (`coverage.<class>`)."""
    last: dict[int, tuple[str, int, str]] = {}
    for o in outputs:
        if o.event["data"].get("action") in ("coverage_missed", "notice_withdrawn"):
            data = o.event["data"]
            last[_cycle_of(o)] = (data["action"], epoch(o.event["time"]), data["rule_id"])
    return {start: (told, rule) for start, (said, told, rule) in last.items() if said == "coverage_missed"}


def _cycle_of(out: Any) -> int:
    """The start of the cycle a coverage notice, or its withdrawal, names (its reason: "... days of T")."""
    return epoch(re.search(r" days of (\S+?)( is withdrawn|$)", out.event["data"]["reason"])[1])


def _on(day: float, record: dict[str, Any], came: float | None = None) -> dict[str, Any]:
    return record if came is None else {**record, "arrived_at": iso(COVERED + came * DAY)}


def _story_records(risk: str, story: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Records of `key_enterprise_records`' enterprise, classified `risk` on 1 Nov and inspected on
    2 Nov, then from (day, "inspected") or (day, class, key), each with the day it came, if late."""
    from test_enterprise import SUPERVISOR, USCC, _inspected_at, classified, event, registered

    first = iso(COVERED + DAY)
    records = [registered(), classified(risk, True, "2026-11-01 10:00"), _inspected_at(first, first, "INS-0")]
    for day, what, *rest in story:
        when = iso(COVERED + day * DAY)
        if what == "inspected":
            record = _inspected_at(when, when, f"INS-{day}")
        elif what == "closed":
            [record] = event("safety.enterprise.closed", when, {"uscc": USCC, "reason": "suspended",
                                                                "by": SUPERVISOR}, USCC)
        elif what == "registered":
            record = registered(time=when)
        else:
            record = classified(what, rest[0], when, time=when)
        records.append(_on(day, record, rest[-1] if rest and not isinstance(rest[-1], bool) else None))
    return records


@pytest.mark.parametrize(("risk", "story"), [
    # A cycle raised late, withdrawn by a later record, then raised again by a third: each run sent
    # under ids of its own, though the second run was withdrawn and nothing of it is on file.
    ("yellow", [(3, "inspected"), (102, "inspected"), (94, "red", True, 114), (95, "inspected", 115),
                (2, "red", True, 240)]),
    # A miss raised while the enterprise was no longer a key one; key again later, its clock does
    # not fire the same cycle again.
    ("red", [(40, "red", False), (2, "inspected", 62), (41, "red", True, 101)]),
    # Closed while the cycle ran and registered again: nothing was owed while closed; a decision
    # that it was no longer key came before the miss the reopening would have brought.
    ("red", [(3.5, "closed"), (32.5, "registered"), (39, "red", False, 42)]),
    # The miss a late class brings is raised once, though the late registration again comes after.
    ("red", [(68.5, "closed"), (2, "orange", True, 240), (69.5, "registered", 240)]),
    # A closure recorded late moves the miss its cycle had: the one sent too soon is withdrawn.
    ("red", [(2, "inspected"), (32.5, "registered"), (3.5, "closed", 63.5)]),
    # Closed twice: the first spell still counts once the second is on file (the miss comes 7 days
    # after the second return, not on day 39), whether its return comes in time or late.
    ("red", [(3.5, "closed"), (32.5, "registered"), (39.5, "closed"), (40.5, "registered")]),
    ("red", [(3.5, "closed"), (39.5, "closed"), (40.5, "registered"), (32.5, "registered", 60)]),
    # The notice of a cycle no longer running is withdrawn when a late record shows time order never
    # gave it: a closure before it ran out (the inspection on day 32 came while closed) ...
    ("red", [(32, "inspected"), (32.5, "registered"), (3.5, "closed", 63.5)]),
    # ... or an inspection before it ran out, coming after a decision that it was no longer key.
    ("red", [(2, "yellow", True), (92, "red", False, 112), (53, "inspected", 113), (113, "inspected")]),
    # ... or an inspection on day 32, come late, after a closure come late had moved the notice time
    # order gives from day 31 (when it went) to the return on day 32.5: the inspection, dated after
    # the notice went but before time order gives it, withdraws it, in its own words (found by a
    # property: a later record withdrew it, in words no Chinese shape read).
    ("red", [(3.5, "closed"), (4.5, "registered"), (32.5, "registered"), (38.5, "closed"),
             (5.5, "closed", 65.5), (32, "inspected", 92), (39.5, "registered", 99.5)]),
])
def test_late_records_in_these_orders_leave_time_orders_referrals(risk: str,
                                                                   story: list[tuple[Any, ...]]) -> None:
    _leaves_time_orders_referrals(_story_records(risk, story))


def _unread_file_lines(rp: DistrictReplay) -> list[str]:
    zh = Words("zh", RULES.reference)
    return [what for f in rp.states.get("enterprise", {}).values() for _, _, what, _ in f.recent
            if "what_zh" not in zh.timeline_item(0, "", what)]


@given(histories())
def test_every_line_a_file_records_of_its_hazards_and_proposals_reads_in_chinese(
        entries: list[dict[str, Any]]) -> None:
    """The Chinese board and `GET /enterprises/{uscc}` say each step of an enterprise's file in
    Chinese (`what_zh`): its inspections, hazards, enforcement and credit proposals and their
    withdrawals. A line added to the enterprise core without its shape fails here."""
    assert _unread_file_lines(run(entries)) == []


@given(key_enterprise_records())
def test_every_line_a_key_enterprises_file_records_reads_in_chinese(
        case: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    """The same for a key enterprise's registrations, classifications, closures, inspections, and
    the notices and failures of its cycles that late records withdraw."""
    assert _unread_file_lines(run(case[1])) == []


def test_a_late_inspection_withdraws_the_notice_a_late_closure_moved_past_it() -> None:
    """The town safety office was told on day 31 that the cycle from day 1 ran out. A closure from
    day 5.5 to day 32.5, recorded late, moves the notice time order gives to the return (day
    32.5), so the notice stands. The inspection of day 32, recorded later still, came before the
    notice in time order: it withdraws the notice, when it comes and in its own words. (It was
    withdrawn only at the next record, a registration recorded late, in that one's words.)"""
    story = [(3.5, "closed"), (4.5, "registered"), (32.5, "registered"), (38.5, "closed"),
             (5.5, "closed", 65.5), (32, "inspected", 92), (39.5, "registered", 99.5)]
    _, outputs = _standing_referrals(_story_records("red", story))
    [withdrawn] = [o.event for o in outputs if o.event["data"].get("action") == "notice_withdrawn"]
    assert withdrawn["time"] == iso(COVERED + 92 * DAY)
    inspection = withdrawn["data"]["caused_by"][0]
    assert withdrawn["data"]["reason"].endswith(
        f"inspection {inspection} of {iso(COVERED + 32 * DAY)}, in time, reached the engine after it")


@pytest.mark.parametrize("story", [
    # Closed and back before its first registration (no step before that), then inspected on day 21:
    # the spell inside the time before the registration left the class it was to run under unknown,
    # and no cycle ran after (found by `_surely_missed`).
    [(3.5, "closed"), (4.5, "registered"), (20.5, "registered"), (21, "inspected")],
    # Closed in the very second of its first registration: still closed, so the town safety office
    # is told when it is back (day 31.5), not on day 31 (the registration's end of the time before
    # it came after the closure in the same second, and reopened it).
    [(2, "red", True), (20.5, "registered"), (20.5, "closed"), (31.5, "registered")],
])
def test_an_enterprise_classified_before_its_first_registration_in_these_orders(
        story: list[tuple[Any, ...]]) -> None:
    records = _story_records("red", story)
    _leaves_time_orders_referrals([r for r in records if r["type"] != "safety.enterprise.registered"
                                   or r["time"] != registered_at()["time"]])


def _leaves_time_orders_referrals(arrivals: list[dict[str, Any]]) -> None:
    """Once `arrivals` are in, the referrals of time order stand, each owed by the records alone, no
    cycle plainly missed is left unreferred, and no notice stands that time order never gave."""
    in_order = sorted(arrivals, key=lambda r: epoch(r["time"]))
    in_order = [{k: v for k, v in r.items() if k != "arrived_at"} | {"arrived_at": r["time"]}
                for r in in_order]
    want, outputs_then = _standing_referrals(in_order)
    got, outputs = _standing_referrals(arrivals)
    assert got == want
    for out in outputs:  # each in the contract's words, Chinese too
        described(out)
    assert all(_owed(in_order, *referral) for referral in want)
    assert set(_surely_missed(in_order)) <= {start for _, start, _ in want}
    assert _standing_notices(outputs).keys() <= _standing_notices(outputs_then).keys()
    assert all(_owed(in_order, "", start, told, 0) for start, told in _standing_notices(outputs_then).items())
    ids = [o.id for o in outputs]
    assert len(ids) == len(set(ids))


# Plans a district may set otherwise (rules/plan.yaml): none at all (no coverage clocks, no credit
# proposals), a credit proposal at the first occurrence, no grace before the lead department, and
# every key enterprise inspected each week.
_PLANS = [None] if PLAN is None else [
    None, PLAN,
    dataclasses.replace(PLAN, credit=PLAN.credit.model_copy(update={
        "overdue_major": PLAN.credit.overdue_major.model_copy(update={"count": 1}),
        "refused_inspection": PLAN.credit.refused_inspection.model_copy(update={"count": 1})})),
    dataclasses.replace(PLAN, coverage=PLAN.coverage.model_copy(update={
        "grace_days": 0, "days": PLAN.coverage.days.model_copy(update={
            "red": 7, "orange": 7, "yellow": 7, "blue": 7})}))]


@PROPERTY
@given(st.sampled_from(OTHER_RULES), st.sampled_from(_PLANS), settled_late())
def test_under_any_rules_and_plan_a_district_sets_no_decision_fails(
        rules: Any, plan: Any, case: tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]) -> None:
    """Hazards at enterprises whose records arrive late, their links deciding the enterprises'
    files, under rules and a plan other than the shipped ones: no decision fails, the same arrivals
    decide the same, and every output is one the contract describes."""
    _, arrivals = case
    runs = []
    for _ in range(2):
        rp = DistrictReplay.of(rules, ALERT_RULES, plan)
        for came, entry in arrivals:
            advance(rp, came - 1)
            rp.feed(entry)
        advance(rp, END)
        runs.append(rp)
    assert [o.event for o in runs[0].outputs] == [o.event for o in runs[1].outputs]
    for out in runs[0].outputs:
        described(out)
    withdraws_only_what_was_sent(runs[0].outputs)


@PROPERTY
@given(st.sampled_from(_PLANS[1:] or [None]), key_enterprise_records())
def test_a_key_enterprises_records_under_any_plan_a_district_sets_fail_no_decision(
        plan: Any, case: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    """A key enterprise's classifications, inspections, closures and registrations, late or not,
    under other plans: no decision fails, and every output is one the contract describes."""
    _, arrivals = case
    rp = DistrictReplay.of(RULES, ALERT_RULES, plan)
    for entry in arrivals:
        advance(rp, max(entry_time(entry), epoch(entry.get("arrived_at") or entry["time"])) - 1)
        rp.feed(entry)
    advance(rp, COVERED + 400 * DAY)
    for out in rp.outputs:
        described(out)
    withdraws_only_what_was_sent(rp.outputs)


@st.composite
def with_copies(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A key enterprise's records as they arrived (`key_enterprise_records`), and the same with some
    of them (registrations, classifications, inspections, closures) sent again under fresh event ids
    (an app retrying), each copy reaching the engine with its first or up to a month after it."""
    from test_enterprise import _inspected_at

    _, arrivals = draw(key_enterprise_records())
    came = [max(entry_time(r), epoch(r.get("arrived_at") or r["time"])) for r in arrivals]
    copied = list(arrivals)
    for i, r in enumerate(arrivals):
        if not draw(st.integers(0, 2)) == 0:
            continue
        for _ in range(draw(st.integers(1, 3))):
            when = came[i] + draw(st.sampled_from([0, 1, 3, 30])) * DAY
            if r["type"] == INSPECTED_TYPE:
                copy = _inspected_at(r["time"], iso(when), r["data"]["inspection_id"])
            else:  # through the intake, as its first came
                [copy] = event(r["type"], r["time"], r["data"], r["subject"])
                copy["arrived_at"] = iso(when)
            # After its first, and after every record that reached the engine before it.
            j = copied.index(r) + 1
            while j < len(copied) and max(entry_time(copied[j]),
                                          epoch(copied[j].get("arrived_at") or copied[j]["time"])) <= when:
                j += 1
            copied.insert(j, copy)
    return arrivals, copied


@PROPERTY
@given(with_copies())
def test_a_record_sent_again_changes_no_output_and_nothing_the_file_decides_by(
        case: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    """However often a key enterprise's records are sent again under fresh event ids, and whenever
    the copies come, the outputs are those of the records sent once (the same ids, the same
    events), and the file ends the same but for the lines its record adds of the copies."""
    arrivals, copied = case
    runs = []
    for entries in (arrivals, copied):
        rp = DistrictReplay.of(RULES, ALERT_RULES, PLAN)
        for entry in entries:
            advance(rp, max(entry_time(entry), epoch(entry.get("arrived_at") or entry["time"])) - 1)
            rp.feed(entry)
        advance(rp, COVERED + 400 * DAY)
        runs.append(rp)
    sent = [sorted((o.id, repr(o.event)) for o in rp.outputs) for rp in runs]
    assert sent[1] == sent[0], _story(copied)
    files = [{k: v for k, v in canonical(rp).items() if k.startswith("enterprise:")} for rp in runs]
    for doc in (*files[0].values(), *files[1].values()):
        doc.pop("recent")
        doc.pop("registered")  # the event id of the registration that holds: a copy's, when it came last
    assert files[0] == files[1], _story(copied)
