"""Structured JSON logs for the engine and for the libraries it runs on (Faust, aiokafka)."""

from __future__ import annotations

import logging
import logging.config
from typing import Any

import structlog

_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


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
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        # aiokafka repeats connection errors many times a second; the engine says it once.
        "loggers": {"aiokafka": {"level": "ERROR" if level.lower() != "debug" else "DEBUG"}},
    }


def configure(level: str = "info") -> None:
    """Route structlog and stdlib logging to JSON lines on stderr."""
    structlog.configure(
        # Drop an event below the logger's level before any processor works on it.
        processors=[structlog.stdlib.filter_by_level, *_SHARED,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    logging.config.dictConfig(logging_config(level))
