"""Properties of the alert core over random, valid histories of a few alerts.

A history is a few alerts, each raised (of any kind, with or without an
enterprise, a post, figures, an incident class, as a drill or not) and followed
by a random choice and timing of updates, acknowledgements (by a responder or
by an authority, which records a report to its level), disaster reports from
either post, and a close, each made by the real intake from a CloudEvent.
From it:

- determinism: the same entries, replayed afresh, give the same outputs and states;
- one id, one output: outputs that share an id carry the same event, so a consumer
  that drops a record it has seen by its id loses nothing;
- idempotence: an entry delivered again, right after itself or later, changes nothing;
- every output is one the contract describes: an escalation or a notification
  validates as its model, a CAP document against CAP 1.2, its identifier the output's id;
- a closed alert re-grades no more, and nothing goes out about it after its close but
  a withdrawal, or for a natural disaster the final report's (核报) clock its close starts;
- one alert's raising, figures, acknowledgements (reports to authorities among them) and
  disaster reports arriving in any order end in the same facts: grade, level, the reports
  demanded, made and missed, the responder's acknowledgement, the daily disaster reports
  missed (docs/alerts.md, "A close or a report whose record comes first", says what order
  still changes: a close's);
- with records arriving late, a report left standing as overdue (an accident's to an authority,
  a natural disaster's initial, daily or final one) is one the records alone show not made.

The hazard core's properties are tests/unit/test_decide_properties.py; the same
environment variables run a deeper or a random search.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from decide_fixtures import ENTERPRISE, at, event
from hypothesis import given
from hypothesis import strategies as st
from test_alerts import ALERT_RULES, INFO_OFFICER, arriving
from test_decide_properties import (
    DAY,
    GAPS,
    MINUTE,
    PROPERTY,
    START,
    Story,
    arriving_late,
    described,
    timer_to_each_arrival,
    with_redeliveries,
    withdraws_only_what_was_sent,
)

from engine.alerts import AlertReplay
from engine.cap import validate as cap_validate
from engine.contract.outputs import ALERTS_CAP, ESCALATIONS, Escalation
from engine.kernel.apply import entry_time
from engine.kernel.time import iso
from engine.ruletest.capview import cap_view

END = START + 120 * DAY  # past every clock a history sets (handover, reports, disaster reports)
KINDS = ["fire", "explosion", "hazardous_chemical_leak", "gas_leak", "co_poisoning", "drowning", "flood",
         "structural_collapse", "traffic", "crowd_crush", "special_equipment", "other"]
UNITS = ["fire_rescue", "police", "medical", "district_emergency", "city_emergency", "province_emergency"]
ACTIONS = ["update", "update", "acknowledge", "disaster_report", "disaster_report", "close"]
COUNTS = st.integers(0, 3) | st.integers(0, 120)
SEEN = {"id": "gw-0417", "role": "grid_worker", "name": "Wang Li"}


@st.composite
def casualties(draw: st.DrawFn) -> dict[str, int]:
    names = draw(st.sets(st.sampled_from(["dead", "missing", "seriously_injured", "injured", "trapped"])))
    return {name: draw(COUNTS) for name in sorted(names)}


@st.composite
def alert_story(draw: st.DrawFn, aid: str) -> list[dict[str, Any]]:
    """One alert's entries, in the order they happened."""
    story = Story(draw, aid, START + draw(st.integers(0, 10 * DAY)), GAPS | st.integers(1, 10 * MINUTE))
    later = story.later

    def one(type_: str, when: int, data: dict[str, Any]) -> dict[str, Any]:
        [entry] = event(type_, iso(when), {"alert_id": aid, **data}, aid, story.eid())
        return entry

    raised = {"kind": draw(st.sampled_from(KINDS)), "description": "Smoke and people calling for help.",
              "location": {"town": "lihaiwu", "grid": "LHW-03", "address": "No. 8 Binhe Road"},
              "casualties": draw(casualties()), "reporter": draw(st.sampled_from([INFO_OFFICER, SEEN])),
              "crowded_place": draw(st.booleans())}
    if draw(st.booleans()):
        raised["enterprise"] = ENTERPRISE
    if draw(st.booleans()):
        raised["post"] = draw(st.sampled_from(["A", "B"]))
    if draw(st.integers(0, 3)) == 0:
        raised["incident_class"] = draw(st.sampled_from(["production_accident", "non_production",
                                                          "natural_disaster"]))
    if draw(st.integers(0, 5)) == 0:
        raised["people_to_evacuate"] = draw(COUNTS)
    if draw(st.integers(0, 5)) == 0:
        raised["estimated_loss_cny"] = draw(st.sampled_from([0, 9_990_000, 10_000_000, 60_000_000]))
    if draw(st.integers(0, 9)) == 0:
        raised["exercise"] = True
    entries = [one("safety.alert.raised", story.t, raised)]
    for action in draw(st.lists(st.sampled_from(ACTIONS), max_size=7)):
        now = later()
        if action == "update":
            entries.append(one("safety.alert.updated", now, {
                "casualties": draw(casualties()), "note": "figures from the scene",
                **({"people_to_evacuate": draw(COUNTS)} if draw(st.booleans()) else {})}))
        elif action == "acknowledge":
            entries.append(one("safety.alert.acknowledged", now, {
                "unit": draw(st.sampled_from(UNITS)), "by": {"id": "duty-1", "role": "supervisor"}}))
        elif action == "disaster_report":
            figures = {"affected_population": draw(COUNTS)} if draw(st.booleans()) else {}
            if draw(st.booleans()):
                figures["casualties"] = draw(casualties())
            entries.append(one("safety.disaster.reported", now, {
                "report_kind": draw(st.sampled_from(["initial", "update", "zero", "final"])),
                "post": draw(st.sampled_from(["A", "B"])), "by": INFO_OFFICER, "figures": figures}))
        else:
            entries.append(one("safety.alert.closed", now, {"note": "Out; the scene is cleared.",
                                                            "by": INFO_OFFICER}))
    return entries


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A few alerts' entries, merged in time order (each alert's own order kept on ties)."""
    entries: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 3))):
        entries += draw(alert_story(f"AL-{i}"))
    return sorted(entries, key=entry_time)


def replay(arrivals: list[tuple[int, dict[str, Any]]]) -> AlertReplay:
    """Feed (now, entry) pairs in arrival order, then run every clock to END (`arriving`)."""
    return arriving(arrivals, END)


def in_order(entries: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    return [(entry_time(e), e) for e in entries]


def canonical(rp: AlertReplay) -> dict[str, dict[str, Any]]:
    """Each alert's state without what depends on delivery (which entries, up to when)."""
    docs = {}
    for aid, a in rp.states.items():
        doc = a.doc(whole=True)
        for name in ("applied", "applied_from", "watermark"):
            doc.pop(name, None)
        doc["history"] = sorted(map(repr, doc.get("history", [])))
        docs[aid] = doc
    return docs


