"""An enforcement proposal's due time is watched until a record answers it (engine/decide/proposals.py).

The ladder proposes a fine seven days past the deadline (decision due in 5
working days) and an overhaul (停产停业整顿) seven days later, which waits for
legal review (法制审核, due in 5 working days). When nothing on record answers a
proposal by then, the lead department and the supervising body are told
(`proposal_overdue`); a record made in time that reaches the engine later takes
that back, and so does the proposal's own withdrawal.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from decide_fixtures import (
    INSPECTORS,
    RULES,
    at,
    complete,
    edited_rules,
    events,
    iso_end,
    progress,
    report,
    review,
    run,
    target_ids,
    verify,
)
from decide_fixtures import event as timeline_event
from test_decide import general_confirmed
from test_enforcement_records import ORDER, major, ordered, violated
from test_late_arrival import arriving, feed

from engine.decide.core import decide
from engine.decide.replay import Replay
from engine.decide.state import Hazard
from engine.feeds.views import hazard_view
from engine.kernel.time import epoch
from engine.ruleset import load_rules
from engine.store import pack, unpack
from engine.zh.words import Words

HZ = "HZ-1"  # test_decide's general hazard: confirmed 3 November 2026, due the end of the 10th
RULE = "enforcement.proposal_due"
TOLD = [("department", "fire_rescue"), ("department", "safety_bureau")]
OFFICE = {"id": "lo-002", "role": "supervisor", "name": "Sun Hui"}


def penalized(time: str, hid: str = HZ, decision_no: str = "消行罚决字〔2026〕31号") -> dict[str, Any]:
    [entry] = timeline_event("safety.enforcement.penalized", time, {
        "hazard_id": hid, "decision_no": decision_no, "fine_cny": 20000,
        "legal_basis": "安全生产法 (2021) art. 102", "by": INSPECTORS[0]}, hid)
    return entry


def legal_reviewed(time: str, proposal_id: str, hid: str = HZ, outcome: str = "approved") -> dict[str, Any]:
    [entry] = timeline_event("safety.enforcement.legal_reviewed", time, {
        "hazard_id": hid, "proposal_id": proposal_id, "outcome": outcome, "by": OFFICE}, hid)
    return entry


def proposal(rp: Replay, measure: str, hid: str = HZ) -> dict[str, Any]:
    [sent] = events(rp, "safety.enforcement.proposed", measure=measure, hazard_id=hid)
    return sent


def overdue(rp: Replay, hid: str = HZ) -> list[dict[str, Any]]:
    return events(rp, "safety.escalation.raised", rule_id=RULE, action="proposal_overdue", subject_id=hid)


def taken_back(rp: Replay, hid: str = HZ) -> list[dict[str, Any]]:
    return events(rp, "safety.escalation.raised", rule_id=RULE, action="failure_withdrawn", subject_id=hid)


def test_a_fine_nobody_decides_by_its_due_time_is_escalated_once() -> None:
    rp = run(*general_confirmed(), until="2026-11-24 12:00")
    fine = proposal(rp, "fine")
    assert rp.states[HZ].clocks["proposal"] == at("2026-11-24 23:59:59") == epoch(fine["data"]["due_at"])
    rp.advance_to(at("2026-12-31 00:00"))
    [told, _] = overdue(rp)  # the fine's, then the overhaul's legal review (its own test below)
    d = told["data"]
    assert told["time"] == d["due_at"] == iso_end("2026-11-24")
    assert target_ids(d) == TOLD and d["tier"] == "orange" and d["caused_by"]
    assert d["reason"] == (f"Enforcement proposal {fine['id']} (fine) against 91371500MA3C4XK2N2, made "
                           f"{iso_end('2026-11-17')}, has no decision on record by {iso_end('2026-11-24')}")
    assert d["reason_zh"].startswith(f"{iso_end('2026-11-17')} 对 91371500MA3C4XK2N2 提出的执法建议 "
                                     f"{fine['id']}")
    assert "未见执法决定记录" in d["reason_zh"]
    h = rp.states[HZ]
    assert [p[5] for p in h.proposals] == ["escalated", "escalated"]  # and the overhaul's review too
    assert "proposal" not in h.clocks
    assert [w for _, _, w in h.history if w.startswith(f"proposal {fine['id']}")] == [
        f"proposal {fine['id']} (fine): no decision on record by {iso_end('2026-11-24')}"]


def test_a_penalty_decision_by_the_due_time_or_before_the_first_proposal_answers_the_fine() -> None:
    for when in ("2026-11-24 18:00", "2026-11-15 10:00"):
        rp = run(*general_confirmed(), penalized(when), until="2026-11-26 00:00")
        assert overdue(rp) == [], when
        assert rp.states[HZ].clocks["proposal"] == at("2026-12-01 23:59:59")  # the overhaul's review


def test_a_penalty_decision_after_the_due_time_leaves_the_escalation_standing() -> None:
    rp = run(*general_confirmed(), penalized("2026-11-26 10:00"), until="2026-11-30 00:00")
    assert len(overdue(rp)) == 1 and taken_back(rp) == []


def test_the_overhaul_waits_for_its_legal_review_and_a_penalty_does_not_answer_it() -> None:
    rp = run(*general_confirmed(), penalized("2026-11-20 10:00"), until="2026-11-25 00:00")
    overhaul = proposal(rp, "suspend_for_overhaul")
    assert rp.states[HZ].clocks["proposal"] == at("2026-12-01 23:59:59")
    rp.advance_to(at("2026-12-03 00:00"))
    [told] = overdue(rp)
    assert told["data"]["due_at"] == iso_end("2026-12-01")
    assert f"({overhaul['data']['measure']})" in told["data"]["reason"]
    assert "has no legal review (法制审核) on record by" in told["data"]["reason"]


def test_a_legal_review_of_either_outcome_answers_only_its_own_proposal() -> None:
    rp = run(*general_confirmed(), penalized("2026-11-20 10:00"), until="2026-11-25 00:00")
    overhaul = proposal(rp, "suspend_for_overhaul")["id"]
    for outcome in ("approved", "returned"):
        rp = run(*general_confirmed(), penalized("2026-11-20 10:00"),
                 legal_reviewed("2026-11-30 10:00", overhaul, outcome=outcome), until="2026-12-10 00:00")
        assert overdue(rp) == [], outcome
    rp = run(*general_confirmed(), penalized("2026-11-20 10:00"),
             legal_reviewed("2026-11-30 10:00", "another-proposal"), until="2026-12-10 00:00")
    assert len(overdue(rp)) == 1


def test_a_review_made_in_time_and_recorded_late_takes_the_escalation_back() -> None:
    rp = run(*general_confirmed(), penalized("2026-11-20 10:00"), until="2026-11-25 00:00")
    overhaul = proposal(rp, "suspend_for_overhaul")["id"]
    entries = [arriving(e, epoch(e["time"])) for e in (*general_confirmed(), penalized("2026-11-20 10:00"))]
    late = arriving(legal_reviewed("2026-11-30 15:00", overhaul), "2026-12-03 09:00")
    rp = feed([*entries, late], until="2026-12-10 00:00")
    [told] = overdue(rp)
    [back] = taken_back(rp)
    assert back["time"] == "2026-12-03T09:00:00+08:00" and back["id"] != told["id"]
    assert back["data"]["targets"] == told["data"]["targets"]
    assert back["data"]["caused_by"] == [late["event_id"]]
    assert back["data"]["reason"] == (
        f"The escalation {RULE} of {HZ} is withdrawn: the legal review {late['event_id']} of "
        f"2026-11-30T15:00:00+08:00, by the due time {iso_end('2026-12-01')} of proposal {overhaul}, "
        "reached the engine after it")
    assert "送达引擎晚于督办" in back["data"]["reason_zh"]
    [p] = [p for p in rp.states[HZ].proposals if p[0] == overhaul]
    assert p[5] == "withdrawn" and "proposal" not in rp.states[HZ].clocks
    # A review made after the due time, late or not, takes nothing back.
    late = arriving(legal_reviewed("2026-12-02 15:00", overhaul), "2026-12-03 09:00")
    rp = feed([*entries, late], until="2026-12-10 00:00")
    assert len(overdue(rp)) == 1 and taken_back(rp) == []


def test_a_fine_decided_in_one_cycle_is_not_proposed_again_in_the_next() -> None:
    """一事不再罚 (行政处罚法 art. 29): a failed review starts the ladder again, and its red step still
    summons, but proposes no second fine for the same hazard; the overhaul step proposes 停产停业整顿."""
    rp = run(*general_confirmed(), penalized("2026-11-20 10:00"), complete(HZ, "2026-11-21 09:00"),
             review(HZ, "2026-11-23 10:00", "failed"), until="2027-01-10 00:00")
    [fine] = events(rp, "safety.enforcement.proposed", measure="fine")
    assert fine["data"]["rule_id"] == "ladder.red" and fine["time"] == iso_end("2026-11-17")
    summons = events(rp, "safety.escalation.raised", action="summon")
    assert [s["time"] for s in summons] == [iso_end("2026-11-17"), iso_end("2026-12-07")]
    [overhaul] = events(rp, "safety.enforcement.proposed", measure="suspend_for_overhaul")
    assert overhaul["time"] == iso_end("2026-12-14")
    assert [t for t in overdue(rp) if "(fine)" in t["data"]["reason"]] == []
    line = ("fine not proposed again: the penalty decision 消行罚决字〔2026〕31号 of "
            "2026-11-20T10:00:00+08:00 stands on this hazard (一事不再罚, 行政处罚法 art. 29)")
    [said] = [w for _, _, w in rp.states[HZ].history if w.startswith("fine not proposed")]
    assert said == line
    assert Words("zh", RULES.reference).record(line) == (
        "不再建议罚款：本隐患已有行政处罚决定 消行罚决字〔2026〕31号（2026-11-20T10:00:00+08:00）"
        "（一事不再罚，行政处罚法第二十九条）")


def test_a_fine_still_awaiting_its_decision_is_not_proposed_again_in_the_next_cycle() -> None:
    """The first cycle's fine, never decided, still asks for the decision: the next red step adds none."""
    rp = run(*general_confirmed(), complete(HZ, "2026-11-21 09:00"), review(HZ, "2026-11-23 10:00", "failed"),
             until="2027-01-10 00:00")
    [fine] = events(rp, "safety.enforcement.proposed", measure="fine")
    [said] = [w for _, _, w in rp.states[HZ].history if w.startswith("fine not proposed")]
    assert said == (f"fine not proposed again: the proposal {fine['id']} of {iso_end('2026-11-17')} "
                    "stands on this hazard")  # pending: no fine decided for art. 29 to speak of
    assert len([t for t in overdue(rp) if "(fine)" in t["data"]["reason"]]) == 1


