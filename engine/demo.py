"""`hazard-engine demo`: a broker, a worker, the contract's examples, and what became of them.

The demo runs in a namespace of its own (a topic prefix and an app id), so it
can run again and again on the same broker and always starts clean.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from engine.broker import broker_session
from engine.harness import Namespace, Worker, read_all
from engine.settings import REPO_ROOT
from engine.tools import publish
from engine.tools.tail import describe

EXAMPLES = REPO_ROOT / "topics" / "examples"


def _say(text: str = "") -> None:
    print(text, flush=True)


def _section(title: str) -> None:
    _say()
    _say(f"== {title}")


def run_demo() -> int:
    """Run the demo end to end; return 0 when every example ended where the contract says."""
    with broker_session(progress=lambda m: print(f"   {m}", file=sys.stderr, flush=True)) as bootstrap:
        _section(f"Kafka broker at {bootstrap}")
        with tempfile.TemporaryDirectory(prefix="hazard-demo-") as tmp:
            ns = Namespace(bootstrap, Path(tmp), name=f"demo{time.strftime('%Y%m%d%H%M%S')}")
            return _run(ns, Path(tmp))


def _run(ns: Namespace, tmp: Path) -> int:
    _say(f"   namespace {ns.name}: topics are prefixed with {ns.prefix!r}")
    worker = Worker(ns.env(), tmp / "worker.log")
    _section("Starting the worker (hazard-engine worker)")
    started = time.monotonic()
    worker.start()
    try:
        worker.wait_for("Worker ready", timeout=120)
        _say(f"   ready in {time.monotonic() - started:.1f} s")

        _section("Publishing the contract's examples (hazard-engine publish)")
        valid = sorted(EXAMPLES.glob("*.json"))
        for line in asyncio.run(publish.send(publish.plan(valid)[0], ns.bootstrap, ns.prefix)):
            _say(f"   {line}")
        _say("   ... and the rejected examples, each line as it is, to hazard.reports")
        bad, _ = publish.plan([EXAMPLES / "rejected-examples.jsonl"], force_topic="hazard.reports")
        for line in asyncio.run(publish.send(bad, ns.bootstrap, ns.prefix)):
            _say(f"   {line}")
        _say("   ... and the hazard report once more, as a field app retrying would")
        for line in asyncio.run(publish.send(publish.plan([EXAMPLES / "hazard-reported.json"])[0],
                                             ns.bootstrap, ns.prefix)):
            _say(f"   {line}")

        timeline = asyncio.run(read_all(ns.bootstrap, ns.topic("engine.timeline"), expect=5, timeout=60))
        rejected = asyncio.run(read_all(ns.bootstrap, ns.topic("intake.rejected"), expect=len(bad),
                                        timeout=60))
        duplicates = asyncio.run(read_all(ns.bootstrap, ns.topic("engine.intake.duplicates"), expect=1,
                                          timeout=60))
        _section(f"Accepted: {len(timeline)} timeline entries (engine.timeline, keyed by subject)")
        for rec in timeline:
            _say(f"   {describe(rec.value)}")
        _section(f"Rejected: {len(rejected)} records (intake.rejected), and why")
        for rec in rejected:
            _say(f"   {describe(rec.value)}")
        _section(f"Duplicates: {len(duplicates)} (engine.intake.duplicates): changed nothing")
        for rec in duplicates:
            _say(f"   {describe(rec.value)}")
        first = json.loads(rejected[0].value) if rejected else None
        if first:
            _section("One rejection in full, as a subscriber receives it")
            _say(json.dumps(first, ensure_ascii=False, indent=2))

        _section("See it yourself")
        _say(f"   export KAFKA_BOOTSTRAP_SERVERS={ns.bootstrap} HAZARD_TOPIC_PREFIX={ns.prefix}")
        _say("   hazard-engine tail intake.rejected --from-beginning --idle-timeout 2")
        _say("   hazard-engine tail engine.timeline --from-beginning --idle-timeout 2")
        ok = len(timeline) == 5 and len(rejected) == len(bad) and len(duplicates) == 1
        _say()
        _say("demo finished: " + ("every example ended where the contract says" if ok
                                  else "SOMETHING IS MISSING, see above"))
        return 0 if ok else 1
    finally:
        worker.stop()
