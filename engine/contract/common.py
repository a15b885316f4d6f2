"""Shared objects of the intake events: location, enterprise, actor, and the closed vocabularies."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from engine.contract.uscc import PATTERN as USCC_PATTERN
from engine.contract.uscc import uscc_problem


class KnownIds(Protocol):
    """What validation needs to know of the rules: which towns and departments exist."""

    def has_town(self, town_id: str) -> bool: ...

    def has_department(self, department_id: str) -> bool: ...


class Strict(BaseModel):
    """Base of every contract object: unknown fields are errors, and values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _known(info: ValidationInfo) -> KnownIds | None:
    # Without a context (schema export, documentation) cross-checks are skipped.
    return (info.context or {}).get("known") if info.context else None


class Sector(StrEnum):
    """Industry sectors; each has a lead department in rules/ (管行业必须管安全)."""

    hazardous_chemicals = "hazardous_chemicals"
    construction = "construction"
    special_equipment = "special_equipment"
    fire_safety = "fire_safety"
    road_transport = "road_transport"
    industry_trade = "industry_trade"
    gas = "gas"
    agriculture = "agriculture"
    crowded_places = "crowded_places"
    fireworks = "fireworks"
    hazardous_waste = "hazardous_waste"
    other = "other"


class Role(StrEnum):
    """Who an actor is in the field."""

    inspector = "inspector"
    expert = "expert"
    enterprise = "enterprise"
    grid_worker = "grid_worker"  # 网格员, the first responder
    info_officer = "info_officer"  # 灾害信息员
    public = "public"
    sensor = "sensor"
    supervisor = "supervisor"


NonEmpty = Annotated[str, Field(min_length=1, max_length=4000)]
Id = Annotated[str, Field(min_length=1, max_length=200)]


# The dates a record may name: far wider than any a hazard's record holds, and narrow enough that
# every day the engine counts from one (a ladder's steps before and after a deadline, working days
# up to it, the hour in Asia/Shanghai) is still a date Python can hold. Near year 1 or 9999 that
# count overflowed (OverflowError) when the record was normalised or decided, and the record was
# lost. Before 1901 Asia/Shanghai kept local mean time (+08:05:43), which RFC 3339 cannot write.
FIRST_YEAR, LAST_YEAR = 1901, 2199


def in_span(value: datetime | date, what: str = "date") -> None:
    """Refuse a date or time whose year, as written, lies outside FIRST_YEAR to LAST_YEAR."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise PydanticCustomError(
            "date_range",
            "the {what} {value} lies outside the years {first} to {last}, the dates the engine "
            "counts days with (a wrong year?)",
            {"what": what, "value": value.isoformat(), "first": FIRST_YEAR, "last": LAST_YEAR},
        )


def _instant(value: datetime) -> datetime:
    in_span(value, "time")
    return value


def _day(value: date) -> date:
    in_span(value)
    return value


# A time with an offset (RFC 3339), within the engine's span of dates.
Instant = Annotated[AwareDatetime, AfterValidator(_instant)]
# A calendar date, within the engine's span of dates.
Day = Annotated[date, AfterValidator(_day)]


def _deadline(value: Any) -> datetime | date:
    # One validator instead of a union, so a bad value gets one clear error, not one per branch.
    if isinstance(value, datetime | date) and not isinstance(value, str):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "deadline_parsing",
                "not a date (YYYY-MM-DD) or an RFC 3339 time: '{value}'", {"value": value[:40]},
            ) from None
    else:
        raise PydanticCustomError("deadline_type", "a deadline is a string: a date or a time")
    in_span(parsed, "deadline")
    if isinstance(parsed, datetime):
        if parsed.tzinfo is None:
            raise PydanticCustomError(
                "timezone_aware", "Input should have timezone info (a time needs an offset)"
            )
        return _day_if_midnight(parsed)
    return parsed


def _day_if_midnight(deadline: datetime) -> datetime | date:
    """A deadline at 00:00:00 district time, read as that day: the date it falls on, which ends at
    24:00 (民法典 art. 203 para. 2), as a date written alone does.

    Date pickers send "31 March" as 2026-03-31T00:00:00+08:00. Read as the instant, the deadline
    would end as 31 March begins, and the days counted by the ladder (which run to the end of the
    deadline's day) would disagree with the listing's own deadline: a claim made on 31 March would
    get the town referred. Read as the day, the duty holder has the day the sender most likely
    meant, and at worst a day more than one who meant 30 March's end: a referral a day late, never
    one wrong."""
    from engine.ruleset.calendar import SHANGHAI  # here: the calendar's own imports reach this module

    local = deadline.astimezone(SHANGHAI)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return local.date()
    return deadline


# A deadline may be a calendar date (read as that day in Asia/Shanghai) or a time with an offset.
Deadline = Annotated[
    datetime | date,
    PlainValidator(_deadline),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date-time"},
                              {"type": "string", "format": "date"}]}),
]


class Location(Strict):
    """Where something is: a town of the jurisdiction tree, optionally finer and with coordinates."""

    town: Id
    community: Id | None = None
    grid: Id | None = None
    address: NonEmpty | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @field_validator("town")
    @classmethod
    def _town_in_rules(cls, town: str, info: ValidationInfo) -> str:
        known = _known(info)
        if known is not None and not known.has_town(town):
            raise PydanticCustomError(
                "unknown_town",
                "unknown town '{town}': it is not in the jurisdiction tree of rules/reference/",
                {"town": town},
            )
        return town

    @model_validator(mode="after")
    def _both_coordinates(self) -> Location:
        if (self.lat is None) != (self.lon is None):
            raise PydanticCustomError("coordinates", "lat and lon must be given together")
        return self


def _check_uscc(code: str) -> str:
    problem = uscc_problem(code)
    if problem:
        raise PydanticCustomError("uscc", "invalid USCC '{code}': {problem}",
                                  {"code": code, "problem": problem})
    return code


# A unified social credit code (统一社会信用代码), check character verified. The pattern is for
# readers of the JSON Schema only: the validator gives the precise error.
Uscc = Annotated[str, Field(min_length=1, max_length=18, json_schema_extra={"pattern": USCC_PATTERN}),
                 AfterValidator(_check_uscc)]


class Enterprise(Strict):
    """A business, named by its unified social credit code (统一社会信用代码)."""

    uscc: Uscc
    name: NonEmpty


class Actor(Strict):
    """A person or device acting in the field; only the public may stay anonymous."""

    id: Id | None = None
    role: Role
    name: NonEmpty | None = None
    anonymous: bool = False

    @model_validator(mode="after")
    def _anonymity(self) -> Actor:
        if self.anonymous:
            if self.role is not Role.public:
                raise PydanticCustomError(
                    "anonymous_role",
                    "only role 'public' may be anonymous, not '{role}'",
                    {"role": self.role.value},
                )
            if self.id is not None or self.name is not None:
                raise PydanticCustomError(
                    "anonymous_identity", "an anonymous actor must not carry id or name"
                )
        elif self.id is None:
            raise PydanticCustomError("actor_id", "id is required unless the actor is anonymous")
        return self


def check_department(department: str | None, info: ValidationInfo) -> str | None:
    """Reject a department id the rules do not define."""
    known = _known(info)
    if department is not None and known is not None and not known.has_department(department):
        raise PydanticCustomError(
            "unknown_department",
            "unknown department '{department}': it is not in rules/reference/departments.yaml",
            {"department": department},
        )
    return department
