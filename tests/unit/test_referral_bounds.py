"""A referral's timeline stays small enough to send, however long its subject's record grew.

The referral topics take records of 4 MiB. A hazard whose record a field app
filled with tens of thousands of steps (resending with fresh ids) would make a
referral the broker refuses, and its worker would try to send it for ever.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson
from decide_fixtures import progress, report, run

from engine.kernel.referral import TIMELINE_BYTES, bounded


def _items(count: int) -> list[dict]:
    return [{"time": f"2026-11-{1 + n // 10_000:02d}T00:00:{n % 60:02d}+08:00", "event_id": f"ev-{n}",
             "what": f"rectification {n % 100}% done", "what_zh": f"整改完成 {n % 100}%"}
            for n in range(count)]


def test_a_timeline_that_fits_is_sent_whole() -> None:
    items = _items(100)
    assert bounded(items) is items


def test_a_long_timeline_keeps_its_first_and_latest_steps_and_says_what_it_leaves_out() -> None:
    items = _items(40_000)
    assert len(orjson.dumps(items)) > TIMELINE_BYTES
    sent = bounded(items)
    assert len(orjson.dumps(sent)) <= TIMELINE_BYTES
    [note] = [i for i in sent if i["event_id"] == "omitted"]
    at = sent.index(note)
    assert sent[:at] == items[:at] and sent[at + 1:] == items[len(items) - (len(sent) - at - 1):]
    left_out = len(items) - len(sent) + 1
    assert note["what"].startswith(f"{left_out} steps from {items[at]['time']} to ")
    assert f"的 {left_out} 条记录" in note["what_zh"]
    assert bounded(items) == sent  # the same record, the same referral


def test_a_hazard_with_a_huge_record_is_still_referred_within_the_bound() -> None:
    """Never verified, its record filled with 30,000 progress notes before its verify deadline
    passed: its referral goes, within the bound."""
    start = datetime(2026, 11, 2, 10, 0)
    events = [report("HZ-BIG", "2026-11-02 09:00")]
    events += [progress("HZ-BIG", f"{start + timedelta(minutes=n // 8):%Y-%m-%d %H:%M}", n % 100,
                        event_id=f"p-{n}") for n in range(30_000)]  # eight a minute for two and a half days
    rp = run(*events, until="2026-11-10 00:00")
    [referral] = [o.event for _, o in rp.outputs if o.event["type"] == "safety.referral.discipline"]
    assert len(orjson.dumps(referral)) < TIMELINE_BYTES + 10_000
    timeline = referral["data"]["timeline"]
    assert len(rp.states["HZ-BIG"].timeline()) > 30_000 > len(timeline)
    assert timeline[0]["what"] == "reported (general) via grid_patrol"
    assert any(i["event_id"] == "omitted" for i in timeline)
    assert timeline[-1]["what"] == "referred to discipline inspection: referral.duty_failures"
