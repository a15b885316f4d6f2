"""The settings loader: configuration file, secrets directory, environment, and `config show`.

Precedence, lowest first: default < configuration file < secrets directory <
environment < argument (only --secrets-dir is one).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from engine import configview
from engine.cli import main
from engine.feeds.tokens import TokenStore, hash_token
from engine.settings import Settings
from engine.settings_sources import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without any HAZARD_* or KAFKA_* variable of the developer's shell."""
    for name in list(os.environ):
        if name.startswith(("HAZARD_", "KAFKA_")):
            monkeypatch.delenv(name)


def write(path: Path, text: str) -> Path:
    """Write a file (and its folder) for a test; return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_nothing_is_configured() -> None:
    """Without a file, secrets or variables every field has its default and says so."""
    loaded = Settings.load_traced()
    assert loaded.settings.web_port == 6066 and loaded.config is None
    assert set(loaded.origins.values()) == {"default"}


def test_file_beats_default(tmp_path: Path) -> None:
    """A key in the configuration file sets the field of that name."""
    cfg = write(tmp_path / "c.yaml", "web_port: 7000\nkafka_sasl_username: engine\n")
    loaded = Settings.load_traced(cfg)
    assert loaded.settings.web_port == 7000 and loaded.settings.kafka_sasl_username == "engine"
    assert loaded.origins["web_port"] == "file" and loaded.origins["app_id"] == "default"


def test_env_beats_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment variable overrides the same setting in the file."""
    cfg = write(tmp_path / "c.yaml", "web_port: 7000\nkafka_sasl_username: engine\n")
    monkeypatch.setenv("HAZARD_WEB_PORT", "7100")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "other")
    loaded = Settings.load_traced(cfg)
    assert (loaded.settings.web_port, loaded.settings.kafka_sasl_username) == (7100, "other")
    assert loaded.origins["web_port"] == loaded.origins["kafka_sasl_username"] == "env"


def test_secrets_beat_file_and_env_beats_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """default < file < secrets < env, shown on one secret at each step."""
    cfg = write(tmp_path / "c.yaml", "kafka_sasl_password: from-file\n")
    write(tmp_path / "s" / "kafka_sasl_password", "from-secret\n")
    assert Settings.load(cfg).kafka_sasl_password.get_secret_value() == "from-file"
    loaded = Settings.load_traced(cfg, tmp_path / "s")
    assert loaded.settings.kafka_sasl_password.get_secret_value() == "from-secret"
    assert loaded.origins["kafka_sasl_password"] == "secrets"
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "from-env")
    loaded = Settings.load_traced(cfg, tmp_path / "s")
    assert loaded.settings.kafka_sasl_password.get_secret_value() == "from-env"
    assert loaded.origins["kafka_sasl_password"] == "env"


def test_second_alias_in_env_still_beats_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HAZARD_BOOTSTRAP_SERVERS (the second name) wins over bootstrap_servers in the file."""
    cfg = write(tmp_path / "c.yaml", "bootstrap_servers: file:9092\n")
    monkeypatch.setenv("HAZARD_BOOTSTRAP_SERVERS", "env:9092")
    assert Settings.load(cfg).bootstrap_servers == "env:9092"


def test_secret_file_loses_only_its_trailing_newline(tmp_path: Path) -> None:
    """`echo pw > file` gives `pw`; spaces inside or at the end of the secret are kept."""
    write(tmp_path / "s" / "kafka_sasl_password", " pass word \n")
    write(tmp_path / "s" / "web_port", "7001\r\n")
    settings = Settings.load(secrets_dir=tmp_path / "s")
    assert settings.kafka_sasl_password.get_secret_value() == " pass word "
    assert settings.web_port == 7001


@pytest.mark.parametrize("where", ["argument", "env", "file"])
def test_secrets_dir_from_argument_env_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               where: str) -> None:
    """The secrets directory may come from --secrets-dir, HAZARD_SECRETS_DIR or the file."""
    secrets = tmp_path / "s"
    write(secrets / "kafka_sasl_username", "engine\n")
    cfg = write(tmp_path / "c.yaml", f"secrets_dir: {secrets}\n" if where == "file" else "")
    if where == "env":
        monkeypatch.setenv("HAZARD_SECRETS_DIR", str(secrets))
    loaded = Settings.load_traced(cfg, secrets if where == "argument" else None)
    assert loaded.settings.kafka_sasl_username == "engine"
    assert loaded.secrets_dir == secrets and loaded.origins["secrets_dir"] == where


def test_hazard_config_names_the_file_and_plain_settings_read_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HAZARD_CONFIG stands in for --config, for Settings.load and for a bare Settings() alike."""
    cfg = write(tmp_path / "c.yaml", "app_id: from-file\n")
    monkeypatch.setenv("HAZARD_CONFIG", str(cfg))
    assert Settings.load().app_id == Settings().app_id == "from-file"
    other = write(tmp_path / "d.yaml", "app_id: from-option\n")
    assert Settings.load(other).app_id == "from-option"


