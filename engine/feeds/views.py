"""JSON-ready views of hazards and alerts, and the `StateSource` protocol the feeds read them through.

The feeds never see a table: they read a StateSource, so the alerts
table plugs in the same way as the hazards table, and tests pass plain dicts.
Every view carries `id`, `town` and `departments` (the department ids it
concerns), which is what access control and the filters look at.

A view has its record (the steps of 三项制度) only when one item is asked for, and
then one page of it (`RecordPage`): a list or the board's numbers never read a
history, and a record a field app filled with tens of thousands of steps costs
one page's work, not the whole record's, on the worker's event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any, Protocol

from engine.decide import proposals
from engine.decide.clocks import WITHDRAWN, referral_respondents
from engine.decide.state import Hazard
from engine.feeds.filters import Filters, RecordPage, item_visible
from engine.feeds.index import Indices, Place, PlaceIndex, alert_departments
from engine.feeds.share import LoopShare
from engine.feeds.tokens import Scope
from engine.kernel.referral import released
from engine.kernel.targets import lead_department
from engine.kernel.time import iso
from engine.reference import Reference
from engine.ruleset import Rules
from engine.store import unpack
from engine.zh.words import Words

SCAN_CHUNK = 2_000  # index entries looked at in one turn of the feeds (engine/feeds/share.py)
DECODE_CHUNK = 20  # states decoded in one turn (about 1 ms)


def record_page(timeline: Sequence[Sequence[Any]], page: RecordPage, words: Words | None) -> dict[str, Any]:
    """One page of a record: its steps in time order (events from offline apps arrive late, and
    history is kept in arrival order), each with its sentence in Chinese where the shape is known
    (`what_zh`, in `words`' names); how many steps the record has; the position of the page's
    first step, which is the `before` of the page ahead of it (nothing is ahead of position 0); and
    the time of the record's earliest step, on whatever page it is.

    A step that arrives late with an earlier time than the page's moves the later steps one
    position on: a reader paging back may then see one step twice, never miss one."""
    steps = sorted(timeline, key=lambda item: item[0])
    end = len(steps) if page.before is None else min(page.before, len(steps))
    first = max(0, end - page.limit)
    shown = steps[first:end]
    # A step may hold more after its words (an enterprise file's: the hazard it concerns).
    return {"record": ([words.timeline_item(t, e, w) for t, e, w, *_ in shown] if words is not None
                       else [{"time": iso(t), "event_id": e, "what": w} for t, e, w, *_ in shown]),
            "record_total": len(steps), "record_first": first,
            "record_began": iso(steps[0][0]) if steps else None}


class StateSource(Protocol):
    """Read access to one kind of state, as JSON-ready views."""

    def get(self, id_: str, record: RecordPage | None = None,
            scope: Scope | None = None) -> dict[str, Any] | None:
        """The view of one item, with that page of its record, as `scope` may see it (an enterprise's
        file is limited to what concerns the scope's towns; None: as a district-wide viewer sees
        it); None when unknown."""

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

    def __init__(self, table: Mapping[bytes, bytes],
                 view: Callable[..., dict[str, Any] | None],
                 index: PlaceIndex | Indices, *, scoped: bool = False) -> None:
        """`view` makes an item's view of its stored bytes and a record page; `scoped`: it also takes
        the scope asking, and limits the view to what that scope may see (an enterprise's file)."""
        self.table, self.view, self.index, self.scoped = table, view, index, scoped

    def get(self, id_: str, record: RecordPage | None = None,
            scope: Scope | None = None) -> dict[str, Any] | None:
        """The view of one item, with that page of its record (none without), as `scope` may see it
        when the view is scoped; None when unknown."""
        try:
            raw = self.table.get(id_.encode("utf-8"))
        except UnicodeEncodeError:  # an id from a path can hold what no stored key does
            return None
        if not raw:
            return None
        return self.view(raw, record, scope) if self.scoped else self.view(raw, record)

    def place(self, id_: str) -> Place | None:
        """Where one item stands, from the index."""
        return self.index.get(id_)

    def items(self) -> Iterator[dict[str, Any]]:
        """Views of every item this worker holds, without their records (tools and tests; the
        feeds and the board page through them instead)."""
        for raw in list(self.table.values()):  # a copy: the agent may write meanwhile
            if raw and (view := self.view(raw, None)) is not None:
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
            views = await share.run(partial(self._views, chosen[start:start + DECODE_CHUNK], scope))
            # Re-checked: the state may have changed while other work had its turn.
            items += [v for v in views if v is not None and item_visible(v, filters, scope, overdue)]
        return items, (found[limit - 1] if len(found) > limit else None)

    def _views(self, ids: list[str], scope: Scope | None = None) -> list[dict[str, Any] | None]:
        return [self.get(id_, None, scope) for id_ in ids]


async def every_visible(source: StateSource, scope: Scope, now: float, share: LoopShare,
                        page: int = 500, keep: Callable[[dict[str, Any]], bool] | None = None
                        ) -> list[dict[str, Any]]:
    """Every item of `source` within `scope`, without records, a page at a time in `share`'s turns;
    with `keep`, those it keeps alone (the others are dropped page by page, so that a read of many
    large views leaves the collector little to walk)."""
    items: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        found, after = await source.page(scope, Filters(), None, after, page, now, share)
        items += found if keep is None else filter(keep, found)
        if after is None:
            return items


def referral_destination(tag: str, rules: Rules, h: Hazard | None = None) -> str:
    """Where a hazard's referral `tag` goes: `discipline` (the district's 纪委监委: a department's duty
    failures or a missed listed deadline), `discipline_forwarded` (the same, of hazard `h`, naming a
    department whose officials the district does not manage, a branch of a city bureau or a
    vertically managed body: the district's commission is asked to pass it on to the one that has
    jurisdiction, 管理权限, engine/kernel/referral.py `jurisdiction`), `judicial` (the public
    security bureau: 行刑衔接) or `enforcement` (a proposal such as the power-stop notice), by the
    rule ids the rules in force give them."""
    rule_id = tag.partition(":")[0].split("#", 1)[0]
    if rules.judicial is not None and rule_id == rules.judicial.rule_id:
        return "judicial"
    if rule_id in (rules.duty_failures.rule_id, rules.supervision_missed.rule_id):
        ref = rules.reference
        if h is not None and any(
                not dept.district_managed for u in referral_respondents(h, rules, tag)
                if u["kind"] == "department" and (dept := ref.department(u["id"])) is not None):
            return "discipline_forwarded"
        return "discipline"
    return "enforcement"


def hazard_view(h: Hazard, rules: Rules, now: float, record: RecordPage | None = None) -> dict[str, Any]:
    """A hazard's state for a supervisor: where it stands, its clocks, and that page of its record."""
    lead = lead_department(h, rules)
    listed = None
    if h.listed:
        notice_no, listed_at, deadline, active = h.listed
        listed = {"notice_no": notice_no, "listed_at": iso(listed_at), "deadline": iso(deadline),
                  "active": bool(active)}
    view = {
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
        # Where each referral, standing, held or withdrawn, goes, by the rules that made it: the board
        # lists them so, whatever the rules file calls them.
        "referrals_to": {tag: referral_destination(tag, rules, h) for tag in
                         [r.removeprefix(WITHDRAWN) for r in h.referred] + [held[0] for held in h.held]},
        "location": {"town": h.town, "lat": h.point[0], "lon": h.point[1]} if h.point else {"town": h.town},
        "clocks": [{"name": name, "due": iso(due)}
                   for name, due in sorted(h.clocks.items(), key=lambda kv: kv[1])],
        # Each enforcement proposal standing, and whether its legal review or decision is on record.
        "proposals": proposals.standing(h),
    }
    if record is not None:
        view.update(record_page(h.timeline(), record, Words("zh", rules.reference)))
    return view


def hazard_source(table: Mapping[bytes, bytes], rules: Rules, now: Callable[[], float],
                  index: PlaceIndex | Indices, history: Mapping[bytes, bytes] | None = None) -> TableSource:
    """The hazards table (values as `engine.store.pack` writes them) as a StateSource.

    `history` is the hazards' history table, where their timelines' chunks are: a
    hazard is read lazily, and its chunks only for a page of its record.
    """
    return TableSource(table, lambda raw, record: hazard_view(
        unpack(raw, lazy=True, history=history), rules, now(), record), index)


def handed_to(a: Any, rules: Any) -> list[dict[str, Any]]:
    """Whom the duty officers' handover (应急值守) passed an alert nobody acknowledged to last: the
    units of the latest step it ran ([] before the first, once acknowledged, or without rules)."""
    from engine.alerts.emit import resolve_all  # only workers that run the alert rules need it

    if rules is None or a.acked is not None or not a.step or a.opened is None:
        return []
    return resolve_all(rules.handover[min(a.step, len(rules.handover)) - 1].targets, a, rules)


def alert_view(a: Any, now: float, record: RecordPage | None = None,
               reference: Reference | None = None, rules: Any = None) -> dict[str, Any]:
    """An alert's state for a supervisor (`a` is an `engine.alerts.Alert`). Asked for a page of its
    record (its Chinese named by `reference`'s words), also every CAP message sent: both come
    from its history, which a list's view does not read. With its rules (`AlertRules`), also the
    departments it concerns (`engine.feeds.index.alert_departments`, what a department's token
    sees it by) and, while nobody has acknowledged it, whom the handover passed it to."""
    from engine.alerts.capdoc import sent as cap_sent  # only workers that run the alert rules need it
    from engine.alerts.core import unreported

    view = {
        "kind": "alert", "id": a.id, "status": a.status(), "alert_kind": a.kind, "town": a.town(),
        "departments": list(alert_departments(a, rules)) if rules is not None else [],
        "handed_to": handed_to(a, rules), "grade": a.grade, "response_level": a.level,
        "exercise": a.exercise, "opened_at": iso(a.opened_at), "closed_at": iso(a.closed_at),
        # An alert is overdue when one of its report clocks ran out.
        "overdue": bool(a.missed), "missed_reports": list(a.missed),
        # The statutory reports missed and not made since, by their clocks' names: until they are
        # made, a closed alert stays before its supervisors (engine.board.picture.reporting).
        "reports_owed": unreported(a),
        # Who holds it: the unit that acknowledged it, else the post (A or B) it was raised at.
        "post": a.post, "held_by": a.acked[1] if a.acked else None, "handover_step": a.step,
        "location": a.location,
        "enterprise": ({"uscc": a.enterprise["uscc"], "name": a.enterprise.get("name")}
                       if a.enterprise else None),  # where it happened, when it names one (v2)
        "reports": [{"level": level, "demanded": iso(at), "reported": iso(a.reported.get(level))}
                    for level, at in sorted(a.demanded.items(), key=lambda kv: kv[1])],
        "clocks": [{"name": name, "due": iso(due)}
                   for name, due in sorted(a.clocks.items(), key=lambda kv: kv[1])],
    }
    if record is not None:  # what the history holds: read only for one alert
        timeline = a.timeline()
        # Every CAP message sent: the state keeps the first and the latest, the history all of them.
        view["caps"] = [{"sequence": seq, "identifier": ident, "sent": iso(sent), "msg_type": kind}
                        for seq, ident, sent, kind in cap_sent(timeline, a.caps)]
        view.update(record_page(timeline, record, Words("zh", reference) if reference else None))
    return view


def alert_source(table: Mapping[bytes, bytes], now: Callable[[], float], index: PlaceIndex | Indices,
                 reference: Reference, history: Mapping[bytes, bytes] | None = None,
                 rules: Any = None) -> TableSource:
    """The alerts table (values as `engine.store.pack` writes them) as a StateSource, with its
    history table as for hazards (an alert is read lazily; its history, where its record and its
    CAP messages are, only for one alert), the reference whose words its record's Chinese uses,
    and the alert rules (`AlertRules`) the views name its departments and handover by."""
    from engine.alerts import Alert  # only workers that run the alert rules need it

    return TableSource(table, lambda raw, record: alert_view(
        unpack(raw, Alert, lazy=True, history=history), now(), record, reference, rules), index)
