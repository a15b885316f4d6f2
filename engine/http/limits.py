"""Fair limits for a worker's HTTP server, from Settings.

aiohttp (3.14) offers the pieces but not one timeout per phase:

- its keep-alive timer is armed when a connection opens and again after each
  response, and closes the connection if no whole request head has arrived
  when it fires. So `web_idle_timeout_s` bounds at once an idle connection, a
  half-open one, and a client sending its headers a byte at a time; aiohttp's
  own default is 3630 s.
- a body no page reads is drained for `lingering_time` after the response,
  then the connection is closed: that is the body read timeout.
- the request line and each header field are bounded by `max_line_size` and
  `max_field_size`, their number by `max_headers`; beyond, aiohttp answers 400.
- it inflates a gzip or deflate body as it arrives, whatever the handler
  answers: a megabyte that inflates to a gigabyte cost seconds of the loop
  before any check ran, with no token needed. The runner turns that off
  (`auto_decompress`), and a body with a `Content-Encoding` other than
  `identity` answers 415 unread, on every route: no page takes a compressed
  body.
- it writes an answer and waits for the client to take it, however long: a
  client that asks for a large page and never reads held its connection and
  the answer's bytes for ever. A whole answer (not a stream, whose writes
  time out on their own) is written here within `web_write_timeout_s`, or
  the connection is dropped.

Pages are GETs, so a declared body beyond `web_max_body_bytes`, or a body of
unknown length (chunked), answers 413 before any handler runs. A route that
reads a body and bounds it itself (`POST /events`, with its own
`HAZARD_HTTP_MAX_BODY_BYTES`) says so with `bounds_own_body`.

The worker's `Server` (and the gateway's) passes these to its runner.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from aiohttp import web

from engine.settings import Settings

OWN_BODY = "_bounds_own_body"
# The cookies that carry credentials on an application (the board's session and sign-in nonce):
# the pages that use them say so with `credential_cookies`.
CREDENTIALS = web.AppKey("credential_cookies", set)

log = structlog.get_logger("engine.http")


def credential_cookies(app: web.Application, *names: str) -> None:
    """Mark cookies of `app` as credentials: a request that names one twice is refused (400)."""
    app.setdefault(CREDENTIALS, set()).update(names)


def ambiguous_credentials(request: web.Request) -> str | None:
    """Why a request's credentials are ambiguous, or None: two Authorization headers, or a cookie
    that carries credentials given twice. Pages read the first of each and proxies may read the last,
    so one request would be two users' depending on who looks; it is refused rather than guessed."""
    if (times := len(request.headers.getall("Authorization", ()))) > 1:
        return f"the request has {times} Authorization headers: send one, the credentials are ambiguous"
    names = request.app.get(CREDENTIALS)
    if not names:
        return None
    given = Counter(part.split("=", 1)[0].strip() for header in request.headers.getall("Cookie", ())
                    for part in header.split(";"))
    for name in sorted(names):
        if given[name] > 1:
            return (f"the request has {given[name]} cookies named {name!r}: send one, the credentials "
                    "are ambiguous (sign out, or clear this site's cookies)")
    return None


def bounds_own_body(handler: Any) -> Any:
    """The handler, marked as one that reads its body within a limit of its own."""
    async def own(request: web.Request) -> web.StreamResponse:
        return await handler(request)
    setattr(own, OWN_BODY, True)
    return own


