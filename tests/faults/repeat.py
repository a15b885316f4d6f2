"""Run the ten-kill fault case again and again, with other seeds, and print one accounting line a run.

A fault case that passes once proves little: the record issue 20 lost went
missing in one run of many. This is the nightly proof by repetition:

    .venv/bin/python tests/faults/repeat.py --runs 20 --hog 1

Each run is a fresh pytest process on `tests/faults/test_worker_kills.py`
with `FAULTS_SEED` set (a different district, noise and kill schedule) and
its accounting appended to a report file. `--hog N` keeps N busy processes
beside the run, so that the worker, the broker and the test compete for the
CPU as on a loaded machine. It stops by itself; the exit status is non-zero
if any run lost, invented or changed anything.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CASE = "tests/faults/test_worker_kills.py"


def _spin(stop_at: float) -> None:
    """Keep one core busy until `stop_at` (a CPU hog with an end)."""
    while time.time() < stop_at:
        sum(range(10_000))


def line(seed: int, code: int, seconds: float, row: dict | None) -> str:
    """One run as one line: seed, verdict, the accounting's counts and the recovery times."""
    if row is None:
        return f"seed={seed} FAILED exit={code} {seconds:.0f}s (no accounting: see the pytest output)"
    extras = row.get("extras", {})
    verdict = "ok" if code == 0 else "FAILED"
    ready = extras.get("recoveries_ready_s") or []
    return (f"seed={seed} {verdict} {seconds:.0f}s events_in={row['events_in']} accepted={row['accepted']} "
            f"rejected={row['rejected']} duplicates={row['duplicates']} "
            f"escalations={row['escalations']} missing={row['missing']} extra={row['extra']} "
            f"states_differ={row['states_differ']} ready_s={min(ready, default=0)}-{max(ready, default=0)}")


def run_once(seed: int, hog: int, budget_s: float, python: str) -> tuple[int, float, dict | None]:
    """Run the case with `seed`, `hog` busy processes beside it; its exit code, time and row."""
    with tempfile.TemporaryDirectory(prefix=f"repeat-{seed}-") as tmp:
        report = Path(tmp) / "rows.jsonl"
        env = dict(os.environ, FAULTS_SEED=str(seed), HAZARD_FAULTS_REPORT=str(report))
        hogs = [multiprocessing.Process(target=_spin, args=(time.time() + budget_s,), daemon=True)
                for _ in range(hog)]
        for p in hogs:
            p.start()
        began = time.monotonic()
        try:
            proc = subprocess.run([python, "-m", "pytest", CASE, "-q", "-p", "no:cacheprovider",
                                   f"--basetemp={tmp}/pytest"], cwd=REPO, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=budget_s)
            code, output = proc.returncode, proc.stdout
        except subprocess.TimeoutExpired as exc:
            code, output = 124, str(exc.stdout or "")
        finally:
            for p in hogs:
                p.terminate()
        seconds = time.monotonic() - began
        rows = [json.loads(x) for x in report.read_text().splitlines()] if report.exists() else []
        if code != 0:
            (Path(tempfile.gettempdir()) / f"repeat-seed-{seed}.log").write_text(output)
        return code, seconds, rows[-1] if rows else None


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the case `--runs` times, print a line each and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="how many runs (default 20)")
    parser.add_argument("--first-seed", type=int, default=1,
                        help="seed of the first run; the others count up from it (default 1)")
    parser.add_argument("--hog", type=int, default=0,
                        help="busy processes beside each run, to load the CPU (default 0)")
    parser.add_argument("--budget", type=float, default=900,
                        help="seconds one run may take before it counts as failed (default 900)")
    args = parser.parse_args(argv)
    failed = 0
    for seed in range(args.first_seed, args.first_seed + args.runs):
        code, seconds, row = run_once(seed, args.hog, args.budget, sys.executable)
        failed += code != 0
        print(line(seed, code, seconds, row), flush=True)
    print(f"{args.runs - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
