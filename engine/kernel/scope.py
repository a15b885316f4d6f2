"""A field-app token's towns, held to the subject's town where the engine can tell it: the decision.

`POST /events` stamps each record with its token's towns, and the intake stage
copies the stamp onto each entry of the event (`TOWNS`, with the token's name,
`FIELD_APP`), those of an inspection's findings and its enterprise too; a link
an entry causes carries it on (`entries.with_cause`). Intake refuses an event
whose own town, or whose subject's town as far as it knows, is outside the
stamp. An event that names no town (a verdict, a rectification record, an
alert's acknowledgement, an enterprise's classification) about a subject whose
town intake does not know yet is taken, as the contract (section 3) takes
every event ahead of its subject's opening, and judged here, where the
subject's state is:

- its subject's town known (`town`, which each core gives: see below) and in
  the stamp: applied as any entry;
- known and not in the stamp: not applied, and rejected as `outside_scope` on
  intake.rejected, with the token's name, so its field app reads it at
  `GET /events/rejected`;
- not known yet: kept whole in the state (`parked`) and judged, in the order
  of the entries' own times, right after the entry that gives the subject its
  town: applied as if it had come then, or rejected as above. At most `PARKED`
  wait for one subject, of at most `PARKED_BYTES` together, encoded; one more
  is rejected as `scope_unknown` (the app sends it again later) and so is
  never stored.

Intake marks every stamped event that names no town as taken for its token's
towns only (`Mark.held`, engine/intake/process.py), whatever it knows of the
subject's town (which may not be the decision's), so a copy of it (the same
`source` and `id`) sent by another token, by the same one again, or straight
to Kafka, is not dropped as a duplicate: its entries come with `COPY`. Here a
copy of a waiting entry widens the towns it waits for (a copy without a stamp
is applied at once, as it would be alone, and the entry waits no more); a copy
of an entry applied (`held_applied`: each `judged` entry applied, the latest
`HELD_APPLIED` by the entries' own times) changes nothing; any other copy, of
an entry rejected or never kept, is judged afresh with its own stamp, as a
first copy would be. So the copies seen decide together, nothing is dropped
for want of a record of its rejection, and a rejection leaves nothing to keep.
Past the bound, a copy of an entry applied before the latest HELD_APPLIED by
time is judged afresh, and applied again unless the subject's fingerprints
(`seen`, engine/kernel/copies.py, the latest 16) or its core's own checks
know it (README, Known limits).

An entry a token sent that names a town itself (a report, an inspection's
finding, an alert's raising) is held at intake to its subject's town where
that worker can see it. An inspection's findings are taken on the
inspection's worker, which most often does not hold their hazards, so here a
stamped one about a hazard whose town is known and outside the stamp is
rejected as `outside_scope` too (`foreign`): neither applied nor moving the
hazard's town, which an earlier-dated finding would do (the opening record's
town holds). An enterprise's file is not held so: an inspection's entry on it
names where the inspector was, and is judged at intake only by that.

Which town holds, by kind (`town`): a hazard's is the one its opening record
(a report, an inspection's finding) names, and an alert's the one its raising
names, whoever sent it, since a token may only open subjects in its own towns
and that record is the subject; an enterprise's file is held to the town it is
registered in, or one a record without a token's stamp found it in, never to a
town only a stamped record found it in (`EnterpriseFile.town_by_token`), since
an inspection names where the inspector was, not where the enterprise lies,
and would let a token choose the town its own classification sent ahead is
judged by.
"""

from __future__ import annotations

import base64
import bisect
from collections.abc import Mapping
from typing import Any

from engine import codec
from engine.contract.outputs import INTAKE_REJECTED, IntakeRejected, RejectedHeader, RejectionError
from engine.intake.scope import FIELD_APP_HEADER, TOWNS_HEADER
from engine.intake.timeline import FINDING_TYPE
from engine.kernel.entries import COPY, FIELD_APP, TOWNS
from engine.kernel.ids import output_id
from engine.kernel.outputs import Out, envelope
from engine.kernel.state import entry_hash
from engine.kernel.time import epoch

PARKED = 64  # entries that may wait for one subject's town; one more is rejected as scope_unknown
PARKED_BYTES = 256 * 1024  # and their size, encoded, at most; an entry beyond is scope_unknown too
HELD_APPLIED = 256  # `judged` entries applied whose (time, hash) a subject keeps, the latest by time
COPIES = "copies"  # on a waiting entry: [field app, towns, origin, received_at] of each copy stamped


def named_town(entry: Mapping[str, Any]) -> str | None:
    """The town an entry's event names: its own location's, or its inspection's for a finding."""
    data = entry["data"]
    location = data.get("location") if isinstance(data, dict) else None
    if location is None and isinstance(data, dict) and isinstance(data.get("inspection"), dict):
        location = data["inspection"].get("location")
    town = location.get("town") if isinstance(location, dict) else None
    return town if isinstance(town, str) else None


