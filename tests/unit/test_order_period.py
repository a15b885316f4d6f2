"""A written order to rectify within a time limit (责令限期整改) sets the deadline the ladder runs against.

安全生产法 (2021) art. 102 fines an enterprise that does not eliminate a hazard "立即或者限期": the
period is the order's (`until`, contract section 3), longer or shorter than the engine's default.
The hazard of test_decide is confirmed on 3 November 2026 and due, by default, on the 10th.
"""

from __future__ import annotations

from itertools import permutations
from typing import Any

from decide_fixtures import (
    INSPECTORS,
    RULES,
    at,
    complete,
    events,
    ext_decision,
    ext_request,
    iso_end,
    report,
    review,
    run,
    verify,
)
from decide_fixtures import event as timeline_event
from test_decide import general_confirmed
from test_late_arrival import arriving, feed

from engine.kernel.time import epoch
from engine.zh.words import Words

HZ = "HZ-1"


def rectify_within(time: str, until: str, order_no: str = "责改〔2026〕1号") -> dict[str, Any]:
    [entry] = timeline_event("safety.enforcement.ordered", time, {
        "hazard_id": HZ, "order_no": order_no, "order": "rectify_within", "until": until,
        "legal_basis": "安全生产法 art. 102", "by": INSPECTORS}, HZ)
    return entry


def ladder(rp: Any) -> list[tuple[str, str]]:
    return [(e["data"]["rule_id"], e["time"]) for e in events(rp, "safety.escalation.raised")
            if e["data"]["rule_id"].startswith("ladder.") and e["data"]["action"] != "failure_withdrawn"]


def test_a_longer_order_moves_the_ladder_and_its_fine_to_the_order_s_period() -> None:
    rp = run(*general_confirmed(), rectify_within("2026-11-03 11:00", "2026-11-30"), until="2026-12-20 00:00")
    assert rp.states[HZ].deadline == at("2026-11-30 23:59:59")
    [fine] = events(rp, "safety.enforcement.proposed", measure="fine")
    assert fine["time"] == iso_end("2026-12-07")
    assert ladder(rp)[0] == ("ladder.blue", iso_end("2026-11-28"))
    line = ("order 责改〔2026〕1号: rectify_within until 2026-11-30 (安全生产法 art. 102); the rectification "
            "deadline becomes 2026-11-30T23:59:59+08:00")
    assert line in [w for _, _, w in rp.states[HZ].history]
    assert Words("zh", RULES.reference).record(line) == (
        "责改〔2026〕1号：责令限期整改，至 2026-11-30（安全生产法 art. 102）；"
        "整改期限改为 2026-11-30T23:59:59+08:00")


def test_a_shorter_order_brings_the_ladder_forward() -> None:
    """The missed-duty case: an order of 2 days is the enterprise's deadline, not the default 7."""
    rp = run(*general_confirmed(), rectify_within("2026-11-03 11:00", "2026-11-05"), until="2026-11-14 00:00")
    [fine] = events(rp, "safety.enforcement.proposed", measure="fine")
    assert fine["time"] == iso_end("2026-11-12")


def test_an_order_made_before_the_confirmation_is_the_deadline_once_the_hazard_is_confirmed() -> None:
    rp = run(report(HZ, "2026-11-02 09:00"), rectify_within("2026-11-02 10:00", "2026-11-20"),
             verify(HZ, "2026-11-03 10:00"), until="2026-11-05 00:00")
    assert rp.states[HZ].deadline == at("2026-11-20 23:59:59")


def test_an_order_whose_period_ran_out_before_the_confirmation_gives_the_grade_s_time_from_then() -> None:
    """As for a report's rectify_by: a period nobody was yet confirmed to be running does not run the
    ladder at once."""
    rp = run(report(HZ, "2026-11-02 09:00"), rectify_within("2026-11-02 10:00", "2026-11-03"),
             verify(HZ, "2026-11-05 10:00"), until="2026-11-06 00:00")
    assert rp.states[HZ].deadline == at("2026-11-12 23:59:59")


def test_an_order_whose_until_had_passed_when_made_gives_no_deadline_and_the_record_says_so() -> None:
    rp = run(*general_confirmed(), rectify_within("2026-11-04 11:00", "2026-11-03"), until="2026-11-05 00:00")
    assert rp.states[HZ].deadline == at("2026-11-10 23:59:59")
    [line] = [w for _, _, w in rp.states[HZ].history if w.startswith("order ")]
    assert line.endswith("; its until had passed when it was made: no deadline from it")
    assert Words("zh", RULES.reference).record(line).endswith("作出时所限期限已过，不据以确定整改期限")


