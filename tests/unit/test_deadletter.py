"""The fault suite's poisoned stages, and the dead-letter record an engine fault leaves."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest
from faults.poisoned_worker import DECIDE_MARK, INTAKE_MARK, POISON, PoisonForTests, plant

from engine.deadletter import dead_letter
from engine.intake.process import RAW_EXCERPT_BYTES, Record, processing_failure
from engine.settings import Settings
from engine.tools import deadletter


def test_poisoned_stage_raises_only_for_its_own_marker() -> None:
    """The suite's poison: each stage raises on records carrying its marker, and on nothing else."""
    POISON.check("decide", b'{"note": "harmless"}')
    POISON.check("intake", b'{"note": "' + DECIDE_MARK + b'"}')
    with pytest.raises(PoisonForTests, match=DECIDE_MARK.decode()):
        POISON.check("decide", b'{"note": "' + DECIDE_MARK + b'"}')
    with pytest.raises(PoisonForTests, match=INTAKE_MARK.decode()):
        POISON.check("intake", INTAKE_MARK)


def test_planted_poison_wraps_the_stages_a_runtime_calls() -> None:
    """`plant` wraps both stage functions where a runtime module looks them up, and only them."""
    calls = []
    module = SimpleNamespace(decide_intake=lambda record, *a: calls.append("intake") or "out",
                             decide_entry=lambda cores, tables, key, value: calls.append("decide"))
    plant(module)
    assert module.decide_intake(SimpleNamespace(value=b"fine"), "x") == "out"
    module.decide_entry(None, None, b"k", b"fine")
    with pytest.raises(PoisonForTests):
        module.decide_intake(SimpleNamespace(value=INTAKE_MARK), "x")
    with pytest.raises(PoisonForTests):
        module.decide_entry(None, None, b"k", DECIDE_MARK)
    assert calls == ["intake", "decide"]


def test_planted_poison_passes_on_every_argument_the_stages_take() -> None:
    """A stage that gains a parameter (decide_entry's `histories`) still gets it through the poison;
    a wrapper that dropped it made every decision of the fault suite's poisoned worker fail."""
    seen = []
    module = SimpleNamespace(decide_intake=lambda *a, **k: seen.append((a, k)),
                             decide_entry=lambda *a, **k: seen.append((a, k)))
    plant(module)
    record = SimpleNamespace(value=b"fine")
    module.decide_intake(record, "seen", "reference", 5, topic="t")
    module.decide_entry("cores", "tables", b"k", b"fine", "histories", extra=1)
    assert seen == [((record, "seen", "reference", 5), {"topic": "t"}),
                    (("cores", "tables", b"k", b"fine", "histories"), {"extra": 1})]


def test_the_product_has_no_poison_switch() -> None:
    """No setting of the product plants poison: the fault suite has its own entry point."""
    assert not [name for name in Settings.model_fields if "poison" in name]


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


def test_a_letter_is_read_back_with_the_entry_it_set_aside_and_described_in_one_line() -> None:
    """`deadletter` reads a letter as the worker wrote it: the entry's bytes as they were, and a line
    naming the letter, where the entry was, what it was about and what raised."""
    entry = {"type": "safety.hazard.reported", "subject": "HZ-1", "event_id": "ev-1"}
    value = json.dumps(entry).encode()
    letter = dead_letter("decide", "p.engine.timeline", 2, 41, b"HZ-1", value, KeyError("lifted"))
    read = deadletter._letter(json.dumps(letter).encode())
    assert deadletter.entry_of(read) == value
    line = deadletter.describe(read)
    assert line.startswith(f"{letter['id']} {letter['failed_at']} decide p.engine.timeline[2]@41 "
                           "safety.hazard.reported HZ-1: KeyError: 'lifted'")


@pytest.mark.parametrize(("value", "why"), [
    (b"\xff", "not JSON"), (b"[1]", "not a JSON object"), (b'{"id": "x"}', "no 'agent'"),
    (b'{"id": "x", "agent": "decide", "topic": "t", "partition": "0", "offset": 1, "value_base64": ""}',
     "no 'partition' of type int"),
])
def test_a_record_that_is_no_letter_is_named_and_not_sent(value: bytes, why: str) -> None:
    with pytest.raises(deadletter.BadLetter, match=why):
        deadletter._letter(value)
    letter = dead_letter("decide", "t", 0, 1, None, b"{}", ValueError("x"))
    with pytest.raises(deadletter.BadLetter, match="not base64"):
        deadletter._letter(json.dumps({**letter, "value_base64": "%%%"}).encode())


def test_an_intake_failure_is_a_letter_sent_again_as_its_rejection_keeps_it_only_when_whole() -> None:
    """A binary-mode record the intake failed on is a letter naming its type and subject from its
    headers; once its topic has let it go, it is sent again as the rejection keeps it, key, bytes
    and headers, when none of them was cut, and not at all when one was."""
    headers = (("ce_type", b"safety.hazard.reported"), ("ce_subject", b"HZ-9"), ("ce_id", b"ev-9"))
    record = Record("p.hazard.reports", 1, 7, b"HZ-9", b'{"hazard_id": "HZ-9"}', 0, headers)
    event = json.loads(processing_failure(record, ZeroDivisionError("x")).sends[0].value)
    letter = deadletter.intake_letter(event)
    assert letter is not None and letter["whole"]
    assert deadletter.as_rejected(letter) == (b"HZ-9", record.value, list(headers))
    line = deadletter.describe({**letter, "sent_again": []})
    assert f"{event['id']} {event['time']} intake p.hazard.reports[1]@7 safety.hazard.reported HZ-9: " \
           "processing_error: the engine failed on this record: ZeroDivisionError: x" == line
    long = Record(*record[:4], b"x" * (RAW_EXCERPT_BYTES + 1), 0, headers)
    cut = deadletter.intake_letter(json.loads(processing_failure(long, ValueError("y")).sends[0].value))
    assert cut is not None and not cut["whole"] and deadletter.as_rejected(cut) is None
    refused = {**event, "data": {**event["data"], "errors": [{"loc": [], "msg": "no", "type": "missing"}]}}
    assert deadletter.intake_letter(refused) is None  # the sender's fault: no letter
