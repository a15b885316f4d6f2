"""The poison hook and the dead-letter record: inert unless set, specific when it fires."""

from __future__ import annotations

import base64
import json

import pytest

from engine.deadletter import Poison, PoisonForTests, dead_letter
from engine.intake.process import Record, processing_failure


def test_unset_hook_checks_nothing() -> None:
    """Production leaves HAZARD_TEST_POISON unset: no marker, no exception."""
    for spec in (None, "", " , "):
        Poison.parse(spec).check("decide", b"POISON anywhere")


def test_hook_raises_only_for_its_agent_and_marker() -> None:
    """decide:MARK makes the decide agent raise on records carrying MARK, nothing else."""
    hook = Poison.parse("decide:PILL-1,intake:PILL-2")
    hook.check("decide", b'{"note": "harmless"}')
    hook.check("intake", b'{"note": "PILL-1"}')
    with pytest.raises(PoisonForTests, match="PILL-1"):
        hook.check("decide", b'{"note": "PILL-1"}')
    with pytest.raises(PoisonForTests, match="PILL-2"):
        hook.check("intake", b"PILL-2")


@pytest.mark.parametrize("spec", ["PILL", "render:PILL", "decide:", ":PILL"])
def test_a_malformed_hook_is_refused_with_its_part(spec: str) -> None:
    """A typo in the hook must not silently disable the test that relies on it."""
    with pytest.raises(ValueError, match="HAZARD_TEST_POISON"):
        Poison.parse(spec)


def test_dead_letter_keeps_the_record_and_the_exception() -> None:
    """The letter has the exception type, message and traceback, and the record's bytes."""
    try:
        raise KeyError("grade")
    except KeyError as exc:
        letter = dead_letter("decide", "engine.timeline", 2, 41, b"HZ-1", b'{"x": 1}', exc)
    again = dead_letter("decide", "engine.timeline", 2, 41, b"HZ-1", b'{"x": 1}', KeyError("grade"))
    assert letter["id"] == again["id"]  # derived from the position: a redelivery repeats it
    assert letter["error"]["type"] == "KeyError" and "grade" in letter["error"]["message"]
    assert "raise KeyError" in letter["error"]["traceback"]
    assert letter["value"] == '{"x": 1}' and base64.b64decode(letter["value_base64"]) == b'{"x": 1}'
    assert (letter["topic"], letter["partition"], letter["offset"], letter["key"]) == (
        "engine.timeline", 2, 41, "HZ-1")
    binary = dead_letter("decide", "t", 0, 1, None, b"\xff\xfe", ValueError("x"))
    assert binary["value"] is None and binary["value_base64"] == "//4="


def test_an_intake_failure_is_a_rejection_naming_the_exception() -> None:
    """An intake record the engine fails on is rejected as processing_error, bytes kept."""
    out = processing_failure(Record("hazard.reports", 1, 7, b"HZ-9", b"{}", 0), ZeroDivisionError("x"))
    assert out.kind == "rejected" and out.reasons == ("processing_error",)
    event = json.loads(out.sends[0].value)
    assert event["type"] == "safety.intake.rejected"
    assert "ZeroDivisionError" in event["data"]["errors"][0]["msg"]
    assert event["data"]["offset"] == 7 and event["data"]["raw_base64"] == "e30="