def test_a_failed_review_while_the_order_s_period_runs_leaves_the_enterprise_that_period() -> None:
    rp = run(*general_confirmed(), rectify_within("2026-11-03 11:00", "2026-11-30"),
             complete(HZ, "2026-11-05 09:00"), review(HZ, "2026-11-06 10:00", "failed"),
             until="2026-11-20 00:00")
    assert rp.states[HZ].deadline == at("2026-11-30 23:59:59") and rp.states[HZ].cycle == 1
    # An order made after a failed review sets the new cycle's deadline, even a shorter one.
    rp = run(*general_confirmed(), complete(HZ, "2026-11-05 09:00"), review(HZ, "2026-11-06 10:00", "failed"),
             rectify_within("2026-11-06 11:00", "2026-11-08"), until="2026-11-07 00:00")
    assert rp.states[HZ].deadline == at("2026-11-08 23:59:59")


def test_an_older_order_recorded_after_a_newer_one_does_not_set_the_deadline_back() -> None:
    rp = run(*general_confirmed(), rectify_within("2026-11-04 11:00", "2026-11-30", "责改2"),
             rectify_within("2026-11-03 11:00", "2026-11-20", "责改1"), until="2026-11-05 00:00")
    assert rp.states[HZ].deadline == at("2026-11-30 23:59:59")


def test_an_order_recorded_late_takes_back_what_ran_after_it_and_its_ladder_counts_from_its_arrival() -> None:
    """Made on the 4th (by the 30th), synced on the 20th: the steps of the 10th's ladder that ran after
    the 4th, the fine with them, are withdrawn. A shorter order synced after its period ran out runs
    its ladder at once, and the fine's time to be decided counts from when the order came."""
    entries = [arriving(e, epoch(e["time"])) for e in general_confirmed()]
    late = arriving(rectify_within("2026-11-04 11:00", "2026-11-30"), "2026-11-20 09:00")
    rp = feed([*entries, late], until="2026-11-25 00:00")
    [fine] = events(rp, "safety.enforcement.proposed", measure="fine")
    [gone] = events(rp, "safety.enforcement.withdrawn")
    assert gone["data"]["proposal_id"] == fine["data"]["proposal_id"]
    assert gone["time"] == "2026-11-20T09:00:00+08:00"
    assert rp.states[HZ].step == 0 and rp.states[HZ].deadline == at("2026-11-30 23:59:59")
    late = arriving(rectify_within("2026-11-04 11:00", "2026-11-06"), "2026-11-20 09:00")
    rp = feed([*entries, late], until="2026-11-21 00:00")
    fines = events(rp, "safety.enforcement.proposed", measure="fine")  # the 10th's, withdrawn; the 6th's
    assert [f["time"] for f in fines] == [iso_end("2026-11-17"), iso_end("2026-11-13")]
    [gone] = events(rp, "safety.enforcement.withdrawn")
    assert gone["data"]["proposal_id"] == fines[0]["data"]["proposal_id"]
    assert fines[1]["data"]["due_counted_from"] == "2026-11-20T09:00:00+08:00"


def test_a_refused_extension_decided_after_an_order_leaves_it_the_deadline_whatever_arrives_first() -> None:
    """A refusal moves no deadline, so the order made before it stands (review finding 4: an order
    that reached the engine after the refusal was ignored, and the ladder fined inside its period).
    An approval decided after an order moves the deadline as ever; an order made after it sets it."""
    records = [ext_request(HZ, "2026-11-04 09:00", "2026-11-20"),
               rectify_within("2026-11-04 12:00", "2026-11-30"), ext_decision(HZ, "2026-11-05 09:00")]
    for order in permutations(records):
        rp = run(*general_confirmed(), *order, until="2026-11-09 00:00")
        assert rp.states[HZ].deadline == at("2026-11-30 23:59:59"), order
    # Approved, then ordered, then refused: the order's period, whenever the refusal and the order
    # arrive (an approval arriving after the order or the refusal is another matter: README, Known
    # limits).
    records = [ext_request(HZ, "2026-11-04 09:00", "2026-11-20"),
               ext_decision(HZ, "2026-11-04 10:00", "2026-11-20"),
               rectify_within("2026-11-04 12:00", "2026-11-30"),
               ext_request(HZ, "2026-11-05 09:00", "2026-12-20"), ext_decision(HZ, "2026-11-06 09:00")]
    for order in permutations(records[2:]):
        rp = run(*general_confirmed(), *records[:2], *order, until="2026-11-09 00:00")
        assert rp.states[HZ].deadline == at("2026-11-30 23:59:59"), order
    records[2] = rectify_within("2026-11-04 09:30", "2026-11-30")  # made before the approval
    for order in permutations(records[2:]):
        rp = run(*general_confirmed(), *records[:2], *order, until="2026-11-09 00:00")
        assert rp.states[HZ].deadline == at("2026-11-20 23:59:59"), order


