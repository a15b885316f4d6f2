"""Coverage clocks: a key enterprise (重点企业) inspected on its fixed cycle (全覆盖), or escalated.

The cycle runs from the last inspection on file, or from the classification
that made the enterprise a key one when it was never inspected; its length is
`coverage.days` of its risk class (rules/plan.yaml). When it runs out, the town
safety office is told at once; `grace_days` later, the sector's lead
department is told, and the miss counts as that department's duty failure
(不履行安全监管职责). An inspection starts the next cycle and stops both. Days
are counted as the law counts a period (民法典 arts. 201, 203), as the hazards'
deadlines in days are: the start's day is not counted, the last day ends at
24:00, and a last day that is a rest day (a public holiday, or a weekend day
that is not a make-up working day) gives way to the next working day (art. 203
para. 1; rules/hazards.yaml `periods`, which can turn it off).

A duty failure is referred to discipline inspection (抄报移送纪委监委) by the
same ground, threshold and respondents as a hazard's duty failure
(rules/hazards.yaml `referral.duty_failure`: the plans' line 798, "不履行安全监管
职责的情况，一律抄报移送纪委监委"), once the department's missed cycles on this
enterprise reach the threshold. The hazard side refers such failures without
waiting for a person's decision ("一律"), so this side does too; the referral
names the department, never the enterprise (监察法 art. 15).

Inspectors' tablets work offline, so as for a hazard (engine/kernel/referral.py)
the referral waits the rules' `duties.late_arrival.after` before it is sent,
and an inspection dated within the missed cycle's period withdraws the failure
whenever it arrives: the department is told, a held referral is not sent, and
one already sent is withdrawn. So does a record, reaching the engine late,
that the enterprise was no longer a key one, or closed, or re-classified to a
class whose cycle had not run out, before the cycle was missed; a cycle taken
back that way runs again under the new class (`reclassified`).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from engine.contract.intake import law_enforcement
from engine.contract.outputs import ESCALATIONS, REFERRALS_DISCIPLINE
from engine.enterprise.state import CLASSES, SPELLS
from engine.kernel.escalation import escalation
from engine.kernel.ids import output_id
from engine.kernel.outputs import Out, envelope
from engine.kernel.referral import hold, jurisdiction, released, withdrawal
from engine.kernel.targets import addressee, answerable, department_unit, resolve, resolve_all
from engine.kernel.time import after, iso, latest
from engine.ruleset.compiled import Span
from engine.zh.words import Words

DAY = 86_400


@dataclass(frozen=True, slots=True)
class EnterpriseRules:
    """What the enterprise core reads: the hazard rules (reference, version), coverage and credit rules."""

    rules: Any
    coverage: Any | None  # engine.plan.rules.Coverage; None: no coverage clocks
    credit: Any | None = None  # engine.plan.rules.Credit; None: no credit thresholds (rules/plan.yaml)


@dataclass(frozen=True, slots=True)
class _Place:
    """An enterprise's file as `engine.kernel.targets.Located`: its targets resolve as a hazard's do."""

    town: str | None
    sector: str | None
    enterprise: tuple[str, str | None]
    lead: str | None = None  # no override: the sector's lead department


def _place(f: Any) -> _Place:
    return _Place(f.town, f.sector, (f.id, f.name))


def told_since(f: Any, t: int) -> bool:
    """Whether a notice to the town safety office on file was given at or after `t`, as time order
    gives it (a closure recorded late may have moved it later: `reconcile` keeps when): one a record
    dated `t`, come late, may show time order never gave. A record dated after it cannot: the
    cycle had run out by then."""
    return any(n[1] >= t for n in f.notices)


def notice_out(f: Any) -> int | None:
    """The start of the cycle running now whose town safety office was told it ran out; None if none
    (its clock still running, or the cycle `derive` last ran no longer the current one)."""
    return f.cov_base if f.cov_step >= 1 and f.cov_base == cycle_base(f) else None


def next_step(f: Any) -> tuple[str, int] | None:
    """The running cycle's next step and when it falls due (`derive`'s clock): ("town_safety_office",
    at) or ("lead_department", at); None when no cycle clock runs."""
    if "coverage" in f.clocks:
        return "town_safety_office", f.clocks["coverage"]
    if "coverage_lead" in f.clocks:
        return "lead_department", f.clocks["coverage_lead"]
    return None


def cycle_base(f: Any) -> int | None:
    """Where the current cycle starts: the last law-enforcement inspection, else the classification
    as key. The file's last inspection may be an expert check, which is not law enforcement (core.py
    `_expert_check`): the latest time in `inspected` is then the last that counts (a file stored
    before `inspected` was kept has only its last inspection)."""
    times = enforced(f)
    if times:
        return times[-1]
    return f.classified[0] if f.classified else None


def enforced(f: Any) -> list[int]:
    """The times of the law-enforcement inspections on file, oldest first: `inspected`, with the last
    inspection if it is one (a file stored before `inspected` was kept knows only that one)."""
    last = f.last_inspection
    if last is None or not law_enforcement(last[2]) or last[0] in f.inspected:
        return f.inspected
    return sorted([*f.inspected, last[0]]) if f.inspected else [last[0]]


def _began_by(f: Any, base: int) -> str:
    """The event that started the cycle from `base`: its inspection, else the classification."""
    last = f.last_inspection
    if last is not None and last[0] == base and law_enforcement(last[2]):
        return last[1]
    if str(base) in f.inspected_by:
        return f.inspected_by[str(base)]
    return f.classified[3] if f.classified else f.id


def derive(f: Any, er: EnterpriseRules) -> dict[str, int]:
    """The coverage clock running now, if any, and the hold of a referral waiting to be sent."""
    cov = er.coverage
    held = [m[1] for m in f.missed if m[4] == HELD] if cov is not None else []  # none without its rules
    clocks = {"refer": min(released(at, er.rules) for at in held)} if held else {}
    if cov is None or not f.key or f.status() != "registered" or not f.risk_class:
        return clocks  # asked twice a decision: the cycle's base only of a file with a cycle
    base = cycle_base(f)
    if base is None:
        return clocks
    if f.cov_base != base:  # a new cycle: what the last one escalated is behind it
        f.cov_base, f.cov_step = base, 0
        _forget_runs(f)
    ran = walk(f, er, base)
    if ran is not None and f.cov_step == 0:
        clocks["coverage"] = ran[0]
    elif ran is not None and f.cov_step == 1:
        clocks["coverage_lead"] = ran[1]
    return clocks


# What became of the referral of a missed cycle (the last place of a `missed` record).
HELD, SENT = "held", "sent"
MISSED = 24  # missed cycles kept for a late inspection to answer (a held referral is always kept)


def _escalation_id(f: Any, action: str, base: int | None = None, run: int | None = None) -> str:
    base = f.cov_base if base is None else base
    return output_id("escalation", f.id, "coverage", action, base, *_run(f, base, run))


def _run(f: Any, base: int, n: int | None = None) -> tuple[Any, ...]:
    """What names a cycle's outputs apart from its earlier runs: nothing for its first run (the ids
    as they always were), ("run", n) for the n-th time it ran again (`reconcile`); the current run
    unless `n` is given."""
    n = _run_now(f, base) if n is None else n
    return ("run", n) if n else ()


def _run_now(f: Any, base: int) -> int:
    """How often the cycle from `base` ran again: 0 in its first run."""
    return f.reruns.get(str(base), 0)


def _miss_run(f: Any, missed: list[Any]) -> int:
    """The run of its cycle whose ids the miss `missed` went under, and its referral with it (their
    withdrawals are named by it): as the row keeps it, else (a miss stored before format 11) the
    cycle's current run, as ids were named before."""
    return missed[6] if missed[6] is not None else _run_now(f, missed[0])


