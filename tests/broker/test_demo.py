"""The main job: the demo README's first command runs, end to end, on the session's broker.

The demo checks itself (engine/demo.py `run_in`): part 1's examples accepted, rejected and
de-duplicated as the contract says; part 2's district sending every kind of output it scripts
(listed supervision, referrals, a withdrawn fine, a decision overdue, CAP documents valid against
the OASIS schema, ...); part 3's draw re-run by an auditor. A change that breaks any of that fails
here, not first on a newcomer's machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.demo import namespace, run_in
from engine.harness import Namespace


@pytest.fixture
def demo_namespace(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Namespace]:
    """The demo's own namespace (not the tests' one, which takes events of any time)."""
    ns = namespace(kafka_bootstrap, tmp_path)
    yield ns
    asyncio.run(ns.delete_topics())


@pytest.mark.long(60)
def test_the_demo_ends_where_it_should(demo_namespace: Namespace, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert run_in(demo_namespace, tmp_path) == 0, capsys.readouterr().out[-3000:]
    out = capsys.readouterr().out
    for part in ("Part 1", "Part 2", "Summary at", "Part 3",
                 "demo finished: everything ended where it should"):
        assert part in out, part
    # The summary comes after every output the engine sent, not in the middle of them.
    assert "ENFORCEMENT WITHDRAWN" in out.split("== Summary at")[0]
