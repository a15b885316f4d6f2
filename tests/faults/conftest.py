"""Print the fault table at the end of a session that ran fault cases."""

from __future__ import annotations

from typing import Any

from faults.scenario import ROWS

COLUMNS = ("fault", "injected", "events_in", "accepted", "rejected", "duplicates", "escalations",
           "missing", "extra", "states_differ")


def table(rows: list[dict[str, Any]]) -> list[str]:
    """The rows as a Markdown table, one line each."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(row[c]) for c in COLUMNS) + " |" for row in rows]
    return lines


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Show every accounted fault case of this session as one table."""
    if ROWS:
        terminalreporter.section("fault accounting")
        for line in table(ROWS):
            terminalreporter.write_line(line)
