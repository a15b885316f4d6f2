"""The clocks benchmark's pure parts: the hazards it loads, and how it reckons lag and recovery.

No broker: the states are checked against the pure core, the figures against
hand-made escalations.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bench.clocks import (
    DAY,
    FIRINGS_PER_HAZARD,
    Workload,
    caught_up_at,
    core_state,
    district_rules,
    expected_escalations,
    fast_state,
    firings,
    lag_summary,
    log_marks,
    percentile,
    spec,
    start_phases,
    state,
    table_chunks,
    table_records,
)
from engine.clocks import ScaledTime
from engine.decide.core import decide
from engine.decide.emit import iso, output_id
from engine.decide.replay import clock_entry
from engine.store import header, unpack

RULES = district_rules()
SMALL = Workload(hazards=300, per_day=2, steady_days=20)
START = int(SMALL.start.timestamp())


@pytest.mark.parametrize("i", [SMALL.per_day * (SMALL.lead_days + 2), 100, SMALL.steady - 1, SMALL.steady,
                               SMALL.hazards - 1])
def test_fast_state_is_the_state_the_core_builds(i: int) -> None:
    """Built directly, a hazard not yet due is byte for byte what intake and `decide` make of its events."""
    s = spec(SMALL, i)
    assert fast_state(s, RULES).encode() == core_state(s, RULES, START).encode()


def test_every_loaded_hazard_is_open_with_its_next_clock_after_the_start() -> None:
    """Each table record decodes to an open, confirmed hazard whose next clock (the key's due) is ahead."""
    records = list(table_records(SMALL, RULES))
    assert len(records) == SMALL.hazards and len({k for k, _ in records}) == SMALL.hazards
    for key, value in records:
        h = unpack(value)
        assert h.id.encode() == key and h.is_open() and h.verdict == "confirmed"
        assert header(value)[0] == h.next_due()
        assert h.next_due() is None or h.next_due() > START


def test_a_loaded_state_escalates_when_its_clock_runs_out() -> None:
    """The core accepts a recovered state: its clock entry sends the blue reminder with the engine's id."""
    h = unpack(dict(table_records(SMALL, RULES))[spec(SMALL, 150).id.encode()])
    due = h.next_due()
    new, outs = decide(h, clock_entry(h.id, due), RULES)
    [out] = outs
    assert out.event["data"]["rule_id"] == "ladder.blue" and out.event["data"]["tier"] == "blue"
    assert out.id == output_id("escalation", h.id, "ladder.blue", "remind", (0, due))
    assert new.step == 1 and new.next_due() == h.deadline  # yellow, on the date itself


def test_hazards_dated_lead_days_before_the_start_have_no_clock_left() -> None:
    """`lead_days` matches the rules: the oldest dated hazards are done, the next day's still wait."""
    oldest, next_day = state(SMALL, 0, RULES), state(SMALL, SMALL.per_day, RULES)
    assert oldest.next_due() is None and oldest.step == len(RULES.ladder) and oldest.is_open()
    assert next_day.next_due() is not None and START < next_day.next_due() < START + DAY


def test_the_same_number_of_clocks_falls_due_on_every_simulated_day() -> None:
    """In the steady stretch, every ladder clock of the hazards dated per day runs out on every day."""
    expected = expected_escalations(SMALL, RULES, START + 15 * DAY)
    clocks = {(subject, due) for subject, due in expected.values()}
    per_day = Counter((due - START) // DAY for _, due in clocks)
    assert set(per_day) == set(range(15))
    assert set(per_day.values()) == {FIRINGS_PER_HAZARD * SMALL.per_day}


def test_bulk_hazards_are_dated_after_the_run_spread_over_a_year() -> None:
    """Hazards past the steady stretch are dated a gap after it, within `bulk_days`."""
    days = [SMALL.day_of(i) for i in range(SMALL.steady, SMALL.hazards)]
    first = SMALL.steady_days + SMALL.bulk_gap_days
    assert min(days) == first and max(days) < first + SMALL.bulk_days
    assert days == sorted(days)


def test_a_burst_s_hazards_all_run_out_at_one_instant_and_the_reference_fires_them() -> None:
    """`run_burst`'s workload: the first `burst` hazards share a date, so their first clocks run out
    together; the steady stretch and the bulk follow as without a burst."""
    w = Workload(hazards=400, per_day=2, steady_days=20, burst=50, burst_day=5)
    dues = {state(w, i, RULES).next_due() for i in range(w.burst)}
    assert dues == {START + (5 - 2 + 1) * DAY - 1}  # blue: 23:59:59 two days before the date
    assert [w.day_of(i) for i in range(w.burst, w.burst + w.steady)] == \
        [SMALL.day_of(i) for i in range(SMALL.steady)]
    assert w.day_of(w.burst + w.steady) == SMALL.day_of(SMALL.steady)
    burst = {spec(w, i).id for i in range(w.burst)}
    fired = {subject for subject, due in expected_escalations(w, RULES, min(dues)).values()
             if due == min(dues)}
    assert burst <= fired  # and the steady stretch's clocks of that day, as every day
    assert len(fired - burst) == FIRINGS_PER_HAZARD * w.per_day


def test_a_workload_must_be_larger_than_its_steady_stretch() -> None:
    """Too few hazards for the stretch is refused, with the number needed."""
    with pytest.raises(ValueError, match="need 116"):
        Workload(hazards=100, per_day=2, steady_days=20, lead_days=38)


def test_percentile_is_nearest_rank() -> None:
    """p50 of 1..10 is 5, p99 is 10, p100 the maximum; no values, no percentile."""
    values = [float(v) for v in range(10, 0, -1)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (5.0, 10.0, 10.0)
    assert percentile([], 50) is None


def _escalation(subject: str, due: int, eid: str) -> dict:
    """The fields of an escalation CloudEvent that the lag reckoning reads."""
    return {"id": eid, "subject": subject, "time": iso(due)}


def test_lag_runs_from_the_real_instant_of_the_due_time_to_the_first_escalation() -> None:
    """Lag is measured on the real clock, per (hazard, due); a copy sent later does not count."""
    clock = ScaledTime(start=1_000_000.0, anchor=500.0, rate=86400 / 0.25)
    due = 1_000_000 + 2 * DAY  # 0.5 real seconds after the anchor
    events = [(_escalation("HZ-1", due, "a"), 1300), (_escalation("HZ-1", due, "b"), 1100),
              (_escalation("HZ-1", due, "a"), 9000), (_escalation("HZ-2", due + DAY, "c"), 1000)]
    f1, f2 = firings(events, clock)
    assert (f1.subject, f1.due, f1.sent) == ("HZ-1", due, 1.1)
    assert f1.lag == pytest.approx(1.1 - 500.5)
    assert f2.lag == pytest.approx(1.0 - 500.75)
    assert lag_summary([f1, f2])["clocks"] == 2


def test_caught_up_is_the_first_timely_escalation_after_the_last_late_one() -> None:
    """The backlog ends with its last late clock; the next on-time one marks the catch-up."""
    clock = ScaledTime(start=0.0, anchor=0.0, rate=1.0)
    # (due, sent): three late clocks from the backlog, interleaved with one on time, then on time.
    pairs = [(10, 40.0), (38, 38.5), (12, 41.0), (20, 42.0), (42, 42.5), (43, 43.2)]
    fired = firings([(_escalation(f"HZ-{d}", d, str(d)), int(s * 1000)) for d, s in pairs], clock)
    assert caught_up_at(fired, since=30.0, threshold=1.0) == 42.5
    assert caught_up_at(fired, since=42.4, threshold=1.0) == 42.5
    assert caught_up_at([f for f in fired if f.due != 42 and f.due != 43], 30.0, 1.0) is None


def test_log_marks_find_each_step_of_a_start_and_the_hazard_index_rebuild() -> None:
    """The worker's JSON log gives when it joined, recovered, rebuilt the hazard index and was ready."""
    lines = [
        {"event": "broker_ready", "timestamp": "2026-11-29T11:38:36.000000Z"},
        {"partitions": [0, 1, 2, 3], "event": "partitions_assigned",
         "timestamp": "2026-11-29T11:38:37.000000Z"},
        {"changelog": "app-hazards-changelog", "keys": 12, "event": "table_restored",
         "timestamp": "2026-11-29T11:38:47.000000Z"},
        {"kind": "alert", "subjects": 0, "seconds": 0.0, "event": "deadline_index_rebuilt",
         "timestamp": "2026-11-29T11:38:47.100000Z"},
        {"kind": "hazard", "subjects": 12, "seconds": 3.5, "event": "deadline_index_rebuilt",
         "timestamp": "2026-11-29T11:38:50.500000Z"},
        {"partitions": [0, 1, 2, 3], "states": 12, "event": "worker_ready",
         "timestamp": "2026-11-29T11:38:52.000000Z"},
    ]
    text = "not json\n" + "\n".join(json.dumps(line) for line in lines)
    marks = log_marks(text)
    assert marks["rebuild"] == {"seconds": 3.5, "subjects": 12}
    phases = start_phases(marks["broker_ready"] - 2.0, marks)
    assert phases == {"startup_s": 2.0, "join_s": 1.0, "changelog_read_s": 10.0, "index_rebuild_s": 3.5,
                      "until_ready_s": 1.5, "ready_s": 18.0}


def test_chunks_built_in_other_processes_are_the_records_in_order() -> None:
    """The process pool changes where the records are built, not what or in which order."""
    chunks = list(table_chunks(SMALL, size=70, processes=2))
    assert [len(c) for c in chunks] == [70, 70, 70, 70, 20]
    assert [r for c in chunks for r in c] == list(table_records(SMALL, RULES))