@dataclass(frozen=True, slots=True)
class Limits:
    """What one client may take of the server: time to send a request, sizes, time to read."""

    idle_s: float = 15.0
    body_s: float = 5.0
    write_s: float = 30.0
    header_bytes: int = 8190
    headers: int = 64
    body_bytes: int = 4096

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits the settings give."""
        return cls(settings.web_idle_timeout_s, settings.web_body_timeout_s,
                   settings.web_write_timeout_s, settings.web_max_header_bytes,
                   settings.web_max_headers, settings.web_max_body_bytes)

    def runner_options(self) -> dict[str, Any]:
        """Keyword arguments for `aiohttp.web.AppRunner` (handed on to each connection)."""
        return {"keepalive_timeout": self.idle_s, "lingering_time": self.body_s,
                "max_line_size": self.header_bytes, "max_field_size": self.header_bytes,
                "max_headers": self.headers, "auto_decompress": False}

    def middleware(self) -> Any:
        """Refuses, unread, a request whose credentials are ambiguous (400), a compressed request
        body (415), and one larger than allowed or of unknown length (413); writes a whole answer
        within `write_s`, or drops the connection."""
        limit = self.body_bytes

        @web.middleware
        async def bounded(request: web.Request, handler: Any) -> web.StreamResponse:
            resp = await bounded_body(request, handler)
            if isinstance(resp, web.Response) and not resp.prepared:
                await written_within(request, resp, self.write_s)
            return resp

        async def bounded_body(request: web.Request, handler: Any) -> web.StreamResponse:
            if (ambiguous := ambiguous_credentials(request)) is not None:
                return closing(web.Response(status=400, body=orjson.dumps({"error": ambiguous}),
                                            content_type="application/json"))
            coding = request.headers.get("Content-Encoding", "").strip().lower()
            if request.body_exists and coding not in ("", "identity"):
                body = orjson.dumps({"error": f"a request body with Content-Encoding {coding[:40]!r} is "
                                              "not taken: send it uncompressed"})
                return closing(web.Response(status=415, body=body, content_type="application/json",
                                             headers={"Accept-Encoding": "identity"}))
            route = request.match_info.route
            if getattr(getattr(route, "handler", None), OWN_BODY, False):
                return await handler(request)
            length = request.content_length
            if request.body_exists and (length is None or length > limit):
                body = orjson.dumps({"error": f"request body too large: at most {limit} bytes, "
                                              "with a Content-Length"})
                return closing(web.Response(status=413, body=body, content_type="application/json"))
            return await handler(request)

        return bounded

    def install(self, app: web.Application) -> None:
        """Add the body limit to an application that is not yet frozen."""
        app.middlewares.append(self.middleware())


def closing(resp: web.Response) -> web.Response:
    """`resp`, after which the connection closes (`Connection: close`, and closed indeed: a header
    set by hand aiohttp sends but does not act on), once aiohttp has drained what it will of an
    unread body (`lingering_time`)."""
    resp.force_close()
    return resp


async def written_within(request: web.Request, resp: web.Response, seconds: float) -> None:
    """Send `resp` whole within `seconds`; else drop the connection (aiohttp, finding the answer
    sent or the connection gone, does nothing more with it)."""
    try:
        async with asyncio.timeout(seconds):
            await resp.prepare(request)
            await resp.write_eof()
    except TimeoutError:
        log.info("http_answer_not_taken", path=request.path[:200], status=resp.status,
                 write_timeout_s=seconds)
        if request.transport is not None:
            request.transport.abort()
    except ConnectionError as exc:
        # The client left before its answer (a body it broke off, most often): its doing, not
        # the engine's, so one line, not aiohttp's ERROR with a traceback for each.
        log.info("http_client_gone", path=request.path[:200], status=resp.status,
                 error=type(exc).__name__)



class BodyBudget:
    """The bytes of request bodies being read at once, in all and per token.

    A body is held in memory while it comes, and a slow one may take minutes by
    its own allowance: forty stalled 4 MiB bodies on one token held 160 MiB, and
    glibc kept the heap after they went. Each body reserves its declared length
    (the largest allowed, for one that declares none) before any of it is read,
    and gives it back when read or given up. One token may hold a quarter of the
    whole, so one app's stalled clients cannot keep every other app out; either
    is at least one largest body, so a body the limits take can always come.
    """

    def __init__(self, total: int, largest: int) -> None:
        self.total = max(total, largest)
        self.per_token = max(total // 4, largest)
        self.held = 0
        self.by_token: dict[str, int] = {}

    def reserve(self, name: str, size: int) -> tuple[int, str] | None:
        """Hold `size` bytes for a body of token `name`; None, or the answer's status and reason: 429
        when the token's share is full, 503 when the whole is."""
        mine = self.by_token.get(name, 0)
        if mine + size > self.per_token:
            return 429, (f"this token has {mine} bytes of bodies coming already (at most "
                         f"{self.per_token} at once); wait for them, then retry")
        if self.held + size > self.total:
            return 503, (f"{self.held} bytes of bodies are coming already (at most {self.total} at "
                         "once); retry")
        self.held += size
        self.by_token[name] = mine + size
        return None

    def release(self, name: str, size: int) -> None:
        """Give back what `reserve` held for a body of `name`."""
        self.held -= size
        left = self.by_token.pop(name) - size
        if left:
            self.by_token[name] = left
