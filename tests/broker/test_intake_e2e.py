"""Intake through a real broker: the contract's examples, bad input, topic conflicts, tools."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from conftest import EXAMPLES

from engine.harness import Namespace, Worker, not_enterprise, produce, read_all, values
from engine.metrics import BATCH_PHASES

pytestmark = pytest.mark.broker


def cli(namespace: Namespace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], env=namespace.env(),
                          capture_output=True, text=True, timeout=120)


def test_examples_accepted_and_rejected_examples_rejected(namespace: Namespace, worker: Worker) -> None:
    """The three examples reach the timeline; each rejected example is rejected with its reason."""
    worker.start().wait_ready()
    sent = cli(namespace, "publish", *(str(p) for p in sorted(EXAMPLES.glob("*.json"))))
    assert sent.returncode == 0, sent.stderr
    assert "sent 3, skipped 0" in sent.stderr
    bad = cli(namespace, "publish", "--topic", "hazard.reports", str(EXAMPLES / "rejected-examples.jsonl"))
    assert bad.returncode == 0, bad.stderr

    # Enterprises get entries too (一企一档), some from the decisions: counted apart.
    timeline = values(asyncio.run(read_all(namespace.bootstrap, namespace.topic("engine.timeline"),
                                           expect=5, where=not_enterprise)))
    filed = {(e["type"], e["subject"], e["data"].get("id")) for e in values(asyncio.run(read_all(
        namespace.bootstrap, namespace.topic("engine.timeline"), expect=4,
        where=lambda r: json.loads(r.value)["subject_kind"] == "enterprise")))}
    assert {("safety.inspection.enterprise", "91371500MA3D7PQ1LM", None),
            ("safety.enterprise.linked", "91371500MA3D7PQ1LM", "HZ-20261130-0002"),
            ("safety.enterprise.linked", "91371500MA3D7PQ1LM", "HZ-20261130-0003")} <= filed
    assert sorted((e["type"], e["subject"]) for e in timeline) == [
        ("safety.alert.raised", "AL-20261130-0009"),
        ("safety.hazard.reported", "HZ-20261130-0001"),
        ("safety.inspection.finding", "HZ-20261130-0002"),
        ("safety.inspection.finding", "HZ-20261130-0003"),
        ("safety.inspection.recorded", "INS-20261130-017"),
    ]
    rejected = values(asyncio.run(read_all(namespace.bootstrap, namespace.topic("intake.rejected"),
                                           expect=5)))
    by_key = {r["data"]["key"]: r["data"]["errors"][0] for r in rejected}
    assert {k: (".".join(map(str, e["loc"])), e["type"]) for k, e in by_key.items()} == {
        "HZ-X1": ("time", "timezone_aware"),
        "HZ-X2": ("data.location.town", "unknown_town"),
        "HZ-X3": ("data.enterprise.uscc", "uscc"),
        "HZ-X4": ("type", "unknown_type"),
        None: ("record", "not_json"),
    }
    not_json = next(r for r in rejected if r["data"]["key"] is None)
    assert base64.b64decode(not_json["data"]["raw_base64"]) == b"this line is not JSON at all"
    assert not_json["data"]["topic"] == namespace.topic("hazard.reports")

    tail = cli(namespace, "tail", "intake.rejected", "--from-beginning", "--idle-timeout", "2")
    assert "REJECTED" in tail.stdout and "unknown town 'atlantis'" in tail.stdout
    log = worker.log_text()
    assert '"event": "intake_rejected"' in log and '"offset": ' in log

    metrics = urllib.request.urlopen(f"http://127.0.0.1:{namespace.web_port}/metrics", timeout=10)
    text = metrics.read().decode()
    hazard_reports = namespace.topic("hazard.reports")
    assert f'hazard_intake_records_total{{outcome="rejected",topic="{hazard_reports}"}} 5.0' in text
    assert "hazard_listed_supervisions_active 1.0" in text  # the example's major finding
    # Every record handled came in a batch; the recovery's full collection was timed (the young
    # generation waits for 10,000 new objects, which a run this short may not make).
    batches = float(re.search(r"^hazard_batch_records_count (\S+)$", text, re.M).group(1))
    records = float(re.search(r"^hazard_batch_records_sum (\S+)$", text, re.M).group(1))
    assert batches >= 1 and records >= batches
    assert re.search(r'^hazard_gc_pause_seconds_count\{generation="2"\} [1-9]', text, re.M)
    phases = {m[1]: float(m[2]) for m in re.finditer(r'^hazard_batch_seconds_total\{phase="(\w+)"\} (\S+)$',
                                                      text, re.M)}
    assert set(phases) == set(BATCH_PHASES)
    assert all(phases[p] > 0 for p in BATCH_PHASES), phases
    # The worker decided the entries it sent in the batch that sent them, on the real broker.
    assert float(re.search(r'^hazard_timeline_entries_total\{path="taken"\} (\S+)$', text, re.M).group(1)) > 0
    with pytest.raises(urllib.error.HTTPError) as refused:  # no page shows raw tables
        urllib.request.urlopen(f"http://127.0.0.1:{namespace.web_port}/table/", timeout=10)
    assert refused.value.code == 404


def test_oversized_record_is_rejected_with_its_bytes(namespace: Namespace, worker: Worker) -> None:
    """A record over 1 MiB travels through the broker and is rejected with all of its bytes."""
    worker.start().wait_ready()
    big = b'{"specversion":"1.0","pad":"' + b"x" * (1024 * 1024 + 10) + b'"}'
    asyncio.run(produce(namespace.bootstrap, namespace.topic("hazard.reports"), [(b"HZ-BIG", big)]))
    [rec] = values(asyncio.run(read_all(namespace.bootstrap, namespace.topic("intake.rejected"), expect=1)))
    assert rec["data"]["errors"][0]["type"] == "too_large"
    assert base64.b64decode(rec["data"]["raw_base64"]) == big


async def _make_topic(namespace: Namespace, contract_name: str, partitions: int) -> None:
    """Create a topic of the namespace with the broker's defaults, and wait until it shows."""
    # The create request answers with error codes rather than raising, and on a busy broker
    # the topic can take a moment to show: the worker must find it there, or it creates its own.
    admin = AIOKafkaAdminClient(bootstrap_servers=namespace.bootstrap)
    await admin.start()
    try:
        name = namespace.topic(contract_name)
        response = await admin.create_topics([NewTopic(name, partitions, 1)], timeout_ms=30_000)
        assert all(error[1] == 0 for error in response.topic_errors), response.topic_errors
        for _ in range(150):
            [described] = await admin.describe_topics([name])
            if described["error_code"] == 0 and len(described["partitions"]) == partitions:
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"{name} did not show with {partitions} partitions: {described}")
    finally:
        await admin.close()


