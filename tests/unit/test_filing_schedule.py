"""`hazard-engine filing --schedule`: which month falls due when, and the scheduler's loop.

The loop is run with a list clock and a sleep that records each wait; filing
itself (`file_due`, which needs a broker) is replaced here by a recorder,
and tests/broker/test_filing_e2e.py runs the real one. Which months a
scheduler back from a stop files is `months_to_file`, pure, tested here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import types
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
import structlog.testing
from prometheus_client import CollectorRegistry

from engine.decide.state import Hazard
from engine.metrics import FilingMetrics
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT
from engine.tools import filing
from engine.tools.kafka import NoTopic

RULES = load_rules(REPO_ROOT / "rules")


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


def _metrics() -> tuple[FilingMetrics, CollectorRegistry]:
    registry = CollectorRegistry()
    return FilingMetrics(registry), registry


def _clock(readings: list[float]) -> Callable[[], float]:
    """A clock that reads `readings` in turn, then ends the scheduler's loop."""
    times = iter(readings)

    def clock() -> float:
        try:
            return next(times)
        except StopIteration:
            raise _Stop from None
    return clock


def _run(clock_times: list[float], outcomes: list[object], day: int = 5,
         registry: CollectorRegistry | None = None) -> tuple[list[str], list[float]]:
    """The months the scheduler filed and the waits it slept, the clock reading `clock_times` in
    turn; each filing returns (or raises) the next of `outcomes`. Stops when the clock runs out.
    Its metrics go on `registry`."""
    metrics = FilingMetrics(registry or CollectorRegistry())
    filed: list[str] = []
    slept: list[float] = []
    clock = _clock(clock_times)

    async def file_due(bootstrap, prefix, app_id, month, rules, auth=None, *, day, real_now=None):
        filed.append(month)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return filing.Due([(month, *outcome)], [], [])

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(filing, "file_due", file_due)
        mp.setattr(filing, "copy_for_organisation", _seventeen_copied)
        mp.setattr(filing, "supplement_due", _none_late)
        with pytest.raises(_Stop):
            asyncio.run(filing.schedule("b", "", "app", None, day, metrics=metrics, clock=clock,
                                        sleep=sleep))
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
    registry = CollectorRegistry()
    filed, slept = _run([start, start + 300, start + 360], [refused, OSError("broker gone"), (0, 8)],
                        registry=registry)
    assert filed == ["2026-11"] * 3
    assert slept[:2] == [filing.RETRY_S, filing.RETRY_S]
    assert registry.get_sample_value("hazard_filing_failures_total") == 2
    assert registry.get_sample_value("hazard_filing_due_unfiled") == 0
    assert registry.get_sample_value("hazard_filing_last_filed_timestamp_seconds") > 0


def test_a_month_that_cannot_be_filed_shows_as_unfiled_until_it_is():
    start = _ts("2026-12-07T09:00:00+08:00")
    registry = CollectorRegistry()
    _run([start, start + 300], [OSError("broker gone"), OSError("broker gone")], registry=registry)
    assert registry.get_sample_value("hazard_filing_due_unfiled") == 1
    assert registry.get_sample_value("hazard_filing_failures_total") == 2
    assert registry.get_sample_value("hazard_filing_last_filed_timestamp_seconds") == 0


