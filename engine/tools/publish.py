"""`hazard-engine publish`: send CloudEvents from JSON or JSONL files, each to its type's topic."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from aiokafka.errors import KafkaError
from aiokafka.structs import RecordMetadata

from engine.contract.envelope import EVENT_TYPES
from engine.errors import EngineError
from engine.progress import Bar

log = structlog.get_logger("engine.publish")
DEFAULT_RETRY_FOR = 120.0  # long enough to ride out a broker restart or a leader election


def waves(keys: Sequence[bytes | None]) -> list[list[int]]:
    """Positions of `keys` in rounds that hold each key at most once, in the order given.

    Round n holds the n-th record of every key; records without a key go in the first.
    """
    rounds: list[list[int]] = []
    seen: dict[bytes, int] = {}
    for i, key in enumerate(keys):
        n = 0 if key is None else seen.get(key, -1) + 1
        if key is not None:
            seen[key] = n
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(i)
    return rounds


@dataclass(frozen=True, slots=True)
class Item:
    """One event to send, with where it came from."""

    where: str  # file:line
    topic: str
    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class Problem:
    """A line that cannot be sent, and why."""

    where: str
    reason: str


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    data = path.read_bytes()
    if path.suffix == ".json":
        # A .json file is one event, pretty-printed or not, or a list of events.
        try:
            parsed = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            yield 1, data
            return
        for event in parsed if isinstance(parsed, list) else [parsed]:
            yield 1, json.dumps(event, ensure_ascii=False).encode("utf-8")
        return
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            yield number, line


def plan(paths: list[Path], force_topic: str | None = None) -> tuple[list[Item], list[Problem]]:
    """Work out the topic and key of each event; report each line that cannot be routed.

    With `force_topic`, every line goes to that topic as it is, even one that
    is not JSON: this is how a developer sees what the engine rejects.
    """
    items: list[Item] = []
    problems: list[Problem] = []
    for path in paths:
        for number, raw in _lines(path):
            where = f"{path}:{number}"
            try:
                event = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                event, reason = None, f"not JSON: {exc}"
            else:
                reason = None if isinstance(event, dict) else "not a JSON object"
            subject = event.get("subject") if isinstance(event, dict) else None
            key = subject.encode("utf-8") if isinstance(subject, str) else None
            if force_topic:
                items.append(Item(where, force_topic, key, raw))
                continue
            if reason is None:
                event_type = EVENT_TYPES.get(event.get("type"))
                if event_type is None:
                    reason = f"unknown event type {event.get('type')!r}"
                elif key is None:
                    reason = "no subject: the subject is the record key"
                else:
                    items.append(Item(where, event_type.topic, key, raw))
                    continue
            problems.append(Problem(where, reason))
    return items, problems


class NotDelivered(EngineError):
    """Some events were not acknowledged by the broker before the retry time ran out."""


class Publisher:
    """Sends records with acks=all and retries what the broker did not acknowledge.

    A field gateway must not lose a report because the broker restarted or a
    partition's leader moved: records that fail (a refused connection, a
    timeout, a leader change) are sent again, with a new producer, until
    `retry_for` seconds have passed since the first failure. A retried record
    may reach the topic twice; the engine recognises the second copy by its
    (source, id) and records it as a duplicate.
    """

    def __init__(self, bootstrap: str, retry_for: float = DEFAULT_RETRY_FOR,
                 on_retry: Callable[[int, str], None] | None = None,
                 auth: Mapping[str, Any] | None = None,
                 on_acked: Callable[[], None] | None = None) -> None:
        self.bootstrap, self.retry_for, self.on_retry = bootstrap, retry_for, on_retry
        self.auth, self.on_acked = auth, on_acked
        self._producer = None
        self.retries = 0

    async def __aenter__(self) -> Publisher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._close()

    async def _close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                await producer.stop()
            except (KafkaError, OSError) as err:  # the broker may be the reason for closing
                log.info("producer_close_failed", error=repr(err))

    async def _started(self):  # noqa: ANN202 - an AIOKafkaProducer
        from engine.tools.kafka import producer, started

        if self._producer is None:
            self._producer = await started(producer(self.bootstrap, self.auth))
        return self._producer

    async def _attempt(self, records: Sequence[tuple[str, bytes | None, bytes]]
                       ) -> list[RecordMetadata | BaseException]:
        """Send once; each record's metadata, or the error that kept it from the broker."""
        prod = await self._started()
        futures, unsent = [], None
        for topic, key, value in records:
            try:
                futures.append(await prod.send(topic, value, key=key))
            except KafkaError as err:  # no metadata in time: this record and the rest wait
                unsent = err
                break
        results: list[RecordMetadata | BaseException] = []
        for future in futures:
            try:
                results.append(await future)
            except KafkaError as err:
                results.append(err)
            else:
                if self.on_acked:
                    self.on_acked()
        return results + [unsent] * (len(records) - len(futures))

    async def send_many(self, records: Sequence[tuple[str, bytes | None, bytes]]
                        ) -> list[RecordMetadata]:
        """Send (topic, key, value) records; return their metadata once every one is acknowledged.

        A subject's records go out one after the other: a record is sent only once the
        earlier records with its key are acknowledged. Its event types live on several
        topics, so without that a retry after a partial failure (a broker going away
        mid-batch) would let a later event of a subject land before an earlier one.
        """
        done: dict[int, RecordMetadata] = {}
        for wave in waves([key for _, key, _ in records]):
            acked = await self._send_together([records[i] for i in wave])
            done.update(zip(wave, acked, strict=True))
        return [done[i] for i in range(len(records))]

    async def _send_together(self, records: Sequence[tuple[str, bytes | None, bytes]]
                             ) -> list[RecordMetadata]:
        """Send records at once, retrying those that failed, until every one is acknowledged."""
        done: dict[int, RecordMetadata] = {}
        todo = list(range(len(records)))
        first_failure: float | None = None
        pause = 0.5
        while todo:
            try:
                results = await self._attempt([records[i] for i in todo])
            except (KafkaError, OSError) as err:  # the producer could not even start
                results = [err] * len(todo)
            failed = []
            for i, outcome in zip(todo, results, strict=True):
                if isinstance(outcome, RecordMetadata):
                    done[i] = outcome
                else:
                    failed.append((i, outcome))
            if not failed:
                break
            now = time.monotonic()
            first_failure = first_failure or now
            reason = repr(failed[0][1])
            if now - first_failure > self.retry_for:
                raise NotDelivered(f"{len(failed)} of {len(records)} events not acknowledged "
                                   f"after retrying for {self.retry_for:.0f} s; last error: {reason}")
            self.retries += 1
            log.warning("publish_retry", waiting=len(failed), error=reason, pause_s=pause)
            if self.on_retry:
                self.on_retry(len(failed), reason)
            await self._close()  # a fresh producer: new connections, fresh metadata
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
            todo = [i for i, _ in failed]
        return [done[i] for i in range(len(records))]


