"""One aiohttp server for a worker: `/metrics`, `/healthz`, `/readyz` and the supervisors' feeds.

The feeds' pages (`engine.feeds.web.register`) are written against a small
page API: `app.page(path)` and a view with `json`, `error` and `bytes` (the
shape of the Faust web API they were first written for). `Pages` offers that
much on a plain aiohttp application.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest

from engine.errors import EngineError
from engine.health import Readiness
from engine.http.limits import Limits

log = structlog.get_logger("engine.http")

Handler = Callable[..., Awaitable[web.StreamResponse]]


class View:
    """What a page handler answers with: JSON, an error as JSON, or bytes."""

    @staticmethod
    def json(value: Any, *, status: int = 200, headers: dict[str, str] | None = None,
             content_type: str | None = None) -> web.Response:
        """A JSON response."""
        return web.Response(body=orjson.dumps(value), status=status, headers=headers,
                            content_type=content_type or "application/json")

    @classmethod
    def error(cls, status: int, reason: str, headers: dict[str, str] | None = None,
              **extra: Any) -> web.Response:
        """An error, as `{"error": reason}` with the status."""
        return cls.json({"error": reason, **extra}, status=status, headers=headers)

    @staticmethod
    def bytes(value: bytes, *, content_type: str | None = None, status: int = 200) -> web.Response:
        """A response of raw bytes."""
        return web.Response(body=value, status=status, content_type=content_type)


class Pages:
    """Faust's `app.page` and `app.web.web_app`, on a plain aiohttp application."""

    def __init__(self) -> None:
        self.web_app = web.Application()
        self.web = self  # the feeds reach the application as `app.web.web_app`

    def page(self, path: str, name: str | None = None, head: bool = True) -> Callable[[Handler], Handler]:
        """Serve `handler(view, request, **path_params)` for GET `path`, and for HEAD unless `head` is
        False: a stream's page, which would open its stream (a consumer, one of the token's slots)
        and write events after a head that may carry no body (405 instead)."""
        def add(handler: Handler) -> Handler:
            async def get(request: web.Request) -> web.StreamResponse:
                return await handler(View, request, **request.match_info)
            self.web_app.router.add_get(path, get, name=name, allow_head=head)
            return handler
        return add


def metrics_page(pages: Pages, registry: CollectorRegistry) -> None:
    """Add `/metrics`, the registry's metrics in Prometheus' text format, to `pages`."""
    async def metrics(view: Any, request: web.Request) -> web.Response:
        """Prometheus metrics of this process."""
        return web.Response(body=generate_latest(registry),
                            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    pages.page("/metrics")(metrics)


def liveness_page(pages: Pages) -> None:
    """Add `/healthz`, which answers as long as the process does, to `pages`."""
    async def healthz(view: Any, request: web.Request) -> web.Response:
        """Liveness: the process answers."""
        return view.json({"alive": True})

    pages.page("/healthz")(healthz)


def health_pages(pages: Pages, registry: CollectorRegistry, readiness: Readiness) -> None:
    """Add `/metrics`, `/healthz` and `/readyz` to `pages`."""
    async def readyz(view: Any, request: web.Request) -> web.Response:
        """Readiness: tables recovered, clocks ticking, broker reachable; 503 with what is missing."""
        ready, body = readiness.report()
        return view.json(body, status=200 if ready else 503)

    metrics_page(pages, registry)
    liveness_page(pages)
    pages.page("/readyz")(readyz)


class Server:
    """Runs `pages` on a host and port until stopped, within fair limits (engine/http/limits.py)."""

    def __init__(self, pages: Pages, host: str, port: int, limits: Limits) -> None:
        self.pages, self.host, self.port, self.limits = pages, host, port, limits
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on the host and port."""
        self.limits.install(self.pages.web_app)
        self.runner = web.AppRunner(self.pages.web_app, access_log=None, handle_signals=False,
                                    shutdown_timeout=5.0, **self.limits.runner_options())
        await self.runner.setup()
        try:
            await web.TCPSite(self.runner, self.host, self.port, reuse_address=True).start()
        except OSError as exc:  # in use, an address not this machine's, a name that does not resolve
            await self.runner.cleanup()
            raise EngineError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc} (the "
                              "web, gateway or filing bind and port settings)") from exc
        log.info("http_listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        """Close the listener and the open connections."""
        if self.runner is not None:
            await self.runner.cleanup()
