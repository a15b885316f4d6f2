"""`uuid5_text` gives the very text of `str(uuid.uuid5(...))`, so no stored or sent id changes."""

from __future__ import annotations

import random
import uuid

from engine.intake.process import output_id
from engine.intake.timeline import entry_id
from engine.uuid5 import uuid5_text

NS = uuid.UUID("6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")


def test_same_text_as_the_uuid_module() -> None:
    """Over empty, ASCII, Chinese, long and random names, with the namespace as UUID or bytes."""
    rng = random.Random(5)
    names = ["", "a", "火灾\x1f/apps/x\x1fHZ-1", "x" * 5000]
    names += ["".join(chr(rng.randint(1, 0xD7FF)) for _ in range(rng.randint(0, 40))) for _ in range(2000)]
    for name in names:
        want = str(uuid.uuid5(NS, name))
        assert uuid5_text(NS, name) == want
        assert uuid5_text(NS.bytes, name) == want


def test_intake_ids_are_those_of_before() -> None:
    """The intake's two ids, computed as they were with the uuid module."""
    assert entry_id("/apps/a", "e-1", "HZ-1") == str(uuid.uuid5(NS, "/apps/a\x1fe-1\x1fHZ-1"))
    ns = uuid.UUID("0d6c1a4e-7f3b-4b8a-9e21-5c4d3b2a1f09")
    want = str(uuid.uuid5(ns, "rejected\x1fhazard.reports/0/7"))
    assert output_id("rejected", "hazard.reports/0/7") == want
