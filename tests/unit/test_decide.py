"""The hazard decision core: every lifecycle transition and every rule of rules/hazards.yaml.

Entries are built by the real intake (decide_fixtures), so each test also goes
through the contract's validation. Dates are in 2026, which the holiday data covers.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from decide_fixtures import (
    ENTERPRISE,
    RULES,
    at,
    complete,
    edited_rules,
    end_of,
    entry_time,
    escalations,
    events,
    ext_decision,
    ext_request,
    finding,
    hazard_entries,
    inspection,
    iso_end,
    outs_data,
    plan,
    progress,
    report,
    review,
    run,
    target_ids,
    verify,
)

from engine.contract.outputs import OUTPUT_TYPES
from engine.decide.core import decide
from engine.decide.replay import Replay, clock_entry
from engine.decide.state import Hazard
from engine.kernel.copies import AGAIN
from engine.kernel.time import iso
from engine.reference import RulesFileError
from engine.ruleset import load_rules
from engine.zh.words import Words

HZ = "HZ-1"
MAJOR = "HZ-M"
ENT = ("enterprise", ENTERPRISE["uscc"])
FIRE = ("department", "fire_rescue")  # lead department of sector fire_safety
BUREAU = ("department", "safety_bureau")
DISCIPLINE = ("department", "discipline_inspection")
TOWN = ("town", "lihaiwu")
TOWN_GOV = ("town_government", "lihaiwu")
TOWN_OFFICE = ("unit", "lihaiwu_safety_office")
NOTICE = "度假区挂督〔2026〕HZ-M"
NAMES = {ENTERPRISE["uscc"]: ENTERPRISE["name"], "fire_rescue": "区消防救援大队", "safety_bureau": "区安监局",
         "lihaiwu": "李海务街道", "lihaiwu_safety_office": "李海务街道安监站"}


def general_confirmed(**report_kw) -> list[dict]:
    """A general hazard reported Mon 2 Nov 2026 and confirmed on Tue 3 Nov: deadline 10 Nov."""
    return [report(HZ, "2026-11-02 09:00", **report_kw), verify(HZ, "2026-11-03 10:00")]


def major_confirmed(**report_kw) -> list[dict]:
    """A major hazard reported Mon 2 Mar 2026 and confirmed Tue 3 Mar: listed, deadline 1 Jun."""
    return [report(MAJOR, "2026-03-02 09:00", grade="major", **report_kw),
            verify(MAJOR, "2026-03-03 10:00", grade="major")]


def step(entries: list[dict], state: Hazard | None = None) -> tuple[Hazard, list]:
    """Apply entries one by one with `decide`, each at its own time; return the state and all outputs."""
    outs: list = []
    for e in entries:
        state, more = decide(state, e, RULES)
        outs += more
    assert state is not None
    return state, outs


# --- opening: the report and the verification duty ----------------------------------------------


def test_report_opens_a_hazard_with_a_verify_clock() -> None:
    """A report opens the hazard as 'reported' with the verify clock due after 3 working days."""
    h, outs = decide(None, report(HZ, "2026-11-02 09:00"), RULES)
    assert h.status() == "reported" and h.is_open()
    assert (h.origin, h.sector, h.town, h.enterprise) == (
        "report", "fire_safety", "lihaiwu", [ENTERPRISE["uscc"], ENTERPRISE["name"]])
    assert h.clocks == {"verify": end_of("2026-11-05")}  # Tue, Wed, Thu
    assert outs == []


@pytest.mark.parametrize(("reported", "due"), [
    ("2026-11-05 16:00", "2026-11-10"),  # Thu: Fri, (weekend), Mon, Tue
    ("2026-09-30 09:00", "2026-10-10"),  # National Day 1-7 Oct; Sat 10 Oct is a make-up working day
    ("2026-09-24 09:00", "2026-09-30"),  # Mid-autumn 25-27 Sep
    ("2026-04-02 09:00", "2026-04-08"),  # Qingming 4-6 Apr
])
def test_verify_clock_counts_working_days_over_weekends_and_holidays(reported: str, due: str) -> None:
    """The verify clock skips weekends and PRC holidays and counts make-up working days."""
    h, _ = decide(None, report(HZ, reported), RULES)
    assert h.clocks == {"verify": end_of(due)}
    assert not h.approx


# --- verification --------------------------------------------------------------------------------


def test_confirmed_general_hazard_gets_7_days_and_the_ladder_clock() -> None:
    """A general hazard confirmed on 3 Nov is due at the end of 10 Nov; the ladder starts 2 days earlier."""
    h, outs = step(general_confirmed())
    assert h.status() == "verified"
    assert (h.verdict, h.grade, h.cycle) == ("confirmed", "general", 0)
    assert h.deadline == end_of("2026-11-10")
    assert h.clocks == {"ladder": end_of("2026-11-08")}  # ladder.blue at -2 days; no verify clock
    assert outs == []


def test_rectify_by_overrides_the_grade_window() -> None:
    """A rectify_by set by the reporter is the deadline instead of the 7-day default."""
    h, _ = step(general_confirmed(rectify_by="2026-11-20"))
    assert h.deadline == end_of("2026-11-20")
    assert h.clocks == {"ladder": end_of("2026-11-18")}


def test_rectify_by_of_a_finding_overrides_the_grade_window() -> None:
    """A law-enforcement finding's rectify_by (a time) is its deadline."""
    entries = inspection("2026-11-02 10:00", [finding("HZ-F", rectify_by="2026-11-25 18:00")])
    h, _ = step(hazard_entries(entries))
    assert h.deadline == at("2026-11-25 18:00")


@pytest.mark.parametrize("verdict", ["unfounded", "duplicate"])
def test_unfounded_or_duplicate_verdict_closes_without_clocks(verdict: str) -> None:
    """An unfounded or duplicate verdict closes the hazard: no clocks, and nothing is ever escalated."""
    rp = run(report(HZ, "2026-11-02 09:00"),
             verify(HZ, "2026-11-03 10:00", verdict, None, duplicate_of="HZ-0"),
             until="2026-12-31 00:00")
    h = rp.states[HZ]
    assert h.status() == verdict and not h.is_open()
    assert h.clocks == {} and h.deadline is None
    assert h.duplicate_of == ("HZ-0" if verdict == "duplicate" else None)
    assert rp.outputs == []


def test_verification_before_the_report_waits_for_it() -> None:
    """A verification that arrives before the report leaves an orphan; the report then opens it, confirmed."""
    h, outs = decide(None, verify(HZ, "2026-11-03 10:00"), RULES)
    assert h.status() == "orphan" and h.clocks == {} and outs == []
    h, outs = decide(h, report(HZ, "2026-11-02 09:00"), RULES)
    assert h.status() == "verified"
    assert h.deadline == end_of("2026-11-10")
    assert h.clocks == {"ladder": end_of("2026-11-08")}


# --- rectification: plan, progress, completion, review -------------------------------------------


def test_plan_progress_complete_and_review_move_the_status() -> None:
    """Plan, progress, completion and a passed review give planned, in_progress, completed, closed."""
    h, _ = step(general_confirmed())
    h, outs = decide(h, plan(HZ, "2026-11-04 09:00", "2026-11-09"), RULES)
    assert h.status() == "planned" and h.plan_target == end_of("2026-11-09") and outs == []
    h, outs = decide(h, progress(HZ, "2026-11-05 09:00", 40), RULES)
    assert h.status() == "in_progress" and h.progress == 40 and outs == []
    h, outs = decide(h, complete(HZ, "2026-11-06 09:00"), RULES)
    assert h.status() == "completed" and outs == []
    assert h.clocks == {"review": end_of("2026-11-16")}  # the ladder stops; review within 10 days
    h, outs = decide(h, review(HZ, "2026-11-07 09:00", "passed"), RULES)
    assert h.status() == "closed" and h.closed_how == "passed"
    assert h.clocks == {} and outs == []


def test_progress_never_goes_back() -> None:
    """A lower percentage arriving later does not lower the recorded progress."""
    h, _ = step(general_confirmed() + [progress(HZ, "2026-11-05 09:00", 80),
                                        progress(HZ, "2026-11-04 09:00", 30)])
    assert h.progress == 80


def test_completion_claim_stops_the_ladder() -> None:
    """A hazard claimed complete before its deadline gets no ladder escalation, only the review duty."""
    rp = run(*general_confirmed(), complete(HZ, "2026-11-06 09:00"), until="2026-11-16 00:00")
    assert escalations(rp) == []


def test_closed_hazard_ignores_a_late_completion_claim() -> None:
    """A completion claim after the hazard was closed does not reopen it."""
    h, _ = step(general_confirmed() + [complete(HZ, "2026-11-06 09:00"), review(HZ, "2026-11-07 09:00"),
                                        complete(HZ, "2026-11-08 09:00")])
    assert h.status() == "closed" and h.completed_at is None and h.clocks == {}


def test_failed_review_starts_a_new_cycle_of_7_days_for_a_general_hazard() -> None:
    """A failed review of a general hazard sets a new deadline 7 days on, and the ladder starts again."""
    rp = run(*general_confirmed(), complete(HZ, "2026-11-07 09:00"),
             review(HZ, "2026-11-12 15:00", "failed"), until="2026-11-30 00:00")
    h = rp.states[HZ]
    assert (h.cycle, h.cycle_start, h.deadline) == (1, at("2026-11-12 15:00"), end_of("2026-11-19"))
    assert h.status() == "verified" and h.completed_at is None
    # Nothing escalated in the first cycle (claimed complete in time); the second runs the ladder anew.
    blue = escalations(rp, rule_id="ladder.blue")
    assert [e["due_at"] for e in blue] == [iso_end("2026-11-19")]
    assert events(rp, "safety.escalation.raised", rule_id="ladder.blue")[0]["time"] == iso_end("2026-11-17")
    assert [e["rule_id"] for e in escalations(rp)] == [
        "ladder.blue", "ladder.yellow", "ladder.yellow", "ladder.orange", "ladder.red"]


