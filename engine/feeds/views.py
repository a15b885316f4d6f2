"""JSON-ready views of hazards and alerts, and the `StateSource` protocol the feeds read them through.

The feeds never see a table: they read a StateSource, so the alerts
table plugs in the same way as the hazards table, and tests pass plain dicts.
Every view carries `id`, `town` and `departments` (the department ids it
concerns), which is what access control and the filters look at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any, Protocol

from engine.decide.clocks import WITHDRAWN
from engine.decide.state import Hazard
from engine.feeds.filters import Filters, item_visible
from engine.feeds.index import Indices, Place, PlaceIndex
from engine.feeds.share import LoopShare
from engine.feeds.tokens import Scope
from engine.kernel.referral import released
from engine.kernel.targets import lead_department
from engine.kernel.time import iso
from engine.ruleset import Rules
from engine.store import unpack

SCAN_CHUNK = 2_000  # index entries looked at in one turn of the feeds (engine/feeds/share.py)
DECODE_CHUNK = 20  # states decoded in one turn (about 1 ms)


class StateSource(Protocol):
    """Read access to one kind of state, as JSON-ready views."""

    def get(self, id_: str) -> dict[str, Any] | None:
        """The view of one item, or None when unknown."""

    def place(self, id_: str) -> Place | None:
        """Where one item stands (town, departments, overdue), without decoding it; None if unknown."""

    async def page(self, scope: Scope, filters: Filters, overdue: bool | None, after: str | None,
                   limit: int, now: float, share: LoopShare) -> tuple[list[dict[str, Any]], str | None]:
        """Up to `limit` visible items in id order after `after`, and the id to go on after."""


class TableSource:
    """A StateSource over a table of raw bytes keyed by id bytes, and the index of its places."""

    # How many changelog records the copy it reads of other workers' partitions has not applied
    # yet (engine/stream/replica.py); None when it reads only the worker's own tables.
    behind: Callable[[], int] | None = None

    def __init__(self, table: Mapping[bytes, bytes], view: Callable[[bytes], dict[str, Any] | None],
                 index: PlaceIndex | Indices) -> None:
        self.table, self.view, self.index = table, view, index

    def get(self, id_: str) -> dict[str, Any] | None:
        """The view of one item, or None when unknown."""
        try:
            raw = self.table.get(id_.encode("utf-8"))
        except UnicodeEncodeError:  # an id from a path can hold what no stored key does
            return None
        return self.view(raw) if raw else None

    def place(self, id_: str) -> Place | None:
        """Where one item stands, from the index."""
        return self.index.get(id_)

    def items(self) -> Iterator[dict[str, Any]]:
        """Views of every item this worker holds (tools and tests; the feeds page instead)."""
        for raw in list(self.table.values()):  # a copy: the agent may write meanwhile
            if raw and (view := self.view(raw)) is not None:
                yield view

    async def page(self, scope: Scope, filters: Filters, overdue: bool | None, after: str | None,
                   limit: int, now: float, share: LoopShare) -> tuple[list[dict[str, Any]], str | None]:
        """Up to `limit` visible items after `after`: the index picks them, only they are decoded.

        Both steps run in chunks within the feeds' share of the event loop, so
        a long list never holds up the processing of events.
        """
        found: list[str] = []
        position = after
        while len(found) <= limit:
            ids, position = await share.run(partial(self.index.scan, scope, filters, overdue, now,
                                                    position, SCAN_CHUNK))
            found.extend(ids)
            if position is None:
                break
        items = []
        chosen = found[:limit]
        for start in range(0, len(chosen), DECODE_CHUNK):
            views = await share.run(partial(self._views, chosen[start:start + DECODE_CHUNK]))
            # Re-checked: the state may have changed while other work had its turn.
            items += [v for v in views if v is not None and item_visible(v, filters, scope, overdue)]
        return items, (found[limit - 1] if len(found) > limit else None)

    def _views(self, ids: list[str]) -> list[dict[str, Any] | None]:
        return [self.get(id_) for id_ in ids]


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
        "closed_at": iso(h.closed_at), "referrals": [r for r in h.referred if not r.startswith(WITHDRAWN)],
        # Referrals withdrawn since (a record showed the duty done in time), and those waiting out
        # the rules' hold for such a record before they are sent.
        "referrals_withdrawn": [r.removeprefix(WITHDRAWN) for r in h.referred if r.startswith(WITHDRAWN)],
        "referrals_held": [{"ground": held[0], "until": iso(released(held[1], rules))} for held in h.held],
        "location": {"town": h.town, "lat": h.point[0], "lon": h.point[1]} if h.point else {"town": h.town},
        "clocks": [{"name": name, "due": iso(due)}
                   for name, due in sorted(h.clocks.items(), key=lambda kv: kv[1])],
        # In time order: events from offline apps arrive late, and history is kept in arrival order.
        "record": [{"time": iso(t), "event_id": e, "what": w}
                   for t, e, w in sorted(h.timeline(), key=lambda item: item[0])],
    }


def hazard_source(table: Mapping[bytes, bytes], rules: Rules, now: Callable[[], float],
                  index: PlaceIndex | Indices, history: Mapping[bytes, bytes] | None = None) -> TableSource:
    """The hazards table (values as `engine.store.pack` writes them) as a StateSource.

    `history` is the hazards' history table, where their timelines' chunks are.
    """
    return TableSource(table, lambda raw: hazard_view(unpack(raw, history=history), rules, now()), index)


def alert_view(a: Any, now: float) -> dict[str, Any]:
    """An alert's state for a supervisor (`a` is an `engine.alerts.Alert`)."""
    from engine.alerts.capdoc import sent as cap_sent  # only workers that run the alert rules need it

    timeline = a.timeline()
    return {
        "kind": "alert", "id": a.id, "status": a.status(), "alert_kind": a.kind,
        "town": a.town(), "departments": [], "grade": a.grade, "response_level": a.level,
        "exercise": a.exercise, "opened_at": iso(a.opened_at), "closed_at": iso(a.closed_at),
        # An alert is overdue when one of its report clocks ran out.
        "overdue": bool(a.missed), "missed_reports": list(a.missed),
        # Who holds it: the unit that acknowledged it, else the post (A or B) it was raised at.
        "post": a.post, "held_by": a.acked[1] if a.acked else None, "handover_step": a.step,
        "location": a.location,
        "reports": [{"level": level, "demanded": iso(at), "reported": iso(a.reported.get(level))}
                    for level, at in sorted(a.demanded.items(), key=lambda kv: kv[1])],
        # Every CAP message sent: the state keeps the first and the latest, the history all of them.
        "caps": [{"sequence": seq, "identifier": ident, "sent": iso(sent), "msg_type": kind}
                 for seq, ident, sent, kind in cap_sent(timeline, a.caps)],
        "clocks": [{"name": name, "due": iso(due)}
                   for name, due in sorted(a.clocks.items(), key=lambda kv: kv[1])],
        "record": [{"time": iso(t), "event_id": e, "what": w}
                   for t, e, w in sorted(timeline, key=lambda item: item[0])],
    }


def alert_source(table: Mapping[bytes, bytes], now: Callable[[], float],
                 index: PlaceIndex | Indices, history: Mapping[bytes, bytes] | None = None) -> TableSource:
    """The alerts table (values as `engine.store.pack` writes them) as a StateSource, with its
    history table as for hazards."""
    from engine.alerts import Alert  # only workers that run the alert rules need it

    return TableSource(table, lambda raw: alert_view(unpack(raw, Alert, history=history), now()), index)
