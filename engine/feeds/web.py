"""Supervisors' HTTP feeds on the worker's web server: live escalations (SSE) and state look-ups.

    GET /feeds/escalations?town=&department=&tier=&level=&action=   text/event-stream
    GET /hazards/{id}            GET /hazards?town=&department=&overdue=&limit=&cursor=
    GET /alerts/{id}             GET /alerts?...          (when an alerts source is given)
    GET /enterprises/{uscc}      GET /enterprises?...     (engine/enterprise/web.py, through `lookups`)

Every request needs `Authorization: Bearer <token>` (401 without a valid one);
asking outside the token's scope is 403, and the scope also filters every
event and item, so a town's supervisor never receives another town's data,
whatever the filters. The SSE stream reads the escalations topic with its own
group-less consumer; each event's id is the stream position after it (every
partition's next offset), so a client reconnecting with Last-Event-ID resumes
exactly where it stopped: Kafka offsets, not the worker's memory, are the truth.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import structlog
from aiohttp import web as aioweb
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from engine.contract.common import KnownIds
from engine.contract.outputs import ESCALATIONS
from engine.feeds.filters import (
    BadRequest,
    Filters,
    RecordPage,
    check_list_query,
    decode_cursor,
    decode_positions,
    encode_cursor,
    encode_positions,
    escalation_departments,
    escalation_visible,
    in_scope,
    parse_bool,
    parse_limit,
)
from engine.feeds.share import Busy, LoopShare, loop_share
from engine.feeds.tokens import ENV, Scope, TokenStore
from engine.feeds.views import StateSource
from engine.kernel.state import MissingHistory
from engine.kernel.time import iso, iso_ms
from engine.settings import Settings
from engine.tools.kafka import client_auth, partitions_of, reader

log = structlog.get_logger("engine.feeds")

KEEPALIVE_S = 15.0
POLL_MS = 1000  # how often a stream notices a closed connection or a shutdown
MAX_STREAMS = 64  # each stream holds a Kafka connection; beyond this, clients get 503
MAX_STREAMS_PER_TOKEN = 4  # so that one supervisor's screens cannot take every slot
RETRY_MS = 3000  # what EventSource waits before reconnecting
# The CloudEvents extension attribute each event of the stream carries: its Kafka record's timestamp
# (RFC 3339, +08:00), when it was sent. Lower-case letters only, as the CloudEvents spec names them.
BROKER_TIME = "brokertime"
REPLAY_BATCH = 200  # records framed in one turn of the feeds (engine/feeds/share.py)


def _unauthorized(view: Any, reason: str) -> Any:
    return view.error(401, reason, headers={"WWW-Authenticate": 'Bearer realm="hazard-engine"'})


def _authorize(view: Any, request: Any, tokens: TokenStore) -> Scope | Any:
    """The token's scope, or the 401 response to return."""
    if not tokens.configured:
        return _unauthorized(view, f"supervisor tokens are not configured on this worker "
                                   f"(set {ENV}); the feeds serve no one without them")
    header = request.headers.get("Authorization")
    if not header:
        return _unauthorized(view, "a bearer token is required: Authorization: Bearer <token>")
    scope = tokens.authenticate(header)
    return scope if scope is not None else _unauthorized(view, "unknown or revoked token")


