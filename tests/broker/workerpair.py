"""Two workers in one group: which partitions each holds, and waiting for them to share the work."""

from __future__ import annotations

import json
import time

from engine.harness import Worker

PARTITIONS = 4  # topics/topics.yaml: every intake topic, the timeline and the changelogs


def owned(worker: Worker) -> set[int]:
    """The partitions of the worker's last recovered assignment, from its worker_ready log line."""
    ready = [json.loads(line) for line in worker.log_text().splitlines()
             if '"event": "worker_ready"' in line]
    return set(ready[-1]["partitions"]) if ready else set()


def split_between(first: Worker, second: Worker, timeout: float = 120) -> tuple[set[int], set[int]]:
    """Wait until the two workers hold disjoint halves of every partition and both answer ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine, theirs = owned(first), owned(second)
        if (mine and theirs and not mine & theirs and mine | theirs == set(range(PARTITIONS))
                and first.readyz()[0] == 200 and second.readyz()[0] == 200):
            return mine, theirs
        time.sleep(0.3)
    raise AssertionError(f"the partitions were not split: {owned(first)} and {owned(second)}")