@st.composite
def sent_again(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]:
    """A history, and its arrivals with one to three of its records sent again through the intake
    under fresh event ids (an officer's app retrying), each right after its first or later."""
    entries = draw(histories())
    arrivals = in_order(entries)
    picks = st.tuples(st.integers(0, len(entries) - 1), st.integers(0, len(entries)))
    for i, later in sorted(draw(st.lists(picks, min_size=1, max_size=3)), reverse=True):
        entry = entries[i]
        [copy] = event(entry["type"], entry["time"], entry["data"], entry["subject"])
        at_ = min(arrivals.index((entry_time(entry), entry)) + 1 + later, len(arrivals))
        arrivals.insert(at_, (max(arrivals[at_ - 1][0], entry_time(entry)), copy))
    return entries, arrivals


@PROPERTY
@given(sent_again())
def test_a_record_sent_again_under_a_fresh_event_id_changes_no_output(case: tuple[list, list]) -> None:
    """Whatever an alert's app sends again under a fresh event id, at once or after other records:
    the same outputs as the records sent once. Before engine/kernel/copies.py an update sent again
    issued another CAP message, and the alert's later CAP messages took other ids."""
    entries, arrivals = case
    once, again = replay(in_order(entries)), replay(arrivals)
    assert sorted(o.id for _, o in again.outputs) == sorted(o.id for _, o in once.outputs)


@PROPERTY
@given(histories())
def test_the_same_entries_give_the_same_outputs_and_states(entries: list[dict[str, Any]]) -> None:
    a, b = replay(in_order(entries)), replay(in_order(entries))
    assert [(t, o.topic, o.key, o.event) for t, o in a.outputs] == \
        [(t, o.topic, o.key, o.event) for t, o in b.outputs]
    assert canonical(a) == canonical(b)


@PROPERTY
@given(histories())
def test_outputs_that_share_an_id_are_the_same_output(entries: list[dict[str, Any]]) -> None:
    """A consumer drops a record whose id it has seen: two different outputs under one id would
    lose the second."""
    by_id: dict[str, tuple[str, dict[str, Any]]] = {}
    for _, o in replay(in_order(entries)).outputs:
        assert by_id.setdefault(o.id, (o.topic, o.event)) == (o.topic, o.event), o.id


