"""The enterprise core: `decide_enterprise(state, entry, rules, now) -> (file, outputs)`, pure.

It reads three kinds of timeline entry keyed by the enterprise's USCC:
- the enterprise records a field app sends (`safety.enterprise.registered`,
  `.classified`, `.closed`);
- an inspection's enterprise entry, which the intake adds to every
  `safety.inspection.recorded` (an inspection with no findings counts too);
- a link (`LINK_TYPE`), which the hazard and alert cores add when what an
  enterprise's file shows of one of its hazards or alerts changes
  (engine/enterprise/links.py): the intake cannot know the enterprise of a
  later rectification or enforcement record, the hazard's state does.

Entries about an enterprise that is not registered yet build its file all the
same; the registration then fills in who it is, and everything linked before
stays in the file.
"""

from __future__ import annotations

import bisect
import operator
from typing import Any

from engine.contract.intake import law_enforcement
from engine.decide.state import DISMISSALS
from engine.enterprise import coverage, credit
from engine.enterprise.coverage import EnterpriseRules
from engine.enterprise.state import CLASSES, MAX_OPEN, MONTHS, RECENT, SAME_SECOND, SPELLS, EnterpriseFile
from engine.intake.timeline import INSPECTED_TYPE
from engine.kernel.apply import advance_clocks, apply_entry
from engine.kernel.entries import TOWNS
from engine.kernel.outputs import Out
from engine.kernel.referral import decided_at
from engine.kernel.time import epoch, iso
from engine.zh.words import Words

LINK_TYPE = "safety.enterprise.linked"  # internal: a hazard's or alert's summary for the file


def _advance(f: EnterpriseFile, er: EnterpriseRules, now: int) -> list[Out]:
    return advance_clocks(f, er, now, coverage.derive, coverage.fire)


_RECENT_ORDER = operator.itemgetter(0, 1)  # (time, event id): arrival order must not matter
_DECIDED = operator.itemgetter(0, 3)  # a classification's (decided at, event id)


def _note(f: EnterpriseFile, at: int, event_id: str, what: str, hazard: str = "") -> None:
    """Add a step to the file's record, with the id of the hazard it concerns ("": the enterprise
    itself): a town's viewer is shown it by that, whatever its words name (view.py `record_lines`)."""
    # Only this keeps `recent`, always in order, so the new line is put in its place (after the
    # lines of the same key, where appending and sorting put it) instead of sorting them all.
    bisect.insort(f.recent, [at, event_id, what, hazard], key=_RECENT_ORDER)
    del f.recent[:-RECENT]


def _spell_fact(f: EnterpriseFile, name: str, at: int) -> None:
    """Keep the time of a closure or a registration (`name`: "closures" or "registrations"), for the
    spells the enterprise was closed (coverage.spells)."""
    if not f.closures and not f.registrations:  # a file stored before 2026-12-05: its latest of each
        f.closures = [f.closed_at] if f.closed_at is not None else []
        f.registrations = [f.registered_at] if f.registered_at is not None else []
    kept = getattr(f, name)
    if at not in kept:
        bisect.insort(kept, at)
        del kept[:-SPELLS]


def _registered(f: EnterpriseFile, d: dict[str, Any], at: int, eid: str) -> str:
    _spell_fact(f, "registrations", at)
    if f.registered is None or (f.first_registered is not None and at < f.first_registered):
        f.first_registered = at  # its first registration, or one dated before it that came late
    if f.registered_at is None or at >= f.registered_at:  # the latest registration holds
        f.registered, f.registered_at, f.name = eid, at, d["name"]
        f.town, f.address = d["location"]["town"], d["location"].get("address")
        f.sector, f.legal_representative = d["sector"], d["legal_representative"]
    return f"registered: {d['name']} ({d['sector']}, {d['location']['town']})"


def _on_file(f: EnterpriseFile) -> None:
    if not f.classes and f.classified is not None:  # a file stored before 2026-12-05: its one on file
        f.classes = [[f.classified[0], f.risk_class, f.key, f.classified[3]]]


