"""Null keys through a real broker and the batched runtime: a duplicate is caught on any partition.

A producer without a key (the CloudEvents SDKs without a key mapper) lands on
any partition, but the marks that catch a repeated (source, id) sit on the
subject's. The worker sends such a record again, keyed by its subject, and
judges it there: sent on two partitions and once keyed, an event is one
timeline entry and two duplicates; sent once on the wrong partition, it lands
once, as a byte-for-byte copy on its subject's partition.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from workerpair import PARTITIONS, split_between

from engine.harness import Namespace, Worker, free_port, read_to_end, wait_drained
from engine.tools.kafka import partition_for_key, producer

pytestmark = pytest.mark.broker

REPORT = json.loads((EXAMPLES / "hazard-reported.json").read_text(encoding="utf-8"))


def report(n: int, **changes: Any) -> dict[str, Any]:
    """The contract's example report about hazard number `n`, with an id of its own."""
    hazard_id = f"HZ-20261130-N{n:04d}"
    return {**REPORT, "id": f"null-key-{n}", "subject": hazard_id,
            "data": {**REPORT["data"], "hazard_id": hazard_id}, **changes}


def home(event: dict[str, Any]) -> int:
    return partition_for_key(event["subject"].encode(), PARTITIONS)


def away(event: dict[str, Any]) -> list[int]:
    return [p for p in range(PARTITIONS) if p != home(event)]


async def send(ns: Namespace, records: list[tuple[bytes | None, bytes, int | None, list]]) -> None:
    """Send (key, value, partition, headers) records to hazard.reports, each acknowledged."""
    async with producer(ns.bootstrap) as prod:
        for key, value, partition, headers in records:
            await (await prod.send(ns.topic("hazard.reports"), value, key=key, partition=partition,
                                   headers=headers or None))


def drained(ns: Namespace, worker: Worker) -> dict[str, list[Any]]:
    """Wait until the worker committed everything, then read back what intake wrote."""
    asyncio.run(wait_drained(ns, idle_timeout=120, alive=worker.alive))
    return {name: asyncio.run(read_to_end(ns.bootstrap, ns.topic(name)))
            for name in ("hazard.reports", "engine.timeline", "engine.intake.duplicates",
                         "intake.rejected")}


def metric(worker: Worker, line: str) -> float:
    """The value of one sample of a worker's /metrics page, 0 if it has none yet."""
    url = f"http://127.0.0.1:{worker.env['HAZARD_WEB_PORT']}/metrics"
    with urllib.request.urlopen(url, timeout=10) as page:
        for sample in page.read().decode().splitlines():
            if sample.startswith(line + " "):
                return float(sample.rsplit(" ", 1)[1])
    return 0.0


