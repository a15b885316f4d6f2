"""The enterprise gauges: enterprises, their open and overdue hazards, by bounded labels only."""

from __future__ import annotations

from typing import Any

import pytest
from decide_fixtures import RULES
from prometheus_client import CollectorRegistry, generate_latest

from engine.cores import build_cores
from engine.enterprise.state import EnterpriseFile
from engine.metrics import EnterpriseGauges
from engine.views import Derived

pytestmark = pytest.mark.unit

NOW = 1_790_100_000


def file(uscc: str, **kw: Any) -> EnterpriseFile:
    base: dict[str, Any] = dict(registered="ev", registered_at=0, town="huxi", sector="fire_safety",
                                risk_class="red")
    base.update(kw)
    return EnterpriseFile(uscc, **base)


def scrape(gauges: EnterpriseGauges) -> str:
    registry = CollectorRegistry()
    registry.register(gauges)
    return generate_latest(registry).decode()


def test_enterprises_are_counted_by_town_sector_and_risk_class_with_bounded_labels() -> None:
    """An unknown town or sector counts under other, no class under unclassified, closed nowhere."""
    clock = [float(NOW)]
    gauges = EnterpriseGauges(RULES.reference, lambda: clock[0])
    gauges.update(file("91371500MA3C4XK2N2",
                       hazards={"HZ-1": ["verified", "major", NOW + 100, False, None, None, None, False],
                                "HZ-2": ["verified", "general", NOW - 5, True, None, None, None, False]}))
    gauges.update(file("91371500MA3D7PQ1LM"))
    gauges.update(file("91371500MA3D7PQ2XX", town="atlantis", sector=None, risk_class=None))
    gauges.update(file("91371500MA3D7PQ3XX", closed_at=10, closed_reason="moved"))
    out = scrape(gauges)
    assert 'hazard_enterprises{risk_class="red",sector="fire_safety",town="huxi"} 2.0' in out
    assert 'hazard_enterprises{risk_class="unclassified",sector="other",town="other"} 1.0' in out
    assert 'hazard_enterprise_hazards_open{risk_class="red",sector="fire_safety",town="huxi"} 2.0' in out
    # HZ-2 is past its deadline but its completion is claimed; HZ-1's deadline is still ahead.
    assert 'hazard_enterprise_hazards_overdue{risk_class="red",sector="fire_safety",town="huxi"} 0.0' in out
    assert "atlantis" not in out and "91371500" not in out  # no USCC, no unknown town as a label
    clock[0] = NOW + 101  # overdue is measured at scrape time, as the file's page measures it
    out = scrape(gauges)
    assert 'hazard_enterprise_hazards_overdue{risk_class="red",sector="fire_safety",town="huxi"} 1.0' in out
    gauges.update(file("91371500MA3C4XK2N2", closed_at=20, closed_reason="closed down"))
    out = scrape(gauges)
    assert 'hazard_enterprises{risk_class="red",sector="fire_safety",town="huxi"} 1.0' in out
    assert 'hazard_enterprise_hazards_overdue{risk_class="red",sector="fire_safety",town="huxi"} 0.0' in out


def test_the_worker_counts_stored_files_and_a_recovery_counts_them_the_same() -> None:
    """Derived.store follows each new file; rebuild from the stored bytes gives the same gauges."""
    def derived() -> tuple[Derived, EnterpriseGauges]:
        d = Derived.build(build_cores(RULES, None), RULES, lambda: float(NOW))
        assert d.enterprise_gauges is not None
        return d, d.enterprise_gauges
    live, live_gauges = derived()
    stored = {}
    for n, (town, risk) in enumerate([("huxi", "red"), ("huxi", "blue"), ("yuji", "blue"), ("yuji", None)]):
        f = file(f"91371500MA3C4XK{n}N2", town=town, risk_class=risk)
        stored[f.id.encode()] = live.store("enterprise", f)
    stored[b"91371500MA3C4XK0N2"] = live.store("enterprise", file("91371500MA3C4XK0N2", risk_class="orange"))
    out = scrape(live_gauges)
    assert 'hazard_enterprises{risk_class="orange",sector="fire_safety",town="huxi"} 1.0' in out
    assert 'risk_class="red"' not in out  # reclassified: counted once, under its new class
    recovered, recovered_gauges = derived()
    recovered.rebuild("enterprise", stored.items())
    assert scrape(recovered_gauges) == out
