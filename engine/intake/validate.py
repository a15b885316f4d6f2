"""Pure validation of one intake record: bytes and topic in, an accepted event or its errors out.

Bad input is data, not an exception: every failure becomes a list of errors as
precise as pydantic gives them, and the caller routes it to `intake.rejected`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError

from engine import codec
from engine.contract.common import KnownIds
from engine.contract.envelope import EVENT_TYPES, INTAKE_TOPICS, Envelope, EventType, types_on
from engine.contract.outputs import RejectionError

MAX_RECORD_BYTES = 1024 * 1024  # 1 MiB, for the JSON of one event


@dataclass(frozen=True, slots=True)
class Accepted:
    """A record that passed every check, with its parsed event and the type it has."""

    event: Envelope
    event_type: EventType


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


def validate_record(value: bytes | None, topic: str, known: KnownIds,
                    max_bytes: int = MAX_RECORD_BYTES) -> Accepted | Invalid:
    """Check one record against the contract: size, encoding, JSON, envelope, type, topic and data."""
    if value is None:
        return _err(("record",), "empty record (a tombstone): an event must be a JSON object",
                    "empty_record")
    if len(value) > max_bytes:
        return _err(("record",), f"record is {len(value)} bytes; the limit is {max_bytes} (1 MiB)",
                    "too_large")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _err(("record",), f"not UTF-8: {exc.reason} at byte {exc.start}", "not_utf8")
    try:
        raw = codec.loads(value)
    except codec.JSONDecodeError:
        # orjson is the fast path; the stdlib names the line and column of the fault, and
        # accepts what orjson refuses (NaN, integers past 64 bits) for the schema to judge.
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            return _err(("record",), f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                        "not_json")
    if not isinstance(raw, dict):
        return _err(("record",), f"an event must be a JSON object, not {type(raw).__name__}",
                    "not_object")
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
        return Invalid((unknown, *(e for e in envelope_errors if e.loc != ["type"])))
    errors: list[RejectionError] = []
    if topic in INTAKE_TOPICS and event_type.topic != topic:
        errors.append(RejectionError(
            loc=["type"],
            msg=f"{type_name} belongs on topic {event_type.topic}, not {topic}",
            type="wrong_topic",
        ))
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
