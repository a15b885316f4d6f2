"""CAP 1.2 documents for alerts: rendering, the shipped OASIS schema, identifiers and the field mapping."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import typing
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import xmlschema

from engine.cap import (
    DEFAULT_RADIUS_KM,
    NAMESPACE,
    SCHEMA_PATH,
    CapMessage,
    cap_fields,
    event_text,
    identifier,
    msg_type_for,
    render,
    validate,
)
from engine.cap.ident import subject_part
from engine.cap.mapping import CATEGORY, EVENTS
from engine.contract.intake import AlertKind

BJ = timezone(timedelta(hours=8))
SENDER = "hazard-engine@dujiaqu.example"
NS = {"cap": NAMESPACE}
T0 = datetime(2026, 11, 30, 19, 5, 0, tzinfo=BJ)
T1 = datetime(2026, 11, 30, 19, 20, 30, 250_000, tzinfo=BJ)  # fractional seconds must not survive
T2 = datetime(2026, 11, 30, 13, 0, 0, tzinfo=UTC)  # 21:00 Beijing time


@pytest.fixture(scope="module")
def direct_schema() -> xmlschema.XMLSchema:
    """The shipped XSD loaded by xmlschema on its own, independent of engine.cap.validate."""
    return xmlschema.XMLSchema(str(SCHEMA_PATH))


def _message(**changes: typing.Any) -> CapMessage:
    category, urgency, severity, certainty = cap_fields("II", "raised", "fire")
    base = CapMessage(
        identifier=identifier("3715020000", T0, 1, "AL-1"),
        sender=SENDER,
        sent=T0,
        status="Actual",
        msg_type="Alert",
        references=(),
        event=event_text("fire"),
        category=category,
        urgency=urgency,
        severity=severity,
        certainty=certainty,
        headline="牡丹区南城街道某仓库火灾",
        description="仓库二层起火，浓烟，2人被困。",
        instruction="疏散周边200米内人员，远离下风向。",
        area_desc="菏泽市牡丹区南城街道",
        circle=(35.2461, 115.4412, DEFAULT_RADIUS_KM),
        parameters=(("responseLevel", "II"), ("alertId", "AL-2026-0001")),
    )
    return dataclasses.replace(base, **changes)


ALERT = _message()
UPDATE = _message(
    identifier=identifier("3715020000", T1, 2, "AL-1"),
    sent=T1,
    msg_type="Update",
    references=((SENDER, ALERT.identifier, ALERT.sent),),
    headline="火情扩大，响应级别提升至I级",
    severity=cap_fields("I", "updated", "fire")[2],
    parameters=(("responseLevel", "I"),),
)
CANCEL = _message(
    identifier=identifier("3715020000", T2, 3, "AL-1"),
    sent=T2,
    msg_type="Cancel",
    references=((SENDER, ALERT.identifier, ALERT.sent), (SENDER, UPDATE.identifier, UPDATE.sent)),
    urgency=cap_fields("I", "closed", "fire")[1],
    headline="火灾已扑灭，警报解除",
    instruction=None,
    note="Incident closed by the on-scene commander.",
)


def _assert_valid(xml: bytes, direct: xmlschema.XMLSchema) -> None:
    assert validate(xml) == []
    direct.validate(io.BytesIO(xml))  # raises XMLSchemaValidationError on the first error


def _text(xml: bytes, path: str) -> str | None:
    found = ET.fromstring(xml).find(path, NS)
    return None if found is None else found.text


def test_alert_validates(direct_schema: xmlschema.XMLSchema) -> None:
    """A raised alert renders as a valid CAP Alert in the CAP 1.2 namespace."""
    xml = render(ALERT)
    _assert_valid(xml, direct_schema)
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<alert xmlns="' + NAMESPACE.encode())
    assert _text(xml, "cap:msgType") == "Alert"
    assert _text(xml, "cap:scope") == "Public"
    assert _text(xml, "cap:identifier") == "371502000020261130190500000102a431a6c6294687"
    assert _text(xml, "cap:sent") == "2026-11-30T19:05:00+08:00"
    assert _text(xml, "cap:info/cap:event") == "火灾 Fire"
    assert ET.fromstring(xml).find("cap:references", NS) is None


def test_update_references_alert(direct_schema: xmlschema.XMLSchema) -> None:
    """An Update is valid and references the Alert as "sender,identifier,sent"."""
    xml = render(UPDATE)
    _assert_valid(xml, direct_schema)
    assert _text(xml, "cap:msgType") == "Update"
    assert _text(xml, "cap:sent") == "2026-11-30T19:20:30+08:00"
    assert _text(xml, "cap:references") == (
        f"{SENDER},371502000020261130190500000102a431a6c6294687,2026-11-30T19:05:00+08:00")
    assert _text(xml, "cap:info/cap:severity") == "Extreme"


def test_cancel_references_both(direct_schema: xmlschema.XMLSchema) -> None:
    """A Cancel is valid and references the Alert and the Update, space-separated, in Beijing time."""
    xml = render(CANCEL)
    _assert_valid(xml, direct_schema)
    assert _text(xml, "cap:msgType") == "Cancel"
    assert _text(xml, "cap:sent") == "2026-11-30T21:00:00+08:00"
    assert _text(xml, "cap:references") == (
        f"{SENDER},371502000020261130190500000102a431a6c6294687,2026-11-30T19:05:00+08:00 "
        f"{SENDER},371502000020261130192030000202a431a6c6294687,2026-11-30T19:20:30+08:00"
    )
    assert _text(xml, "cap:note") == "Incident closed by the on-scene commander."
    assert _text(xml, "cap:info/cap:urgency") == "Past"
    assert ET.fromstring(xml).find("cap:info/cap:instruction", NS) is None


def test_exercise_validates(direct_schema: xmlschema.XMLSchema) -> None:
    """A drill renders with status Exercise and validates."""
    xml = render(_message(status="Exercise", sender_name="牡丹区应急管理局"))
    _assert_valid(xml, direct_schema)
    assert _text(xml, "cap:status") == "Exercise"
    assert _text(xml, "cap:info/cap:senderName") == "牡丹区应急管理局"


def test_with_circle(direct_schema: xmlschema.XMLSchema) -> None:
    """A circle renders as "lat,lon radius" in km, in fixed decimals without an exponent."""
    xml = render(_message(circle=(35.2461, -115.0000001, 0.00001)))
    _assert_valid(xml, direct_schema)
    assert _text(xml, "cap:info/cap:area/cap:circle") == "35.2461,-115 0.00001"
    assert _text(render(ALERT), "cap:info/cap:area/cap:circle") == "35.2461,115.4412 0.5"


def test_without_circle(direct_schema: xmlschema.XMLSchema) -> None:
    """Without a position the area has its description and no circle, and still validates."""
    xml = render(_message(circle=None, parameters=()))
    _assert_valid(xml, direct_schema)
    area = ET.fromstring(xml).find("cap:info/cap:area", NS)
    assert area is not None
    assert [child.tag.split("}")[1] for child in area] == ["areaDesc"]
    assert ET.fromstring(xml).find("cap:info/cap:parameter", NS) is None


def test_text_is_escaped_and_made_xml_safe(direct_schema: xmlschema.XMLSchema) -> None:
    """Markup characters are escaped and characters XML cannot hold become U+FFFD, so the document parses."""
    xml = render(_message(headline="<b>A & B</b>", description="bell\x07 here"))
    _assert_valid(xml, direct_schema)
    assert _text(xml, "cap:info/cap:headline") == "<b>A & B</b>"
    assert _text(xml, "cap:info/cap:description") == "bell\ufffd here"


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (b"<status>Actual</status>", b"<status>Bogus</status>", "/alert/status"),
        (b"<sent>2026-11-30T19:05:00+08:00", b"<sent>2026-11-30T19:05:00.5+08:00", "/alert/sent"),
        (b"<sent>2026-11-30T19:05:00+08:00", b"<sent>2026-11-30T11:05:00Z", "/alert/sent"),
        (b"<category>Fire</category>", b"<category>Blaze</category>", "/alert/info/category"),
        (b"<scope>Public</scope>\n", b"", "/alert"),
    ],
)
def test_broken_document_fails(
    old: bytes, new: bytes, where: str, direct_schema: xmlschema.XMLSchema
) -> None:
    """A document the schema forbids yields errors that name the offending element."""
    xml = render(ALERT)
    assert old in xml
    broken = xml.replace(old, new)
    errors = validate(broken)
    assert errors, "the broken document must not validate"
    assert errors[0].startswith(where), errors
    assert not direct_schema.is_valid(io.BytesIO(broken))


def test_not_an_alert_fails() -> None:
    """Malformed XML and a root other than <alert> are reported, not raised."""
    assert validate(b"<alert")[0].startswith("not well-formed XML")
    lone = f'<valueName xmlns="{NAMESPACE}">x</valueName>'.encode()
    assert "root element must be" in validate(lone)[0]


def test_rendering_is_deterministic() -> None:
    """The same message, however its times are zoned, renders to the same bytes every time."""
    again = _message()
    assert render(ALERT) == render(ALERT) == render(again)
    as_utc = dataclasses.replace(ALERT, sent=ALERT.sent.astimezone(UTC))
    assert render(as_utc) == render(ALERT)


def test_identifier_pattern() -> None:
    """Identifier = issuer code + Beijing YYYYMMDDHHMMSS + 4-digit sequence + the alert's 16 hex
    digits, also for a UTC input."""
    tag = subject_part("AL-1")
    assert len(tag) == 16 and tag.isalnum() and tag == "02a431a6c6294687"
    assert (
        identifier("3715020000", datetime(2026, 11, 30, 19, 5, tzinfo=BJ), 1, "AL-1")
        == "3715020000202611301905000001" + tag
    )
    assert (
        identifier("3715020000", datetime(2026, 11, 30, 11, 5, tzinfo=UTC), 1, "AL-1")
        == "3715020000202611301905000001" + tag
    )
    # 17:30 UTC is already the next day in Beijing.
    assert identifier("3715020000", datetime(2026, 11, 30, 17, 30, 9, tzinfo=UTC), 42, "AL-1") == (
        "3715020000202612010130090042" + tag
    )
    assert identifier("X1", T0, 9999, "AL-1").endswith("9999" + tag)


def test_two_alerts_messages_of_one_second_have_their_own_identifiers() -> None:
    """The sequence counts one alert's messages, so two alerts sending in the same second share it:
    the alert's part keeps their identifiers apart, whatever characters its id holds."""
    first, second = (identifier("3715020000", T0, 1, aid) for aid in ("AL-IN", "AL-OOO"))
    assert first != second and first[:-16] == second[:-16]
    assert identifier("3715020000", T0, 1, "火灾 <东区>, 3&4").isalnum()


