"""`hazard-engine demo`: a broker, a worker, and four weeks of a district on an accelerated clock.

Part 1 publishes the contract's examples, the rejected examples and a
duplicate, and shows what intake made of them. Part 2 simulates the district:
field apps report hazards, inspectors find more, enterprises rectify, some on
time and some late; and the example's night-market fire grows, its response
level rises, the duty officers hand it over, a report clock runs out and each
step goes out as a CAP 1.2 document. Escalations are printed as the engine
sends them, through to listed supervision of major hazards, referrals of
public bodies to discipline inspection, and enforcement proposals (a fine,
then 停产停业整顿) against enterprises that leave a hazard unfixed. Four more
scenes (issue 14): the example's chemical store keeps filling a tank it was
ordered to stop using, so the order goes to the public security bureau (刑法
art. 134-1) with a proposal to stop its power supply (art. 70); a child
drowns in a village pond, a non-production incident routed to the town and
its department; and a flood is reported by post B after post A stayed silent.
One more: an order to stop for overhaul that its legal review (法制审核)
approved is never made, so the decision is escalated.
A summary closes part 2. Part 3 (issue 17, engine/demo_enterprises.py) registers
the district's enterprises, draws next month's random inspections and prints
one enterprise's file.

The demo runs in a namespace of its own (a topic prefix and an app id), so it
can run again and again on the same broker and always starts clean.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition

from engine import demo_enterprises
from engine.broker import broker_session
from engine.cap import validate
from engine.clocks.timesource import ScaledTime
from engine.decide.replay import Replay
from engine.harness import (
    Namespace,
    Worker,
    latest_states,
    not_enterprise,
    publish_on_schedule,
    read_all,
    wait_drained,
)
from engine.kernel.apply import CLOCK_TYPE
from engine.kernel.time import epoch
from engine.logs import use_colour
from engine.ruleset import load_rules
from engine.ruletest.events import Intake
from engine.settings import REPO_ROOT
from engine.simulate import DAY, District, Planned
from engine.tools import publish
from engine.tools.kafka import partitions_of, reader
from engine.tools.tail import describe

EXAMPLES = REPO_ROOT / "topics" / "examples"
START = datetime.fromisoformat("2026-11-30T08:00:00+08:00")  # the examples' day
DAYS, RATE = 28, DAY / 1.2  # four simulated weeks, a day every 1.2 real seconds
COLOURS = {"blue": "34", "yellow": "33", "orange": "38;5;208", "red": "31"}
FEEDS = ("escalations", "supervision.listed", "referrals.discipline", "enforcement.actions",
         "referrals.judicial", "notifications", "alerts.cap")
INCIDENT = "AL-20261130-0009"  # the contract's example: a fire in the Lakeside Night Market


def _say(text: str = "") -> None:
    print(text, flush=True)


def _section(title: str) -> None:
    _say()
    _say(f"== {title}")


def _paint(text: str, tier: str | None) -> str:
    return f"\033[{COLOURS[tier]}m{text}\033[0m" if tier in COLOURS and use_colour(sys.stdout) else text


def run_demo() -> int:
    """Run the demo end to end; return 0 when everything ended where it should."""
    with broker_session(progress=lambda m: print(f"   {m}", file=sys.stderr, flush=True)) as bootstrap:
        _section(f"Kafka broker at {bootstrap}")
        with tempfile.TemporaryDirectory(prefix="hazard-demo-") as tmp:
            return run_in(namespace(bootstrap, Path(tmp)), Path(tmp))


def namespace(bootstrap: str, tmp: Path) -> Namespace:
    """The demo's own topics, group and data directory, named by the time it starts."""
    return Namespace(bootstrap, tmp, name=f"demo{time.strftime('%Y%m%d%H%M%S')}")


