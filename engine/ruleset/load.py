"""Loading rules/hazards.yaml with the reference data, and checking every cross-reference."""

from __future__ import annotations

from pathlib import Path

from engine.contract.outputs import TIERS
from engine.kernel.checker import RulesChecker
from engine.reference import Reference, RulesFileError, load_reference
from engine.reference.parse import read_yaml, validate
from engine.ruleset.calendar import WorkCalendar
from engine.ruleset.compiled import (
    PROPOSE,
    Duty,
    Grade,
    Judicial,
    LadderStep,
    ListedSupervision,
    Measure,
    ProposalDue,
    ReferralGround,
    Rules,
    Span,
)
from engine.ruleset.models import HazardsFile, LateArrivalEntry

RulesLoadError = RulesFileError

# Targets the core knows how to resolve for a hazard; `department:<id>` names one directly.
TARGETS = frozenset({
    "enterprise", "town", "town_government", "town_safety_office", "district", "lead_department",
    "sector_departments", "supervising_body", "failing_department",
})
# Who a discipline referral may name: public bodies only. 纪委监委 reach public officials
# (监察法 art. 15), not enterprises; an enterprise's failures go to enforcement instead.
RESPONDENTS = frozenset({"town_government", "lead_department", "sector_departments",
                         "failing_department"})
ACTIONS = frozenset({"remind", "notify", "supervision_letter", "summon"})


class _Checker(RulesChecker):
    """The kernel's checker with the hazard core's targets, and referral respondents."""

    def __init__(self, shown: str, reference: Reference) -> None:
        super().__init__(shown, reference, TARGETS)

    def respondents(self, key: str, names: list[str]) -> tuple[str, ...]:
        """Referral respondents: departments and town governments, never an enterprise."""
        for i, name in enumerate(names):
            if not (name in RESPONDENTS or name.startswith("department:")):
                raise self.fail(f"{key}[{i}]", f'"{name}" cannot be a respondent: discipline '
                                "inspection reaches public bodies and officials only (监察法 art. 15); "
                                f"use {', '.join(sorted(RESPONDENTS))} or department:<id>")
        return self.targets(key, names)