def _run_again(f: Any, er: EnterpriseRules, base: int) -> None:
    """The cycle from `base` runs again: what goes out of it now goes under ids of a run of its own.
    What of it still stands keeps the ids it went under: its notice and its miss their runs (rows
    stored before formats 10 and 11 keep none: they went under the current one), and a referral
    sent, the notice it named (that notice may be withdrawn and told anew while the miss stands)."""
    notice = _notice(f, base)
    if notice is not None and notice[3] is None:
        notice[3] = _run_now(f, base)
    for m in f.missed:
        if m[0] != base:
            continue
        if m[6] is None:
            m[6] = _run_now(f, base)
        if m[4] == SENT and m[8] is None:
            m[7], m[8] = _named_notice(f, er, m)
    f.reruns[str(base)] = _run_now(f, base) + 1


def _named_notice(f: Any, er: EnterpriseRules, missed: list[Any], without: str | None = None
                  ) -> tuple[int | None, int]:
    """The town safety office's notice the referral of `missed` names (as sent, or to be sent now):
    its run and when it went. The one the row keeps, else the one on file (it may have gone in an
    earlier run of the cycle, or be told in time order at another time since), else the cycle's
    end as time order has it (under classification `without` left out), in the current run."""
    if missed[8] is not None:
        return missed[7], missed[8]
    base = missed[0]
    notice = _notice(f, base)
    told_run, sent_at = (notice[3], notice[4]) if notice is not None else (None, None)
    if sent_at is not None:
        return told_run, sent_at
    ran = walk(f, er, base, without)
    if ran is not None:
        return told_run, ran[0]
    return told_run, _days_after(er, base, getattr(er.coverage.days, f.risk_class))


def _notice(f: Any, base: int) -> list[Any] | None:
    """The notice on file of the cycle from `base`: [cycle base, told at in time order, class, the
    run whose ids it went under, when it went]; the last two None for one stored before format 10
    (the current run, as ids were named before, and `walk`'s time)."""
    return next((n for n in f.notices if n[0] == base), None)


def notices_standing(f: Any) -> list[dict[str, Any]]:
    """The notices to the town safety office that stand (none withdrawn), oldest cycle first, as the
    file's view shows them: the cycle's start, when the office was told (for a notice stored before
    format 10, when time order tells it), the class it went under (None before format 9) and the
    id of the escalation that told it, for matching to the office's feed."""
    return [{"cycle_from": iso(base), "told_at": iso(sent if sent is not None else told),
             "risk_class": cls, "escalation_id": _escalation_id(f, "coverage_missed", base, run)}
            for base, told, cls, run, sent in f.notices]


def _forget_runs(f: Any) -> None:
    """Keep the runs of the current cycle, of the missed cycles still kept, of the cycles whose notice
    stands (its withdrawal goes under the run's ids) and of every cycle a late record may still
    raise (one from an inspection or a classification on file), no others: a cycle raised again
    must not take the ids of a run already sent and withdrawn."""
    if f.reruns:
        kept = {str(f.cov_base), *(str(m[0]) for m in f.missed), *map(str, f.inspected),
                *(str(c[0]) for c in f.classes), *(str(n[0]) for n in f.notices)}
        f.reruns = {k: n for k, n in f.reruns.items() if k in kept}


def _escalation(f: Any, er: EnterpriseRules, action: str, tier: str, at: int,
                targets: list[dict[str, Any]], reason: str, base: int | None = None,
                caused_by: str | None = None, risk_class: str | None = None, run: int | None = None) -> Out:
    base = f.cov_base if base is None else base
    return escalation(_escalation_id(f, action, base, run), subject_kind="enterprise", subject_id=f.id,
                      action=action, tier=tier, targets=targets, reason=reason,
                      rule_id=f"coverage.{risk_class or f.risk_class}", rules_version=er.rules.version, at=at,
                      due_at=None,
                      town=f.town, sector=f.sector, grade=None,
                      caused_by=[caused_by or f"coverage-cycle:{base}"],
                      reason_zh=Words("zh", er.rules.reference).reason(reason))


