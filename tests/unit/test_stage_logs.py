"""The worker's own log lines are written straight to stderr, not through stdlib logging; each is the
JSON line operators and the fault suite read, in the same order of keys, and the level still holds."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import logs


@pytest.fixture
def restored_logging() -> Iterator[None]:
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        structlog.configure(**saved)
        root.handlers[:] = handlers
        root.setLevel(level)


def _lines(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if line]


@pytest.mark.usefixtures("restored_logging")
@pytest.mark.parametrize(("level", "written"),
                         [("debug", True), ("info", True), ("warn", False), ("warning", False)])
def test_a_decision_line_is_one_json_line_at_info_and_below(
        level: str, written: bool, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(level)
    structlog.get_logger("engine.stream").info("decision", event_id="e-1", subject="HZ-1 湖溪",
                                               partition=2, offset=7)
    err = capsys.readouterr().err
    if not written:
        assert err == ""
        return
    assert '"event": "decision"' in err and '"offset": 7' in err and "湖溪" in err  # what tests grep
    (line,) = _lines(err)
    assert list(line) == ["event_id", "subject", "partition", "offset", "event", "level", "logger",
                          "timestamp"]
    assert (line["level"], line["logger"]) == ("info", "engine.stream")
    assert line["timestamp"].endswith("Z")


@pytest.mark.usefixtures("restored_logging")
def test_exceptions_warnings_and_library_records_keep_their_lines(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("warning")
    log = structlog.get_logger("engine.stream")
    log.info("decision", subject="dropped")
    log.warning("recovery_failed_retrying", attempt=2)
    try:
        raise ValueError("bad entry")
    except ValueError:
        log.exception("decision_failed", subject="HZ-2")
    logging.getLogger("aiokafka").error("broker %s gone", "b-1")  # a library's stdlib record
    warning, failure, library = _lines(capsys.readouterr().err)
    assert (warning["event"], warning["level"], warning["attempt"]) == ("recovery_failed_retrying",
                                                                        "warning", 2)
    assert (failure["event"], failure["level"]) == ("decision_failed", "error")
    assert failure["exception"].startswith("Traceback") and "ValueError: bad entry" in failure["exception"]
    assert (library["event"], library["level"], library["logger"]) == ("broker b-1 gone", "error", "aiokafka")


# Text that tries the separators: a colon or comma next to where a string's quotes go, quotes,
# backslashes, control characters, and CJK as the field apps send it.
_tricky = st.text(alphabet=st.sampled_from([":", ",", '"', "\\", " ", "a", "\n", "\x1f", "湖", "\u2028"]))
_text = st.one_of(st.text(), _tricky)
_values = st.one_of(_text, st.integers(), st.booleans(), st.none(),
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.lists(st.one_of(_text, st.integers()), max_size=3),
                    st.dictionaries(_text, st.integers(), max_size=2))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.one_of(_text, st.integers()), _values, max_size=8))
def test_the_worker_s_renderer_writes_the_line_json_renderer_writes(event: dict) -> None:
    full = structlog.processors.JSONRenderer(ensure_ascii=False)
    assert logs.FlatJson()(None, "info", dict(event)) == full(None, "info", dict(event))


def test_a_plain_decision_line_is_joined_without_json_renderer() -> None:
    renderer = logs.FlatJson()
    renderer.full = None  # type: ignore[assignment] - a line that reached it would raise
    line = renderer(None, "info", {"event_id": "e-1", "subject": "HZ-1 湖溪", "action": None,
                                   "offset": 7, "first": True, "event": "decision"})
    assert line == ('{"event_id": "e-1", "subject": "HZ-1 湖溪", "action": null, "offset": 7, '
                    '"first": true, "event": "decision"}')


def _isoformat_stamp(ns: int) -> str:
    """What TimeStamper(fmt="iso", utc=True) writes for the instant `ns`: datetime cut to microseconds."""
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)
    return at.isoformat().replace("+00:00", "Z")


@settings(max_examples=500, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=4_102_444_800 * 10**9), min_size=1, max_size=20),
       st.integers(min_value=0, max_value=3))
def test_the_stamp_is_what_structlog_timestamper_writes(instants: list[int], whole: int) -> None:
    # Whole seconds (no fraction written) and the same second again, forwards and back.
    instants = [*instants, instants[0] // 10**9 * 10**9, instants[0] + 1000 * whole, instants[0]]
    stamp = logs.UtcStamp()
    for ns in instants:
        assert stamp.at(ns) == _isoformat_stamp(ns)


def test_the_stamper_stamps_now() -> None:
    before = _isoformat_stamp(time.time_ns())
    event = logs.UtcStamp()(None, "info", {"event": "x"})
    after = _isoformat_stamp(time.time_ns())
    assert list(event) == ["event", "timestamp"]
    assert before[:19] <= event["timestamp"][:19] <= after[:19] and event["timestamp"].endswith("Z")
