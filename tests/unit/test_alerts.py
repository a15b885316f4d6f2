"""The alert core: grading, response levels, the A/B handover, report clocks, CAP, and its rule tests."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from decide_fixtures import ENTERPRISE, RULES, at, edited_rules, event, ts
from hypothesis import given, settings
from hypothesis import strategies as st
from test_decide_properties import timer_to_each_arrival

from engine.alerts import Alert, AlertReplay, Figures, classify, decide_alert, level_for, load_alert_rules
from engine.alerts.clocks import report_dues
from engine.alerts.replay import alert_clock_entry
from engine.cap import validate as cap_validate
from engine.contract.outputs import ALERTS_CAP, ESCALATIONS, NOTIFICATIONS, Escalation, NotificationDue
from engine.reference import RulesFileError
from engine.ruletest import cli, run_file
from engine.ruletest.capview import cap_view

REPO = Path(__file__).resolve().parents[2]
ALERT_RULES = load_alert_rules(REPO / "rules", RULES.reference)
FILES = sorted((REPO / "rules" / "tests" / "alerts").glob("*.yaml"))
INFO_OFFICER = {"id": "io-0101", "role": "info_officer", "name": "Chen Jie"}
FIRE_BRIGADE_ACK = {"unit": "fire_rescue", "by": {"id": "fr-007", "role": "inspector"}}


def raised(aid: str, time: str, *, kind: str = "fire", casualties: dict[str, int] | None = None,
           event_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """`safety.alert.raised` as the intake turns it into a timeline entry: by default at an
    enterprise's warehouse with one worker hurt, so a production-safety accident (493号令 art. 2;
    pass enterprise=None for none, casualties={} for no harm)."""
    data = {"alert_id": aid, "kind": kind, "description": "Smoke from a warehouse roof.",
            "location": {"town": "lihaiwu", "grid": "LHW-03", "address": "No. 8 Binhe Road"},
            "casualties": {"injured": 1} if casualties is None else casualties, "reporter": INFO_OFFICER,
            "enterprise": ENTERPRISE, **extra}
    data = {k: v for k, v in data.items() if v is not None}
    [entry] = event("safety.alert.raised", time, data, aid, event_id)
    return entry


def alert_event(type_: str, aid: str, time: str, **data: Any) -> dict[str, Any]:
    """Any other alert event (updated, acknowledged, closed)."""
    [entry] = event(f"safety.alert.{type_}", time, {"alert_id": aid, **data}, aid)
    return entry


def run(entries: list[dict[str, Any]], until: str, rules=ALERT_RULES) -> AlertReplay:
    """Feed entries at their own times, then run the clocks until `until`."""
    rp = AlertReplay(rules)
    for entry in entries:
        rp.advance_to(at(entry["time"]))
        rp.feed(entry)
    rp.advance_to(at(until))
    return rp


def escalations(rp: AlertReplay, action: str | None = None) -> list[dict[str, Any]]:
    """The data of every escalation sent, optionally of one action."""
    return [o.event["data"] for _, o in rp.outputs
            if o.topic == ESCALATIONS and action in (None, o.event["data"]["action"])]


def caps(rp: AlertReplay) -> list[dict[str, Any]]:
    """Every CAP document sent, as the rule tests see it."""
    return [cap_view(o.event["xml"]) for _, o in rp.outputs if o.topic == ALERTS_CAP]


# Each threshold of 493号令 art. 3, just below and at it: "以上" includes the number.
BOUNDARIES = [
    ({"dead": 2}, None, "general"), ({"dead": 3}, None, "large"),
    ({"dead": 9}, None, "large"), ({"dead": 10}, None, "major"),
    ({"dead": 29}, None, "major"), ({"dead": 30}, None, "especially_major"),
    ({"seriously_injured": 9}, None, "general"), ({"seriously_injured": 10}, None, "large"),
    ({"seriously_injured": 49}, None, "large"), ({"seriously_injured": 50}, None, "major"),
    ({"seriously_injured": 99}, None, "major"), ({"seriously_injured": 100}, None, "especially_major"),
    ({}, 9_990_000, "general"), ({}, 10_000_000, "large"),
    ({}, 49_990_000, "large"), ({}, 50_000_000, "major"),
    ({}, 99_990_000, "major"), ({}, 100_000_000, "especially_major"),
    ({}, 9_999_999.99, "general"), ({}, 99_999_999.99, "major"),
]


@pytest.mark.parametrize(("casualties", "loss", "grade"), BOUNDARIES,
                         ids=[f"{c or ''}{loss or ''}->{g}" for c, loss, g in BOUNDARIES])
def test_each_grade_boundary_is_classified_on_the_right_side(casualties, loss, grade):
    """Just below a threshold is the lower grade, at it the higher one."""
    assert classify(Figures.of(casualties, loss), ALERT_RULES)[0] == grade


def test_the_missing_count_with_the_dead_for_the_response_band_only_unless_the_rules_say_otherwise():
    """2 dead and 1 missing is 3 dead (死亡含失踪) for the response band; the 493 grade counts the dead
    alone (art. 3); without the rule the band does not count them either."""
    fig = Figures.of({"dead": 2, "missing": 1})
    band, reasons = classify(fig, ALERT_RULES, response=True)
    assert band == "large" and "incl. 1 missing" in reasons[0]
    assert classify(fig, ALERT_RULES)[0] == "general"
    assert "missing" not in classify(fig, ALERT_RULES)[1][0]
    apart = dataclasses.replace(ALERT_RULES, missing_count_as_dead=False)
    assert classify(fig, apart, response=True)[0] == "general"
    assert "missing" not in classify(fig, apart, response=True)[1][0]  # counted apart, left out
    assert "missing" not in classify(Figures.of({"dead": 3}), ALERT_RULES, response=True)[1][0]  # none


@pytest.mark.parametrize(("grade", "level"), [("general", "IV"), ("large", "III"), ("major", "II"),
                                              ("especially_major", "I")])
def test_each_grade_maps_to_its_response_level(grade, level):
    """特别重大 → I, 重大 → II, 较大 → III, 一般 → IV."""
    assert level_for(grade, False, None, ALERT_RULES)[0] == level


@pytest.mark.parametrize(("grade", "crowded", "evacuate", "level"), [
    ("general", True, None, "III"), ("general", False, 999, "IV"), ("general", False, 1000, "III"),
    ("general", True, 5000, "III"), ("large", True, None, "II"), ("especially_major", True, 2000, "I"),
])
def test_a_crowded_place_or_many_to_evacuate_raises_the_level_once_never_above_i(
        grade, crowded, evacuate, level):
    """Each raise is one level; both together still one; nothing goes above I. The reasons end with
    the level raised to, when it was raised."""
    got, reasons = level_for(grade, crowded, evacuate, ALERT_RULES)
    assert got == level
    assert (reasons[-1] == f"level {level}") is (level != level_for(grade, False, None, ALERT_RULES)[0])


def test_raising_activates_the_level_and_publishes_a_cap_alert():
    """A raised accident sends a response activation naming the kind's units, its 493 art. 10
    notifications, then a CAP Alert."""
    state, outs = decide_alert(None, raised("AL-U1", "2026-11-02 09:00", casualties={"dead": 3}),
                               ALERT_RULES)
    assert [o.topic for o in outs] == [ESCALATIONS, NOTIFICATIONS, ALERTS_CAP]
    notice = NotificationDue.model_validate(outs[1].event["data"])
    assert [r.id for r in notice.recipients] == ["public_security", "human_resources", "trade_union",
                                                 "procuratorate"]
    assert (notice.grade, notice.incident_class, notice.due_at.isoformat()) == \
        ("large", "production_accident", "2026-11-02T11:00:00+08:00")
    data = Escalation.model_validate(outs[0].event["data"])
    assert (data.action, data.response_level, data.tier, data.grade) == \
        ("response_activation", "III", None, "large")
    assert [(t.kind, t.id) for t in data.targets] == [("department", "fire_rescue"), ("town", "lihaiwu")]
    assert outs[2].event["type"] == "cap" and outs[2].key == "AL-U1"
    assert cap_validate(outs[2].event["xml"].encode()) == []
    assert state.clocks == {"handover": at("2026-11-02 09:10"), "report_county": at("2026-11-02 10:00"),
                            "report_city": at("2026-11-02 12:00"), "report_province": at("2026-11-02 14:00")}


def test_a_responder_acknowledgement_stops_the_chain_an_authority_one_does_not():
    """fire_rescue's ack ends the handover clock; district_emergency's records the county report."""
    state, _ = decide_alert(None, raised("AL-U2", "2026-11-02 09:00"), ALERT_RULES)
    state, outs = decide_alert(state, alert_event("acknowledged", "AL-U2", "2026-11-02 09:05",
                                                  unit="district_emergency", by=INFO_OFFICER), ALERT_RULES)
    assert outs == [] and "handover" in state.clocks and state.reported == {"county": at("2026-11-02 09:05")}
    assert "report_county" not in state.clocks
    state, outs = decide_alert(state, alert_event("acknowledged", "AL-U2", "2026-11-02 09:06",
                                                  **FIRE_BRIGADE_ACK), ALERT_RULES)
    assert outs == [] and state.status() == "acknowledged" and "handover" not in state.clocks


def test_city_report_is_due_two_hours_after_the_county_report_or_its_missed_due():
    """In time, the county report starts the city's 2 hours; a late one does not push it back."""
    in_time, _ = decide_alert(None, raised("AL-U3", "2026-11-02 09:00"), ALERT_RULES)
    in_time.reported["county"] = at("2026-11-02 09:20")
    assert report_dues(in_time, ALERT_RULES) == {"county": at("2026-11-02 10:00"),
                                                  "city": at("2026-11-02 11:20")}
    in_time.reported["county"] = at("2026-11-02 10:30")
    assert report_dues(in_time, ALERT_RULES)["city"] == at("2026-11-02 12:00")


