"""Time as the cores keep it: whole seconds since the epoch, shown in Asia/Shanghai.

`after` is the one deadline helper of every core. It returns the due time and
whether it is approximate (a working-day deadline in a year with no holiday
notice, or a period in days whose last day may be a rest day there); a core that
has no use for the second reads `.at`. A period of n > 0 days whose last day is a
rest day ends with the next working day, where the rules' calendar says so
(民法典 art. 203 para. 1; `WorkCalendar.add_days`).
"""

from __future__ import annotations

import functools
import weakref
from datetime import UTC, date, datetime, time, timedelta, timezone
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


# Asia/Shanghai has kept +08:00 with no summer time since 1992 (tzdata; a unit test checks it against
# zoneinfo up to 2100), so between these instants a local day is plain arithmetic. Outside them the
# datetime path is taken, as it always was.
_FIXED_FROM = 694_195_200  # 1992-01-01T00:00:00Z
_FIXED_UNTIL = 4_102_444_800  # 2100-01-01T00:00:00Z
_OFFSET = 8 * 3600
_PLUS_8 = timezone(timedelta(seconds=_OFFSET))  # Asia/Shanghai between those instants
_DAY = 86_400
_UNIT_SECONDS = {"minutes": 60, "hours": 3600}
_CACHE_MOST = 1 << 16  # due times kept per calendar before the cache starts over


def local_day(ts: int) -> int | None:
    """The Asia/Shanghai day of an epoch-seconds time as days since 1970-01-01; None outside
    the years where that is arithmetic (then ask `local`)."""
    return (ts + _OFFSET) // _DAY if _FIXED_FROM <= ts < _FIXED_UNTIL else None


def local(ts: int) -> datetime:
    """An epoch-seconds time as an aware datetime in Asia/Shanghai."""
    return datetime.fromtimestamp(ts, UTC).astimezone(SHANGHAI)


def iso(ts: int | None) -> str | None:
    """An epoch-seconds time as RFC 3339 in Asia/Shanghai."""
    return None if ts is None else _iso(ts)


@functools.lru_cache(maxsize=8192)
def _iso(ts: int) -> str:
    if _FIXED_FROM <= ts < _FIXED_UNTIL:  # a fixed offset: the same text, without a zone's lookup
        return datetime.fromtimestamp(ts, _PLUS_8).isoformat()
    return local(ts).isoformat()


def iso_ms(ms: int) -> str:
    """An epoch-milliseconds time (a Kafka record's timestamp) as RFC 3339 in Asia/Shanghai: the
    text `isoformat()` gives for it as an aware datetime there, microseconds shown when there are any.

    Records come in bursts, so the text of the whole second comes from `iso`'s cache; in the
    years of a fixed +08:00 the milliseconds go in before the offset."""
    seconds, frac = divmod(ms, 1000)
    if not frac:
        return _iso(seconds)
    if not _FIXED_FROM <= seconds < _FIXED_UNTIL:
        return datetime.fromtimestamp(ms / 1000, UTC).astimezone(SHANGHAI).isoformat()
    return f"{_iso(seconds)[:-6]}.{frac:03d}000+08:00"


@functools.lru_cache(maxsize=8192)
def epoch(value: str) -> int:
    """An RFC 3339 time, or a date read as the end of that day in Asia/Shanghai, in epoch seconds."""
    if len(value) == 10:
        return int(datetime.combine(date.fromisoformat(value), time(23, 59, 59), SHANGHAI).timestamp())
    return int(datetime.fromisoformat(value).timestamp())


def utc(ts: int) -> datetime:
    """An epoch-seconds time as an aware UTC datetime."""
    return datetime.fromtimestamp(ts, UTC)


# Due times by (span's n and unit, local day of the start) for each calendar: a calendar or
# working-day deadline depends only on the day it is counted from, and the same few spans are
# counted from the same days over and over. Weak keys: a calendar that is dropped (a reloaded
# rules dir) takes its cache along.
_DUE: weakref.WeakKeyDictionary[WorkCalendar, dict[tuple[int, str, int], Due]] = weakref.WeakKeyDictionary()
# The calendar asked last and its cache: a worker runs on one calendar, and a weak lookup per
# deadline cost more than the arithmetic it saves. It holds that one calendar alive.
_LAST: tuple[WorkCalendar | None, dict[tuple[int, str, int], Due]] = (None, {})
_PLAIN = WorkCalendar()  # moves no last day: calendar days are the same on every calendar
_tuple = tuple.__new__  # a Due made without its Python-level constructor (`after`)


