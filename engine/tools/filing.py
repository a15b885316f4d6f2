"""`hazard-engine filing --month YYYY-MM`: the monthly filing of supervision results (periodic_filing).

Reads every hazard's latest state from the hazard table's changelog, builds
one filing per sector-leading department with engine/decide/filing.py, prints
them, and with `--publish` writes them to `referrals.discipline`. Their ids
come from the department and the month, so publishing a month again sends
records a subscriber recognises as the same filings.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from engine.contract.outputs import REFERRALS_DISCIPLINE, record_headers
from engine.cores import HISTORY_TABLES, TABLES, record_value
from engine.decide.filing import monthly_filings
from engine.decide.state import Hazard
from engine.kernel.outputs import Out
from engine.ruleset.compiled import Rules
from engine.store import unpack
from engine.tools.kafka import opened, producer, read_to_end, require_topic


async def latest_hazards(bootstrap: str, app_id: str,
                         auth: Mapping[str, Any] | None = None) -> list[Hazard]:
    """Every hazard's latest state in the table's changelog (a deleted key drops out), with its
    whole history from the history table's changelog."""
    latest: dict[bytes, bytes | None] = {}
    for r in await read_to_end(bootstrap, f"{app_id}-{TABLES['hazard']}-changelog", auth):
        latest[r.key] = r.value
    history = {r.key: r.value for r in await read_to_end(
        bootstrap, f"{app_id}-{HISTORY_TABLES['hazard']}-changelog", auth)}
    return [unpack(v, history=history) for v in latest.values() if v]


async def _publish(bootstrap: str, prefix: str, outs: list[Out], auth: Mapping[str, Any] | None) -> None:
    await require_topic(bootstrap, prefix + REFERRALS_DISCIPLINE, auth)
    async with opened(producer(bootstrap, auth)) as prod:
        sent = [await prod.send(prefix + o.topic, record_value(o), key=o.key.encode(),
                                headers=record_headers(o.topic)) for o in outs]
        await asyncio.gather(*sent)


def run(bootstrap: str, prefix: str, app_id: str, month: str, rules: Rules, publish: bool,
        as_json: bool, auth: Mapping[str, Any] | None = None) -> int:
    """Build (and optionally publish) the month's filings; print them; return 0."""
    hazards = asyncio.run(latest_hazards(bootstrap, app_id, auth))
    outs = monthly_filings(hazards, month, rules)
    if publish:
        asyncio.run(_publish(bootstrap, prefix, outs, auth))
    if as_json:
        print(json.dumps([o.event for o in outs], ensure_ascii=False, indent=2))
    else:
        for o in outs:
            d = o.event["data"]
            print(f"{d['subject_id']:<22} {len(d['timeline']):>4} steps  {d['reason']}")
        print(f"{len(outs)} filings for {month} from {len(hazards)} hazards"
              + (f", published to {prefix}referrals.discipline" if publish else " (not published)"))
    return 0
