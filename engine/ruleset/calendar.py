"""Working days in the PRC: public holidays and make-up working days (调休), year by year.

Where a year's answer comes from, first match wins:

1. rules/reference/calendar.yaml, the State Council's notice as the district
   typed it in (a notice for year N usually comes out late in year N-1);
2. the `chinese-calendar` package, which follows the same notices but only
   up to the year of its release;
3. otherwise the statutory holidays from the `holidays` package plus weekends.
   That misses the notice's make-up working days and extra bridge days, so
   every deadline computed from it is marked approximate and its output says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays

from engine.reference.notices import NO_NOTICES, HolidayNotices

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The years chinese-calendar has data for; it raises NotImplementedError outside them.
PACKAGE_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)
# From this day of the year on, `rules check` wants next year's notice typed in.
WARN_FROM = (11, 1)


@lru_cache(maxsize=64)
def _statutory_rest(year: int) -> frozenset[date]:
    """The statutory PRC holidays of `year` (with weekend ones moved to a weekday), and 1 January."""
    # 1 January is added by hand so that no gap in the package can make it a working day.
    return frozenset(holidays.country_holidays("CN", years=year)) | {date(year, 1, 1)}


@dataclass(frozen=True, slots=True)
class Deadline:
    """A due time, and whether it rests on guessed holiday data rather than a notice."""

    at: datetime
    approximate: bool = False


class WorkCalendar:
    """Adds calendar or working days to an instant, in Asia/Shanghai.

    With `rest_day_moves_last_day`, a period of n > 0 calendar days whose last day is a rest day
    (a public holiday, or a Saturday or Sunday that is not a make-up working day) ends at the end
    of the next working day instead (民法典 art. 203 para. 1; rules/hazards.yaml `periods`).
    """

    def __init__(self, notices: HolidayNotices = NO_NOTICES, rest_day_moves_last_day: bool = False) -> None:
        self.notices = notices
        self.rest_day_moves_last_day = rest_day_moves_last_day
        # The per-day lookup sits on the hot path of every deadline; a bounded cache per
        # calendar keeps it O(1) while two rules dirs can still disagree about a year.
        self._day = lru_cache(maxsize=4096)(self._lookup)
        self._last_day = lru_cache(maxsize=4096)(self._moved_last_day)
        # A year typed beyond a missing one does not count: the gap is still guessed.
        year = PACKAGE_YEARS[-1]
        while year + 1 in notices.years:
            year += 1
        self._last_known_year = year

    @property
    def last_known_year(self) -> int:
        """The last year up to which every year is known exactly (from calendar.yaml or chinese-calendar)."""
        return self._last_known_year

    def _lookup(self, day: date) -> tuple[bool, bool]:
        """(is a working day, known from a notice rather than guessed from the statutory holidays)."""
        typed = self.notices.days.get(day)
        if typed is not None:
            return typed, True
        if day.year in self.notices.years:
            return day.weekday() < 5, True
        if day.year in PACKAGE_YEARS:
            return chinese_calendar.is_workday(day), True
        return day.weekday() < 5 and day not in _statutory_rest(day.year), False

    def is_workday(self, day: date) -> bool:
        """Whether `day` is a working day (a make-up Saturday is; a holiday Monday is not)."""
        return self._day(day)[0]

    def known(self, day: date) -> bool:
        """Whether holiday data from a notice covers `day`'s year."""
        return self._day(day)[1]

    def add_working_days(self, start: datetime, n: int) -> Deadline:
        """The end of the n-th working day after `start`'s day (a filing limit of n 工作日)."""
        day = start.astimezone(SHANGHAI).date()
        approximate = False
        counted = 0
        while counted < n:
            day += timedelta(days=1)
            workday, known = self._day(day)
            approximate |= not known
            counted += workday
        return Deadline(datetime.combine(day, time(23, 59, 59), SHANGHAI), approximate)

    def add_days(self, start: datetime, n: int) -> Deadline:
        """The end of the n-th calendar day after `start`'s day; n may be negative.

        With `rest_day_moves_last_day` and n > 0, a last day that is a rest day gives way to the
        next working day (`last_day`). Zero and negative counts (the end of a day itself, a
        reminder before a deadline) are not periods and are never moved."""
        day = start.astimezone(SHANGHAI).date() + timedelta(days=n)
        if n > 0 and self.rest_day_moves_last_day:
            day, approximate = self._last_day(day)
            return Deadline(datetime.combine(day, time(23, 59, 59), SHANGHAI), approximate)
        return Deadline(datetime.combine(day, time(23, 59, 59), SHANGHAI))

    def last_day(self, day: date) -> tuple[date, bool]:
        """The last day of a period in days that would end on `day`: `day` itself when it is a
        working day, else the first working day after it (民法典 art. 203 para. 1: "期间的最后一日
        是法定休假日的，以法定休假日结束的次日为期间的最后一日"); and whether that rests on guessed
        holiday data. It is approximate when a day looked at lies in a year no notice covers and
        near a holiday (`_bridgeable`, `MADE_UP_REACH`), where the notice may rest a weekday or
        work a weekend day the statutory holidays do not show; far from any holiday a weekday
        is worked and a weekend rested in every notice of 2012-2026."""
        return self._last_day(day)

    def _moved_last_day(self, day: date) -> tuple[date, bool]:
        approximate = False
        while True:
            workday, known = self._day(day)
            approximate |= not known and day in _bridgeable(day.year, MADE_UP_REACH)
            if workday:
                return day, approximate
            day += timedelta(days=1)

    def latest_last_day(self, day: date) -> date:
        """The latest the last day of a period in days that would end on `day` could truly fall
        (`last_day` counts on this calendar): where no notice covers the year, a weekday the
        count takes as worked may be a bridge day the notice rests, at most `BRIDGED` a holiday
        within `REACH` days of it (measured as for `latest`). With every day known, `last_day`."""
        doubted: dict[date, int] = {}  # holiday -> its weekdays passed over as possibly rested
        while True:
            workday, known = self._day(day)
            if workday:
                near = None if known else _bridgeable(day.year).get(day)
                if near is None or doubted.get(near, 0) >= BRIDGED:
                    return day
                doubted[near] = doubted.get(near, 0) + 1
            day += timedelta(days=1)

    def working_days_between(self, start: datetime, end: datetime) -> tuple[int, bool]:
        """Working days after `start`'s day up to and including `end`'s day, and if approximate."""
        day = start.astimezone(SHANGHAI).date()
        last = end.astimezone(SHANGHAI).date()
        count, approximate = 0, False
        while day < last:
            day += timedelta(days=1)
            workday, known = self._day(day)
            approximate |= not known
            count += workday
        return count, approximate

    def most_working_days_between(self, start: datetime, end: datetime) -> int:
        """`working_days_between`, counting as working the weekend days a notice may make working
        days (调休) where no notice covers the year: measured against the notices of 2012-2026,
        at most `BRIDGED` a holiday, within `MADE_UP_REACH` days of it. What an enterprise is
        refused for too few working days left, it is refused only by this count."""
        day = start.astimezone(SHANGHAI).date()
        last = end.astimezone(SHANGHAI).date()
        count = 0
        made_up: dict[date, int] = {}  # holiday -> its weekend days counted as possibly worked
        while day < last:
            day += timedelta(days=1)
            if self.is_workday(day):
                count += 1
            elif day.weekday() >= 5 and not self.known(day):
                near = _bridgeable(day.year, MADE_UP_REACH).get(day)
                if near is not None:
                    made_up[near] = made_up.get(near, 0) + 1
        return count + sum(min(n, BRIDGED) for n in made_up.values())

    def latest(self, start: datetime, due: datetime) -> datetime:
        """The latest a working-day deadline counted from `start` could truly fall, `due` being
        its count on this calendar.

        Where no notice covers a year, the count takes every weekday but the statutory holidays
        as working. Each year's notice also rests bridge days beside them, so that count can end
        days before the notice's. Measured against the notices of 2012-2026 (chinese-calendar):
        every holiday had at most `BRIDGED` such weekdays, none more than `REACH` days from it.
        So the deadline is the day by which the count, less up to `BRIDGED` weekdays near each
        holiday it passed (`_bridgeable`), reaches what the count to `due` reached. A referral
        is never sent before this (an early one would blame a department for a deadline that
        had not passed); with every day known, it is `due`.
        """
        day = start.astimezone(SHANGHAI).date()
        last = due.astimezone(SHANGHAI).date()
        wanted = 0
        while day < last:
            day += timedelta(days=1)
            wanted += self.is_workday(day)
        day, counted = start.astimezone(SHANGHAI).date(), 0
        doubted: dict[date, int] = {}  # holiday -> its weekdays counted that the notice may rest
        while True:
            day += timedelta(days=1)
            if not self.is_workday(day):
                continue
            counted += 1
            near = None if self.known(day) else _bridgeable(day.year).get(day)
            if near is not None:
                doubted[near] = doubted.get(near, 0) + 1
            if counted - sum(min(n, BRIDGED) for n in doubted.values()) >= wanted:
                return due if day == last else datetime.combine(day, time(23, 59, 59), SHANGHAI)


