"""Running engines for tests, the demo and benchmarks: a namespace, a worker process, topic I/O.

Each Namespace is an isolated engine on a shared broker: its own topic
prefix, consumer group and data directory. The worker runs as a real child
process, so it can be SIGKILLed and restarted like in production.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from engine.broker.install import free_port
from engine.contract.envelope import EVENT_TYPES, INTAKE_TOPICS
from engine.settings import child_environment
from engine.tools import kafka as kafka_tools
from engine.tools.kafka import opened, partitions_of, producer, started
from engine.tools.publish import DEFAULT_RETRY_FOR, Publisher

READY = '"worker_ready"'  # logged once the assigned partitions' tables are recovered


@dataclass
class Namespace:
    """An isolated engine on the shared broker: its own topic prefix, app id and data dir."""

    bootstrap: str
    root: Path
    name: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")
    web_port: int = field(default_factory=lambda: free_port())
    filing_port: int = field(default_factory=lambda: free_port())  # `filing --schedule`'s /metrics

    @property
    def prefix(self) -> str:
        """The topic prefix of this namespace."""
        return f"{self.name}."

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a worker or tool of this namespace runs with."""
        return child_environment(**{
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "HAZARD_TOPIC_PREFIX": self.prefix,
            "HAZARD_APP_ID": self.name,
            "HAZARD_DATA_DIR": str(self.root / "worker-data"),
            "HAZARD_LOG_LEVEL": "info",
            "HAZARD_WEB_PORT": str(self.web_port),
            "HAZARD_FILING_PORT": str(self.filing_port),
            "PYTHONUNBUFFERED": "1",  # a SIGKILLed worker must not take its last log lines with it
            **extra,
        })

    def topic(self, name: str) -> str:
        """The physical name of a contract or internal topic in this namespace."""
        return self.prefix + name

    async def delete_topics(self) -> None:
        """Delete every topic of this namespace, so test runs do not pile up on a shared broker."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            mine = [t for t in await admin.list_topics()
                    if t.startswith(self.prefix) or t.startswith(f"{self.name}-")]
            if mine:
                await admin.delete_topics(mine)
        finally:
            await admin.close()


class Worker:
    """`hazard-engine worker` as a child process, with its log in a file."""

    def __init__(self, env: dict[str, str], log_path: Path,
                 argv: tuple[str, ...] = ("-m", "engine", "worker")) -> None:
        self.env = env
        self.log_path = log_path
        self.argv = argv  # what follows the interpreter: the worker, or a test's variant of it
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    def start(self) -> Worker:
        """Start the process; its log goes to `log_path`, appended across restarts."""
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, *self.argv], env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        return self

    def log_text(self) -> str:
        """What this run of the worker has logged so far."""
        with self.log_path.open("rb") as f:
            f.seek(self._log_offset)
            return f.read().decode("utf-8", "replace")

    def wait_for(self, text: str, timeout: float = 90) -> None:
        """Wait until the worker's log of this run contains `text`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_text():
                return
            if self.proc and self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode} before {text!r}:"
                                     f"\n{self.log_text()[-4000:]}")
            time.sleep(0.2)
        raise AssertionError(f"no {text!r} in the worker log after {timeout} s:\n"
                             f"{self.log_text()[-4000:]}")

    def readyz(self, timeout: float = 2.0) -> tuple[int, dict[str, Any]]:
        """The worker's answer to GET /readyz: status and body; (0, {}) if it does not answer."""
        url = f"http://127.0.0.1:{self.env['HAZARD_WEB_PORT']}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
        except (OSError, ValueError):
            return 0, {}

    def wait_ready(self, timeout: float = 120) -> None:
        """Wait until this run of the worker answers 200 on /readyz."""
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status, body = self.readyz()
            if status == 200:
                return
            if self.proc and self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode} before it was ready:"
                                     f"\n{self.log_text()[-4000:]}")
            time.sleep(0.1)
        raise AssertionError(f"worker not ready after {timeout} s: {body}\n{self.log_text()[-4000:]}")

    def alive(self) -> bool:
        """Whether the worker process is running."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker: no chance to flush or commit anything."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 30) -> int:
        """Stop the worker with SIGTERM and return its exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        return self.proc.returncode


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes | None]],
                  timestamps: Sequence[int] | None = None) -> None:
    """Send (key, value) records to a topic and wait until all are acknowledged; with
    `timestamps`, record n carries timestamps[n] (epoch ms) in place of the producer's clock."""
    stamps = timestamps if timestamps is not None else [None] * len(records)
    async with opened(producer(bootstrap)) as prod:
        futures = [await prod.send(topic, value, key=key, timestamp_ms=at)
                   for (key, value), at in zip(records, stamps, strict=True)]
        await asyncio.gather(*futures)


async def read_all(bootstrap: str, topic: str, settle: float = 2.0, timeout: float = 120.0,
                   expect: int | None = None, where: Callable[[Any], bool] | None = None) -> list[Any]:
    """Read a topic from the beginning until `expect` records arrived, or none came for `settle` s.

    With `where`, only the records it accepts are kept and counted.
    """
    consumer = await started(AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                              enable_auto_commit=False, max_partition_fetch_bytes=16 << 20,
                                              fetch_max_bytes=64 << 20))
    try:
        partitions = await partitions_of(consumer, topic)
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out: list[Any] = []
        deadline = time.monotonic() + timeout
        idle_since = time.monotonic()
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            got = [rec for recs in batch.values() for rec in recs if where is None or where(rec)]
            out.extend(got)
            if got:
                idle_since = time.monotonic()
            if expect is not None and len(out) >= expect:
                break
            if expect is None and time.monotonic() - idle_since > settle:
                break
        return out
    finally:
        await consumer.stop()


