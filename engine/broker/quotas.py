"""Kafka client quotas from topics/quotas.yaml: read and checked, put in force, and shown.

The HTTP intake has its own limit per token (engine/http/limits.py); a field app
that publishes to the intake topics directly is bounded by the broker, which
throttles a client past its quota (KIP-13, KIP-124) whether or not the client
honours the throttle time it is told. The quotas are set with AlterClientQuotas
(Kafka 2.6 and later), which aiokafka does not carry, so its request is declared
here, and read back with DescribeClientQuotas until the broker has them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError
from aiokafka.protocol.admin import DescribeClientQuotasRequest
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Boolean, Float64, Int16, Int32, Schema, String
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.errors import EngineError, problems_in_words
from engine.tools.kafka import connection

DEFAULT = "<default>"  # Kafka's default entity: every user (or client id) without an entry of its own
USER, CLIENT_ID = "user", "client-id"  # the entity types, as Kafka names them on the wire
KEYS = ("producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate")

Entity = tuple[tuple[str, str | None], ...]  # ((type, name or None for the default), ...)


class QuotasError(EngineError):
    """The quotas file cannot be read, or the broker refused a quota."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1)
    client_id: str | None = Field(default=None, min_length=1)
    producer_byte_rate: float | None = Field(default=None, gt=0)
    consumer_byte_rate: float | None = Field(default=None, gt=0)
    request_percentage: float | None = Field(default=None, gt=0)
    controller_mutation_rate: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _limits_something(self) -> _Entry:
        if all(getattr(self, key) is None for key in KEYS):
            raise ValueError(f"a quota needs at least one of {', '.join(KEYS)}")
        return self


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quotas: list[_Entry]


@dataclass(frozen=True)
class Quota:
    """The limits of one entity: a user, or a user's client id (either may be Kafka's default)."""

    entity: Entity  # its parts sorted by type, as `described` gives them
    values: dict[str, float]

    def __str__(self) -> str:
        return who(self.entity)


def who(entity: Entity) -> str:
    """An entity in words: the user first, then the client id."""
    parts = sorted(entity, key=lambda part: part[0] != USER)
    return ", ".join(f"{kind} {DEFAULT if name is None else name}" for kind, name in parts)


def _name(value: str) -> str | None:
    return None if value == DEFAULT else value


def load_quotas(path: Path) -> tuple[Quota, ...]:
    """The quotas a file declares; QuotasError names what is wrong with it."""
    try:
        parsed = _File.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise QuotasError(f"{path}: cannot read quotas: {exc}") from exc
    except ValidationError as exc:
        raise QuotasError(f"{path}: {problems_in_words(exc.errors())}") from exc
    quotas = []
    for e in parsed.quotas:
        parts = [(USER, _name(e.user))] + ([(CLIENT_ID, _name(e.client_id))] if e.client_id else [])
        quotas.append(Quota(tuple(sorted(parts, key=lambda part: part[0])),
                            {k: getattr(e, k) for k in KEYS if getattr(e, k) is not None}))
    entities = [q.entity for q in quotas]
    if len(entities) != len(set(entities)):
        raise QuotasError(f"{path}: an entity has two entries; Kafka would keep only the last")
    return tuple(quotas)


# What the worker must be able to do under any quota: at 10,000 events a second it writes about
# 4 records an event of up to a few KB (timeline entries, marks, outputs, states and their changelogs)
# and reads back as much on a recovery. Below these a quota would slow the escalations themselves.
ENGINE_FLOOR = {"producer_byte_rate": 128.0 * 2**20, "consumer_byte_rate": 128.0 * 2**20,
                "request_percentage": 100.0}
ANONYMOUS = "ANONYMOUS"  # Kafka's principal for every connection that did not authenticate


def engine_slowed(quotas: tuple[Quota, ...], principals: tuple[str, ...]) -> list[str]:
    """Each limit of `quotas` that would slow the engine's own principals, in words; none: fine.

    Kafka resolves each kind of limit apart, taking for a connection the most
    specific entry that sets it: the user's own with its client id, the user's
    own for any client id (`<default>`), the user's own, then the default
    user's in the same order. An entry of the principal's own that covers all
    its client ids hides every default user's entry of that kind; otherwise the
    default user's may govern some of its connections, and each that could is checked.
    """
    said: list[str] = []
    for principal in principals:
        own = [q for q in quotas if (USER, principal) in q.entity]
        for key, floor in ENGINE_FLOOR.items():
            setting = [q for q in own if key in q.values]
            if not any(q.entity in (((USER, principal),), ((CLIENT_ID, None), (USER, principal)))
                       for q in setting):
                setting += [q for q in quotas if (USER, None) in q.entity and key in q.values]
            said += [f"{q} sets {key}={_number(q.values[key])}, which would slow the engine's principal "
                     f"{principal} (it needs at least {_number(floor)}): give {principal} an entry of "
                     "its own above that" for q in setting if q.values[key] < floor]
    return said


def refuse_engine_slowed(quotas: tuple[Quota, ...], principals: tuple[str, ...], *,
                         authenticated: bool, override: str = "--allow-engine-limits applies them anyway",
                         ) -> None:
    """Raise QuotasError when `quotas` would slow the engine's principals (`engine_slowed`). Without
    authentication the broker names the worker's connections ANONYMOUS, as any other client's.
    `override` ends the message: how the caller's user can go on regardless."""
    if not authenticated and engine_slowed(quotas, (ANONYMOUS,)):
        raise QuotasError(
            f"not applied: these settings log in without SASL, so the broker names the worker's "
            f"connections {ANONYMOUS}, as it names every field app's, and these quotas would slow the "
            "worker with them; limits by principal need logins (`hazard-engine broker up --secure`, "
            f"docs/field-apps.md); {override}")
    slowed = engine_slowed(quotas, principals)
    if slowed:
        raise QuotasError("not applied: " + "; ".join(slowed) + f"; {override}")