# The most weekdays a notice has rested beside one holiday, and how far from it; and how far the
# weekend days it made working days instead lay (at most `BRIDGED` a holiday too): 2012-2026.
BRIDGED, REACH, MADE_UP_REACH = 2, 4, 10


@lru_cache(maxsize=16)
def _bridgeable(year: int, reach: int = REACH) -> dict[date, date]:
    """The days of `year` a notice may make days off besides the statutory holidays (or, with
    `MADE_UP_REACH`, working days instead of a weekend), each with the first day of the holiday
    concerned: within `reach` days of it. Holidays within three days of each other (a festival
    and its observed day across a weekend, the Mid-Autumn Festival beside National Day) count
    as one, as they did in the measurement."""
    near: dict[date, date] = {}
    for around in (year - 1, year, year + 1):
        blocks: list[list[date]] = []
        for day in sorted(_statutory_rest(around)):
            if blocks and (day - blocks[-1][-1]).days <= 3:
                blocks[-1].append(day)
            else:
                blocks.append([day])
        for block in blocks:
            first = block[0] - timedelta(days=reach)
            for i in range((block[-1] - block[0]).days + 2 * reach + 1):
                day = first + timedelta(days=i)
                if day.year == year:
                    near.setdefault(day, block[0])
    return near


def calendar_warnings(calendar: WorkCalendar, today: date) -> list[str]:
    """What `rules check` should warn about: this year, or from 1 November next year, not known exactly."""
    years = [today.year]
    if (today.month, today.day) >= WARN_FROM:
        years.append(today.year + 1)
    return [
        f"the holidays of {year} are not known exactly: working-day deadlines in {year} count Monday "
        "to Friday less the statutory holidays, and a period in days whose last day falls near a "
        "holiday is moved past rest days guessed so; both are marked approximate (a department's referral "
        "for missing one, and a listing's for its deadline, waits for the latest day it could fall, "
        "and a listed hazard's plan or a "
        "disaster's final report filed by then takes its escalation back, and an enforcement "
        "proposal sends that day beside its due day); add "
        f"{year} to rules/reference/calendar.yaml from the State Council's notice "
        f"(国务院办公厅关于{year}年部分节假日安排的通知)"
        for year in years if not calendar.known(date(year, 1, 1))
    ]