def _decided_again(f: EnterpriseFile, d: dict[str, Any]) -> bool:
    """Whether the file holds this classification already: the same class and key-enterprise
    status decided at the same time, sent again under a fresh event id (a retry, or a correction of
    its number). It is one decision: it bears on no cycle twice, nor takes a place among those kept.
    A correction of its number or of who decided, when it is the decision in force, is kept."""
    _on_file(f)
    decided, cls, key = epoch(d["decided_at"]), d["risk_class"], d["key_enterprise"]
    if not any(c[0] == decided and c[1] == cls and c[2] == key for c in f.classes):
        return False
    if f.classified is not None and f.classified[0] == decided and (f.risk_class, f.key) == (cls, key):
        f.classified = [decided, d["decided_by"].get("id"), d.get("decision_no"), f.classified[3]]
    return True


def _classified(f: EnterpriseFile, d: dict[str, Any], eid: str) -> str:
    decided = epoch(d["decided_at"])
    _on_file(f)
    bisect.insort(f.classes, [decided, d["risk_class"], d["key_enterprise"], eid], key=_DECIDED)
    del f.classes[:-CLASSES]
    if f.classified is None or decided >= f.classified[0]:  # the latest decision holds
        f.risk_class, f.key = d["risk_class"], d["key_enterprise"]
        f.classified = [decided, d["decided_by"].get("id"), d.get("decision_no"), eid]
    key = ", key enterprise (重点企业)" if d["key_enterprise"] else ""
    return f"classified {d['risk_class']}{key} by {d['decided_by'].get('id')}"


def _refused(f: EnterpriseFile, d: dict[str, Any], at: int, er: EnterpriseRules) -> list[Out]:
    """An inspection refused or obstructed (拒绝、阻碍检查): kept for credit, not counted as done."""
    f.refusals[d["inspection_id"]] = at
    f.name = f.name or d["enterprise"]["name"]
    f.town = f.town or d["location"]["town"]
    threshold = er.credit.refused_inspection if er.credit is not None else None  # none without a plan.yaml
    outs = [] if threshold is None else credit.on_refusal(f, at, threshold, Words("zh", er.rules.reference))
    credit.keep_latest(f.refusals, threshold)
    return outs


def _unrefused(f: EnterpriseFile, d: dict[str, Any], at: int, eid: str, er: EnterpriseRules) -> list[Out]:
    """An inspection on file as refused, sent again as completed: a correction (docs/enterprises.md),
    so the record shows it done, not refused. The refusal leaves the file, and each credit proposal
    that counted it is withdrawn; the inspection then counts as done, as any completed one does.
    Until 2026-12-07 the file counted it done and kept the refusal, with its proposal, as well."""
    if er.credit is None:
        del f.refusals[d["inspection_id"]]
        return []
    return credit.on_refusal_corrected(f, d["inspection_id"], at, eid, er.credit.refused_inspection,
                                       Words("zh", er.rules.reference))


def _counted(f: EnterpriseFile, inspection_id: str) -> bool:
    """Whether the file counts this inspection already. A field app that sends an inspection again
    under a fresh event id (a retry, or a correction) records the same inspection, which counts
    once: for the annual plan, the file and the key enterprise's cycle alike. The file knows the ids
    of its latest inspections by time (`inspected_by`: coverage.MISSED + 1 of them, SAME_SECOND more
    made in a second one of those has) and of its last; one older than those, recorded again,
    counts again."""
    last = f.last_inspection
    return (last is not None and last[1] == inspection_id) or inspection_id in f.inspected_by.values()


def _uncounted(f: EnterpriseFile, inspection_id: str) -> int | None:
    """Take inspection `inspection_id`, counted as done, out of the counts (a record of it sent again
    as refused supersedes the one that recorded it done): the inspections done, its month, the
    times and ids of `inspected` (another one of the same second keeps the time) and the last
    inspection, when it is that one. The file keeps the details of its last inspection alone, so it
    shows none until the next one. Returns the time it was done, or None if the file held it only as
    its last inspection, an expert check, which counted as none."""
    keys = [k for k, v in f.inspected_by.items() if v == inspection_id]
    last = f.last_inspection
    done = int(keys[0].partition("/")[0]) if keys else None
    if done is None and last is not None and last[1] == inspection_id and law_enforcement(last[2]):
        done = last[0]  # a file stored before `inspected` was kept knows only its last inspection
    if last is not None and last[1] == inspection_id:
        f.last_inspection = None
    if done is None:
        return None
    f.inspections = max(0, f.inspections - 1)
    month = iso(done)[:7]
    if f.months.get(month, 0) > 1:
        f.months[month] -= 1
    else:
        f.months.pop(month, None)
    for k in keys:
        del f.inspected_by[k]
    if str(done) in keys:  # another inspection of that second, if any, keeps the time
        other = next((k for k in f.inspected_by if k.partition("/")[0] == str(done)), None)
        if other is not None:
            f.inspected_by[str(done)] = f.inspected_by.pop(other)
        elif done in f.inspected:
            f.inspected.remove(done)
    return done