def _lead(f: Any, er: EnterpriseRules) -> str | None:
    return er.rules.reference.sector_lead(f.sector).id if f.sector else None


def _what(f: Any, er: EnterpriseRules, base: int, cls: str) -> str:
    days = getattr(er.coverage.days, cls)
    return (f"key enterprise {f.name or f.id} still not inspected {er.coverage.grace_days} days "
            f"after its {days}-day cycle from {iso(base)} ran out")


def fire(f: Any, name: str, due: int, er: EnterpriseRules) -> list[Out]:
    """Escalate a missed cycle: the town safety office first, then the lead department; or send
    the referrals whose hold ended at `due`."""
    if name == "refer":
        return _release(f, er, due)
    f.cov_step += 1
    ran = walk(f, er, f.cov_base)
    if name == "coverage":  # under the class its town safety office's step ran under
        return _town_told(f, er, f.cov_base, due, ran[3] if ran is not None else f.risk_class)
    cls = ran[2] if ran is not None else f.risk_class  # the class it ran out under
    return _lead_failed(f, er, f.cov_base, due, _began_by(f, f.cov_base), cls)


def _town_told(f: Any, er: EnterpriseRules, base: int, due: int, cls: str) -> list[Out]:
    """The cycle from `base` ran out at `due` under class `cls`: the town safety office is told.

    Unless its notice of that cycle stands already: a late record that withdrew the cycle's miss, or
    raised it again, leaves a notice time order also gave under the same class (`reconcile`
    withdraws one of another class, `_told_otherwise`), and the cycle's next run meets it here. It
    says what it would say again, and stands as it was sent, under its own run's ids (the notice
    row keeps its run and when it went: a referral's timeline names it by the id it went under,
    at that time), told at `due` in time order. Until 2026-12-07 the office was told again, under
    the new run's ids, and the notice sent first, never withdrawn, stood beside it."""
    standing = _notice(f, base)
    if standing is not None:
        standing[1] = due
        return []
    days = getattr(er.coverage.days, cls)
    targets = resolve("town_safety_office", _place(f), er.rules)
    bisect.insort(f.notices, [base, due, cls, _run_now(f, base), due])
    del f.notices[:-MISSED - 1]
    return [_escalation(f, er, "coverage_missed", "yellow", due, targets,
                        f"key enterprise {f.name or f.id} ({cls}) not inspected within "
                        f"{days} days of {iso(base)}", base, risk_class=cls)]


def _lead_failed(f: Any, er: EnterpriseRules, base: int, due: int, start: str, cls: str) -> list[Out]:
    """The cycle from `base` (begun by event `start`) still not inspected at `due`, run out under
    class `cls`: the lead department's duty failure, kept in `missed`, and its referral held or sent
    at the threshold."""
    lead = _lead(f, er)
    targets = [department_unit(lead, er.rules.reference)] if lead else []
    what = _what(f, er, base, cls)
    outs = [_escalation(f, er, "duty_failure", "orange", due, targets,
                        f"{what}: a duty failure of the lead department (不履行安全监管职责)", base,
                        risk_class=cls)]
    if not lead:
        return outs
    f.duty_fails[lead] = f.duty_fails.get(lead, 0) + 1
    # [cycle base, missed at, department, the event that started the cycle, what became of its
    # referral, the class it ran out under, the run whose ids it went under, the notice its referral
    # named: set once the cycle runs again, `_run_again`]
    missed = [base, due, lead, start, None, cls, _run_now(f, base), None, None]
    f.missed.append(missed)
    kept = [m for m in f.missed if m[4] != HELD]
    for old in kept[:-MISSED]:
        f.missed.remove(old)
    if f.duty_fails[lead] >= er.rules.duty_failures.threshold:
        if hold(er.rules) is not None:
            missed[4] = HELD
        else:
            sent = _refer(f, er, missed, due)
            missed[4] = SENT if sent else None
            outs += sent
    return outs


def _release(f: Any, er: EnterpriseRules, due: int) -> list[Out]:
    """Send the held referrals whose hold ends at `due`: no inspection dated in time has come."""
    outs: list[Out] = []
    for missed in f.missed:
        if missed[4] == HELD and released(missed[1], er.rules) <= due:
            sent = _refer(f, er, missed, due)
            missed[4] = SENT if sent else None
            outs += sent
    return outs


def answer(f: Any, er: EnterpriseRules, done: int, eid: str, at: int, told: int | None = None) -> list[Out]:
    """An inspection done at `done` (`eid`, its event), decided at `at`, recorded late: after a
    cycle it answered was escalated, or after a later inspection (`reconcile`).

    The inspector's tablet was offline: the inspection, in time, reached the engine after the
    lead department's duty failure was escalated. The department is told the failure is
    withdrawn; a held referral is not sent, and one already sent is withdrawn. With a
    threshold above 1, a later cycle's referral that counted a withdrawn failure goes the same
    way when the failures before it no longer reach the threshold. A cycle that ran from a
    classification after it goes too: once inspected, cycles run from inspections
    (`cycle_base`). And the cycle it started, if the next inspection came only after that
    cycle's days and grace, was missed in time order: that miss is raised now, dated then.
    """
    return reconcile(f, er, eid, at,
                     f"inspection {eid} of {iso(done)}, in time, reached the engine after it",
                     f"inspection {eid} of {iso(done)} shows the duty done in time; it reached the engine "
                     "after the referral was sent", new=done, told=told)


