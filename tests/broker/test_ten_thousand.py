"""Ten thousand mixed records through the real broker, with a worker killed and restarted midway.

Every record must be accounted for: in = accepted + rejected + duplicates,
and each record lands in the class it was built to be in.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter

import pytest

from engine.harness import Namespace, Worker, not_enterprise, read_all, wait_drained
from engine.intake.timeline import FINDING_TYPE
from engine.tools.kafka import producer

pytestmark = pytest.mark.broker

TOTAL = 10_000
TOWNS = ["lihaiwu", "huxi", "zhulaozhuang", "yuji"]


def valid(i: int) -> dict:
    hid = f"HZ-T-{i:05d}"
    return {
        "specversion": "1.0", "id": f"ev-{i}", "source": f"/apps/grid/{i % 37}",
        "type": "safety.hazard.reported", "time": "2026-11-30T09:12:00+08:00", "subject": hid,
        "data": {
            "hazard_id": hid, "title": f"Hazard {i}", "description": "Blocked exit",
            "sector": "fire_safety", "grade_claimed": "general", "found_via": "grid_patrol",
            "location": {"town": TOWNS[i % 4]}, "reporter": {"id": "gw-1", "role": "grid_worker"},
        },
    }


def invalid(i: int, rng: random.Random) -> tuple[bytes, str]:
    """An invalid record of one of several kinds, with the error type it must get."""
    event = valid(i)
    kind = rng.choice(["not_json", "not_utf8", "unknown_town", "uscc", "timezone", "missing",
                       "unknown_type", "anonymous"])
    if kind == "not_json":
        return b"{broken " + str(i).encode(), "not_json"
    if kind == "not_utf8":
        return b"\xff\xfe" + str(i).encode(), "not_utf8"
    if kind == "unknown_town":
        event["data"]["location"]["town"] = "atlantis"
        return json.dumps(event).encode(), "unknown_town"
    if kind == "uscc":
        event["data"]["enterprise"] = {"uscc": "91371500MA3C4XK2N3", "name": "x"}
        return json.dumps(event).encode(), "uscc"
    if kind == "timezone":
        event["time"] = "2026-11-30T09:12:00"
        return json.dumps(event).encode(), "timezone_aware"
    if kind == "missing":
        del event["data"]["title"]
        return json.dumps(event).encode(), "missing"
    if kind == "unknown_type":
        event["type"] = "safety.hazard.vanished"
        return json.dumps(event).encode(), "unknown_type"
    event["data"]["reporter"] = {"role": "inspector", "anonymous": True}
    return json.dumps(event).encode(), "anonymous_role"


def build(rng: random.Random) -> list[tuple[bytes, bytes, str, str]]:
    """(key, value, class, detail) for TOTAL records: about 70% valid, 15% invalid, 15% duplicates."""
    out: list[tuple[bytes, bytes, str, str]] = []
    sent_valid: list[int] = []
    i = 0
    while len(out) < TOTAL:
        roll = rng.random()
        if roll < 0.15 and sent_valid:
            j = rng.choice(sent_valid)
            out.append((f"HZ-T-{j:05d}".encode(), json.dumps(valid(j)).encode(), "duplicate", f"ev-{j}"))
        elif roll < 0.30:
            value, code = invalid(i, rng)
            out.append((f"HZ-T-{i:05d}".encode(), value, "rejected", code))
            i += 1
        else:
            out.append((f"HZ-T-{i:05d}".encode(), json.dumps(valid(i)).encode(), "accepted", f"ev-{i}"))
            sent_valid.append(i)
            i += 1
    return out


async def send(bootstrap: str, topic: str, batch: list[tuple[bytes, bytes, str, str]]) -> list[str]:
    async with producer(bootstrap) as prod:
        futures = [await prod.send(topic, value, key=key) for key, value, _, _ in batch]
        metas = await asyncio.gather(*futures)
    return [f"{m.topic}/{m.partition}/{m.offset}" for m in metas]


@pytest.mark.long(38)
def test_ten_thousand_mixed_records_are_all_accounted_for(namespace: Namespace, worker: Worker) -> None:
    """in == accepted + rejected + duplicates, record by record, across a SIGKILL and a restart."""
    rng = random.Random(20261130)
    records = build(rng)
    topic = namespace.topic("hazard.reports")
    worker.start().wait_ready()
    started = time.monotonic()

    half = TOTAL // 2
    positions = asyncio.run(send(namespace.bootstrap, topic, records[:half]))
    time.sleep(1.0)  # let the worker get part of the way, then kill it mid-stream
    worker.kill()
    positions += asyncio.run(send(namespace.bootstrap, topic, records[half:]))
    # Some of the second half re-send events accepted before the kill.
    assert any(cls == "duplicate" for _, _, cls, _ in records[half:])
    restarted = time.monotonic()
    worker.start().wait_ready()
    ready_after_restart = time.monotonic() - restarted

    expected = Counter(cls for _, _, cls, _ in records)
    # Judge only once the engine has committed every record: a quiet spell on the
    # timeline is no proof, since the restarted worker may wait for the killed one's
    # group membership to expire before it gets its partitions back.
    asyncio.run(wait_drained(namespace, alive=worker.alive))
    timeline = asyncio.run(read_all(namespace.bootstrap, namespace.topic("engine.timeline"),
                                    settle=5, timeout=300))
    # Not `expect=` counts: a record redelivered after the kill is written twice, so a
    # count can be reached before the last distinct record is read.
    rejected = asyncio.run(read_all(namespace.bootstrap, namespace.topic("intake.rejected"),
                                    settle=5, timeout=300))
    duplicates = asyncio.run(read_all(namespace.bootstrap, namespace.topic("engine.intake.duplicates"),
                                      settle=5, timeout=300))
    elapsed = time.monotonic() - started

    # Links to enterprises' files (一企一档) and the annual plan's seeds are the decisions' work: no origin.
    entries = [json.loads(r.value) for r in timeline if not_enterprise(r)]
    assert not any(e["type"] == FINDING_TYPE for e in entries)
    accepted_at: dict[str, tuple[str, str]] = {}
    for e in entries:  # a redelivery after the kill may repeat an entry, with the same entry_id
        position = "{topic}/{partition}/{offset}".format(**e["origin"])
        accepted_at.setdefault(e["entry_id"], (position, e["event_id"]))
    rejected_at = {}
    for r in rejected:
        event = json.loads(r.value)
        d = event["data"]
        rejected_at[event["id"]] = (f"{d['topic']}/{d['partition']}/{d['offset']}", d["errors"][0]["type"])
    duplicate_at = {json.loads(r.value)["id"]: json.loads(r.value)["position"] for r in duplicates}

    want = {pos: (cls, detail) for pos, (_, _, cls, detail) in zip(positions, records, strict=True)}
    got: dict[str, tuple[str, str]] = {}
    for pos, event_id in accepted_at.values():
        got[pos] = ("accepted", event_id)
    for pos, code in rejected_at.values():
        got[pos] = ("rejected", code)
    for pos in duplicate_at.values():
        got[pos] = ("duplicate", want[pos][1])

    counts = Counter(cls for cls, _ in got.values())
    print(f"\n10k intake: in={TOTAL} accepted={counts['accepted']} rejected={counts['rejected']} "
          f"duplicates={counts['duplicate']} timeline_records={len(entries)} "
          f"(repeated after kill: {len(entries) - len(accepted_at)}) elapsed={elapsed:.1f}s "
          f"ready_after_restart={ready_after_restart:.1f}s")
    assert TOTAL == counts["accepted"] + counts["rejected"] + counts["duplicate"]
    assert counts == expected
    mismatched = {p: (want[p], got.get(p)) for p in want if got.get(p) != want[p]}
    assert not mismatched, list(mismatched.items())[:5]
