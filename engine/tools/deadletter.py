"""`hazard-engine deadletter`: the records the engine failed on, listed, and sent again once fixed.

A timeline entry whose decision raised is on `engine.deadletter` (engine/deadletter.py), and its
subject's state stands as if the entry had never come: the hazard's lifting, review or claim it
recorded has not changed what the engine sends. Publishing the field event again does not help:
its intake mark is kept, and the copy is recorded as a duplicate. Once the cause is fixed (a new
engine, or rules that no longer trip it), `redecide` puts each dead-lettered entry back on the
timeline, on the partition it came from, as it was: the worker then decides it as any entry that
came late, and one that raises again is dead-lettered again. Each entry sent again is noted on
the dead-letter topic beside its letter (`REDECIDED`), so `list` says where it went and a later
`redecide` leaves it alone unless told `--again`. Should a copy reach the worker anyway, its
subject recognises it by its source record while that is within the window the state keeps
(docs/redelivery.md) and it changes nothing.

An intake record the engine failed on is rejected as a `processing_error` (it left no intake
mark): `list` shows those too, and `redecide` sends the record again as it is on its topic (key,
headers and bytes, read at its offset), or, once that is no longer kept, as the rejection keeps
it when whole. Its arrival is then the copy's: a department's duty clock that counts from a late
arrival counts from it, later, never sooner.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from aiokafka import TopicPartition

from engine.contract.envelope import INTAKE_TOPICS
from engine.contract.outputs import INTAKE_REJECTED
from engine.deadletter import DEAD_LETTER, PROCESSING_ERROR
from engine.intake.process import TIMELINE
from engine.tools.kafka import NoTopic, opened, producer, read_to_end, reader, require_topic, started

REDECIDED = "redecided"  # a note's key: the id of the letter whose entry was sent again


class BadLetter(ValueError):
    """A record on the dead-letter topic that is not a letter this engine wrote."""


def _letter(value: bytes | None) -> dict[str, Any]:
    """One dead letter, decoded and checked for what `redecide` needs."""
    try:
        letter = json.loads(value or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadLetter(f"not JSON: {exc}") from None
    if not isinstance(letter, dict):
        raise BadLetter("not a JSON object")
    for name, kind in (("id", str), ("agent", str), ("topic", str), ("partition", int), ("offset", int),
                       ("value_base64", str)):
        if not isinstance(letter.get(name), kind):
            raise BadLetter(f"no {name!r} of type {kind.__name__}")
    entry_of(letter)
    return letter


def entry_of(letter: Mapping[str, Any]) -> bytes:
    """The bytes of the record the letter set aside, as they were."""
    try:
        return base64.b64decode(letter["value_base64"], validate=True)
    except binascii.Error as exc:
        raise BadLetter(f"value_base64 is not base64: {exc}") from None


def describe(letter: Mapping[str, Any]) -> str:
    """One line for a person: the letter's id, where the entry was, what it was about, what raised,
    and where it was sent again, if it was."""
    try:
        entry = json.loads(entry_of(letter))
    except (BadLetter, UnicodeDecodeError, json.JSONDecodeError):
        entry = {}
    if not isinstance(entry, dict) or "type" not in entry:  # a binary-mode record: its headers say
        entry = {h["name"].removeprefix("ce_"): _text(h.get("value_base64"))
                 for h in letter.get("headers") or () if h.get("name", "").startswith("ce_")}
    what = f"{entry.get('type', '?')} {entry.get('subject', letter.get('key') or '?')}"
    error = letter.get("error") or {}
    again = "".join(f"; sent again as {n['topic']}[{n['partition']}]@{n['offset']} at {n['at']}"
                    for n in letter.get("sent_again", ()))
    return (f"{letter['id']} {letter.get('failed_at', '?')} {letter['agent']} "
            f"{letter['topic']}[{letter['partition']}]@{letter['offset']} {what}: "
            f"{error.get('type', '?')}: {error.get('message', '')}{again}")


def _text(b64: str | None) -> str:
    try:
        return base64.b64decode(b64 or "").decode("utf-8", "replace")
    except binascii.Error:
        return "?"


async def letters(bootstrap: str, prefix: str, auth: Mapping[str, Any] | None = None,
                  err: TextIO = sys.stderr) -> list[dict[str, Any]]:
    """Every letter, oldest first: the dead-letter topic's (agent "decide"), one per letter id (a
    re-delivered entry's letter repeats its id), then the intake records the engine failed on
    (`intake_failures`, agent "intake"); each with the notes of where its record was sent again
    (`sent_again`, oldest first). A record of the dead-letter topic that is neither a letter nor
    a note is named on `err` and skipped."""
    topic = prefix + DEAD_LETTER
    await require_topic(bootstrap, topic, auth)
    out: dict[str, dict[str, Any]] = {}
    notes: dict[str, list[dict[str, Any]]] = {}
    for rec in sorted(await read_to_end(bootstrap, topic, auth), key=lambda r: r.timestamp):
        try:
            note = json.loads(rec.value or b"")
            if isinstance(note, dict) and isinstance(note.get(REDECIDED), str):
                notes.setdefault(note[REDECIDED], []).append(note)
                continue
            letter = _letter(rec.value)
        except (BadLetter, UnicodeDecodeError, json.JSONDecodeError) as exc:
            print(f"{topic}[{rec.partition}]@{rec.offset} skipped, not a dead letter: {exc}", file=err)
            continue
        out.setdefault(letter["id"], letter)
    for letter in await intake_failures(bootstrap, prefix, auth):
        out.setdefault(letter["id"], letter)
    return [{**letter, "sent_again": notes.get(lid, [])} for lid, letter in out.items()]


async def intake_failures(bootstrap: str, prefix: str, auth: Mapping[str, Any] | None = None
                          ) -> list[dict[str, Any]]:
    """The intake records the engine failed on, as letters: each rejection on `intake.rejected`
    whose error is `processing_error`, by its id, with the record's place, key and bytes as the
    rejection keeps them (`whole`: none of them cut to an excerpt)."""
    topic = prefix + INTAKE_REJECTED
    await require_topic(bootstrap, topic, auth)
    # The sender's faults, the great many (a million under abuse), are neither kept nor parsed.
    marker = json.dumps(PROCESSING_ERROR).encode()
    failed = await read_to_end(bootstrap, topic, auth, keep=lambda r: marker in (r.value or b""))
    letters_ = (intake_letter(json.loads(rec.value)) for rec in sorted(failed, key=lambda r: r.timestamp))
    return [letter for letter in letters_ if letter is not None]


def intake_letter(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """A rejection (`safety.intake.rejected`) as a letter when its error is `processing_error`
    (None otherwise): the record's place, key, bytes and headers as the rejection keeps them,
    `whole` when none of them was cut to an excerpt."""
    data = event["data"]
    errors = [e for e in data["errors"] if e["type"] == PROCESSING_ERROR]
    if not errors:
        return None
    headers = data.get("headers") or []
    return {"id": event["id"], "agent": "intake", "failed_at": event["time"],
            "topic": data["topic"], "partition": data["partition"], "offset": data["offset"],
            "key": data["key"], "value_base64": data["raw_base64"], "headers": headers,
            "error": {"type": PROCESSING_ERROR, "message": errors[0]["msg"]},
            "whole": not data.get("raw_sha256") and not data.get("key_sha256")
            and not any(h.get("value_sha256") for h in headers)}


async def list_letters(bootstrap: str, prefix: str, as_json: bool, out: TextIO = sys.stdout,
                       auth: Mapping[str, Any] | None = None) -> int:
    """Print every letter, one line each (or its JSON)."""
    for letter in await letters(bootstrap, prefix, auth):
        print(json.dumps(letter, ensure_ascii=False) if as_json else describe(letter), file=out)
    return 0


Record = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]  # key, value, headers


async def _original(bootstrap: str, letter: Mapping[str, Any], auth: Mapping[str, Any] | None
                    ) -> Record | None:
    """The record an intake letter names, read from its topic (key, value, headers); else its bytes
    as the rejection keeps them, when whole; None when neither (gone, and kept only in part)."""
    tp = TopicPartition(letter["topic"], letter["partition"])
    consumer = await started(reader(bootstrap, auth, auto_offset_reset="none"))
    try:
        consumer.assign([tp])
        start, end = (await consumer.beginning_offsets([tp]))[tp], (await consumer.end_offsets([tp]))[tp]
        if start <= letter["offset"] < end:
            consumer.seek(tp, letter["offset"])
            for _ in range(30):  # a fetch a second, for as long as the broker may take
                for rec in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                    if rec.offset == letter["offset"]:
                        return rec.key, rec.value, list(rec.headers or ())
    finally:
        await consumer.stop()
    return as_rejected(letter)


def as_rejected(letter: Mapping[str, Any]) -> Record | None:
    """An intake letter's record as its rejection keeps it (key, value, headers); None when any of
    it was cut to an excerpt there."""
    if not letter["whole"]:
        return None
    headers = [(h["name"], base64.b64decode(h["value_base64"] or "")) for h in letter["headers"]]
    return _key(letter), entry_of(letter), headers


def _key(letter: Mapping[str, Any]) -> bytes | None:
    """The key of the record a letter set aside (None for a record without one)."""
    return letter["key"].encode("utf-8") if isinstance(letter.get("key"), str) else None


async def redecide(bootstrap: str, prefix: str, ids: list[str] | None, dry_run: bool, again: bool = False,
                   out: TextIO = sys.stdout, err: TextIO = sys.stderr,
                   auth: Mapping[str, Any] | None = None) -> int:
    """Send the records of the letters `ids` (None: of every letter) again, each to the partition
    it came from, and note each beside its letter: a decision's entry as it was, to the timeline;
    an intake record as it is on its topic, to that topic. Print what was sent (with `dry_run`,
    what would be). A record sent again before is left alone unless `again`. Exit 1, sending
    nothing, when an id names no letter; exit 1 when an intake record can no longer be read."""
    places = {prefix + TIMELINE} | {prefix + topic for topic in INTAKE_TOPICS}
    found = [letter for letter in await letters(bootstrap, prefix, auth, err) if letter["topic"] in places]
    if ids is not None:
        unknown = sorted(set(ids) - {letter["id"] for letter in found})
        if unknown:
            print(f"no letter has the id {', '.join(unknown)}: `hazard-engine deadletter list` shows "
                  "them", file=err)
            return 1
        found = [letter for letter in found if letter["id"] in set(ids)]
    # The same entry set aside more than once (decided again and failing again) is sent once.
    chosen: dict[tuple[str, int, bytes], dict[str, Any]] = {}
    for letter in found:
        if letter["sent_again"] and not again:
            print(f"left alone, sent again before (--again sends it anyway): {describe(letter)}", file=out)
            continue
        chosen.setdefault((letter["topic"], letter["partition"], entry_of(letter)), letter)
    if not chosen:
        print("no letter to send again", file=out)
        return 0
    if dry_run:
        for letter in chosen.values():
            print(f"would send again: {describe(letter)}", file=out)
        return 0
    failed = 0
    async with opened(producer(bootstrap, auth)) as prod:
        for (topic, partition, value), letter in chosen.items():
            key, headers = _key(letter), list[tuple[str, bytes]]()
            if letter["agent"] == "intake":
                record = await _original(bootstrap, letter, auth)
                if record is None:
                    print(f"not sent: {topic}[{partition}]@{letter['offset']} is no longer kept and the "
                          f"rejection keeps only an excerpt of it: {describe(letter)}", file=err)
                    failed += 1
                    continue
                key, value, headers = record[0], record[1] or b"", record[2]
            sent = await prod.send_and_wait(topic, value, key=key, partition=partition, headers=headers)
            note = {REDECIDED: letter["id"], "topic": topic, "partition": partition, "offset": sent.offset,
                    "at": datetime.now(UTC).isoformat()}
            await prod.send_and_wait(prefix + DEAD_LETTER, json.dumps(note).encode(), key=key)
            print(f"sent again as {topic}[{partition}]@{sent.offset}: {describe(letter)}", file=out)
    return 1 if failed else 0


def run_list(bootstrap: str, prefix: str, as_json: bool, auth: Mapping[str, Any] | None = None) -> int:
    """`deadletter list`."""
    try:
        return asyncio.run(list_letters(bootstrap, prefix, as_json, auth=auth))
    except NoTopic as exc:
        print(exc, file=sys.stderr)
        return 1


def run_redecide(bootstrap: str, prefix: str, ids: list[str] | None, dry_run: bool, again: bool = False,
                 auth: Mapping[str, Any] | None = None) -> int:
    """`deadletter redecide`."""
    try:
        return asyncio.run(redecide(bootstrap, prefix, ids, dry_run, again, auth=auth))
    except NoTopic as exc:
        print(exc, file=sys.stderr)
        return 1
