"""Credit (失信) proposals: when an enterprise's file shows conduct that may put it on the list.

The engine only proposes; a person decides. A proposal goes to
`credit.proposals` with its evidence and legal basis, and counts for nothing
until a `safety.credit.decided` event records a person's decision; only a
decision to list gives the file a list entry, with its entry and exit dates.
Nothing about an enterprise's credit is published without that decision.

Legal basis, as checked with public copies (see docs/enterprises.md):
- 安全生产法 (2021) art. 78: the departments keep a record of work-safety
  violations and announce serious ones (wording not confirmed verbatim here).
- 安全生产严重失信主体名单管理办法 (应急管理部令第11号, in force 2023-10-01):
  serious dishonesty (严重失信) is conduct for which a penalty was imposed and
  which is "性质恶劣、情节严重" (art. 3); listing follows "谁处罚、谁决定、谁负责"
  (art. 4). Nine situations are listed, five with an accident and four without;
  the first of the four is working without a required licence or while it is
  suspended or revoked. Which item covers working on under an order to stop is
  NOT confirmed here; the older 安监总办〔2017〕49号 named "被责令停产停业整顿，
  仍然从事生产经营建设活动" as a dishonest act. The 3-year listing period and
  the early exit after 12 months are confirmed only through a province's
  rules that apply the order (Shanxi), not the order's own text.
The thresholds (how many major hazards overdue, or inspections refused, within
how many days) are DISTRICT PRACTICE: they live in rules/plan.yaml (`credit`),
each with its source, and a district changes them there. Without a plan.yaml
only a violated order to stop, which needs no threshold, is proposed.
"""

from __future__ import annotations

import json
from typing import Any

from engine.contract.outputs import CREDIT_PROPOSALS
from engine.enterprise.coverage import DAY
from engine.enterprise.state import RECENT, UNMADE
from engine.kernel.ids import output_id
from engine.kernel.outputs import Out, envelope
from engine.kernel.referral import WITHDRAWN, withdrawal
from engine.kernel.time import iso
from engine.zh.words import Words

PROPOSED_TYPE = "safety.credit.proposed"
WITHDRAWN_TYPE = WITHDRAWN[PROPOSED_TYPE][0]
SUSPENSIONS = frozenset({"suspend", "suspend_for_overhaul"})

BASIS = {
    "violated_suspension": "安全生产严重失信主体名单管理办法 (应急管理部令第11号) arts. 3, 4 (which item of "
                           "its list applies is for the deciding department to confirm); 安全生产法 art. 78",
    "repeated_overdue_major": "安全生产法 art. 78 (违法行为信息库); the number and window are district "
                              "practice (rules/plan.yaml credit.overdue_major)",
    "refused_inspection": "安全生产严重失信主体名单管理办法 (应急管理部令第11号) art. 3 (whether its "
                          "list names refusing inspection is not confirmed: for the deciding "
                          "department); 安监总办〔2017〕49号 named obstructing supervision "
                          "(阻碍…逃避、对抗安全监管监察) a dishonest act; the number and window are "
                          "district practice (rules/plan.yaml credit.refused_inspection)",
}


def proposal(f: Any, criterion: str, key: str, at: int, evidence: list[dict[str, Any]],
             reason: str, zh: Words, pid: str | None = None) -> Out:
    """A `safety.credit.proposed` event, its id derived from the enterprise, criterion and cause
    unless given (`pid`); its reason in Chinese too, by `zh`."""
    pid = pid or output_id("credit", f.id, criterion, key)
    data = {"proposal_id": pid, "enterprise": {"uscc": f.id, "name": f.name}, "criterion": criterion,
            "legal_basis": BASIS[criterion], "reason": reason, "evidence": evidence,
            "needs_decision": True, "town": f.town, "proposed_at": iso(at)}
    zh.said(data)
    return Out(CREDIT_PROPOSALS, f.id, envelope(PROPOSED_TYPE, pid, f.id, at, data))


