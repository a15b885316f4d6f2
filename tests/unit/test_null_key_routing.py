"""A null key is routed by subject: the intake decision forwards or handles (issue 15, item 2).

The marks that catch a repeated (source, id) are kept per partition, so a
null-key record (or one keyed by a client that partitions keys otherwise) is
judged only on its subject's partition: elsewhere the decision is to forward
it there, keyed by subject. These tests follow one
event through that story with the pure decision alone.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner

from engine.intake.process import DUPLICATES, TIMELINE, Record, decide_intake
from engine.reference import load_reference
from engine.tools.kafka import partition_for_key

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO.parent / "shared" / "contract" / "examples"
KNOWN = load_reference(REPO / "rules")
REPORT = (EXAMPLES / "hazard-reported.json").read_bytes()
SUBJECT = json.loads(REPORT)["subject"]
PARTITIONS = 4
HOME = partition_for_key(SUBJECT.encode(), PARTITIONS)
AWAY = [p for p in range(PARTITIONS) if p != HOME]
BINARY = ([("ce_specversion", b"1.0"), ("ce_id", b"bin-1"), ("ce_source", b"/apps/grid/LHW-03"),
           ("ce_type", b"safety.hazard.reported"), ("ce_time", b"2026-11-30T09:12:00+08:00"),
           ("ce_subject", SUBJECT.encode()), ("content-type", b"application/json; charset=utf-8"),
           ("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")],
          json.dumps(json.loads(REPORT)["data"]).encode())


def home(subject: str) -> int:
    return partition_for_key(subject.encode("utf-8"), PARTITIONS)


def record(partition: int, offset: int, key: bytes | None = None, value: bytes | None = REPORT,
           headers: tuple = ()) -> Record:
    return Record("hazard.reports", partition, offset, key, value, 1_764_465_120_000, headers)


def never(key: str) -> str | None:
    raise AssertionError(f"the marks were looked at for {key!r}")


def test_partition_for_key_is_the_java_clients() -> None:
    """Kafka's own murmur2 vectors (UtilsTest.testMurmur2), made positive and taken modulo the count."""
    java = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536,
            b"a-little-bit-longer-string": -1486304829, b"abc": 479470107,
            b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971}
    for key, signed in java.items():
        for count in (1, 3, 4, 12, 100):
            assert partition_for_key(key, count) == (signed & 0x7FFFFFFF) % count


def test_partition_for_key_is_what_the_producer_picks() -> None:
    """For any key and count, the partition is the one aiokafka's producer would send it to."""
    rng = random.Random(15)
    keys = [SUBJECT.encode(), "隐患-0001".encode(), b"", *(rng.randbytes(rng.randrange(1, 40))
                                                          for _ in range(500))]
    for key in keys:
        for count in (1, 2, 4, 7, 16):
            partitions = list(range(count))
            assert partition_for_key(key, count) == DefaultPartitioner()(key, partitions, partitions)


@pytest.mark.parametrize("away", AWAY)
def test_a_null_key_away_from_its_subjects_partition_is_forwarded(away: int) -> None:
    """Forwarded: nothing sent, nothing remembered, and the marks of this partition never asked."""
    out = decide_intake(record(away, 9), never, KNOWN, home=home)
    assert (out.kind, out.sends, out.remember) == ("forwarded", (), None)
    assert (out.subject, out.event_id) == (SUBJECT, json.loads(REPORT)["id"])


def test_a_binary_mode_null_key_is_forwarded_too() -> None:
    """The subject of a binary record comes from its ce_subject header, the same as structured."""
    headers, value = BINARY
    out = decide_intake(record(AWAY[0], 1, value=value, headers=tuple(headers)), never, KNOWN,
                        home=home)
    assert (out.kind, out.subject) == ("forwarded", SUBJECT)


def test_a_null_key_on_its_subjects_partition_is_handled_there() -> None:
    """Already home: accepted, and a copy already marked there is a duplicate, as with a key."""
    first = decide_intake(record(HOME, 3), {}.get, KNOWN, home=home)
    assert first.kind == "accepted" and first.sends[0].topic == TIMELINE
    marks = {first.remember[0]: first.remember[1]}
    again = decide_intake(record(HOME, 8), marks.get, KNOWN, home=home)
    assert again.kind == "duplicate" and again.sends[0].topic == DUPLICATES


@pytest.mark.parametrize("away", AWAY)
def test_a_keyed_record_away_from_its_subjects_partition_is_forwarded_too(away: int) -> None:
    """A client whose partitioner is not murmur2 (librdkafka's default is CRC32) puts a record keyed
    by its subject on another partition: judged there, a copy of it on the subject's partition was
    accepted a second time, as the marks are kept per partition. It is forwarded like a null key
    (the worker sends the copy to the home partition by number, so it never goes round); at home
    it is handled there."""
    out = decide_intake(record(away, 2, key=SUBJECT.encode()), never, KNOWN, home=home)
    assert (out.kind, out.sends, out.remember) == ("forwarded", (), None)
    assert decide_intake(record(HOME, 2, key=SUBJECT.encode()), {}.get, KNOWN, home=home).kind == "accepted"


def test_a_null_key_record_that_cannot_be_accepted_is_rejected_where_it_lands() -> None:
    """Not JSON, no subject, or a bad field: rejected on the partition it came to, with its position."""
    broken = json.loads(REPORT)
    broken["time"] = "2026-11-30T09:12:00"
    for value in (b"not json", json.dumps({**json.loads(REPORT), "subject": None}).encode(),
                  json.dumps(broken).encode()):
        out = decide_intake(record(AWAY[0], 5, value=value), never, KNOWN, home=home)
        assert out.kind == "rejected", out
        assert json.loads(out.sends[0].value)["data"]["partition"] == AWAY[0]


def test_without_a_home_every_record_is_handled_where_it_is() -> None:
    """The rule tests and replays, which have no partitions to speak of, decide as before."""
    assert decide_intake(record(AWAY[0], 0), {}.get, KNOWN).kind == "accepted"


def test_one_event_sent_twice_with_null_keys_and_once_keyed_counts_once() -> None:
    """The story: two null-key copies on two other partitions and a keyed one; their copies meet
    on the subject's partition, where the first is accepted and the others are duplicates."""
    marks: dict[str, str] = {}
    landed = [record(AWAY[0], 0), record(AWAY[1], 0), record(HOME, 0, key=SUBJECT.encode())]
    kinds = []
    for offset, rec in enumerate(landed):
        out = decide_intake(rec, marks.get, KNOWN, home=home)
        if out.kind == "forwarded":  # what the runtime does: the same bytes again, keyed by subject
            assert rec.partition != HOME
            rec = record(HOME, 10 + offset, out.subject.encode(), rec.value, rec.headers)
            out = decide_intake(rec, marks.get, KNOWN, home=home)
        if out.remember:
            marks[out.remember[0]] = out.remember[1]
        kinds.append(out.kind)
    assert kinds == ["accepted", "duplicate", "duplicate"]
