"""The kinds of subject a worker keeps state for, whichever runtime carries the records.

Each `Core` names a pure decision function, how a stored state decodes, and
how a due clock becomes a timeline entry. Both runtimes build them here, so
the hazard and alert rules are wired once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

from engine import codec
from engine.alerts import Alert, AlertRules, alert_clock_entry, decide_alert
from engine.contract.outputs import ALERTS_CAP
from engine.decide.core import decide
from engine.enterprise.core import decide_enterprise
from engine.enterprise.coverage import EnterpriseRules
from engine.enterprise.links import with_alert_links, with_hazard_links
from engine.enterprise.state import EnterpriseFile
from engine.enterprise.view import enterprise_place
from engine.feeds.index import Place, alert_place, hazard_place
from engine.intake.process import TIMELINE
from engine.intake.timeline import encode
from engine.kernel.outputs import Out
from engine.kernel.replay import clock_entry
from engine.kernel.targets import lead_department
from engine.plan.rules import PlanRules
from engine.plan.tracking import PlanTown, PlanTracking, decide_plan, plan_place, with_plan_links
from engine.ruleset import Rules
from engine.store import unpack

# Table names, as their changelog topics carry them.
TABLES = {"hazard": "hazards", "alert": "alerts", "enterprise": "enterprises", "plan": "plans"}
SEEN_TABLE = "intake-seen"
# The history tables of the kinds whose history is kept apart from their states (engine/store.py).
HISTORY_TABLES = {"hazard": "hazards-history", "alert": "alerts-history"}


@dataclass(frozen=True, slots=True)
class Core:
    """One kind of subject the decision stage keeps state for: its pure core and how to store it."""

    kind: str
    decide: Callable[[Any, dict[str, Any]], tuple[Any, list[Out]]]
    decode: Callable[[bytes], Any]  # for the decision: a history stays undecoded (engine/store.py)
    clock_entry: Callable[[str, int], dict[str, Any]]
    place: Callable[[Any], Place]  # where the feeds' index files a state (engine/feeds/index.py)
    # The same decision on a state handed over (`decide(..., owned=True)`): changed in place, not
    # copied first. The decide stage uses it on the state it has just decoded for this one entry.
    decide_owned: Callable[[Any, dict[str, Any]], tuple[Any, list[Out]]] | None = None


def build_cores(rules: Rules, alert_rules: AlertRules | None,
                plan: PlanRules | None = None) -> dict[str, Core]:
    """The hazard and enterprise cores, and the alert core when alert rules are loaded.

    The hazard and alert cores are wrapped so that what changes about an
    enterprise's hazard or alert is also filed under the enterprise (engine/enterprise/links.py).
    With `plan`, key enterprises' coverage clocks run (engine/enterprise/coverage.py), and with
    its `annual` section the plan core tracks each town's year (engine/plan/tracking.py), counting
    the inspections the enterprise core links to it.
    """
    enterprise_rules = (EnterpriseRules(rules, plan.coverage, plan.credit) if plan is not None
                        else EnterpriseRules(rules, None, None))
    annual = plan.annual if plan is not None else None
    def enterprise_decide(st: Any, e: dict[str, Any], owned: bool = False) -> tuple[Any, list[Out]]:
        return decide_enterprise(st, e, enterprise_rules, owned=owned)

    def enterprise_owned(st: Any, e: dict[str, Any]) -> tuple[Any, list[Out]]:
        return enterprise_decide(st, e, owned=True)

    cores = {"hazard": Core("hazard", with_hazard_links(lambda st, e: decide(st, e, rules), rules),
                            partial(unpack, lazy=True), clock_entry,
                            lambda h: hazard_place(h, lead_department(h, rules)),
                            with_hazard_links(lambda st, e: decide(st, e, rules, owned=True), rules)),
             "enterprise": Core("enterprise", (with_plan_links(enterprise_decide, annual)
                                               if annual is not None else enterprise_decide),
                                partial(unpack, kind=EnterpriseFile, lazy=True),
                                partial(clock_entry, kind="enterprise"),
                                lambda f: enterprise_place(f, rules),
                                (with_plan_links(enterprise_owned, annual)
                                 if annual is not None else enterprise_owned))}
    if plan is not None and annual is not None:
        tracking = PlanTracking(annual, rules.reference, plan.version)
        cores["plan"] = Core("plan", lambda st, e: decide_plan(st, e, tracking),
                             lambda raw: unpack(raw, PlanTown), partial(clock_entry, kind="plan"),
                             lambda p: plan_place(p, annual.lead_department))
    if alert_rules is not None:
        cores["alert"] = Core("alert", with_alert_links(lambda st, e: decide_alert(st, e, alert_rules)),
                              partial(unpack, kind=Alert, lazy=True), alert_clock_entry,
                              partial(alert_place, rules=alert_rules),
                              with_alert_links(lambda st, e: decide_alert(st, e, alert_rules, owned=True)))
    return cores


def record_value(out: Out) -> bytes:
    """The bytes of an output record: a CAP document as its XML, any other output as JSON."""
    return out.event["xml"].encode("utf-8") if out.topic == ALERTS_CAP else encode(out.event)


class Decision(NamedTuple):
    """What the rules decided for one timeline entry: the subject's core, its state before and after."""

    core: Core
    entry: dict[str, Any]
    state: Any  # as decoded; handed over to the decision, so only `new is state` is worth asking
    new: Any
    outs: list[Out]


def decide_entry(cores: dict[str, Core], tables: Mapping[str, Mapping[bytes, bytes]],
                 key: bytes | None, value: bytes | None,
                 histories: Mapping[str, Mapping[bytes, bytes]] | None = None,
                 held: Mapping[tuple[str, bytes | None], Any] | None = None,
                 position: tuple[int, int] | None = None) -> Decision | None:
    """Apply one timeline record to its subject's stored state; None when no rules act on its kind.

    `histories` are the history tables by kind: the state reads its history's
    chunks from there, and only when a decision needs the whole history (a
    referral's evidence). `held` has the states that earlier entries of the
    same batch reached, not stored yet, by (kind, key): a subject found there
    is decided on from that state instead of the table's. `position` is the
    record's timeline partition and offset: the entry carries it (`position`),
    and a link it causes names it as its `cause`, for the window that tells a
    link sent again from one sent before (docs/redelivery.md). Raises whatever
    the entry or the rules raise: the runtime dead-letters it.
    """
    entry = codec.loads(value)
    if position is not None:
        entry["position"] = {"topic": TIMELINE, "partition": position[0], "offset": position[1]}
    core = cores.get(entry.get("subject_kind"))
    if core is None:
        return None  # an inspection is recorded in the timeline; no rules act on it
    if held is not None and (core.kind, key) in held:
        state = held[(core.kind, key)]
    else:
        raw = tables[core.kind].get(key)
        history = histories.get(core.kind) if histories is not None else None
        state = (None if raw is None else core.decode(raw) if history is None
                 else core.decode(raw, history=history))
    # The state was decoded (or reached) for this entry alone: the core may change it rather than
    # copy it; the caller keeps only what the decision returns.
    new, outs = (core.decide_owned or core.decide)(state, entry)
    return Decision(core, entry, state, new, outs)
