"""The random draw (双随机、一公开): reproducible, weighted, and each constraint at its boundary."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from decide_fixtures import REPO, RULES, edited_rules

from engine.contract.uscc import check_character
from engine.enterprise.state import EnterpriseFile
from engine.kernel.time import iso
from engine.plan.draw import (
    SCALE,
    Candidate,
    DrawError,
    candidates,
    draw_event,
    pick_pair,
    previous_pairs,
    rerun,
    select,
    weight_of,
)
from engine.plan.rules import Inspector, load_plan
from engine.reference.errors import RulesFileError

PLAN = load_plan(REPO / "rules", RULES.reference)
NOW = 1_800_000_000


def uscc(n: int) -> str:
    """A valid USCC numbered n."""
    body = f"91371500MA{n:07d}"
    return body + check_character(body)


def firm(n: int, risk: str | None = "yellow", key: bool = False, **extra: object) -> EnterpriseFile:
    """A registered enterprise's file, inspected once, with nothing overdue."""
    return EnterpriseFile(uscc(n), name=f"Firm {n}", registered="ev", registered_at=1, town="lihaiwu",
                          sector="industry_trade", risk_class=risk, key=key, inspections=1, **extra)


def roster(n: int, conflicts: dict[str, set[str]] | None = None) -> tuple[Inspector, ...]:
    return tuple(Inspector(f"i{k}", f"I{k}", "safety_bureau", frozenset((conflicts or {}).get(f"i{k}", ())))
                 for k in range(1, n + 1))


def test_a_published_draw_re_run_from_its_own_record_gives_the_same_list() -> None:
    """An auditor re-runs the recorded event (as JSON) with the roster and gets the same picks."""
    files = [firm(n, risk) for n, risk in enumerate(["red", "orange", "yellow", "blue"] * 10)]
    event = draw_event("S-2027-01", "2027-01", files, PLAN, [], NOW)
    recorded = json.loads(json.dumps(event))
    assert rerun(recorded["data"], PLAN) == recorded["data"]["picks"]
    assert len(recorded["data"]["picks"]) == PLAN.draw.per_period
    again = draw_event("S-2027-01", "2027-01", list(reversed(files)), PLAN, [], NOW)
    assert again == event  # the order the files come in does not matter, nor does the id change
    other = draw_event("S-2027-01b", "2027-01", files, PLAN, [], NOW)
    assert other["id"] != event["id"] and other["data"]["picks"] != event["data"]["picks"]


def test_a_re_run_with_another_roster_says_so() -> None:
    """The roster is an input: a changed one is refused by name, not silently used."""
    event = draw_event("S", "2027-01", [firm(1), firm(2)], PLAN, [], NOW)
    changed = replace(PLAN, inspectors=PLAN.inspectors[:-1])
    with pytest.raises(DrawError, match="the roster differs"):
        rerun(event["data"], changed)


def test_key_closed_and_unregistered_enterprises_are_not_drawn() -> None:
    """Key enterprises are on their fixed cycle; closed and unregistered ones are not candidates."""
    closed = replace(firm(3), closed_at=5)
    unregistered = EnterpriseFile(uscc(4))
    pool, excluded = candidates([firm(1), firm(2, key=True), closed, unregistered], PLAN, NOW)
    assert [c.uscc for c in pool] == [uscc(1)]
    assert excluded == {"key_enterprise": 1, "closed": 1, "unregistered": 1}


def test_weights_follow_risk_class_and_history() -> None:
    """Each multiplier applies at its boundary: one violation, one overdue hazard, no inspection."""
    w, h = PLAN.draw.weights, PLAN.draw.history
    assert weight_of(firm(1, "red"), PLAN, NOW) == w.red * SCALE
    assert weight_of(firm(1, None), PLAN, NOW) == w.unclassified * SCALE
    assert weight_of(firm(1, "blue", violations=1), PLAN, NOW) == w.blue * h.violated_order * SCALE
    assert weight_of(firm(1, "blue", violations=0), PLAN, NOW) == w.blue * SCALE
    due = {"HZ-1": ["verified", "general", NOW - 1, False, None, None, None, False]}
    assert weight_of(firm(1, "blue", hazards=due), PLAN, NOW) == w.blue * h.overdue_hazard * SCALE
    at_deadline = {"HZ-1": ["verified", "general", NOW, False, None, None, None, False]}
    assert weight_of(firm(1, "blue", hazards=at_deadline), PLAN, NOW) == w.blue * SCALE
    never = replace(firm(1, "blue"), inspections=0)
    assert weight_of(never, PLAN, NOW) == w.blue * h.never_inspected * SCALE


