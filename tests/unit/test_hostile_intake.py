"""Hostile input at intake: bad input is classified as bad input, and every rejection fits its topic."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from engine.intake import validate
from engine.intake.binding import validate_kafka_record
from engine.intake.process import KEY_EXCERPT_BYTES, MAX_ERRORS, RAW_EXCERPT_BYTES, Record, decide_intake
from engine.intake.validate import Accepted, Invalid, validate_record
from engine.reference import load_reference

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO.parent / "shared" / "contract" / "examples"
KNOWN = load_reference(REPO / "rules")
REPORT = (EXAMPLES / "hazard-reported.json").read_text(encoding="utf-8")


def reasons(raw: bytes) -> list[str]:
    """The rejection types validation gives `raw` on hazard.reports."""
    result = validate_record(raw, "hazard.reports", KNOWN)
    assert isinstance(result, Invalid), "expected a rejection"
    return [e.type for e in result.errors]


@pytest.mark.parametrize("depth", [1025, 5000])
def test_nesting_past_the_limit_is_too_deep_not_an_engine_failure(depth: int) -> None:
    """Arrays nested past 1024 levels are rejected as too_deep instead of exhausting the stack
    (100,000 levels are more items than an event may hold: too_intricate, below)."""
    assert reasons(b"[" * depth + b"]" * depth) == ["too_deep"]
    inside = REPORT.replace('"data":', '"x": ' + "[" * depth + "]" * depth + ', "data":')
    assert reasons(inside.encode()) == ["too_deep"]


def _junk(items: int) -> bytes:
    """The example report with `items` empty arrays under a field the contract does not know."""
    return REPORT.replace('"data": {', '"data": {"k": [' + "[]," * items + '0], ', 1).encode()


def test_an_event_of_more_json_items_than_the_limit_is_refused_unparsed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """1 MiB of empty arrays under an unknown field took pydantic 1.3 s to refuse (each of its
    errors copies the data): past MAX_JSON_ITEMS the record is refused before any parser runs,
    on both paths of intake and in binary mode's data."""
    assert validate.MAX_JSON_ITEMS == 20_000
    assert "too_intricate" not in reasons(_junk(9_000))  # 18,000 and the report's own: under it
    monkeypatch.setattr(validate, "_parse", lambda *a, **k: pytest.fail("parsed"))
    result = validate_record(_junk(10_000), "hazard.reports", KNOWN)
    assert isinstance(result, Invalid) and [e.type for e in result.errors] == ["too_intricate"]
    assert result.errors[0].loc == ["record"] and "may hold 20000" in result.errors[0].msg
    record = Record("hazard.reports", 0, 7, b"HZ-20261130-0001", _junk(340_000), 1_796_000_000_000)
    assert decide_intake(record, {}.get, KNOWN, 1 << 20, "hazard.reports").reasons == ("too_intricate",)
    data = b'{"k": [' + b"[]," * 10_000 + b"0]}"
    headers = (("ce_specversion", b"1.0"), ("ce_id", b"r-1"), ("ce_source", b"/apps/x"),
               ("ce_type", b"safety.hazard.reported"), ("ce_subject", b"HZ-1"),
               ("ce_time", b"2026-11-30T09:12:00+08:00"), ("content-type", b"application/json"))
    binary = validate_kafka_record(None, headers, data, "hazard.reports", KNOWN, 1 << 20)
    assert isinstance(binary, Invalid) and [(e.type, e.loc) for e in binary.errors] == [
        ("too_intricate", ["data"])]


