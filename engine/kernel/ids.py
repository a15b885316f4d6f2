"""Deterministic ids: derived from the subject and the decision, never from the wall clock.

A replay or a crash recovery therefore produces the same ids, and a consumer
can drop a record it has seen by its id alone.
"""

from __future__ import annotations

import uuid

from engine.uuid5 import uuid5_text

_NS = uuid.UUID("3b9e7f1a-2c4d-4e5f-8a6b-7c8d9e0f1a2b").bytes


def output_id(*parts: object) -> str:
    """A deterministic id from the parts that identify a decision (a version 5 UUID's text)."""
    return uuid5_text(_NS, "\x1f".join(map(str, parts)))  # map: no generator's frame per part


def clock_id(subject_id: str, name: str, due: int) -> str:
    """The id of a clock's firing, shared by every path that fires it, in every core."""
    return output_id("clock", subject_id, name, due)
