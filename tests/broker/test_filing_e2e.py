"""`hazard-engine filing` through the real broker: states from the hazard table's changelog, filings out."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from engine.decide.state import Hazard
from engine.harness import Namespace, produce, read_all, values
from engine.ruleset.calendar import SHANGHAI
from engine.store import pack


def _at(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def _states() -> list[tuple[bytes, bytes | None]]:
    """Two fire-safety hazards (one open and overdue, one superseded), one deleted key."""
    open_one = Hazard("HZ-FL-1", opened="e1", opened_at=_at("2026-11-02T09:00:00+08:00"),
                      sector="fire_safety", town="lihaiwu", verdict="confirmed", grade="general",
                      deadline=_at("2026-11-09T23:59:59+08:00"),
                      history=[[_at("2026-11-02T09:00:00+08:00"), "e1", "reported"]])
    older = Hazard("HZ-FL-2", opened="e2", opened_at=_at("2026-10-01T09:00:00+08:00"), sector="fire_safety")
    newer = Hazard("HZ-FL-2", opened="e2", opened_at=_at("2026-10-01T09:00:00+08:00"), sector="fire_safety",
                   closed_at=_at("2026-11-05T09:00:00+08:00"), closed_how="passed",
                   history=[[_at("2026-11-05T09:00:00+08:00"), "e3", "review passed: closed"]])
    return [(b"HZ-FL-1", pack(open_one)), (b"HZ-FL-2", pack(older)), (b"HZ-FL-2", pack(newer)),
            (b"HZ-GONE", pack(Hazard("HZ-GONE", opened="e9", opened_at=1, sector="gas"))), (b"HZ-GONE", None)]


async def _create(namespace: Namespace, topic: str, **configs: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=namespace.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 4, 1, topic_configs=configs)])
    finally:
        await admin.close()


def _output_topics(namespace: Namespace) -> None:
    """The two topics the filings go to, made as the worker makes them."""
    for name in ("referrals.discipline", "filings.organisation"):
        asyncio.run(_create(namespace, namespace.topic(name)))


def _copies(namespace: Namespace) -> tuple[list[dict], list[dict]]:
    """The periodic filings on referrals.discipline, first of each id, and the copies for the
    organisation department."""
    firsts: dict[str, dict] = {}
    for event in values(asyncio.run(read_all(namespace.bootstrap, namespace.topic("referrals.discipline"),
                                             settle=2))):
        if event["data"]["grounds"] == "periodic_filing":
            firsts.setdefault(event["id"], event)
    copies = values(asyncio.run(read_all(namespace.bootstrap, namespace.topic("filings.organisation"),
                                         settle=2)))
    return list(firsts.values()), copies


async def _changelog(namespace: Namespace) -> None:
    topic = f"{namespace.name}-hazards-changelog"  # as the worker's table keeps it
    await _create(namespace, topic, **{"cleanup.policy": "compact"})
    await produce(namespace.bootstrap, topic, _states())


def _cli(namespace: Namespace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", "filing", *args], env=namespace.env(),
                          capture_output=True, text=True, timeout=120)


def test_filing_reads_the_latest_states_and_publishes_one_filing_per_lead_department(
        namespace: Namespace) -> None:
    """The latest state of each key counts, a deleted key none; --publish twice writes the same filings."""
    asyncio.run(_changelog(namespace))
    shown = _cli(namespace, "--month", "2026-11", "--json")
    assert shown.returncode == 0, shown.stderr
    fire = next(e for e in json.loads(shown.stdout) if e["data"]["subject_id"] == "fire_rescue")
    assert "1 hazards found, 1 closed, 1 open at the month's end, 1 of them past their deadline" \
        in fire["data"]["reason"]
    assert [t["event_id"] for t in fire["data"]["timeline"]] == ["e1", "e3"]
    assert "filed_at" not in fire["data"]  # shown, not sent

    missing = _cli(namespace, "--month", "2026-11", "--publish")
    assert missing.returncode == 2
    assert "referrals.discipline does not exist: start the worker" in missing.stderr
    # The copies' topic not made yet (a worker of an older release): the filings go, the command
    # says so and that the copies did not, and exits 2.
    asyncio.run(_create(namespace, namespace.topic("referrals.discipline")))
    uncopied = _cli(namespace, "--month", "2026-11", "--publish")
    assert uncopied.returncode == 2 and "published to" in uncopied.stdout, uncopied.stderr
    assert "but no copy for the organisation department did" in uncopied.stderr, uncopied.stderr
    asyncio.run(_create(namespace, namespace.topic("filings.organisation")))
    published = _cli(namespace, "--month", "2026-11", "--publish")
    assert published.returncode == 0, published.stderr
    assert "published to" in published.stdout and "7 copied to" in published.stdout, published.stdout
    records = asyncio.run(read_all(namespace.bootstrap, namespace.topic("referrals.discipline"), settle=2))
    events = values(records)
    ids = [e["id"] for e in events]
    assert len(ids) == 2 * len(set(ids)) and all(e["data"]["grounds"] == "periodic_filing" for e in events)
    assert all(dict(r.headers)["content-type"].startswith(b"application/cloudevents+json") for r in records)

    assert all(datetime.fromisoformat(e["data"]["filed_at"]).timestamp() > time.time() - 300 for e in events)
    # The organisation department has a copy of each, as first sent, once (plans line 798).
    firsts, copies = _copies(namespace)
    assert sorted(copies, key=lambda e: e["id"]) == sorted(firsts, key=lambda e: e["id"])
    assert len(copies) == len(set(ids))

    bad = _cli(namespace, "--month", "November")
    assert bad.returncode == 2 and "write it as YYYY-MM" in bad.stderr
    # A month not over yet: its filing would stand in for the one due on its filing day.
    early = _cli(namespace, "--month", datetime.now(SHANGHAI).strftime("%Y-%m"), "--publish")
    assert early.returncode == 2 and "is not over yet" in early.stderr, early.stderr


def _schedule_until_filed(namespace: Namespace, log: Path, now: str = "2026-12-06T09:00:00+08:00",
                          month: str = "2026-11") -> tuple[str, dict[str, float]]:
    """Run `filing --schedule` with the clock at `now` (by default 2026-12-06: November due since
    the 5th) until it logs `month` filed, then stop it with Ctrl-C as an operator would; its log,
    and the hazard_filing_* samples its /metrics gave just before."""
    env = namespace.env(HAZARD_CLOCK_START=now)
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "engine", "filing", "--schedule"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 120
            while f"month={month}" not in log.read_text() and proc.poll() is None:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            url = f"http://127.0.0.1:{namespace.filing_port}"
            with urllib.request.urlopen(url + "/healthz", timeout=5) as answer:
                assert json.load(answer) == {"alive": True}
            # The steps after the filing (supplements, then the copies) are done once the copy's
            # gauge is there.
            copied = "hazard_filing_follow_up_failing[('step', 'copy')]"
            while copied not in (samples := _filing_metrics(url)):
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0, log.read_text()
        finally:
            proc.kill()
    return log.read_text(), samples


def _filing_metrics(url: str) -> dict[str, float]:
    """The scheduler's hazard_filing_* samples, by name and labels."""
    with urllib.request.urlopen(url + "/metrics", timeout=5) as answer:
        return {f"{s.name}{sorted(s.labels.items()) or ''}": s.value
                for family in text_string_to_metric_families(answer.read().decode())
                for s in family.samples if s.name.startswith("hazard_filing_")}


