"""The intake decision: accept, redeliver, reject or drop a duplicate, with deterministic outputs."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from engine.intake.process import DUPLICATES, TIMELINE, Record, decide_intake
from engine.intake.timeline import _NS, FINDING_TYPE
from engine.reference import load_reference
from engine.uuid5 import uuid5_text

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO.parent / "shared" / "contract" / "examples"
KNOWN = load_reference(REPO / "rules")
REPORT = (EXAMPLES / "hazard-reported.json").read_bytes()


def record(value: bytes | None, offset: int = 0, topic: str = "hazard.reports",
           key: bytes = b"HZ-20261130-0001") -> Record:
    return Record(topic, 0, offset, key, value, 1_764_465_120_000)


class Store(dict):
    """The de-duplication table, as a dict with the agent's get and set."""

    def remember(self, outcome) -> None:
        if outcome.remember:
            self[outcome.remember[0]] = outcome.remember[1]


def test_accepted_event_goes_to_the_timeline_keyed_by_subject() -> None:
    """An accepted report becomes one timeline entry, normalised to Asia/Shanghai time."""
    out = decide_intake(record(REPORT), {}.get, KNOWN)
    assert out.kind == "accepted"
    [send] = out.sends
    assert (send.topic, send.key) == (TIMELINE, b"HZ-20261130-0001")
    entry = json.loads(send.value)
    assert entry["type"] == "safety.hazard.reported"
    assert entry["time"] == "2026-11-30T09:12:00+08:00"
    assert entry["origin"] == {"topic": "hazard.reports", "partition": 0, "offset": 0}
    assert entry["data"]["reporter"]["anonymous"] is False  # defaults filled in


def test_second_copy_at_another_offset_is_a_duplicate() -> None:
    """The same (source, id) sent again is recorded as a duplicate and changes nothing."""
    store = Store()
    first = decide_intake(record(REPORT, 0), store.get, KNOWN)
    store.remember(first)
    again = decide_intake(record(REPORT, 7), store.get, KNOWN)
    assert again.kind == "duplicate" and again.remember is None
    [send] = again.sends
    assert send.topic == DUPLICATES
    dup = json.loads(send.value)
    assert (dup["position"], dup["first_position"], dup["conflicting"]) == (
        "hazard.reports/0/7", "hazard.reports/0/0", False)


def test_duplicate_with_different_content_is_flagged_as_conflicting() -> None:
    """An id reused for other content is still a duplicate, but flagged for a person to look at."""
    store = Store()
    store.remember(decide_intake(record(REPORT, 0), store.get, KNOWN))
    changed = REPORT.replace(b"Fire exit blocked", b"Fire exit still blocked")
    dup = json.loads(decide_intake(record(changed, 3), store.get, KNOWN).sends[0].value)
    assert dup["conflicting"] is True


def test_a_conflicting_copy_posted_over_http_is_also_rejected_to_its_field_app() -> None:
    """POST /events answered 202 for a changed record under a taken (source, id), and the intake
    dropped it on engine.intake.duplicates alone, where its field app never looks: a copy the door
    stamped is now also on intake.rejected as conflicting_copy, which GET /events/rejected reads."""
    from engine.contract.outputs import INTAKE_REJECTED
    from engine.http.rejected import rejected_of
    from engine.intake.scope import FIELD_APP_HEADER

    store = Store()
    stamped = ((FIELD_APP_HEADER, b"inspector"),)
    store.remember(decide_intake(record(REPORT, 0), store.get, KNOWN))
    changed = REPORT.replace(b"Fire exit blocked", b"Fire exit still blocked")
    copy = decide_intake(record(changed, 3)._replace(headers=stamped), store.get, KNOWN)
    assert copy.kind == "duplicate" and copy.reasons == ("conflicting_copy",)
    assert [send.topic for send in copy.sends] == [DUPLICATES, INTAKE_REJECTED]
    [error] = rejected_of("inspector", copy.sends[1].value).errors
    assert (error.type, error.loc) == ("conflicting_copy", ["id"])
    assert "taken at hazard.reports/0/0 with other content" in error.msg
    # The same bytes again are one event, however sent; and a record straight from Kafka is told
    # on engine.intake.duplicates, as before.
    assert [s.topic for s in decide_intake(record(REPORT, 4)._replace(headers=stamped), store.get,
                                           KNOWN).sends] == [DUPLICATES]
    assert [s.topic for s in decide_intake(record(changed, 5), store.get, KNOWN).sends] == [DUPLICATES]


