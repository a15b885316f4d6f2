"""engine/kernel/copies.py: a field record sent again under a fresh event id, known by what it says."""

from __future__ import annotations

import random
from types import SimpleNamespace

from decide_fixtures import progress, report

from engine.kernel.apply import entry_time
from engine.kernel.copies import KEPT, fingerprint, seen_before


def _mark(entry: dict) -> int:
    return fingerprint(entry, entry_time(entry))


def test_a_fingerprint_is_what_the_record_says_not_its_ids_or_arrival() -> None:
    first = report("HZ-C", "2026-11-02 09:00", event_id="ev-a")
    again = {**report("HZ-C", "2026-11-02 09:00", event_id="ev-b"), "arrived_at": "2026-11-05T09:00:00+08:00"}
    assert first["entry_id"] != again["entry_id"] and first["origin"] != again["origin"]
    assert _mark(first) == _mark(again)
    other_words = {**first, "data": {**first["data"], "description": "Two exits blocked."}}
    other_time = report("HZ-C", "2026-11-02 09:01", event_id="ev-a")
    other_type = {**first, "type": "safety.hazard.verified"}
    assert len({_mark(first), _mark(other_words), _mark(other_time), _mark(other_type)}) == 4
    assert _mark(first) >> 30 == entry_time(first)  # the time on top: in order, the latest are the largest


def test_the_latest_records_by_their_time_are_kept_whatever_order_they_came_in() -> None:
    """Twenty records of one hazard in two orders: the same sixteen kept, the latest by time; a
    record kept is known again, one older than those is not (it would be applied again)."""
    records = [progress("HZ-C", f"2026-11-{day:02d} 09:00", 5 * day) for day in range(1, 21)]
    kept = []
    for order in (records, random.Random(7).sample(records, len(records))):
        state = SimpleNamespace(seen=[])
        assert not any(seen_before(state, r, entry_time(r)) for r in order)
        kept.append(state.seen)
    assert kept[0] == kept[1] == sorted(_mark(r) for r in records[-KEPT:])
    state = SimpleNamespace(seen=list(kept[0]))
    assert seen_before(state, records[-1], entry_time(records[-1]))
    assert not seen_before(state, records[0], entry_time(records[0])) and state.seen == kept[0]
