"""Board sign-outs on the real broker: one worker's sign-out reaches a worker already running and
one that starts later, which reads it before it calls itself ready."""

from __future__ import annotations

import asyncio

import pytest
from test_board_outputs import declared_topics

from engine.board.signouts import KafkaSignOuts, signouts_topic
from engine.harness import Namespace, produce

pytestmark = pytest.mark.broker


async def _until(check, timeout: float = 20.0) -> None:  # noqa: ANN001 - a predicate
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not seen in time"
        await asyncio.sleep(0.05)


def test_a_sign_out_reaches_a_running_worker_and_one_that_starts_later(namespace: Namespace) -> None:
    asyncio.run(declared_topics(namespace))
    topic = signouts_topic(namespace.name)

    async def main() -> None:
        writer, running, late = (KafkaSignOuts(namespace.bootstrap, topic, None) for _ in range(3))
        seen: dict[str, dict[str, int]] = {"running": {}, "late": {}}
        tasks = [asyncio.create_task(running.follow(lambda s, e: seen["running"].__setitem__(s, e)))]
        try:
            await asyncio.wait_for(running.ready.wait(), 30)  # an empty topic is read at once
            await writer.record("sid-1", 1_900_000_000)
            # Something else on the topic (not the engine's) is passed over, not a failure.
            await produce(namespace.bootstrap, topic, [(b"x", b"not a sign-out"), (b"y", b"[1]")])
            await writer.record("sid-2", 1_900_000_100)
            await _until(lambda: len(seen["running"]) == 2)
            assert seen["running"] == {"sid-1": 1_900_000_000, "sid-2": 1_900_000_100}

            tasks.append(asyncio.create_task(late.follow(lambda s, e: seen["late"].__setitem__(s, e))))
            await asyncio.wait_for(late.ready.wait(), 30)
            assert seen["late"] == seen["running"]  # everything before it started, read before ready
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for log in (writer, running, late):
                await log.close()

    asyncio.run(main())


def test_a_sign_out_the_broker_cannot_take_raises(namespace: Namespace) -> None:
    """No such topic (or no broker): `record` fails, so the board keeps the session and says so."""
    async def main() -> None:
        log = KafkaSignOuts(namespace.bootstrap, f"{namespace.name}-no-such-topic", None)
        try:
            with pytest.raises(Exception):  # noqa: B017,PT011 - aiokafka's timeout or its refusal
                await log.record("sid-1", 1_900_000_000)
        finally:
            await log.close()

    asyncio.run(main())
