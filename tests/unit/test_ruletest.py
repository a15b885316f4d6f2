"""Rule tests: every shipped file in rules/tests/ passes, and the runner and `rules check` fail clearly."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from engine.ruleset import load_rules
from engine.ruletest import cli, run_file
from engine.ruletest.match import matches
from engine.ruletest.spec import resolve

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules"
FILES = sorted((RULES / "tests").glob("*.yaml"))

# Rule tests that assert the correct behaviour where the core has a known bug; strict, so
# the marker must go once the core is fixed.
KNOWN_CORE_BUGS: dict[str, str] = {}


@pytest.fixture(scope="module")
def rules():
    return load_rules(RULES)


def _case(path: Path):
    reason = KNOWN_CORE_BUGS.get(path.stem)
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(path, id=path.stem, marks=marks)


def test_rules_tests_are_shipped():
    assert len(FILES) >= 10


@pytest.mark.parametrize("path", [_case(p) for p in FILES])
def test_shipped_rule_test_passes(path, rules):
    result = run_file(path, rules)
    assert result.passed, cli.render(result)


LADDER = """\
name: a reminder at the wrong tier
start: 2026-11-02T09:00:00+08:00
until: 12d
events:
  - at: 0
    type: safety.hazard.reported
    data: {hazard_id: HZ-T-1, title: t, description: d, sector: fire_safety, grade_claimed: general,
           found_via: grid_patrol, location: {town: lihaiwu}, reporter: {id: gw-1, role: grid_worker}}
  - at: 1d
    type: safety.hazard.verified
    data: {hazard_id: HZ-T-1, verdict: confirmed, grade: general, by: {id: fr-1, role: inspector}}
want:
  - within: [6d, 7d]
    type: safety.escalation.raised
    match: {action: remind, tier: yellow, rule_id: ladder.blue}
