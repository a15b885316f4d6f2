"""A pure, in-memory run of the hazard core over many hazards (the loop is engine/kernel/replay.py)."""

from __future__ import annotations

from typing import Any, ClassVar

from engine.decide.core import decide
from engine.kernel.outputs import Out
from engine.kernel.replay import CoreReplay, clock_entry

# clock_entry is the kernel's; named here as well because the hazard core's callers find it here.
__all__ = ["Replay", "clock_entry"]


class Replay(CoreReplay):
    """States of every hazard seen, and every output with the time it was sent."""

    kind: ClassVar[str] = "hazard"

    def decide(self, state: Any, entry: dict[str, Any], now: int | None) -> tuple[Any, list[Out]]:
        """The hazard core, on the state this replay holds and hands over."""
        return decide(state, entry, self.rules, now, owned=True)
