"""`hazard-engine deadletter`: the decisions that raised, listed, and decided again once fixed.

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

from engine.deadletter import DEAD_LETTER
from engine.intake.process import TIMELINE
from engine.tools.kafka import NoTopic, opened, producer, read_to_end, require_topic

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
    what = f"{entry.get('type', '?')} {entry.get('subject', letter.get('key') or '?')}" \
        if isinstance(entry, dict) else "?"
    error = letter.get("error") or {}
    again = "".join(f"; sent again as {n['topic']}[{n['partition']}]@{n['offset']} at {n['at']}"
                    for n in letter.get("sent_again", ()))
    return (f"{letter['id']} {letter.get('failed_at', '?')} {letter['agent']} "
            f"{letter['topic']}[{letter['partition']}]@{letter['offset']} {what}: "
            f"{error.get('type', '?')}: {error.get('message', '')}{again}")


async def letters(bootstrap: str, prefix: str, auth: Mapping[str, Any] | None = None,
                  err: TextIO = sys.stderr) -> list[dict[str, Any]]:
    """Every letter on the dead-letter topic, oldest first, one per letter id (a re-delivered
    entry's letter repeats its id), each with the notes of where its entry was sent again
    (`sent_again`, oldest first); a record that is neither is named on `err` and skipped."""
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
    return [{**letter, "sent_again": notes.get(lid, [])} for lid, letter in out.items()]


async def list_letters(bootstrap: str, prefix: str, as_json: bool, out: TextIO = sys.stdout,
                       auth: Mapping[str, Any] | None = None) -> int:
    """Print every dead letter, one line each (or its JSON)."""
    for letter in await letters(bootstrap, prefix, auth):
        print(json.dumps(letter, ensure_ascii=False) if as_json else describe(letter), file=out)
    return 0


async def redecide(bootstrap: str, prefix: str, ids: list[str] | None, dry_run: bool, again: bool = False,
                   out: TextIO = sys.stdout, err: TextIO = sys.stderr,
                   auth: Mapping[str, Any] | None = None) -> int:
    """Put the entries of the letters `ids` (None: of every letter) back on the timeline partition
    each came from, and note each beside its letter; print what was sent (with `dry_run`, what
    would be). An entry sent again before is left alone unless `again`. Exit 1, sending nothing,
    when an id names no letter of a decision."""
    timeline = prefix + TIMELINE
    found = [letter for letter in await letters(bootstrap, prefix, auth, err)
             if letter["agent"] == "decide" and letter["topic"] == timeline]
    if ids is not None:
        unknown = sorted(set(ids) - {letter["id"] for letter in found})
        if unknown:
            print(f"no dead letter of a decision on {timeline} has the id {', '.join(unknown)}: "
                  "`hazard-engine deadletter list` shows them", file=err)
            return 1
        found = [letter for letter in found if letter["id"] in set(ids)]
    # The same entry set aside more than once (decided again and failing again) is sent once.
    chosen: dict[tuple[int, bytes], dict[str, Any]] = {}
    for letter in found:
        if letter["sent_again"] and not again:
            print(f"left alone, sent again before (--again sends it anyway): {describe(letter)}", file=out)
            continue
        chosen.setdefault((letter["partition"], entry_of(letter)), letter)
    if not chosen:
        print("no dead letter of a decision to decide again", file=out)
        return 0
    if dry_run:
        for letter in chosen.values():
            print(f"would send again: {describe(letter)}", file=out)
        return 0
    async with opened(producer(bootstrap, auth)) as prod:
        for (partition, value), letter in chosen.items():
            key = letter["key"].encode("utf-8") if isinstance(letter.get("key"), str) else None
            sent = await prod.send_and_wait(timeline, value, key=key, partition=partition)
            note = {REDECIDED: letter["id"], "topic": timeline, "partition": partition, "offset": sent.offset,
                    "at": datetime.now(UTC).isoformat()}
            await prod.send_and_wait(prefix + DEAD_LETTER, json.dumps(note).encode(), key=key)
            print(f"sent again as {timeline}[{partition}]@{sent.offset}: {describe(letter)}", file=out)
    return 0


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
