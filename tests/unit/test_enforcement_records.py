"""Enforcement records (enforcement.records) and transfers to the public security bureau (刑法 art. 134-1)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from decide_fixtures import (
    ENTERPRISE,
    INSPECTORS,
    RULES,
    at,
    entry_time,
    events,
    plan,
    report,
    run,
    ts,
    verify,
)
from decide_fixtures import event as timeline_event

from engine.contract.envelope import EVENT_TYPES
from engine.contract.outputs import OUTPUT_TYPES
from engine.decide.replay import Replay
from engine.intake.process import Record, decide_intake

HZ = "HZ-J"
ORDER = "度应急责改〔2026〕101"


def ordered(time: str, order: str = "suspend", order_no: str = ORDER, **extra: Any) -> dict[str, Any]:
    """`safety.enforcement.ordered` by two inspectors."""
    [entry] = timeline_event("safety.enforcement.ordered", time, {
        "hazard_id": HZ, "order_no": order_no, "order": order, "legal_basis": "安全生产法 art. 65",
        "by": INSPECTORS, **extra}, HZ)
    return entry


def violated(time: str, order_no: str = ORDER, video: str = "v") -> dict[str, Any]:
    """`safety.enforcement.violated`, found by two inspectors, with a video."""
    [entry] = timeline_event("safety.enforcement.violated", time, {
        "hazard_id": HZ, "order_no": order_no, "found_at": ts(time),
        "description": "Working on while suspended.", "evidence": [f"https://files.example.org/{video}.mp4"],
        "by": INSPECTORS}, HZ)
    return entry


def lifted(time: str, order_no: str = ORDER) -> dict[str, Any]:
    [entry] = timeline_event("safety.enforcement.lifted", time, {
        "hazard_id": HZ, "order_no": order_no, "by": INSPECTORS[0]}, HZ)
    return entry


def major() -> list[dict[str, Any]]:
    return [report(HZ, "2026-11-02 09:00", grade="major", sector="hazardous_chemicals", town="zhulaozhuang"),
            verify(HZ, "2026-11-02 15:00", grade="major"), plan(HZ, "2026-11-03 09:00")]


def _intake(type_: str, data: dict[str, Any]) -> Any:
    topic = EVENT_TYPES[type_].topic
    cloud = {"specversion": "1.0", "id": "ev-x", "source": "/apps/test", "type": type_,
             "time": ts("2026-11-02 10:00"), "subject": HZ, "data": data}
    return decide_intake(Record(topic, 0, 1, None, json.dumps(cloud).encode(), 0), {}.get,
                         RULES.reference, contract_topic=topic)


def test_enforcement_records_arrive_on_their_own_topic() -> None:
    """The five record types belong on enforcement.records, keyed by hazard_id."""
    names = [n for n, t in EVENT_TYPES.items() if t.topic == "enforcement.records"]
    assert sorted(names) == sorted(f"safety.enforcement.{k}" for k in
                                   ("ordered", "penalized", "legal_reviewed", "violated", "lifted"))
    assert all(EVENT_TYPES[n].subject_field == "hazard_id" for n in names)


@pytest.mark.parametrize(("data", "words"), [
    pytest.param({"order": "suspend", "by": INSPECTORS[:1]}, "at least 2", id="one-inspector"),
    pytest.param({"order": "rectify_within", "by": INSPECTORS}, "until", id="rectify-without-until"),
])
def test_an_order_that_law_enforcement_could_not_give_is_rejected(data: dict[str, Any], words: str) -> None:
    """An order needs two inspectors, and an order to rectify needs its date."""
    out = _intake("safety.enforcement.ordered", {"hazard_id": HZ, "order_no": ORDER,
                                                  "legal_basis": "安全生产法 art. 102", **data})
    assert out.kind == "rejected"
    assert words in json.dumps([s.value.decode() for s in out.sends], ensure_ascii=False)


def test_a_violated_order_on_a_major_hazard_is_transferred_with_its_evidence() -> None:
    """刑法 art. 134-1: the order found violated goes to the public security bureau, once."""
    rp = run(*major(), ordered("2026-11-02 16:00"), violated("2026-11-05 10:00"),
             violated("2026-11-09 10:00"), until="2026-11-10 00:00")
    [ref] = events(rp, "safety.referral.judicial")
    d = ref["data"]
    OUTPUT_TYPES[ref["type"]][1].model_validate(d)
    assert ref["time"] == "2026-11-05T10:00:00+08:00" and ref["id"] == d["referral_id"]
    assert d["enterprise"] == ENTERPRISE and d["order_no"] == ORDER
    assert d["recipient"] == {"kind": "department", "id": "public_security", "name": "市公安局度假区分局"}
    assert "134-1" in d["offence"] and d["evidence"] == ["https://files.example.org/v.mp4"]
    assert d["persons"] == [{"name": "Zhang Wei", "role": "responsible_person",
                             "named_at": "2026-11-03T09:00:00+08:00"}]
    whats = [i["what"] for i in d["timeline"]]
    assert any(w.startswith(f"order {ORDER}: suspend") for w in whats)
    assert whats[-1].startswith("transferred to the public security bureau")


def test_a_general_hazards_violated_order_is_not_transferred() -> None:
    """134-1 item (2) is about orders given for a major hazard."""
    rp = run(report(HZ, "2026-11-02 09:00"), verify(HZ, "2026-11-02 15:00"),
             ordered("2026-11-02 16:00", "rectify_within", until="2026-11-09"), violated("2026-11-05 10:00"),
             until="2026-11-10 00:00")
    assert events(rp, "safety.referral.judicial") == []


def test_the_transfer_does_not_depend_on_arrival_order() -> None:
    """A violation that arrives before its order, or before the report, gives the same transfer id."""
    entries = [*major(), ordered("2026-11-02 16:00"), violated("2026-11-05 10:00")]
    ids = []
    for order in (entries, entries[::-1]):
        rp = Replay(RULES)
        for e in order:
            rp.feed(e, now=max(entry_time(x) for x in entries))
        rp.advance_to(at("2026-11-06 00:00"))
        ids.append([e["id"] for e in events(rp, "safety.referral.judicial")])
    assert ids[0] == ids[1] and len(ids[0]) == 1


OTHER = "度应急责改〔2026〕102"


def test_a_violation_of_an_order_not_yet_made_violates_nothing_though_another_order_was_in_force() -> None:
    """Each order is judged by itself: working on, on 4 Nov, breaks no order made on 6 Nov, even
    though another order on the hazard was in force that day. Found on 7 Nov, it is transferred."""
    story = [*major(), ordered("2026-11-02 16:00"), ordered("2026-11-06 09:00", order_no=OTHER)]
    rp = run(*story, violated("2026-11-04 10:00", OTHER), until="2026-11-10 00:00")
    assert events(rp, "safety.referral.judicial") == []
    rp = run(*story, violated("2026-11-07 10:00", OTHER), until="2026-11-10 00:00")
    assert [e["data"]["order_no"] for e in events(rp, "safety.referral.judicial")] == [OTHER]


def test_a_lifting_recorded_late_withdraws_its_own_orders_transfer_as_its_own_violation_showed_it() -> None:
    """Two orders to stop, each found violated and transferred: the other order on 5 Nov, this one
    on 6 Nov. The record that this order was lifted on 5 Nov at 09:00 comes after both transfers:
    this order's transfer is withdrawn, naming its own violation of 6 Nov and its evidence, not the
    other order's violation found in between; the other order's transfer stands."""
    rp = run(*major(), ordered("2026-11-02 16:00"), ordered("2026-11-02 17:00", order_no=OTHER),
             violated("2026-11-05 10:00", OTHER, video="other"), violated("2026-11-06 10:00", video="this"),
             until="2026-11-08 00:00")
    sent = {e["data"]["order_no"]: e["data"] for e in events(rp, "safety.referral.judicial")}
    assert set(sent) == {ORDER, OTHER}
    rp.feed({**lifted("2026-11-05 09:00"), "arrived_at": ts("2026-11-08 09:00")}, now=at("2026-11-08 09:00"))
    [back] = events(rp, "safety.referral.judicial_withdrawn")
    d = back["data"]
    assert d["referral_id"] == sent[ORDER]["referral_id"] and d["order_no"] == ORDER
    assert d["evidence"] == ["https://files.example.org/this.mp4"]
    assert "before the violation found on 2026-11-06T10:00:00+08:00" in d["reason"]


def test_a_lifting_recorded_late_withdraws_the_transfer_as_it_went_though_an_earlier_violation_came_since(
) -> None:
    """Violated on 6 Nov (video "this"): transferred, and the utility stop proposed, on that
    violation. One found on 5 Nov at 11:00 (video "early") reaches the engine on 7 Nov, after them;
    then the record that the order was lifted on 5 Nov at 09:00, on 8 Nov. Both are withdrawn as
    they went, on the 6 Nov violation and its evidence (until 2026-12-07 they were restated on the
    earliest violation after the lifting, which they never named)."""
    rp = run(*major(), ordered("2026-11-02 16:00"), violated("2026-11-06 10:00", video="this"),
             until="2026-11-07 00:00")
    [sent] = [e["data"] for e in events(rp, "safety.referral.judicial")]
    [proposed] = [e["data"] for e in events(rp, "safety.enforcement.proposed")
                  if e["data"]["measure"] == "utility_stop_notice"]
    assert sent["evidence"] == ["https://files.example.org/this.mp4"]
    rp.feed({**violated("2026-11-05 11:00", video="early"), "arrived_at": ts("2026-11-07 09:00")},
            now=at("2026-11-07 09:00"))
    assert len(events(rp, "safety.referral.judicial")) == 1  # the earlier violation sends nothing more
    rp.feed({**lifted("2026-11-05 09:00"), "arrived_at": ts("2026-11-08 09:00")}, now=at("2026-11-08 09:00"))
    [back] = [e["data"] for e in events(rp, "safety.referral.judicial_withdrawn")]
    assert back["referral_id"] == sent["referral_id"]
    # All it restates as it went, but its timeline: a hazard's record as it stands (README, "Known
    # limits"), with the violation and the lifting recorded since.
    assert {k: back[k] for k in sent if k in back and k not in ("reason", "timeline")} == {
        k: v for k, v in sent.items() if k in back and k not in ("reason", "timeline")}
    assert back["evidence"] == ["https://files.example.org/this.mp4"]
    [taken] = [e["data"] for e in events(rp, "safety.enforcement.withdrawn")]
    assert taken["proposal_id"] == proposed["proposal_id"]
    assert {k: taken[k] for k in proposed if k in taken and k not in ("reason", "timeline")} == {
        k: v for k, v in proposed.items() if k in taken and k not in ("reason", "timeline")}


def test_a_violation_stored_before_format_10_keeps_no_mark_and_the_first_after_the_lifting_is_taken() -> None:
    """As above, the hazard's violations as a state stored in format 9 loads them (no grounds marked,
    `sent` None): the withdrawal restates the transfer on the first violation after the lifting, as
    every withdrawal did before; it still names the transfer sent."""
    rp = run(*major(), ordered("2026-11-02 16:00"), violated("2026-11-06 10:00", video="this"),
             until="2026-11-07 00:00")
    [sent] = [e["data"] for e in events(rp, "safety.referral.judicial")]
    assert [v[4] for v in rp.states[HZ].violations] == [[f"{RULES.judicial.rule_id}:{ORDER}",
                                                         f"utility_stop_notice:{ORDER}"]]
    rp.feed({**violated("2026-11-05 11:00", video="early"), "arrived_at": ts("2026-11-07 09:00")},
            now=at("2026-11-07 09:00"))
    for v in rp.states[HZ].violations:
        v[4] = None
    rp.feed({**lifted("2026-11-05 09:00"), "arrived_at": ts("2026-11-08 09:00")}, now=at("2026-11-08 09:00"))
    [back] = [e["data"] for e in events(rp, "safety.referral.judicial_withdrawn")]
    assert back["referral_id"] == sent["referral_id"]
    assert back["evidence"] == ["https://files.example.org/early.mp4"]


def _plan_naming(time: str, person: str) -> dict[str, Any]:
    """A rectification plan made at `time` naming `person` responsible."""
    entry = plan(HZ, time, event_id=f"ev-plan-{person}")
    return {**entry, "data": {**entry["data"], "responsible_person": person}}


def test_a_transfer_names_who_was_responsible_when_the_violation_was_found_not_a_later_plans_person() -> None:
    """Zhang Wei's plan of 3 Nov stood on 5 Nov, when the order was found violated; Li Qiang's plan
    of 8 Nov came before the violation's record (a tablet offline until 10 Nov). The transfer names
    Zhang Wei and the plan that names him, never Li Qiang (report finding 8, audit s16)."""
    rp = run(*major(), ordered("2026-11-02 16:00"), _plan_naming("2026-11-08 09:00", "Li Qiang"),
             {**violated("2026-11-05 10:00"), "arrived_at": ts("2026-11-10 09:00")}, until="2026-11-11 00:00")
    [d] = [e["data"] for e in events(rp, "safety.referral.judicial")]
    OUTPUT_TYPES["safety.referral.judicial"][1].model_validate(d)
    assert d["persons"] == [{"name": "Zhang Wei", "role": "responsible_person",
                             "named_at": "2026-11-03T09:00:00+08:00"}]
    assert d["persons_note"].startswith("The person named is the responsible person (整改责任人) of the "
                                        "rectification plan of 2026-11-03T09:00:00+08:00")
    assert d["persons_note_zh"].startswith("所列人员为 2026-11-03T09:00:00+08:00 整改方案所列的整改责任人")


def test_a_transfer_names_nobody_and_says_so_when_no_plan_was_made_by_the_violation() -> None:
    """Found violated on 5 Nov, before any plan (the first is of 8 Nov): no record says who was
    responsible then, so the transfer names nobody rather than the later plan's person."""
    rp = run(*major()[:2], ordered("2026-11-02 16:00"), violated("2026-11-05 10:00"),
             _plan_naming("2026-11-08 09:00", "Li Qiang"), until="2026-11-11 00:00")
    [d] = [e["data"] for e in events(rp, "safety.referral.judicial")]
    assert d["persons"] == []
    assert d["persons_note"] == ("No person is named: no rectification plan kept on record was made by "
                                 "2026-11-05T10:00:00+08:00, when the violation was found, so no record "
                                 "says who was responsible then")
    assert d["persons_note_zh"] and "无记录表明当时的责任人" in d["persons_note_zh"]


