"""Where each stored subject stands for the feeds: its town, departments and when it falls overdue.

`GET /hazards` and `GET /alerts` must cost what the caller may see, not what
the worker holds. A `PlaceIndex` keeps, per kind of subject, the ids sorted
once overall, by town and by department, each with its `Place`; it is updated
as states are written (`engine.views.Derived.store`, both runtimes) and
rebuilt after a recovery from the few bytes `engine.store.pack` keeps in each
state's header. A page is then read in id order from the narrowest of those
lists the token's scope and the filters allow, starting after the cursor's id,
and only the ids on the page are decoded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sortedcontainers import SortedList

from engine import codec
from engine.feeds.filters import Filters, place_visible
from engine.feeds.tokens import Scope


@dataclass(frozen=True, slots=True)
class Place:
    """What access control, the place filters and `overdue=` need of one subject."""

    town: str | None
    departments: tuple[str, ...]
    overdue_after: int | None  # overdue once the clock is past this; None: not while in this state
    # Other towns it concerns: those where an enterprise's hazards lie besides its own town, whose
    # supervisors see the file limited to what concerns them (engine/enterprise/view.py). A hazard
    # or an alert has none.
    also: tuple[str, ...] = ()

    def overdue(self, now: float) -> bool:
        """Whether the subject is overdue at `now`."""
        return self.overdue_after is not None and now > self.overdue_after

    def towns(self) -> tuple[str | None, ...]:
        """Every town it concerns: its own, then the others."""
        return (self.town, *self.also)

    def encode(self, rules_version: str) -> bytes:
        """One line of compact JSON, each part named, naming the rules (a lead department depends
        on them); the other towns only when there are some, so a hazard's is as it always was."""
        doc = {"rules": rules_version, "town": self.town, "departments": list(self.departments),
               "overdue_after": self.overdue_after}
        return codec.dumps({**doc, "also": list(self.also)} if self.also else doc)

    @classmethod
    def decode(cls, raw: bytes, rules_version: str) -> Place | None:
        """The inverse of encode; None if made under other rules, or not a place at all.

        A place stored before its parts were named (a four-element list) still reads.
        """
        try:
            doc = codec.loads(raw)
        except codec.JSONDecodeError:
            return None
        if isinstance(doc, list) and len(doc) == 4 and doc[0] == rules_version:
            return cls.of(doc[1], doc[2], doc[3])
        if not isinstance(doc, dict) or doc.get("rules") != rules_version:
            return None
        try:
            return cls.of(doc["town"], doc["departments"], doc["overdue_after"], doc.get("also", ()))
        except KeyError:
            return None

    @classmethod
    def of(cls, town: str | None, departments: Iterable[str], overdue_after: int | None,
           also: Iterable[str] = ()) -> Place:
        """A place whose towns and departments are shared with every other place in the same
        ones: a million hazards in a few towns need only a few copies of those."""
        where = (town, tuple(departments), tuple(also))
        town, depts, others = _PLACES.setdefault(where, where)
        return cls(town, depts, overdue_after, others)


_PLACES: dict[tuple[str | None, tuple[str, ...], tuple[str, ...]],
              tuple[str | None, tuple[str, ...], tuple[str, ...]]] = {}


def hazard_place(h: Any, lead: str | None) -> Place:
    """A hazard's place: its town, its lead department, its deadline while open and unclaimed."""
    running = h.is_open() and h.deadline is not None and h.completed_at is None
    return Place.of(h.town, (lead,) if lead else (), h.deadline if running else None)


