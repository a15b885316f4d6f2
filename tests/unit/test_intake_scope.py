"""A field-app token's town scope at intake: every event about a subject, not only those naming a town.

`POST /events` stamps each record with its token's towns; the pure intake
decision holds the event to them with its subject's town at hand
(engine/intake/scope.py). These tests drive that decision alone.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.intake.process import TIMELINE, Mark, Record, decide_intake
from engine.intake.scope import ALL_TOWNS, FIELD_APP_HEADER, TOWNS_HEADER, OpenedTowns, stamp, towns_of
from engine.reference import load_reference

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO.parent / "shared" / "contract" / "examples"
KNOWN = load_reference(REPO / "rules")
REPORT = json.loads((EXAMPLES / "hazard-reported.json").read_text())  # in lihaiwu
HAZARD = REPORT["subject"]
VERIFIED = {"specversion": "1.0", "id": "v-1", "source": "/apps/inspector/7", "subject": HAZARD,
            "type": "safety.hazard.verified", "time": "2026-11-30T11:00:00+08:00",
            "data": {"hazard_id": HAZARD, "verdict": "confirmed", "grade": "general",
                     "by": {"id": "insp-9", "role": "inspector"}}}
ALERT = "AL-20261130-0009"
CLOSED = {"specversion": "1.0", "id": "c-1", "source": "/apps/inspector/7", "subject": ALERT,
          "type": "safety.alert.closed", "time": "2026-11-30T21:00:00+08:00",
          "data": {"alert_id": ALERT, "note": "Out; the scene is cleared.",
                   "by": {"id": "insp-9", "role": "inspector"}}}
INSPECTION = json.loads((EXAMPLES / "inspection-recorded.json").read_text())  # in zhulaozhuang
TOPIC = {"safety.hazard.verified": "rectification.updates", "safety.alert.closed": "responder.alerts",
         "safety.hazard.reported": "hazard.reports", "safety.inspection.recorded": "inspection.findings"}
HUXI = ((TOWNS_HEADER, stamp(["huxi"])),)
NOWHERE = lambda kind, subject: None  # noqa: E731 - no subject's town known


def towns(**known: str):
    """A look-up of subjects' towns, as the runtime reads them from its states."""
    return lambda kind, subject: known.get(f"{kind}:{subject}")


def decide(event: dict, headers=HUXI, town_of=NOWHERE, offset: int = 0):
    record = Record(TOPIC[event["type"]], 0, offset, event["subject"].encode(),
                    json.dumps(event).encode(), 1_764_472_000_000, headers)
    return decide_intake(record, {}.get, KNOWN, town_of=town_of)


def errors(outcome) -> list[dict]:
    data = json.loads(outcome.sends[0].value)["data"]
    return data["errors"]


def test_a_verdict_about_another_towns_hazard_is_rejected_as_outside_scope() -> None:
    """Huxi's inspector app cannot verify a hazard reported in lihaiwu: rejected, with why."""
    out = decide(VERIFIED, town_of=towns(**{f"hazard:{HAZARD}": "lihaiwu"}))
    assert out.kind == "rejected" and out.reasons == ("outside_scope",)
    [error] = errors(out)
    assert error["loc"] == ["subject"] and "'lihaiwu'" in error["msg"] and "huxi" in error["msg"]
    assert out.remember is None  # no mark: sent again within scope later, it is taken


def test_an_alerts_close_is_held_to_the_alerts_town_too() -> None:
    """Acknowledging or closing an alert names no town; the alert's own town decides."""
    assert decide(CLOSED, town_of=towns(**{f"alert:{ALERT}": "yuji"})).reasons == ("outside_scope",)
    assert decide(CLOSED, town_of=towns(**{f"alert:{ALERT}": "huxi"})).kind == "accepted"


def test_a_verdict_about_a_hazard_of_the_tokens_town_is_accepted() -> None:
    """Within scope nothing changes: the timeline entry is written as before."""
    out = decide(VERIFIED, town_of=towns(**{f"hazard:{HAZARD}": "huxi"}))
    assert out.kind == "accepted" and [s.topic for s in out.sends] == [TIMELINE]