@pytest.mark.parametrize(
    ("code", "sent", "seq"),
    [
        ("3715 02", T0, 1),
        ("", T0, 1),
        ("3715020000", datetime(2026, 11, 30, 19, 5), 1),
        ("3715020000", T0, 10_000),
        ("3715020000", T0, -1),
    ],
)
def test_identifier_rejects_bad_input(code: str, sent: datetime, seq: int) -> None:
    """Codes with separators, naive times and sequences outside 0..9999 are refused."""
    with pytest.raises(ValueError):
        identifier(code, sent, seq, "AL-1")


@pytest.mark.parametrize(
    ("level", "severity"),
    [("I", "Extreme"), ("II", "Severe"), ("III", "Moderate"), ("IV", "Minor"), (None, "Unknown")],
)
def test_level_to_severity(level: str | None, severity: str) -> None:
    """Response level I..IV maps to Extreme, Severe, Moderate, Minor; no level to Unknown."""
    assert cap_fields(level, "raised", "fire")[2] == severity


def test_state_to_urgency_certainty_and_msg_type() -> None:
    """Open alerts are Immediate, closed ones Past; all are Observed; states map to Alert/Update/Cancel."""
    assert [cap_fields("III", s, "gas_leak")[1] for s in ("raised", "updated", "closed")] == [
        "Immediate",
        "Immediate",
        "Past",
    ]
    assert {cap_fields("III", s, "gas_leak")[3] for s in ("raised", "updated", "closed")} == {"Observed"}
    assert [msg_type_for(s) for s in ("raised", "updated", "closed")] == ["Alert", "Update", "Cancel"]