def judged(entry: Mapping[str, Any]) -> bool:
    """Whether an entry is held to a token's towns here: one of an event intake took (not a link
    nor a clock), stamped or a copy of one stamped, that names no town itself."""
    return (TOWNS in entry or COPY in entry) and "origin" in entry and named_town(entry) is None


def hold(state: Any, entry: Mapping[str, Any], where: str | None) -> list[Out] | None:
    """Judge a `judged` entry against its subject's town `where` (None: not known yet). None when it
    is to be applied now (the caller notes it, `applied`); else what it sends instead (nothing, or
    its rejection), the entry kept waiting or merged into a copy waiting.

    A copy of an entry waiting widens the towns it waits for (one without a stamp is applied now,
    the waiting entry dropped: it would apply at once alone); a copy of one applied (`held_applied`)
    changes nothing; any other copy, of one rejected or never stored, is judged afresh with its own
    stamp, as a first copy: no copy is dropped for the mere absence of a rejection."""
    if entry.get(COPY):
        entry_id = entry["entry_id"]
        for i, waiting in enumerate(state.parked):
            if waiting["entry_id"] == entry_id:
                if TOWNS not in entry:  # a sender held to no town: applied now, as its first copy
                    del state.parked[i]  # would have been; what waited is this very event
                    return None
                _widen(waiting, entry)
                return []
        if [epoch(entry["time"]), entry_hash(entry_id)] in state.held_applied:
            return []  # its first copy was applied: this one changes nothing
    towns = entry.get(TOWNS)
    if towns is None:
        return None  # a copy without a stamp: applied as any entry
    if where is None:
        room = PARKED_BYTES - sum(len(codec.dumps(waiting)) for waiting in state.parked)
        kept = {k: v for k, v in entry.items() if k != COPY}
        if len(state.parked) < PARKED and len(codec.dumps(kept)) <= room:
            state.parked.append(kept)
            return []
        return _rejection(entry, _senders(entry), None)  # kept nowhere: a copy of it is judged afresh
    if where in towns:
        return None
    return _rejection(entry, _senders(entry), where)


def foreign(entry: Mapping[str, Any], where: str | None) -> list[Out] | None:
    """The rejection of an entry a token limited to towns sent that names a town itself (a report,
    an inspection's finding, an alert's raising) about a subject known in another town `where`
    outside its stamp; None for any other entry. Intake checks this where it can see the subject's
    town, but an inspection's finding is taken on the inspection's worker, which most often does not
    hold its hazard: applied, a finding dated before the hazard's report would move another town's
    hazard into the token's (its opening record's town holds)."""
    towns = entry.get(TOWNS)
    if towns is None or where is None or where in towns or "origin" not in entry:
        return None
    return _rejection(entry, _senders(entry), where)


def applied(state: Any, entry: Mapping[str, Any]) -> None:
    """Note a `judged` entry applied, so a copy of it from another sender changes nothing: the
    latest HELD_APPLIED by the entries' own times, so which are kept does not depend on the order
    they came in. A copy of one older than those is judged afresh, and may apply a second time
    (README, Known limits)."""
    note = [epoch(entry["time"]), entry_hash(entry["entry_id"])]
    if note not in state.held_applied:
        bisect.insort(state.held_applied, note)
        del state.held_applied[:-HELD_APPLIED]


def release(state: Any, where: str) -> tuple[list[Mapping[str, Any]], list[Out]]:
    """The entries waiting for the subject's town, now `where`, that it allows, in the order of
    their own times (as they came, for one time), and the rejections of the others."""
    waiting = sorted(state.parked, key=lambda e: epoch(e["time"]))
    state.parked = []
    allowed: list[Mapping[str, Any]] = []
    rejections: list[Out] = []
    for entry in waiting:
        senders = _senders(entry)
        if any(towns is None or where in towns for _, towns, _, _ in senders):
            allowed.append({k: v for k, v in entry.items() if k != COPIES})
            applied(state, entry)
        else:
            rejections += _rejection(entry, senders, where, waited=True)
    return allowed, rejections


def _widen(waiting: dict[str, Any], copy: Mapping[str, Any]) -> None:
    """A copy of a waiting entry, from another sender: the entry waits for the towns of either.
    Only stamped entries wait, and a copy without a stamp is applied instead (`hold`)."""
    copies = waiting.setdefault(COPIES, [])
    sender = [copy.get(FIELD_APP), copy[TOWNS]]
    if sender == [waiting.get(FIELD_APP), waiting[TOWNS]] or any(c[:2] == sender for c in copies):
        return  # sent again by a sender known: one rejection each, should it not apply (bounded)
    copies.append([*sender, copy.get("origin"), copy.get("received_at")])


