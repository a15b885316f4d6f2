"""A department's duty clock counts from when the event that starts it reached the engine.

An app offline for days sends a report, a completion claim or an extension
request long after it happened. Counted from the event's own time, the lead
department's 3 working days to verify (or 10 days to review) could be over
before it ever saw the report, and the engine would refer it to discipline
inspection for a failure it could not avoid. With `duties.late_arrival` in the
rules, an event that reached the engine more than `after` past its own time
starts its clock at its arrival (the entry's `arrived_at`); a shorter delay is
transport, and the event's own time counts, as before.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from decide_fixtures import RULES, at, complete, edited_rules, ext_request, report, verify
from hypothesis import given, settings
from hypothesis import strategies as st
from test_mark_sweep import _Now
from test_taken_entries import _worker

from engine.decide.clocks import derive
from engine.decide.replay import Replay
from engine.decide.state import Hazard
from engine.intake.process import Record, decide_intake
from engine.kernel.time import epoch, iso, iso_ms
from engine.reference import RulesFileError
from engine.ruleset import load_rules
from engine.store import pack, unpack

HOUR, DAY = 3600, 86400


def arriving(entry: dict, when: str | int) -> dict:
    """`entry` as the intake would have written it had its record reached the broker at `when`."""
    t = at(when) if isinstance(when, str) else when
    return {**entry, "arrived_at": iso_ms(t * 1000)}


def feed(entries: list[dict], rules=RULES, until: str | None = None) -> Replay:
    """Feed entries in arrival order, each when it arrived, firing clocks on the way."""
    rp = Replay(rules)
    for entry in sorted(entries, key=lambda e: epoch(e["arrived_at"])):
        t = epoch(entry["arrived_at"])
        rp.advance_to(t)
        rp.feed(entry, now=t)
    if until is not None:
        rp.advance_to(at(until))
    return rp


def sent(rp: Replay, rule_id: str) -> list[dict]:
    """The data of every output of `rule_id` so far."""
    return [o.event["data"] for _, o in rp.outputs if o.event["data"].get("rule_id") == rule_id]


def verify_due(rp: Replay, hid: str) -> int:
    return derive(rp.states[hid], RULES)["verify"]


def test_a_report_six_days_late_is_not_referred_on_arrival() -> None:
    """Reported on Monday, arriving on Sunday: due Wednesday, not the Thursday already past."""
    late = arriving(report("HZ-L1", "2026-11-02 09:00"), "2026-11-08 09:00")
    rp = feed([late])
    assert rp.outputs == []  # nothing fired on arrival
    assert rp.states["HZ-L1"].arrived == {"verify": at("2026-11-08 09:00")}
    assert verify_due(rp, "HZ-L1") == at("2026-11-11")
    rp.advance_to(at("2026-11-11") - 1)
    assert rp.outputs == []
    rp.advance_to(at("2026-11-11"))
    [failure] = sent(rp, "duty.verify")
    assert "of reaching the engine on 2026-11-08T09:00:00+08:00" in failure["reason"]
    what = rp.states["HZ-L1"].history[0][2]
    assert what.endswith("(reached the engine late, on 2026-11-08T09:00:00+08:00)")


def test_under_a_day_late_counts_from_the_event_s_own_time() -> None:
    """Transport, not an offline app: the clock is the one the event's time gives."""
    rp = feed([arriving(report("HZ-L2", "2026-11-02 09:00"), "2026-11-03 08:59")])
    assert rp.states["HZ-L2"].arrived == {}
    assert "late" not in rp.states["HZ-L2"].history[0][2]
    assert verify_due(rp, "HZ-L2") == at("2026-11-05")


def test_without_late_arrival_in_the_rules_every_clock_counts_from_the_event_s_time() -> None:
    rules = dataclasses.replace(RULES, late_after=None)
    rp = feed([arriving(report("HZ-L3", "2026-11-02 09:00"), "2026-11-20 09:00")], rules)
    assert rp.states["HZ-L3"].arrived == {}
    # Due on the 5th, long before it arrived: the failure and the referral go out on arrival.
    [failure] = sent(rp, "duty.verify")
    assert failure["reason"].startswith("HZ-L3 was not verified within 3 working days: the deadline "
                                         "2026-11-05T23:59:59+08:00 passed")
    assert any(o.event["type"] == "safety.referral.discipline" for _, o in rp.outputs)


