"""`python -m bench.enterprises` runs, and its board read finds the files that refer a department."""

from __future__ import annotations

import json

import pytest

from bench import enterprises
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT
from engine.store import pack


def test_the_board_read_reads_every_file_and_finds_the_one_with_a_referral() -> None:
    from test_enterprise import _missed_once

    rules = load_rules(REPO_ROOT / "rules")
    f, _, due = _missed_once()  # its department's referral held: it stands
    table = {enterprises.uscc(n).encode(): pack(f) for n in range(3)}
    table[f.id.encode()] = pack(f)
    got = enterprises.board_read(table, rules, due)
    assert got["files"] == 4 and got["files_with_referrals"] == 4
    assert got["cpu_ms"] >= 0 and got["longest_hold_ms"] >= 0


def test_the_enterprises_benchmark_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    enterprises.main(["--enterprises", "40", "--built", "4", "--hazards", "2", "--reads", "20"])
    got = json.loads(capsys.readouterr().out)
    assert got["enterprises"] == 40 and got["board_read"]["files"] == 40
    assert got["board_read"]["files_with_referrals"] == 0  # each inspected monthly: no cycle missed
