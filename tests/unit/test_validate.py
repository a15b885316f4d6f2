"""Validation of intake records against the contract: each kind of bad input has its own test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.contract.envelope import EVENT_TYPES
from engine.intake.validate import Accepted, Invalid, validate_record
from engine.reference import load_reference
from engine.ruleset.calendar import SHANGHAI

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO.parent / "shared" / "contract" / "examples"
KNOWN = load_reference(REPO / "rules")


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def errors_of(event: dict | bytes, topic: str = "hazard.reports") -> list[tuple[str, str, str]]:
    raw = event if isinstance(event, bytes) else json.dumps(event).encode()
    result = validate_record(raw, topic, KNOWN)
    assert isinstance(result, Invalid), "expected a rejection"
    return [(".".join(str(p) for p in e.loc), e.type, e.msg) for e in result.errors]


@pytest.mark.parametrize("name,topic", [
    ("hazard-reported.json", "hazard.reports"),
    ("inspection-recorded.json", "inspection.findings"),
    ("alert-raised.json", "responder.alerts"),
])
def test_contract_examples_are_accepted(name: str, topic: str) -> None:
    """The three example events in the contract pass every check."""
    result = validate_record((EXAMPLES / name).read_bytes(), topic, KNOWN)
    assert isinstance(result, Accepted), getattr(result, "errors", None)


def test_rejected_examples_each_name_what_is_wrong() -> None:
    """Each line of rejected-examples.jsonl is rejected with the reason the contract implies."""
    lines = (EXAMPLES / "rejected-examples.jsonl").read_bytes().splitlines()
    got = [errors_of(line)[0][:2] for line in lines if line.strip()]
    assert got == [
        ("time", "timezone_aware"),
        ("data.location.town", "unknown_town"),
        ("data.enterprise.uscc", "uscc"),
        ("type", "unknown_type"),
        ("record", "not_json"),
    ]


@pytest.mark.parametrize(("field", "value", "code"), [
    ("location", {"town": "zhulaozhuang", "lat": 36.2}, "coordinates"),
    ("location", {"town": "zhulaozhuang", "lon": 117.7}, "coordinates"),
    ("reporter", {"role": "grid_worker"}, "actor_id"),
    ("reporter", {"role": "grid_worker", "anonymous": True}, "anonymous_role"),
    ("reporter", {"role": "public", "anonymous": True, "id": "p-1"}, "anonymous_identity"),
])
def test_a_report_s_place_and_reporter_are_refused_by_the_model_s_own_rules(
        field: str, value: dict, code: str) -> None:
    """The rules no field type says alone (a pair of coordinates, who may stay anonymous) each
    reject with their own reason. (The fast path leaves these shapes to pydantic, so the
    differential test, which compares the two, cannot tell whether pydantic refuses them.)"""
    event = example("hazard-reported.json")
    event["data"] = {**event["data"], field: value}
    assert [e[:2] for e in errors_of(event)] == [(f"data.{field}", code)]


def _cloud(type_: str, subject: str, data: dict) -> dict:
    """A structured event of `type_` about `subject`, as a field app sends it."""
    return {"specversion": "1.0", "id": "ev-1", "source": "/apps/x", "type": type_,
            "time": "2026-11-30T10:00:00+08:00", "subject": subject, "data": data}


def _inspection(**data: object) -> dict:
    event = example("inspection-recorded.json")
    event["data"] = {**event["data"], **data}
    return event


FINDING = example("inspection-recorded.json")["data"]["findings"][0]


@pytest.mark.parametrize(("data", "code"), [
    ({"kind": "expert_check", "outcome": "refused", "findings": []}, "outcome"),
    ({"outcome": "refused"}, "outcome"),  # with the example's findings
    ({"findings": [FINDING, {**FINDING, "description": "The same hazard again."}]}, "findings"),
])
def test_an_inspection_is_refused_by_the_model_s_own_rules(data: dict, code: str) -> None:
    """An expert check refused, a refused inspection with findings, two findings of one hazard:
    each rejected with its reason (the fast path leaves these to pydantic, as above)."""
    assert [e[:2] for e in errors_of(_inspection(**data), "inspection.findings")] == [("data", code)]


def test_a_review_by_anyone_but_an_inspector_or_an_expert_is_refused() -> None:
    """A rectification's acceptance review is an inspector's or an expert's: the enterprise's own
    is refused."""
    event = _cloud("safety.rectification.reviewed", "HZ-1", {
        "hazard_id": "HZ-1", "outcome": "passed", "note": "Done.",
        "by": {"id": "ent-1", "role": "enterprise"}})
    assert [e[:2] for e in errors_of(event, "rectification.updates")] == [("data.by", "reviewer_role")]
    event["data"]["by"] = {"id": "insp-1", "role": "inspector"}
    assert isinstance(validate_record(json.dumps(event).encode(), "rectification.updates", KNOWN), Accepted)


INSPECTOR = {"id": "insp-1", "role": "inspector"}
SUPERVISOR = {"id": "sup-1", "role": "supervisor"}
DECIDED = "safety.rectification.extension_decided"
OFFICER = {"id": "io-1", "role": "info_officer"}


@pytest.mark.parametrize(("type_", "data", "loc", "code"), [
    ("safety.hazard.verified", {"verdict": "unfounded", "grade": "general", "by": INSPECTOR}, "data",
     "grade"),
    ("safety.hazard.verified", {"verdict": "unfounded", "duplicate_of": "HZ-2", "by": INSPECTOR}, "data",
     "duplicate_of"),
    ("safety.hazard.verified", {"verdict": "duplicate", "by": INSPECTOR}, "data", "duplicate_of"),
    ("safety.hazard.verified", {"verdict": "duplicate", "duplicate_of": "HZ-1", "by": INSPECTOR}, "data",
     "duplicate_of"),
    (DECIDED, {"approved": False, "by": INSPECTOR}, "data.by", "decider_role"),
    (DECIDED, {"approved": True, "by": SUPERVISOR}, "data", "new_deadline"),
    (DECIDED, {"approved": False, "new_deadline": "2026-12-20", "by": SUPERVISOR}, "data", "new_deadline"),
    ("safety.disaster.reported", {"report_kind": "initial", "post": "A", "by": INSPECTOR}, "data.by",
     "not_info_officer"),
    ("safety.alert.updated", {}, "data", "empty_update"),
])
def test_a_decision_or_report_is_refused_by_the_model_s_own_rules(type_: str, data: dict, loc: str,
                                                                   code: str) -> None:
    """A verdict's grade and duplicate only with their verdict (and never of itself), an extension
    decided by a supervisor with a new deadline exactly when approved, a disaster report by an
    information officer, an update that says something: each rule rejects with its reason. With
    a valid value in its place (the last case of each), the same event is accepted."""
    subject = "AL-1" if type_.startswith(("safety.alert", "safety.disaster")) else "HZ-1"
    field = "alert_id" if subject == "AL-1" else "hazard_id"
    event = _cloud(type_, subject, {field: subject, **data})
    topic = EVENT_TYPES[type_].topic
    assert [e[:2] for e in errors_of(event, topic)] == [(loc, code)]
    fixed = {"safety.hazard.verified": {"verdict": "duplicate", "duplicate_of": "HZ-2", "by": INSPECTOR},
             DECIDED: {"approved": True, "new_deadline": "2026-12-20", "by": SUPERVISOR},
             "safety.disaster.reported": {"report_kind": "initial", "post": "A", "by": OFFICER},
             "safety.alert.updated": {"note": "Two more trapped."}}[type_]
    event["data"] = {field: subject, **fixed}
    assert isinstance(validate_record(json.dumps(event).encode(), topic, KNOWN), Accepted)


def test_an_order_is_made_by_two_inspectors_not_one_and_someone_else() -> None:
    """Law enforcement needs two officers (行政处罚法 art. 42): an order signed by one inspector and
    a supervisor is refused, though it has two signatories; by two inspectors, accepted."""
    event = _cloud("safety.enforcement.ordered", "HZ-1", {
        "hazard_id": "HZ-1", "order_no": "ZL-1", "order": "suspend", "legal_basis": "安全生产法 art. 65",
        "by": [INSPECTOR, SUPERVISOR]})
    topic = EVENT_TYPES["safety.enforcement.ordered"].topic
    assert [e[1] for e in errors_of(event, topic)] == ["inspectors"]
    event["data"]["by"] = [INSPECTOR, {"id": "insp-2", "role": "inspector"}]
    assert isinstance(validate_record(json.dumps(event).encode(), topic, KNOWN), Accepted)


def test_not_json() -> None:
    """A record that is not JSON is rejected with the parser's position."""
    [(loc, code, msg)] = errors_of(b"{not json")
    assert (loc, code) == ("record", "not_json")
    assert "line 1 column 2" in msg


