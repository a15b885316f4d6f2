"""A local KRaft cluster of N combined broker+controller nodes, run as plain Java processes.

Fault-tolerance tests need brokers that can die: every node has its own ports,
`server.properties`, data dir and log under one home directory, all nodes share
one cluster id and one controller quorum, and a node keeps its data across
`stop_node` and `start_node`, so a test can kill a partition leader and watch
it rejoin. The single development broker lives in `engine.broker.local`; this
module borrows its process helpers.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import structlog
from aiokafka import AIOKafkaClient
from aiokafka.cluster import ClusterMetadata
from aiokafka.structs import TopicPartition

from engine.broker import install, local
from engine.broker.install import BrokerStartError, Progress

DEFAULT_BROKERS = 3
# Three JVMs start at once on a small machine: a smaller heap each (the last -Xmx wins),
# and the quick C1 compiler and one-thread GC, which halve the CPU a start-up burns.
LEAN_JVM = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
JVM_OPTIONS = (*local.HEAP, "-Xmx512m", *LEAN_JVM)  # not local.PERFORMANCE: one collector a JVM
StopHow = Literal["kill", "term"]

log = structlog.get_logger("engine.broker.cluster")


@dataclass(frozen=True)
class NodeState:
    """One node's ports and files, and its pid while it runs, as the state file records them."""

    node_id: int
    port: int
    controller_port: int
    data_dir: str
    log_path: str
    pid: int | None = None

    @property
    def address(self) -> str:
        """Return the node's client (PLAINTEXT) address."""
        return f"127.0.0.1:{self.port}"

    @property
    def home(self) -> Path:
        """Return the node's directory, which holds its config, log and data dir."""
        return Path(self.data_dir).parent


@dataclass(frozen=True)
class ClusterState:
    """What the state file records about a cluster: its id, its nodes and when it started."""

    cluster_id: str
    nodes: tuple[NodeState, ...]
    started_at: float = 0.0
    start_seconds: float = 0.0

    @property
    def bootstrap(self) -> str:
        """Return the comma-separated addresses of all nodes."""
        return ",".join(node.address for node in self.nodes)

    @classmethod
    def from_json(cls, text: str) -> ClusterState:
        """Parse the state file's text; raises ValueError, KeyError or TypeError if it is not one."""
        raw = json.loads(text)
        nodes = tuple(NodeState(**node) for node in raw.pop("nodes"))
        return cls(nodes=nodes, **raw)


def cluster_dir() -> Path:
    """Return the default home of the cluster: `<cache>/cluster`, beside the single broker's dir."""
    return install.cache_root() / "cluster"


def state_path(home: Path | None = None) -> Path:
    """Return the path of the state file in `home` (default: `cluster_dir()`)."""
    return (home or cluster_dir()) / "state.json"


def read_state(home: Path | None = None) -> ClusterState | None:
    """Return the recorded cluster state in `home`, or None if there is none or it is unreadable."""
    try:
        return ClusterState.from_json(state_path(home).read_text())
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def replication_properties(brokers: int) -> dict[str, str]:
    """Return the replication settings for `brokers` nodes: 3 copies and 2 in sync once there are 3."""
    factor, min_isr = (3, 2) if brokers >= 3 else (brokers, 1)
    return {
        "offsets.topic.replication.factor": str(factor),
        "transaction.state.log.replication.factor": str(factor),
        "transaction.state.log.min.isr": str(min_isr),
        "share.coordinator.state.topic.replication.factor": str(factor),
        "share.coordinator.state.topic.min.isr": str(min_isr),
        "default.replication.factor": str(factor),
        "min.insync.replicas": str(min_isr),
    }


def _distinct_free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        # The kernel may hand the same just-closed port out twice; two nodes must not share one.
        port = install.free_port()
        if port not in ports:
            ports.append(port)
    return ports


def _port_open(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=1.0).close()
        return True
    except OSError:
        return False