def test_the_verify_clock_counts_from_the_first_report_the_department_could_see() -> None:
    """A second report that reached the engine in time counts, though an earlier, late one opened it."""
    early_late = arriving(report("HZ-L4", "2026-11-02 09:00"), "2026-11-12 09:00")
    later_on_time = arriving(report("HZ-L4", "2026-11-04 10:00"), "2026-11-04 10:05")
    for order in ([early_late, later_on_time], [later_on_time, early_late]):
        rp = Replay(RULES)
        for entry in order:
            rp.feed(entry, now=at("2026-11-04 10:05"))  # no clock fired: only the state is asked
        h = rp.states["HZ-L4"]
        assert h.opened_at == at("2026-11-02 09:00")  # the earliest report opens it
        assert h.arrived == {"verify": at("2026-11-04 10:00")}
        assert verify_due(rp, "HZ-L4") == at("2026-11-09")  # Wed 4th + 3 working days


def _arrivals(h: Hazard) -> dict[str, int]:
    """A hazard's `arrived` map without the claims it keeps by time (`keep_claim`), which are no
    arrivals."""
    return {k: v for k, v in h.arrived.items() if not k.startswith("claim:")}


def test_a_review_counts_from_the_claim_s_arrival_and_a_later_claim_resets_it() -> None:
    entries = [arriving(report("HZ-L5", "2026-11-02 09:00"), "2026-11-02 09:00"),
               arriving(verify("HZ-L5", "2026-11-02 12:00"), "2026-11-02 12:00"),
               arriving(complete("HZ-L5", "2026-11-05 09:00"), "2026-11-09 09:00")]
    rp = feed(entries)
    h = rp.states["HZ-L5"]
    assert _arrivals(h) == {"review": at("2026-11-09 09:00")}
    assert derive(h, RULES)["review"] == at("2026-11-19")  # 10 days from the 9th, not the 5th
    rp.feed(arriving(complete("HZ-L5", "2026-11-10 09:00"), "2026-11-10 09:00"), now=at("2026-11-10 09:00"))
    h = rp.states["HZ-L5"]
    assert _arrivals(h) == {}  # the claim that stands came in time
    assert derive(h, RULES)["review"] == at("2026-11-20")


def test_an_extension_request_counts_from_its_arrival() -> None:
    entries = [arriving(report("HZ-L6", "2026-03-02 09:00", grade="major"), "2026-03-02 09:00"),
               arriving(verify("HZ-L6", "2026-03-02 12:00", grade="major"), "2026-03-02 12:00"),
               arriving(ext_request("HZ-L6", "2026-03-10 09:00", "2026-09-30"), "2026-03-16 09:00")]
    h = feed(entries).states["HZ-L6"]
    assert h.ext is not None
    assert h.arrived == {"extension": at("2026-03-16 09:00")}
    on_time = dataclasses.replace(h, arrived={})
    assert derive(h, RULES)["extension"] > derive(on_time, RULES)["extension"]


REPORT_TIMES = st.lists(st.tuples(st.integers(0, 10 * DAY), st.integers(0, 12 * DAY)), min_size=1,
                        max_size=4)


def _worded(entry: dict, n: int) -> dict:
    return {**entry, "data": {**entry["data"], "description": f"{entry['data']['description']} ({n})"}}