def run_in(ns: Namespace, tmp: Path) -> int:
    """Run the demo in namespace `ns` on its broker, the worker's files in `tmp`; 0 when everything
    ended where it should (tests/broker/test_demo.py runs it on the tests' broker)."""
    _say(f"   namespace {ns.name}: topics are prefixed with {ns.prefix!r}")
    anchor = time.time() + 6
    end = START.timestamp() + DAYS * DAY
    clock = ScaledTime(START.timestamp(), anchor, RATE, end)
    worker = Worker(ns.env(HAZARD_CLOCK_START=START.isoformat(), HAZARD_CLOCK_ANCHOR=str(anchor),
                           HAZARD_CLOCK_RATE=str(RATE), HAZARD_TICK_S="0.1",
                           HAZARD_CLOCK_END=datetime.fromtimestamp(end, START.tzinfo).isoformat()),
                    tmp / "worker.log")
    _section(f"Starting the worker; its clock starts at {START} and runs a day every "
             f"{DAY / RATE:.1f} s")
    started = time.monotonic()
    worker.start()
    try:
        worker.wait_ready(timeout=120)
        _say(f"   ready in {time.monotonic() - started:.1f} s")
        ok = _intake_part(ns, tmp, clock)
        ok &= asyncio.run(_district_part(ns, clock, end))
        _section("Part 3: the district's enterprises (一企一档) and a month's random draw (双随机、一公开)")
        ok &= demo_enterprises.run_part(ns, START, clock, REPO_ROOT / "rules", _say)
        _section("See it yourself")
        _say(f"   export KAFKA_BOOTSTRAP_SERVERS={ns.bootstrap} HAZARD_TOPIC_PREFIX={ns.prefix} "
             f"HAZARD_APP_ID={ns.name}")
        _say("   hazard-engine tail escalations --from-beginning --idle-timeout 2")
        _say("   hazard-engine show HZ-20261130-0002      # the listed major hazard from the examples")
        _say("   hazard-engine plan draw --period 2027-02 --seed my-seed   # next month's draw")
        _say()
        _say("demo finished: " + ("everything ended where it should" if ok
                                  else "SOMETHING IS MISSING, see above"))
        return 0 if ok else 1
    finally:
        worker.stop()


def _examples(tmp: Path) -> list[Path]:
    """The contract's examples, the alert's saying what it is: the contract's example names no
    enterprise, so the rules would read a fire as non-production; the night market's stalls are
    businesses, so its field app sends incident_class (contract v2)."""
    out = []
    for path in sorted(EXAMPLES.glob("*.json")):
        if path.name == "alert-raised.json":
            event = json.loads(path.read_text(encoding="utf-8"))
            event["data"]["incident_class"] = "production_accident"
            path = tmp / path.name
            path.write_text(json.dumps(event, ensure_ascii=False), encoding="utf-8")
        out.append(path)
    return out


def _sent_by_a_field_app(record: Any) -> bool:
    """Whether a timeline record is a field app's event about a hazard, alert or inspection: not
    filed under an enterprise or the plan, and not a clock's entry."""
    return not_enterprise(record) and json.loads(record.value).get("type") != CLOCK_TYPE


def _intake_part(ns: Namespace, tmp: Path, clock: ScaledTime) -> bool:
    _section("Part 1: the contract's examples (hazard-engine publish)")
    valid = _examples(tmp)
    # Sent once the worker's clock has reached the latest of them: intake refuses an event from
    # ahead of its clock (`future`), and at a day every 1.2 s a few seconds early is days ahead.
    latest = max(epoch(json.loads(path.read_text(encoding="utf-8"))["time"]) for path in valid)
    while clock.now() < latest:
        time.sleep(0.05)
    for line in asyncio.run(publish.send(publish.plan(valid)[0], ns.bootstrap, ns.prefix)):
        _say(f"   {line}")
    _say("   ... the rejected examples, each line as it is, to hazard.reports")
    bad, _ = publish.plan([EXAMPLES / "rejected-examples.jsonl"], force_topic="hazard.reports")
    asyncio.run(publish.send(bad, ns.bootstrap, ns.prefix))
    _say("   ... and the hazard report once more, as a field app retrying would")
    asyncio.run(publish.send(publish.plan([EXAMPLES / "hazard-reported.json"])[0], ns.bootstrap,
                             ns.prefix))
    # Entries filed under enterprises (一企一档) come too, some from decisions: part 3 reads those.
    # So do the clocks' own entries: at a day every 1.2 s the alert's first handover clock (10
    # minutes) can fire before this read. Only what the field apps sent is counted here.
    timeline = asyncio.run(read_all(ns.bootstrap, ns.topic("engine.timeline"), expect=5, timeout=60,
                                    where=_sent_by_a_field_app))
    rejected = asyncio.run(read_all(ns.bootstrap, ns.topic("intake.rejected"), expect=len(bad),
                                    timeout=60))
    duplicates = asyncio.run(read_all(ns.bootstrap, ns.topic("engine.intake.duplicates"), expect=1,
                                      timeout=60))
    _say(f"   accepted into the timeline: {len(timeline)} entries")
    for rec in timeline:
        _say(f"     {describe(rec.value)}")
    _say(f"   rejected (intake.rejected): {len(rejected)}, each with its reason")
    for rec in rejected:
        _say(f"     {describe(rec.value)}")
    _say(f"   duplicates (engine.intake.duplicates): {len(duplicates)}, which changed nothing")
    return len(timeline) == 5 and len(rejected) == len(bad) and len(duplicates) == 1


