"""The worker's own tracking of the annual plan: seeds, inspection links, and the monthly check."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime

from decide_fixtures import INSPECTORS, REPO, RULES, event, finding, inspection
from hypothesis import given
from hypothesis import strategies as st
from test_decide_properties import PROPERTY

from engine.contract.outputs import OUTPUT_TYPES
from engine.contract.uscc import check_character
from engine.cores import build_cores
from engine.decide.replay import clock_entry
from engine.enterprise.replay import DistrictReplay
from engine.enterprise.state import SAME_SECOND, EnterpriseFile
from engine.kernel.ids import output_id
from engine.kernel.state import APPLIED, entry_hash
from engine.plan.annual import behind_escalations, progress
from engine.plan.rules import load_plan
from engine.plan.tracking import PlanTown, month_end, seed_entries, seed_entry
from engine.ruleset.calendar import SHANGHAI
from engine.store import pack

PLAN = load_plan(REPO / "rules", RULES.reference)
FIRM = "91371500MA3D7PQ1LM"  # the enterprise decide_fixtures.inspection names


def replay() -> DistrictReplay:
    rp = DistrictReplay.of(RULES, None, PLAN)
    for seed in seed_entries(PLAN.annual):
        rp.feed(seed)
    return rp


TOWN_FIRMS = {town: n for n, town in enumerate(sorted(PLAN.annual.per_month), start=1)}


def uscc(n: int) -> str:
    body = f"91371500MA{n:07d}"
    return body + check_character(body)


def inspected(town: str, day: str, inspection_id: str) -> list[dict]:
    """An inspection of the town's own enterprise: the file counts it under its town."""
    return event("safety.inspection.recorded", f"{day}T10:00:00+08:00", {
        "inspection_id": inspection_id, "kind": "routine", "inspectors": INSPECTORS,
        "enterprise": {"uscc": uscc(TOWN_FIRMS[town]), "name": f"Firm of {town}"},
        "location": {"town": town}, "findings": []}, inspection_id)


def inspect(rp: DistrictReplay, town: str, n: int, day: str = "2027-01-20") -> None:
    for i in range(n):
        for e in inspected(town, day, f"INS-{town}-{day}-{i}"):
            rp.feed(e)


def check(rp: DistrictReplay, town: str) -> list:
    """Fire the plan's next monthly clock for a town, as the worker's timer would."""
    key = f"2027/{town}"
    due = rp.state("plan", key).next_due()
    return rp.feed(clock_entry(key, due, "plan"))


def test_a_seed_starts_a_towns_year_with_januarys_check_due_after_the_grace() -> None:
    """Seeded, huxi's year waits for 00:00 on 3 February (Beijing time): January plus check_days=2."""
    rp = replay()
    p = rp.state("plan", "2027/huxi")
    assert (p.year, p.town, p.done, p.checked) == (2027, "huxi", {}, 0)
    assert p.next_due() == int(datetime(2027, 2, 3, tzinfo=SHANGHAI).timestamp())
    assert sorted(rp.states["plan"]) == ["2027/huxi", "2027/lihaiwu", "2027/yuji", "2027/zhulaozhuang"]
    assert seed_entry(2027, "huxi") == seed_entries(PLAN.annual)[0]  # the same entry each time it is made


def test_a_towns_window_of_applied_hashes_stays_at_applied() -> None:
    """A plan town keeping APPLIED hashes drops its oldest for the next entry (the kernel's bound)."""
    core = build_cores(RULES, None, PLAN)["plan"]
    entry = seed_entry(2027, "yuji")
    state, _ = core.decide(PlanTown("2027/yuji", applied=list(range(1, APPLIED + 1))), entry)
    assert len(state.applied) == APPLIED and state.applied[0] == 2
    assert state.applied[-1] == entry_hash(entry["entry_id"])


def test_a_seed_sent_again_changes_nothing() -> None:
    """A worker that seeds again after a rebalance: the entry is recognised, the state kept as it is."""
    core = build_cores(RULES, None, PLAN)["plan"]
    state, _ = core.decide(None, seed_entry(2027, "yuji"))
    again, outs = core.decide(state, seed_entry(2027, "yuji"))
    assert again is state and outs == []


