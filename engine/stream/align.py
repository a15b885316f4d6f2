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

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any


class Aligner:
    """Intake records fetched but held back, per partition, in offset order."""

    def __init__(self, max_wait_s: float) -> None:
        self.max_wait_s = max_wait_s
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
                now: float) -> dict[Any, list[Any]]:
        """The held records that may go on now, per partition (a prefix of each one's).

        `partitions` are the intake partitions assigned; `behind(tp)` says whether
        tp has records on the broker that were not fetched yet (unknown counts as
        behind). A record goes when no partition that is behind could still bring
        an earlier one: its time is at most the last time fetched from each of them.
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
        out: dict[Any, list[Any]] = {}
        for tp, queue in list(self.held.items()):
            take = []
            while queue and (forced or queue[0].timestamp <= horizon):
                take.append(queue.popleft())
            if take:
                out[tp] = take
            if not queue:
                del self.held[tp]
        if not self.held:
            self._blocked_since = None
        elif out or since is None:
            self._blocked_since = now
        return out

    def clear(self, partitions: Iterable[Any] | None = None) -> None:
        """Forget what is held (of `partitions`; None: all): it is fetched again from the commits."""
        if partitions is None:
            self.held.clear()
        else:
            for tp in partitions:
                self.held.pop(tp, None)
        if not self.held:
            self._blocked_since = None
