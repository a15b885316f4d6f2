"""A town-limited field-app token's event that came before its subject had a town, judged by the decision.

Intake takes a verdict, a rectification record or an alert's close sent ahead
of its subject's opening (contract section 3: field apps work offline), with
the token's towns on its timeline entry. The kernel (engine/kernel/scope.py)
keeps it waiting in the state and, once the subject is opened, applies it
within the token's towns or rejects it as `outside_scope` on intake.rejected.
These tests drive the pure decisions of both cores with entries the real
intake wrote.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from decide_fixtures import RULES, report
from test_alerts import ALERT_RULES, alert_event, raised

from engine.alerts import decide_alert
from engine.contract.envelope import EVENT_TYPES
from engine.contract.outputs import INTAKE_REJECTED, IntakeRejected
from engine.decide.core import decide
from engine.http.rejected import rejected_of
from engine.intake.process import Record, decide_intake
from engine.intake.scope import FIELD_APP_HEADER, TOWNS_HEADER, stamp
from engine.kernel.copies import AGAIN
from engine.store import pack, unpack

HID, AID = "HZ-20261201-H00042", "AL-20261201-0042"
APP = "huxi-inspectors"


def sent(type_: str, subject: str, data: dict[str, Any], towns: list[str], offset: int) -> dict[str, Any]:
    """An event as `POST /events` sends it for a token limited to `towns`, through the real intake (on
    a partition the fixtures leave alone, so no other entry shares its record):
    its subject's town not known there, so it is taken; the entry of its subject."""
    topic = EVENT_TYPES[type_].topic
    cloud = {"specversion": "1.0", "id": f"app-{offset}", "source": "/apps/huxi/3", "type": type_,
             "time": "2026-12-01T10:00:00+08:00", "subject": subject, "data": data}
    headers = ((FIELD_APP_HEADER, APP.encode()), (TOWNS_HEADER, stamp(towns)))
    record = Record(topic, 7, offset, subject.encode(), json.dumps(cloud).encode(), 1_764_554_400_000,
                    headers)
    out = decide_intake(record, {}.get, RULES.reference, contract_topic=topic)
    assert out.kind == "accepted", out
    return json.loads(out.sends[0].value)


def verdict(towns: list[str], offset: int = 7) -> dict[str, Any]:
    return sent("safety.hazard.verified", HID, {"hazard_id": HID, "verdict": "confirmed", "grade": "general",
                                                "by": {"id": "sup-1", "role": "supervisor"}}, towns, offset)


def run(core, rules, entries: list[dict[str, Any]]) -> tuple[Any, list[Any]]:
    state, outs = None, []
    for entry in entries:
        state, more = core(state, entry, rules)
        outs += more
    return state, outs


def rejections(outs: list[Any]) -> list[dict[str, Any]]:
    return [o.event for o in outs if o.topic == INTAKE_REJECTED]


def test_a_verdict_sent_ahead_by_a_huxi_token_is_not_applied_to_a_hazard_opened_in_lihaiwu() -> None:
    """Hazard ids are guessable: the verdict waits, and the report opening the id in another town
    rejects it, with the reason that it waited, readable by the token that sent it."""
    h, outs = run(decide, RULES, [verdict(["huxi"]), report(HID, "2026-12-01 11:00", town="lihaiwu")])
    assert h.status() == "reported" and h.verdict is None and h.parked == []
    [event] = rejections(outs)
    data = IntakeRejected.model_validate(event["data"])
    [error] = data.errors
    assert error.type == "outside_scope" and error.loc == ["subject"]
    assert "waited for hazard" in error.msg and "'lihaiwu'" in error.msg and "huxi" in error.msg
    read = rejected_of(APP, json.dumps(event).encode())
    assert read is not None and (read.id, read.type, read.subject) == ("app-7", "safety.hazard.verified", HID)
    assert rejected_of("another-app", json.dumps(event).encode()) is None


def test_a_verdict_sent_ahead_within_the_tokens_town_applies_when_the_hazard_opens_there() -> None:
    """Opened in huxi, the verdict that waited applies as it did before: the hazard is confirmed."""
    waiting, _ = run(decide, RULES, [verdict(["huxi"])])
    assert waiting.status() == "orphan" and waiting.verdict is None and len(waiting.parked) == 1
    h, outs = run(decide, RULES, [verdict(["huxi"]), report(HID, "2026-12-01 11:00", town="huxi")])
    assert h.verdict == "confirmed" and h.grade == "general" and h.parked == [] and rejections(outs) == []


def test_a_verdict_for_a_hazard_already_opened_in_another_town_is_rejected_at_once() -> None:
    """Intake did not know the town yet (the report was in flight); the decision does."""
    opened = report(HID, "2026-12-01 09:00", town="lihaiwu")
    h, outs = run(decide, RULES, [opened, verdict(["huxi"])])
    assert h.verdict is None
    [event] = rejections(outs)
    assert "waited" not in event["data"]["errors"][0]["msg"]


