"""The monthly filing of supervision results with discipline inspection (grounds periodic_filing)."""

from __future__ import annotations

import dataclasses

import pytest
from decide_fixtures import RULES, at, complete, report, review, run, verify

from engine.contract.outputs import REFERRALS_DISCIPLINE, DisciplineReferral
from engine.decide.filing import FilingError, month_bounds, monthly_filings, supplements
from engine.decide.state import PASSED_CLAIM, Hazard, judged_claim


def _story():
    """Three fire-safety hazards (lead: fire_rescue) and one construction hazard, across two months."""
    return run(
        report("HZ-F1", "2026-10-20 09:00"), verify("HZ-F1", "2026-10-20 10:00"),
        complete("HZ-F1", "2026-10-25 10:00"), review("HZ-F1", "2026-10-28 10:00"),  # closed in October
        report("HZ-F2", "2026-11-02 09:00"), verify("HZ-F2", "2026-11-02 10:00"),  # open, overdue
        report("HZ-F3", "2026-11-30 23:59"),  # found on the month's last minute
        report("HZ-F4", "2026-12-01 00:00"),  # the next month's
        report("HZ-C1", "2026-11-03 09:00", sector="construction"), verify("HZ-C1", "2026-11-03 10:00"),
        complete("HZ-C1", "2026-11-05 10:00"), review("HZ-C1", "2026-11-06 10:00"),
        until="2026-12-02 00:00")


def _by_dept(outs):
    return {o.key: DisciplineReferral.model_validate(o.event["data"]) for o in outs}


def test_every_sector_lead_files_each_month_even_with_nothing_to_report():
    """One filing per department that leads a sector; those with no hazard file a nil return."""
    rp = _story()
    outs = monthly_filings(rp.states.values(), "2026-11", RULES)
    leads = {a.lead.id for a in RULES.reference.sectors.values()}
    assert {o.key for o in outs} == leads and all(o.topic == REFERRALS_DISCIPLINE for o in outs)
    filings = _by_dept(outs)
    for dept, f in filings.items():
        assert (f.grounds, f.subject_kind, f.subject_id) == ("periodic_filing", "department", dept)
        assert [(r.kind, r.id) for r in f.respondents] == [("department", dept)]
    assert filings["market_supervision"].timeline == []
    assert "0 hazards found, 0 closed, 0 open" in filings["market_supervision"].reason


def test_a_filing_counts_the_month_at_its_boundaries():
    """23:59 on the 30th is November's; 00:00 on 1 December is not; a hazard closed in October is left out."""
    filings = _by_dept(monthly_filings(_story().states.values(), "2026-11", RULES))
    fire = filings["fire_rescue"]
    assert "2 hazards found, 0 closed, 2 open at the month's end, 1 of them past their deadline" \
        in fire.reason
    assert {item.what.split(":")[0] for item in fire.timeline} == {"HZ-F2", "HZ-F3"}
    assert all(item.time.month == 11 for item in fire.timeline)
    assert [t.time for t in fire.timeline] == sorted(t.time for t in fire.timeline)
    construction = filings["housing_construction"]
    assert "1 hazards found, 1 closed, 0 open" in construction.reason
    october = _by_dept(monthly_filings(_story().states.values(), "2026-10", RULES))["fire_rescue"]
    assert "1 hazards found, 1 closed, 0 open" in october.reason


def test_a_hazard_closed_at_the_first_second_of_a_month_is_that_months():
    """A review passed at 00:00:00 on 1 November closes the hazard in November, not October: it is
    among November's closed and was open at October's end; one closed at 00:00:00 on 1 December
    was still open at November's end."""
    rp = run(report("HZ-B1", "2026-10-20 09:00"), verify("HZ-B1", "2026-10-20 10:00"),
             complete("HZ-B1", "2026-10-30 10:00"), review("HZ-B1", "2026-11-01 00:00"),
             report("HZ-B2", "2026-11-10 09:00"), verify("HZ-B2", "2026-11-10 10:00"),
             complete("HZ-B2", "2026-11-30 10:00"), review("HZ-B2", "2026-12-01 00:00"),
             until="2026-12-02 00:00")
    october = _by_dept(monthly_filings(rp.states.values(), "2026-10", RULES))["fire_rescue"]
    november = _by_dept(monthly_filings(rp.states.values(), "2026-11", RULES))["fire_rescue"]
    assert "1 hazards found, 0 closed, 1 open at the month's end" in october.reason
    assert "1 hazards found, 1 closed, 1 open at the month's end" in november.reason


