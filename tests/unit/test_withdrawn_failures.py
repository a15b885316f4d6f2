"""A record of a duty done in time that reaches the engine after its deadline withdraws the failure.

An inspector verifies a report on the last afternoon, on a tablet that stays
offline: at the deadline the engine knows of no verification and escalates a
duty failure (不履行安全监管职责). The referral to discipline inspection waits
the rules' `duties.late_arrival.after` for such a record; when the record
comes, the failure is withdrawn, a held referral is dropped, and a referral
already sent is withdrawn (`safety.referral.withdrawn`), with the reason.
"""

from __future__ import annotations

import dataclasses

import pytest
from decide_fixtures import (
    RULES,
    at,
    complete,
    edited_rules,
    end_of,
    ext_decision,
    ext_request,
    finding,
    hazard_entries,
    inspection,
    iso_end,
    plan,
    report,
    review,
    verify,
)
from test_decide import MAJOR, major_confirmed
from test_late_arrival import arriving, feed

from engine.contract.outputs import OUTPUT_TYPES
from engine.decide.replay import Replay
from engine.decide.state import Hazard
from engine.feeds.views import hazard_view
from engine.kernel.time import epoch
from engine.ruleset import load_rules
from engine.store import pack, unpack

HZ = "HZ-W1"


def on_time(entry: dict) -> dict:
    return arriving(entry, epoch(entry["time"]))


def sent(rp: Replay, type_: str = "safety.escalation.raised", **match) -> list[dict]:
    """Every output event of `type_` whose data has the values in `match`."""
    return [o.event for _, o in rp.outputs if o.event["type"] == type_
            and all(o.event["data"].get(k) == v for k, v in match.items())]


def reported() -> dict:
    """Reported on Monday 2 November 2026: to be verified by the end of Thursday 5 November."""
    return on_time(report(HZ, "2026-11-02 09:00"))


def test_a_verification_in_time_arriving_within_the_hold_withdraws_the_failure_and_refers_nobody() -> None:
    late = arriving(verify(HZ, "2026-11-05 16:00"), "2026-11-06 10:00")
    rp = feed([reported(), late], until="2026-11-20 00:00")
    [failure] = sent(rp, rule_id="duty.verify", action="notify")
    assert failure["time"] == iso_end("2026-11-05")
    [withdrawn] = sent(rp, rule_id="duty.verify", action="failure_withdrawn")
    assert withdrawn["time"] == "2026-11-06T10:00:00+08:00"  # when the record arrived
    assert withdrawn["data"]["targets"] == failure["data"]["targets"]
    assert withdrawn["data"]["caused_by"] == [late["event_id"]]
    assert (f"The duty failure of fire_rescue on {HZ} at the deadline {iso_end('2026-11-05')} is withdrawn"
            in withdrawn["data"]["reason"])
    assert withdrawn["id"] != failure["id"]
    assert sent(rp, "safety.referral.discipline") == []
    assert sent(rp, action="discipline_referral") == []
    h = rp.states[HZ]
    assert h.duty_fails == {"fire_rescue": 0} and h.failures == [] and h.held == []
    assert h.referred == [] and "refer" not in h.clocks
    whats = [w for _, _, w in h.history]
    assert any(w.startswith("referral referral.duty_failures held until 2026-11-06T23:59:59") for w in whats)
    assert "held referral referral.duty_failures dropped: its failure was withdrawn" in whats


def test_a_verification_in_time_arriving_after_the_referral_withdraws_the_referral() -> None:
    late = arriving(verify(HZ, "2026-11-05 16:00"), "2026-11-09 09:00")
    rp = feed([reported(), late], until="2026-11-09 10:00")
    [referral] = sent(rp, "safety.referral.discipline")
    assert referral["time"] == iso_end("2026-11-06")  # the deadline, then the day's hold
    [withdrawal] = sent(rp, "safety.referral.withdrawn")
    assert withdrawal["time"] == "2026-11-09T09:00:00+08:00"
    assert withdrawal["id"] != referral["id"]
    data = withdrawal["data"]
    assert data["referral_id"] == referral["data"]["referral_id"]  # names the referral it withdraws
    assert (data["grounds"], data["respondents"]) == ("duty_failure", referral["data"]["respondents"])
    last = data["timeline"][-1]["what"]
    assert last == "referral to discipline inspection withdrawn: referral.duty_failures"
    [esc] = sent(rp, action="referral_withdrawn")
    assert esc["data"]["rule_id"] == "referral.duty_failures"
    assert [t["id"] for t in esc["data"]["targets"]] == ["discipline_inspection", "fire_rescue"]
    assert esc["data"]["reason"].startswith("Referral to discipline inspection withdrawn: the record ")
    assert len(sent(rp, rule_id="duty.verify", action="failure_withdrawn")) == 1
    h = rp.states[HZ]
    assert h.referred == ["withdrawn:referral.duty_failures:fire_rescue"]
    assert h.duty_fails == {"fire_rescue": 0}


def test_a_referred_departments_duty_clocks_on_the_hazard_stop_while_the_referral_stands() -> None:
    """Referred for verifying late, the fire brigade leaves a claim of 10 November unreviewed: no
    review failure is escalated, and nothing is referred again (README, "Known limits"); the
    verification itself, late, withdraws nothing. Compare the test below, where the referral is
    withdrawn and the review's failure is then referred under a new id."""
    entries = [reported(), on_time(verify(HZ, "2026-11-09 10:00")), on_time(complete(HZ, "2026-11-10 09:00"))]
    rp = feed(entries, until="2026-12-10 00:00")
    assert [e["data"]["rule_id"] for e in sent(rp, action="notify")] == ["duty.verify"]
    assert len(sent(rp, "safety.referral.discipline")) == 1 and sent(rp, "safety.referral.withdrawn") == []
    h = rp.states[HZ]
    assert "review" not in h.clocks and h.referred == ["referral.duty_failures:fire_rescue"]


