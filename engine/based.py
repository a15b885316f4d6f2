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
  in a map; a list as the base's items from one place, how many, then what was
  added (lines rolling off the front, a source's last run grown); a map's
  value of lists (a source's runs) as the changes of each list.
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
    edited: dict[str, Any] = {}
    at = -1
    with contextlib.suppress(ValueError):  # no row (or no more) differs
        while True:
            at = differs.index(True, at + 1)
            key, row = keys[at], rows[at]
            edit = _lists_delta(values[at], row)
            if edit is None:
                changed[key] = row
            else:
                edited[key] = edit
    changed.update(zip(listed[len(keys):], rows[len(keys):], strict=True))
    out: dict[str, Any] = {}
    if changed:
        out["set"] = changed
    if edited:
        out["edit"] = edited
    if gone:
        out["gone"] = [k for k in was if k in gone]
    return out


def _lists_delta(was: Any, now: Any) -> dict[str, Any] | None:
    """A value of lists by name (a source's applied runs, `{"starts": [...], "ends": [...]}`) as the
    changes of each list; None for any other value, or one whose names changed."""
    if type(was) is not dict or type(now) is not dict or list(was) != list(now):
        return None
    if not all(type(v) is list for v in now.values()) or not all(type(v) is list for v in was.values()):
        return None
    return {name: _list_delta(was[name], value) for name, value in now.items() if value != was[name]}


def _list_delta(was: list[Any], now: list[Any]) -> dict[str, Any]:
    """The list as the base's from place `drop`, its next `keep` items, then `add`: a rolling list
    drops lines at its front and adds some at its end, a source's runs also change their last."""
    n = len(was)
    try:
        drop = was.index(now[0]) if now else n
    except ValueError:
        drop = n
    keep = _common(was, drop, now)
    out: dict[str, Any] = {}
    if drop:
        out["drop"] = drop
    if keep != n - drop:
        out["keep"] = keep
    if len(now) > keep:
        out["add"] = now[keep:]
    return out


def _common(was: list[Any], drop: int, now: list[Any]) -> int:
    """How many items `was[drop:]` and `now` have the same from their start (by halves, each
    comparison a slice's in C)."""
    most = min(len(was) - drop, len(now))
    if was[drop:drop + most] == now[:most]:
        return most
    low, high = 0, most - 1  # the first `low` are the same; at most `high` are
    while low < high:
        mid = (low + high + 1) // 2
        if was[drop:drop + mid] == now[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _apply_list(was: list[Any], step: dict[str, Any], added: list[Any] | None = None) -> list[Any]:
    drop = step.get("drop", 0)
    keep = step.get("keep", len(was) - drop)
    return was[drop:drop + keep] + (step.get("add") or [] if added is None else added)


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
            for key, edit in step.get("edit", {}).items():
                value[key] = {field: _apply_list(lists, edit[field]) if field in edit else lists
                              for field, lists in value[key].items()}
            rows = step.get("set")
            if rows:
                value.update(read_rows(name, {"columns": columns, "rows": rows}) if columns else rows)
        else:
            added = step.get("add") or []
            if columns and added:
                added = read_rows(name, {"columns": columns, "rows": added})
            parts[name] = _apply_list(value, step, added)
    return parts


def encode_change(n: int, change: dict[str, Any]) -> bytes:
    """The record's `"based"` value: the base's number and the changes since."""
    return codec.dumps({"on": n, "change": change})
