"""Broker loss: the single broker stopped for 30 s, and a 3-broker cluster losing a partition leader.

Both run a district of hazards through a broker of their own (started here,
under the test's temporary directory), while field apps publish through the
project's retrying `Publisher`. The worker's clock stands still, so no
deadline fires: a 30-second outage is 7.5 simulated days at the test's pace,
and events it delays would otherwise meet deadlines a real outage of 30
seconds never reaches. Clocks under crashes are the worker-kill case's job.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import held_ports
import pytest
from conftest import TestNamespace

from engine.broker.cluster import Cluster
from engine.harness import Namespace, Worker, group_progress
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT
from engine.simulate import DAY, District
from faults.scenario import START, account, district_run, noisy, reference_run, report

pytestmark = pytest.mark.broker

OUTAGE_S = 30.0
END_DAY = 24


def _district(seed: int) -> tuple[list, int]:
    end = int(START.timestamp()) + END_DAY * DAY
    events = District(START, seed=seed, min_gap_days=1, office_hours=(8, 17)).events(300, 14)
    return [p for p in events if p.at < end - DAY], end


def _resumed(ns: Namespace, timeout: float = 180) -> float:
    """Seconds until the engine commits progress again."""
    started = time.monotonic()
    topics = [ns.topic(t) for t in ("hazard.reports", "rectification.updates", "engine.timeline")]

    async def progress() -> int:
        return (await group_progress(ns, topics))[0]

    def now_progress() -> int | None:
        try:
            return asyncio.run(progress())
        except Exception:  # the group coordinator may still be moving  # noqa: BLE001
            return None

    first = None
    while time.monotonic() - started < timeout:
        done = now_progress()
        if first is None:
            first = done
        elif done is not None and done > first:
            return round(time.monotonic() - started, 1)
        time.sleep(0.5)
    raise AssertionError(f"the engine made no progress {timeout:.0f} s after the broker came back")


Fault = Callable[[Cluster, Namespace, Worker], dict[str, Any]]


def _run(tmp_path: Path, brokers: int, seed: int, name: str, fault: Fault,
         env: dict[str, str] | None = None) -> None:
    """A district on a cluster of its own, with `fault` on day 8; account and report it."""
    rules = load_rules(REPO_ROOT / "rules")
    events, end = _district(seed)
    want = reference_run(events, end, rules, clocks=False)
    with Cluster(tmp_path / "kafka", brokers=brokers) as cluster:
        ns = TestNamespace(cluster.bootstrap, tmp_path)
        run = district_run(ns, tmp_path, noisy(events), end,
                           {8: lambda worker: fault(cluster, ns, worker)}, frozen=True, env=env)
    acc = account(ns, run.observed, rules, want, name, 1)
    acc.extras.update(fault=run.recoveries, publish_retries=run.publish_retries,
                      seconds=round(run.seconds))
    report(acc)
    assert run.recoveries and run.recoveries[0]["worker_alive"], "the worker did not ride it out"
    if "readyz_missing" in run.recoveries[0]:  # the outage: /readyz named the broker, then recovered
        assert "broker" in run.recoveries[0]["readyz_missing"]
    assert not acc.problems, acc.problems[:10]


def _readyz_until(worker: Worker, want: int, timeout: float,
                  naming: str | None = None) -> tuple[float, dict[str, Any]]:
    """Poll the worker's /readyz until it answers `want` (naming `naming` as missing); seconds, body.

    A busy machine can make the clocks fall behind during an outage before the
    broker probe has timed out, so a 503 naming only the clocks is not yet the
    answer the outage must bring.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        status, body = worker.readyz()
        if status == want and (naming is None or naming in body.get("missing", [])):
            return round(time.monotonic() - started, 1), body
        time.sleep(0.5)
    raise AssertionError(f"/readyz did not answer {want} naming {naming} within {timeout:.0f} s: "
                         f"{status} {body}")


def _outage(cluster: Cluster, ns: Namespace, worker: Worker) -> dict[str, Any]:
    node = cluster.node_ids[0]
    cluster.stop_node(node, how="term")
    with held_ports.held(cluster.node(node)):
        unready_s, body = _readyz_until(worker, 503, OUTAGE_S - 5, naming="broker")
        time.sleep(max(0.0, OUTAGE_S - unready_s))
    back = cluster.start_node(node)
    ready_s, _ = _readyz_until(worker, 200, 120)
    return {"down_s": OUTAGE_S, "broker_back_s": round(back, 1),
            "engine_resumed_s": _resumed(ns), "worker_alive": worker.alive(),
            "readyz_503_after_s": unready_s, "readyz_missing": body.get("missing"),
            "readyz_200_after_back_s": ready_s}


def _lose_leader(cluster: Cluster, ns: Namespace, worker: Worker) -> dict[str, Any]:
    busiest = asyncio.run(_busiest_partition(ns))
    leader = cluster.leader_of(*busiest)
    assert leader is not None
    cluster.stop_node(leader, how="kill")
    with held_ports.held(cluster.node(leader)):
        time.sleep(10)
    back = cluster.start_node(leader)
    return {"partition": f"{busiest[0].removeprefix(ns.prefix)}[{busiest[1]}]",
            "killed_node": leader, "down_s": 10.0, "node_back_s": round(back, 1),
            "new_leader": cluster.leader_of(*busiest), "worker_alive": worker.alive()}


@pytest.mark.long(120)
def test_broker_stopped_for_30_seconds(tmp_path: Path) -> None:
    """The only broker stops for 30 s mid-stream: nothing is lost, the engine resumes by itself."""
    _run(tmp_path, 1, 9, "broker stopped 30 s", _outage)


@pytest.mark.long(130)
def test_cluster_loses_the_busiest_partition_leader(tmp_path: Path) -> None:
    """3 brokers, RF 3, min ISR 2, acks=all: the busiest partition's leader is killed and returns."""
    _run(tmp_path, 3, 13, "3-broker cluster: leader killed", _lose_leader,
         env={"HAZARD_REPLICATION_FACTOR": "3", "HAZARD_MIN_INSYNC_REPLICAS": "2"})


async def _busiest_partition(ns: Namespace) -> tuple[str, int]:
    """The engine topic partition holding the most records so far."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from engine.tools.kafka import partitions_of

    consumer = AIOKafkaConsumer(bootstrap_servers=ns.bootstrap, group_id=None)
    await consumer.start()
    try:
        topics = [ns.topic(t) for t in ("hazard.reports", "inspection.findings",
                                        "rectification.updates", "engine.timeline")]
        tps = [TopicPartition(t, p) for t in topics for p in await partitions_of(consumer, t)]
        ends = await consumer.end_offsets(tps)
        tp = max(ends, key=ends.get)
        return tp.topic, tp.partition
    finally:
        await consumer.stop()