def _kill_group(pid: int) -> None:
    # A crash, not a shutdown: no JVM hook runs, so nothing tells the controller it is leaving.
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    # A thread of its own, so this works both from plain code and from inside a running loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _fetch_metadata(addresses: list[str], timeout: float, topics: bool) -> ClusterMetadata:
    client = AIOKafkaClient(bootstrap_servers=addresses, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        if topics:
            return await asyncio.wait_for(client.fetch_all_metadata(), timeout)
        return client.cluster
    finally:
        await client.close()


def listed_brokers(addresses: list[str], timeout: float = 5.0) -> set[int]:
    """Return the node ids a metadata request to the first answering address lists (empty if none)."""
    # Skipping closed ports keeps aiokafka from logging an error per refused attempt.
    reachable = [address for address in addresses if _port_open(address)]
    if not reachable:
        return set()
    try:
        metadata = _run_sync(_fetch_metadata(reachable, timeout, topics=False))
    except Exception:  # a node still starting may fail the request in many ways; ask again later
        return set()
    # With no broker in the answer aiokafka falls back to "bootstrap-N" pseudo-brokers.
    return {broker.nodeId for broker in metadata.brokers() if isinstance(broker.nodeId, int)}


class Cluster:
    """N combined-role KRaft nodes on 127.0.0.1, with one home directory and one cluster id.

    `with Cluster(home, 3) as c:` starts the nodes and stops them at the end. A new object
    is a new cluster: its ports and id are chosen when it is made, so `bootstrap` is known
    before `start()`. `Cluster.attach(home)` takes up the one recorded in `home` again.
    """

    def __init__(
        self,
        home: Path | None = None,
        brokers: int = DEFAULT_BROKERS,
        *,
        timeout: float = local.DEFAULT_START_TIMEOUT,
        progress: Progress | None = None,
        extra_properties: Mapping[str, str] | None = None,
        state: ClusterState | None = None,
    ) -> None:
        if brokers < 1:
            raise ValueError(f"a cluster needs at least 1 broker, not {brokers}")
        self.home = Path(home or cluster_dir())
        self.timeout = timeout
        self._say = progress or (lambda _msg: None)
        self._extra = dict(extra_properties or {})
        # Ports picked here may be picked again when a node finds one taken on the first start.
        self._picked = state is None
        self._state = state or self._planned(brokers)

    def _planned(self, brokers: int) -> ClusterState:
        """A new cluster of `brokers` nodes on freshly picked ports, none started yet."""
        ports = _distinct_free_ports(2 * brokers)
        nodes = tuple(self._plan_node(i, ports[2 * i - 2], ports[2 * i - 1]) for i in range(1, brokers + 1))
        return ClusterState(install.new_cluster_id(), nodes)

    def _pick_again(self) -> None:
        """Forget the ports and data of a first start that failed, and plan the nodes anew."""
        for node in self._state.nodes:
            shutil.rmtree(node.home, ignore_errors=True)
        self._state = self._planned(len(self._state.nodes))

    @classmethod
    def attach(
        cls,
        home: Path | None = None,
        progress: Progress | None = None,
        timeout: float = local.DEFAULT_START_TIMEOUT,
    ) -> Cluster | None:
        """Return the cluster recorded in `home` (same ports, data and id), or None if there is none."""
        state = read_state(home)
        if state is None:
            return None
        return cls(home, len(state.nodes), timeout=timeout, progress=progress, state=state)

    def _plan_node(self, node_id: int, port: int, controller_port: int) -> NodeState:
        node_home = self.home / f"node-{node_id}"
        return NodeState(
            node_id, port, controller_port, str(node_home / "data"), str(node_home / "broker.log")
        )

    @property
    def state(self) -> ClusterState:
        """Return the cluster's current state (what `state.json` holds)."""
        return self._state

    @property
    def cluster_id(self) -> str:
        """Return the id every node was formatted with."""
        return self._state.cluster_id

    @property
    def node_ids(self) -> list[int]:
        """Return the ids of all nodes, running or not."""
        return [node.node_id for node in self._state.nodes]

    @property
    def bootstrap(self) -> str:
        """Return the comma-separated addresses of all nodes."""
        return self._state.bootstrap

    def node(self, node_id: int) -> NodeState:
        """Return node `node_id`'s state; raises KeyError naming the known ids if there is none."""
        for node in self._state.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(f"no node {node_id} in this cluster (nodes: {self.node_ids})")

    def is_running(self, node_id: int) -> bool:
        """Return True if node `node_id`'s process is alive."""
        pid = self.node(node_id).pid
        return pid is not None and local.pid_alive(pid)

    def properties(self, node_id: int) -> dict[str, str]:
        """Return node `node_id`'s server.properties: the single broker's, with cluster replication."""
        node = self.node(node_id)
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self._state.nodes)
        props = install.node_properties(node_id, node.port, node.controller_port, Path(node.data_dir), voters)
        props.update(replication_properties(len(self._state.nodes)))
        props.update(self._extra)
        return props

    # --- state file ---

    def _set_pid(self, node_id: int, pid: int | None) -> None:
        nodes = tuple(replace(n, pid=pid) if n.node_id == node_id else n for n in self._state.nodes)
        self._state = replace(self._state, nodes=nodes)

    def _save(self) -> None:
        # Written atomically so a concurrent reader (`broker status`) never sees half a file.
        path = state_path(self.home)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self._state), indent=2) + "\n")
        tmp.replace(path)

    # --- processes ---

    def _java(self, kafka: install.KafkaInstall, *args: str, jvm: tuple[str, ...] = ()) -> list[str]:
        log_config = f"-Dlog4j2.configurationFile={kafka.log4j_config}"
        return [install.java_executable(), *jvm, log_config, "-cp", kafka.classpath, *args]

    def _spawn(self, node: NodeState, command: list[str]) -> subprocess.Popen[bytes]:
        with open(node.log_path, "ab") as out:
            return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    cwd=node.home, start_new_session=True)  # fmt: skip

    def _prepare(self, node: NodeState) -> Path:
        """Write the node's config and start a fresh log; keep the previous log as broker.log.1."""
        node.home.mkdir(parents=True, exist_ok=True)
        log_path = Path(node.log_path)
        if log_path.exists():
            log_path.replace(log_path.with_name(log_path.name + ".1"))
        props_path = node.home / "server.properties"
        props_path.write_text(install.render_properties(self.properties(node.node_id)))
        return props_path

    @staticmethod
    def _formatted_id(node: NodeState) -> str | None:
        """Return the cluster id the node's data dir was formatted with, or None if it was not."""
        try:
            lines = (Path(node.data_dir) / "meta.properties").read_text().splitlines()
        except FileNotFoundError:
            return None
        return dict(line.split("=", 1) for line in lines if "=" in line).get("cluster.id")

    def _format(self, kafka: install.KafkaInstall, configs: dict[int, Path]) -> None:
        """Format, in parallel, the data dirs of the nodes in `configs` not yet formatted for this id."""
        jobs: dict[int, subprocess.Popen[bytes]] = {}
        for node_id, props in configs.items():
            node = self.node(node_id)
            if self._formatted_id(node) == self.cluster_id:
                continue
            # Empty or left over from another cluster, which Kafka would refuse to start on.
            shutil.rmtree(node.data_dir, ignore_errors=True)
            command = self._java(kafka, "kafka.tools.StorageTool", "format", "-t", self.cluster_id,
                                 "-c", str(props), jvm=LEAN_JVM)  # fmt: skip
            jobs[node_id] = self._spawn(node, command)
        failed = [(node_id, code) for node_id, proc in jobs.items() if (code := proc.wait()) != 0]
        if failed:
            node_id, code = failed[0]
            message = f"Kafka storage format of node {node_id} failed (exit {code})"
            raise local._start_error(message, Path(self.node(node_id).log_path))

    def _launch(self, node_ids: list[int]) -> dict[int, subprocess.Popen[bytes]]:
        kafka = install.ensure_installed(progress=self._say)
        configs = {node_id: self._prepare(self.node(node_id)) for node_id in node_ids}
        self._format(kafka, configs)
        procs = {}
        for node_id, props in configs.items():
            node = self.node(node_id)
            self._say(f"starting Kafka node {node_id} on {node.address} (log: {node.log_path})")
            proc = self._spawn(node, self._java(kafka, "kafka.Kafka", str(props), jvm=JVM_OPTIONS))
            # Kept where local's helpers look, so an exit is noticed and the process reaped.
            local._children[proc.pid] = procs[node_id] = proc
            self._set_pid(node_id, proc.pid)
        return procs

    def _await_listed(self, procs: dict[int, subprocess.Popen[bytes]], ask: list[int], t0: float) -> None:
        """Wait until every node in `ask` answers with metadata listing every node; raise if one dies.

        Each is asked on its own: a node's metadata can lag behind another's for a moment after
        a node (re)joins, and a client may ask any of them.
        """
        everyone, listed = set(self.node_ids), set()
        addresses = [self.node(node_id).address for node_id in ask]
        while not everyone <= listed:
            for node_id, proc in procs.items():
                if proc.poll() is not None:
                    message = f"Kafka node {node_id} exited with code {proc.returncode} while starting"
                    raise local._start_error(message, Path(self.node(node_id).log_path))
            if time.monotonic() - t0 > self.timeout:
                missing = sorted(everyone - listed)
                message = (f"Kafka cluster gave no metadata listing all {len(everyone)} brokers in "
                           f"{self.timeout:.0f}s (listed: {sorted(listed)}, missing: {missing})")  # fmt: skip
                raise local._start_error(message, Path(self.node(missing[0]).log_path))
            time.sleep(0.25)
            listed = set.intersection(*(listed_brokers([address], timeout=2.0) for address in addresses))

    def _bring_up(self, node_ids: list[int], ask: list[int]) -> float:
        """Launch `node_ids`, wait until they are listed, and save the state; return the seconds taken."""
        t0 = time.monotonic()
        for node_id in node_ids:
            # A stale pid may belong to someone else's process by now: never signal it below.
            self._set_pid(node_id, None)
        try:
            procs = self._launch(node_ids)
            self._save()
            self._await_listed(procs, ask, t0)
        except BaseException:
            # Half a cluster is no use to anyone: stop what this call launched before raising.
            self._terminate_all([pid for i in node_ids if (pid := self.node(i).pid) is not None], 10.0)
            for node_id in node_ids:
                self._set_pid(node_id, None)
            self._save()
            raise
        self._save()
        return round(time.monotonic() - t0, 2)

    @staticmethod
    def _terminate_all(pids: list[int], timeout: float) -> list[str]:
        if not pids:
            return []
        # In parallel: stopped one by one, the last nodes would wait on a quorum that is gone.
        with ThreadPoolExecutor(max_workers=len(pids)) as pool:
            return list(pool.map(lambda pid: local._terminate(pid, timeout), pids))

    # --- the public operations ---

    def _check_home_is_free(self) -> None:
        recorded = read_state(self.home)
        if recorded is None or recorded.cluster_id == self.cluster_id:
            return
        if any(node.pid is not None and local.pid_alive(node.pid) for node in recorded.nodes):
            raise BrokerStartError(
                f"another Kafka cluster recorded in {self.home} is running; take it up with "
                f"Cluster.attach(home) or stop it first (cluster.down(home=...))"
            )

    def start(self) -> ClusterState:
        """Format nodes never formatted, launch every stopped node at once, wait until all are listed.

        Raises BrokerStartError, quoting the node's log, if a node exits while starting or the
        metadata does not list every node within `timeout`; the nodes it launched are stopped.
        """
        self._check_home_is_free()
        down = [node_id for node_id in self.node_ids if not self.is_running(node_id)]
        if not down:
            return self._state
        # Only a first start of ports picked here moves them: a restart keeps its nodes' addresses.
        first = self._picked and len(down) == len(self.node_ids) and all(
            self._formatted_id(node) is None for node in self._state.nodes)
        elapsed = local.on_free_ports(lambda: self._bring_up(down, ask=self.node_ids), self._say,
                                      picked=first, pick_again=self._pick_again)
        self._state = replace(self._state, started_at=time.time(), start_seconds=elapsed)
        self._save()
        self._say(f"Kafka cluster of {len(self.node_ids)} ready on {self.bootstrap} in {elapsed:.1f}s")
        log.info(
            "cluster.started", bootstrap=self.bootstrap, brokers=len(self.node_ids), start_seconds=elapsed
        )
        return self._state

    def start_node(self, node_id: int) -> float:
        """Restart a stopped node on its old ports and data (no format); return seconds until it is listed.

        It counts as back when it and every other running node answer a metadata request listing
        every node.
        A node that is already running is left alone (0.0).
        """
        if self.is_running(node_id):
            return 0.0
        running = [n for n in self.node_ids if n == node_id or self.is_running(n)]
        elapsed = self._bring_up([node_id], ask=running)
        log.info("cluster.node_started", node_id=node_id, pid=self.node(node_id).pid, seconds=elapsed)
        return elapsed

    def stop_node(self, node_id: int, how: StopHow = "kill", timeout: float = 20.0) -> str:
        """Stop one node's process group: "kill" is SIGKILL (a crash), "term" SIGTERM (a clean stop).

        Returns what happened: 'sigkill', 'sigterm', or 'gone' if the node was not running.
        """
        if how not in ("kill", "term"):
            raise ValueError(f"how={how!r}: expected 'kill' or 'term'")
        pid = self.node(node_id).pid
        outcome = "gone"
        if pid is not None and local.pid_alive(pid):
            if how == "kill":
                _kill_group(pid)
            # After a SIGKILL this only waits for the exit and reaps; else it is SIGTERM, then SIGKILL.
            stopped = local._terminate(pid, timeout)
            outcome = "sigkill" if how == "kill" else stopped
        self._set_pid(node_id, None)
        self._save()
        log.info("cluster.node_stopped", node_id=node_id, pid=pid, how=outcome)
        return outcome

    def stop(self, timeout: float = 20.0) -> list[str]:
        """Stop every node: SIGTERM, then SIGKILL after `timeout`; the data dirs stay for a restart."""
        pids = [node.pid for node in self._state.nodes if node.pid is not None]
        outcomes = self._terminate_all(pids, timeout)
        for node_id in self.node_ids:
            self._set_pid(node_id, None)
        self._save()
        log.info("cluster.stopped", home=str(self.home), pids=pids, how=outcomes)
        return outcomes

    def listed_brokers(self, timeout: float = 5.0) -> set[int]:
        """Return the node ids that a metadata request to a running node lists."""
        running = [self.node(node_id).address for node_id in self.node_ids if self.is_running(node_id)]
        return listed_brokers(running, timeout)

    def leader_of(self, topic: str, partition: int = 0, timeout: float = 10.0) -> int | None:
        """Return the node id leading `topic`'s `partition` by the metadata, or None if none leads.

        A just-killed leader is still named until the controller fences it, which takes
        broker.session.timeout.ms (9 s by default). Raises KeyError for an unknown partition.
        """
        running = [self.node(node_id).address for node_id in self.node_ids if self.is_running(node_id)]
        if not running:
            return None
        metadata = _run_sync(_fetch_metadata(running, timeout, topics=True))
        leader = metadata.leader_for_partition(TopicPartition(topic, partition))
        if leader is None:
            raise KeyError(f"the cluster knows no partition {partition} of topic {topic!r}")
        return None if leader < 0 else leader

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# --- the default cluster, as `hazard-engine broker up --brokers N` manages it ---


