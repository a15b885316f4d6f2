"""End to end: supervisors read the worker's feeds with their tokens, over HTTP, from a real broker.

The worker runs on an accelerated clock (a simulated day a second) and gets
reports that nobody verifies, in huxi and in yuji, so the lead department's
verification duty (3 working days) fails again and again and escalations keep
coming in both towns. The feeds must keep each town's supervisor to their
town, and a client that reconnects with Last-Event-ID must get exactly what
it missed, which the test checks against the escalations topic itself.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from engine.feeds.filters import decode_positions
from engine.feeds.tokens import mint
from engine.harness import Namespace, Worker, produce, read_all

pytestmark = pytest.mark.broker

START = datetime.fromisoformat("2026-11-02T08:00:00+08:00")
RATE = 86400


def report(hazard_id: str, town: str, at: datetime) -> tuple[bytes, bytes]:
    body = {"specversion": "1.0", "id": f"r-{hazard_id}", "source": "/apps/grid/T-01",
            "type": "safety.hazard.reported", "time": at.isoformat(), "subject": hazard_id,
            "data": {"hazard_id": hazard_id, "title": "Blocked exit", "description": "Pallets",
                     "sector": "fire_safety", "grade_claimed": "general", "found_via": "grid_patrol",
                     "location": {"town": town}, "reporter": {"id": "gw-1", "role": "grid_worker"}}}
    return hazard_id.encode(), json.dumps(body).encode()


class Feed:
    """An SSE client of /feeds/escalations: events as (id, CloudEvent), and the start position."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str,
                 last_id: str | None = None) -> None:
        self.session, self.url, self.token, self.last_id = session, url, token, last_id
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.start: str | None = None  # the position the server says it started from
        self._resp: aiohttp.ClientResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self.revoked = self.ended = False

    async def open(self) -> Feed:
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.last_id:
            headers["Last-Event-ID"] = self.last_id
        self._resp = await self.session.get(self.url, headers=headers,
                                            timeout=aiohttp.ClientTimeout(total=None))
        assert self._resp.status == 200, await self._resp.text()
        assert self._resp.headers["Content-Type"].startswith("text/event-stream")
        first = await self._resp.content.readuntil(b"\n\n")
        self.start = next(line[len(": from "):] for line in first.decode().splitlines()
                          if line.startswith(": from "))
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._resp is not None
        try:
            while True:
                chunk = await self._resp.content.readuntil(b"\n\n")
                if not chunk.endswith(b"\n\n"):  # what is left when the server closed the stream
                    raise asyncio.IncompleteReadError(chunk, None)
                block = chunk.decode()
                fields = dict(line.split(": ", 1) for line in block.splitlines()
                              if line and not line.startswith(":"))
                if fields.get("event") == "revoked":
                    self.revoked = True
                elif "data" in fields:
                    self.events.append((fields["id"], json.loads(fields["data"])))
        except asyncio.IncompleteReadError:
            self.ended = True  # the server closed the stream

    async def wait(self, count: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while len(self.events) < count:
            assert time.monotonic() < deadline, f"{len(self.events)} of {count} events"
            await asyncio.sleep(0.1)

    async def wait_subject(self, subject: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not any(e["data"]["subject_id"] == subject for _, e in self.events):
            assert time.monotonic() < deadline, f"no escalation about {subject} in {self.events}"
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
        if self._resp:
            self._resp.close()


def start_worker(namespace: Namespace, tmp_path: Path, tokens: list[str]) -> Worker:
    path = tmp_path / "tokens.yaml"
    path.write_text("supervisors:\n" + "\n".join(tokens) + "\n")
    worker = Worker(namespace.env(HAZARD_TOKENS_FILE=str(path), HAZARD_CLOCK_START=START.isoformat(),
                                  HAZARD_CLOCK_ANCHOR=str(time.time()), HAZARD_CLOCK_RATE=str(RATE),
                                  HAZARD_TICK_S="0.2"), tmp_path / "worker.log")
    return worker.start()


def simulated_now(worker: Worker) -> datetime:
    anchor = float(worker.env["HAZARD_CLOCK_ANCHOR"])
    return START + timedelta(seconds=(time.time() - anchor) * RATE)


async def publish_reports(namespace: Namespace, worker: Worker, *ids_towns: tuple[str, str]) -> None:
    at = simulated_now(worker) - timedelta(minutes=10)
    await produce(namespace.bootstrap, namespace.topic("hazard.reports"),
                  [report(hid, town, at) for hid, town in ids_towns])


def test_feeds_keep_towns_apart_and_resume_exactly(namespace: Namespace, tmp_path: Path) -> None:
    """Tokens gate the feeds; each town sees its own; Last-Event-ID resumes without loss or repeats."""
    huxi_token, huxi_line = mint("huxi-office", ["huxi"], [], False)
    yuji_token, yuji_line = mint("yuji-office", ["yuji"], [], False)
    worker = start_worker(namespace, tmp_path, [huxi_line, yuji_line])
    base = f"http://127.0.0.1:{namespace.web_port}"
    feed_url = f"{base}/feeds/escalations"

    async def status(session: aiohttp.ClientSession, path: str, token: str | None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with session.get(base + path, headers=headers) as resp:
            await resp.read()
            return resp.status

    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            # Access control, before any traffic.
            assert await status(session, "/feeds/escalations", None) == 401
            assert await status(session, "/feeds/escalations", "hzt_not-a-real-token") == 401
            assert await status(session, "/feeds/escalations?town=yuji", huxi_token) == 403
            assert await status(session, "/hazards?town=yuji", huxi_token) == 403
            assert await status(session, "/feeds/escalations?tier=purple", huxi_token) == 400

            huxi = await Feed(session, feed_url, huxi_token).open()
            yuji = await Feed(session, feed_url, yuji_token).open()
            resuming = await Feed(session, feed_url, huxi_token).open()
            await publish_reports(namespace, worker, ("HZ-FH-1", "huxi"), ("HZ-FY-1", "yuji"))
            await resuming.wait_subject("HZ-FH-1")
            await resuming.close()
            # What happens while the client is away must reach it when it comes back.
            await publish_reports(namespace, worker, ("HZ-FH-2", "huxi"), ("HZ-FY-2", "yuji"))
            await huxi.wait_subject("HZ-FH-2")
            again = await Feed(session, feed_url, huxi_token, resuming.events[-1][0]).open()
            await publish_reports(namespace, worker, ("HZ-FH-3", "huxi"), ("HZ-FY-3", "yuji"))
            await again.wait_subject("HZ-FH-3")
            await yuji.wait_subject("HZ-FY-3")
            for feed in (huxi, yuji, again):
                await feed.close()

            # The huxi feed carries only huxi's escalations, the yuji feed only yuji's.
            assert {e["data"]["town"] for _, e in huxi.events} == {"huxi"}
            assert {e["data"]["town"] for _, e in yuji.events} == {"yuji"}
            assert {e["data"]["subject_id"] for _, e in huxi.events} >= {"HZ-FH-1", "HZ-FH-2"}

            # Exactly what the topic holds for huxi between where the first connection
            # started and where the second one stopped: nothing lost, nothing twice.
            received = [e["id"] for _, e in resuming.events + again.events]
            assert len(received) == len(set(received))
            start = decode_positions(resuming.start)
            end = decode_positions(again.events[-1][0])
            records = await read_all(namespace.bootstrap, namespace.topic("escalations"), settle=1)
            expected = [json.loads(r.value)["id"] for r in records
                        if start[r.partition] <= r.offset < end[r.partition]
                        and json.loads(r.value)["data"]["town"] == "huxi"]
            assert sorted(received) == sorted(expected)
            assert "HZ-FH-2" in {e["data"]["subject_id"] for _, e in again.events}
            headers = {"Authorization": f"Bearer {huxi_token}"}

            # State look-ups: within scope, outside it (answered exactly as unknown), and pages.
            async with session.get(f"{base}/hazards/HZ-FY-1", headers=headers) as outside, \
                    session.get(f"{base}/hazards/HZ-NOPE", headers=headers) as unknown:
                assert outside.status == unknown.status == 404
                assert (await outside.json())["error"].replace("HZ-FY-1", "X") == \
                    (await unknown.json())["error"].replace("HZ-NOPE", "X")
            headers = {"Authorization": f"Bearer {huxi_token}"}
            async with session.get(f"{base}/hazards/HZ-FH-1", headers=headers) as resp:
                one = await resp.json()
            assert one["town"] == "huxi" and one["status"] == "reported"
            assert one["lead_department"] == "fire_rescue" and one["record"]
            async with session.get(f"{base}/hazards?limit=2", headers=headers) as resp:
                page = await resp.json()
            assert [i["id"] for i in page["items"]] == ["HZ-FH-1", "HZ-FH-2"] and page["next_cursor"]
            async with session.get(f"{base}/hazards?limit=2&cursor={page['next_cursor']}",
                                   headers=headers) as resp:
                page = await resp.json()
            assert [i["id"] for i in page["items"]] == ["HZ-FH-3"] and page["next_cursor"] is None

    try:
        worker.wait_ready(timeout=120)
        asyncio.run(main())
    finally:
        worker.stop()
    assert '"event": "feed_opened"' in worker.log_text()


def test_feeds_hold_under_hostile_requests_and_end_a_revoked_tokens_stream(namespace: Namespace,
                                                                              tmp_path: Path) -> None:
    """Forged positions and odd parameters are 400s, a position past the end resumes at the end; four
    streams a token; a revoked token's stream ends."""
    huxi_token, huxi_line = mint("huxi-office", ["huxi"], [], False)
    gone_token, gone_line = mint("leaving-office", ["huxi"], [], False)
    worker = start_worker(namespace, tmp_path, [huxi_line, gone_line])
    base = f"http://127.0.0.1:{namespace.web_port}"
    feed_url = f"{base}/feeds/escalations"

    async def status(session: aiohttp.ClientSession, path: str, extra: dict[str, str]) -> int:
        headers = {"Authorization": f"Bearer {huxi_token}", **extra}
        async with session.get(base + path, headers=headers) as resp:
            await resp.read()
            return resp.status

    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            for last_id in (f"0:{1 << 64}", "0:99999999999999999999", "٣:1", "0:1," * 5000):
                assert await status(session, "/feeds/escalations", {"Last-Event-ID": last_id}) == 400
            # A partition the topic does not have is a position of another topic: 400, not a replay.
            assert await status(session, "/feeds/escalations", {"Last-Event-ID": "4095:1"}) == 400
            # A position past a partition's end resumes at its end, not from its oldest record.
            past = await Feed(session, feed_url, gone_token, last_id=f"0:{(1 << 63) - 1}").open()
            assert past.start is not None and decode_positions(past.start)[0] < 1000, past.start
            await past.close()
            for query in ("limit=²", "limit=0", "limit=" + "9" * 40, "cursor=%FF%FE", "overdue=maybe"):
                assert await status(session, f"/hazards?{query}", {}) == 400
            feeds = [await Feed(session, feed_url, huxi_token).open() for _ in range(4)]
            assert await status(session, "/feeds/escalations", {}) == 429
            leaving = await Feed(session, feed_url, gone_token).open()
            (tmp_path / "tokens.yaml").write_text(f"supervisors:\n{huxi_line}\n")
            deadline = time.monotonic() + 10
            while not leaving.ended:
                assert time.monotonic() < deadline, "the revoked token's stream is still open"
                await asyncio.sleep(0.1)
            assert leaving.revoked
            assert not any(f.ended for f in feeds)  # the others are untouched
            for feed in feeds:
                await feed.close()

    try:
        worker.wait_ready(timeout=120)
        asyncio.run(main())
    finally:
        worker.stop()
    assert "Traceback" not in worker.log_text()
