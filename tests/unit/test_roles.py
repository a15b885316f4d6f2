"""Who may make each record (engine/contract/roles.py): a record states someone's act.

Each record goes through `decide_intake` as a worker takes it (the fast path first, pydantic for
the reason), by a role whose act it is not and then by one whose act it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.intake.process import Record, decide_intake
from engine.reference import load_reference

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO.parent / "shared" / "contract" / "examples"
KNOWN = load_reference(REPO / "rules")
PUBLIC = {"role": "public", "anonymous": True}
ENTERPRISE = {"id": "ent-1", "role": "enterprise"}
GRID = {"id": "grid-1", "role": "grid_worker"}
INSPECTOR = {"id": "insp-1", "role": "inspector"}
SUPERVISOR = {"id": "sup-1", "role": "supervisor"}
SENSOR = {"id": "s-1", "role": "sensor"}


def _outcome(type_: str, subject: str, data: dict, topic: str):
    event = {"specversion": "1.0", "id": "ev-1", "source": "/apps/x", "type": type_,
             "time": "2026-11-30T10:00:00+08:00", "subject": subject, "data": data}
    record = Record(topic, 0, 0, subject.encode(), json.dumps(event).encode(), 1_764_468_000_000)
    return decide_intake(record, {}.get, KNOWN)


def _rejected_for(outcome) -> list[tuple[str, str, str]]:
    assert outcome.kind == "rejected", outcome.kind
    errors = json.loads(outcome.sends[0].value)["data"]["errors"]
    return [(".".join(str(p) for p in e["loc"]), e["type"], e["msg"]) for e in errors]


HAZARD = {"hazard_id": "HZ-1"}
ALERT = {"alert_id": "AL-1"}
UPDATES, ALERTS, RECORDS = "rectification.updates", "responder.alerts", "enforcement.records"
# (type, data without `by`, topic, a role refused, its error type, a role accepted)
CASES = [
    ("safety.hazard.verified", {**HAZARD, "verdict": "unfounded"}, UPDATES, ENTERPRISE, "verifier_role",
     INSPECTOR),
    ("safety.hazard.verified", {**HAZARD, "verdict": "unfounded"}, UPDATES, PUBLIC, "verifier_role",
     SUPERVISOR),
    ("safety.hazard.verified", {**HAZARD, "verdict": "confirmed", "grade": "major"}, UPDATES, GRID,
     "verifier_role", {"id": "ex-1", "role": "expert"}),
    ("safety.rectification.completed", {**HAZARD, "note": "Done.", "evidence": []}, UPDATES, PUBLIC,
     "rectifier_role", ENTERPRISE),
    ("safety.rectification.completed", {**HAZARD, "note": "Done.", "evidence": []}, UPDATES, SENSOR,
     "rectifier_role", GRID),
    ("safety.rectification.planned", {**HAZARD, "plan_summary": "Fix it.", "responsible_person": "Li",
                                      "target_date": "2026-12-20"}, UPDATES, PUBLIC, "rectifier_role",
     ENTERPRISE),
    ("safety.rectification.progressed", {**HAZARD, "percent": 50, "note": "Half."}, UPDATES, PUBLIC,
     "rectifier_role", ENTERPRISE),
    ("safety.rectification.extension_requested", {**HAZARD, "requested_until": "2027-01-20",
                                                  "reason": "Parts late."}, UPDATES, PUBLIC,
     "rectifier_role", ENTERPRISE),
    ("safety.alert.closed", {**ALERT, "note": "Out."}, ALERTS, PUBLIC, "responder_role", GRID),
    ("safety.alert.closed", {**ALERT, "note": "Out."}, ALERTS, ENTERPRISE, "responder_role", SUPERVISOR),
    ("safety.alert.acknowledged", {**ALERT, "unit": "nobody"}, ALERTS, PUBLIC, "responder_role",
     {"id": "io-1", "role": "info_officer"}),
    ("safety.enforcement.legal_reviewed", {**HAZARD, "proposal_id": "p-1", "outcome": "approved"}, RECORDS,
     ENTERPRISE, "official_role", SUPERVISOR),
    ("safety.enforcement.legal_reviewed", {**HAZARD, "proposal_id": "p-1", "outcome": "returned"}, RECORDS,
     GRID, "official_role", {"id": "counsel-1", "role": "expert"}),  # counsel the office engages
    ("safety.enforcement.lifted", {**HAZARD, "order_no": "O-1"}, RECORDS, ENTERPRISE, "official_role",
     INSPECTOR),
    ("safety.enforcement.penalized", {**HAZARD, "decision_no": "D-1", "fine_cny": 20000,
                                      "legal_basis": "安全生产法 art. 102"}, RECORDS, GRID, "official_role",
     INSPECTOR),
]


@pytest.mark.parametrize(("type_", "data", "topic", "refused", "code", "accepted"), CASES)
def test_a_record_is_refused_from_a_role_whose_act_it_is_not_and_taken_from_one_whose_it_is(
        type_: str, data: dict, topic: str, refused: dict, code: str, accepted: dict) -> None:
    subject = data.get("hazard_id") or data["alert_id"]
    errors = _rejected_for(_outcome(type_, subject, {**data, "by": refused}, topic))
    assert [e[:2] for e in errors] == [("data.by", code)]
    assert f"not '{refused['role']}'" in errors[0][2]
    assert _outcome(type_, subject, {**data, "by": accepted}, topic).kind == "accepted"


def test_a_law_enforcement_inspection_needs_two_inspectors_not_two_of_anyone() -> None:
    """行政处罚法 art. 42: law enforcement by at least two officers. A grid worker and an enterprise's
    employee are two actors but no officers, and the major hazard they "find" would be listed at once
    (a law-enforcement finding confirms itself)."""
    event = json.loads((EXAMPLES / "inspection-recorded.json").read_text(encoding="utf-8"))
    data = event["data"]
    subject = event["subject"]
    for inspectors, officers in (([GRID, ENTERPRISE], 0), ([INSPECTOR, PUBLIC], 1)):
        errors = _rejected_for(_outcome(event["type"], subject, {**data, "inspectors": inspectors},
                                        "inspection.findings"))
        assert [e[:2] for e in errors] == [("data", "inspectors")]
        assert errors[0][2].endswith(f"needs at least two inspectors (role 'inspector'), got {officers}")
    two = {**data, "inspectors": [INSPECTOR, {"id": "insp-2", "role": "inspector"}, GRID]}
    assert _outcome(event["type"], subject, two, "inspection.findings").kind == "accepted"
    with_a_supervisor = {**data, "inspectors": [INSPECTOR, SUPERVISOR]}  # as an order needs two inspectors
    assert _outcome(event["type"], subject, with_a_supervisor, "inspection.findings").kind == "rejected"
    experts = {**data, "kind": "expert_check", "inspectors": [{"id": "ex-1", "role": "expert"}]}
    assert _outcome(event["type"], subject, experts, "inspection.findings").kind == "accepted"