class EscalationStream:
    """Serves one SSE client: reads the topic from a position and writes what its scope allows."""

    def __init__(self, bootstrap: str, topic: str, sources: dict[str, StateSource | None],
                 closing: asyncio.Event, share: LoopShare, write_s: float = 30.0,
                 auth: Mapping[str, Any] | None = None) -> None:
        self.bootstrap, self.topic, self.sources, self.closing = bootstrap, topic, sources, closing
        self.auth = auth or {}  # the worker's login (Settings): a secure broker asks for it
        self.share = share  # framing a replay's records takes its turns with the lists
        self.write_s = write_s  # a client that takes no write for this long loses its stream

    def departments(self, data: dict[str, Any]) -> set[str]:
        """Departments an escalation concerns; the lead one comes from the index, not the state."""
        source = self.sources.get(str(data.get("subject_kind")))
        place = source.place(str(data.get("subject_id"))) if source is not None else None
        return escalation_departments(data, place.departments if place is not None else ())

    def frame(self, value: bytes | None, filters: Filters, scope: Scope,
              need_departments: bool, timestamp_ms: int | None = None) -> str | None:
        """The `data:` line of a record, or None when this client must not or need not see it. The
        record's timestamp on the broker (`timestamp_ms`: when the engine sent it) goes with the
        event as BROKER_TIME: its `time` is the time of the step it tells of, which may be days
        before it was sent (a late record makes a whole ladder owed at once), so a list that
        should show what was sent last first orders by this."""
        try:
            event = json.loads(value or b"")
        except ValueError:
            return None  # not the engine's output; nothing a supervisor could use
        data = event.get("data") if isinstance(event, dict) else None
        if not isinstance(data, dict):
            return None
        depts = self.departments(data) if need_departments else set()
        if not escalation_visible(data, depts, filters, scope):
            return None
        if timestamp_ms is not None and timestamp_ms >= 0:  # a record without one says -1
            event[BROKER_TIME] = iso_ms(timestamp_ms)
        # Re-serialised on one line: an SSE data field ends at the first newline.
        return json.dumps(event, ensure_ascii=False, separators=(",", ":"))

    async def serve(self, request: Any, scope: Scope, filters: Filters,
                    start: dict[int, int] | None,
                    still_allowed: Callable[[], bool] = lambda: True,
                    announce: bool = False) -> aioweb.StreamResponse:
        """Stream escalations until the client goes away, its token is revoked, or the worker stops.

        With `announce`, the start position also goes out as a `position` event with
        that id, so a browser that reconnects before any escalation came still
        resumes from where it started (the board's script reads it).
        """
        consumer = reader(self.bootstrap, self.auth, client_id="hazard-feeds",
                          # a Last-Event-ID older than retention resumes at the oldest kept
                          auto_offset_reset="earliest")
        resp: aioweb.StreamResponse | None = None
        try:
            await consumer.start()  # inside the try: a failed start must release the client too
            partitions = await partitions_of(consumer, self.topic)
            if not partitions:
                raise aioweb.HTTPServiceUnavailable(text=f"no topic {self.topic}")
            tps = {p: TopicPartition(self.topic, p) for p in partitions}
            if start is not None and (unknown := sorted(set(start) - set(tps))):
                raise aioweb.HTTPBadRequest(text=json.dumps({"error": (
                    f"Last-Event-ID names partition {unknown[0]}, which {self.topic} does not have "
                    f"(it has {len(tps)}): a position of another topic; reconnect without it")}),
                    content_type="application/json")
            consumer.assign(list(tps.values()))
            by_tp = await consumer.end_offsets(list(tps.values()))
            ends = {p: by_tp[tp] for p, tp in tps.items()}
            # A partition the id does not name was added since: all of it is news. A position past
            # a partition's end (a topic made again, or a forged id) resumes at the end: the broker
            # would put the consumer back to the partition's oldest record and send it all again.
            positions = dict(ends) if start is None else {p: min(start.get(p, 0), ends[p]) for p in tps}
            for p, tp in tps.items():
                consumer.seek(tp, positions[p])
            resp = aioweb.StreamResponse(headers={
                "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no"})  # tells nginx-like proxies not to buffer the stream
            await resp.prepare(request)
            await self._write(resp, f"retry: {RETRY_MS}\n: from {encode_positions(positions)}\n\n"
                              .encode())
            if announce:
                await self._write(resp, f"id: {encode_positions(positions)}\nevent: position\n"
                                  "data: start\n\n".encode())
            need_departments = bool(filters.departments or (scope.departments and not scope.district))
            last_write = time.monotonic()
            while not self.closing.is_set():
                transport = request.transport
                if transport is None or transport.is_closing():
                    break
                if not still_allowed():  # the token was revoked or its scope changed: end the stream
                    await self._write(resp, b"event: revoked\n"
                                      b"data: the token of this stream is no longer valid\n\n")
                    log.info("feed_revoked", supervisor=scope.name)
                    break
                batch = await consumer.getmany(timeout_ms=POLL_MS, max_records=REPLAY_BATCH)
                out = await self.share.run(partial(self.frames, batch, positions, filters, scope,
                                                   need_departments)) if batch else ""
                if out:
                    await self._write(resp, out.encode("utf-8"))
                    last_write = time.monotonic()
                elif time.monotonic() - last_write >= KEEPALIVE_S:
                    await self._write(resp, b": keepalive\n\n")  # keeps proxies and NAT from closing it
                    last_write = time.monotonic()
            return resp
        except KafkaError as exc:
            if resp is not None:  # the stream was open: end it; the client reconnects with its id
                log.warning("feed_broker_lost", supervisor=scope.name, error=str(exc)[:200])
                return resp
            raise aioweb.HTTPServiceUnavailable(
                text=json.dumps({"error": "the broker does not answer; retry later"}),
                content_type="application/json", headers={"Retry-After": "10"}) from exc
        except (ConnectionError, TimeoutError) as exc:  # the client went away or stopped reading
            if resp is None:
                raise
            if isinstance(exc, TimeoutError):
                log.info("feed_stalled", supervisor=scope.name, write_timeout_s=self.write_s)
                if request.transport is not None:
                    request.transport.abort()  # its buffered bytes would keep the slot otherwise
            return resp
        finally:
            await consumer.stop()

    def frames(self, batch: dict[TopicPartition, list[Any]], positions: dict[int, int],
               filters: Filters, scope: Scope, need_departments: bool) -> str:
        """The SSE events of a batch this client may see; `positions` moves past every record."""
        out = []
        for tp, records in sorted(batch.items()):
            for rec in records:
                positions[tp.partition] = rec.offset + 1
                line = self.frame(rec.value, filters, scope, need_departments, rec.timestamp)
                if line is not None:
                    out.append(f"id: {encode_positions(positions)}\nevent: escalation\n"
                               f"data: {line}\n\n")
        return "".join(out)

    async def _write(self, resp: aioweb.StreamResponse, data: bytes) -> None:
        # A client that stops reading fills the socket's buffers and then blocks the write.
        await asyncio.wait_for(resp.write(data), self.write_s)


