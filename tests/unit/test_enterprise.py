"""Enterprise records (enterprise.records) and one file per enterprise (一企一档), without a broker."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from decide_fixtures import (
    ENTERPRISE,
    INSPECTORS,
    REPO,
    RULES,
    SUPERVISOR,
    at,
    complete,
    edited_rules,
    end_of,
    event,
    ext_decision,
    ext_request,
    finding,
    inspection,
    plan,
    report,
    review,
    ts,
    verify,
)

from engine.contract.envelope import EVENT_TYPES
from engine.contract.outputs import OUTPUT_TYPES
from engine.decide.core import decide
from engine.decide.emit import iso
from engine.decide.replay import clock_entry
from engine.enterprise import coverage
from engine.enterprise.core import LINK_TYPE, decide_enterprise
from engine.enterprise.coverage import EnterpriseRules
from engine.enterprise.links import with_hazard_links
from engine.enterprise.replay import DistrictReplay
from engine.enterprise.state import RECENT, UNMADE, EnterpriseFile
from engine.enterprise.view import enterprise_place, enterprise_view
from engine.intake.process import Record, decide_intake
from engine.kernel.ids import output_id
from engine.kernel.state import APPLIED, entry_hash
from engine.kernel.time import epoch
from engine.plan.rules import load_plan
from engine.ruleset import load_rules
from engine.ruleset.calendar import WorkCalendar
from engine.store import pack, unpack
from engine.zh.words import Words

USCC = ENTERPRISE["uscc"]
PLANT = "91371500MA3D7PQ1LM"  # the enterprise the inspection fixture visits


def registered(uscc: str = USCC, time: str = "2026-11-01 09:00", **extra: Any) -> dict[str, Any]:
    """`safety.enterprise.registered` through the real intake."""
    data = {"uscc": uscc, "name": ENTERPRISE["name"], "sector": "industry_trade",
            "location": {"town": "lihaiwu", "address": "No. 8 Binhe Road"},
            "legal_representative": "Zhang Wei", "by": SUPERVISOR, **extra}
    [entry] = event("safety.enterprise.registered", time, data, uscc)
    return entry


def classified(risk: str, key: bool, decided_at: str, time: str = "2026-11-01 10:00",
               uscc: str = USCC) -> dict[str, Any]:
    """`safety.enterprise.classified` by a supervisor."""
    [entry] = event("safety.enterprise.classified", time, {
        "uscc": uscc, "risk_class": risk, "key_enterprise": key, "decided_by": SUPERVISOR,
        "decided_at": ts(decided_at), "decision_no": "度应急分〔2026〕7"}, uscc)
    return entry


def _intake(type_: str, data: dict[str, Any], subject: str = USCC, key: bytes | None = None) -> Any:
    topic = EVENT_TYPES[type_].topic
    cloud = {"specversion": "1.0", "id": "ev-e", "source": "/apps/test", "type": type_,
             "time": ts("2026-11-02 10:00"), "subject": subject, "data": data}
    return decide_intake(Record(topic, 0, 1, key, json.dumps(cloud).encode(), 0), {}.get,
                         RULES.reference, contract_topic=topic)


def _reasons(out: Any) -> str:
    return json.dumps([json.loads(s.value)["data"]["errors"] for s in out.sends], ensure_ascii=False)


# --- item 1: the records -------------------------------------------------------------------------

def test_enterprise_records_arrive_on_their_own_topic_keyed_by_uscc() -> None:
    """The three record types belong on enterprise.records, and their subject is the USCC."""
    names = sorted(n for n, t in EVENT_TYPES.items() if t.topic == "enterprise.records")
    assert names == ["safety.credit.decided"] + [f"safety.enterprise.{k}" for k in
                                                 ("classified", "closed", "registered")]
    assert {EVENT_TYPES[n].subject_field for n in names} == {"uscc"}
    assert {EVENT_TYPES[n].subject_kind for n in names} == {"enterprise"}


GOOD = {"uscc": USCC, "name": "X Co.", "sector": "industry_trade", "location": {"town": "lihaiwu"},
        "legal_representative": "Zhang Wei", "by": SUPERVISOR}


@pytest.mark.parametrize(("type_", "data", "words"), [
    pytest.param("safety.enterprise.registered", {**GOOD, "uscc": USCC[:-1] + "3"},
                 "check character is '3' but GB 32100-2015 gives '2'", id="bad-check-character"),
    pytest.param("safety.enterprise.registered", {**GOOD, "location": {"town": "atlantis"}},
                 "unknown town 'atlantis'", id="unknown-town"),
    pytest.param("safety.enterprise.registered", {**GOOD, "sector": "mining"}, "sector", id="bad-sector"),
    pytest.param("safety.enterprise.registered", {**GOOD, "by": {"id": "p", "role": "public"}},
                 "a registration is recorded by a supervisor or an inspector, not 'public'", id="public"),
    pytest.param("safety.enterprise.registered", {k: v for k, v in GOOD.items()
                                                   if k != "legal_representative"},
                 "legal_representative", id="no-legal-representative"),
    pytest.param("safety.enterprise.classified", {"uscc": USCC, "risk_class": "purple",
                                                  "key_enterprise": True, "decided_by": SUPERVISOR,
                                                  "decided_at": ts("2026-11-01 10:00")},
                 "'red', 'orange', 'yellow' or 'blue'", id="bad-risk-class"),
    pytest.param("safety.enterprise.classified", {"uscc": USCC, "risk_class": "red",
                                                  "key_enterprise": True, "decided_by": SUPERVISOR,
                                                  "decided_at": "2026-11-01T10:00:00"},
                 "timezone", id="decided-at-without-offset"),
    pytest.param("safety.enterprise.closed", {"uscc": USCC, "reason": "moved",
                                              "by": {"id": "e", "role": "enterprise"}},
                 "a closing is recorded by a supervisor or an inspector", id="closed-by-enterprise"),
])
def test_bad_enterprise_records_are_rejected_with_a_specific_reason(type_: str, data: dict[str, Any],
                                                                    words: str) -> None:
    """Each wrong field is named in the rejection, in words a field app's developer can act on."""
    out = _intake(type_, data)
    assert out.kind == "rejected"
    assert words in _reasons(out)


def test_an_enterprise_record_must_be_keyed_and_subjected_by_its_uscc() -> None:
    """Subject and key are the USCC: another subject or key is rejected, naming both."""
    out = _intake("safety.enterprise.registered", GOOD, subject="HZ-1")
    assert out.kind == "rejected" and "must equal data.uscc" in _reasons(out)
    out = _intake("safety.enterprise.registered", GOOD, key=b"HZ-1")
    assert out.kind == "rejected" and out.reasons == ("key_mismatch",)
    assert _intake("safety.enterprise.registered", GOOD, key=USCC.encode()).kind == "accepted"


def test_an_enterprise_record_on_another_topic_is_rejected() -> None:
    """A registration sent to hazard.reports names the topic it belongs on."""
    cloud = {"specversion": "1.0", "id": "ev-t", "source": "/apps/test",
             "type": "safety.enterprise.registered", "time": ts("2026-11-02 10:00"),
             "subject": USCC, "data": GOOD}
    out = decide_intake(Record("hazard.reports", 0, 1, None, json.dumps(cloud).encode(), 0), {}.get,
                        RULES.reference, contract_topic="hazard.reports")
    assert out.reasons == ("wrong_topic",) and "belongs on topic enterprise.records" in _reasons(out)


# --- item 2: the file ----------------------------------------------------------------------------

def test_registration_and_the_latest_classification_make_the_file() -> None:
    """The classification decided last holds, whatever order the records arrive in."""
    entries = [registered(), classified("red", True, "2026-11-01 10:00"),
               classified("yellow", False, "2026-10-01 10:00", time="2026-11-01 11:00")]
    for order in (entries, entries[::-1]):
        f = None
        for e in order:
            f, outs = decide_enterprise(f, e, RULES)
            assert outs == []
        assert f.status() == "registered" and f.town == "lihaiwu" and f.sector == "industry_trade"
        assert (f.risk_class, f.key) == ("red", True)
        assert f.classified[0] == at("2026-11-01 10:00") and f.classified[1] == "sup-01"


def test_a_closed_enterprise_keeps_its_file_and_a_later_registration_reopens_it() -> None:
    """Closing is a status, not a deletion; a registration after it opens the file again."""
    [closing] = event("safety.enterprise.closed", "2026-11-05 09:00",
                      {"uscc": USCC, "reason": "Moved out of the district.", "by": SUPERVISOR}, USCC)
    f, _ = decide_enterprise(None, registered(), RULES)
    f, _ = decide_enterprise(f, closing, RULES)
    assert f.status() == "closed" and f.name == ENTERPRISE["name"]
    f, _ = decide_enterprise(f, registered(time="2026-11-06 09:00"), RULES)
    assert f.status() == "registered"


def test_a_re_delivered_entry_changes_nothing() -> None:
    """The same entry twice returns the very same file, so the worker stores nothing new."""
    f, _ = decide_enterprise(None, registered(), RULES)
    entry = classified("red", True, "2026-11-01 10:00")
    again, outs = decide_enterprise(f, entry, RULES)
    assert again is not f and outs == []
    assert decide_enterprise(again, entry, RULES)[0] is again


PLAN = load_plan(REPO / "rules", RULES.reference)


def _district(*entries: dict[str, Any] | list[dict[str, Any]], plan_rules: Any = PLAN) -> DistrictReplay:
    rp = DistrictReplay.of(RULES, plan=plan_rules)
    for e in entries:
        for one in (e if isinstance(e, list) else [e]):
            rp.feed(one)
    return rp


def test_hazards_are_filed_under_their_enterprise_open_overdue_and_closed() -> None:
    """Two reported hazards, one closed after review, one past its deadline: the file counts them."""
    rp = _district(registered(),
                   report("HZ-1", "2026-11-02 09:00"), verify("HZ-1", "2026-11-02 15:00"),
                   report("HZ-2", "2026-11-02 09:30"), verify("HZ-2", "2026-11-02 16:00"),
                   plan("HZ-2", "2026-11-03 09:00"), complete("HZ-2", "2026-11-04 09:00"),
                   review("HZ-2", "2026-11-05 09:00"))
    f = rp.state("enterprise", USCC)
    deadline = rp.state("hazard", "HZ-1").deadline
    view = enterprise_view(f, RULES, deadline + 1)
    assert view["hazards"] == {"open": 1, "overdue": 1, "closed": 1}
    assert [h["id"] for h in view["open_hazards"]] == ["HZ-1"] and view["open_hazards"][0]["overdue"]
    assert enterprise_view(f, RULES, deadline)["hazards"]["overdue"] == 0  # overdue only past it
    assert enterprise_place(f, RULES).overdue_after == deadline
    # The enterprise's sector's lead department, and the lead department of its open hazard.
    assert view["departments"] == ["fire_rescue", "safety_bureau"]


def test_a_withdrawn_enforcement_proposal_leaves_the_enterprises_file() -> None:
    """The fine proposed at the red step is filed; the completion claimed before it, arriving
    after it, withdraws it, and the file keeps a line saying so instead."""
    rp = _district(registered(), report("HZ-1", "2026-11-02 09:00"), verify("HZ-1", "2026-11-03 10:00"))
    while (due := rp.state("hazard", "HZ-1").next_due()) is not None and due < at("2026-11-19 00:00"):
        rp.feed(clock_entry("HZ-1", due))
    [proposal] = [o.event["data"] for o in rp.outputs if o.event["type"] == "safety.enforcement.proposed"]
    assert [p[1] for p in rp.state("enterprise", USCC).proposals] == [proposal["proposal_id"]]
    rp.feed({**complete("HZ-1", "2026-11-09 10:00"), "arrived_at": "2026-11-20T10:00:00+08:00"})
    f = rp.state("enterprise", USCC)
    assert f.proposals == []
    assert any(f"enforcement proposal {proposal['proposal_id']} withdrawn (hazard HZ-1)" in w
               for _, _, w, _ in f.recent)


def _clocks_until(rp: DistrictReplay, t: int) -> None:
    """Run HZ-1's clocks that fall due before `t`."""
    while (due := rp.state("hazard", "HZ-1").next_due()) is not None and due < t:
        rp.feed(clock_entry("HZ-1", due))


def _proposals_shown(rp: DistrictReplay, now: str) -> list[tuple[str, str | None]]:
    """Each proposal the enterprise's file shows at `now`, with where it stands."""
    view = enterprise_view(rp.state("enterprise", USCC), RULES, at(now))
    return [(p["measure"], p["status"]) for p in view["proposals"]]


def test_the_file_shows_where_each_enforcement_proposal_stands_as_its_hazard_says() -> None:
    """The fine proposed at the red step awaits its decision; nobody decides it by its due time, so
    the file shows it overdue; a penalty decision made by then and recorded late makes it answered."""
    from decide_fixtures import INSPECTORS
    from decide_fixtures import event as timeline_event

    rp = _district(registered(), report("HZ-1", "2026-11-02 09:00"), verify("HZ-1", "2026-11-03 10:00"))
    _clocks_until(rp, at("2026-11-19 00:00"))
    assert _proposals_shown(rp, "2026-11-30 00:00") == [("fine", "awaiting")]
    _clocks_until(rp, at("2026-11-25 12:00"))
    overhaul = ("suspend_for_overhaul", "awaiting")
    assert _proposals_shown(rp, "2026-11-30 00:00") == [("fine", "overdue"), overhaul]
    [decision] = timeline_event("safety.enforcement.penalized", "2026-11-23 10:00", {
        "hazard_id": "HZ-1", "decision_no": "罚1", "fine_cny": 10000, "legal_basis": "安全生产法 art. 102",
        "by": INSPECTORS[0]}, "HZ-1")
    rp.feed({**decision, "arrived_at": "2026-11-26T09:00:00+08:00"})
    assert _proposals_shown(rp, "2026-11-30 00:00") == [("fine", "answered"), overhaul]
    assert set(rp.state("enterprise", USCC).proposal_states) == {p[1] for p in rp.state("enterprise",
                                                                                        USCC).proposals}


def test_the_file_shows_the_decision_due_once_a_review_approved_a_proposal() -> None:
    """The overhaul, approved by its legal review on 27 November: the file shows its order awaited,
    then overdue when none is on record by 4 December."""
    from decide_fixtures import INSPECTORS
    from decide_fixtures import event as timeline_event

    rp = _district(registered(), report("HZ-1", "2026-11-02 09:00"), verify("HZ-1", "2026-11-03 10:00"))
    _clocks_until(rp, at("2026-11-25 12:00"))
    overhaul = rp.state("hazard", "HZ-1").proposals[1][0]
    [review] = timeline_event("safety.enforcement.legal_reviewed", "2026-11-27 10:00", {
        "hazard_id": "HZ-1", "proposal_id": overhaul, "outcome": "approved", "by": INSPECTORS[0]}, "HZ-1")
    rp.feed(review)
    fine = ("fine", "overdue")
    assert _proposals_shown(rp, "2026-12-10 00:00") == [fine, ("suspend_for_overhaul", "decision_awaiting")]
    _clocks_until(rp, at("2026-12-06 00:00"))
    assert _proposals_shown(rp, "2026-12-10 00:00") == [fine, ("suspend_for_overhaul", "decision_overdue")]


def test_events_before_the_registration_are_kept_and_linked_when_it_comes() -> None:
    """A hazard and an inspection of an unknown enterprise file it; the registration names it."""
    rp = _district(report("HZ-1", "2026-11-02 09:00"), verify("HZ-1", "2026-11-02 15:00"))
    f = rp.state("enterprise", USCC)
    assert f.status() == "unregistered" and f.name == ENTERPRISE["name"] and len(f.hazards) == 1
    rp.feed(registered(time="2026-11-03 09:00"))
    f = rp.state("enterprise", USCC)
    assert f.status() == "registered" and f.legal_representative == "Zhang Wei"
    assert list(f.hazards) == ["HZ-1"] and f.sector == "industry_trade"


def test_an_inspection_without_findings_counts_as_the_last_inspection() -> None:
    """An inspection with no findings is valid and counts (contract section 3)."""
    rp = _district(inspection("2026-11-02 10:00", [], inspection_id="INS-A"),
                   inspection("2026-11-09 10:00", [finding("HZ-F")], inspection_id="INS-B"))
    f = rp.state("enterprise", PLANT)
    assert f.inspections == 2 and f.last_inspection[1:] == ["INS-B", "unannounced", 1]
    assert list(f.hazards) == ["HZ-F"] and f.town == "zhulaozhuang"


def test_orders_in_force_and_their_lifting_are_filed() -> None:
    """An order on a hazard is in force in its enterprise's file until lifted."""
    def order(kind: str, time: str, **data: Any) -> dict[str, Any]:
        [e] = event(f"safety.enforcement.{kind}", time, {"hazard_id": "HZ-1", "order_no": "令-1", **data},
                    "HZ-1")
        return e
    rp = _district(report("HZ-1", "2026-11-02 09:00", grade="major"),
                   verify("HZ-1", "2026-11-02 15:00", grade="major"),
                   order("ordered", "2026-11-02 16:00", order="suspend", legal_basis="安全生产法 art. 65",
                         by=INSPECTORS))
    assert enterprise_view(rp.state("enterprise", USCC), RULES, 0)["orders_in_force"][0]["order"] == "suspend"
    rp.feed(order("lifted", "2026-11-20 09:00", by=SUPERVISOR))
    assert rp.state("enterprise", USCC).orders == {}


def test_a_files_window_of_applied_hashes_stays_at_applied() -> None:
    """A file that already keeps APPLIED hashes drops its oldest for an entry without a source: the
    kernel's `remember` bounds every core's window, the enterprise file's too."""
    entry = {k: v for k, v in registered().items() if k not in ("origin", "cause")}
    full = EnterpriseFile(id=USCC, applied=list(range(1, APPLIED + 1)))
    f, _ = decide_enterprise(full, entry, RULES)
    assert len(f.applied) == APPLIED and f.applied[0] == 2 and f.applied[-1] == entry_hash(entry["entry_id"])
    stored = unpack(pack(full), EnterpriseFile, lazy=True)  # the hashes as bytes, as the worker reads them
    f, _ = decide_enterprise(stored, entry, RULES)
    assert len(f.applied_stored) // 8 + len(f.applied) == APPLIED


def test_the_file_stays_bounded_however_many_events() -> None:
    """A year of inspections leaves RECENT record lines and exact counts."""
    rp = _district(*[inspection(f"2026-{m:02d}-{d:02d} 10:00", [], inspection_id=f"INS-{m}-{d}")
                     for m in range(1, 13) for d in (3, 17)])
    f = rp.state("enterprise", PLANT)
    assert f.inspections == 24 and f.last_inspection[1] == "INS-12-17"
    rp = _district(*[inspection(f"2026-{m:02d}-{d:02d} 10:00", [], inspection_id=f"INS-{m}-{d}")
                     for m in range(1, 13) for d in range(1, 8)])
    f = rp.state("enterprise", PLANT)
    assert f.inspections == 84 and len(f.recent) == RECENT
    assert f.recent[-1][2].startswith("inspection INS-12-7 ")


def test_a_stored_file_reads_back_the_same() -> None:
    """pack then unpack gives the same file, as the worker's table stores it."""
    rp = _district(registered(), report("HZ-1", "2026-11-02 09:00"), verify("HZ-1", "2026-11-02 15:00"))
    f = rp.state("enterprise", USCC)
    assert unpack(pack(f), EnterpriseFile) == f


def test_links_do_not_change_the_hazard_cores_outputs() -> None:
    """The wrapped hazard core sends what the plain one sends, plus links on the timeline only."""
    from engine.decide.replay import Replay

    entries = [report("HZ-1", "2026-11-02 09:00"), verify("HZ-1", "2026-11-02 15:00"),
               review("HZ-1", "2026-12-20 09:00", outcome="failed")]
    plain = Replay(RULES)
    for e in entries:
        plain.feed(e)
    rp = _district(*entries)
    assert [o.id for o in rp.outputs] == [o.id for _, o in plain.outputs]


# --- item 2: the HTTP pages ----------------------------------------------------------------------

def _pages_over(rp: DistrictReplay, tmp_path: Any) -> tuple[Any, dict[str, str]]:
    from engine.enterprise import web as enterprise_web
    from engine.enterprise.view import enterprise_source
    from engine.feeds.index import PlaceIndex
    from engine.feeds.tokens import TokenStore, mint
    from engine.http.server import Pages
    from engine.settings import Settings

    table, index = {}, PlaceIndex()
    for uscc, f in rp.states["enterprise"].items():
        table[uscc.encode()] = pack(f)
        index.put(uscc, enterprise_place(f, RULES))
    tokens, lines = {}, []
    for name, towns, depts, district in (("lihaiwu", ["lihaiwu"], [], False),
                                         ("fire", [], ["fire_rescue"], False),
                                         ("district", [], [], True)):
        tokens[name], line = mint(name, towns, depts, district)
        lines.append(line)
    (tmp_path / "tokens.yaml").write_text("supervisors:\n" + "\n".join(lines) + "\n")
    pages = Pages()
    enterprise_web.register(pages, settings=Settings(), tokens=TokenStore.load(tmp_path / "tokens.yaml"),
                            enterprises=enterprise_source(table, RULES, lambda: at("2026-12-31 00:00"),
                                                          index),
                            now=lambda: at("2026-12-31 00:00"))
    return pages, tokens


