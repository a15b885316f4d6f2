"""The kernel's time helpers: the cached deadline arithmetic gives what the datetime path gives."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.kernel import time as ktime
from engine.reference import load_reference
from engine.ruleset.calendar import SHANGHAI, WorkCalendar
from engine.ruleset.compiled import Span
from engine.settings import REPO_ROOT

CALENDAR = WorkCalendar(load_reference(REPO_ROOT / "rules").notices)
UNITS = ("minutes", "hours", "days", "working days")


class _Rules:
    calendar = CALENDAR


def test_the_local_day_is_the_zoneinfo_day_in_every_year_it_is_arithmetic_for() -> None:
    """Every hour from 1992 to 2100 (a step that is not a divisor of a day, so every hour of the
    day comes round): the arithmetic day is the day zoneinfo gives."""
    for ts in range(ktime._FIXED_FROM, ktime._FIXED_UNTIL, 3600 * 7 + 60):
        got = ktime.local_day(ts)
        assert got is not None
        assert got == datetime.fromtimestamp(ts, UTC).astimezone(SHANGHAI).date().toordinal() - 719163


def test_outside_those_years_the_local_day_is_left_to_zoneinfo() -> None:
    """Before 1992 (China kept summer time until 1991) and from 2100 there is no arithmetic day."""
    assert ktime.local_day(ktime._FIXED_FROM - 1) is None
    assert ktime.local_day(ktime._FIXED_UNTIL) is None
    assert ktime.local_day(0) is None


@settings(max_examples=400, deadline=None)
@given(n=st.integers(-40, 400), unit=st.sampled_from(UNITS),
       start=st.integers(-2_000_000_000, 4_200_000_000))
def test_after_gives_the_datetime_paths_due_time_cached_or_not(n: int, unit: str, start: int) -> None:
    """Asked twice (the second answer from the cache), `after` gives the datetime path's answer."""
    span = Span(n, unit)  # type: ignore[arg-type]
    want = ktime._after(span, start, CALENDAR)
    assert ktime.after(span, start, _Rules) == want
    assert ktime.after(span, start, _Rules) == want


def test_two_calendars_keep_their_own_due_times() -> None:
    """A calendar with a holiday notice the other lacks gets its own answer, not the other's cache."""
    class Plain:
        calendar = WorkCalendar()

    start = int(datetime(2026, 9, 30, 10, tzinfo=SHANGHAI).timestamp())  # before the National Day week
    span = Span(3, "working days")
    shipped, plain = ktime.after(span, start, _Rules), ktime.after(span, start, Plain)
    assert shipped == ktime._after(span, start, CALENDAR)
    assert plain == ktime._after(span, start, Plain.calendar)


def test_iso_and_epoch_read_back() -> None:
    """The cached `iso` and `epoch` are each other's inverse, and a date is the end of its day."""
    ts = int(datetime(2026, 11, 2, 9, 30, tzinfo=SHANGHAI).timestamp())
    assert ktime.iso(ts) == "2026-11-02T09:30:00+08:00"
    assert ktime.epoch(ktime.iso(ts)) == ts  # type: ignore[arg-type]
    assert ktime.iso(ktime.epoch("2026-11-02")) == "2026-11-02T23:59:59+08:00"
    assert ktime.iso(None) is None


@settings(max_examples=2000, deadline=None)
@given(ms=st.one_of(st.integers(-10**13, 10**13),
                    st.integers(ktime._FIXED_FROM * 1000 - 5, ktime._FIXED_FROM * 1000 + 5),
                    st.integers(ktime._FIXED_UNTIL * 1000 - 5, ktime._FIXED_UNTIL * 1000 + 5),
                    st.integers(0, 10**6).map(lambda d: 1_767_542_400_000 + d * 1000)))  # whole seconds
def test_iso_ms_is_the_text_datetime_gives(ms: int) -> None:
    """A record's broker time as text: what the aware datetime's `isoformat()` writes, in the years
    of arithmetic (microseconds shown only when there are any) and outside them."""
    want = datetime.fromtimestamp(ms / 1000, UTC).astimezone(SHANGHAI).isoformat()
    assert ktime.iso_ms(ms) == want
    assert ktime.iso_ms(ms) == want  # from the cache of seconds


