"""The compiled, immutable rules the decision core runs on, built once from the files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from engine.reference import Reference
from engine.ruleset.calendar import Deadline, WorkCalendar

Unit = Literal["minutes", "hours", "days", "working days"]
_SPAN = re.compile(r"^\s*(-?\d+)\s+(minutes?|hours?|days?|working days?)\s*$")
# A ladder action `propose:<measure>` proposes an enforcement measure of the rules' `enforcement` section.
PROPOSE = "propose:"


# The longest span a rule may give, by unit: ten years (a working year taken as 250 days).
_MOST = {"minutes": 3650 * 1440, "hours": 3650 * 24, "days": 3650, "working days": 2500}


@dataclass(frozen=True, slots=True)
class Span:
    """A duration as the rules write it: '7 days', '3 working days', '-2 days', '10 minutes'."""

    n: int
    unit: Unit

    @classmethod
    def parse(cls, text: str) -> Span:
        """Parse '<n> <unit>'; raise ValueError naming the accepted units."""
        m = _SPAN.match(text)
        if not m:
            raise ValueError(f"{text!r} is not a duration: write '<n> minutes|hours|days|working days'")
        unit = m.group(2).rstrip("s") + "s" if not m.group(2).startswith("working") else "working days"
        n = int(m.group(1))
        if abs(n) > _MOST[unit]:
            # Beyond the calendar's arithmetic (year 9999) from any date, every decision would fail.
            raise ValueError(f"{text!r} is longer than any rule needs: at most 10 years "
                             f"({_MOST[unit]} {unit})")
        return cls(n, unit)  # type: ignore[arg-type]

    def after(self, start: datetime, calendar: WorkCalendar) -> Deadline:
        """The deadline this span sets from `start`."""
        if self.unit == "minutes":
            return Deadline(start + timedelta(minutes=self.n))
        if self.unit == "hours":
            return Deadline(start + timedelta(hours=self.n))
        if self.unit == "days":
            return calendar.add_days(start, self.n)
        return calendar.add_working_days(start, self.n)

    def __str__(self) -> str:
        return f"{self.n} {self.unit}"


@dataclass(frozen=True, slots=True)
class Grade:
    """A hazard grade and its rectification windows."""

    id: str
    name: str
    rectify_within: Span
    after_failed_review: Span
    source: str


@dataclass(frozen=True, slots=True)
class LadderStep:
    """One step of the overdue ladder: when, at which tier, what to do and whom to tell."""

    rule_id: str
    at: Span
    tier: str
    actions: tuple[str, ...]
    targets: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class Duty:
    """A department's own deadline (verify, review), escalated when missed."""

    rule_id: str
    within: Span
    source: str


@dataclass(frozen=True, slots=True)
class ListedSupervision:
    """How listed supervision (挂牌督办) is issued, timed, extended and lifted."""

    rule_id: str
    notice_no: str
    supervising_body: str
    responsible_units: tuple[str, ...]
    legal_basis: str
    max_deadline: Span
    plan_within: Span
    plan_tier: str
    plan_targets: tuple[str, ...]
    extension_request_before: Span
    extension_decide_within: Span
    source: str


@dataclass(frozen=True, slots=True)
class ReferralGround:
    """One ground for referral to discipline inspection, its contract code, and who answers for it."""

    rule_id: str
    code: str  # the contract's `grounds`: duty_failure, listed_supervision_failed, periodic_filing
    respondents: tuple[str, ...]
    source: str
    threshold: int = 1


@dataclass(frozen=True, slots=True)
class Measure:
    """An enforcement measure the rules may propose against an enterprise, with its legal basis."""

    id: str  # fine, suspend, suspend_for_overhaul, utility_stop_notice
    legal_basis: str
    amount_range_cny: tuple[int, int] | None
    needs_legal_review: bool  # 法制审核 before the decision (重大执法决定)
    due_within: Span  # for the legal review when needed, else for the decision
    source: str
    decide_within: Span | None = None  # for the decision, from the review that approved it


@dataclass(frozen=True, slots=True)
class ProposalDue:
    """Who is told when a proposal's legal review or decision is not on record by its `due_at`."""

    rule_id: str
    tier: str
    targets: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class Judicial:
    """When an order found violated is transferred to the public security bureau (行刑衔接)."""

    rule_id: str
    offence: str
    recipient: str  # a target, department:<id>
    orders: tuple[str, ...]  # the order kinds whose violation is transferred
    grades: tuple[str, ...]  # the hazard grades it applies to
    source: str


@dataclass(frozen=True, slots=True)
class Rules:
    """Everything the decision core needs: reference data, hazard rules, and the calendar."""

    version: str
    reference: Reference
    calendar: WorkCalendar
    grades: dict[str, Grade]
    verify: Duty
    review: Duty
    duty_targets: tuple[str, ...]
    duty_tier: str
    ladder: tuple[LadderStep, ...]
    supervision: ListedSupervision
    referral_target: str
    supervision_missed: ReferralGround
    duty_failures: ReferralGround
    enforcement: dict[str, Measure]
    judicial: Judicial | None = None
    proposal_due: ProposalDue | None = None  # None: no clock watches a proposal's due_at
    periodic_filing: ReferralGround | None = None  # the monthly filing of supervision results
    # A department's duty clock starts when the event that starts it reached the engine, if that
    # was more than this after the event's own time (duties.late_arrival); None: at the event's time.
    late_after: Span | None = None
