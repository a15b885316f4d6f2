"""ToolSettings: what the broker, the tests' fixture, the demo and the console read from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine import logs
from engine.broker import install, local
from engine.broker.session import broker_session
from engine.settings import CacheSettings, Settings, ToolSettings
from engine.settings_sources import ConfigError

VARIABLES = ("HAZARD_CACHE_DIR", "HAZARD_KAFKA_LIBS", "JAVA_HOME", "HAZARD_KAFKA_IMAGE",
             "HAZARD_BROKER", "KAFKA_BOOTSTRAP_SERVERS", "HAZARD_BOOTSTRAP_SERVERS", "NO_COLOR")


class Terminal:
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without the developer's own values of these variables."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_without_any_variable() -> None:
    """Unset, the cache is ~/.cache/hazard-engine, the broker local and colour allowed."""
    tools = ToolSettings.load()
    assert tools.cache_dir == Path.home() / ".cache" / "hazard-engine"
    assert (tools.broker, tools.bootstrap_servers, tools.kafka_image, tools.kafka_libs,
            tools.java_home, tools.no_color) == ("local", None, None, None, None, False)


@pytest.mark.parametrize("variable, value, field, expected", [
    ("HAZARD_CACHE_DIR", "/srv/cache", "cache_dir", Path("/srv/cache")),
    ("HAZARD_CACHE_DIR", "~/cache", "cache_dir", Path.home() / "cache"),
    ("HAZARD_KAFKA_LIBS", "/opt/kafka/libs", "kafka_libs", Path("/opt/kafka/libs")),
    ("JAVA_HOME", "/usr/lib/jvm/java-21", "java_home", Path("/usr/lib/jvm/java-21")),
    ("HAZARD_KAFKA_IMAGE", "apache/kafka:4.0.0", "kafka_image", "apache/kafka:4.0.0"),
    ("HAZARD_BROKER", "testcontainers", "broker", "testcontainers"),
    ("HAZARD_BROKER", " Local ", "broker", "local"),
    ("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092", "bootstrap_servers",
     "kafka-1:9092,kafka-2:9092"),
    ("HAZARD_BOOTSTRAP_SERVERS", "kafka-3:9092", "bootstrap_servers", "kafka-3:9092"),
    ("NO_COLOR", "1", "no_color", True),
    ("NO_COLOR", "0", "no_color", True),  # no-color.org: any non-empty value
    ("NO_COLOR", "yes please", "no_color", True),
])
def test_each_variable_sets_its_field(monkeypatch: pytest.MonkeyPatch, variable: str,
                                      value: str, field: str, expected: object) -> None:
    """Every variable ToolSettings documents reaches its field, as the tools will read it."""
    monkeypatch.setenv(variable, value)
    assert getattr(ToolSettings.load(), field) == expected


@pytest.mark.parametrize("variable", VARIABLES)
def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    """`VAR=` gives the default, as the tools treated an empty value before they had settings."""
    monkeypatch.setenv(variable, "")
    assert ToolSettings.load() == ToolSettings()
    assert ToolSettings.load().broker == "local" and not ToolSettings.load().no_color


def test_an_argument_wins_over_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value given by field name beats the environment, aliased fields (JAVA_HOME) included."""
    for variable in VARIABLES:
        monkeypatch.setenv(variable, "/from/env" if variable != "HAZARD_BROKER" else "local")
    given = ToolSettings(cache_dir=Path("/given"), java_home=Path("/jdk"), no_color=False,
                         bootstrap_servers="given:9092", broker="testcontainers")
    assert (given.cache_dir, given.java_home, given.no_color, given.bootstrap_servers,
            given.broker) == (Path("/given"), Path("/jdk"), False, "given:9092", "testcontainers")
    assert given.kafka_libs == Path("/from/env")


def test_every_field_names_its_variable() -> None:
    """Each field's description starts with the variable that sets it, as Settings' fields do."""
    named = {name: field.description.split(":")[0]
             for name, field in ToolSettings.model_fields.items()}
    assert sorted(named.values()) == sorted(set(VARIABLES) - {"HAZARD_BOOTSTRAP_SERVERS"})