def test_enterprise_pages_answer_within_the_tokens_scope(tmp_path: Any) -> None:
    """A town sees its enterprises' files; another town's answers exactly as an unknown USCC."""
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    rp = _district(registered(), report("HZ-1", "2026-11-02 09:00"), verify("HZ-1", "2026-11-02 15:00"),
                   inspection("2026-11-02 10:00", [], inspection_id="INS-A"))
    pages, tokens = _pages_over(rp, tmp_path)
    unknown = "91350100M000100Y43"

    async def main() -> None:
        async with TestClient(TestServer(pages.web_app)) as client:
            def auth(name: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {tokens[name]}"}
            own = await client.get(f"/enterprises/{USCC}", headers=auth("lihaiwu"))
            assert own.status == 200
            body = await own.json()
            assert body["name"] == ENTERPRISE["name"] and body["hazards"]["overdue"] == 1
            assert body["record_total"] == len(body["record"]) > 0 and body["record_first"] == 0
            latest = await (await client.get(f"/enterprises/{USCC}?record_limit=1",
                                             headers=auth("lihaiwu"))).json()
            assert latest["record"] == body["record"][-1:]
            outside = await client.get(f"/enterprises/{PLANT}", headers=auth("lihaiwu"))
            missing = await client.get(f"/enterprises/{unknown}", headers=auth("lihaiwu"))
            assert outside.status == missing.status == 404
            assert (await outside.json())["error"].replace(PLANT, "X") == \
                (await missing.json())["error"].replace(unknown, "X")
            listed = await (await client.get("/enterprises", headers=auth("lihaiwu"))).json()
            assert [i["id"] for i in listed["items"]] == [USCC] and "record" not in listed["items"][0]
            everyone = await (await client.get("/enterprises", headers=auth("district"))).json()
            assert sorted(i["id"] for i in everyone["items"]) == sorted([USCC, PLANT])
            overdue = await (await client.get("/enterprises?overdue=true", headers=auth("district"))).json()
            assert [i["id"] for i in overdue["items"]] == [USCC]
            by_department = await (await client.get("/enterprises", headers=auth("fire"))).json()
            assert [i["id"] for i in by_department["items"]] == [USCC]  # its open hazard's lead
            assert (await client.get("/enterprises")).status == 401
            assert (await client.get("/enterprises?town=zhulaozhuang", headers=auth("lihaiwu"))).status == 403
            assert (await client.get("/enterprises?overdue=maybe", headers=auth("district"))).status == 400

    asyncio.run(main())


def test_show_renders_an_enterprises_file() -> None:
    """`hazard-engine show --enterprise` prints counts, the overdue hazard and the last inspection."""
    from engine.tools.show import render_enterprise

    rp = _district(registered(), classified("orange", True, "2026-11-01 10:00"),
                   report("HZ-1", "2026-11-02 09:00"), verify("HZ-1", "2026-11-02 15:00"))
    f = rp.state("enterprise", USCC)
    page = render_enterprise(f, [], USCC, at("2026-12-31 00:00"))
    assert "risk class=orange  key enterprise (重点企业)" in page
    assert "hazards: 1 open, 1 overdue, 0 closed" in page and "HZ-1" in page and "OVERDUE" in page
    assert "inspections: 0; last none" in page
    assert "classified: orange from 2026-11-01T10:00:00+08:00" in page
    assert ("coverage cycle from 2026-11-01T10:00:00+08:00: next, the town safety office told at "
            "2026-12-31T23:59:59+08:00") in page
    assert render_enterprise(None, [], USCC, 0) == f"{USCC}: no such enterprise on this broker"
    missed, outs, due = _missed_once()
    shown = render_enterprise(missed, [], USCC, due)
    assert ("missed: the cycle from 2026-11-01T10:00:00+08:00 (orange), at 2027-01-07T23:59:59+08:00: a "
            "duty failure of safety_bureau; referral held") in shown
    assert ("town safety office told: the cycle from 2026-11-01T10:00:00+08:00 (orange) ran out, at "
            f"2026-12-31T23:59:59+08:00 [{outs[0].id}]") in shown


def test_show_needs_a_hazard_or_an_enterprise_but_not_both(capsys: Any) -> None:
    """The command says what to give instead of guessing."""
    from engine.cli import main

    assert main(["show"]) == 2 and "one of them" in capsys.readouterr().err
    assert main(["show", "HZ-1", "--enterprise", USCC]) == 2


# --- credit (失信) proposals ---------------------------------------------------------------------

def _enforcement(kind: str, time: str, hid: str = "HZ-1", **data: Any) -> dict[str, Any]:
    [e] = event(f"safety.enforcement.{kind}", time, {"hazard_id": hid, "order_no": f"令-{hid}", **data}, hid)
    return e


def _violated(time: str, hid: str = "HZ-1") -> dict[str, Any]:
    return _enforcement("violated", time, hid, found_at=ts(time), description="Working on while suspended.",
                        evidence=["https://files.example.org/v.mp4"], by=INSPECTORS)


def _major(hid: str, time: str, rectify_by: str) -> list[dict[str, Any]]:
    return [report(hid, time, grade="major", rectify_by=rectify_by), verify(hid, time, grade="major")]


def test_a_violated_suspension_order_is_proposed_for_the_credit_list_once() -> None:
    """The proposal names its evidence and basis; the same violation again proposes nothing more."""
    violation = _violated("2026-11-05 10:00")
    rp = _district(registered(), *_major("HZ-1", "2026-11-02 09:00", "2027-06-30"),
                   _enforcement("ordered", "2026-11-02 16:00", order="suspend",
                                legal_basis="安全生产法 art. 65", by=INSPECTORS), violation)
    [proposal] = [o for o in rp.outputs if o.topic == "credit.proposals"]
    d = proposal.event["data"]
    assert d["criterion"] == "violated_suspension" and d["needs_decision"] is True
    OUTPUT_TYPES[proposal.event["type"]][1].model_validate(d)
    assert "应急管理部令第11号" in d["legal_basis"] and d["evidence"][0]["order_no"] == "令-HZ-1"
    assert d["reason_zh"] == "隐患 HZ-1 的执法决定 令-HZ-1（责令停产停业）被发现未执行"
    assert d["evidence"][0]["uris"] == ["https://files.example.org/v.mp4"]
    assert proposal.key == USCC and proposal.id == d["proposal_id"]
    rp.feed(violation)  # re-delivered
    assert len([o for o in rp.outputs if o.topic == "credit.proposals"]) == 1
    view = enterprise_view(rp.state("enterprise", USCC), RULES, at("2026-11-06 00:00"))
    assert view["credit"]["listed"] == []  # a proposal is not a listing
    assert view["credit"]["proposals"][0]["decision"] == "awaiting a person's decision"


def test_a_violation_recorded_before_its_order_is_proposed_when_the_order_comes() -> None:
    """The violation's record came first (the order's app offline): the file could not tell it was of an
    order to stop, and it was never proposed, as the transfer was. It is, once the order is on file."""
    rp = _district(registered(), *_major("HZ-1", "2026-11-02 09:00", "2027-06-30"),
                   _violated("2026-11-05 10:00"),
                   _enforcement("ordered", "2026-11-02 16:00", order="suspend",
                                legal_basis="安全生产法 art. 65", by=INSPECTORS))
    [proposal] = [o.event["data"] for o in rp.outputs if o.topic == "credit.proposals"]
    assert proposal["criterion"] == "violated_suspension" and proposal["evidence"][0]["order_no"] == "令-HZ-1"


def _stop_order_story(*records: dict[str, Any]) -> DistrictReplay:
    """A major hazard with an order to stop (suspend, art. 65) made on 2 Nov, then `records`."""
    return _district(registered(), *_major("HZ-1", "2026-11-02 09:00", "2027-06-30"),
                     _enforcement("ordered", "2026-11-02 16:00", order="suspend",
                                  legal_basis="安全生产法 art. 65", by=INSPECTORS), *records)


def _lifted(time: str) -> dict[str, Any]:
    return _enforcement("lifted", time, by=INSPECTORS[0])


_GRAVE = ("safety.referral.judicial", "safety.enforcement.proposed", "safety.credit.proposed")


def test_a_violation_found_after_its_order_was_lifted_is_transferred_nowhere() -> None:
    """The order was lifted on 5 Nov; working on 7 Nov violates no order in force: no transfer to the
    public security bureau (刑法 art. 134-1), no utility stop (art. 70), no credit proposal; the
    hazard's record says why. Found on 4 Nov, while the order was in force, it is all three."""
    rp = _stop_order_story(_lifted("2026-11-05 10:00"), _violated("2026-11-07 10:00"))
    assert not [o for o in rp.outputs if o.event["type"] in _GRAVE]
    said = "found violated after its lifting on 2026-11-05T10:00:00+08:00, so no order in force was"
    assert any(said in w for _, _, w in rp.state("hazard", "HZ-1").timeline())
    rp = _stop_order_story(_violated("2026-11-04 10:00"), _lifted("2026-11-05 10:00"))
    assert [o.event["type"] for o in rp.outputs if o.event["type"] in _GRAVE] == list(_GRAVE)
    rp = _stop_order_story(_violated("2026-11-02 12:00"))  # found before the order was made at 16:00
    assert not [o for o in rp.outputs if o.event["type"] in _GRAVE]


def test_a_lifting_recorded_after_the_transfer_withdraws_it_and_what_else_the_violation_caused() -> None:
    """The violation of 7 Nov was transferred, and the utility stop and a credit listing proposed,
    before the record that the order had been lifted on 5 Nov came in: each is withdrawn, to those
    it went to, with its id. A violation of 4 Nov, recorded later still, is transferred again under
    an id of its own."""
    rp = _stop_order_story(_violated("2026-11-07 10:00"))
    sent = {o.event["type"]: o.event for o in rp.outputs if o.event["type"] in _GRAVE}
    assert set(sent) == set(_GRAVE)
    lifting = _lifted("2026-11-05 10:00")
    rp.feed({**lifting, "arrived_at": ts("2026-11-08 09:00")})
    rp.feed(lifting)  # re-delivered: nothing more
    back = {o.event["type"]: o.event for o in rp.outputs if o.event["type"].endswith("withdrawn")}
    assert set(back) == {"safety.referral.judicial_withdrawn", "safety.enforcement.withdrawn",
                         "safety.credit.withdrawn"}
    assert len([o for o in rp.outputs if o.event["type"].endswith("withdrawn")]) == 3
    for took, gave in zip(("safety.referral.judicial_withdrawn", "safety.enforcement.withdrawn",
                           "safety.credit.withdrawn"), _GRAVE, strict=True):
        assert _named(back[took]) == _named(sent[gave])
    for event_ in back.values():
        OUTPUT_TYPES[event_["type"]][1].model_validate(event_["data"])
        assert "was lifted on 2026-11-05T10:00:00+08:00, before the violation found on 2026-11-07" in \
            event_["data"]["reason"]
        assert "已于 2026-11-05T10:00:00+08:00 解除" in event_["data"]["reason_zh"]
    assert back["safety.credit.withdrawn"]["data"]["decided"] is None
    h = rp.state("hazard", "HZ-1")
    assert ("order 令-HZ-1: the transfer to the public security bureau and the utility_stop_notice proposal "
            "withdrawn, as the violations found since its lifting violated no order in force"
            in [w for _, _, w in h.timeline()])
    rp.feed(_violated("2026-11-04 10:00"))
    again = [o.event for o in rp.outputs if o.event["type"] in _GRAVE][3:]
    assert [e["type"] for e in again] == list(_GRAVE)
    assert {_named(e) for e in again}.isdisjoint({_named(e) for e in sent.values()})


def _one_order_on_two_hazards(*records: dict[str, Any]) -> DistrictReplay:
    """One stop order (令-A) covering HZ-1 and HZ-2, found violated once on 5 Nov, the act recorded on
    each hazard (records are keyed by hazard), then `records`."""
    order = dict(order="suspend", legal_basis="安全生产法 art. 65", by=INSPECTORS, order_no="令-A")
    found = dict(order_no="令-A", found_at=ts("2026-11-05 10:00"), description="Working on.",
                 evidence=["https://files.example.org/v.mp4"], by=INSPECTORS)
    return _district(registered(), *_major("HZ-1", "2026-11-02 09:00", "2027-06-30"),
                     *_major("HZ-2", "2026-11-02 09:05", "2027-06-30"),
                     _enforcement("ordered", "2026-11-02 16:00", "HZ-1", **order),
                     _enforcement("ordered", "2026-11-02 16:00", "HZ-2", **order),
                     _enforcement("violated", "2026-11-05 10:00", "HZ-1", **found),
                     _enforcement("violated", "2026-11-05 10:00", "HZ-2", **found), *records)


def test_one_act_under_an_order_covering_two_hazards_is_proposed_once() -> None:
    """The one act of working on under 令-A, recorded on each hazard it covers, used to give two credit
    proposals for one fact (audit F8): it is one proposal, whichever record came first. A lifting
    before it recorded late on one hazard leaves it standing on the other's record; on both, it is
    withdrawn, once."""
    rp = _one_order_on_two_hazards()
    assert len(rp.state("enterprise", USCC).orders) == 1
    [proposal] = _credit(rp, "safety.credit.proposed")
    assert proposal["proposal_id"] == output_id("credit", USCC, "violated_suspension", "令-A",
                                                at("2026-11-05 10:00"))

    def lifting(hid: str) -> dict[str, Any]:
        return _late(_enforcement("lifted", "2026-11-04 10:00", hid, order_no="令-A", by=INSPECTORS[0]),
                     "2026-11-06 09:00")
    rp = _one_order_on_two_hazards(lifting("HZ-1"))
    assert _credit(rp, "safety.credit.withdrawn") == []
    rp.feed(lifting("HZ-2"))
    assert [d["proposal_id"] for d in _credit(rp, "safety.credit.withdrawn")] == [proposal["proposal_id"]]


def test_one_act_withdrawn_by_the_other_hazards_record_is_restated_as_it_was_sent() -> None:
    """The act under 令-A went on HZ-1's record (it came first); a lifting before it, recorded late on
    each hazard, withdraws it once the second, HZ-2's, comes. The withdrawal restates the proposal as
    it was sent: its evidence is HZ-1's record of the act (its event id), not HZ-2's. Until
    2026-12-07 it was restated from the record of whichever hazard withdrew it, under the same id."""
    def lifting(hid: str) -> dict[str, Any]:
        return _late(_enforcement("lifted", "2026-11-04 10:00", hid, order_no="令-A", by=INSPECTORS[0]),
                     "2026-11-06 09:00")
    rp = _one_order_on_two_hazards(lifting("HZ-2"), lifting("HZ-1"))
    [proposal] = _credit(rp, "safety.credit.proposed")
    [withdrawn] = _credit(rp, "safety.credit.withdrawn")
    assert [e["hazard_id"] for e in proposal["evidence"]] == ["HZ-1"]
    assert withdrawn["evidence"] == proposal["evidence"]
    said = ("reason", "reason_zh", "decided")
    assert {k: v for k, v in withdrawn.items() if k not in said} == {
        k: v for k, v in proposal.items() if k not in said}
    rp = _one_order_on_two_hazards(lifting("HZ-1"), lifting("HZ-2"))  # the other order: the same
    [proposal] = _credit(rp, "safety.credit.proposed")
    assert _credit(rp, "safety.credit.withdrawn")[0]["evidence"] == proposal["evidence"]


PER_RECORD = REPO / "tests" / "unit" / "testdata" / "states-v13-per-record"


def _links_of(rp: DistrictReplay, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Apply a hazard's `entry` in `rp` and return the links to its enterprise's file it makes,
    without filing them there."""
    hid = entry["subject"]
    new, outs = rp.cores["hazard"].decide(rp.state("hazard", hid), entry)
    rp.states["hazard"][hid] = new
    # Named apart from the stored file's own entries: this process numbers its events from 1 again,
    # as the one that stored the file did.
    return [{**o.event, "entry_id": f"after-{o.event['entry_id']}", "id": f"after-{o.event['id']}"}
            for o in outs if o.event.get("type") == LINK_TYPE]


@pytest.mark.parametrize("first", ["HZ-2", "HZ-1"])
def test_an_act_proposed_before_the_change_on_one_hazards_record_is_not_proposed_again(first: str) -> None:
    """A file stored by commit 0271a04, before one proposal per act (states-v13-per-record): 令-A, on
    HZ-1 and HZ-2, found violated on 5 Nov and recorded on HZ-1, proposed under the id of HZ-1's
    record. HZ-2's record of the same act comes after the upgrade: it is that proposal's act, not
    another, so nothing is proposed again. A lifting before the act, recorded late on one hazard
    (either), leaves the proposal standing on the other's record; on both, it is withdrawn once,
    restated as it was sent (HZ-1's record). Until 2026-12-07 HZ-2's record proposed the act a
    second time."""
    stored = unpack((PER_RECORD / f"enterprise-{USCC}-violated.state").read_bytes(), EnterpriseFile)
    [[old, _, proposed_at, _]] = stored.credit
    order = dict(order="suspend", legal_basis="安全生产法 art. 65", by=INSPECTORS, order_no="令-A")
    found = dict(order_no="令-A", found_at=ts("2026-11-05 10:00"), description="Working on.",
                 evidence=["https://files.example.org/v.mp4"], by=INSPECTORS)
    rp = _district(registered(), *_major("HZ-2", "2026-11-02 09:05", "2027-06-30"),
                   _enforcement("ordered", "2026-11-02 16:00", "HZ-2", **order))
    f, outs = stored, []
    for link in _links_of(rp, _enforcement("violated", "2026-11-05 10:00", "HZ-2", **found)):
        f, got = decide_enterprise(f, link, COVERAGE)
        outs += got
    assert [o.event["type"] for o in outs if o.topic == "credit.proposals"] == []
    assert [p[0] for p in f.credit] == [old]
    lifting = _late(_enforcement("lifted", "2026-11-04 10:00", "HZ-2", order_no="令-A", by=INSPECTORS[0]),
                    "2026-11-06 09:00")
    [hz2] = _links_of(rp, lifting)
    # HZ-1's lifting, as its hazard (stored before, its record of the act ev-8) links it.
    hz1 = {**hz2, "entry_id": "after-hz1", "id": "after-hz1", "event_id": "ev-lift-hz1",
           "data": {**hz2["data"], "id": "HZ-1",
                    "unviolated": [["令-A", proposed_at, "ev-8", found["evidence"]]]}}
    one, other = (hz2, hz1) if first == "HZ-2" else (hz1, hz2)
    f, outs = decide_enterprise(f, one, COVERAGE)
    assert [o for o in outs if o.topic == "credit.proposals"] == []  # the other's record still counts
    f, outs = decide_enterprise(f, other, COVERAGE)
    [withdrawn] = [o.event["data"] for o in outs if o.topic == "credit.proposals"]
    assert withdrawn["proposal_id"] == old
    assert withdrawn["evidence"] == [{"hazard_id": "HZ-1", "order_no": "令-A", "event_id": "ev-8",
                                      "uris": found["evidence"]}]
    assert f.credit_withdrawn == {old: at("2026-11-04 10:00")}


def test_a_violation_found_while_the_hazard_stood_dismissed_is_no_credit_matter() -> None:
    """The hazard was found unfounded on 4 Nov; the stop order made on it was found violated on 5 Nov.
    The hazard core makes no transfer (or withdraws it, the verdict recorded late): the order was on
    no hazard to rectify. The file used to propose the enterprise for the credit list all the same
    (audit F3); now, as the hazard core judges it, no proposal in time order, and the one made before
    the late verdict is withdrawn, saying why."""
    unfounded = verify("HZ-1", "2026-11-04 10:00", verdict="unfounded", grade=None)
    in_order = _stop_order_story(unfounded, _violated("2026-11-05 10:00"))
    assert [o.event["type"] for o in in_order.outputs if o.event["type"] in _GRAVE] == []
    late = _stop_order_story(_violated("2026-11-05 10:00"), _late(unfounded, "2026-11-06 10:00"))
    assert "safety.referral.judicial_withdrawn" in [o.event["type"] for o in late.outputs]
    [proposal] = _credit(late, "safety.credit.proposed")
    _the_withdrawal(late, proposal, f"the verification {unfounded['event_id']} of 2026-11-04T10:00:00+08:00 "
                    "found hazard HZ-1 unfounded before the violation of order 令-HZ-1",
                    "撤回信用惩戒建议：核实记录 ")
    [said] = [w for _, _, w, _ in late.state("enterprise", USCC).recent if w.startswith("credit proposal ")
              and "withdrawn" in w]
    assert said.endswith("hazard HZ-1 stood found unfounded or a duplicate when the violation was found")
    assert Words("zh", RULES.reference).record(said).startswith("撤回信用惩戒建议 ")


def test_a_late_verdict_withdrawing_a_proposal_of_each_kind_says_why_each_went() -> None:
    """HZ-1, with HZ-2, counted overdue, and its stop order found violated: a verification of 4 Nov,
    before both and recorded late, withdraws the overdue proposal and the violation's; the record
    says of each why it went."""
    unfounded = verify("HZ-1", "2026-11-04 10:00", verdict="unfounded", grade=None)
    rp = _district(registered(), *_overdue_majors(("HZ-1", "2026-11-02", "2026-11-10"),
                                                  ("HZ-2", "2026-11-02", "2026-11-10")),
                   _enforcement("ordered", "2026-11-02 16:00", order="suspend",
                                legal_basis="安全生产法 art. 65", by=INSPECTORS),
                   _violated("2026-11-05 10:00"), _late(unfounded, "2026-11-12 10:00"))
    assert len(_credit(rp, "safety.credit.withdrawn")) == 2
    said = sorted(w.split(" withdrawn: ")[1] for _, _, w, _ in rp.state("enterprise", USCC).recent
                  if w.startswith("credit proposal ") and " withdrawn: " in w)
    assert said == ["hazard HZ-1 stood found unfounded or a duplicate when the violation was found",
                    "hazard HZ-1 was settled by its deadline (unfounded)"]


def _named(event_: dict[str, Any]) -> str:
    """The id a transfer or proposal is named by, in itself and in its withdrawal."""
    return event_["data"].get("proposal_id") or event_["data"]["referral_id"]


def test_a_violated_order_to_rectify_is_not_a_credit_matter() -> None:
    """Only an order to stop (art. 65 or 102) found violated is proposed; so the order's lifting,
    recorded late, before the violation, has no proposal to withdraw either."""
    rp = _district(registered(), report("HZ-1", "2026-11-02 09:00"), verify("HZ-1", "2026-11-02 15:00"),
                   _enforcement("ordered", "2026-11-02 16:00", order="rectify_within", until="2026-11-09",
                                legal_basis="安全生产法 art. 102", by=INSPECTORS),
                   _violated("2026-11-05 10:00"))
    assert [o for o in rp.outputs if o.topic == "credit.proposals"] == []
    rp.feed(_late(_lifted("2026-11-04 10:00"), "2026-11-06 09:00"))
    assert [o for o in rp.outputs if o.topic == "credit.proposals"] == []


@pytest.mark.parametrize(("second_report", "proposed"), [
    pytest.param("2026-11-20 09:00", True, id="two-within-a-year"),
    pytest.param("2027-12-20 09:00", False, id="the-second-a-year-after-the-first"),
])
def test_two_major_hazards_overdue_within_a_year_are_proposed(second_report: str, proposed: bool) -> None:
    """The threshold counts major hazards overdue within 365 days of each other."""
    second_due = second_report[:8] + "28"
    rp = _district(registered(), *_major("HZ-1", "2026-11-02 09:00", "2026-11-10"),
                   plan("HZ-1", "2026-11-12 09:00"),  # after its deadline: the file sees it overdue
                   *_major("HZ-2", second_report, second_due),
                   plan("HZ-2", second_due[:8] + "29 09:00"))
    got = [o.event["data"] for o in rp.outputs if o.topic == "credit.proposals"]
    assert (len(got) == 1) is proposed
    if proposed:
        assert got[0]["criterion"] == "repeated_overdue_major"
        assert [e["hazard_id"] for e in got[0]["evidence"]] == ["HZ-1", "HZ-2"]
        assert got[0]["reason_zh"].endswith(" 项重大事故隐患逾期未整改：HZ-1,HZ-2")


def _links(*entries: dict[str, Any]) -> list[dict[str, Any]]:
    """The links one hazard's entries send its enterprise's file, in the order they are decided."""
    decide_linked = with_hazard_links(lambda state, entry: decide(state, entry, RULES), RULES)
    h, links = None, []
    for entry in entries:
        h, outs = decide_linked(h, entry)
        links += [o.event for o in outs if o.event.get("type") == LINK_TYPE]
    return links


def test_links_out_of_time_order_never_count_a_hazard_before_it_was_overdue() -> None:
    """HZ-2's links (overdue from 28 Nov) reach the file before HZ-1's (overdue from 10 Nov), as links
    from another timeline partition can. HZ-1's link of 12 Nov used to count HZ-2 as overdue then,
    and proposed on 12 Nov with HZ-2 "overdue since 28 Nov" as evidence. Now a hazard counts only
    from when it was overdue: the pair is proposed as of 28 Nov, HZ-2's own date, and in time order
    the same pair (the same proposal id) when HZ-2's link of 29 Nov shows it."""
    hz1 = _links(*_major("HZ-1", "2026-11-02 09:00", "2026-11-10"), plan("HZ-1", "2026-11-12 09:00"))
    hz2 = _links(*_major("HZ-2", "2026-11-20 09:00", "2026-11-28"), plan("HZ-2", "2026-11-29 09:00"))
    rules = EnterpriseRules(RULES, PLAN.coverage, PLAN.credit)

    def proposals(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
        f, got = None, []
        for link in links:
            f, outs = decide_enterprise(f, link, rules)
            got += [o.event["data"] for o in outs if o.topic == "credit.proposals"]
        return got

    [in_order], [out_of_order] = proposals(hz1 + hz2), proposals(hz2 + hz1)
    assert in_order["proposal_id"] == out_of_order["proposal_id"]
    assert [e["hazard_id"] for e in out_of_order["evidence"]] == ["HZ-1", "HZ-2"]
    assert in_order["proposed_at"] == "2026-11-29T09:00:00+08:00"
    assert out_of_order["proposed_at"] == "2026-11-28T23:59:59+08:00"


def test_a_link_from_a_year_later_leaves_the_hazards_a_late_link_still_needs() -> None:
    """credit.overdue_major: 2 within 365 days. HZ-1 overdue since 10 Jan 2026, HZ-2 since 1 Dec 2026,
    HZ-3 since 14 Jan 2027: time order proposes HZ-1+HZ-2, then HZ-2+HZ-3. HZ-3's link of 15 Jan 2027
    reaching the file before HZ-2's used to forget HZ-1 (more than 365 days before that link), and
    HZ-1+HZ-2 was never proposed (audit F9). The file keeps its latest overdue hazards whatever the
    window: the same proposals, whatever order the links arrive in."""
    hz1 = _links(*_major("HZ-1", "2026-01-02 09:00", "2026-01-10"), plan("HZ-1", "2026-01-11 09:00"))
    hz2 = _links(*_major("HZ-2", "2026-11-20 09:00", "2026-12-01"), plan("HZ-2", "2026-12-05 09:00"))
    hz3 = _links(*_major("HZ-3", "2027-01-05 09:00", "2027-01-14"), plan("HZ-3", "2027-01-15 09:00"))
    rules = EnterpriseRules(RULES, PLAN.coverage, PLAN.credit)

    def proposals(links: list[dict[str, Any]]) -> list[str]:
        f, got = None, []
        for link in links:
            f, outs = decide_enterprise(f, link, rules)
            got += [o.event["data"]["proposal_id"] for o in outs if o.topic == "credit.proposals"]
        return got

    in_order = proposals(hz1 + hz2 + hz3)
    assert len(in_order) == 2
    for order in (hz1 + hz3 + hz2, hz3 + hz2 + hz1, hz2 + hz3 + hz1):
        assert sorted(proposals(order)) == sorted(in_order)


def _overdue_majors(*hazards: tuple[str, str, str]) -> list[dict[str, Any]]:
    """Major hazards (id, day reported, deadline day), each seen overdue by a plan filed the day after
    its deadline."""
    return [e for hid, reported, due in hazards
            for e in [*_major(hid, f"{reported} 09:00", due),
                      plan(hid, f"{due[:8]}{int(due[8:]) + 1:02d} 09:00")]]


def _late(entry: dict[str, Any], arrived: str) -> dict[str, Any]:
    return {**entry, "arrived_at": ts(arrived)}


def _credit(rp: DistrictReplay, type_: str) -> list[dict[str, Any]]:
    return [o.event["data"] for o in rp.outputs if o.event["type"] == type_]


def _the_withdrawal(rp: DistrictReplay, proposal: dict[str, Any], said: str | None,
                    zh: str) -> dict[str, Any]:
    """The one credit withdrawal `rp` sent: valid against its published schema, naming `proposal`, its
    reason holding `said` (None: not checked) and its reason in Chinese starting with `zh`."""
    [withdrawn] = _credit(rp, "safety.credit.withdrawn")
    OUTPUT_TYPES["safety.credit.withdrawn"][1].model_validate(withdrawn)
    assert withdrawn["proposal_id"] == proposal["proposal_id"]
    assert said is None or said in withdrawn["reason"], withdrawn["reason"]
    assert withdrawn["reason_zh"].startswith(zh), withdrawn["reason_zh"]
    return withdrawn


def test_a_completion_claimed_by_the_deadline_and_recorded_late_withdraws_the_credit_proposal() -> None:
    """HZ-1 (major, due 10 Nov) was claimed complete on 9 Nov on an app offline until 30 Nov. Before the
    claim was recorded, HZ-1 counted as overdue from 10 Nov and, with HZ-2, reached the threshold: a
    proposal for the credit list. The claim shows HZ-1 was never overdue, as the hazard core's own
    withdrawal of its ladder says: the proposal is withdrawn, naming the decision already on file;
    HZ-1 counts no more, so HZ-3 overdue later makes a set with HZ-2 only, as in time order."""
    claim = complete("HZ-1", "2026-11-09 10:00")
    rp = _district(registered(), *_overdue_majors(("HZ-1", "2026-11-02", "2026-11-10"),
                                                  ("HZ-2", "2026-11-20", "2026-11-28")))
    [proposal] = _credit(rp, "safety.credit.proposed")
    assert [e["hazard_id"] for e in proposal["evidence"]] == ["HZ-1", "HZ-2"]
    [decided] = event("safety.credit.decided", "2026-11-29 16:00", {
        "uscc": USCC, "proposal_id": proposal["proposal_id"], "outcome": "listed",
        "decision_no": "度应急失〔2026〕2", "by": SUPERVISOR, "listed_from": "2026-11-30",
        "listed_until": "2029-11-29"}, USCC)
    rp.feed(decided)
    rp.feed(_late(claim, "2026-11-30 10:00"))
    withdrawn = _the_withdrawal(rp, proposal, f"the completion claim {claim['event_id']} on hazard HZ-1 of "
                                "2026-11-09T10:00:00+08:00", "撤回信用惩戒建议：隐患 HZ-1 的整改完成申报")
    assert withdrawn["decided"] == "listed"
    assert withdrawn["evidence"] == proposal["evidence"] and withdrawn["criterion"] == proposal["criterion"]
    f = rp.state("enterprise", USCC)
    assert "HZ-1" not in f.overdue_major
    assert f.credit_withdrawn == {proposal["proposal_id"]: at("2026-11-09 10:00")}
    assert any(f"credit proposal {proposal['proposal_id']} withdrawn" in w for _, _, w, _ in f.recent)
    [shown] = enterprise_view(f, RULES, at("2026-12-01 00:00"))["credit"]["proposals"]
    assert shown["withdrawn_at"] == "2026-11-09T10:00:00+08:00" and shown["decision"] == "listed"
    rp.feed(_late(claim, "2026-11-30 10:00"))  # re-delivered
    assert len(_credit(rp, "safety.credit.withdrawn")) == 1
    for e in _overdue_majors(("HZ-3", "2026-12-02", "2026-12-10")):
        rp.feed(e)
    in_order = _district(registered(), *_overdue_majors(("HZ-1", "2026-11-02", "2026-11-10"))[:2], claim,
                         *_overdue_majors(("HZ-2", "2026-11-20", "2026-11-28"),
                                          ("HZ-3", "2026-12-02", "2026-12-10")))
    assert [[e["hazard_id"] for e in d["evidence"]] for d in _credit(in_order, "safety.credit.proposed")] == [
        ["HZ-2", "HZ-3"]]
    [*_, again] = _credit(rp, "safety.credit.proposed")
    assert again == _credit(in_order, "safety.credit.proposed")[0]


def test_a_hazard_found_unfounded_by_its_deadline_and_recorded_late_withdraws_the_credit_proposal() -> None:
    """HZ-1 (due 10 Nov) was found unfounded on 9 Nov by a supervisor offline until 30 Nov: it never
    owed a rectification past its deadline, and the proposal that counted it is withdrawn."""
    rp = _district(registered(), *_overdue_majors(("HZ-1", "2026-11-02", "2026-11-10"),
                                                  ("HZ-2", "2026-11-20", "2026-11-28")))
    [proposal] = _credit(rp, "safety.credit.proposed")
    rp.feed(_late(verify("HZ-1", "2026-11-09 10:00", verdict="unfounded", grade=None), "2026-11-30 10:00"))
    [withdrawn] = _credit(rp, "safety.credit.withdrawn")
    assert withdrawn["proposal_id"] == proposal["proposal_id"] and withdrawn["decided"] is None
    said = "found hazard HZ-1 unfounded before its deadline of 2026-11-10T23:59:59+08:00"
    assert said in withdrawn["reason"]
    assert withdrawn["reason_zh"].startswith("撤回信用惩戒建议：核实记录 ")
    assert "HZ-1" not in rp.state("enterprise", USCC).overdue_major


def test_a_hazard_passed_by_review_by_its_deadline_and_recorded_late_withdraws_the_credit_proposal() -> None:
    """HZ-1 (due 10 Nov) was found rectified and passed on an inspector's return visit on 9 Nov (no
    claim filed), the tablet offline until 30 Nov: it was never overdue, and the proposal that
    counted it is withdrawn; a review passed after the deadline leaves it counted."""
    rp = _district(registered(), *_overdue_majors(("HZ-1", "2026-11-02", "2026-11-10"),
                                                  ("HZ-2", "2026-11-20", "2026-11-28")))
    [proposal] = _credit(rp, "safety.credit.proposed")
    passed = review("HZ-1", "2026-11-09 10:00", "passed")
    rp.feed(_late(passed, "2026-11-30 10:00"))
    _the_withdrawal(rp, proposal, f"the acceptance review {passed['event_id']} on hazard HZ-1 of "
                    "2026-11-09T10:00:00+08:00, passed by its deadline of 2026-11-10T23:59:59+08:00",
                    "撤回信用惩戒建议：隐患 HZ-1 的复查验收")
    assert "HZ-1" not in rp.state("enterprise", USCC).overdue_major
    after = _district(registered(), *_overdue_majors(("HZ-1", "2026-11-02", "2026-11-10"),
                                                     ("HZ-2", "2026-11-20", "2026-11-28")))
    after.feed(review("HZ-1", "2026-11-30 10:00", "passed"))
    assert _credit(after, "safety.credit.withdrawn") == []


def test_a_hazard_found_unfounded_or_a_duplicate_after_its_deadline_withdraws_the_credit_proposal() -> None:
    """HZ-1 (due 10 Nov) counted overdue and, with HZ-2, was proposed for the credit list; on 1 Dec a
    verification found it unfounded (or a duplicate of another report), in time order. It was
    overdue on its face, but a hazard that was not there, or that another report counts, is no
    ground for listing: the proposal is withdrawn, and HZ-2 alone reaches no threshold."""
    for verdict in ("unfounded", "duplicate"):
        rp = _district(registered(), *_overdue_majors(("HZ-1", "2026-11-02", "2026-11-10"),
                                                      ("HZ-2", "2026-11-20", "2026-11-28")))
        [proposal] = _credit(rp, "safety.credit.proposed")
        rp.feed(verify("HZ-1", "2026-12-01 10:00", verdict=verdict, grade=None))
        said = (f"found hazard HZ-1 {verdict}, after its deadline of 2026-11-10T23:59:59+08:00: it is no "
                "ground for the proposal")
        withdrawn = _the_withdrawal(rp, proposal, said, "撤回信用惩戒建议：核实记录 ")
        assert withdrawn["decided"] is None
        assert "整改期限（" in withdrawn["reason_zh"] and "）后认定隐患 HZ-1" in withdrawn["reason_zh"]
        f = rp.state("enterprise", USCC)
        assert "HZ-1" not in f.overdue_major and "HZ-2" in f.overdue_major
        assert _credit(rp, "safety.credit.proposed") == [proposal]  # HZ-2 alone: below the threshold


def test_a_verdict_after_the_deadline_leaves_the_sets_the_other_hazards_make() -> None:
    """Two needed: HZ-1 and HZ-2 made a set on HZ-2's deadline, HZ-2 and HZ-3 one on HZ-3's. HZ-1 found
    unfounded afterwards withdraws only the first; HZ-2 and HZ-3 still make theirs."""
    rp = _district(registered(), *_overdue_majors(("HZ-1", "2026-11-02", "2026-11-10"),
                                                  ("HZ-2", "2026-11-06", "2026-11-14"),
                                                  ("HZ-3", "2026-11-10", "2026-11-18")))
    first, second = _credit(rp, "safety.credit.proposed")
    rp.feed(verify("HZ-1", "2026-11-25 10:00", verdict="unfounded", grade=None))
    assert [d["proposal_id"] for d in _credit(rp, "safety.credit.withdrawn")] == [first["proposal_id"]]
    assert _credit(rp, "safety.credit.proposed") == [first, second]
    assert [e["hazard_id"] for e in second["evidence"]] == ["HZ-2", "HZ-3"]


def test_a_claim_after_the_deadline_recorded_late_leaves_the_credit_proposal() -> None:
    """Claimed on 11 Nov, a day past HZ-1's deadline: it was overdue, and the proposal stands."""
    rp = _district(registered(), *_overdue_majors(("HZ-1", "2026-11-02", "2026-11-10"),
                                                  ("HZ-2", "2026-11-20", "2026-11-28")),
                   _late(complete("HZ-1", "2026-11-11 10:00"), "2026-11-30 10:00"))
    assert len(_credit(rp, "safety.credit.proposed")) == 1 and _credit(rp, "safety.credit.withdrawn") == []
    assert "HZ-1" in rp.state("enterprise", USCC).overdue_major


def test_an_extension_approved_by_the_deadline_and_recorded_late_withdraws_the_credit_proposal() -> None:
    """HZ-1 (major, due 31 Dec) had an extension to 31 Mar approved on 25 Nov; the decision reached the
    engine on 5 Jan, after the file counted HZ-1 overdue from 31 Dec and proposed HZ-1 + HZ-2. As the
    hazard core takes back its ladder's steps, the file takes back the proposal: HZ-1 was never
    overdue (audit F1). It counts again only if a link shows it past its new deadline."""
    rp = _district(registered(), *_major("HZ-1", "2026-11-02 09:00", "2026-12-31"),
                   ext_request("HZ-1", "2026-11-20 09:00", "2027-03-31"),
                   *_major("HZ-2", "2026-11-20 09:00", "2026-12-28"), plan("HZ-2", "2026-12-29 09:00"),
                   plan("HZ-1", "2027-01-02 09:00"))
    [proposal] = _credit(rp, "safety.credit.proposed")
    assert sorted(e["hazard_id"] for e in proposal["evidence"]) == ["HZ-1", "HZ-2"]
    decision = ext_decision("HZ-1", "2026-11-25 09:00", "2027-03-31")
    rp.feed(_late(decision, "2027-01-05 09:00"))
    hazard_withdrew = [o.event["data"]["reason"] for o in rp.outputs
                       if o.event["data"].get("action") == "failure_withdrawn"]
    assert any("extension" in r for r in hazard_withdrew)  # the hazard core took its ladder back
    assert "HZ-1" not in rp.state("enterprise", USCC).overdue_major
    said = (f"the extension {decision['event_id']} on hazard HZ-1, approved on 2026-11-25T09:00:00+08:00 "
            "before its deadline of 2026-12-31T23:59:59+08:00")
    withdrawn = _the_withdrawal(rp, proposal, said, "撤回信用惩戒建议：隐患 HZ-1 的延期 ")
    assert withdrawn["decided"] is None
    rp.feed(plan("HZ-1", "2027-04-01 09:00"))  # past the new deadline: overdue from it
    assert rp.state("enterprise", USCC).overdue_major["HZ-1"] == epoch("2027-03-31T23:59:59+08:00")


def test_a_hazard_graded_below_major_by_its_deadline_recorded_late_withdraws_the_credit_proposal() -> None:
    """HZ-1 and HZ-2 (major) overdue were proposed as "2 major hazards overdue". A verification of
    5 Nov, before HZ-1's deadline of 10 Nov and recorded late, grades HZ-1 general: the hazard core
    lifts its listed supervision, and no major hazard was overdue on 10 Nov, so the proposal is
    withdrawn; HZ-2 alone is below the threshold (audit F2). A re-grade after the deadline, or one
    a confirmation as major followed by the deadline, leaves it: HZ-1 stood major when it fell due."""
    rp = _district(registered(), *_overdue_majors(("HZ-1", "2026-11-02", "2026-11-10"),
                                                  ("HZ-2", "2026-11-20", "2026-11-28")))
    [proposal] = _credit(rp, "safety.credit.proposed")
    regraded = verify("HZ-1", "2026-11-05 10:00", grade="general")
    rp.feed(_late(regraded, "2026-11-30 10:00"))
    assert rp.state("hazard", "HZ-1").grade == "general"
    assert any(o.event["type"] == "safety.supervision.lifted" for o in rp.outputs)
    said = (f"the verification {regraded['event_id']} of 2026-11-05T10:00:00+08:00 graded hazard HZ-1 below "
            "major before its deadline of 2026-11-10T23:59:59+08:00")
    _the_withdrawal(rp, proposal, said, "撤回信用惩戒建议：核实记录 ")
    assert "HZ-1" not in rp.state("enterprise", USCC).overdue_major
    assert _credit(rp, "safety.credit.proposed") == [proposal]
    for after in ([verify("HZ-1", "2026-11-30 10:00", grade="general")],
                  [verify("HZ-1", "2026-11-08 10:00", grade="major"), _late(regraded, "2026-11-30 10:00")]):
        rp = _district(registered(), *_overdue_majors(("HZ-1", "2026-11-02", "2026-11-10"),
                                                      ("HZ-2", "2026-11-20", "2026-11-28")), *after)
        assert len(_credit(rp, "safety.credit.proposed")) == 1
        assert _credit(rp, "safety.credit.withdrawn") == []
    # Confirmed major again only after the deadline, HZ-1 stood general at it: withdrawn, though its
    # grade now is major and its summary unchanged (until the review of 2026-12-07 no link went).
    rp = _district(registered(), *_overdue_majors(("HZ-1", "2026-11-02", "2026-11-10"),
                                                  ("HZ-2", "2026-11-20", "2026-11-28")),
                   verify("HZ-1", "2026-11-29 10:00", grade="major"), _late(regraded, "2026-11-30 10:00"))
    assert [d["proposal_id"] for d in _credit(rp, "safety.credit.withdrawn")] == [proposal["proposal_id"]]


def test_withdrawing_one_hazard_proposes_the_set_time_order_would_have() -> None:
    """Three needed: HZ-1..3 made a set on HZ-3's deadline, HZ-2..4 on HZ-4's. HZ-2, claimed in time and
    recorded late, withdraws both; HZ-1, HZ-3 and HZ-4 are proposed, as when the claim came in time."""
    majors = [("HZ-1", "2026-11-02", "2026-11-10"), ("HZ-2", "2026-11-03", "2026-11-12"),
              ("HZ-3", "2026-11-05", "2026-11-15"), ("HZ-4", "2026-11-06", "2026-11-18")]
    rules = _with_credit(overdue_major={"count": 3})
    claim = complete("HZ-2", "2026-11-11 09:00")
    rp = _district(registered(), *_overdue_majors(*majors), _late(claim, "2026-11-30 10:00"),
                   plan_rules=rules)
    sets = [[e["hazard_id"] for e in d["evidence"]] for d in _credit(rp, "safety.credit.proposed")]
    assert sets == [["HZ-1", "HZ-2", "HZ-3"], ["HZ-2", "HZ-3", "HZ-4"], ["HZ-1", "HZ-3", "HZ-4"]]
    assert [d["proposal_id"] for d in _credit(rp, "safety.credit.withdrawn")] == [
        d["proposal_id"] for d in _credit(rp, "safety.credit.proposed")[:2]]
    hz2 = _overdue_majors(majors[1])
    in_order = _district(registered(), *_overdue_majors(majors[0]), *hz2[:2], claim, hz2[2],
                         *_overdue_majors(*majors[2:]), plan_rules=rules)
    [want], [got] = _credit(in_order, "safety.credit.proposed"), _credit(rp, "safety.credit.proposed")[2:]
    # Dated at HZ-4's deadline, where time order dates it at the link that showed HZ-4 overdue
    # (docs/enterprises.md, "Records out of time order").
    assert got == {**want, "proposed_at": "2026-11-18T23:59:59+08:00"}
    assert rp.state("enterprise", USCC).credit_sets.keys() == {
        d["proposal_id"] for d in _credit(rp, "safety.credit.proposed")}


def test_a_hazard_overdue_again_after_its_withdrawal_is_proposed_again_under_an_id_of_its_own() -> None:
    """HZ-1's proposal was withdrawn (claimed in time, recorded late); its review then failed and it
    missed the new deadline: the same two hazards are proposed again, under another id."""
    rp = _district(registered(), *_overdue_majors(("HZ-1", "2026-11-02", "2026-11-10"),
                                                  ("HZ-2", "2026-11-20", "2026-11-28")),
                   _late(complete("HZ-1", "2026-11-09 10:00"), "2026-11-30 10:00"),
                   review("HZ-1", "2026-12-01 09:00", outcome="failed"))
    deadline = rp.state("hazard", "HZ-1").deadline
    rp.feed(plan("HZ-1", iso(deadline + DAY)[:16].replace("T", " ")))
    first, again = _credit(rp, "safety.credit.proposed")
    assert [e["hazard_id"] for e in again["evidence"]] == ["HZ-2", "HZ-1"]  # by when each counts from
    assert again["proposal_id"] != first["proposal_id"]
    assert again["evidence"][1]["overdue_since"] == iso(deadline)


def _with_credit(**thresholds: dict[str, int]) -> Any:
    """The repository's plan rules with some credit thresholds changed."""
    changed = {name: getattr(PLAN.credit, name).model_copy(update=value)
               for name, value in thresholds.items()}
    return replace(PLAN, credit=PLAN.credit.model_copy(update=changed))


@pytest.mark.parametrize(("thresholds", "proposed"), [
    pytest.param({}, ["HZ-1,HZ-2"], id="the-rules-as-shipped"),
    pytest.param({"overdue_major": {"count": 3}}, [], id="three-needed"),
    pytest.param({"overdue_major": {"count": 1}}, ["HZ-1", "HZ-2"], id="one-is-enough"),
    pytest.param({"overdue_major": {"window_days": 10}}, [], id="a-ten-day-window"),
])
def test_a_changed_credit_threshold_changes_the_decision(thresholds: dict[str, Any],
                                                         proposed: list[str]) -> None:
    """rules/plan.yaml's credit.overdue_major decides when a person is asked: the same record, other rules."""
    rp = _district(registered(), *_major("HZ-1", "2026-11-02 09:00", "2026-11-10"),
                   plan("HZ-1", "2026-11-12 09:00"),
                   *_major("HZ-2", "2026-11-20 09:00", "2026-11-28"), plan("HZ-2", "2026-11-29 09:00"),
                   plan_rules=_with_credit(**thresholds))
    got = [o.event["data"] for o in rp.outputs if o.topic == "credit.proposals"]
    assert [",".join(e["hazard_id"] for e in d["evidence"]) for d in got] == proposed
    assert all("rules/plan.yaml credit.overdue_major" in d["legal_basis"] for d in got)


def test_without_a_plan_only_a_violated_order_to_stop_is_proposed() -> None:
    """No rules/plan.yaml, no thresholds: overdue major hazards propose nothing; a violation still does."""
    rp = _district(registered(), *_major("HZ-1", "2026-11-02 09:00", "2026-11-10"),
                   plan("HZ-1", "2026-11-12 09:00"),
                   *_major("HZ-2", "2026-11-20 09:00", "2026-11-28"), plan("HZ-2", "2026-11-29 09:00"),
                   plan_rules=None)
    assert [o for o in rp.outputs if o.topic == "credit.proposals"] == []
    rp = _district(registered(), *_major("HZ-1", "2026-11-02 09:00", "2027-06-30"),
                   _enforcement("ordered", "2026-11-02 16:00", order="suspend",
                                legal_basis="安全生产法 art. 65", by=INSPECTORS),
                   _violated("2026-11-05 10:00"), plan_rules=None)
    assert [o.event["data"]["criterion"] for o in rp.outputs if o.topic == "credit.proposals"] == [
        "violated_suspension"]


@pytest.mark.parametrize(("old", "new", "key"), [
    ("    count: 2\n", "    count: 0\n", "credit.overdue_major.count"),
    ("    count: 1\n    window_days: 365\n", "    count: 1\n", "credit.refused_inspection.window_days"),
])
def test_a_bad_credit_threshold_is_refused_by_file_and_key(tmp_path: Any, old: str, new: str,
                                                           key: str) -> None:
    """The rules-file checker reads credit too: a zero count or a missing window names its key."""
    from engine.reference.errors import RulesFileError

    rules = edited_rules(tmp_path, "plan.yaml", old, new)
    with pytest.raises(RulesFileError, match="plan.yaml") as err:
        load_plan(rules, RULES.reference)
    assert key in str(err.value)


def test_only_a_supervisors_decision_to_list_makes_a_list_entry() -> None:
    """'rejected' leaves no entry; 'listed' gives one with its entry and exit dates."""
    rp = _district(registered(), *_major("HZ-1", "2026-11-02 09:00", "2027-06-30"),
                   _enforcement("ordered", "2026-11-02 16:00", order="suspend",
                                legal_basis="安全生产法 art. 65", by=INSPECTORS),
                   _violated("2026-11-05 10:00"))
    [proposal] = [o for o in rp.outputs if o.topic == "credit.proposals"]

    def listed(when: str) -> list[dict[str, Any]]:
        return enterprise_view(rp.state("enterprise", USCC), RULES, at(when))["credit"]["listed"]

    def decision(outcome: str, **dates: str) -> dict[str, Any]:
        [e] = event("safety.credit.decided", "2026-11-20 10:00", {
            "uscc": USCC, "proposal_id": proposal.id, "outcome": outcome, "decision_no": "度应急失〔2026〕1",
            "by": SUPERVISOR, **dates}, USCC)
        return e
    rp.feed(decision("rejected"))
    assert listed("2026-12-01 00:00") == []
    rp.feed(decision("listed", listed_from="2026-11-21", listed_until="2029-11-20"))
    [entry] = listed("2026-12-01 00:00")
    assert (entry["listed_from"], entry["listed_until"]) == ("2026-11-21", "2029-11-20")
    assert entry["in_force"]
    [gone] = listed("2029-11-21 00:00")
    assert not gone["in_force"]


@pytest.mark.parametrize(("data", "words"), [
    pytest.param({"outcome": "listed"}, "listed_from and listed_until are required", id="listed-no-dates"),
    pytest.param({"outcome": "listed", "listed_from": "2026-11-21"},
                 "listed_from and listed_until are required", id="listed-one-date"),
    pytest.param({"outcome": "rejected", "listed_from": "2026-11-21", "listed_until": "2029-11-20"},
                 "only with, outcome 'listed'", id="rejected-with-dates"),
    pytest.param({"outcome": "listed", "listed_from": "2026-11-21", "listed_until": "2026-11-21"},
                 "listed_until must come after listed_from", id="exit-not-after-entry"),
    pytest.param({"outcome": "listed", "listed_from": "2026-11-21", "listed_until": "2029-11-20",
                  "by": INSPECTORS[0]}, "a credit decision is made by a supervisor", id="by-inspector"),
])
def test_bad_credit_decisions_are_rejected(data: dict[str, Any], words: str) -> None:
    """A decision without its dates, with dates it should not have, or by the wrong person is refused."""
    out = _intake("safety.credit.decided", {"uscc": USCC, "proposal_id": "p", "decision_no": "d",
                                            "by": SUPERVISOR, **data})
    assert out.kind == "rejected" and words in _reasons(out)


def test_decisions_naming_proposals_the_file_never_made_are_kept_but_bounded() -> None:
    """A refusal proposed for the credit list and decided. Then forty decisions name proposals the
    file never made (numbers typed wrong, or an app at fault): each is noted, and the file keeps the
    latest `UNMADE` of them beside its own proposal and its decision, so such an app cannot grow the
    file without bound."""
    rp = _district(registered(), _refusal("2026-11-03 10:00", "INS-R1"))
    [proposal] = _credit(rp, "safety.credit.proposed")

    def decision(pid: str, time: str) -> dict[str, Any]:
        [entry] = event("safety.credit.decided", time, {
            "uscc": USCC, "proposal_id": pid, "outcome": "rejected", "decision_no": "度应急失〔2026〕9",
            "by": SUPERVISOR}, USCC)
        return entry

    rp.feed(decision(proposal["proposal_id"], "2026-11-04 09:00"))
    for n in range(40):
        rp.feed(decision(f"no-such-proposal-{n}", f"2026-11-05 {n // 60 + 9:02d}:{n % 60:02d}"))
    f = rp.state("enterprise", USCC)
    kept = [f"no-such-proposal-{n}" for n in range(40 - UNMADE, 40)]
    assert [p[0] for p in f.credit] == [proposal["proposal_id"], *kept]
    assert f.credit[0][1] == "refused_inspection" and f.credit[0][3][0] == "rejected"
    assert len([p for p in f.credit if p[1] is None]) == UNMADE
    assert f.recent[-1][2].startswith("credit proposal no-such-proposal-39: rejected by ")


def _listing(pid: str, time: str = "2026-11-20 10:00") -> dict[str, Any]:
    [decision] = event("safety.credit.decided", time, {
        "uscc": USCC, "proposal_id": pid, "outcome": "listed", "decision_no": "度应急失〔2026〕5",
        "by": SUPERVISOR, "listed_from": "2026-11-21", "listed_until": "2029-11-20"}, USCC)
    return decision


def test_a_decision_to_list_on_a_proposal_the_file_never_made_gives_no_list_entry() -> None:
    """A supervisor's decision (listed) names a proposal id this enterprise's file never made (another
    enterprise's proposal sent under this code, a number typed wrong): the file used to show the
    enterprise as listed, in force, on no ground (audit F10). It is kept on the record as unmatched,
    shown apart from the proposals, and gives no list entry."""
    rp = _district(registered(), _listing("another-enterprises-proposal"))
    assert _credit(rp, "safety.credit.proposed") == []
    view = enterprise_view(rp.state("enterprise", USCC), RULES, at("2026-12-01 00:00"))
    assert view["credit"]["listed"] == [] and view["credit"]["proposals"] == []
    assert [u["proposal_id"] for u in view["credit"]["unmatched"]] == ["another-enterprises-proposal"]
    said = rp.state("enterprise", USCC).recent[-1][2]
    assert said.endswith("a proposal this file has not made: unmatched, no list entry")
    assert Words("zh", RULES.reference).record(said).endswith("本档案未提出该建议：未匹配，不列入名单")


def test_a_decision_that_came_before_its_proposal_lists_once_the_file_makes_it() -> None:
    """The decision reached the file before the violation's link that makes its proposal (the link's
    partition lagging): unmatched till then, it is the proposal's decision once the file makes it,
    and the enterprise is listed from then, as in time order."""
    violation = _violated("2026-11-05 10:00")
    pid = output_id("credit", USCC, "violated_suspension", "令-HZ-1", at("2026-11-05 10:00"))
    rp = _district(registered(), *_major("HZ-1", "2026-11-02 09:00", "2027-06-30"),
                   _enforcement("ordered", "2026-11-02 16:00", order="suspend",
                                legal_basis="安全生产法 art. 65", by=INSPECTORS), _listing(pid))
    before = enterprise_view(rp.state("enterprise", USCC), RULES, at("2026-12-01 00:00"))
    assert before["credit"]["listed"] == []
    rp.feed(violation)
    assert [d["proposal_id"] for d in _credit(rp, "safety.credit.proposed")] == [pid]
    view = enterprise_view(rp.state("enterprise", USCC), RULES, at("2026-12-01 00:00"))
    assert [(e["proposal_id"], e["criterion"], e["in_force"]) for e in view["credit"]["listed"]] == [
        (pid, "violated_suspension", True)]
    assert view["credit"]["unmatched"] == []


# --- item 3: coverage clocks of key enterprises --------------------------------------------------

# The coverage tests below are about the order of records, classes and closures, and count their
# days in plain arithmetic (`eod(start + n * DAY)`): they run on the shipped rules with a last day
# on a rest day left where it falls (`periods.rest_day_moves_last_day: false`). The move itself
# (民法典 art. 203 para. 1) is tested on the shipped rules, `SHIPPED` (the National Day tests).
COVERAGE = EnterpriseRules(replace(RULES, calendar=WorkCalendar(RULES.reference.notices)), PLAN.coverage,
                           PLAN.credit)
SHIPPED = EnterpriseRules(RULES, PLAN.coverage, PLAN.credit)
DAY = 86_400


def eod(t: int) -> int:
    """The end (23:59:59, Asia/Shanghai) of `t`'s day: where a period of days counted to that day
    ends, as the law counts one (民法典 arts. 201, 203) and the coverage clocks do."""
    return t - (t + 8 * 3600) % DAY + DAY - 1


def _coverage_rules() -> EnterpriseRules:
    return COVERAGE


def _file(*entries: dict[str, Any], now: int | None = None,
          er: EnterpriseRules | None = None) -> tuple[EnterpriseFile, list[Any]]:
    er, f, outs = er or _coverage_rules(), None, []
    for e in entries:
        f, got = decide_enterprise(f, e, er, now)
        outs += got
    return f, outs


def _fired(f: EnterpriseFile, when: int, er: EnterpriseRules = COVERAGE) -> tuple[EnterpriseFile, list[Any]]:
    return decide_enterprise(f, clock_entry(f.id, when, "enterprise"), er, when)


def _tick(f: EnterpriseFile, when: int) -> list[Any]:
    return _fired(f, when)[1]


def test_a_missed_cycle_goes_to_the_town_safety_office_then_the_lead_department() -> None:
    """orange: 60 days from being classified key; the town safety office at 60, the lead 7 days later."""
    f, outs = _file(registered(), classified("orange", True, "2026-11-01 10:00"))
    day = DAY
    due = eod(at("2026-11-01 10:00") + 60 * day)
    assert outs == [] and f.next_due() == due
    assert _tick(f, due - 1) == []
    [town] = _tick(f, due)
    d = town.event["data"]
    assert (d["subject_kind"], d["action"], d["tier"]) == ("enterprise", "coverage_missed", "yellow")
    OUTPUT_TYPES[town.event["type"]][1].model_validate(d)  # the contract's escalation, as published
    assert d["targets"] == [{"kind": "unit", "id": "lihaiwu_safety_office", "name": "李海务街道安监站"}]
    f, _ = _fired(f, due)
    assert f.next_due() == due + 7 * day
    assert _tick(f, due + 7 * day - 1) == []
    lead, *_ = _tick(f, due + 7 * day)
    assert lead.event["data"]["action"] == "duty_failure"
    assert lead.event["data"]["targets"][0]["id"] == "safety_bureau"
    f, _ = _fired(f, due + 7 * day)
    # The referral waits a day (duties.late_arrival.after) for an inspection dated in time.
    assert f.duty_fails == {"safety_bureau": 1} and f.next_due() == due + 8 * day
    assert _tick(f, due + 8 * day - 1) == []
    referral, told = _tick(f, due + 8 * day)
    assert referral.event["type"] == "safety.referral.discipline"
    assert referral.event["time"] == iso(due + 8 * day)
    assert referral.event["data"]["timeline"][-1]["time"] == iso(due + 7 * day)  # when it was missed
    assert [item["what_zh"] for item in referral.event["data"]["timeline"]] == [
        "检查周期开始（上次检查，或列为重点企业）", "检查周期届满，已告知镇（街道）安监站",
        "仍未检查：区安监局 不履行安全监管职责"]
    assert referral.event["data"]["reason_zh"] == (
        f"区安监局 对重点企业 {ENTERPRISE['name']} 不履行安全监管职责（第 1 次）："
        f"重点企业 {ENTERPRISE['name']} 自 {ts('2026-11-01 10:00')} 起的 60 日检查周期届满后 7 日仍未检查")
    f, _ = _fired(f, due + 8 * day)
    assert f.next_due() is None and f.missed[0][4] == "sent"


def _inspected_at(time: str, arrived: str, iid: str = "INS-LATE",
                  kind: str = "unannounced") -> dict[str, Any]:
    """An enterprise's inspection entry (of `kind`) done at `time`, that reached the engine at `arrived`."""
    [entry] = [e for e in inspection(time, [], inspection_id=iid, kind=kind)
               if e["subject_kind"] == "enterprise"]
    return {**entry, "subject": USCC, "arrived_at": iso(at(arrived)),
            "data": {**entry["data"], "enterprise": {"uscc": USCC, "name": "x"}}}


def _orange_referred(inspected: str = "2026-11-05 10:00") -> tuple[EnterpriseFile, int, list[Any]]:
    """An orange key enterprise (60 days) inspected at `inspected`, whose cycle then ran out
    uninspected: the town safety office told on day 60, the lead department's miss on day 67, its
    referral sent on day 68. The file, the inspection's time, and every output so far."""
    done = at(inspected)
    f, outs = _file(registered(), classified("orange", True, "2026-11-01 10:00"),
                    _inspected_at(inspected, inspected, "INS-1"))
    for step in (60, 67, 68):
        f, got = _fired(f, eod(done + step * DAY))
        outs += got
    return f, done, outs


def _missed_once() -> tuple[EnterpriseFile, list[Any], int]:
    """An orange key enterprise whose lead department missed its first cycle: the duty failure
    escalated at the end of the grace days (`due`), its referral held."""
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"))
    due = eod(at("2026-11-01 10:00") + 67 * DAY)
    outs: list[Any] = []
    for when in (due - 7 * DAY, due):
        f, got = _fired(f, when)
        outs += got
    return f, outs, due


def test_an_inspection_in_time_arriving_during_the_hold_withdraws_the_failure_and_refers_nobody() -> None:
    f, outs, due = _missed_once()
    assert [o.event["data"]["action"] for o in outs] == ["coverage_missed", "duty_failure"]
    late = _inspected_at(iso(due - 2 * DAY), iso(due + 3 * 3600))  # in the grace days; 3 hours late
    f, got = decide_enterprise(f, late, COVERAGE, due + 3 * 3600)
    [withdrawn] = got
    d = withdrawn.event["data"]
    OUTPUT_TYPES["safety.escalation.raised"][1].model_validate(d)
    assert (d["action"], d["targets"][0]["id"]) == ("failure_withdrawn", "safety_bureau")
    assert withdrawn.event["time"] == iso(due + 3 * 3600) and d["caused_by"] == [late["event_id"]]
    assert f.duty_fails == {"safety_bureau": 0} and f.missed == []
    assert _tick(f, due + 2 * DAY) == []  # nothing held: no referral
    assert f.next_due() == due - 2 * DAY + 60 * DAY  # the next cycle runs from the inspection


def test_an_inspection_in_time_arriving_after_the_referral_withdraws_it() -> None:
    f, _, due = _missed_once()
    f, outs = _fired(f, due + DAY)
    [referral] = [o for o in outs if o.event["type"] == "safety.referral.discipline"]
    late = _inspected_at(iso(due - 2 * DAY), iso(due + 5 * DAY))
    f, got = decide_enterprise(f, late, COVERAGE, due + 5 * DAY)
    by_type = {o.event["type"]: o for o in got if o.event["type"] != "safety.escalation.raised"}
    withdrawal = by_type["safety.referral.withdrawn"]
    OUTPUT_TYPES["safety.referral.withdrawn"][1].model_validate(withdrawal.event["data"])
    assert withdrawal.event["data"]["referral_id"] == referral.event["data"]["referral_id"]
    assert withdrawal.id != referral.id and withdrawal.key == "safety_bureau"
    assert withdrawal.event["data"]["respondents"] == referral.event["data"]["respondents"]
    assert withdrawal.event["data"]["reason_zh"] == (  # its own reason's, not the referral's
        f"检查 {late['event_id']}（{iso(due - 2 * DAY)}）表明已按期履职，该记录在移送后才送达引擎")
    actions = sorted(o.event["data"]["action"] for o in got if o.event["type"] == "safety.escalation.raised")
    assert actions == ["failure_withdrawn", "referral_withdrawn"]
    assert f.duty_fails == {"safety_bureau": 0} and f.missed == []


def test_a_classification_sent_again_under_a_fresh_event_id_is_one_decision() -> None:
    """A supervisor's app that retries a classification with a new event id, thirty times, after
    the cycle it began ran out and its department was referred: one decision. It takes none of the
    places the file keeps for decisions (the earlier one, blue, stays on file to judge the cycles
    it ran), bears on no cycle again, and a corrected decision number is kept. The record says it
    came again, in Chinese too."""
    earlier = classified("blue", False, "2026-09-01 10:00", time="2026-09-01 10:00")
    f, _ = _file(registered(time="2026-08-01 09:00"), earlier, classified("orange", True, "2026-11-01 10:00"))
    due = eod(at("2026-11-01 10:00") + 67 * DAY)
    for when in (due - 7 * DAY, due, due + DAY):
        f, _ = _fired(f, when)
    assert f.missed[0][4] == "sent"
    missed, first = [list(m) for m in f.missed], f.classified[3]
    for n in range(30):
        again = classified("orange", True, "2026-11-01 10:00", time=iso(due + DAY + n))
        if n == 29:
            again["data"]["decision_no"] = "度应急分〔2026〕7号"
        f, outs = decide_enterprise(f, again, COVERAGE, due + DAY + n)
        assert outs == []
    assert [(c[1], c[2]) for c in f.classes] == [("blue", False), ("orange", True)]
    assert f.classified[3] == first and f.classified[2] == "度应急分〔2026〕7号"
    assert f.missed == missed and f.duty_fails == {"safety_bureau": 1}
    line = f.recent[-1][2]
    assert line == "classification orange of 2026-11-01T10:00:00+08:00 recorded again: one decision"
    assert Words("zh", RULES.reference).record(line) == (
        "2026-11-01T10:00:00+08:00 的风险等级评定（橙色（较大风险））再次报送，只算一次")
    # A decision of another class at the same time is not a copy: it is on file beside it (the two
    # of one second ordered by event id, which the fixtures number as the tests run).
    f, _ = decide_enterprise(f, classified("red", True, "2026-11-01 10:00", time=iso(due + 2 * DAY)),
                             COVERAGE, due + 2 * DAY)
    assert [c[1] for c in f.classes][0] == "blue" and sorted(c[1] for c in f.classes[1:]) == ["orange", "red"]


@pytest.mark.parametrize("how", ["declassified", "closed"])
def test_an_enterprise_no_longer_key_before_its_cycle_ran_out_recorded_late_withdraws_the_referral(
        how: str) -> None:
    """The enterprise stopped being a key one (or closed) a week before its cycle ran out, on a record
    that reached the engine after the lead department had been referred for the missed cycle: nobody
    owed that cycle. The failure and the referral are withdrawn, each saying why, in Chinese too."""
    f, _, due = _missed_once()
    f, outs = _fired(f, due + DAY)
    [referral] = [o for o in outs if o.event["type"] == "safety.referral.discipline"]
    when = iso(due - 14 * DAY)
    if how == "declassified":
        record = {**classified("blue", False, when, time=when), "arrived_at": iso(due + 5 * DAY)}
    else:
        [closing] = event("safety.enterprise.closed", when, {"uscc": USCC, "reason": "deregistered",
                                                            "by": SUPERVISOR}, USCC)
        record = {**closing, "arrived_at": iso(due + 5 * DAY)}
    f, got = decide_enterprise(f, record, COVERAGE, due + 5 * DAY)
    [withdrawal] = [o for o in got if o.event["type"] == "safety.referral.withdrawn"]
    assert withdrawal.event["data"]["referral_id"] == referral.event["data"]["referral_id"]
    ceased = {"declassified": "不再列为重点企业", "closed": "已关闭"}[how]
    assert withdrawal.event["data"]["reason_zh"].startswith(f"记录 {record['event_id']} 表明该企业自 ")
    assert ceased in withdrawal.event["data"]["reason_zh"]
    # Rebuilt as it was sent: the cycle as it ran out, not as the record that withdraws it left it.
    assert withdrawal.event["data"]["timeline"] == referral.event["data"]["timeline"]
    [failure] = [o.event["data"] for o in got if o.event["data"].get("action") == "failure_withdrawn"]
    assert ceased in failure["reason_zh"]
    assert f.duty_fails == {"safety_bureau": 0} and f.missed == []


def _all_ids(*batches: list[Any]) -> list[str]:
    return [o.id for outs in batches for o in outs]


def test_a_never_inspected_enterprise_reclassified_before_its_cycle_ran_out_recorded_late() -> None:
    """Orange (60 days) from 1 Nov and never inspected; re-classified yellow (90 days) two weeks before
    the lead department's miss, on a record that reached the engine after the referral. In time order
    the cycle started again at the re-classification (`cycle_base`): the failure and the referral are
    withdrawn, in Chinese too, and the new cycle's clocks run from then, under ids of their own."""
    f, first, due = _missed_once()
    f, sent = _fired(f, due + DAY)
    [referral] = [o for o in sent if o.event["type"] == "safety.referral.discipline"]
    when = iso(due - 14 * DAY)
    record = {**classified("yellow", True, when, time=when), "arrived_at": iso(due + 5 * DAY)}
    f, got = decide_enterprise(f, record, COVERAGE, due + 5 * DAY)
    [withdrawal] = [o for o in got if o.event["type"] == "safety.referral.withdrawn"]
    assert withdrawal.event["data"]["referral_id"] == referral.event["data"]["referral_id"]
    assert withdrawal.event["data"]["reason"].startswith(
        f"the record {record['event_id']} shows the enterprise re-classified yellow (90-day cycle) from ")
    assert withdrawal.event["data"]["reason_zh"].startswith(
        f"记录 {record['event_id']} 表明该企业自 {when} 起调整为黄色（一般风险）（检查周期 90 日）")
    # Rebuilt as it was sent: under the orange class's 60 days.
    assert withdrawal.event["data"]["timeline"] == referral.event["data"]["timeline"]
    [failure] = [o.event["data"] for o in got if o.event["data"].get("action") == "failure_withdrawn"]
    assert "调整为黄色（一般风险）（检查周期 90 日）" in failure["reason_zh"]
    # Under the rule of the failure it takes back, the class the cycle ran out under (until
    # 2026-12-06 the class the late record gave the file: coverage.yellow).
    [missed] = [o.event["data"] for o in sent + first if o.event["data"].get("action") == "duty_failure"]
    assert failure["rule_id"] == missed["rule_id"] == "coverage.orange"
    assert f.duty_fails == {"safety_bureau": 0} and f.missed == [] and f.reruns == {}
    start = at(when)
    assert f.next_due() == start + 90 * DAY
    f, town = _fired(f, start + 90 * DAY)
    f, lead = _fired(f, start + 97 * DAY)
    f, again = _fired(f, start + 98 * DAY)
    assert [o.event["data"].get("action") for o in town + lead] == ["coverage_missed", "duty_failure"]
    assert "safety.referral.discipline" in [o.event["type"] for o in again]
    ids = _all_ids(first, sent, got, town, lead, again)
    assert len(ids) == len(set(ids)), "every output under an id of its own"


def test_an_inspected_enterprise_reclassified_to_a_longer_cycle_recorded_late_runs_its_cycle_again() -> None:
    """Inspected on 5 Nov, orange (60 days); re-classified yellow (90 days) on 20 Dec, before the
    lead department's miss on 11 Jan, the record arriving on 15 Jan. The miss and its referral are
    withdrawn; the cycle from 5 Nov runs again to its 90 days, and what it escalates then is sent
    under new ids, so a subscriber that de-duplicates by id sees it."""
    inspected = at("2026-11-05 10:00")
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"),
                 _inspected_at("2026-11-05 10:00", "2026-11-05 10:00", "INS-1"))
    assert f.next_due() == eod(inspected + 60 * DAY)
    f, town = _fired(f, eod(inspected + 60 * DAY))
    f, lead = _fired(f, eod(inspected + 67 * DAY))
    f, sent = _fired(f, eod(inspected + 68 * DAY))
    assert [o.event["type"] for o in sent] == ["safety.referral.discipline", "safety.escalation.raised"]
    record = {**classified("yellow", True, "2026-12-20 10:00", time="2026-12-20 10:00"),
              "arrived_at": iso(inspected + 71 * DAY)}
    f, got = decide_enterprise(f, record, COVERAGE, inspected + 71 * DAY)
    assert sorted(o.event["data"].get("action", o.event["type"]) for o in got) == [
        "failure_withdrawn", "notice_withdrawn", "referral_withdrawn", "safety.referral.withdrawn"]
    [taken] = [o.event["data"] for o in got if o.event["data"].get("action") == "failure_withdrawn"]
    assert taken["rule_id"] == lead[0].event["data"]["rule_id"] == "coverage.orange"
    # Under yellow the cycle runs out on day 90: time order had not told the town safety office yet.
    [notice] = [o.event["data"] for o in got if o.event["data"].get("action") == "notice_withdrawn"]
    assert [t["id"] for t in notice["targets"]] == [t["id"] for t in town[0].event["data"]["targets"]]
    assert notice["reason_zh"].startswith("撤回重点企业 ")
    assert "调整为黄色（一般风险）（检查周期 90 日）" in notice["reason_zh"]
    assert f.missed == [] and f.duty_fails == {"safety_bureau": 0}
    assert f.reruns == {str(inspected): 1} and f.cov_step == 0
    assert f.next_due() == eod(inspected + 90 * DAY)
    f, town2 = _fired(f, eod(inspected + 90 * DAY))
    f, lead2 = _fired(f, eod(inspected + 97 * DAY))
    f, sent2 = _fired(f, eod(inspected + 98 * DAY))
    assert [o.event["data"].get("action") for o in town2 + lead2] == ["coverage_missed", "duty_failure"]
    assert "90 days" in town2[0].event["data"]["reason"]
    [referral2] = [o for o in sent2 if o.event["type"] == "safety.referral.discipline"]
    [referral] = [o for o in sent if o.event["type"] == "safety.referral.discipline"]
    assert referral2.event["data"]["referral_id"] != referral.event["data"]["referral_id"]
    ids = _all_ids(town, lead, sent, got, town2, lead2, sent2)
    assert len(ids) == len(set(ids)), "every output under an id of its own"
    # An inspection in time, late, withdraws the second run's failure under ids of that run.
    late = _inspected_at(iso(inspected + 95 * DAY), iso(inspected + 99 * DAY), "INS-2")
    f, answered = decide_enterprise(f, late, COVERAGE, inspected + 99 * DAY)
    assert sorted(o.event["data"].get("action", o.event["type"]) for o in answered) == [
        "failure_withdrawn", "referral_withdrawn", "safety.referral.withdrawn"]
    assert not set(_all_ids(answered)) & set(_all_ids(got))
    # A new cycle from the inspection; the cycle from 5 Nov keeps its count of runs while its
    # inspection is on file, since a late record may still raise it, under ids of a run of its own.
    assert f.reruns == {str(inspected): 1}


@pytest.mark.parametrize(("risk", "when"), [("red", "2026-12-20 10:00"), ("yellow", "2027-01-12 10:00")])
def test_a_shorter_cycle_or_a_reclassification_after_the_miss_leaves_it(risk: str, when: str) -> None:
    """Re-classified red (30 days: the miss came later than it would have), or yellow only after the
    miss: the failure and its referral stand."""
    f, inspected, _ = _orange_referred()
    record = {**classified(risk, True, when, time=when), "arrived_at": iso(inspected + 71 * DAY)}
    f, got = decide_enterprise(f, record, COVERAGE, inspected + 71 * DAY)
    assert got == [] and f.duty_fails == {"safety_bureau": 1} and f.missed[0][4] == "sent"
    assert f.reruns == {}


def test_a_miss_left_as_it_was_sent_is_withdrawn_under_the_class_it_was_sent_under() -> None:
    """Inspected on 5 Nov, orange (60 days): the town safety office told on day 60, the lead
    department's miss on day 67 under coverage.orange, its referral on day 68. Red (30 days),
    decided on 20 Dec, reaches the engine on day 71: time order has the miss sooner, so it stands
    as it was sent. An inspection of 25 Dec, in time for red's lead step on 27 Dec, reaches the
    engine on day 72 and withdraws it: the withdrawal goes under coverage.orange, the rule the
    failure was sent under, though red was the class decided latest by then (until 2026-12-06 it
    went under coverage.red, which no failure had been sent under). The file and its view keep the
    class each miss and notice went under."""
    f, inspected, sent = _orange_referred()
    assert [m[5] for m in f.missed] == ["orange"] and [n[2] for n in f.notices] == ["orange"]
    assert [c["risk_class"] for c in enterprise_view(f, RULES, inspected + 68 * DAY)["missed_cycles"]] == [
        "orange"]
    red = {**classified("red", True, "2026-12-20 10:00", time="2026-12-20 10:00"),
           "arrived_at": iso(inspected + 71 * DAY)}
    f, got = decide_enterprise(f, red, COVERAGE, inspected + 71 * DAY)
    assert got == [] and [m[4:] for m in f.missed] == [["sent", "orange", 0, None, None]]
    late = _inspected_at("2026-12-25 10:00", iso(inspected + 72 * DAY), "INS-2")
    f, got = decide_enterprise(f, late, COVERAGE, inspected + 72 * DAY)
    [failure] = [o.event["data"] for o in sent if o.event["data"].get("action") == "duty_failure"]
    [taken] = [o.event["data"] for o in got if o.event["data"].get("action") == "failure_withdrawn"]
    assert taken["rule_id"] == failure["rule_id"] == "coverage.orange"
    assert "safety.referral.withdrawn" in [o.event["type"] for o in got]
    assert f.missed == [] and f.duty_fails == {"safety_bureau": 0}
    # The referral's withdrawal restates its timeline as it went: the office told on day 60, when
    # its notice went (until 2026-12-07 the day red made it run out in time order, 20 Dec).
    [referral] = [o.event["data"] for o in sent if o.event["type"] == "safety.referral.discipline"]
    [withdrawn] = [o.event["data"] for o in got if o.event["type"] == "safety.referral.withdrawn"]
    assert withdrawn["timeline"] == referral["timeline"]
    assert referral["timeline"][1]["time"] == iso(eod(inspected + 60 * DAY))


def test_a_notice_withdrawn_goes_under_the_class_it_was_sent_under() -> None:
    """Inspected on 5 Nov, orange: the town safety office told on day 60 (4 Jan) under
    coverage.orange. Red (30 days), decided on 2 Jan (day 58), reaches the engine on day 61: the
    notice stands, as time order told it on 2 Jan. An inspection of 1 Jan reaches the engine on day
    62: time order never told the office, and the withdrawal of its notice goes under
    coverage.orange, the rule the notice went under (until 2026-12-06 it went under the class the
    cycle ran out under in time order without the inspection: coverage.red)."""
    inspected = at("2026-11-05 10:00")
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"),
                 _inspected_at("2026-11-05 10:00", "2026-11-05 10:00", "INS-1"))
    f, town = _fired(f, eod(inspected + 60 * DAY))
    red = {**classified("red", True, "2027-01-02 10:00", time="2027-01-02 10:00"),
           "arrived_at": iso(inspected + 61 * DAY)}
    f, got = decide_enterprise(f, red, COVERAGE, inspected + 61 * DAY)
    assert [o.event["data"].get("action") for o in got] == [] and [n[2] for n in f.notices] == ["orange"]
    late = _inspected_at("2027-01-01 10:00", iso(inspected + 62 * DAY), "INS-2")
    f, got = decide_enterprise(f, late, COVERAGE, inspected + 62 * DAY)
    [notice] = [o.event["data"] for o in got if o.event["data"].get("action") == "notice_withdrawn"]
    assert notice["rule_id"] == town[0].event["data"]["rule_id"] == "coverage.orange"
    assert "(orange) was not inspected within 60 days of" in notice["reason"]
    assert f.notices == []


def test_a_cycle_inspected_only_after_its_new_end_is_missed_when_time_order_missed_it() -> None:
    """Re-classified yellow (90 days) before the orange miss on day 67, but inspected again only on
    day 99, after the 90 days and the grace: in time order the cycle was missed on day 97. The
    day-67 failure and referral are withdrawn, and the day-97 miss is raised, dated then, under
    ids of its own, its referral sent at once (its hold ended on day 98); the cycle from day 99
    runs as before."""
    f, inspected, first = _orange_referred()
    f, _ = decide_enterprise(f, _inspected_at(iso(inspected + 99 * DAY), iso(inspected + 99 * DAY), "INS-2"),
                             COVERAGE, inspected + 99 * DAY)
    record = {**classified("yellow", True, "2026-12-20 10:00", time="2026-12-20 10:00"),
              "arrived_at": iso(inspected + 100 * DAY)}
    f, got = decide_enterprise(f, record, COVERAGE, inspected + 100 * DAY)
    actions = [(o.event["data"].get("action") or o.event["type"], o.event["time"]) for o in got]
    assert ("failure_withdrawn", iso(inspected + 100 * DAY)) in actions
    assert ("coverage_missed", iso(eod(inspected + 90 * DAY))) in actions
    assert ("duty_failure", iso(eod(inspected + 97 * DAY))) in actions
    assert [m[:4] for m in f.missed] == [[inspected, eod(inspected + 97 * DAY), "safety_bureau", "INS-1"]]
    assert f.missed[0][4] == "sent" and f.duty_fails == {"safety_bureau": 1}
    [withdrawn] = [o.event["data"] for o in got if o.event["type"] == "safety.referral.withdrawn"]
    [again] = [o.event["data"] for o in got if o.event["type"] == "safety.referral.discipline"]
    assert again["referral_id"] != withdrawn["referral_id"]
    assert again["timeline"][-1]["time"] == iso(eod(inspected + 97 * DAY))
    assert "90-day cycle" in again["reason"]
    assert withdrawn["timeline"][1]["time"] == iso(eod(inspected + 60 * DAY))  # as sent, under orange
    assert f.reruns == {str(inspected): 1} and f.cov_base == inspected + 99 * DAY
    ids = _all_ids(first, got)
    assert len(ids) == len(set(ids)), "every output under an id of its own"
    assert f.next_due() == eod(inspected + 99 * DAY) + 90 * DAY
    # The town safety office's notice of day 60 said orange's 60 days: withdrawn under the rule it
    # went under, before the cycle is told anew under yellow's 90 (until 2026-12-07 the day-60
    # notice was never withdrawn, and the office held two for one cycle).
    [told] = [o for o in first if o.event["data"].get("action") == "coverage_missed"]
    [taken] = [o.event["data"] for o in got if o.event["data"].get("action") == "notice_withdrawn"]
    assert taken["rule_id"] == told.event["data"]["rule_id"] == "coverage.orange"
    assert "(orange) was not inspected within 60 days of" in taken["reason"]
    [anew] = [o for o in got if o.event["data"].get("action") == "coverage_missed"]
    assert anew.event["data"]["rule_id"] == "coverage.yellow" and anew.id != told.id
    assert f.notices == [[inspected, eod(inspected + 90 * DAY), "yellow", 1, eod(inspected + 90 * DAY)]]
    assert again["timeline"][1]["event_id"] == anew.id  # the notice as the referral names it


def test_a_cycle_running_again_keeps_its_notice_when_time_order_told_the_office_the_same() -> None:
    """Orange, inspected on 5 Nov: the town safety office told on day 60, the lead department's
    miss on day 67, its referral on day 68. Yellow (90 days), decided on day 62, after the office was
    told, reaches the engine on day 69: in time order the notice stands as it went (orange's 60
    days, on day 60), and only the lead department's miss moves, to day 97. The failure and its
    referral are withdrawn; the cycle runs again, and its notice is not sent a second time (until
    2026-12-07 it was, dated day 60 and saying yellow's 90 days, the first never withdrawn). The
    new referral's timeline names the notice by the id it went under."""
    f, inspected, first = _orange_referred()
    decided = inspected + 62 * DAY
    record = {**classified("yellow", True, iso(decided), time=iso(decided)),
              "arrived_at": iso(inspected + 69 * DAY)}
    f, got = decide_enterprise(f, record, COVERAGE, inspected + 69 * DAY)
    actions = [o.event["data"].get("action") or o.event["type"] for o in got]
    assert actions == ["failure_withdrawn", "safety.referral.withdrawn", "referral_withdrawn"]
    [told] = [o for o in first if o.event["data"].get("action") == "coverage_missed"]
    assert f.notices == [[inspected, eod(inspected + 60 * DAY), "orange", 0, eod(inspected + 60 * DAY)]]
    assert f.reruns == {str(inspected): 1}
    assert enterprise_view(f, RULES, inspected + 69 * DAY)["coverage_notices"] == [
        {"cycle_from": iso(inspected), "told_at": iso(eod(inspected + 60 * DAY)), "risk_class": "orange",
         "escalation_id": told.id}]  # the notice as it went, in the cycle's first run
    assert f.next_due() == eod(inspected + 97 * DAY)
    f, lead = _fired(f, eod(inspected + 97 * DAY))
    f, refer = _fired(f, eod(inspected + 98 * DAY))
    assert [o.event["data"].get("action") for o in lead] == ["duty_failure"]
    assert lead[0].event["data"]["rule_id"] == "coverage.yellow"
    [referral] = [o.event["data"] for o in refer if o.event["type"] == "safety.referral.discipline"]
    assert referral["timeline"][1] == {**referral["timeline"][1], "event_id": told.id,
                                       "time": iso(eod(inspected + 60 * DAY))}
    ids = _all_ids(first, got, lead, refer)
    assert len(ids) == len(set(ids))
    # Run out under yellow (the lead department's miss), the office told under orange.
    assert coverage.walk(f, COVERAGE, inspected) == (eod(inspected + 60 * DAY), eod(inspected + 97 * DAY),
                                                      "yellow", "orange")


@pytest.mark.parametrize("ended", [False, True], ids=["running again", "raised again"])
def test_a_cycle_told_anew_tells_the_office_under_the_class_whose_days_ran_out(ended: bool) -> None:
    """Orange, inspected on 5 Nov: the office told on day 60, the miss on day 67, the referral on
    day 68; orange decided again on day 92 (after the miss: nothing moves). Yellow (90 days), decided
    on day 40, reaches the engine late: in time order the office was told on day 90 under yellow,
    and the decision of day 92 moved only the lead department's miss, to day 99, under orange. The
    orange notice of day 60 is withdrawn and the office told anew, dated day 90, under yellow's 90
    days (not orange's 60, the class the cycle ran out under): the cycle running again (the record
    on day 95), or raised again (inspected again on day 100, the record on day 101)."""
    f, inspected, first = _orange_referred()
    f, _ = decide_enterprise(f, classified("orange", True, iso(inspected + 92 * DAY),
                                           time=iso(inspected + 92 * DAY)), COVERAGE, inspected + 92 * DAY)
    now = inspected + 95 * DAY
    if ended:
        f, _ = decide_enterprise(f, _inspected_at(iso(inspected + 100 * DAY), iso(inspected + 100 * DAY),
                                                  "INS-2"), COVERAGE, inspected + 100 * DAY)
        now = inspected + 101 * DAY
    record = {**classified("yellow", True, iso(inspected + 40 * DAY), time=iso(inspected + 40 * DAY)),
              "arrived_at": iso(now)}
    f, got = decide_enterprise(f, record, COVERAGE, now)
    [taken] = [o.event["data"] for o in got if o.event["data"].get("action") == "notice_withdrawn"]
    assert taken["rule_id"] == "coverage.orange"
    [told] = [o.event for o in got if o.event["data"].get("action") == "coverage_missed"]
    assert (told["time"], told["data"]["rule_id"]) == (iso(eod(inspected + 90 * DAY)), "coverage.yellow")
    assert "(yellow) not inspected within 90 days of" in told["data"]["reason"]
    assert [n[:3] for n in f.notices] == [[inspected, eod(inspected + 90 * DAY), "yellow"]]
    if ended:
        [lead] = [o.event for o in got if o.event["data"].get("action") == "duty_failure"]
        assert (lead["time"], lead["data"]["rule_id"]) == (iso(eod(inspected + 99 * DAY)), "coverage.orange")


@pytest.mark.parametrize("after", ["closed", "declassified", "inspected again"])
def test_a_cycle_that_will_not_run_out_again_tells_the_office_anew_under_the_class_whose_days_ran_out(
        after: str) -> None:
    """Orange, inspected on 5 Nov: the office told on day 60, the miss on day 67, the referral on
    day 68. The enterprise closed on day 93, was decided no longer a key one on day 93, or was
    inspected again on day 92: the cycle from 5 Nov will not run out again. Yellow (90 days),
    decided on day 40, reaches the engine on day 95: in time order the office was told on day 90,
    under yellow, before the cycle stopped, and the lead department missed nothing. The miss and
    its referral are withdrawn; so is the orange notice of day 60, and the office is told anew,
    dated day 90, under yellow's 90 days, by ids of their own. The file shows that notice."""
    f, inspected, first = _orange_referred()
    if after == "closed":
        [record] = event("safety.enterprise.closed", iso(inspected + 93 * DAY),
                         {"uscc": USCC, "reason": "deregistered", "by": SUPERVISOR}, USCC)
    elif after == "declassified":
        record = classified("orange", False, iso(inspected + 93 * DAY), time=iso(inspected + 93 * DAY))
    else:
        record = _inspected_at(iso(inspected + 92 * DAY), iso(inspected + 92 * DAY), "INS-2")
    f, stopped = decide_enterprise(f, record, COVERAGE, inspected + 93 * DAY)
    assert stopped == []
    late = {**classified("yellow", True, iso(inspected + 40 * DAY), time=iso(inspected + 40 * DAY)),
            "arrived_at": iso(inspected + 95 * DAY)}
    f, got = decide_enterprise(f, late, COVERAGE, inspected + 95 * DAY)
    actions = [(o.event["data"].get("action") or o.event["type"], o.event["data"].get("rule_id"),
                o.event["time"]) for o in got]
    now, then = iso(inspected + 95 * DAY), iso(eod(inspected + 90 * DAY))
    assert actions == [("failure_withdrawn", "coverage.orange", now),
                       ("safety.referral.withdrawn", None, now),
                       ("referral_withdrawn", "referral.duty_failures", now),
                       ("notice_withdrawn", "coverage.orange", now),
                       ("coverage_missed", "coverage.yellow", then)]
    [sent] = [o for o in first if o.event["data"].get("action") == "coverage_missed"]
    assert got[3].event["data"]["caused_by"] == [late["event_id"]] and sent.id != got[4].id
    assert "(yellow) not inspected within 90 days of" in got[4].event["data"]["reason"]
    assert got[3].event["data"]["reason_zh"] and got[4].event["data"]["reason_zh"]
    assert f.missed == [] and [n[:3] for n in f.notices] == [[inspected, eod(inspected + 90 * DAY), "yellow"]]
    assert enterprise_view(f, RULES, inspected + 95 * DAY)["coverage_notices"] == [
        {"cycle_from": iso(inspected), "told_at": then, "risk_class": "yellow", "escalation_id": got[4].id}]
    ids = _all_ids(first, got)
    assert len(ids) == len(set(ids))
    # The same record again changes nothing.
    assert decide_enterprise(f, late, COVERAGE, inspected + 96 * DAY)[1] == []


def _told_red_missed_orange() -> tuple[EnterpriseFile, int, list[Any]]:
    """Red (30 days), inspected on 3 Nov: the office told on day 30 under red; decided orange (60
    days) on day 31, registered again on day 31.5 (nothing, while open), the lead department's
    miss on day 67 under orange, its referral on day 68. The file, the inspection's time, and every
    output so far."""
    inspected = at("2026-11-03 10:00")
    f, outs = _file(registered(), classified("red", True, "2026-11-01 10:00"),
                    _inspected_at("2026-11-03 10:00", "2026-11-03 10:00", "INS-1"))
    for step, record in ((30, None), (31, classified("orange", True, iso(inspected + 31 * DAY),
                                                     time=iso(inspected + 31 * DAY))),
                         (31.5, registered(time=iso(inspected + 31.5 * DAY))), (67, None), (68, None)):
        when = int(inspected + step * DAY) if record is not None else eod(int(inspected + step * DAY))
        f, got = _fired(f, when) if record is None else decide_enterprise(f, record, COVERAGE, when)
        outs += got
    return f, inspected, outs


def test_a_notice_told_anew_while_its_cycles_miss_stands_leaves_the_miss_its_ids() -> None:
    """The file of `_told_red_missed_orange`; its closure on day 8.5 reaches the engine on day 69.5.
    In time order the clock stopped on day 8.5 and ran again from day 31.5 under orange: the office
    was told on day 60, under orange, and the lead department missed the cycle on day 67 all the
    same. The red notice is withdrawn and the office told anew, dated day 60, under ids of a new
    run of the cycle; the miss and its referral stand. An inspection of day 5, reaching the engine
    on day 70, then withdraws the miss and the referral under the ids they went under, and the
    orange notice under its own."""
    from test_decide_properties import withdraws_only_what_was_sent
    f, inspected, first = _told_red_missed_orange()
    [told] = [o for o in first if o.event["data"].get("action") == "coverage_missed"]
    assert told.event["data"]["rule_id"] == "coverage.red"
    [closing] = event("safety.enterprise.closed", iso(inspected + 8.5 * DAY),
                      {"uscc": USCC, "reason": "suspended", "by": SUPERVISOR}, USCC)
    f, got = decide_enterprise(f, {**closing, "arrived_at": iso(inspected + 69.5 * DAY)}, COVERAGE,
                               int(inspected + 69.5 * DAY))
    assert [(o.event["data"]["action"], o.event["data"]["rule_id"], o.event["time"]) for o in got] == [
        ("notice_withdrawn", "coverage.red", iso(inspected + 69.5 * DAY)),
        ("coverage_missed", "coverage.orange", iso(eod(inspected + 60 * DAY)))]
    # The miss keeps its run, 0, and the notice its referral named: run 0's, told on day 30.
    assert [m[4:] for m in f.missed] == [["sent", "orange", 0, 0, eod(inspected + 30 * DAY)]]
    assert f.reruns == {str(inspected): 1}
    late = _inspected_at(iso(inspected + 5 * DAY), iso(inspected + 70 * DAY), "INS-2")
    f, taken = decide_enterprise(f, late, COVERAGE, inspected + 70 * DAY)
    outs = first + got + taken
    withdraws_only_what_was_sent(outs)
    assert [o.event["data"].get("action") or o.event["type"] for o in taken][:4] == [
        "failure_withdrawn", "safety.referral.withdrawn", "referral_withdrawn", "notice_withdrawn"]
    assert taken[3].event["data"]["rule_id"] == "coverage.orange"
    ids = _all_ids(outs)
    assert len(ids) == len(set(ids))


def test_a_notice_time_order_gives_sooner_under_a_shorter_class_stands_as_it_was_sent() -> None:
    """Yellow (90 days), inspected on 5 Nov: the office told on day 90, the miss on day 97; inspected
    again on day 100. Orange (60 days), decided on day 10, reaches the engine on day 101: in time
    order the office was told on day 60, under orange. The cycle was missed either way, sooner: the
    notice stands as it was sent (yellow, day 90), as the miss does, and nothing goes out."""
    inspected = at("2026-11-05 10:00")
    f, _ = _file(registered(), classified("yellow", True, "2026-11-01 10:00"),
                 _inspected_at("2026-11-05 10:00", "2026-11-05 10:00", "INS-1"))
    for step in (90, 97, 98):
        f, _ = _fired(f, eod(inspected + step * DAY))
    again = iso(inspected + 100 * DAY)
    f, _ = decide_enterprise(f, _inspected_at(again, again, "INS-2"), COVERAGE, inspected + 100 * DAY)
    late = {**classified("orange", True, iso(inspected + 10 * DAY), time=iso(inspected + 10 * DAY)),
            "arrived_at": iso(inspected + 101 * DAY)}
    f, got = decide_enterprise(f, late, COVERAGE, inspected + 101 * DAY)
    assert got == []
    assert [n[2:] for n in f.notices] == [["yellow", 0, eod(inspected + 90 * DAY)]]
    assert [m[0] for m in f.missed] == [inspected]


def test_a_notices_withdrawal_is_named_by_the_notice_whatever_ran_since() -> None:
    """The notice of day 60 withdrawn by an inspection of day 59 recorded on day 99: the withdrawal
    goes under the same id whether the cycle ran again in between (a yellow decision of day 62
    recorded on day 69, as above, that left the notice standing) or not. It is named by the run
    the notice went under, not the cycle's latest run."""
    late = _inspected_at(iso(at("2026-11-05 10:00") + 59 * DAY), iso(at("2026-11-05 10:00") + 99 * DAY),
                         "INS-2")
    names = []
    for ran_again in (False, True):
        f, inspected, _ = _orange_referred()
        if ran_again:
            decided = inspected + 62 * DAY
            record = {**classified("yellow", True, iso(decided), time=iso(decided)),
                      "arrived_at": iso(inspected + 69 * DAY)}
            f, _ = decide_enterprise(f, record, COVERAGE, inspected + 69 * DAY)
            f, _ = _fired(f, inspected + 97 * DAY)  # the lead department's miss, under the new run
            assert f.reruns == {str(inspected): 1} and [n[3] for n in f.notices] == [0]
        f, got = decide_enterprise(f, late, COVERAGE, inspected + 99 * DAY)
        [taken] = [o for o in got if o.event["data"].get("action") == "notice_withdrawn"]
        names.append(taken.id)
        assert f.notices == []
    assert names[0] == names[1]


def test_a_cycle_answered_before_its_new_end_by_a_later_inspection_is_taken_back() -> None:
    """Re-classified yellow before the miss and inspected again on day 80, inside the 90 days: in time
    order the cycle was never missed. The failure and the referral are withdrawn; the cycle from the
    second inspection is the one that runs, under the ids it always had."""
    f, inspected, _ = _orange_referred()
    f, _ = decide_enterprise(f, _inspected_at(iso(inspected + 80 * DAY), iso(inspected + 80 * DAY), "INS-2"),
                             COVERAGE, inspected + 80 * DAY)
    record = {**classified("yellow", True, "2026-12-20 10:00", time="2026-12-20 10:00"),
              "arrived_at": iso(inspected + 81 * DAY)}
    f, got = decide_enterprise(f, record, COVERAGE, inspected + 81 * DAY)
    assert "safety.referral.withdrawn" in [o.event["type"] for o in got]
    assert f.missed == [] and f.duty_fails == {"safety_bureau": 0} and f.reruns == {}
    assert f.next_due() == eod(inspected + 80 * DAY) + 90 * DAY


def test_an_inspection_recorded_late_before_the_classification_a_cycle_ran_from_withdraws_its_miss() -> None:
    """Red (30 days) on 1 Nov and re-classified red on 3 Nov, never inspected as far as the engine
    knew: the cycle ran from 3 Nov and was missed on 10 Dec. An inspection of 2 Nov, recorded on
    20 Dec, shows the cycles ran from it (once inspected, they run from inspections): the 10 Dec
    miss is withdrawn, and the cycle from 2 Nov is the one that ran: missed on 9 Dec, raised at
    once, under ids of its own base."""
    f, first = _file(registered(), classified("red", True, "2026-11-01 10:00"),
                     classified("red", True, "2026-11-03 10:00", time="2026-11-03 10:00"))
    start = at("2026-11-03 10:00")
    for step in (30, 37, 38):
        f, outs = _fired(f, eod(start + step * DAY))
        first += outs
    assert [m[1] for m in f.missed] == [eod(start + 37 * DAY)]
    late = _inspected_at("2026-11-02 10:00", iso(start + 47 * DAY))
    f, got = decide_enterprise(f, late, COVERAGE, start + 47 * DAY)
    assert "safety.referral.withdrawn" in [o.event["type"] for o in got]
    assert "safety.referral.discipline" in [o.event["type"] for o in got]
    inspected = at("2026-11-02 10:00")
    assert f.missed == [[inspected, eod(inspected + 37 * DAY), "safety_bureau", "INS-LATE", "sent", "red", 0,
                         None, None]]
    assert f.duty_fails == {"safety_bureau": 1}
    ids = _all_ids(first, got)
    assert len(ids) == len(set(ids))


def test_an_inspection_recorded_late_raises_the_miss_of_the_cycle_it_started() -> None:
    """Orange (60 days), inspected on 2 Nov and on 20 Feb: the cycle from 2 Nov was missed on 8 Jan.
    An inspection of 1 Dec, recorded after 20 Feb, answers that cycle, and starts one that 20 Feb
    came too late for: in time order it was missed on 6 Feb. The 8 Jan failure is withdrawn and
    the 6 Feb one raised, dated then; the cycle from 20 Feb runs on."""
    f, first_at, _ = _orange_referred("2026-11-02 10:00")
    last_at = at("2027-02-20 10:00")
    f, _ = decide_enterprise(f, _inspected_at("2027-02-20 10:00", "2027-02-20 10:00", "INS-3"), COVERAGE,
                             last_at)
    late = _inspected_at("2026-12-01 10:00", "2027-02-21 10:00", "INS-2")
    f, got = decide_enterprise(f, late, COVERAGE, last_at + DAY)
    started = at("2026-12-01 10:00")
    actions = [(o.event["data"].get("action") or o.event["type"], o.event["time"]) for o in got]
    assert ("failure_withdrawn", iso(last_at + DAY)) in actions
    assert ("coverage_missed", iso(eod(started + 60 * DAY))) in actions
    assert ("duty_failure", iso(eod(started + 67 * DAY))) in actions
    assert [m[:4] for m in f.missed] == [[started, eod(started + 67 * DAY), "safety_bureau", "INS-2"]]
    assert f.duty_fails == {"safety_bureau": 1} and f.next_due() == eod(last_at + 60 * DAY)


def test_a_shorter_class_never_reaches_back_before_its_decision() -> None:
    """Yellow (90 days), inspected on 5 Nov; re-classified orange (60 days) on day 85, in time. The
    orange cycle from 5 Nov ran out on day 60, before the decision: a duty set on day 85 was not
    owed before it, so the cycle runs out on day 85 (the town safety office told then) and the
    lead department still has its 7 days: its miss is on day 92, never dated day 67."""
    inspected = at("2026-11-05 10:00")
    f, _ = _file(registered(), classified("yellow", True, "2026-11-01 10:00"),
                 _inspected_at("2026-11-05 10:00", "2026-11-05 10:00", "INS-1"))
    assert f.next_due() == eod(inspected + 90 * DAY)
    decided = inspected + 85 * DAY
    f, outs = decide_enterprise(f, classified("orange", True, iso(decided), time=iso(decided)), COVERAGE,
                                decided)
    assert [(o.event["data"]["action"], o.event["time"]) for o in outs] == [("coverage_missed", iso(decided))]
    assert "(orange) not inspected within 60 days of" in outs[0].event["data"]["reason"]
    assert outs[0].event["data"]["rule_id"] == "coverage.orange"
    assert f.next_due() == eod(decided + 7 * DAY)
    view = enterprise_view(f, RULES, decided)
    assert [(c["risk_class"], c["decided_at"]) for c in view["classifications"]] == [
        ("yellow", ts("2026-11-01 10:00")), ("orange", iso(decided))]
    assert view["coverage_due"] == {"step": "lead_department", "at": iso(eod(decided + 7 * DAY))}
    f, lead = _fired(f, eod(decided + 7 * DAY))
    assert [o.event["data"]["action"] for o in lead] == ["duty_failure"]
    assert f.missed[0][:2] == [inspected, eod(decided + 7 * DAY)]
    assert enterprise_view(f, RULES, decided + 7 * DAY)["coverage_due"] is None


def test_an_inspection_recorded_late_answers_the_cycle_the_class_then_in_force_gave() -> None:
    """Yellow (90 days), inspected on 5 Nov and again on day 80, that inspection's record reaching
    the engine only on day 120; re-classified orange on day 85, in time. Knowing only the first
    inspection, the engine had the department miss the cycle on day 92; but the day-80 inspection
    answered that cycle under the yellow class then in force. The failure and its referral are
    withdrawn, and the cycle from day 80 runs under orange: missed on day 147 unless inspected."""
    inspected = at("2026-11-05 10:00")
    f, first = _file(registered(), classified("yellow", True, "2026-11-01 10:00"),
                     _inspected_at("2026-11-05 10:00", "2026-11-05 10:00", "INS-1"))
    decided = inspected + 85 * DAY
    f, outs = decide_enterprise(f, classified("orange", True, iso(decided), time=iso(decided)), COVERAGE,
                                decided)
    first += outs
    for when in (eod(decided + 7 * DAY), eod(decided + 8 * DAY)):
        f, outs = _fired(f, when)
        first += outs
    assert "safety.referral.discipline" in [o.event["type"] for o in first]
    late = _inspected_at(iso(inspected + 80 * DAY), iso(inspected + 120 * DAY), "INS-2")
    f, got = decide_enterprise(f, late, COVERAGE, inspected + 120 * DAY)
    assert sorted(o.event["data"].get("action", o.event["type"]) for o in got) == [
        "failure_withdrawn", "notice_withdrawn", "referral_withdrawn", "safety.referral.withdrawn"]
    [notice] = [o.event["data"] for o in got if o.event["data"].get("action") == "notice_withdrawn"]
    assert notice["reason_zh"].endswith(f"检查 {late['event_id']}（{iso(inspected + 80 * DAY)}）已按期进行，"
                                        "送达引擎晚于通知")
    assert f.missed == [] and f.duty_fails == {"safety_bureau": 0}
    assert f.next_due() == eod(inspected + 140 * DAY)  # 60 days from day 80; orange since day 85
    ids = _all_ids(first, got)
    assert len(ids) == len(set(ids))


def test_a_shorter_class_recorded_late_raises_the_miss_of_a_cycle_a_later_inspection_ended() -> None:
    """Yellow (90 days), inspected on 5 Nov and on day 70; the decision of day 20 that made it red
    (30 days) reaches the engine on day 100. In time order the cycle from 5 Nov ran out on day 30
    and was missed on day 37, before the day-70 inspection: that miss is raised now, dated then,
    and the cycle from day 70 runs under red."""
    inspected = at("2026-11-05 10:00")
    f, first = _file(registered(), classified("yellow", True, "2026-11-01 10:00"),
                     _inspected_at("2026-11-05 10:00", "2026-11-05 10:00", "INS-1"),
                     _inspected_at(iso(inspected + 70 * DAY), iso(inspected + 70 * DAY), "INS-2"))
    decided = inspected + 20 * DAY
    record = {**classified("red", True, iso(decided), time=iso(decided)),
              "arrived_at": iso(inspected + 100 * DAY)}
    f, got = decide_enterprise(f, record, COVERAGE, inspected + 100 * DAY)
    actions = [(o.event["data"].get("action") or o.event["type"], o.event["time"]) for o in got]
    assert ("coverage_missed", iso(eod(inspected + 30 * DAY))) in actions
    assert ("duty_failure", iso(eod(inspected + 37 * DAY))) in actions
    assert "safety.referral.discipline" in [a for a, _ in actions]
    [referral] = [o.event["data"] for o in got if o.event["type"] == "safety.referral.discipline"]
    assert "30-day cycle" in referral["reason"]
    assert [m[:4] for m in f.missed] == [[inspected, eod(inspected + 37 * DAY), "safety_bureau", "INS-1"]]
    # The cycle from day 70 runs out at the end of day 100 under red: not yet when this came, at 10:00.
    assert [a for a, _ in actions].count("coverage_missed") == 1
    assert f.next_due() == eod(inspected + 100 * DAY)
    ids = _all_ids(first, got)
    assert len(ids) == len(set(ids))


def test_a_classification_recorded_late_behind_a_newer_one_still_counts_for_the_cycles_it_ran() -> None:
    """Orange (60 days), inspected on 5 Nov; yellow (90 days) decided on day 50 reaches the engine on
    day 75, after the orange miss on day 67 and after a red decision of day 70 that is the class on
    file. In time order the cycle from 5 Nov ran to day 90 under yellow, then red from day 70 made
    it run out on day 70 (never before the decision): missed on day 77, not 67. The day-67 failure
    is withdrawn, and the cycle, still running, is escalated again under ids of its own."""
    f, inspected, first = _orange_referred()
    red = inspected + 70 * DAY
    f, outs = decide_enterprise(f, classified("red", True, iso(red), time=iso(red)), COVERAGE, red)
    first += outs
    assert f.missed[0][1] == eod(inspected + 67 * DAY)
    record = {**classified("yellow", True, iso(inspected + 50 * DAY), time=iso(inspected + 50 * DAY)),
              "arrived_at": iso(inspected + 75 * DAY)}
    f, got = decide_enterprise(f, record, COVERAGE, inspected + 75 * DAY)
    assert f.risk_class == "red"  # the latest decision holds
    assert "safety.referral.withdrawn" in [o.event["type"] for o in got]
    actions = [(o.event["data"].get("action"), o.event["time"]) for o in got]
    assert ("coverage_missed", iso(red)) in actions  # run again: red from day 70, told at once
    assert f.next_due() == eod(red + 7 * DAY)
    f, lead = _fired(f, eod(red + 7 * DAY))
    assert [o.event["data"]["action"] for o in lead] == ["duty_failure"]
    assert f.missed[0][:2] == [inspected, eod(red + 7 * DAY)]
    ids = _all_ids(first, got, lead)
    assert len(ids) == len(set(ids))


def test_a_file_stored_before_classes_were_kept_takes_its_classification_on_file_for_them() -> None:
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"))
    f.classes = []  # as stored before 2026-12-05
    back = unpack(pack(f), EnterpriseFile)
    assert back.classes == [] and back.next_due() == eod(at("2026-11-01 10:00") + 60 * DAY)
    back, _ = decide_enterprise(back, classified("yellow", True, "2026-11-20 10:00", time="2026-11-20 10:00"),
                                COVERAGE)
    assert [c[1] for c in back.classes] == ["orange", "yellow"]
    assert back.next_due() == eod(at("2026-11-20 10:00") + 90 * DAY)  # never inspected: from the new decision


@pytest.mark.parametrize(("done", "withdrawn"), [(58, True), (61, False)])
def test_the_town_safety_office_is_told_when_an_inspection_recorded_late_shows_its_notice_unfounded(
        done: int, withdrawn: bool) -> None:
    """Orange (60 days) from an inspection on 5 Nov; the town safety office told on day 60 that the
    cycle ran out. An inspection of day 58 reaching the engine on day 62 shows the cycle never ran
    out: the office is told the notice is withdrawn (in Chinese too), and the lead department is
    never told of a failure. One of day 61 came after the notice: it stands."""
    inspected = at("2026-11-05 10:00")
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"),
                 _inspected_at("2026-11-05 10:00", "2026-11-05 10:00", "INS-1"))
    f, town = _fired(f, eod(inspected + 60 * DAY))
    assert [o.event["data"]["action"] for o in town] == ["coverage_missed"]
    late = _inspected_at(iso(inspected + done * DAY), iso(inspected + 62 * DAY), "INS-2")
    f, got = decide_enterprise(f, late, COVERAGE, inspected + 62 * DAY)
    assert [o.event["data"]["action"] for o in got] == (["notice_withdrawn"] if withdrawn else [])
    if withdrawn:
        notice = got[0].event["data"]
        assert notice["targets"] == town[0].event["data"]["targets"]
        assert notice["reason"].startswith("The notice that key enterprise ")
        assert notice["reason_zh"].startswith("撤回重点企业 ")
    assert f.next_due() == eod(inspected + (done + 60) * DAY) and f.cov_step == 0
    assert _tick(f, eod(inspected + 67 * DAY)) == []  # no failure of the lead department


def test_a_notice_is_withdrawn_when_an_inspection_recorded_late_came_first_though_the_clock_stopped_since(
        ) -> None:
    """Told on day 60; no longer a key enterprise from day 65; an inspection of day 58 reaches the
    engine on day 70. The cycle ended on day 58, before the notice: it is withdrawn, although the
    clock had stopped by the time the record came."""
    inspected = at("2026-11-05 10:00")
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"),
                 _inspected_at("2026-11-05 10:00", "2026-11-05 10:00", "INS-1"))
    f, _ = _fired(f, eod(inspected + 60 * DAY))
    when = iso(inspected + 65 * DAY)
    f, got = decide_enterprise(f, classified("orange", False, when, time=when), COVERAGE,
                               inspected + 65 * DAY)
    assert got == []
    late = _inspected_at(iso(inspected + 58 * DAY), iso(inspected + 70 * DAY), "INS-2")
    f, got = decide_enterprise(f, late, COVERAGE, inspected + 70 * DAY)
    assert [o.event["data"]["action"] for o in got] == ["notice_withdrawn"]


