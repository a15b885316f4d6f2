"""Start a real 3-node local KRaft cluster, kill a partition leader, and check nothing is lost."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import held_ports
import pytest
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from engine.broker import cli, cluster, install, local
from engine.broker.cluster import Cluster
from engine.broker.install import BrokerStartError, ensure_installed

pytestmark = pytest.mark.broker

T = TypeVar("T")


@pytest.fixture(scope="module")
def kafka_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Point the cache at a private dir for the module, reusing the already installed jars."""
    # Resolved before the cache moves, so the jars come from the real cache (installed once).
    libs = ensure_installed().libs
    env = {"HAZARD_CACHE_DIR": str(tmp_path_factory.mktemp("hazard-cache")), "HAZARD_KAFKA_LIBS": str(libs)}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        mp.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
        yield env


@pytest.fixture(scope="module")
def three(kafka_env: dict[str, str]) -> Iterator[Cluster]:
    """A 3-node cluster for the module, in its own home, stopped at the end."""
    home = Path(kafka_env["HAZARD_CACHE_DIR"]) / "three"
    with Cluster(home, 3, timeout=90) as running:
        print(f"3-node cluster start: {running.state.start_seconds:.1f}s")
        yield running


def _run(coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def _create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        config = {"min.insync.replicas": "2"}
        await admin.create_topics([NewTopic(topic, 1, 3, topic_configs=config)])
    finally:
        await admin.close()


async def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    # Idempotent, so a batch retried after the leader died is not written twice: counts stay exact.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                                request_timeout_ms=60_000)  # fmt: skip
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, partition=0)
    finally:
        await producer.stop()


async def _read_all(bootstrap: str, topic: str) -> list[bytes]:
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        values: list[bytes] = []
        while await consumer.position(tp) < end:
            batches = await consumer.getmany(tp, timeout_ms=1000)
            values.extend(record.value for record in batches.get(tp, []))
        return values
    finally:
        await consumer.stop()


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    t0 = time.monotonic()
    while not condition():
        assert time.monotonic() - t0 < timeout, f"{what} did not happen in {timeout:.0f}s"
        time.sleep(0.5)
    return time.monotonic() - t0


def test_replication_settings_follow_the_cluster_size(tmp_path: Path) -> None:
    """3 nodes get 3 copies with 2 in sync; fewer get N copies with 1; the single broker keeps 1s."""
    props = Cluster(tmp_path, 3).properties(2)
    assert props["node.id"] == "2" and props["controller.quorum.voters"].count("@127.0.0.1:") == 3
    assert (props["default.replication.factor"], props["min.insync.replicas"]) == ("3", "2")
    assert (props["offsets.topic.replication.factor"], props["transaction.state.log.min.isr"]) == ("3", "2")
    assert cluster.replication_properties(2)["min.insync.replicas"] == "1"
    assert cluster.replication_properties(2)["share.coordinator.state.topic.replication.factor"] == "2"
    single = install.node_properties(1, 1, 2, tmp_path, "1@127.0.0.1:2")
    assert single["default.replication.factor"] == single["min.insync.replicas"] == "1"


