"""Old de-duplication marks are forgotten, and nothing is taken twice for it (engine/stream/marks.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiokafka import TopicPartition
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.intake.process import Mark, decide_intake
from engine.settings import Settings
from engine.stream.marks import SLACK_S, MarkSweep
from engine.stream.tables import LocalStore, Table
from tests.unit.test_intake_process import KNOWN, REPORT, Store, record
from tests.unit.test_intake_window import AT
from tests.unit.test_taken_entries import _feed, _worker

DAY = 86_400


def _table(marks: dict[bytes, str], partition: int = 0) -> Table:
    table = Table("seen-changelog")
    for key, mark in marks.items():
        table.put(key, mark.encode(), partition)
    return table


def test_marks_past_the_window_and_a_day_are_forgotten_the_others_kept() -> None:
    now = 1_800_000_000
    table = _table({b"old": f"t/0/1|aa|{now - 3 * DAY - SLACK_S - 1}",
                    b"edge": f"t/0/2|bb|{now - 3 * DAY - SLACK_S}",
                    b"new": f"t/0/3|cc|{now - DAY}",
                    b"future": f"t/0/4|dd|{now + 400 * DAY}"})
    changes = MarkSweep(table, days=3).step(now)
    assert changes == [(b"old", None, 0)]
    assert sorted(table) == [b"edge", b"future", b"new"]


def test_a_mark_without_its_time_gets_the_passs_and_is_kept() -> None:
    table = _table({b"k": "t/0/1|aa"}, partition=5)
    sweep = MarkSweep(table, days=1, pass_s=0)
    assert sweep.step(1_000_000) == [(b"k", b"t/0/1|aa|1000000", 5)]
    assert sweep.step(1_000_000 + DAY + SLACK_S) == []  # kept for the window and the slack from then
    assert sweep.step(1_000_001 + DAY + SLACK_S) == [(b"k", None, 5)]


def test_a_pass_goes_a_slice_at_a_time_then_waits() -> None:
    table = _table({f"k{n}".encode(): f"t/0/{n}|aa|0" for n in range(10)})
    sweep = MarkSweep(table, days=1, slice_=3, pass_s=100)
    now = 10 * DAY
    assert [len(sweep.step(now)) for _ in range(5)] == [3, 3, 3, 1, 0]
    assert not table
    table.put(b"later", b"t/0/11|aa|0", 0)
    assert sweep.step(now + 99) == []  # the next pass starts PASS_S after this one began
    assert sweep.step(now + 100) == [(b"later", None, 0)]


def test_marks_gone_since_the_pass_began_are_passed_over() -> None:
    table = _table({b"a": "t/0/1|aa|0", b"b": "t/1/1|bb|0"})
    table.put(b"b", b"t/1/1|bb|0", 1)
    sweep = MarkSweep(table, days=1, slice_=1)
    assert sweep.step(10 * DAY) == [(b"a", None, 0)]
    table.drop([1])  # its partition revoked meanwhile
    assert sweep.step(10 * DAY) == []


def test_a_value_that_is_no_mark_of_this_engine_is_kept_and_read_without_a_time() -> None:
    table = _table({b"odd": "t/0/1|aa|not-a-time", b"old": "t/0/2|bb|0"})
    assert MarkSweep(table, days=1).step(10 * DAY) == [(b"old", None, 0)]
    assert Mark.read("t/0/1|aa|not-a-time") == Mark("t/0/1", "aa", None)


def test_no_window_keeps_every_mark() -> None:
    table = _table({b"a": "t/0/1|aa|0", b"b": "t/0/2|bb"})
    assert MarkSweep(table, days=0).step(10**10) == []
    assert len(table) == 2


@settings(max_examples=300, deadline=None)
@given(days=st.integers(1, 800), first=st.integers(-2000 * DAY, 0), edge=st.integers(-3 * DAY, 3 * DAY),
       sweeps=st.lists(st.integers(-900 * DAY, SLACK_S), max_size=8))
def test_a_copy_is_never_taken_again_once_its_mark_is_forgotten(days: int, first: int, edge: int,
                                                                sweeps: list[int]) -> None:
    """Taken at `AT + first` (if inside the window then), swept at any times up to SLACK_S past a
    copy's intake clock, a copy of the event is a duplicate or stale, never taken again. The copy
    comes near where the window passes the event (`edge`), where a slip would show."""
    store = Store()
    taken = decide_intake(record(REPORT, 0), store.get, KNOWN, stale_before=AT + first - days * DAY)
    store.remember(taken)
    table = _table({k.encode(): v for k, v in store.items()})
    now_copy = AT + days * DAY + edge
    sweep = MarkSweep(table, days, pass_s=0)
    for offset in sorted(sweeps):
        sweep.step(now_copy + offset)
    kept = {k.decode(): v.decode() for k, v in table.items()}
    again = decide_intake(record(REPORT, 9), kept.get, KNOWN, stale_before=now_copy - days * DAY)
    assert again.kind in ("duplicate", "rejected")
    if again.kind == "rejected":
        assert again.reasons == ("stale",)


class _Now:
    def __init__(self, now: float) -> None:
        self.value = now

    def now(self) -> float:
        return self.value


def test_the_worker_forgets_old_marks_writes_their_deletions_and_rejects_a_late_copy(tmp_path: Any) -> None:
    rt, log = _worker(tmp_path)
    _feed(rt, log, 120, 40)  # dated 2026-01-05 on: marked with no window
    marks = dict(rt.seen.items())
    assert marks and all(Mark.read(v.decode()).at for v in marks.values())
    rt.settings = Settings(data_dir=tmp_path, dedup_days=30)
    rt.sweep = MarkSweep(rt.seen, 30)
    rt.clock = _Now(AT)  # 2026-11-30: every event of the workload is older than 31 days
    rt._sweep_marks()
    assert len(rt.seen) == 0
    assert rt.metrics.marks_forgotten._value.get() == len(marks)
    # A copy of the first event now: stale, not taken again; its batch commits the deletions.
    first = log.records[(rt.prefix + "hazard.reports", 0)][0]
    copy = log.append(first.topic, first.key, first.value, timestamp=2_000)
    tp = TopicPartition(first.topic, copy.partition)
    entries = sum(len(r) for (t, _), r in log.records.items() if t == rt.timeline)

    async def again() -> None:
        await rt._handle({tp: [log.records[(tp.topic, tp.partition)][copy.offset]]})
        await rt._store_and_commit()

    asyncio.run(again())
    assert sum(len(r) for (t, _), r in log.records.items() if t == rt.timeline) == entries
    [rejected] = [json.loads(r.value) for (t, _), rs in log.records.items() if t.endswith("intake.rejected")
                  for r in rs]
    assert rejected["data"]["errors"][0]["type"] == "stale"
    changelog = {}
    for (topic, _), records in log.records.items():
        if topic == rt.seen.changelog:
            changelog.update((r.key, r.value) for r in records)
    assert set(changelog) == set(marks) and not any(changelog.values())  # each key's last is a deletion
    rt.local.close()
    reopened, table = LocalStore(rt.local.root), Table(rt.seen.changelog)
    for partition in range(rt.intake_partitions):
        reopened.load(table, partition)
    assert len(table) == 0
