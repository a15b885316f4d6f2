"""Rendering a `CapMessage` as CAP 1.2 XML bytes.

The document is built with the standard library's ElementTree, children in the
order the schema's `<sequence>` demands, and serialised with a fixed
declaration and indentation, so the same message always gives the same bytes
(a consumer can deduplicate or sign them).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

from engine.cap.message import BEIJING, NAMESPACE, CapMessage

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
# Characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates, U+FFFE/U+FFFF).
# ElementTree would write them as they are and the document would not parse.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def cap_time(t: datetime) -> str:
    """Format an aware time as CAP 1.2 wants it: Beijing time, whole seconds, "+08:00"."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"time must be timezone-aware: {t!r}")
    # The schema's pattern \d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[-,+]\d\d:\d\d rejects both
    # fractional seconds and "Z", so drop the microseconds and always write the offset.
    return t.astimezone(BEIJING).replace(microsecond=0).isoformat()


def render(msg: CapMessage) -> bytes:
    """Render the message as a UTF-8 CAP 1.2 XML document, the same bytes for the same message."""
    alert = ET.Element(_q("alert"))
    _add(alert, "identifier", msg.identifier)
    _add(alert, "sender", msg.sender)
    _add(alert, "sent", cap_time(msg.sent))
    _add(alert, "status", msg.status)
    _add(alert, "msgType", msg.msg_type)
    # Public: first responders and the public alike may see these; nothing here is restricted.
    _add(alert, "scope", "Public")
    if msg.note is not None:
        _add(alert, "note", msg.note)
    if msg.references:
        _add(alert, "references", " ".join(f"{s},{i},{cap_time(t)}" for s, i, t in msg.references))

    info = ET.SubElement(alert, _q("info"))
    _add(info, "language", msg.language)
    _add(info, "category", msg.category)
    _add(info, "event", msg.event)
    _add(info, "urgency", msg.urgency)
    _add(info, "severity", msg.severity)
    _add(info, "certainty", msg.certainty)
    if msg.sender_name is not None:
        _add(info, "senderName", msg.sender_name)
    _add(info, "headline", msg.headline)
    _add(info, "description", msg.description)
    if msg.instruction is not None:
        _add(info, "instruction", msg.instruction)
    for name, value in msg.parameters:
        parameter = ET.SubElement(info, _q("parameter"))
        _add(parameter, "valueName", name)
        _add(parameter, "value", value)

    area = ET.SubElement(info, _q("area"))
    _add(area, "areaDesc", msg.area_desc)
    if msg.circle is not None:
        lat, lon, radius_km = msg.circle
        # CAP 1.2: a WGS 84 "lat,lon" point, a space, then the radius in kilometres.
        _add(area, "circle", f"{_num(lat)},{_num(lon)} {_num(radius_km)}")

    ET.indent(alert, space="  ")
    # default_namespace writes xmlns="..." on the root and unprefixed names, without
    # touching ElementTree's process-wide prefix registry.
    body = ET.tostring(alert, encoding="unicode", default_namespace=NAMESPACE)
    return _DECLARATION + body.encode("utf-8") + b"\n"


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _add(parent: ET.Element, name: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, _q(name))
    # Replace what XML cannot hold with U+FFFD rather than drop it, so the loss shows.
    child.text = _NOT_XML.sub("\ufffd", text)
    return child


def _num(x: float) -> str:
    """Format a coordinate or radius with fixed decimals: never an exponent, which CAP readers reject."""
    # Six decimals of a degree are about 0.1 m: finer than any report's position.
    text = f"{float(x):.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