@pytest.mark.parametrize(("how", "day", "withdrawn"), [("closed", 55, True), ("declassified", 55, True),
                                                       ("closed", 61, False), ("declassified", 61, False)])
def test_the_town_safety_office_is_told_when_a_record_late_stopped_the_clock_before_its_notice(
        how: str, day: int, withdrawn: bool) -> None:
    """Told on day 60 that the cycle ran out; the enterprise's closure, or a decision that it is no
    longer a key one, of day 55 reaches the engine on day 62: nothing was owed from day 55, so the
    notice is withdrawn, in Chinese too. Of day 61, after the notice: it stands."""
    inspected = at("2026-11-05 10:00")
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"),
                 _inspected_at("2026-11-05 10:00", "2026-11-05 10:00", "INS-1"))
    f, _ = _fired(f, eod(inspected + 60 * DAY))
    when = iso(inspected + day * DAY)
    if how == "closed":
        [record] = event("safety.enterprise.closed", when, {"uscc": USCC, "reason": "deregistered",
                                                           "by": SUPERVISOR}, USCC)
    else:
        record = classified("orange", False, when, time=when)
    f, got = decide_enterprise(f, {**record, "arrived_at": iso(inspected + 62 * DAY)}, COVERAGE,
                               inspected + 62 * DAY)
    assert [o.event["data"]["action"] for o in got] == (["notice_withdrawn"] if withdrawn else [])
    if withdrawn:
        ceased = "已关闭" if how == "closed" else "不再列为重点企业"
        assert got[0].event["data"]["reason_zh"].endswith(
            f"{ceased}（{record['event_id']}），早于通知，记录送达引擎晚于通知")
    assert f.clocks == {}


