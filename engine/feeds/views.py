"""JSON-ready views of hazards and alerts, and the `StateSource` protocol the feeds read them through.

The feeds never see a table: they read a StateSource, so the alerts
table plugs in the same way as the hazards table, and tests pass plain dicts.
Every view carries `id`, `town` and `departments` (the department ids it
concerns), which is what access control and the filters look at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from engine.decide.emit import iso, lead_department
from engine.decide.state import Hazard
from engine.ruleset import Rules
from engine.store import unpack


class StateSource(Protocol):
    """Read access to one kind of state, as JSON-ready views."""

    def get(self, id_: str) -> dict[str, Any] | None:
        """The view of one item, or None when unknown."""

    def items(self) -> Iterable[dict[str, Any]]:
        """Views of every item (in no particular order)."""


class TableSource:
    """A StateSource over a table (or any mapping) of raw bytes keyed by id bytes."""

    def __init__(self, table: Mapping[bytes, bytes], view: Callable[[bytes], dict[str, Any] | None]
                 ) -> None:
        self.table, self.view = table, view

    def get(self, id_: str) -> dict[str, Any] | None:
        """The view of one item, or None when unknown."""
        raw = self.table.get(id_.encode("utf-8"))
        return self.view(raw) if raw else None

    def items(self) -> Iterator[dict[str, Any]]:
        """Views of every item this worker holds."""
        for raw in list(self.table.values()):  # a copy: the agent may write meanwhile
            if raw and (view := self.view(raw)) is not None:
                yield view


def hazard_view(h: Hazard, rules: Rules, now: float) -> dict[str, Any]:
    """A hazard's state for a supervisor: where it stands, its clocks and its record."""
    lead = lead_department(h, rules)
    listed = None
    if h.listed:
        notice_no, listed_at, deadline, active = h.listed
        listed = {"notice_no": notice_no, "listed_at": iso(listed_at), "deadline": iso(deadline),
                  "active": bool(active)}
    return {
        "kind": "hazard", "id": h.id, "status": h.status(), "title": h.title,
        "tier": h.tier, "grade": h.grade or h.claimed, "town": h.town, "sector": h.sector,
        "lead_department": lead, "departments": [lead] if lead else [],
        "enterprise": {"uscc": h.enterprise[0], "name": h.enterprise[1]} if h.enterprise else None,
        "reported_at": iso(h.opened_at), "deadline": iso(h.deadline), "approximate": h.approx,
        "overdue": h.overdue(int(now)), "cycle": h.cycle, "listed": listed,
        "closed_at": iso(h.closed_at),
        "clocks": [{"name": name, "due": iso(due)}
                   for name, due in sorted(h.clocks.items(), key=lambda kv: kv[1])],
        # In time order: events from offline apps arrive late, and history is kept in arrival order.
        "record": [{"time": iso(t), "event_id": e, "what": w}
                   for t, e, w in sorted(h.history, key=lambda item: item[0])],
    }


def hazard_source(table: Mapping[bytes, bytes], rules: Rules, now: Callable[[], float]) -> TableSource:
    """The hazards table (values as `engine.store.pack` writes them) as a StateSource."""
    return TableSource(table, lambda raw: hazard_view(unpack(raw), rules, now()))


def alert_view(a: Any, now: float) -> dict[str, Any]:
    """An alert's state for a supervisor (`a` is an `engine.alerts.Alert`)."""
    return {
        "kind": "alert", "id": a.id, "status": a.status(), "alert_kind": a.kind,
        "town": a.town(), "departments": [], "grade": a.grade, "response_level": a.level,
        "exercise": a.exercise, "opened_at": iso(a.opened_at), "closed_at": iso(a.closed_at),
        # An alert is overdue when one of its report clocks ran out.
        "overdue": bool(a.missed), "missed_reports": list(a.missed),
        "clocks": [{"name": name, "due": iso(due)}
                   for name, due in sorted(a.clocks.items(), key=lambda kv: kv[1])],
        "record": [{"time": iso(t), "event_id": e, "what": w}
                   for t, e, w in sorted(a.history, key=lambda item: item[0])],
    }


def alert_source(table: Mapping[bytes, bytes], now: Callable[[], float]) -> TableSource:
    """The alerts table (values as `engine.store.pack` writes them) as a StateSource."""
    from engine.alerts import Alert  # only workers that run the alert rules need it

    return TableSource(table, lambda raw: alert_view(unpack(raw, Alert), now()))