def test_a_filing_tells_each_step_in_chinese_too():
    """Discipline inspection reads Chinese: each line has `what_zh`, its hazard named first."""
    fire = _by_dept(monthly_filings(_story().states.values(), "2026-11", RULES))["fire_rescue"]
    said = {(item.what, item.what_zh) for item in fire.timeline}
    assert ("HZ-F2: verified: confirmed (general)", "HZ-F2：核实：属实（一般）") in said
    assert all(zh is not None for _, zh in said)
    assert fire.reason_zh == ("区消防救援大队 2026-11 监督检查结果抄报备案：发现隐患 2 项，销号 0 项，"
                              "月末未销号 2 项，其中逾期 1 项、挂牌督办 0 项；执法建议逾期未审核或决定 2 项")


def test_filing_a_month_twice_sends_the_same_ids_and_months_differ():
    """Ids come from department, month and rule: a repeated run de-duplicates, another month does not."""
    states = list(_story().states.values())
    first = [o.id for o in monthly_filings(states, "2026-11", RULES)]
    assert first == [o.id for o in monthly_filings(reversed(states), "2026-11", RULES)]
    assert not set(first) & {o.id for o in monthly_filings(states, "2026-12", RULES)}
    assert month_bounds("2026-12")[1] == month_bounds("2027-01")[0]


@pytest.mark.parametrize("month", ["2026-13", "11-2026", "", "2026-1x"])
def test_a_badly_written_month_is_refused_by_name(month):
    """The month is YYYY-MM; anything else is a FilingError that shows the format."""
    with pytest.raises(FilingError, match="YYYY-MM"):
        monthly_filings([], month, RULES)


def test_rules_without_the_ground_refuse_to_file():
    """A district that removes referral.periodic_filing gets a clear error, not an empty filing."""
    with pytest.raises(FilingError, match="periodic_filing"):
        monthly_filings([Hazard("HZ-X")], "2026-11", dataclasses.replace(RULES, periodic_filing=None))


def test_a_filing_counts_the_proposals_that_ran_out_in_the_month_unanswered():
    """A hazard confirmed on 3 November: its fine falls due on the 24th, its overhaul's legal review
    on 1 December. Left unanswered, November files the fine and December the overhaul. With the fine
    decided in time and the hazard rectified and accepted on the 27th, November files none, and
    December none either: 停产停业整顿 is for a refusal to eliminate the hazard (安全生产法 art. 102), and
    was moot before its review was due (until 2026-12-07 December filed it, audit finding 7). The
    fine left undecided is filed whatever closed the hazard: it is for the act done."""
    from decide_fixtures import INSPECTORS, event

    def unanswered(rp, month):
        reason = _by_dept(monthly_filings(rp.states.values(), month, RULES))["fire_rescue"].reason
        return int(reason.rsplit(", ", 1)[1].split()[0])

    opened = [report("HZ-P", "2026-11-03 09:00"), verify("HZ-P", "2026-11-03 10:00")]
    rp = run(*opened, until="2026-12-05 00:00")
    assert (unanswered(rp, "2026-11"), unanswered(rp, "2026-12")) == (1, 1)
    [decision] = event("safety.enforcement.penalized", "2026-11-20 10:00", {
        "hazard_id": "HZ-P", "decision_no": "罚1", "fine_cny": 10000, "legal_basis": "安全生产法 art. 102",
        "by": INSPECTORS[0]}, "HZ-P")
    rp = run(*opened, decision, review("HZ-P", "2026-11-27 10:00"), until="2026-12-05 00:00")
    assert rp.states["HZ-P"].status() == "closed"
    assert (unanswered(rp, "2026-11"), unanswered(rp, "2026-12")) == (0, 0)
    rp = run(*opened, review("HZ-P", "2026-11-27 10:00"), until="2026-12-05 00:00")
    assert (unanswered(rp, "2026-11"), unanswered(rp, "2026-12")) == (1, 0)