def test_the_largest_inspection_the_contract_allows_is_within_the_item_limit() -> None:
    """500 findings with long texts full of commas and colons, 50 inspectors: the count leaves
    what strings hold out, so the contract's largest event is far from the limit."""
    event = json.loads((EXAMPLES / "inspection-recorded.json").read_text(encoding="utf-8"))
    finding = event["data"]["findings"][0]
    event["data"]["findings"] = [dict(finding, hazard_id=f"HZ-20261130-{n:04d}", rectify_by="2026-12-30",
                                      description="gap: valve, [seal], {tag}, " * 60)
                                 for n in range(500)]
    event["data"]["inspectors"] = [dict(event["data"]["inspectors"][0], id=f"insp-{n:03d}")
                                   for n in range(50)]
    raw = json.dumps(event).encode()
    assert validate.json_items_over(raw, 0) < validate.MAX_JSON_ITEMS // 2 < validate.json_items_at_most(raw)
    assert "too_intricate" not in [e.type for e in getattr(
        validate_record(raw, "inspection.findings", KNOWN), "errors", ())]


def test_a_key_given_twice_is_rejected_and_named() -> None:
    """The same key twice in one object is ambiguous: rejected as duplicate_key, naming the key."""
    twice = REPORT.replace('"title":', '"title": "something else", "title":')
    result = validate_record(twice.encode(), "hazard.reports", KNOWN)
    assert isinstance(result, Invalid)
    [error] = result.errors
    assert error.type == "duplicate_key" and "'title'" in error.msg


def test_a_key_given_twice_is_found_beside_escaped_backslashes() -> None:
    """The quick count steps aside for escaped backslashes; the exact look still finds the key."""
    event = json.loads(REPORT)
    event["data"]["description"] = "C:\\\\share\\"
    text = json.dumps(event).replace('"id":', '"id": "x", "id":', 1)
    assert reasons(text.encode()) == ["duplicate_key"]


def test_escaped_quotes_and_backslashes_alone_are_not_mistaken_for_a_repeated_key() -> None:
    """Quotes and backslashes inside strings leave an event valid."""
    event = json.loads(REPORT)
    event["data"]["description"] = 'a "quoted" word, a path C:\\temp\\ and a lone \\" mark'
    result = validate_record(json.dumps(event).encode(), "hazard.reports", KNOWN)
    assert isinstance(result, Accepted), getattr(result, "errors", None)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e400"])
def test_numbers_json_parsers_read_differently_are_rejected(number: str) -> None:
    """NaN, Infinity and a number beyond a double are rejected as ambiguous_json."""
    text = REPORT.replace('"lat": 36.4412', f'"lat": {number}')
    assert reasons(text.encode()) == ["ambiguous_json"]


def test_a_number_of_more_digits_than_python_converts_is_ambiguous_json_not_an_engine_failure() -> None:
    """A 5,000-digit integer: orjson refuses it and the stdlib, asked where the error is, raised
    ValueError, which made intake's `processing_error` (a dead letter that pages)."""
    text = REPORT.replace('"lat": 36.4412', '"lat": ' + "9" * 5000)
    result = validate_record(text.encode(), "hazard.reports", KNOWN)
    assert isinstance(result, Invalid)
    [error] = result.errors
    assert error.type == "ambiguous_json" and "more than 4,300 digits" in error.msg
    headers = [(f"ce_{k}", str(v).encode()) for k, v in json.loads(REPORT).items()
               if k not in ("data", "datacontenttype")]
    binary = validate_kafka_record(None, [*headers, ("content-type", b"application/json")],
                                   b'{"x": ' + b"1" * 5000 + b"}", "hazard.reports", KNOWN)
    assert isinstance(binary, Invalid) and [e.type for e in binary.errors] == ["ambiguous_json"]
    out = decide_intake(Record("hazard.reports", 0, 1, None, text.encode(), 1_764_465_120_000), {}.get, KNOWN)
    assert out.kind == "rejected"
    assert [e["type"] for e in json.loads(out.sends[0].value)["data"]["errors"]] == ["ambiguous_json"]


def _record(type_: str, topic: str, data: dict, time: str = "2026-11-30T09:12:00+08:00") -> Record:
    event = {"specversion": "1.0", "id": "ev-span", "source": "/apps/test", "type": type_, "time": time,
             "subject": data.get("hazard_id", "HZ-1"), "data": data}
    return Record(topic, 0, 7, None, json.dumps(event).encode(), 1_764_465_120_000)