def alert_departments(a: Any, rules: Any) -> tuple[str, ...]:
    """The departments an alert (`engine.alerts.Alert`) concerns under its rules (`AlertRules`), in
    order: those its kind's response activates, the one that acknowledged it, and those its
    handover steps, its missed report clocks, its statutory notices (493号令 art. 10), a
    non-production incident's routing and its disaster reports run out drew in, each as far as the
    state says it went. These are the department targets of the escalations sent about it, so a
    department's token lists the alerts its feed tells it of."""
    if a.opened is None:
        return ()
    targets: list[str] = []
    kind = rules.kinds.get(a.kind or "")
    if kind is not None:
        targets += kind.responders
    if a.acked is not None:
        targets.append(f"department:{a.acked[1]}")
    for step in rules.handover[:a.step]:
        targets += step.targets
    for level in rules.report_levels:
        if level.id in a.missed:
            targets += level.overdue_targets
    if a.notified:
        targets += rules.notify_accident.recipients
    if a.routed:
        route = rules.non_production_route
        targets += route.get(a.kind or "", route.get("", ()))
    for step in rules.disaster.initial[:a.dstep]:
        targets += step.targets
    if a.dmissed:
        targets += rules.disaster.daily_targets
    if a.final_missed:
        targets += rules.disaster.final_targets
    known = rules.reference.departments
    found = (t.split(":", 1)[1] for t in targets if t.startswith("department:"))
    return tuple(d for d in dict.fromkeys(found) if d in known)


def alert_place(a: Any, rules: Any = None) -> Place:
    """An alert's place: its town and, with its rules, the departments it concerns; overdue from the
    moment a report clock ran out."""
    return Place.of(a.town(), alert_departments(a, rules) if rules is not None else (),
                    0 if a.missed else None)


class PlaceIndex:
    """The ids of one kind of subject in id order, overall, by town and by department."""

    def __init__(self) -> None:
        self.places: dict[str, Place] = {}
        self._all: SortedList = SortedList()
        self._towns: dict[str | None, SortedList] = {}
        self._departments: dict[str, SortedList] = {}

    def __len__(self) -> int:
        return len(self.places)

    def get(self, id_: str) -> Place | None:
        """The place of one subject, or None when unknown."""
        return self.places.get(id_)

    def put(self, id_: str, place: Place) -> None:
        """Record where a subject stands now."""
        old = self.places.get(id_)
        if old == place:
            return
        self.places[id_] = place
        if old is not None:
            if old.town == place.town and old.also == place.also and old.departments == place.departments:
                return  # only when it falls overdue moved (a new deadline): the lists hold it already
            self._remove(id_, old)
        else:
            self._all.add(id_)
        for town in place.towns():
            self._towns.setdefault(town, SortedList()).add(id_)
        for dept in place.departments:
            self._departments.setdefault(dept, SortedList()).add(id_)

    def discard(self, id_: str) -> None:
        """Forget a subject (its state was deleted, or it left this index)."""
        old = self.places.pop(id_, None)
        if old is not None:
            self._remove(id_, old)
            self._all.discard(id_)

    def put_many(self, places: Iterable[tuple[str, Place]]) -> None:
        """Record many places at once: one by one when they are few, else by rebuilding."""
        items = list(places)
        if len(items) * 4 < len(self.places):
            for id_, place in items:
                self.put(id_, place)
        else:  # sorting once beats a million insertions into sorted lists
            merged = dict(self.places)
            merged.update(items)
            self.rebuild(merged.items())

    def discard_many(self, ids: Iterable[str]) -> None:
        """Forget many subjects at once: one by one when they are few, else by rebuilding."""
        gone = set(ids)
        if len(gone) * 4 < len(self.places):
            for id_ in gone:
                self.discard(id_)
        else:
            self.rebuild((id_, place) for id_, place in self.places.items() if id_ not in gone)

    def _remove(self, id_: str, place: Place) -> None:
        for town in place.towns():
            self._towns[town].discard(id_)
        for dept in place.departments:
            self._departments[dept].discard(id_)

    def take(self, other: PlaceIndex) -> None:
        """Become what `other` holds (built elsewhere, e.g. off the event loop); `other` is spent."""
        self.places, self._all, self._towns, self._departments = (
            other.places, other._all, other._towns, other._departments)
        other.places, other._all, other._towns, other._departments = {}, SortedList(), {}, {}

    def rebuild(self, places: Iterable[tuple[str, Place]]) -> None:
        """Forget everything, then index `places` (after a recovery)."""
        self.places = dict(places)
        self._all = SortedList(self.places)
        towns: dict[str | None, list[str]] = {}
        depts: dict[str, list[str]] = {}
        for id_, place in self.places.items():
            towns.setdefault(place.town, []).append(id_)
            for town in place.also:  # an enterprise's file in other towns too; most places have none
                towns.setdefault(town, []).append(id_)
            for dept in place.departments:
                depts.setdefault(dept, []).append(id_)
        self._towns = {t: SortedList(ids) for t, ids in towns.items()}
        self._departments = {d: SortedList(ids) for d, ids in depts.items()}

    def lists_for(self, scope: Scope, filters: Filters) -> list[SortedList]:
        """The narrowest sorted lists that hold every id the scope and filters may show."""
        towns = filters.towns or (scope.towns if not scope.district else frozenset())
        if towns:
            return [self._towns[t] for t in sorted(towns) if t in self._towns]
        depts = filters.departments or (scope.departments if not scope.district else frozenset())
        if depts:
            return [self._departments[d] for d in sorted(depts) if d in self._departments]
        return [self._all]

    def scan(self, scope: Scope, filters: Filters, overdue: bool | None, now: float,
             after: str | None, chunk: int) -> tuple[list[str], str | None]:
        """Up to one chunk of candidate ids after `after`: those visible, and where to go on from.

        Returns the visible ids among the next `chunk` candidates (in id order)
        and the last candidate looked at, or None when none are left. No
        iterator over the index outlives a call, so the caller may yield to the
        event loop between chunks while the index changes.
        """
        return _scan(self.lists_for(scope, filters), self.get, filters, scope, overdue, now, after,
                     chunk)


