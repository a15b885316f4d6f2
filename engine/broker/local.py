"""Run one local Kafka broker (KRaft, combined broker+controller) as a plain Java process."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

import structlog
from aiokafka import AIOKafkaClient

from engine.broker import install
from engine.broker.install import BrokerStartError, Progress
from engine.settings import CacheSettings, ToolSettings

DEFAULT_START_TIMEOUT = 90.0
HEAP = ("-Xms256m", "-Xmx1g")
# The collector settings Kafka's own start script (bin/kafka-run-class.sh) gives a broker when
# KAFKA_JVM_PERFORMANCE_OPTS is unset: G1 aiming at 20 ms pauses. This broker is started without
# the scripts, and ran on the JVM's defaults (pauses of up to 200 ms) until 2026-12-04.
PERFORMANCE = ("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
               "-XX:+ExplicitGCInvokesConcurrent")
JVM_OPTIONS = (*HEAP, *PERFORMANCE)
_LOG_TAIL_LINES = 40

log = structlog.get_logger("engine.broker.local")
T = TypeVar("T")

# Popen handles of brokers this process launched: kept so their exit can be reaped, not zombied.
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class BrokerState:
    """What the state file records about a running local broker."""

    pid: int
    bootstrap: str
    controller_port: int
    log_path: str
    data_dir: str
    started_at: float
    start_seconds: float


@dataclass(frozen=True)
class UpResult:
    """The outcome of `ensure_up`: the broker in use and whether this call launched it."""

    state: BrokerState
    started: bool

    @property
    def bootstrap(self) -> str:
        """Return the broker's bootstrap address."""
        return self.state.bootstrap


@dataclass(frozen=True)
class BrokerStatus:
    """A snapshot of the local broker for humans and scripts."""

    running: bool
    pid: int | None = None
    bootstrap: str | None = None
    log_path: str | None = None
    data_dir: str | None = None
    uptime_seconds: float | None = None
    start_seconds: float | None = None


@dataclass(frozen=True)
class DownResult:
    """What `down` did: whether a broker was stopped, and how."""

    stopped: bool
    message: str
    pid: int | None = None


def broker_dir(settings: CacheSettings | None = None) -> Path:
    """Return the directory holding the local broker's state, config, log and data."""
    return install.cache_root(settings) / "broker"


def state_path(home: Path | None = None) -> Path:
    """Return the path of the state file in `home` (default: the plain local broker's dir)."""
    return (home or broker_dir()) / "state.json"


def _start_error(message: str, log_path: Path) -> BrokerStartError:
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        lines = [f"(no log at {log_path})"]
    # The root cause often scrolls out of the tail behind shutdown chatter, so quote it first.
    markers = (" ERROR ", " FATAL ", "Caused by:", "Exception in thread")
    errors = list(dict.fromkeys(line for line in lines if any(m in line for m in markers)))[:8]
    head = f"--- first errors in {log_path} ---\n" + "\n".join(errors) + "\n" if errors else ""
    tail = "\n".join(lines[-_LOG_TAIL_LINES:])
    return BrokerStartError(f"{message}\n{head}--- last {_LOG_TAIL_LINES} lines ---\n{tail}")


def pid_alive(pid: int) -> bool:
    """Return True if `pid` is a live (not zombie) Kafka broker process."""
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    # A recycled pid must not be mistaken for our broker, and a zombie is already dead.
    return stat.rpartition(")")[2].split()[0] != "Z" and b"kafka.Kafka" in cmdline


def broker_answers(bootstrap: str, timeout: float = 5.0, auth: Mapping | None = None) -> bool:
    """Return True if a metadata request (with aiokafka's `auth` options) lists a broker."""
    host, _, port = bootstrap.rpartition(":")
    try:
        # A cheap TCP probe first keeps aiokafka from logging an error per refused attempt.
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError:
        return False

    async def probe() -> bool:
        client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000),
                                **(auth or {}))  # fmt: skip
        try:
            await asyncio.wait_for(client.bootstrap(), timeout)
            return bool(client.cluster.brokers())
        except Exception:
            return False
        finally:
            await client.close()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(probe())
    # Called from async code (a demo, a Faust app), where a nested asyncio.run would fail.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, probe()).result()


