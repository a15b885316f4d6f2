"""The demo's part 1 counts the events the field apps sent, whatever else the timeline holds."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from engine.demo import _sent_by_a_field_app
from engine.kernel.apply import CLOCK_TYPE


class Rec(NamedTuple):
    value: bytes


def entry(**fields: Any) -> Rec:
    return Rec(json.dumps({"subject_kind": "hazard", "type": "safety.hazard.reported", **fields}).encode())


def test_a_clock_that_fired_and_an_enterprises_entry_are_not_counted() -> None:
    assert _sent_by_a_field_app(entry())
    assert _sent_by_a_field_app(entry(subject_kind="alert", type="safety.alert.raised"))
    assert not _sent_by_a_field_app(entry(subject_kind="alert", type=CLOCK_TYPE))
    assert not _sent_by_a_field_app(entry(subject_kind="enterprise", type="safety.enterprise.linked"))
    assert not _sent_by_a_field_app(entry(subject_kind="plan"))