@pytest.mark.parametrize(("due", "filed", "months", "missed"), [
    # Nothing filed yet: the month due alone (a new deployment does not file its past).
    ("2026-11", [], ["2026-11"], []),
    # Filed up to the month before: that month (for departments a publish cut short), and the due.
    ("2026-11", ["2026-09", "2026-10"], ["2026-10", "2026-11"], []),
    # Down over two filing days: the two months with no filing, after the latest filed.
    ("2027-02", ["2026-10", "2026-11"], ["2026-11", "2026-12", "2027-01", "2027-02"], []),
    # A gap before the latest month filed is not this stop's: left (it was reported when made).
    ("2026-12", ["2026-07", "2026-09", "2026-10"], ["2026-10", "2026-11", "2026-12"], []),
    # The latest filing 13 months before (one made by hand before the engine was in use, or a
    # stop that long): the month due alone; the months since are missed, for a person.
    ("2026-12", ["2020-03", "2025-11"], ["2026-12"], ["2025-12"] + [f"2026-{m:02d}" for m in range(1, 12)]),
    # Exactly 12 months before: the 11 months since, filed.
    ("2026-12", ["2025-12"], ["2025-12"] + [f"2026-{m:02d}" for m in range(1, 13)], []),
    # The month due filed already (a restart): itself alone.
    ("2026-11", ["2026-10", "2026-11"], ["2026-10", "2026-11"], []),
    # Filings dated after the month due (a clock set back) do not count as the past.
    ("2026-11", ["2027-03"], ["2026-11"], []),
])
def test_a_scheduler_back_from_a_stop_files_the_months_since_the_latest_one_filed(due, filed, months,
                                                                                   missed):
    assert filing.months_to_file(due, filed) == (months, missed)


def test_a_filing_older_than_the_bound_is_no_stop_to_catch_up_and_its_months_stay_missed():
    months, missed = filing.months_to_file("2027-06", ["2025-01"])
    assert months == ["2027-06"]
    assert missed == [f"2025-{m:02d}" for m in range(2, 13)] + [f"2026-{m:02d}" for m in range(1, 13)] + [
        f"2027-{m:02d}" for m in range(1, 6)]
    # A month later, the month due filed then is the latest: the months missed stay missed.
    assert filing.months_to_file("2027-07", ["2025-01", "2027-06"]) == (["2027-06", "2027-07"], [])
    assert filing.months_to_file("2027-06", ["2027-04"], limit=0) == (["2027-06"], ["2027-05"])


def test_months_back_counts_across_years():
    assert filing.months_back("2027-02", 2) == "2026-12"
    assert filing.months_back("2027-02", 14) == "2025-12"
    assert filing.months_back("2026-12", -1) == "2027-01"


def _next(answers: list[object]) -> Any:
    """The next of a fake's `answers`, raised if it is an exception."""
    answer = answers.pop(0)
    if isinstance(answer, Exception):
        raise answer
    return answer


async def _nothing_filed(bootstrap, prefix, months, rules, auth=None):
    """`still_missed` with no month filed by hand."""
    return sorted(set(months))


async def _seventeen_copied(bootstrap, prefix, since, auth=None):
    """`copy_for_organisation` finding 17 filings to copy."""
    return 17


async def _none_late(bootstrap, prefix, app_id, due, rules, auth=None, *, day, real_now=None):
    """`supplement_due` finding no hazard that came late."""
    return []


def _schedule(metrics: FilingMetrics, file_due, clock, sleep, still_missed=_nothing_filed,
              real_clock=None, copy=_seventeen_copied, supplement=_none_late) -> None:
    """Run the scheduler's loop with these fakes until `clock` or `sleep` ends it; the real clock
    reads as the engine's unless given."""
    if real_clock is None:  # the real clock reads what the engine's last read (a clock set right)
        engine_clock, last = clock, [0.0]

        def clock() -> float:
            last[0] = engine_clock()
            return last[0]

        def real_clock() -> float:
            return last[0]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(filing, "file_due", file_due)
        mp.setattr(filing, "still_missed", still_missed)
        mp.setattr(filing, "copy_for_organisation", copy)
        mp.setattr(filing, "supplement_due", supplement)
        with pytest.raises(_Stop):
            asyncio.run(filing.schedule("b", "", "app", None, 5, metrics=metrics, clock=clock, sleep=sleep,
                                        real_clock=real_clock))