def test_a_bad_broker_mode_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A misspelt HAZARD_BROKER stops with the variable, the modes allowed and the value given."""
    monkeypatch.setenv("HAZARD_BROKER", "testcontainer")
    with pytest.raises(ConfigError) as caught:
        ToolSettings.load()
    assert str(caught.value) == ("bad setting environment variable HAZARD_BROKER: Input should "
                                 "be 'local' or 'testcontainers' (got 'testcontainer')")


def test_a_bad_broker_mode_stops_the_session_before_any_broker(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    """broker_session fails on a bad HAZARD_BROKER rather than start a local broker anyway."""
    monkeypatch.setenv("HAZARD_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("HAZARD_BROKER", "docker")
    with pytest.raises(ConfigError, match="HAZARD_BROKER"), broker_session():
        pass
    assert not local.state_path().exists()


def test_a_bad_broker_mode_does_not_stop_the_worker(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    """The worker reads only the cache from here: its Settings and the local broker's state load."""
    monkeypatch.setenv("HAZARD_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("HAZARD_BROKER", "docker")
    assert Settings().data_dir == tmp_path / "worker"
    assert CacheSettings.load().cache_dir == tmp_path
    assert local.read_state() is None and local.state_path() == tmp_path / "broker" / "state.json"


def test_the_cache_variable_moves_the_install_and_the_broker(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    """HAZARD_CACHE_DIR is read once, in one place, by all that keeps files in the cache."""
    monkeypatch.setenv("HAZARD_CACHE_DIR", str(tmp_path))
    assert install.cache_root() == tmp_path
    assert install.install_home() == tmp_path / "kafka" / install.KAFKA_VERSION
    assert local.broker_dir() == tmp_path / "broker"
    assert install.cache_root(CacheSettings(cache_dir=tmp_path / "given")) == tmp_path / "given"


def test_kafka_libs_without_a_kafka_jar_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    """HAZARD_KAFKA_LIBS pointing at a folder without Kafka's jar is named in the error."""
    monkeypatch.setenv("HAZARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HAZARD_KAFKA_LIBS", str(tmp_path / "empty"))
    with pytest.raises(install.KafkaInstallError, match="HAZARD_KAFKA_LIBS=.*empty holds no kafka"):
        install.ensure_installed()


def test_kafka_libs_with_a_kafka_jar_is_used_as_is(tmp_path: Path) -> None:
    """Given libs with Kafka's jar, nothing is installed and the jars are run from there."""
    libs = tmp_path / "libs"
    libs.mkdir()
    (libs / f"kafka_{install.SCALA_VERSION}-{install.KAFKA_VERSION}.jar").touch()
    kafka = install.ensure_installed(settings=ToolSettings(cache_dir=tmp_path, kafka_libs=libs))
    assert kafka.libs == libs and kafka.home == tmp_path / "kafka" / install.KAFKA_VERSION
    assert not (kafka.home / "libs").exists()


def test_java_home_picks_the_java(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With JAVA_HOME set, its bin/java runs the broker; a JAVA_HOME without one is an error."""
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.touch()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    assert install.java_executable() == str(java)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(install.BrokerStartError, match="JAVA_HOME"):
        install.java_executable()


def test_a_named_broker_is_used_without_starting_one(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    """KAFKA_BOOTSTRAP_SERVERS, from the environment or given, is the answer; nothing starts."""
    monkeypatch.setenv("HAZARD_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.example:9092")
    assert local.resolve_bootstrap() == "kafka.example:9092"
    with broker_session() as bootstrap:
        assert bootstrap == "kafka.example:9092"
    given = ToolSettings(cache_dir=tmp_path, bootstrap_servers="other.example:9092")
    assert local.resolve_bootstrap(settings=given) == "other.example:9092"
    with broker_session(settings=given) as bootstrap:
        assert bootstrap == "other.example:9092"
    assert not local.state_path().exists()


def test_no_color_from_the_environment_or_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """use_colour reads NO_COLOR through ToolSettings, and an explicit answer wins over it."""
    assert logs.use_colour(Terminal())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not logs.use_colour(Terminal())
    assert logs.use_colour(Terminal(), no_color=False)
    assert not logs.use_colour(Terminal(), no_color=True)


def test_child_environment_passes_the_parent_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child gets a copy of this environment with its own values on top; this one is untouched."""
    from engine.settings import child_environment

    monkeypatch.setenv("HAZARD_APP_ID", "parent")
    env = child_environment(HAZARD_APP_ID="child", EXTRA="1")
    assert env["HAZARD_APP_ID"] == "child" and env["EXTRA"] == "1" and env["PATH"] == os.environ["PATH"]
    assert os.environ["HAZARD_APP_ID"] == "parent" and "EXTRA" not in os.environ