def _late_county_report(reported: str, arrived: str) -> AlertReplay:
    """An accident at 09:00 whose county report, made at `reported`, reached the engine at `arrived`."""
    rp = AlertReplay(ALERT_RULES)
    rp.feed(raised("AL-U4", "2026-11-02 09:00"))
    rp.advance_to(at(arrived))
    ack = alert_event("acknowledged", "AL-U4", reported, unit="district_emergency", by=INFO_OFFICER)
    rp.feed(ack, now=at(arrived))
    rp.feed(ack, now=at(arrived))  # re-delivered: nothing more
    return rp


def test_a_county_report_in_time_recorded_late_withdraws_its_overdue_escalation():
    rp = _late_county_report("2026-11-02 09:50", "2026-11-02 10:20")
    [overdue] = escalations(rp, "report_overdue")
    [withdrawn] = escalations(rp, "failure_withdrawn")
    Escalation.model_validate(withdrawn)
    assert (withdrawn["rule_id"], withdrawn["targets"]) == (overdue["rule_id"], overdue["targets"])
    assert withdrawn["due_at"] == overdue["due_at"] == "2026-11-02T10:00:00+08:00"
    assert "of the report on 2026-11-02T09:50:00+08:00, in time" in withdrawn["reason"]
    state = rp.states["AL-U4"]
    assert state.missed == [] and state.reported == {"county": at("2026-11-02 09:50")}
    assert state.history[-2][2] == "reported to county (district_emergency)"
    assert state.history[-1][2] == ("report to county overdue: withdrawn, reported on "
                                    "2026-11-02T09:50:00+08:00")


def test_a_report_made_at_the_very_second_it_is_due_is_in_time_and_nothing_fires():
    """The county report of an accident at 09:00 is due at 10:00:00; one made at 10:00:00 that is
    decided before any timer has passed that second is applied before the clock due then. Until
    2026-12-05 the clock fired first: a report_overdue went out and its withdrawal at once after
    (a random search of disaster reports in swapped order found it)."""
    rp = AlertReplay(ALERT_RULES)
    rp.feed(raised("AL-U5", "2026-11-02 09:00"))
    rp.feed(alert_event("acknowledged", "AL-U5", "2026-11-02 10:00", unit="district_emergency",
                        by=INFO_OFFICER))
    assert escalations(rp, "report_overdue") == [] and escalations(rp, "failure_withdrawn") == []
    assert rp.states["AL-U5"].reported == {"county": at("2026-11-02 10:00")}


@pytest.mark.parametrize(("reported", "withdrawn"), [("2026-11-02 10:00", True), ("2026-11-02 10:01", False)])
def test_a_county_report_made_at_its_due_second_recorded_late_withdraws_the_escalation(reported, withdrawn):
    """Due at 10:00:00, made at 10:00:00, reaching the engine at 10:20: in time, as it is when it
    comes at once (it is applied before the clock of its second); a minute later it is late."""
    rp = _late_county_report(reported, "2026-11-02 10:20")
    assert len(escalations(rp, "report_overdue")) == 1
    assert len(escalations(rp, "failure_withdrawn")) == int(withdrawn)
    assert rp.states["AL-U4"].missed == ([] if withdrawn else ["county"])


def test_a_close_recorded_late_before_a_report_fell_due_leaves_its_overdue_standing():
    """The alert was closed at 09:40, before the county report fell due at 10:00; the close reached
    the engine at 10:20, after the report_overdue went. The close ends the response, not the duty
    to report (493号令 arts. 9, 11): the escalation stands and the city's clock runs on. Until
    2026-12-07 the close withdrew it, as if closing had discharged the report."""
    rp = AlertReplay(ALERT_RULES)
    rp.feed(raised("AL-U6", "2026-11-02 09:00"))
    rp.advance_to(at("2026-11-02 10:20"))
    close = alert_event("closed", "AL-U6", "2026-11-02 09:40", note="Fire out.", by=INFO_OFFICER)
    rp.feed({**close, "arrived_at": ts("2026-11-02 10:20")}, now=at("2026-11-02 10:20"))
    [overdue] = escalations(rp, "report_overdue")
    assert overdue["due_at"] == "2026-11-02T10:00:00+08:00"
    assert [e for e in escalations(rp, "failure_withdrawn") if e["rule_id"].startswith("report.")] == []
    assert rp.states["AL-U6"].missed == ["county"] and "report_city" in rp.states["AL-U6"].clocks