def test_the_scheduler_logs_each_month_it_caught_up_and_those_left_for_a_person():
    start = _ts("2027-02-07T09:00:00+08:00")
    calls: list[str] = []

    async def file_due(bootstrap, prefix, app_id, month, rules, auth=None, *, day, real_now=None):
        calls.append(month)
        return filing.Due([("2026-12", 8, 0), ("2027-01", 8, 0)], ["2026-10"], ["2026-11"])

    async def supplement_due(bootstrap, prefix, app_id, due, rules, auth=None, *, day, real_now=None):
        assert due == "2027-01"
        return [("2026-11", "fire_rescue", 2)]

    async def sleep(seconds: float) -> None:
        raise _Stop

    metrics, registry = _metrics()
    with structlog.testing.capture_logs() as logs:
        _schedule(metrics, file_due, lambda: start, sleep, supplement=supplement_due)
    assert calls == ["2027-01"]
    assert registry.get_sample_value("hazard_filing_filings_sent_total", {"caught_up": "true"}) == 8
    assert registry.get_sample_value("hazard_filing_filings_sent_total", {"caught_up": "false"}) == 8
    assert _missed(registry) == ("2026-10", "2026-10", 1)
    assert registry.get_sample_value("hazard_filing_months_clock_ahead") == 1
    assert registry.get_sample_value("hazard_filing_supplements_sent_total") == 1
    supplement = next(e for e in logs if e["event"] == "filing.supplemented")
    assert (supplement["month"], supplement["department"], supplement["hazards"]) == (
        "2026-11", "fire_rescue", 2)
    assert registry.get_sample_value("hazard_filing_copies_sent_total") == 17
    assert next(e for e in logs if e["event"] == "filing.copied")["sent"] == 17
    assert [(e.get("month"), e.get("caught_up")) for e in logs if e["event"] == "filing.filed"] == [
        ("2026-12", True), ("2027-01", None)]
    missed = next(e for e in logs if e["event"] == "filing.missed")
    assert missed["months"] == ["2026-10"] and "--month M --publish" in missed["hint"]
    ahead = next(e for e in logs if e["event"] == "filing.clock_ahead")
    assert ahead["months"] == ["2026-11"] and "falls due by the real clock" in ahead["hint"]


def _missed(registry: CollectorRegistry) -> tuple[str, str, float] | None:
    """The months-missed series: (first, last, count)."""
    for family in registry.collect():
        if family.name == "hazard_filing_months_missed":
            [sample] = family.samples
            return sample.labels["first"], sample.labels["last"], sample.value
    return None


def test_the_months_missed_are_looked_for_again_and_their_count_falls_once_filed_by_hand():
    start = _ts("2027-02-07T09:00:00+08:00")
    clock = _clock([start, start + 60, start + filing.RECHECK_S, start + filing.RECHECK_S + 60,
                    start + 2 * filing.RECHECK_S])
    on_topic = [set(), {"2026-11"}, {"2026-11", "2026-10"}]
    looked: list[list[str]] = []
    seen: list[tuple[str, str, float] | None] = []
    metrics, registry = _metrics()

    async def file_due(bootstrap, prefix, app_id, month, rules, auth=None, *, day, real_now=None):
        return filing.Due([(month, 8, 0)], ["2026-10", "2026-11"], [])

    async def still_missed(bootstrap, prefix, months, rules, auth=None):
        looked.append(sorted(months))
        there = on_topic.pop(0)
        return sorted(month for month in set(months) if month not in there)

    async def sleep(seconds: float) -> None:
        seen.append(_missed(registry))

    _schedule(metrics, file_due, clock, sleep, still_missed)
    # Filed at start with two months left; a minute later not looked at again; at RECHECK_S one of
    # them is on the topic (a person filed it); at 2 RECHECK_S, the other. Then nothing is missed.
    assert looked == [["2026-10", "2026-11"], ["2026-10", "2026-11"], ["2026-10"]]
    assert seen == [("2026-10", "2026-11", 2), ("2026-10", "2026-11", 2), ("2026-10", "2026-10", 1),
                    ("2026-10", "2026-10", 1), ("", "", 0)]


