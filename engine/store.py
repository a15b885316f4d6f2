"""How a subject's state is stored in its table: a header line, the state, and its history apart.

The header is the next due time, and for a hazard a tab and what the metrics
gauges count of it, then a tab and where the feeds' index files it. They lead
so that rebuilding the deadline index, the gauges and the feeds' index after a
recovery reads a few bytes per hazard instead of decoding a million states.
A header without those parts (a state stored before they were added, or an
alert) is read as a due time alone, and the state is decoded instead.

Since format 1 the state is one line of JSON with `"format": 1` first and
every field by name, the places of the positional lists the code keeps
(`listed`, a report's figures...) named too after the state class's `NAMED`
(a list of such records by column: `{"time": [...], "event_id": [...]}`, which
costs a zip instead of a dict per record), and the applied entries' hashes as
one base64 string; a hazard's or an alert's history follows on a line of its
own, each item named. The decision reads the state line only: it keeps the
history line and the applied hashes as bytes and adds what it appends to the
end of them when the state is stored again, so a decision no longer decodes,
copies or re-encodes a history it does not read. `show`,
the feeds, the board and a referral's evidence read the whole history
(`timeline()`). A record of format 0 (no `format` key: the state as
`encode()` writes it, history inside) still loads.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from engine import codec
from engine.decide.state import Hazard
from engine.kernel.state import HISTORY_ITEM, stored_history

FORMAT = 1
_MARK = b'{"format":'


class StoredFormatError(ValueError):
    """A stored state written in a format this code does not know (a newer engine wrote it)."""


def pack(h: Any, summary: bytes = b"", place: bytes = b"") -> bytes:
    """Serialise a state for the table, with optional one-line summaries in its header.

    `summary` is what the gauges count of it, `place` where the feeds find it
    (`engine.feeds.index.Place`); neither may hold a tab or a newline.
    """
    due = h.next_due()
    head = (str(due) if due is not None else "").encode()
    if summary or place:
        head += b"\t" + summary
    if place:
        head += b"\t" + place
    lazy = hasattr(h, "history_stored")  # a hazard or an alert, not an enterprise's file
    doc = _named(h.doc(whole=False) if lazy else h.doc(), h.NAMED)
    if h.applied or getattr(h, "applied_stored", b""):  # the stored part as it came, undecoded
        doc["applied"] = _applied(getattr(h, "applied_stored", b""), h.applied)
    state = codec.dumps(doc)
    parts = [head, b"\n", _MARK, b"%d," % FORMAT, memoryview(state)[1:]]
    if lazy:
        parts += [b"\n", *_history(h.history_stored, h.history)]
    return b"".join(parts)  # the stored history is copied once, here


def _named(doc: dict[str, Any], named: dict[str, tuple[str, tuple[str, ...]]]) -> dict[str, Any]:
    """A state's fields with the places of its positional lists named (a new dict where they change)."""
    for name, (shape, places) in named.items():
        value = doc.get(name)
        if value is None:
            continue
        if shape == "one":
            doc[name] = dict(zip(places, value, strict=True))
        elif shape == "many":  # by column: one list per place, in the rows' order
            doc[name] = dict(zip(places, map(list, zip(*value, strict=True)), strict=True))
        else:
            doc[name] = {k: dict(zip(places, v, strict=True)) for k, v in value.items()}
    return doc


def _applied(stored: bytes, tags: list[int]) -> str:
    """Entry hashes as base64 of their 8 bytes each: JSON's big integers cost ten times as much."""
    return base64.b64encode(stored + struct.pack(f">{len(tags)}Q", *tags)).decode()


def _tags(text: str) -> list[int]:
    """The inverse of `_applied`, decoded to integers."""
    raw = base64.b64decode(text)
    return list(struct.unpack(f">{len(raw) // 8}Q", raw))


def _positional(doc: dict[str, Any], named: dict[str, tuple[str, tuple[str, ...]]]) -> dict[str, Any]:
    """The inverse of `_named`: the lists the code keeps."""
    for name, (shape, places) in named.items():
        value = doc.get(name)
        if value is None:
            continue
        if shape == "one":
            doc[name] = [value[p] for p in places]
        elif shape == "many":
            doc[name] = [list(row) for row in zip(*(value[p] for p in places), strict=True)]
        else:
            doc[name] = {k: [v[p] for p in places] for k, v in value.items()}
    return doc


def _history(stored: bytes, added: list[Any]) -> list[bytes | memoryview]:
    """The parts of the stored history's JSON with `added` appended (named), what was stored undecoded."""
    if not added:
        return [stored or b"[]"]
    new = codec.dumps([dict(zip(HISTORY_ITEM, item, strict=True)) for item in added])
    if not stored or stored == b"[]":
        return [new]
    return [memoryview(stored)[:-1], b",", memoryview(new)[1:]]


def unpack(raw: bytes, kind: type[Any] = Hazard, lazy: bool = False) -> Any:
    """The state stored by `pack`: a Hazard, or another state class with `decode`.

    With `lazy`, a stored history stays undecoded in `history_stored` (what
    the decision path wants); without, it is decoded into `history`.
    """
    start = raw.index(b"\n") + 1
    if not raw.startswith(_MARK, start):
        return kind.decode(raw[start:])  # format 0
    end = raw.find(b"\n", start)
    line, history = (raw[start:], b"") if end < 0 else (raw[start:end], raw[end + 1:])
    doc = codec.loads(line)
    version = doc.pop("format")
    if version != FORMAT:
        raise StoredFormatError(f"stored state {doc.get('id')!r} has format {version}; "
                                f"this engine reads formats 0 to {FORMAT}")
    if "applied" in doc:
        if lazy and hasattr(kind, "applied_stored"):
            doc["applied_stored"], doc["applied"] = base64.b64decode(doc["applied"]), []
        else:
            doc["applied"] = _tags(doc["applied"])
    if history and history != b"[]":
        if lazy:
            doc["history_stored"] = history
        else:
            doc["history"] = stored_history(history)
    return kind(**_positional(doc, kind.NAMED))


def header(raw: bytes) -> tuple[int | None, bytes | None, bytes | None]:
    """The next due time, the summary and the place stored by `pack`, without decoding the state."""
    head = raw[: raw.index(b"\n")]
    due, tab, rest = head.partition(b"\t")
    summary, tab2, place = rest.partition(b"\t")
    return (int(due) if due else None), (summary if tab else None), (place if tab2 else None)
