"""Fair limits of the worker's HTTP server, tried with raw sockets against real servers.

The worker's `engine.http.server.Server` is tried. Nothing is mocked:
the client is a TCP socket that sends what an attacker would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from engine.health import Readiness
from engine.http.limits import Limits
from engine.http.server import Pages, Server, health_pages
from engine.settings import Settings

pytestmark = pytest.mark.unit

TIGHT = Limits(idle_s=0.5, body_s=0.5, header_bytes=1024, headers=16, body_bytes=64)
SAFETY_S = 60.0  # only so that a broken server cannot hang the suite; never what is asserted


@contextlib.asynccontextmanager
async def engine_server(limits: Limits) -> AsyncIterator[int]:
    """The batched runtime's server with its health pages, on a free port."""
    from prometheus_client import CollectorRegistry

    pages = Pages()
    health_pages(pages, CollectorRegistry(), Readiness(frozenset({"hazard"}), True, 1.0))
    server = Server(pages, "127.0.0.1", 0, limits)
    await server.start()
    try:
        yield server.runner.addresses[0][1]
    finally:
        await server.stop()


SERVERS: dict[str, Callable[[Limits], Any]] = {"engine": engine_server}


async def exchange(port: int, chunks: list[bytes], pause: float = 0.0) -> tuple[bytes, int]:
    """Send chunks (pausing between them) until the server closes; what it sent and chunks sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    got = bytearray()

    async def pump() -> bytes:
        # Read as it comes: writing on after the server closed draws a reset, which would
        # discard an answer still unread.
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                got.extend(chunk)
        return bytes(got)

    received = asyncio.create_task(pump())  # up to the server's close
    sent = 0
    try:
        for chunk in chunks:
            if received.done():
                break
            writer.write(chunk)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            sent += 1
            if pause:
                await asyncio.wait({received}, timeout=pause)
        return await asyncio.wait_for(received, SAFETY_S), sent
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def run(server: str, limits: Limits, chunks: list[bytes], pause: float = 0.0) -> tuple[bytes, int]:
    async def go() -> tuple[bytes, int]:
        async with SERVERS[server](limits) as port:
            return await exchange(port, chunks, pause)
    return asyncio.run(go())


@pytest.mark.parametrize("server", SERVERS)
def test_slowloris_is_dropped_before_its_headers_are_done(server: str) -> None:
    """A client sending its request head a byte at a time is closed without an answer."""
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 400 + b"\r\n\r\n"
    got, sent = run(server, TIGHT, [bytes([b]) for b in head], pause=0.05)
    assert got == b""  # closed, never answered
    assert sent < len(head)  # and before the head was complete


@pytest.mark.parametrize("server", SERVERS)
def test_an_idle_connection_is_closed(server: str) -> None:
    """A connection that never sends a request, and one idle after its answer, are closed."""
    got, _ = run(server, TIGHT, [])
    assert got == b""
    got, _ = run(server, TIGHT, [b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"])
    assert got.startswith(b"HTTP/1.1 200") and got.count(b"HTTP/1.1") == 1


@pytest.mark.parametrize("server", SERVERS)
def test_oversized_header_field_request_line_and_header_count_answer_400(server: str) -> None:
    """A header field or request line beyond the limit, or too many fields, answers 400."""
    for request in (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 2000 + b"\r\n\r\n",
                    b"GET /healthz?" + b"q" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                    + b"".join(b"X-%d: y\r\n" % i for i in range(40)) + b"\r\n"):
        got, _ = run(server, TIGHT, [request])
        assert got.split(b" ", 2)[1] == b"400", got[:200]  # aiohttp answers a bad head in HTTP/1.0


@pytest.mark.parametrize("server", SERVERS)
def test_a_large_or_unsized_body_answers_413_unread(server: str) -> None:
    """A declared body beyond the limit, or a chunked one, is refused before any page runs."""
    for framing in (b"Content-Length: 1000000000\r\n", b"Transfer-Encoding: chunked\r\n"):
        got, _ = run(server, TIGHT, [b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n"])
        assert got.startswith(b"HTTP/1.1 413"), got[:200]
        assert b"request body too large" in got


@pytest.mark.parametrize("server", SERVERS)
def test_a_body_that_never_comes_does_not_hold_the_connection(server: str) -> None:
    """A small declared body sent only in part: answered, then closed without waiting for it."""
    got, sent = run(server, TIGHT, [b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n",
                                    b"0123456789"] + [b"."] * 100, pause=0.05)
    assert got.startswith(b"HTTP/1.1 200")
    # Closed before the 5 s it takes to send the rest (aiohttp's own default waits 10 s).
    assert sent < 102


def test_the_limits_come_from_settings() -> None:
    """Every limit is a setting, with the defaults documented in Settings."""
    limits = Limits.from_settings(Settings(web_idle_timeout_s=3, web_body_timeout_s=2,
                                           web_write_timeout_s=9, web_max_header_bytes=2048,
                                           web_max_headers=20, web_max_body_bytes=10))
    assert limits == Limits(3, 2, 9, 2048, 20, 10)
    assert limits.runner_options() == {"keepalive_timeout": 3, "lingering_time": 2,
                                       "max_line_size": 2048, "max_field_size": 2048,
                                       "max_headers": 20, "auto_decompress": False}
    assert Limits.from_settings(Settings()) == Limits()


def test_a_route_that_bounds_its_own_body_reads_past_the_pages_limit() -> None:
    """`POST /events` has its own, larger limit: the pages' 413 must not stand in front of it."""
    from aiohttp import web

    from engine.http.limits import bounds_own_body

    async def echo(request: web.Request) -> web.Response:
        return web.Response(text=str(len(await request.read())))

    async def go() -> tuple[bytes, bytes]:
        pages = Pages()
        pages.web_app.router.add_post("/own", bounds_own_body(echo))
        pages.web_app.router.add_post("/other", echo)
        server = Server(pages, "127.0.0.1", 0, TIGHT)
        await server.start()
        try:
            port = server.runner.addresses[0][1]
            body = b"x" * 1000  # TIGHT allows 64
            ask = b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n"
            own, _ = await exchange(port, [ask % b"/own" + body])
            other, _ = await exchange(port, [ask % b"/other" + body])
            return own, other
        finally:
            await server.stop()

    own, other = asyncio.run(go())
    assert own.startswith(b"HTTP/1.1 200") and own.endswith(b"1000")
    assert other.split(b" ", 2)[1] == b"413"