def test_a_filing_counts_an_approved_proposal_whose_decision_ran_out_in_the_month_once():
    """The overhaul of a hazard confirmed on 3 November, its legal review approving it on 30 November,
    in time: its order is due by 7 December. Not made, December files it once, not twice; with the
    review late too (3 December), December still counts the proposal once."""
    from decide_fixtures import INSPECTORS, event

    def unanswered(rp, month):
        reason = _by_dept(monthly_filings(rp.states.values(), month, RULES))["fire_rescue"].reason
        return int(reason.rsplit(", ", 1)[1].split()[0])

    opened = [report("HZ-P", "2026-11-03 09:00"), verify("HZ-P", "2026-11-03 10:00")]
    overhaul = next(o.event["data"]["proposal_id"] for _, o in run(*opened, until="2026-12-01 00:00").outputs
                    if o.event["data"].get("measure") == "suspend_for_overhaul")

    def reviewed(time: str):
        [entry] = event("safety.enforcement.legal_reviewed", time, {
            "hazard_id": "HZ-P", "proposal_id": overhaul, "outcome": "approved", "by": INSPECTORS[0]}, "HZ-P")
        return entry
    rp = run(*opened, reviewed("2026-11-30 10:00"), until="2026-12-20 00:00")
    assert (unanswered(rp, "2026-11"), unanswered(rp, "2026-12")) == (1, 1)  # November: the fine
    rp = run(*opened, reviewed("2026-12-03 10:00"), until="2026-12-20 00:00")
    assert rp.states["HZ-P"].proposals[1][5:] != [None, None, None]
    assert (unanswered(rp, "2026-11"), unanswered(rp, "2026-12")) == (1, 1)


def test_a_hazard_claimed_complete_in_time_and_awaiting_review_is_not_past_its_deadline():
    """Due 9 November, claimed complete on the 8th, its review not yet made: at the month's end it is
    open, but not past its deadline (`Hazard.overdue`); the review that is late is the department's,
    which is a duty failure of its own (report finding 12, audit s11)."""
    rp = run(report("HZ-W1", "2026-11-02 09:00"), verify("HZ-W1", "2026-11-02 10:00"),
             complete("HZ-W1", "2026-11-08 10:00"), until="2026-12-02 00:00")
    fire = _by_dept(monthly_filings(rp.states.values(), "2026-11", RULES))["fire_rescue"]
    assert ("1 hazards found, 0 closed, 1 open at the month's end, 0 of them past their deadline"
            in fire.reason)
    assert "月末未销号 1 项，其中逾期 0 项" in (fire.reason_zh or "")


def test_a_claim_made_after_the_months_end_leaves_the_hazard_past_its_deadline_that_month():
    """A hazard due 9 November, never claimed in November, was past its deadline at November's end,
    whatever claim came in December: a hazard is overdue at a time by the claims made by then."""
    rp = run(report("HZ-W2", "2026-11-02 09:00"), verify("HZ-W2", "2026-11-02 10:00"),
             complete("HZ-W2", "2026-12-01 10:00"), until="2026-12-02 00:00")
    fire = _by_dept(monthly_filings(rp.states.values(), "2026-11", RULES))["fire_rescue"]
    assert "1 open at the month's end, 1 of them past their deadline" in fire.reason