@pytest.mark.parametrize(("closed", "town", "lead"), [(50, 100, 107), (62, 60, 107), (70, 60, 67)])
def test_a_cycle_that_ran_out_while_the_enterprise_was_closed_runs_out_when_it_is_back(
        closed: int, town: int, lead: int) -> None:
    """Orange (60 days) from an inspection on 5 Nov; closed on day `closed`, registered again on day
    100. Nothing is owed while it is closed: a step that would have come then comes on day 100,
    and the lead department's miss no sooner than 7 days after the town safety office's notice
    (or, told before the closure, 7 days after it is back); steps before the closure stand."""
    inspected = at("2026-11-05 10:00")
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"),
                 _inspected_at("2026-11-05 10:00", "2026-11-05 10:00", "INS-1"))
    [closing] = event("safety.enterprise.closed", iso(inspected + closed * DAY),
                      {"uscc": USCC, "reason": "suspended", "by": SUPERVISOR}, USCC)
    steps = []
    for when in sorted({inspected + 60 * DAY, inspected + 67 * DAY, inspected + closed * DAY}):
        if when == inspected + closed * DAY:
            f, got = decide_enterprise(f, closing, COVERAGE, when)
        else:
            f, got = _fired(f, when)
        steps += got
    back = inspected + 100 * DAY
    f, got = decide_enterprise(f, registered(time=iso(back)), COVERAGE, back)
    steps += got
    f, got = _fired(f, eod(inspected + 200 * DAY))
    steps += got
    actions = [(o.event["data"].get("action"), o.event["time"]) for o in steps
               if o.event["type"] == "safety.escalation.raised"]
    told = inspected + town * DAY if town == 100 else eod(inspected + town * DAY)  # the return, or a day end
    assert actions[:2] == [("coverage_missed", iso(told)),
                           ("duty_failure", iso(eod(inspected + lead * DAY)))]


