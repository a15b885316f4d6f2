"""Intake records in the order the field apps sent them, across the intake topics.

A subject's events come on several intake topics, keyed by the subject, so on
the same partition number of each. `getmany` hands over what the fetcher holds
one partition after another, until a batch is full: with a backlog (a restart,
an outage, a worker that fell behind) one batch can hold a hazard's plan and
completion from `rectification.updates` while its report, sent earlier, is
still in `hazard.reports` waiting for a later batch. Decided in that order, the
plan comes before the report and changes nothing.

`Aligner` holds intake records back until every assigned intake partition that
still has records on the broker has been read up to their time (the record's
timestamp: when the field app sent it). A partition that has nothing more to
read holds nothing back. All of them, not only the same partition number: an
inspection's finding is keyed by the inspection, and the entries it makes for
its hazard and enterprise join subjects whose other events came on other
partitions. Like Kafka Streams' task idling, it waits at most `max_wait_s` for
a partition that has records to read but does not deliver them (its broker
away, say); then what is held goes on in the order it has.

The records stay uncommitted while held: a crash or a going back fetches them
again. Pure: the runtime says which partitions are behind and what time it is.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any


class Aligner:
    """Intake records fetched but held back, per partition, in offset order."""

    def __init__(self, max_wait_s: float, limit: int | None = None) -> None:
        self.max_wait_s = max_wait_s
        self.limit = limit  # records let go at once, at most (None: no limit)
        self.held: dict[Any, deque[Any]] = {}
        self._blocked_since: float | None = None  # when records were last let go, while some are held

    def __len__(self) -> int:
        return sum(map(len, self.held.values()))

    def add(self, records: Mapping[Any, list[Any]]) -> None:
        """Records just fetched (each partition's in offset order), behind any held of theirs."""
        for tp, recs in records.items():
            if recs:
                self.held.setdefault(tp, deque()).extend(recs)

    def blocking(self, partitions: Iterable[Any], behind: Callable[[Any], bool]) -> list[Any]:
        """The partitions held records wait for: behind, and nothing of their own held."""
        if not self.held:
            return []
        return [tp for tp in partitions if tp not in self.held and behind(tp)]

    def release(self, partitions: Iterable[Any], behind: Callable[[Any], bool],
                now: float, limit: int | None = None) -> dict[Any, list[Any]]:
        """The held records that may go on now, per partition (a prefix of each one's).

        `partitions` are the intake partitions assigned; `behind(tp)` says whether
        tp has records on the broker that were not fetched yet (unknown counts as
        behind). A record goes when no partition that is behind could still bring
        an earlier one: its time is at most the last time fetched from each of them.
        At most `limit` go at once (the aligner's, or the one given if lower), the
        earliest by time: held back over several fetches, they would otherwise make one
        batch larger than a fetch, and the window of applied entries is argued from how
        many records are decided between two commits (docs/redelivery.md).
        """
        if not self.held:
            self._blocked_since = None
            return {}
        horizon = float("inf")
        for tp in partitions:
            if behind(tp):
                queue = self.held.get(tp)
                horizon = min(horizon, queue[-1].timestamp if queue else float("-inf"))
        since = self._blocked_since
        forced = since is not None and now - since >= self.max_wait_s
        ready: dict[Any, int] = {}  # how many of each partition's held records may go
        for tp, queue in self.held.items():
            n = 0
            for record in queue:  # a deque: walked, not indexed
                if not (forced or record.timestamp <= horizon):
                    break
                n += 1
            if n:
                ready[tp] = n
        if self.limit is not None:
            limit = self.limit if limit is None else min(limit, self.limit)
        if limit is not None and sum(ready.values()) > limit:
            ready = self._earliest(ready, limit)
        out: dict[Any, list[Any]] = {}
        for tp, n in ready.items():
            queue = self.held[tp]
            out[tp] = [queue.popleft() for _ in range(n)]
            if not queue:
                del self.held[tp]
        if not self.held:
            self._blocked_since = None
        elif out or since is None:
            self._blocked_since = now
        return out

    def _earliest(self, ready: dict[Any, int], limit: int) -> dict[Any, int]:
        """Of the `ready` first records of each partition, how many of each are among the `limit`
        earliest by time (each partition's in its own order: always a prefix of its records)."""
        merged = heapq.merge(*([(r.timestamp, tp) for r in itertools.islice(self.held[tp], n)]
                               for tp, n in ready.items()), key=lambda pair: pair[0])
        counts: dict[Any, int] = {}
        for _, tp in itertools.islice(merged, limit):
            counts[tp] = counts.get(tp, 0) + 1
        return counts

    def clear(self, partitions: Iterable[Any] | None = None) -> None:
        """Forget what is held (of `partitions`; None: all): it is fetched again from the commits."""
        if partitions is None:
            self.held.clear()
        else:
            for tp in partitions:
                self.held.pop(tp, None)
        if not self.held:
            self._blocked_since = None
