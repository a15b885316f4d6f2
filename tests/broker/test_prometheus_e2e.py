"""End to end: a real Prometheus scrapes a real worker and fires the overdue alert.

The worker runs on an accelerated clock (a simulated day a second), so a
general hazard confirmed on day 1 goes overdue on day 8. The rules file is the
shipped one, with each `for:` shortened so the test need not wait ten minutes.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path

import pytest
from broker.promlib import Prometheus

from engine.harness import Namespace, Worker, produce
from engine.settings import REPO_ROOT

pytestmark = pytest.mark.broker

START = datetime.fromisoformat("2026-11-02T08:00:00+08:00")


def event(type_: str, id_: str, data: dict) -> tuple[bytes, bytes]:
    body = {"specversion": "1.0", "id": id_, "source": "/apps/grid/HX-11", "type": type_,
            "time": "2026-11-02T09:00:00+08:00", "subject": "HZ-PROM-1", "data": data}
    return b"HZ-PROM-1", json.dumps(body).encode()


def shortened_rules() -> str:
    """The shipped alert rules with each `for:` cut to 2 s, so the test need not wait minutes."""
    rules = (REPO_ROOT / "docker" / "prometheus" / "alerts.yml").read_text()
    return rules.replace("for: 10m", "for: 2s").replace("for: 5m", "for: 2s")


def test_prometheus_fires_rectification_overdue(namespace: Namespace, tmp_path: Path) -> None:
    """A hazard overdue on the accelerated clock makes RectificationOverdue fire in Prometheus."""
    anchor = time.time() + 3
    worker = Worker(namespace.env(HAZARD_CLOCK_START=START.isoformat(), HAZARD_CLOCK_ANCHOR=str(anchor),
                                  HAZARD_CLOCK_RATE="86400", HAZARD_TICK_S="0.2"),
                    tmp_path / "worker.log")
    prometheus = Prometheus.start(tmp_path, f"127.0.0.1:{namespace.web_port}", shortened_rules())
    try:
        worker.start().wait_ready(timeout=120)
        asyncio.run(produce(namespace.bootstrap, namespace.topic("hazard.reports"), [event(
            "safety.hazard.reported", "p-1", {
                "hazard_id": "HZ-PROM-1", "title": "Blocked exit", "description": "Pallets",
                "sector": "fire_safety", "grade_claimed": "general", "found_via": "grid_patrol",
                "location": {"town": "huxi"}, "reporter": {"id": "gw-1", "role": "grid_worker"}})]))
        asyncio.run(produce(namespace.bootstrap, namespace.topic("rectification.updates"), [event(
            "safety.hazard.verified", "p-2", {
                "hazard_id": "HZ-PROM-1", "verdict": "confirmed", "grade": "general",
                "by": {"id": "s-1", "role": "supervisor"}})]))
        firing: list[dict] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not firing:
            time.sleep(1)
            try:
                alerts = prometheus.api("/api/v1/alerts")["data"]["alerts"]
            except OSError:
                continue  # Prometheus still starting
            firing = [a for a in alerts
                      if a["labels"]["alertname"] == "RectificationOverdue" and a["state"] == "firing"]
        print("\nfiring:", json.dumps(firing, ensure_ascii=False, indent=2))
        assert firing, prometheus.log_tail()
        [alert] = firing
        assert alert["labels"]["town"] == "huxi"
        assert alert["labels"]["department"] == "fire_rescue"
        assert alert["labels"]["grade"] == "general"
        # Chinese for the town office and the department, named as the board names them (looked up in
        # hazard_reference_name_info); English kept for operators, with the ids.
        assert alert["annotations"]["summary"] == (
            "湖西街道有 1 项一般事故隐患逾期未整改（牵头部门区消防救援大队）")
        assert "overdue general hazard rectification(s) in huxi" in alert["annotations"]["summary_en"]
        up = prometheus.api("/api/v1/query", query="up")["data"]["result"]
        assert up and up[0]["value"][1] == "1"
    finally:
        prometheus.stop()
        worker.stop()
