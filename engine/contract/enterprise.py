"""Data of the enterprise records (issue 17): who an enterprise is, its risk class, its closing.

Field apps of the supervising departments publish them on `enterprise.records`,
keyed by the enterprise's unified social credit code (统一社会信用代码), which is
also the event's subject. They open and keep the enterprise's file (一企一档).
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator, model_validator
from pydantic_core import PydanticCustomError

from engine.contract.common import Actor, Day, Id, Instant, Location, NonEmpty, Role, Sector, Strict, Uscc

RiskClass = Literal["red", "orange", "yellow", "blue"]  # 重大, 较大, 一般, 低 (双重预防机制)


def _official(actor: Actor, what: str) -> Actor:
    # A register entry and a risk class are decisions of the supervising department.
    if actor.role not in (Role.supervisor, Role.inspector):
        raise PydanticCustomError(
            "decider_role", "{what} is recorded by a supervisor or an inspector, not '{role}'",
            {"what": what, "role": actor.role.value})
    return actor


class EnterpriseRegistered(Strict):
    """An enterprise enters the district's register: its name, place, sector and legal representative."""

    uscc: Uscc
    name: NonEmpty
    location: Location  # town (checked against the jurisdiction tree) and address
    sector: Sector
    legal_representative: NonEmpty  # 法定代表人
    by: Actor

    @field_validator("by")
    @classmethod
    def _by_official(cls, actor: Actor) -> Actor:
        return _official(actor, "a registration")


class EnterpriseClassified(Strict):
    """The enterprise's risk class and whether it is a key enterprise (重点企业), with who decided it."""

    uscc: Uscc
    risk_class: RiskClass
    key_enterprise: bool
    decided_by: Actor
    decided_at: Instant
    basis: NonEmpty | None = None  # e.g. the risk assessment it rests on
    decision_no: Id | None = None

    @field_validator("decided_by")
    @classmethod
    def _by_official(cls, actor: Actor) -> Actor:
        return _official(actor, "a risk classification")


class CreditDecided(Strict):
    """A person's decision on a credit (失信) proposal: only a decision to list makes a list entry."""

    uscc: Uscc
    proposal_id: Id
    outcome: Literal["listed", "rejected"]
    listed_from: Day | None = None  # the list entry's first day
    listed_until: Day | None = None  # the day it is to leave the list
    decision_no: Id  # the written decision (列入决定书)
    note: NonEmpty | None = None
    by: Actor

    @field_validator("by")
    @classmethod
    def _by_supervisor(cls, actor: Actor) -> Actor:
        if actor.role is not Role.supervisor:
            raise PydanticCustomError("decider_role", "a credit decision is made by a supervisor, "
                                      "not '{role}'", {"role": actor.role.value})
        return actor

    @model_validator(mode="after")
    def _dates_when_listed(self) -> CreditDecided:
        listed = self.outcome == "listed"
        if listed != (self.listed_from is not None and self.listed_until is not None):
            raise PydanticCustomError("listed_dates", "listed_from and listed_until are required with, "
                                      "and only with, outcome 'listed'")
        if listed and self.listed_until <= self.listed_from:
            raise PydanticCustomError("listed_dates", "listed_until must come after listed_from")
        return self


class EnterpriseClosed(Strict):
    """The enterprise closed down or left the district; its file is kept, its clocks stop."""

    uscc: Uscc
    reason: NonEmpty
    by: Actor

    @field_validator("by")
    @classmethod
    def _by_official(cls, actor: Actor) -> Actor:
        return _official(actor, "a closing")
