"""The benchmark's pure helpers: percentiles, pacing, joins, profile parsing and the tables; no broker."""

from __future__ import annotations

import json
import math
import sysconfig
from collections import Counter

from bench.__main__ import format_table, phases_table, targets
from bench.ladder import batch_phases, interpolate, phases_between, timeline_paths
from bench.latency import (
    Rec,
    Window,
    escalation_causes,
    escalation_latencies,
    growth_ms,
    intake_latencies,
    percentile,
    summary,
)
from bench.profile import function, package, parse_folded, summarise
from bench.scaleout import explain
from bench.workload import build, due
from engine.settings import REPO_ROOT


def test_percentile_interpolates_between_ranks() -> None:
    """p50 of an even count lies between the middle values; p0 and p100 are the extremes."""
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([1, 2, 3, 4], 0) == 1
    assert percentile([1, 2, 3, 4], 100) == 4
    assert percentile(list(range(1, 101)), 99) == 99.01
    assert math.isnan(percentile([], 50))


def test_summary_counts_samples() -> None:
    """A summary names how many samples its percentiles rest on."""
    assert summary([10, 20, 30]) == {"samples": 3, "p50_ms": 20, "p99_ms": 29.8, "max_ms": 30}


def test_pacing_sends_one_at_once_then_rate_times_elapsed() -> None:
    """A paced publisher sends the first event at once, then `rate` per second, never past the end."""
    assert due(100, 0.0, 1000) == 1
    assert due(100, 1.0, 1000) == 101
    assert due(100, 60.0, 1000) == 1000


def test_window_keeps_only_the_steady_part() -> None:
    """Records produced during warm-up or after the window do not count."""
    window = Window(start=100.0, end=110.0, warmup=2.0)
    assert not window.steady(101_000)
    assert window.steady(102_000) and window.steady(110_000)
    assert not window.steady(110_001)


def _entry(entry_id: str, subject: str, offset: int) -> bytes:
    return json.dumps({"entry_id": entry_id, "subject": subject,
                       "origin": {"topic": "in", "partition": 0, "offset": offset}}).encode()


def test_intake_latency_waits_for_the_last_entry_of_an_input() -> None:
    """An inspection writes two entries: its latency runs to the later one."""
    inputs = [Rec("in", 0, 0, 103_000, b"k", b"{}"), Rec("in", 0, 1, 103_500, b"k", b"{}")]
    timeline = [Rec("tl", 0, 0, 103_010, b"k", _entry("e0", "INS-1", 0)),
                Rec("tl", 0, 1, 103_030, b"k", _entry("e1", "HZ-1", 0)),
                Rec("tl", 1, 0, 103_520, b"k", _entry("e2", "HZ-2", 1))]
    window = Window(100.0, 110.0, 2.0)
    assert sorted(intake_latencies(inputs, timeline, window)) == [(103_000, 30), (103_500, 20)]


def test_escalation_joins_by_caused_by_else_by_the_subjects_latest_entry() -> None:
    """A clock-caused escalation is charged to the subject's last entry written before it."""
    timeline = [Rec("tl", 0, 0, 1_000, b"HZ-1", _entry("e0", "HZ-1", 0)),
                Rec("tl", 0, 1, 5_000, b"HZ-1", _entry("e1", "HZ-1", 1)),
                Rec("tl", 0, 2, 9_000, b"HZ-1", _entry("e2", "HZ-1", 2))]

    def escalation(ts: int, cause: str) -> Rec:
        return Rec("esc", 0, 0, ts, b"HZ-1",
                   json.dumps({"subject": "HZ-1", "data": {"caused_by": [cause]}}).encode())

    causes, joined = escalation_causes(timeline, [escalation(1_050, "e0"), escalation(5_080, "clock-x")])
    assert causes == [(1_050, ("in", 0, 0)), (5_080, ("in", 0, 1))]
    assert joined == {"by_caused_by": 1, "by_subject": 1, "unjoined": 0}
    inputs = [Rec("in", 0, 0, 990, b"", b""), Rec("in", 0, 1, 4_990, b"", b"")]
    assert escalation_latencies(inputs, causes, Window(0.0, 10.0, 2.0)) == [(4_990, 90)]


