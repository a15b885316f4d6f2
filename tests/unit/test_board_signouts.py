"""A board sign-out reaches every worker: two boards over one sign-out log, without Kafka.

The log here is a list in memory with the behaviour of `KafkaSignOuts` that the board relies
on: `record` either stores or raises, `follow` hands every stored sign-out to every board, and
`ready` is set once what was stored before is read. tests/broker/test_signout_topic.py runs
`KafkaSignOuts` itself on a broker.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from decide_fixtures import RULES
from test_board import ALERTS, HAZARDS, NOW, Views, sign_in

from engine.board import web as board_web
from engine.board.session import COOKIE, Sessions
from engine.board.signouts import read_signout, signout_value, signouts_topic
from engine.board.web import register
from engine.feeds.tokens import TokenStore, hash_token, mint
from engine.http.server import Pages
from engine.settings import MAX_BOARD_SESSION_S, REPO_ROOT, Settings


class SharedLog:
    """The sign-outs of every worker, in order, and a way to refuse new ones (the broker away)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, int]] = []
        self.refusing = False


class MemorySignOuts:
    """One worker's reader and writer of a `SharedLog`; `hold` keeps it from becoming ready."""

    def __init__(self, log: SharedLog, hold: bool = False) -> None:
        self.log, self.hold = log, hold
        self.ready = asyncio.Event()
        self.closed = False

    async def record(self, sid: str, expires: int) -> None:
        if self.log.refusing:
            raise ConnectionError("the broker is away")
        self.log.records.append((sid, expires))

    async def follow(self, ended: Any) -> None:
        read = 0
        while True:
            while read < len(self.log.records):
                ended(*self.log.records[read])
                read += 1
            if not self.hold:
                self.ready.set()
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        self.closed = True


def _tokens(tmp_path: Path) -> tuple[TokenStore, str]:
    token, line = mint("huxi", ["huxi"], [], False)
    (tmp_path / "tokens.yaml").write_text("supervisors:\n" + line + "\n")
    return TokenStore.load(tmp_path / "tokens.yaml"), token


def _worker(tokens: TokenStore, signouts: MemorySignOuts) -> Pages:
    """One worker's pages, with the secret every worker behind one address shares."""
    pages = Pages()
    register(pages, settings=Settings(board_secret="k" * 40), bootstrap="127.0.0.1:9",
             hazards=Views(HAZARDS), alerts=Views(ALERTS), tokens=tokens,
             reference=RULES.reference, now=lambda: NOW, signouts=signouts)
    return pages


async def _csrf(client: TestClient) -> str:
    page = await (await client.get("/board")).text()
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


async def _with_cookie(client: TestClient, cookie: str, path: str = "/board/summary") -> int:
    return (await client.get(path, cookies={COOKIE: cookie}, allow_redirects=False)).status


async def _until(check: Any) -> None:
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.01)


def test_a_session_signed_out_on_one_worker_is_refused_on_another(tmp_path: Path) -> None:
    shared = SharedLog()
    tokens, token = _tokens(tmp_path)
    one, other = MemorySignOuts(shared), MemorySignOuts(shared)

    async def main() -> None:
        async with TestClient(TestServer(_worker(tokens, one).web_app)) as a, \
                TestClient(TestServer(_worker(tokens, other).web_app)) as b:
            assert (await sign_in(a, token)).status == 303
            cookie = a.session.cookie_jar.filter_cookies(a.make_url("/"))[COOKIE].value
            assert await _with_cookie(b, cookie) == 200  # the same secret: any worker takes it
            out = await a.post("/board/signout", data={"csrf": await _csrf(a)}, allow_redirects=False)
            assert out.status == 303 and len(shared.records) == 1
            await _until(lambda: _refused(b, cookie))
            assert await _with_cookie(b, cookie) == 401
            assert await _with_cookie(a, cookie) == 401
        assert one.closed and other.closed  # the application's cleanup closes the log

    async def _refused(client: TestClient, cookie: str) -> bool:
        return await _with_cookie(client, cookie) == 401

    asyncio.run(main())


