"""bench.core's measurements on a small scale: every history event is accepted, the report lines up."""

from __future__ import annotations

import pytest

from bench import core
from engine.settings import Settings


@pytest.fixture(scope="module")
def path() -> core.Path_:
    return core.Path_(Settings())


@pytest.mark.parametrize("kind, events", [("hazard", core.hazard_events), ("alert", core.alert_events)])
def test_history_rows_grow_with_the_history(path: core.Path_, kind: str, events, monkeypatch) -> None:
    """Each length's row is measured after that many events; the stored state grows with them."""
    monkeypatch.setitem(core.HISTORY_LENGTHS, kind, (3, 12))
    rows = core.history(path, kind, events(12 + 4), probe=4)
    assert [r["history"] for r in rows] == [3, 12]
    assert rows[0]["stored_bytes"] < rows[1]["stored_bytes"]
    assert all(r["us_per_event"] > 0 for r in rows)


def test_the_report_puts_an_earlier_run_beside_this_one(path: core.Path_, monkeypatch) -> None:
    """Every part and the total appear with both runs' figures; a missing earlier figure is a dash."""
    monkeypatch.setitem(core.HISTORY_LENGTHS, "hazard", (3,))
    monkeypatch.setitem(core.HISTORY_LENGTHS, "alert", (3,))
    now = {"mixed": core.mixed(path, 200),
           "history": {"hazard": core.history(path, "hazard", core.hazard_events(8), 2),
                       "alert": core.history(path, "alert", core.alert_events(8), 2)}}
    assert sum(now["mixed"]["us_per_event"].values()) == pytest.approx(now["mixed"]["total_us_per_event"],
                                                                      abs=0.5)
    before = {**now, "history": {"hazard": [], "alert": now["history"]["alert"]}}
    lines = core.report(now, before).splitlines()
    total = next(line for line in lines if line.startswith("total")).split()
    assert total[1] == total[2] == f"{now['mixed']['total_us_per_event']:,.1f}"
    hazard = next(line for line in lines if line.startswith("hazard")).split()
    assert hazard[2] == "-" and hazard[4] == "-"  # no earlier hazard figures given


def test_a_part_is_timed_net_of_the_clocks_own_cost(monkeypatch) -> None:
    """A timing counts what passes between the two readings' samples: the part's own work and the
    clock's gap between readings. `net_ns` takes one gap, as measured back to back, out per timing."""
    now = [0]

    def read() -> int:  # each reading costs 100 ns after its sample
        sampled = now[0]
        now[0] += 100
        return sampled

    def work(ns: int) -> str:
        now[0] += ns
        return "done"

    monkeypatch.setattr(core.time, "process_time_ns", read)
    monkeypatch.setattr(core.Clock, "_reading", None)
    clock = core.Clock()
    assert clock.timed("decide", work, 1_000) == "done"
    assert clock.timed("decide", work, 500) == "done"
    clock.timed("intake", work, 40)
    assert core.Clock.reading_ns() == 100
    assert clock.ns["decide"] == 1_700 and clock.calls["decide"] == 2
    assert clock.net_ns()["decide"] == 1_500 and clock.net_ns()["intake"] == 40
    assert clock.net_ns()["state_encode"] == 0  # never timed, and never below nothing


def test_the_mixed_figures_are_the_median_round_after_a_cold_one(path: core.Path_) -> None:
    """Rounds after the cold one are each reported; the parts given are the median round's, adding
    up to its total; the cold round's total, the clock's cost in, is kept beside them."""
    mixed = core.mixed(path, 150, rounds=3)
    rounds = mixed["rounds_us_per_event"]
    assert len(rounds) == 3 and mixed["total_us_per_event"] == sorted(rounds)[1]
    assert sum(mixed["us_per_event"].values()) == pytest.approx(mixed["total_us_per_event"], abs=0.5)
    assert mixed["cold_total_us_per_event"] > 0 and mixed["clock_ns_per_timing"] > 0
    assert mixed["timings_per_event"] > 1  # intake once an event, and four parts an entry decided
    lines = core.report({"mixed": mixed, "history": {"hazard": [], "alert": []}}, None).splitlines()
    assert any(line.startswith("now: the median of 3 rounds") for line in lines)
    assert any(line.startswith("cold round") and line.endswith(f"{mixed['cold_total_us_per_event']:,.1f}")
               for line in lines)


def test_the_history_rows_kept_in_chunks_stay_small_where_the_whole_history_grows(
        path: core.Path_, monkeypatch) -> None:
    """At 200 events the chunked record holds the tail only; the report sets both side by side."""
    monkeypatch.setitem(core.HISTORY_LENGTHS, "hazard", (10, 200))
    chunked = core.history(path, "hazard", core.hazard_events(204), 4)
    whole = core.history(path, "hazard", core.hazard_events(204), 4, chunked=False)
    assert chunked[0]["history_bytes"] == whole[0]["history_bytes"] == whole[1]["history_bytes"] == 0
    assert chunked[1]["history_bytes"] > 0 and chunked[1]["stored_bytes"] < whole[1]["stored_bytes"] / 2
    assert chunked[1]["written_bytes_per_event"] < whole[1]["written_bytes_per_event"] / 2
    now = {"mixed": {"events": 1, "timeline_entries": 1, "us_per_event": {}, "total_us_per_event": 1.0},
           "history": {"hazard": chunked, "alert": []}, "history_whole": {"hazard": whole, "alert": []}}
    rows = [line.split() for line in core.report(now, None).splitlines()[-4:-1]]
    assert rows[-1][:2] == ["hazard", "200"]
    assert rows[-1][4:6] == [f"{whole[1]['stored_bytes']:,}", f"{chunked[1]['stored_bytes']:,}"]