def test_the_months_missed_stay_missed_when_the_next_month_falls_due():
    """The month filed on one filing day is the latest on the topic on the next, so file_due no
    longer reports the months before it: they stay counted until someone files them."""
    start = _ts("2027-02-07T09:00:00+08:00")
    due = _ts("2027-03-05T00:00:00+08:00")
    returned = [["2026-08", "2026-09"], []]
    metrics, registry = _metrics()

    async def file_due(bootstrap, prefix, app_id, month, rules, auth=None, *, day, real_now=None):
        return filing.Due([(month, 8, 0)], returned.pop(0), [])

    async def sleep(seconds: float) -> None:
        return None

    _schedule(metrics, file_due, _clock([start, due]), sleep)
    assert _missed(registry) == ("2026-08", "2026-09", 2)


def test_a_failed_look_for_the_months_missed_keeps_them():
    start = _ts("2027-02-07T09:00:00+08:00")
    answers: list[object] = [["2026-10"], OSError("broker gone")]
    metrics, registry = _metrics()

    async def file_due(bootstrap, prefix, app_id, month, rules, auth=None, *, day, real_now=None):
        return filing.Due([(month, 8, 0)], ["2026-10"], [])

    async def still_missed(bootstrap, prefix, months, rules, auth=None):
        return _next(answers)

    async def sleep(seconds: float) -> None:
        return None

    with structlog.testing.capture_logs() as logs:
        _schedule(metrics, file_due, _clock([start, start + filing.RECHECK_S]), sleep, still_missed)
    assert _missed(registry) == ("2026-10", "2026-10", 1)
    assert [e["months"] for e in logs if e["event"] == "filing.recheck_failed"] == [["2026-10"]]


def _ahead_by(seconds: float, real_start: str, real_end: str
              ) -> tuple[list[tuple[str, float]], CollectorRegistry]:
    """The scheduler with the engine's clock `seconds` ahead of the real one, from `real_start` to
    `real_end` (real time, moved on by each sleep), over a topic with October filed: each month it
    filed and the real time it did, and its metrics."""
    now = [_ts(real_start)]
    filed = {"2026-10"}
    sent: list[tuple[str, float]] = []
    metrics, registry = _metrics()

    async def file_due(bootstrap, prefix, app_id, due, rules, auth=None, *, day, real_now=None):
        assert real_now == now[0]
        months = []
        month = filing.month_after(max(filed))
        while month <= due:
            months.append(month)
            month = filing.month_after(month)
        ahead = [month for month in months if filing.due_at(month, day) > real_now]
        for month in months:
            if month not in ahead:
                filed.add(month)
                sent.append((month, real_now))
        return filing.Due([(month, 8, 0) for month in months if month not in ahead], [], ahead)

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] > _ts(real_end):
            raise _Stop

    _schedule(metrics, file_due, lambda: now[0] + seconds, sleep, real_clock=lambda: now[0])
    return sent, registry


def test_a_month_due_by_a_clock_set_ahead_is_filed_when_the_real_clock_reaches_its_filing_day():
    """The engine's clock ten minutes ahead: at its 00:05 on 5 December November is due by it, not
    by the real clock (23:55 on the 4th). It is filed once the real clock reaches 00:00, not a month
    later; waiting is no failure (not unfiled), only a clock ahead."""
    sent, registry = _ahead_by(600, "2026-12-04T23:55:00+08:00", "2026-12-05T00:01:30+08:00")
    [(month, at)] = sent
    assert month == "2026-11" and _ts("2026-12-05T00:00:00+08:00") <= at < _ts("2026-12-05T00:01:00+08:00")
    assert registry.get_sample_value("hazard_filing_due_unfiled") == 0


def test_a_clock_a_month_ahead_holds_back_no_month_the_real_clock_makes_due():
    """34 days ahead: on 3 December by the real clock, the engine's says 6 January, due December.
    November, due by the real clock on 5 December, is filed then, not with December on 5 January."""
    sent, registry = _ahead_by(34 * 86400, "2026-12-03T09:00:00+08:00", "2026-12-05T01:00:00+08:00")
    [(month, at)] = sent
    assert month == "2026-11" and _ts("2026-12-05T00:00:00+08:00") <= at < _ts("2026-12-05T00:01:00+08:00")
    assert registry.get_sample_value("hazard_filing_months_clock_ahead") == 1  # December, still