def test_a_penalty_decided_before_the_red_step_leaves_no_fine_to_propose() -> None:
    """The department fined first: the ladder proposes no fine at all, and 停产停业整顿 at its own step.
    A failed review dated before the deadline, recorded a week late, runs the ladder again to the same
    red second: no fine then either."""
    entries = [arriving(e, epoch(e["time"])) for e in (*general_confirmed(),
                                                       penalized("2026-11-17 23:59"))]
    late = arriving(review(HZ, "2026-11-03 11:00", "failed"), "2026-11-18 06:00")
    rp = feed([*entries, late], until="2026-12-10 00:00")
    assert events(rp, "safety.enforcement.proposed", measure="fine") == []
    assert len(events(rp, "safety.escalation.raised", action="summon")) == 2
    assert [t for t in overdue(rp) if "(fine)" in t["data"]["reason"]] == []


def test_a_claim_recorded_late_withdraws_only_the_proposals_that_went() -> None:
    """A step that left out the fine (a penalty stood) restates, when a late claim takes it back, only
    the proposals it sent: a withdrawal names nothing that was never sent."""
    entries = [arriving(e, epoch(e["time"])) for e in (*general_confirmed(), penalized("2026-11-12 10:00"))]
    late = arriving(complete(HZ, "2026-11-16 10:00"), "2026-11-26 10:00")
    rp = feed([*entries, late], until="2026-12-10 00:00")
    assert events(rp, "safety.enforcement.proposed", measure="fine") == []
    overhaul = proposal(rp, "suspend_for_overhaul")
    assert [w["data"]["proposal_id"] for w in events(rp, "safety.enforcement.withdrawn")] == [overhaul["id"]]