def test_not_utf8() -> None:
    """Bytes that are not UTF-8 are rejected with the offending byte's position."""
    [(loc, code, msg)] = errors_of(b'{"a": "\xff"}')
    assert (loc, code) == ("record", "not_utf8")
    assert "at byte 7" in msg


def test_over_one_mebibyte() -> None:
    """A record larger than 1 MiB is rejected before it is parsed."""
    big = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    [(loc, code, msg)] = errors_of(big)
    assert (loc, code) == ("record", "too_large")
    assert str(len(big)) in msg and "1048576" in msg


def test_json_that_is_not_an_object() -> None:
    """A JSON array or scalar is not an event."""
    assert errors_of(b"[1, 2]")[0][:2] == ("record", "not_object")


def test_empty_record() -> None:
    """A tombstone (no value) is rejected, not skipped silently."""
    result = validate_record(None, "hazard.reports", KNOWN)
    assert isinstance(result, Invalid) and result.errors[0].type == "empty_record"


def test_unknown_type_lists_the_types_of_its_topic() -> None:
    """An unknown type is named, with the types that the topic allows."""
    event = example("hazard-reported.json") | {"type": "safety.hazard.teleported"}
    [(loc, code, msg)] = errors_of(event, "rectification.updates")
    assert (loc, code) == ("type", "unknown_type")
    assert "'safety.hazard.teleported'" in msg and "safety.rectification.reviewed" in msg


