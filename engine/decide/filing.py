"""The monthly filing of supervision results with discipline inspection (periodic_filing).

The plans (line 798) copy "监督检查结果" to the discipline commission for its
records (抄报同级纪委监委…备案). This is not a referral for a failure: each
department that leads a sector files, once a month, what happened to the
hazards it supervises, even when nothing did (a nil filing). It is built from
the hazards' states alone, so like the cores it is pure:

    outs = monthly_filings(states.values(), "2026-11", rules)

Each output is a `safety.referral.discipline` with grounds `periodic_filing`,
subject_kind `department` and subject_id the department's id; its id comes
from the department and the month, so filing a month twice sends the same ids.
It names the hazards it counts as found (`found_ids`), so that a hazard found
in the month whose records reach the engine after the month was filed can be
filed later as a supplement to it (`supplements`), not left out of every filing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import orjson

from engine.contract.outputs import REFERRALS_DISCIPLINE
from engine.decide.proposals import ESCALATED, moot
from engine.decide.state import Hazard
from engine.errors import EngineError
from engine.kernel.ids import output_id
from engine.kernel.outputs import Out, envelope
from engine.kernel.referral import bounded, jurisdiction
from engine.kernel.targets import addressee, department_unit, lead_department
from engine.ruleset.calendar import SHANGHAI
from engine.ruleset.compiled import Rules
from engine.zh.words import Words

# A filing's `found_ids` as JSON at most: with its timeline (engine/kernel/referral.py TIMELINE_BYTES)
# a filing stays well under the topic's 4 MiB records, however many hazards a flood of reports opened.
FOUND_IDS_BYTES = 1024 * 1024


class FilingError(EngineError, ValueError):
    """A month that cannot be filed: badly written, or rules without a periodic_filing ground."""


def month_bounds(month: str) -> tuple[int, int]:
    """The first instant of `month` ("YYYY-MM") and of the next one, Asia/Shanghai, epoch seconds."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=SHANGHAI)
    except ValueError:
        raise FilingError(f"month {month!r}: write it as YYYY-MM, e.g. 2026-11") from None
    following = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return int(start.timestamp()), int(following.timestamp())


def monthly_filings(hazards: Iterable[Hazard], month: str, rules: Rules,
                    counted: frozenset[str] = frozenset()) -> list[Out]:
    """One filing per sector-leading department for `month` (and per other lead department with
    hazards in it), dated at the month's end. `counted`: hazards the filings of the month already
    sent counted, left out, so that a department filed afterwards (a lead department a record named
    since) does not count them a second time."""
    _ground(rules)
    start, end = month_bounds(month)
    by_dept = _by_department((h for h in hazards if h.id not in counted), start, end, rules)
    return [_filing(dept, by_dept[dept], month, start, end, rules) for dept in sorted(by_dept)]


def supplements(hazards: Iterable[Hazard], month: str, rules: Rules,
                filed: Mapping[str, tuple[str, frozenset[str]]],
                counted_elsewhere: frozenset[str] = frozenset()) -> list[Out]:
    """For each department whose filing of `month` is `filed` (department: (its referral_id, the
    hazards it and its supplements counted as found)), a supplement naming the hazards found in
    the month that no filing counted: their records reached the engine after it was filed. A
    hazard another department's filing of the month counted (a sector that changed lead
    department since) is not one, nor one a filing of another month counted as found there
    (`counted_elsewhere`: an earlier-dated record that came late moved when it was found; it was
    filed, and filing it again would count it twice). A department with such hazards and no
    filing of the month (a lead department a record named, outside the sectors' leads, whose
    first hazard of the month came late) gets its filing of the month instead. Ids come from the
    department, the month and those hazards, so the same late hazards are filed under one id
    however often this runs."""
    _ground(rules)
    start, end = month_bounds(month)
    counted = counted_elsewhere.union(*(found for _, found in filed.values()))
    outs = []
    for dept, hs in sorted(_by_department(hazards, start, end, rules).items()):
        late = [h for h in hs if start <= h.opened_at < end and h.id not in counted]  # type: ignore[operator]
        if not late:
            continue
        if dept not in filed:
            outs.append(_filing(dept, [h for h in hs if h.id not in counted], month, start, end, rules))
            continue
        # Those over the bound wait for the next filing day's supplement.
        late = late[:_fitting([h.id for h in late])]
        if late:
            outs.append(_supplement(dept, late, filed[dept][0], month, start, end, rules))
    return outs


def _fitting(ids: list[str]) -> int:
    """How many of `ids`, from the first, fit in FOUND_IDS_BYTES as a JSON list."""
    used = 2
    for count, hazard_id in enumerate(ids):
        used += len(orjson.dumps(hazard_id)) + 1
        if used > FOUND_IDS_BYTES:
            return count
    return len(ids)


def _ground(rules: Rules) -> None:
    if rules.periodic_filing is None:
        raise FilingError("the rules have no referral.periodic_filing ground (rules/hazards.yaml)")