def after(span: Span, start: int, rules: _Calendared) -> Due:
    """The deadline `span` after `start`, on the rules' work calendar.

    Minutes and hours are added as seconds; a deadline in days is computed once
    per calendar, span and local day (a last day on a rest day moved then), then
    read from a cache.
    """
    calendar = rules.calendar
    if span.unit in _UNIT_SECONDS:  # a membership test, not a `get` call: most spans count days
        due = start + _UNIT_SECONDS[span.unit] * span.n
        if _FIXED_FROM <= start < _FIXED_UNTIL and _FIXED_FROM <= due < _FIXED_UNTIL:
            return _tuple(Due, (due, False))  # Due's own constructor is a Python function: half again
        return _after(span, start, calendar)
    if not _FIXED_FROM <= start < _FIXED_UNTIL:
        return _after(span, start, calendar)
    day = (start + _OFFSET) // _DAY  # `local_day`, written out: a call cost as much as the rest
    last_calendar, cache = _LAST
    if calendar is not last_calendar or len(cache) >= _CACHE_MOST:
        cache = _due_cache(calendar)
    key = (span.n, span.unit, day)  # a span's own hash is dataclass code: twice the lookup
    found = cache.get(key)
    if found is None:
        found = cache[key] = _after(span, start, calendar)
    return found


def unmoved(span: Span, start: int) -> int:
    """The end of the last day of a period of `span` (in days) from `start`, not moved past a rest
    day: how deadlines in days were counted before 2026-12-07, and are with
    `periods.rest_day_moves_last_day: false`. A deadline stored then is still known by it."""
    return int(span.after(utc(start), _PLAIN).at.timestamp())


def latest(span: Span, since: int, due: int, rules: _Calendared) -> int:
    """The latest a deadline of `span` counted from `since`, due at `due` on the rules'
    calendar, could truly fall: `due` itself, unless it counts working days through a year no
    holiday notice covers (engine/ruleset/calendar.py `WorkCalendar.latest`), or it is a period
    in days whose last day, moved past rest days (民法典 art. 203 para. 1), lies in such a year
    (`WorkCalendar.latest_last_day`). A duty failure stays answerable, and its referral waits,
    until then."""
    calendar = rules.calendar
    if span.unit == "days" and span.n > 0 and calendar.rest_day_moves_last_day:
        last = local(since).date() + timedelta(days=span.n)
        return max(due, _end_of(calendar.latest_last_day(last)))
    if span.unit != "working days":
        return due
    return int(calendar.latest(utc(since), utc(due)).timestamp())


def latest_of_day(due: int, rules: _Calendared) -> int:
    """The latest a deadline at the end of `due`'s day could truly fall when the engine does not
    know how it was counted (a listing's deadline is a period in days from the notice or the
    confirmation, or a date the supervising body set): `due`, unless that day lies in a year no
    holiday notice covers, where it may be a period's last day moved past rest days a notice may
    yet add (民法典 art. 203 para. 1, `WorkCalendar.latest_last_day`). A referral that waits for it
    is early under neither reading; for a date a person set it waits a day or two longer than it
    must, near a holiday of such a year."""
    calendar = rules.calendar
    day = local(due).date()
    if not calendar.rest_day_moves_last_day or calendar.known(day):
        return due
    return max(due, _end_of(calendar.latest_last_day(day)))


def _end_of(day: date) -> int:
    return int(datetime.combine(day, time(23, 59, 59), SHANGHAI).timestamp())


def unsure(due: int, until: int, then: str) -> str:
    """What a reason adds when a deadline `due` may truly fall as late as `until` (`latest`): the
    latest time, and `then`, what happens by it; nothing when the deadline is certain."""
    if until == due:
        return ""
    return (f"; the deadline {iso(due)} is approximate (no holiday notice for its year): it may truly "
            f"be as late as {iso(until)}, and {then}")


def _due_cache(calendar: WorkCalendar) -> dict[tuple[int, str, int], Due]:
    """The cache of `calendar`'s due times (a new one when full), remembered as the last used."""
    global _LAST
    cache = _DUE.get(calendar)
    if cache is None or len(cache) >= _CACHE_MOST:
        cache = _DUE[calendar] = {}
    _LAST = (calendar, cache)
    return cache


def _after(span: Span, start: int, calendar: WorkCalendar) -> Due:
    """`after` the long way, through datetimes: what the cache holds, and outside its years."""
    d = span.after(utc(start), calendar)
    return Due(int(d.at.timestamp()), d.approximate)
