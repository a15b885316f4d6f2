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

Pages are GETs, so a declared body beyond `web_max_body_bytes`, or a body of
unknown length (chunked), answers 413 before any handler runs. A route that
reads a body and bounds it itself (`POST /events`, with its own
`HAZARD_HTTP_MAX_BODY_BYTES`) says so with `bounds_own_body`.

The worker's `Server` (and the gateway's) passes these to its runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from engine.settings import Settings

OWN_BODY = "_bounds_own_body"


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
                "max_headers": self.headers}

    def middleware(self) -> Any:
        """Refuses, unread, a request body larger than allowed or of unknown length (413)."""
        limit = self.body_bytes

        @web.middleware
        async def bounded_body(request: web.Request, handler: Any) -> web.StreamResponse:
            route = request.match_info.route
            if getattr(getattr(route, "handler", None), OWN_BODY, False):
                return await handler(request)
            length = request.content_length
            if request.body_exists and (length is None or length > limit):
                body = orjson.dumps({"error": f"request body too large: at most {limit} bytes, "
                                              "with a Content-Length"})
                return web.Response(status=413, body=body, content_type="application/json",
                                    headers={"Connection": "close"})
            return await handler(request)

        return bounded_body

    def install(self, app: web.Application) -> None:
        """Add the body limit to an application that is not yet frozen."""
        app.middlewares.append(self.middleware())