def test_a_late_claim_that_withdraws_the_fine_withdraws_its_overdue_escalation_too() -> None:
    entries = [arriving(e, epoch(e["time"])) for e in general_confirmed()]
    late = arriving(complete(HZ, "2026-11-16 10:00"), "2026-11-26 10:00")
    rp = feed([*entries, late], until="2026-12-10 00:00")
    fine = proposal(rp, "fine")
    overhaul = proposal(rp, "suspend_for_overhaul")  # proposed on the 24th, before the claim arrived
    assert [w["data"]["proposal_id"] for w in events(rp, "safety.enforcement.withdrawn")] == [
        fine["id"], overhaul["id"]]
    [told] = overdue(rp)  # the fine's, on the 24th: the overhaul's review was not due yet
    [back] = taken_back(rp)
    assert back["time"] == "2026-11-26T10:00:00+08:00"
    assert back["data"]["reason"] == (f"The escalation {RULE} of {HZ} is withdrawn: proposal {fine['id']} "
                                      "was withdrawn")
    assert back["data"]["reason_zh"] == (f"撤回隐患 {HZ} 的执法建议法制审核（决定）期限：执法建议 "
                                         f"{fine['id']} 已撤回")
    assert rp.states[HZ].proposals == []


def test_a_proposal_withdrawn_before_its_due_time_is_not_watched() -> None:
    entries = [arriving(e, epoch(e["time"])) for e in general_confirmed()]
    late = arriving(complete(HZ, "2026-11-16 10:00"), "2026-11-19 10:00")
    rp = feed([*entries, late], until="2026-12-10 00:00")
    assert overdue(rp) == [] and taken_back(rp) == []


def test_a_hazard_found_unfounded_presses_nobody_to_decide_its_proposal() -> None:
    rp = run(*general_confirmed(), verify(HZ, "2026-11-20 10:00", "unfounded", None),
             until="2026-12-10 00:00")
    assert proposal(rp, "fine") and overdue(rp) == [] and "proposal" not in rp.states[HZ].clocks


def test_a_verdict_of_unfounded_before_the_due_time_recorded_late_takes_the_escalation_back() -> None:
    entries = [arriving(e, epoch(e["time"])) for e in general_confirmed()]
    late = arriving(verify(HZ, "2026-11-20 10:00", "unfounded", None), "2026-11-26 10:00")
    rp = feed([*entries, late], until="2026-12-10 00:00")
    fine = proposal(rp, "fine")  # made on the 17th, before the verdict: it stands
    withdrawn = events(rp, "safety.enforcement.withdrawn")
    assert [w["data"]["measure"] for w in withdrawn] == ["suspend_for_overhaul"]
    [told] = overdue(rp)
    [back] = taken_back(rp)
    assert told["data"]["due_at"] == iso_end("2026-11-24") and back["time"] == "2026-11-26T10:00:00+08:00"
    assert back["data"]["reason"] == (
        f"The escalation {RULE} of {HZ} is withdrawn: the verification {late['event_id']} of "
        f"2026-11-20T10:00:00+08:00, which found it unfounded before the due time {iso_end('2026-11-24')} of "
        f"proposal {fine['id']}, reached the engine after it")
    assert back["data"]["reason_zh"] and rp.states[HZ].clocks == {}
    # Found unfounded after the due time: the escalation stands.
    late = arriving(verify(HZ, "2026-11-25 10:00", "unfounded", None), "2026-11-26 10:00")
    rp = feed([*entries, late], until="2026-12-10 00:00")
    assert len(overdue(rp)) == 1 and taken_back(rp) == []


def test_a_confirmation_dated_before_the_due_time_recorded_after_a_dismissal_raises_it_again() -> None:
    """Found unfounded on the 20th, confirmed on the 21st, a duplicate on the 22nd, confirmed on the
    23rd, each recorded days late, after the fine's due time on the 24th: each time the records show
    it pressing at its due time again, the escalation is raised again, under an id of its own, and
    each take-back has its own too. In time order it would have been raised once and stood."""
    entries = [arriving(e, epoch(e["time"])) for e in general_confirmed()]
    verdicts = [("2026-11-20 10:00", "unfounded", None, "2026-11-26 10:00"),
                ("2026-11-21 10:00", "confirmed", "general", "2026-11-27 10:00"),
                ("2026-11-22 10:00", "duplicate", None, "2026-11-28 10:00"),
                ("2026-11-23 10:00", "confirmed", "general", "2026-11-29 10:00")]
    late = [arriving(verify(HZ, made, verdict, grade), came) for made, verdict, grade, came in verdicts]
    rp = feed([*entries, *late], until="2026-12-10 00:00")
    fine = events(rp, "safety.enforcement.proposed", measure="fine", hazard_id=HZ)[0]  # a later cycle's too
    told, back = overdue(rp), taken_back(rp)
    told, back = told, [b for b in back if b["data"]["rule_id"] == RULE]
    assert [t["time"] for t in told] == [iso_end("2026-11-24"), "2026-11-27T10:00:00+08:00",
                                         "2026-11-29T10:00:00+08:00"]
    assert [b["time"] for b in back] == ["2026-11-26T10:00:00+08:00", "2026-11-28T10:00:00+08:00"]
    assert len({e["id"] for e in told + back}) == 5
    assert [t["data"]["due_at"] for t in told] == [iso_end("2026-11-24")] * 3
    assert told[2]["data"]["reason"] == (
        f"Enforcement proposal {fine['data']['proposal_id']} (fine) against {rp.states[HZ].enterprise[0]}, "
        f"made {fine['time']}, has no decision on record by {iso_end('2026-11-24')}; raised again (2): the "
        f"verification {late[3]['event_id']} of 2026-11-23T10:00:00+08:00, which found it confirmed before "
        "then, reached the engine after it")
    assert all(t["data"]["reason_zh"] for t in told + back)
    assert "第 2 次重新督办" in told[2]["data"]["reason_zh"], told[2]["data"]["reason_zh"]
    [view] = [v for v in hazard_view(rp.states[HZ], RULES, 0)["proposals"]
              if v["proposal_id"] == fine["data"]["proposal_id"]]
    assert view["status"] == "overdue"
    zh = Words("zh", RULES.reference)
    pid = fine["data"]["proposal_id"]
    lines = [w for _, _, w in rp.states[HZ].timeline() if w.startswith(f"proposal {pid}")]
    assert len(lines) == 5 and lines[2].endswith(
        f"raised again (1): the verification {late[1]['event_id']} of 2026-11-21T10:00:00+08:00 found it "
        "confirmed before then")
    said = [zh.timeline_item(0, "e", w).get("what_zh") for w in lines]
    assert all(said) and "第 2 次重新督办" in said[4], said
    # In time order: raised once at the due time, and it stands.
    in_time = [arriving(verify(HZ, made, verdict, grade), made) for made, verdict, grade, _ in verdicts]
    rp = feed([*entries, *in_time], until="2026-12-10 00:00")
    assert [t["time"] for t in overdue(rp)] == [iso_end("2026-11-24")] and taken_back(rp) == []


