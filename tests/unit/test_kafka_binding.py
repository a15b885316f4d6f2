"""The CloudEvents Kafka binding at intake: binary and structured mode, headers and keys (issue 15)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from engine.intake.process import HEADER_EXCERPT_BYTES, MAX_HEADERS, TIMELINE, Record, decide_intake
from engine.reference import load_reference

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO.parent / "shared" / "contract" / "examples"
KNOWN = load_reference(REPO / "rules")
REPORT = json.loads((EXAMPLES / "hazard-reported.json").read_text(encoding="utf-8"))
SUBJECT = REPORT["subject"].encode()
STRUCTURED = [("content-type", b"application/cloudevents+json")]


def binary(event: dict) -> tuple[list[tuple[str, bytes]], bytes]:
    """The headers and value of `event` in binary mode, as the binding spec lays it out."""
    headers = [(f"ce_{name}", str(value).encode()) for name, value in event.items()
               if name not in ("data", "datacontenttype")]
    if "datacontenttype" in event:
        headers.append(("content-type", event["datacontenttype"].encode()))
    return headers, json.dumps(event["data"]).encode()


def decide(value: bytes | None, headers=(), key: bytes | None = SUBJECT, offset: int = 0,
           topic: str = "hazard.reports", seen=None):
    """The intake outcome of one record on `topic`."""
    rec = Record(topic, 0, offset, key, value, 1_764_465_120_000, tuple(headers))
    return decide_intake(rec, (seen or {}).get, KNOWN)


def errors(out) -> list[tuple[str, str, str]]:
    """(loc, type, msg) of each error of a rejection."""
    assert out.kind == "rejected", out
    data = json.loads(out.sends[0].value)["data"]
    return [(".".join(str(p) for p in e["loc"]), e["type"], e["msg"]) for e in data["errors"]]


def entry(out) -> dict:
    """The one timeline entry of an accepted record."""
    assert out.kind == "accepted", out
    [send] = out.sends
    assert send.topic == TIMELINE
    return json.loads(send.value)


def test_binary_record_gives_the_same_timeline_entry_as_the_structured_one() -> None:
    """ce_ headers and data as the value make the very entry the structured event makes."""
    headers, value = binary(REPORT)
    structured = decide(json.dumps(REPORT).encode(), STRUCTURED)
    assert decide(value, headers).sends == structured.sends


def test_a_structured_record_needs_no_content_type_header() -> None:
    """Today's producers send no headers at all, and their events are still accepted."""
    assert decide(json.dumps(REPORT).encode()).kind == "accepted"


def test_binary_errors_are_the_structured_errors_with_the_same_loc() -> None:
    """A time without an offset in ce_time is rejected in the very words structured mode uses."""
    event = REPORT | {"time": "2026-11-30T09:12:00"}
    headers, value = binary(event)
    got = errors(decide(value, headers))
    assert got == errors(decide(json.dumps(event).encode()))
    assert got[0][:2] == ("time", "timezone_aware")


def test_a_binary_record_without_ce_specversion_is_told_so() -> None:
    """ce_ headers without ce_specversion: the rejection names specversion, not an unknown type."""
    headers, value = binary(REPORT)
    headers = [h for h in headers if h[0] != "ce_specversion"]
    assert errors(decide(value, headers)) == [
        ("specversion", "missing", "Field required (the contract requires it)")]


def test_binary_header_names_are_read_without_case() -> None:
    """CE_ID and Content-Type are the same headers as ce_id and content-type, as the SDKs read them."""
    headers, value = binary(REPORT)
    headers = [(name.upper() if name in ("ce_id", "content-type") else name, v) for name, v in headers]
    assert entry(decide(value, headers))["event_id"] == REPORT["id"]


def test_unknown_ce_headers_are_extension_attributes() -> None:
    """An extension attribute such as ce_traceparent is accepted and left out of the timeline."""
    headers, value = binary(REPORT)
    plain = entry(decide(value, headers))
    extended = entry(decide(value, [*headers, ("ce_traceparent", b"00-abc-01"), ("x-other", b"\xff")]))
    assert extended == plain