def test_ladder_restarts_after_a_failed_review_with_new_ids() -> None:
    """Ladder steps fired in cycle 0 fire again in cycle 1 under new ids. The 7 days after the review
    of Sunday 15 Nov end on Sunday 22 Nov, a rest day, so the new deadline is Monday 23 Nov (民法典
    art. 203 para. 1; the 22nd until 2026-12-07)."""
    rp = run(*general_confirmed(), until="2026-11-14 00:00")  # blue, yellow, orange fired
    first = {e["escalation_id"] for e in escalations(rp)}
    assert rp.states[HZ].step == 3 and rp.states[HZ].tier == "orange"
    for e in (complete(HZ, "2026-11-14 09:00"), review(HZ, "2026-11-15 09:00", "failed")):
        rp.feed(e, now=entry_time(e))
    h = rp.states[HZ]
    assert (h.step, h.tier, h.deadline) == (0, None, end_of("2026-11-23"))
    assert h.clocks == {"ladder": end_of("2026-11-21")}
    rp.advance_to(at("2026-11-22 00:00"))
    [blue2] = escalations(rp, rule_id="ladder.blue", due_at=iso_end("2026-11-23"))
    assert blue2["escalation_id"] not in first


def test_a_failed_review_sent_again_under_a_fresh_event_id_is_one_review() -> None:
    """An inspector's tablet that retries a failed review with a new event id at once, and sends it
    again three days later with its note put right (reaching the engine late): one review. The
    cycle, its deadline and its ladder stand as the first set them; counted again, the ladder ran
    twice, its supervision letter, summons and enforcement proposals sent again under new ids, and
    the late one moved the time its proposals count from. The record says each came again."""
    failed = review(HZ, "2026-11-15 09:00", "failed")
    once = run(*general_confirmed(), complete(HZ, "2026-11-14 09:00"), failed, until="2026-12-31 00:00")
    again = run(*general_confirmed(), complete(HZ, "2026-11-14 09:00"), failed,
                review(HZ, "2026-11-15 09:00", "failed"), until="2026-11-18 09:00")
    corrected = review(HZ, "2026-11-15 09:00", "failed")
    corrected = {**corrected, "data": {**corrected["data"], "note": "Exit still blocked; photos attached."},
                 "arrived_at": iso_end("2026-11-18")}
    again.feed(corrected, now=at("2026-11-18 09:00"))
    again.advance_to(at("2026-12-31 00:00"))
    assert [o.id for _, o in again.outputs] == [o.id for _, o in once.outputs]
    h = again.states[HZ]
    assert (h.cycle, h.deadline) == (1, end_of("2026-11-23")) and "cycle" not in h.arrived  # Sun 22nd: Mon
    assert [line for _, _, line in h.history if line.startswith(("review", "recorded again"))] == [
        "review failed: new deadline 2026-11-23T23:59:59+08:00", AGAIN,
        "review failed: recorded again, counted once"]


def test_failed_review_gives_a_major_hazard_30_days() -> None:
    """A failed review of a major hazard sets a new deadline 30 days on: 3 May 2026, in the Labour
    Day rest of 1-5 May, so the first working day after it, 6 May (民法典 art. 203 para. 1; 3 May
    until 2026-12-07)."""
    h, _ = step(major_confirmed() + [plan(MAJOR, "2026-03-04 09:00"), complete(MAJOR, "2026-04-01 09:00"),
                                      review(MAJOR, "2026-04-03 11:00", "failed")])
    assert (h.cycle, h.deadline) == (1, end_of("2026-05-06"))
    assert h.clocks["ladder"] == end_of("2026-05-04")


# --- the overdue ladder --------------------------------------------------------------------------


LADDER = [
    # rule_id, fires at, tier, actions, targets
    ("ladder.blue", "2026-11-08", "blue", ["remind"], [ENT]),
    ("ladder.yellow", "2026-11-10", "yellow", ["remind", "notify"], [ENT, TOWN_OFFICE]),
    ("ladder.orange", "2026-11-13", "orange", ["supervision_letter"], [FIRE, BUREAU]),
    ("ladder.red", "2026-11-17", "red", ["summon"], [FIRE, BUREAU, ENT, TOWN]),
]


@pytest.mark.parametrize(("rule_id", "day", "tier", "actions", "targets"), LADDER)
def test_each_ladder_step_escalates_with_its_actions_tier_and_targets(
        rule_id: str, day: str, tier: str, actions: list[str], targets: list[tuple[str, str]]) -> None:
    """Each ladder step fires at its offset from the deadline, one escalation per action, to its targets."""
    rp = run(*general_confirmed(), until="2026-11-30 00:00")
    raised = events(rp, "safety.escalation.raised", rule_id=rule_id)
    assert [e["data"]["action"] for e in raised] == actions
    for e in raised:
        d = e["data"]
        assert e["time"] == iso_end(day)
        assert d["tier"] == tier
        assert target_ids(d) == targets
        assert d["due_at"] == iso_end("2026-11-10")
        assert (d["subject_id"], d["subject_kind"], d["town"], d["sector"], d["grade"]) == (
            HZ, "hazard", "lihaiwu", "fire_safety", "general")
        assert d["rules_version"] == RULES.version
    # The targets carry names from the reference data.
    names = {t["id"]: t["name"] for e in raised for t in e["data"]["targets"]}
    assert names == {k: v for k, v in NAMES.items() if k in {i for _, i in targets}}


def test_ladder_tiers_only_climb_and_each_step_fires_once() -> None:
    """The ladder fires blue, yellow, orange, red in order, once each, and stops."""
    rp = run(*general_confirmed(), until="2026-11-30 00:00")
    tiers = [e["tier"] for e in escalations(rp) if e["rule_id"].startswith("ladder.")]
    assert tiers == ["blue", "yellow", "yellow", "orange", "red", "red"]  # red: summon, then overhaul notice
    h = rp.states[HZ]
    assert (h.step, h.tier) == (len(RULES.ladder), "red")
    assert "ladder" not in h.clocks


def test_a_hazard_without_enterprise_is_escalated_to_the_other_targets() -> None:
    """A hazard in a public place (no enterprise) drops the enterprise target, keeping the rest."""
    rp = run(*general_confirmed(enterprise=None), until="2026-11-11 00:00")
    assert [target_ids(e) for e in escalations(rp)] == [[], [TOWN_OFFICE], [TOWN_OFFICE]]


def test_red_step_proposes_a_fine_against_the_enterprise() -> None:
    """Seven days overdue, a fine (安全生产法 art. 102) is proposed against the enterprise, unreviewed."""
    rp = run(*general_confirmed(), until="2026-11-18 00:00")
    [out] = [o for _, o in rp.outputs if o.event["type"] == "safety.enforcement.proposed"]
    assert (out.topic, out.key) == ("enforcement.actions", HZ)
    e = out.event
    d = e["data"]
    assert e["time"] == iso_end("2026-11-17") and e["id"] == d["proposal_id"]
    assert d["enterprise"] == ENTERPRISE and d["hazard_id"] == HZ
    assert (d["measure"], d["amount_range_cny"], d["needs_legal_review"]) == (
        "fine", {"min": 0, "max": 50000}, False)
    assert "art. 102" in d["legal_basis"] and d["rule_id"] == "ladder.red"
    assert d["due_at"] == iso_end("2026-11-24")  # 5 working days to decide
    assert d["caused_by"] and d["rules_version"] == RULES.version


def test_still_unfixed_after_the_fine_an_overhaul_is_proposed_after_legal_review() -> None:
    """Fourteen days overdue, 停产停业整顿 is proposed, and it waits for legal review (法制审核)."""
    rp = run(*general_confirmed(), until="2026-11-30 00:00")
    proposals = events(rp, "safety.enforcement.proposed")
    assert [(p["data"]["measure"], p["time"]) for p in proposals] == [
        ("fine", iso_end("2026-11-17")), ("suspend_for_overhaul", iso_end("2026-11-24"))]
    overhaul = proposals[1]["data"]
    assert overhaul["needs_legal_review"] is True and overhaul["amount_range_cny"] is None
    assert overhaul["due_at"] == iso_end("2026-12-01")  # the legal review's clock
    assert "停产停业整顿" in overhaul["legal_basis"]


def test_a_completion_claim_before_red_means_no_proposal() -> None:
    """A hazard claimed done before the red step is not proposed for any enforcement."""
    rp = run(*general_confirmed(), complete(HZ, "2026-11-17 23:00"), until="2026-11-30 00:00")
    assert events(rp, "safety.enforcement.proposed") == []


def test_a_public_place_without_enterprise_gets_no_proposal() -> None:
    """With no enterprise there is nobody to fine: the ladder runs, nothing is proposed."""
    rp = run(*general_confirmed(enterprise=None), until="2026-11-30 00:00")
    assert events(rp, "safety.enforcement.proposed") == []
    assert escalations(rp, rule_id="ladder.red")


def test_proposal_ids_change_with_the_cycle() -> None:
    """A failed review restarts the ladder; its red step proposes no second fine for the same hazard
    (一事不再罚, 行政处罚法 art. 29), and its overhaul step's proposal is a new one, with a new id."""
    rp = run(*general_confirmed(), until="2026-11-18 00:00")
    first = events(rp, "safety.enforcement.proposed")[0]["id"]
    rp = run(*general_confirmed(), complete(HZ, "2026-11-18 09:00"), review(HZ, "2026-11-19 10:00", "failed"),
             until="2026-12-12 00:00")
    ids = [e["id"] for e in events(rp, "safety.enforcement.proposed")]
    assert ids[0] == first and len(ids) == 2 and ids[1] != first
    assert events(rp, "safety.enforcement.proposed")[1]["data"]["measure"] == "suspend_for_overhaul"