@dataclass(frozen=True)
class ClusterUpResult:
    """The outcome of `ensure_up`: the cluster in use and whether this call launched it."""

    cluster: Cluster
    started: bool

    @property
    def state(self) -> ClusterState:
        """Return the cluster's recorded state."""
        return self.cluster.state

    @property
    def bootstrap(self) -> str:
        """Return the comma-separated addresses of all nodes."""
        return self.cluster.bootstrap


@dataclass(frozen=True)
class NodeStatus:
    """One node of a cluster, for humans and scripts."""

    node_id: int
    pid: int | None
    address: str
    up: bool


@dataclass(frozen=True)
class ClusterStatus:
    """A snapshot of the recorded cluster: `running` only when every node is up."""

    running: bool
    nodes: tuple[NodeStatus, ...] = ()
    bootstrap: str | None = None
    cluster_id: str | None = None
    home: str | None = None
    uptime_seconds: float | None = None
    start_seconds: float | None = None


def _reuse(recorded: Cluster, brokers: int, say: Progress) -> ClusterUpResult:
    """Take up a recorded cluster that has live nodes, restarting any stopped ones on their data."""
    size = len(recorded.node_ids)
    if size != brokers:
        raise BrokerStartError(
            f"a {size}-node Kafka cluster is running from {recorded.home}; stop it first with "
            f"`hazard-engine broker down --brokers {size}`"
        )
    stopped = [node_id for node_id in recorded.node_ids if not recorded.is_running(node_id)]
    if stopped:
        say(f"restarting stopped node(s) {stopped} of the Kafka cluster on {recorded.bootstrap}")
        recorded.start()
    elif recorded.listed_brokers(timeout=10.0) != set(recorded.node_ids):
        raise BrokerStartError(
            f"the Kafka cluster in {recorded.home} runs but its metadata does not list all {size} "
            f"brokers; see the node logs there, or stop it with `hazard-engine broker down --brokers {size}`"
        )
    else:
        say(f"reusing the Kafka cluster on {recorded.bootstrap}")
    return ClusterUpResult(recorded, started=bool(stopped))


