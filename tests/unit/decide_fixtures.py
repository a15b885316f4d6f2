"""Builders for decision-core tests: field events made into timeline entries by the real intake.

Every builder writes a CloudEvent, runs it through `decide_intake` (so the
tests also go through the contract's validation) and returns the timeline
entries it yields. Times are written "2026-11-02 09:00" and read in
Asia/Shanghai.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from engine.contract.envelope import EVENT_TYPES
from engine.decide.emit import Out
from engine.decide.lifecycle import epoch
from engine.decide.replay import Replay
from engine.intake.process import Record, decide_intake
from engine.ruleset import load_rules

REPO = Path(__file__).resolve().parents[2]
RULES = load_rules(REPO / "rules")

ENTERPRISE = {"uscc": "91371500MA3C4XK2N2", "name": "Shuicheng Logistics Co., Ltd."}
SUPERVISOR = {"id": "sup-01", "role": "supervisor", "name": "Li Qiang"}
INSPECTOR = {"id": "insp-021", "role": "inspector", "name": "Zhao Min"}
INSPECTORS = [INSPECTOR, {"id": "insp-034", "role": "inspector", "name": "Sun Hao"}]
GRID_WORKER = {"id": "gw-0417", "role": "grid_worker", "name": "Wang Li"}
ENTERPRISE_ACTOR = {"id": "ent-01", "role": "enterprise", "name": "Zhang Wei"}

_ids = itertools.count(1)
_offsets = itertools.count(1)


def ts(text: str) -> str:
    """'2026-11-02 09:00' (or a full RFC 3339 time) as an RFC 3339 time in Asia/Shanghai."""
    if "T" in text or len(text) == 10:
        return text
    return text.replace(" ", "T") + ":00+08:00"


def at(text: str) -> int:
    """'2026-11-02 09:00', an RFC 3339 time, or a date (its end of day) in epoch seconds."""
    return epoch(ts(text))


def end_of(day: str) -> int:
    """The end of `day` (23:59:59 in Asia/Shanghai), the form every day-based deadline takes."""
    return epoch(day)


def iso_end(day: str) -> str:
    """The end of `day` as the RFC 3339 string outputs carry."""
    return f"{day}T23:59:59+08:00"


def event(type_: str, time: str, data: dict[str, Any], subject: str,
          event_id: str | None = None, source: str = "/apps/test") -> list[dict[str, Any]]:
    """Run one CloudEvent through the real intake; return its timeline entries."""
    topic = EVENT_TYPES[type_].topic
    cloud = {"specversion": "1.0", "id": event_id or f"ev-{next(_ids)}", "source": source,
             "type": type_, "time": ts(time), "subject": subject, "data": data}
    record = Record(topic, 0, next(_offsets), None, json.dumps(cloud).encode(), 0)
    out = decide_intake(record, {}.get, RULES.reference, contract_topic=topic)
    assert out.kind == "accepted", out
    return [json.loads(s.value) for s in out.sends]


def _one(type_: str, time: str, data: dict[str, Any], hid: str, event_id: str | None) -> dict[str, Any]:
    [entry] = event(type_, time, {"hazard_id": hid, **data}, hid, event_id)
    return entry


def report(hid: str, time: str, *, grade: str = "general", sector: str = "fire_safety",
           town: str = "lihaiwu", enterprise: dict[str, str] | None = ENTERPRISE,
           rectify_by: str | None = None, found_via: str = "grid_patrol",
           event_id: str | None = None, reporter: dict[str, Any] | None = None) -> dict[str, Any]:
    """`safety.hazard.reported`: a grid worker's report; with a `rectify_by`, an inspector's, as only an
    inspector's (or a supervisor's) date is the deadline (lifecycle `sets_deadline`)."""
    if reporter is None:
        reporter = GRID_WORKER if rectify_by is None else INSPECTOR
    data: dict[str, Any] = {
        "title": f"Hazard {hid}", "description": "Fire exit blocked by stacked goods.",
        "sector": sector, "grade_claimed": grade, "found_via": found_via,
        "location": {"town": town, "address": "No. 8 Binhe Road"}, "reporter": reporter,
    }
    if enterprise is not None:
        data["enterprise"] = enterprise
    if rectify_by is not None:
        data["rectify_by"] = ts(rectify_by)
    return _one("safety.hazard.reported", time, data, hid, event_id)


def verify(hid: str, time: str, verdict: str = "confirmed", grade: str | None = "general", *,
           lead: str | None = None, duplicate_of: str | None = None,
           event_id: str | None = None) -> dict[str, Any]:
    """`safety.hazard.verified`: confirmed at a grade, unfounded, or a duplicate."""
    data: dict[str, Any] = {"verdict": verdict, "by": SUPERVISOR}
    if verdict == "confirmed":
        data["grade"] = grade
    if verdict == "duplicate":
        data["duplicate_of"] = duplicate_of or f"{hid}-original"
    if lead is not None:
        data["lead_department"] = lead
    return _one("safety.hazard.verified", time, data, hid, event_id)


def plan(hid: str, time: str, target_date: str = "2026-12-20", *,
         event_id: str | None = None) -> dict[str, Any]:
    """`safety.rectification.planned`: the enterprise's plan (整改方案)."""
    return _one("safety.rectification.planned", time, {
        "plan_summary": "Clear the exit and repair the sign.", "responsible_person": "Zhang Wei",
        "target_date": target_date, "by": ENTERPRISE_ACTOR}, hid, event_id)


