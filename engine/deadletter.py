"""What happens to a record that makes the engine's own code raise.

A bug, or a record no test foresaw, must not hold its partition: every later
event of the subjects on it would wait behind it, and every deadline with
them. The agents catch the exception around the pure call (intake's
`decide_intake`, the rules' `decide`), never around Kafka I/O, and move on:

- an intake record that cannot be processed goes to `intake.rejected` with
  the error type `processing_error`, so every field event stays accounted
  for as accepted, rejected or a duplicate;
- a timeline entry whose decision raises goes to `engine.deadletter` with the
  exception, its traceback and the entry, and counts in
  `hazard_dead_letters_total`, which pages the operators.

Both carry ids derived from the record's position, so a re-delivered record
repeats its id. The fault suite plants such records through its own entry
point (`tests/faults/poisoned_worker.py`); the product has no switch for it.
"""

from __future__ import annotations

import base64
import traceback
from datetime import UTC, datetime
from typing import Any

from engine.kernel.ids import output_id

DEAD_LETTER = "engine.deadletter"
PROCESSING_ERROR = "processing_error"


def error_details(exc: BaseException) -> dict[str, str]:
    """The exception as a dead letter records it: type, message and traceback."""
    return {"type": type(exc).__name__, "message": str(exc),
            "traceback": "".join(traceback.format_exception(exc))[-8000:]}


def dead_letter(agent: str, topic: str, partition: int, offset: int, key: bytes | None,
                value: bytes | None, exc: BaseException, now: datetime | None = None
                ) -> dict[str, Any]:
    """The dead-letter document of a record whose processing raised."""
    position = f"{topic}/{partition}/{offset}"
    try:
        readable: Any = (value or b"").decode("utf-8")
    except UnicodeDecodeError:
        readable = None
    return {
        "id": output_id("dead-letter", agent, position),
        "agent": agent,
        "topic": topic, "partition": partition, "offset": offset,
        "key": key.decode("utf-8", "replace") if key is not None else None,
        "error": error_details(exc),
        "value": readable,
        "value_base64": base64.b64encode(value or b"").decode("ascii"),
        "failed_at": (now or datetime.now(UTC)).isoformat(),
    }