async def send(items: list[Item], bootstrap: str, prefix: str = "",
               retry_for: float = DEFAULT_RETRY_FOR, auth: Mapping[str, Any] | None = None,
               on_acked: Callable[[], None] | None = None) -> list[str]:
    """Send the items in order and return one line per item saying where it landed."""
    async with Publisher(bootstrap, retry_for, auth=auth, on_acked=on_acked) as publisher:
        metas = await publisher.send_many([(prefix + i.topic, i.key, i.value) for i in items])
    return [f"{item.where} -> {meta.topic}[{meta.partition}]@{meta.offset}"
            for item, meta in zip(items, metas, strict=True)]


def run(paths: list[Path], bootstrap: str, prefix: str = "", force_topic: str | None = None,
        quiet: bool = False, retry_for: float = DEFAULT_RETRY_FOR,
        auth: Mapping[str, Any] | None = None) -> int:
    """Publish files; return 0 if every line was sent, 1 if some were skipped."""
    missing = [p for p in paths if not p.is_file()]
    for path in missing:
        print(f"{path}: no such file", file=sys.stderr)
    items, problems = plan([p for p in paths if p.is_file()], force_topic)
    for problem in problems:
        print(f"{problem.where}: skipped: {problem.reason}", file=sys.stderr)
    try:
        # The bar draws only on a terminal; the per-event lines on stdout come after it.
        with Bar("publishing", total=len(items)) as bar:
            lines = asyncio.run(send(items, bootstrap, prefix, retry_for, auth,
                                     on_acked=bar.step)) if items else []
    except NotDelivered as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for line in lines:
        if not quiet:
            print(line)
    print(f"sent {len(items)}, skipped {len(problems) + len(missing)}", file=sys.stderr)
    return 1 if problems or missing else 0
