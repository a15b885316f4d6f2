"""Pure validation of one intake record: bytes and topic in, an accepted event or its errors out.

Bad input is data, not an exception: every failure becomes a list of errors as
precise as pydantic gives them, and the caller routes it to `intake.rejected`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from engine import codec
from engine.contract.common import KnownIds
from engine.contract.envelope import EVENT_TYPES, INTAKE_TOPICS, Envelope, EventType, types_on
from engine.contract.outputs import RejectionError
from engine.kernel.time import epoch, iso

MAX_RECORD_BYTES = 1024 * 1024  # 1 MiB, for the JSON of one event
MAX_DEPTH = 1024  # orjson's nesting limit; the contract's events need fewer than ten levels
# The most JSON keys, values and containers one event may hold. An inspection at the contract's
# largest (500 findings, 50 inspectors) holds about 7,900. Past it the record is refused before it
# is parsed: pydantic copies a part of the event for each error found in it, so 1 MiB of empty
# arrays under a field the contract does not know took 1.3 s to check, on the loop that decides
# every other event; just under this limit such a record takes about 50 ms, over it 7 ms.
MAX_JSON_ITEMS = 20_000
# What a parser builds one of after each of these: a key after `{` or `,`, a value after `:`, `[`
# or `,`, and the top value (an empty container is counted twice).
_BUILT_AFTER = b",:[{"


@dataclass(frozen=True, slots=True)
class Accepted:
    """A record that passed every check, with its parsed event and the type it has."""

    event: Envelope
    event_type: EventType
    # The bytes that stand for the event when its record value alone does not (binary mode): what
    # POST /events sends, and what a mark stored before 2026-12-07 holds the digest of.
    content: bytes | None = None


@dataclass(frozen=True, slots=True)
class Invalid:
    """A record that failed; the errors name where and why."""

    errors: tuple[RejectionError, ...]


def _err(loc: tuple[str | int, ...], msg: str, code: str) -> Invalid:
    return Invalid((RejectionError(loc=list(loc), msg=msg, type=code),))


# Pydantic's words, made specific to the contract where a field app needs a hint.
_HINTS = {
    "timezone_aware": "; RFC 3339 times need an offset, e.g. 2026-11-30T09:12:00+08:00",
    "missing": " (the contract requires it)",
    "extra_forbidden": " (the contract does not define this field)",
}


def _from_pydantic(exc: ValidationError) -> Invalid:
    errors = []
    for e in exc.errors(include_url=False, include_input=False):
        # Validators add steps such as 'function-after[...]' to loc; a field app wants the path.
        loc = [p for p in e["loc"] if not (isinstance(p, str) and "[" in p)]
        errors.append(RejectionError(loc=loc, msg=e["msg"] + _HINTS.get(e["type"], ""),
                                     type=e["type"]))
    return Invalid(tuple(errors))


def _parse(value: bytes, text: str, where: str = "record") -> tuple[object, Invalid | None]:
    """The parsed JSON, or why it is refused: not JSON, or JSON that parsers read differently."""
    try:
        raw = codec.loads(value)
    except codec.JSONDecodeError as fast:
        if "depth" in str(fast):  # past orjson's 1024 levels the stdlib would exhaust the stack
            return None, _err((where,), f"nested deeper than {MAX_DEPTH} levels", "too_deep")
        try:  # the stdlib names the line and column of a syntax error
            json.loads(text)
        except RecursionError:
            return None, _err((where,), f"nested deeper than {MAX_DEPTH} levels", "too_deep")
        except json.JSONDecodeError as exc:
            return None, _err((where,), f"not JSON: {exc.msg} at line {exc.lineno} column "
                              f"{exc.colno}", "not_json")
        except ValueError:  # an integer of more digits than CPython converts (4,300 by default)
            return None, _err((where,), "JSON that parsers read differently: a number of more than "
                              f"{sys.get_int_max_str_digits():,} digits, beyond a double, which "
                              "readers round, refuse or take as infinity", "ambiguous_json")
        # The stdlib reads it, orjson does not: NaN or Infinity, a number beyond a double, an
        # unpaired surrogate. Other readers of the timeline would disagree on what it says.
        return None, _err((where,), f"JSON that parsers read differently: {fast}",
                          "ambiguous_json")
    # A key given twice leaves fewer strings after a round trip; only then is the exact look needed.
    strings = _string_tokens(value)
    if strings is None or strings != _string_tokens(codec.dumps(raw)):
        try:
            dup = _duplicate_key(text)
        except RecursionError:
            return None, _err((where,), f"nested deeper than {MAX_DEPTH} levels", "too_deep")
        if dup is not None:
            return None, _err((where,), f"the key {dup!r} appears twice in one object; readers "
                              "would disagree on which value counts", "duplicate_key")
    return raw, None


def _string_tokens(doc: bytes) -> int | None:
    """How many strings (keys and values) a JSON document holds; None if it escapes a backslash."""
    # `find`, not `in`: the same scan at half the instructions (callgrind, CPython 3.11).
    if doc.find(b"\\") < 0:  # most records: no escapes, so every quote opens or closes a string
        return doc.count(b'"') // 2
    if b"\\\\" in doc:
        return None  # a string ending in a backslash hides its closing quote from the count
    return (doc.count(b'"') - doc.count(b'\\"')) // 2


def _duplicate_key(text: str) -> str | None:
    """The first key that appears twice in one object of `text`, if any (a slower, exact look)."""
    found: list[str] = []

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys) and not found:
            found.append(next(k for i, k in enumerate(keys) if k in keys[:i]))
        return dict(items)

    json.loads(text, object_pairs_hook=pairs)
    return found[0] if found else None


def json_items_at_most(doc: bytes) -> int:
    """The most keys, values and containers a parser could build from `doc`, counted without
    parsing it: one for each of `, : [ {` and one for the top value; strings that hold those
    characters make it larger."""
    return len(doc) - len(doc.translate(None, _BUILT_AFTER)) + 1


def json_items_over(doc: bytes, limit: int) -> int | None:
    """How many keys, values and containers `doc` holds (those characters inside strings not
    counted), when that is more than `limit`; None when it is not. Counted without parsing, in
    about a millisecond a MiB: the quick count first, the exact one only when that is over. (Each
    item takes at least one byte: a document shorter than `limit` is not counted at all.)"""
    if len(doc) < limit or json_items_at_most(doc) <= limit:
        return None
    if b"\\" in doc:
        # Escapes first: an escaped backslash, then an escaped quote; every quote left opens or
        # closes a string (JSON has no backslash outside one).
        doc = doc.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(doc.split(b'"')[0::2])
    items = json_items_at_most(outside)
    return items if items > limit else None


def read_json(value: bytes, where: str = "record",
              max_items: int | None = MAX_JSON_ITEMS) -> tuple[object, str] | Invalid:
    """Decode and parse JSON bytes; `where` names them in errors (the record, or a binary event's
    data). JSON of more than `max_items` keys, values and containers is refused unparsed."""
    if max_items is not None and (items := json_items_over(value, max_items)) is not None:
        return _err((where,), f"{where} holds {items} JSON keys, values, arrays and objects; an event "
                    f"may hold {max_items} (the contract's largest inspection holds about 7,900)",
                    "too_intricate")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _err((where,), f"not UTF-8: {exc.reason} at byte {exc.start}", "not_utf8")
    raw, refused = _parse(value, text, where)
    if refused is not None:
        return refused
    return raw, text


def parsed_as_it_is(value: bytes) -> object | None:
    """What `read_json(value)` parses when it takes `value` at the first look, without the text it
    also gives; None for anything else (refused, or a key maybe given twice, which `read_json`
    looks at closer). For the fast accept path (engine/intake/fast.py), which has no use for the
    text of an event it takes; a None sends the record to `read_json` and pydantic.

    No UTF-8 decoding first: orjson refuses what Python's strict decoder refuses (invalid
    sequences, overlong forms, surrogates, code points past U+10FFFF), so both say the same."""
    if len(value) >= MAX_JSON_ITEMS and json_items_over(value, MAX_JSON_ITEMS) is not None:
        return None
    try:
        raw = orjson.loads(value)  # not `codec.loads`: the room it retries with is read_json's case
    except orjson.JSONDecodeError:
        return None
    strings = _string_tokens(value)
    if strings is None or strings != _string_tokens(codec.dumps(raw)):
        return None
    return raw


def _key_problem(key: bytes | None, subject: object) -> RejectionError | None:
    """Why a record key does not fit the event's subject (contract section 1), or None if it does."""
    if key is None or not isinstance(subject, str) or key == subject.encode("utf-8"):
        return None
    try:
        shown = repr(key.decode("utf-8")[:200])
    except UnicodeDecodeError as exc:
        shown = f"of {len(key)} bytes that are not UTF-8 ({exc.reason} at byte {exc.start})"
    return RejectionError(
        loc=["key"],
        msg=f"the record key {shown} is not the event's subject {subject[:200]!r}: key each record "
        "by its subject (or leave the key null), so that every event about one subject shares a "
        "partition",
        type="key_mismatch",
    )