def _incident() -> list[Planned]:
    """The night-market fire of the contract's example, as it grows and is brought under control."""
    def event(type_: str, id_: str, at: str, data: dict[str, Any]) -> Planned:
        when = datetime.fromisoformat(f"{at}:00+08:00" if "T" in at else f"2026-11-30T{at}:00+08:00")
        body = {"specversion": "1.0", "id": id_, "source": "/apps/grid/HX-11", "type": type_,
                "time": when.isoformat(), "subject": INCIDENT, "data": {"alert_id": INCIDENT, **data}}
        return Planned(int(when.timestamp()), body)

    duty = {"id": "duty-1", "role": "info_officer"}
    return [
        event("safety.alert.updated", "fire-u1", "19:25",
              {"casualties": {"dead": 2, "missing": 2, "seriously_injured": 6, "trapped": 5},
               "note": "Roof of row C collapsed"}),
        event("safety.alert.acknowledged", "fire-a1", "19:32", {"unit": "fire_rescue", "by": duty}),
        event("safety.alert.acknowledged", "fire-r1", "19:40",
              {"unit": "district_emergency", "by": duty}),  # reported to the county level in time
        event("safety.alert.updated", "fire-u2", "19:50",
              {"casualties": {"dead": 8, "missing": 3, "seriously_injured": 12, "trapped": 0}}),
        # Nobody reported beyond the county: the city, province and State Council clocks run out.
        event("safety.alert.closed", "fire-c1", "2026-12-01T02:30",
              {"note": "Fire out, site handed over", "by": duty}),
    ]


