"""`POST /events`: field apps publish over HTTP what others publish on the intake topics (contract s. 1, v2).

The answers, when each is given and what a field app should do about it, are
`ANSWERS` below; docs/contract.md and docs/openapi.yaml are generated from them.

Each event is checked by the Kafka intake's own code (engine/intake/binding.py)
before it is sent, so an event that can never be accepted is answered at once
with the errors `intake.rejected` would carry. Accepted events go to their
type's intake topic, keyed by subject, as structured records; the worker's
intake then takes them as it takes any record, de-duplication by (`source`,
`id`) included: the same event posted twice, or posted again after a 503, is
one event. The handler is a plain aiohttp one, so it serves on the worker's web
server, on the batched runtime's server and in `hazard-engine gateway` alike.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError
from aiohttp.web_urldispatcher import _default_expect_handler  # 100 Continue, as every route sends it
from pydantic import BaseModel, ConfigDict

from engine.contract.common import KnownIds
from engine.contract.outputs import CLOUDEVENT_CONTENT_TYPE, RejectionError
from engine.feeds.filters import BadRequest, decode_positions, encode_positions
from engine.feeds.tokens import ENV, FieldApp, TokenStore
from engine.http import rejected
from engine.http.events import Item, RequestError, read_request
from engine.http.limits import BodyBudget, bounds_own_body, closing
from engine.intake.binding import validate_kafka_record
from engine.intake.process import (
    conflicting_copy,
    conflicting_mark,
    content_digest,
    time_window,
    timing_problems,
)
from engine.intake.scope import FIELD_APP_HEADER, TOWNS_HEADER, TownOf, foreign_findings, stamp
from engine.intake.timeline import Normalised, normalised
from engine.intake.validate import Accepted, Invalid, json_items_over
from engine.kernel.time import epoch, iso_ms
from engine.metrics import HttpIntakeMetrics
from engine.settings import Settings
from engine.tools.kafka import OnDemandProducer, client_auth, producer

log = structlog.get_logger("engine.http.intake")

PATH = "/events"
# What the intake's checks call the place an event came from, in an unknown-type message.
HTTP_TOPIC = "POST /events"
# Events checked between two turns of the event loop: the worker decides events on the loop that
# serves HTTP, and a batch of 1,000 malformed events takes ~0.8 s to check (70 ms if well formed).
CHECK_CHUNK = 20
RETRY_AFTER_503_S = 5
# The slowest a body may come once HAZARD_WEB_BODY_TIMEOUT_S has passed: 16 KiB a second, a slow
# mobile link's pace. A body that trickles slower (a byte a second, or none) would hold its
# connection and the part of it already read for as long as its sender liked.
BODY_MIN_BYTES_PER_S = 16 * 1024
BODIES_RETRY_S = 5  # Retry-After when too many bodies are coming at once (HAZARD_HTTP_BODIES_BYTES)
# How much sooner than the worker's intake the door calls an event `stale`: the worker judges an
# event's age again when it reads the record, later by the door-to-broker time, any difference
# between the door's clock and the worker's, and the worker's backlog. Without it an event at the
# window's edge was answered 202 and then rejected, unknown to its sender. A day, as the marks'
# own slack (engine/stream/marks.py SLACK_S): a worker further behind is an incident of its own.
# Never more than a tenth of the window (HAZARD_DEDUP_DAYS), which a short window would not leave.
DOOR_STALE_MARGIN_S = 86_400
Sends = list[tuple[str, bytes, bytes]]  # (topic, key, value) records to send
Seen = Callable[[str], str | None]  # a de-duplication mark by its key, as intake looks it up
# An event checked at the door, with what it says when it can be accepted (else None).
Checked = tuple[Accepted | Invalid, Normalised | None]


class EventResult(BaseModel):
    """What became of one event of a POST: accepted for intake, or rejected with the intake's errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    index: int
    id: str | None = None
    source: str | None = None
    status: Literal["accepted", "rejected"]
    topic: str | None = None  # accepted: the intake topic it was sent to, as the contract names it
    subject: str | None = None  # accepted: the record's key
    errors: list[RejectionError] | None = None  # rejected: as `intake.rejected` would carry them