def test_the_scheduler_files_the_month_due_once_though_started_twice(namespace: Namespace,
                                                                      tmp_path: Path) -> None:
    """The month due is filed at start; a second start finds it on the topic and sends nothing."""
    asyncio.run(_changelog(namespace))
    _output_topics(namespace)
    first, first_metrics = _schedule_until_filed(namespace, tmp_path / "first.log")
    second, second_metrics = _schedule_until_filed(namespace, tmp_path / "second.log")
    events = values(asyncio.run(read_all(namespace.bootstrap, namespace.topic("referrals.discipline"),
                                         settle=2)))
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)) > 0, ids
    filed = re.compile(r"filing\.filed .*already_filed=(\d+) .*month=(\S+) .*sent=(\d+)")
    assert [m.groups() for m in filed.finditer(first)] == [("0", "2026-11", str(len(ids)))], first
    assert [m.groups() for m in filed.finditer(second)] == [(str(len(ids)), "2026-11", "0")], second
    sent = "hazard_filing_filings_sent_total[('caught_up', 'false')]"
    assert first_metrics[sent] == len(ids) and second_metrics[sent] == 0, (first_metrics, second_metrics)
    for metrics in (first_metrics, second_metrics):
        assert metrics["hazard_filing_due_unfiled"] == 0 and metrics["hazard_filing_failures_total"] == 0
        assert metrics["hazard_filing_last_filed_timestamp_seconds"] > time.time() - 300
        assert metrics["hazard_filing_follow_up_failing[('step', 'copy')]"] == 0
        assert metrics["hazard_filing_follow_up_failing[('step', 'supplement')]"] == 0
    fire = next(e for e in events if e["data"]["subject_id"] == "fire_rescue")
    assert "for 2026-11" in fire["data"]["reason"] and "1 hazards found" in fire["data"]["reason"]