def test_growth_tells_a_backlog_from_a_steady_latency() -> None:
    """A worker that keeps pace has no trend; one that falls behind shows its backlog growing."""
    steady = [(t, 50 + (t % 7) * 10) for t in range(0, 40_000, 100)]
    falling_behind = [(t, 50 + t // 10) for t in range(0, 40_000, 100)]  # 0.1 s more per second
    assert abs(growth_ms(steady)) < 30
    assert growth_ms(falling_behind) == 3_000
    assert growth_ms(steady[:20]) is None  # too few to say


def test_interpolate_is_linear_inside_and_flat_outside() -> None:
    """CPU counters sampled now and then are read between samples linearly."""
    points = [(0.0, 0.0), (1.0, 10.0), (3.0, 10.0)]
    assert interpolate(points, 0.5) == 5.0
    assert interpolate(points, -1.0) == 0.0
    assert interpolate(points, 9.0) == 10.0


FOLDED = """\
<module> (engine/__main__.py:7);run_forever (asyncio/base_events.py:607);select (selectors.py:468) 30
<module> (engine/__main__.py:7);intake (engine/app.py:260);decide_intake (engine/intake/process.py:135);\
model_validate_json (/v/lib/python3.11/site-packages/pydantic/main.py:580) 50
<module> (engine/__main__.py:7);intake (engine/app.py:260);encode (engine/intake/timeline.py:90) 20
not a line
"""


def test_profile_counts_busy_samples_apart_from_waiting() -> None:
    """Waiting in epoll is reported apart; shares are of busy samples; entry frames are left out."""
    stacks = parse_folded(FOLDED)
    assert sum(stacks.values()) == 100
    result = summarise(stacks, top=3)
    assert result["waiting_in_epoll_percent"] == 30
    assert result["top_self"][0] == {"name": "model_validate_json (pydantic/main.py)", "samples": 50,
                                     "percent": 71.4}
    inclusive = {f["name"]: f["percent"] for f in result["top_engine_inclusive"]}
    assert inclusive["intake (engine/app.py)"] == 100.0
    assert "<module> (engine/__main__.py)" not in inclusive


def test_frames_are_named_without_line_and_grouped_by_package() -> None:
    """A frame loses its line number; engine frames group by module, libraries by their top package."""
    assert function("decide (engine/decide/core.py:70)") == "decide (engine/decide/core.py)"
    assert package("decide (engine/decide/core.py:70)") == "engine/decide"
    assert package("send (/x/site-packages/aiokafka/producer/producer.py:3)") == "aiokafka"
    assert package("dumps (json/__init__.py:238)") == "json"
    stdlib = sysconfig.get_paths()["stdlib"]
    assert function(f"dumps ({stdlib}/json/__init__.py:238)") == "dumps (json/__init__.py)"
    assert package(f"decide ({REPO_ROOT}/engine/decide/core.py:70)") == "engine/decide"


def test_table_aligns_numbers_right_and_text_left() -> None:
    """Numbers get thousands separators and align right; missing values show as '-'."""
    table = format_table(["rung", "events/s"], [["kcat", 195651.4], ["engine", None], ["x", 0.5]])
    assert table.splitlines() == ["rung    events/s", "------  --------", "kcat     195,651",
                                  "engine         -", "x           0.50"]


def test_a_windows_batch_phases_come_from_two_scrapes_and_print_as_shares() -> None:
    """The phases' counter is read before a window and after its drain; the difference of each
    phase goes in the point, and the table gives each as a share of their sum."""
    def samples(fetch: float, decide: float) -> list[tuple[str, dict[str, str], float]]:
        return [("hazard_batch_seconds_total", {"phase": "fetch"}, fetch),
                ("hazard_batch_seconds_created", {"phase": "fetch"}, 1.7e9),
                ("hazard_batch_seconds_total", {"phase": "decide"}, decide),
                ("hazard_processing_seconds_sum", {"stage": "decide"}, 99.0)]
    before, after = batch_phases(samples(1.0, 2.0)), batch_phases(samples(4.0, 11.0))
    assert before == {"fetch": 1.0, "decide": 2.0}
    phases = phases_between(before, after)
    assert phases == {"fetch": 3.0, "intake": 0.0, "decide": 9.0, "send": 0.0, "store": 0.0, "commit": 0.0}
    rungs = [{"name": "4 full engine", "latency": [
        {"load": 0.5, "target_rate": 1500.0, "saturated": False, "batch_phases_s": phases},
        {"load": 0.8, "target_rate": 2400.0, "saturated": True, "batch_phases_s": {}}]},
        {"name": "2 aiokafka", "latency": []}]
    table = phases_table(rungs)
    assert table is not None
    assert table.splitlines()[2].split() == ["4", "full", "engine", "50%", "1,500", "no", "25%", "0%", "75%",
                                             "0%", "0%", "0%"]
    assert len(table.splitlines()) == 3  # a window without phases (an older results file) is left out
    assert phases_table([{"name": "2 aiokafka", "latency": []}]) is None


def test_a_windows_timeline_entries_by_path_come_from_two_scrapes() -> None:
    """Taken and fetched timeline records, read before a window and after its drain: the counts between."""
    def samples(taken: float, fetched: float) -> list[tuple[str, dict[str, str], float]]:
        return [("hazard_timeline_entries_total", {"path": "taken"}, taken),
                ("hazard_timeline_entries_created", {"path": "taken"}, 1.7e9),
                ("hazard_timeline_entries_total", {"path": "fetched"}, fetched),
                ("hazard_batch_seconds_total", {"phase": "fetch"}, 5.0)]
    before, after = timeline_paths(samples(10.0, 2.0)), timeline_paths(samples(910.0, 52.0))
    assert before == {"taken": 10.0, "fetched": 2.0}
    assert phases_between(before, after, ("taken", "fetched")) == {"taken": 900.0, "fetched": 50.0}
    assert phases_between({}, {"taken": 3.0}, ("taken", "fetched")) == {"taken": 3.0, "fetched": 0.0}


def test_targets_say_by_how_much_a_goal_is_missed() -> None:
    """The goals are reported against the full engine, not asserted."""
    rungs = [{"name": "2 aiokafka", "events_per_s": 40_000.0, "latency": []},
             {"name": "4 full engine", "events_per_s": 200.0,
              "latency": [{"load": 0.5, "samples": 100, "p99_ms": 250.0}]}]
    got = targets(rungs)
    assert got["share_of_aiokafka"] == {"goal": 0.5, "measured": 0.005, "met": False}
    assert got["events_per_s_per_worker"]["times_short"] == 50.0
    assert got["p99_ms_at_50pct"]["met"] is False


def test_scaleout_shortfall_splits_into_causes_that_add_up() -> None:
    """Cores taken by others, cores left idle and dearer events account for the whole shortfall."""
    one = {"events_per_s": 280.0, "cpu_s_per_million": 3_000.0, "worker_cores": 0.84}
    two = {"events_per_s": 400.0, "worker_cores": 1.45, "machine_busy_cores": 1.9}
    got = explain(one, two, cores=2)
    assert got["lost_to_cores_taken"] == round((1.68 - 1.45 - 0.1) / 0.003, 1)
    assert got["lost_to_cores_left_idle"] == round(0.1 / 0.003, 1)
    lost = got["lost_to_cores_taken"] + got["lost_to_cores_left_idle"] + got["lost_to_cpu_per_event"]
    assert abs(got["ideal_events_per_s"] - lost - two["events_per_s"]) < 0.5


def test_workload_is_realistic_and_mixed_like_the_demo() -> None:
    """Contract events of every intake topic, a few hundred bytes each, about 4% alerts."""
    items = build(2_000)
    topics = Counter(i.topic for i in items)
    assert set(topics) == {"hazard.reports", "inspection.findings", "rectification.updates",
                           "responder.alerts"}
    assert 0.02 < topics["responder.alerts"] / len(items) < 0.08
    assert all(200 < len(i.value) < 1_000 for i in items)
    assert len({json.loads(i.value)["id"] for i in items}) == len(items)
