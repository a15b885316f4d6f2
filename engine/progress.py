"""A one-line progress bar for long commands, drawn only when standard error is a terminal.

A `Bar` is also a `engine.broker.install.Progress` (call it with a message),
so the commands that already report steps in words can hand it over as it is:
on a terminal each message is printed above the bar, elsewhere it is printed
as a plain line and the bar itself stays silent, so logs and pipes get no
carriage returns or escape codes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

_CLEAR = "\r\x1b[K"  # back to the start of the line, then erase it
_SPIN = "|/-\\"


def is_terminal(stream: TextIO | None) -> bool:
    """Whether `stream` is an interactive terminal (False for files, pipes and closed streams)."""
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or already closed
        return False


class Bar:
    """Counts steps towards `total` (or without one) and redraws one line at most every `interval` s."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None,
                 width: int = 28, interval: float = 0.1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.label, self.total, self.width, self.interval = label, total, width, interval
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = is_terminal(self.stream)
        self.done, self.detail = 0, ""
        self._clock, self._drawn_at, self._shown = clock, float("-inf"), False

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, message: str) -> None:
        """Print a message line; on a terminal the bar is redrawn below it."""
        if self.enabled and self._shown:
            self.stream.write(_CLEAR)
            self._shown = False
        self.stream.write(message + "\n")
        self.stream.flush()
        self._draw(force=self.done > 0)

    def step(self, count: int = 1, detail: str | None = None) -> None:
        """Record `count` more steps done, with an optional word on the latest one."""
        self.done += count
        if detail is not None:
            self.detail = detail
        self._draw()

    def close(self) -> None:
        """Draw the final state and end the line, so the next output starts on a fresh one."""
        if self.enabled and self._shown:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False

    def render(self) -> str:
        """The bar's text as it would be drawn now, without the control characters."""
        if self.total:
            filled = min(self.width, self.width * self.done // self.total)
            bar = "#" * filled + "." * (self.width - filled)
            line = f"{self.label} [{bar}] {self.done}/{self.total} {100 * self.done // self.total:3d}%"
        else:
            line = f"{self.label} {_SPIN[self.done % len(_SPIN)]} {self.done}"
        return f"{line}  {self.detail}" if self.detail else line

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = self._clock()
        finished = self.total is not None and self.done >= self.total
        # Redrawing on every step would cost more than the work itself for fast, many-step jobs.
        if not (force or finished) and now - self._drawn_at < self.interval:
            return
        self._drawn_at = now
        self.stream.write(_CLEAR + self.render()[:200])
        self.stream.flush()
        self._shown = True