LAG_HEADER = "X-Replica-Lag-Records"


def _lag_headers(source: StateSource) -> dict[str, str] | None:
    """How stale the copy of other workers' partitions behind an answer is, when there is one.

    A source with a replica (engine/stream/replica.py) has `behind`; others answer without it.
    """
    behind = getattr(source, "behind", None)
    return {LAG_HEADER: str(behind())} if behind is not None else None


async def _list(view: Any, request: Any, source: StateSource, scope: Scope,
                now: Callable[[], float], share: LoopShare, known: KnownIds | None) -> Any:
    check_list_query(request.query)
    filters = Filters.from_query(request.query, known)
    if reason := filters.outside(scope):
        return view.error(403, reason)
    overdue = parse_bool(request.query.get("overdue"), "overdue")
    after, limit = decode_cursor(request.query.get("cursor")), parse_limit(request.query.get("limit"))
    share.admit()
    at = now()
    # A list is a summary: its items come without their records, each one GET /…/{id} away.
    items, last = await source.page(scope, filters, overdue, after, limit, at, share)
    return view.json({"items": items, "next_cursor": encode_cursor(last) if last is not None else None,
                      "as_of": iso(int(at))}, headers=_lag_headers(source))


async def _one(view: Any, request: Any, source: StateSource, id_: str, scope: Scope, kind: str,
               share: LoopShare) -> Any:
    # Outside the token's scope answers exactly as unknown: a town must not learn which ids exist
    # elsewhere from a 403 where another id gets 404. The index answers both without decoding.
    record = RecordPage.from_query(request.query)
    place = source.place(id_)
    item = None
    if place is not None and in_scope(scope, place.town, place.departments, place.also):
        share.admit()  # a page of a long record is work: it takes its turn with the lists
        item = await share.run(partial(source.get, id_, record, scope))
    if item is None or not in_scope(scope, item.get("town"), item.get("departments") or (),
                                    item.get("other_towns") or ()):
        return view.error(404, f"no {kind} {id_[:200]!r} on this worker", headers=_lag_headers(source))
    return view.json(item, headers=_lag_headers(source))