def test_a_department_referred_again_after_a_withdrawal_gets_a_new_referral_id() -> None:
    """The withdrawn referral's id stays withdrawn: a new failure's referral must not reuse it."""
    late = arriving(verify(HZ, "2026-11-05 16:00"), "2026-11-09 09:00")
    claim = on_time(complete(HZ, "2026-11-10 09:00"))  # never reviewed: due by the end of 20 November
    rp = feed([reported(), late, claim], until="2026-11-23 00:00")
    first, second = sent(rp, "safety.referral.discipline")
    assert second["time"] == iso_end("2026-11-21")
    assert second["data"]["referral_id"] != first["data"]["referral_id"]
    assert second["id"] != first["id"]
    assert rp.states[HZ].referred == ["withdrawn:referral.duty_failures:fire_rescue",
                                      "referral.duty_failures:fire_rescue"]
    escs = sent(rp, action="discipline_referral")
    assert len({e["id"] for e in escs}) == 2


def test_a_law_enforcement_finding_in_time_arriving_late_withdraws_the_referral() -> None:
    """A law-enforcement inspection found the reported hazard on 5 November, which confirms it (a
    verification of its own); the inspector's tablet synced on the 9th, after the referral. An
    expert check confirms nothing: its finding leaves the failure standing."""
    def found(kind: str) -> Replay:
        [late] = hazard_entries(inspection("2026-11-05 15:00", [finding(HZ, sector="fire_safety")],
                                           kind=kind))
        return feed([reported(), arriving(late, "2026-11-09 09:00")], until="2026-11-10 00:00")

    rp = found("routine")
    [referral] = sent(rp, "safety.referral.discipline")
    [withdrawal] = sent(rp, "safety.referral.withdrawn")
    assert withdrawal["data"]["referral_id"] == referral["data"]["referral_id"]
    assert len(sent(rp, rule_id="duty.verify", action="failure_withdrawn")) == 1
    assert rp.states[HZ].duty_fails == {"fire_rescue": 0}

    expert = found("expert_check")
    assert len(sent(expert, "safety.referral.discipline")) == 1
    assert sent(expert, "safety.referral.withdrawn") == [] and sent(expert, action="failure_withdrawn") == []


def test_a_verification_after_the_deadline_leaves_the_failure_standing() -> None:
    late = arriving(verify(HZ, "2026-11-06 08:00"), "2026-11-06 09:00")
    rp = feed([reported(), late], until="2026-11-20 00:00")
    assert sent(rp, action="failure_withdrawn") == [] and sent(rp, "safety.referral.withdrawn") == []
    [referral] = sent(rp, "safety.referral.discipline")
    assert referral["time"] == iso_end("2026-11-06")
    h = rp.states[HZ]
    assert h.duty_fails == {"fire_rescue": 1}
    assert h.failures == [["verify", at("2026-11-02 09:00"), end_of("2026-11-05"), "fire_rescue"]]


def test_an_unfounded_verdict_in_time_arriving_late_withdraws_the_failure_of_a_hazard_it_closes() -> None:
    late = arriving(verify(HZ, "2026-11-05 16:00", "unfounded", None), "2026-11-06 10:00")
    rp = feed([reported(), late], until="2026-11-20 00:00")
    assert len(sent(rp, rule_id="duty.verify", action="failure_withdrawn")) == 1
    assert sent(rp, "safety.referral.discipline") == []
    assert rp.states[HZ].status() == "unfounded" and rp.states[HZ].clocks == {}


def test_an_unfounded_verdict_after_the_deadline_still_lets_the_held_referral_go() -> None:
    """Closing the hazard does not drop a referral for a failure that stands."""
    late = arriving(verify(HZ, "2026-11-06 08:00", "unfounded", None), "2026-11-06 09:00")
    rp = feed([reported(), late], until="2026-11-20 00:00")
    [referral] = sent(rp, "safety.referral.discipline")
    assert referral["time"] == iso_end("2026-11-06")
    assert rp.states[HZ].clocks == {}


def test_a_review_in_time_arriving_late_withdraws_the_review_failure() -> None:
    """Claimed on 5 November, due for review by the end of Monday the 16th (the tenth day, Sunday the
    15th, is a rest day: 民法典 art. 203 para. 1), reviewed (failed) on the 16th, the record
    arriving on the 17th at noon. Until 2026-12-07 the review was due on the 15th, and this test
    reviewed then and arrived on the 16th."""
    entries = [reported(), on_time(verify(HZ, "2026-11-03 10:00")), on_time(complete(HZ, "2026-11-05 09:00")),
               arriving(review(HZ, "2026-11-16 17:00", "failed"), "2026-11-17 12:00")]
    rp = feed(entries, until="2026-11-30 00:00")
    [failure] = sent(rp, rule_id="duty.review", action="notify")
    assert failure["time"] == iso_end("2026-11-16")
    assert len(sent(rp, rule_id="duty.review", action="failure_withdrawn")) == 1
    assert sent(rp, "safety.referral.discipline") == []
    h = rp.states[HZ]
    assert h.cycle == 1 and h.deadline == end_of("2026-11-23")  # the failed review still counts


def test_a_review_of_an_earlier_claim_does_not_answer_a_later_claim_s_failure() -> None:
    entries = [reported(), on_time(verify(HZ, "2026-11-03 10:00")), on_time(complete(HZ, "2026-11-05 09:00")),
               arriving(review(HZ, "2026-11-04 17:00", "failed"), "2026-11-16 12:00")]
    rp = feed(entries, until="2026-11-30 00:00")
    assert sent(rp, action="failure_withdrawn") == []
    assert len(sent(rp, "safety.referral.discipline")) == 1


