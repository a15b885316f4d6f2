"""A town-limited field-app token's event sent before its subject had a town, judged by the decision.

Intake takes a verdict, an alert's acknowledgement or an enterprise's
classification sent ahead of its subject's opening (contract section 3: field
apps work offline), with the token's towns on its timeline entries, and marks
it taken for those towns only. The kernel (engine/kernel/scope.py) keeps it
waiting in the subject's state and, once the subject has a town, applies it
within the towns of the copies seen or rejects it as `outside_scope` on
intake.rejected. These tests run the real intake, with one store of marks, and
the pure decisions of the cores; the three cases a review of a first mend
(2026-12-07) found are each here: a copy lost, a town a token chose, no bound.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
from decide_fixtures import INSPECTORS, RULES, SUPERVISOR, finding, report, ts
from test_alerts import ALERT_RULES, raised
from test_enterprise import USCC, registered

from engine.alerts import decide_alert
from engine.contract.envelope import EVENT_TYPES
from engine.contract.outputs import INTAKE_REJECTED, IntakeRejected
from engine.decide.core import decide
from engine.enterprise.core import decide_enterprise
from engine.enterprise.links import with_hazard_links
from engine.http.rejected import rejected_of
from engine.intake.process import DUPLICATES, TIMELINE, Mark, Record, decide_intake
from engine.intake.scope import FIELD_APP_HEADER, TOWNS_HEADER, stamp
from engine.kernel.scope import PARKED, PARKED_BYTES
from engine.store import pack, unpack

HID, AID = "HZ-20261201-H00042", "AL-20261201-0042"
HUXI, LIHAIWU = "huxi-app", "lihaiwu-app"


class Field:
    """Field apps sending through `POST /events` to one worker's intake, which keeps its marks."""

    def __init__(self) -> None:
        self.marks: dict[str, str] = {}
        self.offsets = itertools.count(100)

    def send(self, type_: str, subject: str, data: dict[str, Any], towns: list[str] | str | None,
             app: str | None = None, event_id: str = "app-1", at: str = "2026-12-01 10:00",
             town_of: Any = None) -> Any:
        """One event on its intake topic; `towns` a token's ("*" for every town), None straight to
        Kafka. The outcome, its marks kept."""
        topic = EVENT_TYPES[type_].topic
        cloud = {"specversion": "1.0", "id": event_id, "source": "/apps/grid/3", "type": type_,
                 "time": ts(at), "subject": subject, "data": data}
        headers: tuple[tuple[str, bytes], ...] = ()
        if towns is not None:
            headers = ((FIELD_APP_HEADER, (app or "district-app").encode()),
                       (TOWNS_HEADER, b"*" if towns == "*" else stamp(towns)))
        record = Record(topic, 7, next(self.offsets), subject.encode(), json.dumps(cloud).encode(),
                        1_764_554_400_000, headers)
        out = decide_intake(record, self.marks.get, RULES.reference, contract_topic=topic,
                            town_of=town_of or (lambda kind, subject: None))
        if out.remember:
            self.marks[out.remember[0]] = out.remember[1]
        return out

    def verdict(self, towns: list[str] | str | None, app: str | None = None, event_id: str = "app-1",
                **kw: Any) -> Any:
        return self.send("safety.hazard.verified", HID, {
            "hazard_id": HID, "verdict": "confirmed", "grade": "major", "by": SUPERVISOR}, towns, app,
            event_id, **kw)


def entries(*outcomes: Any) -> list[dict[str, Any]]:
    return [json.loads(s.value) for out in outcomes for s in out.sends if s.topic == TIMELINE]


def run(core: Any, rules: Any, timeline: list[dict[str, Any]], stored: bool = True) -> tuple[Any, list[Any]]:
    """Each entry decided in turn; with `stored`, the state stored and read back between them."""
    state, outs = None, []
    for entry in timeline:
        state, more = core(state, entry, rules)
        outs += more
        if stored:
            state = unpack(pack(state), type(state))
    return state, outs


