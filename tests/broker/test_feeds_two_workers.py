"""Two workers share the partitions; either answers the look-ups for every subject (HAZARD_REPLICAS).

Each worker owns half of the partitions. A hazard whose partition the first
worker owns must be answered by the second worker's `GET /hazards/{id}` (and
the other way round), from its replica of the changelogs, and `GET /hazards`
paged through on either worker must list every hazard exactly once. Then the
second worker leaves, and the first keeps answering for every hazard while
the partitions move back to it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from test_feeds_e2e import report
from workerpair import owned, split_between

from engine.cores import TABLES
from engine.feeds.tokens import mint
from engine.feeds.web import LAG_HEADER
from engine.harness import Namespace, Worker, free_port, produce, read_all

pytestmark = pytest.mark.broker

FROZEN = "2026-11-01T00:00:00+08:00"
TOWNS = ("huxi", "yuji")
SUBJECTS = [f"HZ-TW-{n:02}" for n in range(16)]
REPORTED = datetime.fromisoformat(FROZEN) - timedelta(minutes=10)


async def listing(session: aiohttp.ClientSession, base: str, headers: dict[str, str]) -> list[str]:
    """Every hazard id of `GET /hazards`, paged through five at a time."""
    ids: list[str] = []
    cursor = None
    while True:
        url = f"{base}/hazards?limit=5" + (f"&cursor={cursor}" if cursor else "")
        async with session.get(url, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            assert int(resp.headers[LAG_HEADER]) >= 0
            page = await resp.json()
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def test_either_worker_answers_for_every_subject(namespace: Namespace, tmp_path: Path) -> None:
    """A subject owned by one worker is answered by the other; both lists are complete."""
    token, line = mint("district-office", [], [], True)
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(f"supervisors:\n{line}\n")
    env = namespace.env(HAZARD_TOKENS_FILE=str(tokens), HAZARD_CLOCK_START=FROZEN,
                        HAZARD_CLOCK_END=FROZEN, HAZARD_REPLICAS="on")
    first = Worker(dict(env, HAZARD_DATA_DIR=str(tmp_path / "first-data")), tmp_path / "first.log")
    second = Worker(dict(env, HAZARD_WEB_PORT=str(free_port()),
                         HAZARD_DATA_DIR=str(tmp_path / "second-data")), tmp_path / "second.log")
    workers = (first, second)
    try:
        first.start().wait_ready()
        second.start().wait_ready()
        halves = split_between(first, second)
        asyncio.run(produce(namespace.bootstrap, namespace.topic("hazard.reports"),
                            [report(s, TOWNS[n % 2], REPORTED) for n, s in enumerate(SUBJECTS)]))

        async def main() -> None:
            headers = {"Authorization": f"Bearer {token}"}
            bases = [f"http://127.0.0.1:{w.env['HAZARD_WEB_PORT']}" for w in workers]
            async with aiohttp.ClientSession() as session:
                deadline = time.monotonic() + 120
                lists: list[list[str]] = []
                while True:  # the decisions, and the replicas, follow the reports
                    lists = [await listing(session, base, headers) for base in bases]
                    if all(ids == SUBJECTS for ids in lists):
                        break
                    assert time.monotonic() < deadline, f"incomplete lists: {lists}"
                    await asyncio.sleep(0.5)

                records = await read_all(namespace.bootstrap,
                                         f"{namespace.name}-{TABLES['hazard']}-changelog", settle=1)
                partition = {r.key.decode(): r.partition for r in records}
                assert set(partition) == set(SUBJECTS)
                for base, other in ((bases[0], halves[1]), (bases[1], halves[0])):
                    theirs = [s for s in SUBJECTS if partition[s] in other]
                    assert theirs, f"no subject on partitions {other}: {partition}"
                    for subject in theirs:
                        async with session.get(f"{base}/hazards/{subject}", headers=headers) as resp:
                            assert resp.status == 200, await resp.text()
                            assert int(resp.headers[LAG_HEADER]) >= 0
                            one: dict[str, Any] = await resp.json()
                        assert one["id"] == subject and one["status"] == "reported"
                        assert one["town"] == TOWNS[SUBJECTS.index(subject) % 2] and one["record"]
                    async with session.get(f"{base}/hazards/HZ-NOPE", headers=headers) as resp:
                        assert resp.status == 404 and LAG_HEADER in resp.headers
                    async with session.get(f"{base}/metrics") as resp:
                        assert 'hazard_replica_lag_records{kind="hazard"}' in await resp.text()

                # The second worker leaves: its partitions go back to the first, which moves
                # its own into the replica while it reads them again. No answer misses anything.
                leaving = asyncio.get_running_loop().run_in_executor(None, second.stop)
                everything = halves[0] | halves[1]
                deadline = time.monotonic() + 120
                theirs = [s for s in SUBJECTS if partition[s] in halves[1]]
                rounds = 0
                while not (leaving.done() and owned(first) == everything):
                    assert await listing(session, bases[0], headers) == SUBJECTS
                    for subject in theirs:
                        async with session.get(f"{bases[0]}/hazards/{subject}",
                                               headers=headers) as resp:
                            assert resp.status == 200, await resp.text()
                    rounds += 1
                    assert time.monotonic() < deadline, f"the first worker owns {owned(first)}"
                assert await leaving == 0 and rounds > 0
                assert await listing(session, bases[0], headers) == SUBJECTS

        asyncio.run(main())
    finally:
        for w in workers:
            w.stop()