def time_problem(at: int, stale_before: int | None, future_after: int | None) -> RejectionError | None:
    """Why an event that happened at `at` (epoch seconds) cannot be taken for its time, or None.

    Before `stale_before`: the worker keeps each event's de-duplication mark
    for HAZARD_DEDUP_DAYS after the event's time (`engine.stream.marks`), so
    it could not tell an older event from a copy of one it took and forgot.
    After `future_after`: the event says it happened later than the engine's
    clock (and HAZARD_FUTURE_S of leeway). Taken, it would bring its subject's
    clocks forward to that time and fire every deadline before it at once:
    escalations, and referrals of officials, that are not due.
    """
    if stale_before is not None and at < stale_before:
        return RejectionError(
            loc=["time"],
            msg=f"the event happened at {iso(at)}, before {iso(stale_before)}: the engine keeps what it "
            "needs to recognise a copy of an event for HAZARD_DEDUP_DAYS after the event's time, so an "
            "older event could be one it already took; to enter older records, the operator raises "
            "HAZARD_DEDUP_DAYS (0 keeps every mark) and restarts the workers first",
            type="stale",
        )
    if future_after is not None and at > future_after:
        return RejectionError(
            loc=["time"],
            msg=f"the event's time {iso(at)} is after {iso(future_after)}, the engine's clock and "
            "HAZARD_FUTURE_S of leeway: it cannot have happened yet, and taken it would fire the "
            "deadlines of its subject early; check the sending device's clock and the time's UTC "
            "offset, and send it again",
            type="future",
        )
    return None


