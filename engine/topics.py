"""The topic declarations in topics/topics.yaml, and creating or checking them on the broker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.errors import EngineError, problems_in_words


class TopicsError(EngineError):
    """The declarations cannot be read, or the broker's topics differ from them."""


# Who stamps a record's timestamp: its producer (CreateTime) or the broker as it appends it
# (LogAppendTime). Intake topics take the broker's, the arrival a late record's duty clock counts from.
_Stamp = Literal["CreateTime", "LogAppendTime"]


class _FileDefaults(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    partitions: int = Field(ge=1)
    cleanup_policy: Literal["delete", "compact"]
    retention_ms: int = Field(ge=-1)
    max_message_bytes: int = Field(ge=1024)
    timestamp_type: _Stamp = "CreateTime"


class _FileTopic(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    role: Literal["intake", "output", "internal"]
    key: str
    partitions: int | None = Field(default=None, ge=1)
    cleanup_policy: Literal["delete", "compact"] | None = None
    retention_ms: int | None = Field(default=None, ge=-1)
    max_message_bytes: int | None = Field(default=None, ge=1024)
    timestamp_type: _Stamp | None = None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: Literal[1]
    defaults: _FileDefaults
    topics: list[_FileTopic]


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic as the engine needs it."""

    name: str
    role: str
    key: str
    partitions: int
    cleanup_policy: str
    retention_ms: int
    max_message_bytes: int
    timestamp_type: str = "CreateTime"

    def configs(self, min_insync: int) -> dict[str, str]:
        """The topic-level settings that are declared, as Kafka names them."""
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            "max.message.bytes": str(self.max_message_bytes),
            "message.timestamp.type": self.timestamp_type,
            "min.insync.replicas": str(min_insync),
        }


def load_topics(path: Path, app_id: str, prefix: str = "") -> tuple[TopicSpec, ...]:
    """Read the declarations, filling defaults, the application id and the prefix into names."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = _File.model_validate(raw)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TopicsError(f"{path}: cannot read topic declarations: {exc}") from exc
    except ValidationError as exc:
        raise TopicsError(f"{path}: {problems_in_words(exc.errors())}") from exc
    d = parsed.defaults
    specs = tuple(
        TopicSpec(
            # Faust names its own topics after the app id, which already isolates them.
            name=t.name.replace("{app_id}", app_id) if "{app_id}" in t.name else prefix + t.name,
            role=t.role, key=t.key,
            partitions=t.partitions or d.partitions,
            cleanup_policy=t.cleanup_policy or d.cleanup_policy,
            retention_ms=d.retention_ms if t.retention_ms is None else t.retention_ms,
            max_message_bytes=t.max_message_bytes or d.max_message_bytes,
            timestamp_type=t.timestamp_type or d.timestamp_type,
        )
        for t in parsed.topics
    )
    names = [s.name for s in specs]
    if len(names) != len(set(names)):
        raise TopicsError(f"{path}: a topic is declared twice")
    return specs


# How to mend a setting that topics created by an older engine lack.
_HOW = {"message.timestamp.type": " (topics created before 2026-12-04 are stamped by their producers: "
        "alter it with kafka-configs --add-config message.timestamp.type=LogAppendTime, README "
        "'Known limits')"}


async def _describe(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
    found: dict[str, dict[str, str]] = {}
    for response in await admin.describe_configs(resources):
        for resource in response.resources:
            error_code, _msg, _rtype, name, entries = resource[:5]
            if error_code == 0:
                found[name] = {entry[0]: entry[1] for entry in entries}
    return found


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str],
                            timeout_s: float = 30.0) -> None:
    # A consumer that starts before a new topic has leaders fails its first fetches.
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        topics = await admin.describe_topics(names)
        if all(t["error_code"] == 0 and t["partitions"]
               and all(p["leader"] >= 0 for p in t["partitions"]) for t in topics):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TopicsError(f"topics have no leader after {timeout_s:.0f} s: {', '.join(names)}")
        await asyncio.sleep(0.2)


async def ensure_topics(admin: AIOKafkaAdminClient, specs: tuple[TopicSpec, ...],
                        replication_factor: int, min_insync: int) -> list[str]:
    """Create the missing topics; raise TopicsError naming every setting that differs."""
    names = [s.name for s in specs]
    # Error 3 (unknown topic) means missing; anything else, such as a leader
    # still being elected for a new topic, means it exists.
    metadata = {t["topic"]: t for t in await admin.describe_topics(names)
                if t["error_code"] != 3}
    missing = [s for s in specs if s.name not in metadata]
    if missing:
        response = await admin.create_topics([
            NewTopic(s.name, s.partitions, replication_factor, topic_configs=s.configs(min_insync))
            for s in missing
        ])
        for name, code, message in (e[:3] for e in response.topic_errors):
            if code not in (0, 36):  # 36: created meanwhile by another worker
                raise TopicsError(f"cannot create topic {name!r}: error {code} {message or ''}")
        await _wait_for_leaders(admin, [s.name for s in missing])
    existing = [s for s in specs if s.name in metadata]
    configs = await _describe(admin, [s.name for s in existing]) if existing else {}
    problems = []
    for spec in existing:
        partitions = len(metadata[spec.name]["partitions"])
        if partitions != spec.partitions:
            problems.append(f"topic {spec.name!r}: partitions is {partitions} on the broker, "
                            f"declared {spec.partitions}")
        replicas = len(metadata[spec.name]["partitions"][0]["replicas"])
        if replicas < replication_factor:
            problems.append(f"topic {spec.name!r}: replication factor is {replicas} on the broker, "
                            f"wanted at least {replication_factor}")
        have = configs.get(spec.name, {})
        for setting, want in spec.configs(min_insync).items():
            if setting == "min.insync.replicas":
                continue  # a broker-wide default may serve; not a reason to refuse
            if have.get(setting) != want:
                problems.append(f"topic {spec.name!r}: {setting} is {have.get(setting)!r} on the "
                                f"broker, declared {want!r}{_HOW.get(setting, '')}")
    if problems:
        raise TopicsError(
            "existing topics differ from topics/topics.yaml; change the topic or the declaration:\n  "
            + "\n  ".join(problems)
        )
    return [s.name for s in missing]