def _closing(when: int) -> dict[str, Any]:
    [closing] = event("safety.enterprise.closed", iso(when), {"uscc": USCC, "reason": "suspended",
                                                              "by": SUPERVISOR}, USCC)
    return closing


def _run_to(f: EnterpriseFile, entry: dict[str, Any] | None, when: int) -> tuple[EnterpriseFile, list[Any]]:
    """Fire the file's clocks due up to `when`, as the timer does, then decide `entry` at `when`."""
    outs: list[Any] = []
    while f.next_due() is not None and f.next_due() <= when - (entry is not None):
        f, got = _fired(f, f.next_due())
        outs += got
    if entry is not None:
        f, got = decide_enterprise(f, entry, COVERAGE, when)
        outs += got
    return f, outs


def test_an_earlier_closed_spell_still_counts_once_another_follows() -> None:
    """Orange (60 days), inspected on day 0; closed from day 10 to day 100, inspected on day 103,
    closed from day 120 to day 300. The cycle from day 0 owed nothing while the enterprise was
    closed, and its inspection on day 103 came within the grace days after it was back: when the
    enterprise is back the second time, no miss is raised for it (the engine once kept only the
    latest closure, walked that cycle as if the enterprise had been open, and referred the lead
    department for a miss "on day 67"), nor when a late inspection makes it reckon again."""
    d0 = at("2026-11-05 10:00")
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"),
                 _inspected_at(iso(d0), iso(d0), "INS-1"))
    outs: list[Any] = []
    for day, entry in ((10, _closing(d0 + 10 * DAY)), (100, registered(time=iso(d0 + 100 * DAY))),
                       (103, _inspected_at(iso(d0 + 103 * DAY), iso(d0 + 103 * DAY), "INS-2")),
                       (120, _closing(d0 + 120 * DAY)), (300, registered(time=iso(d0 + 300 * DAY))),
                       (302, _inspected_at(iso(d0 + 302 * DAY), iso(d0 + 302 * DAY), "INS-3")),
                       (310, _inspected_at(iso(d0 + 110 * DAY), iso(d0 + 310 * DAY), "INS-LATE"))):
        f, got = _run_to(f, entry, d0 + day * DAY)
        outs += got
    f, got = _run_to(f, None, d0 + 400 * DAY)
    outs += got
    steps = [(o.event["data"].get("action"), (epoch(o.event["time"]) - d0) // DAY) for o in outs]
    # Told when it was back each time (day 100: the cycle from day 0; day 300: from day 103), and
    # the cycle from day 302 runs on: told on day 362, missed on day 369, referred after the hold.
    assert steps[:2] == [("coverage_missed", 100), ("coverage_missed", 300)]
    assert [s for s in steps if s[0] in ("duty_failure", None)] == [("duty_failure", 369), (None, 370)]
    assert coverage.spells(f) == [(d0 + 10 * DAY, d0 + 100 * DAY), (d0 + 120 * DAY, d0 + 300 * DAY)]
    assert enterprise_view(f, RULES, d0 + 400 * DAY)["closed_spells"] == [
        {"from": iso(d0 + 10 * DAY), "until": iso(d0 + 100 * DAY)},
        {"from": iso(d0 + 120 * DAY), "until": iso(d0 + 300 * DAY)}]
    from engine.tools.show import render_enterprise

    assert (f"  closed: {iso(d0 + 10 * DAY)} to {iso(d0 + 100 * DAY)}, {iso(d0 + 120 * DAY)} to "
            f"{iso(d0 + 300 * DAY)}") in render_enterprise(f, [], USCC, d0 + 400 * DAY).splitlines()


@pytest.mark.parametrize("late", [False, True])
def test_an_enterprise_never_classified_is_closed_and_registered_again(late: bool) -> None:
    """No class, no inspection: no cycle to reckon when it is back. (Until 2026-12-05 the reckoning
    raised on an enterprise with no cycle at all, and the registration went to the dead letters.)"""
    d0 = at("2026-11-05 10:00")
    back = registered(time=iso(d0 + 10 * DAY))
    f, outs = _file(registered(), _closing(d0),
                    {**back, "arrived_at": iso(d0 + 30 * DAY)} if late else back, now=d0 + 30 * DAY)
    assert outs == [] and f.status() == "registered" and f.registered_at == d0 + 10 * DAY
    assert enterprise_view(f, RULES, d0 + 30 * DAY)["closed_spells"] == [
        {"from": iso(d0), "until": iso(d0 + 10 * DAY)}]


def test_a_file_stored_before_closures_were_kept_reads_its_latest_spell_and_keeps_the_next() -> None:
    """A file stored before 2026-12-05 has its latest closure and registration only: they stand for
    its spells, and the next closure or registration keeps them beside itself."""
    d0 = at("2026-11-05 10:00")
    f, _ = _file(registered(), _closing(d0), registered(time=iso(d0 + 10 * DAY)))
    old = replace(f, closures=[], registrations=[])  # as such a file loads
    assert coverage.spells(old) == [(d0, d0 + 10 * DAY)] == coverage.spells(f)
    old, _ = decide_enterprise(old, _closing(d0 + 20 * DAY), COVERAGE, d0 + 20 * DAY)
    assert (old.closures, old.registrations) == ([d0, d0 + 20 * DAY], [d0 + 10 * DAY])
    assert coverage.spells(old) == [(d0, d0 + 10 * DAY), (d0 + 20 * DAY, None)]


def test_a_registration_recorded_late_while_the_enterprise_is_closed_again_raises_its_open_spells_miss(
        ) -> None:
    """Orange (60 days), inspected on day 0, closed on day 10 and again on day 150 (a second closure
    record). Its registration again on day 20 reaches the engine on day 200: it was open from day
    20 to day 150 and its cycle ran out on day 60 uninspected, so time order has the lead
    department's miss on day 67. The miss is raised now, dated then, and so is its referral, its hold
    long over."""
    d0 = at("2026-11-05 10:00")
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"),
                 _inspected_at(iso(d0), iso(d0), "INS-1"))
    for day in (10, 150):
        f, got = _run_to(f, _closing(d0 + day * DAY), d0 + day * DAY)
        assert got == []  # nothing is owed while it is closed, as far as the engine knows
    back = {**registered(time=iso(d0 + 20 * DAY)), "arrived_at": iso(d0 + 200 * DAY)}
    f, got = _run_to(f, back, d0 + 200 * DAY)
    f, later = _run_to(f, None, d0 + 400 * DAY)
    steps = [(o.event["type"], o.event["data"].get("action"), (epoch(o.event["time"]) - d0) // DAY)
             for o in got + later]
    assert steps[:2] == [("safety.escalation.raised", "coverage_missed", 60),
                         ("safety.escalation.raised", "duty_failure", 67)]
    assert steps[2] == ("safety.referral.discipline", None, 68)  # sent now, dated when its hold ended
    assert later == []
    assert f.missed[0][:3] == [d0, eod(d0 + 67 * DAY), "safety_bureau"]
    assert coverage.spells(f) == [(d0 + 10 * DAY, d0 + 20 * DAY), (d0 + 150 * DAY, None)]
    assert enterprise_view(f, RULES, d0 + 400 * DAY)["closed_spells"][-1] == {
        "from": iso(d0 + 150 * DAY), "until": None}


def test_the_notice_of_a_cycle_no_longer_running_is_withdrawn_when_time_order_never_gave_it() -> None:
    """Red (30 days), inspected on day 0 and on day 31, the town safety office told on day 30 that the
    cycle from day 0 ran out. A closure on day 2, reaching the engine on day 40, shows the
    enterprise closed until day 31.5: the inspection on day 31 came while it was closed, and time
    order never told the office. The notice is withdrawn, though that cycle stopped running on day
    31 (until 2026-12-05 only the running cycle's notice was), and no other is."""
    d0 = at("2026-11-05 10:00")
    f, _ = _file(registered(), classified("red", True, "2026-11-01 10:00"),
                 _inspected_at(iso(d0), iso(d0), "INS-1"))
    f, told = _run_to(f, _inspected_at(iso(d0 + 31 * DAY), iso(d0 + 31 * DAY), "INS-2"), d0 + 31 * DAY)
    assert [o.event["data"]["action"] for o in told] == ["coverage_missed"]
    assert f.notices == [[d0, eod(d0 + 30 * DAY), "red", 0, eod(d0 + 30 * DAY)]]
    assert b'"notices":{"columns":["cycle_base","told_at","risk_class","run","sent_at"]' in pack(f)  # by name
    assert unpack(pack(f), EnterpriseFile).notices == f.notices
    f, _ = _run_to(f, registered(time=iso(d0 + 31 * DAY + DAY // 2)), d0 + 31 * DAY + DAY // 2)
    closing = {**_closing(d0 + 2 * DAY), "arrived_at": iso(d0 + 40 * DAY)}
    f, got = _run_to(f, closing, d0 + 40 * DAY)
    [withdrawn] = got
    d = withdrawn.event["data"]
    OUTPUT_TYPES["safety.escalation.raised"][1].model_validate(d)
    assert (d["action"], d["targets"][0]["id"]) == ("notice_withdrawn", "lihaiwu_safety_office")
    assert d["reason"].startswith(f"The notice that key enterprise {ENTERPRISE['name']} (red) was not "
                                  f"inspected within 30 days of {iso(d0)} is withdrawn: the enterprise was "
                                  f"closed from {iso(d0 + 2 * DAY)}")
    assert "已关闭" in d["reason_zh"] and withdrawn.id != told[0].id
    assert f.notices == [] and f.missed == []


@pytest.mark.parametrize("late", [False, True])
def test_an_enterprise_classified_before_it_was_registered_owes_nothing_till_then(late: bool) -> None:
    """Classified a key enterprise (orange, 60 days) on 1 Nov before the engine had it registered.
    Registered on day 100: nothing was owed before, so the cycle runs out when it is registered, the
    lead department has its 7 days after that, and no step is dated before (until 2026-12-05 the
    registration raised the town safety office's notice dated day 60 and the department's miss
    dated day 67, with a referral, at once). Registered on day 0, that record reaching the engine
    only on day 100: the duty ran all along, and the miss time order had is raised, dated then."""
    d0 = at("2026-11-01 10:00")
    f, _ = _file(classified("orange", True, "2026-11-01 10:00"))
    assert f.status() == "unregistered" and f.clocks == {}
    on = d0 + (1 if late else 100) * DAY
    record = registered(time=iso(on))
    f, got = _run_to(f, {**record, "arrived_at": iso(d0 + 100 * DAY)} if late else record, d0 + 100 * DAY)
    f, later = _run_to(f, None, d0 + 200 * DAY)
    steps = [(o.event["data"].get("action"), (epoch(o.event["time"]) - d0) // DAY) for o in got + later
             if o.event["type"] == "safety.escalation.raised"]
    assert f.first_registered == on
    if late:
        assert steps[:3] == [("coverage_missed", 60), ("duty_failure", 67), ("discipline_referral", 68)]
    else:
        assert steps[:3] == [("coverage_missed", 100), ("duty_failure", 107), ("discipline_referral", 108)]


def test_an_inspection_after_the_missed_cycle_leaves_the_failure() -> None:
    f, _, due = _missed_once()
    late = _inspected_at(iso(due + 3600), iso(due + 2 * 3600))
    f, got = decide_enterprise(f, late, COVERAGE, due + 2 * 3600)
    assert got == [] and f.duty_fails == {"safety_bureau": 1}
    assert [o.event["type"] for o in _tick(f, due + DAY)] == ["safety.referral.discipline",
                                                            "safety.escalation.raised"]


def test_without_late_arrival_the_referral_goes_at_once_and_is_withdrawn_when_answered() -> None:
    er = EnterpriseRules(replace(RULES, late_after=None), PLAN.coverage, PLAN.credit)
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"))
    due = eod(at("2026-11-01 10:00") + 67 * DAY)
    for when in (due - 7 * DAY, due):
        f, outs = decide_enterprise(f, clock_entry(f.id, when, "enterprise"), er, when)
    assert [o.event["type"] for o in outs][1:] == ["safety.referral.discipline", "safety.escalation.raised"]
    assert f.missed[0][4] == "sent" and f.next_due() is None
    f, got = decide_enterprise(f, _inspected_at(iso(due - DAY), iso(due + DAY)), er, due + DAY)
    assert [o.event["type"] for o in got].count("safety.referral.withdrawn") == 1


def test_a_held_referral_waits_while_the_coverage_rules_are_gone() -> None:
    f, _, due = _missed_once()
    assert "refer" in f.clocks
    f, outs = decide_enterprise(f, clock_entry(f.id, due + DAY, "enterprise"), RULES, due + DAY)
    assert outs == [] and f.missed[0][4] == "held" and f.clocks == {}


def test_a_held_referral_is_stored_by_name_and_loads_back() -> None:
    f, _, due = _missed_once()
    raw = pack(f)
    assert b'"cycle_base","missed_at","department","started_by","referral"' in raw
    back = unpack(raw, EnterpriseFile)
    assert back.missed == f.missed and back.missed[0][4] == "held"


def _missed_cycles(er: EnterpriseRules, cycles: int) -> list[Any]:
    """A key orange enterprise never inspected for `cycles` cycles (inspected late after each miss)."""
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"))
    outs: list[Any] = []
    for n in range(cycles):
        due = f.next_due()
        f, got = decide_enterprise(f, clock_entry(f.id, due, "enterprise"), er, due)
        outs += got
        due = f.next_due()
        f, got = decide_enterprise(f, clock_entry(f.id, due, "enterprise"), er, due)
        outs += got
        [late] = [e for e in inspection(iso(due + DAY), [], inspection_id=f"INS-L{n}")
                  if e["subject_kind"] == "enterprise"]
        late = {**late, "subject": USCC, "data": {**late["data"], "enterprise": {"uscc": USCC, "name": "x"}}}
        f, got = decide_enterprise(f, late, er)
        outs += got
    return outs


def test_a_departments_missed_cycle_is_referred_to_discipline_inspection_like_a_hazards() -> None:
    """referral.duty_failure (threshold 1, "一律"): the lead department, never the enterprise, is referred."""
    outs = _missed_cycles(COVERAGE, 1)
    [referral] = [o for o in outs if o.topic == "referrals.discipline"]
    d = referral.event["data"]
    OUTPUT_TYPES[referral.event["type"]][1].model_validate(d)
    assert (d["subject_kind"], d["subject_id"], d["grounds"]) == (
        "department", "safety_bureau", "duty_failure")
    assert d["respondents"] == [{"kind": "department", "id": "safety_bureau", "name": "区安监局"}]
    assert USCC not in json.dumps(d["respondents"]) and referral.key == "safety_bureau"
    assert [step["what"].split(":")[0] for step in d["timeline"]] == [
        "coverage cycle started (last inspection, or classification as a key enterprise)",
        "cycle ran out", "still not inspected"]
    [told] = [o.event["data"] for o in outs if o.event["type"] == "safety.escalation.raised"
              and o.event["data"]["action"] == "discipline_referral"]
    OUTPUT_TYPES["safety.escalation.raised"][1].model_validate(told)
    assert told["tier"] == "red" and told["subject_kind"] == "enterprise"
    assert {t["id"] for t in told["targets"]} == {"discipline_inspection", "safety_bureau"}
    assert [o.id for o in _missed_cycles(COVERAGE, 1)] == [o.id for o in outs]  # a replay: the same ids


def test_a_coverage_referral_names_the_officials_who_answer_for_the_department(tmp_path) -> None:
    """As a hazard's referral does: the department, then its officials if the reference names them."""
    rules = load_rules(edited_rules(tmp_path, "reference/departments.yaml", "    name: 区安监局\n",
                                    "    name: 区安监局\n    officials:\n"
                                    "      - {id: sb-deputy, name: 张某, post: 分管副局长}\n"))
    outs = _missed_cycles(EnterpriseRules(rules, PLAN.coverage, PLAN.credit), 1)
    [referral] = [o for o in outs if o.topic == "referrals.discipline"]
    assert referral.event["data"]["respondents"] == [
        {"kind": "department", "id": "safety_bureau", "name": "区安监局"},
        {"kind": "official", "id": "sb-deputy", "name": "区安监局分管副局长 张某"}]
    [told] = [o.event["data"] for o in outs if o.event["data"].get("action") == "discipline_referral"]
    assert {t["kind"] for t in told["targets"]} == {"department"}


def test_a_higher_referral_threshold_refers_only_the_repeated_miss() -> None:
    """With referral.duty_failure.threshold 2 the first missed cycle is escalated, the second referred."""
    ground = replace(RULES.duty_failures, threshold=2)
    er = EnterpriseRules(replace(RULES, duty_failures=ground), PLAN.coverage, PLAN.credit)
    assert [o for o in _missed_cycles(er, 1) if o.topic == "referrals.discipline"] == []
    [referral] = [o for o in _missed_cycles(er, 2) if o.topic == "referrals.discipline"]
    assert "2 time(s)" in referral.event["data"]["reason"]


def _missed_in_a_row(er: EnterpriseRules, cycles: int) -> tuple[EnterpriseFile, list[int], list[Any]]:
    """Like `_missed_cycles`, with each cycle's referral released; the file, each cycle's
    missed-at time, and every output."""
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"))
    missed_at: list[int] = []
    outs: list[Any] = []
    for n in range(cycles):
        for _step in range(2):
            due = f.next_due()
            f, got = decide_enterprise(f, clock_entry(f.id, due, "enterprise"), er, due)
            outs += got
        missed_at.append(due)
        if "refer" in f.clocks:
            f, got = decide_enterprise(f, clock_entry(f.id, f.clocks["refer"], "enterprise"), er,
                                       f.clocks["refer"])
            outs += got
        f, got = decide_enterprise(f, _inspected_at(iso(due + 2 * DAY), iso(due + 2 * DAY), f"INS-R{n}"), er)
        outs += got
    return f, missed_at, outs


def test_with_a_threshold_of_2_a_withdrawn_first_failure_withdraws_the_second_cycles_referral() -> None:
    """Two missed cycles referred the lead department at the second. The first cycle's inspection,
    done in time, then arrives: the department failed once, under the threshold, so the second
    cycle's referral is withdrawn too; its failure stands."""
    er = EnterpriseRules(replace(RULES, duty_failures=replace(RULES.duty_failures, threshold=2)),
                         PLAN.coverage, PLAN.credit)
    f, missed_at, outs = _missed_in_a_row(er, 2)
    [referral] = [o for o in outs if o.event["type"] == "safety.referral.discipline"]
    assert [m[4] for m in f.missed] == [None, "sent"]
    arrived = missed_at[1] + 5 * DAY
    f, got = decide_enterprise(f, _inspected_at(iso(missed_at[0] - DAY), iso(arrived)), er, arrived)
    [withdrawal] = [o for o in got if o.event["type"] == "safety.referral.withdrawn"]
    assert withdrawal.event["data"]["referral_id"] == referral.event["data"]["referral_id"]
    assert "under the threshold of 2" in withdrawal.event["data"]["reason"]
    assert ("区安监局 此前的一次失职认定：本周期的失职为第 1 次，未达移送所需的 2 次"
            in withdrawal.event["data"]["reason_zh"])
    actions = sorted(o.event["data"]["action"] for o in got if o.event["type"] == "safety.escalation.raised")
    assert actions == ["failure_withdrawn", "referral_withdrawn"]
    assert f.duty_fails == {"safety_bureau": 1} and [m[1] for m in f.missed] == [missed_at[1]]
    assert f.missed[0][4] is None


def test_with_a_threshold_of_2_a_withdrawn_first_failure_moves_the_referral_to_the_next() -> None:
    """Three missed cycles: the second's referral sent, the third's held. The first cycle's
    inspection arrives: the second cycle's failure is now the first and its referral is
    withdrawn; the third's is the second, and its referral still goes."""
    er = EnterpriseRules(replace(RULES, duty_failures=replace(RULES.duty_failures, threshold=2)),
                         PLAN.coverage, PLAN.credit)
    f, missed_at, _ = _missed_in_a_row(er, 2)
    for _step in range(2):  # the third cycle runs out; its referral is held
        due = f.next_due()
        f, _ = decide_enterprise(f, clock_entry(f.id, due, "enterprise"), er, due)
    assert [m[4] for m in f.missed] == [None, "sent", "held"]
    f, got = decide_enterprise(f, _inspected_at(iso(missed_at[0] - DAY), iso(due + 3600)), er, due + 3600)
    assert [o.event["type"] for o in got].count("safety.referral.withdrawn") == 1
    assert [m[4] for m in f.missed] == [None, "held"] and f.duty_fails == {"safety_bureau": 2}
    assert [o.event["type"] for o in _tick(f, due + DAY)] == ["safety.referral.discipline",
                                                            "safety.escalation.raised"]


def test_a_department_that_inspected_on_the_last_day_of_its_grace_did_its_duty() -> None:
    """Red (30 days, 7 days' grace), last inspected on 2 Nov at 10:00, inspected again on 9 Dec at
    15:00: day 37 counted from 3 Nov, in time when days are counted as the law counts them (民法典
    arts. 201, 203), as the hazards' deadlines are. The town safety office is told at the end of 2
    Dec; no duty failure and no referral to discipline inspection. Until 2026-12-07 the days were
    counted in seconds from 10:00: the failure went at 10:00 on 9 Dec, the inspection five hours
    later did not answer it, and the department was referred on 10 Dec."""
    f, _ = _file(registered(), classified("red", True, "2026-11-01 09:00"),
                 _inspected_at("2026-11-02 10:00", "2026-11-02 10:00", "INS-A"))
    inspected = at("2026-12-09 15:00")
    sent: list[Any] = []
    while f.next_due() is not None and f.next_due() < inspected:
        f, got = _fired(f, f.next_due())
        sent += got
    assert [(o.event["data"]["action"], o.event["time"]) for o in sent] == [
        ("coverage_missed", "2026-12-02T23:59:59+08:00")]
    assert f.next_due() == end_of("2026-12-09")
    f, got = decide_enterprise(f, _inspected_at("2026-12-09 15:00", "2026-12-09 15:00", "INS-B"), COVERAGE,
                               inspected)
    sent += got
    while f.next_due() is not None and f.next_due() <= at("2026-12-11 00:00"):
        f, got = _fired(f, f.next_due())
        sent += got
    assert [o.event["data"].get("action") or o.event["type"] for o in sent] == ["coverage_missed"]
    assert f.missed == [] and f.next_due() == end_of("2027-01-08")


def _run_until(f: EnterpriseFile, until: int) -> tuple[EnterpriseFile, list[tuple[str, str]]]:
    """Fire the file's clocks up to `until` on the shipped rules: the file, and each output's
    action (or type) and time."""
    sent: list[tuple[str, str]] = []
    while f.next_due() is not None and f.next_due() <= until:
        when = f.next_due()
        f, got = _fired(f, when, SHIPPED)
        sent += [(o.event["data"].get("action") or o.event["type"], o.event["time"]) for o in got]
    return f, sent


def test_a_cycle_whose_last_day_is_in_the_national_day_holiday_runs_to_the_first_working_day_after() -> None:
    """Red (30 days, 7 days' grace), classified key on 1 Sep 2026: day 30 is 1 October, National Day,
    rested 1-7 October by the State Council's notice, so the cycle ends with Thursday 8 October
    (民法典 art. 203 para. 1; rules/hazards.yaml `periods`). The grace counts from there and ends on
    Thursday 15 October; the referral follows a day later. Until 2026-12-07 the town safety office
    was told on 1 October and the department failed on 8 October."""
    f, _ = _file(registered(time="2026-08-01 09:00"),
                 classified("red", True, "2026-09-01 10:00", time="2026-09-01 10:00"), er=SHIPPED)
    assert f.next_due() == end_of("2026-10-08")
    f, sent = _run_until(f, end_of("2026-10-16"))
    assert sent == [
        ("coverage_missed", "2026-10-08T23:59:59+08:00"),
        ("duty_failure", "2026-10-15T23:59:59+08:00"),
        ("safety.referral.discipline", "2026-10-16T23:59:59+08:00"),
        ("discipline_referral", "2026-10-16T23:59:59+08:00")]


def test_a_grace_whose_last_day_is_a_holiday_is_met_by_an_inspection_on_the_first_working_day_after() -> None:
    """Red, classified key on 25 Aug 2026: the cycle ends on Thursday 24 September, and the 7 days'
    grace on 1 October, National Day, so it runs to the end of Thursday 8 October. An inspection at
    15:00 that day is in time: the town safety office was told, the department did its duty."""
    f, _ = _file(registered(time="2026-08-01 09:00"),
                 classified("red", True, "2026-08-25 10:00", time="2026-08-25 10:00"), er=SHIPPED)
    f, sent = _run_until(f, at("2026-10-08 15:00"))
    assert sent == [("coverage_missed", "2026-09-24T23:59:59+08:00")]
    assert f.next_due() == end_of("2026-10-08")
    f, got = decide_enterprise(f, _inspected_at("2026-10-08 15:00", "2026-10-08 15:00", "INS-HOL"), SHIPPED,
                               at("2026-10-08 15:00"))
    f, later = _run_until(f, end_of("2026-10-20"))
    assert [o.event["type"] for o in got] == [] and later == []
    assert f.missed == [] and f.next_due() == end_of("2026-11-09")


def test_an_expert_check_neither_restarts_a_key_enterprises_cycle_nor_answers_its_miss() -> None:
    """Red (30 days) from its classification on 1 Nov; on 20 Nov only an expert check (专家检查), which is
    not law enforcement (contract section 3), where the plans (line 864) want key enterprises inspected
    by "按明确的时间周期固定开展'全覆盖'执法检查". The cycle runs out at the end of 1 Dec all the same, and
    an expert check recorded late, dated before the lead department's miss, does not answer it. The
    checks stay on the record, the latest as the file's last inspection. Until 2026-12-07 the expert
    check restarted the cycle: nothing went to the town safety office on 1 Dec."""
    f, _ = _file(registered(), classified("red", True, "2026-11-01 10:00"),
                 _inspected_at("2026-11-20 10:00", "2026-11-20 10:00", "EXP-1", kind="expert_check"))
    assert f.next_due() == end_of("2026-12-01") and f.inspections == 0 and f.months == {}
    assert f.last_inspection[1:3] == ["EXP-1", "expert_check"]
    line = f.recent[-1][2]
    assert line == "inspection EXP-1 (expert_check, not law enforcement): 0 finding(s)"
    assert Words("zh", RULES.reference).record(line) == "专家检查 EXP-1（非执法检查）：发现隐患 0 项"
    f, town = _fired(f, end_of("2026-12-01"))
    f, lead = _fired(f, end_of("2026-12-08"))
    assert [o.event["data"]["action"] for o in town + lead] == ["coverage_missed", "duty_failure"]
    late = _inspected_at("2026-12-05 10:00", "2026-12-09 10:00", "EXP-2", kind="expert_check")
    f, got = decide_enterprise(f, late, COVERAGE, at("2026-12-09 10:00"))
    assert got == [] and f.duty_fails == {"safety_bureau": 1} and len(f.missed) == 1
    # A law-enforcement inspection after it starts the next cycle, the expert check the last one on file.
    f, _ = decide_enterprise(f, _inspected_at("2026-12-10 10:00", "2026-12-10 10:00", "INS-1"), COVERAGE,
                             at("2026-12-10 10:00"))
    f, _ = decide_enterprise(f, _inspected_at("2026-12-12 10:00", "2026-12-12 10:00", "EXP-3",
                                              kind="expert_check"), COVERAGE, at("2026-12-12 10:00"))
    assert f.next_due() == end_of("2027-01-09") and f.inspections == 1
    assert f.last_inspection[1] == "EXP-3" and coverage.cycle_base(f) == at("2026-12-10 10:00")


def test_an_inspection_before_the_cycle_ends_starts_the_next_one() -> None:
    """Inspected on the last of the 60 days, before it ended: nothing fires; the next cycle runs from it."""
    day = DAY
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"))
    due = eod(at("2026-11-01 10:00") + 60 * day)
    [inspected] = [e for e in inspection("2026-12-31 09:59", [], inspection_id="INS-C") if
                   e["subject_kind"] == "enterprise"]
    inspected = {**inspected, "subject": USCC, "data": {**inspected["data"],
                                                        "enterprise": {"uscc": USCC, "name": "x"}}}
    assert at("2026-12-31 09:59") < due
    f, outs = decide_enterprise(f, inspected, _coverage_rules())
    assert outs == [] and f.next_due() == eod(at("2026-12-31 09:59") + 60 * day)
    assert _tick(f, due) == []


@pytest.mark.parametrize("key", [False, True])
def test_only_registered_key_enterprises_have_a_coverage_clock(key: bool) -> None:
    """A non-key enterprise is left to the random draw; a closed key one has no clock."""
    f, _ = _file(registered(), classified("red", key, "2026-11-01 10:00"))
    assert (f.next_due() is not None) is key
    [closing] = event("safety.enterprise.closed", "2026-11-05 09:00",
                      {"uscc": USCC, "reason": "Closed down.", "by": SUPERVISOR}, USCC)
    f, _ = decide_enterprise(f, closing, _coverage_rules())
    assert f.next_due() is None


# --- refusing inspection (拒绝、阻碍检查) ----------------------------------------------------------

def _refusal(time: str, iid: str, *, findings: list[dict[str, Any]] | None = None,
             outcome: str = "refused") -> dict[str, Any]:
    """A `safety.inspection.recorded` with outcome refused (or `outcome`), through the real intake; its
    enterprise entry."""
    entries = event("safety.inspection.recorded", time, {
        "inspection_id": iid, "kind": "unannounced", "inspectors": INSPECTORS, "outcome": outcome,
        "enterprise": {"uscc": USCC, "name": ENTERPRISE["name"]},
        "location": {"town": "lihaiwu", "address": "No. 8 Binhe Road"}, "findings": findings or []}, iid)
    [entry] = [e for e in entries if e["subject_kind"] == "enterprise"]
    return entry


def test_a_refused_inspection_is_proposed_for_the_credit_list_and_not_counted_as_done() -> None:
    """One refusal (credit.refused_inspection, count 1) asks a person; the file keeps it, not as done."""
    rp = _district(registered(), _refusal("2026-11-03 10:00", "INS-R1"))
    [proposal] = [o for o in rp.outputs if o.topic == "credit.proposals"]
    d = proposal.event["data"]
    OUTPUT_TYPES[proposal.event["type"]][1].model_validate(d)
    assert d["criterion"] == "refused_inspection" and d["needs_decision"] is True
    assert d["evidence"] == [{"inspection_id": "INS-R1", "refused_at": ts("2026-11-03 10:00")}]
    assert d["reason_zh"].endswith(" 日内 1 次拒绝、阻碍检查：INS-R1")
    assert "应急管理部令第11号" in d["legal_basis"] and "not confirmed" in d["legal_basis"]
    view = enterprise_view(rp.state("enterprise", USCC), RULES, at("2026-11-04 00:00"))
    assert view["refused_inspections"] == [{"inspection_id": "INS-R1", "time": ts("2026-11-03 10:00")}]
    assert view["inspections"] == 0 and view["last_inspection"] is None
    assert view["credit"]["listed"] == []  # a proposal is not a listing


def test_a_corrected_refusal_withdraws_the_set_it_was_proposed_in_after_a_late_refusal_came_between() -> None:
    """Two refusals needed: INS-R1 (January) and INS-R2 (March) are proposed. INS-R0 (February), from
    an app offline, comes after; then any hazard's link; then INS-R1 is corrected to completed. The
    proposal that counted INS-R1 is withdrawn. Until the review of 2026-12-07 the hazard's link dropped
    the refusals' set, the correction rebuilt it from the refusals on file (INS-R0 and INS-R1), named
    another proposal, and the one that counted INS-R1 stood."""
    rules = _with_credit(refused_inspection={"count": 2})
    rp = _district(registered(), _refusal("2027-01-01 10:00", "INS-R1"),
                   _refusal("2027-03-01 10:00", "INS-R2"), plan_rules=rules)
    [proposal] = _credit(rp, "safety.credit.proposed")
    rp.feed(_late(_refusal("2027-02-01 10:00", "INS-R0"), "2027-03-05 10:00"))
    rp.feed(report("HZ-9", "2027-03-06 09:00"))
    rp.feed(_refusal("2027-01-01 10:00", "INS-R1", outcome="completed"))
    assert proposal["proposal_id"] in {d["proposal_id"] for d in _credit(rp, "safety.credit.withdrawn")}


def test_a_refusal_corrected_to_completed_withdraws_its_credit_proposal() -> None:
    """INS-R1 recorded refused (拒绝、阻碍检查) proposed the enterprise for the credit list; the app then
    sent the same inspection again, completed: a correction (an inspection sent again is "a tablet's
    retry, or a correction"). The record shows it done, not refused: it counts as done, the refusal
    leaves the file, and the proposal that counted it is withdrawn, saying why, in Chinese too: a
    refusal the record no longer shows is no ground for listing. Until 2026-12-07 the file counted
    the inspection done and kept the refusal, and its proposal stood."""
    rp = _district(registered(), _refusal("2026-11-03 10:00", "INS-R1"))
    [proposal] = _credit(rp, "safety.credit.proposed")
    rp.feed(_refusal("2026-11-03 10:00", "INS-R1", outcome="completed"))
    f = rp.state("enterprise", USCC)
    assert f.inspections == 1 and f.last_inspection[1] == "INS-R1" and f.refusals == {}
    withdrawn = _the_withdrawal(rp, proposal, None, "撤回信用惩戒建议：检查 INS-R1（")
    assert withdrawn["decided"] is None
    assert _credit(rp, "safety.credit.proposed") == [proposal]  # nothing else proposed
    line = f.recent[-1][2]
    assert line == (f"credit proposal {proposal['proposal_id']} withdrawn: inspection INS-R1 was recorded "
                    "again as completed")
    assert Words("zh", RULES.reference).record(line) == (
        f"撤回信用惩戒建议 {proposal['proposal_id']}：检查 INS-R1 已更正为完成检查")


def _actions(outs: list[Any]) -> list[str]:
    return [o.event["data"]["action"] for o in outs if o.event["type"] == "safety.escalation.raised"]


def test_a_completed_inspection_corrected_to_refused_counts_as_refused_not_as_done() -> None:
    """INS-1, recorded done on 5 November, started the key enterprise's next cycle; in January the app
    sent the same inspection again, refused: the later record supersedes the earlier one. It counts
    as refused (its credit proposal goes, count 1) and no longer as done: not among the inspections,
    nor in its month, nor as the last inspection, and it ends no cycle. So the cycle from the
    classification ran out on 31 December, uninspected: the town safety office is told now, dated
    then, and the lead department's step comes at the end of the grace days. The record says so,
    in Chinese too. Until 2026-12-07 the file counted it done and refused at once, and the cycle
    ran from it."""
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"),
                 _inspected_at("2026-11-05 10:00", "2026-11-05 10:00", "INS-1"))
    assert f.inspections == 1
    now = at("2027-01-03 10:00")
    f, outs = decide_enterprise(f, _late(_refusal("2026-11-05 10:00", "INS-1"), "2027-01-03 10:00"),
                                COVERAGE, now)
    assert (f.inspections, f.months, f.inspected, f.last_inspection) == (0, {}, [], None)
    assert f.refusals == {"INS-1": at("2026-11-05 10:00")}
    [proposal] = [o.event["data"] for o in outs if o.event["type"] == "safety.credit.proposed"]
    assert proposal["criterion"] == "refused_inspection"
    [town] = [o for o in outs if o.event["type"] == "safety.escalation.raised"]
    due = eod(at("2026-11-01 10:00") + 60 * DAY)
    assert town.event["data"]["action"] == "coverage_missed" and town.event["time"] == iso(due)
    assert f.next_due() == eod(due + 7 * DAY)
    [line] = [r[2] for r in f.recent if "REFUSED" in r[2]]
    assert line.endswith(f"recorded again so: the inspection of {iso(at('2026-11-05 10:00'))} is no longer "
                         "counted as done")
    assert Words("zh", RULES.reference).record(line) is not None


def test_an_inspection_corrected_back_and_forth_counts_as_its_latest_record_says() -> None:
    """Done, then refused, then done again, then refused again: each record of INS-1 supersedes the
    one before, so the file counts it as done or as refused, never both, and each refusal's credit
    proposal stands only while the refusal does (withdrawn by the next correction; the next refusal
    is proposed under an id of its own)."""
    rp = _district(registered(), _refusal("2026-11-03 10:00", "INS-1", outcome="completed"))
    for outcome, done in (("refused", 0), ("completed", 1), ("refused", 0)):
        rp.feed(_refusal("2026-11-03 10:00", "INS-1", outcome=outcome))
        f = rp.state("enterprise", USCC)
        assert (f.inspections, list(f.refusals)) == (done, [] if done else ["INS-1"])
    proposed = [d["proposal_id"] for d in _credit(rp, "safety.credit.proposed")]
    withdrawn = [d["proposal_id"] for d in _credit(rp, "safety.credit.withdrawn")]
    assert len(set(proposed)) == 2 and withdrawn == proposed[:1]


def test_a_late_inspection_corrected_to_refused_raises_again_the_miss_it_withdrew() -> None:
    """The lead department missed the first cycle; an inspection dated in the grace days, reaching the
    engine during the referral's hold, withdrew the failure. Then the same inspection came again,
    refused: the duty was not done after all. The failure is raised again, dated when it fell due,
    under ids of a run of its own (the first ones went out and were withdrawn), and its referral
    waits its hold again; the town safety office's notice, which stood, is not told again."""
    f, outs, due = _missed_once()
    [first] = [o for o in outs if o.event["data"]["action"] == "duty_failure"]
    late = _inspected_at(iso(due - 2 * DAY), iso(due + 3 * 3600), "INS-G")
    f, got = decide_enterprise(f, late, COVERAGE, due + 3 * 3600)
    assert _actions(got) == ["failure_withdrawn"] and f.duty_fails == {"safety_bureau": 0}
    refused = _late(_refusal(iso(due - 2 * DAY), "INS-G"), iso(due + 6 * 3600))
    f, got = decide_enterprise(f, refused, COVERAGE, due + 6 * 3600)
    [again] = [o for o in got if o.event["type"] == "safety.escalation.raised"]
    assert again.event["data"]["action"] == "duty_failure" and again.event["time"] == iso(due)
    assert again.id != first.id
    assert f.duty_fails == {"safety_bureau": 1} and [m[4] for m in f.missed] == ["held"]
    assert f.next_due() == due + DAY


def test_an_inspection_corrected_to_refused_withdraws_what_its_own_cycle_escalated() -> None:
    """INS-1 started a cycle that ran out: the town safety office told, the lead department's
    failure, its referral sent. INS-1 is then recorded again as refused: the cycle it started was
    none, so each of those is withdrawn, saying why, in Chinese too; the cycle from the
    classification, which INS-1 no longer ended, ran out uninspected and is raised now, dated then."""
    f, done, _ = _orange_referred()
    [sent] = [m for m in f.missed if m[0] == done]
    now = eod(done + 70 * DAY)
    f, got = decide_enterprise(f, _late(_refusal("2026-11-05 10:00", "INS-1"), iso(now)), COVERAGE, now)
    actions = _actions(got)
    assert {"notice_withdrawn", "failure_withdrawn", "referral_withdrawn"} <= set(actions)
    assert "safety.referral.withdrawn" in {o.event["type"] for o in got}
    zh = Words("zh", RULES.reference)
    for o in got:
        if o.event["type"] in ("safety.escalation.raised", "safety.referral.withdrawn"):
            assert o.event["data"].get("reason_zh"), o.event["data"]["reason"]
    base = at("2026-11-01 10:00")
    raised = {o.event["data"]["action"]: o.event["time"] for o in got
              if o.event["type"] == "safety.escalation.raised"
              and o.event["data"]["action"] in ("coverage_missed", "duty_failure")}
    assert raised == {"coverage_missed": iso(eod(base + 60 * DAY)), "duty_failure": iso(eod(base + 67 * DAY))}
    assert sent not in f.missed and [m[0] for m in f.missed] == [base]
    assert all(zh.record(r[2]) is not None for r in f.recent)


@pytest.mark.parametrize(("second", "proposed"), [
    pytest.param(None, [], id="one-refusal"),
    pytest.param("2027-03-01 10:00", ["INS-R1,INS-R2"], id="two-within-the-window"),
    pytest.param("2027-12-01 10:00", [], id="the-second-outside-the-window"),
])
def test_the_refusal_threshold_comes_from_the_rules(second: str | None, proposed: list[str]) -> None:
    """With credit.refused_inspection count 2 in 365 days, a single refusal asks nobody."""
    entries = [registered(), _refusal("2026-11-03 10:00", "INS-R1")]
    if second:
        entries.append(_refusal(second, "INS-R2"))
    rp = _district(*entries, plan_rules=_with_credit(refused_inspection={"count": 2}))
    got = [o.event["data"] for o in rp.outputs if o.topic == "credit.proposals"]
    assert [",".join(e["inspection_id"] for e in d["evidence"]) for d in got] == proposed
    # A refusal older than the window counts no more, but the file keeps it (the latest RECENT by
    # time): a refusal recorded late, from within its window, may still make a set with it.
    assert set(rp.state("enterprise", USCC).refusals) == {"INS-R1", *(["INS-R2"] if second else [])}


@pytest.mark.parametrize(("kind", "findings", "words"), [
    pytest.param("unannounced", [finding("HZ-9")], "a refused inspection has no findings, got 1",
                 id="refused-with-findings"),
    pytest.param("expert_check", [], "an expert_check is not law enforcement", id="refused-expert-check"),
])
def test_a_refusal_that_cannot_be_one_is_rejected(kind: str, findings: list[Any], words: str) -> None:
    """Only a law-enforcement inspection can be refused, and it then found nothing."""
    inspectors = [INSPECTORS[0]] if kind == "expert_check" else INSPECTORS
    cloud = {"specversion": "1.0", "id": "ev-r", "source": "/apps/test", "type": "safety.inspection.recorded",
             "time": ts("2026-11-02 10:00"), "subject": "INS-X",
             "data": {"inspection_id": "INS-X", "kind": kind, "inspectors": inspectors, "outcome": "refused",
                      "enterprise": {"uscc": USCC, "name": "x"}, "location": {"town": "lihaiwu"},
                      "findings": findings}}
    out = decide_intake(Record("inspection.findings", 0, 1, None, json.dumps(cloud).encode(), 0), {}.get,
                        RULES.reference, contract_topic="inspection.findings")
    assert out.kind == "rejected" and words in _reasons(out)


def test_a_refused_inspection_does_not_start_a_new_coverage_cycle() -> None:
    """The key enterprise was not inspected: its cycle still runs out when it would have."""
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"))
    due = f.next_due()
    f, _ = decide_enterprise(f, _refusal("2026-12-20 10:00", "INS-R1"), COVERAGE)
    assert f.next_due() == due and f.refusals == {"INS-R1": at("2026-12-20 10:00")}


def test_a_late_record_leaves_a_miss_older_than_what_the_file_keeps_as_it_was_sent() -> None:
    """The lead department missed the first cycle and was referred; then the enterprise was inspected
    every month for more than two years, more inspections than the file keeps (`coverage.MISSED`),
    so the missed cycle started before the first one it still knows. An inspection that reaches the
    engine after a later one re-judges the cycles the file knows, and only those: the old miss, its
    notice to the town safety office and its referral stand (nothing to say they were wrong). The
    missed cycle ran from an inspection: neither it nor what started the cycle is on file any more."""
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"),
                 _inspected_at("2026-11-05 10:00", "2026-11-05 10:00", "INS-0"))
    due = eod(at("2026-11-05 10:00") + 67 * DAY)
    f, _ = _run_to(f, None, due + DAY)
    assert f.missed[0][4] == "sent" and f.missed[0][0] == at("2026-11-05 10:00")
    first = due + 2 * DAY
    for n in range(coverage.MISSED + 6):
        when = iso(first + n * 30 * DAY)
        f, got = decide_enterprise(f, _inspected_at(when, when, f"INS-M{n}"), COVERAGE, at(when))
        assert [o.event["data"].get("action") for o in got] == []
    assert f.inspected[0] > f.missed[0][0] and len(f.notices) == 1
    kept = ([list(m) for m in f.missed], dict(f.duty_fails), [list(n) for n in f.notices])
    latest = f.inspected[-1]
    late = _inspected_at(iso(latest - 10 * DAY), iso(latest + DAY), "INS-LATE")
    f, got = decide_enterprise(f, late, COVERAGE, latest + DAY)
    assert got == []
    assert ([list(m) for m in f.missed], dict(f.duty_fails), [list(n) for n in f.notices]) == kept


def test_a_file_keeps_its_latest_missed_cycles_and_counts_every_one() -> None:
    """A department that misses thirty cycles in a row: the file keeps the latest `coverage.MISSED`
    of them for a late inspection to answer (the state stays bounded), and counts all thirty."""
    f, missed_at, outs = _missed_in_a_row(COVERAGE, coverage.MISSED + 6)
    assert [m[1] for m in f.missed] == missed_at[-coverage.MISSED:]
    assert f.duty_fails == {"safety_bureau": coverage.MISSED + 6}
    assert len([o for o in outs if o.topic == "referrals.discipline"]) == coverage.MISSED + 6


def test_a_registration_updated_while_open_opens_no_closed_spell() -> None:
    """Registered on 1 Aug, its registration updated on 3 Oct (a new address) while it was open,
    closed on 1 Dec. Only 1 Dec starts a spell closed: the enterprise owed its cycles all along, so
    the closure, after the miss of 7 Oct, leaves that miss and its referral as they were sent."""
    f, _ = _file(registered(time="2026-08-01 09:00"),
                 classified("orange", True, "2026-08-01 10:00", time="2026-08-01 10:00"))
    due = eod(at("2026-08-01 10:00") + 67 * DAY)
    moved = registered(time="2026-10-03 09:00", location={"town": "lihaiwu", "address": "No. 9"})
    f, outs = _run_to(f, moved, at("2026-10-03 09:00"))
    f, sent = _run_to(f, None, due + DAY)
    assert [o.event["data"]["action"] for o in outs + sent if o.event["type"] == "safety.escalation.raised"
            ] == ["coverage_missed", "duty_failure", "discipline_referral"]
    closing = at("2026-12-01 09:00")
    f, got = _run_to(f, _closing(closing), closing)
    assert got == [] and coverage.spells(f) == [(closing, None)]
    assert f.missed[0][1] == due and f.missed[0][4] == "sent" and f.duty_fails == {"safety_bureau": 1}


def test_a_referral_sent_after_a_reclassification_names_the_cycle_as_it_ran_out() -> None:
    """Orange (60 days), never inspected: the lead department missed the cycle, and two hours later,
    while the referral waited out its hold, the enterprise was re-classified red. The referral,
    sent a day after the miss, names the orange cycle that ran out, not the red one."""
    f, first, due = _missed_once()
    f, got = _run_to(f, classified("red", True, iso(due + 7200), time=iso(due + 7200)), due + 7200)
    assert got == [] and f.risk_class == "red"
    f, sent = _run_to(f, None, due + DAY)
    [referral] = [o.event["data"] for o in sent if o.event["type"] == "safety.referral.discipline"]
    assert "its 60-day cycle from 2026-11-01T10:00:00+08:00 ran out" in referral["reason"]
    assert referral["timeline"][1]["time"] == iso(due - 7 * DAY)


@pytest.mark.parametrize(("later", "withdrawn"), [pytest.param(0, True, id="the-same-second"),
                                                  pytest.param(1, False, id="a-second-later")])
def test_a_closure_recorded_late_at_the_second_a_cycle_ran_out_comes_before_its_notice(
        later: int, withdrawn: bool) -> None:
    """Orange, never inspected: the cycle ran out and the town safety office was told; an inspection
    two days later started the next cycle. Then the record that the enterprise closed at the very
    second the cycle ran out comes in: a record of that second comes before the clock's step, so in
    time order the office was never told, and its notice is withdrawn. A closure a second later
    leaves the notice: it had been given."""
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"))
    ran_out = eod(at("2026-11-01 10:00") + 60 * DAY)
    f, town = _run_to(f, None, ran_out)
    assert [o.event["data"]["action"] for o in town] == ["coverage_missed"]
    inspected = iso(ran_out + 2 * DAY)
    f, got = _run_to(f, _inspected_at(inspected, inspected, "INS-1"), ran_out + 2 * DAY)
    assert got == [] and f.notices == [[at("2026-11-01 10:00"), ran_out, "orange", 0, ran_out]]
    closing = {**_closing(ran_out + later), "arrived_at": iso(ran_out + 3 * DAY)}
    f, got = _run_to(f, closing, ran_out + 3 * DAY)
    assert [o.event["data"]["action"] for o in got] == (["notice_withdrawn"] if withdrawn else [])


@pytest.mark.parametrize(("later", "withdrawn"), [pytest.param(0, True, id="the-same-second"),
                                                  pytest.param(1, False, id="a-second-later")])
def test_a_reclassification_recorded_late_at_the_second_a_cycle_ran_out_comes_before_its_notice(
        later: int, withdrawn: bool) -> None:
    """Orange (60 days), inspected on 5 Nov: the cycle from the inspection ran out and the town
    safety office was told. A re-classification to yellow (90 days), decided at that very second,
    reaches the engine a day later: it comes before the clock's step, so in time order the cycle ran
    on to its 90 days and the office was never told; the notice is withdrawn. Decided a second later,
    after the notice, it moves only the lead department's step: the notice stands."""
    f, _ = _file(registered(), classified("orange", True, "2026-11-01 10:00"),
                 _inspected_at("2026-11-05 10:00", "2026-11-05 10:00", "INS-1"))
    ran_out = eod(at("2026-11-05 10:00") + 60 * DAY)
    f, town = _run_to(f, None, ran_out)
    assert [o.event["data"]["action"] for o in town] == ["coverage_missed"]
    decided = iso(ran_out + later)
    record = {**classified("yellow", True, decided, time=decided), "arrived_at": iso(ran_out + DAY)}
    f, got = _run_to(f, record, ran_out + DAY)
    assert [o.event["data"]["action"] for o in got] == (["notice_withdrawn"] if withdrawn else [])