def _binary(value: bytes, offset: int, headers: tuple[tuple[str, bytes], ...] = ()) -> Record:
    """The event `value` in the Kafka binding's binary mode: ce_ headers, the data as the value."""
    event = json.loads(value)
    attributes = tuple((f"ce_{name}", event[name].encode()) for name in
                       ("specversion", "id", "source", "type", "time", "subject"))
    return record(json.dumps(event["data"]).encode(), offset)._replace(
        headers=(*attributes, ("content-type", b"application/json"), *headers))


def _respelled(value: bytes) -> bytes:
    """The same event as another app's JSON writes it: keys in reverse order, indented, escaped."""
    def backwards(node):
        return {k: backwards(node[k]) for k in reversed(node)} if isinstance(node, dict) else node
    return json.dumps(backwards(json.loads(value)), indent=3, ensure_ascii=True).encode()


def test_the_same_event_in_another_mode_or_spelling_is_a_plain_duplicate() -> None:
    """A mark kept the digest of its record's bytes, so the same event sent again in binary mode,
    or with its JSON's keys in another order and other white space, was flagged conflicting, and a
    copy POST /events sent was rejected to its field app as a conflicting copy: it says the same,
    so it is a plain duplicate now, however it came (its time at another offset, a default spelled
    out, another datacontenttype or an extension attribute too); a change in its data is still a
    conflict."""
    from engine.intake.scope import FIELD_APP_HEADER

    stamped = ((FIELD_APP_HEADER, b"inspector"),)
    store = Store()
    store.remember(decide_intake(record(REPORT, 0), store.get, KNOWN))
    changed = REPORT.replace(b"Fire exit blocked", b"Fire exit still blocked")
    event = json.loads(REPORT)
    event["data"]["reporter"]["anonymous"] = False  # its default, spelled out
    spelled_out = dict(event, time="2026-11-30T01:12:00Z", datacontenttype="application/json; charset=utf-8",
                       traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    copies = {"binary": _binary(REPORT, 3), "respelled": record(_respelled(REPORT), 4),
              "spelled out": record(json.dumps(spelled_out).encode(), 9),
              "binary, posted": _binary(REPORT, 5, stamped),
              "respelled, posted": record(_respelled(REPORT), 6)._replace(headers=stamped),
              "changed": record(_respelled(changed), 7), "changed, posted": _binary(changed, 8, stamped)}
    told = {}
    for name, copy in copies.items():
        out = decide_intake(copy, store.get, KNOWN)
        assert out.kind == "duplicate" and out.remember is None
        told[name] = (json.loads(out.sends[0].value)["conflicting"], out.reasons, len(out.sends))
    assert told == {"binary": (False, (), 1), "respelled": (False, (), 1), "spelled out": (False, (), 1),
                    "binary, posted": (False, (), 1),
                    "respelled, posted": (False, (), 1), "changed": (True, (), 1),
                    "changed, posted": (True, ("conflicting_copy",), 2)}


def test_a_mark_stored_before_the_digest_was_of_the_event_still_tells_its_copies() -> None:
    """A mark the engine stored before 2026-12-07 holds the digest of its record's bytes: a copy of
    those bytes is a plain duplicate, not a conflict, and its record redelivered is a redelivery;
    a changed copy is still a conflict."""
    import hashlib

    from engine.intake.process import Mark

    event = json.loads(REPORT)
    old = Mark("hazard.reports/0/0", hashlib.blake2b(REPORT, digest_size=8).hexdigest(), 1_764_465_120)
    store = Store({f"{event['source']}\x1f{event['id']}": old.text()})
    same = decide_intake(record(REPORT, 3), store.get, KNOWN)
    assert (same.kind, json.loads(same.sends[0].value)["conflicting"]) == ("duplicate", False)
    changed = REPORT.replace(b"Fire exit blocked", b"Fire exit still blocked")
    assert json.loads(decide_intake(record(changed, 4), store.get, KNOWN).sends[0].value)["conflicting"]
    again = decide_intake(record(REPORT, 0), store.get, KNOWN)
    assert again.kind == "redelivered" and Mark.read(again.remember[1]).position == old.position


def test_redelivery_of_the_same_record_resends_the_same_entries() -> None:
    """After a crash the same record is resent with the same entry ids, not dropped."""
    store = Store()
    first = decide_intake(record(REPORT, 0), store.get, KNOWN)
    store.remember(first)
    again = decide_intake(record(REPORT, 0), store.get, KNOWN)
    assert again.kind == "redelivered"
    assert again.sends == first.sends


def _pair(source: str, event_id: str, hazard_id: str = "HZ-20261130-0001") -> bytes:
    event = json.loads(REPORT)
    event.update(source=source, id=event_id, subject=hazard_id)
    event["data"]["hazard_id"] = hazard_id
    return json.dumps(event).encode()


def test_pairs_that_joined_make_one_string_are_two_events() -> None:
    """(s, "T\\x1fb") and (s + "\\x1fT", "b") made one de-duplication key and one entry id: the
    second, another hazard, was answered 202 and then dropped as a duplicate of the first (and of
    the same hazard, its entry would have been taken for one already applied)."""
    for second_hazard in ("HZ-B", "HZ-A"):
        store = Store()
        first = _pair("/apps/grid/LHW-03", "T\x1fb", "HZ-A")
        a = decide_intake(record(first, 0, key=b"HZ-A"), store.get, KNOWN)
        store.remember(a)
        b = decide_intake(record(_pair("/apps/grid/LHW-03\x1fT", "b", second_hazard), 1,
                                 key=second_hazard.encode()), store.get, KNOWN)
        assert (a.kind, b.kind) == ("accepted", "accepted")
        assert a.remember[0] != b.remember[0]
        assert json.loads(a.sends[0].value)["entry_id"] != json.loads(b.sends[0].value)["entry_id"]


def test_a_pair_without_the_separator_keeps_its_key_and_entry_ids() -> None:
    """Marks and entry ids stored before the change are those of every pair without U+001F."""
    out = decide_intake(record(REPORT, 0), {}.get, KNOWN)
    event = json.loads(REPORT)
    assert out.remember[0] == f"{event['source']}\x1f{event['id']}"
    assert json.loads(out.sends[0].value)["entry_id"] == uuid5_text(
        _NS, f"{event['source']}\x1f{event['id']}\x1f{event['subject']}")


def test_a_pair_marked_under_the_old_key_is_still_caught_after_the_change() -> None:
    """A mark an engine set before the change, under the key the pair's parts joined by U+001F
    made: the record redelivered after the upgrade is a redelivery with the entry ids it was first
    sent with (so decide applies it once), a copy of its bytes elsewhere a duplicate; an event
    that merely collides with that key is a new event."""
    value = _pair("/apps/grid/LHW-03", "T\x1fb", "HZ-A")
    first = decide_intake(record(value, 4, key=b"HZ-A"), {}.get, KNOWN)
    old_key = "/apps/grid/LHW-03\x1fT\x1fb"
    old_entry_id = uuid5_text(_NS, old_key + "\x1fHZ-A")
    store = Store({old_key: first.remember[1]})  # what the old engine stored for it
    again = decide_intake(record(value, 4, key=b"HZ-A"), store.get, KNOWN)
    assert again.kind == "redelivered" and again.remember[0] == old_key
    assert json.loads(again.sends[0].value)["entry_id"] == old_entry_id
    copy = decide_intake(record(value, 9, key=b"HZ-A"), store.get, KNOWN)
    assert copy.kind == "duplicate" and json.loads(copy.sends[0].value)["first_position"] == (
        "hazard.reports/0/4")
    other = decide_intake(record(_pair("/apps/grid/LHW-03\x1fT", "b", "HZ-B"), 5, key=b"HZ-B"),
                          store.get, KNOWN)
    assert other.kind == "accepted" and other.remember[0] != old_key


def test_rejection_carries_position_errors_and_original_bytes() -> None:
    """A rejected record keeps its bytes, its position, and a deterministic id."""
    raw = b"this line is not JSON at all"
    out = decide_intake(record(raw, 4), {}.get, KNOWN)
    assert out.kind == "rejected" and out.reasons == ("not_json",)
    [send] = out.sends
    event = json.loads(send.value)
    assert event["type"] == "safety.intake.rejected" and event["source"] == "/engine"
    data = event["data"]
    assert (data["topic"], data["partition"], data["offset"], data["key"]) == (
        "hazard.reports", 0, 4, "HZ-20261130-0001")
    assert base64.b64decode(data["raw_base64"]) == raw
    assert data["errors"][0]["loc"] == ["record"]
    assert event["id"] == json.loads(decide_intake(record(raw, 4), {}.get, KNOWN).sends[0].value)["id"]


def test_rejection_of_non_utf8_bytes_keeps_them_exactly() -> None:
    """Bytes that are not text survive the trip through the rejection record unchanged."""
    raw = bytes(range(256))
    data = json.loads(decide_intake(record(raw), {}.get, KNOWN).sends[0].value)["data"]
    assert base64.b64decode(data["raw_base64"]) == raw


def test_inspection_fans_out_one_entry_per_finding() -> None:
    """An inspection is recorded under its id, each finding under its hazard_id, and the
    inspection once more under its enterprise's USCC (一企一档)."""
    raw = (EXAMPLES / "inspection-recorded.json").read_bytes()
    out = decide_intake(record(raw, topic="inspection.findings", key=b"INS-20261130-017"), {}.get, KNOWN)
    keys = [s.key for s in out.sends]
    assert keys == [b"INS-20261130-017", b"HZ-20261130-0002", b"HZ-20261130-0003", b"91371500MA3D7PQ1LM"]
    finding = json.loads(out.sends[1].value)
    assert finding["type"] == FINDING_TYPE
    assert finding["data"]["grade"] == "major"
    assert finding["data"]["inspection"]["law_enforcement"] is True
    filed = json.loads(out.sends[3].value)
    assert filed["subject_kind"] == "enterprise" and filed["data"]["findings"] == 2
    ids = {json.loads(s.value)["entry_id"] for s in out.sends}
    assert len(ids) == 4


def test_prefixed_topic_is_validated_by_its_contract_name() -> None:
    """With a topic prefix the contract's type-to-topic rule still applies."""
    rec = Record("ns.hazard.reports", 0, 0, b"HZ-20261130-0001", REPORT, 0)
    assert decide_intake(rec, {}.get, KNOWN, contract_topic="hazard.reports").kind == "accepted"
    rec = Record("ns.responder.alerts", 0, 0, None, REPORT, 0)
    out = decide_intake(rec, {}.get, KNOWN, contract_topic="responder.alerts")
    assert out.kind == "rejected" and out.reasons == ("wrong_topic",)


def test_an_accepted_events_mark_is_the_marks_own_text() -> None:
    """The mark intake writes (built as text on the accept path) is `Mark.text()` of its position,
    the digest of what the event says and the event's time, and reads back as that mark."""
    from engine.intake.process import Mark, content_digest
    from engine.intake.timeline import normalised
    from engine.intake.validate import validate_record

    out = decide_intake(record(REPORT, 5), {}.get, KNOWN)
    accepted = validate_record(REPORT, "hazard.reports", KNOWN)
    event = normalised(accepted.event, accepted.event_type)
    want = Mark("hazard.reports/0/5", content_digest(event), int(accepted.event.time.timestamp()))
    assert out.remember[1] == want.text()
    assert Mark.read(out.remember[1]) == want


def test_the_tuples_made_without_their_constructors_list_their_fields_in_the_order_written() -> None:
    """The hot path builds these NamedTuples with `tuple.__new__` and their fields by position
    (engine/intake/process.py `decide_intake` and `_timeline`, engine/intake/fast.py `accept`,
    engine/kernel/time.py `after`): a field added or moved must be added or moved there too."""
    from engine.intake.process import Outcome, Send
    from engine.intake.timeline import Normalised
    from engine.kernel.time import Due

    assert Outcome._fields == ("kind", "sends", "remember", "event_id", "subject", "reasons", "delay_s",
                               "opened")
    assert Send._fields == ("topic", "key", "value")
    assert Normalised._fields == ("event_type", "source", "event_id", "subject", "time", "data")
    assert Due._fields == ("at", "approximate")
