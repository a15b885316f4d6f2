"""What a worker derives from its stored states: the deadline index and the gauges.

Both runtimes store a new state and rebuild after a recovery the same way:
the state is packed with its next due time and (for a hazard) the gauges'
view in its header, and a recovery reads those headers back instead of
decoding every state.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import structlog

from engine.clocks import DeadlineIndex
from engine.cores import Core
from engine.metrics import AlertGauges, GaugeView, HazardGauges
from engine.store import header, pack

log = structlog.get_logger("engine.views")


@dataclass
class Derived:
    """The deadline indices and the gauges of one worker, kept in step with its tables."""

    cores: dict[str, Core]
    indices: dict[str, DeadlineIndex]
    gauges: HazardGauges
    alert_gauges: AlertGauges
    rules_version: str

    def store(self, kind: str, new: Any) -> bytes:
        """The bytes to store for a subject's new state; its clock and gauges follow it."""
        if kind == "hazard":
            view = self.gauges.view(new)
            packed = pack(new, view.encode(self.rules_version))
            self.gauges.put(new.id, view)
        else:
            packed = pack(new)
            self.alert_gauges.update(new)
        self.indices[kind].set(new.id, new.next_due())
        return packed

    def rebuild(self, kind: str, stored: Iterable[tuple[bytes, bytes]]) -> None:
        """The index and gauges of one kind afresh from its stored (key, bytes), in one pass."""
        started = time.perf_counter()
        dues: list[tuple[str, int | None]] = []
        views: list[tuple[str, GaugeView]] = []
        alerts = []
        core = self.cores[kind]
        for key, raw in stored:  # a million hazards take a while: headers, not states, where possible
            subject = key.decode()
            due, summary = header(raw)
            dues.append((subject, due))
            if kind != "hazard":
                alerts.append(core.decode(raw))
            else:  # the stored view, unless it predates these rules (or views in headers)
                view = GaugeView.decode(summary, self.rules_version) if summary is not None else None
                views.append((subject, view or self.gauges.view(core.decode(raw))))
        self.indices[kind].rebuild(dues)
        if kind == "hazard":
            self.gauges.reset(views)
        else:
            self.alert_gauges.reset(alerts)
        log.info("deadline_index_rebuilt", kind=kind, subjects=len(self.indices[kind]),
                 seconds=round(time.perf_counter() - started, 3))