def test_an_extension_decision_in_time_arriving_late_withdraws_the_bureau_s_failure() -> None:
    """Requested on 1 April, due for a decision by the end of 16 April, decided on the 16th offline."""
    entries = [on_time(e) for e in major_confirmed()]
    entries += [on_time(ext_request(MAJOR, "2026-04-01 10:00", "2026-07-31")),
                arriving(ext_decision(MAJOR, "2026-04-16 17:00", "2026-07-31"), "2026-04-20 09:00")]
    rp = feed(entries, until="2026-04-21 00:00")
    [failure] = sent(rp, rule_id="supervision.listed.extension", action="notify")
    assert failure["time"] == iso_end("2026-04-16")
    [withdrawn] = sent(rp, rule_id="supervision.listed.extension", action="failure_withdrawn")
    assert withdrawn["time"] == "2026-04-20T09:00:00+08:00"
    assert len(sent(rp, "safety.referral.discipline")) == 1  # sent on the 17th, and withdrawn
    assert len(sent(rp, "safety.referral.withdrawn")) == 1
    h = rp.states[MAJOR]
    assert h.deadline == end_of("2026-07-31") and h.duty_fails == {"safety_bureau": 0}


def test_a_completion_claim_by_the_listed_deadline_drops_or_withdraws_the_supervision_referral() -> None:
    """Listed with a deadline of 1 June; the claim of 29 May reaches the engine on 2 June, or on 5 June."""
    base = [on_time(e) for e in major_confirmed()]
    within = feed(base + [arriving(complete(MAJOR, "2026-05-29 17:00"), "2026-06-02 10:00")],
                  until="2026-06-05 00:00")
    assert sent(within, "safety.referral.discipline") == []
    assert sent(within, action="discipline_referral") == []
    h = within.states[MAJOR]
    assert h.failures == [] and h.held == [] and h.status() == "completed"
    # The listed deadline's failure was never escalated but as a referral; the ladder's steps after
    # the claim are taken back (test_a_claim_in_time_arriving_after_the_fine_was_proposed_...).
    assert {e["data"]["rule_id"] for e in sent(within, action="failure_withdrawn")} <= {
        "ladder.blue", "ladder.yellow"}

    after = feed(base + [arriving(complete(MAJOR, "2026-05-29 17:00"), "2026-06-05 10:00")],
                 until="2026-06-06 00:00")
    [referral] = sent(after, "safety.referral.discipline")
    assert referral["time"] == iso_end("2026-06-02")
    assert referral["data"]["grounds"] == "listed_supervision_failed"
    [withdrawal] = sent(after, "safety.referral.withdrawn")
    assert withdrawal["data"]["referral_id"] == referral["data"]["referral_id"]
    assert withdrawal["data"]["grounds"] == "listed_supervision_failed"
    assert [r["id"] for r in withdrawal["data"]["respondents"]] == ["lihaiwu", "fire_rescue"]
    assert after.states[MAJOR].referred == ["withdrawn:referral.supervision_missed"]


def test_a_completion_claim_after_the_listed_deadline_leaves_the_referral() -> None:
    base = [on_time(e) for e in major_confirmed()]
    rp = feed(base + [arriving(complete(MAJOR, "2026-06-02 08:00"), "2026-06-02 09:00")],
              until="2026-06-05 00:00")
    assert len(sent(rp, "safety.referral.discipline")) == 1
    assert sent(rp, "safety.referral.withdrawn") == []


def test_a_completion_claim_a_failed_review_judged_leaves_the_supervision_referral() -> None:
    """Claimed on 25 May, reviewed and failed on 28 May: the claim reaching the engine late does not
    show the hazard rectified by the listed deadline."""
    base = [on_time(e) for e in major_confirmed()]
    rp = feed(base + [on_time(review(MAJOR, "2026-05-28 10:00", "failed")),
                      arriving(complete(MAJOR, "2026-05-25 17:00"), "2026-06-05 10:00")],
              until="2026-06-06 00:00")
    assert len(sent(rp, "safety.referral.discipline")) == 1
    assert sent(rp, "safety.referral.withdrawn") == []
    assert rp.states[MAJOR].failures == [["supervision", at("2026-03-03 10:00"), end_of("2026-06-01"), None]]


@pytest.mark.parametrize("record", [
    verify(MAJOR, "2026-05-29 10:00", grade="major"),  # confirmed again: still a hazard
    review(MAJOR, "2026-05-28 10:00", "failed"),  # reviewed on site: not rectified
], ids=["confirmed again", "review failed"])
def test_a_record_that_shows_the_hazard_unrectified_leaves_the_supervision_referral(record: dict) -> None:
    """Made before the listed deadline of 1 June and reaching the engine on the 5th, after the
    referral: a verification that confirms the hazard, or a review that fails it, shows it not
    rectified, so the missed deadline stands (mutating `_answers` found neither case tested: each
    then withdrew the referral)."""
    base = [on_time(e) for e in major_confirmed()]
    rp = feed(base + [arriving(record, "2026-06-05 10:00")], until="2026-06-06 00:00")
    [referral] = sent(rp, "safety.referral.discipline")
    assert referral["data"]["grounds"] == "listed_supervision_failed"
    assert sent(rp, "safety.referral.withdrawn") == []
    taken_back = sent(rp, action="failure_withdrawn")
    assert [f for f in taken_back if f["data"]["rule_id"].startswith("supervision")] == []
    assert rp.states[MAJOR].referred == ["referral.supervision_missed"]


def test_a_claim_after_the_listed_deadline_arriving_before_the_failed_review_leaves_the_referral() -> None:
    """Claimed on 25 May; the review of 2 June at 07:00 failed it; a new claim at 08:00 reached the
    engine before that review (an inspector's app an hour behind). The claim pending when the
    review arrives came after the deadline of 1 June, so it cannot answer it: the deadline was
    missed as when the review comes first. Until 2026-12-05 the later claim kept the clock
    stopped, and the referral was never made (a random search of the property tests found it)."""
    base = [on_time(e) for e in major_confirmed()] + [on_time(complete(MAJOR, "2026-05-25 17:00"))]
    failed, again = review(MAJOR, "2026-06-02 07:00", "failed"), complete(MAJOR, "2026-06-02 08:00")
    for entries in ([on_time(failed), on_time(again)],
                    [arriving(failed, "2026-06-02 09:00"), on_time(again)]):
        rp = feed(base + entries, until="2026-06-05 00:00")
        [referral] = sent(rp, "safety.referral.discipline")
        assert referral["data"]["grounds"] == "listed_supervision_failed"
        missed = ["supervision", at("2026-03-03 10:00"), end_of("2026-06-01"), None]
        assert rp.states[MAJOR].failures == [missed]
        assert rp.states[MAJOR].completed_at == at("2026-06-02 08:00")  # the new claim awaits its review