def test_a_scheduler_back_after_a_stop_files_the_months_it_missed_since_its_first_hazard(
        namespace: Namespace, tmp_path: Path) -> None:
    """Filed for July, then stopped until 6 December. The engine's first hazard opened on 1 October:
    it files October (caught up) and November, each department once a month, each saying when it
    was sent; August and September, before any hazard, it leaves for a person (filing.missed)."""
    asyncio.run(_changelog(namespace))
    _output_topics(namespace)
    _schedule_until_filed(namespace, tmp_path / "first.log", now="2026-08-06T09:00:00+08:00",
                          month="2026-07")
    back, metrics = _schedule_until_filed(namespace, tmp_path / "back.log", month="2026-11")
    filed = re.compile(r"filing\.filed .*already_filed=(\d+) (caught_up=True )?.*month=(\S+) .*sent=(\d+)")
    found = [m.groups() for m in filed.finditer(back)]
    assert [(month, bool(caught)) for _, caught, month, _ in found] == [
        ("2026-10", True), ("2026-11", False)], back
    assert re.search(r"filing\.missed .*months=\['2026-08', '2026-09'\]", back), back
    # What Prometheus sees of it: two months left to a person, none ahead, October caught up.
    assert metrics["hazard_filing_months_missed[('first', '2026-08'), ('last', '2026-09')]"] == 2
    assert metrics["hazard_filing_months_clock_ahead"] == 0
    events = values(asyncio.run(read_all(namespace.bootstrap, namespace.topic("referrals.discipline"),
                                         settle=2)))
    by_month: dict[str, list[str]] = {}
    for event in events:
        month = re.search(r" for (\d{4}-\d{2}) ", event["data"]["reason"])
        assert month is not None, event["data"]["reason"]
        by_month.setdefault(month.group(1), []).append(event["data"]["subject_id"])
        assert datetime.fromisoformat(event["data"]["filed_at"]).timestamp() > time.time() - 300
    assert sorted(by_month) == ["2026-07", "2026-10", "2026-11"]
    assert all(sorted(depts) == sorted(by_month["2026-07"]) and len(set(depts)) == len(depts)
               for depts in by_month.values()), by_month
    assert [int(sent) for *_, sent in found] == [len(by_month[m]) for m in ("2026-10", "2026-11")]
    assert metrics["hazard_filing_filings_sent_total[('caught_up', 'true')]"] == len(by_month["2026-10"])
    october = next(e for e in events
                   if e["data"]["subject_id"] == "fire_rescue" and " 2026-10 " in e["data"]["reason"])
    assert "1 hazards found" in october["data"]["reason"], october["data"]["reason"]


def test_a_hazard_whose_report_came_after_its_month_was_filed_is_filed_as_a_supplement(
        namespace: Namespace, tmp_path: Path) -> None:
    """October filed on 6 November; then a hazard found on 30 October reaches the engine (a tablet
    offline). When November falls due, the scheduler files November and a supplement to the fire
    brigade's October filing naming that hazard; started again, it sends nothing more."""
    asyncio.run(_changelog(namespace))
    _output_topics(namespace)
    _schedule_until_filed(namespace, tmp_path / "october.log", now="2026-11-06T09:00:00+08:00",
                          month="2026-10")
    late = Hazard("HZ-FL-3", opened="e7", opened_at=_at("2026-10-30T16:00:00+08:00"), sector="fire_safety",
                  town="lihaiwu", history=[[_at("2026-10-30T16:00:00+08:00"), "e7", "reported"]])
    changelog = f"{namespace.name}-hazards-changelog"
    asyncio.run(produce(namespace.bootstrap, changelog, [(b"HZ-FL-3", pack(late))]))
    back, metrics = _schedule_until_filed(namespace, tmp_path / "november.log")
    assert re.search(r"filing\.supplemented .*department=fire_rescue .*hazards=1 .*month=2026-10", back), back
    assert metrics["hazard_filing_supplements_sent_total"] == 1
    again, metrics = _schedule_until_filed(namespace, tmp_path / "again.log")
    assert "filing.supplemented" not in again and metrics["hazard_filing_supplements_sent_total"] == 0
    events = values(asyncio.run(read_all(namespace.bootstrap, namespace.topic("referrals.discipline"),
                                         settle=2)))
    october = [e["data"] for e in events if e["data"]["subject_id"] == "fire_rescue"
               and e["time"].startswith("2026-10-31")]
    original, supplement = october
    assert original["found_ids"] == ["HZ-FL-2"] and "supplements" not in original
    assert supplement["supplements"] == original["referral_id"] and supplement["found_ids"] == ["HZ-FL-3"]
    assert supplement["filed_at"] > original["filed_at"] and "监督检查结果补充备案" in supplement["reason_zh"]
    assert [item["what"] for item in supplement["timeline"]] == ["HZ-FL-3: reported"]
    assert len({e["id"] for e in events}) == len(events)
    firsts, copies = _copies(namespace)
    assert sorted(copies, key=lambda e: e["id"]) == sorted(firsts, key=lambda e: e["id"])
    assert any(copy["data"].get("supplements") for copy in copies)