def entries(records: list[Any], event: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    """The timeline records (and their entries) of the report `event` itself."""
    return [(r, doc) for r in records if (doc := json.loads(r.value)).get("event_id") == event["id"]
            and doc["subject"] == event["subject"]]


def test_an_event_sent_twice_with_null_keys_and_once_keyed_is_one_entry(
        namespace: Namespace, worker: Worker, tmp_path: Path) -> None:
    """Null keys on partitions of two different workers, then keyed: one entry, two duplicates.

    Each worker keeps the marks of its own partitions only, so before forwarding both
    null-key copies were accepted, one by each worker.
    """
    worker.start().wait_ready()
    second = Worker(dict(worker.env, HAZARD_WEB_PORT=str(free_port()),
                         HAZARD_DATA_DIR=str(tmp_path / "second-worker-data")),
                    tmp_path / "second-worker.log")
    try:
        second.start().wait_ready()
        halves = split_between(worker, second)
        event = report(1)
        value = json.dumps(event).encode()
        first, other = (min(half - {home(event)}) for half in halves)
        asyncio.run(send(namespace, [(None, value, first, []), (None, value, other, []),
                                     (event["subject"].encode(), value, None, [])]))
        seen = drained(namespace, worker)
        topic = namespace.topic("hazard.reports")
        samples = [f'hazard_intake_forwarded_total{{topic="{topic}"}}',
                   f'hazard_intake_records_total{{outcome="accepted",topic="{topic}"}}',
                   f'hazard_intake_records_total{{outcome="duplicate",topic="{topic}"}}']
        counts = [sum(metric(w, sample) for w in (worker, second)) for sample in samples]
    finally:
        second.stop()

    [(_, entry)] = entries(seen["engine.timeline"], event)
    assert entry["origin"]["partition"] == home(event)
    duplicates = [json.loads(r.value) for r in seen["engine.intake.duplicates"]
                  if json.loads(r.value)["event_id"] == event["id"]]
    assert len(duplicates) == 2
    assert {d["position"].rsplit("/", 2)[1] for d in duplicates} == {str(home(event))}
    assert not any(d["conflicting"] for d in duplicates)
    assert seen["intake.rejected"] == []
    # Five records on the topic: the three sent and the two copies the workers forwarded.
    assert sorted((r.partition, r.key) for r in seen["hazard.reports"]) == sorted(
        [(first, None), (other, None), *[(home(event), event["subject"].encode())] * 3])
    assert counts == [2.0, 1.0, 2.0]  # forwarded, accepted, duplicates


def test_a_null_key_event_on_the_wrong_partition_lands_once(
        namespace: Namespace, worker: Worker) -> None:
    """Binary mode on another partition: one entry, from a byte-for-byte copy on the subject's
    partition. Already home, a null key is handled there; a broken one is rejected where it lands."""
    worker.start().wait_ready()
    wrong, at_home, broken = report(2), report(3), report(4, time="2026-11-30T09:12:00")
    headers = [(f"ce_{k}", str(v).encode()) for k, v in wrong.items()
               if k not in ("data", "datacontenttype")]
    headers += [("content-type", b"application/json; charset=utf-8"), ("traceparent", b"00-ab-01")]
    data = json.dumps(wrong["data"]).encode()
    asyncio.run(send(namespace, [
        (None, data, away(wrong)[0], headers),
        (None, json.dumps(at_home).encode(), home(at_home), []),
        (None, json.dumps(broken).encode(), away(broken)[-1], []),
    ]))
    seen = drained(namespace, worker)

    [(entry_record, entry)] = entries(seen["engine.timeline"], wrong)
    assert entry_record.partition == entry["origin"]["partition"] == home(wrong)
    [(_, entry)] = entries(seen["engine.timeline"], at_home)
    assert entry["origin"]["partition"] == home(at_home)
    assert seen["engine.intake.duplicates"] == []
    [rejected] = [json.loads(r.value)["data"] for r in seen["intake.rejected"]]
    assert rejected["partition"] == away(broken)[-1]
    assert [e["type"] for e in rejected["errors"]] == ["timezone_aware"]

    [original] = [r for r in seen["hazard.reports"] if r.partition == away(wrong)[0]]
    [copy] = [r for r in seen["hazard.reports"] if r.key == wrong["subject"].encode()]
    assert copy.partition == home(wrong) and original.key is None
    assert (copy.value, list(copy.headers)) == (original.value, list(original.headers))
    # The broker stamps both as it appends them (LogAppendTime): the copy arrives no earlier.
    assert copy.timestamp_type == original.timestamp_type == 1
    assert copy.timestamp >= original.timestamp
    topic = namespace.topic("hazard.reports")
    assert metric(worker, f'hazard_intake_forwarded_total{{topic="{topic}"}}') == 1.0
    assert metric(worker, f'hazard_intake_records_total{{outcome="accepted",topic="{topic}"}}') == 2.0
    assert metric(worker, f'hazard_intake_records_total{{outcome="rejected",topic="{topic}"}}') == 1.0


def test_a_record_keyed_by_its_subject_on_another_partition_is_caught_as_a_duplicate(
        namespace: Namespace, worker: Worker) -> None:
    """A client whose partitioner is not murmur2 (librdkafka's default, CRC32) puts a record keyed
    by its subject on another partition. It is forwarded to its subject's partition like a null key,
    so the same event sent again by a murmur2 client is caught there: one entry and one duplicate,
    where before each partition accepted its copy."""
    worker.start().wait_ready()
    event = report(5)
    value, key = json.dumps(event).encode(), event["subject"].encode()
    asyncio.run(send(namespace, [(key, value, away(event)[0], []), (key, value, None, [])]))
    seen = drained(namespace, worker)

    [(_, entry)] = entries(seen["engine.timeline"], event)
    assert entry["origin"]["partition"] == home(event)
    [duplicate] = [json.loads(r.value) for r in seen["engine.intake.duplicates"]]
    assert duplicate["event_id"] == event["id"] and not duplicate["conflicting"]
    # Three records on the topic: the two sent and the copy the worker sent to the home partition.
    assert sorted(r.partition for r in seen["hazard.reports"]) == sorted(
        [away(event)[0], home(event), home(event)])
    topic = namespace.topic("hazard.reports")
    assert metric(worker, f'hazard_intake_forwarded_total{{topic="{topic}"}}') == 1.0
