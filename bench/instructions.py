"""`python -m bench.instructions [--events N] [--tree DIR ...]`: the pure path in instructions, not seconds.

On this benchmark's shared 2-core machine one run of `python -m bench.core`
swings by 20-30% against the next (the same tree measured 107 and 188 µs an
event within minutes), more than most single changes to the pure path are
worth. An instruction count does not swing: Valgrind's callgrind counts the
instructions the Python process executes (`Ir`), the same for the same code
and input, run after run.

For each tree it runs N workload events through the same pure path as
`bench.core` (intake, then decode, decide, output encoding and packing for
each hazard and alert entry) three times in callgrind: setup only, setup and
intake, setup and the whole path. The differences, divided by N, are the
instructions an event costs in intake and in the rest. Setup (imports, rules,
building the workload, and the whole path over the `--warm` events before the
N) is the same in the three and drops out. Without the warm events a tree that
pays more once looked dearer by that sum divided by N: each function written
per state class (engine/kernel/state.py `written`) is compiled at its first
use, about 6 million instructions apiece, and the first events fill the
calendar's and the time texts' caches.

Give two trees (for example a `git worktree` of the commit before a change,
and this one) to compare them on the same input. A tree takes about two and a
half minutes at 300 events and four at 2,000 (callgrind runs the code some 50
times slower); it needs `valgrind` (Debian: `apt-get install valgrind`). Like
`bench.core` it needs no broker. The counts include `bench.core`'s own part
timers, the same in every tree.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

from engine.settings import REPO_ROOT

# What each of the three runs does after the common setup: nothing, intake, the whole path. The
# setup ends with the whole path over the `warm` events before the measured ones, so that what is
# paid once (imports done late, caches filled, functions written per state class) is paid in all
# three and drops out; the measured events go on from the states the warm ones left.
_RUN = """
import sys
from bench.core import Clock, Path_, intake
from bench.workload import build
from engine import codec
from engine.settings import Settings
path, items = Path_(Settings()), build({warm} + {events})
clock = Clock()
tables = {{kind: {{}} for kind in path.cores}}
histories = {{kind: {{}} for kind in path.cores}}

def decide_all(entries):
    for value in entries:
        entry = codec.loads(value)
        kind = entry["subject_kind"]
        if kind in tables:
            table = tables[kind]
            table[entry["subject"]] = path.step(kind, table.get(entry["subject"]), entry, clock,
                                                histories[kind])[0]

decide_all(intake(items[:{warm}], path.rules, clock))
if {stage} >= 1:
    entries = intake(items[{warm}:], path.rules, clock)
if {stage} >= 2:
    decide_all(entries)
"""
_COLLECTED = re.compile(r"Collected : (\d+)")
# The same for the three runs: no bytecode written by the first for the others to skip compiling,
# and one hash seed, so that sets and dicts of strings are laid out alike.
_ENV = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}


def count(tree: Path, events: int, stage: int, warm: int) -> int:
    """The instructions one run of `stage` (0 setup, 1 intake, 2 the whole path) executes in `tree`,
    over `events` workload events after `warm` decided in the setup."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c",
         _RUN.format(events=events, stage=stage, warm=warm)],
        cwd=tree, env=_ENV | {"PYTHONPATH": str(tree)}, capture_output=True,
        text=True, check=True)
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind gave no count in {tree}: {done.stderr[-2000:]}")
    return int(found[1])


def measure(tree: Path, events: int, warm: int) -> dict[str, int]:
    """Instructions per event in intake, in the rest of the path, and in all, for one tree."""
    setup, intake, whole = (count(tree, events, stage, warm) for stage in (0, 1, 2))
    return {"intake": (intake - setup) // events, "decide_path": (whole - intake) // events,
            "total": (whole - setup) // events}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2_000, help="workload events (default 2,000)")
    parser.add_argument("--warm", type=int, default=300,
                        help="events decided before the measured ones, in every run (default 300)")
    parser.add_argument("--tree", type=Path, action="append", default=None,
                        help="a checkout to measure (repeatable; default: this one)")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    print(f"instructions per event, the workload's {args.events:,} events after its first {args.warm:,}")
    print(f"{'tree':<40}{'intake':>12}{'decide path':>14}{'total':>12}")
    for tree in args.tree or [REPO_ROOT]:
        row = measure(tree.resolve(), args.events, args.warm)
        print(f"{str(tree):<40}{row['intake']:>12,}{row['decide_path']:>14,}{row['total']:>12,}")


if __name__ == "__main__":
    main()