def test_cli_rejects_brokers_with_secure(capsys: pytest.CaptureFixture[str]) -> None:
    """`broker up --brokers 3 --secure` is a usage error, not a start of either broker."""
    with pytest.raises(SystemExit) as exited:
        cli.main(["broker", "up", "--brokers", "3", "--secure"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_node_that_cannot_bind_fails_the_start_quoting_its_log(
    kafka_env: dict[str, str], tmp_path: Path
) -> None:
    """A node whose controller port, given to the cluster, is taken makes start() raise with that
    node's log lines."""
    planned = Cluster(tmp_path / "squatted", 1).state
    one = Cluster(tmp_path / "squatted", 1, timeout=60, state=planned)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", one.node(1).controller_port))
        squatter.listen()
        with pytest.raises(BrokerStartError) as caught:
            one.start()
    message = str(caught.value)
    assert "node 1 exited" in message and str(one.node(1).log_path) in message
    assert f"failed to bind to 127.0.0.1:{one.node(1).controller_port}" in message
    assert one.node(1).pid is None and cluster.read_state(one.home).nodes[0].pid is None


def test_a_first_start_whose_picked_port_was_taken_starts_on_other_ports(
    kafka_env: dict[str, str], tmp_path: Path
) -> None:
    """Ports the cluster picked itself are checked free but bound seconds later; one taken in
    between (here, held from the start) moves the first start to newly picked ports."""
    one = Cluster(tmp_path / "moved", 1, timeout=60)
    with socket.socket() as squatter:
        taken = one.node(1).controller_port
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        try:
            one.start()
            assert one.node(1).controller_port != taken and one.listed_brokers() == {1}
            assert cluster.read_state(one.home).nodes[0].controller_port == one.node(1).controller_port
        finally:
            one.stop()


def test_three_brokers_are_listed_with_one_cluster_id(three: Cluster) -> None:
    """A metadata request lists all 3 brokers, and every node was formatted with the same id."""
    assert three.listed_brokers() == {1, 2, 3}
    assert len(three.bootstrap.split(",")) == 3
    for node in three.state.nodes:
        meta = (Path(node.data_dir) / "meta.properties").read_text()
        assert f"cluster.id={three.cluster_id}" in meta
    recorded = cluster.read_state(three.home)
    assert recorded is not None and recorded.cluster_id == three.cluster_id
    assert [n.pid for n in recorded.nodes] == [n.pid for n in three.state.nodes]
    assert all(local.pid_alive(n.pid) for n in recorded.nodes)


def test_replicated_topic_accepts_acks_all(three: Cluster) -> None:
    """A topic with 3 replicas and min.insync.replicas=2 takes acks=all writes."""
    topic = f"rf3-{uuid.uuid4().hex[:8]}"
    _run(_create_topic(three.bootstrap, topic))
    _run(_produce(three.bootstrap, topic, [b"a", b"b", b"c"]))
    assert _run(_read_all(three.bootstrap, topic)) == [b"a", b"b", b"c"]
    assert three.leader_of(topic, 0) in {1, 2, 3}


def test_killed_leader_fails_over_and_rejoins_without_losing_records(three: Cluster) -> None:
    """SIGKILL the partition leader: acks=all writes go on, and the node rejoins on its old data."""
    topic = f"failover-{uuid.uuid4().hex[:8]}"
    _run(_create_topic(three.bootstrap, topic))
    before = [f"before-{i}".encode() for i in range(20)]
    during = [f"during-{i}".encode() for i in range(20)]
    _run(_produce(three.bootstrap, topic, before))
    leader = three.leader_of(topic, 0)
    assert leader is not None
    old_pid = three.node(leader).pid
    try:
        assert three.stop_node(leader, how="kill") == "sigkill"
        assert not local.pid_alive(old_pid) and not three.is_running(leader)
        t0 = time.monotonic()
        _run(_produce(three.bootstrap, topic, during), timeout=90)
        failover = time.monotonic() - t0
        assert three.leader_of(topic, 0) not in {None, leader}
        print(f"acks=all writes after killing leader {leader}: {failover:.1f}s")

        restart = three.start_node(leader)
        print(f"node {leader} restarted and listed in {restart:.1f}s")
        assert three.node(leader).pid not in {None, old_pid}
        assert three.listed_brokers() == {1, 2, 3}
        assert three.node(leader).port == cluster.read_state(three.home).nodes[leader - 1].port
    finally:
        three.start_node(leader)  # a no-op unless an assertion above left it down
    assert _run(_read_all(three.bootstrap, topic)) == before + during
    # The old leader catches up from the others, so 3 copies exist again.
    _wait_for(lambda: _in_sync(three, topic) == 3, 30, "the restarted node rejoining the ISR")


def _in_sync(running: Cluster, topic: str) -> int:
    async def isr() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=running.bootstrap)
        await admin.start()
        try:
            [described] = await admin.describe_topics([topic])
            return len(described["partitions"][0]["isr"])
        finally:
            await admin.close()

    return _run(isr())


def test_cli_up_brokers_3_prints_bootstrap_reuses_and_heals_it(
    kafka_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`broker up --brokers 3` prints 3 addresses last; a second `up` reuses it and restarts a dead node."""
    command = [sys.executable, "-m", "engine.cli", "broker", "up", "--brokers", "3"]
    structlog_was_configured = structlog.is_configured()  # the in-process CLI configures it
    try:
        done = subprocess.run(command, env={**os.environ, **kafka_env}, capture_output=True, text=True,
                              timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        bootstrap = done.stdout.splitlines()[-1]
        addresses = bootstrap.split(",")
        assert len(addresses) == 3 and all(a.startswith("127.0.0.1:") for a in addresses)

        assert cli.main(["broker", "up", "--brokers", "3"]) == 0
        captured = capsys.readouterr()
        assert captured.out.splitlines()[-1] == bootstrap and "reusing" in captured.err

        attached = Cluster.attach()
        attached.stop_node(2, how="kill")
        with held_ports.held(attached.node(2)):
            assert cli.main(["broker", "status", "--brokers", "3"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert "Kafka cluster: degraded, 2 of 3 up (3 nodes)" in lines
        assert [line.split()[-2:] for line in lines if line.startswith("  node ")] == [
            [addresses[0], "up"], [addresses[1], "down"], [addresses[2], "up"]
        ]  # fmt: skip

        assert cli.main(["broker", "up", "--brokers", "3"]) == 0
        captured = capsys.readouterr()
        assert captured.out.splitlines()[-1] == bootstrap and "restarting stopped node(s) [2]" in captured.err
        assert cluster.status().running

        assert cli.main(["broker", "down", "--brokers", "3", "--timeout", "10"]) == 0
        assert "stopped 3 Kafka node(s)" in capsys.readouterr().out
        assert not cluster.status().running and cluster.read_state() is None
    finally:
        cluster.down(timeout=10)  # a no-op unless an assertion above left the cluster up
        if not structlog_was_configured:
            structlog.reset_defaults()