def _expert_check(f: EnterpriseFile, d: dict[str, Any], at: int) -> str:
    """An expert check (专家检查) is on the file's record, and is its last inspection if the latest,
    but it is not law enforcement: it neither counts as an inspection done, nor starts or answers a
    key enterprise's cycle (the plans' "全覆盖"执法检查), nor counts toward the annual enforcement
    plan. Until 2026-12-07 it did all three, so an expert's visit could stand for the enforcement the
    plans require, and a department that never came was not found to have missed its cycle."""
    if f.last_inspection is None or at >= f.last_inspection[0]:
        f.last_inspection = [at, d["inspection_id"], d["kind"], d["findings"]]
    f.name = f.name or d["enterprise"]["name"]
    f.town = f.town or d["location"]["town"]
    return f"inspection {d['inspection_id']} ({d['kind']}, not law enforcement): {d['findings']} finding(s)"


def _inspected(f: EnterpriseFile, d: dict[str, Any], at: int) -> str:
    f.inspections += 1
    month = iso(at)[:7]
    f.months[month] = f.months.get(month, 0) + 1
    for old in sorted(f.months)[:-MONTHS]:
        del f.months[old]
    if f.last_inspection is None or at >= f.last_inspection[0]:
        f.last_inspection = [at, d["inspection_id"], d["kind"], d["findings"]]
    if at not in f.inspected:
        bisect.insort(f.inspected, at)
        del f.inspected[:-coverage.MISSED - 1]
        f.inspected_by[str(at)] = d["inspection_id"]
    elif f.inspected_by.get(str(at)) != d["inspection_id"]:
        # Another inspection in the same second (an app that records the day alone): its id is kept
        # too, under a key of its own, so that a copy of it is known (`_counted`).
        f.inspected_by[f"{at}/{d['inspection_id']}"] = d["inspection_id"]
    kept = {str(t) for t in f.inspected}
    if len(f.inspected_by) > len(kept):  # those of a time no longer kept leave; the latest extras stay
        extra = [(t, i) for t, i in f.inspected_by.items() if "/" in t and t.partition("/")[0] in kept]
        f.inspected_by = {**{t: i for t, i in f.inspected_by.items() if t in kept},
                          **dict(extra[-SAME_SECOND:])}
    f.name = f.name or d["enterprise"]["name"]
    f.town = f.town or d["location"]["town"]
    return f"inspection {d['inspection_id']} ({d['kind']}): {d['findings']} finding(s)"


def _credit_from_hazard(f: EnterpriseFile, d: dict[str, Any], at: int, eid: str,
                        er: EnterpriseRules) -> list[Out]:
    """What a hazard's link may propose for the credit list, or withdraw (engine/enterprise/credit.py)."""
    zh = Words("zh", er.rules.reference)
    # No longer counted: an order's lifting before the violation, or else a verdict before it that the
    # hazard was unfounded or a duplicate (engine/enterprise/links.py `_counted`), recorded late.
    verdict = (None if d.get("lifted") else d["status"] if d["status"] in DISMISSALS
               else "unfounded or a duplicate")
    outs: list[Out] = []
    violated, unviolated = d.get("violated"), d.get("unviolated")
    if violated or unviolated:  # seldom: the orders' kinds are read only then
        kinds = {o[0]: o[1] for o in d.get("orders", [])}
        outs = [o for v in violated or () for o in credit.on_violation(f, d["id"], v, kinds.get(v[0]), zh)]
        outs += [o for v in unviolated or ()
                 for o in credit.on_unviolated(f, d["id"], v, kinds.get(v[0]), at, eid, zh, verdict)]
    if er.credit is None:
        return outs  # no thresholds without rules/plan.yaml
    if d.get("settled_at") is not None:  # a claim that stands, or a verdict (engine/enterprise/links.py)
        outs += credit.on_settled_in_time(f, d["id"], d["settled_at"], d["settled_by"], at, eid,
                                          er.credit.overdue_major, zh, d.get("settled_until"))
    overdue = (d["open"] and d.get("grade") == "major" and d.get("deadline") is not None
               and not d.get("completed") and at > d["deadline"])
    if overdue and d["id"] not in f.overdue_major:
        f.overdue_major[d["id"]] = d["deadline"]
        outs += credit.on_overdue_major(f, at, er.credit.overdue_major, zh)
    credit.keep_latest(f.overdue_major, er.credit.overdue_major)
    credit.forget_sets(f)
    return outs


