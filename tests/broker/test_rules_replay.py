"""Shadow replay through the real broker: `hazard-engine rules replay` reads the recorded timeline.

The timeline records are made by the real intake decision from contract
events and written to the namespace's timeline topic, one partition per
subject as the engine writes them; a clock entry of the old timer is among
them. NEW rules read a drowning with no enterprise as a production accident
and give general hazards 3 days instead of 7.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from engine.contract.envelope import EVENT_TYPES
from engine.decide.replay import clock_entry
from engine.harness import Namespace, produce
from engine.intake.process import TIMELINE, Record, decide_intake
from engine.intake.timeline import encode
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT

RULES = load_rules(REPO_ROOT / "rules")
OFFICER = {"id": "io-0101", "role": "info_officer"}
GRID = {"id": "gw-0417", "role": "grid_worker"}


def _records(events: list[tuple[str, str, str, dict]]) -> list[tuple[bytes | None, bytes]]:
    """Timeline records, as the intake makes them from each (type, id, time, data)."""
    out: list[tuple[bytes | None, bytes]] = []
    for offset, (type_, id_, time, data) in enumerate(events):
        subject = data.get("hazard_id") or data["alert_id"]
        topic = EVENT_TYPES[type_].topic
        body = {"specversion": "1.0", "id": id_, "source": "/apps/test", "type": type_,
                "time": time, "subject": subject, "data": data}
        decision = decide_intake(Record(topic, 0, offset, None, json.dumps(body).encode(), 0), {}.get,
                                 RULES.reference, contract_topic=topic)
        assert decision.kind == "accepted", decision
        out += [(s.key, s.value) for s in decision.sends if s.topic == TIMELINE]
    return out


def _history() -> list[tuple[bytes | None, bytes]]:
    hazard = {"hazard_id": "HZ-RP-1", "title": "Blocked exit", "description": "Fire exit blocked.",
              "sector": "fire_safety", "grade_claimed": "general", "found_via": "grid_patrol",
              "location": {"town": "lihaiwu"}, "reporter": GRID,
              "enterprise": {"uscc": "91371500MA3C4XK2N2", "name": "Shuicheng Logistics Co., Ltd."}}
    records = _records([
        ("safety.hazard.reported", "rp-1", "2026-11-02T09:00:00+08:00", hazard),
        ("safety.hazard.verified", "rp-2", "2026-11-02T10:00:00+08:00",
         {"hazard_id": "HZ-RP-1", "verdict": "confirmed", "grade": "general",
          "by": {"id": "sup-01", "role": "supervisor"}}),
        ("safety.alert.raised", "rp-3", "2026-11-03T15:00:00+08:00",
         {"alert_id": "AL-RP-1", "kind": "drowning", "location": {"town": "huxi"},
          "casualties": {"dead": 1}, "description": "A child in the village pond.", "reporter": OFFICER}),
    ])
    due = int(datetime.fromisoformat("2026-11-07T23:59:59+08:00").timestamp())
    return records + [(b"HZ-RP-1", encode(clock_entry("HZ-RP-1", due)))]  # the old timer's


def _new_rules(tmp: Path) -> Path:
    new = tmp / "new-rules"
    shutil.copytree(REPO_ROOT / "rules", new)
    alerts = new / "alerts.yaml"
    alerts.write_text(alerts.read_text(encoding="utf-8").replace(
        "drowning: {enterprise: production_accident, no_enterprise: non_production}",
        "drowning: {enterprise: production_accident, no_enterprise: production_accident}"), encoding="utf-8")
    hazards = new / "hazards.yaml"
    text = hazards.read_text(encoding="utf-8")
    assert "    rectify_within: 7 days\n" in text
    hazards.write_text(text.replace("    rectify_within: 7 days\n", "    rectify_within: 3 days\n", 1),
                       encoding="utf-8")
    return new


def _cli(namespace: Namespace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", "rules", "replay", *args],
                          env=namespace.env(), capture_output=True, text=True, timeout=180)


async def _record(namespace: Namespace) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=namespace.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(namespace.topic(TIMELINE), 4, 1)])
    finally:
        await admin.close()
    await produce(namespace.bootstrap, namespace.topic(TIMELINE), _history())


def test_replay_prints_what_the_new_rules_change_by_rule(namespace: Namespace, tmp_path: Path) -> None:
    """NEW adds the drowning's 493 outputs, drops its routing and moves the ladder; JSON and text agree."""
    asyncio.run(_record(namespace))
    new = _new_rules(tmp_path)
    until = "2026-11-30T00:00:00+08:00"

    done = _cli(namespace, "--rules-dir", str(new), "--to", until, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["entries"] == 4
    by_rule = report["by_rule"]
    assert by_rule["accident.notify"] == {"added": 1, "removed": 0, "changed": 0}
    assert by_rule["alert.non_production"] == {"added": 0, "removed": 1, "changed": 0}
    assert by_rule["report.county"]["added"] == 1
    assert by_rule["ladder.yellow"] == {"added": 2, "removed": 2, "changed": 0}
    assert by_rule["alert.response"]["changed"] == 1
    changed = next(c for c in report["changes"] if c["rule"] == "alert.response")
    assert "grade" in changed["fields"] and changed["old_event"]["data"]["grade"] is None
    assert sum(report["totals"].values()) == len(report["changes"])

    text = _cli(namespace, "--rules-dir", str(new), "--to", until)
    assert text.returncode == 0, text.stderr
    assert f"added {report['totals']['added']}, removed {report['totals']['removed']}" in text.stdout
    assert "by rule (added / removed / changed):" in text.stdout
    assert any(line.lstrip().startswith("+ ") and "accident.notify" in line
               for line in text.stdout.splitlines())

    window = _cli(namespace, "--rules-dir", str(new), "--from", "2026-11-03T16:00:00+08:00", "--to",
                  "2026-11-03T17:00:00+08:00", "--json")
    assert json.loads(window.stdout)["by_rule"] == {"report.county": {"added": 1, "removed": 0, "changed": 0}}


def test_replay_against_the_rules_in_force_finds_nothing_and_bad_bounds_are_refused(
        namespace: Namespace) -> None:
    """The same rules send the same outputs; a time without an offset is an error that says so."""
    asyncio.run(_record(namespace))
    same = _cli(namespace, "--rules-dir", str(REPO_ROOT / "rules"), "--to", "2026-11-30T00:00:00+08:00")
    assert same.returncode == 0, same.stderr
    assert "no difference" in same.stdout and "4 timeline entries" in same.stdout

    bad = _cli(namespace, "--rules-dir", str(REPO_ROOT / "rules"), "--from", "2026-11-03 16:00")
    assert bad.returncode == 2 and "--from '2026-11-03 16:00' has no offset" in bad.stderr
    broken = _cli(namespace, "--rules-dir", str(REPO_ROOT / "no-such-rules"))
    assert broken.returncode == 1 and "the new rules do not load" in broken.stderr