# The deadlines an event sets on the hazard it opens, by event type: where each sits in its
# (normalised) data. Not an extension's dates: a supervisor may approve a request after the date
# it asked for has passed, and that decision is part of the record (三项制度) all the same.
_DEADLINES: dict[str, tuple[str, ...]] = {
    "safety.hazard.reported": ("rectify_by",),
    "safety.inspection.recorded": ("findings", "rectify_by"),  # each finding's
}


def deadline_problems(type_name: str, data: dict[str, Any], at: int) -> list[RejectionError]:
    """The deadlines an event of `type_name` sets that lie before its own time `at`, as errors.

    `data` is as the timeline records it (a deadline as a date, the end of that
    day in Asia/Shanghai, or a time). Such a deadline had passed when it was
    set: a wrong year, most often. Taken, it would fire its hazard's overdue
    escalations at once, a referral of the officials in charge included.
    """
    path = _DEADLINES.get(type_name)
    if path is None:
        return []
    if len(path) == 2:
        found = [(["data", path[0], i, path[1]], item.get(path[1]))
                 for i, item in enumerate(data.get(path[0]) or ())]
    else:
        found = [(["data", path[0]], data.get(path[0]))]
    return [RejectionError(
        loc=loc, msg=f"{loc[-1]} {value} is before the event's own time {iso(at)}: a deadline "
        "cannot have passed when it was set (a wrong year?); taken, it would fire its hazard's "
        "overdue escalations at once",
        type="deadline_passed") for loc, value in found if value is not None and epoch(value) < at]


def validate_record(value: bytes | None, topic: str, known: KnownIds,
                    max_bytes: int = MAX_RECORD_BYTES, key: bytes | None = None) -> Accepted | Invalid:
    """Check one structured record against the contract: size, encoding, JSON, then the event."""
    if value is None:
        return _err(("record",), "empty record (a tombstone): an event must be a JSON object",
                    "empty_record")
    if len(value) > max_bytes:
        return _err(("record",), f"record is {len(value)} bytes; the limit is {max_bytes} (1 MiB)",
                    "too_large")
    parsed = read_json(value)
    if isinstance(parsed, Invalid):
        return parsed
    raw, text = parsed
    if not isinstance(raw, dict):
        return _err(("record",), f"an event must be a JSON object, not {type(raw).__name__}",
                    "not_object")
    return validate_event(raw, text, topic, known, key)


def validate_event(raw: dict, text: str, topic: str, known: KnownIds,
                   key: bytes | None = None) -> Accepted | Invalid:
    """Check one parsed event, in either Kafka mode: envelope, type, topic, data, subject and key.

    `text` is the JSON of `raw`; a null `key` (or none at all, over HTTP) is not checked.
    """
    key_error = _key_problem(key, raw.get("subject"))
    type_name = raw.get("type")
    event_type = EVENT_TYPES.get(type_name) if isinstance(type_name, str) else None
    if event_type is None:
        try:
            Envelope.model_validate_json(text, strict=True)
        except ValidationError as exc:
            envelope_errors = _from_pydantic(exc).errors
        else:
            envelope_errors = ()
        unknown = RejectionError(
            loc=["type"],
            msg=f"unknown event type {type_name!r}; on {topic} the contract allows: "
            + ", ".join(types_on(topic) or sorted(EVENT_TYPES)),
            type="unknown_type",
        )
        rest = tuple(e for e in envelope_errors if e.loc != ["type"])
        return Invalid((unknown, *rest, *((key_error,) if key_error else ())))
    errors: list[RejectionError] = []
    if topic in INTAKE_TOPICS and event_type.topic != topic:
        errors.append(RejectionError(
            loc=["type"],
            msg=f"{type_name} belongs on topic {event_type.topic}, not {topic}",
            type="wrong_topic",
        ))
    if key_error is not None:
        errors.append(key_error)
    try:
        event = event_type.model.model_validate_json(text, strict=True, context={"known": known})
    except ValidationError as exc:
        return Invalid((*errors, *_from_pydantic(exc).errors))
    subject_value = getattr(event.data, event_type.subject_field)
    if event.subject != subject_value:
        errors.append(RejectionError(
            loc=["subject"],
            msg=f"subject {event.subject!r} must equal data.{event_type.subject_field} "
            f"{subject_value!r}: the subject keys the event's partition and its timeline",
            type="subject_mismatch",
        ))
    if errors:
        return Invalid(tuple(errors))
    return Accepted(event, event_type)
