"""The hazard gauges follow state changes exactly, with bounded labels."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from prometheus_client import CollectorRegistry, generate_latest

from engine import codec
from engine.decide.state import Hazard
from engine.metrics import EngineMetrics, GaugeView, HazardGauges, dependency_versions


def text(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def hazard(hid: str, **kw) -> Hazard:
    base = dict(opened="e", opened_at=0, origin="report", sector="fire_safety", town="huxi",
                verdict="confirmed", grade="general", deadline=1000, watermark=0)
    base.update(kw)
    return Hazard(hid, **base)


def test_open_overdue_and_oldest_age() -> None:
    """Open hazards are counted by labels; overdue ones give the age of the oldest deadline."""
    registry = CollectorRegistry()
    gauges = HazardGauges(lambda h: "fire_rescue", now=lambda: 5000.0)
    registry.register(gauges)
    gauges.update(hazard("A", watermark=1000, tier="yellow"))
    gauges.update(hazard("B", watermark=2000, deadline=2000, tier="yellow"))
    gauges.update(hazard("C", watermark=10, deadline=9000, tier=None))
    out = text(registry)
    assert 'hazard_open{grade="general",sector="fire_safety",tier="yellow",town="huxi"} 2.0' in out
    assert 'hazard_overdue_rectifications{department="fire_rescue",grade="general",town="huxi"} 2.0' in out
    assert 'hazard_oldest_overdue_age_seconds{grade="general",town="huxi"} 4000.0' in out
    assert "HZ" not in out and '"A"' not in out  # no hazard id ever becomes a label


def test_a_deadline_counts_as_overdue_once_the_clock_passes_it_with_no_entry_since() -> None:
    """A deadline at 08:15 has no entry of its own until the ladder's step at the end of the day: the
    gauge counts it from the scrape after the deadline, as the board does, not from that step. A claim
    or a new deadline before then takes it out; views replaced many times leave no stale count."""
    clock = [0.0]
    registry = CollectorRegistry()
    gauges = HazardGauges(lambda h: "fire_rescue", now=lambda: clock[0])
    registry.register(gauges)
    gauges.update(hazard("A", watermark=100, deadline=1000))
    gauges.update(hazard("B", watermark=100, deadline=1500))
    gauges.update(hazard("C", watermark=100, deadline=1200))
    series = 'hazard_overdue_rectifications{department="fire_rescue",grade="general",town="huxi"}'
    assert series not in text(registry)
    clock[0] = 1300.0
    gauges.update(hazard("C", watermark=100, deadline=1200, completed_at=1100))  # claimed in time
    assert f"{series} 1.0" in text(registry)  # A only
    for n in range(3_000):  # B's view replaced again and again before its deadline
        gauges.update(hazard("B", watermark=100 + n, deadline=1500 + n % 2))
    clock[0] = 1600.0
    out = text(registry)
    assert f"{series} 2.0" in out
    assert 'hazard_oldest_overdue_age_seconds{grade="general",town="huxi"} 600.0' in out
    gauges.update(hazard("A", watermark=1700, deadline=5000))  # an extension: due again
    assert f"{series} 1.0" in text(registry)


def test_a_missed_listed_deadline_does_not_hide_one_falling_due_in_the_same_town() -> None:
    """The town's nearest deadline still ahead, and apart its earliest one passed: read as one, a
    missed deadline stayed the nearest until lifted and the warning for the next went silent."""
    registry = CollectorRegistry()
    gauges = HazardGauges(lambda h: "fire_rescue", now=lambda: 5_000.0)
    registry.register(gauges)
    gauges.update(hazard("A", grade="major", deadline=4_000, listed=["N-A", 0, 4_000, True]))
    gauges.update(hazard("B", grade="major", deadline=9_000, listed=["N-B", 0, 9_000, True]))
    out = text(registry)
    assert 'hazard_listed_supervision_next_deadline_timestamp_seconds{town="huxi"} 9000.0' in out
    assert 'hazard_listed_supervision_missed_deadline_timestamp_seconds{town="huxi"} 4000.0' in out


def test_closing_a_hazard_removes_it_everywhere() -> None:
    """A passed review takes the hazard out of open, overdue and listed counts."""
    registry = CollectorRegistry()
    gauges = HazardGauges(lambda h: "fire_rescue", now=lambda: 0.0)
    registry.register(gauges)
    gauges.update(hazard("A", watermark=1000, listed=["N", 0, 10, True]))
    assert "hazard_listed_supervisions_active 1.0" in text(registry)
    gauges.update(hazard("A", watermark=1000, closed_how="passed", listed=["N", 0, 10, False]))
    out = text(registry)
    assert "hazard_listed_supervisions_active 0.0" in out
    assert "hazard_open{" not in out and "hazard_overdue_rectifications{" not in out


def test_outputs_are_counted_by_type() -> None:
    """Escalations by action, referrals and notices each have their counter."""
    registry = CollectorRegistry()
    metrics = EngineMetrics(registry)
    metrics.count_output({"type": "safety.escalation.raised",
                          "data": {"action": "summon", "subject_kind": "hazard"}})
    metrics.count_output({"type": "safety.referral.discipline", "data": {}})
    metrics.count_output({"type": "safety.referral.withdrawn", "data": {}})
    metrics.count_output({"type": "safety.supervision.lifted", "data": {}})
    metrics.count_output({"type": "safety.enforcement.withdrawn", "data": {"measure": "fine"}})
    metrics.count_output({"type": "safety.referral.judicial_withdrawn", "data": {}})
    out = text(registry)
    assert "hazard_judicial_referrals_withdrawn_total 1.0" in out
    assert "hazard_judicial_referrals_total 0.0" in out  # a withdrawal is no transfer
    assert 'hazard_escalations_total{action="summon",subject_kind="hazard"} 1.0' in out
    assert 'hazard_enforcement_proposals_withdrawn_total{measure="fine"} 1.0' in out
    assert 'hazard_enforcement_proposals_total{measure="fine"}' not in out  # a withdrawal proposes nothing
    assert "hazard_referrals_total 1.0" in out  # a withdrawal is no referral
    assert "hazard_referrals_withdrawn_total 1.0" in out
    assert 'hazard_supervision_notices_total{type="lifted"} 1.0' in out


def test_credit_proposals_and_their_withdrawals_are_counted_by_criterion_and_decision() -> None:
    """A withdrawal says whether a person had decided: a listing on a premise undone is the one to
    act on (the CreditListingWithdrawn alert)."""
    registry = CollectorRegistry()
    metrics = EngineMetrics(registry)
    assert ('hazard_credit_proposals_withdrawn_total{criterion="repeated_overdue_major",decided="listed"} 0.0'
            in text(registry))  # exported from the start
    metrics.count_output({"type": "safety.credit.proposed", "data": {"criterion": "refused_inspection"}})
    metrics.count_output({"type": "safety.credit.withdrawn",
                          "data": {"criterion": "repeated_overdue_major", "decided": "listed"}})
    metrics.count_output({"type": "safety.credit.withdrawn",
                          "data": {"criterion": "repeated_overdue_major", "decided": None}})
    out = text(registry)
    assert 'hazard_credit_proposals_total{criterion="refused_inspection"} 1.0' in out
    assert 'hazard_credit_proposals_total{criterion="repeated_overdue_major"}' not in out
    assert ('hazard_credit_proposals_withdrawn_total{criterion="repeated_overdue_major",decided="listed"} 1.0'
            in out)
    assert ('hazard_credit_proposals_withdrawn_total{criterion="repeated_overdue_major",decided="none"} 1.0'
            in out)


def test_counts_through_the_kept_children_add_up_per_label_set() -> None:
    """The worker's per-record helpers keep each labelled child; counts still add up per label set."""
    registry = CollectorRegistry()
    metrics = EngineMetrics(registry)
    for _ in range(3):
        metrics.count_intake("hazard.reports", "accepted")
        metrics.count_output({"type": "safety.escalation.raised",
                              "data": {"action": "notify", "subject_kind": "hazard"}})
    metrics.count_intake("hazard.reports", "rejected", ("schema", "unknown_town"))
    metrics.count_intake("alerts.raised", "rejected", ("schema",))
    metrics.count_output({"type": "safety.escalation.raised",
                          "data": {"action": "summon", "subject_kind": "hazard"}})
    metrics.count_output({"type": "safety.enforcement.proposed", "data": {"measure": "fine"}})
    metrics.observe("intake", 0.0002)
    metrics.observe("intake", 0.003)
    metrics.observe("decide", 0.0004)
    out = text(registry)
    assert 'hazard_intake_records_total{outcome="accepted",topic="hazard.reports"} 3.0' in out
    assert 'hazard_intake_records_total{outcome="rejected",topic="hazard.reports"} 1.0' in out
    assert 'hazard_intake_rejections_total{reason="unknown_town",topic="hazard.reports"} 1.0' in out
    assert 'hazard_intake_rejections_total{reason="schema",topic="alerts.raised"} 1.0' in out
    assert 'hazard_escalations_total{action="notify",subject_kind="hazard"} 3.0' in out
    assert 'hazard_escalations_total{action="summon",subject_kind="hazard"} 1.0' in out
    assert 'hazard_enforcement_proposals_total{measure="fine"} 1.0' in out
    assert 'hazard_processing_seconds_count{stage="intake"} 2.0' in out
    assert 'hazard_processing_seconds_bucket{le="0.0025",stage="intake"} 1.0' in out
    assert 'hazard_processing_seconds_count{stage="decide"} 1.0' in out