def test_without_late_arrival_a_referral_goes_at_once_and_is_withdrawn_when_answered() -> None:
    rules = dataclasses.replace(RULES, late_after=None)
    late = arriving(verify(HZ, "2026-11-05 16:00"), "2026-11-06 10:00")
    rp = feed([reported(), late], rules, until="2026-11-07 00:00")
    [referral] = sent(rp, "safety.referral.discipline")
    assert referral["time"] == iso_end("2026-11-05")
    [withdrawal] = sent(rp, "safety.referral.withdrawn")
    assert withdrawal["time"] == "2026-11-06T10:00:00+08:00"


def test_a_hold_of_zero_minutes_refers_at_once(tmp_path) -> None:
    rules = load_rules(edited_rules(tmp_path, "hazards.yaml", "after: 24 hours", "after: 0 minutes"))
    rp = feed([reported()], rules, until="2026-11-06 00:00")
    [referral] = sent(rp, "safety.referral.discipline")
    assert referral["time"] == iso_end("2026-11-05")


def test_with_a_threshold_of_two_a_withdrawn_failure_withdraws_the_referral_it_completed(tmp_path) -> None:
    """Two failures refer the department; the second one withdrawn, the referral goes with it."""
    rules = load_rules(edited_rules(tmp_path, "hazards.yaml", "threshold: 1", "threshold: 2"))
    entries = [reported(), on_time(verify(HZ, "2026-11-03 10:00")), on_time(complete(HZ, "2026-11-04 09:00")),
               on_time(review(HZ, "2026-11-04 12:00", "failed")),
               on_time(complete(HZ, "2026-11-06 09:00")),  # not reviewed in 10 days: failure 1, on the 16th
               on_time(review(HZ, "2026-11-17 09:00", "failed")),
               # failure 2 on Friday the 27th, referred on the 28th (claimed on the 18th until 2026-12-07: its
               # tenth day is now a Saturday, moved to Monday the 30th, after the review below arrived)
               on_time(complete(HZ, "2026-11-17 09:30")),
               arriving(review(HZ, "2026-11-27 15:00", "passed"), "2026-12-01 09:00")]
    rp = feed(entries, rules, until="2026-12-02 00:00")
    assert [e["time"] for e in sent(rp, rule_id="duty.review", action="notify")] == \
        [iso_end("2026-11-16"), iso_end("2026-11-27")]
    [referral] = sent(rp, "safety.referral.discipline")
    assert referral["time"] == iso_end("2026-11-28")
    assert len(sent(rp, "safety.referral.withdrawn")) == 1
    assert rp.states[HZ].duty_fails == {"fire_rescue": 1}  # the first failure stands
    assert rp.states[HZ].status() == "closed"


def test_with_a_threshold_of_two_a_lone_failure_withdrawn_withdraws_nothing_else(tmp_path) -> None:
    """One failure, under a threshold of two, never referred: its answer withdraws the failure and
    nothing else, and the decision does not fail on a referral that was never made."""
    rules = load_rules(edited_rules(tmp_path, "hazards.yaml", "threshold: 1", "threshold: 2"))
    late = arriving(verify(HZ, "2026-11-05 16:00"), "2026-11-09 09:00")
    rp = feed([reported(), late], rules, until="2026-11-20 00:00")
    assert len(sent(rp, rule_id="duty.verify", action="notify")) == 1
    assert len(sent(rp, rule_id="duty.verify", action="failure_withdrawn")) == 1
    assert sent(rp, "safety.referral.discipline") == [] and sent(rp, "safety.referral.withdrawn") == []
    h = rp.states[HZ]
    assert h.duty_fails == {"fire_rescue": 0} and h.referred == [] and h.held == []


def test_kept_failures_and_held_referrals_are_stored_by_name_and_load_back() -> None:
    rp = feed([reported()], until="2026-11-06 12:00")
    h = rp.states[HZ]
    assert h.failures and h.held and h.clocks["refer"] == end_of("2026-11-06")
    raw = pack(h)
    assert b'"clock","since","due","department"' in raw  # rows under their names, not positional
    back = unpack(raw)
    assert (back.failures, back.held) == (h.failures, h.held)
    # A state stored before these fields existed loads with none.
    assert Hazard(id=HZ).failures == [] and Hazard(id=HZ).held == []


def test_a_hazard_s_view_shows_its_referrals_sent_held_and_withdrawn() -> None:
    held = feed([reported()], until="2026-11-06 12:00").states[HZ]
    view = hazard_view(held, RULES, at("2026-11-06 12:00"))
    assert view["referrals"] == [] and view["referrals_withdrawn"] == []
    assert view["referrals_held"] == [{"ground": "referral.duty_failures:fire_rescue",
                                       "until": iso_end("2026-11-06")}]
    late = arriving(verify(HZ, "2026-11-05 16:00"), "2026-11-09 09:00")
    withdrawn = feed([reported(), late], until="2026-11-09 10:00").states[HZ]
    view = hazard_view(withdrawn, RULES, at("2026-11-09 10:00"))
    assert view["referrals"] == [] and view["referrals_held"] == []
    assert view["referrals_withdrawn"] == ["referral.duty_failures:fire_rescue"]


# --- a deadline counted through a year without a holiday notice --------------------------------

SF = "HZ-W-SF"


def test_a_failure_on_an_approximate_deadline_is_referred_only_once_the_latest_deadline_passed() -> None:
    """Reported on Thursday 4 February 2027: without the 2027 notice, 3 working days end on
    15 February, but the notice may rest 11 and 12 February and move them to the 17th. The failure
    is escalated on the 15th, saying so; the referral waits for the 17th and its day's hold."""
    rp = feed([on_time(report(SF, "2027-02-04 09:00"))], until="2027-02-22 00:00")
    [failure] = sent(rp, rule_id="duty.verify", action="notify")
    assert failure["time"] == iso_end("2027-02-15")
    said = f"it may truly be as late as {iso_end('2027-02-17')}, and a referral waits"
    assert said in failure["data"]["reason"]
    [referral] = sent(rp, "safety.referral.discipline")
    assert referral["time"] == iso_end("2027-02-18")


