"""Once a legal review approves a proposal, its decision is watched too (engine/decide/proposals.py).

test_decide's general hazard runs the ladder: a stop for overhaul (停产停业整顿) is
proposed on 24 November and waits for legal review (法制审核) by 1 December.
When the review approves it, the order itself is due within the measure's
`decide_within` (5 working days, rules/hazards.yaml) of that review. When no
order of its kind is on record by then, the lead department and the supervising
body are told (`decision_overdue`); an order made in time that reaches the
engine later takes that back, as do a verdict of unfounded dated before and the
proposal's own withdrawal. A returned review ends the watch.
"""

from __future__ import annotations

from typing import Any

import pytest
from decide_fixtures import INSPECTORS, RULES, at, complete, edited_rules, events, iso_end, run, verify
from decide_fixtures import event as timeline_event
from test_decide import general_confirmed
from test_late_arrival import arriving, feed
from test_proposal_due import HZ, RULE, TOLD, legal_reviewed, penalized, proposal, taken_back

from engine import codec
from engine.decide.replay import Replay
from engine.decide.state import Hazard
from engine.feeds.views import hazard_view
from engine.kernel.time import epoch
from engine.reference import RulesFileError
from engine.ruleset import load_rules
from engine.store import pack, unpack

OVERHAUL_ORDER = "度应急责改〔2026〕120"


def late_decision(rp: Replay, hid: str = HZ) -> list[dict[str, Any]]:
    return events(rp, "safety.escalation.raised", rule_id=RULE, action="decision_overdue", subject_id=hid)


def raised_late(rp: Replay, record: dict[str, Any], when: str, reason_ends: str) -> dict[str, Any]:
    """`rp`'s one `decision_overdue`, checked as raised late by `record` at `when`: sent then, caused
    by it, due when time order has it due (4 December), its reason ending `reason_ends`, its reason
    and its record line in Chinese saying so (迟报督办), and raised once, under time order's key."""
    from engine.zh.words import Words

    [told] = late_decision(rp)
    d = told["data"]
    assert told["time"] == when and d["due_at"] == iso_end("2026-12-04")
    assert d["caused_by"] == [record["event_id"]] and "；迟报督办：" in d["reason_zh"]
    assert d["reason"].endswith(reason_ends)
    [line] = [w for _, _, w in rp.states[HZ].timeline() if w.startswith("proposal ") and "raised" in w]
    assert "迟报督办" in Words("zh", RULES.reference).timeline_item(0, "e", line)["what_zh"]
    [p] = [p for p in rp.states[HZ].proposals if p[0] == overhaul_id()]
    assert p[7] == "escalated" and p[9] is None  # raised once: the key time order gives it
    return told


def overhaul_id() -> str:
    rp = run(*general_confirmed(), until="2026-11-25 00:00")
    return str(proposal(rp, "suspend_for_overhaul")["id"])


def approved_then(*more: dict[str, Any], until: str = "2026-12-20 00:00",
                  outcome: str = "approved") -> Replay:
    """The fine decided in time, the overhaul reviewed on Friday 27 November with `outcome`, then
    `more`."""
    return run(*general_confirmed(), penalized("2026-11-20 10:00"),
               legal_reviewed("2026-11-27 10:00", overhaul_id(), outcome=outcome), *more, until=until)


def ordered(time: str, kind: str = "suspend_for_overhaul", order_no: str = OVERHAUL_ORDER) -> dict[str, Any]:
    """`safety.enforcement.ordered` on the general hazard, by two inspectors."""
    [entry] = timeline_event("safety.enforcement.ordered", time, {
        "hazard_id": HZ, "order_no": order_no, "order": kind, "legal_basis": "安全生产法 (2021) art. 102",
        "by": INSPECTORS}, HZ)
    return entry


def reviewed_on_time() -> list[dict[str, Any]]:
    """`approved_then`'s records, each reaching the engine at its own time."""
    return [arriving(e, epoch(e["time"])) for e in (
        *general_confirmed(), penalized("2026-11-20 10:00"),
        legal_reviewed("2026-11-27 10:00", overhaul_id()))]


def order(time: str) -> dict[str, Any]:
    return ordered(time)


