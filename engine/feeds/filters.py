"""The pure parts of the feeds: query filters, scope checks, stream positions and pagination.

Nothing here touches Kafka or HTTP, so all of it is unit-tested directly.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.contract.common import KnownIds
from engine.contract.outputs import LEVELS, TIERS
from engine.feeds.tokens import Scope

# A response level has the colour of a tier: I red, II orange, III yellow, IV blue, as China's emergency
# plans colour their four levels (一级红色 … 四级蓝色) and the board colours an alert's escalations. Not
# the words of the contract's risk tiers (红 重大, 橙 较大…) set against the grades' levels (重大 → II):
# an escalation's tier is the colour of a step (a hazard's ladder), never a grade.
LEVEL_OF_TIER = dict(zip(TIERS, LEVELS, strict=True))

MAX_LIMIT = 500
RECORD_LIMIT = 500  # a record's steps in one answer unless asked otherwise: the latest
RECORD_MAX = 2_000  # the most steps one answer gives: of a 30,000-step record, ~45 ms of the loop
MAX_PARTITIONS = 4096  # bounds the work a forged Last-Event-ID can cause
MAX_OFFSET = (1 << 63) - 1  # Kafka offsets are signed 64-bit; a larger one breaks the fetcher


class BadRequest(ValueError):
    """A query parameter or header the feeds cannot use (HTTP 400)."""


def _values(query: Any, name: str) -> frozenset[str]:
    """Values of a parameter given as `?x=a,b` or `?x=a&x=b`; empty when absent."""
    raw = query.getall(name, []) if hasattr(query, "getall") else [query[name]] if name in query else []
    return frozenset(v.strip() for item in raw for v in str(item).split(",") if v.strip())


@dataclass(frozen=True, slots=True)
class Filters:
    """What a client asked to see; an empty set means no filter on that field."""

    towns: frozenset[str] = frozenset()
    departments: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    levels: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()

    @classmethod
    def from_query(cls, query: Mapping[str, Any], known: KnownIds | None = None) -> Filters:
        """Read `town`, `department`, `tier`, `level` and `action` from a query string; with
        `known`, the reference's ids, a town or department it does not know is refused, as an
        unknown tier is: filtered by it, a stream or list would be empty as if nothing were there."""
        f = cls(_values(query, "town"), _values(query, "department"), _values(query, "tier"),
                _values(query, "level"), _values(query, "action"))
        if bad := sorted(f.tiers - set(TIERS)):
            raise BadRequest(f"unknown tier {bad[0]!r}: use {', '.join(TIERS)}")
        if bad := sorted(f.levels - set(LEVELS)):
            raise BadRequest(f"unknown level {bad[0]!r}: use {', '.join(LEVELS)}")
        if known is not None:
            if bad := sorted(t for t in f.towns if not known.has_town(t)):
                raise BadRequest(f"unknown town {bad[0][:100]!r}: the district's reference data "
                                 "(rules/reference) has no town of this id")
            if bad := sorted(d for d in f.departments if not known.has_department(d)):
                raise BadRequest(f"unknown department {bad[0][:100]!r}: the district's reference "
                                 "data (rules/reference) has no department of this id")
        return f

    def outside(self, scope: Scope) -> str | None:
        """Why these filters ask for more than `scope` allows (HTTP 403), or None."""
        for town in sorted(self.towns):
            if not scope.may_ask_town(town):
                return f"town {town!r} is outside the scope of this token"
        for dept in sorted(self.departments):
            if not scope.may_ask_department(dept):
                return f"department {dept!r} is outside the scope of this token"
        return None

    def matches_place(self, town: str | None, departments: Iterable[str]) -> bool:
        """Whether an item's town and departments pass the town and department filters."""
        if self.towns and town not in self.towns:
            return False
        return not self.departments or not self.departments.isdisjoint(departments)


LIST_PARAMS = ("town", "department", "overdue", "cursor", "limit")  # what GET /hazards (and kin) read
_ONCE = ("overdue", "cursor", "limit")
_STREAM_ONLY = ("tier", "level", "action")


def check_list_query(query: Any) -> None:
    """BadRequest for a list's query parameter the list would not apply: one it does not know (a
    typo such as `teir` would show every item as if filtered), a filter of the escalation stream
    (an item of a list has no one tier or action to match), or one of its single values given twice
    (which of them would count?)."""
    for name in query:
        if name in _STREAM_ONLY:
            raise BadRequest(f"{name} filters the escalation stream (/feeds/escalations), not a list; "
                             f"a list takes {', '.join(LIST_PARAMS)}")
        if name not in LIST_PARAMS:
            raise BadRequest(f"unknown parameter {name[:40]!r}: a list takes {', '.join(LIST_PARAMS)}")
    for name in _ONCE:
        if (times := len(query.getall(name, ()))) > 1:
            raise BadRequest(f"{name} given {times} times: give it once")


def escalation_departments(data: Mapping[str, Any], lead: Iterable[str] = ()) -> set[str]:
    """The departments an escalation concerns: its department targets and the lead department."""
    targets = data.get("targets") or []
    return {t["id"] for t in targets if isinstance(t, dict) and t.get("kind") == "department"
            and isinstance(t.get("id"), str)} | set(lead)


