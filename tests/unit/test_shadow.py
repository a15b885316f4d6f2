"""Shadow replay's pure part: the same timeline through two rule sets, compared output by output."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from decide_fixtures import RULES, at, report, verify
from test_alerts import ALERT_RULES, raised

from engine.decide.replay import clock_entry
from engine.shadow import compare, replay, rule_of

# A general hazard left unfixed (the ladder up to the fine) and a drowning with no enterprise.
# Built once: each entry's event id is drawn when it is made, and outputs name the ids they follow.
TIMELINE = [report("HZ-S1", "2026-11-02 09:00"), verify("HZ-S1", "2026-11-02 10:00"),
            raised("AL-S1", "2026-11-03 15:00", kind="drowning", enterprise=None)]


def _timeline():
    return list(TIMELINE)


UNTIL = at("2026-11-30 00:00")


def test_the_same_rules_change_nothing_and_recorded_clock_entries_are_not_replayed():
    """Old against old: no change; a recorded clock entry sends nothing of its own."""
    entries = _timeline()
    old = replay(entries, RULES, ALERT_RULES, UNTIL)
    with_clock = replay([*entries, clock_entry("HZ-S1", at("2026-11-12 00:00"))], RULES, ALERT_RULES, UNTIL)
    assert [s.out.id for s in old] == [s.out.id for s in with_clock]
    diff = compare(old, replay(entries, RULES, ALERT_RULES, UNTIL))
    assert diff.changes == [] and diff.compared == len(old) > 5


def test_a_shorter_rectification_window_moves_the_ladder_removed_and_added_by_rule():
    """General hazards fixed within 3 days, not 7: every ladder output moves, so each is removed and added."""
    grades = dict(RULES.grades)
    grades["general"] = dataclasses.replace(grades["general"],
                                            rectify_within=dataclasses.replace(grades["general"].rectify_within,
                                                                               n=3))
    new_rules = dataclasses.replace(RULES, grades=grades, version="2026.2")
    diff = compare(replay(_timeline(), RULES, ALERT_RULES, UNTIL),
                   replay(_timeline(), new_rules, ALERT_RULES, UNTIL))
    by_rule = diff.by_rule()
    assert by_rule["ladder.yellow"] == {"added": 2, "removed": 2, "changed": 0}  # remind and notify
    # The fine's decision falls due from its proposal, so the escalation that none came moves too.
    assert set(by_rule) == {"ladder.blue", "ladder.yellow", "ladder.orange", "ladder.red", "ladder.overhaul",
                            "enforcement.proposal_due"}
    assert all(c.out.key == "HZ-S1" for c in diff.changes)  # the alert is untouched
    removed = [c for c in diff.changes if c.kind == "removed" and c.rule == "ladder.yellow"]
    added = [c for c in diff.changes if c.kind == "added" and c.rule == "ladder.yellow"]
    assert removed[0].at - added[0].at == 4 * 86400


def test_a_new_fine_range_changes_the_proposal_in_place_and_names_the_field():
    """Same decision, same id, other data: `changed`, with the differing fields; the version is ignored."""
    fine = RULES.enforcement["fine"]
    new_rules = dataclasses.replace(RULES, version="2026.2", enforcement={
        **RULES.enforcement, "fine": dataclasses.replace(fine, amount_range_cny=(10000, 50000))})
    diff = compare(replay(_timeline(), RULES, ALERT_RULES, UNTIL),
                   replay(_timeline(), new_rules, ALERT_RULES, UNTIL))
    [change] = diff.changes
    assert (change.kind, change.fields) == ("changed", ("amount_range_cny",))
    assert change.rule == rule_of(change.out) == "ladder.red"
    assert change.old.event["data"]["amount_range_cny"] == {"min": 0, "max": 50000}
    assert change.out.event["data"]["amount_range_cny"] == {"min": 10000, "max": 50000}


def test_an_alert_class_change_shows_as_notifications_added_and_the_routing_removed():
    """Drowning without an enterprise read as a production accident: 493 outputs come, the routing goes."""
    derive = dict(ALERT_RULES.derive_class)
    derive["drowning"] = ("production_accident", "production_accident")
    new_alerts = dataclasses.replace(ALERT_RULES, derive_class=MappingProxyType(derive))
    diff = compare(replay(_timeline(), RULES, ALERT_RULES, UNTIL),
                   replay(_timeline(), RULES, new_alerts, UNTIL))
    by_rule = diff.by_rule()
    assert by_rule["accident.notify"]["added"] == 1
    assert by_rule["alert.non_production"] == {"added": 0, "removed": 1, "changed": 0}
    assert by_rule["report.county"]["added"] == 1
    assert "ladder.yellow" not in by_rule


def test_the_window_keeps_only_outputs_sent_within_it():
    """since and until bound the outputs compared, both ends included; the runs themselves are whole."""
    derive = dict(ALERT_RULES.derive_class)
    derive["drowning"] = ("production_accident", "production_accident")
    new_alerts = dataclasses.replace(ALERT_RULES, derive_class=MappingProxyType(derive))
    old = replay(_timeline(), RULES, ALERT_RULES, UNTIL)
    new = replay(_timeline(), RULES, new_alerts, UNTIL)
    raised_at = at("2026-11-03 15:00")
    assert compare(old, new, until=raised_at - 1).changes == []
    at_raising = compare(old, new, since=raised_at, until=raised_at)
    assert {(c.rule, c.kind) for c in at_raising.changes} == {
        ("accident.notify", "added"), ("alert.non_production", "removed"),
        ("alert.response", "changed"), ("alert.cap", "changed")}
    assert compare(old, new, since=raised_at + 3600).by_rule().keys() == {"report.county", "report.city"}


def test_a_recorded_clock_entry_marks_how_far_time_had_gone_when_a_late_event_came():
    """An acknowledgement dated 09:25 that came after the timer reached 09:30 did not stop 09:30's step."""
    from test_alerts import FIRE_BRIGADE_ACK, alert_event

    from engine.alerts import alert_clock_entry
    alarm = raised("AL-LATE", "2026-11-02 09:00")
    ack = alert_event("acknowledged", "AL-LATE", "2026-11-02 09:25", **FIRE_BRIGADE_ACK)

    def handovers(entries):
        sent = replay(entries, RULES, ALERT_RULES, at("2026-11-02 12:00"))
        return [s.out.event["data"]["rule_id"] for s in sent
                if s.out.event.get("data", {}).get("action") == "handover"]

    in_time = handovers([alarm, ack])
    late = handovers([alarm, alert_clock_entry("AL-LATE", at("2026-11-02 09:30")), ack])
    assert in_time == ["handover.duty_officer", "handover.grid_chief"]
    assert late == [*in_time, "handover.town"]
