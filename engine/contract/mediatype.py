"""Media types as the CloudEvents envelope and the Kafka binding carry them (contract section 1, v2).

A field app may write `application/json`, `application/json; charset=utf-8`
or `Application/JSON ;charset="UTF-8"`: all say the same, so they are read as
RFC 9110 defines a media type (case-insensitive type and parameter names,
optional quotes), not compared as strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STRUCTURED = "application/cloudevents+json"
JSON = "application/json"
_CLOUDEVENT_FORMATS = frozenset({STRUCTURED, "application/cloudevents-batch+json"})
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_ESSENCE = re.compile(rf"[ \t]*({_TOKEN})/({_TOKEN})")
_SEPARATOR = re.compile(r"[ \t]*;[ \t]*")
_PARAMETER = re.compile(rf'({_TOKEN})=({_TOKEN}|"(?:[^"\\]|\\.)*")')
_TRAILING = re.compile(r"[ \t]*")
_SHOWN = 100  # a value quoted in a message is cut here, so a hostile header cannot flood a rejection


@dataclass(frozen=True, slots=True)
class MediaType:
    """A parsed media type: `type/subtype` in lower case, and its parameters."""

    essence: str
    params: tuple[tuple[str, str], ...]

    def param(self, name: str) -> str | None:
        """The value of parameter `name` (names are case-insensitive), or None if it is absent."""
        return next((v for n, v in self.params if n == name), None)


def parse_media_type(text: str) -> MediaType | None:
    """Read `type/subtype; name=value; ...`, or None if `text` is not a media type."""
    head = _ESSENCE.match(text)
    if head is None:
        return None
    pos, params = head.end(), []
    while (sep := _SEPARATOR.match(text, pos)) is not None:
        pos = sep.end()
        if (param := _PARAMETER.match(text, pos)) is not None:  # RFC 9110 allows an empty one
            value = param.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params.append((param.group(1).lower(), value))
            pos = param.end()
    if _TRAILING.match(text, pos).end() != len(text):  # type: ignore[union-attr]
        return None
    names = [n for n, _ in params]
    if len(set(names)) != len(names):  # two charsets, say: readers would disagree on which counts
        return None
    return MediaType(f"{head.group(1)}/{head.group(2)}".lower(), tuple(params))


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")


def _charset_problem(media: MediaType) -> tuple[str, str] | None:
    charset = media.param("charset")
    if charset is not None and charset.lower() != "utf-8":
        return ("unsupported_charset",
                f"charset {_shown(charset)} is not allowed: events are UTF-8 JSON, so give "
                "charset=utf-8 or no charset")
    return None


def is_json(media: MediaType) -> bool:
    """Whether data of this media type is JSON: application/json or a +json type other than an event's."""
    if media.essence == JSON:
        return True
    return (media.essence.startswith("application/") and media.essence.endswith("+json")
            and media.essence not in _CLOUDEVENT_FORMATS)


def data_content_type_problem(text: str) -> tuple[str, str] | None:
    """Why `text` cannot be an event's `datacontenttype`, as (error type, message), or None if it can."""
    media = parse_media_type(text)
    if media is None:
        return ("unsupported_content_type",
                f"{_shown(text)} is not a media type (type/subtype; name=value)")
    if media.essence in _CLOUDEVENT_FORMATS:
        return ("unsupported_content_type",
                f"data must be the event's own data, not a CloudEvent ({media.essence}); use "
                "application/json, optionally with charset=utf-8")
    if not is_json(media):
        return ("unsupported_content_type",
                f"data must be JSON: {_shown(media.essence)} is not a JSON media type; use "
                "application/json, optionally with charset=utf-8")
    return _charset_problem(media)


def structured_content_type_problem(text: str) -> tuple[str, str] | None:
    """Why a record without ce_ headers cannot carry content-type `text`, or None if it can.

    The binding spec gives a structured record `application/cloudevents+json`.
    The Python SDK's 1.x `cloudevents.kafka.to_structured` instead moves the
    event's datacontenttype (`application/json`) into this header, and the
    contract promises that SDK producers work unchanged, so a JSON data media
    type passes too.
    """
    media = parse_media_type(text)
    if media is None or not (media.essence == STRUCTURED or is_json(media)):
        shown = _shown(text) if media is None else _shown(media.essence)
        return ("unsupported_content_type",
                f"content-type {shown} on a record without ce_ headers: a structured event is "
                f"{STRUCTURED} (the whole event in the value); a binary one carries its "
                "attributes as ce_ headers and its data as the value")
    return _charset_problem(media)


def is_structured(text: str) -> bool:
    """Whether a content-type header says the value is a whole event (structured mode)."""
    media = parse_media_type(text)
    return media is not None and media.essence == STRUCTURED
