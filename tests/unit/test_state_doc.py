"""`state_doc` and `from_doc` are written out per state class (engine/kernel/state.py
`_doc_builder`, `_builder`): the first must leave out and keep exactly the fields the rule in its
docstring names, in field order, for every state class, whatever odd value a field holds; the
second must build what the class's constructor builds, and fail where it fails."""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.alerts import Alert
from engine.decide.state import Hazard
from engine.enterprise.state import EnterpriseFile
from engine.kernel.apply import take_over
from engine.kernel.state import STORED, StoredHistory, all_applied, from_doc, full_history, state_doc

_NO_DEFAULT = object()


def reference_doc(state: Any, whole: bool, named: bool) -> dict[str, Any]:
    """The rule spelt out one field at a time, the slow way: the oracle the written-out form is held to."""
    out: dict[str, Any] = {}
    for f in fields(state):
        if f.name in STORED or (not whole and f.name in ("history", "applied")):
            continue
        value = getattr(state, f.name)
        if whole and f.name == "history":
            value = full_history(state)
        elif whole and f.name == "applied":
            value = all_applied(state)
        default = f.default if f.default is not MISSING else _NO_DEFAULT  # none, or a default factory
        if value is None or value is default or (not value and type(value) in (list, dict)):
            continue
        if default is not _NO_DEFAULT and value == default:
            continue
        if named and f.name in type(state).NAMED:
            shape, places = type(state).NAMED[f.name]
            if shape == "one":
                value = {p: value[i] for i, p in enumerate(places)}
            else:  # rows under their column names (format 5), the rows themselves as they are
                value = {"columns": places, "rows": value}
        out[f.name] = value
    return out


def _same(state: Any) -> None:
    for whole in (True, False):
        for named in (True, False):
            got, want = state_doc(state, whole, named), reference_doc(state, whole, named)
            assert got == want and list(got) == list(want), (whole, named)


# Values a field may hold that sit on the rule's edges: defaults equal but not identical, falsy
# values that are not empty lists or dicts, empty containers where None is the default.
_odd = st.sampled_from([None, 0, 0.0, False, True, "", "x", [], {}, [0], {"a": 1}, 7, -1, 10**20,
                        "".join(["a", "b"]), int("0"), "".join([]), [[1, 2]]])


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_hazard_doc_follows_the_rule_for_any_field_values(data: st.DataObject) -> None:
    h = Hazard(id=data.draw(st.sampled_from(["HZ-1", "", "H"])))
    for f in fields(Hazard):
        if f.name in ("id", *STORED) or f.name in Hazard.NAMED:
            continue
        if data.draw(st.booleans()):
            setattr(h, f.name, data.draw(_odd))
    _same(h)


def test_the_named_places_of_a_busy_hazard_match_the_rule() -> None:
    h = Hazard(id="HZ-9", title="t", point=[31.2, 121.4], enterprise=["91310000MA1FL0000X", "Acme"],
               listed=["N-1", 5, 9, True], ext=[1, 2, "e"], early=[1, True, 3, "e2"],
               orders=[["O1", "stop", 3, "e3"], ["O2", "fix", 4, "e4"]],
               violations=[["O1", 5, "e5", "photo", ["judicial.transfer:O1"]]], cycle=int("2"),
               approx=bool(0), applied=[1, 2],
               history=[[1, "e1", "reported"]], duty_fails={"应急管理局": 1}, clocks={"verify": 99})
    h.history_stored = StoredHistory(b'[{"time":0,"event_id":"e0","what":"x"}]', 1)
    h.applied_stored = (9).to_bytes(8, "big")
    _same(h)
    assert state_doc(h, True)["history"][0] == [0, "e0", "x"]  # the whole history, the stored part first


def test_an_alert_and_an_enterprise_file_follow_the_same_rule() -> None:
    a = Alert(id="AL-1", reports=[(1, "e1", 0, 0, 0)], caps=[(1, "urn:1", "2026-01-01", "Alert")],
              acked=[5, "town", "e9"])
    _same(a)
    e = EnterpriseFile(id="91310000MA1FL0000X", hazards={"HZ-1": ["open", "general", 9, None, None, "d", "s",
                                                                   False, "huxi"]},
                       orders={"O1": ["stop", "HZ-1", 3]}, recent=[[1, "e1", "x", ""]], key=bool(1),
                       classified=[1, "u", "n", "e"], applied=[3])
    _same(e)


def test_a_positional_list_of_the_wrong_length_fails_instead_of_being_stored_short() -> None:
    with pytest.raises(ValueError):
        state_doc(Hazard(id="HZ-1", listed=["N-1", 5]), named=True)
    with pytest.raises(ValueError, match="rows of \\[3, 4\\] places stored under 4 names"):
        state_doc(Hazard(id="HZ-1", orders=[["O1", "stop", 3, "e3"], ["O2", "fix", 4]]), named=True)
    with pytest.raises(ValueError, match="rows of \\[10\\] places stored under 9 names"):
        state_doc(EnterpriseFile(id="E", hazards={"HZ-1": [None] * 10}), named=True)


# from_doc builds a state from a decoded doc without the constructor's keyword matching.

@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_state_built_from_a_doc_equals_the_one_the_constructor_builds(data: st.DataObject) -> None:
    names = [f.name for f in fields(Hazard) if f.name != "id"]
    chosen = data.draw(st.lists(st.sampled_from(names), unique=True))
    doc = {"id": "HZ-1", **{n: data.draw(_odd) for n in chosen}}
    built, want = from_doc(Hazard, dict(doc)), Hazard(**doc)
    assert built == want
    assert all(getattr(built, n) == getattr(want, n) for n in Hazard.__slots__)


def test_defaults_built_from_a_doc_are_fresh_and_post_init_runs() -> None:
    one, two = from_doc(Hazard, {"id": "a"}), from_doc(Hazard, {"id": "b"})
    one.orders.append(["O"])
    assert two.orders == [] and two.history_stored is None
    alert = from_doc(Alert, {"id": "AL-1", "reports": [[1, "e1", 0, 0, 0]]})
    assert alert.reports == [(1, "e1", 0, 0, 0)]  # made tuples by __post_init__, as Alert(...) does


def test_a_doc_with_an_unknown_key_or_without_an_id_fails_as_the_constructor_does() -> None:
    for doc in ({"id": "HZ-1", "colour": "red"}, {"id": "HZ-1", "NAMED": {}}, {"id": "HZ-1", "status": 1},
                {"title": "no id"}):
        with pytest.raises(TypeError) as built:
            from_doc(Hazard, doc)
        with pytest.raises(TypeError) as constructed:
            Hazard(**doc)
        assert type(built.value) is type(constructed.value)


def test_a_state_taken_over_is_a_new_object_holding_the_very_same_values() -> None:
    for state in (Hazard(id="HZ-1", orders=[["O1", "stop", 3, "e3"]], clocks={"ladder": 9}),
                  Alert(id="AL-1", reports=[(1, "e1", 0, 0, 0)]),
                  EnterpriseFile(id="91310000MA1FL0000X", hazards={"HZ-1": ["open"]})):
        new = take_over(state)
        assert new is not state and type(new) is type(state) and new == state
        assert all(getattr(new, f.name) is getattr(state, f.name) for f in fields(state))