def load_rules(rules_dir: Path | str) -> Rules:
    """Load and check rules/hazards.yaml and rules/reference/; raise RulesFileError on any problem."""
    rules_dir = Path(rules_dir)
    reference = load_reference(rules_dir)
    shown = f"{rules_dir.name}/hazards.yaml"
    f = validate(HazardsFile, read_yaml(rules_dir / "hazards.yaml", shown), shown)
    c = _Checker(shown, reference)

    missing = {"general", "major"} - set(f.grades)
    if missing:
        raise c.fail("grades", f"missing grade(s): {', '.join(sorted(missing))}")
    grades = {
        gid: Grade(gid, g.name, c.span(f"grades.{gid}.rectify_within", g.rectify_within),
                   c.span(f"grades.{gid}.after_failed_review", g.after_failed_review), g.source)
        for gid, g in f.grades.items()
    }
    ladder: list[LadderStep] = []
    for i, s in enumerate(f.overdue_ladder):
        key = f"overdue_ladder[{i}]"
        at = c.span(f"{key}.at", s.at, positive=False)
        if at.unit not in ("days", "hours", "minutes"):
            raise c.fail(f"{key}.at", "ladder offsets are calendar days, hours or minutes")
        if ladder:
            before = ladder[-1]
            if _minutes(at) <= _minutes(before.at):
                raise c.fail(f"{key}.at", f"{s.at!r} does not come after the previous step's "
                             f"{before.at} (the ladder only goes forward)")
            if TIERS.index(s.tier) < TIERS.index(before.tier):
                raise c.fail(f"{key}.tier", f"{s.tier} is below the previous step's {before.tier} "
                             "(tiers only climb: blue, yellow, orange, red)")
        if "listed_supervision" in s.actions:
            raise c.fail(f"{key}.actions", "listed_supervision is not a ladder action: only a major "
                         "hazard is listed (挂牌督办), at once on confirmation; a general hazard left "
                         "unfixed goes to enforcement against the enterprise (propose:fine)")
        for j, a in enumerate(s.actions):
            if a.startswith(PROPOSE) and a.removeprefix(PROPOSE) not in f.enforcement:
                raise c.fail(f"{key}.actions[{j}]", f"{a!r} names no measure of the enforcement section "
                             f"(defined: {', '.join(sorted(f.enforcement)) or 'none'})")
        unknown = [a for a in s.actions if a not in ACTIONS and not a.startswith(PROPOSE)]
        if unknown:
            raise c.fail(f"{key}.actions", f"unknown action {unknown[0]!r} "
                         f"(use {', '.join(sorted(ACTIONS))}, or propose:<measure>)")
        ladder.append(LadderStep(s.rule_id, at, s.tier, tuple(s.actions),
                                 c.targets(f"{key}.targets", s.targets), s.source))
    ids = [s.rule_id for s in ladder]
    if len(set(ids)) != len(ids):
        raise c.fail("overdue_ladder", "two steps share a rule_id")

    ls = f.listed_supervision
    supervision = ListedSupervision(
        rule_id=ls.rule_id, notice_no=ls.notice_no,
        supervising_body=c.targets("listed_supervision.supervising_body", [ls.supervising_body])[0],
        responsible_units=c.targets("listed_supervision.responsible_units", ls.responsible_units),
        legal_basis=ls.legal_basis,
        max_deadline=c.span("listed_supervision.max_deadline", ls.max_deadline),
        plan_within=c.span("listed_supervision.plan_within", ls.plan_within),
        plan_tier=ls.plan_tier,
        plan_targets=c.targets("listed_supervision.plan_targets", ls.plan_targets),
        extension_request_before=c.span("listed_supervision.extension_request_before",
                                        ls.extension_request_before),
        extension_decide_within=c.span("listed_supervision.extension_decide_within",
                                       ls.extension_decide_within),
        source=ls.source,
    )
    try:
        ls.notice_no.format(district="D", year=2026, hazard_id="H")
    except (KeyError, IndexError, ValueError) as exc:
        raise c.fail("listed_supervision.notice_no", f"bad template ({exc}); use "
                     "{district}, {year} and {hazard_id}") from None
    if _minutes(grades["major"].rectify_within) > _minutes(supervision.max_deadline):
        raise c.fail("grades.major.rectify_within", "longer than listed_supervision.max_deadline")

    enforcement = {}
    for mid, m in f.enforcement.items():
        key = f"enforcement.{mid}"
        amount = tuple(m.amount_range_cny) if m.amount_range_cny else None
        if amount and not 0 <= amount[0] <= amount[1]:
            raise c.fail(f"{key}.amount_range_cny", f"{list(amount)} is not a range: write [min, max], "
                         "0 <= min <= max")
        if mid == "fine" and amount is None:
            raise c.fail(key, "a fine needs amount_range_cny: [min, max] as its legal basis sets them")
        if m.decide_within is not None and not m.needs_legal_review:
            raise c.fail(f"{key}.decide_within", "only a measure that waits for legal review has a time "
                         "to decide after it: due_within is this one's time for its decision")
        if m.decide_within is not None and mid == "utility_stop_notice":
            raise c.fail(f"{key}.decide_within", "no record says a notice to stop power supply went out, "
                         "so nothing could show it decided: leave decide_within out")
        decide = c.span(f"{key}.decide_within", m.decide_within) if m.decide_within is not None else None
        enforcement[mid] = Measure(mid, m.legal_basis, amount, m.needs_legal_review,  # type: ignore[arg-type]
                                   c.span(f"{key}.due_within", m.due_within), m.source, decide)

    pd = f.proposal_due
    proposal_due = ProposalDue(pd.rule_id, pd.tier, c.targets("proposal_due.escalate_to", pd.escalate_to),
                               pd.source) if pd else None

    j = f.judicial
    judicial = Judicial(j.rule_id, j.offence, c.targets("judicial.recipient", [j.recipient])[0],
                        tuple(j.orders), tuple(j.grades), j.source) if j else None

    r = f.referral
    target = c.targets("referral.target", [r.target])[0]
    if r.periodic_filing and r.periodic_filing.respondents != ["lead_department"]:
        raise c.fail("referral.periodic_filing.respondents", "a filing is made by each department "
                     "that leads a sector: write [lead_department]")
    return Rules(
        version=f.version if f.version == reference.version else f"{f.version}+ref{reference.version}",
        reference=reference,
        calendar=WorkCalendar(reference.notices, rest_day_moves_last_day=(
            f.periods is None or f.periods.rest_day_moves_last_day)),
        grades=grades,
        verify=Duty(f.duties.verify.rule_id, c.span("duties.verify.within", f.duties.verify.within),
                    f.duties.verify.source),
        review=Duty(f.duties.review.rule_id, c.span("duties.review.within", f.duties.review.within),
                    f.duties.review.source),
        duty_targets=c.targets("duties.escalate_to", f.duties.escalate_to),
        duty_tier=f.duties.tier,
        ladder=tuple(ladder),
        supervision=supervision,
        referral_target=target,
        supervision_missed=ReferralGround(
            r.listed_supervision_failed.rule_id, "listed_supervision_failed",
            c.respondents("referral.listed_supervision_failed.respondents",
                          r.listed_supervision_failed.respondents),
            r.listed_supervision_failed.source, r.listed_supervision_failed.threshold),
        duty_failures=ReferralGround(
            r.duty_failure.rule_id, "duty_failure",
            c.respondents("referral.duty_failure.respondents", r.duty_failure.respondents),
            r.duty_failure.source, r.duty_failure.threshold),
        enforcement=enforcement,
        judicial=judicial,
        proposal_due=proposal_due,
        periodic_filing=ReferralGround(
            r.periodic_filing.rule_id, "periodic_filing",
            c.respondents("referral.periodic_filing.respondents", r.periodic_filing.respondents),
            r.periodic_filing.source) if r.periodic_filing else None,
        late_after=_late_after(c, f.duties.late_arrival),
    )


def _late_after(c: RulesChecker, late: LateArrivalEntry | None) -> Span | None:
    """duties.late_arrival.after: how late an event may reach the engine before the duty clock it
    starts counts from its arrival instead of its own time. Zero is allowed (any delay counts);
    calendar days are not, as they count to the end of a day, not a length of time."""
    if late is None:
        return None
    span = c.span("duties.late_arrival.after", late.after, positive=False)
    if span.n < 0 or span.unit not in ("minutes", "hours"):
        raise c.fail("duties.late_arrival.after", f"{late.after!r}: write a length of time in "
                     "minutes or hours, 0 or more (e.g. '24 hours')")
    return span


def _minutes(span: Span) -> float:
    # Only for ordering and comparing spans; a working day counts as a day here.
    per = {"minutes": 1, "hours": 60, "days": 1440, "working days": 1440}
    return span.n * per[span.unit]
