"""The process's one frozen settings object; every field names its environment variable.

Values come from, highest priority first: arguments to the constructor (the
CLI's `--secrets-dir`), the environment, the secrets directory, the YAML
configuration file, and the defaults below. The environment wins over files
so that one variable can override a file an operator cannot edit (a mounted
ConfigMap), and a secret file wins over the configuration file so that a
password never has to sit beside the ordinary settings. `Settings.load` is
the one loader; `Settings()` alone reads the same sources, finding the file
and the directory through HAZARD_CONFIG and HAZARD_SECRETS_DIR.

`ToolSettings` is the other side: what the local broker, the tests' broker
fixture, the demo and the console read (the cache, Java, which broker, colour).
It reads the environment only, so it loads before any worker configuration
exists, and a bad value there stops those tools, never the worker. Nothing
outside this module reads the environment; `child_environment` only passes it on.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from engine.settings_sources import (
    ConfigError,
    ConfigFileSource,
    SecretFilesSource,
    Traced,
    env_names,
    input_keys,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_ENV = "HAZARD_CONFIG"
SECRETS_DIR_ENV = "HAZARD_SECRETS_DIR"
# Where each value came from, as `config show` prints it; highest priority first.
ORIGINS = ("argument", "env", "secrets", "file", "default")
# The longest a board sign-in may last (HAZARD_BOARD_SESSION_S); the board-signouts topic keeps
# each sign-out longer than that (topics/topics.yaml).
MAX_BOARD_SESSION_S = 7 * 86400


# Defined once for the worker's Settings and the tools' ToolSettings, so that both mean the same
# broker when it is set; unset, both use the local one.
BootstrapServers = Annotated[str | None, Field(
    validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "HAZARD_BOOTSTRAP_SERVERS"),
    description="KAFKA_BOOTSTRAP_SERVERS: host:port[,host:port]; unset means the local broker",
)]


def child_environment(**extra: str) -> dict[str, str]:
    """The environment for a child process: a copy of this one's, with `extra` on top.

    It copies os.environ on purpose and reads no setting from it: a child (a worker
    under test, apt-get) needs PATH, HOME and the locale, and reads its own
    settings from what it is given, through its own Settings.
    """
    return {**os.environ, **extra}


@dataclass
class _Request:
    """What one load was asked to read, and what it found where."""

    config: Path | None = None
    secrets_dir: Path | None = None
    origins: dict[str, str] = field(default_factory=dict)
    resolved_secrets_dir: Path | None = None


# Set by Settings.load for the duration of one construction; plain Settings() leaves it unset.
_REQUEST: ContextVar[_Request | None] = ContextVar("hazard_settings_request", default=None)


@dataclass(frozen=True)
class Loaded:
    """Settings with, for each field, where its value came from (one of ORIGINS)."""

    settings: Settings
    origins: dict[str, str]
    config: Path | None
    secrets_dir: Path | None


class Settings(BaseSettings):
    """Settings read once at start; a bad value fails there, not at the first message."""

    # No number is infinite or NaN: HAZARD_CLOCK_RATE=inf or HAZARD_CLOCK_ANCHOR=nan passed and made
    # the engine's clock read inf or nan.
    model_config = SettingsConfigDict(env_prefix="HAZARD_", frozen=True, extra="ignore", allow_inf_nan=False)

    bootstrap_servers: BootstrapServers = None
    # Kafka login; all unset means PLAINTEXT without SASL (the plain local broker).
    kafka_security_protocol: str | None = Field(
        default=None, pattern="^(PLAINTEXT|SASL_PLAINTEXT|SASL_SSL|SSL)$",
        validation_alias="KAFKA_SECURITY_PROTOCOL",
        description="KAFKA_SECURITY_PROTOCOL: e.g. SASL_PLAINTEXT (`broker up --secure`)")
    kafka_sasl_mechanism: str | None = Field(
        default=None, pattern="^(PLAIN|SCRAM-SHA-256|SCRAM-SHA-512)$",
        validation_alias="KAFKA_SASL_MECHANISM",
        description="KAFKA_SASL_MECHANISM: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (a username and a "
        "password; aiokafka's PLAIN when unset)")
    kafka_sasl_username: str | None = Field(default=None, validation_alias="KAFKA_SASL_USERNAME",
                                            description="KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr | None = Field(
        default=None, validation_alias="KAFKA_SASL_PASSWORD", validate_default=True,
        description="KAFKA_SASL_PASSWORD: never logged (SecretStr)")
    topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$",
                              description="HAZARD_TOPIC_PREFIX: prepended to every topic name, "
                              "to run several isolated engines (tests, demos) on one broker")
    app_id: str = Field(default="hazard-engine", description="HAZARD_APP_ID: the consumer group, "
                        "and the prefix of the tables' changelog topics")
    rules_dir: Path = Field(default=REPO_ROOT / "rules", description="HAZARD_RULES_DIR")
    topics_file: Path = Field(default=REPO_ROOT / "topics" / "topics.yaml",
                              description="HAZARD_TOPICS_FILE")
    data_dir: Path = Field(default_factory=lambda: CacheSettings().cache_dir / "worker",
                           description="HAZARD_DATA_DIR: the worker's local data (its tables "
                           "on disk with HAZARD_STORE=rocksdb); default HAZARD_CACHE_DIR/worker")
    store: Literal["memory", "rocksdb"] = Field(
        default="rocksdb", description="HAZARD_STORE: where the worker keeps its tables besides "
        "memory. rocksdb: also on local disk under HAZARD_DATA_DIR, written after their "
        "changelogs acknowledged the same writes, so a restarted worker reads only what its "
        "changelogs gained since; memory: read again from the whole changelogs at every start. "
        "Give each worker its own HAZARD_DATA_DIR.")
    replicas: bool = Field(
        default=True, description="HAZARD_REPLICAS (on/off): each worker also keeps a read-only "
        "copy of the hazard, alert and enterprise states of the partitions it does not own, read "
        "from their changelogs, so that any worker answers /hazards, /alerts, /enterprises and "
        "the board for every subject (docs/several-workers.md). It costs the memory of every "
        "such state on every worker; off, a worker answers only for its own partitions.")
    replication_factor: int = Field(default=1, ge=1, description="HAZARD_REPLICATION_FACTOR")
    min_insync_replicas: int = Field(default=1, ge=1, description="HAZARD_MIN_INSYNC_REPLICAS")
    max_record_bytes: int = Field(default=1024 * 1024, ge=1024,
                                  description="HAZARD_MAX_RECORD_BYTES: larger events are rejected")
    dedup_days: int = Field(
        default=730, ge=0, le=36_500, description="HAZARD_DEDUP_DAYS: how long after an event's "
        "time the worker keeps its de-duplication mark; older marks are forgotten, so a worker's "
        "memory does not grow with every event ever taken, and an event older than this is "
        "rejected as `stale` (it could be a copy of one whose mark is gone). 0 keeps every mark "
        "and takes events of any age. Raise it before entering older records (docs/redelivery.md)")
    filing_day: int = Field(
        default=5, ge=1, le=28, description="HAZARD_FILING_DAY: the day of the month on which "
        "`hazard-engine filing --schedule` files the month before (00:00 district time); the "
        "days before it let records made offline late in the month reach the engine first")
    future_s: int = Field(
        default=900, ge=0, description="HAZARD_FUTURE_S: how far ahead of the engine's clock an "
        "event's time may be (a device's clock a little fast); later is rejected as `future`, as "
        "taking it would fire its subject's deadlines early. 0 takes any time. Also how far "
        "ahead a record's timestamp may be and still date a late event's arrival "
        "(rules: duties.late_arrival)")
    log_level: str = Field(default="info", pattern="^(debug|info|warn|warning|error)$",
                           description="HAZARD_LOG_LEVEL: debug, info, "
                           "warn or error; the worker writes a JSON line on stderr per decision at "
                           "info and below, none at warn and above")
    clock_start: datetime | None = Field(
        default=None, description="HAZARD_CLOCK_START: simulated time at HAZARD_CLOCK_ANCHOR; "
        "unset means the system clock")
    clock_anchor: float | None = Field(
        default=None, description="HAZARD_CLOCK_ANCHOR: the real epoch second the simulated "
        "start corresponds to (default: when the worker starts); keep it across restarts")
    clock_rate: float = Field(default=1.0, gt=0, description="HAZARD_CLOCK_RATE: simulated "
                              "seconds per real second")
    clock_end: datetime | None = Field(default=None, description="HAZARD_CLOCK_END: the "
                                       "simulated clock stops here")
    tick_s: float = Field(default=1.0, gt=0, description="HAZARD_TICK_S: how often the timer "
                          "looks for due deadlines, in real seconds")
    web_port: int = Field(default=6066, ge=1, le=65535,
                          description="HAZARD_WEB_PORT: the worker's HTTP port (/metrics)")
    web_bind: str = Field(default="127.0.0.1", description="HAZARD_WEB_BIND: address to listen on")
    web_idle_timeout_s: float = Field(
        default=15.0, gt=0, description="HAZARD_WEB_IDLE_TIMEOUT_S: a connection that has not "
        "sent a whole request head for this long is closed: an idle keep-alive connection, a "
        "half-open one, or a client sending its headers a byte at a time (slowloris)")
    web_body_timeout_s: float = Field(
        default=5.0, gt=0, description="HAZARD_WEB_BODY_TIMEOUT_S: how long the server reads "
        "and discards a request body no page asked for before it closes the connection; a body "
        "POST /events reads must come within this, then at 16 KiB a second for what it declares "
        "(else 408)")
    web_write_timeout_s: float = Field(
        default=30.0, gt=0, description="HAZARD_WEB_WRITE_TIMEOUT_S: an event stream whose client "
        "has not taken a write for this long is ended, so a client that stops reading cannot "
        "hold a stream and its Kafka connection; any other answer not taken whole in this long "
        "has its connection dropped")
    web_max_header_bytes: int = Field(
        default=8190, ge=1024, le=65536, description="HAZARD_WEB_MAX_HEADER_BYTES: the longest "
        "request line and the longest header field; longer answers 400")
    web_max_headers: int = Field(default=64, ge=8, le=1024,
                                 description="HAZARD_WEB_MAX_HEADERS: most header fields in a "
                                 "request; more answers 400")
    web_max_body_bytes: int = Field(
        default=4096, ge=0, description="HAZARD_WEB_MAX_BODY_BYTES: every page is a GET, so a "
        "request declaring a larger body (or one of unknown length) answers 413 unread")
    feeds_loop_share: float = Field(
        default=0.5, gt=0, le=1, description="HAZARD_FEEDS_LOOP_SHARE: the most of the worker's "
        "event loop the feeds' lists and stream replays may take together, however many clients "
        "ask, so that events are decided on time under any HTTP load (engine/feeds/share.py)")
    feeds_max_waiting: int = Field(
        default=64, ge=1, description="HAZARD_FEEDS_MAX_WAITING: list requests waiting for the "
        "feeds' share beyond this answer 503 with Retry-After")
    decide: bool = Field(
        default=True, description="HAZARD_DECIDE: run the decision agent and the clocks; "
        "false runs intake only (validate, de-duplicate, append to the timeline), as the "
        "benchmark's intake rung does")
    fetch_wait_ms: int = Field(
        default=10, ge=1, le=1000, description="HAZARD_FETCH_WAIT_MS: the longest the broker holds "
        "a worker's fetch for HAZARD_FETCH_MIN_BYTES to arrive. Shorter: a little less latency "
        "at low rates, more CPU when idle (an idle worker asks this often); the timer's horizon "
        "trails the clock by about this much more (docs/benchmarks.md)")
    fetch_min_bytes: int = Field(
        default=65_536, ge=1, le=16 * 1024 * 1024, description="HAZARD_FETCH_MIN_BYTES: the "
        "broker answers a worker's fetch once this much is there for it (or after "
        "HAZARD_FETCH_WAIT_MS); 1 answers at the first record, which costs a worker fed a few "
        "events a second a fetch and a batch for every record or two")
    store_every_ms: int = Field(
        default=200, ge=0, le=10_000, description="HAZARD_STORE_EVERY_MS: small batches (a paced "
        "worker's) share one write of the states they changed and one commit, at most this long "
        "after the first of them; 0 stores and commits after every batch. Longer: less CPU at "
        "moderate rates (an enterprise file changed by every batch is written once), and a crash "
        "decides up to about twice this much work again (the same output ids; docs/redelivery.md)")
    broker_retry_max_s: float = Field(default=10.0, gt=0,
                                      description="HAZARD_BROKER_RETRY_MAX_S: longest retry pause")
    secrets_dir: Path | None = Field(
        default=None, description="HAZARD_SECRETS_DIR (or --secrets-dir, or the configuration "
        "file): a directory of files named after settings, each holding that setting's value, "
        "e.g. kafka_sasl_password; the environment still wins over them")
    tokens_file: Path | None = Field(
        default=None, description="HAZARD_TOKENS_FILE: the supervisors' tokens for the HTTP "
        "feeds (engine/feeds/tokens.py); unset, the feeds answer 401")
    board_secret: SecretStr | None = Field(
        default=None, min_length=32, description="HAZARD_BOARD_SECRET: the key that signs the "
        "board's session cookies (engine/board), at least 32 characters; give every worker "
        "behind one address the same one. Unset, each worker process makes its own at start, "
        "so a restart signs everyone out.")
    board_session_s: int = Field(
        default=12 * 3600, ge=60, le=MAX_BOARD_SESSION_S, description="HAZARD_BOARD_SESSION_S: how long "
        "a board sign-in lasts, in seconds (default 12 hours: one shift)")
    board_cookie_secure: bool = Field(
        default=False, description="HAZARD_BOARD_COOKIE_SECURE: mark the board's cookies Secure "
        "(sent over HTTPS only); set it when the board is served through an HTTPS proxy. A "
        "request that arrives over HTTPS gets Secure cookies anyway.")

    # POST /events, the HTTP intake of field apps (engine/http/intake.py).
    http_max_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="HAZARD_HTTP_MAX_BODY_BYTES: the largest "
        "body POST /events reads; a larger one is answered 413 (each event also stays within "
        "HAZARD_MAX_RECORD_BYTES)")
    http_bodies_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="HAZARD_HTTP_BODIES_BYTES: the bytes of "
        "POST /events bodies read at once, each counted at its declared length (or "
        "HAZARD_HTTP_MAX_BODY_BYTES when it declares none) from its first byte to its last; one "
        "token may hold a quarter of it, and at least one largest body either way. A request "
        "beyond it is answered unread: 429 for the token's share, 503 for the whole, with "
        "Retry-After")
    http_max_batch: int = Field(default=1000, ge=1, description="HAZARD_HTTP_MAX_BATCH: the most "
                                "events one batch (application/cloudevents-batch+json) may hold")
    http_max_json_items: int = Field(
        default=200_000, ge=1000, description="HAZARD_HTTP_MAX_JSON_ITEMS: the most JSON keys, "
        "values, arrays and objects a POST /events body may hold (counted by its , : [ and { "
        "characters outside strings, before it is parsed); a body over it is answered 413. 200 "
        "an event at the largest batch; an example event holds 57 to 79. Parsing costs by what "
        "it builds, not by bytes: a body at this limit holds the worker's event loop 4 to 46 ms, "
        "where 4 MiB of empty arrays held it 450 ms")
    http_rate_per_s: float = Field(
        default=200.0, gt=0, description="HAZARD_HTTP_RATE_PER_S: events a second one field-app "
        "token may post, on average; beyond it (and its burst) the answer is 429 with Retry-After")
    http_burst: int = Field(default=2000, ge=1, description="HAZARD_HTTP_BURST: events one token "
                            "may post at once before HAZARD_HTTP_RATE_PER_S applies")
    http_ack_timeout_s: float = Field(
        default=10.0, gt=0, description="HAZARD_HTTP_ACK_TIMEOUT_S: how long POST /events waits "
        "for the broker to acknowledge a request's events before answering 503 with Retry-After")
    gateway_port: int = Field(default=6068, ge=1, le=65535, description="HAZARD_GATEWAY_PORT: the "
                              "port of `hazard-engine gateway` (POST /events on its own)")
    gateway_bind: str = Field(default="127.0.0.1", description="HAZARD_GATEWAY_BIND: the "
                              "address `hazard-engine gateway` listens on")
    filing_port: int = Field(default=6067, ge=1, le=65535, description="HAZARD_FILING_PORT: the "
                             "port of `hazard-engine filing --schedule` (/metrics, /healthz)")
    filing_bind: str = Field(default="127.0.0.1", description="HAZARD_FILING_BIND: the address "
                             "`hazard-engine filing --schedule` listens on")

    @field_validator("kafka_sasl_password")
    @classmethod
    def _sasl_login_complete(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        """A SASL protocol logs in with a username and a password: both are needed, or every client
        fails at its first connection (aiokafka's own ValueError, in the worker's first second)."""
        protocol = info.data.get("kafka_security_protocol")
        if protocol in ("SASL_PLAINTEXT", "SASL_SSL") and (
                not info.data.get("kafka_sasl_username") or value is None or not value.get_secret_value()):
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol} logs in with KAFKA_SASL_USERNAME and "
                             "KAFKA_SASL_PASSWORD: set both")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read, highest first: arguments, environment, secrets directory, configuration file."""
        request = _REQUEST.get() or _Request()
        config = request.config or _env_path(CONFIG_ENV)
        config_file = ConfigFileSource(settings_cls, config)
        # The directory is needed before the values are merged, so it is resolved here in the
        # same order as every other setting: argument, environment, then the file.
        secrets_dir = request.secrets_dir or _env_path(SECRETS_DIR_ENV)
        if secrets_dir is None and config_file.values().get("secrets_dir") is not None:
            secrets_dir = Path(config_file.values()["secrets_dir"])
        request.config, request.resolved_secrets_dir = config, secrets_dir
        given = request.origins
        return (Traced("argument", init_settings, given), Traced("env", env_settings, given),
                Traced("secrets", SecretFilesSource(settings_cls, secrets_dir), given),
                Traced("file", config_file, given))

    @classmethod
    def load(cls, config: Path | str | None = None, secrets_dir: Path | str | None = None) -> Settings:
        """The settings of this process; a bad file, key or value raises ConfigError naming it."""
        return cls.load_traced(config, secrets_dir).settings

    @classmethod
    def load_traced(cls, config: Path | str | None = None,
                    secrets_dir: Path | str | None = None) -> Loaded:
        """Like `load`, and also say where each value came from."""
        request = _Request(Path(config) if config else None,
                           Path(secrets_dir) if secrets_dir else None)
        token = _REQUEST.set(request)
        try:
            settings = cls(**({"secrets_dir": request.secrets_dir} if request.secrets_dir else {}))
        except ValidationError as exc:
            raise ConfigError(_explain(cls, exc, request)) from None
        finally:
            _REQUEST.reset(token)
        origins = {name: request.origins.get(name, "default") for name in cls.model_fields}
        return Loaded(settings, origins, request.config, request.resolved_secrets_dir)