def test_a_county_report_after_its_due_time_leaves_the_overdue_escalation():
    rp = _late_county_report("2026-11-02 10:05", "2026-11-02 10:20")
    assert len(escalations(rp, "report_overdue")) == 1 and escalations(rp, "failure_withdrawn") == []
    assert rp.states["AL-U4"].missed == ["county"]


def arriving(arrivals: list[tuple[int, dict[str, Any]]], until: int) -> AlertReplay:
    """Feed (now, entry) pairs in arrival order, then run every clock to `until`.

    Before each arrival the timer runs up to the second before the earliest entry still to come
    (a field app offline sends its records late): a clock due at an entry's very second fires
    after that entry (engine/kernel/apply.py), so a timer that fired it first would make the
    outcome hang on where a late record or a copy sits in the arrivals.
    """
    rp = AlertReplay(ALERT_RULES)
    times = [at(e["time"]) for _, e in arrivals]
    for i, (now, entry) in enumerate(arrivals):
        rp.advance_to(min(times[i:]) - 1)
        rp.feed(entry, now=now)
    rp.advance_to(until)
    return rp


def _arriving(entries: list[dict[str, Any]], until: str) -> AlertReplay:
    """Entries in the order given, each decided at its own time (`arriving`)."""
    return arriving([(at(e["time"]), e) for e in entries], at(until))


def _report_overdue_ids(rp: AlertReplay) -> list[str]:
    return sorted(o.id for _, o in rp.outputs
                  if o.topic == ESCALATIONS and o.event["data"]["action"] == "report_overdue")


def test_a_report_clock_due_before_the_close_runs_out_whichever_record_came_first():
    """The county report was due at 10:00 and never made; the alert was closed at 10:03. Until
    2026-12-05 a close that reached the engine before the raising stopped that clock too, as if
    the alert had been closed before it fell due: the missed report was never escalated."""
    raising = raised("AL-C1", "2026-11-02 09:00")
    close = alert_event("closed", "AL-C1", "2026-11-02 10:03", note="Fire out.", by=INFO_OFFICER)
    in_order = _arriving([raising, close], "2026-11-02 18:00")
    close_first = _arriving([close, raising], "2026-11-02 18:00")
    assert [d["rule_id"] for d in escalations(in_order, "report_overdue")] == ["report.county", "report.city"]
    assert _report_overdue_ids(close_first) == _report_overdue_ids(in_order)
    assert close_first.states["AL-C1"].missed == ["county", "city"]
    assert close_first.states["AL-C1"].clocks == {}


def test_a_report_made_after_its_due_time_leaves_it_missed_whichever_record_came_first():
    """The county report, due at 10:00, was made at 10:02. Until 2026-12-05 its record reaching
    the engine before the raising stopped the county clock before it ran out: late, unescalated."""
    raising = raised("AL-C2", "2026-11-02 09:00")
    late = alert_event("acknowledged", "AL-C2", "2026-11-02 10:02", unit="district_emergency",
                       by=INFO_OFFICER)
    in_order = _arriving([raising, late], "2026-11-02 11:00")
    report_first = _arriving([late, raising], "2026-11-02 11:00")
    assert [d["rule_id"] for d in escalations(in_order, "report_overdue")] == ["report.county"]
    assert _report_overdue_ids(report_first) == _report_overdue_ids(in_order)
    assert report_first.states["AL-C2"].missed == in_order.states["AL-C2"].missed == ["county"]


def _flood_daily(made: str, arrived: str) -> AlertReplay:
    """A flood reported at once on 20 July; the daily report of the 21st (due 09:00) made at `made`,
    its record reaching the engine at `arrived` (after the 09:00 escalation)."""
    rp = AlertReplay(ALERT_RULES)
    rp.feed(raised("AL-FL", "2026-07-20 14:00", kind="flood", enterprise=None))
    rp.feed(_disaster_report("AL-FL", "2026-07-20 14:10", "initial"))
    rp.advance_to(at(arrived))
    rp.feed(_disaster_report("AL-FL", made, "update"), now=at(arrived))
    return rp


def test_a_disaster_recorded_a_month_late_escalates_the_daily_reports_run_out_since_once():
    """A flood of 20 June and post A's report of it reach the engine on 20 July, decided at their own
    times as the worker decides them. The 30 daily reports (续报/零报告) run out since are one
    report_overdue when the report comes, not one a day as the timer catches up; the next day's
    report is due as usual. Until 2026-12-07 a disaster recorded years late escalated one for
    every day, and past about 1,000 of them in one decision stopped it on the kernel's guard."""
    aid, came = "AL-FL-LATE", ts("2026-07-20 14:00")
    rp = AlertReplay(ALERT_RULES)
    rp.feed({**raised(aid, "2026-06-20 14:00", kind="flood", enterprise=None), "arrived_at": came})
    rp.feed({**_disaster_report(aid, "2026-06-20 14:10", "initial"), "arrived_at": came})
    [overdue] = [d for d in escalations(rp, "report_overdue") if d["rule_id"] == "disaster.daily"]
    assert "for 30 days, from 2026-06-21T09:00:00+08:00 to 2026-07-20T09:00:00+08:00" in overdue["reason"]
    assert overdue["due_at"] == "2026-07-21T09:00:00+08:00" and overdue["reason_zh"]
    rp.advance_to(at("2026-07-21 10:00"))
    daily = [d for d in escalations(rp, "report_overdue") if d["rule_id"] == "disaster.daily"]
    assert len(daily) == 2 and len(rp.states[aid].dmissed) == 31


def test_a_record_dated_years_after_a_disasters_reports_stopped_does_not_fail_its_decision():
    """A flood of June 2023 and its first report, then an update dated July 2026 decided at its
    own time with no arrival vouched for: its decision fires the 1,126 daily reports run out since,
    each as the timer would have, in due order. Until 2026-12-07 the kernel's guard stopped the
    decision after 1,000 firings in one call (RuntimeError), and the valid record went to the dead
    letters; with HAZARD_DEDUP_DAYS raised past three years, or 0, intake takes such records."""
    aid = "AL-FL-OLD"
    state, _ = decide_alert(None, raised(aid, "2023-06-20 14:00", kind="flood", enterprise=None), ALERT_RULES)
    state, _ = decide_alert(state, _disaster_report(aid, "2023-06-20 14:20", "initial"), ALERT_RULES)
    state, outs = decide_alert(state, alert_event("updated", aid, "2026-07-20 14:00", note="Still flooded."),
                               ALERT_RULES)
    daily = [o.event for o in outs if o.event.get("data", {}).get("rule_id") == "disaster.daily"]
    assert len(daily) == len(state.dmissed) == 1126 and len({e["id"] for e in daily}) == 1126
    assert [e["time"] for e in daily] == sorted(e["time"] for e in daily)
    assert daily[-1]["time"] == "2026-07-20T09:00:00+08:00"


def test_a_daily_disaster_report_made_at_the_hour_itself_is_in_time():
    """The daily report of the 21st is due at 09:00; one made at 09:00:00 meets it, late or not."""
    for arrived in ("2026-07-21 09:00", "2026-07-21 11:00"):
        rp = timer_to_each_arrival(AlertReplay(ALERT_RULES), [
            (at("2026-07-20 14:00"), raised("AL-FH", "2026-07-20 14:00", kind="flood", enterprise=None)),
            (at("2026-07-20 14:10"), _disaster_report("AL-FH", "2026-07-20 14:10", "initial")),
            (at(arrived), _disaster_report("AL-FH", "2026-07-21 09:00", "update"))], at("2026-07-21 12:00"))
        standing = len(escalations(rp, "report_overdue")) - len(escalations(rp, "failure_withdrawn"))
        assert standing == 0 and rp.states["AL-FH"].dmissed == [], arrived