def test_binary_data_that_is_not_json_is_named_as_data() -> None:
    """A binary value that is not JSON is not_json at loc data, with the parser's position."""
    headers, _ = binary(REPORT)
    [(loc, code, msg)] = errors(decide(b'{"hazard_id": ', headers))
    assert (loc, code) == ("data", "not_json") and "line 1 column 15" in msg


def test_binary_record_without_a_value_lacks_its_data() -> None:
    """A binary record whose value is null is an event without data, which the contract refuses."""
    headers, _ = binary(REPORT)
    assert [e[:2] for e in errors(decide(None, headers))] == [("data", "missing")]


def test_a_header_that_is_not_utf8_is_a_bad_header() -> None:
    """A ce_ header whose value is not UTF-8 is bad_header, naming the header and the byte."""
    headers, value = binary(REPORT)
    headers = [(n, b"\xffid" if n == "ce_id" else v) for n, v in headers]
    [(loc, code, msg)] = errors(decide(value, headers))
    assert (loc, code) == ("headers.ce_id", "bad_header") and "at byte 0" in msg


@pytest.mark.parametrize("name,word", [
    ("ce_data", "data is the record value"),
    ("ce_datacontenttype", "content-type header"),
    ("ce_trace-id", "lower-case letters and digits"),
])
def test_a_ce_header_that_cannot_be_an_attribute_is_a_bad_header(name: str, word: str) -> None:
    """ce_data, ce_datacontenttype and names outside [a-z0-9] are bad_header, each saying why."""
    headers, value = binary(REPORT)
    [(loc, code, msg)] = errors(decide(value, [*headers, (name, b"x")]))
    assert (loc, code) == (f"headers.{name}", "bad_header") and word in msg


def test_a_ce_header_without_a_value_is_a_bad_header() -> None:
    """A ce_ header whose value is null is bad_header."""
    headers, value = binary(REPORT)
    headers = [(n, None if n == "ce_source" else v) for n, v in headers]
    assert errors(decide(value, headers))[0][:2] == ("headers.ce_source", "bad_header")


def test_a_header_given_twice_is_rejected_once() -> None:
    """ce_id sent twice (in any case) is one duplicate_header error, whatever the values."""
    headers, value = binary(REPORT)
    [(loc, code, msg)] = errors(decide(value, [*headers, ("CE_ID", b"other"), ("ce_id", b"x")]))
    assert (loc, code) == ("headers.ce_id", "duplicate_header") and "3 times" in msg
    # A later copy is not judged apart: one with no value adds no error of its own.
    [(loc, code, msg)] = errors(decide(value, [*headers, ("ce_id", None)]))
    assert (loc, code) == ("headers.ce_id", "duplicate_header") and "2 times" in msg


def test_binary_record_whose_content_type_is_not_json_is_unsupported() -> None:
    """content-type text/plain on a binary record is unsupported_content_type at datacontenttype."""
    headers, value = binary(REPORT | {"datacontenttype": "text/plain"})
    [(loc, code, msg)] = errors(decide(value, headers))
    assert (loc, code) == ("datacontenttype", "unsupported_content_type") and "'text/plain'" in msg


def test_binary_content_type_with_charset_utf8_is_accepted_and_latin1_is_not() -> None:
    """content-type application/json; charset=utf-8 passes; charset=latin-1 is unsupported_charset."""
    headers, value = binary(REPORT | {"datacontenttype": "application/json; charset=utf-8"})
    assert decide(value, headers).kind == "accepted"
    headers, value = binary(REPORT | {"datacontenttype": "application/json; charset=latin-1"})
    assert [e[:2] for e in errors(decide(value, headers))] == [("datacontenttype", "unsupported_charset")]


def test_ce_headers_with_a_structured_body_are_mixed_mode() -> None:
    """ce_ headers and content-type application/cloudevents+json together are mixed_mode."""
    headers, _ = binary(REPORT)
    headers = [h for h in headers if h[0] != "content-type"] + STRUCTURED
    [(loc, code, msg)] = errors(decide(json.dumps(REPORT).encode(), headers))
    assert (loc, code) == ("headers.content-type", "mixed_mode") and "either" in msg


