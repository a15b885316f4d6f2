"""The times intake takes: marks carry the event's time, an event older than the de-duplication
window is rejected as `stale` unless a mark says what it is, and one ahead of the engine's clock as
`future` (engine/intake/process.py)."""

from __future__ import annotations

import json

import pytest

from engine.intake.process import Mark, Record, decide_intake, time_window
from engine.kernel.time import epoch
from tests.unit.test_intake_process import EXAMPLES, KNOWN, REPORT, Store, record

AT = epoch("2026-11-30T09:12:00+08:00")  # the example report's time


def binary(offset: int = 0) -> Record:
    """The example report in the CloudEvents Kafka binding's binary mode (the validator's slow path)."""
    event = json.loads(REPORT)
    headers = tuple((f"ce_{name}", event[name].encode()) for name in
                    ("specversion", "id", "source", "type", "time", "subject"))
    return Record("hazard.reports", 0, offset, event["subject"].encode(), json.dumps(event["data"]).encode(),
                  1_764_465_120_000, headers=(*headers, ("content-type", b"application/json")))


@pytest.mark.parametrize("make", [lambda offset: record(REPORT, offset), binary],
                         ids=["structured", "binary"])
def test_an_event_before_the_window_is_rejected_as_stale_and_one_inside_is_taken(make) -> None:
    inside = decide_intake(make(0), {}.get, KNOWN, stale_before=AT)  # exactly at the window's start
    assert inside.kind == "accepted"
    mark = Mark.read(inside.remember[1])
    assert (mark.position, mark.at) == ("hazard.reports/0/0", AT)
    out = decide_intake(make(0), {}.get, KNOWN, stale_before=AT + 1)
    assert (out.kind, out.reasons, out.remember) == ("rejected", ("stale",), None)
    [error] = json.loads(out.sends[0].value)["data"]["errors"]
    assert error["loc"] == ["time"]
    assert "HAZARD_DEDUP_DAYS" in error["msg"] and "2026-11-30T09:12:00+08:00" in error["msg"]


def test_a_copy_whose_mark_is_kept_is_a_duplicate_however_old() -> None:
    store = Store()
    store.remember(decide_intake(record(REPORT, 0), store.get, KNOWN, stale_before=AT))
    again = decide_intake(record(REPORT, 5), store.get, KNOWN, stale_before=AT + 10**8)
    assert again.kind == "duplicate"


def test_a_redelivery_is_taken_again_even_past_the_window() -> None:
    """A record redelivered after a crash was judged when it came first: the same entries again."""
    store = Store()
    first = decide_intake(record(REPORT, 0), store.get, KNOWN, stale_before=AT)
    store.remember(first)
    again = decide_intake(record(REPORT, 0), store.get, KNOWN, stale_before=AT + 10**8)
    assert (again.kind, again.sends, again.remember) == ("redelivered", first.sends, first.remember)


def test_marks_stored_without_a_time_still_tell_copies_and_conflicts() -> None:
    """A mark of an earlier version (`position|digest`) reads as one without a time."""
    store = Store()
    store.remember(decide_intake(record(REPORT, 0), store.get, KNOWN))
    [key] = store
    mark = Mark.read(store[key])
    store[key] = f"{mark.position}|{mark.digest}"  # as stored before marks kept their time
    assert Mark.read(store[key]) == mark._replace(at=None)
    same = json.loads(decide_intake(record(REPORT, 3), store.get, KNOWN).sends[0].value)
    assert (same["first_position"], same["conflicting"]) == ("hazard.reports/0/0", False)
    changed = REPORT.replace(b"Fire exit blocked", b"Fire exit still blocked")
    assert json.loads(decide_intake(record(changed, 4), store.get, KNOWN).sends[0].value)["conflicting"]
    redelivered = decide_intake(record(REPORT, 0), store.get, KNOWN, stale_before=AT + 10**8)
    assert redelivered.kind == "redelivered"
    assert Mark.read(redelivered.remember[1]) == mark  # it gets its time


def test_a_mark_reads_back_as_written() -> None:
    for mark in (Mark("hazard.reports/3/17", "0f1e2d3c4b5a6978", 1_764_465_120), Mark("t/0/0", "ab", None)):
        assert Mark.read(mark.text()) == mark


@pytest.mark.parametrize("make", [lambda offset: record(REPORT, offset), binary],
                         ids=["structured", "binary"])
