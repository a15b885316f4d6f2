"""Tests of the working-day calendar: calendar.yaml, chinese-calendar, the statutory fallback, warnings."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import holidays
import pytest

from engine import cli
from engine.reference import RulesFileError, load_reference
from engine.ruleset import calendar as calendar_module
from engine.ruleset import load_rules
from engine.ruleset.calendar import SHANGHAI, WorkCalendar, calendar_warnings
from engine.ruletest import cli as rules_cli

RULES = Path(__file__).resolve().parents[2] / "rules"

CAL_2027 = """\
version: "2026.2"
years:
  2027:
    source: {title: 国务院办公厅关于2027年部分节假日安排的通知, number: 测试〔2026〕1号, date: 2026-11-01}
    festivals:
      - festival: 元旦
        rest: [2027-01-01 to 2027-01-03]
      - festival: 春节
        rest: [2027-02-05 to 2027-02-12]
        work: [2027-02-20]
"""


@pytest.fixture(scope="module")
def shipped() -> WorkCalendar:
    """The calendar of the shipped rules/ (calendar.yaml with 2026, no 2027)."""
    return WorkCalendar(load_reference(RULES).notices)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def _rules(tmp_path: Path, calendar_yaml: str | None) -> Path:
    """A private copy of rules/ named `rules`, with this calendar.yaml (None: without one)."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    path = rules / "reference" / "calendar.yaml"
    if calendar_yaml is None:
        path.unlink()
    else:
        path.write_text(calendar_yaml, encoding="utf-8")
    return rules


def _calendar(tmp_path: Path, calendar_yaml: str | None) -> WorkCalendar:
    return WorkCalendar(load_reference(_rules(tmp_path, calendar_yaml)).notices)


def _error(tmp_path: Path, calendar_yaml: str) -> RulesFileError:
    with pytest.raises(RulesFileError) as caught:
        load_reference(_rules(tmp_path, calendar_yaml))
    return caught.value


# --- the 2026/2027 boundary and the statutory fallback -----------------------------------


def test_new_year_2027_is_not_a_working_day(shipped: WorkCalendar) -> None:
    """5 working days from Monday 2026-12-28 skip 1 January 2027 and the weekend, and are approximate."""
    d = shipped.add_working_days(_at("2026-12-28T10:00:00"), 5)
    assert d.at == _at("2027-01-05T23:59:59")  # 29, 30, 31 Dec, then 4 and 5 Jan
    assert d.approximate
    assert not shipped.is_workday(date(2027, 1, 1))
    assert not shipped.known(date(2027, 1, 1))


def test_deadline_inside_2026_is_exact(shipped: WorkCalendar) -> None:
    """A deadline that stays inside 2026 is not approximate."""
    d = shipped.add_working_days(_at("2026-12-21T10:00:00"), 4)
    assert (d.at, d.approximate) == (_at("2026-12-25T23:59:59"), False)


@pytest.mark.parametrize("first, last", [
    pytest.param(date(2027, 2, 5), date(2027, 2, 8), id="2027"),
    pytest.param(date(2028, 1, 25), date(2028, 1, 28), id="2028"),
])
def test_spring_festival_is_never_a_working_day_in_the_fallback(shipped: WorkCalendar,
                                                                first: date, last: date) -> None:
    """New Year's Eve to the third day (除夕 to 初三) are rest days in a year no notice covers."""
    day = first
    while day <= last:
        assert not shipped.is_workday(day), day
        assert not shipped.known(day)
        day += timedelta(days=1)


def test_fallback_otherwise_counts_monday_to_friday(shipped: WorkCalendar) -> None:
    """In a year no notice covers, an ordinary Monday works and an ordinary Saturday does not."""
    assert shipped.is_workday(date(2027, 3, 1))
    assert not shipped.is_workday(date(2027, 3, 6))


