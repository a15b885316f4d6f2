"""The apply loop every core shares, and the entry it applies.

A core is three functions over its own state: `new` (an empty state for a
subject), `advance_fn` (fire the clocks due up to a time, through
`advance_clocks` with the core's own `derive` and `fire`) and `apply_fn`
(record one event's facts and return what they cause). `apply_entry` runs them
in the one order every core keeps: copy, fire what is due, apply the event
once (a re-delivered entry changes nothing), fire again. A core whose
subjects lie in a town gives it too (`town`): an entry held to a field-app
token's towns is judged by it first, and the entries that waited for the
subject's town are judged right after the entry that gives it one
(engine/kernel/scope.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from engine.kernel import scope
from engine.kernel.copies import AGAIN, seen_before
from engine.kernel.entries import COPY, TOWNS, Entry
from engine.kernel.outputs import Out
from engine.kernel.state import applied_before, remember, source_of, written
from engine.kernel.time import epoch

# A timeline entry (engine/kernel/entries.py): entry_id, subject, subject_kind, type, time and data.
__all__ = ["CLOCK_TYPE", "Entry", "UnknownEntryType", "advance_clocks", "apply_entry", "clone",
           "entry_time", "take_over"]


class UnknownEntryType(ValueError):
    """A timeline entry of a type no handler is registered for: dead-lettered, never ignored."""


CLOCK_TYPE = "safety.clock.fired"
_MAX_FIRINGS = 1000  # a guard: the rules cannot make a clock fire forever at one instant


def entry_time(entry: Entry) -> int:
    """The time an entry brings its subject to: the event's time, or the clock's due time."""
    return entry["data"]["due"] if entry["type"] == CLOCK_TYPE else epoch(entry["time"])


def advance_clocks(state: Any, rules: Any, now: int, derive_fn: Callable[[Any, Any], dict[str, int]],
                   fire_fn: Callable[[Any, str, int, Any], list[Out]]) -> list[Out]:
    """Fire, in due order, every clock of a subject due at or before `now`; any core's clocks."""
    outs: list[Out] = []
    clocks = state.clocks = derive_fn(state, rules)
    fired = 0
    while clocks and min(clocks.values()) <= now:  # most often not even once: nothing is due
        if fired == _MAX_FIRINGS - 1:  # the _MAX_FIRINGS-th derivation with a clock still due
            raise RuntimeError(f"clocks of {state.id} keep firing at {now}: check the rules")
        due, name = min((due, name) for name, due in clocks.items() if due <= now)
        outs += fire_fn(state, name, due, rules)
        fired += 1
        clocks = state.clocks = derive_fn(state, rules)
    if now > state.watermark:
        state.watermark = now
    return outs


def clone(state: Any) -> Any:
    """A copy of a slotted state deep enough that changing it never changes `state`.

    States hold only JSON values (they are stored as JSON), so copying lists and
    dicts level by level is enough; `copy.deepcopy` did the same with a memo and
    a dispatch per object, at several times the cost. The entry hashes (`applied`)
    are integers, so one list copy is a deep copy of them.
    """
    return type(state)(**{name: getattr(state, name).copy() if name == "applied"
                          else _copy(getattr(state, name)) for name in state.__slots__})