def test_a_general_hazard_is_never_listed_nor_referred() -> None:
    """A general hazard left unfixed past red is not listed (挂牌督办 is for major hazards) nor referred."""
    rp = run(*general_confirmed(), until="2026-12-31 00:00")
    assert events(rp, "safety.supervision.listed") == []
    assert events(rp, "safety.referral.discipline") == []
    h = rp.states[HZ]
    assert h.listed is None and h.tier == "red" and h.clocks == {}
    assert [e["data"]["measure"] for e in events(rp, "safety.enforcement.proposed")] == [
        "fine", "suspend_for_overhaul"]  # the enterprise answers through enforcement instead


# --- major hazards: listed supervision (挂牌督办) ---------------------------------------------------


def test_confirmed_major_hazard_is_listed_at_once() -> None:
    """Confirming a major hazard issues the listed-supervision notice at once, each field as the rules say."""
    h, outs = step(major_confirmed())
    [out] = outs
    assert out.topic == "supervision.listed" and out.key == MAJOR
    assert out.event["type"] == "safety.supervision.listed"
    assert out.event["time"] == "2026-03-03T10:00:00+08:00"
    d = out.event["data"]
    assert d["notice_no"] == NOTICE
    assert d["hazard_id"] == MAJOR
    assert d["enterprise"] == ENTERPRISE
    assert d["supervising_body"] == {"kind": "department", "id": "safety_bureau", "name": "区安监局"}
    assert target_ids(d, "responsible_units") == [TOWN_GOV, FIRE]  # 属地政府或部门
    assert d["deadline"] == iso_end("2026-06-01")  # 90 days
    assert d["legal_basis"] == RULES.supervision.legal_basis and "安全生产法" in d["legal_basis"]
    assert d["rules_version"] == RULES.version
    assert h.deadline == end_of("2026-06-01")
    assert h.clocks == {"plan": end_of("2026-03-06"), "ladder": end_of("2026-05-30"),
                        "supervision": end_of("2026-06-01")}


def test_major_deadline_is_capped_at_one_year() -> None:
    """A rectify_by more than a year after the notice is cut to the one-year maximum."""
    h, outs = step(major_confirmed(rectify_by="2027-06-30"))
    assert h.deadline == end_of("2027-03-03")
    assert outs_data(outs)[0]["deadline"] == iso_end("2027-03-03")


def test_a_general_hazard_re_graded_major_gets_the_major_window_from_the_re_grade() -> None:
    """Confirmed general on 3 Nov (due 10 Nov), confirmed major on 5 Nov: listed with 90 days from
    5 Nov, not the general 7 days, so nobody is referred for a notice's deadline five days away."""
    rp = run(general_confirmed(), verify(HZ, "2026-11-05 10:00", grade="major"), until="2026-11-20 00:00")
    h = rp.states[HZ]
    assert (h.grade, h.deadline, h.step) == ("major", end_of("2027-02-03"), 0)
    [listed] = outs_data([o for _, o in rp.outputs], "safety.supervision.listed")
    assert listed["deadline"] == iso_end("2027-02-03")
    assert h.clocks == {"ladder": end_of("2027-02-01"), "supervision": end_of("2027-02-03")}
    assert events(rp, "safety.referral.discipline") == []
    # a plan is still due 3 working days after the notice
    assert [e["rule_id"] for e in escalations(rp)] == ["supervision.listed.plan"]
    assert any(w == f"re-graded major: the deadline {iso_end('2026-11-10')} of the lower grade becomes "
                    f"{iso_end('2027-02-03')}" for _, _, w in h.history)


def test_a_general_deadline_stored_unmoved_on_a_rest_day_gives_way_to_the_major_window(tmp_path) -> None:
    """Confirmed general on Sat 14 Nov by rules that end a period on its last day, holiday or not
    (`periods.rest_day_moves_last_day: false`, as every deadline in days was counted before
    2026-12-07): due Sat 21 Nov. Confirmed major on 16 Nov under the shipped rules, which would
    have moved it to Mon 23 Nov: it is still the general grade's window, so the major grade's 90
    days run from the re-grade (Sun 14 Feb 2027, a rest day, so Mon 15 Feb), not the Saturday."""
    plain = load_rules(edited_rules(tmp_path, "hazards.yaml", "\n  rest_day_moves_last_day: true\n",
                                    "\n  rest_day_moves_last_day: false\n"))
    h = None
    for e in (report(HZ, "2026-11-13 09:00"), verify(HZ, "2026-11-14 10:00")):
        h, _ = decide(h, e, plain)
    assert h is not None and h.deadline == end_of("2026-11-21")
    h, _ = decide(h, verify(HZ, "2026-11-16 10:00", grade="major"), RULES)
    assert (h.grade, h.deadline) == ("major", end_of("2027-02-15"))


def test_a_re_graded_hazard_keeps_a_deadline_a_person_set() -> None:
    """The reporter's rectify_by is a date a person chose: the listing keeps it."""
    regraded = verify(HZ, "2026-11-05 10:00", grade="major")
    h, outs = step(general_confirmed(rectify_by="2026-11-20") + [regraded])
    assert h.deadline == end_of("2026-11-20")
    assert outs_data(outs, "safety.supervision.listed")[0]["deadline"] == iso_end("2026-11-20")


def test_a_hazard_re_graded_major_after_a_failed_review_gets_the_major_window_after_one() -> None:
    """After a failed review a general hazard has 7 days; confirmed major then, it has 30 from then."""
    h, _ = step(general_confirmed() + [complete(HZ, "2026-11-05 09:00"),
                                       review(HZ, "2026-11-06 10:00", "failed"),
                                       verify(HZ, "2026-11-09 10:00", grade="major")])
    assert (h.cycle, h.grade, h.deadline) == (1, "major", end_of("2026-12-09"))
    assert h.listed is not None and h.listed[2] == end_of("2026-12-09")


def test_missing_plan_escalates_three_working_days_after_the_notice() -> None:
    """No plan within 3 working days of the notice escalates to the enterprise, town, lead and supervisor."""
    rp = run(*major_confirmed(), until="2026-03-10 00:00")
    [esc] = escalations(rp)
    assert esc["rule_id"] == "supervision.listed.plan"
    assert (esc["action"], esc["tier"]) == ("notify", "orange")
    assert target_ids(esc) == [ENT, TOWN_GOV, FIRE, BUREAU]
    assert events(rp, "safety.escalation.raised")[0]["time"] == iso_end("2026-03-06")
    assert "plan" not in rp.states[MAJOR].clocks  # it fires once


def test_plan_filed_in_time_stops_the_plan_clock() -> None:
    """A plan filed within 3 working days removes the plan clock, and nothing is escalated."""
    rp = run(*major_confirmed(), plan(MAJOR, "2026-03-05 09:00"), until="2026-05-01 00:00")
    assert "plan" not in rp.states[MAJOR].clocks
    assert escalations(rp) == []


def test_missed_supervision_deadline_is_referred_to_discipline_inspection() -> None:
    """A major hazard open at its notice deadline refers the town government and lead, not the enterprise."""
    rp = run(*major_confirmed(), plan(MAJOR, "2026-03-04 09:00"), progress(MAJOR, "2026-04-01 09:00", 30),
             until="2026-06-30 00:00")
    [ref] = events(rp, "safety.referral.discipline")
    assert ref["time"] == iso_end("2026-06-02")  # a day for a completion claim dated in time to arrive
    d = ref["data"]
    assert target_ids(d, "respondents") == [TOWN_GOV, FIRE]
    assert d["respondents"][0]["name"] == "李海务街道办事处"
    assert d["grounds"] == "listed_supervision_failed"
    assert NOTICE in d["reason"]
    assert d["rules_version"] == RULES.version
    [esc] = escalations(rp, rule_id="referral.supervision_missed")
    assert (esc["action"], esc["tier"]) == ("discipline_referral", "red")
    assert target_ids(esc) == [DISCIPLINE, TOWN_GOV, FIRE]
    # The timeline carries every event and decision so far, in time order.
    whats = [item["what"] for item in d["timeline"]]
    assert whats[:5] == ["reported (major) via grid_patrol", "verified: confirmed (major)",
                         f"listed supervision {NOTICE}, deadline {iso_end('2026-06-01')}",
                         "rectification planned, target 2026-12-20T23:59:59+08:00",
                         "rectification 30% done"]
    assert whats[-1] == "referred to discipline inspection: referral.supervision_missed"
    times = [item["time"] for item in d["timeline"]]
    assert times == sorted(times, key=at)
    # Referred once only, and the supervision clock stops.
    assert "supervision" not in rp.states[MAJOR].clocks


def test_referral_timeline_is_in_time_order_when_events_arrive_out_of_order() -> None:
    """Events that arrive late still take their place by time in a referral's timeline."""
    rp = Replay(RULES)
    late_report = report(MAJOR, "2026-03-02 09:00", grade="major")
    for e in (verify(MAJOR, "2026-03-03 10:00", grade="major"), plan(MAJOR, "2026-03-04 09:00")):
        rp.feed(e, now=entry_time(e))
    rp.feed(late_report, now=at("2026-03-04 10:00"))  # the report reaches the engine last
    rp.advance_to(at("2026-06-30 00:00"))
    [ref] = events(rp, "safety.referral.discipline")
    times = [at(item["time"]) for item in ref["data"]["timeline"]]
    assert times == sorted(times)
    assert ref["data"]["timeline"][0]["what"] == "reported (major) via grid_patrol"


