"""`python -m bench.holds` runs, and measures what it says it does."""

from __future__ import annotations

import asyncio
import json

import pytest

from bench import holds
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT


def test_the_holds_benchmark_reads_every_hazard_pages_a_long_record_and_posts_batches(
        capsys: pytest.CaptureFixture[str]) -> None:
    rules = load_rules(REPO_ROOT / "rules")
    got = asyncio.run(holds.board_numbers(holds.hazards(60, 4, rules)))
    assert got["hazards"] == 60 and got["cpu_ms"] >= 0 and got["longest_hold_ms"] >= 0
    rows = holds.one_record(holds.hazards(1, 700, rules), "HZ-0000000")
    by_name = {row["record"].split(" (")[0]: row["bytes"] for row in rows}
    # No record in a list's view; the default page (500 steps) is smaller than the largest (all 700).
    assert by_name["none"] < by_name["default page"] < by_name["largest page"]
    [(_, malformed), (_, well_formed)] = holds.intake_batches(30)
    at = holds.epoch(json.loads(holds.EXAMPLE.read_text())["time"])
    assert asyncio.run(holds.post_batch(malformed, at, rules))[0] == 400  # every event refused
    assert asyncio.run(holds.post_batch(well_formed, at, rules))[0] == 503  # checked, then no broker
    assert holds.main(["--hazards", "20", "--steps", "2", "--long", "30"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("board numbers over 20 hazards") == 1 and "the loop held at most" in printed