def verdicts(h: Any) -> int:
    """How many times the hazard's record says it took a verdict."""
    return sum(1 for line in h.history if str(line[2]).startswith("verified:"))


def rejections(outs: list[Any]) -> list[IntakeRejected]:
    return [IntakeRejected.model_validate(o.event["data"]) for o in outs if o.topic == INTAKE_REJECTED]


# The contract's promise, and the token's towns kept.

def test_a_verdict_sent_ahead_applies_when_its_hazard_opens_in_the_tokens_town() -> None:
    """An offline app's verdict synced before its report: taken, waiting, applied at the opening as
    if it had come after it."""
    field = Field()
    ahead = field.verdict(["huxi"], HUXI)
    assert ahead.kind == "accepted" and ahead.reasons == ()
    [entry] = entries(ahead)
    assert (entry["towns"], entry["field_app"]) == (["huxi"], HUXI)
    assert Mark.read(field.marks[ahead.remember[0]]).held
    waiting, _ = run(decide, RULES, [entry])
    assert waiting.verdict is None and [e["entry_id"] for e in waiting.parked] == [entry["entry_id"]]
    h, outs = run(decide, RULES, [entry, report(HID, "2026-12-01 09:00", town="huxi")])
    after, outs_after = run(decide, RULES, [report(HID, "2026-12-01 09:00", town="huxi"), entry])
    assert h.verdict == after.verdict == "confirmed" and h.grade == "major" and h.parked == []
    assert rejections(outs) == [] and sorted(o.id for o in outs) == sorted(o.id for o in outs_after)


def test_a_verdict_sent_ahead_is_rejected_when_its_hazard_opens_in_another_town() -> None:
    """Hazard ids are guessable: the verdict never applies in lihaiwu, and the huxi app reads why
    at GET /events/rejected."""
    field = Field()
    h, outs = run(decide, RULES, [*entries(field.verdict(["huxi"], HUXI)),
                                  report(HID, "2026-12-01 11:00", town="lihaiwu")])
    assert h.verdict is None and h.parked == []
    [rejected] = [o.event for o in outs if o.topic == INTAKE_REJECTED]
    [error] = IntakeRejected.model_validate(rejected["data"]).errors
    assert error.type == "outside_scope" and "waited for the town of hazard" in error.msg
    read = rejected_of(HUXI, json.dumps(rejected).encode())
    assert read is not None and (read.id, read.type, read.subject) == ("app-1", "safety.hazard.verified", HID)
    assert rejected_of(LIHAIWU, json.dumps(rejected).encode()) is None


# 1. A copy must not be lost.

@pytest.mark.parametrize("towns", [["lihaiwu"], "*", None], ids=["other-town", "every-town", "kafka"])
def test_a_copy_sent_by_a_sender_allowed_to_send_it_is_not_lost_with_the_waiting_one(towns: Any) -> None:
    """The huxi token's verdict waits; the same event (source, id) comes again from a lihaiwu token,
    a token for every town or straight to Kafka: not a duplicate; the hazard opens in lihaiwu and
    the verdict applies once, since a sender allowed there sent it. A third copy is a duplicate only
    once a copy without a stamp made the event unconditional."""
    field = Field()
    first = field.verdict(["huxi"], HUXI)
    copy = field.verdict(towns, LIHAIWU)
    assert copy.kind == "accepted" and [s.topic for s in copy.sends] == [TIMELINE]
    [again] = entries(copy)
    assert again["copy"] is True and again["entry_id"] == entries(first)[0]["entry_id"]
    third = field.verdict(towns, LIHAIWU)
    assert third.kind == ("accepted" if towns == ["lihaiwu"] else "duplicate")
    opening = report(HID, "2026-12-01 11:00", town="lihaiwu")
    h, outs = run(decide, RULES, [*entries(first, copy, third), opening])
    assert h.verdict == "confirmed" and rejections(outs) == []
    assert verdicts(h) == 1


