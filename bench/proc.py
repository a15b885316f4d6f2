"""CPU time and memory of a process tree, read from /proc: what every rung of the ladder reports."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _children(pid: int) -> list[int]:
    try:
        found = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found.extend(int(c) for c in text)
        return found
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []


def tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def rss_bytes(pid: int) -> int:
    """Resident set size of one process, in bytes (0 if it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (FileNotFoundError, ProcessLookupError):
        return 0


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its live descendants."""
    return sum(cpu_seconds(p) for p in tree(pid))


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and its live descendants."""
    return sum(rss_bytes(p) for p in tree(pid))


@dataclass
class Sampler:
    """Samples a process tree's RSS in a thread; keeps the peak. Use as a context manager."""

    pid: int
    every_s: float = 0.2
    peak_rss: int = 0
    cpu_at_start: float = 0.0
    cpu_at_end: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self.cpu_at_start = tree_cpu_seconds(self.pid)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, tree_rss_bytes(self.pid))
            time.sleep(self.every_s)

    def __exit__(self, *exc: object) -> None:
        self.cpu_at_end = tree_cpu_seconds(self.pid)
        self._stop.set()
        if self._thread:
            self._thread.join()

    @property
    def cpu_seconds(self) -> float:
        """CPU seconds the tree used between entering and leaving."""
        return self.cpu_at_end - self.cpu_at_start
