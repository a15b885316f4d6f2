"""Liveness and readiness of a worker: what `GET /healthz` and `GET /readyz` answer.

`/healthz` says only that the process answers. `/readyz` says whether the
worker does its job: every table of its assigned partitions recovered, the
clock timer ticking, and the broker answering. Each stage reports its part
to one `Readiness` object as it happens; the pages only read it, so a probe
costs no Kafka request and no table scan, however often it comes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaClient

BROKER_STALE_S = 10.0  # a broker answer older than this no longer counts


@dataclass
class Readiness:
    """The parts of a worker's readiness, set by the stages that know them."""

    kinds: frozenset[str]  # the tables that must be recovered ("hazard", "alert")
    clocks: bool  # whether this worker runs the clock timer (HAZARD_DECIDE)
    tick_s: float
    monotonic: Callable[[], float] = time.monotonic
    recovered: set[str] = field(default_factory=set)
    last_tick: float | None = None
    clocks_held: bool = True
    broker_at: float | None = None  # when the broker last answered
    broker_error: str | None = None
    # With HAZARD_REPLICAS: whether the replica of the other partitions has read its changelogs once.
    replica_caught_up: Callable[[], bool] | None = None

    def revoked(self) -> None:
        """Partitions are being reassigned: the tables must be recovered again."""
        self.recovered.clear()

    def table_recovered(self, kind: str) -> None:
        """The table of `kind` holds every state of the partitions assigned now."""
        self.recovered.add(kind)

    def ticked(self, held: bool) -> None:
        """The clock timer ran; `held` if it waits for intake to catch up after a start."""
        self.last_tick, self.clocks_held = self.monotonic(), held

    def broker_answered(self) -> None:
        """The broker answered a metadata request just now."""
        self.broker_at, self.broker_error = self.monotonic(), None

    def broker_failed(self, error: str) -> None:
        """The broker did not answer; `error` says how."""
        self.broker_error = error

    def report(self) -> tuple[bool, dict[str, Any]]:
        """Whether the worker is ready, and a body naming each check and what is missing."""
        now = self.monotonic()
        checks: dict[str, str] = {}
        missing: list[str] = []
        waiting = sorted(self.kinds - self.recovered)
        checks["tables"] = "recovered" if not waiting else f"recovering: {', '.join(waiting)}"
        if waiting:
            missing.append("tables")
        if self.replica_caught_up is not None:
            caught_up = self.replica_caught_up()
            checks["replica"] = "caught up" if caught_up else "reading the other partitions"
            if not caught_up:
                missing.append("replica")
        if not self.clocks:
            checks["clocks"] = "off (HAZARD_DECIDE=false)"
        elif self.last_tick is None or now - self.last_tick > 5 * self.tick_s + 2.0:
            checks["clocks"] = "not ticking"
            missing.append("clocks")
        else:
            checks["clocks"] = "held until intake catches up" if self.clocks_held else "running"
        if self.broker_at is not None and now - self.broker_at <= BROKER_STALE_S:
            checks["broker"] = "reachable"
        else:
            checks["broker"] = f"unreachable: {self.broker_error or 'no answer yet'}"
            missing.append("broker")
        return not missing, {"ready": not missing, "missing": missing, "checks": checks}


class BrokerProbe:
    """Asks the broker for its metadata over one long-lived connection, within a time limit."""

    def __init__(self, bootstrap: str, auth: dict[str, Any], timeout_s: float = 3.0) -> None:
        self.bootstrap, self.auth, self.timeout_s = bootstrap, auth, timeout_s
        self.client: AIOKafkaClient | None = None  # made on the event loop, at the first check
        self.started = False

    async def check(self, readiness: Readiness) -> None:
        """Record in `readiness` whether the broker answered."""
        try:
            if self.client is None:
                self.client = AIOKafkaClient(bootstrap_servers=self.bootstrap,
                                             request_timeout_ms=int(self.timeout_s * 1000), **self.auth)
            if not self.started:
                await asyncio.wait_for(self.client.bootstrap(), self.timeout_s)
                self.started = True
            await asyncio.wait_for(self.client.fetch_all_metadata(), self.timeout_s)
        except Exception as exc:  # noqa: BLE001 - whatever failed, the broker is not reachable now

            readiness.broker_failed(f"{type(exc).__name__}: {exc}"[:200])
        else:
            readiness.broker_answered()

    async def close(self) -> None:
        """Close the probe's connection."""
        if self.client is not None:
            await self.client.close()
