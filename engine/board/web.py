"""The board's routes on the worker's aiohttp application (both runtimes).

    GET  /board/signin, POST /board/signin, POST /board/signout
    GET  /board                 the board (live escalations, counts, lists, heat table)
    GET  /board/kiosk           the wall screen: live escalations and counts, reconnecting by itself
    GET  /board/map             the risk picture: heat table and points drawn from lat/lon
    GET  /board/summary         the board's numbers as an HTML fragment (the script refreshes it)
    GET  /board/events          escalations as SSE, authenticated by the session cookie;
                                `?recent=N` starts N records before each partition's end
    GET  /board/session         204 while the session holds, 401 after (the script asks before reconnecting)
    GET  /board/hazards/{id}, /board/alerts/{id}    detail pages
    GET  /board/enterprises     the enterprises' files in the scope, a page at a time
    GET  /board/enterprises/{uscc}  an enterprise's file (一企一档), when the worker keeps files
    GET  /hazards.geojson       open hazards and alerts with a point, by cookie or bearer token
    GET  /board/static/…        the vendored stylesheet and script

Scopes come from the feeds' token store and checks; the SSE stream is the
feeds' `EscalationStream`, so the board and `/feeds/escalations` resume from
the same Last-Event-ID positions and filter with the same rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from engine.board import picture
from engine.board.html import LANGS, RECORD_ROWS, Page
from engine.board.session import COOKIE, PRE_COOKIE, PRE_TTL_S, Session, SessionError, Sessions
from engine.board.signouts import SignOutLog
from engine.contract.outputs import (
    CREDIT_PROPOSALS,
    ENFORCEMENT_ACTIONS,
    ESCALATIONS,
    REFERRALS_DISCIPLINE,
    REFERRALS_JUDICIAL,
    SUPERVISION_LISTED,
)
from engine.feeds.filters import (
    BadRequest,
    Filters,
    RecordPage,
    decode_cursor,
    decode_positions,
    encode_cursor,
    in_scope,
    parse_bool,
    parse_limit,
)
from engine.feeds.share import Busy, loop_share
from engine.feeds.tokens import Scope, TokenStore
from engine.feeds.views import StateSource, every_visible
from engine.feeds.web import MAX_STREAMS, MAX_STREAMS_PER_TOKEN, REPLAY_BATCH, EscalationStream
from engine.http.limits import credential_cookies
from engine.kernel.state import MissingHistory
from engine.kernel.time import epoch
from engine.reference.compiled import Reference
from engine.settings import Settings
from engine.tools.kafka import client_auth, partition_for_key, partitions_of, reader, started

log = structlog.get_logger("engine.board")

STATIC = Path(__file__).parent / "static"
# The files the board serves, by name: looked up, never joined to a path from the request (a name
# over 255 bytes made aiohttp's static route answer the file system's ENAMETOOLONG as a 500).
STATIC_FILES = {path.name: path for path in STATIC.iterdir() if path.is_file()}
# How long a request waits for a starting worker to read the sign-outs before it is answered 503.
SIGNOUTS_WAIT_S = 5.0
# What a detail page's reader fetches of a partition at a time: the loop parses each answer in one go.
FETCH_BYTES = 256 * 1024
LANG_COOKIE = "hzb_lang"
OUTPUT_TOPICS = (ESCALATIONS, SUPERVISION_LISTED, REFERRALS_DISCIPLINE, ENFORCEMENT_ACTIONS,
                 REFERRALS_JUDICIAL)
# An enterprise's own outputs, keyed by its USCC: its inspection cycle's escalations and its credit
# proposals (a referral goes by the department's key; a hazard's outputs are on the hazard's page).
ENTERPRISE_TOPICS = (ESCALATIONS, CREDIT_PROPOSALS)
ENTERPRISE_ROWS = 100  # enterprises a page of the list shows
MAX_OUTPUTS = 500  # a detail page lists at most this many outputs of one subject: the latest
OUTPUTS_TIMEOUT_S = 10.0  # how long a page waits for the broker before it does without
# How far the clock of the host that sent an output may be behind the one that took its cause.
OUTPUTS_SKEW_S = 86_400
HEADERS = {
    # Nothing from elsewhere, no inline script or style, never framed (clickjacking).
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; "
                               "base-uri 'none'",
    # same-origin, not no-referrer: under no-referrer the browser sends `Origin: null` with the
    # board's own forms, and the Origin check below could not tell them from a forged one.
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def scope_text(scope: Any, page: Page) -> str:
    """The scope in words: the whole district, or its towns and departments."""
    if scope.district:
        return page.t["district"]
    return ", ".join([*(page.town(t) for t in sorted(scope.towns)),
                      *(page.department(d) for d in sorted(scope.departments))])


async def _form(request: web.Request) -> Any:
    """The POSTed form, or None when it cannot be read: a multipart body without a boundary or
    broken, a charset Python does not know or text not in it, a body cut short. Each is the
    sender's fault (400), never the server's."""
    try:
        return await request.post()
    except (ValueError, LookupError, AssertionError, RequestPayloadError, ConnectionError) as exc:
        log.info("board_form_unread", path=request.path, error=f"{type(exc).__name__}: {exc}"[:200])
        return None


def safe_next(path: str | None) -> str:
    """Where to go after sign-in: a path on this board only, never another site."""
    if not path or not path.startswith("/board") or path.startswith("//") or "\\" in path:
        return "/board"
    parts = urlsplit(path)
    return "/board" if parts.scheme or parts.netloc else path


async def subject_outputs(bootstrap: str, prefix: str, subject: str,
                          auth: Mapping[str, Any] | None = None,
                          since_ms: int | None = None,
                          topics: tuple[str, ...] = OUTPUT_TOPICS) -> list[dict[str, Any]]:
    """The engine's outputs about one subject, read from the output topics (keyed by subject id;
    `topics`, those a subject of its kind gets), logged in as `auth` says (the worker's own
    credentials on a secured broker).

    The engine sends an output to the partition its key hashes to, as Kafka's default
    partitioner does (engine/stream/sending.py), so only that partition of each topic is read,
    up to its end offset now. With `since_ms` (`outputs_since`: no output about the subject can
    carry an earlier timestamp) it is read from the first record the broker's time index puts at
    or after it, else from its start: one pass over the part of a topic's n-th partition since
    the subject began. (Partitions added to an output topic later would leave a subject's
    earlier outputs on another: not shown.)
    """
    consumer = await started(reader(bootstrap, auth, max_partition_fetch_bytes=FETCH_BYTES))
    kept: dict[TopicPartition, deque[bytes]] = {}  # the latest MAX_OUTPUTS of each topic, unparsed
    key = subject.encode("utf-8")
    try:
        # Every topic's partitions first: once the consumer is assigned partitions, its metadata
        # covers only their topics, and a topic asked for after that would seem to have none.
        tps = []
        for name in topics:
            partitions = await partitions_of(consumer, prefix + name)
            if partitions:
                tps.append(TopicPartition(prefix + name, partition_for_key(key, len(partitions))))
        ends = await consumer.end_offsets(tps) if tps else {}
        todo = [tp for tp in tps if ends[tp] > 0]
        if todo:
            consumer.assign(todo)
            await consumer.seek_to_beginning(*todo)
        if todo and since_ms is not None:
            # The earliest offset whose timestamp is at or after since_ms: no record before it has
            # one (Kafka's time index), so no output of the subject is passed over. None: no
            # record that late, nothing to read.
            found = await consumer.offsets_for_times(dict.fromkeys(todo, since_ms))
            for tp in todo:
                if found.get(tp) is not None:
                    consumer.seek(tp, found[tp].offset)
            todo = [tp for tp in todo if found.get(tp) is not None]
        while todo:
            # At most REPLAY_BATCH records a turn: the worker's loop decides events between them,
            # where a whole partition's fetch at once held it for as long as parsing it took.
            batch = await consumer.getmany(*todo, timeout_ms=500, max_records=REPLAY_BATCH)
            for tp, records in batch.items():
                kept.setdefault(tp, deque(maxlen=MAX_OUTPUTS)).extend(
                    rec.value for rec in records if rec.key == key and rec.value is not None)
            todo = [tp for tp in todo if await consumer.position(tp) < ends[tp]]
    finally:
        await consumer.stop()
    out = (o for values in kept.values() for value in values if (o := _output(value)))
    return sorted(out, key=lambda o: str(o.get("time")))[-MAX_OUTPUTS:]


async def recent_positions(bootstrap: str, topic: str, per_partition: int,
                           auth: Mapping[str, Any] | None = None) -> dict[int, int]:
    """A stream position `per_partition` records before each partition's end (or at its start),
    logged in as `auth` says."""
    consumer = await started(reader(bootstrap, auth))
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(consumer, topic)]
        if not tps:
            return {}
        first, ends = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
        return {tp.partition: max(first[tp], ends[tp] - per_partition) for tp in tps}
    finally:
        await consumer.stop()


def outputs_since(item: Mapping[str, Any], future_s: int) -> int | None:
    """The earliest timestamp (epoch ms) an output about `item` (a hazard's or an alert's view with
    a page of its record) can carry on the broker, when the engine runs on the system clock.

    Every output is caused by one of the subject's entries and sent after it reached the broker
    (or after a clock that one set ran out). Intake takes an event whose time is at most
    HAZARD_FUTURE_S ahead of its clock, so every output was sent at or after the record's earliest
    step less that much; OUTPUTS_SKEW_S more allows for the clocks of the hosts that took the
    event and sent the output. None (read every output) without a record's start, or when
    HAZARD_FUTURE_S is 0 (intake then takes any time ahead).
    """
    began = item.get("record_began")
    if not isinstance(began, str) or not future_s:
        return None
    return int((epoch(began) - future_s - OUTPUTS_SKEW_S) * 1000)


def outputs_shown(item: Mapping[str, Any]) -> bool:
    """Whether a subject's page lists the outputs keyed by its id: not an enterprise's file seen by
    a town where only hazards of it lie, whose view withholds them (its key-enterprise cycle's
    escalations and its credit proposals are the enterprise's own, engine/enterprise/view.py)."""
    return "outputs" not in (item.get("withheld") or ())


def _output(value: bytes | None) -> dict[str, Any]:
    try:
        event = json.loads(value or b"")
    except ValueError:
        return {}
    data = event.get("data") if isinstance(event, dict) else None
    if not isinstance(data, dict):
        return {}
    return {"time": event.get("time"), "type": event.get("type"), "id": event.get("id"),
            "action": data.get("action") or data.get("measure") or data.get("grounds")
            or data.get("notice_no"),
            "measure": data.get("measure"), "grounds": data.get("grounds"),  # which of them `action` is
            "tier": data.get("tier"), "rule_id": data.get("rule_id"), "reason": data.get("reason"),
            "reason_zh": data.get("reason_zh"),
            "due_at": data.get("due_at"), "due_at_latest": data.get("due_at_latest"),
            "to": _names(data.get("targets") or data.get("respondents"))}


def _names(units: Any) -> list[str]:
    """The names (else ids) of an output's targets or respondents, as far as they are well formed."""
    if not isinstance(units, list):
        return []
    return [str(u.get("name") or u.get("id")) for u in units
            if isinstance(u, dict) and (u.get("name") or u.get("id"))]


Handler = Callable[[web.Request, Session], Awaitable[web.StreamResponse]]


class Board:
    """The board's handlers, over the collaborators it is given (sources, tokens, sessions, clocks)."""

    def __init__(self, settings: Settings, bootstrap: str, hazards: StateSource,
                 alerts: StateSource | None, tokens: TokenStore, reference: Reference,
                 sessions: Sessions, streams: EscalationStream, now: Callable[[], float],
                 wall: Callable[[], float], signouts: SignOutLog | None = None,
                 enterprises: StateSource | None = None) -> None:
        self.settings, self.bootstrap, self.reference = settings, bootstrap, reference
        self.hazards, self.alerts, self.tokens = hazards, alerts, tokens
        self.enterprises = enterprises
        self.sessions, self.streams, self.now, self.wall = sessions, streams, now, wall
        # Where sign-outs reach every worker; None: this worker's memory only (a board alone).
        self.signouts = signouts
        self.active: dict[int, str] = {}  # open streams: request id -> the session's token hash

    def routes(self, router: web.UrlDispatcher) -> None:
        """Add every route of the board to `router`."""
        router.add_get("/board/signin", self.get_signin)
        router.add_post("/board/signin", self.post_signin)
        router.add_post("/board/signout", self.signed_in(self.post_signout, page=False))
        router.add_get("/board", self.signed_in(self.board))
        router.add_get("/board/kiosk", self.signed_in(self.kiosk))
        router.add_get("/board/map", self.signed_in(self.risk_map))
        router.add_get("/board/summary", self.signed_in(self.summary, page=False))
        router.add_get("/board/session", self.signed_in(self.alive, page=False))
        router.add_get("/board/events", self.signed_in(self.events, page=False), allow_head=False)  # a stream
        router.add_get("/board/hazards/{id}", self.signed_in(self.hazard_page))
        router.add_get("/board/alerts/{id}", self.signed_in(self.alert_page))
        router.add_get("/board/enterprises", self.signed_in(self.enterprise_list))
        router.add_get("/board/enterprises/{id}", self.signed_in(self.enterprise_page))
        router.add_get("/hazards.geojson", self.geojson)
        router.add_get("/board/static/{name:.*}", self.static)

    async def static(self, request: web.Request) -> web.StreamResponse:
        """One of the board's own files (STATIC_FILES); any other name is 404."""
        path = STATIC_FILES.get(request.match_info["name"])
        if path is None:
            raise web.HTTPNotFound(text="no such file of the board")
        return web.FileResponse(path)

    # --- helpers -----------------------------------------------------------------------------

    @staticmethod
    def lang_of(request: web.Request) -> str:
        """The language asked for (`?lang=`), else the one remembered, else Chinese."""
        asked = request.query.get("lang")
        if asked in LANGS:
            return asked
        kept = request.cookies.get(LANG_COOKIE)
        return kept if kept in LANGS else "zh"

    def secure(self, request: web.Request) -> bool:
        """Whether cookies get the Secure flag."""
        return self.settings.board_cookie_secure or request.secure

    def html(self, request: web.Request, text: str, status: int = 200) -> web.Response:
        """A page, with the board's security headers (and the language link's cookie)."""
        resp = web.Response(text=text, status=status, content_type="text/html", charset="utf-8",
                            headers=HEADERS)
        if request.query.get("lang") in LANGS:  # the language link: remembered for a year
            resp.set_cookie(LANG_COOKIE, request.query["lang"], max_age=365 * 86400, path="/",
                            samesite="Strict", httponly=True, secure=self.secure(request))
        return resp

    def page_for(self, request: web.Request, session: Session | None) -> Page:
        """The renderer for this request's language and session."""
        p = Page(self.lang_of(request), self.reference,
                 self.sessions.csrf(session) if session else None, session.scope.name if session else None)
        if session is not None:
            p.scope_text = scope_text(session.scope, p)
            if session.scope.towns and not session.scope.district:
                p.towns = session.scope.towns
        return p

    def signin_page(self, request: web.Request, error: str | None = None, status: int = 200,
                    next_path: str = "/board") -> web.Response:
        """The sign-in form with a fresh CSRF nonce; a cookie that did not hold is removed."""
        nonce = self.sessions.new_signin_nonce(self.wall())
        page = Page(self.lang_of(request), self.reference, None, None)
        resp = self.html(request, page.signin(self.sessions.signin_csrf(nonce), error,
                                              safe_next(next_path)), status)
        resp.set_cookie(PRE_COOKIE, nonce, max_age=PRE_TTL_S, path="/board", httponly=True,
                        samesite="Strict", secure=self.secure(request))
        if request.cookies.get(COOKIE) is not None:
            resp.del_cookie(COOKIE, path="/")  # a forged, expired or signed-out cookie goes
        return resp

    def session_of(self, request: web.Request) -> Session | None:
        """The request's valid session, or None (also while the sign-outs are not read yet)."""
        if self.signouts is not None and not self.signouts.ready.is_set():
            return None
        try:
            return self.sessions.check(request.cookies.get(COOKIE), self.wall())
        except SessionError:
            return None

    def signed_in(self, handler: Handler, *, page: bool = True
                  ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """A route for signed-in supervisors: pages send the others to sign in, the rest get 401."""
        async def route(request: web.Request) -> web.StreamResponse:
            # Without a cookie there is no session a sign-out could have ended: sign in at once.
            if COOKIE in request.cookies and not await self.signouts_read():
                return web.Response(status=503, headers={**HEADERS, "Retry-After": "2"},
                                    text="the board is still reading which sessions were signed out "
                                    "(it needs the broker); retry in a moment")
            session = self.session_of(request)
            if session is None:
                if page:
                    return self.signin_page(request, next_path=request.path_qs)
                return web.Response(status=401, text="not signed in to the board", headers=HEADERS)
            try:
                return await handler(request, session)
            except BadRequest as exc:
                return web.Response(status=400, text=str(exc), headers=HEADERS)
            except Busy as exc:
                return web.Response(status=503, text=f"{exc}; retry later",
                                    headers={**HEADERS, "Retry-After": "1"})
        return route

    async def signouts_read(self) -> bool:
        """Whether every sign-out recorded before this worker started is read, waiting a little
        for it when the worker has just started."""
        if self.signouts is None or self.signouts.ready.is_set():
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.signouts.ready.wait(), SIGNOUTS_WAIT_S)
        return self.signouts.ready.is_set()

    @staticmethod
    def same_origin(request: web.Request) -> bool:
        """A POST's Origin, when the browser sends one, must be this server (one that is no URL
        at all, such as `http://[::1`, is not)."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        try:
            return urlsplit(origin).netloc == request.host
        except ValueError:
            return False

    async def views(self, scope: Scope) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The hazards and alerts within `scope`, without their records, read in the feeds' turns
        on the event loop (engine/feeds/share.py): a board over tens of thousands of hazards, or
        many boards refreshing at once, never hold up the processing of events. Busy when too
        many requests wait for those turns already."""
        share = self.streams.share
        share.admit()
        now = self.now()
        return (await every_visible(self.hazards, scope, now, share),
                await every_visible(self.alerts, scope, now, share) if self.alerts is not None else [])

    async def referring_files(self, scope: Scope) -> list[dict[str, Any]]:
        """The enterprises' files within `scope` that have a missed key-enterprise cycle (the board's
        referrals list names them), read as `views` reads; none on a worker without files."""
        if self.enterprises is None:
            return []
        return await every_visible(self.enterprises, scope, self.now(), self.streams.share,
                                   keep=picture.has_missed_cycles)

    # --- sign-in and sign-out ---------------------------------------------------------------

    async def get_signin(self, request: web.Request) -> web.StreamResponse:
        """The sign-in form (or, when signed in already, where the form would lead)."""
        if self.session_of(request) is not None:
            raise web.HTTPSeeOther(safe_next(request.query.get("next")))
        return self.signin_page(request, next_path=request.query.get("next") or "/board")

    async def post_signin(self, request: web.Request) -> web.StreamResponse:
        """Exchange a token for a session cookie, once the form's CSRF token checks out."""
        form = await _form(request)
        if form is None:
            return self.signin_page(request, "the form could not be read; try again", 400)
        next_path = safe_next(str(form.get("next") or ""))
        if not self.same_origin(request) or not self.sessions.signin_csrf_ok(
                request.cookies.get(PRE_COOKIE), str(form.get("csrf") or ""), self.wall()):
            return self.signin_page(request, "the form expired or did not come from this board; "
                                    "try again", 403, next_path)
        if not self.tokens.configured:
            return self.signin_page(request, "supervisor tokens are not configured on this worker "
                                    "(HAZARD_TOKENS_FILE)", 403, next_path)
        try:
            session, value = self.sessions.sign_in(str(form.get("token") or ""), self.wall())
        except SessionError as exc:
            return self.signin_page(request, str(exc), 401, next_path)
        log.info("board_signed_in", supervisor=session.scope.name)
        resp = web.HTTPSeeOther(next_path)
        resp.set_cookie(COOKIE, value, max_age=self.settings.board_session_s, path="/", httponly=True,
                        samesite="Strict", secure=self.secure(request))
        resp.del_cookie(PRE_COOKIE, path="/board")
        raise resp

    async def post_signout(self, request: web.Request, session: Session) -> web.StreamResponse:
        """End the session (its cookie is refused from now on), with the form's CSRF token."""
        form = await _form(request)
        if form is None:
            return web.Response(status=400, text="the form could not be read; reload the page",
                                headers=HEADERS)
        if not self.same_origin(request) or not self.sessions.csrf_ok(session, str(form.get("csrf") or "")):
            return web.Response(status=403, text="the form did not come from this session; reload the page",
                                headers=HEADERS)
        if self.signouts is not None:
            # Recorded for every worker first: a cookie the supervisor believes ended must not
            # go on working on another worker. Not recorded, the session stays, to be ended again.
            try:
                await self.signouts.record(session.sid, session.expires)
            except Exception as exc:  # noqa: BLE001 - whatever kept the broker from taking it
                log.warning("board_signout_unrecorded", supervisor=session.scope.name,
                            error=f"{type(exc).__name__}: {exc}"[:300])
                return web.Response(status=503, headers={**HEADERS, "Retry-After": "2"},
                                    text="signing out could not be recorded for every worker (the "
                                    "broker did not answer); you are still signed in: try again")
        self.sessions.sign_out(session, self.wall())
        log.info("board_signed_out", supervisor=session.scope.name)
        resp = web.HTTPSeeOther("/board/signin")
        resp.del_cookie(COOKIE, path="/")
        raise resp

    # --- pages -------------------------------------------------------------------------------

    async def board(self, request: web.Request, session: Session) -> web.StreamResponse:
        """The board: live escalations, numbers and lists, the heat table."""
        page = self.page_for(request, session)
        hs, als = await self.views(session.scope)
        s = picture.summary(hs, als, self.now(), await self.referring_files(session.scope))
        return self.html(request, page.board(s, page.heat(*picture.heat(hs, als))))

    async def kiosk(self, request: web.Request, session: Session) -> web.StreamResponse:
        """The wall screen: live escalations and the counts."""
        hs, als = await self.views(session.scope)
        return self.html(request, self.page_for(request, session).kiosk(picture.summary(hs, als, self.now())))

    async def summary(self, request: web.Request, session: Session) -> web.StreamResponse:
        """The board's numbers as a fragment (`?part=counts`: the counts only)."""
        page = self.page_for(request, session)
        counts_only = request.query.get("part") == "counts"  # the wall screen's: no lists, no files
        hs, als = await self.views(session.scope)
        files = [] if counts_only else await self.referring_files(session.scope)
        s = picture.summary(hs, als, self.now(), files)
        return self.html(request, page.counts(s) if counts_only else page.summary(s))

    async def risk_map(self, request: web.Request, session: Session) -> web.StreamResponse:
        """The risk picture: heat table and points."""
        page = self.page_for(request, session)
        hs, als = await self.views(session.scope)
        return self.html(request, page.map_page(page.heat(*picture.heat(hs, als)),
                                                page.svg_map(picture.geojson([*hs, *als])["features"])))

    async def detail(self, request: web.Request, session: Session, source: StateSource | None,
                     kind: str) -> web.StreamResponse:
        """A hazard's, an alert's or an enterprise's page, with its record and the outputs it caused."""
        page = self.page_for(request, session)
        id_ = request.match_info["id"]
        try:
            if source is None:
                item = None
            else:
                self.streams.share.admit()
                item = await self.streams.share.run(partial(source.get, id_, RecordPage(RECORD_ROWS),
                                                            session.scope))
        except MissingHistory:  # a replica that has the state before the chunks it counts
            return web.Response(status=503, text="this record's history is still being read; retry later",
                                headers={"Retry-After": "1"})
        # Outside the scope answers exactly as unknown, as the feeds do: no 403-versus-404 leak.
        if item is None or not in_scope(session.scope, item.get("town"), item.get("departments") or (),
                                        item.get("other_towns") or ()):
            return self.html(request, page.not_found(f"{kind} {id_}"), 404)
        if not outputs_shown(item):
            return self.html(request, page.enterprise(item, []))
        try:
            # On a simulated clock (the demo, tests) event times say nothing of record timestamps.
            since = (outputs_since(item, self.settings.future_s) if self.settings.clock_start is None
                     else None)
            outputs: list[dict[str, Any]] | None = await asyncio.wait_for(
                subject_outputs(self.bootstrap, self.settings.topic_prefix, id_, self.streams.auth,
                                since, ENTERPRISE_TOPICS if kind == "enterprise" else OUTPUT_TOPICS),
                OUTPUTS_TIMEOUT_S)
        except (KafkaError, OSError, TimeoutError) as exc:
            # The state is in memory; only the outputs need the broker: show what there is.
            log.warning("board_outputs_unavailable", subject=id_, error=f"{type(exc).__name__}: {exc}"[:200])
            outputs = None
        render = {"hazard": page.hazard, "alert": page.alert, "enterprise": page.enterprise}[kind]
        return self.html(request, render(item, outputs))

    async def hazard_page(self, request: web.Request, session: Session) -> web.StreamResponse:
        """A hazard's page."""
        return await self.detail(request, session, self.hazards, "hazard")

    async def alert_page(self, request: web.Request, session: Session) -> web.StreamResponse:
        """An alert's page."""
        return await self.detail(request, session, self.alerts, "alert")

    async def enterprise_page(self, request: web.Request, session: Session) -> web.StreamResponse:
        """An enterprise's file (一企一档), with the latest steps it keeps and its own outputs."""
        return await self.detail(request, session, self.enterprises, "enterprise")

    async def enterprise_list(self, request: web.Request, session: Session) -> web.StreamResponse:
        """A page of the enterprises' files in the session's scope, by USCC (`?cursor=` goes on,
        `?overdue=true` keeps those with an overdue hazard)."""
        page = self.page_for(request, session)
        overdue = parse_bool(request.query.get("overdue"), "overdue")
        after = decode_cursor(request.query.get("cursor"))
        if self.enterprises is None:  # a worker without enterprise files
            return self.html(request, page.enterprises([], None, overdue))
        self.streams.share.admit()
        items, last = await self.enterprises.page(session.scope, Filters(), overdue, after, ENTERPRISE_ROWS,
                                                  self.now(), self.streams.share)
        return self.html(request, page.enterprises(items, encode_cursor(last) if last is not None else None,
                                                   overdue))

    async def alive(self, request: web.Request, session: Session) -> web.StreamResponse:
        """204 while the session holds (the script asks before it reconnects)."""
        return web.Response(status=204, headers=HEADERS)

    async def events(self, request: web.Request, session: Session) -> web.StreamResponse:
        """Escalations within the session's scope, as SSE, resuming from Last-Event-ID."""
        last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
        start = decode_positions(last) if last else None
        recent = request.query.get("recent")
        if start is None and recent:  # a page just opened: begin with the latest escalations
            try:
                start = await asyncio.wait_for(recent_positions(self.bootstrap, self.streams.topic,
                                                                parse_limit(recent), self.streams.auth),
                                               OUTPUTS_TIMEOUT_S)
            except (KafkaError, OSError, TimeoutError):
                return web.Response(status=503, text="the broker does not answer; retrying",
                                    headers={"Retry-After": "5"})
        if len(self.active) >= MAX_STREAMS:
            return web.Response(status=503, text="too many open streams on this worker; retry later",
                                headers={"Retry-After": "30"})
        if sum(1 for d in self.active.values() if d == session.digest) >= MAX_STREAMS_PER_TOKEN:
            return web.Response(status=429, text=f"this token has {MAX_STREAMS_PER_TOKEN} streams open",
                                headers={"Retry-After": "30"})
        marker = id(request)
        self.active[marker] = session.digest
        log.info("board_stream_opened", supervisor=session.scope.name, resume=last)
        try:
            return await self.streams.serve(request, session.scope, Filters(), start,
                                            lambda: self.sessions.still_valid(session, self.wall()),
                                            announce=True)
        except (KafkaError, OSError) as exc:
            if isinstance(exc, ConnectionResetError):
                raise
            log.warning("board_stream_failed", error=f"{type(exc).__name__}: {exc}"[:200])
            return web.Response(status=503, text="the broker does not answer; retrying",
                                headers={"Retry-After": "5"})
        finally:
            self.active.pop(marker, None)

    async def geojson(self, request: web.Request) -> web.StreamResponse:
        """Open hazards and alerts with a point, within a bearer token's or a session's scope."""
        scope = self.tokens.authenticate(request.headers.get("Authorization"))
        if scope is None and COOKIE in request.cookies and not await self.signouts_read():
            return web.json_response({"error": "the board is still reading which sessions were "
                                      "signed out; retry in a moment"}, status=503,
                                     headers={"Retry-After": "2"})
        if scope is None:
            session = self.session_of(request)
            scope = session.scope if session else None
        if scope is None:
            return web.json_response({"error": "a bearer token or a board session is required"},
                                     status=401, headers={"WWW-Authenticate": 'Bearer realm="hazard-engine"'})
        if request.query:  # it filters nothing: a parameter would be ignored, its answer taken as filtered
            name = next(iter(request.query))
            return web.json_response({"error": f"unknown parameter {name[:40]!r}: /hazards.geojson "
                                      "takes none; it is every open hazard and alert with a point "
                                      "within the token's scope (GET /hazards filters by town and "
                                      "department)"}, status=400)
        try:
            hs, als = await self.views(scope)
        except Busy as exc:
            return web.json_response({"error": f"{exc}; retry later"}, status=503,
                                     headers={"Retry-After": "1"})
        return web.json_response(picture.geojson([*hs, *als]), content_type="application/geo+json")


def register(app: Any, *, settings: Settings, bootstrap: str, hazards: StateSource,
             alerts: StateSource | None, tokens: TokenStore, reference: Reference,
             now: Callable[[], float], wall: Callable[[], float] = time.time,
             signouts: SignOutLog | None = None, enterprises: StateSource | None = None) -> Board:
    """Add the board's routes to `app.web.web_app` (`engine.http.server.Pages`).

    `now` is the engine's clock, for what the board says about hazards (days
    left); `wall` is the real clock, for session expiry: a sign-in must not
    expire because a demo's clock runs a day a second. `signouts` is where sign-outs
    reach every worker (engine/board/signouts.py): followed from the application's start.
    """
    if settings.board_secret is not None:
        secret = settings.board_secret.get_secret_value().encode("utf-8")
    else:
        secret = secrets.token_bytes(32)
        log.info("board_secret_generated",
                 note="HAZARD_BOARD_SECRET is unset: board sign-ins end when this worker restarts")
    closing = asyncio.Event()

    async def on_shutdown(_: Any) -> None:
        closing.set()  # aiohttp waits for open handlers; SSE handlers never end by themselves

    app.web.web_app.on_shutdown.append(on_shutdown)
    share = loop_share(app.web.web_app, settings)  # the feeds' turns on the event loop
    streams = EscalationStream(bootstrap, settings.topic_prefix + ESCALATIONS,
                               {"hazard": hazards, "alert": alerts}, closing, share,
                               settings.web_write_timeout_s, client_auth(settings))
    sessions = Sessions(secret, settings.board_session_s, tokens.scope_of)
    board = Board(settings, bootstrap, hazards, alerts, tokens, reference, sessions, streams, now, wall,
                  signouts, enterprises)
    board.routes(app.web.web_app.router)
    credential_cookies(app.web.web_app, COOKIE, PRE_COOKIE)
    if signouts is not None:
        following: list[asyncio.Task[None]] = []

        async def follow(_: Any) -> None:
            following.append(asyncio.create_task(
                signouts.follow(lambda sid, expires: sessions.end(sid, expires, wall()))))

        async def stop(_: Any) -> None:
            for task in following:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await signouts.close()

        app.web.web_app.on_startup.append(follow)
        app.web.web_app.on_cleanup.append(stop)
    return board