def test_an_unknown_type_does_not_hide_the_envelope_s_other_faults() -> None:
    """An unknown type and an envelope fault beside it (an id too long, a time without offset):
    the type is named once, as unknown, and each other fault as well."""
    event = example("hazard-reported.json") | {"type": "safety.hazard.teleported", "id": "x" * 201,
                                              "time": "2026-11-30T09:12:00"}
    got = [(loc, code) for loc, code, _ in errors_of(event, "rectification.updates")]
    assert got[0] == ("type", "unknown_type") and [loc for loc, _ in got].count("type") == 1
    assert {loc for loc, _ in got[1:]} == {"id", "time"}


def test_type_on_the_wrong_topic() -> None:
    """A known type on a topic it does not belong to is rejected, naming the right topic."""
    [(loc, code, msg)] = errors_of(example("alert-raised.json"), "hazard.reports")
    assert (loc, code) == ("type", "wrong_topic")
    assert msg == "safety.alert.raised belongs on topic responder.alerts, not hazard.reports"


def test_missing_field() -> None:
    """A required field that is absent is named by its path."""
    event = example("hazard-reported.json")
    del event["data"]["sector"]
    del event["subject"]
    got = {(loc, code) for loc, code, _ in errors_of(event)}
    assert got == {("data.sector", "missing"), ("subject", "missing")}


def test_mistyped_fields() -> None:
    """Values of the wrong JSON type are not coerced: a string is not a number or a boolean."""
    event = example("alert-raised.json")
    event["data"]["casualties"]["dead"] = "2"
    event["data"]["crowded_place"] = "yes"
    event["data"]["location"]["lat"] = "36.4"
    got = {(loc, code) for loc, code, _ in errors_of(event, "responder.alerts")}
    assert got == {
        ("data.casualties.dead", "int_type"),
        ("data.crowded_place", "bool_type"),
        ("data.location.lat", "float_type"),
    }


def test_unknown_field_in_data() -> None:
    """A field the contract does not define in data is an error, so typos do not pass unseen."""
    event = example("hazard-reported.json")
    event["data"]["sectr"] = "fire_safety"
    assert ("data.sectr", "extra_forbidden") in {(loc, c) for loc, c, _ in errors_of(event)}


def test_bad_uscc() -> None:
    """A USCC whose check character is wrong is rejected with the character GB 32100 gives."""
    event = example("hazard-reported.json")
    event["data"]["enterprise"]["uscc"] = "91371500MA3C4XK2N3"
    [(loc, code, msg)] = errors_of(event)
    assert (loc, code) == ("data.enterprise.uscc", "uscc")
    assert "gives '2'" in msg


def test_uscc_with_a_forbidden_letter() -> None:
    """I, O, S, V and Z are not in the USCC alphabet."""
    event = example("hazard-reported.json")
    event["data"]["enterprise"]["uscc"] = "91371500MA3C4XKON2"
    [(_, code, msg)] = errors_of(event)
    assert code == "uscc" and "'O'" in msg