def test_relative_paths_in_the_file_are_beside_the_file(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """rules_dir: rules in /etc/hz/c.yaml means /etc/hz/rules, from any working directory."""
    write(tmp_path / "conf" / "s" / "kafka_sasl_username", "engine\n")
    cfg = write(tmp_path / "conf" / "c.yaml", "rules_dir: rules\nsecrets_dir: s\n"
                "topics_file: /abs/topics.yaml\napp_id: rules\n")
    monkeypatch.chdir(tmp_path)
    settings = Settings.load(Path("conf/c.yaml"))
    assert settings.rules_dir == Path("conf/rules") and settings.secrets_dir == Path("conf/s")
    assert settings.topics_file == Path("/abs/topics.yaml") and settings.app_id == "rules"
    assert settings.kafka_sasl_username == "engine" and cfg.exists()


def test_unknown_key_names_the_file_and_the_key(tmp_path: Path) -> None:
    """A misspelt key fails at load, naming the file, the key and the likely intended one."""
    cfg = write(tmp_path / "c.yaml", "web_port: 7000\nweb_prot: 7001\n")
    with pytest.raises(ConfigError) as err:
        Settings.load(cfg)
    assert str(cfg) in str(err.value) and "'web_prot'" in str(err.value)
    assert "did you mean 'web_port'" in str(err.value)


def test_environment_names_are_not_keys_of_the_file(tmp_path: Path) -> None:
    """The file uses field names: KAFKA_SASL_PASSWORD there is an unknown key, not a password."""
    cfg = write(tmp_path / "c.yaml", "KAFKA_SASL_PASSWORD: x\n")
    with pytest.raises(ConfigError, match="unknown key 'KAFKA_SASL_PASSWORD'"):
        Settings.load(cfg)


def test_bad_value_in_file_names_the_key_and_the_file(tmp_path: Path) -> None:
    """A value of the wrong type in the file fails at load, naming key, file and value."""
    cfg = write(tmp_path / "c.yaml", "web_port: seventy\n")
    with pytest.raises(ConfigError) as err:
        Settings.load(cfg)
    message = str(err.value)
    assert "'web_port'" in message and str(cfg) in message and "'seventy'" in message


def test_bad_value_in_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad environment value fails at load, naming the variable."""
    monkeypatch.setenv("HAZARD_TICK_S", "-1")
    with pytest.raises(ConfigError, match="environment variable HAZARD_TICK_S: .*greater than 0"):
        Settings.load()


def test_bad_secret_value_is_named_but_never_shown(tmp_path: Path) -> None:
    """A secret file with a bad value is named by path; its content stays out of the message."""
    write(tmp_path / "s" / "kafka_security_protocol", "hunter2-not-a-protocol\n")
    with pytest.raises(ConfigError) as err:
        Settings.load(secrets_dir=tmp_path / "s")
    assert "kafka_security_protocol" in str(err.value) and "hunter2" not in str(err.value)


@pytest.mark.parametrize("text, message", [
    ("- web_port\n", "expected a mapping"),
    ("web_port: [\n", "is not YAML"),
])
def test_malformed_file_fails_with_a_reason(tmp_path: Path, text: str, message: str) -> None:
    """A file that is not a YAML mapping is refused, saying why."""
    with pytest.raises(ConfigError, match=message):
        Settings.load(write(tmp_path / "c.yaml", text))


def test_files_not_in_utf8_are_refused_with_a_reason_never_a_traceback(tmp_path: Path) -> None:
    """A configuration file or a secret file in another encoding raised UnicodeDecodeError out of
    the loader; each is a ConfigError naming the file, and a secret's bytes stay out of it."""
    config = tmp_path / "c.yaml"
    config.write_bytes("web_port: 7000\n# 端口\n".encode("gbk"))
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        Settings.load(config)
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "kafka_sasl_password").write_bytes("口令".encode("gbk"))
    with pytest.raises(ConfigError, match="kafka_sasl_password cannot be read: not UTF-8 text") as err:
        Settings.load(secrets_dir=tmp_path / "s")
    assert "口令" not in str(err.value)