def test_deadline_across_spring_festival_2027(shipped: WorkCalendar) -> None:
    """3 working days from Thursday 2027-02-04 end on Monday 15 February, after the festival."""
    d = shipped.add_working_days(_at("2027-02-04T09:00:00"), 3)
    # 5–8 Feb are the festival, 9 and 10 Feb make up for its weekend days: 11, 12, 15 count.
    assert (d.at, d.approximate) == (_at("2027-02-15T23:59:59"), True)
    assert shipped.working_days_between(_at("2027-02-04T09:00:00"), _at("2027-02-15T09:00:00")) == (3, True)


def test_the_latest_2027_spring_festival_deadline_allows_for_bridge_days(shipped: WorkCalendar) -> None:
    """Counted to 15 February, the deadline may truly fall on the 17th: a notice may rest 11 and
    12 February, beside the statutory days, as every notice since 2012 rested such days."""
    start, due = _at("2027-02-04T09:00:00"), _at("2027-02-15T23:59:59")
    assert shipped.latest(start, due) == _at("2027-02-17T23:59:59")


def test_the_latest_deadline_is_the_deadline_where_the_days_are_known(shipped: WorkCalendar) -> None:
    """Across the 2026 Spring Festival, and across 2027 far from any holiday, nothing is doubtful."""
    for start, n in (("2026-02-12T09:00:00", 3), ("2026-09-28T09:00:00", 10), ("2027-03-09T09:00:00", 3)):
        due = shipped.add_working_days(_at(start), n).at
        assert shipped.latest(_at(start), due) == due


def _statutory_only(year: int) -> frozenset[date]:
    """The statutory holidays of `year` as the holidays package gives them, less the days off a
    notice substituted (which it knows for past years): what the engine counts a year by before
    its notice."""
    return frozenset({d for d, name in holidays.country_holidays("CN", years=year).items()
                      if not name.startswith("Day off (substituted")} | {date(year, 1, 1)})


@pytest.fixture
def unnoticed(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Unnoticed]]:
    """`_Unnoticed`, with the engine's bridge days measured from the statutory holidays only."""
    monkeypatch.setattr(calendar_module, "_statutory_rest", _statutory_only)
    calendar_module._bridgeable.cache_clear()
    yield _Unnoticed
    calendar_module._bridgeable.cache_clear()


class _Unnoticed(WorkCalendar):
    """The calendar as it would have counted `year` before that year's notice: weekdays less the
    statutory holidays (the days off the notice substituted, which the holidays package knows for
    past years, left out), marked unknown."""

    def __init__(self, year: int) -> None:
        super().__init__()
        self.year = year
        self.rest = _statutory_only(year)

    def _lookup(self, day: date) -> tuple[bool, bool]:
        if day.year == self.year:
            return day.weekday() < 5 and day not in self.rest, False
        return super()._lookup(day)


@pytest.mark.parametrize("year", range(2012, 2027))
def test_the_latest_deadline_is_never_before_the_notices_own(unnoticed: type[_Unnoticed], year: int) -> None:
    """For each year from 2012 to 2026 counted as if its notice were not out yet, and every start
    day of it to November, 3 and 10 working days end no later than `latest` says, by the notice as
    chinese-calendar has it; the count without the allowance ends earlier for some."""
    guess, early = unnoticed(year), 0
    day = datetime(year, 1, 1, 9, tzinfo=SHANGHAI)
    while day.month < 12:  # December's counts run into the next year, which chinese-calendar may not know
        for n in (3, 10):
            counted = guess.add_working_days(day, n).at
            truth, end = day.date(), 0
            while end < n:
                truth += timedelta(days=1)
                end += chinese_calendar.is_workday(truth)
            assert guess.latest(day, counted).date() >= truth, (day, n)
            early += counted.date() < truth
        day += timedelta(days=1)
    assert early > 0  # without the allowance, some referrals would have gone too early


