"""`hazard-engine watch`: escalations as they happen, one readable line each, coloured by tier.

It reads the escalations topic straight from Kafka with a group-less consumer
(like `tail`), so it needs broker access but no token and no worker; the
filters are the HTTP feed's (engine/feeds/filters.py), the department filter
matching a department target or the sector's lead department, and `--tier` with
`--level` one filter on how grave an escalation is (`engine.feeds.filters.grave_enough`):
`--tier orange --tier red` keeps the alerts' escalations of levels II and I.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from engine.contract.outputs import ESCALATIONS
from engine.feeds.filters import BadRequest, Filters, escalation_departments, escalation_visible
from engine.feeds.tokens import Scope
from engine.logs import use_colour
from engine.progress import is_terminal
from engine.tools.kafka import NoTopic
from engine.tools.tail import follow, printable
from engine.zh.words import ACTIONS

# Tier and response level (IV lowest .. I highest) share one colour scale.
COLOURS = {"blue": "34", "yellow": "33", "orange": "38;5;208", "red": "1;31",
           "IV": "34", "III": "33", "II": "38;5;208", "I": "1;31"}
EVERYTHING = Scope("watch", district=True)  # broker access already sees every topic


def _short(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_escalation(event: dict[str, Any], colour: bool, zh: bool = False, cut: bool = True) -> str:
    """One line about an escalation: time, tier, action, subject, town, targets and reason (with
    `zh`, the action in Chinese and the reason too where the engine gives it). With `cut` (on a
    terminal) the reason is cut to fit a line; into a pipe or a file it goes whole, since the end
    of a reason is often its number or its deadline."""
    data = event.get("data") or {}
    reason = (zh and data.get("reason_zh")) or data.get("reason", "")
    level = str(data.get("tier") or data.get("response_level") or "-")
    badge = printable(f"{level.upper():<6}")
    if colour and level in COLOURS:
        badge = f"\x1b[{COLOURS[level]}m{badge}\x1b[0m"
    when = str(event.get("time") or "")[:16].replace("T", " ")
    targets = ", ".join(t.get("name") or t.get("id", "?") for t in data.get("targets") or [])
    action = str(data.get("action", "?"))
    action = ACTIONS.get(action, action) if zh else action
    reason = _short(str(reason), 60 if zh else 100) if cut else str(reason)
    # Every part but the colour is the record's own text: shown, never obeyed by the terminal.
    shown = printable(f"{action:<20} {data.get('subject_id', '?')}  {data.get('town') or '-'}  → "
                      f"{targets or '-'}  {reason}")
    return f"{printable(when)}  {badge} {shown}"


def sector_leads(rules_dir: Path | None = None) -> Callable[[str | None], str | None]:
    """A function from a sector to its lead department, from the rules' reference data."""
    from engine.ruleset import load_rules
    from engine.settings import REPO_ROOT

    reference = load_rules(rules_dir or REPO_ROOT / "rules").reference

    def lead(sector: str | None) -> str | None:
        try:
            return reference.sector_lead(sector).id if sector else None
        except (KeyError, ValueError, AttributeError):
            return None
    return lead


def wanted(event: Any, filters: Filters, lead: Callable[[str | None], str | None] | None) -> bool:
    """Whether an escalation passes the command's filters."""
    data = event.get("data") if isinstance(event, dict) else None
    if not isinstance(data, dict) or event.get("type") != "safety.escalation.raised":
        return False
    leads = [d for d in [lead(data.get("sector"))] if d] if lead else []
    return escalation_visible(data, escalation_departments(data, leads), filters, EVERYTHING)


async def watch(bootstrap: str, topic: str, filters: Filters, from_beginning: bool,
                idle_timeout: float | None, out: TextIO = sys.stdout,
                colour: bool | None = None, auth: Mapping[str, Any] | None = None,
                rules_dir: Path | None = None, zh: bool = False) -> int:
    """Print matching escalations until stopped or idle for `idle_timeout` seconds."""
    colour = use_colour(out) if colour is None else colour
    lead = sector_leads(rules_dir) if filters.departments else None
    try:
        async for _tp, rec in follow(bootstrap, topic, from_beginning, idle_timeout, auth):
            try:
                event = json.loads(rec.value or b"")
            except ValueError:
                continue
            if wanted(event, filters, lead):
                print(format_escalation(event, colour, zh, cut=is_terminal(out)), file=out, flush=True)
    except NoTopic as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def run(bootstrap: str, prefix: str, town: list[str] | str | None, department: list[str] | str | None,
        tier: list[str] | str | None, from_beginning: bool, idle_timeout: float | None,
        auth: Mapping[str, Any] | None = None, rules_dir: Path | None = None, zh: bool = False,
        level: list[str] | str | None = None) -> int:
    """Run `watch` on the namespace's escalations topic; Ctrl-C ends it quietly."""
    def values(v: list[str] | str | None) -> list[str]:
        return [] if not v else [v] if isinstance(v, str) else list(v)

    query = {"town": values(town), "department": values(department), "tier": values(tier),
             "level": values(level)}
    try:
        filters = Filters.from_query({k: ",".join(v) for k, v in query.items() if v})
    except BadRequest as exc:
        print(f"hazard-engine watch: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(watch(bootstrap, prefix + ESCALATIONS, filters, from_beginning,
                                 idle_timeout, auth=auth, rules_dir=rules_dir, zh=zh))
    except KeyboardInterrupt:
        return 130
