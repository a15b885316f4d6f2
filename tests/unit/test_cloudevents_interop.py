"""Interop with the official CloudEvents Python SDK: intake reads what it writes, and it reads ours.

The SDK has two APIs: `cloudevents.core` (2.x) and `cloudevents.v1`, which is
the 1.x API (`cloudevents.kafka`, `cloudevents.http`) that deployed field apps use.
Both are exercised.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from cloudevents.core.bindings import http as core_http
from cloudevents.core.bindings import kafka as core_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from cloudevents.v1 import kafka as v1_kafka
from cloudevents.v1.conversion import to_binary as v1_http_binary
from cloudevents.v1.conversion import to_structured as v1_http_structured
from cloudevents.v1.http import CloudEvent as V1CloudEvent
from cloudevents.v1.http import from_http as v1_from_http

from engine.contract.outputs import (
    ALERTS_CAP,
    CAP_CONTENT_TYPE,
    CLOUDEVENT_CONTENT_TYPE,
    OUTPUT_TOPICS,
    record_headers,
)
from engine.intake.process import TIMELINE, Record, decide_intake
from engine.reference import load_reference

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO.parent / "shared" / "contract" / "examples"
KNOWN = load_reference(REPO / "rules")
RAW_REPORT = (EXAMPLES / "hazard-reported.json").read_bytes()
REPORT = json.loads(RAW_REPORT)
SUBJECT = REPORT["subject"].encode()
AT_MS = 1_764_465_120_000


def decide(key, headers, value, topic: str = "hazard.reports"):
    """Intake's outcome for a record as a Kafka client would deliver the SDK's message."""
    if isinstance(key, str):
        key = key.encode()
    pairs = tuple((name, v if isinstance(v, bytes) else v.encode()) for name, v in headers.items())
    return decide_intake(Record(topic, 0, 0, key, value, AT_MS, pairs), {}.get, KNOWN)


# The contract example as field apps publish it today: the whole event as the value, no headers.
EXPECTED = decide(SUBJECT, {}, RAW_REPORT).sends


def core_event(**changes) -> CloudEvent:
    """The contract's example report as a 2.x SDK event."""
    event = REPORT | changes
    attributes = {k: v for k, v in event.items() if k != "data"}
    attributes["time"] = datetime.fromisoformat(attributes["time"])
    return CloudEvent(attributes, event["data"])


def v1_event(**changes) -> V1CloudEvent:
    """The contract's example report as a 1.x SDK event (attributes kept as the strings given)."""
    event = REPORT | changes
    return V1CloudEvent({k: v for k, v in event.items() if k != "data"}, event["data"])


def by_subject(event) -> str:
    """The key mapper a field app should use: the subject, as the contract asks."""
    return event.get_subject() if isinstance(event, CloudEvent) else event["subject"]


def test_sdk_events_match_the_contract_example() -> None:
    """Sanity: the SDK events carry the example's attributes, so their entries can be compared."""
    assert core_event().get_subject() == v1_event()["subject"] == REPORT["subject"]


@pytest.mark.parametrize("convert", [core_kafka.to_binary, core_kafka.to_structured],
                         ids=["binary", "structured"])
def test_core_sdk_kafka_records_give_the_example_timeline_entry(convert) -> None:
    """The 2.x SDK's Kafka binary and structured records give the very entry of the example's JSON."""
    message = convert(core_event(), JSONFormat(), key_mapper=by_subject)
    out = decide(message.key, message.headers, message.value)
    assert out.kind == "accepted" and out.sends == EXPECTED


@pytest.mark.parametrize("convert", [v1_kafka.to_binary, v1_kafka.to_structured],
                         ids=["binary", "structured"])
def test_v1_sdk_kafka_records_give_the_example_timeline_entry(convert) -> None:
    """The 1.x SDK's Kafka records (its to_structured puts content-type application/json) are accepted."""
    message = convert(v1_event(), key_mapper=by_subject)
    out = decide(message.key, message.headers, message.value)
    assert out.kind == "accepted" and out.sends == EXPECTED


def test_sdk_record_with_charset_gives_the_same_entry() -> None:
    """datacontenttype application/json; charset=utf-8 (the binding spec's example) changes no entry."""
    message = core_kafka.to_binary(core_event(datacontenttype="application/json; charset=utf-8"),
                                   JSONFormat(), key_mapper=by_subject)
    assert message.headers["content-type"] == b"application/json; charset=utf-8"
    assert decide(message.key, message.headers, message.value).sends == EXPECTED


def test_sdk_default_key_is_null_and_accepted() -> None:
    """Without a key mapper the SDK sends a null key, which is routed by subject."""
    message = core_kafka.to_binary(core_event(), JSONFormat())
    assert message.key is None
    assert decide(None, message.headers, message.value).sends == EXPECTED


def test_sdk_partitionkey_extension_as_the_key() -> None:
    """The SDK's own key convention, a partitionkey extension equal to the subject, is accepted."""
    message = core_kafka.to_binary(core_event(partitionkey=REPORT["subject"]), JSONFormat())
    assert message.key == REPORT["subject"] and "ce_partitionkey" in message.headers
    assert decide(message.key, message.headers, message.value).sends == EXPECTED


def test_sdk_record_keyed_by_another_subject_is_key_mismatch() -> None:
    """An SDK record whose partitionkey names another hazard is rejected as key_mismatch."""
    message = core_kafka.to_binary(core_event(partitionkey="HZ-OTHER"), JSONFormat())
    out = decide(message.key, message.headers, message.value)
    assert out.kind == "rejected" and out.reasons == ("key_mismatch",)


