"""The decide stage asks the stdlib logger's level before it builds a decision line; the answer
must be the one structlog's filter gives, or operators would lose lines (or the check spare nothing)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog

from engine import logs
from engine.stream import runtime


@pytest.fixture
def restored_logging() -> Iterator[None]:
    saved = structlog.get_config()
    root, stage = logging.getLogger(), logging.getLogger("engine.stream")
    handlers, level, stage_level = list(root.handlers), root.level, stage.level
    try:
        yield
    finally:
        structlog.configure(**saved)
        root.handlers[:] = handlers
        root.setLevel(level)
        stage.setLevel(stage_level)


def _lines_at(level: str, stream: io.StringIO, stage_level: int = logging.NOTSET) -> tuple[bool, str]:
    logs.configure(level)
    logging.getLogger("engine.stream").setLevel(stage_level)
    for handler in logging.getLogger().handlers:  # the worker's JSON handler, onto a buffer
        handler.setStream(stream)  # type: ignore[attr-defined]
    asked = runtime._LOGGER.isEnabledFor(logging.INFO)
    runtime.log.info("decision", event_id="e-1", subject="HZ-1", topic="escalations")
    return asked, stream.getvalue()


@pytest.mark.usefixtures("restored_logging")
@pytest.mark.parametrize(("level", "written"), [("info", True), ("debug", True), ("warning", False)])
def test_the_stage_asks_the_logger_that_writes_its_lines(level: str, written: bool) -> None:
    asked, out = _lines_at(level, io.StringIO())
    assert asked is written
    assert ('"event": "decision"' in out) is written
    if written:
        assert '"logger": "engine.stream"' in out and '"subject": "HZ-1"' in out


@pytest.mark.usefixtures("restored_logging")
def test_a_level_set_on_the_stages_logger_alone_is_what_the_stage_asks() -> None:
    """Root at info, the stages' own logger at warning: no line, and the stage knows it."""
    asked, out = _lines_at("info", io.StringIO(), logging.WARNING)
    assert not asked and out == ""
