"""Typed entries: each TypedDict of engine/kernel/entries.py is its contract model, normalised,
and the entries the intake writes have exactly the keys those types name."""

from __future__ import annotations

import enum
import types
import typing
from collections import Counter
from datetime import date, datetime
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest
from faults.fuzzgen import SCHEMAS, draw_events, records
from pydantic import AwareDatetime, BaseModel

from bench import core
from bench.workload import START, build
from engine import codec
from engine.contract import common
from engine.contract.envelope import ENFORCEMENT_RECORDS, ENTERPRISE_RECORDS, EVENT_TYPES
from engine.contract.intake import Finding
from engine.intake.process import TIMELINE, Record, decide_intake
from engine.intake.timeline import FINDING_TYPE, INSPECTED_TYPE
from engine.kernel import entries
from engine.kernel.apply import CLOCK_TYPE
from engine.kernel.replay import clock_entry
from engine.ruleset import load_rules
from engine.settings import Settings

RULES = load_rules(Settings().rules_dir)
TEXT_TIMES = (datetime, date, AwareDatetime)  # normalised into RFC 3339 text


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _shape(annotation: Any) -> Any:
    """What a value of `annotation` looks like in a timeline entry's JSON, model or TypedDict alike."""
    annotation = _strip(annotation)
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [_strip(a) for a in get_args(annotation)]
        rest = [a for a in args if a is not type(None)]
        if all(isinstance(a, type) and issubclass(a, TEXT_TIMES) for a in rest):
            shape: Any = "str"  # a deadline: a time or a date, as text
        else:
            assert len(rest) == 1, annotation
            shape = _shape(rest[0])
        return ("optional", shape) if len(rest) < len(args) else shape
    if origin is list:
        return ("list", _shape(get_args(annotation)[0]))
    if origin is Literal:
        assert all(isinstance(v, str) for v in get_args(annotation)), annotation
        return "str"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return ("object", {n: _shape(f.annotation) for n, f in annotation.model_fields.items()})
        if is_typeddict(annotation):
            return ("object", {n: _shape(a) for n, a in get_type_hints(annotation).items()})
        if issubclass(annotation, (enum.Enum, str, *TEXT_TIMES)):
            return "str"
        if annotation in (int, float, bool):
            return annotation.__name__
    raise AssertionError(f"no shape for {annotation!r}")


@pytest.mark.parametrize("name", sorted(EVENT_TYPES), ids=str)
def test_each_contract_types_data_is_typed_as_its_model_normalised(name: str) -> None:
    """Same keys, and for each the same shape: optional or not, list, object, text, number."""
    assert _shape(entries.DATA_TYPES[name]) == _shape(EVENT_TYPES[name].data_model)


def test_the_shared_parts_and_the_engines_own_entries_are_typed_too() -> None:
    """Actor, Location, Enterprise as the contract has them; a finding's entry is its Finding
    with the inspection's context; and nothing but the contract's and the engine's types."""
    for typed, model in ((entries.Actor, common.Actor), (entries.Location, common.Location),
                         (entries.Enterprise, common.Enterprise), (entries.Finding, Finding)):
        assert _shape(typed) == _shape(model)
    finding = get_type_hints(entries.FindingData)
    assert set(finding) == set(Finding.model_fields) | {"inspection"}
    assert set(entries.DATA_TYPES) == set(EVENT_TYPES) | {FINDING_TYPE, INSPECTED_TYPE, CLOCK_TYPE}


def _check(entry: dict[str, Any], kinds: Counter[str]) -> None:
    envelope = entries.Entry.__required_keys__ | {"source", "event_id", "received_at", "arrived_at", "origin"}
    assert set(entry) == envelope, entry
    assert set(entry["origin"]) == set(get_type_hints(entries.Origin))
    data_type = entries.DATA_TYPES[entry["type"]]
    _same_keys(entry["data"], _shape(data_type), entry["type"])
    kinds[entry["type"]] += 1


def _same_keys(value: Any, shape: Any, where: str) -> None:
    """Every object in `value` has exactly the keys its shape names, all the way down."""
    if isinstance(shape, tuple) and shape[0] == "optional":
        if value is not None:
            _same_keys(value, shape[1], where)
    elif isinstance(shape, tuple) and shape[0] == "list":
        for item in value:
            _same_keys(item, shape[1], where)
    elif isinstance(shape, tuple) and shape[0] == "object":
        assert set(value) == set(shape[1]), (where, sorted(value), sorted(shape[1]))
        for key, inner in shape[1].items():
            _same_keys(value[key], inner, f"{where}.{key}")


