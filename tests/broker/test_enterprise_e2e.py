"""End to end on the real broker: enterprises' files (一企一档), their HTTP pages, show, and the draw.

A worker on a stopped clock takes registrations, a classification, a hazard
report that names a registered enterprise, and an inspection of one that is
not registered. The files must answer over HTTP within each token's scope,
survive a restart (their table is read back from its changelog), print with
`show --enterprise`, and feed `plan draw`, whose recorded draw `plan verify`
re-runs to the same list.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from engine.contract.uscc import check_character
from engine.feeds.tokens import mint
from engine.harness import Namespace, Worker, produce, read_all, wait_drained

pytestmark = pytest.mark.broker

FROZEN = "2026-11-01T00:00:00+08:00"
SUPERVISOR = {"id": "sup-01", "role": "supervisor", "name": "Li Qiang"}
INSPECTORS = [{"id": "insp-021", "role": "inspector"}, {"id": "insp-034", "role": "inspector"}]


def uscc(n: int) -> str:
    body = f"91371500MA{n:07d}"
    return body + check_character(body)


OWN, OTHER, UNREGISTERED = uscc(1), uscc(2), uscc(3)


def ce(type_: str, subject: str, data: dict[str, Any], n: int, time: str = "2026-10-20T09:00:00+08:00"
       ) -> tuple[bytes, bytes]:
    event = {"specversion": "1.0", "id": f"e2e-{n}", "source": "/apps/test", "type": type_, "time": time,
             "subject": subject, "data": data}
    return subject.encode(), json.dumps(event, ensure_ascii=False).encode()


def registration(code: str, town: str, n: int) -> tuple[bytes, bytes]:
    return ce("safety.enterprise.registered", code, {
        "uscc": code, "name": f"Firm {code[-4:]}", "sector": "industry_trade", "location": {"town": town},
        "legal_representative": "Zhang Wei", "by": SUPERVISOR}, n)


def cli(namespace: Namespace, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], env=namespace.env(**env),
                          capture_output=True, text=True, timeout=120)


async def get(url: str, token: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(
            url, headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.json()


def test_files_answer_in_scope_survive_a_restart_and_feed_a_reproducible_draw(
        namespace: Namespace, tmp_path: Path) -> None:
    """Registered, classified, linked and unregistered files through the worker, HTTP, show and plan."""
    town_token, town_line = mint("lihaiwu-office", ["lihaiwu"], [], False)
    all_token, all_line = mint("district", [], [], True)
    (tmp_path / "tokens.yaml").write_text(f"supervisors:\n{town_line}\n{all_line}\n")
    worker = Worker(namespace.env(HAZARD_TOKENS_FILE=str(tmp_path / "tokens.yaml"),
                                  HAZARD_CLOCK_START=FROZEN, HAZARD_CLOCK_END=FROZEN),
                    tmp_path / "worker.log")
    try:
        worker.start().wait_ready()
        asyncio.run(produce(namespace.bootstrap, namespace.topic("enterprise.records"), [
            registration(OWN, "lihaiwu", 1), registration(OTHER, "zhulaozhuang", 2),
            ce("safety.enterprise.classified", OWN, {
                "uscc": OWN, "risk_class": "orange", "key_enterprise": False, "decided_by": SUPERVISOR,
                "decided_at": "2026-10-20T10:00:00+08:00"}, 3)]))
        asyncio.run(produce(namespace.bootstrap, namespace.topic("hazard.reports"), [ce(
            "safety.hazard.reported", "HZ-E2E-1", {
                "hazard_id": "HZ-E2E-1", "title": "Blocked exit", "description": "Pallets",
                "sector": "fire_safety", "grade_claimed": "general", "found_via": "grid_patrol",
                "location": {"town": "lihaiwu"}, "enterprise": {"uscc": OWN, "name": "Firm"},
                "reporter": {"id": "gw-1", "role": "grid_worker"}}, 4)]))
        asyncio.run(produce(namespace.bootstrap, namespace.topic("inspection.findings"), [ce(
            "safety.inspection.recorded", "INS-E2E-1", {
                "inspection_id": "INS-E2E-1", "kind": "routine", "inspectors": INSPECTORS,
                "enterprise": {"uscc": UNREGISTERED, "name": "Unlisted Co."},
                "location": {"town": "huxi"}, "findings": []}, 5)]))
        asyncio.run(wait_drained(namespace))

        base = f"http://127.0.0.1:{namespace.web_port}"

        def pages() -> dict[str, Any]:
            return {
                "own": asyncio.run(get(f"{base}/enterprises/{OWN}", town_token)),
                "other": asyncio.run(get(f"{base}/enterprises/{OTHER}", town_token)),
                "unknown": asyncio.run(get(f"{base}/enterprises/{uscc(9)}", town_token)),
                "all": asyncio.run(get(f"{base}/enterprises", all_token)),
            }
        # Drained means the hazard's link, written by a decision to the timeline, was decided too.
        seen = pages()
        status, own = seen["own"]
        assert status == 200 and own["risk_class"] == "orange" and own["status"] == "registered"
        assert own["hazards"] == {"open": 1, "overdue": 0, "closed": 0}
        assert [h["id"] for h in own["open_hazards"]] == ["HZ-E2E-1"]
        assert seen["other"][0] == seen["unknown"][0] == 404  # outside the scope answers as unknown
        items = {i["id"]: i for i in seen["all"][1]["items"]}
        assert set(items) == {OWN, OTHER, UNREGISTERED}
        assert items[UNREGISTERED]["status"] == "unregistered" and items[UNREGISTERED]["inspections"] == 1

        def gauges() -> list[str]:
            with urllib.request.urlopen(f"{base}/metrics", timeout=10) as resp:
                return sorted(line for line in resp.read().decode().splitlines()
                              if line.startswith("hazard_enterprise"))
        counted = gauges()
        # By the enterprise's own labels, bounded: an unregistered file's unknown sector is "other".
        assert 'hazard_enterprises{risk_class="orange",sector="industry_trade",town="lihaiwu"} 1.0' in counted
        own_labels = 'risk_class="orange",sector="industry_trade",town="lihaiwu"'
        assert f"hazard_enterprise_hazards_open{{{own_labels}}} 1.0" in counted
        other_labels = 'risk_class="unclassified",sector="industry_trade",town="zhulaozhuang"'
        assert f"hazard_enterprises{{{other_labels}}} 1.0" in counted
        assert 'hazard_enterprises{risk_class="unclassified",sector="other",town="huxi"} 1.0' in counted
        assert not any(code in line for line in counted for code in (OWN, OTHER, UNREGISTERED))

        worker.stop()
        worker.start().wait_ready()  # the files come back from the enterprises' changelog
        again = pages()
        assert again["own"] == seen["own"] and again["all"] == seen["all"]
        assert gauges() == counted  # rebuilt from the changelog, the same counts
    finally:
        worker.stop()

    shown = cli(namespace, "show", "--enterprise", OWN)
    assert shown.returncode == 0, shown.stderr
    assert "hazards: 1 open, 0 overdue, 0 closed" in shown.stdout and "risk class=orange" in shown.stdout

    drawn = cli(namespace, "plan", "draw", "--period", "2027-01", "--seed", "e2e-seed", "--record", "--json",
                HAZARD_CLOCK_START=FROZEN, HAZARD_CLOCK_END=FROZEN)
    assert drawn.returncode == 0, drawn.stderr
    event = json.loads(drawn.stdout)
    # The tool's now is the settings' time source (HAZARD_CLOCK_*), the worker's, not the machine's clock.
    assert datetime.fromisoformat(event["time"]) == datetime.fromisoformat(FROZEN)
    assert sorted(p["uscc"] for p in event["data"]["picks"]) == sorted([OWN, OTHER])  # not the unregistered
    assert event["data"]["excluded"] == {"key_enterprise": 0, "closed": 0, "unregistered": 1}
    (tmp_path / "draw.json").write_text(drawn.stdout)
    verified = cli(namespace, "plan", "verify", str(tmp_path / "draw.json"))
    assert verified.returncode == 0 and "the same 2 picks" in verified.stdout, verified.stderr

    second = cli(namespace, "plan", "draw", "--period", "2027-02", "--seed", "e2e-seed-2", "--json")
    assert second.returncode == 0, second.stderr
    later = json.loads(second.stdout)["data"]
    first_pairs = {p["uscc"]: p["inspectors"] for p in event["data"]["picks"]}
    assert {u: [a, b] for u, a, b in later["inputs"]["previous"]} == first_pairs  # read back from the record
    for p in later["picks"]:
        assert set(p["inspectors"]) != set(first_pairs[p["uscc"]])  # never the same pair twice running

    # 一公开: the January draw is published with its results only once both were inspected.
    early = cli(namespace, "plan", "publish", "--period", "2027-01")
    assert early.returncode == 1 and "not yet: 2 drawn enterprise(s)" in early.stderr
    try:
        worker.start().wait_ready()
        asyncio.run(produce(namespace.bootstrap, namespace.topic("inspection.findings"), [ce(
            "safety.inspection.recorded", f"INS-JAN-{n}", {
                "inspection_id": f"INS-JAN-{n}", "kind": "random_check", "inspectors": INSPECTORS,
                "enterprise": {"uscc": code, "name": "Firm"}, "location": {"town": "lihaiwu"},
                "findings": []}, 10 + n, time="2027-01-15T10:00:00+08:00")
            for n, code in enumerate((OWN, OTHER))]))
        asyncio.run(wait_drained(namespace))
    finally:
        worker.stop()
    published = cli(namespace, "plan", "publish", "--period", "2027-01", "--json")
    assert published.returncode == 0, published.stderr
    [record] = asyncio.run(read_all(namespace.bootstrap, namespace.topic("inspections.public"), expect=1))
    public = json.loads(record.value)
    assert public == json.loads(published.stdout)  # what was printed is what was published
    assert public["data"]["draw_id"] == event["data"]["draw_id"]
    assert {p["uscc"]: p["last_inspection"]["inspection_id"] for p in public["data"]["picks"]} == {
        OWN: "INS-JAN-0", OTHER: "INS-JAN-1"}


def test_the_worker_escalates_a_town_behind_its_annual_plan_by_itself(
        namespace: Namespace, tmp_path: Path) -> None:
    """January 2027: lihaiwu does its 15 planned inspections, huxi 3 of 17, the other towns none.

    Recorded on a clock stopped on 31 January, the inspections reach each town's plan
    through the enterprises' files. A worker whose scaled clock then runs across 3 February
    00:00 (January's end plus rules/plan.yaml's check_days of 2) escalates the three towns
    behind, by itself, at that instant; `plan progress --publish` later sends the same ids.
    """
    towns = {"lihaiwu": 15, "huxi": 3, "zhulaozhuang": 0, "yuji": 0}
    firms = {town: uscc(20 + n) for n, town in enumerate(towns)}
    log = tmp_path / "worker.log"
    worker = Worker(namespace.env(HAZARD_CLOCK_START="2027-01-31T12:00:00+08:00",
                                  HAZARD_CLOCK_END="2027-01-31T12:00:00+08:00"), log)
    try:
        worker.start().wait_ready()
        asyncio.run(produce(namespace.bootstrap, namespace.topic("enterprise.records"), [
            registration(code, town, 100 + n) for n, (town, code) in enumerate(firms.items())]))
        asyncio.run(produce(namespace.bootstrap, namespace.topic("inspection.findings"), [ce(
            "safety.inspection.recorded", f"INS-PLAN-{town}-{i}", {
                "inspection_id": f"INS-PLAN-{town}-{i}", "kind": "routine", "inspectors": INSPECTORS,
                "enterprise": {"uscc": firms[town], "name": "Firm"}, "location": {"town": town},
                "findings": []}, 200 + 20 * n + i, time=f"2027-01-{10 + i:02d}T10:00:00+08:00")
            for n, (town, done) in enumerate(towns.items()) for i in range(done)]))
        asyncio.run(wait_drained(namespace))  # the inspections' links to the plan are decided too
    finally:
        worker.stop()

    def plan_escalations(expect: int | None) -> list[dict[str, Any]]:
        return [json.loads(r.value) for r in asyncio.run(read_all(
            namespace.bootstrap, namespace.topic("escalations"), expect=expect,
            where=lambda r: json.loads(r.value)["data"]["subject_kind"] == "plan"))]
    assert plan_escalations(None) == []  # January has not been checked yet

    anchor = time.time() + 5  # the simulated clock starts moving once the worker is up
    worker = Worker(namespace.env(HAZARD_CLOCK_START="2027-02-02T23:58:00+08:00",
                                  HAZARD_CLOCK_ANCHOR=str(anchor), HAZARD_CLOCK_RATE="60",
                                  HAZARD_CLOCK_END="2027-02-03T01:00:00+08:00", HAZARD_TICK_S="0.1"), log)
    try:
        worker.start().wait_ready()
        raised = plan_escalations(3)
        asyncio.run(wait_drained(namespace))
    finally:
        worker.stop()
    by_subject = {e["subject"]: e for e in raised}
    assert set(by_subject) == {"2027-01/huxi", "2027-01/zhulaozhuang", "2027-01/yuji"}
    assert "3 of 17" in by_subject["2027-01/huxi"]["data"]["reason"]
    assert all(datetime.fromisoformat(e["time"]) == datetime.fromisoformat("2027-02-03T00:00:00+08:00")
               for e in raised)  # at the check instant, not when someone looked
    assert [t["id"] for t in by_subject["2027-01/huxi"]["data"]["targets"]] == [
        "huxi_safety_office", "safety_bureau"]

    tool = cli(namespace, "plan", "progress", "--json", "--publish",
               HAZARD_CLOCK_START="2027-02-10T09:00:00+08:00", HAZARD_CLOCK_END="2027-02-10T09:00:00+08:00")
    assert tool.returncode == 1, tool.stderr  # behind plan
    rows = {(r["month"], r["town"]): r for r in json.loads(tool.stdout)}
    assert rows[("2027-01", "lihaiwu")]["done"] == 15 and not rows[("2027-01", "lihaiwu")]["behind"]
    both = plan_escalations(6)
    assert len(both) == 6 and {e["id"] for e in both} == {e["id"] for e in raised}  # the same three ids