def _senders(entry: Mapping[str, Any]) -> list[tuple[str | None, list[str] | None, Any, Any]]:
    """(field app, towns, origin, received_at) of each copy of an entry: its own, then those merged."""
    own = (entry.get(FIELD_APP), entry.get(TOWNS), entry.get("origin"), entry.get("received_at"))
    return [own, *(tuple(c) for c in entry.get(COPIES, ()))]


def _as_sent(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The event an entry comes from, as a structured CloudEvent: for an inspection's finding, the
    inspection with that finding alone (the type and subject its app sent, not the internal ones)."""
    data, type_, subject = entry["data"], entry["type"], entry["subject"]
    if type_ == FINDING_TYPE:
        context = data["inspection"]
        type_, subject = "safety.inspection.recorded", context.get("inspection_id", subject)
        data = {**{k: v for k, v in context.items() if k != "law_enforcement"},
                "findings": [{k: v for k, v in data.items() if k != "inspection"}]}
    return {"specversion": "1.0", "id": entry.get("event_id"), "source": entry.get("source"), "type": type_,
            "subject": subject, "time": entry["time"], "datacontenttype": "application/json", "data": data}


def _allowed(towns: list[str]) -> str:
    return ", ".join(towns) if towns else "no town (its stamp could not be read)"


def _rejection(entry: Mapping[str, Any], senders: list[Any], where: str | None,
               waited: bool = False) -> list[Out]:
    """The `safety.intake.rejected` of each stamped copy of an entry: as intake writes one, with the
    token's name and towns as its headers, so `GET /events/rejected` shows it to that token.

    Its id comes from the entry and its copy's intake record, so a redelivery or a replay repeats
    it. The raw bytes are the event as the entry keeps it (its record's bytes are not on the
    timeline), a structured CloudEvent (`_as_sent`): one waiting can be sent again as it is; a
    finding's says which inspection and finding it was, and its message not to send it again."""
    kind, subject = entry["subject_kind"], entry["subject"]
    finding = entry["type"] == FINDING_TYPE
    raw = codec.dumps(_as_sent(entry))
    outs: list[Out] = []
    for app, towns, origin, received in senders:
        allowed = _allowed(towns or [])
        if finding:  # only `foreign` rejects one: its inspection and other findings were applied
            inspection = entry["data"]["inspection"].get("inspection_id")
            error = RejectionError(
                loc=["data", "findings"], type="outside_scope",
                msg=f"the finding of inspection {str(inspection)[:200]!r} about hazard {subject[:200]!r} "
                f"was not applied: the hazard is in town {str(where)[:100]!r}, outside the scope of the "
                f"field-app token that sent it (it may send for {allowed}); the inspection and its other "
                "findings were taken: do not send the inspection again, under any id")
        elif where is None:
            error = RejectionError(
                loc=["subject"], type="scope_unknown",
                msg=f"the engine knows no town of {kind} {subject[:200]!r} yet, and the events of tokens "
                f"limited to towns that wait for it fill the room it keeps them (at most {PARKED} events "
                f"and {PARKED_BYTES // 1024} KiB), so it cannot keep this one until it "
                f"can tell whether it is within the scope of the field-app token that sent it (limited "
                f"to {allowed}); send it again once the {kind}'s opening event was accepted")
        elif waited:
            error = RejectionError(
                loc=["subject"], type="outside_scope",
                msg=f"this event waited for the town of {kind} {subject[:200]!r}, which is {where[:100]!r}, "
                f"outside the scope of the field-app token that sent it: it may send for {allowed}; "
                "the event was not applied")
        else:
            error = RejectionError(
                loc=["subject"], type="outside_scope",
                msg=f"{kind} {subject[:200]!r} is in town {where[:100]!r}, outside the scope of the "
                f"field-app token that sent this event: it may send for {allowed}; the event was not applied")
        headers = [RejectedHeader(name=TOWNS_HEADER,
                                  value_base64=base64.b64encode(codec.dumps(towns or [])).decode())]
        if app is not None:
            headers.insert(0, RejectedHeader(name=FIELD_APP_HEADER,
                                             value_base64=base64.b64encode(app.encode()).decode()))
        at = origin or {"topic": "", "partition": 0, "offset": 0}
        received = received or entry["time"]
        data = IntakeRejected(
            topic=at["topic"], partition=at["partition"], offset=at["offset"], key=subject,
            received_at=received, errors=[error], raw_base64=base64.b64encode(raw).decode("ascii"),
            headers=headers).dump()
        event = envelope("safety.intake.rejected",
                         output_id(error.type, entry["entry_id"], at["topic"], at["partition"], at["offset"]),
                         subject, epoch(received), data)
        outs.append(Out(INTAKE_REJECTED, subject, event))
    return outs