def test_an_inspection_counts_for_its_town_and_month_once_and_a_refused_one_not_at_all() -> None:
    rp = replay()
    entries = inspected("huxi", "2027-01-20", "INS-A")
    for e in entries + entries:  # delivered twice
        rp.feed(e)
    inspect(rp, "huxi", 1, day="2027-02-02")
    for e in event("safety.inspection.recorded", "2027-01-21T10:00:00+08:00", {
            "inspection_id": "INS-R", "kind": "routine", "outcome": "refused",
            "inspectors": INSPECTORS, "enterprise": {"uscc": uscc(TOWN_FIRMS["huxi"]), "name": "Firm"},
            "location": {"town": "huxi"}, "findings": []},
            "INS-R"):
        rp.feed(e)
    inspect(rp, "huxi", 1, day="2026-12-30")  # before the plan's year: not the plan's business
    assert rp.state("plan", "2027/huxi").done == {"2027-01": 1, "2027-02": 1}


def test_an_inspection_recorded_again_as_refused_leaves_the_plans_count() -> None:
    """INS-A, counted for huxi's January, is sent again refused (a correction: the later record of the
    same inspection supersedes the earlier one). It was not done: the file no longer counts it, and
    the plan's January neither. Until 2026-12-07 both went on counting it."""
    rp = replay()
    for e in inspected("huxi", "2027-01-20", "INS-A") + inspected("huxi", "2027-01-21", "INS-B"):
        rp.feed(e)
    assert rp.state("plan", "2027/huxi").done == {"2027-01": 2}
    for e in event("safety.inspection.recorded", "2027-01-20T10:00:00+08:00", {
            "inspection_id": "INS-A", "kind": "routine", "outcome": "refused",
            "inspectors": INSPECTORS, "enterprise": {"uscc": uscc(TOWN_FIRMS["huxi"]), "name": "Firm"},
            "location": {"town": "huxi"}, "findings": []}, "INS-A", "ev-a-refused"):
        rp.feed(e)
    f = rp.state("enterprise", uscc(TOWN_FIRMS["huxi"]))
    assert (f.inspections, f.months, list(f.refusals)) == (1, {"2027-01": 1}, ["INS-A"])
    assert rp.state("plan", "2027/huxi").done == {"2027-01": 1}


def test_an_expert_check_is_not_counted_toward_the_annual_enforcement_plan() -> None:
    """The annual plan is the 年度安全生产执法计划 (the plans' line 606): an expert check (专家检查), not
    law enforcement (contract section 3), counts for no town's month, in the worker or in `plan
    progress`, though the file keeps it as its last inspection. Until 2026-12-07 it counted."""
    rp = replay()
    firm = uscc(TOWN_FIRMS["huxi"])
    for e in event("safety.inspection.recorded", "2027-01-10T10:00:00+08:00", {
            "inspection_id": "EXP-1", "kind": "expert_check", "inspectors": INSPECTORS[:1],
            "enterprise": {"uscc": firm, "name": "Firm"}, "location": {"town": "huxi"}, "findings": []},
            "EXP-1"):
        rp.feed(e)
    assert rp.state("plan", "2027/huxi").done == {}
    f = rp.state("enterprise", firm)
    assert f.last_inspection[1:3] == ["EXP-1", "expert_check"] and f.months == {}


def test_a_month_on_plan_is_not_escalated_and_the_next_months_check_follows() -> None:
    """17 inspections in January in huxi (12 + 5 for 岁末年初): on plan, nothing sent."""
    rp = replay()
    inspect(rp, "huxi", 17)
    assert check(rp, "huxi") == []
    p = rp.state("plan", "2027/huxi")
    assert (p.checked, p.behind) == (1, [])
    assert p.next_due() == month_end(2027, 2) + 2 * 86_400


def test_a_month_behind_escalates_with_the_id_and_targets_of_plan_progress() -> None:
    """16 of 17: the worker's escalation is the one `plan progress --publish` would send, same id."""
    rp = replay()
    inspect(rp, "huxi", 16)
    [out] = check(rp, "huxi")
    d = out.event["data"]
    OUTPUT_TYPES[out.event["type"]][1].model_validate(d)
    assert out.key == "2027-01/huxi" and "16 of 17" in d["reason"]
    assert (d["subject_kind"], d["action"], d["rule_id"]) == ("plan", "plan_behind", "annual.behind")
    assert [t["id"] for t in d["targets"]] == ["huxi_safety_office", "safety_bureau"]
    assert rp.state("plan", "2027/huxi").behind == ["2027-01"]
    # The tool, from the enterprise's file, on any later day: the same id.
    rows = progress(rp.states["enterprise"].values(), PLAN.annual, date(2027, 2, 10))
    tool = behind_escalations([r for r in rows if r["town"] == "huxi"], PLAN.annual, RULES.reference,
                              PLAN.version, PLAN.annual.lead_department, 1_900_000_000)
    assert [o.id for o in tool] == [out.id]


