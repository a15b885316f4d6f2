"""Sign-outs every worker honours: a board session ended on one worker is refused on all of them.

A session cookie is checked by signature and expiry alone, so any worker with the
same `HAZARD_BOARD_SECRET` takes it. Signing out must therefore reach them all.
Each sign-out is written to `{app_id}-board-signouts` (topics/topics.yaml) and
acknowledged by the broker before the supervisor is told they are signed out.
Every worker reads that topic from its start when it starts, and follows it after;
its board answers no session until it has read what was on the topic when it
started, so a restarted worker cannot take a cookie that was signed out before.

The topic keeps a record 8 days; a session lasts at most 7 (`HAZARD_BOARD_SESSION_S`),
so a record outlives the session it ends. A record is `{"sid", "expires"}`, keyed by the
session id. Another worker refuses the cookie once it has read the record, within a
fetch (about half a second).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from engine.tools.kafka import OnDemandProducer, partitions_of, producer, reader, started

log = structlog.get_logger("engine.board")

TOPIC = "{app_id}-board-signouts"  # as topics/topics.yaml declares it
RECORD_S = 10.0  # how long a sign-out waits for the broker's acknowledgement
RETRY_S = (0.5, 10.0)  # the follower's first and longest pause after a failure

Ended = Callable[[str, int], None]  # (session id, its expiry in epoch seconds)


class SignOutLog(Protocol):
    """Where sign-outs are recorded for every worker, and read back from."""

    ready: asyncio.Event  # set once every sign-out recorded before this worker started is read

    async def record(self, sid: str, expires: int) -> None:
        """Record a sign-out durably; raises when it could not be."""

    async def follow(self, ended: Ended) -> None:
        """Hand every sign-out recorded, earlier ones first, to `ended`, until cancelled."""

    async def close(self) -> None:
        """Release what `record` and `follow` hold."""


def signouts_topic(app_id: str) -> str:
    """The sign-out topic of the workers of `app_id` (HAZARD_APP_ID)."""
    return TOPIC.format(app_id=app_id)


def signout_value(sid: str, expires: int) -> bytes:
    """A sign-out record's value."""
    return json.dumps({"sid": sid, "expires": expires}, separators=(",", ":")).encode()


def read_signout(value: bytes | None) -> tuple[str, int] | None:
    """(session id, expiry) of a record's value; None for anything that is not a sign-out."""
    try:
        doc = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    sid, expires = doc.get("sid"), doc.get("expires")
    if not isinstance(sid, str) or not 0 < len(sid) <= 200 or type(expires) is not int:
        return None
    return sid, expires


class KafkaSignOuts:
    """The sign-out log on a Kafka topic, with the worker's login (`auth`, from Settings)."""

    def __init__(self, bootstrap: str, topic: str, auth: Mapping[str, Any] | None) -> None:
        self.bootstrap, self.topic, self.auth = bootstrap, topic, auth
        self.ready = asyncio.Event()
        self._producer = OnDemandProducer(lambda: producer(bootstrap, auth))

    async def record(self, sid: str, expires: int) -> None:
        """Send the sign-out and wait for the broker to acknowledge it (at most RECORD_S)."""
        async with asyncio.timeout(RECORD_S):
            sender = await self._producer.get()
            await sender.send_and_wait(self.topic, signout_value(sid, expires), key=sid.encode("utf-8"))

    async def follow(self, ended: Ended) -> None:
        """Read the topic from its start and keep following it; after a failure, start again
        (a sign-out read twice changes nothing)."""
        pause = RETRY_S[0]
        while True:
            try:
                consumer = await started(reader(self.bootstrap, self.auth, client_id="hazard-board-signouts"))
                try:
                    await self._read(consumer, ended)
                finally:
                    await consumer.stop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the broker away: read again after a pause
                log.warning("board_signouts_unread", error=f"{type(exc).__name__}: {exc}"[:300],
                            retry_in_s=pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_S[1])

    async def _read(self, consumer: AIOKafkaConsumer, ended: Ended) -> None:
        partitions = await partitions_of(consumer, self.topic)
        if not partitions:
            raise LookupError(f"no topic {self.topic}")
        tps = [TopicPartition(self.topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while True:
            batch = await consumer.getmany(*tps, timeout_ms=500)
            for records in batch.values():
                for rec in records:
                    signout = read_signout(rec.value)
                    if signout is not None:
                        ended(*signout)
            if not self.ready.is_set() and all([await consumer.position(tp) >= ends[tp] for tp in tps]):
                self.ready.set()
                log.info("board_signouts_read", topic=self.topic)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._producer.close()