def test_an_approved_overhaul_not_ordered_within_its_time_is_escalated_once() -> None:
    rp = approved_then(until="2026-12-04 12:00")
    pid = overhaul_id()
    [p] = [p for p in rp.states[HZ].proposals if p[0] == pid]
    assert p[6] == at("2026-12-04 23:59:59") == rp.states[HZ].clocks["proposal"]  # 5 working days
    rp.advance_to(at("2026-12-20 00:00"))
    [told] = late_decision(rp)
    d = told["data"]
    assert told["time"] == d["due_at"] == iso_end("2026-12-04")
    assert [(t["kind"], t["id"]) for t in d["targets"]] == TOLD and d["tier"] == "orange"
    assert d["reason"] == (f"Enforcement proposal {pid} (suspend_for_overhaul) against 91371500MA3C4XK2N2, "
                           f"made {iso_end('2026-11-24')}, approved by its legal review (法制审核) on "
                           f"2026-11-27T10:00:00+08:00, has no decision on record by {iso_end('2026-12-04')}")
    assert d["reason_zh"] == (f"{iso_end('2026-11-24')} 对 91371500MA3C4XK2N2 提出的执法建议 {pid}"
                              "（责令停产停业整顿）经法制审核于 2026-11-27T10:00:00+08:00 通过，"
                              f"截至 {iso_end('2026-12-04')} 未见执法决定记录")
    assert events(rp, "safety.escalation.raised", rule_id=RULE, action="proposal_overdue") == []
    assert p[7] == "escalated" and "proposal" not in rp.states[HZ].clocks
    assert [w for _, _, w in rp.states[HZ].history if w.startswith(f"proposal {pid}")] == [
        f"proposal {pid} (suspend_for_overhaul): no decision on record by {iso_end('2026-12-04')}, its legal "
        "review approved it on 2026-11-27T10:00:00+08:00"]


def test_an_order_of_its_kind_by_the_due_time_answers_the_decision_and_another_kind_does_not() -> None:
    assert late_decision(approved_then(order("2026-12-04 18:00"))) == []
    assert late_decision(approved_then(order("2026-11-26 10:00"))) == []  # ordered before the review
    other = ordered("2026-12-01 10:00", "suspend", "度应急责改〔2026〕121")
    assert len(late_decision(approved_then(other))) == 1
    rp = approved_then(order("2026-12-07 10:00"))  # ordered after its due time: the escalation stands
    assert len(late_decision(rp)) == 1 and taken_back(rp) == []


def test_a_returned_review_ends_the_watch_and_a_later_approval_starts_the_decision_s_time() -> None:
    rp = approved_then(outcome="returned")
    assert late_decision(rp) == [] and "proposal" not in rp.states[HZ].clocks
    [_, overhaul] = hazard_view(rp.states[HZ], RULES, 0)["proposals"]
    assert overhaul["status"] == "answered" and overhaul["answered_by"]["outcome"] == "returned"
    assert overhaul["decision"] is None
    rp = approved_then(legal_reviewed("2026-12-02 10:00", overhaul_id()), outcome="returned")
    [told] = late_decision(rp)
    assert told["data"]["due_at"] == iso_end("2026-12-09")  # 5 working days from the approval


def test_an_order_made_in_time_and_recorded_late_takes_the_escalation_back() -> None:
    base = reviewed_on_time()
    late = arriving(order("2026-12-04 15:00"), "2026-12-08 09:00")
    rp = feed([*base, late], until="2026-12-20 00:00")
    [told] = late_decision(rp)
    [back] = taken_back(rp)
    assert back["time"] == "2026-12-08T09:00:00+08:00" and back["id"] != told["id"]
    assert back["data"]["caused_by"] == [late["event_id"]] and back["data"]["due_at"] == iso_end("2026-12-04")
    assert back["data"]["reason"] == (
        f"The escalation {RULE} of {HZ} is withdrawn: the order {late['event_id']} of "
        f"2026-12-04T15:00:00+08:00, by the due time {iso_end('2026-12-04')} of the decision on proposal "
        f"{overhaul_id()}, reached the "
        "engine after it")
    assert "的执法决定期限" in back["data"]["reason_zh"] and "送达引擎晚于督办" in back["data"]["reason_zh"]
    [p] = [p for p in rp.states[HZ].proposals if p[0] == overhaul_id()]
    assert (p[5], p[7]) == (None, "withdrawn")
    [line] = [w for _, eid, w in rp.states[HZ].history if eid == late["event_id"] and "escalation" in w]
    assert line == (f"proposal {overhaul_id()}: the escalation that its decision was overdue withdrawn: "
                    "order "
                    "made on 2026-12-04T15:00:00+08:00")