def test_inspections_of_a_month_behind_recorded_after_its_check_withdraw_its_escalation() -> None:
    """16 of 17 at the check on 3 February; the 17th, made on 20 January on a tablet offline until
    10 February, brings January to plan: the escalation is withdrawn, to the same recipients, once;
    more inspections of January withdraw nothing more."""
    rp = replay()
    inspect(rp, "huxi", 16)
    [behind] = check(rp, "huxi")
    late = [{**e, "arrived_at": "2027-02-10T09:00:00+08:00"}
            for e in inspected("huxi", "2027-01-20", "INS-huxi-late")]
    outs = [o for e in late for o in rp.feed(e) if o.topic == "escalations"]
    [withdrawn] = outs
    d = withdrawn.event["data"]
    OUTPUT_TYPES[withdrawn.event["type"]][1].model_validate(d)
    assert (d["action"], d["rule_id"], d["subject_id"]) == \
        ("plan_behind_withdrawn", "annual.behind", "2027-01/huxi")
    assert d["targets"] == behind.event["data"]["targets"] and withdrawn.id != behind.id
    assert withdrawn.id == output_id("withdrawn", behind.id)  # derived from the one it withdraws
    assert "17 of 17 planned inspections were done in 2027-01" in d["reason"]
    assert d["reason_zh"].startswith("撤回 2027-01/huxi 的年度执法检查计划滞后通报")
    p = rp.state("plan", "2027/huxi")
    assert p.behind == [] and p.done["2027-01"] == 17
    inspect(rp, "huxi", 1, day="2027-01-21")
    assert [o for o in rp.outputs if o.event["data"].get("action") == "plan_behind_withdrawn"] == [withdrawn]


def test_a_month_still_behind_after_late_inspections_keeps_its_escalation() -> None:
    rp = replay()
    inspect(rp, "huxi", 10)
    check(rp, "huxi")
    inspect(rp, "huxi", 3, day="2027-01-25")
    assert not [o for o in rp.outputs if o.event["data"].get("action") == "plan_behind_withdrawn"]
    assert rp.state("plan", "2027/huxi").behind == ["2027-01"]


def test_an_engine_started_mid_year_never_finds_the_months_before_it_behind() -> None:
    """tracked_from: 7: nothing was recorded before July, so the first check is July's, in August,
    and the tool marks no earlier month behind either; July with nothing done is behind."""
    annual = PLAN.annual.model_copy(update={"tracked_from": 7})
    rp = DistrictReplay.of(RULES, None, replace(PLAN, annual=annual))
    for seed in seed_entries(annual):
        rp.feed(seed)
    p = rp.state("plan", "2027/yuji")
    assert p.next_due() == month_end(2027, 7) + annual.check_days * 86_400
    [out] = check(rp, "yuji")
    assert out.key == "2027-07/yuji" and rp.state("plan", "2027/yuji").checked == 7
    assert rp.state("plan", "2027/yuji").behind == ["2027-07"]
    rows = progress([], annual, date(2027, 12, 31))
    assert {r["month"] for r in rows if r["behind"]} == {f"2027-{m:02d}" for m in range(7, 12)}


def test_a_town_with_no_inspection_at_all_escalates_too() -> None:
    """The case no per-enterprise clock could catch: yuji did nothing in January."""
    rp = replay()
    [out] = check(rp, "yuji")
    assert out.key == "2027-01/yuji" and "0 of 13" in out.event["data"]["reason"]


def test_a_late_inspection_does_not_close_a_month_before_the_timer_does() -> None:
    """Links come from many enterprises' partitions in no order: only the clock checks a month."""
    rp = replay()
    inspect(rp, "lihaiwu", 1, day="2027-03-15")  # arrives first, dated well past January's check
    assert rp.outputs == [] and rp.state("plan", "2027/lihaiwu").checked == 0
    inspect(rp, "lihaiwu", 15, day="2027-01-25")  # January's, later on the timeline
    assert check(rp, "lihaiwu") == []  # 15 of 15: on plan