def _made(f: Any, pid: str, criterion: str, at: int) -> bool:
    """File proposal `pid` as made at `at`; False if the file made it already. A decision that named
    it before it was made (kept unmatched by `decided`: a link that reached the file after the
    decision, as time order may give) is its decision from now, as a decision on an extension that
    came before its request decides the request once it comes (engine/decide/lifecycle.py)."""
    early = next((p for p in f.credit if p[0] == pid), None)
    if early is not None and early[1] is not None:
        return False
    if early is not None:
        early[1], early[2] = criterion, at
    else:
        f.credit.append([pid, criterion, at, None])
    return True


# A violation proposal's set in `credit_sets` (the hazards whose records of the act count) keys each
# hazard so, apart from the hazards a threshold proposal counted overdue.
_ACT = "violated:"
# And the record it was proposed on, as sent: `_SENT` + JSON [hazard id, event id, evidence URIs] ->
# when the act was found (a set stored before 2026-12-07 has none: `_as_sent`).
_SENT = "sent:"
# A proposal made before 2026-12-07 under the id of the record it went on, known since as its act's
# (`_proposed`): its set names the act's order (`_ORDER` + the order's number -> when the act was found)
# and, while that record is not known by its hazard, counts it under `_ITS_RECORD`.
_ORDER = "order:"
_ITS_RECORD = _ACT + "*"


def _act(f: Any, order_no: str, found: int) -> str:
    """The id of the proposal standing for the act of working on under order `order_no` found at
    `found`, or the one to make: one order may cover several hazards of the enterprise, and the
    one act is recorded on each (records are keyed by hazard), so the act, not a record of it, is
    proposed once. After a withdrawal the act is proposed again, if it is, under an id of its own."""
    pid, n = output_id("credit", f.id, "violated_suspension", order_no, found), 0
    while pid in f.credit_withdrawn:
        n += 1
        pid = output_id("credit", f.id, "violated_suspension", order_no, found, "again", n)
    return pid


def _proposed(f: Any, order_no: str, found: int, eid: str) -> tuple[str, bool]:
    """The id of the proposal standing for the act of working on under order `order_no` found at
    `found`, of which `eid` is a record, or the one to make (`_act`); and whether it is a proposal
    made before 2026-12-07, under the id of the record it went on (then one proposal per record).

    Such a proposal is the act's: made on this record, or else the one violation proposal on file
    made at `found` that names no act (its set, if any, names this act's order): the records of
    that time keep no order, and two acts found in the same second under two orders, proposed so,
    cannot be told apart, so neither is taken for the act (it is proposed again, as before)."""
    own = output_id("credit", f.id, "violated_suspension", eid)
    if any(p[0] == own and p[1] is not None for p in f.credit):
        return own, True
    pid = _act(f, order_no, found)
    if any(p[0] == pid for p in f.credit):
        return pid, False
    older = [p[0] for p in f.credit if p[1] == "violated_suspension" and p[2] == found
             and p[0] not in f.credit_withdrawn
             and (p[0] not in f.credit_sets or _ORDER + order_no in f.credit_sets[p[0]])]
    return (older[0], True) if len(older) == 1 else (pid, False)


def _count_record(f: Any, pid: str, older: bool, order_no: str, found: int,
                  record: list[Any]) -> dict[str, int]:
    """Count `record` ([hazard id, event id, evidence URIs]) of the act in the set of proposal `pid`;
    for a proposal made before 2026-12-07 (`older`), keep its order, and count the record it went
    on: by its hazard if this is it, else, until it comes, as `_ITS_RECORD`."""
    counted = f.credit_sets.setdefault(pid, {})
    counted[_ACT + record[0]] = found
    if older:
        counted[_ORDER + order_no] = found
        if pid == output_id("credit", f.id, "violated_suspension", record[1]):
            counted.pop(_ITS_RECORD, None)
            if _as_sent(counted) is None:
                counted[_SENT + json.dumps(record, ensure_ascii=False)] = found
        elif _as_sent(counted) is None:
            counted.setdefault(_ITS_RECORD, found)
    return counted


