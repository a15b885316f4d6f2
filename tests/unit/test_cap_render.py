"""The text CAP renderer writes, byte for byte, what the ElementTree renderer it replaced wrote.

`et_render` below is the old renderer, kept here as the reference: an element
tree per message, `ET.indent`, `default_namespace`. Every message compared is
also checked against the vendored CAP 1.2 schema where it is cheap enough.
"""

from __future__ import annotations

import dataclasses
import random
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bench import core
from engine.alerts import capdoc
from engine.cap import CapMessage, cap_fields, cap_time, event_text, identifier, render, validate
from engine.cap.document import _DECLARATION, _NOT_XML, _num
from engine.cap.mapping import CATEGORY
from engine.cap.message import NAMESPACE
from engine.settings import Settings

BJ = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 30, 19, 5, 0, tzinfo=BJ)
SENDER = "hazard-engine@dujiaqu.example"


def et_render(msg: CapMessage) -> bytes:
    """The renderer as it was before: an ElementTree per message."""
    def q(name: str) -> str:
        return f"{{{NAMESPACE}}}{name}"

    def add(parent: ET.Element, name: str, text: str) -> ET.Element:
        child = ET.SubElement(parent, q(name))
        child.text = _NOT_XML.sub("\ufffd", text)
        return child

    alert = ET.Element(q("alert"))
    for name, text in (("identifier", msg.identifier), ("sender", msg.sender),
                       ("sent", cap_time(msg.sent)), ("status", msg.status),
                       ("msgType", msg.msg_type), ("scope", "Public")):
        add(alert, name, text)
    if msg.note is not None:
        add(alert, "note", msg.note)
    if msg.references:
        add(alert, "references", " ".join(f"{s},{i},{cap_time(t)}" for s, i, t in msg.references))
    info = ET.SubElement(alert, q("info"))
    for name, text in (("language", msg.language), ("category", msg.category), ("event", msg.event),
                       ("urgency", msg.urgency), ("severity", msg.severity),
                       ("certainty", msg.certainty)):
        add(info, name, text)
    if msg.sender_name is not None:
        add(info, "senderName", msg.sender_name)
    add(info, "headline", msg.headline)
    add(info, "description", msg.description)
    if msg.instruction is not None:
        add(info, "instruction", msg.instruction)
    for name, value in msg.parameters:
        parameter = ET.SubElement(info, q("parameter"))
        add(parameter, "valueName", name)
        add(parameter, "value", value)
    area = ET.SubElement(info, q("area"))
    add(area, "areaDesc", msg.area_desc)
    if msg.circle is not None:
        lat, lon, radius_km = msg.circle
        add(area, "circle", f"{_num(lat)},{_num(lon)} {_num(radius_km)}")
    ET.indent(alert, space="  ")
    body = ET.tostring(alert, encoding="unicode", default_namespace=NAMESPACE)
    return _DECLARATION + body.encode("utf-8") + b"\n"


def _message(**changes: object) -> CapMessage:
    category, urgency, severity, certainty = cap_fields("II", "raised", "fire")
    base = CapMessage(
        identifier=identifier("3715020000", T0, 1, "AL-1"), sender=SENDER, sent=T0, status="Actual",
        msg_type="Alert", references=(), event=event_text("fire"), category=category,
        urgency=urgency, severity=severity, certainty=certainty, headline="牡丹区南城街道某仓库火灾",
        description="仓库二层起火，浓烟，2人被困。", instruction="疏散周边200米内人员，远离下风向。",
        area_desc="菏泽市牡丹区南城街道", circle=(35.2461, 115.4412, 0.5),
        parameters=(("responseLevel", "II"), ("alertId", "AL-2026-0001")))
    return dataclasses.replace(base, **changes)


# The shapes the CAP tests use: an alert, an update, a cancel with a note, no circle, no
# parameters, a sender name, and text that needs escaping or holds what XML cannot carry.
FIXTURES = [
    _message(),
    _message(msg_type="Update", references=((SENDER, "X1", T0),), parameters=(("responseLevel", "I"),)),
    _message(msg_type="Cancel", urgency="Past", instruction=None, note="Incident closed.",
             references=((SENDER, "X1", T0), (SENDER, "X2", T0.astimezone(UTC)))),
    _message(circle=None, parameters=()),
    _message(status="Exercise", note="演练 Exercise", sender_name="杜家区应急管理局"),
    _message(headline="<b>A & B</b> > c", description="bell\x07 here\r\n\ttab", instruction=""),
    _message(description="", headline="\ud800 lone surrogate, \ufffe, \"quotes\" 'and' ]]>"),
    _message(circle=(-0.0000001, -179.9999999, 0.0), parameters=(("a", ""), ("b&c", "<d>"))),
]


@pytest.mark.parametrize("msg", FIXTURES)
def test_fixtures_render_as_before_and_validate(msg: CapMessage) -> None:
    """Each fixture's bytes are the old renderer's bytes, and the document is valid CAP 1.2."""
    xml = render(msg)
    assert xml == et_render(msg)
    assert validate(xml) == []


_ALPHABET = "aZ09 &<>\"'\t\r\n\x00\x07\x1f\ud83d\ufffe\uffff火警]]>-"


def _text(rng: random.Random, empty: bool = True) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0 if empty else 1, 12)))


def test_random_messages_render_as_before() -> None:
    """Thousands of messages with hostile text and every optional part on or off: same bytes."""
    rng = random.Random(12)
    for n in range(3000):
        kind = rng.choice(sorted(CATEGORY))
        msg = _message(
            category=CATEGORY[kind], event=event_text(kind), headline=_text(rng),
            description=_text(rng), instruction=rng.choice([None, _text(rng)]),
            note=rng.choice([None, _text(rng)]), sender_name=rng.choice([None, _text(rng)]),
            area_desc=_text(rng, empty=False),
            circle=rng.choice([None, (rng.uniform(-90, 90), rng.uniform(-180, 180), rng.uniform(0, 50))]),
            parameters=tuple((_text(rng, empty=False), _text(rng)) for _ in range(rng.randint(0, 3))),
            references=tuple((SENDER, f"ID{i}", T0 + timedelta(seconds=i)) for i in range(rng.randint(0, 3))),
            sent=T0 + timedelta(microseconds=n * 7919))
        assert render(msg) == et_render(msg), msg


def test_alert_replay_renders_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every CAP message of a long alert's replay (raised, then updates) renders as before and validates."""
    rendered: list[tuple[CapMessage, bytes]] = []

    def recording(msg: CapMessage) -> bytes:
        xml = render(msg)
        rendered.append((msg, xml))
        return xml

    monkeypatch.setattr(capdoc, "render", recording)
    path = core.Path_(Settings())
    monkeypatch.setitem(core.HISTORY_LENGTHS, "alert", (10, 40))
    core.history(path, "alert", core.alert_events(40 + 5), probe=5)
    assert len(rendered) >= 40
    for i, (msg, xml) in enumerate(rendered):
        assert xml == et_render(msg)
        if i % 10 == 0:
            assert validate(xml) == []