def test_missing_file_or_secrets_dir_fails(tmp_path: Path) -> None:
    """A named file or directory that does not exist is an error, not silently nothing."""
    with pytest.raises(ConfigError, match="cannot read configuration file"):
        Settings.load(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="secrets directory .* does not exist"):
        Settings.load(secrets_dir=tmp_path / "nope")


def test_empty_file_is_all_defaults(tmp_path: Path) -> None:
    """An empty configuration file is valid and changes nothing."""
    assert Settings.load(write(tmp_path / "c.yaml", "")).web_port == 6066


def test_token_store_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tokens_file (HAZARD_TOKENS_FILE or the file) names the tokens; unset, none are configured."""
    tokens = write(tmp_path / "tokens.yaml", "supervisors:\n  - name: duty\n"
                   f"    hash: {hash_token('hzt_x')}\n    district: true\n")
    assert TokenStore.from_settings(Settings.load()).configured is False
    cfg = write(tmp_path / "c.yaml", f"tokens_file: {tokens}\n")
    store = TokenStore.from_settings(Settings.load(cfg))
    assert store.authenticate("Bearer hzt_x").name == "duty"
    monkeypatch.setenv("HAZARD_TOKENS_FILE", str(tokens))
    assert TokenStore.from_env().configured and TokenStore.from_env({}).configured is False


def test_config_show_masks_secrets_and_names_sources(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`config show` lists every field with its source, and no secret's value appears."""
    cfg = write(tmp_path / "c.yaml", "web_port: 7000\nkafka_sasl_password: file-secret-1\n")
    write(tmp_path / "s" / "kafka_sasl_username", "secret-user-2\n")
    monkeypatch.setenv("HAZARD_APP_ID", "env-app")
    loaded = Settings.load_traced(cfg, tmp_path / "s")
    text = configview.render_yaml(loaded)
    assert "file-secret-1" not in text and "secret-user-2" not in text
    lines = {line.split(":")[0]: line for line in text.splitlines() if not line.startswith("#")}
    assert set(lines) == set(Settings.model_fields)
    assert lines["web_port"].endswith("# file") and lines["store"].endswith("# default")
    assert lines["app_id"].endswith("# env (HAZARD_APP_ID)")
    assert lines["kafka_sasl_username"].endswith("# secrets")
    doc = yaml.safe_load(text)  # the comments aside, it is the configuration as YAML
    assert doc["web_port"] == 7000 and doc["kafka_sasl_password"] == configview.MASK


