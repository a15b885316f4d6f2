"""The HTTP intake beside the Kafka intake, in one run: events/s, and latency to `202` (issue 15).

Three measurements on the same broker and workload, each with one intake-only worker:

    kafka      the worker drains events pre-filled on the intake topics (the ladder's rung 3)
    http-one   CLIENTS concurrent clients POST one structured event per request, as a phone does
    http-batch CLIENTS concurrent clients POST batches of BATCH events

For the HTTP ones the rate is events answered `202` per second, from the first
request to the last answer, and the latency is each request's time to its
`202`: by then every event in it is acknowledged by the broker (acks=all).
Each run then waits until the worker has taken everything posted from the
intake topics and checks that the timeline holds every event once, so a rate
is never quoted for events that were lost.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from bench import ladder
from bench.latency import summary
from bench.workload import Item
from engine.feeds.tokens import mint_field_app
from engine.harness import read_to_end
from engine.intake.process import TIMELINE

CLIENTS = 20
BATCH = 100


async def _post_all(url: str, token: str, bodies: list[tuple[bytes, str, int]]
                    ) -> tuple[float, float, list[float], dict[int, int]]:
    """POST every (body, content type, events) from CLIENTS workers; start, end, latencies, statuses."""
    queue: asyncio.Queue[tuple[bytes, str, int]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def client(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            body, content_type, _ = queue.get_nowait()
            sent = time.monotonic()
            async with session.post(url, data=body, headers={
                    "Authorization": f"Bearer {token}", "Content-Type": content_type}) as resp:
                await resp.read()
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
            latencies.append((time.monotonic() - sent) * 1000)

    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=600)) as session:
        start = time.time()
        await asyncio.gather(*(client(session) for _ in range(CLIENTS)))
        end = time.time()
    return start, end, latencies, statuses


def _bodies(items: Sequence[Item], batch: int) -> list[tuple[bytes, str, int]]:
    if batch == 1:
        return [(item.value, "application/cloudevents+json", 1) for item in items]
    out = []
    for i in range(0, len(items), batch):
        chunk = items[i:i + batch]
        body = b"[" + b",".join(item.value for item in chunk) + b"]"
        out.append((body, "application/cloudevents-batch+json", len(chunk)))
    return out


def http_run(bootstrap: str, root: Path, items: Sequence[Item], batch: int, name: str) -> dict[str, Any]:
    """Post `items` to one intake-only worker's POST /events; its figures."""
    token, line = mint_field_app("bench", None, [])
    tokens = root / f"{name}-tokens.yaml"
    root.mkdir(parents=True, exist_ok=True)
    tokens.write_text(f"field_apps:\n{line}\n", encoding="utf-8")
    ns = ladder.prepare(bootstrap, root, name, [])
    env = {"HAZARD_TOKENS_FILE": str(tokens), "HAZARD_HTTP_RATE_PER_S": "1000000000",
           "HAZARD_HTTP_BURST": "1000000000", "HAZARD_HTTP_MAX_BATCH": str(max(batch, 1))}
    try:
        with ladder.Engine(ns, decide=False, env=env) as engine:
            engine.wait_assigned()
            url = f"http://127.0.0.1:{ns.web_port}/events"
            bodies = _bodies(items, batch)
            start, end, latencies, statuses = asyncio.run(_post_all(url, token, bodies))
            asyncio.run(engine.drain())
            assert engine.trace is not None
            usage = engine.trace.between(start, end)
            timeline = asyncio.run(read_to_end(bootstrap, ns.topic(TIMELINE)))
        entries = [json.loads(r.value) for r in timeline]
        events_seen = {(e["source"], e["event_id"]) for e in entries}
        return {"name": name, "events": len(items), "requests": len(bodies), "clients": CLIENTS,
                "events_per_request": batch, "statuses": {str(k): v for k, v in statuses.items()},
                "seconds": round(end - start, 2),
                "events_per_s": round(len(items) / (end - start), 1),
                "requests_per_s": round(len(bodies) / (end - start), 1),
                "worker_cores": round(usage.cpu_seconds / usage.seconds, 2),
                "machine_busy_cores": round(usage.machine_busy_cores, 2),
                "timeline_entries": len(timeline), "events_on_timeline": len(events_seen),
                "latency_to_202": summary(latencies)}
    finally:
        asyncio.run(ns.delete_topics())


def run(bootstrap: str, root: Path, items: Sequence[Item], events: int,
        say: Callable[[str], None] = print) -> dict[str, Any]:
    """The Kafka intake rate and the HTTP intake's, one event and BATCH events a request."""
    chosen = list(items[:events])
    say(f"http: {events} events; Kafka intake first, then POST /events from {CLIENTS} clients")
    kafka = ladder.engine_rung(bootstrap, root, chosen, events, False, 0, name="kafka intake")
    say(f"  kafka intake: {kafka.events_per_s:,.0f} events/s")
    out: dict[str, Any] = {"kafka": {"events": events, "events_per_s": round(kafka.events_per_s, 1)}}
    for batch, name in ((1, "http-one"), (BATCH, "http-batch")):
        result = http_run(bootstrap, root, chosen, batch, name)
        out[name] = result
        lat = result["latency_to_202"]
        say(f"  {name}: {result['events_per_s']:,.0f} events/s, p50 {lat.get('p50_ms')} ms, "
            f"p99 {lat.get('p99_ms')} ms to 202 ({result['statuses']})")
    return out
