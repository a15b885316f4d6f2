"""Rendering a `CapMessage` as CAP 1.2 XML bytes.

The document is written as text, children in the order the schema's
`<sequence>` demands, with a fixed declaration and indentation, so the same
message always gives the same bytes (a consumer can deduplicate or sign them).
A message's shape is fixed (one alert, one info, at most one area, leaves
holding text), so no element tree is built per message: the bytes are those
ElementTree wrote with `ET.indent` and `default_namespace`, which a unit test
checks against ElementTree itself.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

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
    out = [f'<alert xmlns="{NAMESPACE}">']
    add = out.append
    add(_leaf(1, "identifier", msg.identifier))
    add(_leaf(1, "sender", msg.sender))
    add(_leaf(1, "sent", cap_time(msg.sent)))
    add(_leaf(1, "status", msg.status))
    add(_leaf(1, "msgType", msg.msg_type))
    # Public: first responders and the public alike may see these; nothing here is restricted.
    add(_leaf(1, "scope", "Public"))
    if msg.note is not None:
        add(_leaf(1, "note", msg.note))
    if msg.references:
        add(_leaf(1, "references", " ".join(f"{s},{i},{cap_time(t)}" for s, i, t in msg.references)))

    add("  <info>")
    add(_leaf(2, "language", msg.language))
    add(_leaf(2, "category", msg.category))
    add(_leaf(2, "event", msg.event))
    add(_leaf(2, "urgency", msg.urgency))
    add(_leaf(2, "severity", msg.severity))
    add(_leaf(2, "certainty", msg.certainty))
    if msg.sender_name is not None:
        add(_leaf(2, "senderName", msg.sender_name))
    add(_leaf(2, "headline", msg.headline))
    add(_leaf(2, "description", msg.description))
    if msg.instruction is not None:
        add(_leaf(2, "instruction", msg.instruction))
    for name, value in msg.parameters:
        add("    <parameter>")
        add(_leaf(3, "valueName", name))
        add(_leaf(3, "value", value))
        add("    </parameter>")

    add("    <area>")
    add(_leaf(3, "areaDesc", msg.area_desc))
    if msg.circle is not None:
        lat, lon, radius_km = msg.circle
        # CAP 1.2: a WGS 84 "lat,lon" point, a space, then the radius in kilometres.
        add(_leaf(3, "circle", f"{_num(lat)},{_num(lon)} {_num(radius_km)}"))
    add("    </area>")
    add("  </info>")
    add("</alert>\n")
    return _DECLARATION + "\n".join(out).encode("utf-8")


# Most leaves repeat from one message of an alert to the next (sender, status, event, the
# category, the area, most parameters): each is checked and escaped once.
@lru_cache(maxsize=4096)
def _leaf(depth: int, name: str, text: str) -> str:
    """One element holding text, on its own line at `depth` (two spaces a level), escaped for XML.

    It writes what ElementTree wrote before this renderer: `&`, `<` and `>` escaped, nothing
    else, and an empty element as `<name />`.
    """
    # Replace what XML cannot hold with U+FFFD rather than drop it, so the loss shows.
    text = _NOT_XML.sub("\ufffd", text)
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    pad = "  " * depth
    return f"{pad}<{name}>{text}</{name}>" if text else f"{pad}<{name} />"


def _num(x: float) -> str:
    """Format a coordinate or radius with fixed decimals: never an exponent, which CAP readers reject."""
    # Six decimals of a degree are about 0.1 m: finer than any report's position.
    text = f"{float(x):.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