def released_from(f: Any, er: EnterpriseRules, done: int, how: str, eid: str, at: int,
                  told: int | None = None) -> list[Out]:
    """The enterprise ceased at `done` to owe its cycle (`how`: "declassified", no longer a key
    enterprise; "closed"), decided at `at`: each cycle missed after that was owed by nobody, and is
    withdrawn as an inspection in time withdraws it (`answer`). The record came late (an app
    offline); in time order the clock would have stopped at `done`."""
    ceased = "no longer a key enterprise" if how == "declassified" else "closed"
    return reconcile(f, er, eid, at,
                     f"the enterprise was {ceased} from {iso(done)} ({eid}), before it, and the record "
                     "reached the engine after it",
                     f"the record {eid} shows the enterprise {ceased} from {iso(done)}, before the cycle "
                     "was missed; it reached the engine after the referral was sent",
                     without=eid if how == "declassified" else None, told=told)


def reopened(f: Any, er: EnterpriseRules, done: int, eid: str, at: int) -> list[Out]:
    """The enterprise, closed before (or classified before it was first registered), registered
    again (or at last) at `done`, decided at `at`: the cycles it owed from then are run as time
    order would have, if the record came late (`reconcile`), a missed one raised now, dated then.
    It takes nothing back: being open again adds duties, never removes one."""
    return reconcile(f, er, eid, at,
                     f"the enterprise was registered again from {iso(done)} ({eid}), and the record "
                     "reached the engine after it",
                     f"the record {eid} shows the enterprise registered again from {iso(done)}; it "
                     "reached the engine after the referral was sent")


def superseded(f: Any, er: EnterpriseRules, done: int, inspection_id: str, eid: str, at: int,
               told: int | None = None) -> list[Out]:
    """Inspection `inspection_id`, on file as done at `done`, recorded again as refused (`eid`,
    decided at `at`), and taken out of the inspections done (core.py `_uncounted`): the later record
    of the same inspection supersedes the earlier one, and a refused inspection neither ends a cycle
    nor starts one (the plans' "全覆盖"执法检查 is an inspection done).

    What went out of the cycle it started (its notice to the town safety office, its miss, the
    referral) is withdrawn, as a late record withdraws what time order never gave (`reconcile`).
    The cycle it ended runs on to its own end: one that ran out before the next inspection on file
    is raised now, dated then; the current one, if it is that cycle, runs again under ids of a run
    of its own (what went out of it before this inspection was recorded may have been withdrawn by
    it), its steps that still stand on file not told again."""
    if er.coverage is None or f.registered is None:
        return []
    why = (f"inspection {inspection_id} of {iso(done)} was recorded again as refused ({eid}): it is not "
           "counted as done")
    referral_why = (f"inspection {inspection_id} of {iso(done)}, which started the missed cycle, was "
                    f"recorded again as refused ({eid}); it reached the engine after the referral was sent")
    outs: list[Out] = []
    notice = _notice(f, done)
    if notice is not None and (done not in enforced(f)):
        outs += _notice_withdrawn(f, er, done, _notice_class(f, er, done, None), eid, at, why)
    _, starts = _starts(f)
    before = [s for s, _ in starts if s < done]
    base = cycle_base(f)
    if before and before[-1] == base:  # the cycle it ended is the current one again
        _run_again(f, er, base)
        f.cov_base = base
        f.cov_step = (2 if any(m[0] == base for m in f.missed) else 1 if _notice(f, base) is not None
                      else 0)
    return outs + reconcile(f, er, eid, at, why, referral_why, told=None if told == done else told)


def reclassified(f: Any, er: EnterpriseRules, risk_class: str, done: int, eid: str, at: int,
                 told: int | None = None) -> list[Out]:
    """The enterprise, a key one, classified `risk_class` at `done` (decided at `at`), on a record
    that reached the engine after cycles it bears on were decided (an app offline).

    Each cycle runs under the classes in force while it ran (`walk`): a cycle that ran from
    the classification this one replaces (never inspected since) starts again at `done`, as
    `cycle_base` has it, and one that ran from an inspection runs to the new class's end, never
    before `done`. A miss time order does not have, or has only later, is withdrawn as an
    inspection in time withdraws it (`answer`), the referral rebuilt as it was sent; a miss time
    order has and the engine did not raise is raised now, dated then; a cycle that runs on runs
    again under the new class (`reconcile`). What a cycle escalates after its miss was withdrawn
    goes under ids of its own (`_run`).
    """
    days = getattr(er.coverage.days, risk_class) if er.coverage is not None else None
    said = f"re-classified {risk_class} ({days}-day cycle) from {iso(done)}"
    return reconcile(f, er, eid, at,
                     f"the enterprise was {said} ({eid}), before it, and the record reached the engine "
                     "after it",
                     f"the record {eid} shows the enterprise {said}, before the cycle was missed; it "
                     "reached the engine after the referral was sent", without=eid, told=told)