def _settled(d: dict[str, Any], criterion: str) -> tuple[str, str]:
    """Why a hazard's link withdrew a credit proposal of `criterion`, for the record, and the hazard
    that step concerns ("" for one that names none): one of a violation no longer counted
    (`unviolated`), or one that counted the hazard overdue. A verdict recorded late may withdraw one
    of each."""
    hid = d["id"]
    if criterion == "violated_suspension" and d.get("lifted"):
        return "its order was lifted before the violation", ""
    if criterion == "violated_suspension":
        return f"hazard {hid} stood found unfounded or a duplicate when the violation was found", hid
    if d.get("settled_by") == "extension":
        return f"the deadline of hazard {hid} was extended before it", hid
    if d.get("settled_by") == "regraded":
        return f"hazard {hid} was graded below major before its deadline", hid
    return f"hazard {hid} was settled by its deadline ({d.get('settled_by')})", hid


def _hazard(f: EnterpriseFile, d: dict[str, Any]) -> str | None:
    hid = d["id"]
    f.name = f.name or d.get("name")
    f.town = f.town or d.get("town")
    for order_no, order, at in d.get("orders", []):
        if order_no not in f.orders and order_no not in d.get("lifted", ()):
            f.orders[order_no] = [order, hid, at]
    for order_no in d.get("lifted", ()):
        f.orders.pop(order_no, None)
    f.violations += d.get("new_violations", 0)
    was = f.hazards.get(hid)
    if not d["open"]:
        if was is not None or d.get("first", False):
            f.hazards.pop(hid, None)
            f.closed += 1
            if d.get("town"):  # every link names it (links.hazard_summary); counted by town since format 14
                f.closed_in[d["town"]] = f.closed_in.get(d["town"], 0) + 1
            return f"hazard {hid} {d['status']}"
        return None
    f.hazards[hid] = [d["status"], d.get("grade"), d.get("deadline"), d.get("completed", False),
                      d.get("tier"), d.get("department"), d.get("sector"), d.get("listed", False),
                      d.get("town")]
    if len(f.hazards) > MAX_OPEN:  # the oldest ids leave the detail, not the count
        oldest = min(f.hazards)
        del f.hazards[oldest]
        f.open_beyond += 1
    return f"hazard {hid} opened ({d.get('grade') or 'grade unknown'})" if was is None else None


def _alert(f: EnterpriseFile, d: dict[str, Any], at: int) -> str | None:
    if not d.get("raised"):
        return None
    f.alerts += 1
    if f.last_alert is None or at >= f.last_alert[0]:
        f.last_alert = [at, d["id"], d.get("alert_kind")]
    f.town = f.town or d.get("town")
    return f"alert {d['id']} raised ({d.get('alert_kind')})"