def test_a_copy_after_the_waiting_one_was_turned_away_is_judged_afresh() -> None:
    """The huxi verdict was rejected when the hazard opened in lihaiwu; the lihaiwu app sends the same
    event later: it is taken (no mark left to drop it) and applied."""
    field = Field()
    first = entries(field.verdict(["huxi"], HUXI))
    opening = report(HID, "2026-12-01 11:00", town="lihaiwu")
    h, outs = run(decide, RULES, [*first, opening])
    assert h.verdict is None and len(rejections(outs)) == 1
    later = field.verdict(["lihaiwu"], LIHAIWU, town_of=lambda kind, subject: "lihaiwu")
    assert later.kind == "accepted"
    h, outs = run(decide, RULES, [*first, opening, *entries(later)])
    assert h.verdict == "confirmed" and len(rejections(outs)) == 1 and len(h.held_applied) == 1
    # A copy from the huxi app again is refused by intake itself, the town known there now.
    refused = field.verdict(["huxi"], HUXI, town_of=lambda kind, subject: "lihaiwu")
    assert refused.kind == "rejected" and refused.reasons == ("outside_scope",)


def test_a_copy_of_a_verdict_applied_changes_nothing_and_a_redelivery_repeats_itself() -> None:
    """Applied within the token's towns, a copy from another sender is taken by intake and left by
    the decision; the same records read again change nothing; a replay gives the same output ids."""
    field = Field()
    first = field.verdict(["huxi"], HUXI)
    copy = field.verdict(None)
    timeline = [*entries(first), report(HID, "2026-12-01 09:00", town="huxi"), *entries(copy)]
    h, outs = run(decide, RULES, timeline)
    assert h.verdict == "confirmed" and verdicts(h) == 1
    again, outs_again = run(decide, RULES, [*timeline, *timeline])
    assert again.encode() == h.encode() and [o.id for o in outs_again] == [o.id for o in outs]
    replay, outs_replay = run(decide, RULES, timeline, stored=False)
    assert [o.id for o in outs_replay] == [o.id for o in outs]


def test_a_changed_copy_of_a_waiting_event_is_still_a_conflicting_copy() -> None:
    """Only a copy that says the same is taken: a changed one under the same id is dropped."""
    field = Field()
    field.verdict(["huxi"], HUXI)
    changed = field.send("safety.hazard.verified", HID, {"hazard_id": HID, "verdict": "unfounded",
                                                         "by": SUPERVISOR}, ["lihaiwu"], LIHAIWU)
    assert changed.kind == "duplicate" and changed.reasons == ("conflicting_copy",)
    assert {s.topic for s in changed.sends} == {DUPLICATES, INTAKE_REJECTED}


# 2. No wrong-town release.

def _classification(field: Field, towns: list[str] | None, app: str | None = HUXI) -> Any:
    return field.send("safety.enterprise.classified", USCC, {
        "uscc": USCC, "risk_class": "red", "key_enterprise": True, "decided_by": SUPERVISOR,
        "decided_at": ts("2026-12-01 09:00")}, towns, app, event_id="cls-1")


def _inspection(field: Field, towns: list[str] | None, town: str = "huxi") -> Any:
    return field.send("safety.inspection.recorded", "INS-77", {
        "inspection_id": "INS-77", "kind": "unannounced", "inspectors": INSPECTORS,
        "enterprise": {"uscc": USCC, "name": "X Co."}, "location": {"town": town, "address": "r"},
        "findings": []}, towns, HUXI, event_id="ins-77", at="2026-12-01 10:30")