def test_a_month_filed_in_part_by_hand_is_still_missed():
    """still_missed: a month counts as filed once every sector-leading department has a filing of it."""
    leads = sorted({a.lead.id for a in RULES.reference.sectors.values()})

    async def on_topic(*_: object) -> set[tuple[str, str]]:
        return {("2026-09", leads[0])} | {("2026-10", dept) for dept in leads}

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(filing, "filed", on_topic)
        left = asyncio.run(filing.still_missed("b", "", ["2026-10", "2026-09", "2026-08"], RULES))
    assert left == ["2026-08", "2026-09"]


def _file_due(due: str, there: set[tuple[str, str]] | dict[tuple[str, str], filing.OnTopic],
              hazards: list[Hazard], real_now: float, step: str = "file_due"
              ) -> tuple[Any, list[tuple[str, str, str]]]:
    """`file_due` (or `step`, supplement_due) with the topic holding `there` (month, department:
    each a filing made before filings named their hazards, unless given as OnTopic) and the
    changelog `hazards`; what it returned, and the (month, department, filed_at) it published."""
    published: list[tuple[str, str, str]] = []
    topic = there if isinstance(there, dict) else {key: filing.OnTopic("r", None) for key in there}

    async def nothing(*_: object) -> None:
        return None

    async def on_topic(*_: object) -> dict[tuple[str, str], filing.OnTopic]:
        return topic

    async def states(*_: object) -> list[Hazard]:
        return hazards

    async def publish(bootstrap: str, prefix: str, outs: list, auth: object) -> None:
        for out in outs:
            month = datetime.fromisoformat(out.event["time"]).strftime("%Y-%m")
            published.append((month, out.event["data"]["subject_id"], out.event["data"]["filed_at"]))

    with pytest.MonkeyPatch.context() as mp:
        for name, fake in (("require_topic", nothing), ("on_topic", on_topic), ("latest_hazards", states),
                           ("_publish", publish)):
            mp.setattr(filing, name, fake)
        result = asyncio.run(getattr(filing, step)("b", "", "app", due, RULES, day=5, real_now=real_now))
    return result, published


HAZARD = Hazard("HZ-1", opened="e1", opened_at=int(_ts("2026-09-10T09:00:00+08:00")), sector="fire_safety",
                town="lihaiwu")
LEADS = sorted({a.lead.id for a in RULES.reference.sectors.values()})


def test_file_due_sends_each_department_a_month_once_and_the_months_since_the_latest_filed():
    """The latest month filed for one department only: the others are sent; the months after it
    too; each says when it was sent."""
    now = _ts("2026-12-07T09:00:00+08:00")
    (done, missed, ahead), published = _file_due("2026-11", {("2026-09", "fire_rescue")}, [HAZARD], now)
    assert (missed, ahead) == ([], [])
    assert [(month, sent) for month, sent, _ in done] == [
        ("2026-09", len(LEADS) - 1), ("2026-10", len(LEADS)), ("2026-11", len(LEADS))]
    assert ("2026-09", "fire_rescue") not in {(m, d) for m, d, _ in published}
    assert {at for *_, at in published} == {"2026-12-07T09:00:00+08:00"}


def test_file_due_catches_up_no_month_before_the_first_hazard_and_none_ahead_of_the_real_clock():
    # A filing made by hand in January, before the engine's first hazard (September): the months
    # between are left for a person, not filed as nil returns.
    (done, missed, ahead), published = _file_due(
        "2026-11", {("2026-01", dept) for dept in LEADS}, [HAZARD], _ts("2026-12-07T09:00:00+08:00"))
    assert missed == [f"2026-{m:02d}" for m in range(2, 9)] and ahead == []
    assert [month for month, *_ in done] == ["2026-09", "2026-10", "2026-11"]
    assert {m for m, *_ in published} == {"2026-09", "2026-10", "2026-11"}
    # The engine's clock a year ahead: the month it takes as due is not due by the real clock, and
    # neither are the months before it; nothing is sent.
    (done, missed, ahead), published = _file_due(
        "2027-11", {("2026-11", dept) for dept in LEADS}, [HAZARD], _ts("2026-12-07T09:00:00+08:00"))
    assert published == [] and done == [("2026-11", 0, len(LEADS))]
    assert ahead == ["2026-12"] + [f"2027-{m:02d}" for m in range(1, 12)]


