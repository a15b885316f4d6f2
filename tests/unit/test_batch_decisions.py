"""The decide stage over whole batches: a subject's state goes from one entry to the next in memory.

`Runtime._decide_all` decodes a subject once for all its entries in a batch
and stores it once at the end. Here the benchmark's mixed workload (hazards,
alerts, enterprise files with their links, re-deliveries) goes through the
real stage of a `Runtime` (no broker: only its tables and a list of sends)
once a record at a time and once in batches of 300: the outputs, in order,
and every table's bytes at the end must be the same. A decision that fails
half-way, after changing the held state in place, must leave the subject as
if that entry alone had been dead-lettered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from engine import codec
from engine.alerts import load_alert_rules
from engine.cores import decide_entry
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT, Settings
from engine.stream import runtime as runtime_module
from engine.stream.held import Decoded
from engine.stream.runtime import Runtime
from engine.topics import load_topics
from tests.unit.test_owned_decisions import _timeline

RULES = load_rules(REPO_ROOT / "rules")
ALERT_RULES = load_alert_rules(REPO_ROOT / "rules", RULES.reference)
FAILS = b"FAILS-HALF-WAY"


@dataclass(frozen=True, slots=True)
class Rec:
    """What the stages read of a consumed record (the time matters to intake: engine/stream/align.py)."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    timestamp: int = 0
    headers: Any = None


def _runtime(tmp_path: Any, keep: bool = True) -> Runtime:
    """A runtime without a broker; without `keep`, every batch decodes its states from the tables."""
    # The system clock, and a workload dated 2026-01: no de-duplication window, or it would one day
    # find every event `stale` (tests/unit/test_mark_sweep.py runs a window).
    settings = Settings(data_dir=tmp_path, dedup_days=0)
    specs = load_topics(settings.topics_file, settings.app_id, settings.topic_prefix)
    runtime = Runtime(settings, "127.0.0.1:9", RULES, specs, ALERT_RULES)
    if not keep:
        runtime.decoded = Decoded(runtime.decoded.kinds, limit=0)
    return runtime


def _run(rt: Runtime, entries: list[dict[str, Any] | None], size: int,
         keep: bool = False) -> list[tuple[str, bytes, bytes]]:
    """Decide `entries` (and the links and clock entries they send) in batches of `size`, each at
    the next offset of one timeline partition; None holds an offset with no record (so that the
    links, which name their cause's offset, are the same as in a run with a record there). With
    `keep`, the enterprise files and plan towns changed wait unstored from batch to batch, and
    are stored at the end, as batches sharing one commit leave them."""
    sent: list[tuple[str, bytes, bytes]] = []
    pending = [None if e is None else codec.dumps(e) for e in entries]
    offset = 0
    while pending:
        batch, pending = pending[:size], pending[size:]
        records = []
        for value in batch:
            if value is None:
                offset += 1
                continue
            entry = codec.loads(value.replace(FAILS, b""))
            records.append(Rec(rt.timeline, 0, offset, entry["subject"].encode(), value))
            offset += 1
        sends: list[Any] = []
        writes: list[Any] = []
        asyncio.run(rt._decide_all([records], sends, writes, keep=keep))
        sent += [(s.topic, s.key, s.value) for s in sends]
        # Links and clock entries go back on the timeline, as the worker sends them there.
        pending += [s.value for s in sends if s.topic == rt.timeline]
    rt._store_changed([])
    return sent


def _tables(rt: Runtime) -> dict[str, dict[bytes, bytes]]:
    return {t.changelog: dict(t.items()) for t in (*rt.tables.values(), *rt.histories.values())}


@pytest.fixture(scope="module")
def entries() -> list[dict[str, Any]]:
    made = _timeline(1_500)
    made[200:200] = made[100:110]  # re-deliveries, among the rest
    return made