@settings(max_examples=60, deadline=None, derandomize=True)
@given(REPORT_TIMES)
def test_any_order_of_reports_gives_one_start_the_first_moment_one_was_known(times) -> None:
    """Reports of one hazard, each with its time and its delay: whatever order they are applied
    in, the verify clock counts from the earliest moment any of them was known."""
    base = at("2026-03-02 09:00")
    # Each report in its own words: the same words at the same time are one record sent again, and
    # of those the first processed stands (engine/kernel/copies.py; a copy processed later reached
    # its partition later, so it never arrived sooner).
    entries = [arriving(_worded(report("HZ-P", iso(base + t), event_id=f"r{i}"), i), base + t + delay)
               for i, (t, delay) in enumerate(times)]
    late = RULES.late_after.n * HOUR
    known = min(base + t + (delay if delay > late else 0) for t, delay in times)
    starts = set()
    for order in itertools.islice(itertools.permutations(entries), 24):
        rp = Replay(RULES)
        for entry in order:
            rp.feed(entry, now=base)  # the state alone: no clock fires
        h = rp.states["HZ-P"]
        starts.add((h.arrived.get("verify", h.opened_at), h.opened_at))
    assert starts == {(known, base + min(t for t, _ in times))}


def test_intake_vouches_for_an_arrival_only_up_to_the_engine_s_clock() -> None:
    """A record's timestamp is its arrival; one ahead of the engine's clock is taken as the clock
    within the skew allowed, and beyond it is no arrival at all (a producer's clock is wrong, or
    a simulation's runs behind the machine's): the event's own time counts then."""
    now = at("2026-11-09 10:00")
    assert _arrived(at("2026-11-09 09:30"), now, 900) == iso(at("2026-11-09 09:30"))
    assert _arrived(at("2026-11-09 10:10"), now, 900) == iso(now)
    assert _arrived(at("2026-11-09 10:15"), now, 900) == iso(now)  # up to the skew allowed, itself included
    assert _arrived(at("2026-11-09 10:20"), now, 900) is None
    assert _arrived(at("2026-11-09 10:00") + 1, now, 0) is None
    assert _arrived(at("2026-11-20 10:00"), None, 0) == iso(at("2026-11-20 10:00"))  # no clock: as it is


def _arrived(timestamp: int, now: float | None, skew_s: int) -> str | None:
    event = {"specversion": "1.0", "id": "ev-late-1", "source": "/apps/test",
             "type": "safety.hazard.reported", "time": "2026-11-02T09:00:00+08:00", "subject": "HZ-I1",
             "data": report("HZ-I1", "2026-11-02 09:00")["data"]}
    record = Record("hazard.reports", 0, 1, b"HZ-I1", json.dumps(event).encode(), timestamp * 1000)
    out = decide_intake(record, {}.get, RULES.reference, now=now, skew_s=skew_s)
    assert out.kind == "accepted", out
    [entry] = [json.loads(s.value) for s in out.sends]
    assert entry["received_at"] == iso(timestamp)  # the broker's timestamp, whatever is vouched for
    return entry.get("arrived_at")


def test_a_stored_state_keeps_its_arrivals_and_one_stored_before_them_loads() -> None:
    h = Hazard("HZ-S1", opened="e1", opened_at=at("2026-11-02 09:00"), origin="report",
               arrived={"verify": at("2026-11-08 09:00")})
    assert unpack(pack(h)).arrived == {"verify": at("2026-11-08 09:00")}
    before = pack(Hazard("HZ-S2", opened="e1", opened_at=at("2026-11-02 09:00"), origin="report"))
    assert b"arrived" not in before  # what a state stored before this field looks like
    assert unpack(before).arrived == {}


@pytest.mark.parametrize("value", ["1 day", "2 working days", "-1 hours", "soon"])
def test_the_rules_check_refuses_a_late_arrival_that_is_not_a_length_of_time(tmp_path: Path, value) -> None:
    rules = edited_rules(tmp_path, "hazards.yaml", "after: 24 hours", f"after: {value}")
    with pytest.raises(RulesFileError, match="late_arrival"):
        load_rules(rules)


def test_zero_counts_every_delay(tmp_path: Path) -> None:
    rules = load_rules(edited_rules(tmp_path, "hazards.yaml", "after: 24 hours", "after: 0 minutes"))
    rp = feed([arriving(report("HZ-L7", "2026-11-02 09:00"), "2026-11-02 09:01")], rules)
    assert rp.states["HZ-L7"].arrived == {"verify": at("2026-11-02 09:01")}