def test_a_city_bureaus_branch_files_through_the_districts_commission_which_is_told_to_pass_it_on():
    """The plans file results with "同级纪委监委" (line 798): 市公安局度假区分局's officials are the
    city's cadres (管理权限), so its filing says the district's commission is not theirs and is asked
    to pass it on; the vertically managed fire brigade's says so too; a district bureau's says nothing."""
    filings = _by_dept(monthly_filings(_story().states.values(), "2026-11", RULES))
    police = filings["public_security"]
    assert police.jurisdiction_note == (
        "市公安局度假区分局 is a branch of a city bureau, its officials managed by the city, not the "
        "district (管理权限): 区纪委监委 is not their supervisory body and is asked to pass this on to "
        "the one that is")
    assert police.jurisdiction_note_zh and "请按管理权限转送有管辖权的纪委监委" in police.jurisdiction_note_zh
    assert "实行垂直管理" in (filings["fire_rescue"].jurisdiction_note_zh or "")
    assert filings["safety_bureau"].jurisdiction_note is None


def test_a_hazard_closed_after_the_month_counts_as_it_stood_at_the_months_end():
    """Past its deadline all November and claimed on 1 December: overdue in November's filing,
    whether the filing is made before its review passes or after (the filing day is the 5th), and
    the same filing either way. A claim made in November and passed in December is not overdue."""
    opened = (report("HZ-W3", "2026-11-02 09:00"), verify("HZ-W3", "2026-11-02 10:00"))
    claimed = complete("HZ-W3", "2026-12-01 10:00")
    before = run(*opened, claimed, until="2026-12-02 00:00")
    after = run(*opened, claimed, review("HZ-W3", "2026-12-02 10:00"), until="2026-12-03 00:00")
    in_time = run(*opened, complete("HZ-W3", "2026-11-08 10:00"), review("HZ-W3", "2026-12-02 10:00"),
                  until="2026-12-03 00:00")
    filed = [_by_dept(monthly_filings(rp.states.values(), "2026-11", RULES))["fire_rescue"]
             for rp in (before, after, in_time)]
    assert "1 of them past their deadline" in filed[0].reason
    assert filed[1].reason == filed[0].reason
    assert "0 of them past their deadline" in filed[2].reason


def test_a_claim_in_time_reaching_the_engine_after_its_passed_review_counts_as_it_came_first():
    """The claim of 8 November, sent from an app offline only after the review of 2 December passed:
    November's filing counts the hazard as claimed in time, as when the claim comes first (until
    2026-12-07 the claim was kept only when it came before the review, and the hazard was counted
    past its deadline)."""
    opened = (report("HZ-W4", "2026-11-02 09:00"), verify("HZ-W4", "2026-11-02 10:00"))
    claim, passed = complete("HZ-W4", "2026-11-08 10:00"), review("HZ-W4", "2026-12-02 10:00")
    first = run(*opened, claim, passed, until="2026-12-03 00:00")
    late = run(*opened, passed, claim, until="2026-12-03 00:00")
    filed = [_by_dept(monthly_filings(rp.states.values(), "2026-11", RULES))["fire_rescue"]
             for rp in (first, late)]
    assert "0 of them past their deadline" in filed[0].reason
    assert filed[1].reason == filed[0].reason


def test_a_claim_made_after_the_passed_review_is_not_the_claim_it_judged_whatever_came_first():
    """A claim made a minute after the review passed, reaching the engine before it: the review judged
    no claim, as in time order (until 2026-12-07 the review kept the later claim as the one it judged;
    found by a deep property search)."""
    opened = (report("HZ-W5", "2026-11-02 09:00"), verify("HZ-W5", "2026-11-02 10:00"))
    passed, claim = review("HZ-W5", "2026-12-02 10:00"), complete("HZ-W5", "2026-12-02 10:01")
    in_order = run(*opened, passed, claim, until="2026-12-03 00:00")
    swapped = run(*opened, claim, passed, until="2026-12-03 00:00")
    assert swapped.states["HZ-W5"].arrived == in_order.states["HZ-W5"].arrived