def escalation_visible(data: Mapping[str, Any], departments: set[str], filters: Filters,
                       scope: Scope) -> bool:
    """Whether one escalation's data goes to a client: its scope always, then its filters."""
    town = data.get("town")
    if not scope.allows(town, departments):
        return False
    if not filters.matches_place(town, departments):
        return False
    if not grave_enough(data, filters):
        return False
    return not filters.actions or data.get("action") in filters.actions


def grave_enough(data: Mapping[str, Any], filters: Filters) -> bool:
    """Whether an escalation passes the tiers and levels asked for, taken as one filter on how grave
    it is: a hazard's (an enterprise's, a plan's) by its tier, an alert's by its response level.
    Tiers alone also pass the alerts' escalations of the levels of their colours (LEVEL_OF_TIER), so
    a subscriber asking for orange and red is not left without the level I and II alerts it would
    see coloured so on the board; levels alone pass alerts' escalations only, as they always did."""
    if not filters.tiers and not filters.levels:
        return True
    levels = filters.levels or frozenset(LEVEL_OF_TIER[t] for t in filters.tiers)
    return data.get("tier") in filters.tiers or data.get("response_level") in levels


def item_visible(view: Mapping[str, Any], filters: Filters, scope: Scope,
                 overdue: bool | None = None) -> bool:
    """Whether a hazard, alert or enterprise file view passes the scope, the place filters and
    `overdue` (a file's view in any of its towns: its own and `other_towns`, those where hazards of
    it that the view lists lie)."""
    return place_visible(view.get("town"), view.get("departments") or (), bool(view.get("overdue")),
                         filters, scope, overdue, view.get("other_towns") or ())


def in_scope(scope: Scope, town: str | None, departments: Iterable[str], also: Iterable[str] = ()) -> bool:
    """Whether an item in `town`, or in one of the other towns it concerns (`also`: where an
    enterprise's hazards lie), concerning `departments`, is within `scope`."""
    depts = list(departments)
    return any(scope.allows(t, depts) for t in (town, *also))


def place_visible(town: str | None, departments: Iterable[str], is_overdue: bool, filters: Filters,
                  scope: Scope, overdue: bool | None = None, also: Iterable[str] = ()) -> bool:
    """Whether an item in `town` (or in one of the other towns it concerns, `also`) concerning
    `departments` passes the scope, filters and `overdue`: in one town, both."""
    depts = list(departments)
    if not any(scope.allows(t, depts) and filters.matches_place(t, depts) for t in (town, *also)):
        return False
    return overdue is None or is_overdue == overdue


def _whole(text: str) -> bool:
    # ASCII digits only, at most 19 of them: str.isdigit also takes '²' and '٣', which int() refuses.
    return 0 < len(text) <= 19 and text.isascii() and text.isdigit()


def encode_positions(positions: Mapping[int, int]) -> str:
    """A stream position as an SSE id: each partition's next offset, `0:15,1:7,2:0`."""
    return ",".join(f"{p}:{o}" for p, o in sorted(positions.items()))


def decode_positions(text: str) -> dict[int, int]:
    """The inverse of encode_positions; BadRequest on anything else."""
    out: dict[int, int] = {}
    for part in text.strip().split(","):
        p, sep, o = part.partition(":")
        if not (sep and _whole(p) and _whole(o)) or len(out) >= MAX_PARTITIONS \
                or int(o) > MAX_OFFSET:
            raise BadRequest(f"Last-Event-ID {text[:80]!r} is not a stream position "
                             "like '0:15,1:7'")
        if int(p) in out:
            raise BadRequest(f"Last-Event-ID names partition {p} twice")
        out[int(p)] = int(o)
    return out


def parse_bool(value: str | None, name: str) -> bool | None:
    """`true`/`false` (or absent: None) from a query parameter."""
    if value is None or value == "":
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise BadRequest(f"{name} must be true or false, not {value!r}")


def parse_limit(value: str | None, default: int = 50) -> int:
    """A page size between 1 and MAX_LIMIT."""
    if value is None or value == "":
        return default
    if not _whole(value) or not 1 <= int(value) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)


@dataclass(frozen=True)
class RecordPage:
    """Which steps of a record one answer gives: in time order, the `limit` steps before position
    `before` (0 is the earliest step), or the latest `limit` when `before` is None."""

    limit: int = RECORD_LIMIT
    before: int | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> RecordPage:
        """`?record_limit=` (1 to RECORD_MAX) and `?record_before=` (a position); BadRequest on
        anything else."""
        limit, before = query.get("record_limit"), query.get("record_before")
        if limit is not None and limit != "" and not (_whole(limit) and 1 <= int(limit) <= RECORD_MAX):
            raise BadRequest(f"record_limit must be a whole number from 1 to {RECORD_MAX}")
        if before is not None and before != "" and not _whole(before):
            raise BadRequest("record_before must be a whole number: the record_first of a page")
        return cls(int(limit) if limit else RECORD_LIMIT, int(before) if before else None)


def encode_cursor(last_id: str) -> str:
    """An opaque cursor: the last id of a page, base64url."""
    return base64.urlsafe_b64encode(last_id.encode("utf-8")).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The id a cursor continues after."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("cursor is not one this server gave out") from exc