def test_a_review_recorded_late_takes_back_the_review_s_escalation_and_starts_the_decision_s_time() -> None:
    base = [arriving(e, epoch(e["time"])) for e in (*general_confirmed(), penalized("2026-11-20 10:00"))]
    late = arriving(legal_reviewed("2026-11-30 15:00", overhaul_id()), "2026-12-03 09:00")
    rp = feed([*base, late], until="2026-12-20 00:00")
    assert [e["data"]["action"] for e in events(rp, "safety.escalation.raised", rule_id=RULE)] == [
        "proposal_overdue", "failure_withdrawn", "decision_overdue"]
    assert late_decision(rp)[0]["data"]["due_at"] == iso_end("2026-12-07")


def test_a_verdict_of_unfounded_before_the_decision_s_due_time_takes_its_escalation_back() -> None:
    base = reviewed_on_time()
    late = arriving(verify(HZ, "2026-12-02 10:00", "unfounded", None), "2026-12-08 10:00")
    rp = feed([*base, late], until="2026-12-20 00:00")
    [_] = late_decision(rp)
    [back] = taken_back(rp)
    due = iso_end("2026-12-04")
    assert f"before the due time {due} of the decision on proposal" in back["data"]["reason"]
    assert back["data"]["reason_zh"] and "proposal" not in rp.states[HZ].clocks
    # Found unfounded before the due time and recorded in time: nobody is pressed at all.
    rp = approved_then(verify(HZ, "2026-12-02 10:00", "unfounded", None))
    assert late_decision(rp) == []
    assert hazard_view(rp.states[HZ], RULES, 0)["proposals"][1]["decision"]["status"] == "not_pressed"


def test_a_late_claim_that_withdraws_the_overhaul_takes_back_both_its_escalations() -> None:
    pid = overhaul_id()
    base = [arriving(e, epoch(e["time"])) for e in (*general_confirmed(), penalized("2026-11-20 10:00"))]
    late_review = arriving(legal_reviewed("2026-12-03 10:00", pid), "2026-12-03 10:00")  # after its due time
    claim = arriving(complete(HZ, "2026-11-23 10:00"), "2026-12-14 10:00")  # before the overhaul's step
    rp = feed([*base, late_review, claim], until="2026-12-20 00:00")
    assert [e["data"]["action"] for e in events(rp, "safety.escalation.raised", rule_id=RULE)] == [
        "proposal_overdue", "decision_overdue", "failure_withdrawn", "failure_withdrawn"]
    backs = taken_back(rp)
    assert len({b["id"] for b in backs}) == 2 and {b["data"]["due_at"] for b in backs} == {
        iso_end("2026-12-01"), iso_end("2026-12-10")}
    assert [p[1] for p in rp.states[HZ].proposals] == ["fine"]  # made before the claim: it stands


def test_without_decide_within_an_approved_proposal_s_decision_is_not_watched(tmp_path) -> None:
    rules = load_rules(edited_rules(tmp_path, "hazards.yaml", "    decide_within: 5 working days\n", ""))
    assert rules.enforcement["suspend_for_overhaul"].decide_within is None
    rp = Replay(rules)
    for entry in (*general_confirmed(), penalized("2026-11-20 10:00"),
                  legal_reviewed("2026-11-27 10:00", overhaul_id())):
        rp.advance_to(epoch(entry["time"]))
        rp.feed(entry, now=epoch(entry["time"]))
    rp.advance_to(at("2026-12-20 00:00"))
    assert late_decision(rp) == []
    assert hazard_view(rp.states[HZ], rules, 0)["proposals"][1]["decision"] is None


@pytest.mark.parametrize("marker", ["    needs_legal_review: false\n    due_within: 5 working days\n",
                                    "    needs_legal_review: false\n    due_within: 1 working day\n"])
def test_the_rules_refuse_a_time_to_decide_for_a_measure_decided_without_review(tmp_path,
                                                                                 marker: str) -> None:
    """A fine, or a utility stop notice without review: its due_within is already its decision's time."""
    with pytest.raises(RulesFileError, match="only a measure that waits for legal review"):
        load_rules(edited_rules(tmp_path, "hazards.yaml", marker,
                                marker + "    decide_within: 3 working days\n"))


def test_a_utility_stop_notice_with_review_may_not_name_a_time_to_decide(tmp_path) -> None:
    day = "    needs_legal_review: false\n    due_within: 1 working day\n"
    with pytest.raises(RulesFileError, match="no record says a notice to stop power supply went out"):
        load_rules(edited_rules(tmp_path, "hazards.yaml", day, day.replace("false", "true")
                                + "    decide_within: 1 working day\n"))


