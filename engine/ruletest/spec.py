"""The rule-test file format: strict models, instants written as offsets or times, and loading.

A file reads top to bottom like a case file: when it starts, what happened
when, and what the engine must have sent by when. Instants are offsets from
`start` ("0", "1d", "3d 2h", "-1h", "90m") or absolute RFC 3339 times with an
offset, so a test of a holiday deadline can name the exact day.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from engine.contract.envelope import EVENT_TYPES
from engine.contract.outputs import OUTPUT_TYPES as OUTPUTS
from engine.reference import RulesFileError
from engine.reference.parse import read_yaml, validate
from engine.ruletest.capview import CAP_KEYS

_OFFSET = re.compile(r"^([-+])?\s*((?:\d+\s*[wdhms]\s*)+)$")
_PART = re.compile(r"(\d+)\s*([wdhms])")
_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
# "cap" is a CAP 1.2 document on alerts.cap; its match keys are those of engine.ruletest.capview.
OUTPUT_TYPES = ("safety.escalation.raised", "safety.supervision.listed",
                "safety.supervision.lifted", "safety.referral.discipline", "safety.referral.withdrawn",
                "safety.enforcement.proposed", "safety.enforcement.withdrawn", "safety.referral.judicial",
                "safety.referral.judicial_withdrawn",
                "safety.notification.due", "cap")
STATUSES = ("orphan", "reported", "verified", "planned", "in_progress", "completed", "closed",
            "unfounded", "duplicate")
ALERT_STATUSES = ("open", "acknowledged")  # and orphan, closed
HAZARD_CLOCKS = ("verify", "ladder", "review", "plan", "supervision", "extension", "refer", "proposal")
ALERT_CLOCKS = ("handover", "report_county", "report_city", "report_province", "report_state_council",
                "disaster_initial", "disaster_daily", "disaster_final")


def _as_text(value: Any) -> Any:
    # YAML turns `0` into an int and a timestamp into a datetime; both are instants here.
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return value  # let the str check reject it
    if isinstance(value, int):
        if value != 0:
            raise ValueError(f"{value} has no unit: write e.g. '{value}d', '{value}h' or '{value}m' "
                             "(YAML also reads 1:30 as the number 90)")
        return "0"
    if isinstance(value, date):
        raise ValueError(f"{value} is a date without a time: write an offset such as '3d', or a "
                         f"time with an offset such as {value}T23:59:59+08:00")
    return value


def _check_instant(text: str) -> str:
    if text.strip() == "0" or _OFFSET.match(text.strip()):
        return text
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ValueError(f"{text!r} is neither an offset from start ('0', '1d', '3d 2h', '-1h', "
                         "'90m', '2w') nor an RFC 3339 time with an offset (2026-10-10T23:59:59+08:00)")
    return text


Instant = Annotated[str, BeforeValidator(_as_text), AfterValidator(_check_instant)]


def resolve(instant: str, start: int) -> int:
    """An instant of a test file as epoch seconds: an offset counts from `start`."""
    if instant.strip() == "0":
        return start
    m = _OFFSET.match(instant.strip())
    if not m:
        return int(datetime.fromisoformat(instant).timestamp())
    seconds = sum(int(n) * _SECONDS[u] for n, u in _PART.findall(m.group(2)))
    return start - seconds if m.group(1) == "-" else start + seconds


# Hazard events run through the hazard core, alert events through the alert core (engine/alerts/).
ALERT_EVENT_TYPES = tuple(n for n, t in EVENT_TYPES.items() if t.subject_kind == "alert")


def _known_type(name: str) -> str:
    if name not in EVENT_TYPES:
        raise ValueError(f"unknown or unsupported event type {name!r} (rule tests run the intake "
                         f"events: {', '.join(EVENT_TYPES)})")
    return name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventSpec(_Strict):
    """One field event fed to the engine at `at`; envelope fields default from the file."""

    at: Instant
    type: Annotated[str, AfterValidator(_known_type)]
    subject: str | None = None
    id: str | None = None
    source: str | None = None
    time: Instant | None = None  # when it happened in the field; earlier than `at` if sent offline
    data: dict[str, Any]


class WantSpec(_Strict):
    """An output that must appear (or, with count, appear exactly so often) in a window."""

    within: tuple[Instant, Instant] | None = None
    at: Instant | None = None  # shorthand for a window of one instant
    type: Literal[OUTPUT_TYPES]  # type: ignore[valid-type]
    subject: str | None = None
    match: dict[str, Any] = Field(default_factory=dict)
    count: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_window(self) -> WantSpec:
        if (self.within is None) == (self.at is None):
            raise ValueError("give exactly one of within: [from, to] or at: <instant>")
        return self

    def window(self) -> tuple[str, str]:
        """The window as written, both ends included."""
        return self.within if self.within is not None else (self.at, self.at)  # type: ignore[return-value]


class FinalSpec(_Strict):
    """The wanted state of one subject when the clock stops; only the keys given are checked."""

    status: Literal[STATUSES + ALERT_STATUSES] | None = None  # type: ignore[valid-type]
    verdict: Literal["confirmed", "unfounded", "duplicate"] | None = None
    # Hazards: general, major. Alerts: general, large, major, especially_major.
    grade: Literal["general", "major", "large", "especially_major"] | None = None
    tier: Literal["blue", "yellow", "orange", "red"] | None = None
    deadline: Any = None  # a date (end of that day) or a time with an offset
    listed: bool | None = None  # listed supervision active
    listed_deadline: Any = None
    cycle: int | None = Field(default=None, ge=0)
    running: list[Literal[HAZARD_CLOCKS + ALERT_CLOCKS]] | None = None  # type: ignore[valid-type]
    # Alerts only:
    level: Literal["I", "II", "III", "IV"] | None = None  # the response level activated
    reported: list[Literal["county", "city", "province", "state_council"]] | None = None
    missed: list[Literal["county", "city", "province", "state_council"]] | None = None
    handovers: int | None = Field(default=None, ge=0)  # handover steps passed
    exercise: bool | None = None
    incident_class: Literal["production_accident", "non_production", "natural_disaster"] | None = None
    disaster_reports: list[Literal["initial", "update", "final", "zero"]] | None = None  # in time order
    disaster_missed: int | None = Field(default=None, ge=0)  # daily reports (续报/零报告) missed

    def keys(self) -> dict[str, Any]:
        """The keys the file gives, with their values."""
        return {k: getattr(self, k) for k in type(self).model_fields if k in self.model_fields_set}


class RuleTest(_Strict):
    """A whole rule-test file."""

    name: str = Field(min_length=1)
    description: str | None = None
    start: Instant
    until: Instant
    events: list[EventSpec] = Field(min_length=1)
    want: list[WantSpec] = Field(default_factory=list)
    final: dict[str, FinalSpec] = Field(default_factory=dict)


def load(path: Path) -> RuleTest:
    """Read and validate one rule-test file; raise RulesFileError naming the file and key."""
    shown = str(path)
    if not path.is_file():
        raise RulesFileError(shown, None, "no such rule-test file")
    try:
        spec = validate(RuleTest, read_yaml(path, shown), shown)
    except RulesFileError as exc:
        # Say events[2].at, as the rest of this runner does, and drop pydantic's "Value error, ".
        key = re.sub(r"\.(\d+)", r"[\1]", exc.key) if exc.key else None
        raise RulesFileError(exc.file, key, exc.reason.replace("Value error, ", ""),
                             line=exc.line, column=exc.column) from None
    if spec.start.strip() == "0" or _OFFSET.match(spec.start.strip()):
        raise RulesFileError(shown, "start", "start must be an RFC 3339 time with an offset, "
                             "e.g. 2026-11-02T09:00:00+08:00 (other instants count from it)")
    begin = resolve(spec.start, 0)
    if resolve(spec.until, begin) < max(resolve(e.at, begin) for e in spec.events):
        raise RulesFileError(shown, "until", "comes before the last event's `at`")
    for i, want in enumerate(spec.want):
        low, high = (resolve(t, begin) for t in want.window())
        if low > high:
            raise RulesFileError(shown, f"want[{i}].within", "the window ends before it starts")
    if not spec.want and not spec.final:
        raise RulesFileError(shown, "want", "a test needs at least one want or a final state")
    named = _named(spec.events)
    for i, want in enumerate(spec.want):
        # A want no output can meet passes as `count: 0` and fails as any other, whatever the
        # engine does: a test that cannot fail. A misspelt key, value or subject is said instead.
        if want.subject is not None and want.subject not in named:
            raise RulesFileError(shown, f"want[{i}].subject",
                                 f"{want.subject!r} is named by no event of this test")
        problem = _unmatchable(want.type, want.match)
        if problem is not None:
            raise RulesFileError(shown, f"want[{i}].match", problem)
    return spec


def _named(events: list[EventSpec]) -> set[str]:
    """Every text the events give, subjects and data values at any depth: what a want's subject
    can be (a hazard's id is in its finding's data, an alert's in its raising's)."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    for event in events:
        if event.subject is not None:
            found.add(event.subject)
        walk(event.data)
    return found


def _unmatchable(output_type: str, match: dict[str, Any]) -> str | None:
    """Why `match` can match no output of `output_type`: a key its data never has, or a value none of
    a key's fixed choices is (only keys at the top are checked); None when it can match."""
    if output_type == "cap":
        keys: dict[str, Any] = dict.fromkeys(CAP_KEYS)
    else:
        keys = {name: f.annotation for name, f in OUTPUTS[output_type][1].model_fields.items()}
    for key, value in match.items():
        if key not in keys:
            return f"{output_type} has no field {key!r}: it has {', '.join(sorted(keys))}"
        choices = _choices(keys[key])
        if choices and isinstance(value, str) and value not in choices:
            return f"{key} is one of {', '.join(map(str, choices))}, never {value!r}"
    return None


def _choices(annotation: Any) -> tuple[Any, ...]:
    """The fixed values a field's type allows (a Literal, maybe optional), or () when it is open."""
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    if get_origin(annotation) in (Union, UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        if len(inner) == 1:
            return _choices(inner[0])
    return ()