def test_a_verification_after_the_counted_but_before_the_latest_deadline_withdraws_the_failure() -> None:
    """Verified on 16 February, which the notice may still make the second of three working days:
    the failure is withdrawn when the record arrives, and nobody is referred."""
    late = arriving(verify(SF, "2027-02-16 15:00"), "2027-02-17 10:00")
    rp = feed([on_time(report(SF, "2027-02-04 09:00")), late], until="2027-02-22 00:00")
    assert len(sent(rp, rule_id="duty.verify", action="failure_withdrawn")) == 1
    assert sent(rp, "safety.referral.discipline") == []


def test_without_late_arrival_an_approximate_deadline_still_holds_its_referral_to_the_latest() -> None:
    rules = dataclasses.replace(RULES, late_after=None)
    rp = feed([on_time(report(SF, "2027-02-04 09:00"))], rules=rules, until="2027-02-22 00:00")
    [referral] = sent(rp, "safety.referral.discipline")
    assert referral["time"] == iso_end("2027-02-17")
    assert rp.states[SF].held == []


def test_a_deadline_in_a_known_year_is_not_extended() -> None:
    """2026 is known (the notice is typed in): the reason says nothing of approximation."""
    rp = feed([reported()], until="2026-11-20 00:00")
    [failure] = sent(rp, rule_id="duty.verify", action="notify")
    assert "approximate" not in failure["data"]["reason"]
    [referral] = sent(rp, "safety.referral.discipline")
    assert referral["time"] == iso_end("2026-11-06")


# --- an enterprise's completion claim made in time, recorded late ------------------------------

LC = "HZ-W-LC"


def _claimed_late(claimed: str = "2026-11-09 10:00", arrived: str = "2026-11-20 10:00",
                  **report_kw) -> Replay:
    """Confirmed on Tuesday 3 November (due at the end of the 10th); claimed complete at `claimed`,
    reaching the engine at `arrived`."""
    entries = [on_time(report(LC, "2026-11-02 09:00", **report_kw)), on_time(verify(LC, "2026-11-03 10:00")),
               arriving(complete(LC, claimed), arrived)]
    return feed(entries, until="2026-11-29 00:00")


def test_a_claim_in_time_arriving_after_the_fine_was_proposed_withdraws_it_and_the_steps_after_it() -> None:
    rp = _claimed_late()
    [proposal] = sent(rp, "safety.enforcement.proposed")
    [withdrawn] = sent(rp, "safety.enforcement.withdrawn")
    OUTPUT_TYPES["safety.enforcement.withdrawn"][1].model_validate(withdrawn["data"])
    assert withdrawn["data"]["proposal_id"] == proposal["data"]["proposal_id"] == proposal["id"]
    assert withdrawn["id"] != proposal["id"] and withdrawn["time"] == "2026-11-20T10:00:00+08:00"
    kept = {k: v for k, v in withdrawn["data"].items() if k not in ("reason", "reason_zh")}
    assert kept == proposal["data"]
    assert "the completion claim" in withdrawn["data"]["reason"]
    assert withdrawn["data"]["reason_zh"].startswith("撤回执法建议：整改完成申报 ")
    steps = [e["data"]["rule_id"] for e in sent(rp, action="failure_withdrawn")]
    assert steps == ["ladder.yellow", "ladder.orange", "ladder.red"]  # not blue, sent before the claim
    [red] = sent(rp, action="summon")
    [red_back] = sent(rp, action="failure_withdrawn", rule_id="ladder.red")
    assert red_back["data"]["targets"] == red["data"]["targets"]
    h = rp.states[LC]
    assert (h.step, h.tier, h.status()) == (1, "blue", "completed")
    assert any(w.startswith("ladder steps ladder.yellow, ladder.orange, ladder.red withdrawn")
               for _, _, w in h.history)
    assert sum(w.startswith("proposed fine") for _, _, w in h.history) == 1  # not recorded again


def test_a_claim_made_after_a_step_leaves_that_step_standing() -> None:
    """Claimed on the 15th, after the orange letter (13th) and before the red summons (17th)."""
    rp = _claimed_late(claimed="2026-11-15 10:00", arrived="2026-11-20 10:00")
    assert [e["data"]["rule_id"] for e in sent(rp, action="failure_withdrawn")] == ["ladder.red"]
    assert rp.states[LC].tier == "orange"


def test_a_claim_after_every_step_withdraws_nothing() -> None:
    rp = _claimed_late(claimed="2026-11-18 10:00", arrived="2026-11-20 10:00")
    assert sent(rp, action="failure_withdrawn") == [] and sent(rp, "safety.enforcement.withdrawn") == []
    assert rp.states[LC].tier == "red"


def test_a_hazard_without_an_enterprise_has_no_proposal_to_withdraw() -> None:
    rp = _claimed_late(enterprise=None)
    assert sent(rp, "safety.enforcement.proposed") == sent(rp, "safety.enforcement.withdrawn") == []
    assert len(sent(rp, action="failure_withdrawn")) == 3


def test_a_plan_filed_in_time_arriving_after_its_escalation_withdraws_it() -> None:
    """Listed on 3 March, the plan is due by the end of 6 March; filed on the 5th, it reaches the
    engine on the 9th, after the escalation that no plan was filed."""
    base = [on_time(e) for e in major_confirmed()]
    rp = feed(base + [arriving(plan(MAJOR, "2026-03-05 09:00"), "2026-03-09 09:00")],
              until="2026-03-20 00:00")
    [missing] = sent(rp, rule_id="supervision.listed.plan", action="notify")
    assert missing["time"] == iso_end("2026-03-06")
    [withdrawn] = sent(rp, rule_id="supervision.listed.plan", action="failure_withdrawn")
    assert withdrawn["time"] == "2026-03-09T09:00:00+08:00"
    assert withdrawn["data"]["targets"] == missing["data"]["targets"]
    assert not rp.states[MAJOR].plan_fired