# HAZARD_BROKER's values; local is the default as it needs no Docker daemon.
BrokerMode = Literal["local", "testcontainers"]


def _broker_mode(value: Any) -> Any:
    # Spelt as people type it: " Local " is local, and a blank value means the default.
    return (value.strip().lower() or "local") if isinstance(value, str) else value


def _any_text_is_true(value: Any) -> Any:
    # https://no-color.org: set to any value but the empty string, colour is off; even NO_COLOR=0.
    return bool(value) if isinstance(value, str) else value


class CacheSettings(BaseSettings):
    """Where the engine keeps what it installs and runs on this machine.

    A class of its own so that Settings takes its data directory's default from
    here without reading, or failing on, the tools' settings in ToolSettings.
    """

    # An empty variable counts as unset, as `${VAR:-default}` would treat it.
    model_config = SettingsConfigDict(env_prefix="HAZARD_", frozen=True, extra="ignore",
                                      env_ignore_empty=True)

    cache_dir: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "hazard-engine",
        description="HAZARD_CACHE_DIR: where Kafka is installed and the local brokers (and, "
        "by default, the worker) keep their data; default ~/.cache/hazard-engine")

    @field_validator("cache_dir")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read arguments, then the environment; no file, since no configuration exists yet."""
        # Traced re-keys both to each field's alias, so that an argument given by field name
        # (java_home=...) wins over the variable (JAVA_HOME) as an argument should.
        given: dict[str, str] = {}
        return Traced("argument", init_settings, given), Traced("env", env_settings, given)

    @classmethod
    def load(cls) -> Self:
        """The values in the environment now; a bad one raises ConfigError naming its variable."""
        try:
            return cls()
        except ValidationError as exc:
            everything_from_env = _Request(origins=dict.fromkeys(cls.model_fields, "env"))
            raise ConfigError(_explain(cls, exc, everything_from_env)) from None


class ToolSettings(CacheSettings):
    """What the local broker, the tests' broker fixture, the demo, the benchmark and the console read.

    Environment only, and loaded where it is used rather than once, since tests set
    these variables between calls; none of it is needed for Settings to be valid.
    """

    bootstrap_servers: BootstrapServers = None
    broker: Annotated[BrokerMode, BeforeValidator(_broker_mode)] = Field(
        default="local", description="HAZARD_BROKER: where the tests' fixture, the demo and the "
        "benchmark get Kafka: local (KAFKA_BOOTSTRAP_SERVERS if set, else the local broker, "
        "started if need be) or testcontainers (a Kafka container in Docker)")
    kafka_image: str | None = Field(
        default=None, description="HAZARD_KAFKA_IMAGE: the Docker image of Kafka for "
        "HAZARD_BROKER=testcontainers; unset, testcontainers' own default")
    kafka_libs: Path | None = Field(
        default=None, description="HAZARD_KAFKA_LIBS: a directory of Kafka jars to run the "
        "local brokers from, instead of installing Kafka from Maven Central into HAZARD_CACHE_DIR")
    java_home: Path | None = Field(
        default=None, validation_alias="JAVA_HOME", description="JAVA_HOME: the Java runtime "
        "that runs the local brokers ($JAVA_HOME/bin/java); unset, the java on PATH")
    no_color: Annotated[bool, BeforeValidator(_any_text_is_true)] = Field(
        default=False, validation_alias="NO_COLOR", description="NO_COLOR: any non-empty value "
        "turns colour off in every command's output, even on a terminal (https://no-color.org)")

    @field_validator("kafka_libs")
    @classmethod
    def _expand_libs(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None


def misspelt_environment(environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each HAZARD_ or KAFKA_ variable in the environment that is no setting but
    nearly the name of one (HAZARD_RULE_DIR): silently ignored, it left the default in force (the
    sample rules, no tokens file). Names near none are left alone: other tools have their own."""
    known = {n.upper() for cls in (Settings, CacheSettings, ToolSettings)
             for name in cls.model_fields for n in env_names(cls, name)} | {"HAZARD_CONFIG"}
    out = []
    for name in sorted(os.environ if environ is None else environ):
        if not name.startswith(("HAZARD_", "KAFKA_")) or name in known:
            continue
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
        if near:
            out.append(f"environment variable {name} is no setting and is ignored; did you mean {near[0]}?")
    return out


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value) if value else None


def _explain(cls: type[BaseSettings], exc: ValidationError, request: _Request) -> str:
    """One line per bad value, naming the setting and where it was set, never a secret's value."""
    field_of = {key: name for name, f in cls.model_fields.items()
                for key in [name, *input_keys(name, f)]}
    lines = []
    for error in exc.errors(include_url=False):
        key = str(error["loc"][0]) if error["loc"] else "?"
        name = field_of.get(key, key)
        origin = request.origins.get(name, "default")
        where = {
            "env": "environment variable " + " / ".join(env_names(cls, name))
            if name in cls.model_fields else key,
            "file": f"{name!r} in configuration file {request.config}",
            "secrets": f"secrets file {(request.resolved_secrets_dir or Path('.')) / name}",
        }.get(origin, repr(name))
        secret = origin == "secrets" or _is_secret(cls, name)
        shown = "" if secret or "input" not in error else f" (got {_short(error['input'])})"
        lines.append(f"bad setting {where}: {error['msg']}{shown}")
    return "\n".join(lines)


def _is_secret(cls: type[BaseSettings], name: str) -> bool:
    field_info = cls.model_fields.get(name)
    annotation = field_info.annotation if field_info else None
    return annotation is SecretStr or SecretStr in get_args(annotation)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"