@PROPERTY
@given(with_redeliveries(histories()))
def test_redelivered_entries_change_nothing(case: tuple[list, list]) -> None:
    entries, arrivals = case
    once, again = replay(in_order(entries)), replay(arrivals)
    # The same outputs, maybe interleaved otherwise between alerts: a copy arriving late holds the
    # timer back to its own time until it has passed.
    assert sorted(o.id for _, o in again.outputs) == sorted(o.id for _, o in once.outputs)
    assert canonical(again) == canonical(once)


@PROPERTY
@given(histories())
def test_every_output_is_one_the_contract_describes(entries: list[dict[str, Any]]) -> None:
    for _, out in replay(in_order(entries)).outputs:
        if out.topic == ALERTS_CAP:
            assert cap_validate(out.event["xml"].encode()) == [], out.event["xml"]
            assert cap_view(out.event["xml"])["identifier"] == out.id
            continue
        if isinstance(data := described(out, "alert"), Escalation):
            assert data.targets, data


@PROPERTY
@given(histories())
def test_a_closed_alert_sends_only_withdrawals_its_report_clocks_and_its_final_disaster_report_clock(
        entries: list[dict[str, Any]]) -> None:
    """Closing stops the handover and the response (no level is activated after it); the 493 report
    clocks run on, the duty to report outliving the response (arts. 9, 11, 13); a natural disaster's
    close (灾情稳定) starts its final report's clock (核报)."""
    rp = replay(in_order(entries))
    reports = {level.rule_id for level in ALERT_RULES.report_levels}
    for aid, a in rp.states.items():
        if a.closed_at is None:
            continue
        assert a.clocks == {}, (aid, a.clocks)  # by END the report and final clocks have run out too
        after = [o.event["data"] for t, o in rp.outputs
                 if o.key == aid and o.topic == ESCALATIONS and t > a.closed_at]
        assert all(d["action"] == "failure_withdrawn" or (
            d["rule_id"] == ALERT_RULES.disaster.final_rule and a.incident_class == "natural_disaster")
            or (d["action"] == "report_overdue" and d["rule_id"] in reports)
            for d in after), after


# What an alert's facts are, apart from what was sent on the way (handover steps passed, CAP messages).
FACTS = ("opened", "opened_at", "kind", "incident_class", "grade", "level", "demanded", "reported", "acked",
         "closed_at", "final_missed")


def facts(rp: AlertReplay) -> dict[str, dict[str, Any]]:
    return {aid: {**{name: getattr(a, name) for name in FACTS}, "missed": sorted(a.missed),
                  "dmissed": sorted(a.dmissed), "reports": sorted(map(repr, a.reports))}
            for aid, a in rp.states.items()}


@PROPERTY
@given(alert_story("AL-P"), st.data())
def test_an_alerts_records_but_its_close_in_any_order_end_in_the_same_facts(
        story: list[dict[str, Any]], data: st.DataObject) -> None:
    """Each record is decided at its own time and the timer waits for the earliest still to come,
    as `replay` does; a record that comes after a later one is decided at that one's time."""
    entries = [e for e in story if e["type"] != "safety.alert.closed"]
    shuffled = data.draw(st.permutations(entries))
    assert facts(replay([(entry_time(e), e) for e in shuffled])) == facts(replay(in_order(entries)))


@st.composite
def records_arriving_late(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]:
    """A history, and its arrivals with some records reaching the engine late (an app offline), from
    minutes to days after they were made: a report may come after its clock ran out and the
    escalation went out."""
    entries = draw(histories())
    return entries, arriving_late(draw, entries, [5 * MINUTE, 3 * 3600, 20 * 3600, 3 * DAY])