def test_unknown_town() -> None:
    """A town that is not in rules/ is rejected, wherever the location is."""
    event = example("inspection-recorded.json")
    event["data"]["location"]["town"] = "atlantis"
    [(loc, code, msg)] = errors_of(event, "inspection.findings")
    assert (loc, code) == ("data.location.town", "unknown_town")
    assert "'atlantis'" in msg


def test_time_without_offset() -> None:
    """A timestamp without an offset is rejected, in the envelope and in data."""
    event = example("hazard-reported.json")
    event["data"]["rectify_by"] = "2026-12-07T18:00:00"
    [(loc, code, msg)] = errors_of(event)
    assert loc.startswith("data.rectify_by") and "offset" in msg


@pytest.mark.parametrize(("sent", "read"), [
    ("2026-12-20T00:00:00+08:00", "2026-12-20"),  # a date picker's "20 December"
    ("2026-12-19T16:00:00Z", "2026-12-20"),  # the same instant, written in UTC
    ("2026-12-20T00:00:00Z", "2026-12-20T08:00:00+08:00"),  # 08:00 in the district: an instant
    ("2026-12-20T00:00:01+08:00", "2026-12-20T00:00:01+08:00"),
])
def test_a_deadline_at_midnight_district_time_is_read_as_that_day(sent: str, read: str) -> None:
    """A deadline at 00:00:00 district time is the day it falls on, to its end, as a date alone is:
    read as the instant it would end as the day begins (referral audit of 2026-12-07, finding 5)."""
    event = example("hazard-reported.json")
    event["data"]["rectify_by"] = sent
    result = validate_record(json.dumps(event).encode(), "hazard.reports", KNOWN)
    assert isinstance(result, Accepted), result
    deadline = result.event.data.rectify_by
    shown = deadline.isoformat() if len(read) == 10 else deadline.astimezone(SHANGHAI).isoformat()
    assert shown == read


def test_anonymous_actor_must_be_public() -> None:
    """Only role 'public' may be anonymous."""
    event = example("hazard-reported.json")
    event["data"]["reporter"] = {"role": "grid_worker", "anonymous": True}
    [(loc, code, msg)] = errors_of(event)
    assert (loc, code) == ("data.reporter", "anonymous_role")
    assert "'grid_worker'" in msg


def test_anonymous_public_report_is_accepted() -> None:
    """An anonymous member of the public, without identity fields, is a valid reporter."""
    event = example("hazard-reported.json")
    event["data"]["reporter"] = {"role": "public", "anonymous": True}
    result = validate_record(json.dumps(event).encode(), "hazard.reports", KNOWN)
    assert isinstance(result, Accepted)


def test_anonymous_actor_with_identity() -> None:
    """An anonymous actor must not carry an id or a name."""
    event = example("hazard-reported.json")
    event["data"]["reporter"] = {"role": "public", "anonymous": True, "id": "p-1"}
    assert errors_of(event)[0][1] == "anonymous_identity"


def test_subject_must_match_the_data() -> None:
    """The subject keys the partition, so it must be the hazard_id the data names."""
    event = example("hazard-reported.json") | {"subject": "HZ-OTHER"}
    [(loc, code, _)] = errors_of(event)
    assert (loc, code) == ("subject", "subject_mismatch")


def test_law_enforcement_needs_two_inspectors() -> None:
    """A law-enforcement inspection with one inspector is rejected; an expert check is not."""
    event = example("inspection-recorded.json")
    event["data"]["inspectors"] = event["data"]["inspectors"][:1]
    assert errors_of(event, "inspection.findings")[0][1] == "inspectors"
    event["data"]["kind"] = "expert_check"
    ok = validate_record(json.dumps(event).encode(), "inspection.findings", KNOWN)
    assert isinstance(ok, Accepted)


def test_verified_needs_grade_when_confirmed() -> None:
    """A confirmation without a grade is rejected."""
    event = {
        "specversion": "1.0", "id": "v-1", "source": "/apps/office/1",
        "type": "safety.hazard.verified", "time": "2026-11-30T10:00:00+08:00",
        "subject": "HZ-1",
        "data": {"hazard_id": "HZ-1", "verdict": "confirmed",
                 "by": {"id": "s-1", "role": "supervisor"}},
    }
    assert errors_of(event, "rectification.updates")[0][1] == "grade"


