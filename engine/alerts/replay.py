"""A pure, in-memory run of the alert core over many alerts, as engine/decide/replay.py is for hazards.

Rule tests and unit tests use it; clocks fire as `advance_to` moves time
forward, exactly as the worker's timer would publish them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.alerts.core import decide_alert
from engine.alerts.rules import AlertRules
from engine.alerts.state import Alert
from engine.clocks.index import DeadlineIndex
from engine.decide.emit import Out
from engine.decide.replay import clock_entry


def alert_clock_entry(subject: str, due: int) -> dict[str, Any]:
    """The timeline entry a timer publishes when alert `subject` has a clock due at `due`."""
    return {**clock_entry(subject, due), "subject_kind": "alert"}


@dataclass
class AlertReplay:
    """States of every alert seen, and every output with the time it was sent."""

    rules: AlertRules
    states: dict[str, Alert] = field(default_factory=dict)
    outputs: list[tuple[int, Out]] = field(default_factory=list)
    now: int = 0
    index: DeadlineIndex = field(default_factory=DeadlineIndex)

    def feed(self, entry: dict[str, Any], now: int | None = None) -> list[Out]:
        """Apply one timeline entry (alert entries only; others are not this core's business)."""
        if entry.get("subject_kind") != "alert":
            return []
        subject = entry["subject"]
        state, outs = decide_alert(self.states.get(subject), entry, self.rules, now)
        self.states[subject] = state
        self.index.set(subject, state.next_due())
        self.outputs.extend((state.watermark, o) for o in outs)
        self.now = max(self.now, state.watermark)
        return outs

    def advance_to(self, t: int) -> None:
        """Fire every clock of every alert due at or before `t`, in time order."""
        while ready := self.index.pop_due(t, limit=1):
            when, subject = ready[0]
            self.feed(alert_clock_entry(subject, when))
        self.now = max(self.now, t)