def test_the_plan_state_stores_and_reads_back_and_a_replay_is_deterministic() -> None:
    """The same entries in another order across enterprises give the same states and escalations."""
    entries = [e for town, n in (("huxi", 16), ("lihaiwu", 15), ("zhulaozhuang", 3))
               for i in range(n) for e in inspected(town, f"2027-01-{1 + i:02d}", f"I-{town}-{i}")]

    def run(order: list) -> tuple[dict, list]:
        rp = replay()
        for e in order:
            rp.feed(e)
        outs = [o for town in sorted(PLAN.annual.per_month) for o in check(rp, town)]
        # Everything but the order the entry hashes were noted in, which only recognises re-deliveries.
        return ({k: replace(v, applied=sorted(v.applied)).encode() for k, v in rp.states["plan"].items()},
                [(o.id, o.key, o.event["data"]["reason"]) for o in outs])

    first = run(entries)
    shuffled = entries[:]
    random.Random(7).shuffle(shuffled)
    assert run(shuffled) == first
    assert [key for _, key, _ in first[1]] == ["2027-01/huxi", "2027-01/yuji", "2027-01/zhulaozhuang"]
    core = build_cores(RULES, None, PLAN)["plan"]
    raw = first[0]["2027/huxi"]
    stored = pack(PlanTown.decode(raw))
    assert core.decode(stored).encode() == raw


def test_without_an_annual_section_there_is_no_plan_core() -> None:
    assert "plan" not in build_cores(RULES, None, replace(PLAN, annual=None))
    assert "plan" not in build_cores(RULES, None, None)


def test_a_file_still_counts_an_inspection_the_plan_does_not_track() -> None:
    """An inspection in a year the plan does not cover is filed; no plan subject appears for it."""
    rp = replay()
    for e in inspection("2028-01-05 10:00", [], inspection_id="INS-2028", town="huxi"):
        rp.feed(e)
    f: EnterpriseFile = rp.state("enterprise", FIRM)
    assert f.months == {"2028-01": 1} and "2028/huxi" not in rp.states["plan"]


def test_a_link_sent_again_after_a_crash_counts_once() -> None:
    """The enterprise's state rolled back to before the inspection: deciding it again sends the
    same link (its id comes from the inspection's entry), and the plan recognises it."""
    cores = build_cores(RULES, None, PLAN)
    [_, entry] = inspected("yuji", "2027-01-05", "INS-CRASH")
    _, first = cores["enterprise"].decide(None, entry)
    _, again = cores["enterprise"].decide(None, entry)  # as after a restore from the changelog
    [link], [link_again] = first, again
    assert link.event == link_again.event and link.key == "2027/yuji"
    p, _ = cores["plan"].decide(None, seed_entry(2027, "yuji"))
    p, _ = cores["plan"].decide(p, link.event)
    same, outs = cores["plan"].decide(p, link_again.event)
    assert same is p and outs == [] and p.done == {"2027-01": 1}


def _recorded(town: str, inspection_id: str, event_id: str, time: str, findings: int = 0) -> list[dict]:
    """An inspection of the town's own enterprise sent under `event_id`, with `findings` findings."""
    return event("safety.inspection.recorded", time, {
        "inspection_id": inspection_id, "kind": "routine", "inspectors": INSPECTORS,
        "enterprise": {"uscc": uscc(TOWN_FIRMS[town]), "name": f"Firm of {town}"},
        "location": {"town": town},
        "findings": [finding(f"HZ-{inspection_id}-{n}", immediate=True) for n in range(findings)]},
        inspection_id, event_id)


def test_an_inspection_sent_again_under_a_fresh_event_id_counts_once() -> None:
    """A tablet that retries with a new event id, and one that sends a correction (a finding added,
    the time put right): one inspection, so January stays 16 of 17 and is found behind, and the
    file counts it once. The file's record says it came again."""
    rp = replay()
    inspect(rp, "huxi", 15)
    for event_id, time, findings in (("ev-1", "2027-01-22T10:00:00+08:00", 0),
                                     ("ev-1-retry", "2027-01-22T10:00:00+08:00", 0),
                                     ("ev-1-corrected", "2027-01-22T11:30:00+08:00", 1)):
        for e in _recorded("huxi", "INS-AGAIN", event_id, time, findings):
            rp.feed(e)
    f: EnterpriseFile = rp.state("enterprise", uscc(TOWN_FIRMS["huxi"]))
    assert f.inspections == 16 and f.months == {"2027-01": 16}
    assert [line for _, _, line, _ in f.recent if line.startswith("inspection INS-AGAIN")] == [
        "inspection INS-AGAIN (routine): 0 finding(s)",
        "inspection INS-AGAIN (routine) recorded again: counted once",
        "inspection INS-AGAIN (routine) recorded again: counted once"]
    assert rp.state("plan", "2027/huxi").done == {"2027-01": 16}
    [behind] = check(rp, "huxi")
    assert "16 of 17" in behind.event["data"]["reason"]


