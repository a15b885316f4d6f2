"""The states the decide stage holds decoded: within a batch, and across batches for busy subjects.

Within a batch, a subject's state goes from one entry to the next in memory and
is stored once at the end (`Runtime._decide_all`). Across batches, `Decoded`
keeps the states of the kinds it is given (enterprise files and plan towns)
after they are stored, with the very bytes they were stored as: while the table
still holds that same object, the state is what decoding those bytes would give
again (a test compares the two), so the next batch takes it instead of decoding.
An enterprise file is what pays: every hazard of the enterprise updates it, so
a paced worker decodes each busy file once a batch, and a file with 500 open
hazards costs 600-800 µs to decode (docs/benchmarks.md).

Batches that share one commit (`Runtime._store_due`) go further: the enterprise
files and plan towns they change wait in `Runtime.changed`, not encoded at all,
and the next batch takes them from there before anything else, until the shared
write encodes each once (`Runtime._store_changed`). A decision that fails is then
decided again from the table through the records of those batches too.

A state taken leaves `Decoded` (the decision changes it in place), and comes
back only when the batch stores it. So a decision that fails half-way leaves
nothing behind: the subject is decided again from the table's bytes. Anything
else that changes the table (a recovery, a rebalance, the replica taking a
partition over) puts new bytes objects there, which no kept state matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.kernel.state import settle_applied

Key = tuple[str, bytes | None]  # (kind, subject key)

# Decoded states kept across batches: a bound, not a cache of every subject. An enterprise file in
# memory is a few kilobytes, 290 KB with 500 open hazards in detail (tracemalloc), so at worst
# about 75 MB; a batch of MAX_BATCH records touches fewer busy files than this.
KEEP = 256


class Decoded:
    """Recently stored states of some kinds, each with the bytes it was stored as; the oldest leave first."""

    def __init__(self, kinds: set[str], limit: int = KEEP) -> None:
        self.kinds = kinds
        self.limit = limit
        self._kept: dict[Key, tuple[bytes, Any]] = {}

    def __len__(self) -> int:
        return len(self._kept)

    def keep(self, key: Key, stored: bytes, state: Any) -> None:
        """`state` was just stored as `stored`; keep it (if its kind is kept), as the newest."""
        if key[0] not in self.kinds or self.limit <= 0:
            return
        settle_applied(state)  # as decoding `stored` would leave them
        self._kept.pop(key, None)
        self._kept[key] = (stored, state)
        if len(self._kept) > self.limit:
            del self._kept[next(iter(self._kept))]

    def take(self, key: Key, current: bytes | None) -> Any | None:
        """The kept state of `key` if it was stored as `current` (the table's bytes now), handed over."""
        kept = self._kept.pop(key, None)
        if kept is None or current is None or kept[0] is not current:
            return None
        return kept[1]


class Held(dict[Key, Any]):
    """The states a batch's earlier entries reached, by (kind, key); on a miss, a state an earlier
    batch changed and left unstored (`changed`), else one `Decoded` kept from an earlier batch,
    if the table still holds what it was stored as.

    `decide_entry` asks `key in held` before it reads the table, which is where a kept
    state is taken. The batch stores every state it holds that a decision changed, or
    leaves it in `changed` for a later batch to store; one taken from `decoded` for an
    entry that changed nothing (a re-delivery) goes back unchanged (`unused`).
    """

    def __init__(self, tables: Mapping[str, Mapping[bytes, bytes]], decoded: Decoded,
                 changed: dict[Key, Any] | None = None) -> None:
        super().__init__()
        self.tables = tables
        self.decoded = decoded
        self.changed = {} if changed is None else changed
        self.taken: dict[Key, bytes] = {}  # the stored bytes of each state taken from `decoded`

    def __contains__(self, key: object) -> bool:
        if dict.__contains__(self, key):
            return True
        if key in self.changed:  # newer than the table: an earlier batch changed it, unstored
            self[key] = self.changed.pop(key)  # type: ignore[index]
            return True
        if not isinstance(key, tuple) or key[0] not in self.decoded.kinds or key[1] is None:
            return False
        current = self.tables[key[0]].get(key[1])
        state = self.decoded.take(key, current)
        if state is None or current is None:
            return False
        self[key] = state
        self.taken[key] = current
        return True

    def unused(self, done: Mapping[Key, Any]) -> None:
        """Give back to `decoded` the states taken that no decision changed."""
        for key, stored in self.taken.items():
            if key not in done and dict.__contains__(self, key):
                self.decoded.keep(key, stored, self[key])