def test_a_confirmation_recorded_after_the_due_time_raises_late_what_an_in_time_dismissal_kept_down() -> None:
    """Found unfounded on the 20th and recorded that day, so nothing went at the fine's due time on
    the 24th; confirmed on the 21st, recorded on the 27th. In time order the escalation went on the
    24th and stood: it goes when the confirmation comes, under the id time order gives it, and its
    reason and the hazard's record name the confirmation."""
    entries = [arriving(e, epoch(e["time"])) for e in general_confirmed()]
    dismissal = verify(HZ, "2026-11-20 10:00", "unfounded", None)
    confirmation = verify(HZ, "2026-11-21 10:00")
    rp = feed([*entries, arriving(dismissal, "2026-11-20 10:00"), arriving(confirmation, "2026-11-27 10:00")],
              until="2026-12-10 00:00")
    [told] = overdue(rp)
    fine = events(rp, "safety.enforcement.proposed", measure="fine", hazard_id=HZ)[0]
    pid = fine["data"]["proposal_id"]
    d = told["data"]
    assert told["time"] == "2026-11-27T10:00:00+08:00" and d["due_at"] == iso_end("2026-11-24")
    assert d["caused_by"] == [confirmation["event_id"]] and taken_back(rp) == []
    assert d["reason"] == (
        f"Enforcement proposal {pid} (fine) against {rp.states[HZ].enterprise[0]}, made {fine['time']}, has "
        f"no decision on record by {iso_end('2026-11-24')}; raised late: the verification "
        f"{confirmation['event_id']} of 2026-11-21T10:00:00+08:00, which found it confirmed before then, "
        "reached the engine after it")
    assert d["reason_zh"].endswith(
        f"；迟报督办：核实记录 {confirmation['event_id']}（2026-11-21T10:00:00+08:00）在期限前认定属实，"
        "送达引擎晚于期限"), d["reason_zh"]
    [line] = [w for _, _, w in rp.states[HZ].timeline() if w.startswith(f"proposal {pid}")]
    assert line == (f"proposal {pid} (fine): no decision on record by {iso_end('2026-11-24')}, raised late: "
                    f"the verification {confirmation['event_id']} of 2026-11-21T10:00:00+08:00 found it "
                    "confirmed before then")
    assert "迟报督办" in Words("zh", RULES.reference).timeline_item(0, "e", line)["what_zh"]
    # Time order sends the same escalation, by its id, at the due time.
    rp = feed([*entries, arriving(dismissal, "2026-11-20 10:00"), arriving(confirmation, "2026-11-21 10:00")],
              until="2026-12-10 00:00")
    [in_time] = overdue(rp)
    assert in_time["id"] == told["id"] and in_time["time"] == iso_end("2026-11-24")


def test_a_late_confirmation_names_itself_only_when_a_dismissal_had_kept_the_escalation_down() -> None:
    """Confirmed again on the 21st, recorded on the 27th, after the fine's due time, while the clock
    that ran out on the 24th has not fired yet (a worker behind): nothing had kept the escalation
    down, so the confirmation raises nothing itself; the clock, firing after it, sends the
    escalation, dated at the due time, and its reason does not name the confirmation."""
    entries = [arriving(e, epoch(e["time"])) for e in general_confirmed()]
    rp = feed(entries, until="2026-11-24 12:00")
    late = arriving(verify(HZ, "2026-11-21 10:00"), "2026-11-27 10:00")
    rp.feed(late, now=at("2026-11-27 10:00"))
    [told] = overdue(rp)  # the fine's (the overhaul's review is due later)
    assert told["time"] == iso_end("2026-11-24") and late["event_id"] not in told["data"]["caused_by"]
    assert "raised" not in told["data"]["reason"]


def test_a_proposal_of_a_ladder_run_late_is_due_counting_from_when_it_could_be_known() -> None:
    """Confirmed on 3 November, but the record reaches the engine only on Monday 30 November: the
    ladder runs then, and the fine its red step proposes (dated the 17th) goes out on the 30th. Its
    5 working days count from then, to 7 December, not to the 24th, which had passed before anyone
    could see the proposal; a fine decided on 3 December answers it in time."""
    rep, ver = general_confirmed()
    entries = [arriving(rep, epoch(rep["time"])), arriving(ver, "2026-11-30 10:00")]
    rp = feed(entries, until="2026-12-07 12:00")
    fine = proposal(rp, "fine")
    assert fine["time"] == iso_end("2026-11-17") and fine["data"]["due_at"] == iso_end("2026-12-07")
    assert fine["data"]["due_counted_from"] == "2026-11-30T10:00:00+08:00"
    assert overdue(rp) == [] and rp.states[HZ].clocks["proposal"] == at("2026-12-07 23:59:59")
    rp.advance_to(at("2026-12-08 00:00"))
    assert [t["data"]["due_at"] for t in overdue(rp)] == [iso_end("2026-12-07")] * 2  # the fine, the overhaul
    decided = feed([*entries, arriving(penalized("2026-12-03 10:00"), "2026-12-03 10:00")],
                   until="2026-12-20 00:00")
    [told] = overdue(decided)  # the overhaul's review alone: the fine was decided in time
    assert "(suspend_for_overhaul)" in told["data"]["reason"]
    # Confirmed in time, the ladder's proposals count from their own time, as ever.
    in_time = feed([arriving(e, epoch(e["time"])) for e in (rep, ver)], until="2026-11-20 00:00")
    fine = proposal(in_time, "fine")
    assert fine["data"]["due_at"] == iso_end("2026-11-24") and "due_counted_from" not in fine["data"]