_ENTITY = Array(("entity_type", String("utf-8")), ("entity_name", String("utf-8")))


class _AlterClientQuotasResponse_v0(Response):  # noqa: N801 - aiokafka's naming of versions
    API_KEY = 49
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("entries", Array(("error_code", Int16), ("error_message", String("utf-8")), ("entity", _ENTITY))),
    )


class _AlterClientQuotasRequest_v0(RequestStruct):  # noqa: N801
    API_KEY = 49
    API_VERSION = 0
    RESPONSE_TYPE = _AlterClientQuotasResponse_v0
    SCHEMA = Schema(
        ("entries", Array(("entity", _ENTITY),
                          ("ops", Array(("key", String("utf-8")), ("value", Float64), ("remove", Boolean))))),
        ("validate_only", Boolean),
    )


class _AlterClientQuotas(Request[_AlterClientQuotasRequest_v0]):
    API_KEY = 49

    def __init__(self, quotas: tuple[Quota, ...], removed: dict[Entity, tuple[str, ...]]) -> None:
        self._quotas, self._removed = quotas, removed

    def build(self, request_struct_class: type[_AlterClientQuotasRequest_v0]) -> _AlterClientQuotasRequest_v0:
        ops: dict[Entity, list[tuple[str, float, bool]]] = {
            q.entity: [(k, v, False) for k, v in q.values.items()] for q in self._quotas}
        for entity, keys in self._removed.items():
            ops.setdefault(entity, []).extend((k, 0.0, True) for k in keys)
        entries: list[tuple[Any, ...]] = [(list(entity), changes) for entity, changes in ops.items()]
        return request_struct_class(entries, False)


async def described(client: AIOKafkaClient) -> dict[Entity, dict[str, float]]:
    """Every client quota the broker holds, by entity (its parts sorted by type, as in a `Quota`)."""
    response = await client.send(client.get_random_node(), DescribeClientQuotasRequest([], False))
    if response.error_code:
        raise QuotasError(f"the broker would not describe its quotas: error {response.error_code} "
                          f"{response.error_message}")
    return {tuple(sorted(((t, n) for t, n in entity), key=lambda part: part[0])): dict(values)
            for entity, values in response.entries}


async def put_in_force(client: AIOKafkaClient, quotas: tuple[Quota, ...], timeout: float,
                       *, replace: bool = False) -> None:
    """Set `quotas` on the broker, and wait until it describes them. With `replace`, the limits the
    broker holds for these users and their client ids that the file does not set are removed too
    (a quota taken out of the file is then lifted); other users' quotas are left alone, unless
    the file sets Kafka's default user: that one covers every user, so the file speaks for all of
    them and the broker is left with its quotas alone (an entry more specific than the default,
    such as one per client id, would otherwise still win over it)."""
    users = {name for q in quotas for kind, name in q.entity if kind == USER}
    everyone = None in users
    removed: dict[Entity, tuple[str, ...]] = {}
    if replace:
        wanted = {q.entity: q.values for q in quotas}
        for entity, values in (await described(client)).items():
            if everyone or any(kind == USER and name in users for kind, name in entity):
                gone = tuple(k for k in values if k not in wanted.get(entity, {}))
                if gone:
                    removed[entity] = gone
    if not quotas and not removed:
        return
    response = await client.send(client.get_random_node(), _AlterClientQuotas(quotas, removed))
    failed = [f"{who(tuple(map(tuple, entity)))}: error {code} {message}"
              for code, message, entity in response.entries if code]
    if failed:
        raise QuotasError("the broker refused quotas: " + "; ".join(failed))
    deadline = time.monotonic() + timeout
    while True:
        have = await described(client)
        missing = [q for q in quotas if {k: have.get(q.entity, {}).get(k) for k in q.values} != q.values]
        lingering = [e for e, keys in removed.items() if set(keys) & set(have.get(e, {}))]
        if not missing and not lingering:
            return
        if time.monotonic() > deadline:
            raise QuotasError(f"quotas not in force after {timeout:.0f}s: "
                              + "; ".join([*map(str, missing), *map(who, lingering)]))
        await asyncio.sleep(0.1)


async def reconcile(bootstrap: str, auth: Mapping[str, Any], quotas: tuple[Quota, ...] | None,
                    timeout: float, *, replace: bool = False) -> dict[Entity, dict[str, float]]:
    """Log in to the broker, put `quotas` in force (`put_in_force`; None: change nothing) and
    return the quotas it then holds. Setting quotas takes a principal allowed to alter the
    cluster's configuration (ALTER_CONFIGS on the cluster; the local secure broker's `admin`)."""
    client = connection(bootstrap, auth, request_timeout_ms=int(timeout * 1000))
    try:
        await client.bootstrap()
        if quotas is not None:
            await put_in_force(client, quotas, timeout, replace=replace)
        return await described(client)
    except KafkaError as exc:
        raise QuotasError(f"the broker at {bootstrap} did not answer: {exc}") from exc
    finally:
        await client.close()


def limits(values: dict[str, float]) -> str:
    """An entity's limits in words, whole numbers without a decimal point."""
    return ", ".join(f"{k}={_number(v)}" for k, v in sorted(values.items()))


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


def table(held: dict[Entity, dict[str, float]]) -> list[str]:
    """One line a quota the broker holds, for `hazard-engine quotas show`."""
    lines = sorted(f"{who(entity)}: {limits(values)}" for entity, values in held.items())
    return lines or ["no client quotas: every client may send and fetch as fast as the broker goes"]