@pytest.mark.parametrize(("second", "reason", "open_"), [
    pytest.param(verify(MAJOR, "2026-03-10 10:00", grade="general"),
                 "re-graded general by the verification of 2026-03-10T10:00:00+08:00: listed supervision is "
                 "for major hazards only", True, id="re-graded-general"),
    pytest.param(verify(MAJOR, "2026-03-10 10:00", verdict="unfounded", grade=None),
                 "the verification of 2026-03-10T10:00:00+08:00 found it unfounded", False, id="unfounded"),
])
def test_a_listed_hazard_a_later_verification_finds_not_major_is_lifted_and_its_departments_never_referred(
        second: dict, reason: str, open_: bool) -> None:
    """Listed supervision is for major hazards only: re-graded general, or found unfounded, the hazard's
    listing is lifted (摘牌) with the notice that says why, in Chinese too. Until 2026-12-05 it stayed
    listed, and a hazard re-graded general had its departments referred to discipline inspection when
    the listing's deadline passed."""
    rp = run(*major_confirmed(), second, until="2026-12-31 00:00")
    [lifted] = events(rp, "safety.supervision.lifted")
    assert lifted["data"]["notice_no"] == NOTICE and lifted["data"]["reason"] == reason
    assert lifted["data"]["lifted_at"] == "2026-03-10T10:00:00+08:00"
    assert lifted["data"]["reason_zh"].startswith("经 2026-03-10T10:00:00+08:00 核查")
    OUTPUT_TYPES["safety.supervision.lifted"][1].model_validate(lifted["data"])
    assert events(rp, "safety.referral.discipline") == []
    h = rp.states[MAJOR]
    assert h.is_open() is open_ and not h.listed[3]
    assert "supervision" not in h.clocks and "plan" not in h.clocks
    if open_:  # a general hazard left unfixed still climbs its ladder
        assert escalations(rp, rule_id="ladder.red")


@pytest.mark.parametrize("verdict", ["unfounded", "duplicate"])
def test_a_hazard_found_unfounded_and_later_confirmed_is_open_again_not_lost(verdict: str) -> None:
    """The latest verification stands. Until 2026-12-05 a hazard an earlier verification had closed as
    unfounded (or a duplicate) stayed closed when a later one confirmed it: no deadline, no ladder,
    no listing, nothing ever escalated. It opens again, its deadline counted from the confirmation,
    and a major one is listed; the record says so."""
    rp = run(report(MAJOR, "2026-03-02 09:00", grade="major"),
             verify(MAJOR, "2026-03-02 15:00", verdict=verdict, grade=None, duplicate_of="HZ-OTHER"),
             verify(MAJOR, "2026-03-03 10:00", grade="major"), until="2026-03-04 00:00")
    h = rp.states[MAJOR]
    assert h.is_open() and h.status() == "verified" and h.duplicate_of is None
    assert h.deadline == end_of("2026-06-01")  # 90 days from the confirmation, as for any major hazard
    [listed] = events(rp, "safety.supervision.listed")
    assert listed["data"]["notice_no"] == NOTICE
    assert any(w.endswith(f"reopened: the verification of 2026-03-02T15:00:00+08:00 had found it {verdict}")
               for _, _, w in h.timeline())


def test_a_hazard_confirmed_again_after_an_unfounded_verdict_has_its_full_time_from_then() -> None:
    """Confirmed major on 3 Mar (deadline 1 Jun), found unfounded on 5 Mar, confirmed again on 10 Jun:
    the enterprise, told there was nothing to rectify, has 90 days from 10 Jun, not a deadline that
    passed while the hazard was closed (which would run its ladder at once)."""
    rp = run(*major_confirmed(), verify(MAJOR, "2026-03-05 10:00", verdict="unfounded", grade=None),
             verify(MAJOR, "2026-06-10 10:00", grade="major"), until="2026-06-12 00:00")
    h = rp.states[MAJOR]
    assert h.is_open() and h.deadline == end_of("2026-09-08") and h.step == 0
    assert escalations(rp) == []
    notices = [e["data"]["notice_no"] for e in events(rp, "safety.supervision.listed")]
    assert notices == [NOTICE, f"{NOTICE}-2"]


def test_a_hazard_confirmed_again_minutes_before_its_reports_deadline_has_its_full_time_from_then() -> None:
    """Reported with a deadline of 11 Apr (rectify_by), confirmed general, reminded on the 9th (blue),
    found unfounded on the 10th, confirmed major again at 23:56 on the 11th: the enterprise has the
    major grade's 90 days from then, not the four minutes left of the report's deadline, and the
    blue step is not sent again under the id it had with another grade (found by a random search:
    one id, two outputs)."""
    rp = run(report("HZ-R", "2026-03-02 08:00", rectify_by="2026-04-11"),
             verify("HZ-R", "2026-03-02 08:02", grade="general"),
             verify("HZ-R", "2026-04-10 23:56", verdict="unfounded", grade=None),
             verify("HZ-R", "2026-04-11 23:56", grade="major"), until="2026-04-20 00:00")
    h = rp.states["HZ-R"]
    assert h.is_open() and h.deadline == end_of("2026-07-10") and h.step == 0
    [blue] = [e for e in escalations(rp) if e["rule_id"] == "ladder.blue"]
    assert blue["grade"] == "general"
    sent = {}
    for _, out in rp.outputs:
        assert sent.setdefault(out.id, out.event) == out.event, out.id


def test_a_plan_for_a_second_notice_does_not_take_back_the_first_notices_missed_plan() -> None:
    """No plan came within 3 working days of the first notice (escalated on 6 Mar); re-graded general
    and confirmed major again, the hazard is listed anew, and the plan filed then answers the new
    notice only: the first escalation stands (a random search found it taken back)."""
    rp = run(*major_confirmed(), verify(MAJOR, "2026-03-09 10:00", grade="general"),
             verify(MAJOR, "2026-03-09 11:00", grade="major"), plan(MAJOR, "2026-03-09 12:00"),
             until="2026-03-20 00:00")
    assert len(escalations(rp, rule_id="supervision.listed.plan", action="notify")) == 1
    assert escalations(rp, rule_id="supervision.listed.plan", action="failure_withdrawn") == []


def test_a_hazard_whose_review_passed_stays_closed_whatever_verifications_come_later() -> None:
    """Rectified and accepted (复查验收 passed), then found unfounded, then confirmed: it stays closed,
    and its enterprise gets no ladder for a deadline it met."""
    rp = run(*general_confirmed(), complete(HZ, "2026-11-05 09:00"), review(HZ, "2026-11-06 10:00"),
             verify(HZ, "2026-11-07 10:00", verdict="unfounded", grade=None),
             verify(HZ, "2026-11-08 10:00", grade="general"), until="2026-12-31 00:00")
    assert not rp.states[HZ].is_open() and escalations(rp, rule_id="ladder.blue") == []
    assert events(rp, "safety.enforcement.proposed") == []


def test_a_hazard_re_graded_general_and_then_major_again_is_listed_again_under_a_notice_of_its_own() -> None:
    """Listed, lifted when re-graded general, listed again when confirmed major once more: the second
    notice has its own number (and id), so neither the notice nor its lifting is taken for the first."""
    rp = run(*major_confirmed(), verify(MAJOR, "2026-03-10 10:00", grade="general"),
             verify(MAJOR, "2026-03-12 10:00", grade="major"),
             verify(MAJOR, "2026-03-20 10:00", grade="general"), until="2026-03-21 00:00")
    notices = [e["data"]["notice_no"] for e in events(rp, "safety.supervision.listed")]
    assert notices == [NOTICE, f"{NOTICE}-2"]
    lifted = events(rp, "safety.supervision.lifted")
    assert [e["data"]["notice_no"] for e in lifted] == [NOTICE, f"{NOTICE}-2"]
    assert len({e["id"] for e in lifted}) == 2 and not rp.states[MAJOR].listed[3]


@pytest.mark.parametrize("grade", ["general", "major"])
def test_a_hazard_confirmed_after_its_reports_deadline_has_its_grades_time_from_then(grade: str) -> None:
    """Reported with rectify_by 4 Nov, confirmed on 6 Nov: the report's deadline passed before anyone
    confirmed the hazard. Until 2026-12-05 the whole ladder ran at once to a fine, and a major
    hazard's notice gave that deadline, its units referred for missing it a day before the notice
    existed. Now the deadline is the grade's time from the confirmation."""
    rp = run(report("HZ-P", "2026-11-02 09:00", grade=grade, rectify_by="2026-11-04"),
             verify("HZ-P", "2026-11-06 10:00", grade=grade), until="2026-11-12 00:00")
    h = rp.states["HZ-P"]
    assert h.deadline == {"general": end_of("2026-11-13"), "major": end_of("2027-02-04")}[grade]
    assert escalations(rp, rule_id="ladder.yellow") == [] and events(rp, "safety.enforcement.proposed") == []
    assert all(e["data"]["grounds"] == "duty_failure" for e in events(rp, "safety.referral.discipline"))
    if grade == "major":
        [listed] = events(rp, "safety.supervision.listed")
        assert listed["data"]["deadline"] == iso_end("2027-02-04")


def test_a_hazard_re_graded_major_after_its_set_deadline_passed_is_listed_with_time_of_its_own() -> None:
    """Confirmed general with a deadline a person set (6 Nov), confirmed major on 9 Nov after it passed:
    the notice cannot give a deadline already gone, nor its units be referred for missing it. It
    gives the major grade's 90 days from itself: they end on 7 Feb 2027, a Sunday in the Spring
    Festival days the statutory holidays give for 2027 (no notice for 2027 yet), so on the first
    working day after them, 11 Feb (民法典 art. 203 para. 1; 7 Feb until 2026-12-07)."""
    rp = run(report("HZ-P", "2026-11-02 09:00", rectify_by="2026-11-06"),
             verify("HZ-P", "2026-11-03 10:00"), verify("HZ-P", "2026-11-09 10:00", grade="major"),
             until="2026-11-20 00:00")
    [listed] = events(rp, "safety.supervision.listed")
    assert listed["data"]["deadline"] == iso_end("2027-02-11")
    assert not [e for e in events(rp, "safety.referral.discipline")
                if e["data"]["grounds"] == "listed_supervision_failed"]
    h = rp.states["HZ-P"]
    assert (h.deadline, h.approx) == (end_of("2027-02-11"), True)
    assert any(w.endswith("(the deadline 2026-11-06T23:59:59+08:00 had passed before the notice)")
               for _, _, w in h.timeline())