def test_a_confirmation_that_reached_the_engine_in_time_never_says_it_came_late() -> None:
    """Found unfounded on the 20th, recorded that day; confirmed on the 21st, its record reaching the
    engine on the 23rd, before the fine's due time, but decided only after a progress record of the
    25th (another topic's partition ran behind). In time order the escalation went on the 24th:
    the clock sends it, dated then, not the confirmation with a reason saying it came late. With no
    arrival the intake could vouch for, the same."""
    entries = [arriving(e, epoch(e["time"])) for e in general_confirmed()]
    dismissal = arriving(verify(HZ, "2026-11-20 10:00", "unfounded", None), "2026-11-20 10:00")
    confirmation = verify(HZ, "2026-11-21 10:00")
    update = progress(HZ, "2026-11-25 10:00")
    for came in (arriving(confirmation, "2026-11-23 10:00"), confirmation):
        rp = feed([*entries, dismissal], until="2026-11-25 10:00")
        rp.feed(arriving(update, "2026-11-25 10:00"), now=at("2026-11-25 10:00"))
        rp.feed(came, now=at("2026-11-25 11:00"))
        [told] = overdue(rp)
        assert told["time"] == iso_end("2026-11-24") and "raised" not in told["data"]["reason"]
        assert confirmation["event_id"] not in told["data"]["caused_by"]


def test_a_decision_made_after_the_due_time_does_not_keep_a_taken_back_escalation_down() -> None:
    """The fine decided on the 25th, a day after its due time: that answers it late, so once a
    confirmation shows the dismissal that took its escalation back was not the last word by the
    24th, the escalation is raised again (in time order it stood, answered late)."""
    entries = [arriving(e, epoch(e["time"])) for e in general_confirmed()]
    dismissal = arriving(verify(HZ, "2026-11-20 10:00", "unfounded", None), "2026-11-26 10:00")
    decided = arriving(penalized("2026-11-26 11:00"), "2026-11-26 11:00")
    confirmation = arriving(verify(HZ, "2026-11-21 10:00"), "2026-11-27 10:00")
    rp = feed([*entries, dismissal, decided, confirmation], until="2026-12-10 00:00")
    assert [t["time"] for t in overdue(rp)] == [iso_end("2026-11-24"), "2026-11-27T10:00:00+08:00"]
    fine = events(rp, "safety.enforcement.proposed", measure="fine", hazard_id=HZ)[0]
    [view] = [v for v in hazard_view(rp.states[HZ], RULES, 0)["proposals"]
              if v["proposal_id"] == fine["data"]["proposal_id"]]
    assert view["status"] == "answered_late"
    # Decided on the 23rd, by its due time: nothing is raised again.
    decided = arriving(penalized("2026-11-23 11:00"), "2026-11-26 11:00")
    rp = feed([*entries, dismissal, decided, confirmation], until="2026-12-10 00:00")
    assert [t["time"] for t in overdue(rp)] == [iso_end("2026-11-24")]


def test_a_review_passed_after_a_verdict_of_unfounded_gives_the_proposal_no_ground_back() -> None:
    """Found unfounded before the fine's due time, then passed by a review recorded late: at the due
    time the hazard stood unfounded, so nobody is pressed, then or when the review arrives."""
    entries = [arriving(e, epoch(e["time"])) for e in (*general_confirmed(),
                                                       verify(HZ, "2026-11-20 10:00", "unfounded", None))]
    late = arriving(review(HZ, "2026-11-25 10:00", "passed"), "2026-11-30 09:00")
    rp = feed([*entries, late], until="2026-12-10 00:00")
    assert rp.states[HZ].closed_how == "passed" and overdue(rp) == []
    assert [p["status"] for p in hazard_view(rp.states[HZ], RULES, 0)["proposals"]] == ["not_pressed"]


def test_a_closed_hazard_still_owes_the_decision_on_its_fine() -> None:
    """Rectified late, after the fine was proposed: the proposal stands, and so does its clock."""
    rp = run(*general_confirmed(), review(HZ, "2026-11-19 10:00", "passed"), until="2026-11-20 00:00")
    assert rp.states[HZ].status() == "closed" and "proposal" in rp.states[HZ].clocks
    rp.advance_to(at("2026-11-30 00:00"))
    assert len(overdue(rp)) == 1


def test_an_overhaul_is_pressed_no_more_once_the_hazard_is_rectified_and_accepted() -> None:
    """安全生产法 art. 102's 停产停业整顿 is for a refusal to eliminate the hazard: accepted as rectified
    before its legal review was due, nobody is told it went unreviewed, the record says why, and the
    view says it is not pressed; the fine, for the act done, is still owed."""
    rp = run(*general_confirmed(), review(HZ, "2026-11-25 10:00", "passed"), until="2026-12-10 00:00")
    overhaul = proposal(rp, "suspend_for_overhaul")["id"]
    told = overdue(rp)
    assert [t["data"]["due_at"] for t in told] == [iso_end("2026-11-24")]  # the fine's alone
    assert "proposal" not in rp.states[HZ].clocks
    line = (f"proposal {overhaul} (suspend_for_overhaul): no longer pressed, the hazard rectified and "
            "accepted on 2026-11-25T10:00:00+08:00")
    assert line in [w for _, _, w in rp.states[HZ].history]
    assert Words("zh", RULES.reference).record(line) == (
        f"执法建议 {overhaul}（责令停产停业整顿）不再督办：隐患已于 2026-11-25T10:00:00+08:00 "
        "整改并复查验收通过")
    view = {p["measure"]: p["status"] for p in hazard_view(rp.states[HZ], RULES, 0)["proposals"]}
    assert view == {"fine": "overdue", "suspend_for_overhaul": "not_pressed"}


def test_a_passed_review_recorded_late_takes_back_the_overhaul_s_escalation_not_the_fine_s() -> None:
    entries = [arriving(e, epoch(e["time"])) for e in general_confirmed()]
    late = arriving(review(HZ, "2026-11-30 10:00", "passed"), "2026-12-04 09:00")
    rp = feed([*entries, late], until="2026-12-10 00:00")
    overhaul = proposal(rp, "suspend_for_overhaul")["id"]
    assert [t["data"]["due_at"] for t in overdue(rp)] == [iso_end("2026-11-24"), iso_end("2026-12-01")]
    [back] = taken_back(rp)
    assert back["time"] == "2026-12-04T09:00:00+08:00" and back["data"]["due_at"] == iso_end("2026-12-01")
    assert back["data"]["reason"] == (
        f"The escalation {RULE} of {HZ} is withdrawn: the acceptance review {late['event_id']} of "
        f"2026-11-30T10:00:00+08:00, which passed before the due time {iso_end('2026-12-01')} of proposal "
        f"{overhaul}, reached the engine after it")
    assert back["data"]["reason_zh"].startswith(f"撤回隐患 {HZ} 的")
    # A review passed after the due time takes nothing back: the overhaul was owed then.
    late = arriving(review(HZ, "2026-12-02 10:00", "passed"), "2026-12-04 09:00")
    rp = feed([*entries, late], until="2026-12-10 00:00")
    assert len(overdue(rp)) == 2 and taken_back(rp) == []


