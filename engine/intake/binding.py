"""The CloudEvents Kafka protocol binding 1.0 at intake: structured or binary mode (contract section 1, v2).

A structured record holds the whole event as its value. A binary record holds
the attributes as `ce_*` headers and the data alone as its value, which is
what the official SDKs write by default. A binary record is turned into the
structured event it stands for and checked by the very same code, so a field
app gets the same rejection, naming the same attribute, whichever mode it uses.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from engine import codec
from engine.contract.common import KnownIds
from engine.contract.mediatype import (
    data_content_type_problem,
    is_structured,
    structured_content_type_problem,
)
from engine.contract.outputs import RejectionError
from engine.intake.validate import (
    MAX_RECORD_BYTES,
    Accepted,
    Invalid,
    read_json,
    validate_event,
    validate_record,
)

Headers = Sequence[tuple[str, bytes | None]]
CE_PREFIX = "ce_"
CONTENT_TYPE = "content-type"
# CloudEvents 1.0: attribute names are lower-case ASCII letters and digits.
_ATTRIBUTE = re.compile(r"[a-z0-9]+")
# Attributes that binary mode carries elsewhere: a header for them would contradict the record.
_NOT_HEADERS = {
    "data": "in binary mode the data is the record value, not a header",
    "datacontenttype": "in binary mode datacontenttype travels as the content-type header",
}
_NAME_SHOWN = 100


def _error(loc: list[str | int], msg: str, code: str) -> RejectionError:
    return RejectionError(loc=loc, msg=msg, type=code)


def _binding_headers(headers: Headers) -> tuple[dict[str, tuple[str, str]], set[str], list[RejectionError]]:
    """The ce_ and content-type headers by lower-case name, as (name as sent, text), and their faults.

    Names are compared without case, as the SDKs do when they read a record.
    Other headers (tracing, say) are the producer's business and are left alone.
    """
    ours = [(name, name.lower(), value) for name, value in headers
            if name.lower().startswith(CE_PREFIX) or name.lower() == CONTENT_TYPE]
    counts = Counter(lower for _, lower, _ in ours)
    found: dict[str, tuple[str, str]] = {}
    errors: list[RejectionError] = []
    for name, lower, value in ours:
        shown = name[:_NAME_SHOWN]
        loc: list[str | int] = ["headers", shown]
        if counts[lower] == 0:  # a name given more than once is reported once, at its first copy
            continue
        if counts[lower] > 1:
            errors.append(_error(loc, f"header {shown!r} is given {counts[lower]} times; readers "
                                 "would disagree on which value counts", "duplicate_header"))
            counts[lower] = 0
        elif value is None:
            errors.append(_error(loc, f"header {shown!r} has no value (null)", "bad_header"))
        else:
            try:
                found[lower] = (name, value.decode("utf-8"))
            except UnicodeDecodeError as exc:
                errors.append(_error(loc, f"header {shown!r} is not UTF-8: {exc.reason} at byte "
                                     f"{exc.start}", "bad_header"))
    return found, set(counts), errors


def _headers_size(headers: Headers) -> int:
    return sum(len(name.encode("utf-8", "replace")) + len(value or b"") for name, value in headers)


def validate_kafka_record(key: bytes | None, headers: Headers, value: bytes | None, topic: str,
                          known: KnownIds, max_bytes: int = MAX_RECORD_BYTES) -> Accepted | Invalid:
    """Check one intake record in either mode of the Kafka binding, with its key, against the contract."""
    found, names, errors = _binding_headers(headers)
    content_type = found.get(CONTENT_TYPE)
    attributes = {lower[len(CE_PREFIX):]: (name, text) for lower, (name, text) in found.items()
                  if lower.startswith(CE_PREFIX)}
    # Any ce_ header means binary mode, as the SDKs read it; without ce_specversion the event then
    # lacks its specversion, and the rejection says so instead of calling the data an unknown type.
    # But a value that is a whole event with its specversion is a structured record with a stray ce_
    # header (a tracer's, say): mixed_mode, as with a structured content-type, not missing fields.
    binary = any(lower.startswith(CE_PREFIX) for lower in names)
    if binary and content_type is not None and is_structured(content_type[1]):
        errors.append(_error(
            ["headers", content_type[0]],
            f"ce_ headers (binary mode) with content-type {content_type[1][:_NAME_SHOWN]!r} "
            "(structured mode): send either the attributes as ce_ headers and the data as the value, "
            "or the whole event as the value without ce_ headers",
            "mixed_mode",
        ))
    if binary and not errors and "specversion" not in attributes and _whole_event(value, max_bytes):
        name = next(iter(attributes.values()))[0][:_NAME_SHOWN]
        errors.append(_error(
            ["headers", name],
            f"header {name!r} (binary mode) on a record whose value is a whole event with its "
            "specversion (structured mode), and no ce_specversion: send either the whole event as "
            "the value without ce_ headers, or the attributes as ce_ headers and the data as the value",
            "mixed_mode",
        ))
    if errors:
        return Invalid(tuple(errors))
    if not binary:
        if content_type is not None:
            problem = structured_content_type_problem(content_type[1])
            if problem is not None:
                return Invalid((_error(["headers", content_type[0]], problem[1], problem[0]),))
        return validate_record(value, topic, known, max_bytes, key)
    return _validate_binary(key, attributes, content_type, value, headers, topic, known, max_bytes)


def _whole_event(value: bytes | None, max_bytes: int) -> bool:
    """Whether a record's value is a whole CloudEvent (a JSON object with `specversion`), as a
    structured record's is; a binary record's value is the data alone."""
    if not value or len(value) > max_bytes:
        return False
    parsed = read_json(value)
    return isinstance(parsed, tuple) and isinstance(parsed[0], dict) and "specversion" in parsed[0]


def _validate_binary(key: bytes | None, attributes: dict[str, tuple[str, str]],
                     content_type: tuple[str, str] | None, value: bytes | None, headers: Headers,
                     topic: str, known: KnownIds, max_bytes: int) -> Accepted | Invalid:
    """Build the structured event a binary record stands for, and check it as structured mode does."""
    errors = []
    for attribute, (name, _) in attributes.items():
        if attribute in _NOT_HEADERS:
            errors.append(_error(["headers", name], _NOT_HEADERS[attribute], "bad_header"))
        elif not _ATTRIBUTE.fullmatch(attribute):
            errors.append(_error(["headers", name[:_NAME_SHOWN]],
                                 f"{name[:_NAME_SHOWN]!r} does not name a CloudEvents attribute: after "
                                 "ce_ come lower-case letters and digits only", "bad_header"))
    if content_type is not None:
        problem = data_content_type_problem(content_type[1])
        if problem is not None:  # the same words as for a structured event's datacontenttype
            errors.append(_error(["datacontenttype"], problem[1], problem[0]))
    if errors:
        return Invalid(tuple(errors))
    size = len(value or b"") + _headers_size(headers)
    if size > max_bytes:
        return Invalid((_error(["record"], f"record value and headers are {size} bytes; the limit "
                               f"is {max_bytes} (1 MiB)", "too_large"),))
    event: dict[str, object] = {attribute: text for attribute, (_, text) in attributes.items()}
    if content_type is not None:
        event["datacontenttype"] = content_type[1]
    if value:  # a null or empty value is an event without data, which the contract refuses below
        parsed = read_json(value, "data")
        if isinstance(parsed, Invalid):
            return parsed
        event["data"] = parsed[0]
    document = codec.dumps(event)
    result = validate_event(event, document.decode("utf-8"), topic, known, key)
    if isinstance(result, Accepted):
        return Accepted(result.event, result.event_type, document)
    return result
