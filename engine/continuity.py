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
offset and skips the record in hand (it comes again, in order). When the same
jump comes again after a rewind, `CONFIRM` asks the agent to look at the
broker (`first_offset`): if records lie between after all (a stale copy of a
fetched batch arrived again, as a restart racing a seek once produced in the
crash test), it rewinds again; only if the broker has nothing there (a field
app's transaction markers take offsets) is the jump real, and the agent tells
Faust the offsets between may be committed (`engine.faust_fixes.add_gap`),
which Faust no longer assumes on its own. Guessing emptiness from a repeated
jump, as an earlier version did, let the crash test lose a report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import structlog
from aiokafka import TopicPartition

from engine.tools.kafka import reader

log = structlog.get_logger("engine.continuity")


class Verdict(Enum):
    """What to do with a record, given the offsets before it."""

    PROCESS = "process"
    REWIND = "rewind"  # records were skipped: seek back to `expected`, drop this one for now
    CONFIRM = "confirm"  # the same jump after a rewind: ask the broker whether anything lies between


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
        if self.rewound.get(tp) == jump:
            return Verdict.CONFIRM, want
        self.rewound[tp] = jump
        return Verdict.REWIND, want

    def gap(self, tp: Any, offset: int) -> None:
        """The broker holds nothing before `offset` since the expected one: take the jump."""
        self.rewound.pop(tp, None)
        self.expected[tp] = offset + 1


async def rewind(consumer: Any, tp: Any, expected: int, got: int) -> None:
    """Seek `tp` back to `expected`, so the skipped records are fetched again."""
    log.warning("offsets_skipped_rewinding", topic=tp.topic, partition=tp.partition,
                expected=expected, got=got, skipped=got - expected)
    await consumer.seek(tp, expected)


async def first_offset(bootstrap: str, auth: dict[str, Any], tp: Any, start: int,
                       timeout_s: float = 10.0) -> int | None:
    """The offset of the first record at or after `start` in `tp`, as the broker has it.

    A consumer of its own, without a group, so the agent's fetch position and
    buffers are left alone. None if nothing came within `timeout_s`.
    """
    consumer = reader(bootstrap, auth)
    await consumer.start()
    try:
        part = TopicPartition(tp.topic, tp.partition)
        consumer.assign([part])
        consumer.seek(part, start)
        batch = await consumer.getmany(part, timeout_ms=int(timeout_s * 1000), max_records=1)
        records = batch.get(part) or []
        return records[0].offset if records else None
    finally:
        await consumer.stop()