@pytest.mark.parametrize("where", ["lihaiwu", "huxi"])
def test_an_enterprise_found_by_the_tokens_own_inspection_releases_nothing_until_registered(
        where: str) -> None:
    """A huxi token classifies an enterprise ahead, then records an inspection of it in huxi: the
    inspection's enterprise entry carries the stamp, the town it gives the file is where the token
    found it, not where it is registered, and the classification waits; the registration judges
    it: rejected in lihaiwu, applied in huxi."""
    field = Field()
    ahead = _classification(field, ["huxi"])
    inspected = _inspection(field, ["huxi"])
    found = [e for e in entries(inspected) if e["subject_kind"] == "enterprise"]
    assert [e["towns"] for e in found] == [["huxi"]]
    f, outs = run(decide_enterprise, RULES, [*entries(ahead), *found])
    assert (f.town, f.town_by_token, f.risk_class, len(f.parked)) == ("huxi", True, None, 1)
    reg = registered(time="2026-12-02 09:00")
    reg["data"]["location"]["town"] = where
    f, outs = run(decide_enterprise, RULES, [*entries(ahead), *found, reg])
    assert f.town == where and f.parked == []
    if where == "lihaiwu":
        assert f.risk_class is None and [r.errors[0].type for r in rejections(outs)] == ["outside_scope"]
    else:
        assert f.risk_class == "red" and rejections(outs) == []


def test_an_inspection_without_a_stamp_gives_the_file_a_town_that_holds() -> None:
    """Published straight to Kafka (the broker's ACLs vouch for its publisher), an inspection's town
    holds the file's waiting entries as a registration would."""
    field = Field()
    inspected = _inspection(field, None, town="lihaiwu")
    found = [e for e in entries(inspected) if e["subject_kind"] == "enterprise"]
    f, outs = run(decide_enterprise, RULES, [*entries(_classification(field, ["huxi"])), *found])
    assert (f.town, f.town_by_token, f.risk_class) == ("lihaiwu", False, None)
    assert [r.errors[0].type for r in rejections(outs)] == ["outside_scope"]


def test_a_link_from_a_stamped_report_carries_the_stamp_to_the_enterprises_file() -> None:
    """A hazard a huxi token reported names an enterprise: the link that files it carries the stamp,
    so the file's town is one only that token found."""
    field = Field()
    reported = field.send("safety.hazard.reported", HID, {
        "hazard_id": HID, "title": "t", "description": "d", "sector": "fire_safety",
        "grade_claimed": "general", "found_via": "grid_patrol", "reporter": SUPERVISOR,
        "location": {"town": "huxi", "address": "a"}, "enterprise": {"uscc": USCC, "name": "X Co."}},
        ["huxi"], HUXI, event_id="rep-1")
    [entry] = entries(reported)
    entry["position"] = {"topic": TIMELINE, "partition": 0, "offset": 5}
    _, outs = with_hazard_links(lambda st, e: decide(st, e, RULES), RULES)(None, entry)
    [link] = [o.event for o in outs if o.topic == TIMELINE]
    assert (link["towns"], link["field_app"]) == (["huxi"], HUXI)
    f, _ = run(decide_enterprise, RULES, [link])
    assert f.town == "huxi" and f.town_by_token


# 3. Bounded.

def test_past_the_bound_an_event_is_scope_unknown_and_taken_when_sent_again() -> None:
    """At most PARKED entries wait for one subject; the next is rejected as scope_unknown, readable
    by its app, and the same event sent again once the hazard is open is taken and applied."""
    field = Field()
    sent = [field.verdict(["huxi"], HUXI, event_id=f"v-{i}", at=f"2026-12-01 10:{i % 60:02d}")
            for i in range(PARKED + 1)]
    h, outs = run(decide, RULES, entries(*sent))
    assert len(h.parked) == PARKED
    [over] = rejections(outs)
    assert over.errors[0].type == "scope_unknown"
    overflow = [o.event for o in outs if o.topic == INTAKE_REJECTED][0]
    assert rejected_of(HUXI, json.dumps(overflow).encode()).id == f"v-{PARKED}"
    opening = report(HID, "2026-12-01 09:00", town="huxi")
    resent = field.verdict(["huxi"], HUXI, event_id=f"v-{PARKED}", at=f"2026-12-01 10:{PARKED % 60:02d}",
                           town_of=lambda kind, subject: "huxi")
    assert resent.kind == "accepted"
    h, outs = run(decide, RULES, [*entries(*sent), opening, *entries(resent)])
    assert h.parked == [] and len(h.held_applied) == PARKED + 1 and len(rejections(outs)) == 1
    assert {line[1] for line in h.history} >= {f"v-{i}" for i in range(PARKED + 1)}