def test_the_instruction_counts_run_the_path_bench_core_times() -> None:
    """bench.instructions runs a script of its own under callgrind; run here without it, each of
    its three stages works against today's bench.core: all three decide the warm events, the
    second then takes the measured ones through intake, and the third stores their states too."""
    from bench import instructions

    done: dict[int, dict] = {}
    for stage in (0, 1, 2):
        namespace: dict = {}
        exec(instructions._RUN.format(events=30, stage=stage, warm=20), namespace)  # noqa: S102 - ours
        done[stage] = namespace
    stored = {stage: {k: dict(t) for k, t in done[stage]["tables"].items()} for stage in done}
    assert stored[0]["hazard"] and stored[0] == stored[1]  # the warm events, decided alike
    assert "entries" not in done[0] and done[1]["entries"]
    assert stored[2] != stored[1] and len(stored[2]["hazard"]) > len(stored[1]["hazard"])
    assert all(raw for raw in stored[2]["hazard"].values())
    assert instructions._COLLECTED.search("==1== Collected : 12345\n")[1] == "12345"


def test_a_commit_is_measured_in_a_worktree_of_its_own_and_the_worktree_goes() -> None:
    """`--before COMMIT` runs that commit's own bench.core now: HEAD's here, at a small size."""
    import subprocess

    from engine.settings import REPO_ROOT

    def worktrees() -> str:
        return subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "list"], check=True,
                              capture_output=True, text=True).stdout

    before = core.measure_commit("HEAD", 60, 2)
    assert before["mixed"]["events"] == 60 and before["mixed"]["total_us_per_event"] > 0
    assert [row["history"] for row in before["history"]["hazard"]] == list(core.HISTORY_LENGTHS["hazard"])
    assert "bench-core-before-" not in worktrees()
    with pytest.raises(RuntimeError, match="0{40}"):  # no such commit: git's words, nothing left
        core.measure_commit("0" * 40, 60, 2)
    assert "bench-core-before-" not in worktrees()


def test_the_worker_path_decides_every_entry_with_its_links_and_the_report_gives_each_kind() -> None:
    """`as_worker` decides each hazard and alert entry once, each enterprise's entries and the links
    its hazards send it, and the plan's seeds; its parts add up to its total, and the report lists
    every kind with that total."""
    from engine import codec

    worker = core.as_worker(300)
    entries = [codec.loads(v) for v in core.intake(core.build(300), core.load_rules(Settings().rules_dir),
                                                    core.Clock())]
    kinds = [e["subject_kind"] for e in entries]
    assert worker["decisions"]["hazard"] == kinds.count("hazard")
    assert worker["decisions"]["alert"] == kinds.count("alert")
    # An enterprise decides its own entries (inspections) and a link from each hazard and alert
    # decision that changed what its file shows: more than its own entries.
    assert worker["decisions"]["enterprise"] > kinds.count("enterprise") > 0
    assert worker["decisions"]["plan"] > 0  # the seeds of the annual plan's towns
    parts = sum(sum(p.values()) for p in worker["us_per_event"].values())
    assert parts == pytest.approx(worker["total_us_per_event"], abs=0.5)
    now = {"mixed": {"events": 1, "timeline_entries": 1, "us_per_event": dict.fromkeys(core.PARTS, 1.0),
                     "total_us_per_event": 5.0},
           "as_worker": worker, "history": {"hazard": [], "alert": []}}
    lines = core.report(now, None).splitlines()
    for kind in worker["decisions"]:
        assert any(line.split()[:1] == [kind] for line in lines)
    all_line = next(line for line in lines if line.startswith("all "))
    assert f"{worker['total_us_per_event']:,.1f}" in all_line


def test_the_enterprise_rows_time_links_the_file_applies_at_each_size() -> None:
    """Each link `enterprise_sizes` times is one the enterprise core applies (not a copy it ignores,
    which would time nothing), the files it builds hold what each row says, and the report gives a
    line for each size."""
    from engine.alerts import load_alert_rules
    from engine.cores import build_cores
    from engine.plan.rules import optional_plan

    settings = Settings()
    rules = core.load_rules(settings.rules_dir)
    enterprise = build_cores(rules, load_alert_rules(settings.rules_dir, rules.reference),
                             optional_plan(settings.rules_dir, rules.reference))["enterprise"]
    at = int(core.START.timestamp())
    first = core._hazard_link(0, "HZ-00000", at, [["P-1", "fine"]], {"P-1": "awaiting"})
    f, _ = enterprise.decide(None, first)
    again, _ = enterprise.decide(f, core._hazard_link(1, "HZ-00000", at))
    assert again is not f and len(f.proposals) == 1
    assert enterprise.decide(again, core._hazard_link(1, "HZ-00000", at))[0] is again  # a copy: ignored
    rows = core.enterprise_sizes(3)
    assert [(r["open_hazards"], r["proposals"]) for r in rows] == list(core.ENTERPRISE_SIZES)
    assert [r["stored_bytes"] for r in rows] == sorted(r["stored_bytes"] for r in rows)
    now = {"mixed": {"events": 1, "timeline_entries": 1, "us_per_event": dict.fromkeys(core.PARTS, 1.0),
                     "total_us_per_event": 5.0}, "enterprise": rows, "history": {"hazard": [], "alert": []}}
    lines = core.report(now, None).splitlines()
    assert sum(1 for line in lines if line.split()[:2] in ([f"{h:,}", f"{p:,}"] for h, p in
                                                             core.ENTERPRISE_SIZES)) == len(rows)
