"""A CAP 1.2 document as a flat mapping, so a rule test can match it like any other output's data.

Keys: identifier, sequence (the 4 digits before the alert's 16 hex digits that end the
identifier, engine/cap/ident.py, as a number),
sender, sent, status, msgType, references (the identifiers referenced, in
order), category, event, urgency, severity, certainty, senderName, headline,
description, instruction, parameters ({valueName: value}), areaDesc, circle.
A key whose element the document lacks is absent.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

_NS = "{urn:oasis:names:tc:emergency:cap:1.2}"
_ALERT = ("identifier", "sender", "sent", "status", "msgType")
_INFO = ("category", "event", "urgency", "severity", "certainty", "senderName", "headline",
         "description", "instruction")
# Every key `cap_view` may give, which a rule test's want can match.
CAP_KEYS = (*_ALERT, "sequence", "references", *_INFO, "parameters", "areaDesc", "circle")


def cap_view(xml: str | bytes) -> dict[str, Any]:
    """The fields of a CAP document with one info block, as rule tests match them."""
    root = ET.fromstring(xml)
    view: dict[str, Any] = {k: root.findtext(_NS + k) for k in _ALERT if root.find(_NS + k) is not None}
    sequence = view.get("identifier", "")[-20:-16]
    if sequence.isdigit():
        view["sequence"] = int(sequence)
    refs = root.findtext(_NS + "references")
    view["references"] = [r.split(",")[1] for r in refs.split()] if refs else []
    info = root.find(_NS + "info")
    if info is not None:
        view.update({k: info.findtext(_NS + k) for k in _INFO if info.find(_NS + k) is not None})
        view["parameters"] = {p.findtext(_NS + "valueName"): p.findtext(_NS + "value")
                              for p in info.findall(_NS + "parameter")}
        area = info.find(_NS + "area")
        if area is not None:
            view["areaDesc"] = area.findtext(_NS + "areaDesc")
            if area.find(_NS + "circle") is not None:
                view["circle"] = area.findtext(_NS + "circle")
    return view