def test_a_utility_stop_notice_is_watched_only_when_it_needs_legal_review(tmp_path) -> None:
    """No record says a notice to stop power supply went out: only its legal review can answer it."""
    def utility(rules) -> Replay:
        rp = Replay(rules)
        for entry in [*major(), ordered("2026-11-04 10:00"), violated("2026-11-06 10:00")]:
            rp.advance_to(epoch(entry["time"]))
            rp.feed(entry, now=epoch(entry["time"]))
        rp.advance_to(at("2026-11-20 00:00"))
        return rp
    rp = utility(RULES)
    assert proposal(rp, "utility_stop_notice", "HZ-J") and overdue(rp, "HZ-J") == []
    day = "    due_within: 1 working day"
    rules = load_rules(edited_rules(tmp_path, "hazards.yaml", f"    needs_legal_review: false\n{day}",
                                    f"    needs_legal_review: true\n{day}"))
    assert rules.enforcement["utility_stop_notice"].needs_legal_review
    [told] = overdue(utility(rules), "HZ-J")
    assert told["data"]["due_at"] == iso_end("2026-11-09")  # a Friday proposal: the next working day


def test_a_lifting_recorded_late_takes_back_a_watched_utility_stop_notice_and_its_overdue(tmp_path) -> None:
    """The district makes the art. 70 notice wait for legal review; none came by the 9th, and the
    proposal was escalated. The order's lifting, dated the 5th (before the violation of the 6th),
    reaches the engine on the 12th: the proposal is withdrawn, the escalation taken back, and the
    record says what went. (The decision failed on that record before: its line named every output
    it sent, the taken-back escalation among them, by the kinds of withdrawal alone.)"""
    day = "    due_within: 1 working day"
    rules = load_rules(edited_rules(tmp_path, "hazards.yaml", f"    needs_legal_review: false\n{day}",
                                    f"    needs_legal_review: true\n{day}"))
    rp = feed([arriving(e, epoch(e["time"]))
               for e in (*major(), ordered("2026-11-04 10:00"), violated("2026-11-06 10:00"))],
              rules, until="2026-11-12 00:00")
    notice = proposal(rp, "utility_stop_notice", "HZ-J")
    [told] = overdue(rp, "HZ-J")
    [lifted] = timeline_event("safety.enforcement.lifted", "2026-11-05 10:00", {
        "hazard_id": "HZ-J", "order_no": ORDER, "by": INSPECTORS[0]}, "HZ-J")
    rp.feed(arriving(lifted, "2026-11-12 09:00"), now=at("2026-11-12 09:00"))
    [withdrawn] = events(rp, "safety.enforcement.withdrawn", hazard_id="HZ-J")
    assert {k: v for k, v in withdrawn["data"].items() if k not in ("reason", "reason_zh")} == notice["data"]
    [back] = taken_back(rp, "HZ-J")
    assert back["data"]["due_at"] == told["data"]["due_at"] == iso_end("2026-11-09")
    assert rp.states["HZ-J"].proposals == [] and "proposal" not in rp.states["HZ-J"].clocks
    [line] = [what for _, eid, what in rp.states["HZ-J"].history if eid == lifted["event_id"]
              and "withdrawn" in what]
    assert line == (f"order {ORDER}: the transfer to the public security bureau and the "
                    "utility_stop_notice proposal withdrawn, as the violations found since its lifting "
                    "violated no order in force")
    assert "撤回" in Words("zh", rules.reference).record(line)


def test_without_the_rules_section_no_proposal_is_watched() -> None:
    rules = dataclasses.replace(RULES, proposal_due=None)
    rp = Replay(rules)
    for entry in general_confirmed():
        rp.advance_to(epoch(entry["time"]))
        rp.feed(entry, now=epoch(entry["time"]))
    rp.advance_to(at("2026-12-31 00:00"))
    assert len(events(rp, "safety.enforcement.proposed")) == 2 and overdue(rp) == []
    assert "proposal" not in rp.states[HZ].clocks


def test_a_late_review_after_the_rules_section_was_taken_out_withdraws_nothing_and_fails_nothing() -> None:
    rp = run(*general_confirmed(), penalized("2026-11-20 10:00"), until="2026-12-03 00:00")
    overhaul = proposal(rp, "suspend_for_overhaul")["id"]
    assert len(overdue(rp)) == 1
    late = arriving(legal_reviewed("2026-11-30 15:00", overhaul), "2026-12-03 09:00")
    h, outs = decide(rp.states[HZ], late, dataclasses.replace(RULES, proposal_due=None))
    assert outs == [] and [p[5] for p in h.proposals] == [None, "escalated"]  # the fine was answered


def test_an_approximate_due_day_is_watched_at_the_latest_it_may_fall() -> None:
    """A fine counted into 2027, whose holiday notice the calendar lacks: never escalated early."""
    hid = "HZ-SF"
    rp = run(report(hid, "2027-01-19 09:00"), verify(hid, "2027-01-20 09:00"), until="2027-02-17 12:00")
    fine = proposal(rp, "fine", hid)["data"]
    assert (fine["due_at"], fine["due_at_latest"]) == (iso_end("2027-02-16"), iso_end("2027-02-18"))
    assert overdue(rp, hid) == [] and rp.states[hid].clocks["proposal"] == at("2027-02-18 23:59:59")
    rp.advance_to(at("2027-02-19 00:00"))
    [told] = overdue(rp, hid)
    assert told["data"]["due_at"] == iso_end("2027-02-18")