def test_heavier_enterprises_are_drawn_more_often() -> None:
    """Over 400 seeds, a weight-8 enterprise is drawn about eight times as often as a weight-1 one."""
    pool = [Candidate("A-red", 800), Candidate("B-blue", 100)] + [Candidate(f"C{k}", 200) for k in range(20)]
    roster8 = roster(8)
    counts = {"A-red": 0, "B-blue": 0}
    for s in range(400):
        for p in select(str(s), "2027-01", pool, roster8, {}, 1, 6):
            counts[p["uscc"]] = counts.get(p["uscc"], 0) + 1
    assert counts["A-red"] > 4 * counts["B-blue"] > 0


def test_an_inspector_with_a_declared_conflict_is_never_sent() -> None:
    """With three inspectors and one conflicted, the other two go; with two, nobody does."""
    target = uscc(1)
    three = roster(3, {"i1": {target}})
    assert pick_pair("S", "2027-01", target, three, {}, 6, None) == ("i2", "i3")
    two = roster(2, {"i2": {target}})
    [pick] = select("S", "2027-01", [Candidate(target, 100)], two, {}, 1, 6)
    assert pick["inspectors"] == [] and "declared conflict" in pick["unassigned"]
    for s in range(50):  # whatever the seed
        [pick] = select(str(s), "2027-01", [Candidate(target, 100)], roster(4, {"i3": {target}}), {}, 1, 6)
        assert "i3" not in pick["inspectors"] and len(pick["inspectors"]) == 2


def test_the_same_pair_is_never_sent_twice_running_to_one_enterprise() -> None:
    """The previous pair is excluded; with only that pair free, the enterprise stays unassigned."""
    target = uscc(1)
    for s in range(50):
        first = pick_pair(str(s), "2027-01", target, roster(3), {}, 6, None)
        second = pick_pair(str(s), "2027-02", target, roster(3), {}, 6, first)
        assert second is not None and set(second) != set(first)
    assert pick_pair("S", "2027-02", target, roster(2), {}, 6, ("i2", "i1")) is None


def test_an_inspectors_load_is_capped_per_period() -> None:
    """With four inspectors and a cap of one visit, two enterprises get pairs and the third none."""
    pool = [Candidate(uscc(n), 100) for n in range(3)]
    picks = select("S", "2027-01", pool, roster(4), {}, 3, 1)
    assert sorted(len(p["inspectors"]) for p in picks) == [0, 2, 2]
    assert len({i for p in picks for i in p["inspectors"]}) == 4


def test_a_period_with_fewer_candidates_than_its_quota_draws_them_all() -> None:
    """per_period is an upper bound: every candidate is drawn once, none twice."""
    picks = select("S", "2027-01", [Candidate(uscc(n), 100) for n in range(3)], roster(8), {}, 20, 6)
    assert sorted(p["uscc"] for p in picks) == sorted(uscc(n) for n in range(3))


def test_previous_pairs_come_from_the_latest_earlier_period() -> None:
    """A draw of the same or a later period is not 'previous'; the latest earlier one wins."""
    def d(period: str, pair: list[str]) -> dict:
        return {"period": period, "picks": [{"uscc": "U", "inspectors": pair}]}
    draws = [d("2026-11", ["i1", "i2"]), d("2026-12", ["i3", "i4"]), d("2027-01", ["i5", "i6"]),
             d("2026-10", ["i7", "i8"]), d("2026-12", [])]
    assert previous_pairs(draws, "2027-01") == {"U": ("i3", "i4")}
    assert previous_pairs(draws, "2026-10") == {}


