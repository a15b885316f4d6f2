"""`python -m bench.holds`: how long HTTP requests hold the worker's event loop.

No broker for the first three. A worker serves HTTP on the event loop that decides events, so what
matters is how long one request holds the loop, not only its CPU. In this
process:

1. `--hazards` hazards, each with `--steps` steps of history stored in chunks
   apart (as a worker stores them), are read as the board's numbers read them
   (`engine.feeds.views.every_visible`, the hazards without their records, in
   the feeds' turns on the loop), then summarised (`engine.board.picture`).
   A task beside it notes the longest time the loop went without a turn: a
   request's longest hold on the loop, a garbage collection included (the
   hazards are frozen out of the collector first, as a worker freezes what it
   recovered).
2. One hazard with `--long` steps: `GET /hazards/{id}`'s view with the default
   page of its record, the largest page, and none (what a list reads), as
   JSON bytes, the least time of five.
3. `POST /events` on a real aiohttp server (its broker a closed port, so the
   well-formed batch ends in 503 after its checks): a batch of 1,000 events
   with 25 malformed fields each (about 2.2 MB), and one of 1,000 well-formed
   events, each with the same watcher beside it.
4. With `--bootstrap` (a broker's address), a board detail page's outputs: `--outputs`
   escalations of 4,000 subjects on a fresh namespace's `escalations` topic, stamped evenly over
   a year, then one subject's read five times from the partition's start and five times from
   30 days back, as the board reads a subject that began a month ago
   (`engine.board.web.subject_outputs`), with the watcher.

Figures of the trees before these requests left the loop in turns are in
docs/board.md and docs/hostile-input.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from engine import codec, logs
from engine.board import picture
from engine.board.web import subject_outputs
from engine.decide.state import Hazard
from engine.feeds.filters import RECORD_MAX, RecordPage
from engine.feeds.index import PlaceIndex, hazard_place
from engine.feeds.share import LoopShare
from engine.feeds.tokens import Scope, TokenStore, mint_field_app
from engine.feeds.views import TableSource, every_visible, hazard_source
from engine.harness import produce
from engine.http import intake
from engine.http.events import BATCH
from engine.http.server import Pages
from engine.kernel.state import chunk_key
from engine.kernel.targets import lead_department
from engine.kernel.time import epoch
from engine.metrics import HttpIntakeMetrics
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT, Settings
from engine.store import pack
from engine.tools.kafka import admin
from engine.topics import ensure_topics, load_topics

OPENED = 1_790_000_000
NOW = OPENED + 200_000
DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS
EXAMPLE = REPO_ROOT / "topics" / "examples" / "hazard-reported.json"
LINES = ("rectification claimed complete", "verified: confirmed, grade general", "a note typed by hand")


def hazards(count: int, steps: int, rules: Any) -> TableSource:
    """`count` hazards of `steps` steps each, stored as a worker stores them, as the feeds read them."""
    table: dict[bytes, bytes] = {}
    history: dict[bytes, bytes] = {}
    index = PlaceIndex()
    for n in range(count):
        key = f"HZ-{n:07d}"
        h = Hazard(key, opened=f"{key}-0", opened_at=OPENED, title="Blocked exit", sector="fire_safety",
                   town="huxi", deadline=OPENED + 100_000,
                   history=[[OPENED + s, f"{key}-{s}", LINES[s % len(LINES)]] for s in range(steps)])
        chunks: dict[int, bytes] = {}
        table[key.encode()] = pack(h, chunks=chunks)
        history.update({chunk_key(key.encode(), c): value for c, value in chunks.items()})
        index.put(key, hazard_place(h, lead_department(h, rules)))
    return hazard_source(table, rules, lambda: NOW, index, history)


async def watched(work: Callable[[], Awaitable[Any]]) -> tuple[Any, dict[str, float]]:
    """What `work` returns, with its CPU and wall milliseconds and the longest time the loop went
    without a turn meanwhile (a task beside it notes each turn it gets)."""
    longest = 0.0

    async def beside() -> None:
        nonlocal longest
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0)
            now = time.perf_counter()
            longest, last = max(longest, now - last), now

    watcher = asyncio.create_task(beside())
    await asyncio.sleep(0)
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        result = await work()
    finally:
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        watcher.cancel()
    return result, {"cpu_ms": round(cpu * 1e3, 1), "wall_ms": round(wall * 1e3, 1),
                    "longest_hold_ms": round(longest * 1e3, 1)}


async def board_numbers(source: TableSource) -> dict[str, Any]:
    """The board's numbers over `source`: CPU, wall time and the loop's longest time without a turn."""
    async def numbers() -> int:
        views = await every_visible(source, Scope("district", district=True), NOW, LoopShare(1.0, 64))
        picture.summary(views, [], NOW)
        return len(views)

    count, took = await watched(numbers)
    return {"hazards": count, **took}


def intake_batches(events: int = 1_000) -> list[tuple[str, bytes]]:
    """Two batches for `POST /events`: malformed events (25 fields of junk each), and well-formed
    reports, both from the contract's example report."""
    example = json.loads(EXAMPLE.read_text())
    example["source"] = "/apps/bench/1"
    junk = {f"field{n}": [1, 2, {"x": "y" * 50}] for n in range(25)}  # 180 JSON items an event
    return [(f"{events:,} malformed", json.dumps([{**example, "id": f"ev-{n}", "data": junk}
                                                   for n in range(events)]).encode()),
            (f"{events:,} well formed", json.dumps([{**example, "id": f"ev-{n}"}
                                                     for n in range(events)]).encode())]


