"""`hazard-engine filing --schedule`: which month falls due when, and the scheduler's loop.

The loop is run with a list clock and a sleep that records each wait; filing
itself (`file_month`, which needs a broker) is replaced here by a recorder,
and tests/broker/test_filing_e2e.py runs the real one.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from engine.tools import filing
from engine.tools.kafka import NoTopic


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@pytest.mark.parametrize(("now", "day", "month"), [
    ("2026-12-05T00:00:00+08:00", 5, "2026-11"),  # the first second of the due day
    ("2026-12-04T23:59:59+08:00", 5, "2026-10"),  # the second before it: November is not due yet
    ("2026-12-04T16:00:00+00:00", 5, "2026-11"),  # the same first second, written in UTC
    ("2027-01-05T08:00:00+08:00", 5, "2026-12"),  # across the year's end
    ("2027-01-01T00:00:00+08:00", 1, "2026-12"),
    ("2027-02-28T12:00:00+08:00", 28, "2027-01"),
])
def test_a_month_falls_due_on_the_filing_day_of_the_month_after_in_district_time(now, day, month):
    assert filing.due_month(_ts(now), day) == month


def test_the_next_month_falls_due_on_the_filing_day_at_midnight_district_time():
    assert filing.month_after("2026-12") == "2027-01"
    assert filing.due_at("2026-12", 5) == _ts("2027-01-05T00:00:00+08:00")
    assert filing.due_at("2027-01", 28) == _ts("2027-02-28T00:00:00+08:00")


class _Stop(Exception):
    """Ends the endless loop from the test's sleep."""


def _run(clock_times: list[float], outcomes: list[object], day: int = 5
         ) -> tuple[list[str], list[float]]:
    """The months the scheduler filed and the waits it slept, the clock reading `clock_times` in
    turn; each filing returns (or raises) the next of `outcomes`. Stops when the clock runs out."""
    filed: list[str] = []
    slept: list[float] = []
    times = iter(clock_times)

    async def file_month(bootstrap, prefix, app_id, month, rules, auth=None):
        filed.append(month)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def clock() -> float:
        try:
            return next(times)
        except StopIteration:
            raise _Stop from None

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(filing, "file_month", file_month)
        with pytest.raises(_Stop):
            asyncio.run(filing.schedule("b", "", "app", None, day, clock=clock, sleep=sleep))
    return filed, slept


def test_the_scheduler_files_the_month_due_at_start_and_then_each_month_once():
    start = _ts("2026-12-07T09:00:00+08:00")
    due = _ts("2027-01-05T00:00:00+08:00")
    filed, slept = _run([start, start + 60, due - 30, due, due + 60], [(8, 0), (8, 0)])
    assert filed == ["2026-11", "2026-12"]  # at start, and at the due second; never twice
    assert slept[0] == filing.LONGEST_SLEEP_S  # the clock is read again within the minute
    assert slept[2] == 30  # woken at the due second, not up to a minute after it


def test_a_failed_filing_is_tried_again_until_it_is_filed():
    start = _ts("2026-12-07T09:00:00+08:00")
    refused = NoTopic("topic referrals.discipline does not exist")
    filed, slept = _run([start, start + 300, start + 360], [refused, OSError("broker gone"), (0, 8)])
    assert filed == ["2026-11"] * 3
    assert slept[:2] == [filing.RETRY_S, filing.RETRY_S]