def _by_department(hazards: Iterable[Hazard], start: int, end: int, rules: Rules) -> dict[str, list[Hazard]]:
    """The hazards a month's filings speak of, by lead department (every sector-leading one,
    with none too), each department's by id."""
    leads = sorted({a.lead.id for a in rules.reference.sectors.values()})
    by_dept: dict[str, list[Hazard]] = {d: [] for d in leads}
    for h in hazards:
        dept = lead_department(h, rules) if h.opened is not None else None
        if dept is None or h.opened_at is None or h.opened_at >= end:
            continue
        if h.closed_at is not None and h.closed_at < start and not _proposals_due(h, start, end):
            continue  # closed before the month, no proposal of it due in the month: nothing to file
        by_dept.setdefault(dept, []).append(h)
    return {dept: sorted(hs, key=lambda h: h.id) for dept, hs in by_dept.items()}


def _proposals_due(h: Hazard, start: int, end: int, escalated: bool = False) -> list[list[object]]:
    """The hazard's enforcement proposals with a review or decision due in [start, end): the first
    the proposal asks for, or the decision due once a review approved it; with `escalated`, only
    those that ran out with none on record (and were not taken back since). A proposal counts once;
    one moot by its due time (an order to stop on a hazard rectified and accepted: proposals.py
    `moot`) is no proposal left unanswered, nor one to file."""
    return [p for p in h.proposals if any(
        due is not None and start <= due < end and (not escalated or state == ESCALATED)  # type: ignore[operator]
        and not moot(h, p, due) for due, state in ((p[3], p[5]), (p[6], p[7])))]


def _filing(dept: str, hazards: list[Hazard], month: str, start: int, end: int, rules: Rules) -> Out:
    ground = rules.periodic_filing
    assert ground is not None
    rid = output_id("filing", dept, month, ground.rule_id)
    found_ids = [h.id for h in hazards if start <= h.opened_at < end]  # type: ignore[operator]
    found = len(found_ids)
    closed = sum(1 for h in hazards if h.closed_at is not None and start <= h.closed_at < end)
    still_open = [h for h in hazards if h.closed_at is None or h.closed_at >= end]
    # Past its deadline at the month's last second (`Hazard.overdue`): one claimed complete by then
    # and awaiting its review is not, the review being the department's to make.
    overdue = sum(1 for h in still_open if h.overdue(end - 1))
    listed = sum(1 for h in still_open if h.listed and h.listed[3])
    unanswered = sum(len(_proposals_due(h, start, end, escalated=True)) for h in hazards)
    respondent = department_unit(dept, rules.reference)
    reason = (f"Supervision results of {respondent['name'] or dept} for {month} (监督检查结果抄报备案): "
              f"{found} hazards found, {closed} closed, {len(still_open)} open at the month's end, "
              f"{overdue} of them past their deadline, {listed} under listed supervision, {unanswered} "
              "enforcement proposals with no legal review or decision by their due time")
    # Too many to name (a flood of reports): not named, and the month gets no supplement.
    named = found_ids if _fitting(found_ids) == found else None
    return _out(dept, rid, reason, hazards, {"found_ids": named}, start, end, rules)


def _supplement(dept: str, late: list[Hazard], original: str, month: str, start: int, end: int,
                rules: Rules) -> Out:
    ground = rules.periodic_filing
    assert ground is not None
    ids = [h.id for h in late]
    rid = output_id("filing-supplement", dept, month, ground.rule_id, *ids)
    still_open = [h for h in late if h.closed_at is None or h.closed_at >= end]
    overdue = sum(1 for h in still_open if h.overdue(end - 1))
    respondent = department_unit(dept, rules.reference)
    reason = (f"Supplement to the supervision results of {respondent['name'] or dept} for {month} "
              f"(监督检查结果补充备案): {len(ids)} hazards found in the month whose records reached the "
              f"engine after the month was filed, {len(still_open)} of them open at the month's end, "
              f"{overdue} past their deadline")
    return _out(dept, rid, reason, late, {"found_ids": ids, "supplements": original}, start, end, rules)


def _out(dept: str, rid: str, reason: str, hazards: list[Hazard], extra: dict[str, object], start: int,
         end: int, rules: Rules) -> Out:
    """A filing (or a supplement) of `hazards`' steps in [start, end), dated at the month's end."""
    respondent = department_unit(dept, rules.reference)
    zh = Words("zh", rules.reference)
    timeline = bounded(sorted(
        (zh.timeline_item(t, e, f"{h.id}: {w}")
         for h in hazards for t, e, w in h.timeline() if start <= t < end),
        key=lambda item: (item["time"], item["event_id"])))
    data = {"referral_id": rid, "subject_kind": "department", "subject_id": dept,
            "respondents": [respondent], "grounds": "periodic_filing", "reason": reason,
            "timeline": timeline, "rules_version": rules.version, **extra}
    zh.said(data)
    # The plans file results with "同级纪委监委" (line 798): a branch of a city bureau's is not the
    # district's commission, which is asked to pass it on (engine/kernel/referral.py `jurisdiction`).
    data.update(jurisdiction([respondent], rules.reference, addressee(rules), zh.reason))
    return Out(REFERRALS_DISCIPLINE, dept, envelope("safety.referral.discipline", rid, dept, end - 1, data))