def _copy(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return [_copy(v) for v in value]
    if kind is dict:
        return {k: _copy(v) for k, v in value.items()}
    return value


@functools.cache
def _shallow(cls: type) -> Callable[[Any], Any]:
    """A function that makes a new `cls` holding the very values of one: each field read and set
    once through the slots (0.6 µs for a hazard, against 1.9 through the constructor's 48 arguments)."""
    lines = ["def shallow(s):", "    n = _new(_cls)", *(f"    n.{f.name} = s.{f.name}" for f in fields(cls)),
             "    return n"]
    return written("shallow", lines, {"_new": object.__new__, "_cls": cls})


def take_over(state: Any) -> Any:
    """A new state object holding the very values of `state`: what a decision changes in place.

    For a state handed over (`owned`): its lists and dicts are shared, not copied,
    so `state` must not be read afterwards; only its identity stays apart, which
    is how a caller tells a re-delivered entry (the same object back) from a decision.
    """
    return _shallow(type(state))(state)


def apply_entry(state: Any, entry: Entry, rules: Any, now: int | None, *,
                new: Callable[[str], Any], advance_fn: Callable[[Any, Any, int], list[Out]],
                apply_fn: Callable[[Any, Entry, int, Any], list[Out]],
                owned: bool = False, town: Callable[[Any], str | None] | None = None,
                named: bool = True) -> tuple[Any, list[Out]]:
    """The shape every core shares: copy, fire what fell due before the event, apply it once, fire
    again.

    `state` is not modified, unless `owned`: then the caller hands the state over
    (it decoded it for this one decision and reads it no more), and the decision
    changes its lists and dicts in place instead of copying the whole state first;
    the state returned is `state` itself only for a re-delivered entry, as without
    `owned`. `now` defaults to the entry's own time; it never goes back behind the
    state's watermark. `apply_fn` records the event's facts and returns what they cause.

    `town` gives the town a state is held to (None: none known yet). With it, an entry a
    field-app token limited to towns sent, naming no town, is judged against it
    (`scope.hold`): kept waiting in the state, or rejected, instead of applied; and once an
    entry gives the subject its town, the entries that waited are applied, in the order of their
    own times, as if they had come right after it, or rejected (`scope.release`). With `named`
    too, such an entry that names a town itself (a report, an inspection's finding) about a subject
    whose town is known outside the token's towns is rejected, not applied (`scope.foreign`); an
    enterprise's file is not held so (`named` false): an inspection names where the inspector was.
    """
    if state is None:
        h = new(entry["subject"])
    else:
        h = take_over(state) if owned else clone(state)
    if entry["type"] == CLOCK_TYPE:  # `entry_time`, written out: its call cost more than its test
        at = entry["data"]["due"]
        return h, advance_fn(h, rules, max(now if now is not None else at, h.watermark))
    at = epoch(entry["time"])
    now = max(now if now is not None else at, h.watermark)
    entry_id, source = entry["entry_id"], source_of(entry)
    if applied_before(h, entry_id, source):
        return state if state is not None else h, []  # a re-delivered entry changes nothing
    remember(h, entry_id, source)
    if town is not None and (TOWNS in entry or COPY in entry):
        if scope.judged(entry):
            held = scope.hold(h, entry, town(h))
            if held is not None:
                return h, held + advance_fn(h, rules, now)
            scope.applied(h, entry)
        elif named and (held := scope.foreign(entry, town(h))) is not None:
            return h, held + advance_fn(h, rules, now)
    # A field record (one the intake published) sent again under a fresh event id: on the record,
    # applied once. Hazards and alerts keep the fingerprints (`seen`, engine/kernel/copies.py); an
    # enterprise's file knows its records' copies in its core, a plan town has no field records.
    # (`_again`, written out: every decision asks it.)
    if entry.get("origin") is not None and hasattr(h, "seen") and seen_before(h, entry, at):
        h.history.append([at, entry.get("event_id") or entry_id, AGAIN])
        return h, []
    # Clocks due before the entry's second fire first; one due at that very second fires after
    # it: an act at the instant it is due is in time, and no escalation goes out to be withdrawn.
    outs = advance_fn(h, rules, min(at - 1, now))
    outs += apply_fn(h, entry, at, rules)
    if town is not None and h.parked and (where := town(h)) is not None:
        released, rejections = scope.release(h, where)
        outs += rejections
        for waiting in released:  # as if each came right after this entry, in its own time's order
            at = epoch(waiting["time"])
            if _again(h, waiting, at):
                continue
            now = max(now, at)
            outs += advance_fn(h, rules, min(at - 1, now))
            outs += apply_fn(h, waiting, at, rules)
    outs += advance_fn(h, rules, now)
    return h, outs


def _again(h: Any, entry: Entry, at: int) -> bool:
    """Whether a field record (one the intake published) was sent again under a fresh event id: on
    the record, applied once. Hazards and alerts keep the fingerprints (`seen`,
    engine/kernel/copies.py); an enterprise's file knows its records' copies in its core, a plan
    town has no field records."""
    if entry.get("origin") is not None and hasattr(h, "seen") and seen_before(h, entry, at):
        h.history.append([at, entry.get("event_id") or entry["entry_id"], AGAIN])
        return True
    return False