class PostAnswer(BaseModel):
    """The body of a 202 (some events accepted) or a 400 (none could be)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    error: str | None = None
    accepted: int
    rejected: int
    results: list[EventResult]


class OutsideScope(BaseModel):
    """One event a 403 refused, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    index: int
    reason: str


class ErrorAnswer(BaseModel):
    """Any other answer that is not a 202: a reason, and what it concerns."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    error: str
    errors: list[RejectionError] | None = None  # 400: why the batch is not readable JSON
    outside: list[OutsideScope] | None = None  # 403: each event outside the token's scope


@dataclass(frozen=True, slots=True)
class Answer:
    """One status POST /events may answer, when, and what the field app should do about it."""

    status: int
    when: str
    then: str
    retry_after: bool = False


ANSWERS = (
    Answer(202, "every accepted event is on its intake topic, acknowledged by the broker; the "
           "results say which events were accepted and which were rejected, and why; the worker "
           "that holds the subject still judges it against the token's towns (`outside_scope`; for an "
           "event ahead of its subject's opening, once the subject has a town; `scope_unknown` when too "
           "many wait for one subject) and against the marks of the events it took (`conflicting_copy`), "
           "and what it rejects is read back at GET /events/rejected",
           "fix and resend only the rejected ones (the same `source` and `id` may be reused, but "
           "not for a `conflicting_copy`: its first event stands); "
           "from a token limited to towns, check GET /events/rejected after sending"),
    Answer(400, "no event of the request can ever be accepted (each result gives the intake's "
           "errors), a batch is not readable JSON or is empty, or the body ended before its "
           "declared length or chunked framing was whole",
           "fix the events; resending them unchanged will fail the same way"),
    Answer(401, "no field-app token, an unknown or revoked one, or a supervisor's token",
           "ask the district for a field-app token (`hazard-engine token new --field-app`)"),
    Answer(403, "an event's `source` does not start with the token's source prefix, the town it "
           "names (`data.location.town`) is not one of the token's towns, or its subject is in a "
           "town outside them as far as this server's states show; nothing was sent",
           "send only events within the token's scope; `outside` names each one"),
    Answer(408, "the body came slower than HAZARD_WEB_BODY_TIMEOUT_S and then 16 KiB a second "
           "allow; nothing was sent", "send the same events again, on a better link or fewer at a time"),
    Answer(409, "every event of the request is a conflicting copy (`conflicting_copy`): its "
           "`source` and `id` are those of an event taken before, as far as this server's marks "
           "show, or of an earlier event of the same request, with other content, and the intake "
           "would drop it and keep the first; nothing was sent. Among other events, such a copy "
           "is one of the rejected results of a 202 or a 400. A copy that only the worker "
           "holding its subject can tell (another worker's marks, the gateway) is answered 202, "
           "and read back at GET /events/rejected as `conflicting_copy`",
           "send a changed record under an id of its own; the first one stands"),
    Answer(413, "the body is over HAZARD_HTTP_MAX_BODY_BYTES, could hold more JSON keys, values, "
           "arrays and objects than HAZARD_HTTP_MAX_JSON_ITEMS, or a batch is over "
           "HAZARD_HTTP_MAX_BATCH events", "send fewer events per request"),
    Answer(415, "the body is no CloudEvent in any mode of the HTTP binding (no ce- headers and "
           "not a CloudEvents media type), or it is compressed (a Content-Encoding other than "
           "identity: no route takes a compressed body)",
           "use structured, binary or batch mode, uncompressed"),
    Answer(429, "the token posts more than HAZARD_HTTP_RATE_PER_S events a second on average "
           "(beyond HAZARD_HTTP_BURST at once); a request refused before its events could be "
           "counted (400, 413, 415) counts as the events its JSON could have held, one for each "
           "HAZARD_HTTP_MAX_JSON_ITEMS / HAZARD_HTTP_MAX_BATCH keys and values, at least one",
           "wait Retry-After seconds, then send again", retry_after=True),
    Answer(503, "the broker did not acknowledge every accepted event within "
           "HAZARD_HTTP_ACK_TIMEOUT_S", "wait Retry-After seconds and send the same events again: "
           "a copy that did land is dropped as a duplicate", retry_after=True),
)


class RateLimiter:
    """A token bucket per field app: `rate` events a second on average, `burst` at once."""

    def __init__(self, rate: float, burst: int, now: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.now = rate, burst, now
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, when)

    def _tokens(self, name: str, now: float) -> float:
        tokens, when = self._buckets.get(name, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - when) * self.rate)

    def take(self, name: str, events: int) -> float:
        """Take `events` from `name`'s bucket: 0 if allowed, else the seconds until they would be.

        A request larger than the burst waits for a full bucket, so it is not refused forever.
        """
        now = self.now()
        tokens, cost = self._tokens(name, now), min(events, self.burst)
        if tokens >= cost:
            self._buckets[name] = (tokens - cost, now)
            return 0.0
        self._buckets[name] = (tokens, now)
        return (cost - tokens) / self.rate

    def spend(self, name: str, events: int) -> None:
        """Take `events` whatever the bucket holds: work already done is paid for, in debt if need
        be, and `owes` then refuses the token's requests until the rate has paid it back."""
        now = self.now()
        self._buckets[name] = (self._tokens(name, now) - min(events, self.burst), now)

    def owes(self, name: str) -> float:
        """0 if `name`'s bucket holds one event, else the seconds until it will; nothing is taken.

        Any request takes at least one event, so one that comes sooner is refused before its
        body is read and parsed.
        """
        tokens = self._tokens(name, self.now())
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate


