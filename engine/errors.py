"""The base of the engine's own exceptions; each package subclasses it for what it means."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class EngineError(Exception):
    """Something the engine cannot go on with, said in words an operator can act on."""


def problems_in_words(errors: Iterable[Mapping[str, Any]]) -> str:
    """Validation errors (pydantic's, or a rejection's) as one line: `where.in.the.file: what`; ..."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