def read_state(home: Path | None = None) -> BrokerState | None:
    """Return the recorded broker state, or None if there is none or it is unreadable."""
    try:
        return BrokerState(**json.loads(state_path(home).read_text()))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None


def _launch(
    timeout: float,
    progress: Progress | None,
    port: int | None,
    controller_port: int | None,
    extra_properties: Mapping[str, str] | None,
    settings: ToolSettings,
) -> BrokerState:
    say = progress or (lambda _msg: None)
    kafka = install.ensure_installed(progress=say, settings=settings)
    home = broker_dir(settings)
    data_dir, log_path, props_path = home / "data", home / "broker.log", home / "server.properties"
    port = port or install.free_port()
    controller_port = controller_port or install.free_port()
    voters = f"1@127.0.0.1:{controller_port}"
    props = install.node_properties(1, port, controller_port, data_dir, voters)
    props.update(extra_properties or {})
    props_path.write_text(install.render_properties(props))
    # Fresh storage each start: an old log dir carries a cluster id the new format would reject.
    shutil.rmtree(data_dir, ignore_errors=True)

    java = install.java_executable(settings)
    jvm_log = f"-Dlog4j2.configurationFile={kafka.log4j_config}"
    t0 = time.monotonic()
    with open(log_path, "wb") as out:
        fmt = [java, jvm_log, "-cp", kafka.classpath, "kafka.tools.StorageTool", "format",
               "-t", install.new_cluster_id(), "-c", str(props_path)]  # fmt: skip
        formatted = subprocess.run(fmt, stdout=out, stderr=subprocess.STDOUT, check=False)
    if formatted.returncode != 0:
        raise _start_error(f"Kafka storage format failed (exit {formatted.returncode})", log_path)

    say(f"starting Kafka {kafka.version} on 127.0.0.1:{port} (log: {log_path})")
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            [java, *JVM_OPTIONS, jvm_log, "-cp", kafka.classpath, "kafka.Kafka", str(props_path)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=home, start_new_session=True,
        )  # fmt: skip
    _children[proc.pid] = proc
    bootstrap, deadline = f"127.0.0.1:{port}", t0 + timeout
    while not broker_answers(bootstrap, timeout=2.0):
        if proc.poll() is not None:
            raise _start_error(f"Kafka exited with code {proc.returncode} while starting", log_path)
        if time.monotonic() > deadline:
            _terminate(proc.pid, 10.0)
            raise _start_error(f"Kafka gave no metadata on {bootstrap} in {timeout:.0f}s", log_path)
        time.sleep(0.25)
    elapsed = round(time.monotonic() - t0, 2)
    state = BrokerState(proc.pid, bootstrap, controller_port, str(log_path), str(data_dir),
                        time.time(), elapsed)  # fmt: skip
    # Written atomically so a concurrent reader never sees half a file.
    state_path(home).with_suffix(".tmp").write_text(json.dumps(asdict(state), indent=2) + "\n")
    state_path(home).with_suffix(".tmp").replace(state_path(home))
    say(f"Kafka ready on {bootstrap} in {elapsed:.1f}s (pid {proc.pid})")
    log.info("broker.started", bootstrap=bootstrap, pid=proc.pid, start_seconds=elapsed)
    return state


def ensure_up(
    timeout: float = DEFAULT_START_TIMEOUT,
    progress: Progress | None = None,
    *,
    port: int | None = None,
    controller_port: int | None = None,
    extra_properties: Mapping[str, str] | None = None,
    settings: ToolSettings | None = None,
) -> UpResult:
    """Reuse the recorded broker if it is alive and answering, else start a new one."""
    settings = settings or ToolSettings.load()
    home = broker_dir(settings)
    # Serialised so parallel test workers or a demo plus a benchmark share one broker.
    with install.file_lock(home / ".lock"):
        state = read_state(home)
        if state and pid_alive(state.pid) and broker_answers(state.bootstrap, timeout=10.0):
            if progress:
                progress(f"reusing Kafka on {state.bootstrap} (pid {state.pid})")
            return UpResult(state, started=False)
        if state:
            # Recorded broker is dead or hung: clear it out before starting a replacement.
            _terminate(state.pid, 10.0)
            state_path(home).unlink(missing_ok=True)
        return UpResult(_launch_on_free_ports(timeout, progress, port, controller_port, extra_properties,
                                              settings), started=True)