def test_a_plan_filed_after_its_due_time_withdraws_nothing() -> None:
    base = [on_time(e) for e in major_confirmed()]
    rp = feed(base + [arriving(plan(MAJOR, "2026-03-07 09:00"), "2026-03-09 09:00")],
              until="2026-03-20 00:00")
    assert sent(rp, rule_id="supervision.listed.plan", action="failure_withdrawn") == []
    assert rp.states[MAJOR].plan_fired


@pytest.mark.parametrize("closing", ["unfounded", "passed"])
def test_a_listed_hazard_closed_before_its_plan_was_due_recorded_late_withdraws_the_escalation(
        closing: str) -> None:
    """Listed on 3 March, the plan due by the end of 6 March; on the 5th a verification found the
    hazard unfounded (or a review on a return visit passed it), recorded on the 9th, after the
    escalation that no plan was filed: a closed hazard needed no plan, and the escalation is
    withdrawn, to the same recipients, with the listing lifted."""
    closed = (verify(MAJOR, "2026-03-05 09:00", "unfounded", None) if closing == "unfounded"
              else review(MAJOR, "2026-03-05 09:00", "passed"))
    base = [on_time(e) for e in major_confirmed()]
    rp = feed(base + [arriving(closed, "2026-03-09 09:00")], until="2026-03-20 00:00")
    [missing] = sent(rp, rule_id="supervision.listed.plan", action="notify")
    [withdrawn] = sent(rp, rule_id="supervision.listed.plan", action="failure_withdrawn")
    assert withdrawn["time"] == "2026-03-09T09:00:00+08:00"
    assert withdrawn["data"]["targets"] == missing["data"]["targets"]
    assert f"supervision.listed.plan of {iso_end('2026-03-06')}, reached the engine after it" \
        in withdrawn["data"]["reason"]
    assert withdrawn["data"]["reason_zh"].startswith(f"撤回隐患 {MAJOR} 的")
    h = rp.states[MAJOR]
    assert not h.plan_fired and not h.is_open()
    assert sent(rp, "safety.supervision.lifted")
    assert any(what.startswith(f"supervision.listed.plan of {iso_end('2026-03-06')} withdrawn: ")
               for _, _, what in h.history)


def test_a_listed_hazard_closed_after_its_plan_was_due_leaves_the_escalation() -> None:
    base = [on_time(e) for e in major_confirmed()]
    rp = feed(base + [arriving(verify(MAJOR, "2026-03-07 09:00", "unfounded", None), "2026-03-09 09:00")],
              until="2026-03-20 00:00")
    assert sent(rp, rule_id="supervision.listed.plan", action="failure_withdrawn") == []
    assert rp.states[MAJOR].plan_fired


def _listed_before_spring_festival_2027() -> list[dict]:
    """A major hazard confirmed, and so listed, on Thursday 4 February 2027: counted without the
    2027 notice its plan is due by the end of 15 February, but the notice may move that to the 17th."""
    return [on_time(report(SF, "2027-02-03 09:00", grade="major")),
            on_time(verify(SF, "2027-02-04 10:00", grade="major"))]


def test_a_missing_plan_on_an_approximate_due_time_says_how_late_it_may_truly_be() -> None:
    rp = feed(_listed_before_spring_festival_2027(), until="2027-02-22 00:00")
    [missing] = sent(rp, rule_id="supervision.listed.plan", action="notify")
    assert missing["time"] == iso_end("2027-02-15")
    assert (f"it may truly be as late as {iso_end('2027-02-17')}, and a plan filed by then takes this "
            "back") in missing["data"]["reason"]


def test_a_plan_after_the_counted_but_before_the_latest_due_time_withdraws_its_escalation() -> None:
    rp = feed(_listed_before_spring_festival_2027() + [on_time(plan(SF, "2027-02-16 15:00"))],
              until="2027-02-22 00:00")
    [withdrawn] = sent(rp, rule_id="supervision.listed.plan", action="failure_withdrawn")
    assert withdrawn["time"] == "2027-02-16T15:00:00+08:00"
    assert f"filed by {iso_end('2027-02-17')}, the latest" in withdrawn["data"]["reason"]
    assert not rp.states[SF].plan_fired


def test_a_plan_after_the_latest_due_time_withdraws_nothing() -> None:
    rp = feed(_listed_before_spring_festival_2027() + [on_time(plan(SF, "2027-02-18 09:00"))],
              until="2027-02-22 00:00")
    assert sent(rp, rule_id="supervision.listed.plan", action="failure_withdrawn") == []
    assert rp.states[SF].plan_fired


def test_a_referral_tells_its_timeline_in_chinese_too() -> None:
    """Discipline inspection reads Chinese: every step of a referred hazard's record carries
    `what_zh` beside the engine's sentence."""
    rp = feed([on_time(report(SF, "2027-02-04 09:00"))], until="2027-02-22 00:00")
    [referral] = sent(rp, "safety.referral.discipline")
    timeline = referral["data"]["timeline"]
    assert [item["what_zh"] for item in timeline] == [
        "上报（一般），来源：网格巡查", "区消防救援大队 不履行安全监管职责（隐患核实期限，第 1 次）",
        "移送（不履行安全监管职责）暂缓至 2027-02-18T23:59:59+08:00，等待期限前形成的记录",
        "移送纪委监委：不履行安全监管职责"]
    assert timeline[0]["what"] == "reported (general) via grid_patrol"
    assert referral["data"]["reason_zh"] == ("区消防救援大队 在本隐患上 1 次不履行安全监管职责，"
                                             "最近一次：隐患 HZ-W-SF 未在 3 个工作日内核实")