def on_violation(f: Any, hazard_id: str, violation: list[Any], order: str | None, zh: Words) -> list[Out]:
    """A suspension order found violated: propose listing, once per act (`_proposed`); a record of an
    act proposed already counts beside those of the other hazards its order covers."""
    order_no, at, eid, evidence = violation
    if order not in SUSPENSIONS:
        return []
    pid, older = _proposed(f, order_no, at, eid)
    made = _made(f, pid, "violated_suspension", at)
    counted = _count_record(f, pid, older, order_no, at, [hazard_id, eid, evidence])
    if not made:
        return []
    counted[_SENT + json.dumps([hazard_id, eid, evidence], ensure_ascii=False)] = at
    return [proposal(f, "violated_suspension", eid, at,
                     [{"hazard_id": hazard_id, "order_no": order_no, "event_id": eid, "uris": evidence}],
                     _violated(order_no, order, hazard_id), zh, pid)]


def on_unviolated(f: Any, hazard_id: str, violation: list[Any], order: str | None, at: int, eid: str,
                  zh: Words, verdict: str | None = None) -> list[Out]:
    """A violation that no longer counts, for a record at `at` that reached the engine after it: its
    order's lifting before it (`verdict` None), or a verification before it that found the hazard
    `verdict`, unfounded or a duplicate, with none since finding otherwise by then. No order in force
    was violated, or none on a hazard to rectify (the hazard core makes no transfer then, and
    withdraws one made), so the proposal of the act is withdrawn (`safety.credit.withdrawn`, with
    the decision on file, if any) once no hazard's record of it counts. A proposal made before
    2026-12-07 went under the id of the violation's record; another hazard's record of the act
    counts for it since it is known as the act's (`_proposed`)."""
    order_no, found, violation_eid, evidence = violation
    if order not in SUSPENSIONS:
        return []
    record = [hazard_id, violation_eid, evidence]
    pid, older = _proposed(f, order_no, found, violation_eid)
    counted = f.credit_sets.get(pid, {})
    counted.pop(_ACT + hazard_id, None)
    if older and pid == output_id("credit", f.id, "violated_suspension", violation_eid):
        counted.pop(_ITS_RECORD, None)  # the record it went on: this one
        if _as_sent(counted) is None:
            counted[_SENT + json.dumps(record, ensure_ascii=False)] = found
    if any(k.startswith(_ACT) for k in counted):
        return []  # the act stands on another hazard's record
    record = _as_sent(counted) or record
    f.credit_sets.pop(pid, None)
    made = next((p for p in f.credit if p[0] == pid), None)
    if made is None or made[1] is None or pid in f.credit_withdrawn:
        return []
    sent_on, sent_eid, sent_uris = record
    counted = {"hazard_id": sent_on, "order_no": order_no, "event_id": sent_eid, "uris": sent_uris}
    sent = proposal(f, "violated_suspension", sent_eid, found, [counted],
                    _violated(order_no, order, sent_on), zh, pid)
    if verdict is None:
        said = (f"Credit proposal withdrawn: order {order_no} was lifted on {iso(at)}, before the violation "
                f"found on {iso(found)}; the record {eid} of the lifting reached the engine after it")
    else:
        said = (f"Credit proposal withdrawn: the verification {eid} of {iso(at)} found hazard {hazard_id} "
                f"{verdict} before the violation of order {order_no} found on {iso(found)}, and reached the "
                "engine after it")
    f.credit_withdrawn[pid] = at
    return [_withdrawn(sent, said, at, made, zh)]


def _as_sent(counted: dict[str, int]) -> list[Any] | None:
    """The record of the act its proposal went on, as the set keeps it: [hazard id, event id, evidence
    URIs]; None for a set stored before 2026-12-07, which keeps none (its withdrawal restates the
    proposal from the record of the hazard that withdraws it, as it always did)."""
    kept = next((k for k in counted if k.startswith(_SENT)), None)
    return json.loads(kept[len(_SENT):]) if kept is not None else None


def _withdrawn(sent: Out, said: str, at: int, made: list[Any], zh: Words) -> Out:
    """The withdrawal of proposal `sent`, saying `said`, with the decision on file for it (`made`)."""
    out = withdrawal(sent, said, at, zh.reason(said))
    out.event["data"]["decided"] = made[3][0] if made[3] else None
    return out


def _violated(order_no: str, order: str | None, hazard_id: str) -> str:
    return f"order {order_no} ({order}) on hazard {hazard_id} was found violated"