def test_a_hazard_stored_before_the_decision_was_watched_loads_and_watches_no_decision() -> None:
    """Rows stored with the places of the stop before (proposals of 6, answers of 4) load with the
    places added since empty: a review stored then has no outcome, so no decision is watched."""
    rp = approved_then(until="2026-12-01 00:00")
    h = rp.states[HZ]
    lines = pack(h, b"", b"").split(b"\n")
    doc = codec.loads(lines[1])
    for name, places in (("proposals", 6), ("answers", 4)):
        table = doc[name]
        doc[name] = {"columns": table["columns"][:places], "rows": [r[:places] for r in table["rows"]]}
    old = b"\n".join([lines[0], codec.dumps(doc), *lines[2:]])
    assert b'"outcome"' not in old and b'"decision_due"' not in old
    back = unpack(old, Hazard)
    assert [p[6:] for p in back.proposals] == [[None] * 5, [None] * 5]
    assert [a[4] for a in back.answers] == [None, None]
    assert [p[:6] for p in back.proposals] == [p[:6] for p in h.proposals]
    assert unpack(pack(back, b"", b""), Hazard) == back
    assert h.proposals[1][6] == at("2026-12-04 23:59:59") and h.answers[1][4] == "approved"


def test_a_supervisor_sees_the_decision_due_after_the_review_in_the_view_on_the_board_and_in_show() -> None:
    from engine.board.html import Page
    from engine.tools.show import render

    rp = approved_then(order("2026-12-07 10:00"))
    pid = overhaul_id()
    view = hazard_view(rp.states[HZ], RULES, at("2026-12-20 00:00"))
    fine, overhaul = view["proposals"]
    assert fine["decision"] is None and fine["answered_by"].get("outcome") is None
    assert overhaul["status"] == "answered" and overhaul["answered_by"]["outcome"] == "approved"
    decision = overhaul["decision"]
    assert (decision["due"], decision["status"]) == (iso_end("2026-12-04"), "answered_late")
    assert (decision["decided_by"]["record"], decision["decided_by"]["time"]) == (
        "ordered", "2026-12-07T10:00:00+08:00")
    awaiting = hazard_view(approved_then(until="2026-12-01 00:00").states[HZ], RULES, 0)["proposals"][1]
    assert awaiting["decision"]["status"] == "awaiting" and awaiting["decision"]["decided_by"] is None
    overdue_ = hazard_view(approved_then().states[HZ], RULES, 0)["proposals"][1]["decision"]
    assert overdue_["status"] == "overdue"
    zh = Page("zh", RULES.reference, "c", "o").hazard(view, [])
    assert "审核通过后的执法决定" in zh and "法制审核 通过 2026-11-27T10:00:00+08:00" in zh
    assert f"{iso_end('2026-12-04')} · 逾期后作出决定 · 责令决定 2026-12-07T10:00:00+08:00" in zh
    en = Page("en", RULES.reference, "c", "o").hazard(view, [])
    assert "decided after its due time" in en and "legal review approved 2026-11-27T10:00:00+08:00" in en
    page = render(rp.states[HZ], [], HZ).splitlines()
    [line] = [x for x in page if x.endswith(f"[{pid}]")]
    assert line.endswith(f"  answered (legal_reviewed approved 2026-11-27T10:00:00+08:00)  decision due "
                         f"{iso_end('2026-12-04')}  answered_late (ordered 2026-12-07T10:00:00+08:00)"
                         f"  [{pid}]")


def test_a_review_applied_before_its_proposal_in_the_same_second_still_starts_the_decision_s_time() -> None:
    """The overhaul proposed at 23:59:59 on 24 November and approved in that very second: the review's
    record may be applied before the ladder step that makes the proposal (found by a property)."""
    review = {**legal_reviewed("2026-11-24 12:00", overhaul_id()), "time": iso_end("2026-11-24")}
    rp = Replay(RULES)
    for entry in (*general_confirmed(), penalized("2026-11-20 10:00"), review):
        rp.advance_to(epoch(entry["time"]) - 1)  # the timer up to the second before it, as a worker's
        rp.feed(entry, now=epoch(entry["time"]))
    rp.advance_to(at("2026-12-20 00:00"))
    [told] = late_decision(rp)
    assert told["data"]["due_at"] == iso_end("2026-12-01")


