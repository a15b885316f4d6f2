"""What `Runtime._still_member` relies on, against a real broker.

Before it writes states, the worker commits the positions it last committed
again, unchanged, and writes only if the coordinator takes that. Kafka's
coordinator must therefore take it from a member during an ordinary rebalance
(the worker stores what it holds when its partitions are revoked) and refuse it
from a member whose session it ended while another member took its partitions.
Here two consumers of one group check both, with the runtime's own check.
"""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import NewTopic

from engine.harness import Namespace
from engine.stream.runtime import BatchFailed, Runtime
from engine.tools.kafka import admin, member

pytestmark = pytest.mark.broker

SESSION_MS = 6_000  # the least a broker allows by default (group.min.session.timeout.ms)


async def _topic(ns: Namespace, name: str) -> str:
    topic = ns.topic(name)
    client = admin(ns.bootstrap, {})
    await client.start()
    try:
        await client.create_topics([NewTopic(topic, 2, 1)])
    finally:
        await client.close()
    return topic


def _member(ns: Namespace, topic: str, listener: Any = None) -> Any:
    consumer = member(ns.bootstrap, {}, ns.name + "-still-member", session_timeout_ms=SESSION_MS,
                      heartbeat_interval_ms=1_000)
    consumer.subscribe([topic], listener=listener)
    return consumer


async def _assigned(*consumers: Any, count: int) -> None:
    """Poll every consumer until their assignments hold `count` partitions in all."""
    deadline = time.monotonic() + 60
    while sum(len(c.assignment()) for c in consumers) != count:
        assert time.monotonic() < deadline, "the group never settled"
        await asyncio.gather(*(c.getmany(timeout_ms=200) for c in consumers))


def _check(consumer: Any, committed: dict[TopicPartition, int]) -> Any:
    """The runtime's check, on a stand-in holding what it reads: the consumer and the last commits."""
    return Runtime._still_member(SimpleNamespace(consumer=consumer, committed=committed),  # type: ignore[arg-type]
                                 dict(committed))


def test_a_member_being_revoked_may_commit_its_positions_again(namespace: Namespace) -> None:
    async def run() -> list[str]:
        topic = await _topic(namespace, "still-member-revoked")
        seen: list[str] = []
        first: Any = None

        class Revoked(ConsumerRebalanceListener):
            async def on_partitions_revoked(self, revoked: Any) -> None:
                if revoked:  # the store a worker makes before it gives its partitions up
                    try:
                        await _check(first, {tp: 0 for tp in revoked})
                        seen.append("taken")
                    except BatchFailed as exc:
                        seen.append(f"refused: {exc}")

            async def on_partitions_assigned(self, assigned: Any) -> None:
                pass

        first = _member(namespace, topic, Revoked())
        await first.start()
        second = _member(namespace, topic)
        try:
            await _assigned(first, count=2)
            await first.commit({tp: 0 for tp in first.assignment()})
            await second.start()
            await _assigned(first, second, count=2)
            assert first.assignment() and second.assignment()
        finally:
            await second.stop()
            await first.stop()
        return seen

    assert asyncio.run(run()) == ["taken"]


def test_a_member_whose_session_ended_is_refused_before_it_writes(namespace: Namespace) -> None:
    topic = asyncio.run(_topic(namespace, "still-member-lapsed"))
    other_ready, stop = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def other() -> None:
        """A second member that keeps heartbeating on its own loop while the first one's loop stalls."""
        async def run() -> None:
            consumer = _member(namespace, topic)
            await consumer.start()
            try:
                other_ready.set()
                while not stop.is_set():
                    await consumer.getmany(timeout_ms=200)
            finally:
                await consumer.stop()
        try:
            asyncio.run(run())
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)
            other_ready.set()

    async def run() -> None:
        first = _member(namespace, topic)
        await first.start()
        thread = threading.Thread(target=other, daemon=True)
        try:
            await _assigned(first, count=2)
            thread.start()
            assert other_ready.wait(60)
            deadline = time.monotonic() + 60
            while len(first.assignment()) != 1:  # the group shares the two partitions
                assert time.monotonic() < deadline, "the second member never got a partition"
                await first.getmany(timeout_ms=200)
            mine = {tp: 0 for tp in first.assignment()}
            await first.commit(mine)
            await _check(first, mine)  # a member in good standing: taken
            # The first member's loop stalls past its session: no heartbeat, the coordinator ends
            # its membership and gives both partitions to the second.
            time.sleep(SESSION_MS / 1000 + 4)
            with pytest.raises(BatchFailed, match="not a member of the group"):
                await _check(first, mine)
        finally:
            stop.set()
            if thread.is_alive():
                thread.join(30)
            await first.stop()

    asyncio.run(run())
    assert not failures, failures
