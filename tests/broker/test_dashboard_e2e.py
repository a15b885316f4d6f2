"""End to end: every PromQL expression of the Grafana dashboard, asked of a real Prometheus.

A real worker on an accelerated clock (a simulated day a second) is given a
district's worth of trouble, so that every series the dashboard reads exists:
a general hazard that goes overdue, a major hazard listed at once (挂牌督办), a
first-responder alert whose report clock is missed, a record that is not JSON
and one that makes the intake stage raise (the suite's poisoned worker). Prometheus
scrapes the worker; then each panel's and each template variable's expression
must parse, and every metric it names must be among the scraped series.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from broker.promlib import Prometheus, check_queries, dashboard_queries, metric_names
from faults.poisoned_worker import ARGV, INTAKE_MARK, poisoned_env

from engine.contract.envelope import EVENT_TYPES
from engine.harness import Namespace, Worker, produce
from engine.settings import REPO_ROOT

pytestmark = pytest.mark.broker

DASHBOARD = REPO_ROOT / "docker" / "grafana" / "dashboards" / "hazard-engine.json"
START = datetime.fromisoformat("2026-11-02T08:00:00+08:00")
POISON = INTAKE_MARK.decode()
ACTOR = {"id": "s-1", "role": "supervisor"}


def event(type_: str, subject: str, id_: str, data: dict) -> tuple[str, bytes, bytes]:
    """A contract event as (topic, key, value), timed an hour after the simulated start."""
    body = {"specversion": "1.0", "id": id_, "source": "/apps/grid/HX-11", "type": type_,
            "time": "2026-11-02T09:00:00+08:00", "subject": subject, "data": data}
    return EVENT_TYPES[type_].topic, subject.encode(), json.dumps(body).encode()


def report(hazard_id: str, sector: str, grade: str, town: str, description: str = "Pallets") -> tuple:
    """A hazard report from a grid worker."""
    return event("safety.hazard.reported", hazard_id, f"{hazard_id}-r", {
        "hazard_id": hazard_id, "title": "Found on patrol", "description": description,
        "sector": sector, "grade_claimed": grade, "found_via": "grid_patrol",
        "location": {"town": town}, "reporter": {"id": "gw-1", "role": "grid_worker"}})


def district_trouble() -> list[tuple[str, bytes, bytes]]:
    """Events that make every series of the dashboard exist at least once."""
    return [
        report("HZ-DASH-1", "fire_safety", "general", "huxi"),  # overdue on day 8
        event("safety.hazard.verified", "HZ-DASH-1", "HZ-DASH-1-v",
              {"hazard_id": "HZ-DASH-1", "verdict": "confirmed", "grade": "general", "by": ACTOR}),
        report("HZ-DASH-2", "hazardous_chemicals", "major", "yuji"),  # listed on confirmation
        event("safety.hazard.verified", "HZ-DASH-2", "HZ-DASH-2-v",
              {"hazard_id": "HZ-DASH-2", "verdict": "confirmed", "grade": "major", "by": ACTOR}),
        event("safety.alert.raised", "AL-DASH-1", "AL-DASH-1-r", {  # its report clock runs out
            "alert_id": "AL-DASH-1", "kind": "fire", "location": {"town": "huxi"},
            "casualties": {"dead": 0, "missing": 1, "seriously_injured": 2, "injured": 5},
            "description": "Fire in a stall row", "reporter": {"id": "gw-1", "role": "grid_worker"},
            "post": "A", "incident_class": "production_accident"}),  # 493's clocks run for it
        ("hazard.reports", b"HZ-DASH-X", b"this is not JSON"),  # rejected
        report("HZ-DASH-3", "fire_safety", "general", "huxi", f"carries {POISON}"),  # dead letter
    ]


def test_every_dashboard_query_parses_and_names_scraped_metrics(namespace: Namespace,
                                                                 tmp_path: Path) -> None:
    """Each dashboard expression parses, names only scraped metrics, and finds data."""
    queries = dashboard_queries(json.loads(DASHBOARD.read_text()))
    named = set().union(*(metric_names(expr) for _, expr in queries))
    end = START + timedelta(days=20)  # the clock stops there, so the gauges hold still
    env = namespace.env(HAZARD_CLOCK_START=START.isoformat(), HAZARD_CLOCK_ANCHOR=str(time.time() + 3),
                        HAZARD_CLOCK_RATE="86400", HAZARD_CLOCK_END=end.isoformat(),
                        HAZARD_TICK_S="0.2")
    worker = Worker(poisoned_env(env), tmp_path / "worker.log", ARGV)
    prometheus = Prometheus.start(tmp_path, f"127.0.0.1:{namespace.web_port}")
    try:
        worker.start().wait_ready(timeout=120)
        by_topic: dict[str, list[tuple[bytes, bytes]]] = {}
        for topic, key, value in district_trouble():
            by_topic.setdefault(topic, []).append((key, value))
        for topic, records in by_topic.items():
            asyncio.run(produce(namespace.bootstrap, namespace.topic(topic), records))
        prometheus.wait_for_names(named, timeout=120)
        problems = check_queries(queries, prometheus)
        print(f"\n{len(queries)} PromQL expressions checked, naming {len(named)} metrics")
        assert not problems, "\n".join(problems + prometheus.scrape_errors())
        # Names alone miss a misspelt label value (subject_kind="alerts"): each query must find data.
        empty = prometheus.wait_for_data(queries, timeout=60)
        assert not empty, f"no data for {empty}"
    finally:
        prometheus.stop()
        worker.stop()
