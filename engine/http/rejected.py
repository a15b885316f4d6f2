"""`GET /events/rejected`: what the intake stage rejected of a field app's own events, after their 202.

`POST /events` answers once the events are on the broker, before the worker
that owns each subject has judged them. Most rejections are known at the door
and answered there; a few need the subject's state, which only that worker
holds: an event about a subject outside the token's towns that the door could
not see (`outside_scope`), one sent ahead of its subject's opening that the
subject, once it had a town, showed outside them (`outside_scope` too, written
by the decision: engine/kernel/scope.py), one of more than the events that may
wait for one subject's town (`scope_unknown`), an event that went stale on its
way in, and a changed copy
of an event taken before under the same `source` and `id` whose mark the door
did not hold (`conflicting_copy`: another worker's, or a gateway's door). Those go to
`intake.rejected`, as every rejection does, and a field app reads its own
back here, with its own token: the records the door stamped with its name
(the `field-app` header), from a time on.

One request reads `intake.rejected` from `since` (or from `after`, the `next`
of an earlier answer) to where it ended when the request came, at most
SCAN_MAX records of every app's rejections. `complete` says whether it got
that far, and `next` is where each partition's read stopped: asked again with
`after=<next>`, the read goes on from there, so an app whose rejections lie
beyond many of other apps' reaches them, and no partition read less far is
skipped. Nothing is kept between requests, so the gateway serves it as a
worker does. A read costs the token READ_COST events of its rate; a server
runs READS_AT_ONCE at most, one a token.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiokafka import TopicPartition
from pydantic import BaseModel, ConfigDict

from engine import codec
from engine.contract.outputs import INTAKE_REJECTED, RejectionError
from engine.intake.scope import FIELD_APP_HEADER
from engine.tools.kafka import partitions_of, reader

PATH = "/events/rejected"
SCAN_MAX = 20_000  # records of intake.rejected one request reads at most (~1 s of parsing)
SINCE_DEFAULT_S = 86_400  # a request without `since` asks for the last day
READ_S = 10.0  # how long one request may read the topic before it answers with what it has
# Reads of the topic one server runs at once (each a Kafka consumer, holding up to FETCH_BYTES):
# more are answered 503 at once, so a token asking again and again cannot fill the server's memory.
READS_AT_ONCE = 2
FETCH_BYTES = 4 * 1024 * 1024
# What one read costs a token's rate, in events: it may scan SCAN_MAX records.
READ_COST = 100


class Rejected(BaseModel):
    """One of the app's events the intake stage rejected, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str | None = None
    source: str | None = None
    type: str | None = None
    subject: str | None = None
    received_at: str
    errors: list[RejectionError]


class RejectedAnswer(BaseModel):
    """The body of a 200 of `GET /events/rejected`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    since: str | None  # None when the read went on from `after`
    complete: bool  # every record of intake.rejected from `since` to the request's time was read
    next: str  # where each partition's read stopped, `0:15,1:7`: give it as `after` to go on
    rejected: list[Rejected]


def since_ms(value: str | None, now: float) -> int | None:
    """`since` (RFC 3339 with an offset) as epoch ms; the last day without one; None if unreadable."""
    if value is None:
        return int((now - SINCE_DEFAULT_S) * 1000)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return int(at.timestamp() * 1000) if at.tzinfo is not None else None


def _header(headers: list[dict[str, Any]], name: str) -> bytes | None:
    for header in headers:
        if header.get("name") == name and isinstance(header.get("value_base64"), str):
            return base64.b64decode(header["value_base64"])
    return None


def rejected_of(app: str, value: bytes | None) -> Rejected | None:
    """The rejection a record of intake.rejected holds, if the field app `app` published its event."""
    try:
        data = codec.loads(value or b"")["data"]
        if _header(data.get("headers") or [], FIELD_APP_HEADER) != app.encode("utf-8"):
            return None
        errors = [RejectionError(**e) for e in data["errors"]]
    except (ValueError, KeyError, TypeError):
        return None  # not a rejection the engine wrote
    try:
        event = codec.loads(base64.b64decode(data.get("raw_base64") or ""))
    except ValueError:
        event = None
    said = ({k: event[k] for k in ("id", "source", "type", "subject") if isinstance(event.get(k), str)}
            if isinstance(event, dict) else {})
    return Rejected(received_at=str(data.get("received_at")), errors=errors, **said)


async def read_rejected(bootstrap: str, auth: Mapping[str, Any], topic: str, app: str,
                        since: int, after: Mapping[int, int] | None = None
                        ) -> tuple[list[Rejected], bool, dict[int, int]]:
    """The app's rejections on `topic` from `since` (epoch ms) on, or from the positions `after`
    (a partition it does not name: from `since`); whether all were read; where each partition's
    read stopped (`next`)."""
    consumer = reader(bootstrap, auth, client_id="hazard-events-rejected", auto_offset_reset="earliest",
                      fetch_max_bytes=FETCH_BYTES)
    found: list[Rejected] = []
    try:
        await consumer.start()
        tps = {p: TopicPartition(topic, p) for p in await partitions_of(consumer, topic)}
        if not tps:
            return found, True, {}
        consumer.assign(list(tps.values()))
        ends = await consumer.end_offsets(list(tps.values()))
        firsts = await consumer.beginning_offsets(list(tps.values()))
        by_time = await consumer.offsets_for_times({tp: since for tp in tps.values()})
        at: dict[int, int] = {}
        for p, tp in tps.items():
            wanted = (after[p] if after is not None and p in after
                      else by_time[tp].offset if by_time[tp] is not None else ends[tp])
            at[p] = min(max(wanted, firsts[tp]), ends[tp])  # past the end: nothing; before the first: it
            consumer.seek(tp, at[p])
        todo = {tp for p, tp in tps.items() if at[p] < ends[tp]}
        scanned, stop = 0, time.monotonic() + READ_S
        while todo and scanned < SCAN_MAX and time.monotonic() < stop:
            batch = await consumer.getmany(*todo, timeout_ms=500, max_records=min(1000, SCAN_MAX - scanned))
            for tp, records in batch.items():
                for rec in records:
                    if rec.offset >= ends[tp]:
                        break
                    scanned += 1
                    at[tp.partition] = rec.offset + 1
                    if (one := rejected_of(app, rec.value)) is not None:
                        found.append(one)
                if at[tp.partition] >= ends[tp]:
                    todo.discard(tp)
        return found, not todo, at
    finally:
        await consumer.stop()


def rejected_topic(prefix: str) -> str:
    """intake.rejected as the broker names it, with HAZARD_TOPIC_PREFIX."""
    return prefix + INTAKE_REJECTED