def _answer(status: int, body: BaseModel, headers: Mapping[str, str] | None = None) -> web.Response:
    # Serialised by pydantic's core directly: for a batch of 1,000 refused events, each with its
    # 48 errors, 38 ms against 180 through model_dump and orjson (the same bytes).
    return web.Response(body=body.model_dump_json(exclude_none=True), status=status, headers=headers,
                        content_type="application/json")


def _error(status: int, reason: str, headers: Mapping[str, str] | None = None,
           **extra: Any) -> web.Response:
    return _answer(status, ErrorAnswer(error=reason, **extra), headers)


def _unauthorized(reason: str) -> web.Response:
    return _error(401, reason, {"WWW-Authenticate": 'Bearer realm="hazard-engine field apps"'})


class _TooLarge(Exception):
    pass


class _Unread(Exception):
    """A body that could not be read whole: its status and why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


async def _read_body(request: web.Request, limit: int, first_s: float) -> bytes:
    """The body, or _TooLarge as soon as it passes `limit` bytes (nothing more is read), or _Unread
    when it breaks off (408 when it takes longer than `first_s` and then BODY_MIN_BYTES_PER_S
    for what it declares, or `limit` if it declares nothing; 400 when it ends short or its framing
    is broken)."""
    length = request.content_length
    if length is not None and length > limit:
        raise _TooLarge
    allowed = first_s + (length if length is not None else limit) / BODY_MIN_BYTES_PER_S
    chunks, size = [], 0
    try:
        async with asyncio.timeout(allowed):
            async for chunk in request.content.iter_any():
                size += len(chunk)
                if size > limit:
                    raise _TooLarge
                chunks.append(chunk)
    except TimeoutError:
        _give_up(request)
        raise _Unread(408, f"the body took over {allowed:.0f} s to come ({size} bytes had come): "
                      "nothing was sent") from None
    except (RequestPayloadError, ConnectionError) as exc:
        _give_up(request)
        raise _Unread(400, f"the body ended before it was whole ({size} bytes came; "
                      f"{type(exc).__name__}): nothing was sent") from None
    return b"".join(chunks)


def _give_up(request: web.Request) -> None:
    """Read no more of a body that failed: marked ended, aiohttp does not linger to drain it after
    the answer (which would wait HAZARD_WEB_BODY_TIMEOUT_S more for a trickle, or log the failure
    again as an unhandled ERROR); the answer closes the connection."""
    request.content.feed_eof()


def _result(index: int, item: Item, checked: Any) -> EventResult:
    said = {name: item.attributes[name] for name in ("id", "source")
            if isinstance(item.attributes.get(name), str)}
    if isinstance(checked, Accepted):
        return EventResult(index=index, status="accepted", topic=checked.event_type.topic,
                           subject=checked.event.subject, **said)
    return EventResult(index=index, status="rejected", errors=list(checked.errors), **said)


class FieldIntake:
    """Serves `POST /events`: checks, scopes, rate limits and sends to the intake topics."""

    def __init__(self, settings: Settings, bootstrap: str | Callable[[], str], tokens: TokenStore,
                 known: KnownIds, metrics: HttpIntakeMetrics, now: Callable[[], float],
                 limiter: RateLimiter | None = None, town_of: TownOf | None = None,
                 seen: Seen | None = None) -> None:
        self.settings, self.tokens, self.known, self.metrics = settings, tokens, known, metrics
        self.now = now  # the engine's clock (HAZARD_CLOCK_*), for the de-duplication window
        # The towns of the subjects this server can see (a worker's own and replicated states; none
        # on the gateway): an event about one outside the token's towns is answered 403 at once.
        # The intake stage judges every stamped event again, with its subject's state at hand.
        self.town_of = town_of
        # The de-duplication marks this server holds (a worker's own partitions'; none on the
        # gateway): a copy of an event taken before, with other content, is answered 409 at once.
        self.seen = seen
        self.limiter = limiter or RateLimiter(settings.http_rate_per_s, settings.http_burst)
        self.bodies = BodyBudget(settings.http_bodies_bytes, settings.http_max_body_bytes)
        self.bootstrap = bootstrap
        self._producer = OnDemandProducer(lambda: producer(
            bootstrap() if callable(bootstrap) else bootstrap, client_auth(settings)),
            settings.http_ack_timeout_s)
        self._pending: set[asyncio.Task[Any]] = set()
        self._reads = asyncio.Semaphore(rejected.READS_AT_ONCE)  # of GET /events/rejected
        self._reading: set[str] = set()  # the tokens reading it now: one read a token at once

    async def close(self, _: Any = None) -> None:
        """Stop the producer, after what it still holds is sent or has failed."""
        await self._producer.close()

    async def _send(self, waves: list[Sends], app: FieldApp) -> bool:
        """Send records, wave after wave; True once the broker acknowledged every one in time.

        On a timeout the sends are not cancelled: they may still land, and a resent copy is
        then a duplicate the intake drops. What is answered 202 is always on the broker.

        Each record is stamped with the token's name and towns (engine/intake/scope.py), by this
        server alone: a client's headers never reach a record, so no client can widen its scope.
        """
        try:
            prod = await self._producer.get()
        except Exception as exc:  # noqa: BLE001 - any failure to reach the broker is a 503
            log.warning("http_intake_broker_unreachable", error=f"{type(exc).__name__}: {exc}"[:300])
            return False
        headers = [("content-type", CLOUDEVENT_CONTENT_TYPE),
                   (FIELD_APP_HEADER, app.name.encode("utf-8")), (TOWNS_HEADER, stamp(app.towns))]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.http_ack_timeout_s  # for all the waves together
        for wave in waves:
            if not await self._acknowledged(prod, wave, headers, app.name, deadline - loop.time()):
                return False
        return True

    async def _acknowledged(self, prod: Any, sends: Sends, headers: list[tuple[str, bytes]],
                            app: str, timeout: float) -> bool:
        """Send records at once; True once the broker acknowledged every one within `timeout` s."""

        async def one(topic: str, key: bytes, value: bytes) -> None:
            await (await prod.send(topic, value, key=key, headers=headers))

        tasks = [asyncio.ensure_future(one(*send)) for send in sends]
        done, pending = await asyncio.wait(tasks, timeout=max(timeout, 0.0))
        for task in pending:  # kept referenced until they end, and their outcome consumed
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        failed = [t.exception() for t in done if t.exception() is not None]
        if failed or pending:
            log.warning("http_intake_not_acknowledged", field_app=app, events=len(sends),
                        failed=len(failed), pending=len(pending),
                        error=f"{type(failed[0]).__name__}: {failed[0]}"[:300] if failed else None)
            return False
        return True

    def _authenticate(self, request: web.Request) -> FieldApp | web.Response:
        if not self.tokens.configured:
            return _unauthorized(f"field-app tokens are not configured here (set {ENV}); "
                                 "POST /events accepts no one without them")
        header = request.headers.get("Authorization")
        if not header:
            return _unauthorized("a field-app bearer token is required: Authorization: Bearer <token>")
        app = self.tokens.authenticate_field_app(header)
        if app is None:
            return _unauthorized("unknown or revoked field-app token (a supervisor's token "
                                 "cannot publish)")
        return app

    async def rejections(self, request: web.Request) -> web.Response:
        """Answer one `GET /events/rejected`: the token's own events the intake stage rejected
        after their 202 (engine/http/rejected.py). Not counted with POST /events' answers."""
        app = self._authenticate(request)
        if isinstance(app, web.Response):
            return app
        if (wait := self.limiter.take(app.name, rejected.READ_COST)) > 0:
            return self._limited(app, rejected.READ_COST, wait)
        if self._reads.locked() or app.name in self._reading:
            return _error(503, "this server reads intake.rejected for this or other field apps just "
                          "now; ask again later", {"Retry-After": str(RETRY_AFTER_503_S)})
        query = request.query
        if "since" in query and "after" in query:
            return _error(400, "give since or after (the next of an earlier answer), not both")
        try:
            after = decode_positions(query["after"]) if "after" in query else None
        except BadRequest as exc:
            return _error(400, f"after: {exc}")
        # The machine's clock, not the engine's: the topic's records are stamped by it.
        since = rejected.since_ms(query.get("since"), time.time())
        if since is None:
            return _error(400, "since must be an RFC 3339 time with its UTC offset, e.g. "
                          "2026-11-30T09:00:00+08:00")
        bootstrap = self.bootstrap() if callable(self.bootstrap) else self.bootstrap
        self._reading.add(app.name)
        try:
            async with self._reads:
                found, complete, reached = await rejected.read_rejected(
                    bootstrap, client_auth(self.settings),
                    rejected.rejected_topic(self.settings.topic_prefix), app.name, since, after)
        except Exception as exc:  # noqa: BLE001 - any failure to read the broker is a 503
            log.warning("http_rejected_unread", field_app=app.name,
                        error=f"{type(exc).__name__}: {exc}"[:300])
            return _error(503, "the broker could not be read; ask again later",
                          {"Retry-After": str(RETRY_AFTER_503_S)})
        finally:
            self._reading.discard(app.name)
        return _answer(200, rejected.RejectedAnswer(
            since=None if after is not None else iso_ms(since), complete=complete,
            next=encode_positions(reached), rejected=found))

    async def post(self, request: web.Request) -> web.Response:
        """Answer one `POST /events`, counted by its status (an engine failure as the 500 it
        becomes)."""
        try:
            answer = await self._answer(request)
        except Exception:
            self.metrics.answers.labels("500").inc()
            raise
        self.metrics.answers.labels(str(answer.status)).inc()
        return answer

    async def _answer(self, request: web.Request) -> web.Response:
        app = self._authenticate(request)
        if isinstance(app, web.Response):
            return app
        settings = self.settings
        if (wait := self.limiter.owes(app.name)) > 0:
            return self._limited(app, None, wait)
        limit = settings.http_max_body_bytes
        size = min(request.content_length if request.content_length is not None else limit, limit)
        if (busy := self.bodies.reserve(app.name, size)) is not None:
            log.info("http_intake_bodies_busy", field_app=app.name, status=busy[0],
                     declared=request.content_length)
            return closing(_error(*busy, {"Retry-After": str(BODIES_RETRY_S)}))
        try:
            body = await _read_body(request, limit, settings.web_body_timeout_s)
        except _TooLarge:
            return self._too_large()
        except _Unread as exc:
            log.info("http_intake_body_unread", field_app=app.name, status=exc.status, reason=exc.reason)
            return closing(_error(exc.status, exc.reason))
        finally:
            self.bodies.release(app.name, size)
        try:
            items = read_request(request.headers, body, settings.http_max_batch,
                                 settings.http_max_json_items, settings.max_record_bytes)
        except RequestError as exc:
            # Reading it cost the loop what parsing its JSON costs: the token pays for that much.
            self.limiter.spend(app.name, self._weight(body))
            return _error(exc.status, exc.reason, errors=list(exc.errors) or None)
        except Exception:
            # An engine failure on it (a 500) costs as much, or a body that finds a bug could be
            # sent again and again for nothing.
            self.limiter.spend(app.name, self._weight(body))
            raise
        if (wait := self.limiter.take(app.name, len(items))) > 0:
            return self._limited(app, len(items), wait)
        checked = self._copies(items, await self._checked(items))
        acceptable = sum(isinstance(result, Accepted) for result in checked)
        self.metrics.events.labels("rejected").inc(len(checked) - acceptable)
        outside = self._outside(app, checked)
        if outside:
            log.info("http_intake_forbidden", field_app=app.name, events=len(items))
            self.metrics.events.labels("unsent").inc(acceptable)
            return _error(403, outside[0].reason, outside=outside)
        return await self._publish(app, items, checked)

    def _too_large(self) -> web.Response:
        return closing(_error(413, f"the body is over {self.settings.http_max_body_bytes} bytes: send "
                              "fewer events per request"))

    async def expect(self, request: web.Request) -> web.StreamResponse | None:
        """Answer `Expect: 100-continue`: a body declared over HAZARD_HTTP_MAX_BODY_BYTES gets its
        413 at once, not a 100 Continue that invites the client to send what is then refused (a
        phone on a metered link sent its megabytes for nothing); any other as aiohttp would."""
        length = request.content_length
        if length is not None and length > self.settings.http_max_body_bytes:
            self.metrics.answers.labels("413").inc()
            _give_up(request)  # the body was never asked for: nothing of it is waited for
            return self._too_large()
        return await _default_expect_handler(request)

    def _weight(self, body: bytes) -> int:
        """The events a body's JSON could have held, as the rate limit counts them: one for each
        HAZARD_HTTP_MAX_JSON_ITEMS / HAZARD_HTTP_MAX_BATCH keys, values and containers."""
        settings = self.settings
        items = json_items_over(body, 0) or 0  # every item, strings' characters not counted
        return max(1, math.ceil(items * settings.http_max_batch / settings.http_max_json_items))

    def _limited(self, app: FieldApp, events: int | None, wait: float) -> web.Response:
        retry = max(1, math.ceil(wait))
        log.info("http_intake_rate_limited", field_app=app.name, events=events, retry_after_s=retry)
        return _error(429, f"this token posts faster than {self.settings.http_rate_per_s:g} events "
                      f"a second; retry after {retry} s", {"Retry-After": str(retry)})

    async def _checked(self, items: tuple[Item, ...]) -> list[Checked]:
        """Each event checked as the worker's intake checks a record, CHECK_CHUNK at a time with
        the event loop left to everything else between: a large batch of hostile events never
        holds up the processing of events for its whole length."""
        checked: list[Checked] = []
        for start in range(0, len(items), CHECK_CHUNK):
            if start:
                await asyncio.sleep(0)
            # key None: over HTTP there is no key to check; each record gets its subject as key.
            checked += [self._timed(validate_kafka_record(None, item.headers, item.value, HTTP_TOPIC,
                                                          self.known, self.settings.max_record_bytes))
                        for item in items[start:start + CHECK_CHUNK]]
        return checked

    def _timed(self, result: Accepted | Invalid) -> Checked:
        """An acceptable event whose times the worker would refuse (`stale`, `future`,
        `deadline_passed`: engine/intake/process.py) is refused here, rather than answered 202;
        `stale` DOOR_STALE_MARGIN_S sooner than the worker's intake, which judges it again later."""
        if not isinstance(result, Accepted):
            return result, None
        event = normalised(result.event, result.event_type)
        stale_before, future_after = time_window(self.now(), self.settings.dedup_days, self.settings.future_s)
        if stale_before is not None:
            stale_before += min(DOOR_STALE_MARGIN_S, self.settings.dedup_days * 8_640)
        problems = timing_problems(event, epoch(event.time), stale_before, future_after)
        return (result, event) if not problems else (Invalid(tuple(problems)), None)

    def _copies(self, items: tuple[Item, ...], checked: list[Checked]) -> list[Accepted | Invalid]:
        """Each acceptable event the intake would drop as a conflicting copy refused as one: the
        same (`source`, `id`) as an event of this request before it, or as one this server's
        marks show taken, that says otherwise (`content_digest`, as the intake tells it).
        Without it the field app heard 202 for a changed record the intake then dropped. A copy
        that says the same, in whatever mode or spacing, stays: a duplicate, one event."""
        first: dict[tuple[str, str], tuple[int, str]] = {}
        out: list[Accepted | Invalid] = []
        for index, (item, (result, event)) in enumerate(zip(items, checked, strict=True)):
            if event is None:
                out.append(result)
                continue
            said = content_digest(event)
            earlier = first.setdefault((event.source, event.event_id), (index, said))
            if earlier[1] != said:
                out.append(Invalid((conflicting_copy(f"as event {earlier[0]} of this request"),)))
            elif (self.seen is not None
                  and conflicting_mark(self.seen, event, _content(item, result)) is not None):
                out.append(Invalid((conflicting_copy("before"),)))
            else:
                out.append(result)
        return out

    def _outside(self, app: FieldApp, checked: list[Any]) -> list[OutsideScope]:
        """The acceptable events whose source or town the token may not publish, with why.

        Only events that would be sent are held to the scope; one the intake refuses anyway is
        answered with its errors, which say more than a 403 would. The town is the one an event
        names, or its subject's where this server can see it (`town_of`); an event whose subject
        it cannot see is sent, and the worker judges it (`outside_scope`: at intake, or for a subject
        whose town is not known yet, once it is; engine/kernel/scope.py).
        """
        out = []
        for index, result in enumerate(checked):
            if not isinstance(result, Accepted):
                continue
            location = getattr(result.event.data, "location", None)
            reason = (app.source_problem(result.event.source)
                      or app.town_problem(getattr(location, "town", None))
                      or self._subject_problem(app, result))
            if reason is not None:
                out.append(OutsideScope(index=index, reason=reason))
        return out

    def _subject_problem(self, app: FieldApp, result: Accepted) -> str | None:
        """Why an event's subject, in a town this server knows, is outside the token's towns."""
        if self.town_of is None or not app.towns:
            return None
        kind, subject = result.event_type.subject_kind, result.event.subject
        problem = app.town_problem(self.town_of(kind, subject))
        if problem is not None:
            return f"{kind} {subject[:200]!r} is in a town outside it: {problem}"
        own = getattr(getattr(result.event.data, "location", None), "town", None)
        found = enumerate(f.hazard_id for f in getattr(result.event.data, "findings", None) or ())
        foreign = foreign_findings(found, own, self.town_of, lambda town: app.town_problem(town) is None)
        if not foreign:
            return None
        i, hazard, there = foreign[0]
        return f"finding {i}: hazard {hazard[:200]!r} is in a town outside it: {app.town_problem(there)}"

    async def _publish(self, app: FieldApp, items: tuple[Item, ...], checked: list[Any]
                       ) -> web.Response:
        prefix = self.settings.topic_prefix
        results, sends, opening = [], [], []
        for index, (item, result) in enumerate(zip(items, checked, strict=True)):
            results.append(_result(index, item, result))
            if isinstance(result, Accepted):
                sends.append((prefix + result.event_type.topic,
                              result.event.subject.encode("utf-8"), _content(item, result)))
                opening.append(_names_town(result))
        accepted = len(sends)
        body = PostAnswer(accepted=accepted, rejected=len(items) - accepted, results=results)
        if not sends:
            log.info("http_intake_refused", field_app=app.name, events=len(items))
            if all(_conflicting(result) for result in results):
                return _answer(409, body.model_copy(update={
                    "error": "conflicting_copy: each event of this request reuses the source and id of "
                             "an event taken before or earlier in the request, with other content; see "
                             "results"}))
            return _answer(400, body.model_copy(
                update={"error": "no event of this request can be accepted; see results"}))
        if not await self._send(_waves(sends, opening, app), app):
            self.metrics.events.labels("unsent").inc(accepted)
            return _error(503, "the broker did not acknowledge the events in time; send the same "
                          "events again (a copy that did land is dropped as a duplicate)",
                          {"Retry-After": str(RETRY_AFTER_503_S)})
        self.metrics.events.labels("accepted").inc(accepted)
        log.info("http_intake_accepted", field_app=app.name, accepted=accepted,
                 rejected=len(items) - accepted)
        return _answer(202, body)


