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

from engine.decide.clocks import derive, fire
from engine.decide.lifecycle import apply_event, settle
from engine.decide.state import Hazard
from engine.kernel.apply import CLOCK_TYPE, advance_clocks, apply_entry, clone, entry_time
from engine.kernel.entries import Entry
from engine.kernel.outputs import Out
from engine.ruleset.compiled import Rules

# The apply loop is the kernel's (engine/kernel/apply.py); CLOCK_TYPE, clone and entry_time are
# named here as well because the hazard core's callers have always found them beside decide.
__all__ = ["CLOCK_TYPE", "advance", "clone", "decide", "entry_time"]


def advance(h: Hazard, rules: Rules, now: int) -> list[Out]:
    """Fire, in due order, every clock of the hazard that is due at or before `now`."""
    return advance_clocks(h, rules, now, derive, fire)


def _apply(h: Hazard, entry: Entry, at: int, rules: Rules) -> list[Out]:
    return apply_event(h, entry, at, rules) + settle(h, rules, at, entry["event_id"])


def decide(state: Hazard | None, entry: Entry, rules: Rules,
           now: int | None = None, *, owned: bool = False) -> tuple[Hazard, list[Out]]:
    """Apply one timeline entry to a hazard's state; return the new state and what to send.

    `state` is not modified, unless the caller hands it over with `owned` (the
    decide stage does, with the state it has just decoded): then it is changed in
    place rather than copied, and must not be read afterwards. `now` defaults to
    the entry's own time; it never goes back behind the state's watermark.
    """
    return apply_entry(state, entry, rules, now, new=Hazard, advance_fn=advance, apply_fn=_apply,
                       owned=owned, town=_town)


def _town(h: Hazard) -> str | None:
    """The town a token's entry about the hazard is held to: the one its opening record names."""
    return h.town
