"""`python -m bench.http_load`: escalation latency of a worker, quiet and under 20 hostile HTTP clients.

Issue 19 found that any token could stall the worker: lists decoded every
stored hazard on the one event loop, and SSE replays from the start held it
for seconds. This benchmark measures what an escalation suffers from that:

1. a worker (HAZARD_RUNTIME as given) is started on a namespace whose hazard
   table was filled straight through its changelog (`--hazards` states, in the
   bytes `engine.views.Derived.store` writes) and whose escalations topic holds
   `--escalations` records for the streams to replay;
2. *quiet*: for `--seconds`, a probe publishes an alert raised (警情) twice a
   second; its latency is from the probe's produce timestamp to the produce
   timestamp of the escalation it causes, both stamped on this machine;
3. *loaded*: the same probe while `--clients` clients (half listing
   `GET /hazards` page after page with a district token, half replaying
   `/feeds/escalations` from the start and reconnecting) go at full speed.

It prints both side by side and writes them as JSON. `--engine DIR` runs the
worker from another checkout of the engine (e.g. one extracted with
`git archive <commit>`), to compare with the code before a change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.clocks import load_changelog, percentile
from bench.workload import create_topics
from engine.broker import broker_session
from engine.contract.envelope import EVENT_TYPES
from engine.contract.outputs import ESCALATIONS
from engine.cores import build_cores
from engine.decide.state import Hazard
from engine.feeds.tokens import mint
from engine.harness import Namespace, Worker, produce, read_all
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT
from engine.views import Derived

START = datetime.fromisoformat("2026-01-05T08:00:00+08:00")
TOWNS = ("huxi", "yuji", "shuanghu", "lihaiwu")
PROBES_PER_S = 2.0


def hazard_records(count: int) -> list[tuple[bytes, bytes]]:
    """`count` open hazards across the towns, as the worker stores them."""
    rules = load_rules(REPO_ROOT / "rules")
    derived = Derived.build(build_cores(rules, None), rules, time.time, enterprises=False)
    at = int(START.timestamp())
    out = []
    for i in range(count):
        h = Hazard(f"HZ-LOAD-{i:07d}", opened=f"load-{i}", opened_at=at - 86400, origin="report",
                   title="Blocked fire exit", sector="fire_safety", town=TOWNS[i % len(TOWNS)],
                   claimed="general", deadline=at + 30 * 86400,
                   history=[[at - 86400, f"load-{i}", "reported"]])
        out.append((h.id.encode(), derived.store("hazard", h)))
    return out


def escalation_records(count: int) -> list[tuple[bytes, bytes]]:
    """`count` escalations about the loaded hazards, for the streams to replay."""
    out = []
    for i in range(count):
        town = TOWNS[i % len(TOWNS)]
        event = {"specversion": "1.0", "id": f"esc-load-{i}", "source": "/engine",
                 "type": "safety.escalation.raised", "time": START.isoformat(),
                 "data": {"subject_kind": "hazard", "subject_id": f"HZ-LOAD-{i:07d}",
                          "action": "notify", "tier": "blue", "town": town,
                          "targets": [{"kind": "town", "id": town, "name": town},
                                      {"kind": "department", "id": "fire_rescue", "name": "x"}],
                          "reason": "load"}}
        out.append((f"HZ-LOAD-{i:07d}".encode(), json.dumps(event).encode()))
    return out


def probe_event(n: int) -> tuple[bytes, bytes]:
    """An alert raised with casualties: the alert rules escalate it at once."""
    alert_id = f"AL-PROBE-{n:05d}"
    at = START + timedelta(minutes=n)
    body = {"specversion": "1.0", "id": f"{alert_id}-raised", "source": "/apps/grid/HX-11",
            "type": "safety.alert.raised", "time": at.isoformat(), "subject": alert_id,
            "data": {"alert_id": alert_id, "kind": "fire",
                     "location": {"town": "huxi", "grid": "HX-11", "address": "Market row C"},
                     "casualties": {"dead": 1, "missing": 0, "seriously_injured": 2, "injured": 3,
                                    "trapped": 0},
                     "people_to_evacuate": 100, "crowded_place": True, "description": "Fire",
                     "reporter": {"id": "gw-1", "role": "grid_worker"}, "post": "A"}}
    return alert_id.encode(), json.dumps(body).encode()


async def probe(bootstrap: str, topic: str, first: int, seconds: float) -> dict[str, float]:
    """Publish probes at PROBES_PER_S for `seconds`; their alert ids with the send timestamps."""
    sent: dict[str, float] = {}
    n = first
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        key, value = probe_event(n)
        sent[key.decode()] = time.time()
        await produce(bootstrap, topic, [(key, value)])
        n += 1
        await asyncio.sleep(1 / PROBES_PER_S)
    return sent


class Load:
    """Clients listing and replaying at full speed until stopped; what they got done."""

    def __init__(self, base: str, tokens: list[str], partitions: int) -> None:
        self.base, self.tokens, self.partitions = base, tokens, partitions
        self.pages = self.items = self.events = self.streams = self.errors = 0
        self.stop = asyncio.Event()

    async def lister(self, session: aiohttp.ClientSession, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        cursor = None
        while not self.stop.is_set():
            params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
            try:
                async with session.get(f"{self.base}/hazards", params=params, headers=headers) as r:
                    body = await r.json()
                    if r.status != 200:
                        self.errors += 1
                        await asyncio.sleep(0.1)
                        continue
            except (TimeoutError, aiohttp.ClientError):
                self.errors += 1
                await asyncio.sleep(0.1)
                continue
            self.pages += 1
            self.items += len(body["items"])
            cursor = body["next_cursor"]

    async def replayer(self, session: aiohttp.ClientSession, token: str) -> None:
        start = ",".join(f"{p}:0" for p in range(self.partitions))
        headers = {"Authorization": f"Bearer {token}", "Last-Event-ID": start}
        while not self.stop.is_set():
            try:
                async with session.get(f"{self.base}/feeds/escalations", headers=headers) as r:
                    if r.status != 200:
                        self.errors += 1
                        await asyncio.sleep(0.5)
                        continue
                    self.streams += 1
                    while not self.stop.is_set():  # to the end of the replay, then from the start again
                        try:
                            line = await asyncio.wait_for(r.content.readline(), 2.0)
                        except TimeoutError:
                            break
                        if not line:
                            break
                        if line.startswith(b"data: "):
                            self.events += 1
            except (TimeoutError, aiohttp.ClientError):
                self.errors += 1
                await asyncio.sleep(0.5)

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
        half = len(self.tokens) // 2
        async with aiohttp.ClientSession(timeout=timeout,
                                         connector=aiohttp.TCPConnector(limit=0)) as session:
            await asyncio.gather(*(self.lister(session, t) for t in self.tokens[:half]),
                                 *(self.replayer(session, t) for t in self.tokens[half:]))


def latencies(sent: dict[str, float], escalations: list[Any]) -> dict[str, Any]:
    """Each probe's latency to its first escalation, summarised in milliseconds."""
    first: dict[str, float] = {}
    for rec in escalations:
        try:
            subject = json.loads(rec.value)["data"]["subject_id"]
        except (ValueError, KeyError, TypeError):
            continue
        if subject in sent:
            first[subject] = min(first.get(subject, float("inf")), rec.timestamp / 1000)
    values = [(first[a] - t) * 1000 for a, t in sent.items() if a in first]
    return {"probes": len(sent), "answered": len(values),
            **{f"p{q}_ms": round(percentile(values, q) or 0, 1) for q in (50, 95, 99)},
            "max_ms": round(max(values, default=0), 1)}