def ensure_up(
    brokers: int = DEFAULT_BROKERS,
    timeout: float = local.DEFAULT_START_TIMEOUT,
    progress: Progress | None = None,
    *,
    home: Path | None = None,
    extra_properties: Mapping[str, str] | None = None,
) -> ClusterUpResult:
    """Reuse the cluster recorded in `home` if any node of it runs, else start a fresh one.

    Stopped nodes of a reused cluster are restarted on their data. A running cluster of
    another size is not replaced behind its users' backs: that raises BrokerStartError.
    """
    home = Path(home or cluster_dir())
    say = progress or (lambda _msg: None)
    # Serialised so parallel test workers share one cluster instead of starting two.
    with install.file_lock(home / ".lock"):
        recorded = Cluster.attach(home, progress, timeout)
        if recorded and any(map(recorded.is_running, recorded.node_ids)):
            return _reuse(recorded, brokers, say)
        if recorded:
            # All of it is gone: start afresh, from empty data dirs, as the single broker does.
            for node in recorded.state.nodes:
                shutil.rmtree(node.home, ignore_errors=True)
            state_path(home).unlink(missing_ok=True)
        cluster = Cluster(
            home, brokers, timeout=timeout, progress=progress, extra_properties=extra_properties
        )
        cluster.start()
        return ClusterUpResult(cluster, started=True)


