"""The decision function: `decide(state, entry, rules, now) -> (new_state, outputs)`.

It knows nothing of Kafka or HTTP. Given the same state, entry, rules and
time it always returns the same result, so a replay is just a loop, and every
rule can be tested in microseconds.

Time moves in two ways: a field event carries its own time, and a "deadline
reached" entry (`safety.clock.fired`) carries the due time it was published
for. Before anything else, `decide` fires every clock due up to `now`, in
order; so a clock fires at its due time whether the timer's entry or a later
field event brings the hazard there first, and an entry for a clock that has
moved on finds nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.decide.clocks import derive, fire
from engine.decide.lifecycle import apply_event, settle
from engine.decide.state import Hazard, applied_before, entry_hash, remember
from engine.kernel.outputs import Out
from engine.kernel.time import epoch
from engine.ruleset.compiled import Rules

CLOCK_TYPE = "safety.clock.fired"
_MAX_FIRINGS = 1000  # a guard: the rules cannot make a clock fire forever at one instant


def entry_time(entry: dict[str, Any]) -> int:
    """The time an entry brings its subject to: the event's time, or the clock's due time."""
    return entry["data"]["due"] if entry["type"] == CLOCK_TYPE else epoch(entry["time"])


def advance_clocks(state: Any, rules: Any, now: int, derive_fn: Callable[[Any, Any], dict[str, int]],
                   fire_fn: Callable[[Any, str, int, Any], list[Out]]) -> list[Out]:
    """Fire, in due order, every clock of a subject due at or before `now`; any core's clocks."""
    outs: list[Out] = []
    for _ in range(_MAX_FIRINGS):
        state.clocks = derive_fn(state, rules)
        due_now = [(due, name) for name, due in state.clocks.items() if due <= now]
        if not due_now:
            break
        due, name = min(due_now)
        outs += fire_fn(state, name, due, rules)
    else:
        raise RuntimeError(f"clocks of {state.id} keep firing at {now}: check the rules")
    state.watermark = max(state.watermark, now)
    return outs


def advance(h: Hazard, rules: Rules, now: int) -> list[Out]:
    """Fire, in due order, every clock of the hazard that is due at or before `now`."""
    return advance_clocks(h, rules, now, derive, fire)


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


def apply_entry(state: Any, entry: dict[str, Any], rules: Any, now: int | None, *,
                new: Callable[[str], Any], advance_fn: Callable[[Any, Any, int], list[Out]],
                apply_fn: Callable[[Any, dict[str, Any], int, Any], list[Out]]) -> tuple[Any, list[Out]]:
    """The shape every core shares: copy, fire what is due, apply the event once, fire again.

    `state` is not modified. `now` defaults to the entry's own time; it never
    goes back behind the state's watermark. `apply_fn` records the event's facts
    and returns what they cause.
    """
    h = clone(state) if state is not None else new(entry["subject"])
    now = max(now if now is not None else entry_time(entry), h.watermark)
    if entry["type"] == CLOCK_TYPE:
        return h, advance_fn(h, rules, now)
    tag = entry_hash(entry["entry_id"])
    if applied_before(h, tag):
        return state if state is not None else h, []  # a re-delivered entry changes nothing
    remember(h, tag)
    at = entry_time(entry)
    outs = advance_fn(h, rules, min(at, now))
    outs += apply_fn(h, entry, at, rules)
    outs += advance_fn(h, rules, now)
    return h, outs


def _apply(h: Hazard, entry: dict[str, Any], at: int, rules: Rules) -> list[Out]:
    return apply_event(h, entry, at, rules) + settle(h, rules, at, entry["event_id"])


def decide(state: Hazard | None, entry: dict[str, Any], rules: Rules,
           now: int | None = None) -> tuple[Hazard, list[Out]]:
    """Apply one timeline entry to a hazard's state; return the new state and what to send.

    `state` is not modified. `now` defaults to the entry's own time; it never
    goes back behind the state's watermark.
    """
    return apply_entry(state, entry, rules, now, new=Hazard, advance_fn=advance, apply_fn=_apply)
