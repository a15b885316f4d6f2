"""A copy is refused however many entries other partitions bring between it and its original.

The window of the latest APPLIED entry hashes holds a copy whose original came
within one batch before it. With several workers, a worker that dies mid-batch
has its intake records published again (and its links sent again) after the
group's session timeout, while the other workers go on publishing entries for
the same subject from their own partitions: more than APPLIED of them pushed
the original's hash out, and the copy was applied twice (docs/redelivery.md).
A state now keeps, per source partition, which records' entries it applied
(`applied_from`), which no other partition's entries can push out; the hashes
only for entries without a source.
"""

from __future__ import annotations

from typing import Any

import pytest
from decide_fixtures import INSPECTORS, RULES, finding, inspection, report, ts
from hypothesis import given
from hypothesis import strategies as st

from engine import codec
from engine.alerts import load_alert_rules
from engine.contract.envelope import EVENT_TYPES
from engine.cores import build_cores, decide_entry
from engine.decide.state import Hazard
from engine.enterprise.core import LINK_TYPE, decide_enterprise
from engine.enterprise.state import EnterpriseFile
from engine.intake.process import TIMELINE
from engine.kernel import state as kernel_state
from engine.kernel.state import APPLIED, SPAN, source_of
from engine.kernel.time import epoch, iso
from engine.settings import REPO_ROOT
from engine.store import pack, unpack
from engine.stream.runtime import MAX_BATCH
from tests.unit.test_batch_decisions import Rec, _run, _runtime  # a record; a Runtime without a broker

FLOOD = APPLIED + 500  # more entries from elsewhere than the window of hashes holds
USCC = "91371500MA3D7PQ1LM"  # the enterprise decide_fixtures' inspections are of


def _enterprise_entry(entries: list[dict[str, Any]]) -> dict[str, Any]:
    [entry] = [e for e in entries if e["subject_kind"] == "enterprise"]
    return entry


def _from(entry: dict[str, Any], n: int, partition: int) -> dict[str, Any]:
    """Another entry of the same kind for the same subject: its own id, from `partition` at offset n;
    for an inspection, another inspection, n + 1 seconds later (the file counts an inspection once by
    its id, so a copy of the first must not be found among the file's latest inspections instead)."""
    data = entry["data"]
    if "inspection_id" in data:
        data = {**data, "inspection_id": f"{data['inspection_id']}-{partition}-{n}"}
    return {**entry, "entry_id": f"{entry['entry_id']}-{partition}-{n}", "data": data,
            "time": iso(epoch(entry["time"]) + n + 1),
            "origin": {**entry["origin"], "partition": partition, "offset": n}}


def test_the_window_by_source_reaches_back_two_batches() -> None:
    """A batch's records of one partition span at most MAX_BATCH offsets, and one control marker
    each if a producer writes them in transactions: SPAN must reach that far."""
    assert SPAN >= 2 * MAX_BATCH


def test_an_inspection_published_again_after_a_flood_from_other_partitions_counts_once() -> None:
    """The case docs/redelivery.md found: an enterprise's inspection, then more entries than the hash
    window holds from another intake partition (another worker's), then the inspection's copy."""
    inspected = _enterprise_entry(inspection("2026-11-02 09:00", [finding("HZ-I1")]))
    f, _ = decide_enterprise(None, inspected, RULES)
    for n in range(FLOOD):
        f, _ = decide_enterprise(f, _from(inspected, n, partition=7), RULES, owned=True)
    f = unpack(pack(f), type(f), lazy=True)  # as the worker stores it and reads it back
    assert f.inspections == FLOOD + 1
    again, outs = decide_enterprise(f, inspected, RULES)
    assert again is f and outs == [] and again.inspections == FLOOD + 1
    # Only the records by source find it (its hash is not kept): without them it counts twice.
    f.applied_from = {}
    twice, _ = decide_enterprise(f, inspected, RULES)
    assert twice.inspections == FLOOD + 2