def progress(hid: str, time: str, percent: int = 50, *, event_id: str | None = None) -> dict[str, Any]:
    """`safety.rectification.progressed`."""
    return _one("safety.rectification.progressed", time,
                {"percent": percent, "note": "Work under way.", "by": ENTERPRISE_ACTOR}, hid, event_id)


def complete(hid: str, time: str, *, event_id: str | None = None) -> dict[str, Any]:
    """`safety.rectification.completed`: a completion claim, still to be reviewed."""
    return _one("safety.rectification.completed", time,
                {"note": "Done.", "evidence": ["https://files.example.org/x.jpg"],
                 "by": ENTERPRISE_ACTOR}, hid, event_id)


def review(hid: str, time: str, outcome: str = "passed", *, event_id: str | None = None) -> dict[str, Any]:
    """`safety.rectification.reviewed`: the acceptance review (复查验收)."""
    return _one("safety.rectification.reviewed", time,
                {"outcome": outcome, "note": "Checked on site.", "by": INSPECTOR}, hid, event_id)


def ext_request(hid: str, time: str, until: str, *, event_id: str | None = None) -> dict[str, Any]:
    """`safety.rectification.extension_requested` (延期申请)."""
    return _one("safety.rectification.extension_requested", time,
                {"requested_until": until, "reason": "Parts on order.", "by": ENTERPRISE_ACTOR},
                hid, event_id)


def ext_decision(hid: str, time: str, new_deadline: str | None = None, *,
                 event_id: str | None = None) -> dict[str, Any]:
    """`safety.rectification.extension_decided`: approved with a new deadline, or rejected (None)."""
    data: dict[str, Any] = {"approved": new_deadline is not None, "by": SUPERVISOR}
    if new_deadline is not None:
        data["new_deadline"] = new_deadline
    return _one("safety.rectification.extension_decided", time, data, hid, event_id)


def finding(hid: str, grade: str = "general", *, sector: str = "hazardous_chemicals",
            immediate: bool = False, rectify_by: str | None = None) -> dict[str, Any]:
    """One finding of an inspection."""
    f: dict[str, Any] = {"hazard_id": hid, "sector": sector, "grade": grade,
                         "clause": "Work Safety Law art. 39", "description": f"Finding {hid}.",
                         "immediate": immediate}
    if rectify_by is not None:
        f["rectify_by"] = ts(rectify_by)
    return f


def inspection(time: str, findings: list[dict[str, Any]], *, kind: str = "unannounced",
               inspection_id: str | None = None, town: str = "zhulaozhuang",
               event_id: str | None = None) -> list[dict[str, Any]]:
    """`safety.inspection.recorded`: the inspection's own entry, then one entry per finding."""
    iid = inspection_id or f"INS-{next(_ids)}"
    inspectors = [INSPECTORS[0]] if kind == "expert_check" else INSPECTORS
    return event("safety.inspection.recorded", time, {
        "inspection_id": iid, "kind": kind, "inspectors": inspectors,
        "enterprise": {"uscc": "91371500MA3D7PQ1LM", "name": "Jiangbei Chemical Storage Co., Ltd."},
        "location": {"town": town, "address": "Industrial Park Road 3"}, "findings": findings,
    }, iid, event_id)


def hazard_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only the entries the hazard core acts on (an inspection's own entry is not one)."""
    return [e for e in entries if e["subject_kind"] == "hazard"]


def entry_time(entry: dict[str, Any]) -> int:
    """An entry's own time in epoch seconds."""
    return epoch(entry["time"])


def run(*entries: dict[str, Any] | list[dict[str, Any]], until: str | None = None) -> Replay:
    """Feed entries in the order given, each at its own time, firing clocks on the way; then
    advance to `until`."""
    rp = Replay(RULES)
    for item in entries:
        for entry in item if isinstance(item, list) else [item]:
            t = entry_time(entry)
            rp.advance_to(t)
            rp.feed(entry, now=t)
    if until is not None:
        rp.advance_to(at(until))
    return rp


def events(rp: Replay, type_: str | None = None, **match: Any) -> list[dict[str, Any]]:
    """The output CloudEvents, in order, of one type and whose data match `match`."""
    return [o.event for _, o in rp.outputs
            if (type_ is None or o.event["type"] == type_)
            and all(o.event["data"].get(k) == v for k, v in match.items())]


def escalations(rp: Replay, **match: Any) -> list[dict[str, Any]]:
    """The data of every `safety.escalation.raised` output matching `match`."""
    return [e["data"] for e in events(rp, "safety.escalation.raised", **match)]


def outs_data(outs: list[Out], type_: str | None = None) -> list[dict[str, Any]]:
    """The data of outputs returned by one `decide` call."""
    return [o.event["data"] for o in outs if type_ is None or o.event["type"] == type_]


def target_ids(data: dict[str, Any], key: str = "targets") -> list[tuple[str, str]]:
    """(kind, id) of each target, in order."""
    return [(t["kind"], t["id"]) for t in data[key]]


def edited_rules(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of rules/ in `tmp_path` with the first `old` in `file` replaced by `new`.

    Fails if `old` is not in the file, so an edit that no longer applies cannot pass unnoticed.
    """
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    path = rules / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in rules/{file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return rules