def test_an_event_about_a_subject_whose_town_is_unknown_is_taken_for_the_tokens_towns_only() -> None:
    """Field apps work offline (contract section 3): a verdict before its report is taken, its entry
    carrying the token's towns and name to the decision, which holds it to them once the hazard has
    a town (engine/kernel/scope.py); its mark says it was taken for those towns only."""
    out = decide(VERIFIED, headers=((FIELD_APP_HEADER, b"huxi-app"), *HUXI))
    assert out.kind == "accepted" and out.reasons == ()
    [entry] = [json.loads(s.value) for s in out.sends]
    assert (entry["towns"], entry["field_app"]) == (["huxi"], "huxi-app") and "copy" not in entry
    assert Mark.read(out.remember[1]).held


def test_an_event_about_a_subject_whose_town_intake_knows_is_held_all_the_same() -> None:
    """What intake knows of a subject's town is no promise of the decision's (a report taken but not
    decided, a town an earlier-dated record moves, an enterprise found only by a token's records):
    a stamped event naming no town is held wherever it is taken, so a retry, or another sender's
    copy, goes to the decision as a copy, which knows whether the first was applied."""
    marks: dict[str, str] = {}
    in_huxi = towns(**{f"hazard:{HAZARD}": "huxi"})
    outs = []
    for offset in range(2):
        record = Record(TOPIC[VERIFIED["type"]], 0, offset, HAZARD.encode(), json.dumps(VERIFIED).encode(),
                        1_764_472_000_000, HUXI)
        out = decide_intake(record, marks.get, KNOWN, town_of=in_huxi)
        if out.remember:
            marks[out.remember[0]] = out.remember[1]
        outs.append(out)
    assert [o.kind for o in outs] == ["accepted", "accepted"]
    assert Mark.read(outs[0].remember[1]).held
    [copy] = [json.loads(s.value) for s in outs[1].sends if s.topic == TIMELINE]
    assert copy["copy"] is True


def test_every_entry_of_a_stamped_inspection_carries_the_stamp_and_its_mark_is_plain() -> None:
    """An inspection's findings and its enterprise's entry carry the stamp of the record they come
    from; the inspection names its town, judged at intake, so its mark is an ordinary one (a copy is
    a duplicate), and a redelivery writes the very entries it wrote first."""
    in_huxi = {**INSPECTION, "data": {**INSPECTION["data"], "location": {"town": "huxi"}}}
    out = decide(in_huxi)
    assert out.kind == "accepted"
    sent = [json.loads(s.value) for s in out.sends]
    assert len(sent) > 2 and all(e["towns"] == ["huxi"] for e in sent)
    assert not Mark.read(out.remember[1]).held
    record = Record(TOPIC[in_huxi["type"]], 0, 0, in_huxi["subject"].encode(), json.dumps(in_huxi).encode(),
                    1_764_472_000_000, HUXI)
    again = decide_intake(record, {out.remember[0]: out.remember[1]}.get, KNOWN, town_of=NOWHERE)
    assert again.kind == "redelivered" and again.sends == out.sends


def test_a_mark_held_for_a_tokens_towns_reads_back_and_keeps_its_time_last() -> None:
    """A mark's time stays its last field (engine/stream/marks.py forgets marks by it)."""
    mark = Mark("rectification.updates/0/5", "e:0123456789abcdef", 1_764_472_000, True)
    assert mark.text().endswith("|1764472000") and Mark.read(mark.text()) == mark
    assert Mark.read("rectification.updates/0/5|e:0123456789abcdef|1764472000").held is False


