"""A field-app token's towns, judged where its subject's town is known: the decision (contract s. 1, v2).

`POST /events` stamps each record with its token's towns, and the intake
stage copies the stamp onto the entry of the event's own subject (`TOWNS`,
with the token's name, `FIELD_APP`). Intake judges the town an event names,
and its subject's town when the worker knows it. An event naming no town
about a subject whose town is not known yet (a verification sent offline
before the report reached the engine) is taken, as the contract promises for
events ahead of their subject's opening; its town is judged here, by the
decision, once the subject has one:

- the subject's town known and not among the stamp's: the entry is not
  applied, and a `safety.intake.rejected` reports it (`outside_scope`) on
  intake.rejected, where the token reads it back (`GET /events/rejected`);
- no town known yet, and the entry names none: it waits, whole, in the
  state (`parked`), and is applied or rejected when the subject is opened.

The hazard, alert and enterprise cores each give `apply_entry` their state's
town; the check is made there, once for all three.

Hazard ids are guessable, so without this a verdict sent ahead under another
town's next hazard id would apply there. An entry without a stamp (a record
published straight to Kafka, a token not limited to towns) is held to no town.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from engine import codec
from engine.contract.outputs import (
    ENGINE_SOURCE,
    INTAKE_REJECTED,
    IntakeRejected,
    RejectedHeader,
    RejectionError,
)
from engine.intake.scope import FIELD_APP_HEADER, TOWNS_HEADER
from engine.kernel.entries import FIELD_APP, TOWNS
from engine.kernel.ids import output_id
from engine.kernel.outputs import Out


def stamp_of(entry: Mapping[str, Any]) -> frozenset[str] | None:
    """The towns an entry's stamp allows; None for an entry held to no town."""
    towns = entry.get(TOWNS)
    return frozenset(towns) if towns is not None else None


def named_town(entry: Mapping[str, Any]) -> str | None:
    """The town an entry's event names itself (`data.location.town`), if it names one."""
    location = entry["data"].get("location") if isinstance(entry["data"], dict) else None
    town = location.get("town") if isinstance(location, dict) else None
    return town if isinstance(town, str) else None


def waits(entry: Mapping[str, Any], town: str | None) -> bool:
    """Whether a stamped entry must wait for its subject's town: none known, and it names none."""
    return town is None and stamp_of(entry) is not None and named_town(entry) is None


def outside(entry: Mapping[str, Any], town: str | None) -> bool:
    """Whether a stamped entry's subject lies in a town its stamp does not allow."""
    towns = stamp_of(entry)
    return towns is not None and town is not None and town not in towns


def rejection(entry: Mapping[str, Any], town: str, waited: bool) -> Out:
    """The `safety.intake.rejected` of an entry outside its token's towns, as intake writes one.

    Its id is derived from the entry's id, so a redelivery or a replay repeats it; its record
    headers repeat the token's name and towns, as intake's rejections of the door's records do.
    The raw bytes are the event as the entry keeps it (the original bytes are
    not on the timeline): a structured CloudEvent that can be sent again as it is.
    """
    at = entry.get("origin") or entry.get("position") or {"topic": "", "partition": 0, "offset": 0}
    kind, subject, towns = entry["subject_kind"], entry["subject"], sorted(stamp_of(entry) or ())
    allowed = ", ".join(towns) if towns else "no town (its stamp could not be read)"
    if waited:
        msg = (f"this event waited for {kind} {subject[:200]!r} to be opened, and it was opened in town "
               f"{town[:100]!r}, outside the scope of the field-app token that sent it: it may send "
               f"for {allowed}; the event was not applied")
    else:
        msg = (f"{kind} {subject[:200]!r} is in town {town[:100]!r}, outside the scope of the "
               f"field-app token that sent this event: it may send for {allowed}; the event was not applied")
    raw = codec.dumps({"specversion": "1.0", "id": entry.get("event_id"), "source": entry.get("source"),
                       "type": entry["type"], "subject": subject, "time": entry["time"],
                       "datacontenttype": "application/json", "data": entry["data"]})
    headers = [RejectedHeader(name=TOWNS_HEADER, value_base64=base64.b64encode(codec.dumps(towns)).decode())]
    if entry.get(FIELD_APP) is not None:
        headers.insert(0, RejectedHeader(name=FIELD_APP_HEADER,
                                         value_base64=base64.b64encode(entry[FIELD_APP].encode()).decode()))
    received = entry.get("received_at") or entry["time"]
    data = IntakeRejected(
        topic=at["topic"], partition=at["partition"], offset=at["offset"], key=subject,
        received_at=received, errors=[RejectionError(loc=["subject"], type="outside_scope", msg=msg)],
        raw_base64=base64.b64encode(raw).decode("ascii"), headers=headers).dump()
    event = {"specversion": "1.0", "id": output_id("outside_scope", entry["entry_id"]),
             "source": ENGINE_SOURCE, "type": "safety.intake.rejected", "time": received, "subject": subject,
             "datacontenttype": "application/json", "data": data}
    return Out(INTAKE_REJECTED, subject, event)