def _content(item: Item, result: Accepted) -> bytes:
    """The record value an accepted event is sent as: the structured event."""
    content = result.content if result.content is not None else item.value
    assert content is not None  # an accepted structured event has a value
    return content


def _conflicting(result: EventResult) -> bool:
    return any(error.type == "conflicting_copy" for error in result.errors or ())


def _names_town(result: Accepted) -> bool:
    """Whether an accepted event names a town (`data.location.town`): it may open its subject."""
    return getattr(getattr(result.event.data, "location", None), "town", None) is not None


def _waves(sends: Sends, opening: list[bool], app: FieldApp) -> list[Sends]:
    """The records in the order the intake stage must see them: for a token limited to towns, the
    events that name a town (those that open a subject) first, acknowledged before the rest are
    sent, so that a report and its verification posted together reach intake in that order and
    the verification finds its hazard's town at intake (else it would wait for it, judged when the
    hazard is decided)."""
    if not app.towns:
        return [sends]
    first = [send for send, opens in zip(sends, opening, strict=True) if opens]
    rest = [send for send, opens in zip(sends, opening, strict=True) if not opens]
    return [wave for wave in (first, rest) if wave]


def register(app: Any, *, settings: Settings, bootstrap: str | Callable[[], str],
             tokens: TokenStore, known: KnownIds, metrics: HttpIntakeMetrics,
             now: Callable[[], float], town_of: TownOf | None = None,
             seen: Seen | None = None) -> FieldIntake:
    """Serve `POST /events` on a `Pages`' aiohttp application, counting its answers in `metrics`;
    `now` is the engine's clock, `town_of` the subjects' towns and `seen` the de-duplication
    marks this server can see, if any."""
    intake = FieldIntake(settings, bootstrap, tokens, known, metrics, now, town_of=town_of, seen=seen)
    web_app = app.web.web_app
    web_app.router.add_post(PATH, bounds_own_body(intake.post), name="events",
                            expect_handler=intake.expect)
    web_app.router.add_get(rejected.PATH, intake.rejections, name="events-rejected")
    web_app.on_cleanup.append(intake.close)
    return intake