def test_a_decision_overdue_taken_back_by_a_dismissal_is_raised_again_by_a_confirmation_after_it() -> None:
    """Found unfounded on 2 December, before the decision's due time on the 4th, and confirmed on the
    3rd, each recorded after it: the escalation goes at the due time, the first record takes it
    back, the second raises it again under an id of its own."""
    dismissal = arriving(verify(HZ, "2026-12-02 10:00", "unfounded", None), "2026-12-08 10:00")
    confirmation = arriving(verify(HZ, "2026-12-03 10:00"), "2026-12-09 10:00")
    rp = feed([*reviewed_on_time(), dismissal, confirmation], until="2026-12-20 00:00")
    told = late_decision(rp)
    [back] = [b for b in taken_back(rp) if b["data"]["rule_id"] == RULE]
    assert [t["time"] for t in told] == [iso_end("2026-12-04"), "2026-12-09T10:00:00+08:00"]
    assert back["time"] == "2026-12-08T10:00:00+08:00"
    assert len({told[0]["id"], told[1]["id"], back["id"]}) == 3
    assert told[1]["data"]["due_at"] == iso_end("2026-12-04") and told[1]["data"]["caused_by"] == [
        confirmation["event_id"]]
    assert told[1]["data"]["reason"].endswith(
        f"; raised again (1): the verification {confirmation['event_id']} of 2026-12-03T10:00:00+08:00, "
        "which found it confirmed before then, reached the engine after it") and told[1]["data"]["reason_zh"]
    [p] = [p for p in rp.states[HZ].proposals if p[0] == overhaul_id()]
    assert p[7] == "escalated" and p[9] == 1 and p[8] is None  # the review was answered in time
    # Dated after the due time, the confirmation raises nothing: the dismissal stood at it.
    late = arriving(verify(HZ, "2026-12-05 10:00"), "2026-12-09 10:00")
    rp = feed([*reviewed_on_time(), dismissal, late], until="2026-12-20 00:00")
    assert len(late_decision(rp)) == 1


def test_a_decision_overdue_kept_down_by_a_dismissal_in_time_is_raised_late_by_a_confirmation() -> None:
    """Found unfounded on 2 December and recorded that day, so nothing went at the decision's due
    time on the 4th; confirmed on the 3rd, recorded on the 9th: the escalation goes then, under the
    id time order gives it, its reason and its record line naming the confirmation."""
    dismissal = verify(HZ, "2026-12-02 10:00", "unfounded", None)
    confirmation = verify(HZ, "2026-12-03 10:00")
    rp = feed([*reviewed_on_time(), arriving(dismissal, "2026-12-02 10:00"),
               arriving(confirmation, "2026-12-09 10:00")], until="2026-12-20 00:00")
    told = raised_late(rp, confirmation, "2026-12-09T10:00:00+08:00", (
        f"; raised late: the verification {confirmation['event_id']} of 2026-12-03T10:00:00+08:00, "
        "which found it confirmed before then, reached the engine after it"))
    in_time = feed([*reviewed_on_time(), arriving(dismissal, "2026-12-02 10:00"),
                    arriving(confirmation, "2026-12-03 10:00")], until="2026-12-20 00:00")
    assert [t["id"] for t in late_decision(in_time)] == [told["id"]]


def test_an_approval_recorded_after_the_decision_s_due_time_raises_it_late_and_says_so() -> None:
    """Approved on 27 November, so the order was due by 4 December; the review's record reaches the
    engine on the 8th. The decision's escalation goes then, caused by the review, under the id time
    order gives it, its reason and its record line saying the review came late; the review's own
    escalation (due 1 December) is taken back first."""
    base = [arriving(e, epoch(e["time"])) for e in (*general_confirmed(), penalized("2026-11-20 10:00"))]
    review = legal_reviewed("2026-11-27 10:00", overhaul_id())
    rp = feed([*base, arriving(review, "2026-12-08 09:00")], until="2026-12-20 00:00")
    assert [e["data"]["action"] for e in events(rp, "safety.escalation.raised", rule_id=RULE)] == [
        "proposal_overdue", "failure_withdrawn", "decision_overdue"]
    told = raised_late(rp, review, "2026-12-08T09:00:00+08:00", (
        f"; raised late: the legal review {review['event_id']} that approved it reached the engine on "
        "2026-12-08T09:00:00+08:00, after the decision was due"))
    assert told["data"]["reason_zh"].endswith(
        f"；迟报督办：批准该建议的法制审核 {review['event_id']} 于 2026-12-08T09:00:00+08:00 送达引擎，"
        "晚于执法决定期限")
    assert [t["id"] for t in late_decision(approved_then())] == [told["id"]]
    # An order made by the due time and recorded later still takes it back, as it would in time.
    in_time_order = arriving(order("2026-12-03 15:00"), "2026-12-10 09:00")
    later = feed([*base, arriving(review, "2026-12-08 09:00"), in_time_order], until="2026-12-20 00:00")
    [back] = [b for b in taken_back(later)
              if b["data"]["rule_id"] == RULE and b["time"].startswith("2026-12-10")]
    assert back["data"]["due_at"] == iso_end("2026-12-04") and back["id"] != told["id"]


