"""The deadline index: every subject's next due time, in a heap, for one worker's partitions.

A tick costs in proportion to what is due, not to what is open: it pops due
entries off a heap. Entries are never removed in place; a subject's current
due time is kept in a dict, and a popped entry that no longer matches it is
stale and skipped. The index is rebuilt from the table after recovery, so it
survives restarts and rebalances without being stored anywhere.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable


class DeadlineIndex:
    """Next due time per subject, with the earliest ones found in O(log n)."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []
        self._due: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._due)

    def set(self, subject: str, due: int | None) -> None:
        """Record the subject's next due time, or that it has none."""
        if due is None:
            self._due.pop(subject, None)
            return
        if self._due.get(subject) == due:
            return
        self._due[subject] = due
        heapq.heappush(self._heap, (due, subject))
        if len(self._heap) > 4 * len(self._due) + 1024:
            self._compact()

    def pop_due(self, now: float, limit: int = 10_000) -> list[tuple[int, str]]:
        """Remove and return up to `limit` (due, subject) pairs due at or before `now`."""
        out: list[tuple[int, str]] = []
        heap = self._heap
        while heap and heap[0][0] <= now and len(out) < limit:
            due, subject = heapq.heappop(heap)
            if self._due.get(subject) == due:
                del self._due[subject]
                out.append((due, subject))
        return out

    def earliest(self) -> int | None:
        """The earliest live due time, for timer-lag metrics."""
        while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def rebuild(self, items: Iterable[tuple[str, int | None]]) -> None:
        """Replace the index with (subject, due) pairs, e.g. from the table after recovery."""
        self._due = {s: d for s, d in items if d is not None}
        self._compact()

    def take(self, other: DeadlineIndex) -> None:
        """Become what `other` holds (built elsewhere, e.g. off the event loop); `other` is spent."""
        self._heap, self._due = other._heap, other._due
        other._heap, other._due = [], {}

    def _compact(self) -> None:
        self._heap = [(d, s) for s, d in self._due.items()]
        heapq.heapify(self._heap)