def test_an_initial_disaster_report_made_at_the_second_its_step_falls_due_is_in_time():
    """A flood raised at 14:00: post A's initial report is due by 15:00, when post B is told
    (disaster.post_b). One made at 15:00:00 meets it, late or not: in time it comes before the
    step; reaching the engine at 15:20 it takes the step back."""
    for arrived in ("2026-07-20 15:00", "2026-07-20 15:20"):
        rp = timer_to_each_arrival(AlertReplay(ALERT_RULES), [
            (at("2026-07-20 14:00"), raised("AL-FI", "2026-07-20 14:00", kind="flood", enterprise=None)),
            (at(arrived), _disaster_report("AL-FI", "2026-07-20 15:00", "initial"))], at("2026-07-20 17:00"))
        ran = [e["rule_id"] for e in escalations(rp, "report_overdue")]
        taken = [e["rule_id"] for e in escalations(rp, "failure_withdrawn")]
        assert ran == taken == ([] if arrived.endswith("15:00") else ["disaster.post_b"]), arrived
    # Never reported, the chain asks post B, then the town: each says who stayed silent.
    rp = AlertReplay(ALERT_RULES)
    rp.feed(raised("AL-FS", "2026-07-20 14:00", kind="flood", enterprise=None))
    rp.advance_to(at("2026-07-20 15:30"))
    said = [e["reason"] for e in escalations(rp, "report_overdue")]
    assert [r.split(" by ")[0] for r in said] == [
        "No initial disaster report (初报) on AL-FS from post A",
        "No initial disaster report (初报) on AL-FS from post A and every unit asked since"]


def test_a_close_recorded_late_withdraws_the_daily_report_missed_after_it():
    """A flood closed (灾情稳定) at 08:00 on the 21st, its record reaching the engine at 10:00, after
    the 21st's daily report fell due at 09:00: that escalation is withdrawn, the day no longer
    counts as missed, and the final report (核报) is due from the close's own time."""
    rp = AlertReplay(ALERT_RULES)
    rp.feed(raised("AL-FC", "2026-07-20 14:00", kind="flood", enterprise=None))
    rp.feed(_disaster_report("AL-FC", "2026-07-20 14:10", "initial"))
    rp.advance_to(at("2026-07-21 10:00"))
    [missed] = escalations(rp, "report_overdue")
    assert missed["rule_id"] == ALERT_RULES.disaster.daily_rule
    rp.feed(alert_event("closed", "AL-FC", "2026-07-21 08:00", note="Water receded.", by=INFO_OFFICER),
            now=at("2026-07-21 10:00"))
    [withdrawn] = escalations(rp, "failure_withdrawn")
    assert (withdrawn["rule_id"], withdrawn["due_at"]) == (missed["rule_id"], "2026-07-21T09:00:00+08:00")
    assert "closed on 2026-07-21T08:00:00+08:00, before it fell due" in withdrawn["reason"]
    assert withdrawn["reason_zh"] and rp.states["AL-FC"].dmissed == []
    assert set(rp.states["AL-FC"].clocks) == {"disaster_final"}


def _dailies_missed(rp: AlertReplay) -> list[str]:
    """The ids of the daily disaster reports' report_overdue escalations."""
    return sorted(d["escalation_id"] for d in escalations(rp, "report_overdue")
                  if d["rule_id"] == ALERT_RULES.disaster.daily_rule)


def test_a_daily_report_dated_a_day_later_arriving_first_does_not_skip_the_day_between():
    """The flood's first report came on the 20th; the next, made at 09:30 on the 21st, after the
    hour, reached the engine before it. Until 2026-12-05 the daily report was counted on from the
    latest report on file, so the 21st's, missed, was never due."""
    raising = raised("AL-FD", "2026-07-20 14:00", kind="flood", enterprise=None)
    first, late = (_disaster_report("AL-FD", "2026-07-20 14:10", "initial"),
                   _disaster_report("AL-FD", "2026-07-21 09:30", "update"))
    in_order = _arriving([raising, first, late], "2026-07-21 12:00")
    later_first = _arriving([raising, late, first], "2026-07-21 12:00")
    # (Out of order, the initial report's chain also ran out before the first report's record came,
    # and that record withdrew it: a late record's usual course.)
    assert len(_dailies_missed(in_order)) == 1 and _dailies_missed(later_first) == _dailies_missed(in_order)
    assert later_first.states["AL-FD"].dmissed == in_order.states["AL-FD"].dmissed == [at("2026-07-21 09:00")]


def test_a_final_report_recorded_late_withdraws_every_daily_report_missed_after_it():
    """The final report (核报) was made on the 21st at 08:00 and reached the engine on the 23rd at
    10:00: the daily reports of the 21st to the 23rd, escalated meanwhile, were never due."""
    rp = AlertReplay(ALERT_RULES)
    rp.feed(raised("AL-FF", "2026-07-20 14:00", kind="flood", enterprise=None))
    rp.feed(_disaster_report("AL-FF", "2026-07-20 14:10", "initial"))
    rp.advance_to(at("2026-07-23 10:00"))
    assert len(_dailies_missed(rp)) == 3
    rp.feed(_disaster_report("AL-FF", "2026-07-21 08:00", "final"), now=at("2026-07-23 10:00"))
    assert len(escalations(rp, "failure_withdrawn")) == 3
    assert rp.states["AL-FF"].dmissed == [] and rp.states["AL-FF"].clocks == {}


@pytest.mark.parametrize(("made", "withdrawn"), [
    ("2026-07-21 08:40", 1),  # before the hour, on its day: in time
    ("2026-07-21 09:30", 0),  # after the hour: late
    ("2026-07-20 22:00", 0),  # the evening before: it was the 20th's, and the 21st's report still came due
])
def test_a_daily_disaster_report_recorded_late_withdraws_only_the_day_it_was_in_time_for(made, withdrawn):
    rp = _flood_daily(made, "2026-07-21 11:00")
    assert [e["rule_id"] for e in escalations(rp, "report_overdue")] == ["disaster.daily"]
    assert len(escalations(rp, "failure_withdrawn")) == withdrawn
    assert len(rp.states["AL-FL"].dmissed) == 1 - withdrawn


def _flood_closed_before_spring_festival_2027(final: str) -> AlertReplay:
    """A flood closed on Thursday 4 February 2027; its final report (核报) made at `final`. Counted
    without the 2027 notice, 2 working days end on the 12th; the notice may move that to the 16th."""
    rp = AlertReplay(ALERT_RULES)
    rp.feed(raised("AL-SF", "2027-02-02 14:00", kind="flood", enterprise=None))
    rp.feed(_disaster_report("AL-SF", "2027-02-02 14:10", "initial"))
    rp.feed(alert_event("closed", "AL-SF", "2027-02-04 10:00", note="Water down.", by=INFO_OFFICER))
    rp.advance_to(at(final))
    rp.feed(_disaster_report("AL-SF", final, "final"))
    rp.advance_to(at("2027-02-22 00:00"))
    return rp