def test_the_stage_times_are_exposed_as_prometheus_clients_histogram_exposes_them() -> None:
    """The lock-free stage histogram writes what prometheus_client's Histogram with the same name and
    buckets writes for the same observations (bounds themselves, 0, past the last bound), bar the
    `_created` sample."""
    import random

    from prometheus_client import Histogram

    from engine.metrics import _LATENCY_BUCKETS

    ours, theirs = CollectorRegistry(), CollectorRegistry()
    metrics = EngineMetrics(ours)
    reference = Histogram("hazard_processing_seconds",
                          "Time to handle one record, by stage (intake, decide).",
                          ["stage"], registry=theirs, buckets=_LATENCY_BUCKETS)
    rng = random.Random(3)
    for _ in range(3000):
        stage = rng.choice(["intake", "decide"])
        seconds = rng.choice([*_LATENCY_BUCKETS, 0.0, 3.0, rng.random() * 0.01, rng.random() * 4])
        metrics.observe(stage, seconds)
        reference.labels(stage).observe(seconds)

    def lines(registry: CollectorRegistry) -> list[str]:
        return [line for line in text(registry).splitlines()
                if "hazard_processing_seconds" in line and "_created" not in line]

    assert lines(ours) == lines(theirs)
    assert len(lines(ours)) == 2 + 2 * (len(_LATENCY_BUCKETS) + 3)