def _scenes() -> list[Planned]:
    """Issue 14's scenes: a stop order violated and transferred, a drowning, a flood post A missed;
    and a completion claimed in time on an app that stayed offline past the fine it would have spared."""
    def event(type_: str, id_: str, at: str, subject: str, data: dict[str, Any],
              source: str = "/apps/demo", sent: str | None = None) -> Planned:
        when = datetime.fromisoformat(f"{at}:00+08:00")
        body = {"specversion": "1.0", "id": id_, "source": source, "type": type_,
                "time": when.isoformat(), "subject": subject, "data": data}
        return Planned(int(datetime.fromisoformat(f"{sent or at}:00+08:00").timestamp()), body)

    store, pond, flood = "HZ-20261130-0002", "AL-20261205-0001", "AL-20261210-0001"
    exit_ = "HZ-20261201-0901"
    two = [{"id": "insp-021", "role": "inspector", "name": "Zhao Min"},
           {"id": "insp-034", "role": "inspector", "name": "Sun Hao"}]
    order = "度应急责停〔2026〕7"
    grid = {"id": "gw-0301", "role": "grid_worker"}
    return [
        event("safety.enforcement.ordered", "sc-ord-1", "2026-11-30T16:00", store,
              {"hazard_id": store, "order_no": order, "order": "suspend",
               "legal_basis": "安全生产法 art. 65", "by": two}, "/apps/enforcement/zm"),
        event("safety.enforcement.violated", "sc-vio-1", "2026-12-03T10:00", store,
              {"hazard_id": store, "order_no": order, "found_at": "2026-12-03T10:00:00+08:00",
               "description": "Tank T-2 was being filled while the order stood.",
               "evidence": ["https://files.example.org/demo/t2.mp4"], "by": two}, "/apps/enforcement/zm"),
        event("safety.alert.raised", "sc-pond-1", "2026-12-05T16:20", pond,
              {"alert_id": pond, "kind": "drowning", "casualties": {"dead": 1},
               "location": {"town": "huxi", "address": "Huxi village pond"},
               "description": "A child fell through the ice of the village pond.", "reporter": grid}),
        event("safety.alert.raised", "sc-flood-1", "2026-12-10T09:00", flood,
              {"alert_id": flood, "kind": "flood", "location": {"town": "zhulaozhuang"},
               "description": "Meltwater over the embankment; a lane and fields flooded.",
               "reporter": grid}),
        event("safety.disaster.reported", "sc-flood-2", "2026-12-10T10:10", flood,
              {"alert_id": flood, "report_kind": "initial", "post": "B",
               "by": {"id": "io-0302", "role": "info_officer"},
               "figures": {"affected_population": 60, "relocated": 12}}, "/apps/info/io-0302"),
        event("safety.disaster.reported", "sc-flood-3", "2026-12-11T08:30", flood,
              {"alert_id": flood, "report_kind": "final", "post": "B",
               "by": {"id": "io-0302", "role": "info_officer"},
               "figures": {"affected_population": 60, "direct_loss_cny": 80000}}, "/apps/info/io-0302"),
        event("safety.alert.closed", "sc-flood-4", "2026-12-11T09:00", flood,
              {"alert_id": flood, "note": "Water receded.", "by": {"id": "io-0302", "role": "info_officer"}}),
        event("safety.hazard.reported", "sc-exit-1", "2026-12-01T09:00", exit_,
              {"hazard_id": exit_, "title": "Fire exit locked",
               "description": "The rear fire exit of the hall is chained shut.",
               "sector": "crowded_places", "grade_claimed": "general", "found_via": "grid_patrol",
               "location": {"town": "lihaiwu", "address": "No. 8 Binhe Road"},
               "enterprise": {"uscc": "91371500MA3C4XK2N2", "name": "Shuicheng Logistics Co., Ltd."},
               "reporter": grid}, "/apps/grid/LHW-03"),
        event("safety.hazard.verified", "sc-exit-2", "2026-12-01T15:00", exit_,
              {"hazard_id": exit_, "verdict": "confirmed", "grade": "general",
               "by": {"id": "fr-007", "role": "inspector"}}, "/apps/office/fire"),
        # Claimed on the 7th, a day before the deadline; the enterprise's app synced on the 16th,
        # after the red step's fine proposal, which the engine then withdraws.
        event("safety.rectification.completed", "sc-exit-3", "2026-12-07T17:00", exit_,
              {"hazard_id": exit_, "note": "Chain removed, exit clear.", "evidence": ["exit.jpg"],
               "by": {"id": "ent-sl-01", "role": "enterprise"}}, "/apps/enterprise/sl",
              sent="2026-12-16T10:00"),
        event("safety.rectification.reviewed", "sc-exit-4", "2026-12-17T10:00", exit_,
              {"hazard_id": exit_, "outcome": "passed", "note": "Exit open, chain gone.",
               "by": {"id": "insp-021", "role": "inspector"}}, "/apps/office/safety"),
        *_approved_overhaul(event),
    ]


def _approved_overhaul(event: Callable[..., Planned]) -> list[Planned]:
    """A boiler room left unfixed: its 停产停业整顿 proposal of 16 December is approved by the legal
    review (法制审核) on the 17th, and nobody orders it within 5 working days, so the decision is
    escalated on the 24th (decision_overdue). The review names the proposal's id, which the
    legal-review office reads off the proposal; here the pure core works it out from the same
    events and rules as the worker."""
    boiler = "HZ-20261130-0904"
    opened = [
        event("safety.hazard.reported", "sc-boiler-1", "2026-11-30T09:00", boiler,
              {"hazard_id": boiler, "title": "Boiler safety valve seized",
               "description": "The boiler's safety valve is rusted shut; pressure gauge out of date.",
               "sector": "industry_trade", "grade_claimed": "general", "found_via": "enforcement",
               "location": {"town": "zhulaozhuang", "address": "No. 3 Gongye Road"},
               "enterprise": {"uscc": "91371500MA3E2B8K41", "name": "Hengda Dyeing Co., Ltd."},
               # An inspector's report: only an inspector's date is the deadline (lifecycle `sets_deadline`).
               "reporter": {"id": "insp-0301", "role": "inspector"},
               "rectify_by": "2026-12-02T23:59:59+08:00"}, "/apps/inspector/zlz"),
        event("safety.hazard.verified", "sc-boiler-2", "2026-11-30T15:00", boiler,
              {"hazard_id": boiler, "verdict": "confirmed", "grade": "general",
               "by": {"id": "sb-011", "role": "inspector"}}, "/apps/office/safety"),
    ]
    reviewed = "2026-12-17T10:00"
    pid = _proposal_id(opened, boiler, "suspend_for_overhaul", epoch(f"{reviewed}:00+08:00"))
    return [*opened, event("safety.enforcement.legal_reviewed", "sc-boiler-3", reviewed, boiler,
                           {"hazard_id": boiler, "proposal_id": pid, "outcome": "approved",
                            "by": {"id": "lo-002", "role": "supervisor", "name": "Sun Hui"}},
                           "/apps/office/legal")]


