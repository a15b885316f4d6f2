"""The timer's horizon: no deadline fires ahead of an intake record that reached the broker before it."""

from __future__ import annotations

from engine.clocks import ScaledTime, SystemTime
from engine.stream.runtime import SETTLE_S, intake_horizon

FETCHED_MS = 1_800_000_000_000  # when the last fetch of every partition below was answered


def test_caught_up_partitions_allow_everything_sent_before_their_last_fetch() -> None:
    # (next offset, highwater, fetched at, latest record handled at)
    horizon = intake_horizon([(10, 10, FETCHED_MS, FETCHED_MS - 60_000), (0, 0, FETCHED_MS + 500, 0)])
    assert horizon == FETCHED_MS / 1000 - SETTLE_S


def test_a_partition_behind_holds_the_horizon_at_its_latest_record_handled() -> None:
    handled = FETCHED_MS - 3_600_000  # an hour of reports still waits on this partition
    horizon = intake_horizon([(10, 10, FETCHED_MS, FETCHED_MS), (7, 12, FETCHED_MS, handled)])
    assert horizon == handled / 1000


def test_a_partition_never_fetched_holds_every_clock() -> None:
    assert intake_horizon([(10, 10, FETCHED_MS, 0), (0, None, None, 0)]) is None


def test_no_intake_partition_leaves_the_clock_alone() -> None:
    assert intake_horizon([]) == float("inf")


def test_the_horizon_reads_in_the_time_the_timer_goes_by() -> None:
    scaled = ScaledTime(start=1_000_000.0, anchor=2_000.0, rate=21_600.0, end=1_500_000.0)
    assert scaled.at(2_001.0) == 1_000_000.0 + 21_600.0  # one real second, six simulated hours
    assert scaled.at(float("inf")) == 1_500_000.0  # never past its end
    assert scaled.real_time_of(scaled.at(2_010.0)) == 2_010.0
    assert SystemTime().at(1_234.5) == 1_234.5