def not_enterprise(record: Any) -> bool:
    """Whether a timeline record is about a hazard, alert or inspection: not filed under an
    enterprise, nor a seed or link of the annual plan (engine/plan/tracking.py)."""
    return json.loads(record.value).get("subject_kind") not in ("enterprise", "plan")


async def read_to_end(bootstrap: str, topic: str, timeout: float = 300.0) -> list[Any]:
    """Read a topic from the beginning up to the end offsets it has now, without waiting for silence.

    For a topic whose writers are done (an engine that has drained): what a
    quiet spell would also find, without the spell. The plain broker of the
    tests and the demo: no login.
    """
    try:
        return await kafka_tools.read_to_end(bootstrap, topic, {}, timeout=timeout)
    except TimeoutError as exc:
        raise AssertionError(str(exc)) from None


def values(records: list[Any]) -> list[dict[str, Any]]:
    """Decode the JSON values of consumed records."""
    return [json.loads(r.value) for r in records]


async def publish_on_schedule(bootstrap: str, prefix: str, clock: Any, events: list[Any],
                              on_day: dict[int, Any] | None = None,
                              retry_for: float = DEFAULT_RETRY_FOR,
                              stats: dict[str, int] | None = None,
                              ) -> tuple[int, list[threading.Thread]]:
    """Publish simulated events when the scaled clock reaches their time, as field apps would.

    Events go out through the project's retrying `Publisher`, so a broker
    outage delays them instead of losing them; events already due are sent
    together. `on_day` maps a simulated day to a callback started in a thread
    when the publisher reaches that day (a crash, a restart), so publishing
    goes on meanwhile. `stats`, if given, receives how often sending was retried.
    """
    on_day = dict(on_day or {})
    sent, threads = 0, []
    async with Publisher(bootstrap, retry_for) as publisher:
        i = 0
        while i < len(events):
            for day in sorted(on_day):
                if events[i].at >= clock.start + day * 86400:
                    threads.append(threading.Thread(target=on_day.pop(day)))
                    threads[-1].start()
            delay = clock.real_time_of(events[i].at) - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            batch = [events[i]]
            while (i + len(batch) < len(events) and len(batch) < 500
                   and clock.real_time_of(events[i + len(batch)].at) <= time.time()
                   and not any(events[i + len(batch)].at >= clock.start + d * 86400 for d in on_day)):
                batch.append(events[i + len(batch)])
            await publisher.send_many([
                (prefix + EVENT_TYPES[p.event["type"]].topic, p.event["subject"].encode(),
                 json.dumps(p.event).encode()) for p in batch])
            sent += len(batch)
            i += len(batch)
        if stats is not None:
            stats["publish_retries"] = publisher.retries
    return sent, threads


async def group_progress(ns: Namespace, topics: list[str]) -> tuple[int, int]:
    """How far the engine's consumer group has committed, and the end, summed over `topics`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=ns.bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=ns.bootstrap, group_id=None)
    await admin.start()
    await started(consumer)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in await partitions_of(consumer, t)]
        ends = await consumer.end_offsets(tps)
        committed = await admin.list_consumer_group_offsets(ns.name, partitions=tps)
        done = sum(max(meta.offset, 0) for meta in committed.values())
        return done, sum(ends.values())
    finally:
        await consumer.stop()
        await admin.close()


async def wait_drained(ns: Namespace, idle_timeout: float = 60.0, alive: Any = None) -> None:
    """Wait until the engine has committed every intake and timeline record.

    Raises if the committed position makes no progress for `idle_timeout`
    seconds while records wait (a stalled engine), or if `alive()` says the
    worker died.
    """
    topics = [ns.topic(t) for t in (*INTAKE_TOPICS, "engine.timeline")]
    last, since = -1, time.monotonic()
    while True:
        done, end = await group_progress(ns, topics)
        if done >= end and end > 0:
            # The timeline grows while intake drains: it is done when a second look agrees.
            await asyncio.sleep(3)
            again = await group_progress(ns, topics)
            if again[0] >= again[1] and again[1] == end:
                return
        if done != last:
            last, since = done, time.monotonic()
        elif time.monotonic() - since > idle_timeout:
            raise AssertionError(f"engine stalled: {done} of {end} records committed, "
                                 f"no progress for {idle_timeout:.0f} s")
        if alive is not None and not alive():
            raise AssertionError("the worker died while draining")
        await asyncio.sleep(1)


async def latest_states(bootstrap: str, app_id: str) -> dict[str, Any]:
    """Every hazard's latest state, read from the hazard table's changelog, with its whole history
    from the history table's changelog."""
    from engine.store import unpack

    records = await read_to_end(bootstrap, f"{app_id}-hazards-changelog")
    history = {r.key: r.value for r in await read_to_end(bootstrap, f"{app_id}-hazards-history-changelog")}
    return {r.key.decode(): unpack(r.value, history=history) for r in records if r.value}