def test_topic_conflict_refuses_to_start(namespace: Namespace, worker: Worker) -> None:
    """An existing topic that differs from topics.yaml stops the worker with the setting named."""
    asyncio.run(_make_topic(namespace, "escalations", 2))
    worker.start()
    assert worker.proc is not None and worker.proc.wait(90) == 2
    log = worker.log_text()
    assert f"topic '{namespace.topic('escalations')}': partitions is 2 on the broker, declared 4" in log
    assert "retention.ms is '604800000' on the broker, declared '31536000000'" in log


def test_an_intake_topic_stamped_by_its_producers_refuses_to_start_and_says_how_to_mend_it(
        namespace: Namespace, worker: Worker) -> None:
    """An intake topic an engine before 2026-12-04 created (CreateTime) would let a producer's
    clock date a late event's arrival: the worker names it and the one-time change."""
    asyncio.run(_make_topic(namespace, "hazard.reports", 4))
    worker.start()
    assert worker.proc is not None and worker.proc.wait(90) == 2
    log = worker.log_text()
    assert (f"topic '{namespace.topic('hazard.reports')}': message.timestamp.type is 'CreateTime' on the "
            "broker, declared 'LogAppendTime'") in log
    assert "--add-config message.timestamp.type=LogAppendTime" in log


def test_publish_reports_bad_lines_and_sends_the_rest(namespace: Namespace, worker: Worker,
                                                      tmp_path: Path) -> None:
    """A bad line is reported with its number; the good lines around it are still sent."""
    worker.start().wait_ready()
    report = json.loads((EXAMPLES / "hazard-reported.json").read_text())
    second = json.loads(json.dumps(report))
    second["id"], second["subject"] = "ev-2", "HZ-2"
    second["data"]["hazard_id"] = "HZ-2"
    lines = [json.dumps(report), "{oops", json.dumps({"type": "safety.nope", "subject": "x"}),
             json.dumps(second)]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = cli(namespace, "publish", str(path))
    assert result.returncode == 1
    assert f"{path}:2: skipped: not JSON" in result.stderr
    assert f"{path}:3: skipped: unknown event type 'safety.nope'" in result.stderr
    assert "sent 2, skipped 2" in result.stderr
    timeline = values(asyncio.run(read_all(namespace.bootstrap, namespace.topic("engine.timeline"),
                                           expect=2, where=not_enterprise)))
    assert sorted(e["subject"] for e in timeline) == ["HZ-2", "HZ-20261130-0001"]