"""


def _run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_a_wrong_want_fails_with_a_diff_of_wanted_and_got(tmp_path, capsys):
    path = tmp_path / "wrong.yaml"
    path.write_text(LADDER, encoding="utf-8")
    assert _run_cli(["rules", "test", str(path), "--rules-dir", str(RULES)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL {path}: a reminder at the wrong tier" in out
    assert "want[0]: at least 1 safety.escalation.raised within [+6d 00:00:00, +7d 00:00:00]" in out
    assert "matching action=remind, tier=yellow, rule_id=ladder.blue" in out
    assert "✓ action: remind" in out
    assert "✗ tier: wanted yellow, got blue" in out
    assert "every output sent" in out
    assert "2026-11-10 23:59:59  escalation.raised   HZ-T-1  notify yellow ladder.yellow" in out
    assert out.splitlines()[-1] == "0 passed, 1 failed"


def test_a_right_want_passes_and_counts(tmp_path, capsys):
    path = tmp_path / "right.yaml"
    path.write_text(LADDER.replace("tier: yellow", "tier: blue"), encoding="utf-8")
    assert _run_cli(["rules", "test", str(path), str(path), "--rules-dir", str(RULES)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2 passed, 0 failed"


@pytest.mark.parametrize(("change", "key", "words"), [
    (("    match:", "    tire: red\n    match:"), "want[0].tire", "unknown key"),
    (("  - at: 1d", "  - at: 1 day"), "events[1].at", "neither an offset"),
    (("  - at: 1d", "  - at: 24"), "events[1].at", "has no unit"),
    (("type: safety.hazard.verified", "type: safety.hazard.checked"), "events[1].type",
     "unsupported event type"),
    (("town: lihaiwu", "town: atlantis"), "events[0]", "intake rejects"),
    (("role: inspector", "role: enterprises"), "events[1]", "data.by.role"),
    (("within: [6d, 7d]", "within: [7d, 6d]"), "want[0].within", "ends before it starts"),
    (("until: 12d", "until: 12h"), "until", "before the last event"),
    # A want that no output can meet: as `count: 0` it passed whatever the engine sent.
    (("    match:", "    subject: HZ-T-2\n    match:"), "want[0].subject", "named by no event"),
    (("tier: yellow", "tier: purpel"), "want[0].match", "never 'purpel'"),
    (("tier: yellow", "teir: yellow"), "want[0].match", "has no field 'teir'"),
])
def test_a_malformed_file_names_the_file_and_key(tmp_path, rules, change, key, words):
    path = tmp_path / "bad.yaml"
    path.write_text(LADDER.replace(*change), encoding="utf-8")
    result = run_file(path, rules)
    assert not result.passed
    assert result.error is not None
    assert result.error.startswith(f"{path}: {key}: "), result.error
    assert words in result.error


def test_broken_yaml_names_the_line(tmp_path, rules):
    path = tmp_path / "broken.yaml"
    path.write_text(LADDER.replace("want:", "want: [", 1), encoding="utf-8")
    result = run_file(path, rules)
    assert result.error is not None and result.error.startswith(f"{path}: line ")


def test_rules_check_passes_on_the_shipped_rules(capsys):
    assert _run_cli(["rules", "check", "--rules-dir", str(RULES)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("rules OK: version 2026.1, 5 ladder steps (blue at -2 days, ")


@pytest.mark.parametrize(("old", "new", "key"), [
    pytest.param("    at: 3 days\n", "    at: -3 days\n", "overdue_ladder[2].at", id="ladder-backwards"),
    pytest.param("supervising_body: department:safety_bureau", "supervising_body: department:nope",
                 "listed_supervision.supervising_body", id="unknown-department"),
    pytest.param("respondents: [town_government, lead_department]",
                 "respondents: [enterprise, lead_department]",
                 "referral.listed_supervision_failed.respondents[0]", id="enterprise-respondent"),
    pytest.param('actions: [summon, "propose:fine"]', 'actions: [summon, "propose:jail"]',
                 "overdue_ladder[3].actions[1]", id="unknown-measure"),
    pytest.param('actions: [summon, "propose:fine"]', "actions: [listed_supervision, summon]",
                 "overdue_ladder[3].actions", id="general-hazard-listed"),
    pytest.param("amount_range_cny: [0, 50000]", "amount_range_cny: [50000, 0]",
                 "enforcement.fine.amount_range_cny", id="fine-range-backwards"),
])
def test_rules_check_fails_on_a_broken_copy(tmp_path, capsys, old, new, key):
    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy)
    hazards = copy / "hazards.yaml"
    text = hazards.read_text(encoding="utf-8")
    assert old in text
    hazards.write_text(text.replace(old, new, 1), encoding="utf-8")
    assert _run_cli(["rules", "check", "--rules-dir", str(copy)]) == 1
    err = capsys.readouterr().err
    assert "rules/hazards.yaml" in err and key in err, err


def test_rules_test_refuses_to_run_on_broken_rules(tmp_path, capsys):
    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy)
    (copy / "hazards.yaml").write_text("version: [\n", encoding="utf-8")
    assert _run_cli(["rules", "test", str(FILES[0]), "--rules-dir", str(copy)]) == 1
    assert "rules/hazards.yaml" in capsys.readouterr().err


def test_instants_and_matching():
    start = resolve("2026-11-02T09:00:00+08:00", 0)
    assert resolve("0", start) == start
    assert resolve("3d 2h", start) == start + 3 * 86400 + 7200
    assert resolve("-1h", start) == start - 3600
    assert resolve("2026-11-02T01:00:00Z", start) == start
    assert matches({"targets": [{"id": "b"}]}, {"targets": [{"id": "a"}, {"id": "b", "kind": "x"}]})
    assert not matches({"targets": [{"id": "c"}]}, {"targets": [{"id": "a"}]})
    assert matches("2026-11-10", "2026-11-10T23:59:59+08:00")
    assert not matches(True, 1)