def test_proposals_and_their_answers_are_stored_by_name_and_load_again() -> None:
    rp = run(*general_confirmed(), penalized("2026-11-20 10:00"), until="2026-12-03 00:00")
    h = rp.states[HZ]
    assert [p[1] for p in h.proposals] == ["fine", "suspend_for_overhaul"]
    assert [a[:2] for a in h.answers] == [["penalized", "消行罚决字〔2026〕31号"]]
    raw = pack(h, b"", b"")
    assert b'"proposal_id"' in raw and b'"legal_review"' in raw and b'"decision_no"' not in raw
    back = unpack(raw, Hazard)
    assert back.proposals == h.proposals and back.answers == h.answers


def test_a_supervisor_sees_where_each_proposal_stands_in_the_view_and_on_the_board() -> None:
    from engine.board.html import Page

    rp = run(*general_confirmed(), penalized("2026-11-26 10:00"), until="2026-12-03 00:00")
    view = hazard_view(rp.states[HZ], RULES, at("2026-12-03 00:00"))
    fine, overhaul = view["proposals"]
    assert (fine["measure"], fine["status"], fine["due"]) == ("fine", "answered_late", iso_end("2026-11-24"))
    assert fine["answered_by"]["record"] == "penalized"
    assert fine["answered_by"]["time"] == "2026-11-26T10:00:00+08:00"
    assert (overhaul["status"], overhaul["needs_legal_review"], overhaul["answered_by"]) == (
        "overdue", True, None)
    def states(rp: Replay) -> list[str]:
        return [p["status"] for p in hazard_view(rp.states[HZ], RULES, 0)["proposals"]]
    assert states(run(*general_confirmed(), penalized("2026-11-20 10:00"), until="2026-11-26 00:00")) == [
        "answered", "awaiting"]
    assert states(run(*general_confirmed(), verify(HZ, "2026-11-20 10:00", "unfounded", None),
                      until="2026-12-10 00:00")) == ["not_pressed"]
    zh = Page("zh", RULES.reference, "c", "o").hazard(view, [])
    assert '<table id="proposals">' in zh and "罚款" in zh and "逾期后审核（决定）" in zh
    assert "行政处罚决定 2026-11-26" in zh
    en = Page("en", RULES.reference, "c", "o").hazard(view, [])
    assert "overdue: escalated" in en and "penalty decision 2026-11-26T10:00:00+08:00" in en
    assert '<table id="proposals">' not in Page("en", RULES.reference, "c", "o").hazard(
        {**view, "proposals": []}, [])


def test_show_prints_each_proposal_and_where_it_stands() -> None:
    from engine.tools.show import render

    rp = run(*general_confirmed(), penalized("2026-11-20 10:00"), until="2026-12-03 00:00")
    fine, overhaul = (proposal(rp, m)["id"] for m in ("fine", "suspend_for_overhaul"))
    page = render(rp.states[HZ], [], HZ).splitlines()
    at_ = page.index("  enforcement proposals:")
    assert page[at_ + 1] == (f"    fine                  proposed {iso_end('2026-11-17')}  due "
                             f"{iso_end('2026-11-24')}  answered (penalized 2026-11-20T10:00:00+08:00)"
                             f"  [{fine}]")
    assert page[at_ + 2].startswith("    suspend_for_overhaul  proposed") and page[at_ + 2].endswith(
        f"  overdue  [{overhaul}]")


def test_a_second_verdict_after_the_due_time_gives_a_dismissed_hazard_s_proposal_no_ground_back() -> None:
    """Found a duplicate before the fine's due time and again after it: at the due time it stood a
    duplicate, so nobody is pressed, then or when the second verification comes (found by a property:
    the state kept only the latest verification, which moved past the due time)."""
    rp = run(*general_confirmed(), verify(HZ, "2026-11-20 10:00", "duplicate", None),
             verify(HZ, "2026-11-26 10:00", "duplicate", None), until="2026-12-10 00:00")
    assert overdue(rp) == [] and "proposal" not in rp.states[HZ].clocks
    assert [v[1] for v in rp.states[HZ].verdicts] == ["confirmed", "duplicate", "duplicate"]


def test_a_dismissal_older_than_the_latest_verdict_recorded_late_still_takes_the_escalation_back() -> None:
    """Found unfounded on the 20th, recorded only after a second verdict of the 26th: the latest
    verdict by the fine's due time (the 24th) is the one of the 20th, whichever came first."""
    entries = [arriving(e, epoch(e["time"])) for e in general_confirmed()]
    second = arriving(verify(HZ, "2026-11-26 10:00", "unfounded", None), "2026-11-26 10:00")
    late = arriving(verify(HZ, "2026-11-20 10:00", "unfounded", None), "2026-11-28 10:00")
    rp = feed([*entries, second, late], until="2026-12-10 00:00")
    [_] = overdue(rp)
    [back] = taken_back(rp)
    assert back["time"] == "2026-11-28T10:00:00+08:00" and back["data"]["caused_by"] == [late["event_id"]]


def test_a_proposal_of_a_ladder_a_late_failed_review_ran_counts_from_when_the_review_came() -> None:
    """Claimed complete on 9 November, in time; the review of the 12th failed, setting a new deadline
    of the 19th, but its record reached the engine only on Monday 7 December. The ladder against the
    19th runs then: the fine its red step proposes (dated the 26th) counts its 5 working days from
    the 7th, to the 14th, not to 3 December, which had passed before anyone could see it; the
    review's line on the record says when it came, in Chinese too. Recorded in time, the review
    leaves the fine due on 3 December, as before."""
    claimed = complete(HZ, "2026-11-09 10:00")
    entries = [arriving(e, epoch(e["time"])) for e in (*general_confirmed(), claimed)]
    failed = review(HZ, "2026-11-12 10:00", "failed")
    rp = feed([*entries, arriving(failed, "2026-12-07 10:00")], until="2026-12-14 12:00")
    fine = proposal(rp, "fine")
    assert fine["time"] == iso_end("2026-11-26") and fine["data"]["due_at"] == iso_end("2026-12-14")
    assert fine["data"]["due_counted_from"] == "2026-12-07T10:00:00+08:00"
    assert overdue(rp) == [] and rp.states[HZ].clocks["proposal"] == at("2026-12-14 23:59:59")
    [line] = [what for _, eid, what in rp.states[HZ].history
              if eid == failed["event_id"] and what.startswith("review failed")]
    assert line.endswith("(reached the engine late, on 2026-12-07T10:00:00+08:00)")
    assert "才送达引擎" in Words("zh", RULES.reference).record(line)
    in_time = feed([*entries, arriving(failed, "2026-11-12 10:00")], until="2026-12-01 00:00")
    fine = proposal(in_time, "fine")
    assert fine["data"]["due_at"] == iso_end("2026-12-03") and "due_counted_from" not in fine["data"]


