"""The process's one frozen settings object; every field names its environment variable."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.broker.install import cache_root

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Settings read once at start; a bad value fails there, not at the first message."""

    model_config = SettingsConfigDict(env_prefix="HAZARD_", frozen=True, extra="ignore")

    bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "HAZARD_BOOTSTRAP_SERVERS"),
        description="KAFKA_BOOTSTRAP_SERVERS: host:port[,host:port]; unset means the local broker",
    )
    # Kafka login; all unset means PLAINTEXT without SASL (the plain local broker).
    kafka_security_protocol: str | None = Field(
        default=None, pattern="^(PLAINTEXT|SASL_PLAINTEXT|SASL_SSL|SSL)$",
        validation_alias="KAFKA_SECURITY_PROTOCOL",
        description="KAFKA_SECURITY_PROTOCOL: e.g. SASL_PLAINTEXT (`broker up --secure`)")
    kafka_sasl_mechanism: str | None = Field(
        default=None, validation_alias="KAFKA_SASL_MECHANISM",
        description="KAFKA_SASL_MECHANISM: e.g. SCRAM-SHA-512")
    kafka_sasl_username: str | None = Field(default=None, validation_alias="KAFKA_SASL_USERNAME",
                                            description="KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr | None = Field(
        default=None, validation_alias="KAFKA_SASL_PASSWORD",
        description="KAFKA_SASL_PASSWORD: never logged (SecretStr)")
    topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$",
                              description="HAZARD_TOPIC_PREFIX: prepended to every topic name, "
                              "to run several isolated engines (tests, demos) on one broker")
    instance_id: str | None = Field(
        default=None, description="HAZARD_INSTANCE_ID: a stable id for this worker (Kafka static "
        "group membership): a restarted worker takes its partitions back at once, without "
        "waiting for its old session to time out and without a second rebalance. Give each "
        "worker its own.")
    app_id: str = Field(default="hazard-engine", description="HAZARD_APP_ID: Faust app and group id")
    rules_dir: Path = Field(default=REPO_ROOT / "rules", description="HAZARD_RULES_DIR")
    topics_file: Path = Field(default=REPO_ROOT / "topics" / "topics.yaml",
                              description="HAZARD_TOPICS_FILE")
    data_dir: Path = Field(default_factory=lambda: cache_root() / "worker",
                           description="HAZARD_DATA_DIR: Faust's local data")
    store: Literal["memory", "rocksdb"] = Field(
        default="memory", description="HAZARD_STORE: where the worker keeps its tables. memory: "
        "rebuilt from their changelogs at every start (about 3,500 states a second here); "
        "rocksdb: on local disk under HAZARD_DATA_DIR, so a restarted worker reads only what "
        "its changelogs gained since, and a million open hazards recover in seconds instead of "
        "minutes. Give each worker its own HAZARD_DATA_DIR.")
    replication_factor: int = Field(default=1, ge=1, description="HAZARD_REPLICATION_FACTOR")
    min_insync_replicas: int = Field(default=1, ge=1, description="HAZARD_MIN_INSYNC_REPLICAS")
    max_record_bytes: int = Field(default=1024 * 1024, ge=1024,
                                  description="HAZARD_MAX_RECORD_BYTES: larger events are rejected")
    log_level: str = Field(default="info", pattern="^(debug|info|warn|warning|error)$",
                           description="HAZARD_LOG_LEVEL")
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
    decide: bool = Field(
        default=True, description="HAZARD_DECIDE: run the decision agent and the clocks; "
        "false runs intake only (validate, de-duplicate, append to the timeline), as the "
        "benchmark's intake rung does")
    test_poison: str | None = Field(
        default=None, description="HAZARD_TEST_POISON: a test hook, inert unless set: "
        "'intake:MARK,decide:MARK2' makes that agent raise on records carrying MARK, as a bug "
        "would (see engine/deadletter.py). Never set it in production.")
    broker_retry_max_s: float = Field(default=10.0, gt=0,
                                      description="HAZARD_BROKER_RETRY_MAX_S: longest retry pause")