def test_major_red_step_does_not_list_the_hazard_again() -> None:
    """A hazard already listed gets no second notice from the ladder's red step."""
    rp = run(*major_confirmed(), plan(MAJOR, "2026-03-04 09:00"), until="2026-06-30 00:00")
    assert len(events(rp, "safety.supervision.listed")) == 1
    assert [e["action"] for e in escalations(rp, rule_id="ladder.red")] == ["summon"]


def test_passed_review_lifts_supervision() -> None:
    """A passed review closes a listed hazard and lifts its supervision (摘牌); nothing follows."""
    rp = run(*major_confirmed(), plan(MAJOR, "2026-03-04 09:00"), complete(MAJOR, "2026-05-01 09:00"),
             review(MAJOR, "2026-05-06 10:00", "passed"), until="2026-12-31 00:00")
    [lifted] = events(rp, "safety.supervision.lifted")
    assert lifted["time"] == "2026-05-06T10:00:00+08:00"
    d = lifted["data"]
    assert (d["notice_no"], d["hazard_id"], d["lifted_at"]) == (NOTICE, MAJOR, "2026-05-06T10:00:00+08:00")
    assert d["rules_version"] == RULES.version
    h = rp.states[MAJOR]
    assert h.status() == "closed" and h.listed[3] is False and h.clocks == {}
    assert escalations(rp) == [] and events(rp, "safety.referral.discipline") == []


def test_completion_claim_holds_the_supervision_clock() -> None:
    """A completion claim awaiting review stops the supervision deadline from referring the hazard."""
    rp = run(*major_confirmed(), plan(MAJOR, "2026-03-04 09:00"), complete(MAJOR, "2026-05-28 09:00"),
             until="2026-06-05 00:00")
    assert events(rp, "safety.referral.discipline") == []
    assert rp.states[MAJOR].clocks == {"review": end_of("2026-06-08")}  # 10 days: Sunday 7 Jun, so Monday


# --- department duties: verify and review (不履行安全监管职责) ---------------------------------------


def test_verification_in_time_raises_no_duty_failure() -> None:
    """A hazard verified within 3 working days raises no duty escalation."""
    rp = run(report(HZ, "2026-11-02 09:00"), verify(HZ, "2026-11-05 18:00"), until="2026-11-07 00:00")
    assert escalations(rp) == []


def _with_officials(tmp_path: Path, brigade: str = "{id: fr-deputy, name: 王某, post: 分管安全生产副大队长}",
                    street: str = "{id: lhw-deputy, name: 李某, post: 分管安全生产副主任}") -> Path:
    """A copy of rules/ with an official answering for the fire brigade and one for 李海务街道."""
    rules = edited_rules(tmp_path, "reference/departments.yaml", "    name: 区消防救援大队\n",
                         f"    name: 区消防救援大队\n    officials:\n      - {brigade}\n")
    path = rules / "reference" / "jurisdiction.yaml"
    text = path.read_text(encoding="utf-8")
    old = "    name: 李海务街道\n"
    assert old in text
    path.write_text(text.replace(old, f"{old}    officials:\n      - {street}\n", 1), encoding="utf-8")
    return rules


def test_a_referral_names_the_officials_the_reference_says_answer_for_each_body(tmp_path: Path) -> None:
    """纪委监委 hold officials to account (contract section 4, v2): each respondent body is followed
    by the officials who answer for it, when rules/reference names them; the escalation still
    goes to the bodies."""
    rp = Replay(load_rules(_with_officials(tmp_path)))
    for entry in [*major_confirmed(), plan(MAJOR, "2026-03-04 09:00")]:
        rp.advance_to(entry_time(entry))
        rp.feed(entry, now=entry_time(entry))
    rp.advance_to(at("2026-06-30 00:00"))
    [ref] = events(rp, "safety.referral.discipline")
    assert ref["data"]["respondents"] == [
        {"kind": "town_government", "id": "lihaiwu", "name": "李海务街道办事处"},
        {"kind": "official", "id": "lhw-deputy", "name": "李海务街道办事处分管安全生产副主任 李某"},
        {"kind": "department", "id": "fire_rescue", "name": "区消防救援大队"},
        {"kind": "official", "id": "fr-deputy", "name": "区消防救援大队分管安全生产副大队长 王某"}]
    OUTPUT_TYPES["safety.referral.discipline"][1].model_validate(ref["data"])
    [esc] = escalations(rp, rule_id="referral.supervision_missed")
    assert target_ids(esc) == [DISCIPLINE, TOWN_GOV, FIRE]


def test_one_official_id_names_one_person(tmp_path: Path) -> None:
    """The same id under two bodies must be the same person, or the reference does not load."""
    rules = _with_officials(tmp_path, "{id: deputy, name: 王某, post: 副大队长}",
                            "{id: deputy, name: 李某, post: 副主任}")
    with pytest.raises(RulesFileError) as caught:
        load_rules(rules)
    assert str(caught.value) == (
        'rules/reference/jurisdiction.yaml: towns.lihaiwu.officials[0].id: official id "deputy" is '
        "already 王某 at rules/reference/departments.yaml: departments.fire_rescue.officials[0].id "
        "(one id, one person: give this official an id of their own)")


def test_verify_duty_failure_escalates_and_refers_the_department_a_day_later() -> None:
    """An unverified report escalates to the lead department and the bureau at the deadline, and
    refers the department (一律) once the day given to a verification dated in time has passed."""
    rp = run(report(HZ, "2026-11-02 09:00"), until="2026-12-31 00:00")
    duty = events(rp, "safety.escalation.raised", rule_id="duty.verify")
    assert [e["time"] for e in duty] == [iso_end("2026-11-05")]
    for e in duty:
        assert (e["data"]["action"], e["data"]["tier"]) == ("notify", "orange")
        assert target_ids(e["data"]) == [FIRE, BUREAU]
    assert "failure 1" in duty[0]["data"]["reason"]
    [ref] = events(rp, "safety.referral.discipline")
    assert ref["time"] == iso_end("2026-11-06")
    assert target_ids(ref["data"], "respondents") == [FIRE]
    assert ref["data"]["grounds"] == "duty_failure"
    [esc] = escalations(rp, rule_id="referral.duty_failures")
    assert (esc["action"], esc["tier"]) == ("discipline_referral", "red")
    assert target_ids(esc) == [DISCIPLINE, FIRE]
    h = rp.states[HZ]
    assert h.duty_fails == {"fire_rescue": 1} and h.clocks == {}  # referred: the clock stops


def test_a_late_verification_still_confirms_the_hazard() -> None:
    """A verification after a duty failure confirms the hazard and starts its deadline normally."""
    rp = run(report(HZ, "2026-11-02 09:00"), verify(HZ, "2026-11-06 10:00"), until="2026-11-07 00:00")
    assert [e["rule_id"] for e in escalations(rp)] == ["duty.verify", "referral.duty_failures"]
    h = rp.states[HZ]
    assert h.deadline == end_of("2026-11-13") and h.clocks == {"ladder": end_of("2026-11-11")}


def test_review_duty_failure_escalates_and_refers_the_department_a_day_later() -> None:
    """A claim not reviewed within 10 days escalates, and a day later refers the department (一律). The
    tenth day after 5 Nov is Sunday 15 Nov, a rest day, so the review is due at the end of Monday 16
    Nov (民法典 art. 203 para. 1; the 15th until 2026-12-07), the referral at the end of the 17th."""
    rp = run(*general_confirmed(), complete(HZ, "2026-11-05 09:00"), until="2026-12-31 00:00")
    duty = events(rp, "safety.escalation.raised", rule_id="duty.review")
    assert [e["time"] for e in duty] == [iso_end("2026-11-16")]
    assert all(target_ids(e["data"]) == [FIRE, BUREAU] and e["data"]["tier"] == "orange" for e in duty)
    [ref] = events(rp, "safety.referral.discipline")
    assert target_ids(ref["data"], "respondents") == [FIRE]
    assert ref["time"] == iso_end("2026-11-17")
    assert rp.states[HZ].clocks == {}


def test_review_in_time_raises_no_duty_failure() -> None:
    """A review within 10 days of the completion claim raises nothing."""
    rp = run(*general_confirmed(), complete(HZ, "2026-11-05 09:00"), review(HZ, "2026-11-15 20:00"),
             until="2026-12-31 00:00")
    assert rp.outputs == []


# --- extensions (延期) ----------------------------------------------------------------------------


def major_planned() -> list[dict]:
    return major_confirmed() + [plan(MAJOR, "2026-03-04 09:00")]


def test_approved_extension_moves_the_deadline_and_reissues_the_notice() -> None:
    """A request 20+ working days ahead, approved, moves the deadline and issues the notice again."""
    rp = run(*major_planned(), ext_request(MAJOR, "2026-04-01 10:00", "2026-07-31"),
             ext_decision(MAJOR, "2026-04-03 10:00", "2026-07-31"), until="2026-07-01 00:00")
    notices = events(rp, "safety.supervision.listed")
    assert [n["data"]["deadline"] for n in notices] == [iso_end("2026-06-01"), iso_end("2026-07-31")]
    assert notices[1]["time"] == "2026-04-03T10:00:00+08:00"
    assert notices[0]["id"] != notices[1]["id"]
    assert notices[1]["data"]["notice_no"] == NOTICE
    h = rp.states[MAJOR]
    assert h.deadline == end_of("2026-07-31") and h.listed[2] == end_of("2026-07-31")
    assert h.ext is None
    assert h.clocks == {"ladder": end_of("2026-07-29"), "supervision": end_of("2026-07-31")}
    assert escalations(rp) == [] and events(rp, "safety.referral.discipline") == []