def test_a_scheduler_that_cannot_listen_for_its_metrics_says_so_and_files_nothing():
    """Its port taken (a second scheduler on the machine): exit 2, naming the address and the
    settings, before any month is looked at."""
    import socket

    from engine.http.limits import Limits
    from engine.settings import Settings

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.MonkeyPatch.context() as mp:
            async def file_due(*_: object, **__: object) -> None:
                raise AssertionError("filed with no metrics to show it")
            mp.setattr(filing, "file_due", file_due)
            with structlog.testing.capture_logs() as logs:
                code = filing.run_schedule("b", "", "app", RULES, 5, None, clock=lambda: 0.0,
                                           listen=("127.0.0.1", port),
                                           limits=Limits.from_settings(Settings()))
    finally:
        taken.close()
    assert code == 2
    error = next(e for e in logs if e["event"] == "filing.cannot_listen")["error"]
    assert f"127.0.0.1:{port}" in error and "filing bind and port" in error


OCTOBER_LATE = Hazard("HZ-2", opened="e2", opened_at=int(_ts("2026-10-31T22:00:00+08:00")),
                      sector="fire_safety", town="lihaiwu")


def test_the_months_filed_get_supplements_for_the_hazards_whose_records_came_after_them():
    """October was filed naming HZ-1 but not HZ-2, whose report came in November: when November
    falls due, October's fire brigade filing gets a supplement."""
    october = _ts("2026-10-10T09:00:00+08:00")
    first = dataclasses.replace(HAZARD, opened_at=int(october))
    there = {("2026-10", dept): filing.OnTopic(f"r-{dept}", {"HZ-1"} if dept == "fire_rescue" else set())
             for dept in LEADS}
    now = _ts("2026-12-07T09:00:00+08:00")
    sent, published = _file_due("2026-11", there, [first, OCTOBER_LATE], now, "supplement_due")
    assert sent == [("2026-10", "fire_rescue", 1)]
    assert [(m, d) for m, d, _ in published] == [("2026-10", "fire_rescue")]
    # Counted as found in November's filing (an earlier-dated record of it came late): not again.
    november = {("2026-11", "fire_rescue"): filing.OnTopic("r-11", {"HZ-2"})}
    sent, published = _file_due("2026-12", {**there, **november}, [first, OCTOBER_LATE],
                                _ts("2027-01-07T09:00:00+08:00"), "supplement_due")
    assert sent == [] and published == []
    # A month one of whose filings does not name its hazards (made before they did) is left as it is.
    there[("2026-10", "safety_bureau")] = filing.OnTopic("r-old", None)
    assert _file_due("2026-11", there, [first, OCTOBER_LATE], now, "supplement_due") == ([], [])
    # Nor is a month more than CATCH_UP_MONTHS before the month due.
    there = {key: filing.OnTopic(f.referral_id, set()) for key, f in there.items()}
    assert _file_due("2027-12", there, [first, OCTOBER_LATE], _ts("2028-01-07T09:00:00+08:00"),
                     "supplement_due") == ([], [])


