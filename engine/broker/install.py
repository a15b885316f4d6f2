"""The Kafka distribution: jars installed once from Maven Central, and the configs it reads."""

from __future__ import annotations

import base64
import fcntl
import random
import re
import shutil
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import structlog

from engine.settings import CacheSettings, ToolSettings

KAFKA_VERSION = "4.4.0"
SCALA_VERSION = "2.13"
# The log4j2 version Kafka itself brings, so the slf4j binding matches log4j-core.
LOG4J_VERSION = "2.25.5"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

_MARKER = ".installed"
_LOG4J_FILE = "log4j2.properties"

log = structlog.get_logger("engine.broker.install")

# Told each step in words. One that also has `step(count, detail)` (engine.progress.Bar) is
# told of each artifact Maven downloads, so a first install shows it is moving.
Progress = Callable[[str], None]
_DOWNLOADED = re.compile(r"^Downloaded from \S+: (\S+)")

_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.hazard-engine</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>{kafka}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{scala}</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
      <scope>runtime</scope>
    </dependency>
  </dependencies>
</project>
"""

_LOG4J_CONFIG = """\
status = warn
# Kafka logs its own shutdown from a JVM hook; log4j's hook would cut that story short.
shutdownHook = disable
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
# Per-request client chatter drowns out the startup story in the log tail.
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
"""


class BrokerStartError(RuntimeError):
    """Raised when a local broker cannot be started; the message says why."""


class KafkaInstallError(BrokerStartError):
    """Raised when the Kafka jars cannot be installed or found."""


@dataclass(frozen=True)
class KafkaInstall:
    """Where an installed Kafka's jars and logging config live."""

    version: str
    home: Path
    libs: Path
    log4j_config: Path

    @property
    def classpath(self) -> str:
        """Return the JVM classpath wildcard covering every jar."""
        return str(self.libs / "*")


def cache_root(settings: CacheSettings | None = None) -> Path:
    """Return the cache root: HAZARD_CACHE_DIR, else ~/.cache/hazard-engine."""
    # CacheSettings, not ToolSettings: the worker finds the local broker through here.
    return (settings or CacheSettings.load()).cache_dir


def install_home(root: Path | None = None, version: str = KAFKA_VERSION) -> Path:
    """Return the directory a given Kafka version is installed into."""
    return (root or cache_root()) / "kafka" / version


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock so parallel processes don't race on one directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _has_kafka_jar(libs: Path) -> bool:
    return libs.is_dir() and any(libs.glob(f"kafka_{SCALA_VERSION}-*.jar"))


def _write_log4j_config(home: Path) -> Path:
    config = home / _LOG4J_FILE
    if not config.exists() or config.read_text() != _LOG4J_CONFIG:
        config.write_text(_LOG4J_CONFIG)
    return config


