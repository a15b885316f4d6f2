"""`hazard-engine rules replay --rules-dir NEW`: the recorded timeline through the rules in force and NEW.

It reads the timeline topic (engine.timeline) to its current end, merges the
partitions in the order the engine took the records, runs the entries through
both rule sets with the pure cores (engine/shadow.py; no worker is needed or
disturbed) and prints what NEW would have sent differently: outputs added,
removed and changed, counted by rule, then each one. `--json` prints the same
for tools. A progress bar is drawn on a terminal while reading and replaying.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine import codec
from engine.alerts import AlertRules
from engine.errors import EngineError
from engine.intake.process import TIMELINE
from engine.kernel.apply import entry_time
from engine.kernel.time import iso
from engine.progress import Bar
from engine.ruleset.compiled import Rules
from engine.shadow import Change, Diff, compare, replay
from engine.tools.kafka import read_to_end


class ReplayError(EngineError):
    """A replay that cannot run: a bad time bound, or a timeline record that does not decode."""


def parse_time(text: str | None, option: str) -> int | None:
    """An RFC 3339 time with an offset, as epoch seconds; None when not given."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ReplayError(f"{option} {text!r}: write an RFC 3339 time, e.g. 2026-12-01T00:00:00+08:00") \
            from None
    if moment.tzinfo is None:
        raise ReplayError(f"{option} {text!r} has no offset: add one, e.g. +08:00")
    return int(moment.timestamp())


async def read_timeline(bootstrap: str, prefix: str, auth: Mapping[str, Any] | None = None,
                        bar: Bar | None = None) -> list[dict[str, Any]]:
    """Every timeline entry, partitions merged in the order they were written."""
    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.step(done - bar.done)

    records = await read_to_end(bootstrap, prefix + TIMELINE, auth, on_batch=progress)
    records.sort(key=lambda r: (r.timestamp, r.partition, r.offset))
    entries = []
    for r in records:
        try:
            entries.append(codec.loads(r.value))
        except ValueError as exc:
            raise ReplayError(f"{prefix + TIMELINE} partition {r.partition} offset {r.offset}: "
                              f"not a timeline entry ({exc})") from None
    return entries


def diff_timeline(entries: list[dict[str, Any]], current: tuple[Rules, AlertRules | None],
                  new: tuple[Rules, AlertRules | None], since: int | None, until: int | None,
                  bar: Bar | None = None) -> Diff:
    """Replay `entries` through both rule sets up to `until` (default: the latest entry's time)."""
    end = until if until is not None else max((entry_time(e) for e in entries), default=None)
    kept = [e for e in entries if end is None or entry_time(e) <= end]
    step = (lambda: bar.step()) if bar is not None else None
    if bar is not None:
        bar.total, bar.done = 2 * len(kept), 0
    old = replay(kept, *current, until=end, step=step)
    now = replay(kept, *new, until=end, step=step)
    return compare(old, now, since=since, until=end)


def _line(c: Change) -> str:
    mark = {"added": "+", "removed": "-", "changed": "~"}[c.kind]
    data = c.out.event.get("data", {})
    what = data.get("action") or data.get("measure") or data.get("grounds") or c.out.event["type"]
    detail = f" ({', '.join(c.fields)})" if c.fields else ""
    return f"  {mark} {iso(c.at)[:16].replace('T', ' ')}  {c.rule:<28} {c.out.key:<18} {what}{detail}"


def render(diff: Diff, entries: int, old_version: str, new_version: str) -> str:
    """The difference as a person reads it: totals, by rule, then each output."""
    t = diff.totals()
    lines = [f"shadow replay of {entries} timeline entries: rules in force {old_version} against "
             f"{new_version}; {diff.compared} outputs compared",
             f"added {t['added']}, removed {t['removed']}, changed {t['changed']}"]
    if not diff.changes:
        lines.append("no difference: the new rules send exactly what the rules in force send")
        return "\n".join(lines)
    lines.append("by rule (added / removed / changed):")
    lines += [f"  {rule:<30} +{n['added']:<4} -{n['removed']:<4} ~{n['changed']}"
              for rule, n in diff.by_rule().items()]
    lines.append("each output:")
    lines += [_line(c) for c in diff.changes]
    return "\n".join(lines)


def as_json(diff: Diff, entries: int, old_version: str, new_version: str) -> dict[str, Any]:
    """The difference for tools: totals, by rule, and every changed output with both versions."""
    def one(c: Change) -> dict[str, Any]:
        item = {"kind": c.kind, "rule": c.rule, "at": iso(c.at), "topic": c.out.topic,
                "key": c.out.key, "id": c.out.id, "event": c.out.event}
        if c.kind == "changed":
            item |= {"fields": list(c.fields), "old_event": c.old.event if c.old else None}
        return item

    return {"entries": entries, "rules_in_force": old_version, "new_rules": new_version,
            "compared": diff.compared, "totals": diff.totals(), "by_rule": diff.by_rule(),
            "changes": [one(c) for c in diff.changes]}


def run(bootstrap: str, prefix: str, current: tuple[Rules, AlertRules | None],
        new: tuple[Rules, AlertRules | None], since: int | None, until: int | None,
        json_out: bool, auth: Mapping[str, Any] | None = None) -> int:
    """Read, replay and print; return 0."""
    with Bar("reading the timeline") as bar:
        entries = asyncio.run(read_timeline(bootstrap, prefix, auth, bar))
    with Bar("replaying, rules in force then new") as bar:
        diff = diff_timeline(entries, current, new, since, until, bar)
    versions = (current[0].version, new[0].version)
    if json_out:
        print(json.dumps(as_json(diff, len(entries), *versions), ensure_ascii=False, indent=2))
    else:
        print(render(diff, len(entries), *versions))
    return 0
