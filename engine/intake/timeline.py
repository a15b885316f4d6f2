"""Normalising accepted events into timeline entries, the engine's single record of what happened.

Each entry is keyed by its subject, so everything about one hazard or alert
sits on one partition, in order. An inspection is recorded under its own id,
and each of its findings also opens an entry under the finding's hazard_id,
because the hazard's lifecycle is what later rules act on; the inspection is
also filed under its enterprise's USCC, for the enterprise's file (一企一档).
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from engine import codec
from engine.contract.envelope import Envelope, EventType
from engine.kernel.entries import Entry, Origin
from engine.uuid5 import uuid5_text

SHANGHAI = ZoneInfo("Asia/Shanghai")
FINDING_TYPE = "safety.inspection.finding"  # internal: one finding of an inspection, per hazard
INSPECTED_TYPE = "safety.inspection.enterprise"  # internal: an inspection, filed under its enterprise
_NS = uuid.UUID("6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0").bytes
LAW_ENFORCEMENT_KINDS = frozenset(
    {"routine", "random_check", "unannounced", "special_campaign", "follow_up"}
)


def _normalise(value: Any) -> Any:
    if isinstance(value, str | int | float | None):  # most values: nothing to do, so ask first
        return value
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    return value


def event_key(source: str, event_id: str) -> str:
    """(source, id), which the contract makes unique, as one string: the key of the event's
    de-duplication mark (engine/intake/process.py) and the start of its entries' ids.

    The two joined by U+001F, as stored since the first marks; but the contract's strings may hold
    that character, and then (s, "T\\x1fb") and (s + "\\x1fT", "b") made one key: a second event
    answered 202 and then dropped as a copy of the first. So a pair that holds it is written as a
    JSON array, which escapes it (\\u001f) and so never equals a key of the first form; every other
    pair keeps the key its marks and entry ids were stored under."""
    if "\x1f" in source or "\x1f" in event_id:
        return json.dumps([source, event_id], ensure_ascii=False, separators=(",", ":"))
    return f"{source}\x1f{event_id}"


def entry_id(source: str, event_id: str, subject: str, key: str | None = None) -> str:
    """Derive a timeline entry's id from the event it records, so a replay yields the same id;
    `key`, when given, is the key its mark is held under (`event_key`, or the older form)."""
    return uuid5_text(_NS, f"{key or event_key(source, event_id)}\x1f{subject}")


class Normalised(NamedTuple):
    """An accepted event as the timeline records it: its type, envelope and data in JSON terms.

    Times are in Asia/Shanghai and every field of the data is present, defaults
    filled in, in the order the contract's model declares them.
    """

    event_type: EventType
    source: str
    event_id: str
    subject: str
    time: str
    data: dict[str, Any]


def normalised(event: Envelope, event_type: EventType) -> Normalised:
    """The normalised form of an event pydantic accepted."""
    return Normalised(event_type, event.source, event.id, event.subject, _normalise(event.time),
                      _normalise(event.data.model_dump(mode="python")))


def entries_of(event: Normalised, origin: Origin, received_at: str,
               arrived_at: str | None = None, key: str | None = None) -> list[tuple[str, Entry]]:
    """The (key, entry) pairs for the timeline topic of one normalised event; `received_at` is the
    record's broker time as RFC 3339 in Asia/Shanghai (`engine.kernel.time.iso_ms`), and
    `arrived_at`, when given, the arrival the engine vouches for (`decide_intake`); `key`, the key
    of its de-duplication mark when that is not `event_key`'s (a mark set before 2026-12-07), so a
    redelivery's entries keep the ids they were first sent with."""
    event_type, source, event_id, subject, time, data = event
    key = key or event_key(source, event_id)
    # The event's own entry as one dict display, its id as `entry_id` makes it: most events have
    # no other entry, and a shared `base` spread into it cost a second dict. Its keys come in the
    # order the findings' and the enterprise's entries below have them.
    first = {
        "entry_id": uuid5_text(_NS, f"{key}\x1f{subject}"),
        "subject": subject,
        "subject_kind": event_type.subject_kind,
        "type": event_type.name,
        "source": source,
        "event_id": event_id,
        "time": time,
        "received_at": received_at,
        "origin": origin,
    }
    if arrived_at is not None:
        first["arrived_at"] = arrived_at
    first["data"] = data
    entries: list[tuple[str, Entry]] = [(subject, first)]
    if event_type.name != "safety.inspection.recorded":
        return entries
    base = {"source": source, "event_id": event_id, "time": time, "received_at": received_at,
            "origin": origin}
    if arrived_at is not None:
        base["arrived_at"] = arrived_at
    context = {k: data[k] for k in ("inspection_id", "kind", "enterprise", "location")}
    context["law_enforcement"] = data["kind"] in LAW_ENFORCEMENT_KINDS
    for finding in data["findings"]:
        hazard_id = finding["hazard_id"]
        entries.append((hazard_id, {
            "entry_id": entry_id(source, event_id, hazard_id, key),
            "subject": hazard_id,
            "subject_kind": "hazard",
            "type": FINDING_TYPE,
            **base,
            "data": {**finding, "inspection": context},
        }))
    # The enterprise's file (一企一档) counts every inspection, one with no findings too.
    uscc = data["enterprise"]["uscc"]
    entries.append((uscc, {
        "entry_id": entry_id(source, event_id, uscc, key),
        "subject": uscc,
        "subject_kind": "enterprise",
        "type": INSPECTED_TYPE,
        **base,
        "data": {**context, "findings": len(data["findings"]), "outcome": data["outcome"],
                 "inspectors": [a.get("id") for a in data["inspectors"]]},
    }))
    return entries


def encode(entry: dict[str, Any]) -> bytes:
    """Serialise a timeline entry or output as compact UTF-8 JSON."""
    return codec.dumps(entry)