def test_redelivery_and_replay_repeat_the_rejection_and_its_id_once() -> None:
    """The entry delivered again changes nothing, whether it waits or was judged; a replay of the
    same timeline gives the same ids."""
    waiting, opening = verdict(["huxi"]), report(HID, "2026-12-01 11:00", town="lihaiwu")
    h, outs = run(decide, RULES, [waiting, waiting, opening, waiting, opening])
    assert len(rejections(outs)) == 1
    _, again = run(decide, RULES, [waiting, opening])
    assert [o.id for o in outs] == [o.id for o in again]
    assert rejections(outs)[0]["id"] == rejections(again)[0]["id"]


def test_an_entry_waiting_in_a_stored_state_is_judged_after_a_restart() -> None:
    """The waiting entry is stored whole with the state and judged when the state is read back."""
    state, _ = run(decide, RULES, [verdict(["huxi"])])
    back = unpack(pack(state), lazy=True)
    h, outs = decide(back, report(HID, "2026-12-01 11:00", town="lihaiwu"), RULES)
    assert h.verdict is None and len(rejections(outs)) == 1


def test_a_copy_of_a_waiting_verdict_from_an_app_that_may_send_it_is_not_taken_for_it() -> None:
    """The same verdict under another event id, without a stamp: the waiting one left no
    fingerprint, so the copy applies; the huxi one is rejected when the hazard opens in lihaiwu."""
    h, outs = run(decide, RULES, [verdict(["huxi"], 7), verdict([], 8), report(HID, "2026-12-01 11:00")])
    assert h.verdict == "confirmed" and len(rejections(outs)) == 1
    h, outs = run(decide, RULES, [verdict(["huxi"], 7), verdict(["huxi"], 8), report(HID, "2026-12-01 11:00",
                                                                                        town="huxi")])
    assert h.verdict == "confirmed" and rejections(outs) == []
    assert [line[2] for line in h.history].count(AGAIN) == 1  # a copy waiting too is applied once


def test_an_unstamped_verdict_sent_ahead_applies_as_before() -> None:
    """A record straight to Kafka, or from a token not limited to towns, is held to no town."""
    h, outs = run(decide, RULES, [verdict([]) | {"towns": None}, report(HID, "2026-12-01 11:00")])
    assert h.verdict == "confirmed" and rejections(outs) == []


def test_an_alerts_close_sent_ahead_waits_for_its_raising_and_is_judged_by_its_town() -> None:
    """The alert core shares the kernel's check: a close from huxi does not close a lihaiwu alert."""
    close = sent("safety.alert.closed", AID, {"alert_id": AID, "note": "Out.",
                                              "by": {"id": "insp-9", "role": "inspector"}}, ["huxi"], 9)
    elsewhere = raised(AID, "2026-12-01 10:30")  # in lihaiwu
    a, outs = run(decide_alert, ALERT_RULES, [close, elsewhere])
    assert a.closed_at is None and a.parked == []
    [event] = rejections(outs)
    assert "waited for alert" in event["data"]["errors"][0]["msg"]
    at_home = raised(AID, "2026-12-01 10:30", location={"town": "huxi"})
    a, outs = run(decide_alert, ALERT_RULES, [close, at_home])
    assert a.closed_at is not None and rejections(outs) == []
    ack = alert_event("acknowledged", AID, "2026-12-01 10:40", unit="fire_rescue",
                      by={"id": "fr-1", "role": "inspector"})
    assert run(decide_alert, ALERT_RULES, [ack, at_home])[0].acked is not None


def test_a_rejection_repeats_the_tokens_headers_for_get_events_rejected() -> None:
    """The rejection names the app and its towns as the door stamped them."""
    _, outs = run(decide, RULES, [verdict(["huxi", "yuji"]), report(HID, "2026-12-01 11:00")])
    headers = {h["name"]: base64.b64decode(h["value_base64"]) for h in rejections(outs)[0]["data"]["headers"]}
    assert headers == {FIELD_APP_HEADER: APP.encode(), TOWNS_HEADER: b'["huxi","yuji"]'}


def test_an_enterprises_classification_sent_ahead_is_held_to_the_town_it_registers_in() -> None:
    """The enterprise core shares the check: a classification from a huxi token does not reach a
    file registered in lihaiwu, and does reach one registered in huxi."""
    from test_enterprise import USCC, registered

    from engine.enterprise.core import decide_enterprise

    ahead = sent("safety.enterprise.classified", USCC, {
        "uscc": USCC, "risk_class": "red", "key_enterprise": True,
        "decided_by": {"id": "sup-1", "role": "supervisor"}, "decided_at": "2026-12-01T09:00:00+08:00"},
        ["huxi"], 11)
    f, outs = run(decide_enterprise, RULES, [ahead, registered()])  # in lihaiwu
    assert f.risk_class is None and f.parked == [] and len(rejections(outs)) == 1
    at_home = registered(location={"town": "huxi", "address": "No. 1 Huxi Road"})
    f, outs = run(decide_enterprise, RULES, [ahead, at_home])
    assert f.risk_class == "red" and rejections(outs) == []