def reconcile(f: Any, er: EnterpriseRules, eid: str, at: int, why: str, referral_why: str,
              new: int | None = None, without: str | None = None, told: int | None = None) -> list[Out]:
    """Make the file's missed cycles those time order has, once record `eid`, late, is on file.

    Time order is what the engine would have decided had every record on file come when it was
    dated: each cycle from its start (an inspection, or the classification of an enterprise never
    inspected since) to the next one, run under the classes in force (`walk`), stopped by a
    closure or by a decision that the enterprise is no longer a key one.

    - A miss on file of a cycle time order did not miss, or missed only later, is withdrawn
      (`why`; each referral sent withdrawn saying `referral_why`, rebuilt as it was sent: the
      classes without the record `without`). The current cycle's miss, withdrawn, runs again:
      `derive` sets its clocks.
    - A cycle time order missed that has no miss on file (any more) is raised now, dated then
      (`_missed_then`); the running cycle is left to `derive`.
    - A miss time order has sooner (a class recorded late that shortened the cycle) stands as it
      was sent: the department failed that cycle either way, the referral dates the failure no
      earlier than it was, and one withdrawn only to be sent again, dated sooner, would tell the
      department nothing it does not know.
    - Every notice to the town safety office on file (`notices`), and `told`, the cycle that was
      running before this record whose office was told it ran out (the one notice a file stored
      before 2026-12-05 knows of): where time order never told it (an inspection dated before
      then ended the cycle, a closure came first, or a longer class keeps it running), the office
      is told the notice is withdrawn; a cycle that runs on is told again, if it runs out, under
      ids of its own.

    A cycle whose ids went out before runs again under ids of its own (`_run`); only the cycle
    `new` starts (a late inspection's own) was never known, so it keeps the first ids. Cycles
    from before what the file still holds (`MISSED` inspections, `CLASSES` decisions) are left
    as they are.
    """
    if er.coverage is None or f.registered is None:
        return []  # no rules, or never registered: nothing is owed before (`walk`), nothing went out
    horizon, starts = _starts(f)
    base = cycle_base(f)
    # Whether the current cycle's clock runs now; if not (no longer a key enterprise, or closed), its
    # miss, if time order had one before it stopped, is raised here as a past cycle's is.
    runs = bool(f.key and f.risk_class and f.status() == "registered")
    missed_then = {}  # start -> (miss, what began it): the cycles time order missed, but a running one
    for (start, began), later in zip(starts, [*(s for s, _ in starts[1:]), None][:len(starts)], strict=True):
        if later is None and runs:
            continue  # `derive` runs its clocks under the classes in force
        w = walk(f, er, start)
        if (w is not None and (w[1] <= at if later is None else later > w[1])
                and not _ceased(f, w[1])):
            missed_then[start] = (w[1], began)
    running = walk(f, er, base) if base is not None and runs else None
    hit = []
    for m in f.missed:
        if m[0] < horizon:
            continue
        # A miss stored before 2026-12-07 is dated at the hour of the cycle's start: one on the day
        # time order misses the cycle is that miss, and stands as it was sent.
        day_end = _days_after(er, m[1], 0)
        if m[0] == base and runs:
            stands = running is not None and day_end >= running[1] and running[1] <= at and not _ceased(
                f, running[1])
        else:
            stands = m[0] in missed_then and day_end >= missed_then[m[0]][0]
        if not stands:
            hit.append(m)
    outs = _take_back(f, er, hit, eid, at, why, referral_why, without) if hit else []
    used = {m[0] for m in hit}  # bases whose ids went out and were withdrawn
    kept = {m[0] for m in f.missed}
    for start, (_, began) in sorted(missed_then.items()):
        if start in kept:
            continue
        ran = walk(f, er, start)
        outs += _told_otherwise(f, er, start, ran[3], eid, at, why)
        if start != new:
            _run_again(f, er, start)
        outs += _missed_then(f, er, start, began, ran)
        if start == base:  # the current cycle, its clock stopped: both its steps are out, so should
            f.cov_base, f.cov_step = start, 2  # the clock run again (a key one again), nothing is left
    again = base in used and base not in missed_then  # the running cycle runs again (not raised here)
    for start in sorted({*(n[0] for n in f.notices), *([told] if told is not None else [])}):
        if start < horizon:
            continue
        when, town_cls = _told_in_time_order(f, er, start, starts, at)
        if when is None:
            outs += _notice_withdrawn(f, er, start, _notice_class(f, er, start, without), eid, at, why)
            again = again or start == base  # told again, if it runs out, under ids of its own
        else:
            outs += _told_then(f, er, start, when, town_cls, start == base and again and runs, eid, at,
                               why)
    if again:
        if runs and (ran := walk(f, er, base)) is not None:  # its clock tells the office anew
            outs += _told_otherwise(f, er, base, ran[3], eid, at, why)
        _run_again(f, er, base)
        if base == f.cov_base:
            f.cov_step = 0  # it runs on: `derive` sets its clocks under the classes in force
    _forget_runs(f)
    return outs


def _told_otherwise(f: Any, er: EnterpriseRules, start: int, cls: str, eid: str, at: int,
                    why: str) -> list[Out]:
    """Withdraw the notice on file of the cycle from `start` if it went under another class than
    `cls`, the class time order tells the office under (its days are others, too): the cycle, raised
    again or running again, tells the office anew (`_town_told`). One of the same class says what
    it would say again, and stands; so does one stored before format 9, which keeps no class."""
    sent = _notice(f, start)
    if sent is None or sent[2] is None or sent[2] == cls:
        return []
    return _notice_withdrawn(f, er, start, sent[2], eid, at, why)


def _told_then(f: Any, er: EnterpriseRules, start: int, when: int, town_cls: str | None, retold: bool,
               eid: str, at: int, why: str) -> list[Out]:
    """The notice on file of the cycle from `start` stands: time order tells the town safety office
    at `when` too, under class `town_cls`. It is kept, told then (a record dated before then may
    still show time order never told it, `told_since`), unless it went sooner under another class
    (a longer class recorded late, the cycle not to run out again: closed or no longer a key
    enterprise since, or a later cycle begun): then it is withdrawn and the office told anew, dated
    `when`, under `town_cls` and ids of a run of its own. A cycle whose clock tells the office anew
    (`retold`) is left to it, and a notice time order gives sooner (a shorter class recorded late)
    stands as it was sent, as such a miss does. Until 2026-12-07 the notice stood under the class
    it went under, dated as it went."""
    notice = _notice(f, start)
    if notice is not None and notice[2] is not None and not retold:
        went = notice[4] if notice[4] is not None else notice[1]
        if town_cls is not None and town_cls != notice[2] and when > went:
            _run_again(f, er, start)  # first: what stands keeps the ids it went under
            return (_notice_withdrawn(f, er, start, notice[2], eid, at, why)
                    + _town_told(f, er, start, when, town_cls))
    for n in f.notices:
        if n[0] == start:
            n[1] = when
    return []