def test_a_subject_with_its_entries_waiting_stays_small_and_quick_to_decide() -> None:
    """Many more events than the bound under one id: the state holds PARKED of them, and a decision
    costs what it costs with PARKED waiting."""
    field = Field()
    sent = entries(*[field.verdict(["huxi"], HUXI, event_id=f"v-{i}") for i in range(4 * PARKED)])
    h, _ = run(decide, RULES, sent[:PARKED], stored=False)
    size = len(pack(h))
    state = unpack(pack(h), type(h))
    start = time.perf_counter()
    for entry in sent[PARKED:]:
        state, _ = decide(unpack(pack(state), type(state)), entry, RULES)
    per = (time.perf_counter() - start) / (3 * PARKED)
    assert len(state.parked) == PARKED and size < 64 * 1024 and per < 0.02, (size, per)


# Alerts, held alike.

def test_an_acknowledgement_sent_ahead_of_the_raising_applies_in_the_tokens_town() -> None:
    field = Field()
    ack = field.send("safety.alert.acknowledged", AID, {
        "alert_id": AID, "unit": "county_fire_rescue", "by": SUPERVISOR}, ["lihaiwu"], LIHAIWU,
        at="2026-12-01 10:05")
    a, outs = run(decide_alert, ALERT_RULES, [*entries(ack), raised(AID, "2026-12-01 10:00")])
    assert a.parked == [] and rejections(outs) == [] and a.acked
    other = Field()
    ack = other.send("safety.alert.acknowledged", AID, {
        "alert_id": AID, "unit": "county_fire_rescue", "by": SUPERVISOR}, ["huxi"], HUXI,
        at="2026-12-01 10:05")
    a, outs = run(decide_alert, ALERT_RULES, [*entries(ack), raised(AID, "2026-12-01 10:00")])
    assert not a.acked and [r.errors[0].type for r in rejections(outs)] == ["outside_scope"]


# A review of the second mend (2026-12-07): a copy dropped past a bound, a finding that moved
# another town's hazard, a bound by count alone, a town found in one order only.

def test_a_resend_past_any_number_of_rejections_is_judged_and_applied() -> None:
    """PARKED verdicts wait and many more are rejected as scope_unknown under one hazard id; each
    of them sent again once the hazard is open, as its rejection says, is applied: a copy is left
    alone only when its first copy was applied, never for want of a rejection kept."""
    field = Field()
    n = PARKED + 129
    sent = [field.verdict(["huxi"], HUXI, event_id=f"v-{i}", at=f"2026-12-01 10:{i % 60:02d}")
            for i in range(n)]
    opening = report(HID, "2026-12-01 09:00", town="huxi")
    resent = [field.verdict(["huxi"], HUXI, event_id=f"v-{i}", at=f"2026-12-01 10:{i % 60:02d}",
                            town_of=lambda kind, subject: "huxi") for i in (PARKED, PARKED + 1, n - 1)]
    assert [r.kind for r in resent] == ["accepted"] * 3
    h, outs = run(decide, RULES, [*entries(*sent), opening, *entries(*resent)], stored=False)
    ids = {line[1] for line in h.history}
    assert {f"v-{PARKED}", f"v-{PARKED + 1}", f"v-{n - 1}"} <= ids
    assert len(rejections(outs)) == n - PARKED