def down(timeout: float = 20.0, home: Path | None = None) -> local.DownResult:
    """Stop the cluster recorded in `home` (SIGTERM, then SIGKILL after `timeout`) and forget it."""
    home = Path(home or cluster_dir())
    with install.file_lock(home / ".lock"):
        cluster = Cluster.attach(home)
        if cluster is None:
            return local.DownResult(False, "no local Kafka cluster is recorded; nothing to stop")
        t0 = time.monotonic()
        outcomes = cluster.stop(timeout)
        state_path(home).unlink(missing_ok=True)
    stopped = [how for how in outcomes if how != "gone"]
    if not stopped:
        return local.DownResult(False, "the Kafka cluster's nodes were already gone; removed its stale state")
    killed = stopped.count("sigkill")
    note = f" ({killed} ignored SIGTERM for {timeout:.0f}s and were killed)" if killed else ""
    took = time.monotonic() - t0
    return local.DownResult(True, f"stopped {len(stopped)} Kafka node(s) in {took:.1f}s{note}")


def status(home: Path | None = None) -> ClusterStatus:
    """Report each recorded node (id, pid, address, up or down); `running` if all of them are up."""
    cluster = Cluster.attach(home)
    if cluster is None:
        return ClusterStatus(False)
    state = cluster.state
    nodes = tuple(NodeStatus(n.node_id, n.pid, n.address, cluster.is_running(n.node_id)) for n in state.nodes)
    running = all(node.up for node in nodes)
    uptime = round(time.time() - state.started_at, 1) if any(node.up for node in nodes) else None
    return ClusterStatus(running, nodes, state.bootstrap, state.cluster_id, str(cluster.home), uptime,
                         state.start_seconds)  # fmt: skip
