"""`hazard-engine quotas show|apply`: the broker's client quotas against topics/quotas.yaml."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiokafka.errors import KafkaError

from engine.broker.quotas import QuotasError, described, load_quotas, put_in_force, table
from engine.tools.kafka import connection


async def _run(bootstrap: str, auth: Mapping[str, Any], path: Path | None, replace: bool,
               timeout: float) -> list[str]:
    quotas = load_quotas(path) if path is not None else None
    client = connection(bootstrap, auth, request_timeout_ms=int(timeout * 1000))
    try:
        await client.bootstrap()
        if quotas is not None:
            await put_in_force(client, quotas, timeout, replace=replace)
        return table(await described(client))
    except KafkaError as exc:
        raise QuotasError(f"the broker at {bootstrap} did not answer: {exc}") from exc
    finally:
        await client.close()


def run(bootstrap: str, auth: Mapping[str, Any], path: Path | None, replace: bool = False,
        timeout: float = 30.0) -> int:
    """Put the quotas of `path` in force (none when it is None), then print what the broker holds.
    Setting quotas takes a principal allowed to alter the cluster's configuration (ALTER_CONFIGS
    on the cluster; the local secure broker's `admin`)."""
    for line in asyncio.run(_run(bootstrap, auth, path, replace, timeout)):
        print(line)
    return 0
