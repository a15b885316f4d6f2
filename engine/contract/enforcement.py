"""Data of the enforcement records (contract section 3, v2): what law enforcement did about a hazard.

Field apps of the enforcing departments publish them on `enforcement.records`,
keyed by hazard_id. They are the enterprise's side of a hazard: orders,
penalties, legal reviews (法制审核), orders found violated and orders lifted.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from engine.contract.common import Actor, Deadline, Id, Instant, NonEmpty, Strict
from engine.contract.roles import check_role, law_enforcement_officers

Uri = Annotated[str, Field(min_length=1, max_length=2000)]
OrderKind = Literal["rectify_within", "suspend", "suspend_for_overhaul"]


def _two_inspectors(actors: list[Actor]) -> list[Actor]:
    # Law enforcement is done by at least two officers (行政处罚法 art. 42).
    officers = law_enforcement_officers(actors)
    if officers < 2:
        raise PydanticCustomError(
            "inspectors", "law enforcement needs at least two inspectors, got {n}", {"n": officers}
        )
    return actors


class EnforcementOrdered(Strict):
    """An order on the enterprise: rectify by a date (责令限期整改), suspend (art. 65) or overhaul."""

    hazard_id: Id
    order_no: Id
    order: OrderKind
    until: Deadline | None = None
    legal_basis: NonEmpty
    by: list[Actor] = Field(min_length=2, max_length=20)

    @field_validator("by")
    @classmethod
    def _by_two(cls, actors: list[Actor]) -> list[Actor]:
        return _two_inspectors(actors)

    @model_validator(mode="after")
    def _until_for_rectify(self) -> EnforcementOrdered:
        if self.order == "rectify_within" and self.until is None:
            raise PydanticCustomError("until", "an order to rectify within a time limit needs 'until'")
        return self


class EnforcementPenalized(Strict):
    """An administrative penalty decision (行政处罚决定) with its fine."""

    hazard_id: Id
    decision_no: Id
    fine_cny: int = Field(ge=0, le=100_000_000)
    legal_basis: NonEmpty
    by: Actor

    @field_validator("by")
    @classmethod
    def _official(cls, actor: Actor) -> Actor:
        return check_role("officiate", actor)


class EnforcementLegalReviewed(Strict):
    """The legal-review office's (法制审核) outcome on one of the engine's proposals."""

    hazard_id: Id
    proposal_id: Id
    outcome: Literal["approved", "returned"]
    by: Actor

    @field_validator("by")
    @classmethod
    def _official(cls, actor: Actor) -> Actor:
        return check_role("legal_review", actor)


class EnforcementViolated(Strict):
    """An order found not carried out, e.g. working on while suspended, with its evidence."""

    hazard_id: Id
    order_no: Id
    found_at: Instant
    description: NonEmpty
    evidence: list[Uri] = Field(min_length=1, max_length=100)
    by: list[Actor] = Field(min_length=2, max_length=20)

    @field_validator("by")
    @classmethod
    def _by_two(cls, actors: list[Actor]) -> list[Actor]:
        return _two_inspectors(actors)


class EnforcementLifted(Strict):
    """An order lifted (解除), once the hazard is eliminated and the lifting approved."""

    hazard_id: Id
    order_no: Id
    by: Actor

    @field_validator("by")
    @classmethod
    def _official(cls, actor: Actor) -> Actor:
        return check_role("officiate", actor)
