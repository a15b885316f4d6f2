"""The CloudEvents HTTP binding 1.0 at intake: a POST's events as the Kafka binding would carry them.

    structured   content-type application/cloudevents+json, the body is the whole event
    binary       the attributes as ce-* headers (percent-encoded), the body is the data
    batch        content-type application/cloudevents-batch+json, the body is a JSON array of events

Each event is turned into the (headers, value) of the Kafka record it stands
for, so that `engine.intake.binding.validate_kafka_record` checks it with the
very code the Kafka intake runs: a field app gets the same precise errors,
naming the same attribute, over HTTP as over Kafka. This is pure: no aiohttp,
no broker, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from engine import codec
from engine.contract.mediatype import JSON, STRUCTURED, is_json, parse_media_type
from engine.contract.outputs import RejectionError
from engine.intake.validate import MAX_RECORD_BYTES, Invalid, json_items_over, read_json

BATCH = "application/cloudevents-batch+json"
HTTP_CE_PREFIX = "ce-"
_SHOWN = 100


class RequestError(ValueError):
    """A request whose body cannot be read as events at all; `status` is the HTTP answer (400, 415)."""

    def __init__(self, status: int, reason: str, errors: tuple[RejectionError, ...] = ()) -> None:
        super().__init__(reason)
        self.status, self.reason, self.errors = status, reason, errors


@dataclass(frozen=True, slots=True)
class Item:
    """One event of a request, as the Kafka record that would carry it: headers and value."""

    headers: tuple[tuple[str, bytes], ...]
    value: bytes | None
    # The event's attributes as far as they could be read: a rejected event's answer names its
    # id and source when it has them.
    attributes: Mapping[str, object]


def _binary_headers(headers: Mapping[str, str]) -> tuple[tuple[str, bytes], ...]:
    """The ce-* headers as Kafka ce_* headers, percent-decoded as the HTTP binding says."""
    out = []
    for name, value in headers.items():
        lower = name.lower()
        if not lower.startswith(HTTP_CE_PREFIX):
            continue
        # Bytes, not text: a value that is not UTF-8 once decoded is then named by the binding's
        # own check (bad_header), as a Kafka header would be.
        decoded = unquote_to_bytes(value.encode("utf-8", "surrogateescape"))
        out.append(("ce_" + name[len(HTTP_CE_PREFIX):], decoded))
    return tuple(out)


def _binary(headers: Mapping[str, str], content_type: str | None, body: bytes) -> Item:
    kafka = _binary_headers(headers)
    if content_type is not None:
        kafka = (*kafka, ("content-type", content_type.encode("utf-8", "surrogateescape")))
    attributes = {name[3:].lower(): value.decode("utf-8", "replace")
                  for name, value in kafka if name.startswith("ce_")}
    return Item(kafka, body or None, attributes)


def _structured(body: bytes, content_type: str, max_record_bytes: int) -> Item:
    # A body over the record limit is one event the intake refuses unread (too_large): parsing it for
    # its id and source would cost what reading up to the body's own limit costs, for nothing.
    parsed = read_json(body) if body and len(body) <= max_record_bytes else None
    attributes = parsed[0] if parsed is not None and not isinstance(parsed, Invalid) else {}
    return Item((("content-type", content_type.encode("utf-8", "surrogateescape")),), body or None,
                attributes if isinstance(attributes, dict) else {})


def _batch(body: bytes, max_batch: int) -> tuple[Item, ...]:
    parsed = read_json(body, "batch", max_items=None)  # the body's own limit is checked first
    if isinstance(parsed, Invalid):
        raise RequestError(400, "the batch is not readable JSON", parsed.errors)
    events = parsed[0]
    if not isinstance(events, list):
        raise RequestError(400, f"a batch ({BATCH}) is a JSON array of events, not "
                           f"{type(events).__name__}")
    if not events:
        raise RequestError(400, "the batch is empty: send at least one event")
    if len(events) > max_batch:
        raise RequestError(413, f"the batch holds {len(events)} events; the limit is {max_batch}: "
                           "split it")
    # Each event travels on as its own record: the JSON of that element alone.
    return tuple(Item((("content-type", STRUCTURED.encode()),), codec.dumps(event),
                      event if isinstance(event, dict) else {}) for event in events)


def read_request(headers: Mapping[str, str], body: bytes, max_batch: int, max_items: int,
                 max_record_bytes: int = MAX_RECORD_BYTES) -> tuple[Item, ...]:
    """The events of one POST, in order; RequestError when the body cannot be events at all.

    `headers` is the request's headers (any case). Which mode is meant follows
    the binding: ce- headers make it binary, whatever the content type; without
    them the content type must name a CloudEvents format.

    A body that could hold more than `max_items` JSON keys, values and containers is refused
    before it is parsed: parsing costs by what it builds, not by bytes (4 MiB of empty arrays
    took 450 ms to read, ten times as long as 4 MiB of events), and the worker's event loop waits
    for it. A structured body over `max_record_bytes` is not parsed at all: it is one event, and
    too large.
    """
    items = json_items_over(body, max_items)
    if items is not None:
        raise RequestError(413, f"the body holds {items} JSON keys, values, arrays and objects; the "
                           f"limit is {max_items} (HAZARD_HTTP_MAX_JSON_ITEMS): send fewer events "
                           "per request")
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if any(k.lower().startswith(HTTP_CE_PREFIX) for k in headers):
        return (_binary(headers, content_type, body),)
    media = parse_media_type(content_type) if content_type is not None else None
    if media is not None and media.essence == STRUCTURED:
        return (_structured(body, content_type, max_record_bytes),)  # type: ignore[arg-type]
    if media is not None and media.essence == BATCH:
        charset = media.param("charset")
        if charset is not None and charset.lower() != "utf-8":
            raise RequestError(415, f"charset {charset[:_SHOWN]!r} is not allowed: events are "
                               "UTF-8 JSON")
        return _batch(body, max_batch)
    shown = "none" if content_type is None else repr(content_type[:_SHOWN])
    if content_type is not None and media is None:  # a named type, but not one that can be read
        raise RequestError(415, f"content type {shown} cannot be read as a media type (a type and a "
                           "subtype, then parameters each named once, a value quoted where it needs "
                           f"to be): send one event as {STRUCTURED}, a batch as {BATCH}, or binary "
                           f"mode (the attributes as ce- headers, the data as {JSON})")
    hint = (" (JSON without ce- headers is not an event: add the ce-specversion, ce-id, "
            "ce-source, ce-type, ce-time and ce-subject headers, or send the whole event as "
            f"{STRUCTURED})") if media is not None and is_json(media) else ""
    raise RequestError(415, f"content type {shown} without ce- headers: send one event as "
                       f"{STRUCTURED}, a batch as {BATCH}, or binary mode (the attributes as ce- "
                       f"headers, the data as {JSON}){hint}")