def test_the_topic_is_read_as_each_filing_and_the_hazards_it_and_its_supplements_counted():
    def record(month_end: str, dept: str, rid: str, **data: object) -> object:
        value = {"time": month_end, "data": {"grounds": "periodic_filing", "subject_id": dept,
                                             "referral_id": rid, **data}}
        return types.SimpleNamespace(value=json.dumps(value).encode())

    records = [
        record("2026-10-31T23:59:59+08:00", "fire_rescue", "f-10", found_ids=["HZ-1"]),
        record("2026-10-31T23:59:59+08:00", "fire_rescue", "s-10", found_ids=["HZ-2"], supplements="f-10"),
        # October published again by hand, naming HZ-4 now: under its first id, so a subscriber keeps
        # the first, and HZ-4 is still to be supplemented.
        record("2026-10-31T23:59:59+08:00", "fire_rescue", "f-10", found_ids=["HZ-1", "HZ-4"]),
        record("2026-09-30T23:59:59+08:00", "fire_rescue", "f-09"),  # made before filings named hazards
        record("2026-09-30T23:59:59+08:00", "fire_rescue", "s-09", found_ids=["HZ-3"], supplements="f-09"),
        types.SimpleNamespace(value=b'{"data": {"grounds": "duty_failure"}}'),
        types.SimpleNamespace(value=b"not json"),
        types.SimpleNamespace(value=None),  # a tombstone
    ]

    async def read_to_end(*_: object) -> list[object]:
        return records

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(filing, "read_to_end", read_to_end)
        there = asyncio.run(filing.on_topic("b", "referrals.discipline"))
    assert there == {("2026-10", "fire_rescue"): filing.OnTopic("f-10", {"HZ-1", "HZ-2"}),
                     ("2026-09", "fire_rescue"): filing.OnTopic("f-09", None)}


def test_each_filing_and_supplement_is_copied_for_the_organisation_department_once_as_first_sent():
    """Plans line 798: results are filed with the discipline commission and the organisation
    department. What is on referrals.discipline from the month given on is copied, as first sent;
    referrals of failures are not, nor months before; a copy already there is not sent again."""
    def record(month_end: str, rid: str, grounds: str = "periodic_filing", **data: object) -> object:
        event = {"id": rid, "time": month_end, "data": {"grounds": grounds, "subject_id": "fire_rescue",
                                                        "referral_id": rid, **data}}
        return types.SimpleNamespace(value=json.dumps(event).encode())

    topics: dict[str, list[object]] = {
        "referrals.discipline": [
            record("2026-08-31T23:59:59+08:00", "f-08"),
            record("2026-10-31T23:59:59+08:00", "f-10", reason="as sent"),
            record("2026-10-20T10:00:00+08:00", "d-1", grounds="duty_failure"),
            record("2026-10-31T23:59:59+08:00", "s-10", supplements="f-10"),
            record("2026-10-31T23:59:59+08:00", "f-10", reason="published again by hand"),
        ],
        "filings.organisation": [],
    }
    published: list[filing.Out] = []

    async def read_to_end(bootstrap: str, topic: str, auth: object = None) -> list[object]:
        return topics[topic]

    async def publish(bootstrap: str, prefix: str, outs: list, auth: object) -> None:
        published.extend(outs)
        topics["filings.organisation"] += [types.SimpleNamespace(value=json.dumps(o.event).encode())
                                           for o in outs]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(filing, "read_to_end", read_to_end)
        mp.setattr(filing, "_publish", publish)
        assert asyncio.run(filing.copy_for_organisation("b", "", "2026-09")) == 2
        assert asyncio.run(filing.copy_for_organisation("b", "", "2026-09")) == 0
    assert [(o.topic, o.key, o.id) for o in published] == [
        ("filings.organisation", "fire_rescue", "f-10"), ("filings.organisation", "fire_rescue", "s-10")]
    assert published[0].event["data"]["reason"] == "as sent"


def test_sigterm_stops_the_scheduler_as_ctrl_c_does(tmp_path):
    """docker stop sends SIGTERM to the scheduler, process 1 of its container: it stops at once,
    exit 0, where before it waited for the SIGKILL ten seconds later."""
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    from engine.broker.install import free_port
    from engine.harness import child_environment

    port = free_port()
    env = child_environment(KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}",  # no broker there
                            HAZARD_FILING_PORT=str(port), HAZARD_DATA_DIR=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "engine", "filing", "--schedule"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()


