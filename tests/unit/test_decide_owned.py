"""A state handed over to the hazard core (`owned`) is decided as a copied one is.

The decide stage decodes a hazard's state for one entry and hands it to the core,
which then changes it in place instead of copying it first. Over random histories
with re-deliveries (the property tests' generator), the stage's path (stored bytes,
`decide_entry`, the owned core with the enterprise links) and the copying core with
the states kept in memory give the same outputs and the same stored bytes, and a
re-delivered entry comes back as the very state it was given.
"""

from __future__ import annotations

from typing import Any

from decide_fixtures import RULES, complete, progress, report, verify
from hypothesis import given
from test_decide_properties import PROPERTY, with_redeliveries

from engine import codec
from engine.cores import build_cores, decide_entry
from engine.decide.core import decide
from engine.decide.state import Hazard
from engine.kernel.apply import take_over
from engine.store import pack, unpack

CORES = build_cores(RULES, None)
HAZARD = CORES["hazard"]


def _outs(outs: list[Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(o.topic, o.key, o.event) for o in outs]


@PROPERTY
@given(with_redeliveries())
def test_the_decide_stage_on_owned_states_matches_the_copying_core(case: tuple[list, list]) -> None:
    """Entry by entry: the same outputs (enterprise links too), the same stored bytes, and the
    stored state unchanged where the stage sees a re-delivery."""
    _, arrivals = case
    kept: dict[str, Any] = {}
    table: dict[bytes, bytes] = {}
    redelivered = 0
    for _, entry in arrivals:
        key = entry["subject"].encode()
        want_state, want_outs = HAZARD.decide(kept.get(entry["subject"]), entry)
        decision = decide_entry(CORES, {"hazard": table}, key, codec.dumps(entry))
        assert decision is not None
        assert _outs(decision.outs) == _outs(want_outs)
        if decision.new is decision.state:
            redelivered += 1
            assert want_state is kept[entry["subject"]] and not want_outs
            continue
        kept[entry["subject"]] = want_state
        table[key] = pack(decision.new)
        assert table[key] == pack(want_state)
    assert redelivered >= 1  # the generator always delivers something again


def test_an_owned_decision_returns_a_new_object_holding_the_changes() -> None:
    """The state handed over is not what comes back, unless the entry was applied before."""
    state, _ = decide(None, report("HZ-O", "2026-11-02 09:00"), RULES)
    state, _ = decide(state, verify("HZ-O", "2026-11-02 10:00"), RULES)
    entry = progress("HZ-O", "2026-11-03 10:00", 40)
    copied, outs = decide(state, entry, RULES)
    handed = unpack(pack(state), lazy=True)
    new, owned_outs = decide(handed, entry, RULES, owned=True)
    assert new is not handed and new.progress == 40 and _outs(owned_outs) == _outs(outs)
    assert pack(new) == pack(copied)
    again = unpack(pack(new), lazy=True)
    same, none = decide(again, entry, RULES, owned=True)
    assert same is again and none == []


def test_without_owned_the_state_given_is_left_as_it_was() -> None:
    """The public contract: `decide` does not modify its input."""
    state, _ = decide(None, report("HZ-K", "2026-11-02 09:00"), RULES)
    state, _ = decide(state, verify("HZ-K", "2026-11-02 10:00"), RULES)
    before = pack(state)
    decide(state, complete("HZ-K", "2026-11-20 10:00"), RULES)
    assert pack(state) == before


def test_take_over_keeps_every_field() -> None:
    """The new object holds each field's very value, in a new object."""
    h = Hazard("h-1", title="坑", enterprise=["9131", "厂"], duty_fails={"d-ajj": 1},
               listed=["No.1", 10, 20, True], applied=[7], history=[[1, "e-1", "reported"]],
               clocks={"verify": 5}, history_stored=b"[]", applied_stored=b"12345678")
    t = take_over(h)
    assert t == h and t is not h
    assert all(getattr(t, n) is getattr(h, n) for n in Hazard.__slots__)
