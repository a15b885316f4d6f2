"""`python -m bench.board` runs, and measures what it says it does."""

from __future__ import annotations

import asyncio

import pytest

from bench import board
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT


def test_the_board_benchmark_reads_every_hazard_and_pages_a_long_record(
        capsys: pytest.CaptureFixture[str]) -> None:
    rules = load_rules(REPO_ROOT / "rules")
    got = asyncio.run(board.board_numbers(board.hazards(60, 4, rules)))
    assert got["hazards"] == 60 and got["cpu_ms"] >= 0 and got["longest_hold_ms"] >= 0
    rows = board.one_record(board.hazards(1, 700, rules), "HZ-0000000")
    by_name = {row["record"].split(" (")[0]: row["bytes"] for row in rows}
    # No record in a list's view; the default page (500 steps) is smaller than the largest (all 700).
    assert by_name["none"] < by_name["default page"] < by_name["largest page"]
    assert board.main(["--hazards", "20", "--steps", "2", "--long", "30"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("board numbers over 20 hazards") == 1 and "the loop held at most" in printed
