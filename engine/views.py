"""What a worker derives from its stored states: the deadline index, the gauges, the feeds' index.

Both runtimes store a new state and rebuild after a recovery the same way:
the state is packed with its next due time and (for a hazard) the gauges'
view in its header, and a recovery reads those headers back instead of
decoding every state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog

from engine.clocks import DeadlineIndex
from engine.cores import Core
from engine.feeds.index import Place, PlaceIndex
from engine.kernel.targets import lead_department
from engine.metrics import AlertGauges, EnterpriseGauges, GaugeView, HazardGauges
from engine.store import header, pack

log = structlog.get_logger("engine.views")
_UNSEEN: Any = object()  # a view or place not decoded yet (None is one that does not read)


@dataclass
class Collected:
    """One kind's stored states read for `Derived.install`: due times, gauge views, places, and
    the alerts and files whose gauges count whole states."""

    dues: list[tuple[str, int | None]] = field(default_factory=list)
    views: list[tuple[str, GaugeView]] = field(default_factory=list)
    places: list[tuple[str, Place]] = field(default_factory=list)
    alerts: list[Any] = field(default_factory=list)
    files: list[Any] = field(default_factory=list)
    seconds: float = 0.0
    # Built from the lists above where they were collected, off the event loop: `install` only
    # puts their contents in place (a million hazards: 6 s of building, which on the loop held
    # the consumer's heartbeats).
    index: DeadlineIndex = field(default_factory=DeadlineIndex)
    place_index: PlaceIndex = field(default_factory=PlaceIndex)
    gauges: HazardGauges | None = None


@dataclass
class Derived:
    """The deadline indices and the gauges of one worker, kept in step with its tables."""

    cores: dict[str, Core]
    indices: dict[str, DeadlineIndex]
    gauges: HazardGauges
    alert_gauges: AlertGauges
    rules_version: str
    places: dict[str, PlaceIndex] = field(default_factory=dict)  # what the feeds' lists read
    enterprise_gauges: EnterpriseGauges | None = None  # None: enterprises are not counted

    @classmethod
    def build(cls, cores: dict[str, Core], rules: Any, now: Callable[[], float],
              enterprises: bool = True) -> Derived:
        """Empty indices and gauges for `cores`, as a worker starts with: a deadline index per
        kind, the hazards' gauges by their lead department, the enterprises' counted unless not
        `enterprises`; the gauges read the time from `now`."""
        return cls(cores, {kind: DeadlineIndex() for kind in cores},
                   HazardGauges(lambda h: lead_department(h, rules), now), AlertGauges(), rules.version,
                   enterprise_gauges=EnterpriseGauges(rules.reference, now) if enterprises else None)

    def place_index(self, kind: str) -> PlaceIndex:
        """The feeds' index of one kind of subject (engine/feeds/index.py)."""
        index = self.places.get(kind)
        if index is None:  # not setdefault: that would build an empty index on every store
            index = self.places[kind] = PlaceIndex()
        return index

    def store(self, kind: str, new: Any, chunks: dict[int, bytes] | None = None) -> bytes:
        """The bytes to store for a subject's new state; its clock, gauges and place follow it.

        `chunks` collects the history chunks to write apart (`engine.store.pack`).
        """
        place = self.cores[kind].place(new)
        if kind == "hazard":
            view = self.gauges.view(new)
            packed = pack(new, view.encode(self.rules_version), place.encode(self.rules_version),
                          chunks)
            self.gauges.put(new.id, view)
        else:
            packed = pack(new, chunks=chunks)
            if kind == "alert":
                self.alert_gauges.update(new)
            elif kind == "enterprise" and self.enterprise_gauges is not None:
                self.enterprise_gauges.update(new)
        self.indices[kind].set(new.id, new.next_due())
        self.place_index(kind).put(new.id, place)
        return packed

    def place_of(self, kind: str, raw: bytes) -> Place:
        """Where a stored state stands for the feeds: from its header if it has one, else decoded."""
        if kind == "hazard":
            where = header(raw)[2]
            place = Place.decode(where, self.rules_version) if where is not None else None
            if place is not None:
                return place
        core = self.cores[kind]
        return core.place(core.decode(raw))

    def rebuild(self, kind: str, stored: Iterable[tuple[bytes, bytes]]) -> None:
        """The index and gauges of one kind afresh from its stored (key, bytes), in one pass."""
        self.install(kind, self.collect(kind, stored))

    def collect(self, kind: str, stored: Iterable[tuple[bytes, bytes]]) -> Collected:
        """What `install` puts in place, read from the stored states; changes nothing shared.

        A million hazards take half a minute here, so the runtime calls this in a thread:
        on the event loop it would starve the consumer's heartbeats, and the group would
        take the partitions away before the worker is ready (and again at every try).
        """
        started = time.perf_counter()
        out = Collected()
        core, version = self.cores[kind], self.rules_version
        # Hazards due on the same day in the same town, sector and tier store the same view and
        # place: each distinct one is decoded once (a million hazards: tens of thousands), and
        # the hazards share the (frozen) object.
        views: dict[bytes, GaugeView | None] = {}
        places: dict[bytes, Place | None] = {}
        for key, raw in stored:  # headers, not states, where possible
            subject = key.decode()
            due, summary, where = header(raw)
            out.dues.append((subject, due))
            if kind != "hazard":
                state = core.decode(raw)
                if kind == "alert":
                    out.alerts.append(state)
                elif kind == "enterprise":
                    out.files.append(state)
                out.places.append((subject, core.place(state)))
                continue
            # The stored view and place, unless they predate these rules (or their part of the header).
            view = place = None
            if summary is not None:
                view = views.get(summary, _UNSEEN)
                if view is _UNSEEN:
                    view = views[summary] = GaugeView.decode(summary, version)
            if where is not None:
                place = places.get(where, _UNSEEN)
                if place is _UNSEEN:
                    place = places[where] = Place.decode(where, version)
            state = core.decode(raw) if view is None or place is None else None
            out.views.append((subject, view or self.gauges.view(state)))
            out.places.append((subject, place or core.place(state)))
        out.index.rebuild(out.dues)
        out.place_index.rebuild(out.places)
        if kind == "hazard":
            out.gauges = self.gauges.fresh()
            out.gauges.reset(out.views)
        out.dues, out.views, out.places = [], [], []
        out.seconds = time.perf_counter() - started
        return out

    def install(self, kind: str, collected: Collected) -> None:
        """Replace the index, the feeds' places and the gauges of one kind with what was collected."""
        started = time.perf_counter()
        self.indices[kind].take(collected.index)
        self.place_index(kind).take(collected.place_index)
        if collected.gauges is not None:
            self.gauges.take(collected.gauges)
        elif kind == "alert":
            self.alert_gauges.reset(collected.alerts)
        elif kind == "enterprise" and self.enterprise_gauges is not None:
            self.enterprise_gauges.reset(collected.files)
        installed = time.perf_counter() - started
        log.info("deadline_index_rebuilt", kind=kind, subjects=len(self.indices[kind]),
                 seconds=round(collected.seconds + installed, 3), install_seconds=round(installed, 3))