def test_a_utility_stop_notice_for_a_violation_recorded_late_counts_from_when_it_came(tmp_path) -> None:
    """A stop order of 4 November found violated on Friday the 6th, the inspectors' app offline: the
    record reached the engine only on Monday the 16th. The art. 70 proposal it dates counts its one
    working day from then, to the 17th, not to the 9th, which had passed before anyone could see it;
    the violation's line on the record says when it came. A lifting dated the 5th, recorded later
    still, withdraws the proposal as it was sent. Recorded in time, the proposal is due on the 9th."""
    day = "    due_within: 1 working day"
    rules = load_rules(edited_rules(tmp_path, "hazards.yaml", f"    needs_legal_review: false\n{day}",
                                    f"    needs_legal_review: true\n{day}"))
    found = violated("2026-11-06 10:00")
    before = [arriving(e, epoch(e["time"])) for e in (*major(), ordered("2026-11-04 10:00"))]
    rp = feed([*before, arriving(found, "2026-11-16 10:00")], rules, until="2026-11-17 12:00")
    notice = proposal(rp, "utility_stop_notice", "HZ-J")
    assert notice["time"] == "2026-11-06T10:00:00+08:00" and notice["data"]["due_at"] == iso_end("2026-11-17")
    assert notice["data"]["due_counted_from"] == "2026-11-16T10:00:00+08:00"
    assert overdue(rp, "HZ-J") == [] and rp.states["HZ-J"].clocks["proposal"] == at("2026-11-17 23:59:59")
    [line] = [what for _, eid, what in rp.states["HZ-J"].history
              if eid == found["event_id"] and what.startswith("order ")]
    assert line.endswith("(reached the engine late, on 2026-11-16T10:00:00+08:00)")
    assert "才送达引擎" in Words("zh", rules.reference).record(line)
    rp.advance_to(at("2026-11-18 00:00"))
    [told] = overdue(rp, "HZ-J")
    assert told["data"]["due_at"] == iso_end("2026-11-17")
    [lifted] = timeline_event("safety.enforcement.lifted", "2026-11-05 10:00", {
        "hazard_id": "HZ-J", "order_no": ORDER, "by": INSPECTORS[0]}, "HZ-J")
    rp.feed(arriving(lifted, "2026-11-18 09:00"), now=at("2026-11-18 09:00"))
    [withdrawn] = events(rp, "safety.enforcement.withdrawn", hazard_id="HZ-J")
    assert {k: v for k, v in withdrawn["data"].items() if k not in ("reason", "reason_zh")} == notice["data"]
    [back] = taken_back(rp, "HZ-J")  # and the escalation that it was overdue with it
    assert back["data"]["due_at"] == iso_end("2026-11-17")
    in_time = feed([*before, arriving(found, "2026-11-06 10:00")], rules, until="2026-11-08 00:00")
    notice = proposal(in_time, "utility_stop_notice", "HZ-J")
    assert notice["data"]["due_at"] == iso_end("2026-11-09") and "due_counted_from" not in notice["data"]


def test_a_fine_withdrawn_after_a_second_confirmation_came_late_is_restated_as_it_went() -> None:
    """The fine went on 17 November, due the 24th, counted from its own time. A second confirmation
    dated the 16th reached the engine only on the 19th: what the engine sends since counts from
    then. A claim of the 16th, recorded on the 20th, withdraws the fine: restated as it went, due
    the 24th, not counted from the 19th to the 26th (stored format 12 keeps where it counted from)."""
    entries = [arriving(e, epoch(e["time"])) for e in general_confirmed()]
    second = arriving(verify(HZ, "2026-11-16 10:00"), "2026-11-19 10:00")
    claim = arriving(complete(HZ, "2026-11-16 12:00"), "2026-11-20 10:00")
    rp = feed([*entries, second, claim], until="2026-11-21 00:00")
    fine = proposal(rp, "fine")
    [withdrawn] = events(rp, "safety.enforcement.withdrawn", hazard_id=HZ)
    assert fine["data"]["due_at"] == iso_end("2026-11-24") and "due_counted_from" not in fine["data"]
    assert {k: v for k, v in withdrawn["data"].items() if k not in ("reason", "reason_zh")} == fine["data"]
    assert rp.states[HZ].arrived["confirm"] == at("2026-11-19 10:00") and rp.states[HZ].proposals == []


def test_a_utility_stop_notice_withdrawn_after_a_second_confirmation_came_late_is_restated_as_it_went(
        tmp_path) -> None:
    """A stop order of 4 November found violated on the 6th: the art. 70 proposal went then, due the
    9th. A second confirmation dated the 5th reached the engine on the 10th, and a lifting dated the
    5th, recorded on the 11th, withdraws the proposal: restated as it went, due the 9th, not counted
    from the 10th to the 11th."""
    day = "    due_within: 1 working day"
    rules = load_rules(edited_rules(tmp_path, "hazards.yaml", f"    needs_legal_review: false\n{day}",
                                    f"    needs_legal_review: true\n{day}"))
    before = [arriving(e, epoch(e["time"])) for e in (*major(), ordered("2026-11-04 10:00"),
                                                       violated("2026-11-06 10:00"))]
    second = arriving(verify("HZ-J", "2026-11-05 10:00", grade="major"), "2026-11-10 10:00")
    [lifted] = timeline_event("safety.enforcement.lifted", "2026-11-05 12:00", {
        "hazard_id": "HZ-J", "order_no": ORDER, "by": INSPECTORS[0]}, "HZ-J")
    rp = feed([*before, second, arriving(lifted, "2026-11-11 09:00")], rules, until="2026-11-12 00:00")
    notice = proposal(rp, "utility_stop_notice", "HZ-J")
    [withdrawn] = events(rp, "safety.enforcement.withdrawn", hazard_id="HZ-J")
    assert notice["data"]["due_at"] == iso_end("2026-11-09") and "due_counted_from" not in notice["data"]
    assert {k: v for k, v in withdrawn["data"].items() if k not in ("reason", "reason_zh")} == notice["data"]
    assert rp.states["HZ-J"].arrived["confirm"] == at("2026-11-10 10:00")
