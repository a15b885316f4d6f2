"""Issue 20: the record that a SIGKILL lost, reproduced on Faust's own consumer, without timing.

The ten-kill case once ended with a rectification claim (rectification.updates
partition 2, offset 179) that got no outcome at all. The path that lost it:
the intake agent saw offset 180 while 179 was expected, seeked back and
dropped 180 (`engine/continuity.py`); Faust acknowledged the dropped 180; the
next periodic commit moved the group to 181, because Faust's commit decision
takes a run of acknowledged offsets that starts one past the committed offset
as safe (faust-streaming#606); the SIGKILL came before 179 was read again, and
the restarted worker began at 181.

These tests drive the real `faust` Consumer's commit decision
(`_filter_committable_offsets`) through that sequence. Without
`engine.faust_fixes` the first one fails: Faust offers 181 for commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import faust
import pytest
from faust.types import TP

from engine import faust_fixes
from engine.continuity import Continuity, Verdict

PART = TP("rectification.updates", 2)


@pytest.fixture
def consumer() -> Iterator[faust.transport.consumer.Consumer]:
    """Faust's aiokafka consumer of an app that is never started (no broker is contacted)."""
    faust_fixes.apply()
    app = faust.App("commit-head", broker="kafka://127.0.0.1:9")
    yield app.consumer


def handled(consumer: faust.transport.consumer.Consumer, *offsets: int) -> None:
    """Acknowledge offsets as Faust does when an agent moves past a message."""
    for offset in offsets:
        if offset not in consumer._acked_index[PART]:
            consumer._acked_index[PART].add(offset)
            consumer._acked[PART].append(offset)


def offered(consumer: faust.transport.consumer.Consumer) -> int | None:
    """The offset Faust's periodic commit would write for the partition, if any."""
    return consumer._filter_committable_offsets([PART]).get(PART)


def test_a_dropped_record_after_the_owed_one_is_not_committed_over(consumer) -> None:
    """Offset 179 owed, 180 dropped for a rewind and acknowledged: nothing is offered for commit."""
    consumer._committed_offset[PART] = 179
    continuity = Continuity()
    continuity.start(PART, 179)
    assert continuity.check(PART, 180) == (Verdict.REWIND, 179)
    handled(consumer, 180)  # Faust acknowledges the message the agent skipped
    assert offered(consumer) is None  # unpatched Faust offers 181 here: 179 would be lost
    assert continuity.check(PART, 179)[0] is Verdict.PROCESS  # the rewind brings it round
    handled(consumer, 179)
    assert offered(consumer) == 181


def test_records_in_order_are_committed_as_before(consumer) -> None:
    """A run that starts at the committed offset is committed to its end, as Faust always did."""
    consumer._committed_offset[PART] = 10
    handled(consumer, 10, 11, 12, 14)
    assert offered(consumer) == 13
    consumer._committed_offset[PART] = 13  # the commit went through
    handled(consumer, 13)
    assert offered(consumer) == 15


def test_offsets_handled_again_below_the_commit_do_not_hold_it_back(consumer) -> None:
    """A record read again after a rewind, below the commit, neither blocks nor rewinds the commit."""
    consumer._committed_offset[PART] = 50
    handled(consumer, 48, 50, 51)
    assert offered(consumer) == 52


def test_an_empty_offset_confirmed_by_the_broker_counts_as_handled(consumer) -> None:
    """A transaction marker at the committed offset, confirmed empty, lets the commit pass it."""
    consumer._committed_offset[PART] = 179
    handled(consumer, 180)
    assert offered(consumer) is None
    asyncio.run(faust_fixes.add_gap(consumer, PART, 179, 179))
    assert offered(consumer) == 181


def test_a_partition_never_committed_starts_at_its_first_handled_record(consumer) -> None:
    """Without a commit or a known log start, the first handled offset is the head (Faust's rule)."""
    handled(consumer, 0, 1, 2)
    assert offered(consumer) == 3
