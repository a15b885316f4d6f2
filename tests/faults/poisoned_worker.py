"""The worker with poison in its stages: the fault suite's entry point, kept out of the product.

`python -m faults.poisoned_worker` (run with `tests/` on the path) starts the
same worker as `hazard-engine worker`, except that its intake stage raises on
an intake record carrying `INTAKE_MARK` and its decide stage raises on a
timeline entry carrying `DECIDE_MARK`, as a bug in the engine's code would.
The runtime calls the stages by their module-level names at the moment of the
call, so wrapping those names is enough; the product has no switch for it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INTAKE_MARK = b"POISON-INTAKE"
DECIDE_MARK = b"POISON-DECIDE"


class PoisonForTests(RuntimeError):
    """Raised by a poisoned stage for a record carrying its marker."""


@dataclass(frozen=True, slots=True)
class Poison:
    """Markers that make a stage raise, by stage ("intake", "decide")."""

    markers: dict[str, bytes]

    def check(self, stage: str, value: bytes | None) -> None:
        """Raise if `value` carries the marker planted for `stage`."""
        marker = self.markers.get(stage)
        if marker and value and marker in value:
            raise PoisonForTests(f"poisoned {stage} stage: the record carries {marker.decode()!r}")


POISON = Poison({"intake": INTAKE_MARK, "decide": DECIDE_MARK})
ARGV = ("-m", "faults.poisoned_worker")  # for `engine.harness.Worker`, in place of the worker's
TESTS = Path(__file__).resolve().parents[1]


def poisoned_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with `tests/` on the path, so that the child interpreter finds this module."""
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, (str(TESTS), env.get("PYTHONPATH"))))}


def _poisoned_intake(real: Callable[..., Any]) -> Callable[..., Any]:
    def intake(record: Any, *args: Any, **kwargs: Any) -> Any:
        POISON.check("intake", record.value)
        return real(record, *args, **kwargs)
    return intake


def _poisoned_decide(real: Callable[..., Any]) -> Callable[..., Any]:
    def decide(cores: Any, tables: Any, key: bytes | None, value: bytes | None,
               *args: Any, **kwargs: Any) -> Any:
        POISON.check("decide", value)
        return real(cores, tables, key, value, *args, **kwargs)
    return decide


def plant(*modules: Any) -> None:
    """Wrap `decide_intake` and `decide_entry` where each runtime module looks them up."""
    for module in modules:
        module.decide_intake = _poisoned_intake(module.decide_intake)
        module.decide_entry = _poisoned_decide(module.decide_entry)


def main() -> int:
    """Run the worker with both stages poisoned; its exit code."""
    from engine.stream import runtime
    from engine.worker import run_worker

    plant(runtime)
    return run_worker()


if __name__ == "__main__":
    sys.exit(main())