SUPERVISOR = {"id": "sup-01", "role": "supervisor"}
_REPORT_DATA = json.loads(REPORT)["data"]


@pytest.mark.parametrize(("record", "loc"), [
    (_record("safety.hazard.reported", "hazard.reports", _REPORT_DATA, "9999-12-31T23:59:59Z"), ["time"]),
    (_record("safety.hazard.reported", "hazard.reports", _REPORT_DATA, "0001-01-01T00:00:00+14:00"),
     ["time"]),
    (_record("safety.rectification.extension_decided", "rectification.updates",
             {"hazard_id": "HZ-1", "approved": True, "new_deadline": "0001-01-02", "by": SUPERVISOR}),
     ["data", "new_deadline"]),
    (_record("safety.rectification.extension_requested", "rectification.updates",
             {"hazard_id": "HZ-1", "requested_until": "0001-01-01T00:00:00+14:00", "reason": "r",
              "by": {"id": "e", "role": "enterprise"}}), ["data", "requested_until"]),
    (_record("safety.rectification.extension_requested", "rectification.updates",
             {"hazard_id": "HZ-1", "requested_until": "9999-12-31T23:59:59-10:00", "reason": "r",
              "by": {"id": "e", "role": "enterprise"}}), ["data", "requested_until"]),
    (_record("safety.hazard.reported", "hazard.reports", {**_REPORT_DATA, "rectify_by": "2200-01-01"}),
     ["data", "rectify_by"]),
])
def test_a_date_outside_the_contracts_span_is_rejected_naming_it(record: Record, loc: list) -> None:
    """Near year 1 or 9999 the hour in Asia/Shanghai overflowed when the event was normalised
    (processing_error, a dead letter), or an approved extension's new deadline was taken and
    raised OverflowError when the ladder counted from it (a decision dead-lettered, the record
    lost): now `date_range`, naming the field and the years the engine counts with."""
    out = decide_intake(record, {}.get, KNOWN)
    assert out.kind == "rejected", out
    [error] = json.loads(out.sends[0].value)["data"]["errors"]
    assert (error["type"], error["loc"]) == ("date_range", loc)
    assert "outside the years 1901 to 2199" in error["msg"]


def test_an_unpaired_surrogate_is_rejected() -> None:
    """A string with half of a UTF-16 pair cannot be written back as UTF-8: ambiguous_json."""
    text = REPORT.replace('"title": "Fire', '"title": "\\ud800 Fire')
    assert reasons(text.encode()) == ["ambiguous_json"]


def rejection(key: bytes | None, value: bytes) -> tuple[bytes | None, dict]:
    """The key and data of the rejection intake makes of one record."""
    out = decide_intake(Record("hazard.reports", 2, 179, key, value, 1_764_465_120_000), {}.get, KNOWN)
    assert out.kind == "rejected"
    [send] = out.sends
    return send.key, json.loads(send.value)["data"]


def test_an_oversized_invalid_utf8_key_is_cut_to_an_excerpt_with_its_digest() -> None:
    """A 3 MiB key of bad UTF-8: the rejection keeps its start, size and SHA-256, and stays small."""
    key = b"\xff\xfe" * (3 << 19)
    out_key, data = rejection(key, b"{not json")
    digest = hashlib.sha256(key).hexdigest()
    assert out_key == f"sha256:{digest}".encode()
    assert data["key_bytes"] == len(key) and data["key_sha256"] == digest
    assert len(data["key"].encode()) <= 4 * KEY_EXCERPT_BYTES  # backslash escapes at most quadruple it
    assert (data["topic"], data["partition"], data["offset"]) == ("hazard.reports", 2, 179)


def test_an_oversized_value_is_cut_to_an_excerpt_with_its_digest() -> None:
    """A 5 MiB value: the rejection keeps the first 4 MiB, the size and the SHA-256 of the whole."""
    value = b"x" * (5 << 20)
    _, data = rejection(b"HZ-1", value)
    assert base64.b64decode(data["raw_base64"]) == value[:RAW_EXCERPT_BYTES]
    assert data["raw_bytes"] == len(value) and data["raw_sha256"] == hashlib.sha256(value).hexdigest()


