"""The official CloudEvents SDK against a real broker and worker: binary and structured in, outputs read back.

Field apps built on the SDK publish in Kafka binary mode by default (`ce_*`
headers, the data as the value) or in structured mode; both must reach the
timeline exactly like the contract's own JSON. What the engine writes must be
readable by the same SDK, so every output record carries its content-type.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pytest
from cloudevents.core.bindings import kafka as sdk_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from conftest import EXAMPLES

from engine.harness import Namespace, Worker, not_enterprise, read_all
from engine.tools.kafka import producer

pytestmark = pytest.mark.broker

REPORT = json.loads((EXAMPLES / "hazard-reported.json").read_text(encoding="utf-8"))


def sdk_event(**changes) -> CloudEvent:
    """The contract's example report, changed as given, as an SDK event."""
    event = REPORT | changes
    attributes = {k: v for k, v in event.items() if k != "data"}
    attributes["time"] = datetime.fromisoformat(attributes["time"])
    return CloudEvent(attributes, event["data"])


async def send(namespace: Namespace, messages: list[sdk_kafka.KafkaMessage]) -> None:
    """Publish the SDK's Kafka messages (key, headers, value) as a field app would."""
    async with producer(namespace.bootstrap) as prod:
        futures = [await prod.send(namespace.topic("hazard.reports"), m.value,
                                   key=m.key.encode() if isinstance(m.key, str) else m.key,
                                   headers=[(k, v if isinstance(v, bytes) else v.encode())
                                            for k, v in m.headers.items()])
                   for m in messages]
        await asyncio.gather(*futures)


def test_sdk_binary_and_structured_records_reach_the_timeline_and_outputs_read_back(
        namespace: Namespace, worker: Worker) -> None:
    """Binary and structured SDK records are accepted; a rejection carries a content-type the SDK reads."""
    worker.start().wait_ready()
    by_subject = lambda e: e.get_subject()  # noqa: E731 - the key mapper the contract asks for
    fmt = JSONFormat()
    binary = sdk_kafka.to_binary(sdk_event(), fmt, key_mapper=by_subject)
    structured = sdk_kafka.to_structured(
        sdk_event(id="sdk-structured-1", subject="HZ-20261130-0002",
                  data=REPORT["data"] | {"hazard_id": "HZ-20261130-0002"}), fmt, key_mapper=by_subject)
    wrong_key = sdk_kafka.to_binary(sdk_event(id="sdk-wrong-key"), fmt,
                                    key_mapper=lambda e: "HZ-SOMEONE-ELSE")
    asyncio.run(send(namespace, [binary, structured, wrong_key]))

    # The report's enterprise gets link entries as well (一企一档); they are not counted here.
    timeline = asyncio.run(read_all(namespace.bootstrap, namespace.topic("engine.timeline"), expect=2,
                                    where=not_enterprise))
    entries = sorted((json.loads(r.value)["subject"], json.loads(r.value)["type"]) for r in timeline)
    assert entries == [("HZ-20261130-0001", "safety.hazard.reported"),
                       ("HZ-20261130-0002", "safety.hazard.reported")]

    [rejected] = asyncio.run(read_all(namespace.bootstrap, namespace.topic("intake.rejected"), expect=1))
    headers = {k: v for k, v in rejected.headers}
    assert headers["content-type"] == b"application/cloudevents+json; charset=utf-8"
    event = sdk_kafka.from_kafka(sdk_kafka.KafkaMessage(headers=headers, key=rejected.key,
                                                        value=rejected.value), fmt)
    assert event.get_type() == "safety.intake.rejected"
    assert [e["type"] for e in event.get_data()["errors"]] == ["key_mismatch"]
