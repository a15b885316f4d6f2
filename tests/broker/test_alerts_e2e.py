"""A first-responder alert through the real broker: levels, handover, report clocks, CAP 1.2.

The worker's clock runs four simulated minutes every real second, so the A/B
handover (10 minutes a step) and the report clocks (1 hour to the county, 2
more to the city) fall due within the test.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

import pytest
from conftest import EXAMPLES

from engine.cap import validate
from engine.harness import Namespace, Worker, produce, read_all, values

pytestmark = pytest.mark.broker

START = datetime.fromisoformat("2026-11-30T19:00:00+08:00")
RATE = 240  # simulated seconds per real second


def alert_event(type_: str, id_: str, at: str, data: dict[str, Any]) -> tuple[bytes, bytes]:
    body = {"specversion": "1.0", "id": id_, "source": "/apps/grid/HX-11", "type": type_,
            "time": at, "subject": "AL-20261130-0009", "data": {"alert_id": "AL-20261130-0009", **data}}
    return b"AL-20261130-0009", json.dumps(body).encode()


@pytest.mark.long(50)
def test_night_market_fire_levels_handover_report_clock_and_cap(namespace: Namespace,
                                                                tmp_path) -> None:
    """Casualties grow, the level rises, posts hand over, a report clock is missed, CAP validates."""
    anchor = time.time() + 3
    worker = Worker(namespace.env(HAZARD_CLOCK_START=START.isoformat(), HAZARD_CLOCK_ANCHOR=str(anchor),
                                  HAZARD_CLOCK_RATE=str(RATE), HAZARD_TICK_S="0.1",
                                  HAZARD_CLOCK_END="2026-11-30T22:00:00+08:00"),
                    tmp_path / "worker.log")
    alerts = namespace.topic("responder.alerts")
    try:
        worker.start().wait_ready(timeout=120)
        # The contract's example names no enterprise: a fire so raised is derived non-production.
        # The night market's stalls are businesses, so the field app says what it is (v2).
        example = json.loads((EXAMPLES / "alert-raised.json").read_bytes())
        example["data"]["incident_class"] = "production_accident"
        raised = json.dumps(example).encode()
        asyncio.run(produce(namespace.bootstrap, alerts, [(b"AL-20261130-0009", raised)]))
        asyncio.run(produce(namespace.bootstrap, alerts, [alert_event(
            "safety.alert.updated", "u-1", "2026-11-30T19:08:00+08:00",
            {"casualties": {"dead": 8, "missing": 3, "seriously_injured": 6}})]))
        # The county authority acknowledges the report in time; nobody reports to the city.
        asyncio.run(produce(namespace.bootstrap, alerts, [alert_event(
            "safety.alert.acknowledged", "k-1", "2026-11-30T19:40:00+08:00",
            {"unit": "district_emergency", "by": {"id": "duty-1", "role": "supervisor"}})]))
        wait = anchor + (datetime.fromisoformat("2026-11-30T21:50:00+08:00").timestamp()
                         - START.timestamp()) / RATE - time.time()
        time.sleep(max(0.0, wait))
        asyncio.run(produce(namespace.bootstrap, alerts, [alert_event(
            "safety.alert.closed", "c-1", "2026-11-30T21:50:00+08:00",
            {"note": "Fire out", "by": {"id": "gw-1102", "role": "grid_worker"}})]))
        escalations = values(asyncio.run(read_all(namespace.bootstrap, namespace.topic("escalations"),
                                                  settle=4, timeout=120)))
        caps = asyncio.run(read_all(namespace.bootstrap, namespace.topic("alerts.cap"), expect=3,
                                    timeout=120))
        notices = values(asyncio.run(read_all(namespace.bootstrap, namespace.topic("notifications"),
                                              expect=1, timeout=120)))
    finally:
        worker.stop()

    by_action: dict[str, list[dict]] = {}
    for e in escalations:
        by_action.setdefault(e["data"]["action"], []).append(e["data"])
    levels = [d["response_level"] for d in by_action["response_activation"]]
    assert levels == ["III", "I"], levels  # crowded night market +1; then 重大 (11 dead incl. missing) +1
    assert len(by_action["handover"]) == 4  # duty officer, grid chief, town, district: nobody acknowledged
    overdue = by_action["report_overdue"]
    assert [d["rule_id"] for d in overdue] and all("county" not in d["rule_id"] for d in overdue)
    assert any("city" in d["rule_id"] for d in overdue), [d["rule_id"] for d in overdue]
    assert all(e["data"]["subject_kind"] == "alert" and e["data"]["tier"] is None for e in escalations)
    assert "notify" not in by_action  # a production accident is not routed as non-production
    # 493号令 art. 10: one notice to public security, HR and social security, the union, the procuratorate.
    assert [n["type"] for n in notices] == ["safety.notification.due"]
    assert {r["id"] for r in notices[0]["data"]["recipients"]} == \
        {"public_security", "human_resources", "trade_union", "procuratorate"}

    documents = [r.value for r in caps]
    assert [b"<msgType>Alert</msgType>" in d for d in documents][0]
    assert b"<msgType>Cancel</msgType>" in documents[-1]
    for document in documents:
        assert validate(document) == [], document[:400]
    assert all(b"<references>" in d for d in documents[1:])
