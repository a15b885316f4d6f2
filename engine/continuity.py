"""Notices when an agent's stream skips offsets, so the skipped records are read, not lost.

Offsets of the engine's topics are contiguous: nothing is compacted, and the
engine does not produce in transactions. A record an agent receives at offset
N+2 right after N means N+1 was fetched and dropped on the way (Faust can drop
a fetched batch when recovery or a rebalance interrupts it), and Faust, which
reads the jump as a compaction gap, would commit past N+1. The fault suite
caught that once in ten SIGKILLs.

`Continuity.check` is the pure decision: per partition it remembers the
highest offset handled since the last assignment, and says what to do with
the next one. The agent then, on `REWIND`, seeks back to the first missing
offset and skips the record in hand (it comes again, in order). A jump that
persists after one rewind is real (a field app's transaction markers take
offsets too): `GAP` says so, and the agent tells Faust the offsets between may
be committed (`engine.faust_fixes.add_gap`), which Faust no longer assumes on
its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import structlog

log = structlog.get_logger("engine.continuity")


class Verdict(Enum):
    """What to do with a record, given the offsets before it."""

    PROCESS = "process"
    REWIND = "rewind"  # records were skipped: seek back to `expected`, drop this one for now
    GAP = "gap"  # the jump persisted after a rewind: no records lie between; process this one


@dataclass
class Continuity:
    """Per partition, the next offset an agent should see."""

    expected: dict[Any, int] = field(default_factory=dict)
    rewound: dict[Any, tuple[int, int]] = field(default_factory=dict)  # the jump last rewound

    def reset(self, starts: dict[Any, int] | None = None) -> None:
        """Forget what was seen: partitions were (re)assigned. `starts` are known next offsets."""
        self.expected = dict(starts or {})
        self.rewound.clear()

    def start(self, tp: Any, offset: int) -> None:
        """Set where a partition starts (its committed offset), unless it has started."""
        self.expected.setdefault(tp, offset)

    def check(self, tp: Any, offset: int) -> tuple[Verdict, int]:
        """The verdict on the record at `offset`, and the offset expected before it."""
        want = self.expected.get(tp)
        if want is None or offset <= want:  # unknown start, in order, or a re-delivery
            if offset == want:
                self.rewound.pop(tp, None)  # the skipped records are coming: the rewind worked
            self.expected[tp] = max(want or 0, offset + 1)
            return Verdict.PROCESS, offset if want is None else want
        jump = (want, offset)
        if self.rewound.get(tp) == jump:  # the same jump after a rewind: nothing lies between
            del self.rewound[tp]
            self.expected[tp] = offset + 1
            return Verdict.GAP, want
        self.rewound[tp] = jump
        return Verdict.REWIND, want


async def rewind(consumer: Any, tp: Any, expected: int, got: int) -> None:
    """Seek `tp` back to `expected`, so the skipped records are fetched again."""
    log.warning("offsets_skipped_rewinding", topic=tp.topic, partition=tp.partition,
                expected=expected, got=got, skipped=got - expected)
    await consumer.seek(tp, expected)