def test_the_claim_a_passed_review_judged_is_the_latest_made_by_it_whatever_came_first():
    """Claims on 8 and 9 November, the review passed on 2 December, and one more claim a minute after
    it that reaches the engine before it: the review judged the claim of the 9th, in either order
    (until 2026-12-07 the later claim, arriving first, hid the one the review judged)."""
    opened = (report("HZ-W6", "2026-11-02 09:00"), verify("HZ-W6", "2026-11-02 10:00"),
              complete("HZ-W6", "2026-11-08 10:00"), complete("HZ-W6", "2026-11-09 10:00"))
    passed, after = review("HZ-W6", "2026-12-02 10:00"), complete("HZ-W6", "2026-12-02 10:01")
    in_order = run(*opened, passed, after, until="2026-12-03 00:00")
    swapped = run(*opened, after, passed, until="2026-12-03 00:00")
    assert swapped.states["HZ-W6"].arrived == in_order.states["HZ-W6"].arrived
    h = in_order.states["HZ-W6"]
    assert judged_claim(h, h.closed_at) == at("2026-11-09 10:00")


def test_a_hazard_stored_before_claims_were_kept_by_time_is_counted_as_before():
    """A state stored before 2026-12-07's claims by time: a hazard closed with the claim its review
    judged under PASSED_CLAIM still counts as claimed in time; one whose claim was pending when it was
    stored counts so once its review passes (the pending claim joins the claims kept)."""
    opened = (report("HZ-W7", "2026-11-02 09:00"), verify("HZ-W7", "2026-11-02 10:00"),
              complete("HZ-W7", "2026-11-08 10:00"))
    rp = run(*opened, until="2026-12-01 00:00")
    h = rp.states["HZ-W7"]
    for key in [k for k in h.arrived if k.startswith("claim:")]:
        del h.arrived[key]  # as stored before the claims were kept
    rp.feed(review("HZ-W7", "2026-12-02 10:00"), now=at("2026-12-02 10:00"))
    assert not rp.states["HZ-W7"].overdue(at("2026-11-30 23:59"))
    closed = rp.states["HZ-W7"]
    for key in [k for k in closed.arrived if k.startswith("claim:")]:
        del closed.arrived[key]
    closed.arrived[PASSED_CLAIM] = at("2026-11-08 10:00")  # as a review of that day kept it
    assert not closed.overdue(at("2026-11-30 23:59"))
    del closed.arrived[PASSED_CLAIM]
    assert closed.overdue(at("2026-11-30 23:59"))  # neither kept: the claim is not known, as before


def test_a_filing_names_the_hazards_it_counts_as_found():
    filings = _by_dept(monthly_filings(_story().states.values(), "2026-11", RULES))
    assert filings["fire_rescue"].found_ids == ["HZ-F2", "HZ-F3"]
    assert filings["housing_construction"].found_ids == ["HZ-C1"]
    assert filings["market_supervision"].found_ids == [] and filings["fire_rescue"].supplements is None


def _filed_without(*late: str) -> dict[str, tuple[str, frozenset[str]]]:
    """November's filings as they went before the records of `late` reached the engine."""
    outs = monthly_filings(_story().states.values(), "2026-11", RULES)
    return {o.key: (o.id, frozenset(o.event["data"]["found_ids"]) - set(late)) for o in outs}