def test_a_report_is_held_to_the_town_it_names_and_to_its_hazards_town() -> None:
    """An opening event names its town; a second report cannot reach a hazard of another town."""
    lihaiwu_report = decide(REPORT)
    assert lihaiwu_report.reasons == ("outside_scope",)
    assert errors(lihaiwu_report)[0]["loc"] == ["data", "location", "town"]
    in_huxi = {**REPORT, "data": {**REPORT["data"], "location": {"town": "huxi"}}}
    first = decide(in_huxi)
    assert first.kind == "accepted" and first.opened == (("hazard", HAZARD, "huxi"),)
    again = decide(in_huxi, town_of=towns(**{f"hazard:{HAZARD}": "lihaiwu"}))
    assert again.reasons == ("outside_scope",)


def test_an_inspections_finding_is_held_to_its_hazards_town() -> None:
    """A finding opens its hazard in the inspection's town: one dated before the report that opened
    the hazard in another town would move that town's hazard into the token's, and the token's
    verdicts would pass from then (a review of 2026-12-07). Refused, naming the finding."""
    zhulaozhuang = ((TOWNS_HEADER, stamp(["zhulaozhuang"])),)
    second = INSPECTION["data"]["findings"][1]["hazard_id"]
    out = decide(INSPECTION, headers=zhulaozhuang, town_of=towns(**{f"hazard:{second}": "lihaiwu"}))
    assert out.reasons == ("outside_scope",)
    [error] = errors(out)
    assert error["loc"] == ["data", "findings", 1, "hazard_id"] and "'lihaiwu'" in error["msg"]
    assert decide(INSPECTION, headers=zhulaozhuang).kind == "accepted"  # new hazards: its own town
    own = towns(**{f"hazard:{second}": "zhulaozhuang"})
    assert decide(INSPECTION, headers=zhulaozhuang, town_of=own).kind == "accepted"
    assert decide(INSPECTION, headers=(), town_of=towns(**{f"hazard:{second}": "lihaiwu"})).kind == "accepted"


def test_records_without_a_stamp_and_tokens_for_every_town_are_not_limited() -> None:
    """Straight from Kafka (the broker's ACLs decide who writes) or a token without towns."""
    assert decide(VERIFIED, headers=()).kind == "accepted"
    assert decide(VERIFIED, headers=((TOWNS_HEADER, ALL_TOWNS),)).kind == "accepted"
    assert stamp([]) == ALL_TOWNS and towns_of(((TOWNS_HEADER, ALL_TOWNS),)) is None


def test_a_stamp_that_cannot_be_read_allows_no_town() -> None:
    """Whoever can set the header can only narrow what they may send: fail closed."""
    for bad in (b"huxi", b"{}", b"[1]", None):
        assert towns_of(((TOWNS_HEADER, bad),)) == frozenset()
    assert towns_of(((TOWNS_HEADER, stamp(["huxi"])), (TOWNS_HEADER, ALL_TOWNS))) == frozenset()
    known = towns(**{f"hazard:{HAZARD}": "huxi"})
    assert decide(VERIFIED, headers=((TOWNS_HEADER, b"huxi"),), town_of=known).reasons == ("outside_scope",)


def test_a_redelivery_is_not_judged_again() -> None:
    """A record seen again at the position that set its mark was judged when it came first."""
    marks: dict[str, str] = {}
    known = towns(**{f"hazard:{HAZARD}": "huxi"})
    record = Record("rectification.updates", 0, 5, HAZARD.encode(), json.dumps(VERIFIED).encode(),
                    1_764_472_000_000, HUXI)
    first = decide_intake(record, marks.get, KNOWN, town_of=known)
    marks[first.remember[0]] = first.remember[1]
    assert decide_intake(record, marks.get, KNOWN).kind == "redelivered"  # town unknown by now


def test_opened_towns_keep_the_latest_subjects() -> None:
    """The runtime's memory of subjects opened but not decided yet is bounded, oldest out first."""
    opened = OpenedTowns(2)
    opened.note([("hazard", "a", "huxi"), ("hazard", "b", "yuji")])
    opened.note([("hazard", "a", "huxi"), ("alert", "c", "huxi")])
    assert (opened.get("hazard", "a"), opened.get("hazard", "b"), opened.get("alert", "c")) == (
        "huxi", None, "huxi")
    assert len(opened) == 2