def test_a_link_sent_again_after_a_flood_of_other_links_is_refused() -> None:
    """A hazard decided again after a failover sends its link again, with the same cause: refused
    by the enterprise's file after more than APPLIED links caused on another timeline partition."""
    alert_rules = load_alert_rules(REPO_ROOT / "rules", RULES.reference)
    cores = build_cores(RULES, alert_rules)
    entry = report("HZ-L1", "2026-11-02 09:00")
    tables: dict[str, dict[bytes, bytes]] = {kind: {} for kind in cores}
    decision = decide_entry(cores, tables, b"HZ-L1", codec.dumps(entry), position=(2, 41))
    assert decision is not None
    [link] = [o.event for o in decision.outs if o.event.get("type") == LINK_TYPE]
    assert link["cause"] == {"topic": TIMELINE, "partition": 2, "offset": 41}
    assert source_of(link) == (f"{TIMELINE}/2", 41)
    # Decided again from the same stored state at the same position: the very same link.
    again = decide_entry(cores, tables, b"HZ-L1", codec.dumps(entry), position=(2, 41))
    assert again is not None and [o.event for o in again.outs if o.event.get("type") == LINK_TYPE] == [link]

    f, _ = decide_enterprise(None, link, RULES)
    for n in range(FLOOD):
        other = {**link, "entry_id": f"other-{n}", "id": f"other-{n}",
                 "data": {**link["data"], "id": f"HZ-O{n}"}, "cause": {**link["cause"], "partition": 3,
                                                                      "offset": n}}
        f, _ = decide_enterprise(f, other, RULES, owned=True)
    assert f.applied == [] and sorted(f.applied_from) == [f"{TIMELINE}/2", f"{TIMELINE}/3"]
    refused, outs = decide_enterprise(f, link, RULES)
    assert refused is f and outs == []


def test_an_entry_applied_before_the_records_by_source_is_refused_by_its_hash() -> None:
    """A state stored before format 4 knows what it applied by hash alone: a copy of such an entry,
    which names its source, is refused all the same; a state that keeps no hashes (every entry it
    applied had a source) does not compute one."""
    inspected = _enterprise_entry(inspection("2026-11-02 09:00", [finding("HZ-I3")]))
    old, _ = decide_enterprise(None, {k: v for k, v in inspected.items() if k != "origin"}, RULES)
    assert old.applied and not old.applied_from  # what format 3 stored
    again, outs = decide_enterprise(old, inspected, RULES)
    assert again is old and outs == []
    new, _ = decide_enterprise(None, inspected, RULES)
    assert new.applied == [] and new.applied_stored == b"" and new.applied_from
    assert decide_enterprise(new, inspected, RULES)[0] is new


def test_a_copy_within_its_own_partition_s_span_is_refused_after_a_flood_of_its_own() -> None:
    """Entries from the same partition as the original, fewer than SPAN offsets on, leave the
    original's record where it is; one SPAN or more behind the latest is let go."""
    inspected = _enterprise_entry(inspection("2026-11-02 09:00", [finding("HZ-I2")]))
    base = inspected["origin"]["offset"]
    f, _ = decide_enterprise(None, inspected, RULES)
    for n in range(1, SPAN):  # every offset up to SPAN - 1 past the original
        f, _ = decide_enterprise(f, _from(inspected, base + n, inspected["origin"]["partition"]), RULES,
                                 owned=True)
    assert decide_enterprise(f, inspected, RULES)[0] is f
    key = source_of(inspected)[0]  # type: ignore[index]
    assert f.applied_from[key] == {"starts": [base], "ends": [base + SPAN]}  # one run for them all
    f, _ = decide_enterprise(f, _from(inspected, base + 2 * SPAN, inspected["origin"]["partition"]), RULES)
    assert f.applied_from[key] == {"starts": [base + 2 * SPAN], "ends": [base + 2 * SPAN + 1]}


def test_a_run_ending_exactly_span_offsets_behind_the_latest_is_let_go() -> None:
    """A run is kept while it ends fewer than SPAN offsets before the latest run's end: record 0
    beside record SPAN - 1 stays; beside record SPAN it goes."""
    for latest, kept in ((SPAN - 1, True), (SPAN, False)):
        windows: dict[str, dict[str, list[int]]] = {}
        kernel_state._add(windows, "t/0", 0)
        kernel_state._add(windows, "t/0", latest)
        assert kernel_state._within(windows["t/0"], 0) is kept
        assert kernel_state._within(windows["t/0"], latest)


def test_a_hash_applied_before_the_records_by_source_answers_for_a_copy_with_a_source() -> None:
    """A state that holds the hashes of what it applied, decoded or as stored (a state of format 3
    read lazily), and no record of the copy's source: the copy is known by its hash."""
    tag = kernel_state.entry_hash("entry-1")
    for h in (Hazard("HZ-1", applied=[tag]), Hazard("HZ-1", applied_stored=tag.to_bytes(8, "big"))):
        assert kernel_state.applied_before(h, "entry-1", ("t/0", 5))
        assert not kernel_state.applied_before(h, "entry-2", ("t/0", 5))
    assert not kernel_state.applied_before(Hazard("HZ-2"), "entry-1", ("t/0", 5))


