"""The time the timer goes by: the system clock, or a scaled one for tests and the demo.

A scaled clock maps real time to simulated time from a fixed anchor, so a
worker restarted mid-run continues the same simulated timeline. It can stop at
an end instant, so a run can be compared with a reference run up to that point.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class TimeSource(Protocol):
    """Anything that says what time it is, in epoch seconds."""

    def now(self) -> float: ...

    def at(self, real: float) -> float:
        """The time this source gave, or will give, at the real epoch instant `real`."""
        ...


class SystemTime:
    """The machine's clock."""

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def at(self, real: float) -> float:
        """The machine's clock is real time."""
        return real


@dataclass(frozen=True, slots=True)
class ScaledTime:
    """Simulated time: `start` at real instant `anchor`, running `rate` times as fast, up to `end`."""

    start: float
    anchor: float
    rate: float = 1.0
    end: float | None = None

    def now(self) -> float:
        """The simulated instant that corresponds to now."""
        return self.at(time.time())

    def at(self, real: float) -> float:
        """The simulated instant that corresponds to the real instant `real`."""
        t = self.start + (real - self.anchor) * self.rate
        return min(t, self.end) if self.end is not None else t

    def real_time_of(self, simulated: float) -> float:
        """When, in real epoch seconds, the simulated instant comes."""
        return self.anchor + (simulated - self.start) / self.rate


def time_source(start: datetime | None, anchor: float | None, rate: float,
                end: datetime | None) -> TimeSource:
    """The system clock, or a scaled clock when a simulated start is given."""
    if start is None:
        return SystemTime()
    return ScaledTime(start.timestamp(), anchor if anchor is not None else time.time(), rate,
                      end.timestamp() if end is not None else None)


def from_settings(settings: Any) -> TimeSource:
    """The time source an engine.settings.Settings names (HAZARD_CLOCK_*): the worker's and the tools'."""
    return time_source(settings.clock_start, settings.clock_anchor, settings.clock_rate, settings.clock_end)