def test_kind_to_category_and_event() -> None:
    """Every alert kind of the contract has a CAP category and bilingual event text."""
    kinds = set(typing.get_args(AlertKind))
    assert set(CATEGORY) == kinds == set(EVENTS)
    assert {
        k: cap_fields(None, "raised", k)[0]
        for k in ("fire", "explosion", "gas_leak", "flood", "drowning", "traffic", "other")
    } == {
        "fire": "Fire",
        "explosion": "Fire",
        "gas_leak": "CBRNE",
        "flood": "Met",
        "drowning": "Rescue",
        "traffic": "Transport",
        "other": "Other",
    }
    assert event_text("hazardous_chemical_leak") == "危险化学品泄漏 Hazardous chemical leak"
    assert all(re.fullmatch(r"\S+ [A-Z][A-Za-z ]+", text) for text in EVENTS.values())


def test_mapping_rejects_unknowns() -> None:
    """An unknown kind, state or level is an error, not a silent default."""
    for args in [("II", "raised", "meteor"), ("II", "reopened", "fire"), ("V", "raised", "fire")]:
        with pytest.raises(ValueError):
            cap_fields(*args)


def test_message_rejects_what_cap_forbids() -> None:
    """Update without references, naive times, and spaces or commas in ids are refused at construction."""
    with pytest.raises(ValueError, match="reference"):
        _message(msg_type="Update")
    with pytest.raises(ValueError, match="aware"):
        _message(sent=datetime(2026, 11, 30, 19, 5))
    with pytest.raises(ValueError, match="sender"):
        _message(sender="hazard engine")
    with pytest.raises(ValueError, match="identifier"):
        _message(references=(("s", "a,b", T0),))
    with pytest.raises(ValueError, match="status"):
        _message(status="Bogus")
    with pytest.raises(ValueError, match="circle"):
        _message(circle=(91.0, 0.0, 0.5))


def test_schema_sha256_matches_readme() -> None:
    """The shipped XSD is the copy the README describes, byte for byte."""
    path = Path(str(SCHEMA_PATH))
    readme = (path.parent / "README.md").read_text(encoding="utf-8")
    recorded = re.search(r"sha256: `([0-9a-f]{64})`", readme)
    assert recorded is not None
    assert hashlib.sha256(path.read_bytes()).hexdigest() == recorded.group(1)
    assert path.read_bytes().startswith(b"<!--  Copyright OASIS Open 2010 All Rights Reserved  -->")
