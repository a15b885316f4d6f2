"""The compact state of one alert, kept in a table and rebuilt by replaying its timeline.

As for hazards (engine/decide/state.py), times are epoch seconds, the state
holds facts with their times, and the running clocks are derived from the
facts (clocks.py), so events that arrive out of order lead to the same state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine.alerts.grade import Figures
from engine.kernel.state import HistoryState, StoredHistory, entry_hash

__all__ = ["Alert", "entry_hash"]


@dataclass(slots=True)
class Alert(HistoryState):
    """Everything the alert rules need to know about one alert (突发事件警情)."""

    id: str
    opened: str | None = None  # event id of the raising; None: an orphan
    opened_at: int | None = None  # when it happened: the accident's time, every clock's origin
    kind: str | None = None
    location: dict[str, Any] | None = None  # the raising's location object
    description: str = ""
    crowded: bool = False
    post: str | None = None  # the post (A or B) it was raised at
    exercise: bool = False  # a drill (演练): CAP status Exercise
    enterprise: dict[str, Any] | None = None  # the enterprise where it happened (v2)
    # production_accident, non_production or natural_disaster: given at raising or derived (v2).
    incident_class: str | None = None
    # The latest figure reports (at most bounds.REPORTS_KEPT) in time order:
    # (time, event id, casualties, loss, to evacuate) (None: not given).
    reports: list[tuple[Any, ...]] = field(default_factory=list)
    # What the reports folded out of `reports` leave for the decisions (bounds.py); None: none folded.
    earlier: dict[str, Any] | None = None
    grade: str | None = None  # the accident grade held now
    level: str | None = None  # the response level activated now
    # Report level -> when first demanded (with downgrades allowed: the levels the grade as it stands
    # owes, from when each was demanded afresh, and those reported or missed; core._demand_as_graded).
    demanded: dict[str, int] = field(default_factory=dict)
    reported: dict[str, int] = field(default_factory=dict)  # report level -> when its authority acked
    missed: list[str] = field(default_factory=list)  # report levels whose clock ran out
    acked: list[Any] | None = None  # the responder's acknowledgement: [time, unit, event id]
    step: int = 0  # handover steps passed (skipped ones included)
    closed_at: int | None = None
    closed_by: str | None = None
    # CAP sent, the first and the latest only (bounds.py): (sequence, identifier, sent, type).
    caps: list[tuple[Any, ...]] = field(default_factory=list)
    waiting: list[list[Any]] = field(default_factory=list)  # before the raising: [time, event id, type]
    # Entries a field-app token limited to towns sent before the alert had a town, and those of
    # them applied, as for a Hazard (engine/kernel/scope.py; since format 16).
    parked: list[dict[str, Any]] = field(default_factory=list)
    held_applied: list[list[int]] = field(default_factory=list)
    clocks: dict[str, int] = field(default_factory=dict)  # clock name -> due (derived)
    applied: list[int] = field(default_factory=list)  # hashes of the latest APPLIED entries without a source
    # The records of each source partition whose entries it applied, as for a Hazard.
    applied_from: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    # Fingerprints of the latest field records applied (engine/kernel/copies.py; since format 8).
    seen: list[int] = field(default_factory=list)
    history: list[list[Any]] = field(default_factory=list)  # [time, event id, what]
    notified: bool = False  # the 493号令 art. 10 notifications went out (production accidents)
    routed: bool = False  # a non-production incident went to the town and the sector's department
    # Disaster reports (灾情报告) in time order, the latest few and the first final one (bounds.py):
    # (time, event id, report_kind, post).
    disaster_reports: list[tuple[Any, ...]] = field(default_factory=list)
    dstep: int = 0  # steps of the initial disaster report chain passed
    dmissed: list[int] = field(default_factory=list)  # daily (续报/零报告) due times that ran out
    final_missed: bool = False  # the final report (核报) clock ran out
    watermark: int = 0  # the latest time this state has been brought to
    history_stored: StoredHistory | None = None  # the history stored before, undecoded (as for a Hazard)
    applied_stored: bytes = b""  # the applied hashes stored before, not decoded (as for a Hazard)

    # What each place of a positional field means, as for a Hazard.
    NAMED: ClassVar[dict[str, tuple[str, tuple[str, ...]]]] = {
        "reports": ("many", ("time", "event_id", "casualties", "loss_cny", "to_evacuate")),
        "acked": ("one", ("time", "unit", "event_id")),
        "caps": ("many", ("sequence", "identifier", "sent", "msg_type")),
        "waiting": ("many", ("time", "event_id", "type")),
        "disaster_reports": ("many", ("time", "event_id", "report_kind", "post")),
    }

    def __post_init__(self) -> None:
        # A report, a CAP message or a disaster report, once recorded, never changes: kept as
        # tuples, the copy each decision makes of the state (engine/kernel/apply.py `clone`)
        # shares them instead of copying every field of every one.
        for name in ("reports", "caps", "disaster_reports"):
            rows = getattr(self, name)
            if rows and type(rows[0]) is not tuple:
                setattr(self, name, [tuple(r) for r in rows])

    def status(self) -> str:
        """orphan (not raised yet), open, acknowledged (a responder took it on) or closed."""
        if self.closed_at is not None:
            return "closed"
        if self.opened is None:
            return "orphan"
        return "acknowledged" if self.acked is not None else "open"

    def is_open(self) -> bool:
        """Raised and not closed."""
        return self.opened is not None and self.closed_at is None

    def open_at(self, t: int) -> bool:
        """Raised, and not closed by `t`: a clock that falls due at `t` runs out then. One due before
        the close had run out while the alert was open, even when the close reached the engine
        first; one due at the close's very second is stopped by it, as any act in time stops one."""
        return self.opened is not None and (self.closed_at is None or t < self.closed_at)

    def figures(self, until: int | None = None) -> Figures:
        """The latest figures, each field from the latest report giving it (up to `until`).

        Reports folded out of `reports` count through `earlier` (bounds.py): each
        field's latest folded value, when it was given at or before `until`.
        """
        casualties, loss, evacuate = _folded(self.earlier, until)
        for at, _, c, lo, ev in self.reports:
            if until is not None and at > until:
                break
            casualties = c if c is not None else casualties
            loss = lo if lo is not None else loss
            evacuate = ev if ev is not None else evacuate
        return Figures.of(casualties, loss, evacuate)

    def figures_by_time(self, until: int) -> list[tuple[int, Figures]]:
        """`figures(until=t)` for each kept report time t up to `until`, in one pass over the reports.

        Every folded report is older than every kept one, so each kept report time
        starts from the folded figures.
        """
        out: list[tuple[int, Figures]] = []
        casualties, loss, evacuate = _folded(self.earlier, None)
        for i, (at, _, c, lo, ev) in enumerate(self.reports):
            if at > until:
                break
            casualties = c if c is not None else casualties
            loss = lo if lo is not None else loss
            evacuate = ev if ev is not None else evacuate
            if i + 1 == len(self.reports) or self.reports[i + 1][0] != at:  # the last report at `at`
                out.append((at, Figures.of(casualties, loss, evacuate)))
        return out

    def town(self) -> str | None:
        """The town (镇/街道) id of the alert's location."""
        return self.location.get("town") if self.location else None


FIELDS = ("casualties", "loss_cny", "to_evacuate")  # a report's figures, as `earlier` names them


def _folded(earlier: dict[str, Any] | None, until: int | None) -> list[Any]:
    """The folded reports' latest value of each figure (given at or before `until`), or Nones."""
    if earlier is None:
        return [None, None, None]
    return [earlier.get(f) if until is None or earlier.get(f"{f}_at", until + 1) <= until else None
            for f in FIELDS]