def test_a_sign_out_the_broker_does_not_take_leaves_the_session_to_be_ended_again(tmp_path: Path) -> None:
    shared = SharedLog()
    tokens, token = _tokens(tmp_path)

    async def main() -> None:
        async with TestClient(TestServer(_worker(tokens, MemorySignOuts(shared)).web_app)) as a:
            assert (await sign_in(a, token)).status == 303
            csrf = await _csrf(a)
            shared.refusing = True
            refused = await a.post("/board/signout", data={"csrf": csrf}, allow_redirects=False)
            assert refused.status == 503 and refused.headers["Retry-After"] == "2"
            assert "still signed in" in await refused.text()
            assert (await a.get("/board/summary")).status == 200  # not ended anywhere, so not here
            shared.refusing = False
            again = await a.post("/board/signout", data={"csrf": csrf}, allow_redirects=False)
            assert again.status == 303 and len(shared.records) == 1
            assert (await a.get("/board/summary")).status == 401

    asyncio.run(main())


def test_a_worker_answers_no_session_before_it_has_read_the_sign_outs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A restarted worker must not take a cookie signed out before it started: until its log is
    read, its pages answer a request with a cookie 503 (after a short wait), one without is asked to
    sign in as ever, and the GeoJSON takes bearer tokens only."""
    shared = SharedLog()
    tokens, token = _tokens(tmp_path)
    starting = MemorySignOuts(shared, hold=True)
    monkeypatch.setattr(board_web, "SIGNOUTS_WAIT_S", 0.05)

    async def main() -> None:
        async with TestClient(TestServer(_worker(tokens, MemorySignOuts(shared)).web_app)) as a:
            assert (await sign_in(a, token)).status == 303
            cookie = a.session.cookie_jar.filter_cookies(a.make_url("/"))[COOKIE].value
            assert (await a.post("/board/signout", data={"csrf": await _csrf(a)},
                                 allow_redirects=False)).status == 303
        async with TestClient(TestServer(_worker(tokens, starting).web_app)) as b:
            # Without a cookie nothing waits for the log: the sign-in page, or 401, at once.
            fresh = await b.get("/board", allow_redirects=False)
            assert fresh.status == 200 and 'name="csrf"' in await fresh.text()
            assert (await b.get("/board/summary")).status == 401
            busy = await b.get("/board/summary", cookies={COOKIE: cookie})
            assert busy.status == 503 and busy.headers["Retry-After"] == "2"
            geo = await b.get("/hazards.geojson", cookies={COOKIE: cookie})
            assert geo.status == 503
            bearer = await b.get("/hazards.geojson", headers={"Authorization": f"Bearer {token}"})
            assert bearer.status == 200  # a token needs no sign-outs
            starting.hold = False
            assert await _with_cookie(b, cookie) == 401  # read: the old sign-out holds here too

    asyncio.run(main())


def test_ended_sessions_are_bounded_by_their_expiry_and_the_longest_sign_in() -> None:
    s = Sessions(b"s" * 32, 3600, {hash_token("t"): None}.get)
    s.end("old", int(NOW) - 1, NOW)
    assert "old" not in s._ended  # expired already: nothing to refuse
    s.end("far", int(NOW) + 10 * MAX_BOARD_SESSION_S, NOW)
    assert s._ended["far"] == int(NOW) + MAX_BOARD_SESSION_S
    for n in range(1000):
        s.end(f"s{n}", int(NOW) + 10, NOW)
    later = NOW + 100  # all of those have expired; the next ends prune them
    for n in range(70):
        s.end(f"t{n}", int(later) + 10, later)
    assert len(s._ended) < 200 and "far" in s._ended


def test_a_sign_out_record_is_read_back_and_anything_else_is_ignored() -> None:
    assert read_signout(signout_value("abc", 123)) == ("abc", 123)
    for bad in (None, b"", b"\xff", b"[]", b'{"sid": 1, "expires": 2}', b'{"sid": "a", "expires": true}',
                b'{"sid": "", "expires": 2}', b'{"sid": "a"}',
                ('{"sid": "' + "x" * 201 + '", "expires": 1}').encode()):
        assert read_signout(bad) is None


def test_the_topic_keeps_a_sign_out_longer_than_any_session_lasts() -> None:
    doc = yaml.safe_load((REPO_ROOT / "topics" / "topics.yaml").read_text())
    spec = next(t for t in doc["topics"] if t["name"] == "{app_id}-board-signouts")
    assert spec["retention_ms"] > MAX_BOARD_SESSION_S * 1000 and spec.get("cleanup_policy") is None
    assert signouts_topic("hazard-engine") == "hazard-engine-board-signouts"
    field = Settings.model_fields["board_session_s"]
    assert any(getattr(m, "le", None) == MAX_BOARD_SESSION_S for m in field.metadata)