def test_config_show_json_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """`hazard-engine --config F config show --json` prints values, sources and env names."""
    cfg = write(tmp_path / "c.yaml", "web_port: 7000\n")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "env-secret-3")
    assert main(["--config", str(cfg), "config", "show", "--json"]) == 0
    out = capsys.readouterr().out
    assert "env-secret-3" not in out
    doc = json.loads(out)
    assert doc["config_file"] == str(cfg)
    assert doc["settings"]["web_port"] == {"value": 7000, "source": "file", "env": "HAZARD_WEB_PORT"}
    assert doc["settings"]["kafka_sasl_password"]["value"] == configview.MASK
    assert doc["settings"]["kafka_sasl_password"]["source"] == "env"


def test_cli_reports_a_bad_configuration_and_exits_2(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A bad file stops the command before it does anything, with the reason on stderr."""
    cfg = write(tmp_path / "c.yaml", "web_prot: 1\n")
    assert main(["--config", str(cfg), "config", "show"]) == 2
    assert "unknown key 'web_prot'" in capsys.readouterr().err


def test_the_worker_and_the_tools_take_their_time_from_the_clock_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """HAZARD_CLOCK_START/END give a simulated now; without them it is the machine's clock."""
    from datetime import datetime

    from engine.clocks import ScaledTime, SystemTime, from_settings

    assert isinstance(from_settings(Settings()), SystemTime)
    monkeypatch.setenv("HAZARD_CLOCK_START", "2027-01-31T23:00:00+08:00")
    monkeypatch.setenv("HAZARD_CLOCK_END", "2027-01-31T23:00:00+08:00")
    clock = from_settings(Settings())
    assert isinstance(clock, ScaledTime)
    assert clock.now() == datetime.fromisoformat("2027-01-31T23:00:00+08:00").timestamp()


def test_a_kafka_login_that_cannot_work_is_refused_when_the_settings_are_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A SASL protocol without its username or password, or a mechanism aiokafka cannot serve with
    them, passed the settings and failed every client at its first connection with aiokafka's own
    ValueError; TLS (SSL, SASL_SSL) had no context at all. The first two are refused, naming the
    settings, and TLS gets the system's trusted authorities."""
    from engine.tools.kafka import client_auth

    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "engine")
    with pytest.raises(ConfigError, match="logs in with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        Settings.load()
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "pw")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "GSSAPI")
    with pytest.raises(ConfigError, match="KAFKA_SASL_MECHANISM"):
        Settings.load()
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    assert "ssl_context" not in client_auth(Settings.load())
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    assert client_auth(Settings.load())["ssl_context"] is not None


@pytest.mark.parametrize("name", ["HAZARD_CLOCK_RATE", "HAZARD_TICK_S", "HAZARD_CLOCK_ANCHOR"])
def test_no_setting_is_infinite_or_nan(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """`inf` and `nan` passed where only a bound > 0 was set (or none), and the engine's clock read
    inf or nan; every number must be finite."""
    for value in ("inf", "nan"):
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError, match="finite number"):
            Settings.load()



def test_a_misspelt_setting_in_the_environment_is_named_with_the_one_meant() -> None:
    """HAZARD_RULE_DIR was ignored in silence and the sample rules ran; a name near a setting's is
    now a warning naming it, and names near none (another tool's) are left alone."""
    from engine.settings import misspelt_environment

    said = misspelt_environment({"HAZARD_RULE_DIR": "/r", "HAZARD_TOKEN_FILE": "/t",
                                 "KAFKA_BOOTSTRAP_SERVER": "b", "HAZARD_RULES_DIR": "/r",
                                 "HAZARD_FAULTS_REPORT": "/x", "PATH": "/bin"})
    assert [s.split(";")[0].split()[2] + " -> " + s.split()[-1] for s in said] == [
        "HAZARD_RULE_DIR -> HAZARD_RULES_DIR?", "HAZARD_TOKEN_FILE -> HAZARD_TOKENS_FILE?",
        "KAFKA_BOOTSTRAP_SERVER -> KAFKA_BOOTSTRAP_SERVERS?"]
    assert "is no setting and is ignored" in said[0]
