"""An enforcement proposal's due day, and the latest it may truly fall when it is approximate.

A proposal's `due_at` counts the measure's working days from the step that made
it. Counted into a year whose holiday notice is not yet in the rules' calendar,
the count may end days before the notice would put it, so the proposal also
sends `due_at_latest`; when the count is certain it sends no such field.
"""

from __future__ import annotations

from engine.contract.outputs import EnforcementProposed
from engine.ruleset import load_rules
from engine.ruletest.run import run_file
from engine.settings import REPO_ROOT

RULES = load_rules(REPO_ROOT / "rules")
TESTS = REPO_ROOT / "rules" / "tests"


def proposals(name: str) -> list[dict]:
    result = run_file(TESTS / name, RULES)
    assert result.error is None and not result.failures, (result.error, result.failures)
    found = [g.out.event["data"] for g in result.got if g.out.event["type"] == "safety.enforcement.proposed"]
    for data in found:
        EnforcementProposed.model_validate(data)  # the contract's model reads it, extension and all
    return found


def test_a_proposal_counted_through_a_year_with_its_notice_sends_no_latest_day() -> None:
    found = proposals("general_ladder.yaml")
    assert [d["measure"] for d in found] == ["fine", "suspend_for_overhaul"]
    assert all("due_at_latest" not in d for d in found)


def test_a_utility_stop_proposal_in_a_known_year_sends_no_latest_day_either() -> None:
    found = proposals("utility_stop_notice.yaml")
    assert found and all("due_at_latest" not in d for d in found)


def test_a_proposal_counted_into_2027_sends_the_latest_day_after_its_due_day() -> None:
    [fine] = proposals("enforcement_spring_festival_2027.yaml")
    model = EnforcementProposed.model_validate(fine)
    assert model.due_at is not None and model.due_at_latest is not None
    assert (model.due_at_latest - model.due_at).days == 2