@pytest.mark.parametrize("new_deadline", ["1901-01-01", "2199-12-31"])
def test_an_extension_to_either_end_of_the_contracts_span_is_counted_to_its_last_step(
        new_deadline: str) -> None:
    """The contract's first and last days (engine/contract/common.py FIRST_YEAR, LAST_YEAR): the
    ladder counts days before and after them as any other. Near year 1 the decision raised
    OverflowError, was dead-lettered and lost; such dates are refused at intake (test_validate)."""
    hid = "HZ-SPAN"
    rp = run(report(hid, "2026-03-02 09:00", rectify_by="2026-03-20 18:00"),
             verify(hid, "2026-03-02 10:00"), ext_request(hid, "2026-03-05 10:00", new_deadline),
             ext_decision(hid, "2026-03-06 10:00", new_deadline))
    assert rp.states[hid].deadline == end_of(new_deadline)
    rp.advance_to(end_of(new_deadline) + 400 * 86_400)  # every step of its ladder, to the last
    ladder = escalations(rp, subject_id=hid)
    assert {e["tier"] for e in ladder} == {"blue", "yellow", "orange", "red"}
    assert all(e["due_at"].endswith("+08:00") for e in ladder)


def test_approved_extension_is_capped_at_one_year_from_the_notice() -> None:
    """An approved new deadline beyond a year from the notice is cut to the year."""
    h, _ = step(major_planned() + [ext_request(MAJOR, "2026-04-01 10:00", "2027-12-31"),
                                    ext_decision(MAJOR, "2026-04-03 10:00", "2027-12-31")])
    assert h.deadline == end_of("2027-03-03") and h.listed[2] == end_of("2027-03-03")


def test_rejected_extension_leaves_the_deadline() -> None:
    """A rejected extension changes nothing: the referral still comes from the original deadline."""
    rp = run(*major_planned(), ext_request(MAJOR, "2026-04-01 10:00", "2026-07-31"),
             ext_decision(MAJOR, "2026-04-03 10:00", None), until="2026-06-03 00:00")
    assert len(events(rp, "safety.supervision.listed")) == 1
    h = rp.states[MAJOR]
    assert h.deadline == end_of("2026-06-01") and h.ext is None
    [ref] = events(rp, "safety.referral.discipline")
    assert ref["time"] == iso_end("2026-06-02")


def test_extension_asked_too_late_is_refused_with_a_notice() -> None:
    """A request less than 20 working days before the deadline owes no decision: notify, deadline
    unchanged. The supervising body may approve it all the same, and its approval moves the deadline:
    the district's 20 working days say when to ask, not what the body that set the deadline may do."""
    req = ext_request(MAJOR, "2026-05-20 10:00", "2026-07-31")
    h, outs = step(major_planned() + [req])
    [esc] = outs_data(outs[1:])
    assert esc["rule_id"] == "supervision.listed.extension"
    assert (esc["action"], esc["tier"]) == ("notify", "blue")
    assert target_ids(esc) == [ENT, BUREAU]
    assert esc["caused_by"] == [req["event_id"]]
    assert "8 working days" in esc["reason"]  # 21-22 and 25-29 May, 1 Jun
    assert "no decision on it is due, and the deadline stands unless the supervising body approves it" \
        in esc["reason"]
    assert h.deadline == end_of("2026-06-01") and h.ext is None
    assert "extension" not in h.clocks
    # The supervising body approves it the next day: the notice goes out again with the new deadline.
    h, outs = decide(h, ext_decision(MAJOR, "2026-05-21 10:00", "2026-07-31"), RULES)
    [notice] = [o.event["data"] for o in outs if o.event["type"] == "safety.supervision.listed"]
    assert notice["deadline"] == iso(end_of("2026-07-31"))
    assert h.deadline == end_of("2026-07-31") and h.listed[2] == end_of("2026-07-31")


def test_an_extension_refused_then_approved_on_reconsideration_moves_the_deadline() -> None:
    """Refused, then approved when the body reconsiders: the approval moves the deadline though no
    request is pending (until 2026-12-07 it was kept for a request that never came, and the ladder,
    the fines and the referral ran against the old deadline)."""
    h, _ = step(major_planned() + [ext_request(MAJOR, "2026-04-20 10:00", "2026-07-31"),
                                   ext_decision(MAJOR, "2026-04-22 10:00")])
    assert h.deadline == end_of("2026-06-01") and h.ext is None
    h, outs = decide(h, ext_decision(MAJOR, "2026-05-06 10:00", "2026-07-31"), RULES)
    assert [o.event["type"] for o in outs] == ["safety.supervision.listed"]
    assert h.deadline == end_of("2026-07-31") and h.early is None
    # The refusal's record sent again later, or arriving late, does not undo the approval.
    h, outs = decide(h, ext_decision(MAJOR, "2026-04-23 10:00"), RULES)
    assert outs == [] and h.deadline == end_of("2026-07-31")
    # Nor does an older approval with an earlier date.
    h, outs = decide(h, ext_decision(MAJOR, "2026-04-24 10:00", "2026-06-30"), RULES)
    assert outs == [] and h.deadline == end_of("2026-07-31")


def test_an_extension_request_refused_as_too_late_and_sent_again_is_refused_once() -> None:
    """The enterprise's app retries the refused request under a fresh event id: no second notice;
    another request, made later, is refused with one of its own."""
    h, outs = step(major_planned() + [ext_request(MAJOR, "2026-05-20 10:00", "2026-07-31")])
    h, again = decide(h, ext_request(MAJOR, "2026-05-20 10:00", "2026-07-31"), RULES)
    assert again == []
    assert h.history[-1][2] == AGAIN
    h, later = decide(h, ext_request(MAJOR, "2026-05-22 10:00", "2026-08-31"), RULES)
    [esc] = outs_data(later)
    assert "6 working days" in esc["reason"]


def test_an_extension_request_in_a_year_without_a_notice_is_refused_only_if_too_late_by_every_count() -> None:
    """Due on 5 March 2027, asked on 3 February: Monday to Friday less the statutory holidays leaves
    18 working days, but the 2027 notice may make up to two weekend days beside the Spring
    Festival working days, as every notice since 2012 made at most two a holiday: 20. The request
    is taken, not refused as too late."""
    entries = [report("HZ-X27", "2027-01-04 09:00", grade="major", rectify_by="2027-03-05"),
               verify("HZ-X27", "2027-01-05 10:00", grade="major"),
               ext_request("HZ-X27", "2027-02-03 10:00", "2027-04-30")]
    h, outs = step(entries)
    refused = [e for e in outs_data(outs, "safety.escalation.raised")
               if e["rule_id"] == "supervision.listed.extension"]
    assert refused == []
    assert h.ext is not None and h.ext[2] == entries[-1]["event_id"]
    assert h.history[-1][2] == "extension requested until 2027-04-30 (20 working days left)"


def test_undecided_extension_is_a_duty_failure_of_the_supervising_body() -> None:
    """A request undecided after 10 working days: a duty failure of the bureau, escalated and referred."""
    rp = run(*major_planned(), ext_request(MAJOR, "2026-04-01 10:00", "2026-07-31"),
             until="2026-05-01 00:00")
    [e] = events(rp, "safety.escalation.raised", rule_id="supervision.listed.extension")
    [ref] = events(rp, "safety.referral.discipline")
    assert target_ids(ref["data"], "respondents") == [BUREAU]
    assert ref["data"]["grounds"] == "duty_failure" and ref["time"] == iso_end("2026-04-17")
    assert e["time"] == iso_end("2026-04-16")  # 2, 3, (4-6 Qingming), 7-10, 13-16 Apr
    d = e["data"]
    assert (d["rule_id"], d["action"], d["tier"]) == ("supervision.listed.extension", "notify", "orange")
    assert target_ids(d) == [FIRE, BUREAU]
    h = rp.states[MAJOR]
    assert h.duty_fails == {"safety_bureau": 1} and "extension" not in h.clocks


def test_extension_decided_within_10_working_days_raises_nothing() -> None:
    """A request decided in time raises no duty failure."""
    rp = run(*major_planned(), ext_request(MAJOR, "2026-04-01 10:00", "2026-07-31"),
             ext_decision(MAJOR, "2026-04-16 18:00", None), until="2026-05-01 00:00")
    assert escalations(rp) == []


def test_an_extension_request_sent_again_after_its_decision_is_answered_by_it() -> None:
    """The enterprise's app sends its request again under a fresh event id, days after the bureau
    decided it (and a request made before the decision reaches the engine after it): the decision
    answered both. Pending again, the bureau was escalated for not deciding what it had decided, and
    referred to discipline inspection. A request made after the decision is pending as any."""
    request = ext_request(MAJOR, "2026-04-01 10:00", "2026-07-31")
    again = {**ext_request(MAJOR, "2026-04-01 10:00", "2026-07-31"), "arrived_at": iso_end("2026-04-10")}
    made_before = {**ext_request(MAJOR, "2026-04-02 11:00", "2026-08-31"),
                   "arrived_at": iso_end("2026-04-12")}
    rp = run(*major_planned(), request, ext_decision(MAJOR, "2026-04-03 18:00", "2026-07-31"),
             until="2026-04-10 00:00")
    for late in (again, made_before):
        rp.feed(late, now=at(late["arrived_at"][:16].replace("T", " ")))
    rp.advance_to(at("2026-06-01 00:00"))
    assert escalations(rp) == [] and events(rp, "safety.referral.discipline") == []
    h = rp.states[MAJOR]
    assert h.ext is None and h.ext_decided == at("2026-04-03 18:00") and h.duty_fails == {}
    lines = [line for _, _, line in h.history][-2:]
    assert lines == [
        AGAIN,
        "extension requested until 2026-08-31: answered by the decision of 2026-04-03T18:00:00+08:00 "
        "(reached the engine late, on 2026-04-12T23:59:59+08:00)"]
    assert Words("zh", RULES.reference).record(lines[1]).startswith(
        "申请延期至 2026-08-31：已由 2026-04-03T18:00:00+08:00 的决定答复")
    rp.feed(ext_request(MAJOR, "2026-06-01 10:00", "2026-09-30"), now=at("2026-06-01 10:00"))
    assert rp.states[MAJOR].ext is not None  # a new request: the bureau's to decide
    rp.advance_to(at("2026-07-01 00:00"))
    [failure] = escalations(rp, rule_id="supervision.listed.extension")
    assert target_ids(failure)[-1] == BUREAU