@pytest.mark.parametrize("year", range(2012, 2027))
def test_the_most_working_days_left_are_never_fewer_than_the_notices(unnoticed: type[_Unnoticed],
                                                                     year: int) -> None:
    """Counted as if its notice were not out yet, no span of four or five weeks within `year` has
    fewer working days by `most_working_days_between` than by the notice, as
    chinese-calendar has it; the plain count has fewer for some (the weekends the notice worked)."""
    guess, fewer = unnoticed(year), 0
    worked = [0]  # working days of `year` up to and including each day of it, by the notice
    for i in range((date(year + 1, 1, 1) - date(year, 1, 1)).days):
        worked.append(worked[-1] + chinese_calendar.is_workday(date(year, 1, 1) + timedelta(days=i)))
    day = datetime(year, 1, 1, 9, tzinfo=SHANGHAI)
    while (day + timedelta(weeks=5)).year == year:  # chinese-calendar may not know the next
        for weeks in (4, 5):
            end = day + timedelta(weeks=weeks)
            truth = worked[end.timetuple().tm_yday] - worked[day.timetuple().tm_yday]
            assert guess.most_working_days_between(day, end) >= truth, (day, weeks)
            fewer += guess.working_days_between(day, end)[0] < truth
        day += timedelta(days=1)
    assert fewer > 0


# --- calendar.yaml over chinese-calendar ------------------------------------------------


def test_shipped_2026_agrees_with_chinese_calendar_day_by_day(shipped: WorkCalendar) -> None:
    """calendar.yaml's 2026 (国办发明电〔2025〕7号) gives the same answer as chinese-calendar on every day."""
    notice = shipped.notices.years[2026]
    assert notice.number == "国办发明电〔2025〕7号" and notice.issued == date(2025, 11, 4)
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert shipped.is_workday(day) == chinese_calendar.is_workday(day), day
        assert shipped.known(day)
        day += timedelta(days=1)
    assert set(notice.rest) == {d for d in chinese_calendar.holidays if d.year == 2026}
    assert set(notice.work) == {d for d in chinese_calendar.workdays if d.year == 2026}


def test_deadlines_are_unchanged_for_known_years(shipped: WorkCalendar) -> None:
    """With calendar.yaml, every working-day deadline in 2025–2026 equals the chinese-calendar one."""
    plain = WorkCalendar()
    start = _at("2025-01-01T08:00:00")
    for offset in range(0, 700, 3):
        for n in (1, 3, 5, 10):
            at = start + timedelta(days=offset)
            assert shipped.add_working_days(at, n) == plain.add_working_days(at, n), (at, n)


def test_a_year_in_calendar_yaml_wins_over_chinese_calendar(tmp_path: Path) -> None:
    """A year typed in calendar.yaml replaces chinese-calendar's answer for that whole year."""
    cal = _calendar(tmp_path, """\
version: "2026.1"
years:
  2026:
    source: {title: 国务院办公厅关于2026年部分节假日安排的通知, number: 测试, date: 2025-11-04}
    festivals:
      - festival: 测试节
        rest: [2026-03-02]
        work: [2026-03-08]
""")
    assert chinese_calendar.is_workday(date(2026, 3, 2)) and not cal.is_workday(date(2026, 3, 2))
    assert not chinese_calendar.is_workday(date(2026, 3, 8)) and cal.is_workday(date(2026, 3, 8))
    # The file's 2026 lists no National Day, so 1 October (a Thursday) is worked.
    assert cal.is_workday(date(2026, 10, 1)) and cal.known(date(2026, 10, 1))
    # Other years still come from chinese-calendar.
    assert not cal.is_workday(date(2025, 10, 1))


def test_make_up_working_saturday_counts(shipped: WorkCalendar) -> None:
    """A Saturday worked in lieu (调休上班) counts: 3 working days from 30 Sep 2026 end on Sat 10 Oct."""
    assert shipped.is_workday(date(2026, 10, 10)) and date(2026, 10, 10).weekday() == 5
    d = shipped.add_working_days(_at("2026-09-30T15:00:00"), 3)
    assert (d.at, d.approximate) == (_at("2026-10-10T23:59:59"), False)


def test_typing_in_2027_makes_it_exact(tmp_path: Path) -> None:
    """With 2027 typed in, its days follow the file, deadlines are exact and nothing is warned."""
    cal = _calendar(tmp_path, CAL_2027)
    assert cal.last_known_year == 2027
    assert not cal.is_workday(date(2027, 2, 12)) and cal.is_workday(date(2027, 2, 20))
    d = cal.add_working_days(_at("2026-12-28T10:00:00"), 5)
    assert (d.at, d.approximate) == (_at("2027-01-05T23:59:59"), False)
    assert calendar_warnings(cal, date(2026, 11, 30)) == []


