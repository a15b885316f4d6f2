"""What a batch does once it is decided: its sends, table writes and commit, in that order.

Here a Runtime without a broker gets a fake producer (`_send`) and consumer
(`commit`) that record the order of what reaches the broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from bench.workload import build
from engine.stream.runtime import Runtime
from engine.stream.sending import Acked
from tests.unit.test_batch_decisions import Rec, _runtime


class Broker:
    """What the runtime's sends and commits did, in order."""

    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []

    async def send(self, records: list[Any]) -> list[Acked]:
        if not records:
            return []
        self.log.append(("send", sorted({r.topic for r in records})))
        return [Acked(0, n) for n, _ in enumerate(records)]

    async def commit(self, commits: dict[Any, int]) -> None:
        self.log.append(("commit", {(tp.topic, tp.partition): end for tp, end in commits.items()}))


@pytest.fixture
def worker(tmp_path: Any) -> Iterator[tuple[Runtime, Broker]]:
    rt, broker = _runtime(tmp_path), Broker()
    rt._send = broker.send  # type: ignore[method-assign]
    rt.consumer = broker  # type: ignore[assignment]
    yield rt, broker


def _intake_batch(rt: Runtime, items: list[Any], offset: int, partition: int | None = None) -> dict[Any, Any]:
    """Intake records of the benchmark's workload, each on its subject's partition (or `partition`)."""
    from aiokafka import TopicPartition

    batch: dict[Any, list[Rec]] = {}
    for n, item in enumerate(items):
        at = rt._home(item.key.decode()) if partition is None else partition
        key = item.key if partition is None else None
        tp = TopicPartition(rt.prefix + item.topic, at)
        batch.setdefault(tp, []).append(Rec(tp.topic, at, offset + n, key, item.value, 1_000 + n))  # type: ignore[arg-type]
    return batch


def test_a_batch_that_forwards_null_keys_holds_the_clocks_until_a_fetch_after_the_copies(
        worker: Any) -> None:
    rt, broker = worker
    item = next(i for i in build(20) if i.topic == "hazard.reports")
    away = (rt._home(item.key.decode()) + 1) % rt.intake_partitions

    async def run() -> None:
        await rt._handle(_intake_batch(rt, [item], 0, partition=away))

    asyncio.run(run())
    assert rt.forwards == 1 and rt.forwarded_ms > 0
    # The copy went out keyed by its subject, then the batch's commit; no mark, no timeline entry.
    assert [kind for kind, _ in broker.log] == ["send", "commit"]
    assert broker.log[0] == ("send", [rt.prefix + "hazard.reports"])
