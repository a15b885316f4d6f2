"""Fixtures shared by all tests: one real Kafka broker per run, and isolated namespaces.

The suite runs on three pytest-xdist workers (`-n` in pyproject.toml): most
broker and fault cases spend their time waiting on a scaled clock, not on a
core. The workers share one local broker; the controller stops it at the end
in CI if the run started it. The longest cases are handed out first, and the
fault table is gathered from every worker's reports.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from engine.broker import broker_session, local
from engine.harness import Namespace, Worker

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO.parent / "shared" / "contract" / "examples"


TIERS = {"unit": "unit", "broker": "broker", "broker_infra": "broker", "faults": "faults"}

# A hypothesis deadline is a timed assertion, and on workers sharing two cores it fails at random.
settings.register_profile("hazard-engine", deadline=None)
settings.load_profile("hazard-engine")


def _under_xdist() -> bool:
    return "PYTEST_XDIST_WORKER" in os.environ


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its tier by folder, so `-m unit`, `-m broker` or `-m faults` picks one.

    On xdist workers, also deal the long cases out (see `_deal`).
    """
    for item in items:
        folder = Path(str(item.fspath)).relative_to(REPO / "tests").parts[0]
        tier = TIERS.get(folder)
        if tier is not None:
            item.add_marker(tier)
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    if workers > 1:
        items[:] = _deal(items, workers)


def _seconds(item: pytest.Item) -> float:
    mark = item.get_closest_marker("long")
    return float(mark.args[0]) if mark else 0.0


def _deal(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """Order the tests so each xdist worker starts with its share of the long cases.

    `--dist worksteal` first hands each worker one contiguous block of the
    collection, and later moves only tests not yet started. The cases marked
    `long(seconds)` (seconds on the CI machine, for ordering only) are shared
    out longest first, each to the block with the least so far, and put at the
    head of their block; the short tests fill the blocks in their usual order.
    """
    blocks: list[list[pytest.Item]] = [[] for _ in range(workers)]
    sizes, left = [], len(items)
    for n in range(workers, 0, -1):  # the block sizes worksteal cuts, in its order
        sizes.append(left // n)
        left -= sizes[-1]
    load = [0.0] * workers
    for item in sorted((i for i in items if _seconds(i)), key=_seconds, reverse=True):
        block = min((b for b in range(workers) if len(blocks[b]) < sizes[b]), key=load.__getitem__)
        blocks[block].append(item)
        load[block] += _seconds(item)
    short = iter(i for i in items if not _seconds(i))
    for block, size in zip(blocks, sizes, strict=True):
        block.extend(next(short) for _ in range(size - len(block)))
    return [item for block in blocks for item in block]


def pytest_configure(config: pytest.Config) -> None:
    """In the controller of a CI run: note whether the local broker was already up."""
    if not _under_xdist():
        config.stash[_BROKER_WAS_UP] = local.status().running


def pytest_unconfigure(config: pytest.Config) -> None:
    """In CI, stop the local broker the run started, once every xdist worker is done with it."""
    was_up = config.stash.get(_BROKER_WAS_UP, True)
    if os.environ.get("CI") and not _under_xdist() and not was_up and not os.environ.get(
            "KAFKA_BOOTSTRAP_SERVERS") and local.status().running:
        local.down()


_BROKER_WAS_UP = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real broker: testcontainers, KAFKA_BOOTSTRAP_SERVERS, or the local one started here.

    On a developer's machine a local broker is left running for the next run.
    In CI it is stopped at the end if this run started it: by this session
    without xdist, by the controller (`pytest_unconfigure`) with it, since one
    worker finishing must not take the broker from the others.
    """
    stop = bool(os.environ.get("CI")) and not _under_xdist()
    with broker_session(stop_on_exit=stop) as bootstrap:
        yield bootstrap


# --- The fault table, from whichever worker ran each case ---------------------------------------

_ROWS: list[dict] = []  # the rows of this run, gathered where the reports arrive


@pytest.fixture(autouse=True)
def _fault_rows(request: pytest.FixtureRequest) -> Iterator[None]:
    """Attach the fault rows a test reported to its report, so the controller can print them."""
    from faults.scenario import ROWS

    before = len(ROWS)
    yield
    for row in ROWS[before:]:
        request.node.user_properties.append(("fault_row", row))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect the fault rows of finished tests (in the controller, or the only process)."""
    # The fixture adds them in its teardown, so the teardown's report is the first to carry them.
    if report.when == "teardown" and not _under_xdist():
        rows = [value for name, value in report.user_properties if name == "fault_row"]
        _ROWS.extend(rows)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show every accounted fault case of this run as one table."""
    if _ROWS:
        from faults.table import table

        terminalreporter.section("fault accounting")
        for line in table(_ROWS):
            terminalreporter.write_line(line)


class TestNamespace(Namespace):
    """A namespace whose workers take events of any time ahead of their clock, unless told.

    Tests stop or scale a worker's clock behind the events they publish, so that
    deadlines fire only where a test means them to; intake would refuse those
    events as `future` (HAZARD_FUTURE_S). tests/broker/test_event_times.py runs the check.
    """

    __test__ = False  # not a test class, whatever its name

    def env(self, **extra: str) -> dict[str, str]:
        """As `Namespace.env`, with HAZARD_FUTURE_S=0 unless `extra` sets it."""
        return super().env(**{"HAZARD_FUTURE_S": "0", **extra})


@pytest.fixture
def namespace(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Namespace]:
    """Fresh topics, consumer group and data dir for one test, on the session's broker."""
    ns = TestNamespace(kafka_bootstrap, tmp_path)
    yield ns
    asyncio.run(ns.delete_topics())


# The contract's examples are dated 2026-11-30. On the real clock a worker fires their deadlines
# once those dates pass, and a test about intake would read clock entries it never asked for; so
# the `worker` fixture's clock stands still before them. Tests of clocks set their own.
FROZEN = "2026-11-01T00:00:00+08:00"


@pytest.fixture
def worker(namespace: Namespace, tmp_path: Path) -> Iterator[Worker]:
    """A worker process for the test's namespace, its clock stopped, stopped when the test ends."""
    w = Worker(namespace.env(HAZARD_CLOCK_START=FROZEN, HAZARD_CLOCK_END=FROZEN), tmp_path / "worker.log")
    yield w
    w.stop()
