"""`hazard-engine tail`: print what a topic holds, one readable line per event."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Mapping
from typing import Any, TextIO

from aiokafka import TopicPartition

from engine.tools.kafka import NoTopic, partitions_of, reader, started

# What a terminal acts on rather than shows: C0 and C1 controls and DEL (a newline starts a forged
# line, ESC [2J clears the screen, ESC [8m hides what follows) and the bidirectional overrides
# (which reorder a line as it is shown). Written as JSON's \uXXXX escapes, so a line of JSON stays JSON.
_CONTROLS = {c: f"\\u{c:04x}" for c in (*range(0x20), *range(0x7f, 0xa0), *range(0x202a, 0x202f),
                                         *range(0x2066, 0x206a))}


def printable(text: str) -> str:
    """`text` with every character a terminal would act on written as its escape: ids, sources and
    reasons come from field apps, and a printed line must show them, never obey them."""
    return text.translate(_CONTROLS)


def _one_line(value: bytes | None) -> str:
    """A record's value as one line of text: compact JSON if it is JSON, else its text."""
    if not value:
        return "null"
    try:
        return json.dumps(json.loads(value), ensure_ascii=False, separators=(",", ":"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return value.decode("utf-8", "replace")


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(value: bytes | None) -> str:
    """Summarise one record's value for a person: type, subject and what matters of its data."""
    if value is None:
        return "(empty record)"
    try:
        event = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return f"(not JSON, {len(value)} bytes) {_short(value.decode('utf-8', 'replace'))}"
    if not isinstance(event, dict):
        return _short(event)
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    kind = event.get("type", "?")
    subject = event.get("subject", "?")
    if kind == "safety.intake.rejected":
        errors = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}"
            for e in data.get("errors", [])
        )
        return (f"REJECTED {data.get('topic')}[{data.get('partition')}]@{data.get('offset')} "
                f"key={data.get('key')!r}: {errors}")
    if kind == "safety.escalation.raised":
        level = data.get("tier") or data.get("response_level")
        return (f"ESCALATION {level} {data.get('action')} {data.get('subject_id')}: "
                f"{_short(data.get('reason', ''))}")
    if "entry_id" in event:  # a timeline entry
        return f"{kind} {subject} event={event.get('event_id')} from {event.get('source')}"
    if "first_position" in event:  # a duplicate record
        return (f"DUPLICATE {event.get('source')} id={event.get('event_id')} at "
                f"{event.get('position')}, first at {event.get('first_position')}")
    return f"{kind} {subject} {_short(data)}"


async def follow(bootstrap: str, topic: str, from_beginning: bool, idle_timeout: float | None,
                 auth: Mapping[str, Any] | None = None) -> AsyncIterator[tuple[TopicPartition, Any]]:
    """Yield (partition, record) from every partition of `topic`, until idle for `idle_timeout` s."""
    consumer = await started(reader(bootstrap, auth))
    try:
        partitions = await partitions_of(consumer, topic)
        if not partitions:
            raise NoTopic(f"no topic {topic!r} on {bootstrap}")
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await (consumer.seek_to_beginning(*tps) if from_beginning else consumer.seek_to_end(*tps))
        while True:
            batch = await consumer.getmany(timeout_ms=int((idle_timeout or 1) * 1000))
            if not batch and idle_timeout:
                return
            for tp, records in sorted(batch.items()):
                for rec in records:
                    yield tp, rec
    finally:
        await consumer.stop()


async def tail(bootstrap: str, topic: str, from_beginning: bool, max_records: int | None,
               idle_timeout: float | None, as_json: bool, out: TextIO = sys.stdout,
               auth: Mapping[str, Any] | None = None) -> int:
    """Print records of `topic` until stopped, `max_records` are printed, or it is idle too long."""
    printed = 0
    try:
        async for tp, rec in follow(bootstrap, topic, from_beginning, idle_timeout, auth):
            if as_json:
                # One line a record: JSON compacted (a pretty-printed record's newlines go), and
                # `printable` below escapes the controls left, within JSON's strings too.
                line = _one_line(rec.value)
            else:
                line = f"{tp.topic}[{tp.partition}]@{rec.offset} {describe(rec.value)}"
            print(printable(line), file=out, flush=True)
            printed += 1
            if max_records is not None and printed >= max_records:
                break
    except NoTopic as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def run(bootstrap: str, topic: str, from_beginning: bool, max_records: int | None,
        idle_timeout: float | None, as_json: bool, auth: Mapping[str, Any] | None = None) -> int:
    """Run `tail` and turn Ctrl-C into a quiet exit."""
    try:
        return asyncio.run(tail(bootstrap, topic, from_beginning, max_records, idle_timeout,
                                as_json, auth=auth))
    except KeyboardInterrupt:
        return 130