def _maven_streamed(command: list[str], home: Path, step: Callable[..., None]) -> tuple[int, str]:
    """Run Maven, telling `step` of each downloaded artifact; return its exit code and output."""
    lines: list[str] = []
    with subprocess.Popen(command, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            found = _DOWNLOADED.match(line)
            if found:
                step(1, found.group(1).rsplit("/", 1)[-1])
    return proc.returncode, "".join(lines)


def _run_maven(home: Path, libs: Path, progress: Progress | None = None) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaInstallError("Maven (mvn) is not on PATH; it is needed to install Kafka")
    pom = home / "pom.xml"
    pom.write_text(_POM.format(kafka=KAFKA_VERSION, scala=SCALA_VERSION, log4j=LOG4J_VERSION))
    step = getattr(progress, "step", None)
    command = [
        mvn, "-B", "-f", str(pom),
        f"{DEPENDENCY_PLUGIN}:copy-dependencies",
        f"-DoutputDirectory={libs}",
        "-DincludeScope=runtime",
    ]  # fmt: skip
    if step is None:
        # Quiet unless someone counts the downloads: the output is only kept for an error.
        command.insert(1, "-q")
        result = subprocess.run(command, cwd=home, capture_output=True, text=True, check=False)
        returncode, output_text = result.returncode, result.stdout + result.stderr
    else:
        returncode, output_text = _maven_streamed(command, home, step)
    if returncode != 0:
        output = output_text.strip().splitlines()
        tail = "\n".join(output[-40:]) or "(no output)"
        raise KafkaInstallError(
            f"installing Kafka {KAFKA_VERSION} with Maven failed (exit {returncode}):\n"
            f"{tail}"
        )
    if not _has_kafka_jar(libs):
        raise KafkaInstallError(f"Maven succeeded but no kafka_{SCALA_VERSION} jar is in {libs}")


def ensure_installed(root: Path | None = None, progress: Progress | None = None,
                     settings: ToolSettings | None = None) -> KafkaInstall:
    """Return the Kafka install, downloading it with Maven first if it is missing."""
    settings = settings or ToolSettings.load()
    home = install_home(root or settings.cache_dir)
    home.mkdir(parents=True, exist_ok=True)
    libs = settings.kafka_libs
    if libs is not None:
        if not _has_kafka_jar(libs):
            raise KafkaInstallError(f"HAZARD_KAFKA_LIBS={libs} holds no kafka jar")
        return KafkaInstall(KAFKA_VERSION, home, libs, _write_log4j_config(home))

    libs = home / "libs"
    with file_lock(home / ".lock"):
        if not (home / _MARKER).exists():
            # Without the marker a previous run may have died mid-copy: start from scratch.
            shutil.rmtree(libs, ignore_errors=True)
            if progress:
                progress(f"installing Kafka {KAFKA_VERSION} from Maven Central into {home}")
            log.info("kafka.install.start", version=KAFKA_VERSION, home=str(home))
            _run_maven(home, libs, progress)
            (home / _MARKER).write_text(KAFKA_VERSION + "\n")
            log.info("kafka.install.done", jars=len(list(libs.glob("*.jar"))))
        config = _write_log4j_config(home)
    return KafkaInstall(KAFKA_VERSION, home, libs, config)


EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_PICK = random.SystemRandom()  # not the module's generator, which a test (Hypothesis) may seed


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago, outside the ephemeral range.

    A port the kernel hands out for `bind(0)` comes from the range it also gives outgoing
    connections their local ports from, so between this check and the server's bind a client's
    connection (a Kafka client, a browser driver) could take it: a worker of the test suite once
    failed to start with "address already in use" that way. So the port is drawn at random below
    that range (or above it) and checked free; without the range (not Linux), bind(0) as before.
    Every port of the two spans is as likely as any other: drawn span first, the 4,536 ports above
    the range came up five times as often as those below, and two callers met on them so (a
    test's web server took a stopped Kafka node's port before the node restarted on it).
    """
    try:
        low, high = map(int, EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        low = high = 0
    spans = [span for span in (range(10_000, low), range(high + 1, 65_536)) if len(span) >= 1_000]
    for _ in range(100 if spans else 0):
        port = _PICK.choice(_PICK.choices(spans, weights=[len(span) for span in spans])[0])
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_cluster_id() -> str:
    """Return a Kafka cluster id: a uuid4 as unpadded base64url."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        # Kafka's own generator rejects a leading '-' because the CLI would read it as an option.
        if not cid.startswith("-"):
            return cid


def node_properties(
    node_id: int, port: int, controller_port: int, data_dir: Path, voters: str
) -> dict[str, str]:
    """Return server.properties for one combined-role node; `voters` lists the whole quorum."""
    return {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir),
        "offsets.topic.replication.factor": "1",
        # Fewer offsets partitions means fewer logs to create, so the first consumer group is quick.
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "group.initial.rebalance.delay.ms": "0",
        # Topics are declared by the project; a typo must fail loudly, not create a topic.
        "auto.create.topics.enable": "false",
    }


def render_properties(props: Mapping[str, str]) -> str:
    """Render a properties mapping in Java .properties syntax."""
    return "".join(f"{key}={value}\n" for key, value in props.items())


def java_executable(settings: ToolSettings | None = None) -> str:
    """Return the java binary: $JAVA_HOME/bin/java, else the one on PATH."""
    java_home = (settings or ToolSettings.load()).java_home
    java = str(java_home / "bin/java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise BrokerStartError("no Java runtime found: install Java 17+ or set JAVA_HOME")
    return java
