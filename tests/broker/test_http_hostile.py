"""Hostile HTTP against the real feeds: never a 5xx, and nothing left behind.

The worker's aiohttp server runs in a thread with the feeds registered on
hazards and alerts sources and a real broker behind the escalation streams.
Hypothesis sends it a few hundred requests over raw sockets (odd methods,
paths, ids, query parameters, Authorization and Last-Event-ID values, header
bytes no client library would send), and the test counts, before and after,
the open file descriptors of the process, the server's connections, the
server loop's tasks and the live Kafka consumers.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from engine.contract.outputs import ESCALATIONS
from engine.decide.state import Hazard
from engine.feeds import web as feeds
from engine.feeds.index import PlaceIndex, hazard_place
from engine.feeds.tokens import TokenStore, mint
from engine.feeds.views import TableSource, hazard_view
from engine.harness import produce
from engine.health import Readiness
from engine.http.limits import Limits
from engine.http.server import Pages, Server, health_pages
from engine.kernel.targets import lead_department
from engine.logs import ClientFaults
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT, Settings
from engine.store import pack, unpack

pytestmark = pytest.mark.broker

NOW = 1_790_100_000
RULES = load_rules(REPO_ROOT / "rules")
SETTLE_S = 60.0  # the longest the test waits for streams to notice their clients left


def hazards() -> dict[bytes, bytes]:
    """Stored hazards in two towns, open and closed, some overdue."""
    out = {}
    for i in range(60):
        town = ("huxi", "yuji")[i % 2]
        h = Hazard(f"HZ-{i:03d}", opened=f"e{i}", opened_at=NOW - 86400 * 10, title="Exit",
                   sector="fire_safety", town=town, deadline=NOW + (i - 30) * 3600,
                   closed_how="passed" if i % 7 == 0 else None)
        out[h.id.encode()] = pack(h)
    return out


class Running:
    """The feeds' server (the worker's `Server`) on its own event loop in a thread, and a way to
    run coroutines there."""

    def __init__(self, kind: str, bootstrap: str, prefix: str, tokens_path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.settings = Settings(topic_prefix=prefix, web_idle_timeout_s=5.0, web_write_timeout_s=1.0)
        self.bootstrap, self.tokens_path = bootstrap, tokens_path
        self.runner: Any = None
        self.port = self.call(self.start_engine())

    def register(self, app: Any) -> None:
        table, index = hazards(), PlaceIndex()
        for raw in table.values():
            h = unpack(raw)
            index.put(h.id, hazard_place(h, lead_department(h, RULES)))
        source = TableSource(table, lambda raw, record: hazard_view(unpack(raw), RULES, NOW, record),
                             index)
        feeds.register(app, settings=self.settings, bootstrap=self.bootstrap, hazards=source,
                       alerts=source, tokens=TokenStore.load(self.tokens_path), now=lambda: NOW,
                       known=RULES.reference)

    async def start_engine(self) -> int:
        pages = Pages()
        health_pages(pages, CollectorRegistry(), Readiness(frozenset({"hazard"}), True, 1.0))
        self.register(pages)
        server = Server(pages, "127.0.0.1", 0, Limits.from_settings(self.settings))
        await server.start()
        self.runner, self.stop_server = server.runner, server.stop
        return server.runner.addresses[0][1]

    def call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(SETTLE_S)

    def counts(self) -> dict[str, int]:
        """What a leak would grow: fds, connections, tasks and Kafka consumers."""
        async def inside() -> tuple[int, int]:
            return len(asyncio.all_tasks()), len(self.runner.server.connections)
        tasks, connections = self.call(inside())
        gc.collect()
        consumers = sum(1 for o in gc.get_objects() if isinstance(o, AIOKafkaConsumer))
        return {"fds": len(os.listdir("/proc/self/fd")), "connections": connections,
                "tasks": tasks, "consumers": consumers}

    def stop(self) -> None:
        self.call(self.stop_server())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    out, lines = {}, []
    for name, towns, depts, district in (("huxi", ["huxi"], [], False),
                                         ("fire", [], ["fire_rescue"], False),
                                         ("district", [], [], True)):
        token, line = mint(name, towns, depts, district)
        out[name] = token
        lines.append(line)
    path = tmp_path_factory.mktemp("tokens") / "tokens.yaml"
    path.write_text("supervisors:\n" + "\n".join(lines) + "\n")
    return path, out


@pytest.fixture(scope="module", params=["engine"])
def running(request: pytest.FixtureRequest, kafka_bootstrap: str,
            tokens: tuple[Path, dict[str, str]]) -> Iterator[Running]:
    prefix = f"hostile{os.getpid()}{request.param}{int(time.time())}."

    async def create(topics: list[NewTopic] | None, delete: list[str] | None = None) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            if topics:
                await admin.create_topics(topics)
            if delete:
                await admin.delete_topics(delete)
        finally:
            await admin.close()

    asyncio.run(create([NewTopic(prefix + ESCALATIONS, 3, 1)]))
    server = Running(request.param, kafka_bootstrap, prefix, tokens[0])
    faults = ClientFaults()  # as the worker's logging does: a bad request is one line, not a traceback
    logging.getLogger("aiohttp.server").addFilter(faults)
    yield server
    logging.getLogger("aiohttp.server").removeFilter(faults)
    server.stop()
    asyncio.run(create(None, [prefix + ESCALATIONS]))


# --- what an attacker sends ---------------------------------------------------------------

ODD = st.binary(min_size=0, max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
TEXTISH = st.one_of(st.text(max_size=30).map(lambda t: t.encode("utf-8", "surrogatepass")
                                              .replace(b"\r", b"").replace(b"\n", b"")), ODD)
NUMBERS = st.one_of(st.integers(-(10 ** 30), 10 ** 30).map(lambda n: str(n).encode()),
                    st.sampled_from([b"0", b"1", b"500", b"501", b"1e9", b"NaN", b"-0", b"\xd9\xa3"]))
POSITIONS = st.one_of(
    st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 2 ** 70)), max_size=5)
    .map(lambda ps: ",".join(f"{p}:{o}" for p, o in ps).encode()),
    # Offsets past Kafka's signed 64 bits once broke a consumer's fetcher and leaked its connection.
    st.sampled_from([b"0:0,1:0,2:0", b"0:99999999999", b"0:1,0:2", b":", b"0:-1", b"x", b"",
                     b"0:9223372036854775808", b"1:9999999999999999999", b"0:9223372036854775807"]),
    TEXTISH)
PARAM_NAMES = st.sampled_from([b"town", b"department", b"tier", b"level", b"action", b"overdue",
                               b"limit", b"cursor", b"last_event_id", b"x", b"town[]", b""])
PARAM_VALUES = st.one_of(st.sampled_from([b"huxi", b"yuji", b"fire_rescue", b"red", b"I", b"true",
                                          b"huxi,yuji", b"SFotMDAx", b"huxii", b"huxi,nowhere"]),
                         NUMBERS, POSITIONS, TEXTISH)
IDS = st.one_of(st.sampled_from([b"HZ-001", b"HZ-002", b"HZ-999", b"..", b"%2e%2e", b"HZ-001/x"]),
                TEXTISH, st.binary(min_size=300, max_size=3000))
PATHS = st.one_of(
    # Not /readyz: its 503 is the answer "not ready", and this server never recovers a table.
    st.sampled_from([b"/hazards", b"/alerts", b"/feeds/escalations", b"/healthz",
                     b"/metrics", b"/", b"//hazards", b"/hazards/", b"*"]),
    IDS.map(lambda i: b"/hazards/" + quote_from_bytes(i).encode()),
    IDS.map(lambda i: b"/alerts/" + quote_from_bytes(i).encode()),
    TEXTISH.map(lambda i: b"/" + i.replace(b" ", b"")))
ODD_METHODS = st.binary(min_size=1, max_size=12).filter(
    lambda b: b" " not in b and b"\r" not in b and b"\n" not in b)
METHODS = st.one_of(st.just(b"GET"), st.just(b"GET"),
                    st.sampled_from([b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS",
                                     b"PATCH", b"TRACE", b"CONNECT", b"get", b"G\xc3\x89T"]),
                    ODD_METHODS)
HEADER_NAMES = st.sampled_from([b"Accept", b"X-Odd", b"Content-Type", b"Authorization",
                                b"Last-Event-ID", b"Accept-Encoding", b"X\x00Y", b"Cookie"])


@st.composite
def requests(draw: Any, tokens: dict[str, str]) -> bytes:
    """One request's bytes, as a hostile client would write them."""
    method, path = draw(METHODS), draw(PATHS)
    params = draw(st.lists(st.tuples(PARAM_NAMES, PARAM_VALUES), max_size=5))
    encoded = draw(st.integers(0, 4)) > 0  # mostly as a client library would encode them
    query = b"&".join(n + b"=" + (quote_from_bytes(v).encode() if encoded else v.replace(b" ", b"+"))
                      for n, v in params)
    target = path + (b"?" + query if query else b"")
    auth = draw(st.one_of(
        st.sampled_from([f"Bearer {t}".encode() for t in tokens.values()]),
        st.sampled_from([b"Bearer", b"Basic Zm9vOmJhcg==", b"Bearer hzt_x", b"bearer  " +
                         tokens["huxi"].encode() + b"  "]),
        TEXTISH.map(lambda v: b"Bearer " + v), st.none()))
    headers = [(b"Host", b"127.0.0.1"), (b"Connection", b"close")]
    if auth is not None:
        headers.append((b"Authorization", auth))
    if draw(st.booleans()):
        headers.append((b"Last-Event-ID", draw(POSITIONS)))
    if draw(st.integers(0, 3)) == 0:  # now and then more headers, odd ones among them
        headers += draw(st.lists(st.tuples(HEADER_NAMES, TEXTISH), max_size=3))
    if draw(st.integers(0, 9)) == 0:  # now and then a body, declared or not
        body = draw(st.binary(max_size=100))
        headers.append((b"Content-Length", str(len(body)).encode()))
    else:
        body = b""
    head = method + b" " + target + b" HTTP/1.1\r\n" + b"".join(k + b": " + v + b"\r\n"
                                                              for k, v in headers)
    return head + b"\r\n" + body