def run(bootstrap: str, workdir: Path, hazards: int, escalations: int, clients: int,
        seconds: float, runtime: str, engine_dir: Path | None) -> dict[str, Any]:
    """The whole benchmark on one fresh namespace; its figures."""
    ns = Namespace(bootstrap, workdir)
    asyncio.run(create_topics(bootstrap, ns.prefix, ns.name))
    tokens, lines = [], []
    for i in range(clients):
        token, line = mint(f"load-{i}", [], [], True)
        tokens.append(token)
        lines.append(line)
    tokens_file = workdir / "tokens.yaml"
    tokens_file.write_text("supervisors:\n" + "\n".join(lines) + "\n")
    env = ns.env(HAZARD_RUNTIME=runtime, HAZARD_TOKENS_FILE=str(tokens_file),
                 HAZARD_CLOCK_START=(START - timedelta(days=1)).isoformat(),
                 HAZARD_CLOCK_END=(START - timedelta(days=1)).isoformat(), HAZARD_LOG_LEVEL="warning")
    if engine_dir is not None:  # PYTHONPATH alone loses to this checkout's editable install
        launch = workdir / "launch"
        launch.mkdir()
        (launch / "sitecustomize.py").write_text(
            "import sys\nsys.meta_path[:] = [f for f in sys.meta_path\n"
            "                    if '__editable__' not in getattr(f, '__module__', '')]\n")
        env["PYTHONPATH"] = f"{engine_dir}{os.pathsep}{launch}"
        env["PYTHONSAFEPATH"] = "1"  # nor may the current directory come first
    loaded = asyncio.run(load_changelog(bootstrap, f"{ns.name}-hazards-changelog",
                                        [hazard_records(hazards)]))
    asyncio.run(produce(bootstrap, ns.topic(ESCALATIONS), escalation_records(escalations)))
    worker = Worker(env, workdir / "worker.log")
    try:
        worker.start()
        worker.wait_ready(timeout=600)
        base = f"http://127.0.0.1:{ns.web_port}"
        topic = ns.topic(EVENT_TYPES["safety.alert.raised"].topic)
        quiet = asyncio.run(probe(bootstrap, topic, 0, seconds))

        async def loaded_phase() -> tuple[dict[str, float], Load]:
            load = Load(base, tokens, 3)
            clients_task = asyncio.create_task(load.run())
            await asyncio.sleep(2)  # the clients get going before the probes start
            sent = await probe(bootstrap, topic, 10_000, seconds)
            load.stop.set()
            await asyncio.wait_for(clients_task, 30)
            return sent, load

        busy, load = asyncio.run(loaded_phase())
        time.sleep(5)  # the last probes' escalations
        out = [r for r in asyncio.run(read_all(bootstrap, ns.topic(ESCALATIONS), settle=3.0))]
    finally:
        worker.stop()
        asyncio.run(ns.delete_topics())
    return {"runtime": runtime, "engine": str(engine_dir or REPO_ROOT), "hazards": hazards,
            "escalations_to_replay": escalations, "clients": clients, "seconds": seconds,
            "changelog_load_s": loaded["seconds"],
            "quiet": latencies(quiet, out), "loaded": latencies(busy, out),
            "load": {"pages": load.pages, "items_listed": load.items, "stream_opens": load.streams,
                     "events_replayed": load.events, "client_errors": load.errors,
                     "pages_per_s": round(load.pages / seconds, 1),
                     "events_per_s": round(load.events / seconds, 1)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_load", description=__doc__.split("\n")[0])
    parser.add_argument("--hazards", type=int, default=5_000)
    parser.add_argument("--escalations", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runtime", choices=("faust", "batch"), default="batch",
                        help="HAZARD_RUNTIME for an older checkout given with --engine (Faust was "
                        "the default before it left the tree); today's worker has only the batched one")
    parser.add_argument("--engine", type=Path, default=None,
                        help="run the worker from this checkout instead (to compare with older code)")
    parser.add_argument("--out", type=Path, default=None, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    with broker_session(stop_on_exit=False) as bootstrap, \
            tempfile.TemporaryDirectory(prefix="http-load-") as tmp:
        figures = run(bootstrap, Path(tmp), args.hazards, args.escalations, args.clients,
                      args.seconds, args.runtime, args.engine)
    q, b = figures["quiet"], figures["loaded"]
    print(f"escalation latency, ms ({figures['runtime']} runtime, {figures['hazards']} hazards, "
          f"{figures['clients']} clients)")
    print(f"{'':10}{'quiet':>10}{'loaded':>10}")
    for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "probes", "answered"):
        print(f"{key:10}{q[key]:>10}{b[key]:>10}")
    print("load:", json.dumps(figures["load"]))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())  # the worker's own environment is engine.harness's (PYTHONUNBUFFERED there)