def _told_in_time_order(f: Any, er: EnterpriseRules, start: int, starts: list[tuple[int, str]],
                        at: int) -> tuple[int | None, str | None]:
    """When time order told the town safety office that the cycle from `start` ran out: before
    the next cycle started (by `at`, if none did), before the enterprise closed or ceased to be a
    key one; None if it never did. And the class whose days it was told after (`_steps`)."""
    cls, town, _, told, town_cls = _steps(f, er, start)
    later = [s for s, _ in starts if s > start]
    if later and town >= later[0]:
        return None, town_cls  # the next cycle started first
    if cls is None:  # its clock stopped (no longer a key enterprise): told only if before
        return (town if told else None), town_cls
    return (town if (bool(later) or town <= at) and not _ceased(f, town) else None), town_cls


def _notice_class(f: Any, er: EnterpriseRules, start: int, without: str | None) -> str:
    """The class the notice of the cycle from `start` went under (`coverage.<class>`): as the file
    keeps it, else (a notice stored before 2026-12-06, or `told`, which a file stored before
    2026-12-05 keeps alone) the class the cycle ran out under without the record `without`."""
    kept = next((n[2] for n in f.notices if n[0] == start and n[2]), None)
    if kept is not None:
        return kept
    ran = walk(f, er, start, without)
    return ran[2] if ran is not None else f.risk_class


def _notice_withdrawn(f: Any, er: EnterpriseRules, base: int, cls: str, eid: str, at: int,
                      why: str) -> list[Out]:
    """Tell the town safety office that its notice of the cycle from `base` (run out under `cls`) is
    withdrawn: `why`, a record reaching the engine late, shows time order never gave it, or gave it
    under another class (`_told_otherwise`). The withdrawal is named by the run the notice went under."""
    days = getattr(er.coverage.days, cls)
    targets = resolve("town_safety_office", _place(f), er.rules)
    notice = _notice(f, base)
    run = notice[3] if notice is not None else None
    f.notices = [n for n in f.notices if n[0] != base]
    return [_escalation(f, er, "notice_withdrawn", "yellow", at, targets,
                        f"The notice that key enterprise {f.name or f.id} ({cls}) was not inspected within "
                        f"{days} days of {iso(base)} is withdrawn: {why}", base, eid, risk_class=cls,
                        run=run)]


def walk(f: Any, er: EnterpriseRules, start: int, without: str | None = None
         ) -> tuple[int, int, str, str] | None:
    """When the cycle from `start` ran out in time order: (the town safety office told, the lead
    department's miss, the class it ran out under, the class the office was told under); None when
    no cycle clock ran (no class, or not a key enterprise when it would have run out). `without`: as
    if classification `without` were not on file.

    A cycle runs the days of the class in force at its start. A decision during it, before the
    town safety office was told, gives it the new class's days from the same start; one after,
    before the lead department's miss, moves only that miss. A class never reaches back: a cycle
    shortened by a decision runs out no sooner than the decision (a duty is owed from when it was
    set), and the lead department still has its `grace_days` after that. A decision at the very
    second a step falls due comes first, as every record does (engine/kernel/apply.py). A decision
    that the enterprise is no longer a key one stops the clock; a later one that it is starts it
    again, as `derive` does. So does each spell the enterprise was closed (`spells`): nothing is
    owed while it is closed, and when it is back its cycle runs on as from a decision of the class
    it had, so a step that would have come while it was closed comes when it is back, and the
    lead department still has its `grace_days`. An enterprise classified before it was first
    registered owed nothing before that registration, as if it had been closed till then.
    """
    cls, town, lead, _, town_cls = _steps(f, er, start, without)
    return None if cls is None else (town, lead, cls, town_cls or cls)


def _steps(f: Any, er: EnterpriseRules, start: int, without: str | None = None
           ) -> tuple[str | None, int, int, bool, str | None]:
    """`walk`'s reckoning: (the class the cycle ran out under, None if its clock stopped or never ran;
    the town safety office's notice; the lead department's miss; whether the notice came before
    the clock stopped; the class whose days the notice came after)."""
    days, grace = er.coverage.days, er.coverage.grace_days
    cls, town, lead, told, town_cls = None, 0, 0, False, None
    shut, held = False, None  # closed (the clock stopped), and the class to run under when back
    for decided, risk, key in _decisions(f, without):
        if decided > start and cls is not None:  # a decision during the cycle: what fired before it
            told = told or town < decided
            if told and lead < decided:
                break
        if risk == _CLOSED:  # (one inside another spell, as before a first registration, changes nothing)
            shut, held, cls = True, held if shut else cls, None
            continue
        if risk == _BACK:  # registered again: the clock runs on as from a decision of the class it had
            if not shut:
                continue  # the end of a spell inside another that ended already
            shut, risk, key = False, held, held is not None
        elif shut:  # a decision while closed: the class to run under when back
            held = risk if key else None
            continue
        if not key or not risk:
            cls = None
            continue
        end = max(_days_after(er, start, getattr(days, risk)), decided)
        if not told:
            town, town_cls = end, risk
        cls, lead = risk, _days_after(er, end, grace)
    return cls, town, lead, told, town_cls


def _days_after(er: EnterpriseRules, start: int, days: int) -> int:
    """The end of a period of `days` days from `start`, as the law counts one and the hazards'
    deadlines do (民法典 art. 201, art. 203): the day of `start` is not counted, the last day ends
    at 24:00 (23:59:59), and a last day that is a rest day gives way to the next working day
    (para. 1; rules/hazards.yaml `periods`). Where that day is a guess (a year no holiday notice
    covers, near a holiday), the latest it could truly be (engine/kernel/time.py `latest`): the
    lead department's miss is a duty failure referred to discipline inspection, never before the
    law allows. Counted in seconds from `start`'s hour, an inspection on the last day of a
    grace, in the afternoon, came after a miss dated that morning, and the department was
    referred for a duty it had done in time."""
    span = Span(days, "days")
    due = after(span, start, er.rules)
    return latest(span, start, due.at, er.rules) if due.approximate else due.at