def test_an_event_ahead_of_the_clock_is_rejected_as_future(make) -> None:
    """Taken, it would fire its hazard's deadlines up to its time at once."""
    assert decide_intake(make(0), {}.get, KNOWN, future_after=AT).kind == "accepted"
    out = decide_intake(make(0), {}.get, KNOWN, future_after=AT - 1)
    assert (out.kind, out.reasons, out.remember) == ("rejected", ("future",), None)
    [error] = json.loads(out.sends[0].value)["data"]["errors"]
    assert error["loc"] == ["time"] and "HAZARD_FUTURE_S" in error["msg"] and "UTC offset" in error["msg"]


def test_a_copy_or_a_redelivery_is_not_judged_for_its_time_again() -> None:
    store = Store()
    first = decide_intake(record(REPORT, 0), store.get, KNOWN, future_after=AT)
    store.remember(first)
    assert decide_intake(record(REPORT, 0), store.get, KNOWN, future_after=AT - 10**6).kind == "redelivered"
    assert decide_intake(record(REPORT, 4), store.get, KNOWN, future_after=AT - 10**6).kind == "duplicate"


def test_the_window_is_the_settings_around_the_clock() -> None:
    assert time_window(AT + 0.9, dedup_days=2, future_s=900) == (AT - 2 * 86_400, AT + 900)
    assert time_window(AT, dedup_days=0, future_s=0) == (None, None)


INSPECTION = json.loads((EXAMPLES / "inspection-recorded.json").read_text())


def _inspection(*deadlines: str | None) -> bytes:
    findings = INSPECTION["data"]["findings"]
    data = {**INSPECTION["data"], "findings": [
        {**findings[i % len(findings)], "hazard_id": f"HZ-20261130-09{i:02d}", "rectify_by": d,
         "immediate": False} for i, d in enumerate(deadlines)]}
    return json.dumps({**INSPECTION, "data": data}).encode()


def test_a_finding_whose_deadline_had_passed_when_it_was_found_is_rejected() -> None:
    """A wrong year in rectify_by would fire the hazard's whole overdue ladder at once."""
    at = INSPECTION["time"]  # 2026-11-30T10:40:00+08:00
    ok = decide_intake(record(_inspection("2026-11-30", at, None), topic="inspection.findings",
                              key=INSPECTION["subject"].encode()), {}.get, KNOWN)
    assert ok.kind == "accepted"  # a date is the end of its day; the very time is not past
    out = decide_intake(record(_inspection("2026-12-10", "2025-12-10", "2026-11-30T10:39:59+08:00"),
                               topic="inspection.findings", key=INSPECTION["subject"].encode()),
                        {}.get, KNOWN)
    assert (out.kind, out.reasons) == ("rejected", ("deadline_passed", "deadline_passed"))
    errors = json.loads(out.sends[0].value)["data"]["errors"]
    assert [e["loc"] for e in errors] == [["data", "findings", i, "rectify_by"] for i in (1, 2)]
    assert "2025-12-10 is before the event's own time 2026-11-30T10:40:00+08:00" in errors[0]["msg"]


def test_a_report_whose_deadline_had_passed_is_rejected_an_extensions_dates_are_not() -> None:
    """A late decision on an extension may approve a date already past: it is recorded."""
    report = json.loads(REPORT)
    late = {**report, "data": {**report["data"], "rectify_by": "2026-11-29"}}
    out = decide_intake(record(json.dumps(late).encode()), {}.get, KNOWN)
    assert (out.kind, out.reasons) == ("rejected", ("deadline_passed",))
    late["data"]["rectify_by"] = "2026-11-30"
    assert decide_intake(record(json.dumps(late).encode()), {}.get, KNOWN).kind == "accepted"
    decided = {**report, "type": "safety.rectification.extension_decided",
               "data": {"hazard_id": report["subject"], "approved": True, "new_deadline": "2026-11-20",
                        "by": {"id": "sup-1", "role": "supervisor"}}}
    out = decide_intake(record(json.dumps(decided).encode(), topic="hazard.rectifications"), {}.get, KNOWN)
    assert out.kind == "accepted", out


def test_a_passed_deadline_is_rejected_where_it_lands_whatever_the_marks() -> None:
    """Like any check of the contract's: a copy is not a duplicate, a null key is not forwarded."""
    report = json.loads(REPORT)
    store = Store()
    store.remember(decide_intake(record(REPORT, 0), store.get, KNOWN))
    late = json.dumps({**report, "data": {**report["data"], "rectify_by": "2025-11-30"}}).encode()
    assert decide_intake(record(late, 3), store.get, KNOWN).reasons == ("deadline_passed",)
    loose = Record("hazard.reports", 1, 0, None, late, 0)
    assert decide_intake(loose, {}.get, KNOWN, home=lambda subject: 0).reasons == ("deadline_passed",)