# --- inspection findings --------------------------------------------------------------------------


def test_immediate_finding_opens_and_closes_at_once() -> None:
    """A finding fixed on the spot is closed at once: no clocks, no outputs, ever."""
    rp = run(inspection("2026-11-02 10:00", [finding("HZ-F", immediate=True)]), until="2026-12-31 00:00")
    h = rp.states["HZ-F"]
    assert h.status() == "closed" and h.closed_how == "immediate"
    assert h.clocks == {} and rp.outputs == []


def test_expert_check_finding_needs_verification() -> None:
    """A finding of an expert check is a report: unconfirmed, with the verify clock running."""
    entries = inspection("2026-11-02 10:00", [finding("HZ-F")], kind="expert_check")
    h, outs = step(hazard_entries(entries))
    assert h.status() == "reported" and h.verdict is None and h.origin == "report"
    assert h.clocks == {"verify": end_of("2026-11-05")} and outs == []
    h, _ = decide(h, verify("HZ-F", "2026-11-03 10:00"), RULES)
    assert h.status() == "verified" and h.deadline == end_of("2026-11-10")


def test_law_enforcement_finding_confirms_itself() -> None:
    """A law-enforcement finding is confirmed at its grade at once, with its deadline and ladder."""
    entries = inspection("2026-11-02 10:00", [finding("HZ-F")])
    assert [e["subject_kind"] for e in entries] == ["inspection", "hazard", "enterprise"]
    rp = Replay(RULES)
    assert rp.feed(entries[0]) == []  # the inspection's own entry is not the hazard core's business
    rp.feed(entries[1])
    h = rp.states["HZ-F"]
    assert (h.status(), h.origin, h.verdict, h.grade) == ("verified", "finding", "confirmed", "general")
    assert h.deadline == end_of("2026-11-09")
    assert h.clocks == {"ladder": end_of("2026-11-07")}
    assert h.town == "zhulaozhuang" and h.enterprise[0] == "91371500MA3D7PQ1LM"


def test_law_enforcement_major_finding_is_listed_at_once() -> None:
    """A major finding of a law-enforcement inspection issues the notice at the inspection's time."""
    rp = run(inspection("2026-11-02 10:00", [finding("HZ-A"), finding("HZ-C", "major")]))
    [notice] = events(rp, "safety.supervision.listed")
    assert notice["time"] == "2026-11-02T10:00:00+08:00"
    assert notice["data"]["notice_no"] == "度假区挂督〔2026〕HZ-C"
    assert target_ids(notice["data"], "responsible_units") == [("town_government", "zhulaozhuang"), BUREAU]
    assert rp.states["HZ-A"].listed is None


def test_lead_department_override_changes_the_targets() -> None:
    """A lead_department given in the verification replaces the sector's lead in every target."""
    rp = run(report(HZ, "2026-11-02 09:00"), verify(HZ, "2026-11-03 10:00", lead="market_supervision"),
             until="2026-11-18 00:00")
    market = ("department", "market_supervision")
    [orange] = escalations(rp, rule_id="ladder.orange")
    assert target_ids(orange) == [market, BUREAU]
    assert all(target_ids(e)[:2] == [market, BUREAU] for e in escalations(rp, rule_id="ladder.red"))
    assert FIRE not in {t for e in escalations(rp) for t in target_ids(e)}


def test_an_older_verification_reaching_the_engine_late_does_not_set_the_lead_department_back() -> None:
    """The verification of 5 November names market_supervision the lead; one of the 3rd, naming
    housing_construction, reaches the engine on the 6th. The latest by time stands, whatever order they
    came in (until format 13 the last one applied did): the ladder's orange step goes to
    market_supervision either way, and the state ends the same."""
    from test_late_arrival import arriving
    newer = verify(HZ, "2026-11-05 10:00", lead="market_supervision", event_id="V-new")
    older = verify(HZ, "2026-11-03 10:00", lead="housing_construction", event_id="V-old")
    late = run(report(HZ, "2026-11-02 09:00"), newer, arriving(older, "2026-11-06 10:00"),
               until="2026-11-20 00:00")
    in_order = run(report(HZ, "2026-11-02 09:00"), older, newer, until="2026-11-20 00:00")
    market = ("department", "market_supervision")
    for rp in (late, in_order):
        assert rp.states[HZ].lead == "market_supervision"
        [orange] = escalations(rp, rule_id="ladder.orange")
        assert target_ids(orange)[0] == market


@pytest.mark.parametrize(("sector", "ids"), [
    ("hazardous_chemicals", ["safety_bureau", "market_supervision", "public_security"]),
    ("construction", ["housing_construction", "law_enforcement"]),
    (None, []),
])
def test_sector_departments_are_every_department_of_the_sector_lead_first(sector, ids) -> None:
    """`sector_departments`, a target a district may give a step or a referral: every department
    rules/reference/sectors.yaml has supervising the hazard's sector, its lead first; none for a
    hazard with no sector. (No shipped rule uses it, so a rule test cannot show it.)"""
    from dataclasses import dataclass

    from engine.kernel.targets import resolve

    @dataclass
    class Place:
        town: str | None = "lihaiwu"
        sector: str | None = None
        enterprise: tuple[str, str] | None = None
        lead: str | None = "market_supervision"  # an override names the lead alone, not the sector's

    got = resolve("sector_departments", Place(sector=sector), RULES)
    assert [(u["kind"], u["id"]) for u in got] == [("department", i) for i in ids]


# --- events arriving out of order (field apps work offline) ---------------------------------------


def arrive(*entries: dict) -> Hazard:
    """Apply entries in the order given, each no earlier than the latest time seen so far."""
    h: Hazard | None = None
    for e in entries:
        h, _ = decide(h, e, RULES)
    assert h is not None
    return h


def test_the_later_of_two_plans_stands_whatever_arrives_first() -> None:
    """Two plans: the later one's target stands, and each plan's own target is recorded."""
    first, second = plan(HZ, "2026-11-04 09:00", "2026-11-08"), plan(HZ, "2026-11-04 09:30", "2026-11-09")
    for order in ((first, second), (second, first)):
        h = arrive(*general_confirmed(), *order)
        assert (h.planned_at, h.plan_target) == (at("2026-11-04 09:30"), end_of("2026-11-09"))
        whats = sorted(w for _, _, w in h.history if w.startswith("rectification planned"))
        assert whats == [f"rectification planned, target {iso_end('2026-11-08')}",
                         f"rectification planned, target {iso_end('2026-11-09')}"]


def test_the_later_of_two_completion_claims_stands() -> None:
    """Two completion claims: the review clock runs from the later one, whatever arrives first."""
    first, second = complete(HZ, "2026-11-05 09:00"), complete(HZ, "2026-11-06 09:00")
    for order in ((first, second), (second, first)):
        h = arrive(*general_confirmed(), *order)
        assert h.completed_at == at("2026-11-06 09:00")
        assert h.clocks == {"review": end_of("2026-11-16")}


def test_a_claim_judged_by_a_failed_review_arriving_late_is_not_pending() -> None:
    """A completion claim arriving after the failed review that judged it leaves the new cycle running."""
    claim, failed = complete(HZ, "2026-11-05 09:00"), review(HZ, "2026-11-05 09:30", "failed")
    in_order, late = arrive(*general_confirmed(), claim, failed), arrive(*general_confirmed(), failed, claim)
    for h in (in_order, late):
        assert h.completed_at is None and h.cycle == 1
        assert h.deadline == end_of("2026-11-12") and h.clocks == {"ladder": end_of("2026-11-10")}


def test_a_passed_review_ends_its_claims_count_of_missed_reviews_whatever_arrives_first() -> None:
    """Claimed on 5 Nov and not reviewed in 10 days (the review clock fires once), claimed again on
    17 Nov at 09:00 and passed at 09:30: a closed hazard counts no missed reviews, whether the
    second claim (which starts the count afresh) or the review that passed arrives first. Before
    2026-12-05 the review arriving first left the count at 1 (a random property search found it)."""
    first, second = complete(HZ, "2026-11-05 09:00"), complete(HZ, "2026-11-17 09:00")
    passed = review(HZ, "2026-11-17 09:30", "passed")
    for order in ((second, passed), (passed, second)):
        h = arrive(*general_confirmed(), first, *order)
        assert (h.closed_how, h.completed_at, h.review_fails) == ("passed", None, 0)
        assert h.duty_fails  # the missed review stands, as the department's failure


def test_a_new_claim_survives_a_late_failed_review_of_the_previous_one() -> None:
    """A failed review arriving after a newer completion claim leaves the newer claim awaiting review."""
    old, failed, new = (complete(HZ, "2026-11-05 09:00"), review(HZ, "2026-11-05 09:30", "failed"),
                        complete(HZ, "2026-11-05 10:00"))
    for h in (arrive(*general_confirmed(), old, failed, new), arrive(*general_confirmed(), old, new, failed)):
        assert (h.cycle, h.completed_at) == (1, at("2026-11-05 10:00"))
        assert h.clocks == {"review": end_of("2026-11-16")}  # 10 days: Sunday 15 Nov, so Monday