def test_a_whole_event_with_a_stray_ce_header_is_mixed_mode() -> None:
    """A structured record (no content-type, or application/json) that picked up one ce_ header was
    judged as binary: its value taken for the data, and rejected for missing specversion, id, source
    and the rest. Its value is a whole event, so it is mixed_mode, naming the header; a binary record
    without ce_specversion whose value is data alone still lacks specversion."""
    whole = json.dumps(REPORT).encode()
    for extra in ([], [("content-type", b"application/json")]):
        [(loc, code, msg)] = errors(decide(whole, [("ce_traceparent", b"00-4bf92f-00f067-01"), *extra]))
        assert (loc, code) == ("headers.ce_traceparent", "mixed_mode") and "whole event" in msg
    headers, value = binary(REPORT)
    without = [h for h in headers if h[0] != "ce_specversion"]
    assert [e[:2] for e in errors(decide(value, without))] == [("specversion", "missing")]


@pytest.mark.parametrize("content_type,code", [
    ("application/cloudevents+json", None),
    ("application/cloudevents+json; charset=UTF-8", None),
    ("application/json", None),  # what the 1.x Python SDK's to_structured writes
    ("text/plain", "unsupported_content_type"),
    ("application/xml; charset=utf-8", "unsupported_content_type"),
    ("application/cloudevents+json; charset=latin-1", "unsupported_charset"),
    ("application/json; charset=latin-1", "unsupported_charset"),
])
def test_structured_content_type_header(content_type: str, code: str | None) -> None:
    """Without ce_ headers a content-type, when sent, is the structured format or JSON, in UTF-8."""
    out = decide(json.dumps(REPORT).encode(), [("content-type", content_type.encode())])
    if code is None:
        assert out.kind == "accepted"
    else:
        [(loc, got, _)] = errors(out)
        assert (loc, got) == ("headers.content-type", code)


def test_a_key_naming_another_subject_is_key_mismatch() -> None:
    """A non-null key that is not the subject is key_mismatch, and the message names both."""
    for value, headers in ((json.dumps(REPORT).encode(), ()), binary(REPORT)[::-1]):
        [(loc, code, msg)] = errors(decide(value, headers, key=b"HZ-OTHER"))
        assert (loc, code) == ("key", "key_mismatch")
        assert "'HZ-OTHER'" in msg and "'HZ-20261130-0001'" in msg


def test_a_key_that_is_not_utf8_is_key_mismatch() -> None:
    """A key of bytes that are not UTF-8 cannot name the subject: key_mismatch, saying why."""
    [(loc, code, msg)] = errors(decide(json.dumps(REPORT).encode(), key=b"\xff\xfe"))
    assert (loc, code) == ("key", "key_mismatch") and "not UTF-8" in msg


def test_a_null_key_is_accepted_and_the_entry_is_keyed_by_subject() -> None:
    """A null key is routed by subject: the timeline entry's key is the subject all the same."""
    for value, headers in ((json.dumps(REPORT).encode(), ()), binary(REPORT)[::-1]):
        out = decide(value, headers, key=None)
        assert out.kind == "accepted" and out.sends[0].key == SUBJECT


def test_a_key_mismatch_is_reported_with_the_other_faults() -> None:
    """A wrong key does not hide the event's other faults, nor they it."""
    event = json.loads(json.dumps(REPORT))
    event["data"]["location"]["town"] = "atlantis"
    got = {e[:2] for e in errors(decide(json.dumps(event).encode(), key=b"HZ-OTHER"))}
    assert got == {("key", "key_mismatch"), ("data.location.town", "unknown_town")}


def test_binary_rejection_keeps_the_headers_to_send_again() -> None:
    """A rejected binary record's headers are in the rejection with the value's bytes."""
    headers, value = binary(REPORT | {"time": "yesterday"})
    data = json.loads(decide(value, headers).sends[0].value)["data"]
    assert base64.b64decode(data["raw_base64"]) == value
    assert [(h["name"], base64.b64decode(h["value_base64"])) for h in data["headers"]] == headers