def status_of(port: int, request: bytes) -> int:
    """Send one request; the status of the answer (its head only: a stream never ends)."""
    with socket.create_connection(("127.0.0.1", port), timeout=SETTLE_S) as sock:
        sock.sendall(request)
        got = b""
        while b"\r\n" not in got:
            chunk = sock.recv(4096)
            if not chunk:
                break
            got += chunk
    parts = got.split(b" ", 2)
    assert len(parts) >= 2 and parts[1].isdigit(), f"no answer to {request[:300]!r}: {got[:200]!r}"
    return int(parts[1])


def settled(running: Running, before: dict[str, int],
            keys: tuple[str, ...] = ("fds", "connections", "tasks", "consumers")) -> dict[str, int]:
    """The counts once every stream has noticed its client left (or after SETTLE_S)."""
    deadline = time.monotonic() + SETTLE_S
    now = running.counts()
    while any(now[k] > before[k] for k in keys) and time.monotonic() < deadline:
        time.sleep(0.5)
        now = running.counts()
    return now


def test_hostile_requests_never_answer_5xx_nor_leave_anything_behind(
        running: Running, tokens: tuple[Path, dict[str, str]]) -> None:
    """A few hundred generated hostile requests: each answers below 500; afterwards no fd,
    connection, task or Kafka consumer more than before."""
    status_of(running.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    before = settled(running, running.counts())
    seen: dict[int, int] = {}

    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(request=requests(tokens[1]))
    def one(request: bytes) -> None:
        status = status_of(running.port, request)
        seen[status] = seen.get(status, 0) + 1
        assert status < 500, f"{status} for {request[:400]!r}"

    one()
    after = settled(running, before)
    assert after == before, (before, after)
    # The generator reached the feeds, not only the parser's 400s.
    assert {200, 400, 401, 404} <= set(seen), seen


def test_valid_streams_opened_and_dropped_leave_no_consumer(
        running: Running, tokens: tuple[Path, dict[str, str]]) -> None:
    """Streams opened from every position form and dropped at once release their consumers, and so
    does one refused for naming a partition the topic lacks (400, since 2026-12-07)."""
    before = settled(running, running.counts())
    token = tokens[1]["district"]
    for last, status in ((b"", 200), (b"0:0,1:0,2:0", 200), (b"0:9223372036854775807", 200), (b"7:0", 400)):
        request = (b"GET /feeds/escalations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                   + token.encode() + b"\r\n" + (b"Last-Event-ID: " + last + b"\r\n" if last else b"")
                   + b"\r\n")
        assert status_of(running.port, request) == status
    assert settled(running, before) == before


def test_unknown_ids_and_ambiguous_credentials_are_400_and_open_no_consumer(
        running: Running, tokens: tuple[Path, dict[str, str]]) -> None:
    """On the live server with a broker behind its streams: a stream or list filtered by a town or
    department the reference does not know, and a request with two Authorization headers, are 400
    (an empty list or a stream that never spoke, and the first header's answer, before), and
    none of them leaves a consumer, a task or a connection behind."""
    before = settled(running, running.counts())
    token = tokens[1]["district"].encode()
    auth = b"Authorization: Bearer " + token + b"\r\n"
    for target, head in ((b"/feeds/escalations?town=huxii", auth), (b"/feeds/escalations?department=x", auth),
                         (b"/hazards?town=huxi,nowhere", auth), (b"/alerts?department=fire_rescu", auth),
                         (b"/feeds/escalations", auth + b"Authorization: Bearer hzt_other\r\n"),
                         (b"/hazards", auth + auth)):
        request = b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + head + b"\r\n"
        assert status_of(running.port, request) == 400, target
    assert status_of(running.port, b"GET /hazards?town=huxi HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     + auth + b"\r\n") == 200
    assert settled(running, before) == before


def test_a_client_that_stops_reading_loses_its_stream(
        running: Running, tokens: tuple[Path, dict[str, str]], kafka_bootstrap: str) -> None:
    """A replay whose client takes nothing ends once a write has waited the write timeout:
    its connection, tasks and consumer are released while the client's socket is still open."""
    data = {"subject_kind": "hazard", "subject_id": "HZ-001", "town": "huxi", "action": "notify",
            "note": "x" * 1000}
    asyncio.run(produce(kafka_bootstrap, running.settings.topic_prefix + ESCALATIONS,
                        [(b"HZ-001", json.dumps({"id": f"e{n}", "data": data}).encode())
                         for n in range(20_000)]))
    watched = ("connections", "tasks", "consumers")  # not fds: the client's socket is ours
    before = settled(running, running.counts())
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", running.port))
        sock.sendall(b"GET /feeds/escalations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                     + tokens[1]["district"].encode() + b"\r\nLast-Event-ID: 0:0,1:0,2:0\r\n\r\n")
        opened = time.monotonic()
        while running.counts()["consumers"] == before["consumers"] and time.monotonic() - opened < SETTLE_S:
            time.sleep(0.2)  # the stream has started once its consumer exists
        after = settled(running, before, watched)
        assert {k: after[k] for k in watched} == {k: before[k] for k in watched}
