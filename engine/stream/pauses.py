"""The garbage collector's pauses: measured, and kept away from what a recovery built.

CPython's cyclic collector walks every object it tracks when it collects the
oldest generation. A worker keeps what its recovery built for as long as it
runs: the deadline index, the gauges' views, the feeds' place index, the
tables. With a million open hazards such a collection paused the worker for
0.19 to 0.41 s at a time (`python -m bench.clocks --burst`, 2026-12-01), and
no batch moves and no clock fires meanwhile.

A recovery runs inside `recovering()`: no cyclic collection while it reads
(each walked the tables read so far), then one collection, and every object
alive then goes into the permanent generation (`gc.freeze`), which no
collection walks. Those objects are still freed by reference counting when a
later recovery drops them; the next recovery's collection thaws them first, so
a reference cycle among them does not outlive them either.

While the worker runs, a young collection waits for YOUNG new objects, not
CPython's 700. A decision allocates hundreds of short-lived dicts and lists
(a state's doc, its outputs, the entries), nearly all freed by reference
counting within the batch; at 700 the collector ran every few events, and
every tenth of those walked the middle generation, every hundredth the whole
heap. In process, the runtime's stages over the workload's first 20,000
events in batches of 300 spent 0.76-0.98 s in the collector at 700 and
0.13-0.15 s at YOUNG (of about 5 s); a worker fed 1,400 events a second
spent 1.0-1.1 s of every 25 in it, and 0.08-0.15 s (docs/benchmarks.md).
A young collection at YOUNG walks at most that many objects, about 2 ms.

The pauses themselves are a histogram on the engine's registry,
`hazard_gc_pause_seconds{generation}`: the callback that times them only adds
to plain integers, no lock taken inside the collector, and the registry reads
them when scraped.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
GENERATIONS = 3
YOUNG = 10_000  # new objects before a young collection, while started (CPython's default: 700)


class Pauses(Collector):
    """The collector's pauses per generation, as a Prometheus histogram, between `start` and `stop`.

    The thresholds are the process's: with several started at once (two workers
    in one test process), the first to start sets them and the last to stop puts
    back what the first found, in whatever order they stop.
    """

    _running = 0  # started and not stopped, in this process
    _before: tuple[int, ...] = ()  # the thresholds the first of them found

    def __init__(self) -> None:
        self.counts = [[0] * (len(BUCKETS) + 1) for _ in range(GENERATIONS)]  # the last: past all
        self.sums = [0.0] * GENERATIONS
        self._started = 0.0
        self._on = False

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        generation = info["generation"]
        self.counts[generation][bisect.bisect_left(BUCKETS, took)] += 1
        self.sums[generation] += took

    def start(self) -> None:
        """Time every collection from now on, and collect the young generation every YOUNG new
        objects (the callback and the thresholds are the process's: see the class)."""
        if self._on:
            return
        self._on = True
        gc.callbacks.append(self._callback)
        if Pauses._running == 0:
            Pauses._before = gc.get_threshold()
            gc.set_threshold(YOUNG, *Pauses._before[1:])
        Pauses._running += 1

    def stop(self) -> None:
        """Stop timing collections; the last of the started to stop puts the thresholds back."""
        if not self._on:
            return
        self._on = False
        gc.callbacks.remove(self._callback)
        Pauses._running -= 1
        if Pauses._running == 0:
            gc.set_threshold(*Pauses._before)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(
            "hazard_gc_pause_seconds", "Pauses of Python's cyclic garbage collector, by the "
            "generation it collected (2: the oldest). What a recovery built is frozen out of them.",
            labels=["generation"])
        for generation in range(GENERATIONS):
            running, buckets = 0, []
            for bound, count in zip((*map(str, BUCKETS), "+Inf"), self.counts[generation], strict=True):
                running += count
                buckets.append((bound, running))
            family.add_metric([str(generation)], buckets, self.sums[generation])
        yield family


@dataclass(slots=True)
class Settled:
    """What `recovering` did when the recovery ended: objects frozen, and the seconds it took."""

    frozen: int = 0
    seconds: float = 0.0


@contextlib.contextmanager
def recovering() -> Iterator[Settled]:
    """No cyclic collection while a recovery reads its tables; at its end one, then a freeze.

    Each full collection during a recovery walked the tables read so far: 32 of
    them took 3.1 s of a million hazards' recovery (bench.clocks, 2026-12-01).
    Reference counting still frees what the recovery drops; only cycles wait for
    the one collection at the end, which also collects what an earlier recovery
    froze (thawed first), so that a cycle among it does not outlive it. Then
    everything alive is frozen (`gc.freeze`). A recovery that fails freezes
    nothing; the collector runs again either way.
    """
    enabled = gc.isenabled()
    gc.disable()
    settled = Settled()
    try:
        yield settled
        started = time.perf_counter()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        settled.frozen, settled.seconds = gc.get_freeze_count(), time.perf_counter() - started
    finally:
        if enabled:
            gc.enable()