def within(events: dict[str, int], at: int, threshold: Any) -> list[tuple[int, str]]:
    """The (time, id) of the events at `at` or before it and no older than the threshold's window
    then, oldest first. An event after `at` (known from a record that arrived first, out of time
    order) had not happened at `at`, so it does not count there.

    The window counts `window_days` times 86,400 seconds, not days as the law counts a period (民法典
    arts. 201, 203, which the coverage cycles and the hazards' deadlines follow, a last day on a
    rest day moved to the next working day included): it is district practice for when a person
    is asked (rules/plan.yaml), not a period the law sets nor a time within which anyone must act
    (README, known limits)."""
    window = threshold.window_days * DAY
    return sorted((t, key) for key, t in events.items() if 0 <= at - t <= window)


def keep_latest(events: dict[str, int], threshold: Any | None) -> None:
    """Keep the latest events by time, `RECENT` of them (the threshold's count, if more). Not those
    within the window of the latest record: a record that reaches the file after later ones (an app
    offline, a link from a partition that lagged) counts with the events up to its own time
    (`_repeated`), and a set of events it would have made in time order must still be there to
    make. Events outside every window count nowhere (`within`)."""
    kept = max(RECENT, threshold.count if threshold is not None else 0)
    if len(events) <= kept:  # most often: every hazard link asks, and nothing is to go
        return
    for key in sorted(events, key=lambda k: (events[k], k))[:-kept]:
        del events[key]


def _repeated(f: Any, criterion: str, events: dict[str, int], at: int, threshold: Any,
              evidence: Any, what: str, zh: Words) -> list[Out]:
    """Propose once per set of events that reaches the threshold within its window: the set the
    events up to `at` make, and, for a record that arrived after later ones (an app offline, a
    link from another partition), the set each later event makes with it, dated at that event.
    In time order there is no later event, and this is the one set at `at`."""
    outs = []
    for end in sorted({at, *(t for t in events.values() if t > at)}):
        recent = within(events, end, threshold)
        if len(recent) < threshold.count:
            continue
        chosen = recent[-threshold.count:]
        key = ",".join(sorted(k for _, k in chosen))
        pid = output_id("credit", f.id, criterion, key)
        if pid in f.credit_withdrawn:
            # The same hazards, proposed before on a premise a late record undid (one of them was
            # claimed complete in time), count again from later: a proposal of its own.
            pid = output_id("credit", f.id, criterion, key, "again", *(f"{k}@{t}" for t, k in chosen))
        if not _made(f, pid, criterion, end):
            continue
        f.credit_sets[pid] = {k: t for t, k in chosen}
        outs.append(proposal(f, criterion, key, end, [evidence(k, t) for t, k in chosen],
                             _threshold_reason(len(chosen), what, threshold, key), zh, pid))
    return outs


def _threshold_reason(n: int, what: str, threshold: Any, key: str) -> str:
    return f"{n} {what} within {threshold.window_days} days: {key}"


_OVERDUE_MAJOR = "major hazard(s) (重大事故隐患) overdue"


def _overdue_evidence(hid: str, t: int) -> dict[str, Any]:
    return {"hazard_id": hid, "overdue_since": iso(t)}


def on_overdue_major(f: Any, at: int, threshold: Any, zh: Words) -> list[Out]:
    """Major hazards overdue within the window reach the threshold: propose listing, once per set."""
    return _repeated(f, "repeated_overdue_major", f.overdue_major, at, threshold, _overdue_evidence,
                     _OVERDUE_MAJOR, zh)


# A record by the deadline that settles an overdue major hazard, reaching the engine late: what it is,
# and how the withdrawal's reason says when it was made.
_IN_TIME = {"extension": ("extension", ", approved on {t} before"),
            "claim": ("completion claim", " of {t}, by"),
            "passed": ("acceptance review", " of {t}, passed by")}