def test_the_later_of_two_failed_reviews_sets_the_deadline() -> None:
    """Two failed reviews arriving in either order: two cycles, the deadline from the later one."""
    a, b = review(HZ, "2026-11-05 09:00", "failed"), review(HZ, "2026-11-06 09:00", "failed")
    for order in ((a, b), (b, a)):
        h = arrive(*general_confirmed(), *order)
        assert (h.cycle, h.cycle_start, h.deadline) == (2, at("2026-11-06 09:00"), end_of("2026-11-13"))
        assert sorted(w for _, _, w in h.history if w.startswith("review failed")) == [
            f"review failed: new deadline {iso_end('2026-11-12')}",
            f"review failed: new deadline {iso_end('2026-11-13')}"]


def test_the_later_close_says_how_the_hazard_was_closed() -> None:
    """An immediate fix, then a passed review: closed as passed, whichever arrives first."""
    found = hazard_entries(inspection("2026-11-02 10:00", [finding("HZ-F", immediate=True)]))[0]
    passed = review("HZ-F", "2026-11-02 10:30", "passed")
    for h in (arrive(found, passed), arrive(passed, found)):
        assert (h.closed_how, h.closed_at, h.status()) == ("passed", at("2026-11-02 10:30"), "closed")


def test_no_claim_awaits_review_on_a_closed_hazard() -> None:
    """A completion claim and an unfounded verdict, in either order, leave no claim pending."""
    claim, unfounded = complete(HZ, "2026-11-03 09:00"), verify(HZ, "2026-11-03 10:00", "unfounded", None)
    for order in ((claim, unfounded), (unfounded, claim)):
        h = arrive(report(HZ, "2026-11-02 09:00"), *order)
        assert h.status() == "unfounded" and h.completed_at is None and h.clocks == {}


# --- the decision function itself -----------------------------------------------------------------


def test_decide_does_not_modify_the_given_state() -> None:
    """`decide` works on a copy: the state passed in is left as it was."""
    h, _ = step(general_confirmed())
    before = copy.deepcopy(h)
    new, _ = decide(h, complete(HZ, "2026-11-05 09:00"), RULES)
    assert h == before and new != h


def test_redelivered_entry_changes_nothing() -> None:
    """An entry delivered again (same entry_id) returns the state unchanged and no outputs."""
    entries = general_confirmed()
    h, _ = step(entries)
    origin = entries[1]["origin"]
    assert h.applied_from[f"{origin['topic']}/{origin['partition']}"]["ends"][-1] == origin["offset"] + 1
    again, outs = decide(h, entries[1], RULES)
    assert again == h and outs == []
    # Also much later, when a clock would otherwise have been brought forward.
    again, outs = decide(h, entries[0], RULES, now=at("2026-11-20 00:00"))
    assert again == h and outs == []


def test_redelivered_completion_does_not_undo_a_later_review() -> None:
    """A completion claim delivered again after a failed review does not claim the new cycle complete."""
    c = complete(HZ, "2026-11-05 09:00")
    h, _ = step(general_confirmed() + [c, review(HZ, "2026-11-06 09:00", "failed")])
    again, outs = decide(h, c, RULES)
    assert again.completed_at is None and outs == [] and again == h


def test_clocks_are_caught_up_before_a_later_event_is_applied() -> None:
    """With no timer entries, a later event first fires every clock due before it, each at its due time."""
    h, _ = step(general_confirmed())
    h, outs = decide(h, progress(HZ, "2026-11-14 09:00", 10), RULES)
    assert [(o.event["data"]["rule_id"], o.event["time"]) for o in outs] == [
        ("ladder.blue", iso_end("2026-11-08")),
        ("ladder.yellow", iso_end("2026-11-10")),
        ("ladder.yellow", iso_end("2026-11-10")),
        ("ladder.orange", iso_end("2026-11-13")),
    ]
    assert h.watermark == at("2026-11-14 09:00")


def test_clock_entry_fires_the_due_clock() -> None:
    """A timer's clock entry at the due time fires that clock."""
    h, _ = step(general_confirmed())
    h, outs = decide(h, clock_entry(HZ, end_of("2026-11-08")), RULES)
    [esc] = outs_data(outs)
    assert esc["rule_id"] == "ladder.blue"
    assert h.clocks == {"ladder": end_of("2026-11-10")}


def test_stale_clock_entry_does_nothing() -> None:
    """A clock entry for a clock that has moved on (plan filed) finds nothing to fire."""
    h, _ = step(major_confirmed())
    plan_due = h.clocks["plan"]
    h, _ = decide(h, plan(MAJOR, "2026-03-04 09:00"), RULES)
    new, outs = decide(h, clock_entry(MAJOR, plan_due), RULES)
    assert outs == [] and new.clocks == h.clocks and new.history == h.history


def test_clock_entry_after_completion_does_nothing() -> None:
    """A ladder clock entry arriving after the completion claim stopped the ladder fires nothing."""
    h, _ = step(general_confirmed() + [complete(HZ, "2026-11-05 09:00")])
    new, outs = decide(h, clock_entry(HZ, end_of("2026-11-08")), RULES)
    assert outs == [] and new.step == 0


def test_clock_entry_already_handled_does_nothing() -> None:
    """The same clock entry delivered twice fires its clock once."""
    h, _ = step(general_confirmed())
    tick = clock_entry(HZ, end_of("2026-11-08"))
    h, first = decide(h, tick, RULES)
    h, second = decide(h, tick, RULES)
    assert len(first) == 1 and second == []


def everything() -> Replay:
    """One run that produces every kind of output the hazard core sends."""
    return run(
        *general_confirmed(),  # ladder, listing at red, supervision missed
        report("HZ-2", "2026-11-02 09:00", sector="construction"),  # verify duty and its referral
        *major_confirmed(),  # plan missing
        ext_request(MAJOR, "2026-05-20 10:00", "2026-07-31"),  # too late
        complete(MAJOR, "2026-05-25 09:00"), review(MAJOR, "2026-05-26 09:00", "passed"),  # lifted
        until="2026-12-31 00:00",
    )


def test_every_output_names_its_rule_and_rules_version_and_meets_the_contract() -> None:
    """Every output carries rules_version, escalations their rule_id; each is valid contract data."""
    rp = everything()
    kinds = {o.event["type"] for _, o in rp.outputs}
    assert kinds == {"safety.escalation.raised", "safety.supervision.listed",
                     "safety.supervision.lifted", "safety.referral.discipline",
                     "safety.enforcement.proposed"}
    known_rules = ({s.rule_id for s in RULES.ladder}
                   | {RULES.verify.rule_id, RULES.review.rule_id, RULES.supervision_missed.rule_id,
                      RULES.duty_failures.rule_id}
                   | {f"{RULES.supervision.rule_id}.{x}" for x in ("plan", "extension")}
                   | {RULES.proposal_due.rule_id})  # type: ignore[union-attr]
    for _, o in rp.outputs:
        e = o.event
        topic, model = OUTPUT_TYPES[e["type"]]
        assert o.topic == topic and o.key == e["subject"]
        model.model_validate(e["data"])
        assert (e["specversion"], e["source"], e["datacontenttype"]) == ("1.0", "/engine",
                                                                        "application/json")
        assert e["data"]["rules_version"] == RULES.version == "2026.1"
        if e["type"] == "safety.escalation.raised":
            assert e["data"]["rule_id"] in known_rules
            assert e["id"] == e["data"]["escalation_id"]
            assert e["data"]["caused_by"]
        if e["type"] == "safety.referral.discipline":
            assert e["id"] == e["data"]["referral_id"]
        if e["type"] == "safety.enforcement.proposed":
            assert e["id"] == e["data"]["proposal_id"]
            assert e["data"]["rule_id"] in known_rules and e["data"]["caused_by"]


def test_output_ids_are_deterministic() -> None:
    """The same history run twice gives the same outputs, ids included, and the same states."""
    entries = (general_confirmed() + major_confirmed()
               + [ext_request(MAJOR, "2026-05-20 10:00", "2026-07-31")])
    a, b = run(*entries, until="2026-12-31 00:00"), run(*entries, until="2026-12-31 00:00")
    assert [(t, o.event) for t, o in a.outputs] == [(t, o.event) for t, o in b.outputs]
    assert a.states == b.states
    ids = [o.id for _, o in a.outputs]
    assert len(ids) == len(set(ids))  # no two decisions share an id


def test_output_ids_do_not_depend_on_when_a_clock_is_fired() -> None:
    """A clock fired by the timer or caught up by a later event yields the same output ids."""
    entries = general_confirmed()
    timer = run(*entries, until="2026-11-09 00:00")
    h, _ = step(entries)
    h, late = decide(h, progress(HZ, "2026-11-09 00:00", 10, event_id="p1"), RULES)
    assert [o.id for _, o in timer.outputs] == [o.id for o in late]


def test_hazard_encode_decode_round_trip() -> None:
    """A full state survives encode/decode unchanged, and defaults are left out of the encoding."""
    rp = everything()
    for h in rp.states.values():
        assert Hazard.decode(h.encode()) == h
    assert Hazard.decode(Hazard("HZ-X").encode()) == Hazard("HZ-X")
    assert Hazard("HZ-X").encode() == b'{"id":"HZ-X"}'
    major = rp.states[MAJOR]
    assert major.listed and major.history and major.applied_from
    assert NOTICE.encode() in major.encode()  # UTF-8, not \\u escapes


def test_status_names() -> None:
    """status() names every stage, an orphan included."""
    assert Hazard("X").status() == "orphan"
    assert Hazard("X", opened="e", closed_how="immediate").status() == "closed"
    assert Hazard("X", opened="e", closed_how="duplicate").status() == "duplicate"