def test_an_order_made_too_late_on_file_before_a_late_approval_does_not_keep_the_escalation_down() -> None:
    """Approved on 27 November (the order due by 4 December), the review recorded on the 8th; the
    order, made on the 5th, a day late, was recorded that day, before the review. In time order
    the escalation went on the 4th and the order answered it late: it stands. The order on file
    when the review came is no decision by the due time, so the review raises it (found by the
    decision property with 30,000 random examples: before, nothing was ever escalated)."""
    base = [arriving(e, epoch(e["time"])) for e in (*general_confirmed(), penalized("2026-11-20 10:00"))]
    review = legal_reviewed("2026-11-27 10:00", overhaul_id())
    too_late = arriving(order("2026-12-05 10:00"), "2026-12-05 10:00")
    rp = feed([*base, too_late, arriving(review, "2026-12-08 09:00")], until="2026-12-20 00:00")
    [told] = late_decision(rp)
    assert told["time"] == "2026-12-08T09:00:00+08:00" and told["data"]["caused_by"] == [review["event_id"]]
    assert [b for b in taken_back(rp) if b["data"]["due_at"] == iso_end("2026-12-04")] == []
    assert [t["id"] for t in late_decision(approved_then(too_late))] == [told["id"]]
    [view] = hazard_view(rp.states[HZ], RULES, at("2026-12-20 00:00"))["proposals"][1:]
    assert view["decision"]["status"] == "answered_late"


def test_an_approval_recorded_before_the_decision_s_due_time_leaves_it_to_the_clock() -> None:
    """Reaching the engine before the decision was due (however late for its own time), or with no
    arrival the intake could vouch for, the review raises nothing itself: the clock escalates at the
    due time, as it always did."""
    base = [arriving(e, epoch(e["time"])) for e in (*general_confirmed(), penalized("2026-11-20 10:00"))]
    review = legal_reviewed("2026-11-27 10:00", overhaul_id())
    rp = feed([*base, arriving(review, "2026-12-03 09:00")], until="2026-12-20 00:00")
    [told] = late_decision(rp)
    assert told["time"] == iso_end("2026-12-04") and "raised late" not in told["data"]["reason"]
    unvouched = Replay(RULES)
    for e in base:
        unvouched.advance_to(epoch(e["arrived_at"]))
        unvouched.feed(e, now=epoch(e["arrived_at"]))
    unvouched.advance_to(at("2026-12-08 09:00"))
    unvouched.feed(review, now=at("2026-12-08 09:00"))  # no `arrived_at`
    [told] = late_decision(unvouched)
    assert told["time"] == iso_end("2026-12-04") and told["data"]["caused_by"] != [review["event_id"]]
    assert "raised late" not in told["data"]["reason"]


def test_every_record_line_of_the_decision_s_watch_reads_in_chinese() -> None:
    """The lines the watch writes to the record (三项制度): escalated, and taken back by a late order or
    by a verdict of unfounded dated before its due time."""
    from engine.zh.words import Words

    zh = Words("zh", RULES.reference)
    late_order = arriving(order("2026-12-04 15:00"), "2026-12-08 09:00")
    late_verdict = arriving(verify(HZ, "2026-12-02 10:00", "unfounded", None), "2026-12-08 10:00")
    lines = []
    for late in (late_order, late_verdict):
        h = feed([*reviewed_on_time(), late], until="2026-12-20 00:00").states[HZ]
        lines += [w for _, _, w in h.timeline() if w.startswith("proposal ")]
    assert len(lines) == 4  # the escalation and its take-back, twice
    said = {w: zh.timeline_item(0, "e", w).get("what_zh") for w in lines}
    assert all(said.values()), said
    assert any("撤回执法决定逾期督办" in s for s in said.values())