def test_the_worker_wiring_counts_an_inspection_sent_again_once() -> None:
    """The decide stage hands the file over (`owned`): the plan's link still goes once."""
    cores = build_cores(RULES, None, PLAN)
    enterprise = cores["enterprise"]
    decide = enterprise.decide_owned or enterprise.decide
    f, links = None, []
    for event_id in ("ev-a", "ev-b"):
        [_, entry] = _recorded("yuji", "INS-OWNED", event_id, "2027-01-05T10:00:00+08:00")
        f, outs = decide(f, entry)
        links += outs
    [link] = links
    assert link.key == "2027/yuji" and f.inspections == 1


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(1, 60), st.booleans(), st.integers(0, 3)),
                min_size=1, max_size=30),
       st.randoms(use_true_random=False))
def test_however_often_and_in_whatever_order_inspections_are_sent_each_counts_once(
        sends: list[tuple[int, int, bool, int]], shuffle: random.Random) -> None:
    """Up to eight inspections of one enterprise in January and February 2027, each sent one to four
    times under fresh event ids (a retry, or a correction that moves its time within its month), the
    copies arriving in any order: the file counts each once, in the month of the copy that came
    first, and so does the annual plan."""
    records = []
    for n, (which, day, correct, copies) in enumerate(sends):
        month = 1 + which % 2
        for copy in range(copies + 1):
            minute = copy * 7 if correct else 0
            time = f"2027-{month:02d}-{min(day, 28):02d}T10:{minute:02d}:00+08:00"
            [_, entry] = _recorded("huxi", f"INS-P{which}", f"ev-{n}-{copy}", time)
            records.append(entry)
    shuffle.shuffle(records)
    rp = replay()
    first: dict[str, str] = {}
    for entry in records:
        first.setdefault(entry["data"]["inspection_id"], entry["time"][:7])
        rp.feed(entry)
    f: EnterpriseFile = rp.state("enterprise", uscc(TOWN_FIRMS["huxi"]))
    by_month = {m: sum(1 for v in first.values() if v == m) for m in set(first.values())}
    assert f.inspections == len(first) and f.months == by_month
    assert rp.state("plan", "2027/huxi").done == by_month


def test_inspections_an_app_dates_by_the_day_alone_are_each_counted_once_and_their_ids_bounded() -> None:
    """Thirty inspections of one day, all at 00:00 (an app that keeps the date alone), each sent
    again at once: thirty counted; the file keeps the ids of one time and of SAME_SECOND more."""
    rp = replay()
    for n in range(30):
        for copy in ("a", "b"):
            for e in _recorded("huxi", f"INS-D{n}", f"ev-d{n}{copy}", "2027-01-05T00:00:00+08:00"):
                rp.feed(e)
    f: EnterpriseFile = rp.state("enterprise", uscc(TOWN_FIRMS["huxi"]))
    assert f.inspections == 30 and rp.state("plan", "2027/huxi").done == {"2027-01": 30}
    assert len(f.inspected_by) == 1 + SAME_SECOND and f.inspected_by[str(f.inspected[0])] == "INS-D0"


def test_a_towns_year_is_checked_twelve_times_and_then_its_clock_stops() -> None:
    """Nothing inspected all year: each month of 2027 is checked once, from January to December,
    each behind, and after December's check no clock runs (there is no thirteenth month)."""
    rp = replay()
    months = [out.key.split("/")[0] for _ in range(12) for out in check(rp, "huxi")]
    assert months == [f"2027-{m:02d}" for m in range(1, 13)]
    p = rp.state("plan", "2027/huxi")
    assert p.checked == 12 and p.next_due() is None and len(p.behind) == 12


def test_a_town_seeded_for_a_year_the_plan_does_not_cover_runs_no_clock() -> None:
    """The plan is 2027's: a seed of huxi's 2026 (a plan since replaced) or of a town the plan does
    not list keeps nothing to check."""
    rp = replay()
    rp.feed(seed_entry(2026, "huxi"))
    rp.feed(seed_entry(2027, "nowhere"))
    assert rp.state("plan", "2026/huxi").next_due() is None
    assert rp.state("plan", "2027/nowhere").next_due() is None
