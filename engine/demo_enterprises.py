"""The demo's part 3 (issue 17): the district's enterprises registered, a month's draw, one file.

The simulated district's 60 enterprises are registered and classified (every
fifth a key enterprise, on its coverage cycle); once the worker has filed
them, the random draw (双随机、一公开) for the next month is made and recorded,
re-run from its record as an auditor would, and the file (一企一档) of the
enterprise with most hazards is printed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.clocks.timesource import TimeSource
from engine.harness import Namespace, produce, wait_drained
from engine.plan.draw import rerun
from engine.plan.rules import load_plan
from engine.ruleset import load_rules
from engine.simulate import District
from engine.tools import plan, show

RISK = ("red", "orange", "yellow", "blue")
SECTORS = ("industry_trade", "hazardous_chemicals", "construction", "gas")
SUPERVISOR = {"id": "sup-demo", "role": "supervisor", "name": "区安监局"}


def records(district: District, towns: list[str], at: datetime) -> list[tuple[bytes, bytes]]:
    """A registration and a classification for each of the district's enterprises."""
    out = []
    for n, (uscc, name) in enumerate(district.enterprises):
        for kind, data in (
            ("registered", {"uscc": uscc, "name": name, "sector": SECTORS[n % len(SECTORS)],
                            "location": {"town": towns[n % len(towns)]},
                            "legal_representative": f"Legal Rep {n}", "by": SUPERVISOR}),
            ("classified", {"uscc": uscc, "risk_class": RISK[n % 4], "key_enterprise": n % 5 == 0,
                            "decided_by": SUPERVISOR, "decided_at": at.isoformat()})):
            event = {"specversion": "1.0", "id": f"demo-ent-{kind}-{n}", "source": "/apps/register",
                     "type": f"safety.enterprise.{kind}", "time": at.isoformat(), "subject": uscc,
                     "data": data}
            out.append((uscc.encode(), json.dumps(event, ensure_ascii=False).encode()))
    return out


def run_part(ns: Namespace, start: datetime, clock: TimeSource, rules_dir: Path,
             say: Callable[[str], None]) -> bool:
    """Register, draw, audit and show; True when each step gave what it should."""
    rules = load_rules(rules_dir)
    plan_rules = load_plan(rules_dir, rules.reference)
    district = District(start, seed=2026)  # the same enterprises as part 2's hazards name
    asyncio.run(produce(ns.bootstrap, ns.topic("enterprise.records"),
                        records(district, sorted(rules.reference.towns), start)))
    asyncio.run(wait_drained(ns, idle_timeout=60))
    say(f"   registered and classified {len(district.enterprises)} enterprises (every fifth a key one)")
    say("   hazard-engine plan draw --period 2027-01 --seed demo-2027-01 --record")
    drew = plan.run_draw(ns.bootstrap, ns.prefix, ns.name, "2027-01", "demo-2027-01", plan_rules,
                         record=True, as_json=False, now=clock.now())
    recorded = asyncio.run(plan.recorded_draws(ns.bootstrap, ns.prefix))
    audited = bool(recorded) and rerun(recorded[-1], plan_rules) == recorded[-1]["picks"]
    say(f"   an auditor's re-run of the recorded draw gives the same list: {'yes' if audited else 'NO'}")
    files = asyncio.run(plan.latest_files(ns.bootstrap, ns.name))
    busiest: Any = max(files, key=lambda f: (len(f.hazards) + f.closed, f.id), default=None)
    if busiest is None:
        return False
    say(f"   hazard-engine show --enterprise {busiest.id}")
    shown = show.run_enterprise(ns.bootstrap, ns.prefix, ns.name, busiest.id, False, now=clock.now())
    return drew == 0 and audited and shown == 0 and len(recorded[-1]["picks"]) > 0