def test_without_calendar_yaml_chinese_calendar_still_answers(tmp_path: Path) -> None:
    """A rules dir without calendar.yaml loads; 2026 then comes from chinese-calendar."""
    ref = load_reference(_rules(tmp_path, None))
    assert "calendar" not in ref.versions and not ref.notices.years
    cal = WorkCalendar(ref.notices)
    assert cal.known(date(2026, 10, 1)) and not cal.is_workday(date(2026, 10, 1))
    assert cal.last_known_year == 2026


def test_last_known_year_stops_at_a_gap(tmp_path: Path) -> None:
    """A year typed beyond a missing one does not raise last_known_year past the gap."""
    cal = _calendar(tmp_path, CAL_2027.replace("2027", "2028").replace("2026-11-01", "2027-11-01")
                    .replace("2026.2", "2026.3"))
    assert cal.known(date(2028, 6, 1)) and not cal.known(date(2027, 6, 1))
    assert cal.last_known_year == 2026


def test_a_changed_calendar_is_a_changed_rules_version(tmp_path: Path) -> None:
    """calendar.yaml's version joins the rules version, so outputs say which calendar they used."""
    rules = load_rules(_rules(tmp_path, CAL_2027))
    assert rules.version == ("2026.1+refcalendar=2026.2;departments=2026.1;"
                             "jurisdiction=2026.1;sectors=2026.1")
    assert rules.calendar.last_known_year == 2027


# --- bad files -----------------------------------------------------------------------------

_GOOD_YEAR = """\
version: "2026.1"
years:
  2026:
    source: {title: 国务院办公厅关于2026年部分节假日安排的通知, number: 测试, date: 2025-11-04}
    festivals:
      - festival: 元旦
"""


@pytest.mark.parametrize("festival, key, reason", [
    pytest.param("        rest: [2026-01-01]\n        work: [2026-01-05]\n",
                 "years.2026.festivals[0].work[0]",
                 "2026-01-05 is a Monday: a make-up working day (调休上班) is a Saturday or Sunday, "
                 "since weekdays are worked anyway", id="weekday-make-up-day"),
    pytest.param("        rest: [2025-01-01 to 2025-01-03]\n", "years.2026.festivals[0].rest[0]",
                 "2025-01-01 is not in 2026 (the notice for 2026 lists days of 2026, "
                 "or late December 2025 for the New Year break)", id="wrong-year"),
    pytest.param("        rest: [2026-01-03 to 2026-01-01]\n", "years.2026.festivals[0].rest[0]",
                 "the range ends before it starts (first day first) (got str '2026-01-03 to 2026-01-01')",
                 id="range-backwards"),
    pytest.param("        rest: [2026-10-01 to 2026-11-07]\n", "years.2026.festivals[0].rest[0]",
                 "a 38-day break is longer than any notice has set (at most 14); check the months "
                 "(got str '2026-10-01 to 2026-11-07')", id="range-too-long"),
    pytest.param("        rest: [2026-01-01, 2026-01-01 to 2026-01-02]\n",
                 "years.2026.festivals[0].rest[1]",
                 "2026-01-01 is already listed at years.2026.festivals[0].rest[0] (list each day once)",
                 id="day-twice"),
    pytest.param("        rest: [1 January]\n", "years.2026.festivals[0].rest[0]",
                 "expected a date such as 2027-01-01 or a range such as 2027-02-05 to 2027-02-11 "
                 "(got str '1 January')", id="not-a-date"),
    pytest.param("        rest: [2026-01-01]\n        werk: [2026-01-04]\n",
                 "years.2026.festivals[0].werk", "unknown key (allowed: festival, rest, work)",
                 id="misspelt-key"),
    pytest.param("        work: [2026-01-04]\n", "years.2026.festivals[0].rest",
                 "required key is missing (add it)", id="no-rest-days"),
])
def test_a_bad_calendar_names_the_file_key_and_fix(tmp_path: Path, festival: str, key: str,
                                                    reason: str) -> None:
    """Each mistake a district can make typing a notice is refused with file, key and fix."""
    err = _error(tmp_path, _GOOD_YEAR + festival)
    assert str(err) == f"rules/reference/calendar.yaml: {key}: {reason}"
    assert (err.file, err.key) == ("rules/reference/calendar.yaml", key)