class Indices:
    """Several place indices read as one: a worker's own and its replica's (engine/stream/replica.py).

    A subject found in more than one (for a moment, while a partition moves
    between them) is listed once, with the place of the first index that has it.
    """

    def __init__(self, *indices: PlaceIndex) -> None:
        self.indices = indices

    def __len__(self) -> int:
        return len({id_ for index in self.indices for id_ in index.places})

    def get(self, id_: str) -> Place | None:
        """The place of one subject in the first index that has it, or None."""
        for index in self.indices:
            if (place := index.get(id_)) is not None:
                return place
        return None

    def scan(self, scope: Scope, filters: Filters, overdue: bool | None, now: float,
             after: str | None, chunk: int) -> tuple[list[str], str | None]:
        """As `PlaceIndex.scan`, over the ids of every index."""
        lists = [ids for index in self.indices for ids in index.lists_for(scope, filters)]
        return _scan(lists, self.get, filters, scope, overdue, now, after, chunk)


def _scan(lists: list[SortedList], place_of: Callable[[str], Place | None], filters: Filters,
          scope: Scope, overdue: bool | None, now: float, after: str | None,
          chunk: int) -> tuple[list[str], str | None]:
    ids = _next_ids(lists, after, chunk)
    if not ids:
        return [], None
    visible = []
    for id_ in ids:
        place = place_of(id_)
        # A file in several towns may be overdue in one and not in another: its view, limited to
        # the scope's towns, says (TableSource.page checks it again).
        asked = overdue if not place or not place.also else None
        if place is not None and place_visible(place.town, place.departments,
                                               place.overdue(now), filters, scope, asked, place.also):
            visible.append(id_)
    return visible, ids[-1]


def _next_ids(lists: list[SortedList], after: str | None, n: int) -> list[str]:
    """The next ids after `after` across sorted lists, in order, without gaps or repeats."""
    taken: list[str] = []
    bound: str | None = None  # beyond the last id of a list cut at n, that list may hold more
    for ids in lists:
        got = list(islice(_after(ids, after), n))
        if len(got) == n:
            bound = got[-1] if bound is None else min(bound, got[-1])
        taken.extend(got)
    merged = sorted(set(taken))
    return merged if bound is None else [i for i in merged if i <= bound]


def _after(ids: SortedList, after: str | None) -> Iterator[str]:
    return iter(ids) if after is None else ids.irange(minimum=after, inclusive=(False, True))
