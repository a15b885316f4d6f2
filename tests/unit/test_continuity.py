"""Continuity: a jump in an agent's offsets is rewound once; records in order flow through."""

from __future__ import annotations

from engine.continuity import Continuity, Verdict


def test_in_order_records_are_processed() -> None:
    """From its committed start, a partition's records in order are all processed."""
    c = Continuity()
    c.start("p0", 10)
    assert [c.check("p0", o)[0] for o in (10, 11, 12)] == [Verdict.PROCESS] * 3


def test_a_partition_without_a_start_begins_where_its_first_record_is() -> None:
    """A partition never committed starts tracking at its first record."""
    c = Continuity()
    assert c.check("p1", 5) == (Verdict.PROCESS, 5)
    assert c.check("p1", 6) == (Verdict.PROCESS, 6)


def test_a_skipped_record_is_rewound_and_then_read_in_order() -> None:
    """A jump asks for a rewind to the first missing offset; the records then come in order."""
    c = Continuity()
    c.start("p0", 10)
    assert c.check("p0", 10)[0] is Verdict.PROCESS
    assert c.check("p0", 13) == (Verdict.REWIND, 11)  # 11 and 12 were skipped
    assert [c.check("p0", o)[0] for o in (11, 12, 13, 14)] == [Verdict.PROCESS] * 4


def test_a_skip_at_the_committed_start_is_rewound() -> None:
    """The first record after a restart is past the commit: the ones before it come again."""
    c = Continuity()
    c.start("p0", 200)
    assert c.check("p0", 203) == (Verdict.REWIND, 200)


def test_a_jump_that_persists_after_a_rewind_is_checked_and_then_taken() -> None:
    """The same jump after a rewind asks for the broker's word; once confirmed empty, it is taken."""
    c = Continuity()
    c.start("p0", 10)
    c.check("p0", 10)
    assert c.check("p0", 12)[0] is Verdict.REWIND
    assert c.check("p0", 12) == (Verdict.CONFIRM, 11)
    c.gap("p0", 12)  # the broker has nothing at 11 (a transaction marker)
    assert c.check("p0", 13)[0] is Verdict.PROCESS


def test_a_repeated_jump_is_never_taken_on_its_own() -> None:
    """Until the broker confirms the gap, a repeated jump keeps asking, and the expected offset stays."""
    c = Continuity()
    c.start("p0", 82)
    assert c.check("p0", 83)[0] is Verdict.REWIND
    assert c.check("p0", 83) == (Verdict.CONFIRM, 82)
    assert c.check("p0", 83) == (Verdict.CONFIRM, 82)  # the broker said records lie between
    assert c.check("p0", 82)[0] is Verdict.PROCESS  # the rewind worked after all
    assert c.check("p0", 83)[0] is Verdict.PROCESS


def test_redelivered_records_are_processed_again() -> None:
    """A re-delivery of older offsets is processed (the core ignores what it has applied)."""
    c = Continuity()
    c.start("p0", 10)
    for o in (10, 11, 12):
        c.check("p0", o)
    assert c.check("p0", 11)[0] is Verdict.PROCESS
    assert c.check("p0", 13)[0] is Verdict.PROCESS


def test_reset_forgets_partitions() -> None:
    """After a rebalance nothing is assumed about where partitions stand."""
    c = Continuity()
    c.start("p0", 10)
    c.check("p0", 10)
    c.reset()
    assert c.check("p0", 50) == (Verdict.PROCESS, 50)