async def post_batch(body: bytes, at: float, rules: Any) -> tuple[int, dict[str, float]]:
    """One `POST /events` of `body` on a real server whose broker is a closed port; its status and
    what it held of the loop. `at` is the engine's clock."""
    token, entry = mint_field_app("bench", "/apps/bench/", [])
    with tempfile.TemporaryDirectory() as home:
        tokens = Path(home) / "tokens.yaml"
        tokens.write_text(f"field_apps:\n{entry}\n")
        settings = Settings(tokens_file=tokens, http_burst=1_000_000)
        pages = Pages()
        intake.register(pages, settings=settings, bootstrap="127.0.0.1:9",
                        tokens=TokenStore.from_settings(settings), known=rules.reference,
                        metrics=HttpIntakeMetrics(CollectorRegistry()), now=lambda: at)
        async with TestClient(TestServer(pages.web_app)) as client:
            async def post() -> int:
                resp = await client.post("/events", data=body, headers={
                    "Content-Type": BATCH, "Authorization": f"Bearer {token}"})
                await resp.read()
                return resp.status
            return await watched(post)


def one_record(source: TableSource, id_: str) -> list[dict[str, Any]]:
    """One hazard's view with each page of its record: least milliseconds of five, and its bytes."""
    rows = []
    for name, page in (("none (a list's view)", None), ("default page", RecordPage()),
                       (f"largest page ({RECORD_MAX})", RecordPage(RECORD_MAX))):
        best, size = float("inf"), 0
        for _ in range(5):
            began = time.perf_counter()
            size = len(codec.dumps(source.get(id_, page)))
            best = min(best, time.perf_counter() - began)
        rows.append({"record": name, "ms": round(best * 1e3, 1), "bytes": size})
    return rows


async def detail_outputs(bootstrap: str, outputs: int, views: int = 5) -> list[dict[str, Any]]:
    """A board detail page's read of its subject's outputs, over `outputs` escalations of 4,000
    subjects in a fresh namespace, stamped evenly over the year before now: each view's figures,
    as `watched` gives them, read from the start of the partition and (`since_ms`) from 30 days
    back, as the board reads a subject whose record began 29 days ago."""
    name = f"holds{uuid.uuid4().hex[:8]}"
    client = admin(bootstrap, None, request_timeout_ms=10_000)
    await client.start()
    try:
        await ensure_topics(client, load_topics(REPO_ROOT / "topics" / "topics.yaml", name, name + "."), 1, 1)
    finally:
        await client.close()
    end_ms = int(time.time() * 1000)
    records, stamps = [], []
    for n in range(outputs):
        subject = f"HZ-{n % 4000:05d}"
        event = {"specversion": "1.0", "id": f"{subject}-{n}", "type": "safety.escalation.raised",
                 "time": "2026-12-01T00:00:00+08:00", "subject": subject,
                 "data": {"rule_id": f"rule-{n}", "reason": "overdue " * 25}}
        records.append((subject.encode(), json.dumps(event).encode()))
        stamps.append(end_ms - (outputs - n) * YEAR_MS // outputs)
    await produce(bootstrap, f"{name}.escalations", records, stamps)
    rows = []
    for read, since in (("from the start", None), ("the last 30 days", end_ms - 30 * DAY_MS)):
        for _ in range(views):
            shown, took = await watched(lambda s=since: subject_outputs(bootstrap, name + ".", "HZ-00007",
                                                                        since_ms=s))
            rows.append({**took, "read": read, "outputs": len(shown)})
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Print the measurements."""
    args = argparse.ArgumentParser(prog="python -m bench.holds", description=__doc__.splitlines()[0])
    args.add_argument("--hazards", type=int, default=10_000)
    args.add_argument("--steps", type=int, nargs="+", default=[15, 100], help="steps of each hazard")
    args.add_argument("--long", type=int, default=30_000, help="steps of the one long record")
    args.add_argument("--bootstrap", help="a broker, for a detail page's outputs (step 4)")
    args.add_argument("--outputs", type=int, default=60_000, help="escalations on the topic (step 4)")
    opts = args.parse_args(argv)
    logs.configure("warning")  # the intake logs each refused batch at info
    rules = load_rules(REPO_ROOT / "rules")
    for steps in opts.steps:
        source = hazards(opts.hazards, steps, rules)
        gc.collect()
        gc.freeze()  # what is alive after recovery, as a worker freezes it (engine/stream/pauses.py)
        got = asyncio.run(board_numbers(source))
        gc.unfreeze()
        print(f"board numbers over {got['hazards']:,} hazards of {steps} steps: {got['cpu_ms']} ms CPU, "
              f"{got['wall_ms']} ms wall, the loop held at most {got['longest_hold_ms']} ms at a time")
    long = hazards(1, opts.long, rules)
    for row in one_record(long, "HZ-0000000"):
        print(f"GET /hazards/{{id}} of {opts.long:,} steps, record {row['record']}: {row['ms']} ms, "
              f"{row['bytes']:,} bytes")
    at = epoch(json.loads(EXAMPLE.read_text())["time"])
    for name, body in intake_batches():
        status, took = asyncio.run(post_batch(body, at, rules))
        print(f"POST /events of {name} ({len(body):,} bytes): {status} after {took['wall_ms']} ms, "
              f"the loop held at most {took['longest_hold_ms']} ms at a time")
    if opts.bootstrap:
        for row in asyncio.run(detail_outputs(opts.bootstrap, opts.outputs)):
            print(f"a detail page's outputs over {opts.outputs:,} escalations of a year on 4 "
                  f"partitions, read {row['read']}: {row['outputs']} found in {row['wall_ms']} ms, "
                  f"the loop held at most {row['longest_hold_ms']} ms at a time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