_CLOSED, _BACK = "(closed)", "(registered again)"


def _decisions(f: Any, without: str | None) -> list[tuple[int, str | None, bool]]:
    """What stops and starts a cycle clock, in time order: the classification decisions on file (but
    `without`), each spell the enterprise was closed and is over (`spells`; one that is not over
    stops the clock for good, as `_ceased` tells), and, for an enterprise classified before it was
    first registered, the time before that registration, as a spell closed."""
    found = [(t, risk, key) for t, risk, key, event_id in classes_on_file(f) if event_id != without]
    over = [(t, mark, False) for closed, back in spells(f) if back is not None
            for t, mark in ((closed, _CLOSED), (back, _BACK))]
    first = f.first_registered
    if first is not None and found and found[0][0] < first:  # classified before it was registered:
        over += [(found[0][0] - 1, _CLOSED, False), (first, _BACK, False)]  # owed nothing till then
    # A closure in the very second of a registration comes after it, as `spells` has it.
    return sorted([*found, *over], key=lambda d: (d[0], d[1] == _CLOSED)) if over else found


def spells(f: Any) -> list[tuple[int, int | None]]:
    """The spells the enterprise was closed, oldest first: (closed from, registered again at, None
    while it is still closed). A spell starts at a closure while the enterprise is open and ends
    at the next registration; a closure and a registration in the same second leave it closed,
    as `EnterpriseFile.status` has it. For a file stored before 2026-12-05, the latest closure
    and registration on file stand for all of them."""
    closures = f.closures or ([f.closed_at] if f.closed_at is not None else [])
    if not closures:
        return []  # never closed: most files
    registrations = f.registrations or ([f.registered_at] if f.registered_at is not None else [])
    found: list[tuple[int, int | None]] = []
    since = None
    for t, closing in sorted([*((t, False) for t in registrations), *((t, True) for t in closures)]):
        if closing and since is None:
            since = t
        elif not closing and since is not None:
            found.append((since, t))
            since = None
    return found if since is None else [*found, (since, None)]


def classes_on_file(f: Any) -> list[list[Any]]:
    """The classification decisions on file, oldest first: [decided_at, class, key, event id]; for a
    file stored before 2026-12-05, the one on file."""
    if f.classes:
        return f.classes
    c = f.classified
    return [[c[0], f.risk_class, f.key, c[3]]] if c is not None else []


def _ceased(f: Any, t: int) -> bool:
    """Whether the enterprise was closed at or before `t` and is closed now (its last spell closed
    is not over)."""
    found = spells(f)
    return bool(found) and found[-1][1] is None and found[-1][0] <= t


def _starts(f: Any) -> tuple[int, list[tuple[int, str]]]:
    """Where each cycle on file started, in time order, with the event that started it (the current
    cycle's start last), and the first time they are all known from: before it the file keeps no
    inspection (or no classification) it may have had."""
    times = f.inspected or enforced(f)
    classes = classes_on_file(f)
    horizon = classes[0][0] if len(classes) >= CLASSES else 0
    if len(times) < f.inspections or len(times) > MISSED:
        horizon = max(horizon, times[0])  # inspections before the first kept are not on file
    for kept in (f.closures, f.registrations):
        if len(kept) >= SPELLS:
            horizon = max(horizon, kept[0])  # closed spells before the first kept may be gone
    first = times[0] if times else None
    starts = [(c[0], c[3]) for c in classes if (first is None or c[0] < first) and c[0] >= horizon]
    last = f.last_inspection
    by = {**({str(last[0]): last[1]} if last and law_enforcement(last[2]) else {}), **f.inspected_by}
    starts += [(t, by.get(str(t), f"inspection {iso(t)}")) for t in times if t >= horizon]
    return horizon, starts


def _missed_then(f: Any, er: EnterpriseRules, start: int, began: str,
                 ran: tuple[int, int, str, str]) -> list[Out]:
    """Raise the steps of the cycle from `start` (begun by event `began`), missed in time order, each
    dated when it came due under the classes in force (`ran`, as `walk` gives it); the current
    cycle's own steps are not touched."""
    town, lead, cls, town_cls = ran
    return _town_told(f, er, start, town, town_cls) + _lead_failed(f, er, start, lead, began, cls)


def _take_back(f: Any, er: EnterpriseRules, hit: list[list[Any]], eid: str, at: int, why: str,
               referral_why: str, without: str | None = None) -> list[Out]:
    """Withdraw the missed cycles `hit`: each department told `why`, each referral sent withdrawn
    saying `referral_why` (rebuilt as sent: without classification `without`, the record that
    withdraws it), a held one dropped, and the referrals that counted them recounted."""
    outs: list[Out] = []
    for missed in hit:
        f.missed.remove(missed)
        base, due, dept, _, referral, cls, *_ = missed
        f.duty_fails[dept] -= 1
        outs.append(_escalation(
            f, er, "failure_withdrawn", "orange", at, [department_unit(dept, er.rules.reference)],
            f"The duty failure of {dept} on key enterprise {f.name or f.id} at {iso(due)} is withdrawn: "
            f"{why}", base, eid, risk_class=cls or _class_at(f, due, without), run=_miss_run(f, missed)))
        if referral == SENT:
            outs += _withdraw(f, er, missed, eid, at, referral_why, without)
    for dept in {m[2] for m in hit}:
        outs += _recount(f, er, dept, eid, at, without)
    return outs


