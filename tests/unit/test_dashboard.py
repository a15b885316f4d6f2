"""The dashboard check without a broker: reading PromQL, and catching a misspelt metric.

tests/broker/test_dashboard_e2e.py asks a real Prometheus; here a stand-in
answers, so these tests prove that the check itself can fail.
"""

from __future__ import annotations

import copy
import json

import pytest
from broker.promlib import check_queries, dashboard_queries, metric_names, substitute
from prometheus_client import CollectorRegistry
from prometheus_client.process_collector import ProcessCollector

from engine.settings import REPO_ROOT

DASHBOARD = json.loads((REPO_ROOT / "docker/grafana/dashboards/hazard-engine.json").read_text())


class FakeProm:
    """A Prometheus stand-in that knows some metric names and refuses expressions containing `!!`."""

    def __init__(self, names: set[str]) -> None:
        self._names = names

    def parse_error(self, expr: str) -> str | None:
        """A parse error for `!!`, else none."""
        return "bad_data: unexpected character" if "!!" in expr else None

    def names(self) -> set[str]:
        """The names it was given."""
        return self._names


def every_name(dashboard: dict) -> set[str]:
    """Every metric name a dashboard's expressions select."""
    return set().union(*(metric_names(expr) for _, expr in dashboard_queries(dashboard)))


@pytest.mark.parametrize(("expr", "names"), [
    ("hazard_open", {"hazard_open"}),
    ('sum by (town, sector) (hazard_open{town=~"huxi|yuji"})', {"hazard_open"}),
    ("sum(rate(a_total[5m])) by (le) / on(instance) group_left(version) b", {"a_total", "b"}),
    ("histogram_quantile(0.95, sum without (x) (rate(c_bucket[1h:5m] offset 1d)))", {"c_bucket"}),
    ('{__name__="d", a="by"} > bool 0 unless e @ start()', {"d", "e"}),
    ('label_replace(f, "dst", "$1", "src", "(.*)") and vector(1)', {"f"}),
    ("min by (town) (g) - time() < 7 * 86400", {"g"}),
    ("SUM BY (town) (h) AND ON() i > Inf", {"h", "i"}),
])
def test_metric_names_are_told_from_functions_keywords_and_labels(expr: str, names: set[str]) -> None:
    """Only metric names come out: not functions, aggregations, keywords, labels, strings or durations."""
    assert metric_names(expr) == names


def test_grafana_variables_become_a_regex_and_a_fixed_interval() -> None:
    """$town and ${town} become `.*`; $__rate_interval and $__range a duration Prometheus accepts."""
    expr = 'rate(x{town=~"$town", d=~"${dept:regex}"}[$__rate_interval]) + increase(y[$__range])'
    assert substitute(expr) == 'rate(x{town=~".*", d=~".*"}[5m]) + increase(y[1h])'


def test_queries_come_from_panels_rows_and_template_variables() -> None:
    """Targets of panels (also inside collapsed rows) and query variables are all extracted."""
    dashboard = {"panels": [
        {"title": "p", "targets": [{"refId": "A", "expr": "a"}]},
        {"type": "row", "collapsed": True,
         "panels": [{"title": "q", "targets": [{"expr": "b[$__interval]"}]}]},
    ], "templating": {"list": [
        {"type": "query", "name": "town", "query": {"query": "label_values(c{x=\"1\"}, town)"}},
        {"type": "query", "name": "raw", "query": "query_result(d)"},
        {"type": "custom", "name": "tier", "query": "blue,red"},
    ]}}
    assert [expr for _, expr in dashboard_queries(dashboard)] == ["a", "b[1m]", 'c{x="1"}', "d"]


def test_the_shipped_dashboard_passes_when_all_its_metrics_exist() -> None:
    """With every name it reads known, the shipped dashboard has no problem; it has many queries."""
    queries = dashboard_queries(DASHBOARD)
    assert len(queries) >= 20
    assert check_queries(queries, FakeProm(every_name(DASHBOARD))) == []


def test_a_misspelt_metric_in_the_dashboard_is_caught() -> None:
    """Renaming one metric in one panel makes the check name that panel and the wrong metric."""
    broken = copy.deepcopy(DASHBOARD)
    panel = next(p for p in broken["panels"] if "hazard_overdue_rectifications" in json.dumps(p))
    panel["targets"][0]["expr"] = panel["targets"][0]["expr"].replace(
        "hazard_overdue_rectifications", "hazard_overdue_rectification")
    problems = check_queries(dashboard_queries(broken), FakeProm(every_name(DASHBOARD)))
    assert len(problems) == 1
    assert repr(panel["title"]) in problems[0] and "'hazard_overdue_rectification'" in problems[0]


def test_a_refused_expression_and_one_naming_no_metric_are_caught() -> None:
    """An expression Prometheus refuses, and one that selects no metric at all, are both reported."""
    problems = check_queries([("p1", "sum(hazard_open) !! 2"), ("p2", "vector(1)")],
                             FakeProm({"hazard_open"}))
    assert [p.split(":")[0] for p in problems] == ["p1", "p2"]
    assert "refused" in problems[0] and "names no metric" in problems[1]


def test_the_process_metrics_the_dashboard_awaits_are_spelt_as_prometheus_client_exports_them() -> None:
    """prometheus_client's process collector exports the two process metrics the dashboard reads."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    exported = {s.name for family in registry.collect() for s in family.samples}
    assert {n for n in every_name(DASHBOARD) if n.startswith("process_")} <= exported
    assert {"process_resident_memory_bytes", "process_cpu_seconds_total"} <= exported
