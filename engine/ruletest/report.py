"""Rendering a rule test's outcome for people: times as offsets from start, outputs one per line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.ruleset.calendar import SHANGHAI
from engine.ruletest.capview import cap_view
from engine.ruletest.match import show


def offset(seconds: int) -> str:
    """A time relative to the test's start, e.g. '+8d 14:59:59' or '-0d 01:00:00'."""
    sign = "-" if seconds < 0 else "+"
    days, rest = divmod(abs(seconds), 86400)
    return f"{sign}{days}d {rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"


def wall(at: int) -> str:
    """An instant as Asia/Shanghai wall time, to the second."""
    return datetime.fromtimestamp(at, SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def when(at: int, start: int) -> str:
    """An instant as its offset from start and its wall time, aligned for a column."""
    return f"{offset(at - start):>14}  {wall(at)}"


def summary(event: dict[str, Any]) -> str:
    """The gist of one output event: its type and the fields a supervisor looks at first."""
    if event["type"] == "cap":
        v = cap_view(event["xml"])
        return (f"{'cap':<19} {v.get('parameters', {}).get('alertId')}  {v.get('msgType')} "
                f"{v.get('status')} #{v.get('sequence')} {v.get('severity')}")
    d = event["data"]
    kind = event["type"].removeprefix("safety.")
    if kind == "escalation.raised":
        gist = f"{d.get('action')} {d.get('tier') or d.get('response_level')} {d.get('rule_id')}"
    elif kind == "supervision.listed":
        gist = f"{d.get('notice_no')} deadline {d.get('deadline')}"
    elif kind == "supervision.lifted":
        gist = f"{d.get('notice_no')}"
    elif kind in ("referral.judicial", "referral.judicial_withdrawn"):
        gist = f"{d.get('offence')} order {d.get('order_no')} to {show([d.get('recipient')])}"
    elif kind in ("enforcement.proposed", "enforcement.withdrawn"):
        review = "legal review first" if d.get("needs_legal_review") else "no legal review"
        gist = f"{d.get('measure')} {(d.get('enterprise') or {}).get('uscc')} ({review}) {d.get('rule_id')}"
    else:
        gist = f"respondents {show(d.get('respondents'))}"
    return f"{kind:<19} {event.get('subject')}  {gist}"


def window(low: int, high: int, start: int) -> str:
    """A want's window, in offsets and wall times."""
    if low == high:
        return f"at {offset(low - start)} ({wall(low)})"
    return f"within [{offset(low - start)}, {offset(high - start)}] ({wall(low)} .. {wall(high)})"


def distance(at: int, low: int, high: int) -> str:
    """Where an output fell relative to a window, in words."""
    if at < low:
        return f"{offset(low - at)[1:]} before the window"
    if at > high:
        return f"{offset(at - high)[1:]} after the window"
    return "in the window"
