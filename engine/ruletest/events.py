"""Turning a rule test's events into timeline entries through the real intake path.

Going through `decide_intake` rather than building entries by hand means a rule
test also proves its events are valid under the contract: a file whose event a
field app could not send fails with the intake's own errors.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from engine.contract.envelope import EVENT_TYPES
from engine.errors import problems_in_words
from engine.intake.process import Record, decide_intake
from engine.kernel.time import iso
from engine.reference import Reference, RulesFileError
from engine.ruletest.spec import EventSpec, resolve


def _json_default(value: Any) -> str:
    # YAML reads 2026-11-20 as a date and timestamps as datetimes; the contract wants text.
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def cloud_event(ev: EventSpec, index: int, start: int, file_id: str) -> dict[str, Any]:
    """The CloudEvent a field app would send, with envelope fields filled in from the test."""
    event_type = EVENT_TYPES[ev.type]
    at = resolve(ev.at, start)
    subject = ev.subject if ev.subject is not None else ev.data.get(event_type.subject_field)
    return {
        "specversion": "1.0",
        "id": ev.id or f"{file_id}-{index + 1}",
        "source": ev.source or f"/rules-test/{file_id}",
        "type": ev.type,
        "time": iso(resolve(ev.time, start)) if ev.time is not None else iso(at),
        "subject": subject,
        "data": ev.data,
    }


class Intake:
    """The intake of one test run, with its own de-duplication store, as the worker keeps one."""

    def __init__(self, reference: Reference, shown: str) -> None:
        self.reference = reference
        self.shown = shown
        self.seen: dict[str, str] = {}
        self.offset = 0

    def entries(self, event: dict[str, Any], index: int, at: int) -> list[dict[str, Any]]:
        """Timeline entries for one event; [] for a duplicate; RulesFileError if rejected."""
        topic = EVENT_TYPES[event["type"]].topic
        raw = json.dumps(event, ensure_ascii=False, default=_json_default).encode("utf-8")
        key = event["subject"].encode("utf-8") if isinstance(event["subject"], str) else None
        self.offset += 1
        out = decide_intake(Record(topic, 0, self.offset, key, raw, at * 1000), self.seen.get,
                            self.reference, contract_topic=topic)
        if out.kind == "rejected":
            errors = json.loads(out.sends[0].value)["data"]["errors"]
            raise RulesFileError(self.shown, f"events[{index}]", f"the engine's intake rejects this "
                                 f"{event['type']}: {problems_in_words(errors)}")
        if out.remember is not None:
            self.seen[out.remember[0]] = out.remember[1]
        if out.kind == "duplicate":
            return []  # a resent event changes nothing, as in the worker
        return [json.loads(send.value) for send in out.sends]
