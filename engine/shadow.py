"""Shadow replay: what a change of the rules would have changed, on the history actually recorded.

The timeline topic holds every accepted event in the order the engine took
it. Running those entries through the pure cores twice, once with the rules in
force and once with new rules, and comparing the outputs by their
deterministic ids, shows what the change amounts to before it goes live:

    old = replay(entries, rules, alert_rules, until)
    new = replay(entries, new_rules, new_alert_rules, until)
    diff = compare(old, new)

Time moves as the worker's did: before each entry every clock due by the
entry's time fires, and at the end every clock due by `until`. A clock entry
the old timer recorded is not applied (new rules set their own clocks), but it
still marks that the engine's time had reached its due time there: an event
that came in after it, though dated earlier, came too late to stop what was
due by then, in both runs. Nothing here touches Kafka; engine/tools/replay.py
reads the topic.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.alerts import AlertReplay, AlertRules
from engine.contract.outputs import ALERTS_CAP
from engine.decide.replay import Replay
from engine.kernel.apply import CLOCK_TYPE, entry_time
from engine.kernel.outputs import Out
from engine.ruleset.compiled import Rules

# Parts of an output that name the rules rather than say what was decided.
_VERSION_FIELDS = ("rules_version",)
_CAP_VERSION = re.compile(r"(<valueName>rulesVersion</valueName>\s*<value>)[^<]*(</value>)")


@dataclass(frozen=True, slots=True)
class Sent:
    """One output of a replay and the time it was sent."""

    at: int
    out: Out


@dataclass(frozen=True, slots=True)
class Change:
    """An output that one run sent and the other did not, or sent differently."""

    kind: str  # added (only the new rules send it), removed (only the rules in force), changed
    rule: str
    at: int
    out: Out  # the new rules' output; the old one for `removed`
    fields: tuple[str, ...] = ()  # for `changed`: the data fields that differ
    old: Out | None = None  # for `changed`


@dataclass
class Diff:
    """What the new rules change, output by output and counted by rule."""

    changes: list[Change] = field(default_factory=list)
    compared: int = 0  # outputs sent by either run

    def by_rule(self) -> dict[str, dict[str, int]]:
        """rule -> {added, removed, changed}, rules in name order."""
        counts: dict[str, dict[str, int]] = {}
        for c in self.changes:
            counts.setdefault(c.rule, {"added": 0, "removed": 0, "changed": 0})[c.kind] += 1
        return dict(sorted(counts.items()))

    def totals(self) -> dict[str, int]:
        """How many outputs were added, removed and changed in all."""
        out = {"added": 0, "removed": 0, "changed": 0}
        for c in self.changes:
            out[c.kind] += 1
        return out


def replay(entries: Iterable[dict[str, Any]], rules: Rules, alert_rules: AlertRules | None,
           until: int | None = None, step: Callable[[], None] | None = None) -> list[Sent]:
    """Every output the rules send for these timeline entries, in the order sent."""
    runs: list[Replay] = [Replay(rules)] + ([AlertReplay(alert_rules)] if alert_rules else [])
    now = 0
    for entry in entries:
        if step is not None:
            step()
        now = max(now, entry_time(entry))
        for run in runs:
            run.advance_to(now)
            if entry.get("type") != CLOCK_TYPE:  # the old timer's own entry: its time only
                run.feed(entry)
    if until is not None:
        for run in runs:
            run.advance_to(max(now, until))
    sent = [Sent(at, out) for run in runs for at, out in run.outputs]
    return sorted(sent, key=lambda s: s.at)


def rule_of(out: Out) -> str:
    """The rule an output comes from, for counting: its rule_id, else what kind of decision it is."""
    if out.topic == ALERTS_CAP:
        return "alert.cap"
    data = out.event.get("data", {})
    if data.get("rule_id"):
        return data["rule_id"]
    if data.get("grounds"):
        return f"referral.{data['grounds']}"
    return out.event["type"]


def _comparable(out: Out) -> Any:
    if out.topic == ALERTS_CAP:
        return _CAP_VERSION.sub(r"\1\2", out.event["xml"])
    return {k: v for k, v in out.event.get("data", {}).items() if k not in _VERSION_FIELDS}


def compare(old: list[Sent], new: list[Sent], since: int | None = None,
            until: int | None = None) -> Diff:
    """The outputs added, removed or changed by the new rules, sent within [since, until]."""
    def window(sent: list[Sent]) -> dict[str, Sent]:
        return {s.out.id: s for s in sent
                if (since is None or s.at >= since) and (until is None or s.at <= until)}

    before, after = window(old), window(new)
    diff = Diff(compared=len(before.keys() | after.keys()))
    for oid, s in after.items():
        if oid not in before:
            diff.changes.append(Change("added", rule_of(s.out), s.at, s.out))
            continue
        was, now = _comparable(before[oid].out), _comparable(s.out)
        if was != now:
            fields = (tuple(sorted(k for k in was.keys() | now.keys() if was.get(k) != now.get(k)))
                      if isinstance(was, dict) else ("xml",))
            diff.changes.append(Change("changed", rule_of(s.out), s.at, s.out, fields, before[oid].out))
    for oid, s in before.items():
        if oid not in after:
            diff.changes.append(Change("removed", rule_of(s.out), s.at, s.out))
    diff.changes.sort(key=lambda c: (c.at, c.rule, c.kind, c.out.id))
    return diff