def test_a_hazard_of_a_filed_month_whose_records_came_after_it_is_filed_as_a_supplement():
    """HZ-F3, found at 23:59 on 30 November, reached the engine after November was filed: the
    next run adds a supplement to the fire brigade's filing naming it, dated like the filing."""
    states = _story().states.values()
    filed = _filed_without("HZ-F3")
    outs = supplements(states, "2026-11", RULES, filed)
    assert [o.key for o in outs] == ["fire_rescue"] and outs[0].topic == REFERRALS_DISCIPLINE
    supplement = DisciplineReferral.model_validate(outs[0].event["data"])
    assert supplement.grounds == "periodic_filing" and supplement.supplements == filed["fire_rescue"][0]
    assert supplement.found_ids == ["HZ-F3"]
    assert supplement.reason == (
        "Supplement to the supervision results of 区消防救援大队 for 2026-11 (监督检查结果补充备案): "
        "1 hazards found in the month whose records reached the engine after the month was filed, "
        "1 of them open at the month's end, 0 past their deadline")
    assert supplement.reason_zh == (
        "区消防救援大队 2026-11 监督检查结果补充备案：该月发现、但记录在该月备案后才送达引擎的隐患 1 项，"
        "其中月末未销号 1 项、逾期 0 项")
    assert {item.what.split(":")[0] for item in supplement.timeline} == {"HZ-F3"}
    assert outs[0].event["time"] == monthly_filings(states, "2026-11", RULES)[0].event["time"]
    # The same late hazard, supplemented again (a restart): the same id. Once its supplement is on
    # the topic (its hazards counted), nothing more.
    assert [o.id for o in supplements(states, "2026-11", RULES, filed)] == [outs[0].id]
    filed["fire_rescue"] = (filed["fire_rescue"][0], filed["fire_rescue"][1] | {"HZ-F3"})
    assert supplements(states, "2026-11", RULES, filed) == []


def test_no_supplement_for_a_hazard_another_filing_counted_or_a_department_with_no_filing():
    states = _story().states.values()
    # HZ-F3 counted by another department's filing of the month (its sector's lead changed since):
    # its records did not come late, so it is no supplement's.
    filed = _filed_without("HZ-F3")
    filed["housing_construction"] = (filed["housing_construction"][0],
                                     filed["housing_construction"][1] | {"HZ-F3"})
    assert supplements(states, "2026-11", RULES, filed) == []
    # Counted as found in December's filing (found then, before an earlier-dated record of it came
    # late): filed once already, so not again as November's.
    assert supplements(states, "2026-11", RULES, _filed_without("HZ-F3"), frozenset({"HZ-F3"})) == []
    # A hazard of another month is not November's, however late.
    assert supplements(states, "2026-11", RULES, _filed_without("HZ-F4", "HZ-F1")) == []


def test_a_filing_names_its_hazards_only_within_the_bound_and_a_supplement_takes_what_fits(monkeypatch):
    """A flood of reports must not make a filing too large to send: past FOUND_IDS_BYTES the filing
    names none (and its month gets no supplement); a supplement names those that fit, and the
    rest wait for the next filing day's."""
    from engine.decide import filing

    states = _story().states.values()
    filed = _filed_without("HZ-F2", "HZ-F3")
    monkeypatch.setattr(filing, "FOUND_IDS_BYTES", len(b'["HZ-F2",]'))
    fire = _by_dept(monthly_filings(states, "2026-11", RULES))["fire_rescue"]
    assert fire.found_ids is None and "2 hazards found" in fire.reason
    outs = supplements(states, "2026-11", RULES, filed)
    assert [o.event["data"]["found_ids"] for o in outs] == [["HZ-F2"]]
    filed["fire_rescue"] = (filed["fire_rescue"][0], frozenset({"HZ-F2"}))
    assert [o.event["data"]["found_ids"] for o in supplements(states, "2026-11", RULES, filed)] == [["HZ-F3"]]


def test_a_department_with_late_hazards_and_no_filing_of_the_month_gets_its_filing():
    """A lead department with no filing of the month (one a verification named, outside the
    sectors' leads, whose first hazard of the month came late; or a publish cut short): the late
    hazards are not left out of every filing, the department's own filing of the month is made."""
    states = _story().states.values()
    filed = _filed_without("HZ-F3")
    del filed["fire_rescue"]
    [out] = supplements(states, "2026-11", RULES, filed)
    fire = next(o for o in monthly_filings(states, "2026-11", RULES) if o.key == "fire_rescue")
    assert out.id == fire.id and out.event["data"]["found_ids"] == ["HZ-F2", "HZ-F3"]
    assert "supplements" not in out.event["data"]
