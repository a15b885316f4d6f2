"""Time as the cores keep it: whole seconds since the epoch, shown in Asia/Shanghai.

`after` is the one deadline helper of every core. It returns the due time and
whether it is approximate (a working-day deadline in a year with no holiday
notice); a core that has no use for the second reads `.at`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import NamedTuple, Protocol

from engine.ruleset.calendar import SHANGHAI, WorkCalendar
from engine.ruleset.compiled import Span


class _Calendared(Protocol):
    """Any core's compiled rules: they carry the work calendar deadlines are counted on."""

    @property
    def calendar(self) -> WorkCalendar: ...


class Due(NamedTuple):
    """A deadline in epoch seconds, and whether it is approximate."""

    at: int
    approximate: bool


def local(ts: int) -> datetime:
    """An epoch-seconds time as an aware datetime in Asia/Shanghai."""
    return datetime.fromtimestamp(ts, UTC).astimezone(SHANGHAI)


def iso(ts: int | None) -> str | None:
    """An epoch-seconds time as RFC 3339 in Asia/Shanghai."""
    return None if ts is None else local(ts).isoformat()


def epoch(value: str) -> int:
    """An RFC 3339 time, or a date read as the end of that day in Asia/Shanghai, in epoch seconds."""
    if len(value) == 10:
        return int(datetime.combine(date.fromisoformat(value), time(23, 59, 59), SHANGHAI).timestamp())
    return int(datetime.fromisoformat(value).timestamp())


def utc(ts: int) -> datetime:
    """An epoch-seconds time as an aware UTC datetime."""
    return datetime.fromtimestamp(ts, UTC)


def after(span: Span, start: int, rules: _Calendared) -> Due:
    """The deadline `span` after `start`, on the rules' work calendar."""
    d = span.after(utc(start), rules.calendar)
    return Due(int(d.at.timestamp()), d.approximate)