def on_settled_in_time(f: Any, hazard_id: str, settled: int, how: str, at: int, eid: str, threshold: Any,
                       zh: Words, until: int | None = None) -> list[Out]:
    """A major hazard the file counted overdue, settled at `settled`. `how`: "claim", its
    completion claimed; "passed", an acceptance review that passed; "extension", an extension
    approved that moved its deadline later; "regraded", a verification that graded it below major
    (until a confirmation as major at `until`, if any); "unfounded" or "duplicate", a verification
    that closed it so.

    A claim, a passed review or an approved extension by the deadline from which the file counted
    it, recorded after it counted (an app offline past the deadline), shows the hazard was never
    overdue there, as the hazard core takes back its ladder's steps; one after the deadline leaves
    it counted. Extended, it counts again only once a link shows it past its new deadline. So does
    a re-grade below major standing at the deadline (made by it, and no confirmation as major
    again by then): no major hazard was overdue there, as the hazard core lifts its listed
    supervision (挂牌督办); one made after the deadline leaves it counted, as a transfer stands on
    the grade when the order was refused. A verdict
    settles it whenever it came: a hazard that was not there, or that another report already
    counts, is no ground for listing the enterprise, though it was overdue on its face.

    It counts no more, and each proposal that counted it is withdrawn (`safety.credit.withdrawn`,
    saying whether a person had decided on it already: that decision is theirs to review). The
    hazards left are proposed as time order would have proposed them without it. Returns the
    outputs.
    """
    since = f.overdue_major.get(hazard_id)
    if since is None or (how in ("claim", "passed", "extension", "regraded") and settled > since):
        return []
    if how == "regraded" and until is not None and until <= since:
        return []  # major again by its deadline
    if how == "regraded":
        said = (f"Credit proposal withdrawn: the verification {eid} of {iso(settled)} graded hazard "
                f"{hazard_id} below major before its deadline of {iso(since)}, and reached the engine after "
                "the proposal counted it an overdue major hazard")
    elif how in _IN_TIME:
        record, when = _IN_TIME[how]
        said = (f"Credit proposal withdrawn: the {record} {eid} on hazard {hazard_id}"
                f"{when.format(t=iso(settled))} its deadline of {iso(since)}, reached the engine after the "
                "proposal counted it overdue")
    elif settled <= since:
        said = (f"Credit proposal withdrawn: the verification {eid} of {iso(settled)} found hazard "
                f"{hazard_id} {how} before its deadline of {iso(since)}, and reached the engine after the "
                "proposal counted it overdue")
    else:
        said = (f"Credit proposal withdrawn: the verification {eid} of {iso(settled)} found hazard "
                f"{hazard_id} {how}, after its deadline of {iso(since)}: it is no ground for the proposal "
                "that counted it overdue")
    outs = []
    for pid, counted in sorted(f.credit_sets.items()):
        if hazard_id not in counted or pid in f.credit_withdrawn:
            continue
        made = next(p for p in f.credit if p[0] == pid)
        key = ",".join(sorted(counted))
        chosen = sorted((t, k) for k, t in counted.items())
        sent = proposal(f, made[1], key, made[2], [_overdue_evidence(k, t) for t, k in chosen],
                        _threshold_reason(len(chosen), _OVERDUE_MAJOR, threshold, key), zh, pid)
        f.credit_withdrawn[pid] = at
        outs.append(_withdrawn(sent, said, at, made, zh))
    del f.overdue_major[hazard_id]
    return outs + on_overdue_major(f, min(settled, since), threshold, zh)


def forget_sets(f: Any) -> None:
    """Drop the counted sets none of whose hazards or refusals counts any longer: nothing can withdraw
    them. The set of an act proposed stays while it stands (`on_unviolated`), and a set of refusals
    while one of them is on file: a correction withdraws the proposals that counted it by their sets
    (`on_refusal_corrected`), and a set rebuilt from the refusals on file then may not be the one
    proposed, once a refusal recorded late has come between."""
    if not f.credit_sets:  # most often: every hazard link asks
        return
    counting = f.overdue_major.keys() | f.refusals.keys()
    for pid in [pid for pid, counted in f.credit_sets.items() if not counted.keys() & counting
                and not any(k.startswith(_ACT) for k in counted)]:
        del f.credit_sets[pid]


_REFUSED = "inspection(s) refused or obstructed (拒绝、阻碍检查)"


def _refusal_evidence(iid: str, t: int) -> dict[str, Any]:
    return {"inspection_id": iid, "refused_at": iso(t)}


def on_refusal(f: Any, at: int, threshold: Any, zh: Words) -> list[Out]:
    """Inspections refused within the window reach the threshold: propose listing, once per set."""
    return _repeated(f, "refused_inspection", f.refusals, at, threshold, _refusal_evidence, _REFUSED, zh)