def _extended_late(approved: str = "2026-04-25 10:00") -> Replay:
    """Listed major hazard due 1 June (plan filed); an extension to 31 July requested on 20 April and
    approved on `approved` on a tablet that stays offline until 20 June, after the whole ladder ran
    against 1 June and its departments were referred for the missed listed deadline."""
    entries = [on_time(e) for e in major_confirmed()]
    entries += [on_time(plan(MAJOR, "2026-03-04 10:00", "2026-05-30")),
                on_time(ext_request(MAJOR, "2026-04-20 10:00", "2026-07-31")),
                arriving(ext_decision(MAJOR, approved, "2026-07-31"), "2026-06-20 10:00")]
    return feed(entries, until="2026-06-21 00:00")


def test_an_extension_approved_in_time_arriving_late_withdraws_the_ladder_and_its_referral() -> None:
    """In time order none of it would have run: from 25 April the rectification was due on 31 July.
    Each ladder step's recipients are told, the fine and 停产停业整顿 proposals are withdrawn, and
    so is the referral for the listed deadline of 1 June, which the extension moved."""
    rp = _extended_late()
    steps = _ladder_withdrawn(rp)
    assert steps == ["ladder.blue", "ladder.yellow", "ladder.orange", "ladder.red", "ladder.overhaul"]
    proposed = {e["data"]["proposal_id"] for e in sent(rp, "safety.enforcement.proposed")}
    withdrawn = sent(rp, "safety.enforcement.withdrawn")
    assert {e["data"]["proposal_id"] for e in withdrawn} == proposed and len(proposed) == 2
    said = "撤回执法建议：延期已于 2026-04-25T10:00:00+08:00 批准"
    assert all(e["data"]["reason_zh"].startswith(said) for e in withdrawn)
    referred = {e["data"]["grounds"]: e["data"]["referral_id"]
                for e in sent(rp, "safety.referral.discipline")}
    assert "listed_supervision_failed" in referred
    taken = {e["data"]["referral_id"] for e in sent(rp, "safety.referral.withdrawn")}
    assert referred["listed_supervision_failed"] in taken
    h = rp.states[MAJOR]
    assert h.deadline == end_of("2026-07-31") and (h.step, h.tier) == (0, None)
    assert not [f for f in h.failures if f[0] == "supervision"]


def test_an_extension_approved_after_ladder_steps_leaves_those_steps() -> None:
    """Approved on 5 June, after the blue and yellow steps (31 May, 1 June) and the missed listed
    deadline: those steps stand, and the steps after the approval are withdrawn. The request was
    before the supervising body since 20 April, so the days past 1 June were its delay (its own
    failure to decide stands): the town and the lead department are not held to the deadline it
    moved, and their referral is withdrawn in words that say so (until 2026-12-07 it stood)."""
    rp = _extended_late(approved="2026-06-05 10:00")
    steps = _ladder_withdrawn(rp)
    assert steps and "ladder.blue" not in steps and "ladder.yellow" not in steps
    referred = {e["data"]["grounds"]: e["data"]["referral_id"]
                for e in sent(rp, "safety.referral.discipline")}
    withdrawn = {e["data"]["referral_id"]: e["data"] for e in sent(rp, "safety.referral.withdrawn")}
    said = withdrawn[referred["listed_supervision_failed"]]
    assert said["reason"].startswith("the supervising body approved on 2026-06-05T10:00:00+08:00 the "
                                     "extension ")
    assert "on a request before it since 2026-04-20T10:00:00+08:00, before the deadline " \
           "2026-06-01T23:59:59+08:00, and moved the deadline to 2026-07-31T23:59:59+08:00" in said["reason"]
    assert said["reason_zh"].startswith("督办单位于 2026-06-05T10:00:00+08:00 批准延期")
    assert referred["duty_failure"] not in withdrawn  # the bureau did not decide within 10 working days
    h = rp.states[MAJOR]
    assert not [f for f in h.failures if f[0] == "supervision"]
    assert [f[0] for f in h.failures] == ["extension"]


def test_an_extension_asked_for_after_the_deadline_leaves_the_referral_for_it() -> None:
    """Asked for on 3 June, after the listed deadline of 1 June had passed, and approved on 5 June:
    the deadline moves, but when it passed nobody had asked to move it, so the referral of the town
    and the lead department for it stands."""
    entries = [on_time(e) for e in major_confirmed()]
    entries += [on_time(plan(MAJOR, "2026-03-04 10:00", "2026-05-30")),
                on_time(ext_request(MAJOR, "2026-06-03 10:00", "2026-07-31")),
                on_time(ext_decision(MAJOR, "2026-06-05 10:00", "2026-07-31"))]
    rp = feed(entries, until="2026-06-21 00:00")
    referred = [e["data"]["grounds"] for e in sent(rp, "safety.referral.discipline")]
    assert referred == ["listed_supervision_failed"]
    assert sent(rp, "safety.referral.withdrawn") == []
    assert rp.states[MAJOR].deadline == end_of("2026-07-31")


def _ladder_withdrawn(rp: Replay) -> list[str]:
    return [e["data"]["rule_id"] for e in sent(rp, action="failure_withdrawn")
            if e["data"]["rule_id"].startswith("ladder.")]


@pytest.mark.parametrize("verdict", ["unfounded", "duplicate"])
def test_a_hazard_found_unfounded_in_time_and_recorded_late_takes_back_the_ladder(verdict: str) -> None:
    """Confirmed on 3 November (due the 10th), found unfounded (or a duplicate) on the 9th by a
    supervisor offline until the 20th: the yellow, orange and red steps and the fine ran against a
    hazard already closed. Each is taken back, to its recipients; the blue step, before the
    verdict, stands."""
    entries = [on_time(report(LC, "2026-11-02 09:00")), on_time(verify(LC, "2026-11-03 10:00")),
               arriving(verify(LC, "2026-11-09 10:00", verdict, None, duplicate_of="HZ-OTHER"),
                        "2026-11-20 10:00")]
    rp = feed(entries, until="2026-11-29 00:00")
    assert _ladder_withdrawn(rp) == ["ladder.yellow", "ladder.orange", "ladder.red"]
    [proposal] = sent(rp, "safety.enforcement.proposed")
    [withdrawn] = sent(rp, "safety.enforcement.withdrawn")
    assert withdrawn["data"]["proposal_id"] == proposal["data"]["proposal_id"]
    assert f"which found it {verdict} before the step ladder.red" in withdrawn["data"]["reason"]
    assert withdrawn["data"]["reason_zh"].startswith("撤回执法建议：核实记录 ")
    h = rp.states[LC]
    assert h.closed_how == verdict and (h.step, h.tier) == (1, "blue")


