"""Forgetting de-duplication marks once no copy of their event can be taken any more.

Intake keeps a mark for every event it takes (`engine.intake.process.Mark`),
so that a copy is recognised whichever partition or day it comes on. Kept
forever, the marks grow with every event: a worker holds its partitions'
marks in memory and reads them all again on a first start. With a window of
HAZARD_DEDUP_DAYS, intake rejects an event whose time lies before the
window's start as `stale`, and this stage forgets the marks of events older
than the window and a day more. A copy keeps its event's time, so a copy
that intake takes finds its first's mark still there:

    the copy is taken only if   time >= intake's now - window
    its mark is forgotten only if   time < this stage's now - window - SLACK_S

and this stage's now never runs ahead of a later intake's by SLACK_S (a
partition may move to a worker whose clock is somewhat behind). A mark
stored before marks kept their time gets the time of the pass that finds it,
which only keeps it longer than needed.

A pass goes over the table a slice at a time (`SLICE` marks per tick), so
that a worker with millions of marks does not stop its loop, and starts
again `PASS_S` after it began. What it changes is returned as writes, for
the changelog and the local store, with the next commit.
"""

from __future__ import annotations

from engine.stream.tables import Table

SLACK_S = 86_400  # how far behind another worker's clock may be (a partition moved there)
SLICE = 5_000  # marks looked at per tick: about 5 ms; a million marks in 200 ticks
PASS_S = 3_600  # a pass starts at most this often (seconds of the worker's clock)


class MarkSweep:
    """Forgets the marks of one table older than a window, a slice per `step`."""

    def __init__(self, table: Table, days: int, slice_: int = SLICE, pass_s: float = PASS_S) -> None:
        self.table, self.keep_s = table, days * 86_400
        self.slice, self.pass_s = slice_, pass_s
        self._keys: list[bytes] = []
        self._at = 0  # the next of `_keys` to look at
        self._began: float | None = None  # when the pass under way (or the last) began

    def step(self, now: float) -> list[tuple[bytes, bytes | None, int]]:
        """Look at the next slice of marks; the changes made to the table, as (key, new value or
        None to delete, partition), for the caller to write."""
        if not self.keep_s:
            return []
        if self._at >= len(self._keys):
            if self._began is not None and now - self._began < self.pass_s:
                return []
            self._keys, self._at, self._began = list(self.table), 0, now
        keys = self._keys[self._at:self._at + self.slice]
        self._at += len(keys)
        forget_before = now - self.keep_s - SLACK_S
        changes: list[tuple[bytes, bytes | None, int]] = []
        get, partition_of = self.table.get, self.table.partition_of
        for key in keys:
            stored = get(key)
            if stored is None:  # gone since the pass began (a revoked partition)
                continue
            # `position|digest|time` (Mark.text), read here without decoding the rest: a pass over a
            # million marks must not hold the loop.
            first, _, time = stored.rpartition(b"|")
            if b"|" not in first:  # `position|digest`: stored before marks kept their time
                value: bytes | None = b"%s|%d" % (stored, int(now))
            elif not time.lstrip(b"-").isdigit():  # no mark this engine wrote: kept as it is
                continue
            elif int(time) < forget_before:
                value = None
            else:
                continue
            partition = partition_of(key)
            assert partition is not None  # a key the table holds has one
            self.table.put(key, value, partition)
            changes.append((key, value, partition))
        if self._at >= len(self._keys):
            self._keys = []  # not held between passes
        return changes
