"""How a subject's state is stored in its table: a header line, then the state.

The header is the next due time, and for a hazard a tab and what the metrics
gauges count of it, then a tab and where the feeds' index files it. They lead
so that rebuilding the deadline index, the gauges and the feeds' index after a
recovery reads a few bytes per hazard instead of decoding a million states.
A header without those parts (a state stored before they were added, or an
alert) is read as a due time alone, and the state is decoded instead.
"""

from __future__ import annotations

from typing import Any

from engine.decide.state import Hazard


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
    return head + b"\n" + h.encode()


def unpack(raw: bytes, kind: type[Any] = Hazard) -> Any:
    """The state stored by `pack`: a Hazard, or another state class with `decode`."""
    return kind.decode(raw[raw.index(b"\n") + 1:])


def header(raw: bytes) -> tuple[int | None, bytes | None, bytes | None]:
    """The next due time, the summary and the place stored by `pack`, without decoding the state."""
    head = raw[: raw.index(b"\n")]
    due, tab, rest = head.partition(b"\t")
    summary, tab2, place = rest.partition(b"\t")
    return (int(due) if due else None), (summary if tab else None), (place if tab2 else None)