def register(app: Any, *, settings: Settings, bootstrap: str, hazards: StateSource,
             alerts: StateSource | None, tokens: TokenStore, now: Callable[[], float],
             known: KnownIds | None = None) -> None:
    """Add the feeds' pages to the worker's web server; `known`, the reference's towns and
    departments, refuses a filter naming one it does not know (400)."""
    topic = settings.topic_prefix + ESCALATIONS
    closing = asyncio.Event()
    share = loop_share(app.web.web_app, settings)
    streams = EscalationStream(bootstrap, topic, {"hazard": hazards, "alert": alerts}, closing,
                               share, settings.web_write_timeout_s, client_auth(settings))
    active: dict[int, str] = {}  # open streams: request id -> the token's supervisor name

    async def on_shutdown(_: Any) -> None:
        # aiohttp waits up to 60 s for open handlers; SSE handlers never end by themselves.
        closing.set()

    app.web.web_app.on_shutdown.append(on_shutdown)

    def guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
        return guard(tokens, handler)

    async def escalations(view: Any, request: Any, scope: Scope) -> Any:
        """Live escalations as Server-Sent Events, within the token's scope."""
        filters = Filters.from_query(request.query, known)
        if reason := filters.outside(scope):
            return view.error(403, reason)
        last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
        start = decode_positions(last) if last else None
        if len(active) >= MAX_STREAMS:
            return view.error(503, "too many open feeds on this worker; retry later",
                              headers={"Retry-After": "30"})
        if sum(1 for name in active.values() if name == scope.name) >= MAX_STREAMS_PER_TOKEN:
            return view.error(429, f"this token has {MAX_STREAMS_PER_TOKEN} feeds open already; "
                              "close one or retry later", headers={"Retry-After": "30"})
        marker = id(request)
        active[marker] = scope.name
        header = request.headers.get("Authorization")
        log.info("feed_opened", supervisor=scope.name, resume=last, filters=str(request.query_string))
        try:
            return await streams.serve(request, scope, filters, start,
                                       lambda: tokens.authenticate(header) == scope)
        finally:
            active.pop(marker, None)
            log.info("feed_closed", supervisor=scope.name)

    app.page("/feeds/escalations", name="feeds_escalations", head=False)(guarded(escalations))
    for kind, source in (("hazard", hazards), ("alert", alerts)):
        if source is not None:
            lookups(app, kind, source, tokens, now, share, known)


def guard(tokens: TokenStore, handler: Callable[..., Any]) -> Callable[..., Any]:
    """A page that answers 401 without a valid token, and 400 or 503 for what the handler raises."""
    async def page(view: Any, request: Any, **match: str) -> Any:
        scope = _authorize(view, request, tokens)
        if not isinstance(scope, Scope):
            return scope
        try:
            return await handler(view, request, scope, **match)
        except BadRequest as exc:
            return view.error(400, str(exc))
        except Busy as exc:
            return view.error(503, f"{exc}; retry later", headers={"Retry-After": "1"})
        except MissingHistory:  # a replica that has the state before the chunks it counts
            return view.error(503, "this record's history is still being read; retry later",
                              headers={"Retry-After": "1"})
    page.__doc__ = handler.__doc__
    return page


def lookups(app: Any, kind: str, source: StateSource, tokens: TokenStore, now: Callable[[], float],
            share: LoopShare, known: KnownIds | None = None) -> None:
    """`GET /{kind}s/{id}` and `GET /{kind}s`, scoped by the token, read from `source`."""

    async def one(view: Any, request: Any, scope: Scope, id: str) -> Any:  # noqa: A002 - route name
        """One item's state view, with a page of its record (`?record_limit=`, `?record_before=`)."""
        return await _one(view, request, source, id, scope, kind, share)

    async def many(view: Any, request: Any, scope: Scope) -> Any:
        """A page of items within the token's scope, ordered by id."""
        return await _list(view, request, source, scope, now, share, known)

    app.page(f"/{kind}s/{{id}}", name=f"feeds_{kind}")(guard(tokens, one))
    app.page(f"/{kind}s", name=f"feeds_{kind}s")(guard(tokens, many))