def test_a_review_passed_in_time_and_recorded_late_takes_back_the_ladder() -> None:
    """Confirmed on 3 November (due the 10th); on the 9th an inspector's return visit found it
    rectified and passed it (复查验收), no claim filed before, the tablet offline until the 20th: the
    yellow, orange and red steps and the fine ran against a hazard already accepted as rectified.
    Each is taken back, to its recipients; the blue step, before the review, stands."""
    entries = [on_time(report(LC, "2026-11-02 09:00")), on_time(verify(LC, "2026-11-03 10:00")),
               arriving(review(LC, "2026-11-09 10:00", "passed"), "2026-11-20 10:00")]
    rp = feed(entries, until="2026-11-29 00:00")
    assert _ladder_withdrawn(rp) == ["ladder.yellow", "ladder.orange", "ladder.red"]
    [proposal] = sent(rp, "safety.enforcement.proposed")
    [withdrawn] = sent(rp, "safety.enforcement.withdrawn")
    assert withdrawn["data"]["proposal_id"] == proposal["data"]["proposal_id"]
    assert "the acceptance review" in withdrawn["data"]["reason"]
    assert "which passed before the step ladder.red" in withdrawn["data"]["reason"]
    assert withdrawn["data"]["reason_zh"].startswith("撤回执法建议：复查验收 ")
    [step] = [e for e in sent(rp, action="failure_withdrawn") if e["data"]["rule_id"] == "ladder.red"]
    assert step["data"]["reason_zh"].startswith(f"撤回隐患 {LC} 的")
    h = rp.states[LC]
    assert h.closed_how == "passed" and (h.step, h.tier) == (1, "blue")
    assert "withdrawn: review passed on" in h.history[-1][2]


def test_a_review_passed_after_a_failed_one_recorded_late_takes_back_the_new_ladder() -> None:
    """Claimed on the 8th, failed on the 9th (due again the 16th), passed on a return visit on the
    15th but recorded on the morning of the 30th: the new cycle's steps after the 15th and its fine
    are taken back (the order to stop for overhaul, due that evening, never goes); nothing of the
    first cycle ran (the claim stopped it)."""
    entries = [on_time(report(LC, "2026-11-02 09:00")), on_time(verify(LC, "2026-11-03 10:00")),
               on_time(complete(LC, "2026-11-08 10:00")), on_time(review(LC, "2026-11-09 10:00", "failed")),
               arriving(review(LC, "2026-11-15 10:00", "passed"), "2026-11-30 10:00")]
    rp = feed(entries, until="2026-12-05 00:00")
    assert _ladder_withdrawn(rp) == ["ladder.yellow", "ladder.orange", "ladder.red"]
    [fine] = sent(rp, "safety.enforcement.proposed")
    [withdrawn] = sent(rp, "safety.enforcement.withdrawn")
    assert fine["data"]["measure"] == "fine"
    assert withdrawn["data"]["proposal_id"] == fine["data"]["proposal_id"]
    assert rp.states[LC].cycle == 1


def test_a_failed_review_recorded_late_takes_nothing_back() -> None:
    """A review that failed, however late it comes, says the rectification was not done: nothing
    the ladder did is taken back."""
    entries = [on_time(report(LC, "2026-11-02 09:00")), on_time(verify(LC, "2026-11-03 10:00")),
               arriving(review(LC, "2026-11-09 10:00", "failed"), "2026-11-20 10:00")]
    rp = feed(entries, until="2026-11-21 00:00")
    assert _ladder_withdrawn(rp) == [] and sent(rp, "safety.enforcement.withdrawn") == []


def test_a_finding_fixed_on_the_spot_stays_closed_whatever_verifications_follow() -> None:
    """Fixed on the spot during a law-enforcement inspection (当场整改), then found unfounded and
    later confirmed by verifications: it was rectified, so it is not opened again, and no ladder
    runs or fine is proposed against the enterprise."""
    entries = hazard_entries(inspection("2026-11-02 09:00", [finding(LC, immediate=True)], kind="routine"))
    entries += [verify(LC, "2026-11-02 10:00", "unfounded", None),
                verify(LC, "2026-11-03 10:00", "confirmed", "general")]
    rp = feed([on_time(e) for e in entries], until="2026-11-29 00:00")
    h = rp.states[LC]
    assert h.immediate and not h.is_open()
    assert sent(rp, action="remind") == [] and sent(rp, "safety.enforcement.proposed") == []


def test_an_approval_that_came_before_its_request_both_late_takes_back_the_same() -> None:
    """Both records offline: the approval reaches the engine first (kept for its request), the
    request a day later, which decides it; what ran after the approval is taken back all the same."""
    entries = [on_time(e) for e in major_confirmed()]
    entries += [on_time(plan(MAJOR, "2026-03-04 10:00", "2026-05-30")),
                arriving(ext_decision(MAJOR, "2026-04-25 10:00", "2026-07-31"), "2026-06-20 10:00"),
                arriving(ext_request(MAJOR, "2026-04-20 10:00", "2026-07-31"), "2026-06-21 10:00")]
    rp = feed(entries, until="2026-06-22 00:00")
    assert _ladder_withdrawn(rp) == ["ladder.blue", "ladder.yellow", "ladder.orange", "ladder.red",
                                     "ladder.overhaul"]
    referred = {e["data"]["grounds"]: e["data"]["referral_id"]
                for e in sent(rp, "safety.referral.discipline")}
    assert referred["listed_supervision_failed"] in {
        e["data"]["referral_id"] for e in sent(rp, "safety.referral.withdrawn")}