def test_gauges_rebuilt_from_stored_headers_match_gauges_fed_live() -> None:
    """After recovery the gauges come from the summary in each state's header, not the state."""
    from engine.store import header, pack, unpack

    lead = lambda h: "fire_rescue"  # noqa: E731
    live, rebuilt = CollectorRegistry(), CollectorRegistry()
    fed, reset = HazardGauges(lead, now=lambda: 5000.0), HazardGauges(lead, now=lambda: 5000.0)
    live.register(fed)
    rebuilt.register(reset)
    states = [hazard("A", watermark=1000, tier="yellow"),
              hazard("B", watermark=2000, deadline=2000, listed=["N", 0, 9000, True]),
              hazard("C", watermark=10, town="jinhu"),
              hazard("D", watermark=3000, closed_how="passed")]
    stored = []
    for h in states:
        view = fed.view(h)
        fed.put(h.id, view)
        stored.append((h.id, pack(h, view.encode("2026.1"))))
    reset.reset((hid, GaugeView.decode(header(raw)[1], "2026.1")) for hid, raw in stored)
    assert text(rebuilt) == text(live)
    assert GaugeView.decode(header(stored[0][1])[1], "2027.1") is None  # made under other rules
    assert GaugeView.decode(b'[null,null,1,false,null]', "2026.1") is None  # an older layout
    assert GaugeView.decode(b"not json", "2026.1") is None
    assert GaugeView.decode(b'{"rules":"2026.1","open":{"grade":"general"}}', "2026.1") is None  # torn
    named = header(stored[1][1])[1]
    assert named.startswith(b'{"rules":"2026.1","v":2,"open":{"grade":')
    assert b'"department":"fire_rescue"' in named
    # A view stored before 2026-12-07 had its overdue labels only once an entry at or after the deadline
    # was applied; read as today's, a deadline passing by the clock would never be counted: not read.
    for h in states:
        view = fed.view(h)
        assert GaugeView.decode(view.encode("2026.1"), "2026.1") == view
        unversioned = codec.loads(view.encode("2026.1"))
        del unversioned["v"]
        listed = codec.dumps(["2026.1", view.open_labels, view.overdue_labels, view.deadline, view.listed,
                              view.listed_deadline])  # as commit 5917cbe wrote it
        assert GaugeView.decode(codec.dumps(unversioned), "2026.1") is None
        assert GaugeView.decode(listed, "2026.1") is None
    assert unpack(stored[1][1]) == states[1]
    assert header(stored[1][1])[0] == states[1].next_due()
    assert header(pack(states[0]))[1] is None  # no summary: the rebuild decodes the state instead


def test_build_info_and_process_metrics_are_on_the_engines_registry() -> None:
    """The engine's own registry carries its versions and the process collectors."""
    registry = CollectorRegistry()
    EngineMetrics(registry, "1.2.3", "rules-abc")
    out = text(registry)
    assert 'hazard_build_info{rules_version="rules-abc",version="1.2.3"} 1.0' in out
    assert "process_resident_memory_bytes" in out
    assert "python_info" in out


