"""Structured JSON logs for the engine and for the libraries it runs on (aiokafka, aiohttp).

The worker logs JSON lines; the other commands log for a person with
structlog's console renderer, coloured only on a terminal and never when
NO_COLOR is set (https://no-color.org).
"""

from __future__ import annotations

import logging
import logging.config
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
import structlog

from engine.progress import is_terminal
from engine.settings import ToolSettings


class UtcStamp:
    """What `structlog.processors.TimeStamper(fmt="iso", utc=True)` writes, formatted once a second.

    The worker writes a line for every output it decides, each stamped like
    "2026-12-01T12:22:05.118834Z" (no fraction at a whole second, as isoformat
    writes it). The date and time to the second change once a second, so they
    are formatted then and kept; a line only adds its microseconds: 4.2 µs a
    line in TimeStamper, about 1 here (timeit). The second and its text are kept
    as one tuple, so a line logged from another thread never pairs a new second
    with the old text.
    """

    __slots__ = ("_cached",)

    def __init__(self) -> None:
        self._cached: tuple[int, str] = (-1, "")

    def __call__(self, logger: Any, name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict["timestamp"] = self.at(time.time_ns())
        return event_dict

    def at(self, ns: int) -> str:
        """The stamp of an instant in nanoseconds since the epoch (cut to microseconds, as datetime)."""
        second, micro = divmod(ns // 1000, 1_000_000)
        cached_second, head = self._cached
        if second != cached_second:
            head = datetime.fromtimestamp(second, UTC).isoformat()[:19]
            self._cached = (second, head)
        return f"{head}.{micro:06d}Z" if micro else f"{head}Z"


_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    UtcStamp(),
]


class ClientFaults(logging.Filter):
    """Turns aiohttp's traceback for a malformed request into one warning line without a traceback.

    A header too long or a request line that is not HTTP is the client's fault: the
    server already answered 400, and a traceback in the log would read as an engine bug.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError

        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "bad_http_request: %s", (str(exc).splitlines()[0][:200],)
            record.exc_info = record.exc_text = None
        return True


def logging_config(level: str = "info") -> dict[str, Any]:
    """A dictConfig that renders every stdlib record as one JSON line on stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": _SHARED,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(ensure_ascii=False),
                ],
            }
        },
        "filters": {"client_faults": {"()": ClientFaults}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stderr", "filters": ["client_faults"]}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        # aiokafka repeats connection errors many times a second; the engine says it once.
        "loggers": {"aiokafka": {"level": "ERROR" if level.lower() != "debug" else "DEBUG"}},
    }


class JsonLines:
    """Where the engine's own structlog events go: each one JSON line, written straight to stderr.

    They used to pass through stdlib logging (a LogRecord, a search for the calling
    frame, a second LogRecord in the formatter, the handler's lock): about 80 µs a
    line, paid for every decision at `info` (docs/benchmarks.md). The line is the
    same; the libraries' stdlib records still go through the handler `logging_config` sets.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name  # what add_logger_name writes as "logger"

    def msg(self, line: str) -> None:
        """Write one rendered line; sys.stderr is looked up per line, as pytest swaps it."""
        stream = sys.stderr
        stream.write(line + "\n")
        stream.flush()

    debug = info = warning = error = critical = msg


_PLAIN = (str, int, bool, type(None))


class FlatJson:
    """structlog's last processor for the worker: the line `JSONRenderer(ensure_ascii=False)` writes.

    A worker at `info` writes a line for every output it decides (three or four an
    event). Most lines hold only strings, integers, booleans and None: orjson
    writes those compactly, and json's separators (", " and ": ", which
    operators' and the tests' greps match) are put back by replacing `":` and
    `,"`. That is exact when each occurs only where a key ends and where a member
    ends, so what the replacing added is checked (n keys, n - 1 separators), and
    nothing may be escaped (so no string holds a quote). Any other line goes to
    JSONRenderer whole: every line is byte for byte the one it writes
    (tests/unit/test_stage_logs.py compares them over generated lines). A decision
    line of 12 keys: 8.8 µs in JSONRenderer, 4.5 here (timeit, best of 5).
    """

    def __init__(self) -> None:
        self.full = structlog.processors.JSONRenderer(ensure_ascii=False)

    def __call__(self, logger: Any, name: str, event_dict: dict[str, Any]) -> str:
        for value in event_dict.values():
            if type(value) not in _PLAIN:
                return self.full(logger, name, event_dict)
        try:
            compact = orjson.dumps(event_dict)
        except (TypeError, orjson.JSONEncodeError):  # a key that is not a string, an int over 64 bits
            return self.full(logger, name, event_dict)
        spaced = compact.replace(b'":', b'": ').replace(b',"', b', "')
        # Each key adds one `":`, each member after the first one `,"`: any more came from a string.
        if b"\\" in compact or len(spaced) - len(compact) != 2 * len(event_dict) - 1:
            return self.full(logger, name, event_dict)
        return spaced.decode()


def json_lines(*args: Any) -> JsonLines:
    """structlog's logger factory for the worker: named as `get_logger(name)` says.

    Every module of the engine names its logger; one that does not is logged as
    "engine" rather than found by a search of the calling frames.
    """
    return JsonLines(args[0] if args else "engine")


def configure(level: str = "info") -> None:
    """Route structlog and stdlib logging to JSON lines on stderr."""
    structlog.configure(
        processors=[*_SHARED, structlog.processors.format_exc_info, FlatJson()],
        logger_factory=json_lines,
        # Methods below the level do nothing at all: no event is built only to be dropped.
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    logging.config.dictConfig(logging_config(level))


def use_colour(stream: TextIO | None, no_color: bool | None = None) -> bool:
    """Whether to colour output on `stream`: only on a terminal, and never when NO_COLOR is set.

    `no_color` stands for NO_COLOR; None reads it from the environment's ToolSettings.
    """
    if no_color is None:
        no_color = ToolSettings.load().no_color
    return not no_color and is_terminal(stream)


class _CurrentStderr:
    # Looked up per write, so a later swap of sys.stderr (pytest capture) is followed.
    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_console() -> None:
    """Route structlog to readable lines on stderr, for the commands a person runs (not the worker).

    structlog's own default writes to stdout and decides on colour by stdout,
    which leaks log lines into `$(hazard-engine broker up)` and colours a log
    redirected to a file whenever stdout happens to be a terminal.
    """
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
            structlog.dev.ConsoleRenderer(colors=use_colour(sys.stderr)),
        ],
        logger_factory=structlog.PrintLoggerFactory(_CurrentStderr()),
    )
