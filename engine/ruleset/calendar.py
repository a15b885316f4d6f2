"""Working days in the PRC: public holidays and make-up working days (调休), from chinese-calendar.

The holiday data comes from the `chinese-calendar` package, which follows the
State Council's yearly notices. For a year the package does not know yet (the
notice for year N is usually published late in year N-1), the calendar falls
back to Monday to Friday and marks the result as approximate, so every
deadline computed that way says so in its output.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


@lru_cache(maxsize=4096)
def _workday(day: date) -> tuple[bool, bool]:
    """(is a working day, known from holiday data rather than guessed from the weekday)."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5, False


@dataclass(frozen=True, slots=True)
class Deadline:
    """A due time, and whether it rests on guessed (weekday-only) holiday data."""

    at: datetime
    approximate: bool = False


class WorkCalendar:
    """Adds calendar or working days to an instant, in Asia/Shanghai."""

    def is_workday(self, day: date) -> bool:
        """Whether `day` is a working day (a make-up Saturday is; a holiday Monday is not)."""
        return _workday(day)[0]

    def known(self, day: date) -> bool:
        """Whether holiday data covers `day`'s year."""
        return _workday(day)[1]

    def add_working_days(self, start: datetime, n: int) -> Deadline:
        """The end of the n-th working day after `start`'s day (a filing limit of n 工作日)."""
        day = start.astimezone(SHANGHAI).date()
        approximate = False
        counted = 0
        while counted < n:
            day += timedelta(days=1)
            workday, known = _workday(day)
            approximate |= not known
            counted += workday
        return Deadline(datetime.combine(day, time(23, 59, 59), SHANGHAI), approximate)

    def add_days(self, start: datetime, n: int) -> Deadline:
        """The end of the n-th calendar day after `start`'s day; n may be negative."""
        day = start.astimezone(SHANGHAI).date() + timedelta(days=n)
        return Deadline(datetime.combine(day, time(23, 59, 59), SHANGHAI))

    def working_days_between(self, start: datetime, end: datetime) -> tuple[int, bool]:
        """Working days after `start`'s day up to and including `end`'s day, and if approximate."""
        day = start.astimezone(SHANGHAI).date()
        last = end.astimezone(SHANGHAI).date()
        count, approximate = 0, False
        while day < last:
            day += timedelta(days=1)
            workday, known = _workday(day)
            approximate |= not known
            count += workday
        return count, approximate