def test_the_installed_version_of_each_runtime_requirement_is_exported() -> None:
    """One series per requirement of pyproject.toml outside the extras, at the installed version."""
    registry = CollectorRegistry()
    EngineMetrics(registry, "1.2.3", "r")
    exported = dict(re.findall(r'hazard_dependency_info\{distribution="([^"]+)",version="([^"]+)"\} 1.0',
                               text(registry)))
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    declared = {canonicalize_name(Requirement(line).name) for line in pyproject["project"]["dependencies"]}
    assert {canonicalize_name(name) for name in exported} == declared
    assert exported["orjson"] == importlib.metadata.version("orjson")
    assert exported["aiokafka"] == importlib.metadata.version("aiokafka")
    assert dependency_versions("no-such-distribution") == ()


def test_the_last_year_of_known_holidays_is_exported() -> None:
    """The calendar's last exactly known year is a gauge, for an alert before the year turns."""
    registry = CollectorRegistry()
    EngineMetrics(registry, "1.2.3", "r", 2026)
    out = text(registry)
    assert "hazard_calendar_known_through_year 2026.0" in out
    assert "hazard_calendar_known_until_timestamp_seconds 1.7987328e+09" in out  # 2027-01-01 00:00+08


def test_each_town_and_department_is_exported_with_its_name_as_the_board_gives_it() -> None:
    """hazard_reference_name_info has one series per town and per department of the reference data,
    named in Chinese as engine/zh names them (the alerts' texts look the names up there)."""
    from decide_fixtures import RULES

    from engine.zh.words import Words

    registry = CollectorRegistry()
    EngineMetrics(registry, "v", "r", 2026, RULES.reference)
    exported = {(s.labels["kind"], s.labels["id"]): (s.labels["name"], s.value)
                for f in registry.collect() if f.name == "hazard_reference_name_info" for s in f.samples}
    words = Words("zh", RULES.reference)
    expected = {("town", t): (words.named("town", t), 1.0) for t in RULES.reference.towns}
    expected |= {("department", d): (words.named("unit", d), 1.0) for d in RULES.reference.departments}
    assert exported == expected
    assert exported[("town", "huxi")] == ("湖西街道", 1.0)
    assert exported[("department", "fire_rescue")] == ("区消防救援大队", 1.0)
    assert all(name != id_ for (_, id_), (name, _) in exported.items())  # each has a name of its own
    bare = CollectorRegistry()
    EngineMetrics(bare, "v", "r")  # no reference, no names: the alerts name ids
    assert "hazard_reference_name_info{" not in text(bare)


def test_readme_documents_every_metric_with_its_labels() -> None:
    """Each hazard_* family the worker and the filing scheduler export has a row in README's tables,
    with the same labels."""
    from pathlib import Path

    from decide_fixtures import RULES

    from engine.enterprise.state import EnterpriseFile
    from engine.metrics import AlertGauges, EnterpriseGauges, FilingMetrics, ReplicaGauges, RuntimeGauges
    from engine.stream.pauses import Pauses

    registry = CollectorRegistry()
    EngineMetrics(registry, "v", "r", 2026, RULES.reference)
    filings = FilingMetrics(registry)  # the filing scheduler's, on its own registry
    filings.sent.labels(caught_up="false")
    filings.missed.labels(first="", last="")
    filings.follow_up_failing.labels(step="copy")
    gauges = HazardGauges(lambda h: "fire_rescue", now=lambda: 5000.0)
    gauges.update(hazard("A", watermark=1000, tier="yellow", listed=None))
    enterprises = EnterpriseGauges(RULES.reference, lambda: 5000.0)
    enterprises.update(EnterpriseFile("91371500MA3C4XK2N2", registered="e", town="huxi", risk_class="red"))
    runtime = RuntimeGauges(lambda: {("t", 0): 1}, lambda: 0, lambda: 0.0, lambda: 0)
    replica = ReplicaGauges(lambda: {"hazard": 0})
    for collector in (gauges, AlertGauges(), runtime, enterprises, replica, Pauses()):
        registry.register(collector)
    exported = {}
    for family in registry.collect():
        if family.name.startswith("hazard_"):
            labels = {k for s in family.samples for k in s.labels if k not in ("le",)}
            exported[family.name] = labels
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`hazard_"):
            rows[cells[0].strip("`")] = {c.strip("` ") for c in cells[1].split(",") if c.strip()}
    names = {n.removesuffix("_total") for n in exported}
    assert names == {n.removesuffix("_total") for n in rows}
    for name, labels in exported.items():
        documented = rows.get(name, rows.get(name + "_total", rows.get(name.removesuffix("_total"))))
        assert labels <= documented, (name, labels, documented)