@pytest.mark.parametrize(("planned", "named"), [
    pytest.param("2026-11-08 09:00", [], id="latest-plan-after-the-violation"),
    pytest.param("2026-11-04 09:00", ["Li Qiang"], id="latest-plan-before-the-violation"),
])
def test_a_state_stored_before_plans_were_kept_names_its_plans_person_only_if_made_by_the_violation(
        planned: str, named: list[str]) -> None:
    """A state stored before plans were kept by time knows its latest plan alone (`responsible`,
    `planned_at`). Made by the violation, that plan stood then (none is later); made after it, an
    earlier plan not kept may have named someone else, so nobody is named."""
    rp = run(*major(), ordered("2026-11-02 16:00"), _plan_naming(planned, "Li Qiang"),
             until="2026-11-09 10:00")
    h = rp.states[HZ]
    for key in [k for k in h.arrived if k.startswith("plan:")]:
        del h.arrived[key]  # as a state stored before the keys were kept loads
    assert (h.responsible, h.planned_at) == ("Li Qiang", at(planned))
    late = {**violated("2026-11-05 10:00"), "arrived_at": ts("2026-11-09 10:00")}
    rp.feed(late, now=at("2026-11-09 10:00"))
    [d] = [e["data"] for e in events(rp, "safety.referral.judicial")]
    assert [p["name"] for p in d["persons"]] == named
