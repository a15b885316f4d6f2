"""Complete dispatch: every event type of the contract whose subject a core keeps has its handler."""

from __future__ import annotations

import pytest
from decide_fixtures import RULES, report

from engine.alerts.core import HANDLERS as ALERT_HANDLERS
from engine.contract.envelope import EVENT_TYPES
from engine.decide.core import decide
from engine.decide.lifecycle import HANDLERS as HAZARD_HANDLERS
from engine.decide.lifecycle import UnknownEntryType
from engine.intake.timeline import FINDING_TYPE
from engine.settings import REPO_ROOT

CORES = {"hazard": HAZARD_HANDLERS, "alert": ALERT_HANDLERS}
SCHEMAS = {p.stem for p in (REPO_ROOT / "topics" / "schemas").glob("*.json")}


@pytest.mark.parametrize("name", sorted(EVENT_TYPES), ids=str)
def test_every_contract_event_type_of_a_hazard_or_an_alert_has_a_handler(name: str) -> None:
    """A type the contract routes to the hazard or alert core is handled there, by its full name."""
    kind = EVENT_TYPES[name].subject_kind
    if kind in CORES:
        assert name in CORES[kind], f"{name}: no handler in the {kind} core"
    else:
        assert name not in HAZARD_HANDLERS and name not in ALERT_HANDLERS


def test_the_handlers_name_only_types_of_the_contract() -> None:
    """No handler waits for a type the contract does not have (the finding is the intake's own)."""
    for kind, handlers in CORES.items():
        extra = set(handlers) - {n for n, t in EVENT_TYPES.items() if t.subject_kind == kind}
        assert extra == ({FINDING_TYPE} if kind == "hazard" else set())
    assert set(EVENT_TYPES) <= SCHEMAS  # and each intake type has its schema in topics/


def test_an_entry_of_a_type_without_a_handler_is_refused_not_ignored() -> None:
    """An unknown type raises (the runtime dead-letters it) instead of being recorded as nothing."""
    state, _ = decide(None, report("HZ-T", "2026-11-02 09:00"), RULES)
    entry = {**report("HZ-T", "2026-11-02 10:00"), "type": "safety.hazard.renamed"}
    with pytest.raises(UnknownEntryType, match="'safety.hazard.renamed'"):
        decide(state, entry, RULES)
