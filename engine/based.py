"""An enterprise file's large parts, stored now and then whole as a base, and in between as changes.

Every hazard, inspection and alert of an enterprise updates its file, and a
file of 80 open hazards stores 12-15 KB, of which one event changes an open
hazard's row, a line or two of its record and one source's applied offsets
(docs/benchmarks.md, "A quicker host"). Storing it whole each time wrote about
10 KB an event to the changelog, the local store and every replica. Since
stored format 6 (engine/store.py) the parts that grow with the enterprise's
history (the state class's `BASED`) are kept apart:

- A *base* holds those parts whole. It is written to the kind's history table
  under `USCC#N` (`chunk_key`), and never changed after.
- The file's record holds the other fields and, under `"based"`, the base it
  stands on and what changed in those parts since (`delta`): rows set and gone
  in a map, lines dropped from the front of a list and added at its end.
- When the changes grow past a quarter of their base's bytes, or cannot be put
  as changes (a row that came back moved), the file is stored with a new base
  N+1 and no changes. A file whose parts are smaller than `MIN_BASE` stays whole
  in its record, as before format 6.

How this stays consistent with the broker (engine/stream/runtime.py): a base
goes out with the history chunks, in the round trip before the states, so a
record on a changelog never names a base that is not there. The base before
the one a file stood on is removed (a tombstone) when a new base is written:
the file's latest record on the broker names the base it stood on (the batch
before this one was acknowledged whole, or the worker went back to the
changelogs), so no record the worker could recover from names the one removed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from operator import ne
from typing import Any

from engine import codec

MIN_BASE = 2048  # bytes of the large parts below which a file stays whole in its record
REBASE_SHARE = 4  # changes past 1/REBASE_SHARE of their base's bytes: a new base


@dataclass(frozen=True, slots=True)
class Base:
    """The base a stored file stands on: its number, its parts as stored, and its size.

    `parts` are the base's own (decoded from its bytes), never a state's: a
    decision changes a state's rows in place.
    """

    n: int
    parts: dict[str, Any]
    size: int
    # Each map part's keys and values in order, for `delta` (derived from `parts`; not compared).
    orders: dict[str, tuple[list[str], list[Any]]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name, value in self.parts.items():
            if type(value) is dict:
                self.orders[name] = (list(value), list(value.values()))


def delta(base: Base, state: Any, named: dict[str, tuple[str, tuple[str, ...]]]) -> dict[str, Any] | None:
    """What changed in the state's large parts since `base`, as the record stores it; None when a
    change cannot be put that way (a map's remaining keys in another order)."""
    out: dict[str, Any] = {}
    for name, was in base.parts.items():
        now = getattr(state, name)
        if type(was) is dict:
            change = _map_delta(was, *base.orders[name], now)
        else:
            change = _list_delta(was, now)
        if change is None:
            return None
        if change:
            if name in named:
                change["columns"] = named[name][1]
            out[name] = change
    return out


def _map_delta(was: dict[str, Any], keys: list[str], values: list[Any],
               now: dict[str, Any]) -> dict[str, Any] | None:
    """Rows set and keys gone; None unless `now` keeps the base's remaining keys in their order, with
    the new keys after them (which is how applying the change rebuilds it).

    A file's open hazards are 80 rows of which one changes: the keys, the order
    and the rows are compared by list operations (about 5 µs), not row by row in
    Python; only the rows that differ are visited.
    """
    listed = list(now)
    gone: Any = ()
    if listed[:len(keys)] != keys:  # some key is gone (or the order is not the base's)
        gone = was.keys() - now.keys()
        keys = [k for k in keys if k not in gone]
        values = [was[k] for k in keys]
        if listed[:len(keys)] != keys:
            return None
    rows = list(now.values())
    differs = list(map(ne, rows, values))
    changed: dict[str, Any] = {}
    at = -1
    with contextlib.suppress(ValueError):  # no row (or no more) differs
        while True:
            at = differs.index(True, at + 1)
            changed[keys[at]] = rows[at]
    changed.update(zip(listed[len(keys):], rows[len(keys):], strict=True))
    out: dict[str, Any] = {}
    if changed:
        out["set"] = changed
    if gone:
        out["gone"] = [k for k in was if k in gone]
    return out


def _list_delta(was: list[Any], now: list[Any]) -> dict[str, Any]:
    """The list as the base's with `drop` items taken from its front and `add` put at its end."""
    n = len(was)
    if now[:n] == was:
        return {"add": now[n:]} if len(now) > n else {}
    if now:
        first = now[0]
        for i in range(1, n):
            if was[i] == first and was[i:] == now[:n - i]:
                return {"drop": i, "add": now[n - i:]}
    return {"drop": n, "add": now}


def apply(parts: dict[str, Any], change: dict[str, Any], read_rows: Any) -> dict[str, Any]:
    """The large parts of a file: a base's `parts` (its own copy, changed here) with `change` applied.

    `read_rows(name, {"columns": ..., "rows": rows})` gives stored rows in the
    code's order of places (engine.store._rows).
    """
    for name, step in change.items():
        value = parts[name]
        columns = step.get("columns")
        if type(value) is dict:
            for key in step.get("gone", ()):
                del value[key]
            rows = step.get("set")
            if rows:
                value.update(read_rows(name, {"columns": columns, "rows": rows}) if columns else rows)
        else:
            added = step.get("add") or []
            if columns and added:
                added = read_rows(name, {"columns": columns, "rows": added})
            parts[name] = value[step.get("drop", 0):] + added
    return parts


def encode_change(n: int, change: dict[str, Any]) -> bytes:
    """The record's `"based"` value: the base's number and the changes since."""
    return codec.dumps({"on": n, "change": change})
