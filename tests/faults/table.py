"""The fault table: one Markdown row per accounted case (printed by tests/conftest.py)."""

from __future__ import annotations

from typing import Any

COLUMNS = ("fault", "injected", "events_in", "accepted", "rejected", "duplicates", "escalations",
           "missing", "extra", "states_differ")


def table(rows: list[dict[str, Any]]) -> list[str]:
    """The rows as a Markdown table, one line each."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(row[c]) for c in COLUMNS) + " |" for row in rows]
    return lines

