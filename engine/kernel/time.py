"""Time as the cores keep it: whole seconds since the epoch, shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.ruleset.calendar import SHANGHAI


def iso(ts: int | None) -> str | None:
    """An epoch-seconds time as RFC 3339 in Asia/Shanghai."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).astimezone(SHANGHAI).isoformat()