def test_the_roster_is_checked_when_it_loads(tmp_path: Path) -> None:
    """An inspector of an unknown department is refused, naming the file and the key."""
    rules = tmp_path / "rules"
    (rules / "reference").mkdir(parents=True)
    (rules / "plan.yaml").write_text((REPO / "rules" / "plan.yaml").read_text(encoding="utf-8"),
                                     encoding="utf-8")
    (rules / "reference" / "inspectors.yaml").write_text(
        'version: "1"\ninspectors:\n  a: {name: A, department: nowhere}\n  b: {name: B, department: '
        'safety_bureau}\n', encoding="utf-8")
    with pytest.raises(RulesFileError) as err:
        load_plan(rules, RULES.reference)
    assert "inspectors.yaml" in str(err.value) and "inspectors.a.department" in str(err.value)
    assert "unknown department 'nowhere'" in str(err.value)


def test_plan_verify_agrees_with_a_recorded_draw_and_names_a_tampered_one(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`plan verify FILE`: 0 for the recorded draw, 1 when a pick was changed, 2 when unreadable."""
    from engine.tools.plan import run_verify

    event = draw_event("S", "2027-01", [firm(n, "red") for n in range(30)], PLAN, [], NOW)
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    assert run_verify(path, PLAN) == 0 and "the same 20 picks" in capsys.readouterr().out
    event["data"]["picks"][3]["inspectors"] = ["insp-001", "insp-002"]
    event["data"]["picks"][3]["uscc"] = uscc(99)
    path.write_text(json.dumps(event), encoding="utf-8")
    assert run_verify(path, PLAN) == 1 and "DIFFERS" in capsys.readouterr().err
    path.write_text("{", encoding="utf-8")
    assert run_verify(path, PLAN) == 2 and "cannot re-run it" in capsys.readouterr().err


@pytest.mark.parametrize(("period", "seed", "words"), [
    ("2027-13", "S", "is not a month"), ("2027-1", "S", "is not a month"), ("2027-01", " ", "--seed"),
])
def test_plan_draw_refuses_a_bad_period_or_seed_before_reading_anything(
        period: str, seed: str, words: str, capsys: pytest.CaptureFixture) -> None:
    """A bad period or an empty seed is a usage error (2), with no broker needed to say so."""
    from engine.tools.plan import run_draw

    assert run_draw("127.0.0.1:9", "", "app", period, seed, PLAN, False, False, now=NOW) == 2
    assert words in capsys.readouterr().err


def test_a_rules_dir_without_a_plan_runs_without_coverage_clocks(tmp_path: Path) -> None:
    """plan.yaml is optional for a worker: without it no coverage clock runs; with it, it must hold."""
    from engine.plan.rules import optional_plan

    assert optional_plan(tmp_path, RULES.reference) is None
    assert optional_plan(REPO / "rules", RULES.reference) == PLAN


def test_rules_check_names_a_bad_plan_value(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`hazard-engine rules check` reads plan.yaml too: a zero quota fails with the file and key."""
    import shutil

    from engine.cli import main

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    assert main(["rules", "check", "--rules-dir", str(rules)]) == 0
    assert "plan rules OK" in capsys.readouterr().out
    plan = rules / "plan.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("per_period: 20", "per_period: 0"),
                    encoding="utf-8")
    assert main(["rules", "check", "--rules-dir", str(rules)]) == 1
    err = capsys.readouterr().err
    assert "plan.yaml" in err and "draw.per_period" in err


# --- the annual enforcement plan -----------------------------------------------------------------

def test_campaigns_add_to_the_months_they_touch_and_no_other() -> None:
    """岁末年初 runs to 28 February: February has it, March not; 汛期 starts 1 June: June, not May."""
    from engine.plan.annual import planned

    annual = PLAN.annual
    assert planned(annual, "huxi", 2027, 2) == (17, ["year_end_spring_festival"])
    assert planned(annual, "huxi", 2027, 3) == (12, [])
    assert planned(annual, "huxi", 2027, 5) == (12, [])
    assert planned(annual, "huxi", 2027, 6) == (15, ["flood_season"])