def _apply(f: EnterpriseFile, entry: dict[str, Any], at: int, rules: Any) -> list[Out]:
    d, eid, kind = entry["data"], entry.get("event_id") or entry["entry_id"], entry["type"]
    outs: list[Out] = []
    withdrawn: list[Out] = []
    corrected: list[Out] = []
    what: str | None
    unplaced = f.town is None
    if kind == INSPECTED_TYPE and d.get("outcome") != "refused" and d["inspection_id"] in f.refusals:
        corrected = _unrefused(f, d, at, eid, rules)
    if kind == "safety.enterprise.registered":
        spells, first = coverage.spells(f), f.first_registered
        what = _registered(f, d, at, eid)
        # Back after a closure, or on the register at last, perhaps late: cycles owed since.
        if coverage.spells(f) != spells or (f.first_registered != first and coverage.classes_on_file(f)):
            withdrawn = coverage.reopened(f, rules, at, eid, decided_at(entry, at, f.watermark))
    elif kind == "safety.enterprise.classified" and _decided_again(f, d):
        decided = iso(epoch(d["decided_at"]))
        what = f"classification {d['risk_class']} of {decided} recorded again: one decision"
    elif kind == "safety.enterprise.classified":
        told = coverage.notice_out(f)
        what = _classified(f, d, eid)
        decided = epoch(d["decided_at"])
        if (f.missed or told is not None or (f.inspected and decided < f.inspected[-1])
                or decided < f.classified[0] or coverage.told_since(f, decided)):
            # It bears on cycles already decided: those it ended sooner, lengthened, or stopped.
            if not d["key_enterprise"]:  # no longer a key enterprise from this decision
                withdrawn = coverage.released_from(f, rules, decided, "declassified", eid,
                                                   decided_at(entry, at, f.watermark), told)
            else:  # a cycle of another length, or one that starts again (never inspected)
                withdrawn = coverage.reclassified(f, rules, d["risk_class"], decided, eid,
                                                  decided_at(entry, at, f.watermark), told)
    elif kind == "safety.enterprise.closed":
        _spell_fact(f, "closures", at)
        if f.closed_at is None or at > f.closed_at:
            f.closed_at, f.closed_reason = at, d["reason"]
        what = f"closed: {d['reason']}"
        told = coverage.notice_out(f)
        # Closed before a miss or a notice, recorded late; or for a while before it was back.
        if f.missed or told is not None or coverage.told_since(f, at):
            withdrawn = coverage.released_from(f, rules, at, "closed", eid,
                                               decided_at(entry, at, f.watermark), told)
    elif kind == INSPECTED_TYPE and d.get("outcome") == "refused":
        told = coverage.notice_out(f)
        done = _uncounted(f, d["inspection_id"]) if _counted(f, d["inspection_id"]) else None
        outs = _refused(f, d, at, rules)
        what = f"inspection {d['inspection_id']} ({d['kind']}) REFUSED or obstructed (拒绝、阻碍检查)"
        if done is not None:  # on file as done: the later record supersedes it (docs/enterprises.md)
            what += f", recorded again so: the inspection of {iso(done)} is no longer counted as done"
            withdrawn = coverage.superseded(f, rules, done, d["inspection_id"], eid,
                                            decided_at(entry, at, f.watermark), told)
    elif kind == INSPECTED_TYPE and _counted(f, d["inspection_id"]):
        what = f"inspection {d['inspection_id']} ({d['kind']}) recorded again: counted once"
    elif kind == INSPECTED_TYPE and not law_enforcement(d["kind"]):
        what = _expert_check(f, d, at)
    elif kind == INSPECTED_TYPE:
        told = coverage.notice_out(f)
        what = _inspected(f, d, at)
        if f.missed or f.inspected[-1] != at or told is not None or coverage.told_since(f, at):
            # In time, perhaps reaching the engine after a miss, a notice or a later inspection.
            withdrawn = coverage.answer(f, rules, at, eid, decided_at(entry, at, f.watermark), told)
    elif kind == "safety.credit.decided":
        what = credit.decided(f, d, at, eid)
    elif kind == LINK_TYPE and d["kind"] == "hazard":
        what = _hazard(f, d)
        outs = _credit_from_hazard(f, d, at, eid, rules)
    elif kind == LINK_TYPE and d["kind"] == "alert":
        what = _alert(f, d, at)
    else:
        raise ValueError(f"the enterprise core has no rule for entry type {kind!r}")
    for proposal_id, measure in d.get("proposals", []) if kind == LINK_TYPE else []:
        if not any(p[1] == proposal_id for p in f.proposals):
            f.proposals.append([at, proposal_id, measure, d["id"]])
            f.proposals.sort(key=lambda p: (p[0], p[1]))
            del f.proposals[:-RECENT]
            _note(f, at, eid, f"enforcement proposal {proposal_id}: {measure} (hazard {d['id']})", d["id"])
    for proposal_id in d.get("withdrawn", []) if kind == LINK_TYPE else []:
        # A completion claimed in time reached the engine after the step that proposed it.
        f.proposals = [p for p in f.proposals if p[1] != proposal_id]
        _note(f, at, eid, f"enforcement proposal {proposal_id} withdrawn (hazard {d['id']})", d["id"])
    # Where each proposal on file stands: only a link that files, withdraws or moves one changes it
    # (otherwise the standings kept are already those of the proposals on file, and rebuilding them
    # cost a busy enterprise's every link a pass over its RECENT proposals).
    if kind == LINK_TYPE and (d.get("proposal_states") or (f.proposal_states and (d.get("proposals")
                                                                                   or d.get("withdrawn")))):
        filed = {p[1] for p in f.proposals}
        f.proposal_states = {pid: state for pid, state in {**f.proposal_states,
                                                           **d.get("proposal_states", {})}.items()
                             if pid in filed}
    if what is not None:  # a hazard's link: a step about that hazard
        _note(f, at, eid, what, d["id"] if kind == LINK_TYPE and d["kind"] == "hazard" else "")
    outs = corrected + outs
    for out in outs:
        criterion = out.event["data"]["criterion"]
        taken = out.event["type"] == credit.WITHDRAWN_TYPE
        if taken and criterion == "refused_inspection" and "inspection_id" in d:
            why = f"inspection {d['inspection_id']} was recorded again as completed"
            _note(f, at, eid, f"credit proposal {out.event['data']['proposal_id']} withdrawn: {why}")
        elif taken:
            why, hazard = _settled(d, criterion)
            _note(f, at, eid, f"credit proposal {out.event['data']['proposal_id']} withdrawn: {why}", hazard)
        else:
            _note(f, at, eid, f"credit proposal {out.id} ({out.event['data']['criterion']}): awaits a "
                  "person's decision")
    for out in withdrawn:
        if out.event["type"] == "safety.referral.withdrawn":
            _note(f, at, eid, f"referral {out.event['data']['referral_id']} withdrawn")
        elif out.event["data"]["action"] in ("failure_withdrawn", "notice_withdrawn"):
            _note(f, at, eid, out.event["data"]["reason"])
    if TOWNS not in entry and f.town is not None and _placed_in(d) == f.town:
        f.town_by_token = False  # found there by a record no token limited to towns sent, in either order
    elif unplaced and f.town is not None and f.registered is None and TOWNS in entry:
        f.town_by_token = True  # found by a token limited to towns: where it is registered is not known
    return outs + withdrawn