def test_a_record_within_the_limits_is_repeated_whole_without_extensions() -> None:
    """Nothing cut, nothing added: key and bytes as they came, no size or digest fields."""
    out_key, data = rejection(b"HZ-1", b"{not json")
    assert out_key == b"HZ-1" and data["key"] == "HZ-1"
    assert base64.b64decode(data["raw_base64"]) == b"{not json"
    assert not {"key_bytes", "key_sha256", "raw_bytes", "raw_sha256"} & set(data)


def test_a_value_of_exactly_the_excerpt_s_size_is_repeated_whole() -> None:
    """The excerpt's size is the most repeated whole: at it, no size or digest; a byte over, both."""
    for extra, cut in ((0, False), (1, True)):
        value = b"x" * (RAW_EXCERPT_BYTES + extra)
        _, data = rejection(b"HZ-1", value)
        assert base64.b64decode(data["raw_base64"]) == value[:RAW_EXCERPT_BYTES]
        assert ("raw_sha256" in data) == ("raw_bytes" in data) == cut


@pytest.mark.parametrize("faults", [MAX_ERRORS, MAX_ERRORS + 1])
def test_up_to_the_most_errors_named_each_is_named(faults: int) -> None:
    """A record with exactly as many faults as a rejection names lists them all; one more, and the
    last is counted instead."""
    event = json.loads(REPORT)
    event["data"].update({f"extra_{i}": i for i in range(faults)})
    _, data = rejection(event["subject"].encode(), json.dumps(event).encode())
    kinds = [e["type"] for e in data["errors"]]
    if faults == MAX_ERRORS:
        assert kinds == ["extra_forbidden"] * MAX_ERRORS
    else:
        assert kinds == ["extra_forbidden"] * MAX_ERRORS + ["too_many_errors"]
        assert data["errors"][-1]["msg"] == "and 1 more errors"


def test_thousands_of_faults_name_the_first_ones_and_count_the_rest() -> None:
    """A record with thousands of unknown fields lists the first errors and says how many more."""
    event = json.loads(REPORT)
    event["data"].update({f"extra_{i}": i for i in range(3000)})
    _, data = rejection(b"HZ-1", json.dumps(event).encode())
    assert len(data["errors"]) == MAX_ERRORS + 1
    assert data["errors"][-1]["type"] == "too_many_errors"
    assert data["errors"][-1]["msg"].startswith("and ")


def test_fuzzed_keys_and_headers_are_classified_and_every_rejection_fits() -> None:
    """Byte-level fuzz of keys and headers (the fault tier's generator): each record is accepted
    or rejected with a named reason, never an engine failure, and every rejection fits its topic."""
    from faults.fuzzgen import records

    fuzzed = list(records(800, sorted(KNOWN.towns), per_type=4, share_valid=0.0, share_bytes=0.0,
                          share_keys=0.5, share_headers=0.5, share_null_keys=0.0))
    seen: dict[str, set[str]] = {}
    for offset, r in enumerate(fuzzed):
        out = decide_intake(Record(r.topic, 0, offset, r.key, r.value, 0, tuple(r.headers)), {}.get,
                            KNOWN, contract_topic=r.topic)
        assert "processing_error" not in out.reasons, (r.kind, out.reasons)
        assert out.kind in ("accepted", "rejected"), r.kind
        assert all(len(s.value) + len(s.key or b"") < 8 * 1024 * 1024 for s in out.sends)
        assert all(len(s.key or b"") <= 2 * KEY_EXCERPT_BYTES for s in out.sends)
        seen.setdefault(r.kind.split(":")[0], set()).add(out.kind)
    # Both kinds of hostility reached both verdicts: the generator is not all noise.
    assert seen == {"key": {"accepted", "rejected"}, "headers": {"accepted", "rejected"}}