def _proposal_id(planned: list[Planned], hazard: str, measure: str, until: int) -> str:
    """The id the engine gives the proposal of `measure` on `hazard` by `until`, the `planned` events
    decided by the pure core on the shipped rules, as the worker decides them."""
    rules = load_rules(REPO_ROOT / "rules")
    intake, replay = Intake(rules.reference, "demo"), Replay(rules)
    for index, p in enumerate(planned):
        replay.advance_to(p.at)
        for entry in intake.entries(p.event, index, p.at):
            replay.feed(entry, now=p.at)
    replay.advance_to(until)
    return str(next(o.event["data"]["proposal_id"] for _, o in replay.outputs
                    if o.event["type"] == "safety.enforcement.proposed"
                    and (o.event["data"]["hazard_id"], o.event["data"]["measure"]) == (hazard, measure)))


async def _district_part(ns: Namespace, clock: ScaledTime, end: float) -> bool:
    events = [p for p in District(START, seed=2026).events(40, 10) if p.at < end - DAY]
    events = sorted(events + _incident() + _scenes(), key=lambda p: p.at)
    _section(f"Part 2: {DAYS} days of the district: {len(events)} field events about 40 hazards, "
             "plus the examples")
    _say("   escalations as the engine sends them (simulated time):")
    seen: Counter[str] = Counter()
    drained = asyncio.Event()
    feed = asyncio.create_task(_live_feed(ns, seen, drained))
    try:
        await publish_on_schedule(ns.bootstrap, ns.prefix, clock, events)
        await asyncio.sleep(max(0.0, clock.real_time_of(end) - time.time()) + 3)
        await wait_drained(ns, idle_timeout=60)  # the summary reads the states to their end
        # On a busy machine the worker can lag the scaled clock: the feed then reads on to the
        # outputs' end, so what is counted below is everything the engine sent, not what came in time.
        drained.set()
        await asyncio.wait_for(feed, timeout=60)
    finally:
        feed.cancel()
        await asyncio.gather(feed, return_exceptions=True)
    states = await latest_states(ns.bootstrap, ns.name)
    _section(f"Summary at {datetime.fromtimestamp(end, START.tzinfo):%Y-%m-%d %H:%M}")
    by_status = Counter(s.status() for s in states.values())
    _say("   hazards by state: " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())))
    overdue = Counter(s.town for s in states.values() if s.overdue(int(end)))
    _say("   overdue rectifications by town: "
         + (", ".join(f"{k} {v}" for k, v in sorted(overdue.items())) or "none"))
    listed = sum(1 for s in states.values() if s.listed and s.listed[3])
    _say(f"   under listed supervision (挂牌督办) now: {listed}")
    _say("   sent: " + ", ".join(f"{k} {v}" for k, v in sorted(seen.items())))
    caps = await read_all(ns.bootstrap, ns.topic("alerts.cap"), settle=2, timeout=60)
    if caps:
        _section(f"The last CAP 1.2 document of {INCIDENT} (alerts.cap), valid against the OASIS schema: "
                 f"{'yes' if not validate(caps[-1].value) else 'NO'}")
        _say(caps[-1].value.decode())
    return (seen["listed supervision"] > 0 and seen["referral"] > 0 and seen["escalation"] > 0
            and seen["fine proposal"] > 0 and seen["CAP invalid"] == 0 and seen["CAP valid"] >= 4
            and seen["judicial transfer"] > 0 and seen["utility stop notice proposal"] > 0
            and seen["non-production routing"] > 0 and seen["post B asked"] > 0
            and seen["notification"] > 0 and seen["proposal withdrawn"] > 0
            and seen["decision overdue"] > 0)


