"""A pure, in-memory run of the alert core over many alerts (the loop is engine/kernel/replay.py)."""

from __future__ import annotations

from typing import Any, ClassVar

from engine.alerts.core import decide_alert
from engine.kernel.outputs import Out
from engine.kernel.replay import CoreReplay, clock_entry


def alert_clock_entry(subject: str, due: int) -> dict[str, Any]:
    """The timeline entry a timer publishes when alert `subject` has a clock due at `due`."""
    return clock_entry(subject, due, "alert")


class AlertReplay(CoreReplay):
    """States of every alert seen, and every output with the time it was sent."""

    kind: ClassVar[str] = "alert"

    def decide(self, state: Any, entry: dict[str, Any], now: int | None) -> tuple[Any, list[Out]]:
        """The alert core, on the state this replay holds and hands over."""
        return decide_alert(state, entry, self.rules, now, owned=True)
