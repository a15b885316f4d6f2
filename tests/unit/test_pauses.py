"""The collector's pauses as a histogram, and what a recovery built frozen out of its walks."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from engine.stream.pauses import BUCKETS, YOUNG, Pauses, recovering


@pytest.fixture
def thawed() -> Iterator[None]:
    """Nothing frozen before or after: the test process's other objects stay collectable."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_pauses_are_timed_per_generation_while_started() -> None:
    pauses = Pauses()
    pauses.start()
    try:
        gc.collect(0)
        gc.collect(2)
    finally:
        pauses.stop()
    assert pauses._callback not in gc.callbacks
    gc.collect(2)  # not counted: stopped
    (family,) = pauses.collect()
    counts = {s.labels["generation"]: s.value for s in family.samples if s.name.endswith("_count")}
    assert counts["0"] >= 1 and counts["2"] == 1
    for generation in ("0", "1", "2"):
        buckets = [s.value for s in family.samples
                   if s.name.endswith("_bucket") and s.labels["generation"] == generation]
        assert len(buckets) == len(BUCKETS) + 1
        assert buckets == sorted(buckets) and buckets[-1] == counts[generation]
    assert sum(s.value for s in family.samples if s.name.endswith("_sum")) > 0


def test_a_started_worker_collects_the_young_generation_less_often_and_puts_it_back() -> None:
    before = gc.get_threshold()
    assert before[0] != YOUNG
    pauses = Pauses()
    pauses.start()
    try:
        assert gc.get_threshold() == (YOUNG, *before[1:])
    finally:
        pauses.stop()
    assert gc.get_threshold() == before


@pytest.mark.parametrize("last", ["first started", "second started"])
def test_two_started_at_once_keep_the_threshold_until_the_last_stops_then_put_back_the_first(
        last: str) -> None:
    """Two workers in one process: whichever stops first, the young threshold stays YOUNG for the
    other, and the last to stop puts back what the first found, not YOUNG."""
    before = gc.get_threshold()
    one, two = Pauses(), Pauses()
    one.start()
    two.start()
    try:
        first, second = (two, one) if last == "first started" else (one, two)
        first.stop()
        assert gc.get_threshold() == (YOUNG, *before[1:])
        first.stop()  # stopping twice changes nothing
        assert gc.get_threshold() == (YOUNG, *before[1:])
        second.stop()
        assert gc.get_threshold() == before
    finally:
        one.stop()
        two.stop()
        gc.set_threshold(*before)
    assert gc.callbacks.count(one._callback) == gc.callbacks.count(two._callback) == 0


def test_the_histogram_is_on_the_registry() -> None:
    registry = CollectorRegistry()
    registry.register(Pauses())
    text = generate_latest(registry).decode()
    assert 'hazard_gc_pause_seconds_bucket{generation="2",le="+Inf"} 0.0' in text


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_a_recovery_collects_once_at_its_end_and_freezes_what_is_alive(thawed: None) -> None:
    assert gc.isenabled()
    with recovering() as settled:
        assert not gc.isenabled()  # no collection walks the tables while they are read
        cycle = _cycle()  # garbage only the cyclic collector can tell
        gc.collect(0)  # an explicit collection still runs; the automatic ones do not
        kept = _Node()
        assert cycle() is None
        cycle = _cycle()
    assert gc.isenabled()
    assert cycle() is None  # the collection at the end found it
    assert settled.frozen > 0 and gc.get_freeze_count() > 0 and settled.seconds >= 0
    assert gc.is_tracked(kept) and not any(o is kept for o in gc.get_objects())  # frozen


def test_a_later_recovery_collects_a_cycle_an_earlier_one_froze(thawed: None) -> None:
    with recovering():
        pass
    gc.disable()  # the cycle must not be collected before the freeze below
    try:
        cycle = _cycle()
        gc.freeze()  # as if the earlier recovery had frozen it
    finally:
        gc.enable()
    gc.collect()
    assert cycle() is not None  # frozen: no collection walks it
    with recovering():
        pass
    assert cycle() is None  # thawed and collected before freezing again


def test_a_failed_recovery_freezes_nothing_and_turns_the_collector_back_on(thawed: None) -> None:
    with pytest.raises(RuntimeError), recovering() as settled:
        raise RuntimeError("the broker went away")
    assert gc.isenabled() and gc.get_freeze_count() == 0 and settled.frozen == 0