def test_another_towns_events_cannot_push_a_rejection_out_and_lose_its_resend() -> None:
    """A lihaiwu token fills the room under huxi's next hazard id, so huxi's verdict sent ahead is
    scope_unknown; lihaiwu sends more, and is turned away when the hazard opens in huxi; huxi's
    app sends its verdict again and it applies."""
    field = Field()
    first = [field.verdict(["lihaiwu"], LIHAIWU, event_id=f"a-{i}") for i in range(PARKED)]
    victim = field.verdict(["huxi"], HUXI, event_id="huxi-v", at="2026-12-01 10:30")
    more = [field.verdict(["lihaiwu"], LIHAIWU, event_id=f"b-{i}") for i in range(PARKED)]
    timeline = [*entries(*first, victim, *more), report(HID, "2026-12-01 09:00", town="huxi")]
    h, outs = run(decide, RULES, timeline, stored=False)
    assert h.verdict is None
    resent = field.verdict(["huxi"], HUXI, event_id="huxi-v", at="2026-12-01 10:30",
                           town_of=lambda kind, subject: "huxi")
    h, outs_after = run(decide, RULES, [*timeline, *entries(resent)], stored=False)
    assert h.verdict == "confirmed" and any(line[1] == "huxi-v" for line in h.history)
    assert len(rejections(outs_after)) == len(rejections(outs))


def test_a_copy_of_an_entry_applied_is_known_whatever_the_order_of_the_entries_applied() -> None:
    """The entries held to a token's towns a subject applied are kept the latest by their own
    times, so which are kept does not depend on the order they came in."""
    field = Field()
    sent = entries(*[field.verdict(["huxi"], HUXI, event_id=f"v-{i}", at=f"2026-12-01 1{i % 10}:{i % 60:02d}")
                     for i in range(40)])
    opening = report(HID, "2026-12-01 09:00", town="huxi")
    h, _ = run(decide, RULES, [opening, *sent], stored=False)
    g, _ = run(decide, RULES, [opening, *reversed(sent)], stored=False)
    assert h.held_applied == g.held_applied == sorted(h.held_applied) and len(h.held_applied) == 40


def test_a_stamped_finding_cannot_move_another_towns_hazard_into_the_tokens_town() -> None:
    """The inspection's worker does not hold its finding's hazard, so intake takes a huxi token's
    inspection whose finding, dated before lihaiwu's report, names lihaiwu's hazard: the decision
    rejects the finding's entry as outside_scope, the hazard stays in lihaiwu and a huxi verdict
    about it is rejected too; a finding about a hazard of the token's town applies."""
    field = Field()
    inspected = field.send("safety.inspection.recorded", "INS-9", {
        "inspection_id": "INS-9", "kind": "unannounced", "inspectors": INSPECTORS, "outcome": "completed",
        "enterprise": {"uscc": USCC, "name": "X"}, "location": {"town": "huxi", "address": "r"},
        "findings": [finding(HID)]}, ["huxi"], HUXI, event_id="ins-9", at="2026-12-01 08:00")
    assert inspected.kind == "accepted"
    found = [e for e in entries(inspected) if e["subject_kind"] == "hazard"]
    opening = report(HID, "2026-12-01 10:00", town="lihaiwu", grade="major")
    verdict = field.verdict(["huxi"], HUXI, event_id="v-1", at="2026-12-01 12:00")
    h, outs = run(decide, RULES, [opening, *found, *entries(verdict)])
    assert h.town == "lihaiwu" and h.verdict is None
    assert [r.errors[0].type for r in rejections(outs)] == ["outside_scope", "outside_scope"]
    mine, outs = run(decide, RULES, [report(HID, "2026-12-01 10:00", town="huxi"), *found])
    assert mine.town == "huxi" and rejections(outs) == []


def test_the_entries_waiting_for_a_subject_are_bounded_by_their_size_too() -> None:
    """Big legal records sent ahead: those that fit in PARKED_BYTES wait, the next is scope_unknown,
    and the state stays far below the changelog's record limit."""
    field = Field()
    data = {"hazard_id": HID, "note": "n" * 4000, "evidence": [f"https://e.example/{i}/" + "x" * 1975
                                                               for i in range(100)],
            "by": {"id": "ent-1", "role": "enterprise", "name": "A"}}
    sent = [field.send("safety.rectification.completed", HID, data, ["huxi"], HUXI, event_id=f"r-{i}",
                       at=f"2026-12-01 10:{i:02d}") for i in range(4)]
    assert [s.kind for s in sent] == ["accepted"] * 4
    h, outs = run(decide, RULES, entries(*sent), stored=False)
    assert 1 <= len(h.parked) < 4 and len(pack(h)) <= PARKED_BYTES + 4096
    assert [r.errors[0].type for r in rejections(outs)] == ["scope_unknown"] * (4 - len(h.parked))