def test_iso_ms_at_a_day_boundary() -> None:
    """Midnight in Asia/Shanghai is 16:00 UTC the day before."""
    ms = int(datetime(2026, 1, 5, tzinfo=SHANGHAI).timestamp()) * 1000
    assert ktime.iso_ms(ms - 1) == "2026-01-04T23:59:59.999000+08:00"
    assert ktime.iso_ms(ms) == "2026-01-05T00:00:00+08:00"


@pytest.mark.parametrize("text", ["3000000 days", "-3000000 days", "99999999 working days", "100000 hours"])
def test_a_span_beyond_what_the_calendar_can_reach_is_refused_when_the_rules_are_read(text: str) -> None:
    """`3000000 days` passed the rules check and then failed every decision (a date past 9999):
    a span longer than ten years is refused, with why, when the rules are read."""
    with pytest.raises(ValueError, match="longer than any rule needs: at most 10 years"):
        Span.parse(text)
    assert Span.parse("3650 days").n == 3650 and Span.parse("-2 days").n == -2


MOVES = WorkCalendar(load_reference(REPO_ROOT / "rules").notices, rest_day_moves_last_day=True)


class _Moving:
    calendar = MOVES


@settings(max_examples=400, deadline=None)
@given(n=st.integers(-40, 400), start=st.integers(1_600_000_000, 1_900_000_000))
def test_a_period_in_days_ends_on_the_first_working_day_from_its_last_day(n: int, start: int) -> None:
    """民法典 art. 203 para. 1 on a calendar that applies it: the end is never before the plain last
    day, is a working day when the period counts at least one day, and every day between the two
    is a rest day; a span of 0 or fewer days is never moved. Cached or not, the datetime path's."""
    span = Span(n, "days")
    plain, moved = ktime.after(span, start, _Rules).at, ktime.after(span, start, _Moving)
    assert moved == ktime._after(span, start, MOVES) == ktime.after(span, start, _Moving)
    assert ktime.unmoved(span, start) == plain
    if n <= 0:
        assert moved.at == plain
        return
    day, last = ktime.local(plain).date(), ktime.local(moved.at).date()
    assert moved.at >= plain and MOVES.is_workday(last) and ktime.local(moved.at).time() == time(23, 59, 59)
    while day < last:
        assert not MOVES.is_workday(day)
        day += timedelta(days=1)


def test_a_last_day_on_a_holiday_weekend_or_make_up_saturday_of_2026() -> None:
    """National Day (1 Oct) gives way to 8 Oct; Sunday 11 Oct to Monday 12 Oct; the make-up working
    Saturday 10 Oct (调休上班) stays; all known from the notice, so none is approximate."""
    def end(day: str, n: int) -> tuple[str, bool]:
        start = int(datetime.fromisoformat(day + "T10:00:00+08:00").timestamp())
        due = ktime.after(Span(n, "days"), start, _Moving)
        return ktime.iso(due.at) or "", due.approximate

    assert end("2026-09-24", 7) == ("2026-10-08T23:59:59+08:00", False)
    assert end("2026-10-04", 7) == ("2026-10-12T23:59:59+08:00", False)
    assert end("2026-10-03", 7) == ("2026-10-10T23:59:59+08:00", False)


def test_in_a_year_no_notice_covers_a_moved_last_day_near_a_holiday_is_approximate_and_may_be_later() -> None:
    """7 days from 25 Sep 2027 end on Saturday 2 Oct, in the National Day days the `holidays` package
    gives for 2027 (1-5 Oct); the guess moves them to Wednesday 6 Oct, a weekday the notice may rest,
    as every notice of 2012-2026 rested up to two weekdays beside a holiday: approximate, and a
    referral waits until 8 Oct. Far from any holiday a Saturday's period ends on the Monday after,
    and that is certain."""
    span = Span(7, "days")
    since = int(datetime(2027, 9, 25, 10, tzinfo=SHANGHAI).timestamp())
    due = ktime.after(span, since, _Moving)
    assert (ktime.iso(due.at), due.approximate) == ("2027-10-06T23:59:59+08:00", True)
    assert ktime.iso(ktime.latest(span, since, due.at, _Moving)) == "2027-10-08T23:59:59+08:00"
    quiet = int(datetime(2027, 3, 6, 10, tzinfo=SHANGHAI).timestamp())  # a Saturday in March
    due = ktime.after(span, quiet, _Moving)
    assert (ktime.iso(due.at), due.approximate) == ("2027-03-15T23:59:59+08:00", False)
    assert ktime.latest(span, quiet, due.at, _Moving) == due.at
