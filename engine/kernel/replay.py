"""A pure, in-memory run of one decision core over many subjects: a replay is just a loop.

Rule tests, property tests, the crash test's reference run and the demo's
summary use it. Clocks fire as `advance_to` moves time forward, exactly as the
worker's timer would publish them. A core's replay says only which decision
function it runs and the kind of subject it takes (engine/decide/replay.py,
engine/alerts/replay.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine.clocks.index import DeadlineIndex
from engine.kernel.apply import CLOCK_TYPE, Entry
from engine.kernel.ids import output_id
from engine.kernel.outputs import Out
from engine.kernel.time import iso


def clock_entry(subject: str, due: int, kind: str = "hazard") -> Entry:
    """The timeline entry a timer publishes when `subject` has a clock due at `due`."""
    return {"entry_id": output_id("clock-entry", subject, due), "subject": subject,
            "subject_kind": kind, "type": CLOCK_TYPE, "time": iso(due), "data": {"due": due}}


@dataclass
class CoreReplay:
    """States of every subject of one kind, and every output with the time it was sent."""

    rules: Any
    states: dict[str, Any] = field(default_factory=dict)
    outputs: list[tuple[int, Out]] = field(default_factory=list)
    now: int = 0
    index: DeadlineIndex = field(default_factory=DeadlineIndex)
    kind: ClassVar[str]

    def decide(self, state: Any, entry: Entry, now: int | None) -> tuple[Any, list[Out]]:
        """The core this replay runs. The replay hands its states over (`owned`): a state in
        `states` is replaced by the decision's, and an earlier one is not to be read again."""
        raise NotImplementedError

    def feed(self, entry: Entry, now: int | None = None) -> list[Out]:
        """Apply one timeline entry of this replay's kind; entries of other kinds are skipped."""
        if entry.get("subject_kind") != self.kind:
            return []
        subject = entry["subject"]
        state, outs = self.decide(self.states.get(subject), entry, now)
        self.states[subject] = state
        self.index.set(subject, state.next_due())
        self.outputs.extend((state.watermark, o) for o in outs)
        self.now = max(self.now, state.watermark)
        return outs

    def advance_to(self, t: int) -> None:
        """Fire every clock of every subject due at or before `t`, in time order."""
        while ready := self.index.pop_due(t, limit=1):
            when, subject = ready[0]
            self.feed(clock_entry(subject, when, self.kind))
        self.now = max(self.now, t)
