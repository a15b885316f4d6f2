"""A board detail page's outputs, read from the real broker: the subject's own, from every output
topic, the latest MAX_OUTPUTS of them in time order."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiokafka import TopicPartition

from engine.board.web import MAX_OUTPUTS, subject_outputs
from engine.harness import Namespace, produce
from engine.settings import REPO_ROOT
from engine.tools.kafka import admin, partitions_of, reader, started
from engine.topics import ensure_topics, load_topics

pytestmark = pytest.mark.broker


def output(type_: str, subject: str, n: int, **data: object) -> tuple[bytes, bytes]:
    """An output of `subject`, its time n minutes after midnight of 2026-12-01."""
    event = {"specversion": "1.0", "id": f"{subject}-{type_}-{n}", "type": type_,
             "time": f"2026-12-01T{n // 60:02d}:{n % 60:02d}:00+08:00", "subject": subject,
             "data": {"rule_id": f"rule-{n}", **data}}
    return subject.encode(), json.dumps(event).encode()


async def declared_topics(ns: Namespace) -> None:
    """The namespace's topics as a worker creates them (4 partitions each)."""
    client = admin(ns.bootstrap, None, request_timeout_ms=10_000)
    await client.start()
    try:
        specs = load_topics(REPO_ROOT / "topics" / "topics.yaml", ns.name, ns.prefix)
        await ensure_topics(client, specs, 1, 1)
    finally:
        await client.close()


def test_a_detail_page_lists_the_latest_outputs_of_its_subject_from_every_topic(
        namespace: Namespace) -> None:
    asyncio.run(declared_topics(namespace))
    many = [output("safety.escalation.raised", "HZ-A", n, tier="red") for n in range(MAX_OUTPUTS + 100)]
    others = [output("safety.escalation.raised", "HZ-B", n) for n in range(3)]
    listed = [output("safety.supervision.listed", "HZ-A", MAX_OUTPUTS + 100 + n, notice_no=f"N-{n}")
              for n in range(2)]
    asyncio.run(produce(namespace.bootstrap, namespace.topic("escalations"), many + others))
    asyncio.run(produce(namespace.bootstrap, namespace.topic("supervision.listed"), listed))

    shown = asyncio.run(subject_outputs(namespace.bootstrap, namespace.prefix, "HZ-A"))
    assert len(shown) == MAX_OUTPUTS
    assert [o["time"] for o in shown] == sorted(o["time"] for o in shown)
    assert [o["rule_id"] for o in shown[-2:]] == [f"rule-{MAX_OUTPUTS + 100}", f"rule-{MAX_OUTPUTS + 101}"]
    assert shown[-1]["type"] == "safety.supervision.listed"  # the second topic is read too
    assert shown[0]["rule_id"] == "rule-102"  # the earliest 102 left out: 602 in all
    assert not [o for o in shown if o["id"].startswith("HZ-B")]


def test_a_detail_page_reads_each_topic_only_from_its_subjects_start(namespace: Namespace) -> None:
    """With `since_ms`, the read begins where the broker's time index puts that timestamp: the
    subject's outputs from then on are all shown, one stamped before it is not read, and a topic
    with nothing that late is not read at all."""
    asyncio.run(declared_topics(namespace))
    since = 1_790_000_000_000
    old = [output("safety.escalation.raised", "HZ-A", n) for n in range(3)]  # before the subject began
    new = [output("safety.escalation.raised", "HZ-A", 10 + n) for n in range(4)]
    listed = [output("safety.supervision.listed", "HZ-A", 20)]

    stamps = [since - 3_000 + 1_000 * n for n in range(len(old))] + [since + n for n in range(len(new))]
    asyncio.run(produce(namespace.bootstrap, namespace.topic("escalations"), old + new, stamps))
    asyncio.run(produce(namespace.bootstrap, namespace.topic("supervision.listed"), listed, [since - 5_000]))
    shown = asyncio.run(subject_outputs(namespace.bootstrap, namespace.prefix, "HZ-A", since_ms=since))
    assert [o["rule_id"] for o in shown] == [f"rule-{10 + n}" for n in range(4)]
    everything = asyncio.run(subject_outputs(namespace.bootstrap, namespace.prefix, "HZ-A"))
    assert len(everything) == 8  # without a bound: every topic from its start


def test_a_consumer_assigned_one_topic_still_finds_another_topics_partitions(namespace: Namespace) -> None:
    """An assignment narrows a consumer's metadata to the assigned topics; `partitions_of` still
    finds a topic outside them (the board's detail page once lost whole topics of outputs so)."""
    asyncio.run(declared_topics(namespace))

    async def run() -> tuple[list[int], list[int]]:
        consumer = await started(reader(namespace.bootstrap))
        try:
            escalations, listed = namespace.topic("escalations"), namespace.topic("supervision.listed")
            consumer.assign([TopicPartition(escalations, 0)])
            await consumer._client.force_metadata_update()  # now about the assigned topic only
            narrowed = consumer.partitions_for_topic(listed)
            return sorted(narrowed or ()), await partitions_of(consumer, listed)
        finally:
            await consumer.stop()

    narrowed, found = asyncio.run(run())
    assert narrowed == []  # the consumer's own metadata has lost the other topic
    assert found == [0, 1, 2, 3]
