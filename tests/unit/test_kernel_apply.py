"""The shared apply loop's clocks (engine/kernel/apply.py `advance_clocks`), with stand-in cores."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine.kernel.apply import _MAX_FIRINGS, advance_clocks


def test_clocks_due_fire_in_due_order_until_none_is_and_the_watermark_moves_to_now() -> None:
    due = {"b": 7, "a": 5, "later": 50}
    fired: list[tuple[str, int]] = []

    def fire(state, name, at, rules):
        fired.append((name, at))
        del due[name]
        return [name]

    state = SimpleNamespace(id="s", clocks={}, watermark=3)
    assert advance_clocks(state, None, 10, lambda s, r: dict(due), fire) == ["a", "b"]
    assert fired == [("a", 5), ("b", 7)] and state.clocks == {"later": 50} and state.watermark == 10


def test_nothing_due_fires_nothing_and_a_watermark_ahead_stays() -> None:
    state = SimpleNamespace(id="s", clocks={}, watermark=20)
    assert advance_clocks(state, None, 10, lambda s, r: {"a": 11}, lambda *a: ["never"]) == []
    assert state.clocks == {"a": 11} and state.watermark == 20


def test_rules_whose_clocks_never_stop_firing_are_refused_after_the_bound() -> None:
    derived = []

    def derive(state, rules):
        derived.append(1)
        return {"again": 5}

    state = SimpleNamespace(id="s", clocks={}, watermark=0)
    with pytest.raises(RuntimeError, match="keep firing"):
        advance_clocks(state, None, 10, derive, lambda *a: [])
    assert len(derived) == _MAX_FIRINGS
