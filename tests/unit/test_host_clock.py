"""The worker's clock against the broker's: intake records carry the broker's stamp (LogAppendTime),
and a batch whose newest stamp lies ahead of this host's clock says by how much it is behind
(hazard_host_clock_behind_seconds; docker/prometheus/alerts.yml: HostClockBehindBroker)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from decide_fixtures import report
from test_taken_entries import _worker


def _batch(rt, log, stamps_ms: list[int]) -> dict:  # type: ignore[no-untyped-def]
    topic = rt.prefix + "hazard.reports"
    batch: dict = {}
    for n, stamp in enumerate(stamps_ms):
        hid = f"HZ-C{n}"
        event = {"specversion": "1.0", "id": f"ev-{hid}", "source": "/apps/test", "subject": hid,
                 "type": "safety.hazard.reported", "time": "2026-11-02T09:00:00+08:00",
                 "data": report(hid, "2026-11-02 09:00")["data"]}
        acked = log.append(topic, hid.encode(), json.dumps(event).encode(), timestamp=stamp)
        tp = TopicPartition(topic, acked.partition)
        batch.setdefault(tp, []).append(log.records[(tp.topic, tp.partition)][acked.offset])
    return batch


def behind(rt) -> float | None:  # type: ignore[no-untyped-def]
    return rt.metrics.registry.get_sample_value("hazard_host_clock_behind_seconds")


def test_a_broker_stamp_ahead_of_this_hosts_clock_is_measured_and_one_behind_reads_zero(
        tmp_path: Path) -> None:
    rt, log = _worker(tmp_path)
    now_ms = int(time.time() * 1000)
    # The broker's stamps grow with the offsets of a partition: the newest is each one's last.
    asyncio.run(rt._handle(_batch(rt, log, [now_ms - 5_000, now_ms - 1_000, now_ms + 120_000])))
    assert behind(rt) == pytest.approx(120, abs=5)
    # Stamped before now: the ordinary case (the record waited for its batch), not a skew.
    asyncio.run(rt._handle(_batch(rt, log, [now_ms - 2_000])))
    assert behind(rt) == 0