def test_a_campaign_counts_in_the_month_of_its_first_day_and_of_its_last() -> None:
    """A campaign from 31 March to 1 April touches both months, each by one day, and no other."""
    from engine.plan.annual import planned
    from engine.plan.rules import Campaign

    short = Campaign.model_validate({"id": "two_days", "name": "两日专项检查", "from": "2027-03-31",
                                     "to": "2027-04-01", "extra_per_month": 2})
    annual = PLAN.annual.model_copy(update={"campaigns": [short]})
    assert [planned(annual, "huxi", 2027, m) for m in (2, 3, 4, 5)] == [
        (12, []), (14, ["two_days"]), (14, ["two_days"]), (12, [])]


def test_progress_counts_inspections_by_month_and_town_and_marks_ended_months_behind() -> None:
    """January in huxi: 17 planned; 17 done is on plan, 16 is behind, but only once January ended."""
    from datetime import date

    from engine.plan.annual import progress

    def huxi(n: int, done: int) -> EnterpriseFile:
        return replace(firm(n), town="huxi", months={"2027-01": done})
    rows = {(r["month"], r["town"]): r for r in progress([huxi(1, 10), huxi(2, 7)], PLAN.annual,
                                                          date(2027, 2, 1))}
    assert rows[("2027-01", "huxi")] == {"month": "2027-01", "town": "huxi", "planned": 17, "done": 17,
                                             "campaigns": ["year_end_spring_festival"], "behind": False}
    short = progress([huxi(1, 10), huxi(2, 6)], PLAN.annual, date(2027, 2, 1))
    assert [r["behind"] for r in short if r["month"] == "2027-01" and r["town"] == "huxi"] == [True]
    on_last_day = progress([huxi(1, 10), huxi(2, 6)], PLAN.annual, date(2027, 1, 31))
    assert not any(r["behind"] for r in on_last_day)


def test_a_file_counts_inspections_by_month_for_two_years_at_most() -> None:
    """The file keeps 24 months of counts, the latest."""
    from decide_fixtures import inspection

    from engine.enterprise.replay import DistrictReplay

    rp = DistrictReplay.of(RULES)
    for m in range(30):
        year, month = 2025 + m // 12, m % 12 + 1
        for e in inspection(f"{year}-{month:02d}-10 10:00", [], inspection_id=f"I-{m}"):
            rp.feed(e)
    f = rp.state("enterprise", "91371500MA3D7PQ1LM")
    assert len(f.months) == 24 and min(f.months) == "2025-07" and f.months["2027-06"] == 1


@pytest.mark.parametrize(("old", "new", "words"), [
    ("    lihaiwu: 10\n", "    atlantis: 10\n", "annual.per_month.atlantis"),
    ("      to: 2027-02-28\n", "      to: 2026-12-01\n", "ends (2026-12-01) before it starts"),
])
def test_a_bad_annual_plan_is_refused_by_file_and_key(tmp_path: Path, old: str, new: str, words: str) -> None:
    """An unknown town or a campaign that ends before it starts fails when the rules load."""
    rules = edited_rules(tmp_path, "plan.yaml", old, new)
    with pytest.raises(RulesFileError, match="plan.yaml") as err:
        load_plan(rules, RULES.reference)
    assert words in str(err.value)


def test_a_month_behind_plan_is_escalated_to_the_town_and_the_lead_department() -> None:
    """One escalation per month and town behind, valid against the contract, with a repeatable id."""
    from datetime import date

    from engine.contract.outputs import OUTPUT_TYPES
    from engine.plan.annual import behind_escalations, progress

    rows = progress([replace(firm(1), town="huxi", months={"2027-01": 16})], PLAN.annual, date(2027, 2, 1))
    outs = behind_escalations(rows, PLAN.annual, RULES.reference, PLAN.version, "safety_bureau", NOW)
    behind = [r for r in rows if r["behind"]]
    assert len(outs) == len(behind) == 4  # January in all four towns: huxi did 16 of 17, the rest none
    [huxi] = [o for o in outs if o.key == "2027-01/huxi"]
    d = huxi.event["data"]
    OUTPUT_TYPES[huxi.event["type"]][1].model_validate(d)
    assert (d["subject_kind"], d["action"]) == ("plan", "plan_behind") and "16 of 17" in d["reason"]
    assert [t["id"] for t in d["targets"]] == ["huxi_safety_office", "safety_bureau"]
    again = behind_escalations(rows, PLAN.annual, RULES.reference, PLAN.version, "safety_bureau", NOW + 60)
    assert [o.id for o in again] == [o.id for o in outs]