def test_unknown_lead_department() -> None:
    """A lead_department override must name a department in rules/."""
    event = {
        "specversion": "1.0", "id": "v-2", "source": "/apps/office/1",
        "type": "safety.hazard.verified", "time": "2026-11-30T10:00:00+08:00",
        "subject": "HZ-1",
        "data": {"hazard_id": "HZ-1", "verdict": "confirmed", "grade": "major",
                 "lead_department": "ministry_of_magic",
                 "by": {"id": "s-1", "role": "supervisor"}},
    }
    [(loc, code, _)] = errors_of(event, "rectification.updates")
    assert (loc, code) == ("data.lead_department", "unknown_department")


def test_every_error_is_reported_not_just_the_first() -> None:
    """A record with several problems lists them all, so a field app can fix them in one go."""
    event = example("hazard-reported.json")
    event["time"] = "yesterday"
    event["data"]["location"]["town"] = "atlantis"
    event["data"]["grade_claimed"] = "huge"
    locs = {loc for loc, _, _ in errors_of(event)}
    assert {"time", "data.location.town", "data.grade_claimed"} <= locs


@pytest.mark.parametrize("media_type", [
    "application/json",
    "application/json; charset=utf-8",
    "Application/JSON ;charset=\"UTF-8\"",
    "application/json;",
    "application/geo+json",
])
def test_json_data_content_types_are_accepted(media_type: str) -> None:
    """datacontenttype may be any spelling of a JSON media type, with parameters (contract v2)."""
    event = example("hazard-reported.json") | {"datacontenttype": media_type}
    result = validate_record(json.dumps(event).encode(), "hazard.reports", KNOWN)
    assert isinstance(result, Accepted), getattr(result, "errors", None)
    assert result.event.datacontenttype == media_type  # kept as sent; the timeline does not carry it


def test_a_charset_other_than_utf8_is_rejected() -> None:
    """A datacontenttype with charset=latin-1 is refused: events are UTF-8 JSON."""
    event = example("hazard-reported.json") | {"datacontenttype": "application/json; charset=latin-1"}
    [(loc, code, msg)] = errors_of(event)
    assert (loc, code) == ("datacontenttype", "unsupported_charset")
    assert "'latin-1'" in msg and "utf-8" in msg


@pytest.mark.parametrize("media_type,word", [
    ("text/plain", "'text/plain' is not a JSON media type"),
    ("application/cloudevents+json", "not a CloudEvent"),
    ("json", "is not a media type"),
    ("application/json; charset=utf-8; charset=latin-1", "is not a media type"),
    ("application/json x", "is not a media type"),  # text after the type that is no parameter
])
def test_a_data_content_type_that_is_not_json_is_rejected(media_type: str, word: str) -> None:
    """A datacontenttype that is not a JSON media type is unsupported_content_type, saying why."""
    event = example("hazard-reported.json") | {"datacontenttype": media_type}
    [(loc, code, msg)] = errors_of(event)
    assert (loc, code) == ("datacontenttype", "unsupported_content_type")
    assert word in msg


@pytest.mark.parametrize("value", [
    b'{"a": 1, "b": "x"}', b'{"a": "\\u00e9\\"", "b": [1, 2.5, null]}', "{\"名\": \"值\"}".encode(),
    b'{"a": 1, "a": 2}', b'{"a": {"b": 1, "b": 1}}', b'{"a": "\\\\"}', b'{"a": "\xed\xa0\x80"}',
    b'{"a": "\xc0\xaf"}', b'{"a": "\xf4\x90\x80\x80"}', b"\xef\xbb\xbf{}", b'{"a": NaN}', b"{", b"[]",
    b"[" + b"0," * 20_000 + b"0]",
])
def test_the_fast_paths_parse_takes_what_read_json_takes_at_the_first_look(value: bytes) -> None:
    """`parsed_as_it_is` skips the text, never a check: what it parses `read_json` parses alike, and
    what `read_json` refuses (not UTF-8, a key given twice, too intricate) it leaves to it."""
    from engine.intake.validate import parsed_as_it_is, read_json

    quick, full = parsed_as_it_is(value), read_json(value)
    if quick is not None:
        assert isinstance(full, tuple) and full[0] == quick
    if isinstance(full, Invalid):
        assert quick is None