def test_a_title_for_another_year_is_refused(tmp_path: Path) -> None:
    """A source title copied from last year's notice is caught."""
    err = _error(tmp_path, _GOOD_YEAR.replace("关于2026年", "关于2025年") + "        rest: [2026-01-01]\n")
    assert err.key == "years.2026.source.title"
    assert err.reason.startswith("the title does not mention 2026")


def test_an_impossible_date_names_its_line(tmp_path: Path) -> None:
    """30 February is refused with its line and column, not a traceback."""
    err = _error(tmp_path, _GOOD_YEAR + "        rest: [2026-02-30]\n")
    assert str(err) == ('rules/reference/calendar.yaml: line 7, column 16: invalid date "2026-02-30" '
                        "(day is out of range for month; write a real date as YYYY-MM-DD)")


# --- warnings -------------------------------------------------------------------------------


def test_next_year_is_warned_about_from_1_november(shipped: WorkCalendar) -> None:
    """From 1 November (not on 31 October) a missing next year is warned about, naming the year and file."""
    assert calendar_warnings(shipped, date(2026, 10, 31)) == []
    [warning] = calendar_warnings(shipped, date(2026, 11, 1))
    assert "2027" in warning and "rules/reference/calendar.yaml" in warning
    assert "国务院办公厅关于2027年部分节假日安排的通知" in warning
    assert calendar_warnings(shipped, date(2026, 12, 31)) == [warning]


def test_a_missing_current_year_is_warned_about_all_year(shipped: WorkCalendar) -> None:
    """Running in a year no notice covers warns at once, not only from November."""
    warnings = calendar_warnings(shipped, date(2027, 3, 1))
    assert len(warnings) == 1 and "holidays of 2027" in warnings[0]


@pytest.mark.parametrize("today, warned", [(date(2026, 10, 31), False), (date(2026, 11, 1), True)])
def test_rules_check_prints_the_calendar_warning_and_exits_0(monkeypatch, capsys, today: date,
                                                               warned: bool) -> None:
    """`hazard-engine rules check` prints the calendar warning on stderr and still exits 0."""
    monkeypatch.setattr(rules_cli, "today", lambda: today)
    assert cli.main(["rules", "check", "--rules-dir", str(RULES)]) == 0
    out, err = capsys.readouterr()
    assert "holidays known exactly through 2026" in out
    assert ("add 2027 to rules/reference/calendar.yaml" in err) is warned


def _hazards_rules(tmp_path: Path, old: str, new: str) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    path = rules / "hazards.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return rules


_MOVES = "\n  rest_day_moves_last_day: true\n"


def test_a_last_day_on_a_rest_day_moves_by_default_and_the_rules_can_say_otherwise(tmp_path: Path) -> None:
    """The shipped rules move it (民法典 art. 203 para. 1); rules without `periods` do too; `false`
    does not; anything but true or false is refused, naming the key."""
    assert load_rules(RULES).calendar.rest_day_moves_last_day is True
    text = (RULES / "hazards.yaml").read_text(encoding="utf-8")
    start = text.index("\nperiods:\n")
    section = text[start:text.index("\ngrades:\n")]
    assert load_rules(_hazards_rules(tmp_path / "none", section, "")).calendar.rest_day_moves_last_day is True
    off = _hazards_rules(tmp_path / "off", _MOVES, "\n  rest_day_moves_last_day: false\n")
    assert load_rules(off).calendar.rest_day_moves_last_day is False
    with pytest.raises(RulesFileError, match="rest_day_moves_last_day"):
        load_rules(_hazards_rules(tmp_path / "bad", _MOVES, "\n  rest_day_moves_last_day: weekends only\n"))
