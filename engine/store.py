"""How a subject's state is stored in its table: a header line, then the state.

The header is the next due time, and for a hazard a tab and what the metrics
gauges count of it. They lead so that rebuilding the deadline index and the
gauges after a recovery reads a few bytes per hazard instead of decoding a
million states. A header without a tab (a state stored before the gauges'
part was added, or an alert) is read as a due time alone.
"""

from __future__ import annotations

from typing import Any

from engine.decide.state import Hazard


def pack(h: Any, summary: bytes = b"") -> bytes:
    """Serialise a state for the table, with an optional one-line summary in its header."""
    due = h.next_due()
    head = (str(due) if due is not None else "").encode()
    if summary:
        head += b"\t" + summary
    return head + b"\n" + h.encode()


def unpack(raw: bytes, kind: type[Any] = Hazard) -> Any:
    """The state stored by `pack`: a Hazard, or another state class with `decode`."""
    return kind.decode(raw[raw.index(b"\n") + 1:])


def header(raw: bytes) -> tuple[int | None, bytes | None]:
    """The next due time and the summary stored by `pack`, without decoding the state."""
    head = raw[: raw.index(b"\n")]
    due, tab, summary = head.partition(b"\t")
    return (int(due) if due else None), (summary if tab else None)