def test_an_unstamped_record_that_places_the_file_holds_its_town_in_either_order() -> None:
    """A stamped and an unstamped inspection find the enterprise in huxi: whichever comes first, the
    file's town is one a record without a stamp found, and the classification sent ahead applies."""
    field = Field()
    ahead = entries(_classification(field, ["huxi"]))
    stamped = [e for e in entries(_inspection(field, ["huxi"])) if e["subject_kind"] == "enterprise"]
    plain = [e for e in entries(Field().send("safety.inspection.recorded", "INS-78", {
        "inspection_id": "INS-78", "kind": "unannounced", "inspectors": INSPECTORS,
        "enterprise": {"uscc": USCC, "name": "X Co."}, "location": {"town": "huxi", "address": "r"},
        "findings": []}, None, event_id="ins-78", at="2026-12-01 11:30"))
             if e["subject_kind"] == "enterprise"]
    f, _ = run(decide_enterprise, RULES, [*ahead, *stamped, *plain])
    g, _ = run(decide_enterprise, RULES, [*ahead, *plain, *stamped])
    assert (f.town, f.town_by_token, f.risk_class, f.parked) == ("huxi", False, "red", [])
    assert f == g  # (a file's maps keep the order entries came in: compared as maps)


def test_an_unstamped_record_naming_another_town_releases_nothing_where_a_token_found_the_file() -> None:
    """Found in huxi by a huxi token, then in lihaiwu by an inspection without a stamp: the file's
    town stays the first found, and the classification sent ahead keeps waiting for the
    registration instead of applying in a town only the token named."""
    field = Field()
    ahead = entries(_classification(field, ["huxi"]))
    stamped = [e for e in entries(_inspection(field, ["huxi"])) if e["subject_kind"] == "enterprise"]
    plain = [e for e in entries(_inspection(Field(), None, town="lihaiwu"))
             if e["subject_kind"] == "enterprise"]
    f, _ = run(decide_enterprise, RULES, [*ahead, *stamped, *plain])
    assert (f.town, f.town_by_token, f.risk_class, len(f.parked)) == ("huxi", True, None, 1)


# What intake knows of a subject's town is no promise of the decision's (review of 2026-12-07, n1).

@pytest.mark.parametrize("towns", [["lihaiwu"], None], ids=["other-town", "kafka"])
def test_a_copy_of_an_event_turned_away_where_intake_knew_a_town_is_judged_and_applied(towns: Any) -> None:
    """A huxi token's inspection finds an unregistered enterprise in huxi, so intake knows the file
    in huxi when the token's classification comes; the decision keeps it waiting (the town only a
    token found) and turns it away when the enterprise is registered in lihaiwu. The same event from
    a lihaiwu token or straight to Kafka is not a duplicate: it applies."""
    field = Field()
    found = [e for e in entries(_inspection(field, ["huxi"])) if e["subject_kind"] == "enterprise"]
    first = field.send("safety.enterprise.classified", USCC, {
        "uscc": USCC, "risk_class": "red", "key_enterprise": True, "decided_by": SUPERVISOR,
        "decided_at": ts("2026-12-01 09:00")}, ["huxi"], HUXI, event_id="cls-1",
        town_of=lambda kind, subject: "huxi")
    assert first.kind == "accepted" and Mark.read(first.remember[1]).held
    lihaiwu = registered(time="2026-12-02 09:00")
    f, outs = run(decide_enterprise, RULES, [*found, *entries(first), lihaiwu])
    assert f.risk_class is None and [r.errors[0].type for r in rejections(outs)] == ["outside_scope"]
    again = field.send("safety.enterprise.classified", USCC, {
        "uscc": USCC, "risk_class": "red", "key_enterprise": True, "decided_by": SUPERVISOR,
        "decided_at": ts("2026-12-01 09:00")}, towns, LIHAIWU if towns else None, event_id="cls-1",
        town_of=lambda kind, subject: "lihaiwu")
    assert again.kind == "accepted" and entries(again)
    f, outs = run(decide_enterprise, RULES, [*found, *entries(first), lihaiwu, *entries(again)])
    assert f.risk_class == "red" and [r.errors[0].type for r in rejections(outs)] == ["outside_scope"]