def decide_enterprise(state: EnterpriseFile | None, entry: dict[str, Any], rules: Any,
                      now: int | None = None, *, owned: bool = False) -> tuple[EnterpriseFile, list[Out]]:
    """Apply one timeline entry to an enterprise's file; `state` is not modified, unless the caller
    hands it over with `owned` (the decide stage does, with the file it has just decoded).

    `rules` is an `EnterpriseRules`, or the hazard rules alone (no coverage clocks then).
    """
    er = rules if isinstance(rules, EnterpriseRules) else EnterpriseRules(rules, None, None)
    return apply_entry(state, entry, er, now, new=EnterpriseFile, advance_fn=_advance, apply_fn=_apply,
                       owned=owned, town=_town, named=False)


def _placed_in(d: dict[str, Any]) -> str | None:
    """The town a record would place its enterprise's file in, had it none: an inspection's or a
    refusal's location's, a hazard's or an alert's link's. A record without a stamp that names
    another town than the one tokens found leaves the file held to none (its town is the first
    found, as ever): what waits, waits for the registration."""
    location = d.get("location")
    town = location.get("town") if isinstance(location, dict) else d.get("town")
    return town if isinstance(town, str) else None


def _town(f: EnterpriseFile) -> str | None:
    """The town a token's entry about the file is held to: where it is registered, or found by a
    record no token limited to towns sent; None while only such a token's records found it
    (engine/kernel/scope.py)."""
    return None if f.town_by_token and f.registered is None else f.town