def test_batches_decide_and_store_as_one_record_at_a_time(entries: list[dict[str, Any]],
                                                          tmp_path: Any) -> None:
    one, many = _runtime(tmp_path / "one", keep=False), _runtime(tmp_path / "many", keep=False)
    sent_one, sent_many = _run(one, entries, 1), _run(many, entries, 300)
    assert sent_many == sent_one
    assert _tables(many) == _tables(one)
    waiting = _runtime(tmp_path / "waiting")  # files left unstored from batch to batch, stored at the end
    assert _run(waiting, entries, 37, keep=True) == sent_one
    assert _tables(waiting) == _tables(one)
    kinds = {e.get("subject_kind") for e in entries}
    assert {"hazard", "alert", "enterprise"} <= kinds
    assert sum(len(t) for t in _tables(many).values()) > 100


def test_states_kept_decoded_between_batches_decide_as_states_decoded_from_the_tables(
        entries: list[dict[str, Any]], tmp_path: Any) -> None:
    # One record a batch: every enterprise file is stored after each entry and kept decoded, and
    # its next entry takes the kept state (the most reuse there can be).
    kept, decoding = _runtime(tmp_path / "kept"), _runtime(tmp_path / "decoding", keep=False)
    taken = 0
    take = kept.decoded.take

    def counting(key: Any, current: Any) -> Any:
        nonlocal taken
        state = take(key, current)
        taken += state is not None
        return state

    kept.decoded.take = counting  # type: ignore[method-assign]
    assert _run(kept, entries, 1) == _run(decoding, entries, 1)
    assert _tables(kept) == _tables(decoding)
    assert taken > 100 and len(kept.decoded) > 0 and len(decoding.decoded) == 0


def _failing(real: Any) -> Any:
    """decide_entry that, for an entry carrying FAILS, decides it (changing the state it was
    handed) and then raises, as a bug half-way through a decision would."""
    def decide(cores: Any, tables: Any, key: Any, value: bytes, *args: Any, **kwargs: Any) -> Any:
        if FAILS not in value:
            return real(cores, tables, key, value, *args, **kwargs)
        real(cores, tables, key, value.replace(FAILS, b""), *args, **kwargs)
        raise RuntimeError("a bug half-way through a decision")
    return decide


def _enterprise_entries(entries: list[dict[str, Any]]) -> Iterator[int]:
    """Where the workload's entries about one enterprise file are, after its first two."""
    firsts: dict[str, int] = {}
    for i, e in enumerate(entries):
        if e.get("subject_kind") == "enterprise":
            firsts[e["subject"]] = firsts.get(e["subject"], 0) + 1
            if firsts[e["subject"]] > 2:
                yield i


# 1: the file the failure changed was kept decoded; with `keep`, left unstored by the batches before
@pytest.mark.parametrize(("size", "keep"), [(300, False), (1, False), (1, True), (37, True)])
def test_a_decision_that_fails_half_way_leaves_the_state_its_earlier_entries_reached(
        entries: list[dict[str, Any]], tmp_path: Any, monkeypatch: pytest.MonkeyPatch, size: int,
        keep: bool) -> None:
    monkeypatch.setattr(runtime_module, "decide_entry", _failing(decide_entry))
    at = next(_enterprise_entries(entries))
    poisoned = codec.loads(codec.dumps(entries[at]))
    poisoned["data"]["note"] = FAILS.decode()  # the marker rides in the entry's bytes
    with_failure = [*entries[:at], poisoned, *entries[at + 1:]]
    without = [*entries[:at], None, *entries[at + 1:]]
    failing, skipped = _runtime(tmp_path / "failing"), _runtime(tmp_path / "skipped")
    sent = _run(failing, with_failure, size, keep)
    letters = [s for s in sent if s[0] == runtime_module.DEAD_LETTER]
    assert len(letters) == 1
    assert [s for s in sent if s not in letters] == _run(skipped, without, size, keep)
    assert _tables(failing) == _tables(skipped)