def on_refusal_corrected(f: Any, iid: str, at: int, eid: str, threshold: Any, zh: Words) -> list[Out]:
    """Inspection `iid`, on file as refused, recorded again as completed (`eid`, at `at`): a
    correction of the same inspection, whose record now shows it done. A refusal the record no
    longer shows is no ground for listing the enterprise: it counts no more, and each proposal that
    counted it is withdrawn (`safety.credit.withdrawn`, with the decision on file, if any: that
    decision is the deciding department's to review). The refusals left are proposed as time order
    would have proposed them without it."""
    refused = f.refusals.get(iid)
    if refused is None:
        return []
    said = (f"Credit proposal withdrawn: inspection {iid} of {iso(refused)}, recorded as refused, was "
            f"recorded again as completed ({eid}): the refusal it counted is no longer on the record")
    outs = []
    for made in f.credit:
        pid, criterion, end, _ = made
        if criterion != "refused_inspection" or pid in f.credit_withdrawn:
            continue
        counted = f.credit_sets.get(pid) or _refused_set(f, pid, end, threshold)
        if iid not in counted:
            continue
        key = ",".join(sorted(counted))
        chosen = sorted((t, k) for k, t in counted.items())
        sent = proposal(f, criterion, key, end, [_refusal_evidence(k, t) for t, k in chosen],
                        _threshold_reason(len(chosen), _REFUSED, threshold, key), zh, pid)
        f.credit_withdrawn[pid] = at
        outs.append(_withdrawn(sent, said, at, made, zh))
    del f.refusals[iid]
    return outs + on_refusal(f, refused, threshold, zh)


def _refused_set(f: Any, pid: str, end: int, threshold: Any) -> dict[str, int]:
    """The refusals proposal `pid`, made at `end`, counted, as `_repeated` chose them (the counted
    set may have been forgotten: `forget_sets` keeps only hazards' sets); empty if it was not
    made from the refusals on file under this threshold."""
    chosen = within(f.refusals, end, threshold)[-threshold.count:]
    key = ",".join(sorted(k for _, k in chosen))
    made = {output_id("credit", f.id, "refused_inspection", key),
            output_id("credit", f.id, "refused_inspection", key, "again", *(f"{k}@{t}" for t, k in chosen))}
    return {k: t for t, k in chosen} if len(chosen) == threshold.count and pid in made else {}


def decided(f: Any, d: dict[str, Any], at: int, eid: str) -> str:
    """Record a person's decision on a proposal; only 'listed' makes a list entry, and only on a
    proposal the file made (`listed`)."""
    found = next((p for p in f.credit if p[0] == d["proposal_id"]), None)
    if found is None:  # decided before its proposal arrived, or naming one the file never made
        f.credit.append([d["proposal_id"], None, at, None])
        found = f.credit[-1]
        for old in [p for p in f.credit if p[1] is None][:-UNMADE]:  # the latest UNMADE of them
            f.credit.remove(old)
    found[3] = [d["outcome"], at, d.get("listed_from"), d.get("listed_until"), d["decision_no"], eid]
    said = f"credit proposal {d['proposal_id']}: {d['outcome']} by {d['by'].get('id')} ({d['decision_no']})"
    if found[1] is None:
        return f"{said}, a proposal this file has not made: unmatched, no list entry"
    return said


def listed(f: Any, now: int) -> list[dict[str, Any]]:
    """The list entries a person decided on the file's own proposals, with whether each is in force
    at `now`. A decision naming a proposal the file has not made (a number typed wrong, another
    enterprise's proposal sent under this one's code, or one decided before the file made it) gives
    none: an enterprise is never shown listed without the ground the file proposed it on, and one
    the file makes later takes the decision then (`_made`)."""
    out = []
    for pid, criterion, _, decision in f.credit:
        if criterion is not None and decision and decision[0] == "listed":
            _, at, start, until, decision_no, _ = decision
            out.append({"proposal_id": pid, "criterion": criterion, "decision_no": decision_no,
                        "decided_at": iso(at), "listed_from": start, "listed_until": until,
                        "in_force": start <= iso(now)[:10] <= until})
    return out
