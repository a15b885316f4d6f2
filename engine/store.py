"""How a hazard's state is stored in its table: its next due time, a newline, then the state.

The due time leads so that rebuilding the deadline index after recovery reads a
number per hazard instead of parsing a million states.
"""

from __future__ import annotations

from typing import Any

from engine.decide.state import Hazard


def pack(h: Any) -> bytes:
    """Serialise a state for the table."""
    due = h.next_due()
    return (str(due) if due is not None else "").encode() + b"\n" + h.encode()


def unpack(raw: bytes, kind: type[Any] = Hazard) -> Any:
    """The state stored by `pack`: a Hazard, or another state class with `decode`."""
    return kind.decode(raw[raw.index(b"\n") + 1:])


def due_of(raw: bytes) -> int | None:
    """The next due time stored by `pack`, without decoding the state."""
    head = raw[: raw.index(b"\n")]
    return int(head) if head else None
