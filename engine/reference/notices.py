"""rules/reference/calendar.yaml: the State Council's yearly holiday notices, typed in by a district.

Each year the State Council's General Office publishes its notice on the
holiday arrangements (国务院办公厅关于某年部分节假日安排的通知), usually in
October to December of the year before. Festival by festival it lists the rest
days (放假) and the weekend days worked instead (调休上班). The file model
follows that layout, so the file reads like the notice; compile_notices() then
checks the dates and builds the day lookup the working-day calendar consults
before any package data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import Field, PlainValidator
from pydantic_core import PydanticCustomError

from engine.reference.errors import RulesFileError
from engine.reference.models import Text, Version, _FileModel

# The longest break so far is nine days (Spring Festival 2026); a longer range is
# far more likely a mistyped month than a real arrangement.
MAX_BREAK_DAYS = 14
_RANGE = re.compile(r"^\s*(\S+)\s+to\s+(\S+)\s*$")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_HINT = "write a date as 2027-01-01"


@dataclass(frozen=True, slots=True)
class DaySpan:
    """Consecutive days as a notice gives them: one day, or a first and a last day."""

    first: date
    last: date

    def days(self) -> Iterator[date]:
        """Every day from `first` to `last`, both included."""
        day = self.first
        while day <= self.last:
            yield day
            day += timedelta(days=1)


def _day(value: Any) -> date:
    """A calendar date; YAML already turns 2027-01-01 into one, a quoted "2027-01-01" is accepted too."""
    if isinstance(value, datetime):  # a timestamp: the notice names days, never times
        raise PydanticCustomError("day", f"expected a date without a time ({_HINT})")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise PydanticCustomError("day", f"expected a date ({_HINT})")


def _day_span(value: Any) -> DaySpan:
    """One date, or a range written "2027-02-05 to 2027-02-11" with the first day first."""
    if isinstance(value, str) and (m := _RANGE.match(value)):
        try:
            first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        except ValueError:
            raise PydanticCustomError(
                "day_span", f"a range has two dates joined by 'to' ({_HINT} to 2027-01-03)") from None
        if last < first:
            raise PydanticCustomError("day_span", "the range ends before it starts (first day first)")
        if (last - first).days >= MAX_BREAK_DAYS:
            raise PydanticCustomError(
                "day_span", f"a {(last - first).days + 1}-day break is longer than any notice has set "
                f"(at most {MAX_BREAK_DAYS}); check the months")
        return DaySpan(first, last)
    try:
        day = _day(value)
    except PydanticCustomError:
        raise PydanticCustomError(
            "day_span", "expected a date such as 2027-01-01 or a range such as "
                        "2027-02-05 to 2027-02-11") from None
    return DaySpan(day, day)


Day = Annotated[date, PlainValidator(_day)]
Days = Annotated[DaySpan, PlainValidator(_day_span)]
Year = Annotated[int, Field(ge=2000, le=2100)]


class NoticeSource(_FileModel):
    """Which notice a year was typed from, so anyone can check it against the original."""

    title: Text  # e.g. 国务院办公厅关于2026年部分节假日安排的通知
    number: Text  # the document number (文号), e.g. 国办发明电〔2025〕7号
    date: Day  # the date the notice was issued


class FestivalEntry(_FileModel):
    """One festival's paragraph of the notice: its rest days and the weekend days worked instead."""

    festival: Text
    rest: Annotated[tuple[Days, ...], Field(min_length=1)]
    work: tuple[Day, ...] = ()


class NoticeEntry(_FileModel):
    """One year's notice: its source and its festivals."""

    source: NoticeSource
    festivals: Annotated[tuple[FestivalEntry, ...], Field(min_length=1)]


class CalendarFile(_FileModel):
    """rules/reference/calendar.yaml: the holiday notices a district has typed in, by year."""

    version: Version
    years: dict[Year, NoticeEntry]


@dataclass(frozen=True, slots=True)
class Notice:
    """One year's notice as typed in: where it comes from and the days it sets."""

    year: int
    title: str
    number: str
    issued: date
    rest: Mapping[date, str] = field(compare=False)  # rest day -> its festival
    work: Mapping[date, str] = field(compare=False)  # make-up working day (调休上班) -> its festival

    @property
    def source(self) -> str:
        """Title, document number and date, as a citation."""
        return f"{self.title} ({self.number}, {self.issued.isoformat()})"


@dataclass(frozen=True, slots=True)
class HolidayNotices:
    """Every notice typed into calendar.yaml, and the working-day answer for each day they name."""

    version: str | None  # None when the rules dir has no calendar.yaml
    years: Mapping[int, Notice]
    days: Mapping[date, bool]  # every day a notice names -> whether it is a working day


NO_NOTICES = HolidayNotices(None, MappingProxyType({}), MappingProxyType({}))


def compile_notices(f: CalendarFile, shown: str) -> HolidayNotices:
    """Check the dates of every notice and build the day lookup; raise RulesFileError naming the key."""
    seen: dict[date, str] = {}  # day -> key where it was first listed

    def claim(day: date, year: int, key: str) -> None:
        # A notice for year N may start the New Year break in late December of N-1
        # (2024's did), but never reaches further back or into another year.
        if day.year != year and not (day.year == year - 1 and day.month == 12):
            raise RulesFileError(
                shown, key, f"{day} is not in {year} (the notice for {year} lists days of {year}, "
                f"or late December {year - 1} for the New Year break)")
        if day in seen:
            raise RulesFileError(shown, key, f"{day} is already listed at {seen[day]} (list each day once)")
        seen[day] = key

    years: dict[int, Notice] = {}
    days: dict[date, bool] = {}
    for year, entry in sorted(f.years.items()):
        key = f"years.{year}"
        if str(year) not in entry.source.title:
            raise RulesFileError(
                shown, f"{key}.source.title", f"the title does not mention {year} (copy the title of "
                f"the notice for {year}, e.g. 国务院办公厅关于{year}年部分节假日安排的通知)")
        rest: dict[date, str] = {}
        work: dict[date, str] = {}
        for i, fest in enumerate(entry.festivals):
            fkey = f"{key}.festivals[{i}]"
            for j, span in enumerate(fest.rest):
                for day in span.days():
                    claim(day, year, f"{fkey}.rest[{j}]")
                    rest[day] = fest.festival
            for j, day in enumerate(fest.work):
                if day.weekday() < 5:
                    raise RulesFileError(
                        shown, f"{fkey}.work[{j}]", f"{day} is a {_WEEKDAYS[day.weekday()]}: a make-up "
                        "working day (调休上班) is a Saturday or Sunday, since weekdays are worked anyway")
                claim(day, year, f"{fkey}.work[{j}]")
                work[day] = fest.festival
        years[year] = Notice(year, entry.source.title, entry.source.number, entry.source.date,
                             MappingProxyType(rest), MappingProxyType(work))
        days.update(dict.fromkeys(rest, False))
        days.update(dict.fromkeys(work, True))
    return HolidayNotices(f.version, MappingProxyType(years), MappingProxyType(days))