def test_a_draw_is_published_with_its_results_only_once_every_drawn_enterprise_was_inspected() -> None:
    """一公开 after the fact: before the inspections the list stays unpublished, naming who is missing."""
    from engine.contract.outputs import OUTPUT_TYPES
    from engine.plan.draw import publication

    files = {f.id: f for f in (firm(n, "red") for n in range(3))}
    data = draw_event("S", "2027-01", files.values(), PLAN, [], NOW)["data"]
    jan = 1_798_790_400  # 2027-01-01T16:00:00+08:00, the draw made just before
    event, missing = publication(data, files, NOW, jan - 60)
    assert event is None and sorted(missing) == sorted(files)
    for f in files.values():
        f.months["2027-01"], f.inspected = 1, [jan]
    files[uscc(0)].last_inspection = [jan, "INS-J", "random_check", 2]
    event, missing = publication(data, files, jan, jan - 60)
    assert missing == [] and event["type"] == "safety.inspection.published"
    OUTPUT_TYPES[event["type"]][1].model_validate(event["data"])
    by = {p["uscc"]: p for p in event["data"]["picks"]}
    assert by[uscc(0)]["last_inspection"]["inspection_id"] == "INS-J"
    assert by[uscc(1)]["last_inspection"] is None and by[uscc(1)]["inspections_in_period"] == 1
    assert publication(data, files, jan + 99, jan - 60)[0]["id"] == event["id"]


def test_a_draw_is_published_only_on_a_law_enforcement_inspection_made_after_it() -> None:
    """双随机: the drawn enterprise is to be inspected by the drawn pair, after the draw. A routine
    inspection in the period but before the draw, or an expert's visit after it (an expert check is
    not law enforcement), is not the random check's result: the draw stays unpublished, the
    enterprise listed as missing, until a law-enforcement inspection dated at or after the draw is
    on file. Until 2026-12-07 any inspection in the period was taken for it."""
    from engine.plan.draw import publication

    f = firm(0, "red")
    data = draw_event("S", "2027-01", [f], PLAN, [], NOW)["data"]
    [pick] = data["picks"]
    assert len(pick["inspectors"]) == 2
    day, later = 86_400, NOW + 10 * 86_400
    f.months["2027-01"], f.inspected = 1, [NOW - day]
    f.last_inspection = [NOW - day, "INS-BEFORE", "routine", 0]
    assert publication(data, {f.id: f}, later, NOW) == (None, [f.id])
    f.last_inspection = [NOW + day, "EXP-1", "expert_check", 0]
    assert publication(data, {f.id: f}, later, NOW) == (None, [f.id])
    f.months["2027-01"], f.inspected = 2, [NOW - day, NOW + 2 * day]
    f.last_inspection = [NOW + 2 * day, "INS-J", "unannounced", 1]
    event, missing = publication(data, {f.id: f}, later, NOW)
    assert missing == [] and event["data"]["picks"][0]["last_inspection"]["inspection_id"] == "INS-J"


def _second_draw(files: list[EnterpriseFile], first: dict) -> dict:
    """Another seed's draw of the same period that sends firm 0 another pair."""
    pairs = {p["uscc"]: p["inspectors"] for p in first["picks"]}
    for s in range(1, 50):
        cand = draw_event(f"SEED-B{s}", first["period"], files, PLAN, [], NOW)["data"]
        if {p["uscc"]: p["inspectors"] for p in cand["picks"]}.get(uscc(0)) not in (None, pairs.get(uscc(0))):
            return cand
    raise AssertionError("no second seed sends firm 0 another pair")