def test_a_retry_of_an_event_applied_changes_nothing_more() -> None:
    """The same token's retry of a verdict the decision applied, after a lost answer, reaches the
    decision as a copy and is applied once only."""
    field = Field()
    opened = report(HID, "2026-12-01 09:00", town="huxi")
    first = field.verdict(["huxi"], HUXI, town_of=lambda kind, subject: "huxi")
    retry = field.verdict(["huxi"], HUXI, town_of=lambda kind, subject: "huxi")
    assert (first.kind, retry.kind) == ("accepted", "accepted")
    h, outs = run(decide, RULES, [opened, *entries(first), *entries(retry)])
    assert h.verdict == "confirmed" and verdicts(h) == 1 and rejections(outs) == []


def test_a_finding_turned_away_says_which_inspection_it_was_and_not_to_send_it_again() -> None:
    """One finding of a huxi token's inspection, about a hazard the decision knows in lihaiwu, is not
    applied; the app reads the inspection's own type and id, the finding it was, and that the
    inspection was taken: sent again under a fresh id it would be recorded twice."""
    field = Field()
    other = "HZ-20261201-H00043"
    ins = field.send("safety.inspection.recorded", "INS-9", {
        "inspection_id": "INS-9", "kind": "unannounced", "inspectors": INSPECTORS, "outcome": "completed",
        "enterprise": {"uscc": USCC, "name": "X Co."}, "location": {"town": "huxi", "address": "r"},
        "findings": [finding(HID), finding(other)]}, ["huxi"], HUXI, event_id="ins-9", at="2026-12-01 08:00")
    [found] = [e for e in entries(ins) if e["subject"] == HID]
    h, outs = run(decide, RULES, [report(HID, "2026-12-01 10:00", town="lihaiwu"), found])
    assert h.town == "lihaiwu"
    [rejected] = [o.event for o in outs if o.topic == INTAKE_REJECTED]
    read = rejected_of(HUXI, json.dumps(rejected).encode())
    assert read is not None
    assert (read.id, read.type, read.subject) == ("ins-9", "safety.inspection.recorded", "INS-9")
    [error] = IntakeRejected.model_validate(rejected["data"]).errors
    assert error.type == "outside_scope" and error.loc == ["data", "findings"]
    assert "INS-9" in error.msg and HID in error.msg and "do not send the inspection again" in error.msg


@pytest.mark.parametrize("towns", ["*", None], ids=["every-town", "kafka"])
def test_a_copy_held_to_no_town_of_an_entry_waiting_applies_at_once_as_it_would_alone(towns: Any) -> None:
    """A huxi token's classification waits for a file only the token's inspection found (not
    registered); the same event from a token for every town or straight to Kafka is applied now, as
    it would be sent alone, not left waiting for a registration that may never come."""
    field = Field()
    ahead = _classification(field, ["huxi"])
    found = [e for e in entries(_inspection(field, ["huxi"])) if e["subject_kind"] == "enterprise"]
    copy = _classification(field, towns, app="district")
    assert copy.kind == "accepted"
    f, outs = run(decide_enterprise, RULES, [*entries(ahead), *found, *entries(copy)])
    assert f.risk_class == "red" and f.parked == [] and rejections(outs) == []
    again = _classification(field, towns, app="district")
    f, _ = run(decide_enterprise, RULES, [*entries(ahead), *found, *entries(copy), *entries(again)])
    assert f.risk_class == "red" and f.parked == []