def ordered(time: str, kind: str, until: str | None = None) -> dict[str, Any]:
    order_no = "责改〔2026〕1号"
    [entry] = timeline_event("safety.enforcement.ordered", time, {
        "hazard_id": HZ, "order_no": order_no, "order": kind, "legal_basis": "安全生产法 art. 102",
        "by": INSPECTORS} | ({"until": until} if until else {}), HZ)
    return entry


def test_an_order_corrected_under_its_number_is_its_latest_record_by_time_whatever_arrives_first() -> None:
    """Review finding 3: an order first recorded as `suspend`, then corrected under its number to
    rectify_within with until, raised ValueError in the decider (the record a dead letter, the period
    lost), and a corrected until was ignored. The latest record of an order number by its own time
    stands: its kind, its until; the order counts as made when its first record says."""
    cases = [(("suspend", None), ("rectify_within", "2026-11-30"), "2026-11-30 23:59:59"),
             (("rectify_within", "2026-11-30"), ("rectify_within", "2026-11-20"), "2026-11-20 23:59:59"),
             (("rectify_within", "2026-11-20"), ("rectify_within", "2026-11-30"), "2026-11-30 23:59:59"),
             (("rectify_within", "2026-11-30"), ("suspend", None), "2026-11-10 23:59:59"),
             (("rectify_within", "2026-11-30"), ("rectify_within", "2026-11-03"), "2026-11-10 23:59:59")]
    for first, then, deadline in cases:
        records = [ordered("2026-11-04 11:00", *first), ordered("2026-11-04 12:00", *then)]
        for order in (records, records[::-1]):
            rp = run(*general_confirmed(), *order, until="2026-11-05 00:00")
            h = rp.states[HZ]
            assert h.deadline == at(deadline), (first, then, order is records)
            assert [o[1:3] for o in h.orders] == [[then[0], at("2026-11-04 11:00")]]


def test_a_correction_s_words_say_which_record_stands() -> None:
    words = Words("zh", RULES.reference)
    rp = run(*general_confirmed(), ordered("2026-11-04 11:00", "rectify_within", "2026-11-30"),
             ordered("2026-11-04 12:00", "suspend"), until="2026-11-05 00:00")
    line = "order 责改〔2026〕1号: suspend (安全生产法 art. 102); the rectification deadline becomes " \
           "2026-11-10T23:59:59+08:00"
    assert line in [w for _, _, w in rp.states[HZ].history]
    assert words.record(line) == ("责改〔2026〕1号：责令停产停业（安全生产法 art. 102）；"
                                  "整改期限改为 2026-11-10T23:59:59+08:00")
    rp = run(*general_confirmed(), ordered("2026-11-04 12:00", "suspend"),
             ordered("2026-11-04 11:00", "rectify_within", "2026-11-30"), until="2026-11-05 00:00")
    line = ("order 责改〔2026〕1号: rectify_within until 2026-11-30 (安全生产法 art. 102); corrected by its "
            "record of 2026-11-04T12:00:00+08:00")
    assert line in [w for _, _, w in rp.states[HZ].history]
    assert words.record(line) == ("责改〔2026〕1号：责令限期整改，至 2026-11-30（安全生产法 art. 102）；"
                                  "已由其 2026-11-04T12:00:00+08:00 的记录更正")
    said = words.record("order 责改〔2026〕1号: suspend (安全生产法 art. 102); corrected by its record of "
                        "2026-11-04T12:00:00+08:00")
    assert said == ("责改〔2026〕1号：责令停产停业（安全生产法 art. 102）；"
                    "已由其 2026-11-04T12:00:00+08:00 的记录更正")


def test_a_correction_that_takes_the_period_away_late_says_so_when_it_takes_steps_back() -> None:
    """Ordered on the 4th to rectify by the 5th, corrected on the 6th to a suspension (no period),
    the correction synced on the 12th: the steps that ran against the 5th after the 6th are taken
    back, and the record says the correction left the deadline, not that a period was ordered."""
    entries = [arriving(e, epoch(e["time"])) for e in general_confirmed()]
    entries.append(arriving(ordered("2026-11-04 11:00", "rectify_within", "2026-11-05"), "2026-11-04 11:00"))
    late = arriving(ordered("2026-11-06 10:00", "suspend"), "2026-11-12 09:00")
    rp = feed([*entries, late], until="2026-11-12 10:00")
    h = rp.states[HZ]
    assert h.deadline == at("2026-11-10 23:59:59")
    [line] = [w for _, _, w in h.history if w.startswith("ladder steps")]
    assert line.endswith("withdrawn: the order corrected on 2026-11-06T10:00:00+08:00 left the deadline "
                         "2026-11-10T23:59:59+08:00")
    assert Words("zh", RULES.reference).record(line).endswith(
        "责令已于 2026-11-06T10:00:00+08:00 更正，整改期限为 2026-11-10T23:59:59+08:00")