def test_a_final_disaster_report_on_an_approximate_due_time_is_in_time_until_the_latest_it_may_fall():
    rp = _flood_closed_before_spring_festival_2027("2027-02-15 16:00")
    [missing] = [e for e in escalations(rp, "report_overdue") if e["rule_id"] == "disaster.final"]
    assert missing["due_at"] == "2027-02-12T23:59:59+08:00"
    assert ("it may truly be as late as 2027-02-16T23:59:59+08:00, and a final report dated by then "
            "takes this back") in missing["reason"]
    [withdrawn] = escalations(rp, "failure_withdrawn")
    assert withdrawn["rule_id"] == "disaster.final"
    assert "by the latest its approximate due time could truly fall" in withdrawn["reason"]
    assert not rp.states["AL-SF"].final_missed


@pytest.mark.parametrize(("skip", "post", "chain"), [
    pytest.param("A", None, ["duty_officer", "town", "district"], id="no-post-counts-as-A"),
    pytest.param("A", "A", ["duty_officer", "town", "district"], id="raised-at-A"),
    pytest.param("A", "B", ["duty_officer", "grid_chief", "town", "district"], id="raised-at-B"),
    pytest.param("B", "B", ["duty_officer", "town", "district"], id="skip-B-raised-at-B"),
])
def test_a_handover_step_for_the_post_the_alert_was_raised_at_is_left_out(tmp_path, skip, post, chain):
    """handover.steps[].skip_if_post: a district whose grid chief holds post A leaves that step out
    of the chain of an alert raised at post A (an alert that names no post is post A's); the next
    step falls due 10 minutes after the one before it."""
    rules = load_alert_rules(edited_rules(
        tmp_path, "alerts.yaml", "      targets: [grid_chief]\n",
        f"      targets: [grid_chief]\n      skip_if_post: {skip}\n"), RULES.reference)
    rp = run([raised("AL-P", "2026-11-02 09:00", post=post)], "2026-11-02 09:45", rules)
    got = [o.event for _, o in rp.outputs
           if o.topic == ESCALATIONS and o.event["data"]["action"] == "handover"]
    assert [e["data"]["rule_id"].removeprefix("handover.") for e in got] == chain
    assert [e["time"] for e in got][:3] == [
        "2026-11-02T09:10:00+08:00", "2026-11-02T09:20:00+08:00", "2026-11-02T09:30:00+08:00"]


@pytest.mark.parametrize(("record", "when", "withdrawn"), [
    pytest.param("acknowledged", "09:10", True, id="acknowledged-at-the-steps-second"),
    pytest.param("acknowledged", "09:11", False, id="acknowledged-a-minute-after"),
    pytest.param("closed", "09:10", True, id="closed-at-the-steps-second"),
    pytest.param("closed", "09:11", False, id="closed-a-minute-after"),
])
def test_a_late_record_of_a_handover_steps_very_second_takes_the_step_back(record, when, withdrawn):
    """The duty officer's step falls due at 09:10. An acknowledgement (or a close) of 09:10 in time
    stops it, as a record of a step's second comes before the step; the same record reaching the
    engine two minutes late takes the step back, as it would any step after it. One of 09:11 leaves
    it: the alert was handed over before anyone took it on."""
    data = FIRE_BRIGADE_ACK if record == "acknowledged" else {"note": "Out.", "by": INFO_OFFICER}
    late = alert_event(record, "AL-T", f"2026-11-02 {when}", **data)
    for came in (late["time"], "2026-11-02T09:12:00+08:00"):
        rp = timer_to_each_arrival(AlertReplay(ALERT_RULES), [
            (at("2026-11-02 09:00"), raised("AL-T", "2026-11-02 09:00")),
            (at(came), {**late, "arrived_at": came} if came != late["time"] else late)],
            at("2026-11-02 09:45"))
        ran = [e["rule_id"] for e in escalations(rp, "handover")]
        taken = [e["rule_id"] for e in escalations(rp, "failure_withdrawn")]
        if came == late["time"]:
            assert ran == ([] if withdrawn else ["handover.duty_officer"]) and taken == []
        else:
            assert ran == ["handover.duty_officer"]
            assert taken == (["handover.duty_officer"] if withdrawn else [])


def test_an_alert_raised_again_under_its_id_keeps_its_first_raising():
    """A second `safety.alert.raised` of the same alert id, five minutes on and saying another kind
    (not a copy: copies are known by their data), changes nothing: the alert stays the fire raised
    at 09:00, a production-safety accident, with its clocks; the record says it was ignored."""
    rp = AlertReplay(ALERT_RULES)
    rp.feed(raised("AL-R", "2026-11-02 09:00"))
    rp.feed(raised("AL-R", "2026-11-02 09:05", kind="flood", enterprise=None))
    rp.advance_to(at("2026-11-02 09:45"))
    a = rp.states["AL-R"]
    assert (a.kind, a.incident_class, a.opened_at) == ("fire", "production_accident", at("2026-11-02 09:00"))
    assert "raised again: ignored (the first raising stands)" in [h[2] for h in a.history]
    assert [e["rule_id"] for e in escalations(rp, "handover")][0] == "handover.duty_officer"
    assert escalations(rp, "handover")[0]["due_at"] == "2026-11-02T09:20:00+08:00"


def test_a_disaster_reports_figures_count_among_the_alerts_figures():
    """An information officer's update report of a flood gives casualties and the direct loss; the
    alert's figures are those (a report without figures leaves them as they were)."""
    rp = AlertReplay(ALERT_RULES)
    rp.feed(raised("AL-DF", "2026-07-20 14:00", kind="flood", enterprise=None))
    rp.feed(_disaster_report("AL-DF", "2026-07-20 14:10", "initial"))
    assert rp.states["AL-DF"].figures().dead == 0
    rp.feed(_disaster_report("AL-DF", "2026-07-20 18:00", "update", figures={
        "casualties": {"dead": 2, "missing": 1, "seriously_injured": 4}, "direct_loss_cny": 350000}))
    rp.feed(_disaster_report("AL-DF", "2026-07-20 19:00", "update"))
    f = rp.states["AL-DF"].figures()
    assert (f.dead, f.missing, f.seriously_injured, f.loss_cny) == (2, 1, 4, 350000)


def test_a_final_disaster_report_after_the_latest_it_may_fall_leaves_the_escalation():
    rp = _flood_closed_before_spring_festival_2027("2027-02-17 09:00")
    assert escalations(rp, "failure_withdrawn") == []
    assert rp.states["AL-SF"].final_missed