def test_rules_without_late_arrival_ignore_arrivals_a_state_recorded_before() -> None:
    """Removing the block from the rules counts every clock from the events' own times at once."""
    late = arriving(report("HZ-L8", "2026-11-02 09:00"), "2026-11-08 09:00")
    h = feed([late]).states["HZ-L8"]
    assert derive(h, RULES)["verify"] == at("2026-11-11")
    assert derive(h, dataclasses.replace(RULES, late_after=None))["verify"] == at("2026-11-05")


def test_a_listed_hazard_s_plan_is_due_from_when_its_notice_could_be_issued() -> None:
    """A confirmation of a major hazard that reaches the engine five days late lists it then: the
    enterprise's 3 working days for its plan count from that, not from the inspector's visit."""
    entries = [arriving(report("HZ-L9", "2026-11-02 09:00", grade="major"), "2026-11-02 09:00"),
               arriving(verify("HZ-L9", "2026-11-02 12:00", grade="major"), "2026-11-07 12:00")]
    rp = feed(entries)
    h = rp.states["HZ-L9"]
    assert h.listed[1] == at("2026-11-02 12:00")  # the notice keeps the confirmation's date
    assert h.arrived == {"confirm": at("2026-11-07 12:00")}
    assert derive(h, RULES)["plan"] == at("2026-11-11")  # Sat 7th: Mon, Tue, Wed
    assert derive(h, dataclasses.replace(RULES, late_after=None))["plan"] == at("2026-11-05")
    rp.advance_to(at("2026-11-11"))
    [plan] = sent(rp, "supervision.listed.plan")
    assert plan["reason"].endswith("issued on 2026-11-07T12:00:00+08:00 once its report and "
                                   "confirmation had reached the engine")
    # The report late instead, after the confirmation: the notice waits for the report.
    entries = [arriving(verify("HZ-L10", "2026-11-02 12:00", grade="major"), "2026-11-02 12:00"),
               arriving(report("HZ-L10", "2026-11-02 09:00", grade="major"), "2026-11-09 09:00")]
    h = feed(entries).states["HZ-L10"]
    assert derive(h, RULES)["plan"] == at("2026-11-12")  # Mon 9th: Tue, Wed, Thu


def test_the_worker_dates_arrivals_by_its_clock_and_measures_their_delay(tmp_path: Path) -> None:
    """Through the runtime's intake stage: a record five days after its event gets that arrival and
    is counted in hazard_intake_arrival_delay_seconds; one stamped ahead of the clock gets neither."""
    rt, log = _worker(tmp_path)
    rt.clock = _Now(at("2026-11-09 10:00"))
    topic = rt.prefix + "hazard.reports"
    batch: dict = {}
    for hid, stamp in (("HZ-R1", at("2026-11-07 09:00")), ("HZ-R2", at("2026-11-20 09:00"))):
        data = report(hid, "2026-11-02 09:00")["data"]
        event = {"specversion": "1.0", "id": f"ev-{hid}", "source": "/apps/test", "subject": hid,
                 "type": "safety.hazard.reported", "time": "2026-11-02T09:00:00+08:00", "data": data}
        acked = log.append(topic, hid.encode(), json.dumps(event).encode(), timestamp=stamp * 1000)
        tp = TopicPartition(topic, acked.partition)
        batch.setdefault(tp, []).append(log.records[(tp.topic, tp.partition)][acked.offset])
    asyncio.run(rt._handle(batch))
    written = {e["subject"]: e for (t, _), rs in log.records.items() if t == rt.timeline
               for e in (json.loads(r.value) for r in rs)}
    assert written["HZ-R1"]["arrived_at"] == iso(at("2026-11-07 09:00"))
    assert "arrived_at" not in written["HZ-R2"]  # stamped 11 days ahead of the worker's clock
    [histogram] = rt.metrics.arrival_delay.collect()
    samples = {s.name: s.value for s in histogram.samples if s.labels.get("topic") == topic}
    assert samples["hazard_intake_arrival_delay_seconds_count"] == 1
    assert samples["hazard_intake_arrival_delay_seconds_sum"] == 5 * DAY