@pytest.mark.parametrize("changes,loc,code", [
    ({"time": "2026-11-30T09:12:00"}, ["time"], "timezone_aware"),
    ({"subject": "HZ-20261130-9999"}, ["subject"], "subject_mismatch"),
    ({"specversion": "0.3"}, ["specversion"], "literal_error"),
    ({"type": "safety.hazard.teleported"}, ["type"], "unknown_type"),
])
def test_sdk_binary_errors_name_the_attribute(changes: dict, loc: list, code: str) -> None:
    """A fault in a 1.x SDK binary record's attribute is rejected naming that attribute."""
    message = v1_kafka.to_binary(v1_event(**changes))
    out = decide(message.key, message.headers, message.value)
    assert out.kind == "rejected"
    errors = json.loads(out.sends[0].value)["data"]["errors"]
    assert (errors[0]["loc"], errors[0]["type"]) == (loc, code)


def test_sdk_binary_data_errors_name_the_data_path() -> None:
    """A fault inside a binary record's data is named by its path under data, as in structured mode."""
    data = json.loads(json.dumps(REPORT["data"]))
    data["location"]["town"] = "atlantis"
    message = core_kafka.to_binary(core_event(data=data), JSONFormat(), key_mapper=by_subject)
    out = decide(message.key, message.headers, message.value)
    errors = json.loads(out.sends[0].value)["data"]["errors"]
    assert [(e["loc"], e["type"]) for e in errors] == [(["data", "location", "town"], "unknown_town")]


@pytest.mark.parametrize("convert", [core_http.to_binary, core_http.to_structured],
                         ids=["binary", "structured"])
def test_core_sdk_http_events_reach_the_same_entry(convert) -> None:
    """An event the 2.x SDK sent over HTTP, read back and put on Kafka, gives the example's entry."""
    message = convert(core_event(), JSONFormat())
    event = core_http.from_http(message, JSONFormat())
    kafka = core_kafka.to_binary(event, JSONFormat(), key_mapper=by_subject)
    assert decide(kafka.key, kafka.headers, kafka.value).sends == EXPECTED


def test_core_sdk_http_structured_body_is_a_structured_record() -> None:
    """The body of a structured HTTP request, with its content-type, is a valid structured record."""
    message = core_http.to_structured(core_event(), JSONFormat())
    out = decide(SUBJECT, dict(message.headers), message.body)
    assert out.sends == EXPECTED


@pytest.mark.parametrize("convert", [v1_http_binary, v1_http_structured], ids=["binary", "structured"])
def test_v1_sdk_http_events_reach_the_same_entry(convert) -> None:
    """An event the 1.x SDK sent over HTTP, read back and put on Kafka, gives the example's entry."""
    headers, body = convert(v1_event())
    kafka = v1_kafka.to_binary(v1_from_http(headers, body), key_mapper=by_subject)
    assert decide(kafka.key, kafka.headers, kafka.value).sends == EXPECTED


def rejection_record() -> tuple[bytes | None, bytes]:
    """The key and value of the rejection intake writes for an event whose subject is not its hazard."""
    message = core_kafka.to_binary(core_event(subject="HZ-20261130-9999"), JSONFormat())
    out = decide(message.key, message.headers, message.value)
    [send] = out.sends
    assert send.topic == "intake.rejected"
    return send.key, send.value


def test_core_sdk_reads_back_a_rejection_with_its_headers() -> None:
    """The 2.x SDK reads an intake.rejected record, sent with record_headers, as a CloudEvent."""
    key, value = rejection_record()
    headers = dict(record_headers("intake.rejected"))
    message = core_kafka.KafkaMessage(headers=headers, key=key, value=value)
    sent = json.loads(value)
    # from_kafka picks the mode from the headers as a subscriber's generic reader would.
    for read in (core_kafka.from_structured, core_kafka.from_kafka):
        event = read(message, JSONFormat())
        assert (event.get_type(), event.get_id(), event.get_source()) == (
            "safety.intake.rejected", sent["id"], "/engine")
        assert event.get_data() == sent["data"]
        assert event.get_datacontenttype() == "application/json"


def test_v1_sdk_reads_back_a_rejection_with_its_headers() -> None:
    """The 1.x SDK's from_structured reads it too (taking the header as its datacontenttype)."""
    key, value = rejection_record()
    message = v1_kafka.KafkaMessage(dict(record_headers("intake.rejected")), key, value)
    event = v1_kafka.from_structured(message)
    sent = json.loads(value)
    assert (event["type"], event["id"], event.get_data()) == (
        "safety.intake.rejected", sent["id"], sent["data"])
    # A quirk of the 1.x SDK, not of the record: the body says application/json.
    assert event["datacontenttype"] == "application/cloudevents+json; charset=utf-8"


def test_every_cloudevent_output_topic_gets_the_structured_content_type() -> None:
    """Each output topic but alerts.cap carries content-type application/cloudevents+json; charset=utf-8."""
    topics = [*OUTPUT_TOPICS, "enforcement.actions", "referrals.judicial", "notifications"]
    for topic in topics:
        want = CAP_CONTENT_TYPE if topic == ALERTS_CAP else CLOUDEVENT_CONTENT_TYPE
        assert record_headers(topic) == [("content-type", want)], topic
    assert CLOUDEVENT_CONTENT_TYPE == b"application/cloudevents+json; charset=utf-8"


def test_cap_documents_are_labelled_cap_xml() -> None:
    """Records on alerts.cap carry content-type application/cap+xml."""
    assert record_headers("alerts.cap") == [("content-type", b"application/cap+xml")]


def test_internal_topics_get_no_headers() -> None:
    """The timeline and other internal topics are the engine's own business: no content-type."""
    assert record_headers(TIMELINE) == [] and record_headers("engine.intake.duplicates") == []