def test_the_whole_chain_fires_in_order_and_closing_stops_the_response_not_the_report_clocks():
    """Duty officer +10m, grid chief +20m, town +30m, district +40m; after a close no handover, CAP
    or response level, but the report clocks run on and a re-grade within the window demands the
    levels it reaches (493号令 arts. 9, 11, 13)."""
    rp = run([raised("AL-U4", "2026-11-02 09:00")], "2026-11-02 09:45")
    assert [(e["rule_id"], e["due_at"]) for e in escalations(rp, "handover")] == [
        ("handover.duty_officer", "2026-11-02T09:20:00+08:00"),
        ("handover.grid_chief", "2026-11-02T09:30:00+08:00"),
        ("handover.town", "2026-11-02T09:40:00+08:00"),
        ("handover.district", None)]
    state, outs = decide_alert(rp.states["AL-U4"], alert_event(
        "closed", "AL-U4", "2026-11-02 09:50", note="Out.", by=INFO_OFFICER), ALERT_RULES)
    assert set(state.clocks) == {"report_county", "report_city"}
    assert [cap_view(o.event["xml"])["msgType"] for o in outs] == ["Cancel"]
    update = alert_event("updated", "AL-U4", "2026-11-02 10:00", casualties={"dead": 40})
    later_state, later = decide_alert(state, update, ALERT_RULES, now=at("2026-11-05 00:00"))
    assert {(o.event["data"]["action"], o.event["data"]["rule_id"]) for o in later} == {
        ("report_overdue", "report.county"), ("report_overdue", "report.city"),
        ("report_overdue", "report.province"), ("report_overdue", "report.state_council")}
    assert (later_state.grade, later_state.level) == ("especially_major", state.level)


def test_a_smaller_figure_does_not_lower_the_level_unless_the_rules_allow_it():
    """By default the level holds; with downgrade allowed, lowering is itself an escalation."""
    entries = [raised("AL-U5", "2026-11-02 09:00", casualties={"dead": 3}),
               alert_event("updated", "AL-U5", "2026-11-02 09:30", casualties={"dead": 2})]
    held = run(entries, "2026-11-02 09:31")
    assert [e["response_level"] for e in escalations(held, "response_activation")] == ["III"]
    assert (held.states["AL-U5"].grade, held.states["AL-U5"].level) == ("large", "III")
    lowering = run(entries, "2026-11-02 09:31", dataclasses.replace(ALERT_RULES, downgrade_allowed=True))
    activations = escalations(lowering, "response_activation")
    assert [e["response_level"] for e in activations] == ["III", "IV"]
    assert "lowered from III" in activations[1]["reason"]


DOWNGRADE = dataclasses.replace(ALERT_RULES, downgrade_allowed=True)


def _report(aid: str, time: str, unit: str) -> dict[str, Any]:
    return alert_event("acknowledged", aid, time, unit=unit, by=INFO_OFFICER)


def test_with_downgrade_allowed_a_lowered_grade_no_longer_demands_the_levels_above_its_reach():
    """3 dead is 较大 (reported to the province); 2 dead at 09:30 is 一般 (to the city). With
    downgrades allowed the province is no longer owed: no report_overdue at 14:00. Until 2026-12-07
    the levels once demanded stayed demanded whatever the grade became (audit F10). A level already
    reported stays on the record: AL-DG2's province, reported before its grade was lowered."""
    rp = run([raised("AL-DG1", "2026-11-02 09:00", casualties={"dead": 3}),
              alert_event("updated", "AL-DG1", "2026-11-02 09:30", casualties={"dead": 2})],
             "2026-11-02 18:00", DOWNGRADE)
    assert [d["rule_id"] for d in escalations(rp, "report_overdue")] == ["report.county", "report.city"]
    state = rp.states["AL-DG1"]
    assert (state.grade, set(state.demanded), state.missed, state.clocks) == (
        "general", {"county", "city"}, ["county", "city"], {})
    rp = run([raised("AL-DG2", "2026-11-02 09:00", casualties={"dead": 3}),
              _report("AL-DG2", "2026-11-02 09:20", "district_emergency"),
              _report("AL-DG2", "2026-11-02 09:40", "city_emergency"),
              _report("AL-DG2", "2026-11-02 10:00", "province_emergency"),
              alert_event("updated", "AL-DG2", "2026-11-02 11:00", casualties={"dead": 1})],
             "2026-11-02 18:00", DOWNGRADE)
    state = rp.states["AL-DG2"]
    assert escalations(rp, "report_overdue") == [] and state.grade == "general"
    assert set(state.reported) == set(state.demanded) == {"county", "city", "province"}


def test_with_downgrade_allowed_a_lowering_dated_before_the_due_time_and_recorded_after_withdraws_it():
    """The province's report of AL-DG3 (较大, 3 dead) fell due at 14:00 and ran out; the update to
    2 dead (一般: reported to the city only) was dated 13:00 and reached the engine at 15:00. In
    time order the province was no longer owed at 14:00: its report_overdue is withdrawn, to those
    it went to. A lowering dated 14:30, after the due time, leaves it standing: it was owed then."""
    def late_lowering(aid: str, dated: str) -> AlertReplay:
        rp = AlertReplay(DOWNGRADE)
        rp.feed(raised(aid, "2026-11-02 09:00", casualties={"dead": 3}))
        rp.advance_to(at("2026-11-02 15:00"))
        rp.feed(alert_event("updated", aid, dated, casualties={"dead": 2}), now=at("2026-11-02 15:00"))
        rp.advance_to(at("2026-11-02 18:00"))
        return rp

    rp = late_lowering("AL-DG3", "2026-11-02 13:00")
    overdue = {d["rule_id"]: d for d in escalations(rp, "report_overdue")}
    [withdrawn] = escalations(rp, "failure_withdrawn")
    assert set(overdue) == {"report.county", "report.city", "report.province"}
    assert (withdrawn["rule_id"], withdrawn["due_at"], withdrawn["targets"]) == (
        "report.province", overdue["report.province"]["due_at"], overdue["report.province"]["targets"])
    assert "graded 一般事故 on 2026-11-02T13:00:00+08:00" in withdrawn["reason"]
    assert rp.states["AL-DG3"].missed == ["county", "city"] and rp.states["AL-DG3"].clocks == {}
    rp = late_lowering("AL-DG4", "2026-11-02 14:30")
    assert escalations(rp, "failure_withdrawn") == []
    assert rp.states["AL-DG4"].missed == ["county", "city", "province"]


def _story(suffix: str = "") -> list[dict[str, Any]]:
    aid = f"AL-DET{suffix}"
    return [raised(aid, "2026-11-02 09:00", event_id=f"r{suffix}", crowded_place=True),
            alert_event("updated", aid, "2026-11-02 09:30", casualties={"dead": 10}),
            alert_event("acknowledged", aid, "2026-11-02 09:35", **FIRE_BRIGADE_ACK)]


def test_output_ids_are_the_same_for_the_same_history_and_differ_between_alerts():
    """A replay yields the same escalation ids and CAP identifiers; another alert gets its own."""
    entries = _story()
    first, second = run(entries, "2026-11-02 20:00"), run(entries, "2026-11-02 20:00")
    ids = [o.id for _, o in first.outputs]
    assert ids == [o.id for _, o in second.outputs] and len(set(ids)) == len(ids)
    other = {o.id for _, o in run(_story("-2"), "2026-11-02 20:00").outputs if o.topic == ESCALATIONS}
    assert other.isdisjoint(ids)
    assert [c["sequence"] for c in caps(first)] == [1, 2]
    assert caps(first)[1]["references"] == [caps(first)[0]["identifier"]]