def _event(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    subject = data[EVENT_TYPES[type_].subject_field]
    return {"specversion": "1.0", "id": f"by-hand-{type_}", "source": "/apps/test", "type": type_,
            "time": "2026-11-02T10:00:00+08:00", "subject": subject, "data": data}


def _by_hand(town: str) -> list[tuple[str, dict[str, Any]]]:
    two = [{"id": "insp-1", "role": "inspector"}, {"id": "insp-2", "role": "inspector"}]
    sup = {"id": "sup-1", "role": "supervisor"}
    uscc = "91371500MA3C4XK2N2"
    return [
        ("safety.enforcement.ordered", {"hazard_id": "HZ-1", "order_no": "O-1", "order": "rectify_within",
                                        "until": "2026-12-01", "legal_basis": "art. 65", "by": two}),
        ("safety.enforcement.violated", {"hazard_id": "HZ-1", "order_no": "O-1",
                                         "found_at": "2026-11-05T10:00:00+08:00", "description": "d",
                                         "evidence": ["https://files.example.org/v.mp4"], "by": two}),
        ("safety.enterprise.registered", {"uscc": uscc, "name": "E", "location": {"town": town},
                                          "sector": "gas", "legal_representative": "L", "by": sup}),
        ("safety.enterprise.classified", {"uscc": uscc, "risk_class": "red", "key_enterprise": True,
                                          "decided_by": sup, "decided_at": "2026-11-02T09:00:00+08:00"}),
        ("safety.enterprise.closed", {"uscc": uscc, "reason": "r", "by": sup}),
        ("safety.credit.decided", {"uscc": uscc, "proposal_id": "P-1", "outcome": "listed",
                                   "listed_from": "2026-11-03", "listed_until": "2027-11-02",
                                   "decision_no": "D-1", "by": sup}),
    ]


def test_every_entry_the_intake_writes_has_the_keys_of_its_types() -> None:
    """Over the workload, the history benchmark's events and the fuzz generator's accepted records:
    the envelope's keys, and the data's keys at every level, are exactly those typed."""
    kinds: Counter[str] = Counter()
    values = [(i.topic, i.key, i.value) for i in build(1000)]
    values += [(t, None, v) for t, v in core.hazard_events(20) + core.alert_events(20)]
    towns = sorted(RULES.reference.towns)
    values += [(f.topic, f.key, f.value) for f in records(3000, towns) if not f.headers]
    # The fuzz generator draws the four field topics; the records of law enforcement and of the
    # enterprise register are drawn here from their schemas the same way.
    others = {p.stem: codec.loads(p.read_bytes()) for p in SCHEMAS.glob("*.json")}
    others = {k: v for k, v in others.items()
              if v.get("x-topic") in (ENFORCEMENT_RECORDS, ENTERPRISE_RECORDS)}
    values += [(topic, None, codec.dumps(event)) for topic, event in draw_events(others, towns, 40, 7)]
    # Those whose model rules (two inspectors, a deciding official) the schema cannot say, by hand.
    values += [(EVENT_TYPES[t].topic, None, codec.dumps(_event(t, d))) for t, d in _by_hand(towns[0])]
    seen: dict[str, str] = {}
    start = int(START.timestamp() * 1000)
    for offset, (topic, key, value) in enumerate(values):
        outcome = decide_intake(Record(topic, 0, offset, key, value, start), seen.get,
                                RULES.reference, 1_000_000, topic)
        if outcome.remember is not None:
            seen[outcome.remember[0]] = outcome.remember[1]
        for send in outcome.sends:
            if send.topic == TIMELINE:
                _check(codec.loads(send.value), kinds)
    # The fuzz generator's schema-valid events reach every contract type the intake accepts.
    missing = set(entries.DATA_TYPES) - set(kinds) - {CLOCK_TYPE}
    assert not missing, (missing, kinds)


def test_a_clocks_entry_has_the_keys_of_its_type() -> None:
    """The timer's entry: the envelope's required keys only, and its due time as data."""
    entry = clock_entry("HZ-1", 1_800_000_000)
    assert set(entry) == entries.Entry.__required_keys__
    assert set(entry["data"]) == set(get_type_hints(entries.ClockData))