async def _live_feed(ns: Namespace, seen: Counter[str], drained: asyncio.Event) -> None:
    """Print each output as it comes and count it in `seen`; once `drained` is set (the engine has
    taken every record in), return when the outputs' topics are read to their end."""
    consumer = reader(ns.bootstrap)
    await consumer.start()
    try:
        # From the beginning of this run's own topics: part 1's alert went out before part 2.
        tps = [TopicPartition(ns.topic(t), p) for t in FEEDS
               for p in await partitions_of(consumer, ns.topic(t))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            for tp, records in batch.items():
                for rec in records:
                    if tp.topic.endswith("alerts.cap"):
                        _say("   " + _cap_line(rec.value, seen))
                    else:
                        _say("   " + _line(json.loads(rec.value), seen))
            if drained.is_set() and not batch:
                ends = await consumer.end_offsets(tps)
                read = [await consumer.position(tp) for tp in tps]
                if all(at >= ends[tp] for at, tp in zip(read, tps, strict=True)):
                    return
    finally:
        await consumer.stop()


def _cap_line(xml: bytes, seen: Counter[str]) -> str:
    valid = not validate(xml)
    seen["CAP valid" if valid else "CAP invalid"] += 1
    text = xml.decode()

    def tag(name: str) -> str:
        return text.split(f"<{name}>", 1)[1].split(f"</{name}>", 1)[0] if f"<{name}>" in text else "?"

    return (f"{tag('sent')[:16].replace('T', ' ')}  CAP {tag('msgType'):<6} {tag('identifier')} "
            f"{tag('severity')}/{tag('urgency')}: {tag('headline')} "
            f"[{'valid' if valid else 'INVALID'} CAP 1.2]")


_SCENE_RULES = {"alert.non_production": "non-production routing", "disaster.post_b": "post B asked"}


def _line(event: dict[str, Any], seen: Counter[str]) -> str:
    d = event["data"]
    when = event["time"][:16].replace("T", " ")
    if event["type"] == "safety.escalation.raised":
        seen["escalation"] += 1
        seen[_SCENE_RULES.get(d["rule_id"], "other escalation")] += 1
        if d["action"] == "decision_overdue":
            seen["decision overdue"] += 1
        level = d["tier"] or f"lvl {d['response_level']}"
        text = f"{when}  {level:<6} {d['action']:<20} {d['subject_id']:<17} {d['reason'][:90]}"
        return _paint(text, d["tier"] or ("red" if d["response_level"] in ("I", "II") else "orange"))
    if event["type"] == "safety.supervision.listed":
        seen["listed supervision"] += 1
        return _paint(f"{when}  LISTED {d['notice_no']} deadline {d['deadline'][:10]}", "red")
    if event["type"] == "safety.supervision.lifted":
        seen["lifted"] += 1
        return f"{when}  LIFTED {d['notice_no']}: {d['reason']}"
    if event["type"] == "safety.enforcement.proposed":
        seen[f"{d['measure'].replace('_', ' ')} proposal"] += 1
        amount = d["amount_range_cny"]
        what = f"a fine of up to {amount['max']:,} CNY" if amount else d["measure"]
        review = "after legal review (法制审核)" if d["needs_legal_review"] else "no legal review needed"
        return _paint(f"{when}  ENFORCEMENT proposed against {d['enterprise']['name']}: {what} "
                      f"({d['hazard_id']}, {review}, due {d['due_at'][:10]})", "orange")
    if event["type"] == "safety.enforcement.withdrawn":
        seen["proposal withdrawn"] += 1
        return f"{when}  ENFORCEMENT WITHDRAWN: {d['measure']} on {d['hazard_id']}: {d['reason']}"
    if event["type"] == "safety.referral.judicial":
        seen["judicial transfer"] += 1
        return _paint(f"{when}  TRANSFER to {d['recipient']['name']}: order {d['order_no']} on "
                      f"{d['hazard_id']} violated, {d['offence']}, {len(d['evidence'])} evidence", "red")
    if event["type"] == "safety.notification.due":
        seen["notification"] += 1
        who = ", ".join(r["name"] or r["id"] for r in d["recipients"])
        return _paint(f"{when}  NOTIFY {who} of {d['subject_id']} by {d['due_at'][:16]} "
                      f"(493号令 art. 10)", "orange")
    who = ", ".join(r["name"] or r["id"] for r in d["respondents"])
    if event["type"] == "safety.referral.withdrawn":
        seen["referral withdrawn"] += 1
        return f"{when}  REFERRAL WITHDRAWN: {d['subject_id']} ({who}): {d['reason']}"
    seen["referral"] += 1
    return _paint(f"{when}  REFERRAL to discipline inspection: {d['subject_id']} ({who}) "
                  f"with {len(d['timeline'])} timeline steps", "red")


__all__ = ["run_demo"]