def test_two_alerts_raised_in_the_same_second_send_cap_messages_under_their_own_identifiers():
    """The sequence counts one alert's messages, so two alerts raised in one second both send #1:
    until 2026-12-05 under one identifier, and a consumer that drops a message whose identifier it
    has seen (CAP 1.2: unique for its sender; the engine's outputs: unique ids) lost the second."""
    rp = run([raised("AL-S1", "2026-11-02 09:00", event_id="s1"),
              raised("AL-S2", "2026-11-02 09:00", event_id="s2")], "2026-11-02 09:05")
    sent = {o.key: o.id for _, o in rp.outputs if o.topic == ALERTS_CAP}
    assert sent.keys() == {"AL-S1", "AL-S2"} and sent["AL-S1"] != sent["AL-S2"]
    assert [c["sequence"] for c in caps(rp)] == [1, 1]


def test_a_redelivered_entry_or_clock_changes_nothing():
    """The same entry twice returns the same state and no output; so does a stale clock entry."""
    entry = raised("AL-U6", "2026-11-02 09:00")
    state, outs = decide_alert(None, entry, ALERT_RULES)
    assert outs
    again, outs = decide_alert(state, entry, ALERT_RULES)
    assert again is state and outs == []
    fired, outs = decide_alert(state, alert_clock_entry("AL-U6", at("2026-11-02 09:10")), ALERT_RULES)
    assert [o.event["data"]["rule_id"] for o in outs] == ["handover.duty_officer"]
    _, outs = decide_alert(fired, alert_clock_entry("AL-U6", at("2026-11-02 09:10")), ALERT_RULES)
    assert outs == []


def test_state_survives_encode_and_decode_and_leaves_defaults_out():
    """decode(encode(s)) equals s, and decides the same; an orphan encodes to a few bytes."""
    rp = run(_story(), "2026-11-02 11:00")
    state = rp.states["AL-DET"]
    copy = Alert.decode(state.encode())
    assert copy == state
    close = alert_event("closed", "AL-DET", "2026-11-02 11:30", note="Out.", by=INFO_OFFICER)
    assert decide_alert(copy, close, ALERT_RULES)[1] == decide_alert(state, close, ALERT_RULES)[1]
    assert Alert("AL-X").encode() == b'{"id":"AL-X"}'


def test_an_orphan_waits_for_its_raising_without_clocks():
    """An update before the raising records figures only; the raising then sends Alert and Update CAP."""
    state, outs = decide_alert(None, alert_event("updated", "AL-U7", "2026-11-02 09:10",
                                                 casualties={"dead": 3}), ALERT_RULES)
    assert outs == [] and state.status() == "orphan" and state.clocks == {}
    state, outs = decide_alert(state, raised("AL-U7", "2026-11-02 09:00"), ALERT_RULES,
                               now=at("2026-11-02 09:12"))
    assert [o.event["data"]["response_level"] for o in outs if o.topic == ESCALATIONS][0] == "III"
    assert [cap_view(o.event["xml"])["msgType"] for o in outs if o.topic == ALERTS_CAP] == ["Alert", "Update"]


def test_every_output_of_the_alert_rule_tests_matches_the_contract_and_the_cap_schema():
    """Escalations validate as engine.contract.outputs.Escalation; CAP documents against CAP 1.2."""
    sent = [g.out for path in FILES for g in run_file(path, RULES, ALERT_RULES).got]
    assert {o.event["data"]["action"] for o in sent if o.topic == ESCALATIONS} == \
        {"response_activation", "handover", "report_overdue", "notify", "failure_withdrawn"}
    assert any(o.topic == NOTIFICATIONS for o in sent)
    for out in sent:
        if out.topic == NOTIFICATIONS:
            data = NotificationDue.model_validate(out.event["data"])
            assert out.id == data.notification_id and data.incident_class == "production_accident"
            continue
        if out.topic == ESCALATIONS:
            data = Escalation.model_validate(out.event["data"])
            assert (data.subject_kind, data.tier, data.sector) == ("alert", None, None)
            assert data.response_level and data.rule_id and data.rules_version == "2026.1"
            assert out.id == data.escalation_id and out.key == data.subject_id
        else:
            assert out.topic == ALERTS_CAP and set(out.event) == {"id", "type", "time", "xml"}
            assert cap_validate(out.event["xml"].encode()) == [], out.event["xml"]
            assert cap_view(out.event["xml"])["identifier"] == out.id


def test_rule_tests_for_alerts_are_shipped():
    """There is a rule test for each behaviour the issue lists."""
    assert {p.stem for p in FILES} >= {"grade_boundaries", "missing_with_dead", "level_raises", "regrade",
                                       "handover_chain", "report_clocks", "regrade_window",
                                       "closed_stops_clocks", "exercise", "late_report_record",
                                       "disaster_late_records"}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_shipped_alert_rule_test_passes(path):
    """Every rules/tests/alerts file passes through the runner."""
    result = run_file(path, RULES, ALERT_RULES)
    assert result.passed, cli.render(result)


def test_a_wrong_alert_want_fails_with_a_diff(tmp_path):
    """A want at the wrong level fails and shows the closest output field by field."""
    text = (FILES[0].parent / "handover_chain.yaml").read_text(encoding="utf-8")
    path = tmp_path / "wrong.yaml"
    wrong = text.replace("rule_id: handover.duty_officer, response_level: IV",
                         "rule_id: handover.duty_officer, response_level: II")
    assert wrong != text
    path.write_text(wrong, encoding="utf-8")
    out = cli.render(run_file(path, RULES, ALERT_RULES))
    assert out.startswith("FAIL") and "✗ response_level: wanted II, got IV" in out


def test_alert_events_without_alert_rules_and_hazard_keys_on_an_alert_fail_clearly(tmp_path):
    """The runner names the missing alert rules, and a final key that an alert lacks."""
    path = FILES[0].parent / "exercise.yaml"
    result = run_file(path, RULES)
    assert result.error is not None and "events: events about alerts need the alert rules" in result.error
    bad = tmp_path / "bad.yaml"
    bad.write_text(path.read_text(encoding="utf-8").replace("exercise: true, level", "tier: red, level"),
                   encoding="utf-8")
    assert "tier is not a key of an alert" in cli.render(run_file(bad, RULES, ALERT_RULES))


