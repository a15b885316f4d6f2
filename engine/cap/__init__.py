"""CAP 1.2 (OASIS Common Alerting Protocol) documents for first-responder alerts, for `alerts.cap`.

An alert raised, updated or closed becomes one CAP document with msgType Alert,
Update or Cancel; an Update or Cancel names the earlier messages in
`references`. Every document validates against the OASIS schema shipped in
`engine/cap/schema/CAP-v1.2.xsd`.

    category, urgency, severity, certainty = cap_fields("II", "raised", "fire")
    msg = CapMessage(identifier=identifier("3715020000", now, 1, "AL-1"), ..., event=event_text("fire"), ...)
    xml = render(msg)
    assert validate(xml) == []      # needs the test extra (xmlschema)
"""

from engine.cap.document import cap_time, render
from engine.cap.ident import identifier
from engine.cap.mapping import cap_fields, event_text, msg_type_for
from engine.cap.message import BEIJING, DEFAULT_RADIUS_KM, NAMESPACE, CapMessage
from engine.cap.validation import SCHEMA_PATH, validate

__all__ = [
    "BEIJING",
    "DEFAULT_RADIUS_KM",
    "NAMESPACE",
    "SCHEMA_PATH",
    "CapMessage",
    "cap_fields",
    "cap_time",
    "event_text",
    "identifier",
    "msg_type_for",
    "render",
    "validate",
]