_PORT_TAKEN = "Address already in use"
_LAUNCHES = 3  # tries when a port picked for the broker was taken before Kafka bound it


def on_free_ports(launch: Callable[[], T], progress: Progress | None, *, picked: bool = True,
                  pick_again: Callable[[], None] = lambda: None) -> T:
    """`launch()`, again after `pick_again()` when Kafka found a port it was given taken. A port is
    checked free when picked (`install.free_port`) but bound seconds later, after the storage
    format's JVM has run; another process picking at random in the same span can take it first (a
    clean-clone CI run lost its local-broker tests so once, "Address already in use" on the
    controller's port). Ports the caller named (`picked` false) are not changed: that error is
    theirs to see. The single broker, the secure one and a cluster's first start share this."""
    for attempt in range(1, _LAUNCHES):
        try:
            return launch()
        except BrokerStartError as error:
            if not picked or _PORT_TAKEN not in str(error):
                raise
            log.warning("broker.port_taken", attempt=attempt)
            if progress:
                progress("a port picked for Kafka was taken before it started; trying others")
            pick_again()
    return launch()


def _launch_on_free_ports(timeout: float, progress: Progress | None, port: int | None,
                          controller_port: int | None, extra_properties: Mapping[str, str] | None,
                          settings: ToolSettings) -> BrokerState:
    """`_launch`, on newly picked ports again when one it picked was taken (`on_free_ports`)."""
    return on_free_ports(
        lambda: _launch(timeout, progress, port, controller_port, extra_properties, settings),
        progress, picked=port is None and controller_port is None)


def up(timeout: float = DEFAULT_START_TIMEOUT, progress: Progress | None = None) -> str:
    """Make sure a local broker is running and return its bootstrap address."""
    return ensure_up(timeout, progress).bootstrap


def _terminate(pid: int, timeout: float) -> str:
    """Stop the broker's process group; return 'sigterm', 'sigkill' or 'gone'."""
    how = "gone"
    try:
        if pid_alive(pid):
            # start_new_session made the broker a group leader: signal the group, catch any child.
            kill = os.killpg if os.getpgid(pid) == pid else os.kill
            how = "sigterm"
            kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if pid_alive(pid):
                how = "sigkill"
                kill(pid, signal.SIGKILL)
                while pid_alive(pid):
                    time.sleep(0.05)
    except ProcessLookupError:
        pass
    child = _children.pop(pid, None)
    if child is not None:
        child.wait()
    return how


def down(timeout: float = 20.0, home: Path | None = None) -> DownResult:
    """Stop the broker recorded in `home` (default: the plain one); SIGTERM, then SIGKILL."""
    home = home or broker_dir()
    with install.file_lock(home / ".lock"):
        state = read_state(home)
        if state is None:
            return DownResult(False, "no local Kafka broker is recorded; nothing to stop")
        t0 = time.monotonic()
        how = _terminate(state.pid, timeout)
        state_path(home).unlink(missing_ok=True)
    took = time.monotonic() - t0
    messages = {
        "gone": f"Kafka (pid {state.pid}) was already gone; removed its stale state",
        "sigterm": f"stopped Kafka (pid {state.pid}) with SIGTERM in {took:.1f}s",
        "sigkill": f"Kafka (pid {state.pid}) ignored SIGTERM for {timeout:.0f}s; killed it",
    }
    log.info("broker.stopped", pid=state.pid, how=how)
    return DownResult(how != "gone", messages[how], state.pid)


def status(home: Path | None = None) -> BrokerStatus:
    """Report whether the recorded local broker (or the one in `home`) is running, and where."""
    state = read_state(home)
    if state is None or not pid_alive(state.pid):
        return BrokerStatus(False)
    uptime = round(time.time() - state.started_at, 1)
    return BrokerStatus(True, state.pid, state.bootstrap, state.log_path, state.data_dir, uptime,
                        state.start_seconds)  # fmt: skip


def resolve_bootstrap(timeout: float = DEFAULT_START_TIMEOUT,
                      settings: ToolSettings | None = None) -> str:
    """Return $KAFKA_BOOTSTRAP_SERVERS if set (starting nothing), else the local broker."""
    settings = settings or ToolSettings.load()
    return settings.bootstrap_servers or ensure_up(timeout, settings=settings).bootstrap