def test_a_record_of_a_partition_whose_offsets_started_again_is_applied() -> None:
    """An intake topic deleted and created again numbers its records from 0: a new inspection of an
    enterprise whose file applied records up to offset 10,000 there is a new record, not a copy.
    (Counting records SPAN or more behind the latest as applied would close the gap a zombie's late
    copy leaves, docs/redelivery.md, and lose every such event silently: not done.)"""
    inspected = _enterprise_entry(inspection("2026-11-02 09:00", [finding("HZ-I4")]))
    partition = inspected["origin"]["partition"]
    f, _ = decide_enterprise(None, _from(inspected, 10_000, partition), RULES)
    f = unpack(pack(f), type(f), lazy=True)  # as the worker stores it and reads it back
    again, _ = decide_enterprise(f, _from(inspected, 0, partition), RULES)
    assert again is not f and again.inspections == f.inspections + 1


@given(st.lists(st.integers(min_value=0, max_value=120), max_size=80))
def test_runs_of_offsets_hold_exactly_the_records_applied_within_the_span(offsets: list[int]) -> None:
    """Against a plain set: never an offset that was not added; every added one within SPAN of the
    latest is there (offsets mostly in order, some late, some twice)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernel_state, "SPAN", 20)
        windows: dict[str, dict[str, list[int]]] = {}
        added: set[int] = set()
        for offset in offsets:
            kernel_state._add(windows, "t/0", offset)
            added.add(offset)
            runs = windows["t/0"]
            starts, ends = runs["starts"], runs["ends"]
            assert all(s < e for s, e in zip(starts, ends, strict=True))
            assert all(e < s for e, s in zip(ends, starts[1:], strict=False))  # apart, not touching
            top = max(added)
            for n in range(0, 130):
                within = kernel_state._within(runs, n)
                assert not within or n in added
                if n in added and n > top - 20:
                    assert within


def _inspection_record(rt: Any, offset: int, n: int, findings: list[Any]) -> Any:
    """An inspection of one enterprise, as a field app publishes it, at `offset` of its subject's
    partition (one elsewhere would be forwarded there, not judged)."""
    iid = f"INS-FLOOD-{n}"
    event = {"specversion": "1.0", "id": f"ev-flood-{n}", "source": "/apps/inspect",
             "time": iso(epoch(ts("2026-11-02 09:00")) + n), "type": "safety.inspection.recorded",
             "subject": iid,
             "data": {"inspection_id": iid, "kind": "unannounced", "inspectors": INSPECTORS,
                      "enterprise": {"uscc": USCC, "name": "Jiangbei Chemical Storage Co., Ltd."},
                      "location": {"town": "zhulaozhuang", "address": "Industrial Park Road 3"},
                      "findings": findings}}
    topic = next(t for t, name in rt.intake_topics.items() if name == EVENT_TYPES[event["type"]].topic)
    return Rec(topic, rt._home(iid), offset, iid.encode(), codec.dumps(event), 1_790_000_000_000 + n)


def _timeline_of(rt: Any, records: list[Any]) -> list[dict[str, Any]]:
    """What the runtime's intake stage sends to the timeline for `records`, decoded."""
    sends: list[Any] = []
    for rec in records:
        rt._intake(rec, sends, [])
    return [codec.loads(s.value) for s in sends if s.topic == rt.timeline]


def test_two_workers_one_republishing_after_a_flood_through_the_runtime_s_stages(tmp_path: Any) -> None:
    """The failover itself, through the runtime's real intake and decide stages (no broker): worker
    A publishes an inspection's entries and dies before its marks are stored; worker C publishes
    2,500 inspections of the same enterprise, each from its own subject's partition; worker B takes A's
    partition and publishes the inspection's entries again. The enterprise's file and the
    inspection's hazard count it once; without the records by source, the file counts it twice."""
    def replay(name: str) -> Any:
        a, b, c = (_runtime(tmp_path / f"{name}-{w}") for w in "abc")
        original = _inspection_record(a, 7, 0, [finding("HZ-FLOOD-1")])
        entries = [*_timeline_of(a, [original]),
                   *_timeline_of(c, [_inspection_record(c, 1_000 + n, n + 1, []) for n in range(FLOOD)]),
                   *_timeline_of(b, [original])]  # B has none of A's marks: the same entries again
        assert len(entries) == 3 + 2 * FLOOD + 3  # each: its own entry, its enterprise's (and its finding's)
        decider = _runtime(tmp_path / f"{name}-decide")
        _run(decider, entries, 300)
        file = unpack(decider.tables["enterprise"][USCC.encode()], EnterpriseFile)
        hazard = unpack(decider.tables["hazard"][b"HZ-FLOOD-1"], Hazard)
        return file, hazard

    file, hazard = replay("by-source")
    assert file.inspections == FLOOD + 1
    assert [item[2] for item in hazard.history] == ["found by unannounced inspection INS-FLOOD-0 (general)"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("engine.kernel.apply.source_of", lambda entry: None)
        file, _ = replay("hashes-only")
    assert file.inspections == FLOOD + 2