@PROPERTY
@given(records_arriving_late())
def test_every_report_overdue_left_standing_is_one_the_records_show(
        case: tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]) -> None:
    """Once every record is in, whichever came late, an escalation that a report is overdue stands
    (not withdrawn) only where the records alone show the report not made by its due time (those
    who must act are not sent after a report that was made):

    - an accident report (事故报告): no acknowledgement by an authority of its level dated by
      then (closing the alert does not discharge it);
    - a natural disaster's initial report (初报): no disaster report from either post by then;
    - a daily one (续报, 零报告): none made on its day by its hour, no final report before it,
      and the alert not closed before;
    - the final one (核报): no final report by then.
    """
    entries, arrivals = case
    rp = timer_to_each_arrival(AlertReplay(ALERT_RULES), arrivals, END)
    raised = [(at(o.event["time"]), o.event["data"]) for _, o in rp.outputs if o.topic == ESCALATIONS]
    withdraws_only_what_was_sent([o for _, o in rp.outputs])
    taken = {(d["subject_id"], d["rule_id"], at(d["due_at"])) for _, d in raised
             if d["action"] == "failure_withdrawn"}
    levels = {level.rule_id: level for level in ALERT_RULES.report_levels}  # the accident-report chain
    disaster = ALERT_RULES.disaster
    initial = {step.rule_id for step in disaster.initial}
    for due, d in raised:
        if d["action"] != "report_overdue" or (d["subject_id"], d["rule_id"], due) in taken:
            continue
        mine = [e for e in entries if e["subject"] == d["subject_id"]]
        closed = [entry_time(e) for e in mine if e["type"] == "safety.alert.closed" and entry_time(e) < due]
        reports = [(entry_time(e), e["data"]["report_kind"]) for e in mine
                   if e["type"] == "safety.disaster.reported" and entry_time(e) <= due]
        if d["rule_id"] in levels:
            level = levels[d["rule_id"]]
            made = [entry_time(e) for e in mine if e["type"] == "safety.alert.acknowledged"
                    and e["data"]["unit"] in level.authorities and entry_time(e) <= due]
            assert not made, (d["subject_id"], level.id, iso(due), made)
        elif d["rule_id"] in initial:
            assert not reports, (d["subject_id"], "initial", iso(due), reports)
        elif d["rule_id"] == disaster.daily_rule:
            day = iso(due)[:10]
            made = [t for t, kind in reports if iso(t)[:10] == day or kind == "final"]
            assert not made and not closed, (d["subject_id"], "daily", iso(due), made, closed)
        else:
            assert d["rule_id"] == disaster.final_rule, d
            assert not [t for t, kind in reports if kind == "final"], (d["subject_id"], "final", iso(due))


@PROPERTY
@given(records_arriving_late())
def test_every_handover_left_standing_is_one_the_records_show(
        case: tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]) -> None:
    """Once every record is in, whichever came late, a handover step (应急值守) stands (not withdrawn)
    only where the records alone show the alert, at the step's time, neither taken on by a responder
    (an acknowledgement before it by a unit that is no report level's authority) nor closed (by
    then): nobody is sent to take on an alert that had its responder."""
    entries, arrivals = case
    rp = timer_to_each_arrival(AlertReplay(ALERT_RULES), arrivals, END)
    raised = [(at(o.event["time"]), o.event["data"]) for _, o in rp.outputs if o.topic == ESCALATIONS]
    withdraws_only_what_was_sent([o for _, o in rp.outputs])
    taken = {(d["subject_id"], d["rule_id"], at(d["due_at"])) for _, d in raised
             if d["action"] == "failure_withdrawn"}
    for due, d in raised:
        if d["action"] != "handover" or (d["subject_id"], d["rule_id"], due) in taken:
            continue
        mine = [e for e in entries if e["subject"] == d["subject_id"]]
        acked = [entry_time(e) for e in mine if e["type"] == "safety.alert.acknowledged"
                 and ALERT_RULES.authority_level(e["data"]["unit"]) is None and entry_time(e) < due]
        closed = [entry_time(e) for e in mine if e["type"] == "safety.alert.closed" and entry_time(e) <= due]
        assert not acked and not closed, (d["subject_id"], d["rule_id"], iso(due), acked, closed)


# Rules a district may set otherwise (rules/alerts.yaml): the missing not counted as dead, a lower
# grade allowed, no raise for a crowded place or an evacuation, one step of handover.
_DISTRICTS = [
    dataclasses.replace(ALERT_RULES, missing_count_as_dead=not ALERT_RULES.missing_count_as_dead),
    dataclasses.replace(ALERT_RULES, downgrade_allowed=not ALERT_RULES.downgrade_allowed),
    dataclasses.replace(ALERT_RULES, crowded_raise=0, evacuate_at_least=None),
    dataclasses.replace(ALERT_RULES, handover=ALERT_RULES.handover[:1])]


@PROPERTY
@given(st.sampled_from(_DISTRICTS), records_arriving_late())
def test_under_any_rules_a_district_sets_no_decision_fails_and_every_output_is_described(
        rules: Any, case: tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]) -> None:
    """Alerts whose records arrive late, decided under rules other than the shipped ones: no
    decision fails, the same arrivals decide the same, and every output is one the contract
    describes (a CAP message valid as CAP 1.2)."""
    _, arrivals = case
    runs = [timer_to_each_arrival(AlertReplay(rules), arrivals, END) for _ in range(2)]
    assert [o.event for _, o in runs[0].outputs] == [o.event for _, o in runs[1].outputs]
    withdraws_only_what_was_sent([o for _, o in runs[0].outputs])
    for _, out in runs[0].outputs:
        if out.topic == ALERTS_CAP:
            assert cap_validate(out.event["xml"].encode()) == [], out.event["xml"]
        else:
            described(out, "alert")