def test_the_first_draw_of_a_period_stands_for_publish_and_the_next_periods_pairs(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """One draw per period (a draw re-done until it suits is no random draw): `plan draw --record`
    refuses a second, saying which stands. Of two recorded before that refusal, the first stands for
    `plan publish` and for the next period's "never the previous pair" alike. Until 2026-12-07
    publish took the last and `previous_pairs` the first (the audit's F6)."""
    from engine.plan.draw import standing
    from engine.tools import plan as tool

    files = [firm(n, "red") for n in range(3)]
    first = draw_event("SEED-A", "2027-01", files, PLAN, [], NOW)
    second = _second_draw(files, first["data"])
    recorded = [first["data"], second]
    assert standing(recorded, "2027-01") is first["data"]
    sent = {p["uscc"]: tuple(p["inspectors"]) for p in first["data"]["picks"] if len(p["inspectors"]) == 2}
    assert previous_pairs(recorded, "2027-02") == sent

    async def events(*_: object) -> list[dict]:
        return [first, {**first, "data": second}]

    async def no_files(*_: object) -> list[EnterpriseFile]:
        return files

    async def draws(*_: object) -> list[dict]:
        return recorded

    published: list[dict] = []

    async def send(_b: str, _t: str, records: list, *_: object) -> None:
        published.extend(event for _, event in records)

    monkeypatch.setattr(tool, "recorded_draw_events", events)
    monkeypatch.setattr(tool, "recorded_draws", draws)
    monkeypatch.setattr(tool, "latest_files", no_files)
    monkeypatch.setattr(tool, "_send", send)
    assert tool.run_draw("127.0.0.1:9", "", "app", "2027-01", "SEED-C", PLAN, True, False, now=NOW) == 2
    assert f"2027-01 was drawn already (draw {first['data']['draw_id']}" in capsys.readouterr().err
    assert published == []
    for f in files:  # inspected in the period, but before the draw: not its result
        f.months["2027-01"], f.inspected = 1, [NOW - 60]
    assert tool.run_publish("127.0.0.1:9", "", "app", "2027-01", True, now=NOW + 120) == 1
    said = capsys.readouterr().err
    assert ("have no law-enforcement inspection (an expert check is not one), done or refused, on file in "
            f"2027-01 dated at or after the draw ({iso(NOW)}): ") in said, said
    for f in files:
        f.months["2027-01"], f.inspected = 1, [NOW + 60]
    assert tool.run_publish("127.0.0.1:9", "", "app", "2027-01", True, now=NOW + 120) == 0
    [event] = published
    assert event["data"]["draw_id"] == first["data"]["draw_id"]
    assert {p["uscc"]: tuple(p["inspectors"]) for p in event["data"]["picks"]
            if len(p["inspectors"]) == 2} == sent


def test_a_drawn_enterprise_that_refused_is_published_with_its_refusal_as_its_result() -> None:
    """A refusal (拒绝、阻碍检查) is no inspection done, but it is the draw's result: 一公开 goes ahead."""
    from engine.contract.outputs import OUTPUT_TYPES
    from engine.plan.draw import publication

    files = {f.id: f for f in (firm(n, "red") for n in range(2))}
    data = draw_event("S", "2027-01", files.values(), PLAN, [], NOW)["data"]
    jan, dec = 1_798_790_400, 1_798_790_400 - 20 * 86400  # 2027-01-01T16:00+08:00, and in December
    files[uscc(0)].months["2027-01"], files[uscc(0)].inspected = 1, [jan]
    files[uscc(1)].refusals["INS-OLD"] = dec  # refused in December: not this period's result
    assert publication(data, files, jan, dec)[1] == [uscc(1)]
    files[uscc(1)].refusals["INS-R"] = jan
    event, missing = publication(data, files, jan, dec)
    assert missing == []
    OUTPUT_TYPES[event["type"]][1].model_validate(event["data"])
    by = {p["uscc"]: p for p in event["data"]["picks"]}
    assert by[uscc(1)]["inspections_in_period"] == 0
    assert by[uscc(1)]["refused_in_period"] == [{"inspection_id": "INS-R",
                                                 "time": "2027-01-01T16:00:00+08:00"}]
    assert by[uscc(0)]["refused_in_period"] == []