def test_the_copies_for_the_organisation_department_are_made_after_each_filing_and_every_recheck():
    """Made apart from the filing: a copy that fails holds back no filing (the month is done and
    not unfiled), shows as failing, and is made at the next look, which also makes any copy a
    filing by hand or a crash left out."""
    start = _ts("2026-12-07T09:00:00+08:00")
    clock = _clock([start, start + 60, start + filing.RECHECK_S, start + filing.RECHECK_S + 60])
    answers: list[object] = [OSError("topic filings.organisation does not exist"), 3]
    calls: list[str] = []
    shown: list[tuple[float | None, float | None]] = []
    metrics, registry = _metrics()

    async def file_due(bootstrap, prefix, app_id, month, rules, auth=None, *, day, real_now=None):
        calls.append(month)
        return filing.Due([(month, 8, 0)], [], [])

    async def copy(bootstrap, prefix, since, auth=None):
        assert since == "2025-11"  # the 12 months before the month due
        return _next(answers)

    async def sleep(seconds: float) -> None:
        shown.append((registry.get_sample_value("hazard_filing_follow_up_failing", {"step": "copy"}),
                      registry.get_sample_value("hazard_filing_due_unfiled")))

    with structlog.testing.capture_logs() as logs:
        _schedule(metrics, file_due, clock, sleep, copy=copy)
    assert calls == ["2026-11"] and answers == []
    assert shown == [(1, 0), (1, 0), (0, 0), (0, 0)]
    assert registry.get_sample_value("hazard_filing_copies_sent_total") == 3
    assert [e["event"] for e in logs if e["event"].startswith("filing.cop")] == [
        "filing.copy_failed", "filing.copied"]


def test_supplements_that_fail_hold_back_no_filing_and_are_tried_again():
    start = _ts("2026-12-07T09:00:00+08:00")
    clock = _clock([start, start + 60, start + filing.RECHECK_S, start + 2 * filing.RECHECK_S])
    answers: list[object] = [OSError("broker gone"), [("2026-10", "fire_rescue", 1)]]
    tried: list[str] = []
    shown: list[tuple[float | None, float | None]] = []
    metrics, registry = _metrics()

    async def file_due(bootstrap, prefix, app_id, month, rules, auth=None, *, day, real_now=None):
        return filing.Due([(month, 8, 0)], [], [])

    async def supplement_due(bootstrap, prefix, app_id, due, rules, auth=None, *, day, real_now=None):
        tried.append(due)
        return _next(answers)

    async def sleep(seconds: float) -> None:
        shown.append((registry.get_sample_value("hazard_filing_follow_up_failing", {"step": "supplement"}),
                      registry.get_sample_value("hazard_filing_due_unfiled")))

    _schedule(metrics, file_due, clock, sleep, supplement=supplement_due)
    # Failed after the filing (the month filed all the same), tried again at the next look and
    # sent; then not again until a month falls due.
    assert tried == ["2026-11", "2026-11"]
    assert shown == [(1, 0), (1, 0), (0, 0), (0, 0)]
    assert registry.get_sample_value("hazard_filing_supplements_sent_total") == 1


def test_a_department_named_lead_after_its_month_was_filed_does_not_count_its_hazard_again():
    """November filed, the fire brigade counting HZ-1; a verification since names 区经发局 its lead.
    Looking at November again (the latest month, for departments a publish cut short), no filing
    of 区经发局 counts HZ-1 a second time; nor does a supplement."""
    november = dataclasses.replace(HAZARD, opened_at=int(_ts("2026-11-10T09:00:00+08:00")),
                                   lead="economic_development")
    there = {("2026-11", dept): filing.OnTopic(f"r-{dept}", {"HZ-1"} if dept == "fire_rescue" else set())
             for dept in LEADS}
    (done, _, _), published = _file_due("2026-11", there, [november], _ts("2026-12-07T09:00:00+08:00"))
    assert published == [] and done == [("2026-11", 0, len(LEADS))]
    assert _file_due("2026-12", there, [november], _ts("2027-01-07T09:00:00+08:00"),
                     "supplement_due") == ([], [])
