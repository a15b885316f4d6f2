"""Every core handed its state (`decide_owned`, as the decide stage calls it) decides as the copying core.

The decide stage decodes a subject's state for one entry and hands it over:
the core changes its lists in place instead of copying the state first. Here
the benchmark's mixed workload (hazards, alerts, enterprise files and their
links) goes through the cores twice, entry by entry: once with `decide` on
states kept in memory, once as the worker does it (`decide_entry` over packed
tables, so `decide_owned` where a core has one). Every decision's outputs and
stored bytes must be the same, and a re-delivered entry must change nothing in
either.
"""

from __future__ import annotations

from typing import Any

from bench.workload import START, build
from engine import codec
from engine.alerts import load_alert_rules
from engine.cores import build_cores, decide_entry, record_value
from engine.intake.process import TIMELINE, Record, decide_intake
from engine.plan.rules import optional_plan
from engine.ruleset import load_rules
from engine.settings import REPO_ROOT
from engine.store import pack

RULES = load_rules(REPO_ROOT / "rules")
CORES = build_cores(RULES, load_alert_rules(REPO_ROOT / "rules", RULES.reference),
                    optional_plan(REPO_ROOT / "rules", RULES.reference))


def _timeline(events: int) -> list[dict[str, Any]]:
    seen: dict[str, str] = {}
    entries = []
    for offset, item in enumerate(build(events)):
        record = Record(item.topic, 0, offset, item.key, item.value, int(START.timestamp() * 1000))
        outcome = decide_intake(record, seen.get, RULES.reference, 1_000_000, item.topic)
        if outcome.remember is not None:
            seen[outcome.remember[0]] = outcome.remember[1]
        entries += [codec.loads(s.value) for s in outcome.sends if s.topic == TIMELINE]
    return entries


def test_owned_decisions_give_the_same_outputs_and_stored_states_as_copying_ones() -> None:
    assert all(CORES[kind].decide_owned is not None for kind in ("hazard", "alert", "enterprise"))
    entries = _timeline(1_500)
    entries[200:200] = entries[100:110]  # re-deliveries, among the rest
    kept: dict[tuple[str, str], Any] = {}  # copying: states in memory
    tables: dict[str, dict[bytes, bytes]] = {kind: {} for kind in CORES}  # owned: packed, as stored
    histories: dict[str, dict[bytes, bytes]] = {kind: {} for kind in ("hazard", "alert")}  # as the worker
    decided = {kind: 0 for kind in CORES}
    pending = list(entries)
    while pending:
        entry = pending.pop(0)
        core = CORES.get(entry.get("subject_kind"))
        if core is None:
            continue
        key = entry["subject"].encode()
        before = kept.get((core.kind, entry["subject"]))
        want, want_outs = core.decide(before, entry)
        got = decide_entry(CORES, tables, key, codec.dumps(entry), histories)
        assert got is not None
        assert [record_value(o) for o in got.outs] == [record_value(o) for o in want_outs]
        assert (got.new is got.state) == (want is before and before is not None)
        if got.new is got.state:
            continue
        chunks: dict[int, bytes] = {}
        tables[core.kind][key] = pack(got.new, b"", b"", chunks)
        histories.get(core.kind, {}).update((key + b"#%d" % n, v) for n, v in chunks.items())
        assert pack(got.new) == pack(want)
        kept[(core.kind, entry["subject"])] = want
        decided[core.kind] += 1
        # Links and clock entries go back on the timeline, as the worker sends them there.
        pending += [o.event for o in got.outs if o.topic == TIMELINE]
    assert all(decided[kind] > 0 for kind in ("hazard", "alert", "enterprise")), decided
