"""Subset matching of wanted values against what the engine sent, field by field.

A wanted dict matches when each of its keys matches; a wanted list matches when
each of its items matches some item got (order and extra items do not matter);
a wanted date matches any time on that day in Asia/Shanghai, and a wanted time
matches the same instant written in any offset.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from engine.kernel.time import epoch
from engine.ruleset.calendar import SHANGHAI


def _instant(value: Any) -> int | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return epoch(value)
    except ValueError:
        return None


def matches(want: Any, got: Any) -> bool:
    """Whether `got` has everything `want` asks for."""
    if isinstance(want, dict):
        return isinstance(got, dict) and all(k in got and matches(v, got[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(got, list) and all(any(matches(w, g) for g in got) for w in want)
    if isinstance(want, datetime):
        return _instant(got) == int(want.timestamp())
    if isinstance(want, date):
        at = _instant(got)
        return at is not None and datetime.fromtimestamp(at, SHANGHAI).date() == want
    if isinstance(want, str) and isinstance(got, str) and want != got:
        # Two spellings of one instant ("...+08:00" and "...Z") are the same time; a date
        # alone is the end of that day, as the contract reads deadlines.
        a, b = _instant(want), _instant(got)
        return a is not None and a == b
    if isinstance(want, bool) or isinstance(got, bool):
        return want is got  # YAML's true is not the number 1
    return want == got


def field_marks(want: dict[str, Any], got: dict[str, Any]) -> list[tuple[bool, str, str]]:
    """For each wanted key: (matched, the key, what was wanted and what was got)."""
    marks = []
    for key, value in want.items():
        if key not in got:
            marks.append((False, key, f"wanted {show(value)}, got no such field"))
        elif matches(value, got[key]):
            marks.append((True, key, show(got[key])))
        else:
            marks.append((False, key, f"wanted {show(value)}, got {show(got[key])}"))
    return marks


def show(value: Any, limit: int = 120) -> str:
    """A short, readable rendering of a value for a diff."""
    if isinstance(value, datetime | date):
        text = value.isoformat()
    elif isinstance(value, list) and value and all(isinstance(v, dict) and "id" in v for v in value):
        # Targets and respondents read best as kind:id.
        text = "[" + ", ".join(f"{v.get('kind', '?')}:{v['id']}" for v in value) + "]"
    elif value is None:
        text = "null"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
