"""`hazard-engine publish`: send CloudEvents from JSON or JSONL files, each to its type's topic."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.contract.envelope import EVENT_TYPES


@dataclass(frozen=True, slots=True)
class Item:
    """One event to send, with where it came from."""

    where: str  # file:line
    topic: str
    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class Problem:
    """A line that cannot be sent, and why."""

    where: str
    reason: str


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    data = path.read_bytes()
    if path.suffix == ".json":
        # A .json file is one event, pretty-printed or not, or a list of events.
        try:
            parsed = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            yield 1, data
            return
        for event in parsed if isinstance(parsed, list) else [parsed]:
            yield 1, json.dumps(event, ensure_ascii=False).encode("utf-8")
        return
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            yield number, line


def plan(paths: list[Path], force_topic: str | None = None) -> tuple[list[Item], list[Problem]]:
    """Work out the topic and key of each event; report each line that cannot be routed.

    With `force_topic`, every line goes to that topic as it is, even one that
    is not JSON: this is how a developer sees what the engine rejects.
    """
    items: list[Item] = []
    problems: list[Problem] = []
    for path in paths:
        for number, raw in _lines(path):
            where = f"{path}:{number}"
            try:
                event = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                event, reason = None, f"not JSON: {exc}"
            else:
                reason = None if isinstance(event, dict) else "not a JSON object"
            subject = event.get("subject") if isinstance(event, dict) else None
            key = subject.encode("utf-8") if isinstance(subject, str) else None
            if force_topic:
                items.append(Item(where, force_topic, key, raw))
                continue
            if reason is None:
                event_type = EVENT_TYPES.get(event.get("type"))
                if event_type is None:
                    reason = f"unknown event type {event.get('type')!r}"
                elif key is None:
                    reason = "no subject: the subject is the record key"
                else:
                    items.append(Item(where, event_type.topic, key, raw))
                    continue
            problems.append(Problem(where, reason))
    return items, problems


async def send(items: list[Item], bootstrap: str, prefix: str = "") -> list[str]:
    """Send the items in order and return one line per item saying where it landed."""
    from engine.tools.kafka import producer

    report = []
    async with producer(bootstrap) as prod:
        futures = [await prod.send(prefix + item.topic, item.value, key=item.key)
                   for item in items]
        for item, future in zip(items, futures, strict=True):
            meta = await future
            report.append(f"{item.where} -> {meta.topic}[{meta.partition}]@{meta.offset}")
    return report


def run(paths: list[Path], bootstrap: str, prefix: str = "", force_topic: str | None = None,
        quiet: bool = False) -> int:
    """Publish files; return 0 if every line was sent, 1 if some were skipped."""
    missing = [p for p in paths if not p.is_file()]
    for path in missing:
        print(f"{path}: no such file", file=sys.stderr)
    items, problems = plan([p for p in paths if p.is_file()], force_topic)
    for problem in problems:
        print(f"{problem.where}: skipped: {problem.reason}", file=sys.stderr)
    for line in asyncio.run(send(items, bootstrap, prefix)) if items else []:
        if not quiet:
            print(line)
    print(f"sent {len(items)}, skipped {len(problems) + len(missing)}", file=sys.stderr)
    return 1 if problems or missing else 0