def _class_at(f: Any, t: int, without: str | None) -> str | None:
    """The key class decided latest by `t`, leaving out the re-classification `without` that
    withdraws a failure at `t`: the class such a failure is withdrawn under when its miss was
    stored before format 9, which keeps no class with it (since then the miss keeps the class it
    ran out under, and its withdrawal goes under that). None without one (the file's class)."""
    found = [risk for decided, risk, key, event_id in classes_on_file(f)
             if decided <= t and event_id != without and key and risk]
    return found[-1] if found else None


def _recount(f: Any, er: EnterpriseRules, dept: str, eid: str, at: int,
             without: str | None = None) -> list[Out]:
    """Drop or withdraw the referrals of `dept`'s missed cycles that no longer reach the threshold.

    A missed cycle is referred when it is the department's threshold-th failure or later; its
    place counts every failure still standing, including those too old to be kept in `missed`.
    """
    mine = sorted((m for m in f.missed if m[2] == dept), key=lambda m: m[1])
    outs: list[Out] = []
    for later, missed in enumerate(reversed(mine)):
        place = f.duty_fails[dept] - later
        if place >= er.rules.duty_failures.threshold or missed[4] not in (HELD, SENT):
            continue
        if missed[4] == SENT:
            outs += _withdraw(f, er, missed, eid, at, f"inspection {eid} withdrew an earlier failure "
                                                      f"of {dept}: this cycle's is its failure {place}, "
                                                      f"under the threshold of "
                                                      f"{er.rules.duty_failures.threshold}",
                              without)
        missed[4] = None
    return outs


def _withdraw(f: Any, er: EnterpriseRules, missed: list[Any], eid: str, at: int, reason: str,
              without: str | None = None) -> list[Out]:
    """Withdraw the referral sent for `missed` (`safety.referral.withdrawn`), and tell its recipients."""
    base, due = missed[0], missed[1]
    sent = _refer(f, er, missed, due, without)
    if not sent:
        return []  # nobody public answers for it under today's rules: nothing to withdraw from
    referral_out, esc = sent
    told = {**esc.event["data"], "action": "referral_withdrawn", "tier": "orange",
            "escalation_id": _escalation_id(f, "referral_withdrawn", base, _miss_run(f, missed)),
            "caused_by": [eid],
            "reason": f"Referral to discipline inspection withdrawn: {reason}"}
    zh = Words("zh", er.rules.reference)
    zh.said(told)
    raised = envelope("safety.escalation.raised", told["escalation_id"], f.id, at, told)
    return [withdrawal(referral_out, reason, at, zh.reason(reason)), Out(ESCALATIONS, f.id, raised)]


def _refer(f: Any, er: EnterpriseRules, missed: list[Any], at: int, without: str | None = None) -> list[Out]:
    """Refer the department's duty failure to discipline inspection, as a hazard's is referred; the
    cycle as it ran out under the classes in force (`walk`), without classification `without` when
    rebuilding a referral as it was sent before that record came."""
    base, due, dept, start = missed[:4]
    rules, ground = er.rules, er.rules.duty_failures
    place = _place(f)
    units = answerable(resolve_all(ground.respondents, place, rules, failing=dept), rules.reference)
    if not units:
        return []  # nobody public to answer for it: nothing to refer
    ran = walk(f, er, base, without)
    cls = ran[2] if ran is not None else f.risk_class
    what = _what(f, er, base, cls)
    miss_run = _miss_run(f, missed)
    run = "".join(f":{part}" for part in _run(f, base, miss_run))
    tag = f"{ground.rule_id}:{dept}:coverage:{f.id}:{base}{run}"
    count = f.duty_fails[dept]
    reason = (f"{dept} failed its duty (不履行安全监管职责) on key enterprise {f.name or f.id} "
              f"{count} time(s): {what}")
    told_run, town_due = _named_notice(f, er, missed, without)
    zh = Words("zh", rules.reference)
    timeline = [
        zh.timeline_item(base, start, "coverage cycle started (last inspection, or classification as a "
                         "key enterprise)"),
        zh.timeline_item(town_due, _escalation_id(f, "coverage_missed", base, told_run),
                         "cycle ran out: the town safety office was told"),
        zh.timeline_item(due, _escalation_id(f, "duty_failure", base, miss_run),
                         f"still not inspected: duty failure of {dept}")]
    rid = output_id("referral", tag)
    data = {"referral_id": rid, "subject_kind": "department", "subject_id": dept,
            "respondents": [{k: u[k] for k in ("kind", "id", "name")} for u in units],
            "grounds": ground.code, "reason": reason, "timeline": timeline,
            "rules_version": rules.version}
    zh.said(data)
    data.update(jurisdiction(units, rules.reference, addressee(rules), zh.reason))  # a city bureau's branch
    # Told as a hazard's referral is: discipline inspection and the bodies (its officials are named in it).
    targets = resolve(rules.referral_target, place, rules) + [u for u in units if u["kind"] != "official"]
    eid = _escalation_id(f, "discipline_referral", base, miss_run)
    esc = {"escalation_id": eid, "subject_kind": "enterprise", "subject_id": f.id,
           "action": "discipline_referral", "tier": "red", "targets": targets,
           "reason": f"Referred to discipline inspection (抄报移送纪委监委): {reason}",
           "rules_version": rules.version, "rule_id": ground.rule_id, "due_at": None, "town": f.town,
           "sector": f.sector, "grade": None,
           "caused_by": [_escalation_id(f, "duty_failure", base, miss_run)]}
    zh.said(esc)
    return [Out(REFERRALS_DISCIPLINE, dept, envelope("safety.referral.discipline", rid, dept, at, data)),
            Out(ESCALATIONS, f.id, envelope("safety.escalation.raised", eid, f.id, at, esc))]
