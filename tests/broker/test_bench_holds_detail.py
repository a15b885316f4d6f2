"""`python -m bench.holds --bootstrap`: a detail page's outputs, read from a real broker."""

from __future__ import annotations

import asyncio

import pytest

from bench import holds
from engine.harness import Namespace

pytestmark = pytest.mark.broker


def test_the_detail_step_finds_its_subjects_outputs_and_times_each_view(namespace: Namespace) -> None:
    rows = asyncio.run(holds.detail_outputs(namespace.bootstrap, 8_003, views=2))
    # 8,003 escalations of 4,000 subjects in turn over a year: HZ-00007 has two of them, the 8th
    # and the 4,008th (stamped about half a year ago); none in the last 30 days.
    assert [(row["read"], row["outputs"]) for row in rows] == [
        ("from the start", 2), ("from the start", 2), ("the last 30 days", 0), ("the last 30 days", 0)]
    assert all(row["wall_ms"] > 0 and row["longest_hold_ms"] >= 0 for row in rows)