def test_rejected_headers_are_bounded() -> None:
    """Many or long headers are cut: the first ones, each to an excerpt with size and SHA-256."""
    long = b"v" * (HEADER_EXCERPT_BYTES * 3)
    headers = [("x-long", long), *((f"x-{i}", b"1") for i in range(MAX_HEADERS * 2))]
    data = json.loads(decide(b"{not json", headers).sends[0].value)["data"]
    assert len(data["headers"]) == MAX_HEADERS
    first = data["headers"][0]
    assert base64.b64decode(first["value_base64"]) == long[:HEADER_EXCERPT_BYTES]
    assert (first["value_bytes"], first["value_sha256"]) == (len(long), hashlib.sha256(long).hexdigest())
    assert "value_bytes" not in data["headers"][1]


def test_a_rejection_without_headers_has_no_headers_field() -> None:
    """A record without headers is rejected exactly as before: no headers field is added."""
    data = json.loads(decide(b"{not json").sends[0].value)["data"]
    assert "headers" not in data


def test_binary_copy_with_other_attributes_is_a_conflicting_duplicate() -> None:
    """The same source and id with another ce_time is flagged conflicting, though the data is equal."""
    seen: dict[str, str] = {}
    headers, value = binary(REPORT)
    first = decide(value, headers, seen=seen)
    seen[first.remember[0]] = first.remember[1]
    same = decide(value, headers, offset=5, seen=seen)
    moved = [(n, b"2026-11-30T09:13:00+08:00" if n == "ce_time" else v) for n, v in headers]
    other = decide(value, moved, offset=6, seen=seen)
    assert json.loads(same.sends[0].value)["conflicting"] is False
    assert json.loads(other.sends[0].value)["conflicting"] is True


def test_binary_record_too_large_with_its_headers() -> None:
    """The size limit counts a binary record's headers with its value."""
    headers, value = binary(REPORT)
    rec = Record("hazard.reports", 0, 0, SUBJECT, value, 0, (*headers, ("ce_pad", b"x" * 2048)))
    out = decide_intake(rec, {}.get, KNOWN, max_bytes=2048)
    assert [e[:2] for e in errors(out)] == [("record", "too_large")]


# The plain shape intake's fast path reads (engine/intake/fast.py): no datacontenttype, no headers.
PLAIN = {name: value for name, value in REPORT.items() if name != "datacontenttype"}


def test_a_record_the_fast_path_could_read_is_still_judged_by_its_topic_size_and_headers() -> None:
    """A report of the plain shape the fast path accepts is rejected all the same on another
    event type's topic, past the size limit, and in binary mode, where the value is the data and
    not a whole event: those are the record's, and the fast path is asked only once they pass."""
    value = json.dumps(PLAIN).encode()
    assert decide(value).kind == "accepted"
    assert [e[1] for e in errors(decide(value, topic="responder.alerts"))] == ["wrong_topic"]
    rec = Record("hazard.reports", 0, 0, SUBJECT, value, 1_764_465_120_000)
    too_large = errors(decide_intake(rec, {}.get, KNOWN, max_bytes=len(value) - 1))
    assert [e[1] for e in too_large] == ["too_large"]
    headers, data = binary(PLAIN)  # no content-type header: the data is JSON, as the contract's events are
    assert decide(data, headers).sends == decide(value).sends
    assert {e[0].split(".")[0] for e in errors(decide(value, headers))} == {"data"}  # an envelope is no data


@pytest.mark.parametrize("mode", ["structured", "binary"])
def test_a_record_of_exactly_the_size_limit_is_taken(mode: str) -> None:
    """The limit is the largest record taken: at it, accepted; a byte over, too_large."""
    headers, value = binary(REPORT) if mode == "binary" else ((), json.dumps(REPORT).encode())
    size = len(value) + sum(len(name) + len(v) for name, v in headers)
    rec = Record("hazard.reports", 0, 0, SUBJECT, value, 1_764_465_120_000, tuple(headers))
    assert decide_intake(rec, {}.get, KNOWN, max_bytes=size).kind == "accepted"
    assert [e[1] for e in errors(decide_intake(rec, {}.get, KNOWN, max_bytes=size - 1))] == ["too_large"]
