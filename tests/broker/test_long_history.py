"""A hazard with a long history: its chunks survive restarts and reach another worker's replica.

Against the real broker. A hazard collects 300 events, so its history lies in
several chunks of the history table (engine/store.py) and only its tail in the
state record. Its whole record (`GET /hazards/{id}`) must come back the same:
after a restart that reads the changelogs alone (HAZARD_STORE=memory), after a
restart from the local store (rocksdb), and from a second worker that does not
own the hazard's partition and answers from its replica of the changelogs.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from workerpair import PARTITIONS, owned, split_between

from bench.core import hazard_events
from engine.cores import HISTORY_TABLES, TABLES
from engine.feeds.tokens import mint
from engine.harness import Namespace, Worker, free_port, produce, read_all
from engine.kernel.state import CHUNK
from engine.tools.kafka import partition_for_key

pytestmark = pytest.mark.broker

HID = "HZ-HISTORY"  # bench.core's long-lived hazard
EVENTS = 302  # reported, verified, 300 progress updates
FROZEN = "2026-01-08T00:00:00+08:00"  # after the last update


def _record(worker: Worker, token: str) -> tuple[int, list[dict[str, Any]]]:
    """The worker's answer for the hazard: status and its record (empty unless 200)."""
    async def get() -> tuple[int, list[dict[str, Any]]]:
        # The whole record: its EVENTS steps in one page (the default page is the latest 500).
        url = f"http://127.0.0.1:{worker.env['HAZARD_WEB_PORT']}/hazards/{HID}?record_limit=2000"
        async with aiohttp.ClientSession() as session, \
                session.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
            return resp.status, (await resp.json())["record"] if resp.status == 200 else []
    return asyncio.run(get())


def _wait_record(worker: Worker, token: str, at_least: int, timeout: float = 180) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    status, record = 0, []
    while time.monotonic() < deadline:
        status, record = _record(worker, token)
        if status == 200 and len(record) >= at_least:
            return record
        time.sleep(0.5)
    raise AssertionError(f"{HID}: status {status}, {len(record)} items of record")


def _ready_line(worker: Worker) -> dict[str, Any]:
    lines = [json.loads(line) for line in worker.log_text().splitlines() if '"event": "worker_ready"' in line]
    assert lines, "no worker_ready logged"
    return lines[-1]


def test_a_long_history_recovers_whole_and_shows_on_a_second_worker(namespace: Namespace,
                                                                    tmp_path: Path) -> None:
    """Same whole record after a restart from the changelogs, one from the local store, and on a replica."""
    token, line = mint("district-office", [], [], True)
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(f"supervisors:\n{line}\n")
    env = namespace.env(HAZARD_TOKENS_FILE=str(tokens), HAZARD_CLOCK_START=FROZEN,
                        HAZARD_CLOCK_END=FROZEN, HAZARD_REPLICAS="on",
                        HAZARD_DATA_DIR=str(tmp_path / "first-data"))
    first = Worker(dict(env, HAZARD_STORE="rocksdb"), tmp_path / "first.log")
    second: Worker | None = None
    try:
        first.start().wait_ready()
        events = hazard_events(EVENTS)
        for topic in ("hazard.reports", "rectification.updates"):  # the report before its updates
            asyncio.run(produce(namespace.bootstrap, namespace.topic(topic),
                                [(HID.encode(), value) for t, value in events if t == topic]))
        whole = _wait_record(first, token, EVENTS)
        ids = {item["event_id"] for item in whole}
        assert {f"{HID}-{n}" for n in range(EVENTS)} <= ids

        # The history is in chunks apart: the state record holds the tail only.
        states = asyncio.run(read_all(namespace.bootstrap,
                                      f"{namespace.name}-{TABLES['hazard']}-changelog", settle=1))
        chunks = asyncio.run(read_all(namespace.bootstrap,
                                      f"{namespace.name}-{HISTORY_TABLES['hazard']}-changelog", settle=1))
        assert {r.key for r in chunks} == {b"%s#%d" % (HID.encode(), n) for n in range(len(whole) // CHUNK)}
        assert len(whole) // CHUNK >= 4
        last = [r.value for r in states if r.key == HID.encode()][-1]
        assert b'"history_kept":{"chunks":%d,' % (len(whole) // CHUNK) in last
        assert max(len(r.value) for r in states) < 20_000  # not the 300 items' bytes
        assert first.stop() == 0

        # From the changelogs alone: an empty memory store reads everything back.
        first.env["HAZARD_STORE"] = "memory"
        first.start().wait_ready()
        assert _ready_line(first)["changelog_records_read"] >= len(chunks)
        assert _wait_record(first, token, 1) == whole
        assert first.stop() == 0

        # From the local store: what the first run kept on disk, the changelogs' tails only.
        first.env["HAZARD_STORE"] = "rocksdb"
        first.start().wait_ready()
        assert _ready_line(first)["local_store"] is True
        assert _ready_line(first)["changelog_records_read"] < len(states)
        assert _wait_record(first, token, 1) == whole

        # A second worker: whichever of the two does not own the hazard answers from its replica.
        second = Worker(dict(env, HAZARD_STORE="memory", HAZARD_WEB_PORT=str(free_port()),
                             HAZARD_DATA_DIR=str(tmp_path / "second-data")), tmp_path / "second.log")
        second.start().wait_ready()
        split_between(first, second)
        home = partition_for_key(HID.encode(), PARTITIONS)
        replica = second if home in owned(first) else first
        assert home not in owned(replica)
        assert _wait_record(replica, token, len(whole)) == whole
        assert _wait_record(second if replica is first else first, token, 1) == whole
    finally:
        for w in (first, second):
            if w is not None:
                w.stop()