@pytest.mark.parametrize(("old", "new", "key"), [
    pytest.param("  missing_count_as_dead: true\n", "  missing_count_as_dead: true\n  misssing: 1\n",
                 "grading.misssing", id="unknown-key"),
    pytest.param("      dead: 10\n", "      dead: 40\n", "grading.grades.especially_major.dead",
                 id="thresholds-not-rising"),
    pytest.param("[department:fire_rescue]", "[department:fire_brigade]", "kinds.fire.responders[0]",
                 id="unknown-department"),
    pytest.param("    targets: [duty_officer]", "    targets: [post_c]", "handover.steps[0].targets[0]",
                 id="unknown-target"),
    pytest.param("      after: 10 minutes\n      targets: [duty_officer]",
                 "      after: 10 mins\n      targets: [duty_officer]", "handover.steps[0].after",
                 id="bad-span"),
    pytest.param("    other: {enterprise: production_accident, no_enterprise: non_production}\n", "",
                 "incident_class.derive", id="a-kind-without-class"),
    pytest.param("    flood: {enterprise: natural_disaster", "    flood: {enterprise: disaster",
                 "incident_class.derive.flood.enterprise", id="unknown-class"),
    pytest.param("      targets: [post_b, post_a]", "      targets: [post_c]",
                 "disaster_report.initial[0].targets[0]", id="unknown-disaster-target"),
    pytest.param("      after: 1 hour\n      targets: [post_b", "      after: 1 day\n      targets: [post_b",
                 "disaster_report.initial[0].after", id="disaster-step-in-days"),
    pytest.param('    at: "09:00"', '    at: "9 am"', "disaster_report.daily.at", id="bad-daily-hour"),
    pytest.param("    drowning: [town, department:education_sports]",
                 "    drowning: [town, department:swimming]", "non_production.route.drowning[1]",
                 id="unknown-route-department"),
    pytest.param("authorities: [city_emergency]", "authorities: [fire_rescue]",
                 "accident_report.levels.city.authorities[0]", id="authority-also-responds"),
    pytest.param("    major: II\n", "    major: IV\n", "response.by_grade.major",
                 id="level-below-lower-grade"),
    pytest.param("  issuer_code: \"37150000000000000\"", "  issuer_code: \"3715-00\"", "cap.issuer_code",
                 id="bad-issuer-code"),
])
def test_a_broken_alerts_file_names_the_file_and_key(tmp_path, old, new, key):
    """Load errors name rules/alerts.yaml and the dotted key, as hazards.yaml's do."""
    copy = edited_rules(tmp_path, "alerts.yaml", old, new)
    with pytest.raises(RulesFileError) as exc:
        load_alert_rules(copy)
    assert exc.value.file == "rules/alerts.yaml" and exc.value.key == key, str(exc.value)


def _disaster_report(aid: str, time: str, kind: str, post: str = "A", **data: Any) -> dict[str, Any]:
    """A disaster report of `kind` on alert `aid`, made at `time` at `post`, with `data` besides."""
    [entry] = event("safety.disaster.reported", time, {
        "alert_id": aid, "report_kind": kind, "post": post, "by": INFO_OFFICER, **data}, aid)
    return entry


def test_a_disaster_report_by_anyone_but_an_info_officer_or_of_an_unknown_kind_is_rejected():
    """safety.disaster.reported names its problem: the filer's role, the report kind, the post."""
    from engine.intake.validate import Invalid, validate_record
    body = {"specversion": "1.0", "id": "dr-1", "source": "/apps/io/1", "type": "safety.disaster.reported",
            "time": "2026-07-20T15:00:00+08:00", "subject": "AL-F",
            "data": {"alert_id": "AL-F", "report_kind": "initial", "post": "A",
                     "by": {"id": "gw-1", "role": "grid_worker"}}}
    cases = [({}, "not_info_officer"), ({"report_kind": "weekly", "by": INFO_OFFICER}, "literal_error"),
             ({"post": "C", "by": INFO_OFFICER}, "literal_error"),
             ({"figures": {"relocated": -1}, "by": INFO_OFFICER}, "greater_than_equal")]
    for change, code in cases:
        sent = {**body, "data": {**body["data"], **change}}
        result = validate_record(json.dumps(sent).encode(), "responder.alerts", RULES.reference)
        assert isinstance(result, Invalid), change
        assert code in [e.type for e in result.errors], (change, result.errors)
    wrong_topic = validate_record(json.dumps({**body, "data": {**body["data"], "by": INFO_OFFICER}}).encode(),
                                  "hazard.reports", RULES.reference)
    assert isinstance(wrong_topic, Invalid) and wrong_topic.errors[0].type == "wrong_topic"


def test_the_class_is_derived_from_kind_and_enterprise_unless_given():
    """Every kind with and without an enterprise takes the rules' class; a given class wins."""
    for kind, (with_enterprise, without) in ALERT_RULES.derive_class.items():
        with_e, _ = decide_alert(None, raised(f"AL-{kind}", "2026-11-02 09:00", kind=kind), ALERT_RULES)
        no_e, _ = decide_alert(None, raised(f"AL-{kind}-n", "2026-11-02 09:00", kind=kind, enterprise=None),
                               ALERT_RULES)
        given, _ = decide_alert(None, raised(f"AL-{kind}-g", "2026-11-02 09:00", kind=kind,
                                             incident_class="natural_disaster"), ALERT_RULES)
        assert (with_e.incident_class, no_e.incident_class, given.incident_class) == \
            (with_enterprise, without, "natural_disaster"), kind
        assert (with_e.grade is not None) == (with_enterprise == "production_accident"), kind
        assert bool(no_e.demanded) == (without == "production_accident"), kind  # 493 report clocks


def test_a_daily_report_is_due_at_nine_on_a_later_day_than_the_latest_report_and_skips_missed_days():
    """08:59 and 09:00 reports both move the next due to the next day's 09:00; a missed day is skipped."""
    state, _ = decide_alert(None, raised("AL-D", "2026-07-20 14:00", kind="flood"), ALERT_RULES)
    for time, due in (("2026-07-21 08:59", "2026-07-22 09:00"), ("2026-07-22 09:00", "2026-07-23 09:00"),
                      ("2026-07-22 23:59", "2026-07-23 09:00")):
        state, _ = decide_alert(state, _disaster_report("AL-D", time, "update"), ALERT_RULES)
        assert state.clocks["disaster_daily"] == at(due), time
    state, outs = decide_alert(state, alert_clock_entry("AL-D", at("2026-07-23 09:00")), ALERT_RULES)
    assert [o.event["data"]["rule_id"] for o in outs] == ["disaster.daily"]
    assert state.clocks["disaster_daily"] == at("2026-07-24 09:00")
    state, _ = decide_alert(state, _disaster_report("AL-D", "2026-07-23 10:00", "final"), ALERT_RULES)
    assert "disaster_daily" not in state.clocks and "disaster_final" not in state.clocks


REPORT_KINDS = st.sampled_from(["initial", "update", "zero", "final"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4 * 24 * 60), REPORT_KINDS, st.sampled_from(["A", "B"]),
                          st.booleans()), max_size=6),
       st.integers(0, 5 * 24 * 60))
def test_disaster_reports_redelivered_change_nothing_and_ids_repeat(reports, close_after):
    """Any story of disaster reports, each maybe delivered twice, gives the outputs of delivering once."""
    base = at("2026-07-20 14:00")

    def story(twice: bool) -> list[str]:
        entries = [raised("AL-P", "2026-07-20 14:00", kind="flood", event_id="raise-p")]
        for i, (minute, kind, post, again) in enumerate(sorted(reports)):
            time = datetime.fromtimestamp(base + 60 * minute, UTC).isoformat()
            [entry] = event("safety.disaster.reported", time, {
                "alert_id": "AL-P", "report_kind": kind, "post": post, "by": INFO_OFFICER}, "AL-P",
                f"dr-{i}")
            entries += [entry, entry] if twice and again else [entry]
        closed = datetime.fromtimestamp(base + 60 * close_after + 30, UTC).isoformat()
        [close] = event("safety.alert.closed", closed,
                        {"alert_id": "AL-P", "note": "Over.", "by": INFO_OFFICER}, "AL-P", "close-p")
        entries = sorted(entries + [close], key=lambda e: at(e["time"]))
        rp = run(entries, "2026-07-30 00:00")
        return [o.id for _, o in rp.outputs]

    once = story(False)
    assert story(True) == once
    assert len(set(once)) == len(once)