def test_a_compressed_body_answers_415_unread_on_every_route() -> None:
    """A gzip body that would inflate a thousandfold, on a route that reads its own body and on
    one that reads none: 415 before any handler runs, nothing inflated (the handler counts what it
    was given: never called), and the connection closed. An identity body is read as ever."""
    import gzip

    from aiohttp import web

    from engine.http.limits import bounds_own_body

    seen: list[int] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append(len(await request.read()))
        return web.Response(text=str(seen[-1]))

    bomb = gzip.compress(b"\0" * 20_000_000)  # about 20 KB on the wire
    limits = Limits(idle_s=5, body_s=5, header_bytes=1024, headers=16, body_bytes=64)

    async def go() -> list[bytes]:
        pages = Pages()
        pages.web_app.router.add_post("/own", bounds_own_body(echo))
        server = Server(pages, "127.0.0.1", 0, limits)
        await server.start()
        try:
            port = server.runner.addresses[0][1]
            out = []
            for path, coding, body in ((b"/own", b"gzip", bomb), (b"/healthz", b"deflate", b"x" * 10),
                                       (b"/own", b"identity", b"y" * 100)):
                ask = (b"POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                       b"Content-Encoding: %s\r\nContent-Length: %d\r\n\r\n" % (path, coding, len(body)))
                out.append((await exchange(port, [ask + body]))[0])
            return out
        finally:
            await server.stop()

    bombed, deflated, plain = asyncio.run(go())
    assert bombed.startswith(b"HTTP/1.1 415"), bombed[:200]
    assert b"Content-Encoding 'gzip' is not taken" in bombed and b"Accept-Encoding: identity" in bombed
    assert deflated.startswith(b"HTTP/1.1 415"), deflated[:200]
    assert plain.startswith(b"HTTP/1.1 200") and plain.endswith(b"100")
    assert seen == [100]  # the gzip body never reached a handler


def test_two_authorization_headers_or_two_credential_cookies_answer_400_unserved() -> None:
    """Of two Authorization headers the pages used the first, where a proxy or a log may take the
    last: one request was two clients' depending on who read it. Such a request, or one naming a
    credential cookie twice (in one Cookie header or two), is refused before any page runs; one of
    each, and any other cookie twice, pass as before."""
    from aiohttp import web

    from engine.http.limits import credential_cookies

    served: list[str | None] = []

    async def who(request: web.Request) -> web.Response:
        served.append(request.headers.get("Authorization"))
        return web.Response(text="ok")

    async def go() -> list[bytes]:
        pages = Pages()
        pages.web_app.router.add_get("/who", who)
        credential_cookies(pages.web_app, "hzb_session")
        server = Server(pages, "127.0.0.1", 0, TIGHT)
        await server.start()
        try:
            port = server.runner.addresses[0][1]
            out = []
            for head in (b"Authorization: Bearer a\r\nAuthorization: Bearer b\r\n",
                         b"Authorization: Bearer a\r\nauthorization: Bearer a\r\n",
                         b"Cookie: hzb_session=a; hzb_session=b\r\n",
                         b"Cookie: hzb_session=a\r\nCookie: hzb_lang=en; hzb_session=b\r\n",
                         b"Authorization: Bearer a\r\nCookie: hzb_session=a; hzb_lang=en; hzb_lang=zh\r\n"):
                ask = b"GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n" % head
                out.append((await exchange(port, [ask]))[0])
            return out
        finally:
            await server.stop()

    *refused, passed = asyncio.run(go())
    for answer, words in zip(refused, (b"2 Authorization headers", b"2 Authorization headers",
                                       b"2 cookies named 'hzb_session'", b"2 cookies named 'hzb_session'"),
                             strict=True):
        assert answer.startswith(b"HTTP/1.1 400") and words in answer and b"ambiguous" in answer, answer[:300]
    assert passed.startswith(b"HTTP/1.1 200") and served == ["Bearer a"]


def test_a_client_that_never_takes_its_answer_loses_the_connection() -> None:
    """A large page asked for and never read: the answer is dropped after the write timeout, not
    held with its bytes for as long as the client likes. A client that reads gets it whole."""
    from aiohttp import web

    page = b"z" * 20_000_000  # far beyond what the sockets' buffers take

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=page)

    async def go() -> tuple[int, int]:
        pages = Pages()
        pages.web_app.router.add_get("/big", big)
        server = Server(pages, "127.0.0.1", 0, Limits(idle_s=5, body_s=5, write_s=0.5))
        await server.start()
        try:
            port = server.runner.addresses[0][1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            await asyncio.sleep(2.0)  # not reading, well past the write timeout
            taken = 0
            with contextlib.suppress(ConnectionError):
                while chunk := await asyncio.wait_for(reader.read(1 << 20), SAFETY_S):
                    taken += len(chunk)
            writer.close()
            whole, _ = await exchange(port, [b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"])
            return taken, len(whole)
        finally:
            await server.stop()

    taken, whole = asyncio.run(go())
    assert taken < len(page)  # the connection was dropped before the answer was all sent
    assert whole > len(page)  # the head and the whole page



def test_a_port_in_use_is_said_in_words_not_a_traceback() -> None:
    """The gateway (and the worker) started on a port another process holds raised OSError out of
    aiohttp; it is an EngineError naming the address, which the command line prints in one line."""
    import socket

    from engine.errors import EngineError

    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    port = held.getsockname()[1]

    async def go() -> None:
        server = Server(Pages(), "127.0.0.1", port, TIGHT)
        with pytest.raises(EngineError, match=f"cannot listen on 127.0.0.1:{port}"):
            await server.start()

    try:
        asyncio.run(go())
    finally:
        held.close()


def test_an_answer_to_a_client_already_gone_is_one_line_not_an_error(tmp_path: Any) -> None:
    """A field app that broke its body off and left: the 400 written to its closed connection
    raised ClientConnectionResetError out of the middleware, which aiohttp logged as an ERROR with
    a traceback, one per client. Now one info line says what it is."""
    import structlog.testing
    from aiohttp import web
    from aiohttp.client_exceptions import ClientConnectionResetError
    from aiohttp.test_utils import make_mocked_request

    from engine.http.limits import written_within

    class Gone(web.Response):
        async def prepare(self, request: Any) -> Any:
            raise ClientConnectionResetError("Cannot write to closing transport")

    with structlog.testing.capture_logs() as logs:
        asyncio.run(written_within(make_mocked_request("POST", "/events"), Gone(status=400), 1))
    assert [(e["event"], e["status"], e["error"]) for e in logs] == [
        ("http_client_gone", 400, "ClientConnectionResetError")]

