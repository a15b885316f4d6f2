"""The CAP 1.2 message the engine publishes on `alerts.cap`, as a plain immutable value.

`CapMessage` holds only what the engine fills in: one `<alert>` with one
`<info>` and at most one `<area>`. It checks, when built, the rules of the
CAP 1.2 standard that the XML schema does not enforce (no spaces or commas in
identifiers and senders, aware times, references on an Update or Cancel), so
a message that exists can be rendered into a valid document.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
# Beijing time is UTC+8 all year (no daylight saving since 1991), so a fixed offset
# renders exactly "+08:00" and needs no tz database.
BEIJING = timezone(timedelta(hours=8))
DEFAULT_RADIUS_KM = 0.5  # the circle's radius when a report gives a point and nothing else

STATUSES = frozenset({"Actual", "Exercise", "System", "Test", "Draft"})
MSG_TYPES = frozenset({"Alert", "Update", "Cancel", "Ack", "Error"})
CATEGORIES = frozenset(
    {
        "Geo",
        "Met",
        "Safety",
        "Security",
        "Rescue",
        "Fire",
        "Health",
        "Env",
        "Transport",
        "Infra",
        "CBRNE",
        "Other",
    }
)
URGENCIES = frozenset({"Immediate", "Expected", "Future", "Past", "Unknown"})
SEVERITIES = frozenset({"Extreme", "Severe", "Moderate", "Minor", "Unknown"})
CERTAINTIES = frozenset({"Observed", "Likely", "Possible", "Unlikely", "Unknown"})
# CAP 1.2 section 3.2.1: identifier and sender "MUST NOT include spaces, commas or
# restricted characters (< and &)", because `references` joins them with commas and spaces.
_FORBIDDEN_IN_ID = frozenset(" ,<&\t\r\n")


@dataclass(frozen=True, slots=True)
class CapMessage:
    """One CAP 1.2 alert message with a single info block about one incident."""

    identifier: str
    sender: str  # e.g. "hazard-engine@dujiaqu.example"; the rules supply it
    sent: datetime  # aware; rendered in Beijing time, whole seconds
    status: str  # "Actual" | "Exercise"
    msg_type: str  # "Alert" | "Update" | "Cancel"
    references: tuple[tuple[str, str, datetime], ...]  # (sender, identifier, sent) of earlier messages
    event: str  # human text of the event kind, e.g. "火灾 Fire"
    category: str  # one of CATEGORIES
    urgency: str
    severity: str
    certainty: str
    headline: str
    description: str
    instruction: str | None
    area_desc: str
    circle: tuple[float, float, float] | None  # (lat, lon, radius km), WGS 84
    parameters: tuple[tuple[str, str], ...] = ()  # valueName/value pairs, e.g. ("responseLevel", "II")
    language: str = "zh-CN"
    sender_name: str | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        """Reject a message that would render into a document CAP 1.2 does not allow."""
        _check_id("identifier", self.identifier)
        _check_id("sender", self.sender)
        _check_aware("sent", self.sent)
        _check_in("status", self.status, STATUSES)
        _check_in("msg_type", self.msg_type, MSG_TYPES)
        _check_in("category", self.category, CATEGORIES)
        _check_in("urgency", self.urgency, URGENCIES)
        _check_in("severity", self.severity, SEVERITIES)
        _check_in("certainty", self.certainty, CERTAINTIES)
        for i, ref in enumerate(self.references):
            if len(ref) != 3:
                raise ValueError(f"references[{i}] must be (sender, identifier, sent), got {ref!r}")
            _check_id(f"references[{i}] sender", ref[0])
            _check_id(f"references[{i}] identifier", ref[1])
            _check_aware(f"references[{i}] sent", ref[2])
        # An Update or Cancel acts on the messages in <references> (CAP 1.2, msgType);
        # without them a recipient cannot tell what it replaces.
        if self.msg_type in ("Update", "Cancel") and not self.references:
            raise ValueError(f"a {self.msg_type} must reference the messages it acts on")
        if not self.area_desc:
            raise ValueError("area_desc must not be empty: a CAP <area> requires <areaDesc>")
        if self.circle is not None:
            _check_circle(self.circle)
        for i, pair in enumerate(self.parameters):
            if len(pair) != 2 or not pair[0]:
                raise ValueError(f"parameters[{i}] must be a (valueName, value) pair, got {pair!r}")


def _check_id(name: str, value: str) -> None:
    if not value or _FORBIDDEN_IN_ID.intersection(value):
        raise ValueError(f"{name} must be non-empty, without spaces, commas, '<' or '&': {value!r}")


def _check_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware: {value!r}")


def _check_in(name: str, value: str, allowed: frozenset[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")


def _check_circle(circle: tuple[float, float, float]) -> None:
    if len(circle) != 3:
        raise ValueError(f"circle must be (lat, lon, radius_km), got {circle!r}")
    lat, lon, radius = circle
    if not all(math.isfinite(x) for x in circle):
        raise ValueError(f"circle must be finite numbers, got {circle!r}")
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise ValueError(f"circle centre out of range: lat {lat}, lon {lon}")
    if radius < 0:
        raise ValueError(f"circle radius must not be negative, got {radius}")
