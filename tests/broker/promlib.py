"""Prometheus for tests: run the real binary against a worker, ask its HTTP API, read PromQL.

The running half serves the broker tests. The reading half (which metric
names an expression selects, which expressions a Grafana dashboard holds, and
the check that each parses and names only scraped metrics) is pure, so a unit
test can prove that it catches a misspelt metric without any broker.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from engine.broker.install import free_port

# ---------------------------------------------------------------- running Prometheus


@dataclass
class Prometheus:
    """A `prometheus` child process scraping one target every second, and its HTTP API."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @classmethod
    def start(cls, tmp: Path, target: str, rules: str | None = None) -> Prometheus:
        """Start Prometheus in `tmp` scraping `target`, with `rules` (alert rules YAML) if given."""
        assert shutil.which("prometheus"), "prometheus is not installed: run `hazard-engine setup`"
        config = "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        if rules is not None:
            (tmp / "alerts.yml").write_text(rules)
            config += "rule_files: [alerts.yml]\n"
        config += ("scrape_configs:\n  - job_name: hazard-engine\n"
                   f"    static_configs: [{{targets: ['{target}']}}]\n")
        (tmp / "prometheus.yml").write_text(config)
        port = free_port()
        log = tmp / "prometheus.log"
        proc = subprocess.Popen(
            ["prometheus", f"--config.file={tmp / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log.open("wb"), stderr=subprocess.STDOUT)
        return cls(proc, port, log)

    def api(self, path: str, **params: str) -> dict[str, Any]:
        """GET an API path; Prometheus' JSON answer, also for a 400 (which carries the error)."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}{query}", timeout=10) as r:
                return json.load(r)
        except urllib.error.HTTPError as err:
            if err.code in (400, 422):
                return json.load(err)
            raise

    def parse_error(self, expr: str) -> str | None:
        """Why Prometheus refuses `expr` as an instant query, or None if it accepts it."""
        answer = self.api("/api/v1/query", query=expr)
        return None if answer["status"] == "success" else f"{answer['errorType']}: {answer['error']}"

    def has_data(self, expr: str) -> bool:
        """Whether the instant query `expr` returns at least one sample or value now."""
        answer = self.api("/api/v1/query", query=expr)
        return answer["status"] == "success" and bool(answer["data"]["result"])

    def wait_for_data(self, queries: list[tuple[str, str]], timeout: float) -> list[str]:
        """Wait until every (where, expr) query returns data; return where those still empty are."""
        deadline = time.monotonic() + timeout
        while True:
            empty = [where for where, expr in queries if not self.has_data(expr)]
            if not empty or time.monotonic() > deadline:
                return empty
            time.sleep(1)

    def scrape_errors(self) -> list[str]:
        """The last scrape error of each target that has one."""
        targets = self.api("/api/v1/targets")["data"]["activeTargets"]
        return [f"{t['scrapeUrl']}: {t['lastError']}" for t in targets if t["lastError"]]

    def names(self) -> set[str]:
        """Every metric name in the scraped series."""
        return set(self.api("/api/v1/label/__name__/values")["data"])

    def wait_for_names(self, wanted: set[str], timeout: float) -> set[str]:
        """Wait until every name in `wanted` has been scraped; return the names scraped by then."""
        deadline = time.monotonic() + timeout
        names: set[str] = set()
        while time.monotonic() < deadline:
            try:
                names = self.names()
            except OSError:
                pass  # still starting
            if wanted <= names:
                break
            time.sleep(1)
        return names

    def log_tail(self) -> str:
        """The end of Prometheus' own log, for a failure message."""
        return self.log.read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        """Terminate the process and wait for it."""
        self.proc.terminate()
        self.proc.wait(20)


# ---------------------------------------------------------------- reading PromQL

_TOKEN = re.compile(r"""
    (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<number>[0-9.][0-9a-zA-Z_.]*)           # 0.95, 1e3, 5m, 1h30m, 0x1f
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<match>=~|!~|!=|==|=)
  | (?P<space>\s+)
  | (?P<other>.)
""", re.VERBOSE)
# Words that are PromQL syntax, never a metric, wherever they stand.
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
             "and", "or", "unless", "atan2", "inf", "nan"}
_LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}


def _tokens(expr: str) -> list[tuple[str, str]]:
    return [(m.lastgroup or "", m.group()) for m in _TOKEN.finditer(expr) if m.lastgroup != "space"]


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects, by bare name or by `{__name__="..."}`."""
    tokens = _tokens(expr)
    names: set[str] = set()
    braces = brackets = 0
    label_list_depth: int | None = None  # paren depth of a `by (...)`-style label list
    parens = 0
    for i, (kind, text) in enumerate(tokens):
        following = tokens[i + 1][1].lower() if i + 1 < len(tokens) else ""  # keywords ignore case
        if kind == "other":
            if text == "(":
                parens += 1
            elif text == ")":
                parens -= 1
                if label_list_depth is not None and parens < label_list_depth:
                    label_list_depth = None
            braces += {"{": 1, "}": -1}.get(text, 0)
            brackets += {"[": 1, "]": -1}.get(text, 0)
        elif kind == "ident" and braces:
            if text == "__name__" and following == "=" and i + 2 < len(tokens):
                names.add(tokens[i + 2][1][1:-1])
        elif kind == "ident" and not brackets:
            if text.lower() in _LABEL_LISTS and following == "(":
                label_list_depth = parens + 1
            elif (text.lower() in _KEYWORDS or following in ("(", "by", "without")
                  or label_list_depth is not None):
                continue  # syntax, a function or aggregation, or a label in a label list
            else:
                names.add(text)
    return names


# Grafana's own placeholders, replaced by what Prometheus alone accepts.
_INTERVALS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h", "__range_s": "3600",
              "__interval_ms": "60000"}
_VARIABLE = re.compile(r"\$\{([a-zA-Z_]\w*)(?::\w+)?\}|\$([a-zA-Z_]\w*)|\[\[([a-zA-Z_]\w*)\]\]")


def substitute(expr: str) -> str:
    """Replace Grafana's variables: intervals by a fixed duration, template variables by `.*`."""
    def value(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        return _INTERVALS.get(name, ".*")
    return _VARIABLE.sub(value, expr)


_LABEL_VALUES = re.compile(r"^\s*label_values\((?:(?P<selector>.+),)?\s*(?P<label>\w+)\s*\)\s*$", re.S)
_QUERY_RESULT = re.compile(r"^\s*query_result\((?P<expr>.+)\)\s*$", re.S)


def variable_expr(query: str) -> str | None:
    """The PromQL inside a Grafana template variable query, or None if it holds none."""
    if m := _LABEL_VALUES.match(query):
        return m.group("selector")
    if m := _QUERY_RESULT.match(query):
        return m.group("expr")
    if query.strip().startswith(("label_names(", "metrics(")):
        return None
    return query


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # rows, collapsed or not


def dashboard_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """Every PromQL expression of a dashboard, as (where, expression), variables substituted."""
    found = []
    for panel in _panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if target.get("expr"):
                found.append((f"panel {panel.get('title')!r} {target.get('refId', '')}",
                              substitute(target["expr"])))
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        query = var.get("query")
        query = query.get("query", "") if isinstance(query, dict) else query or ""
        expr = variable_expr(query)
        if expr:
            found.append((f"variable ${var['name']}", substitute(expr)))
    return found


class PromAPI(Protocol):
    """What the check needs of Prometheus: whether it parses an expression, which names exist."""

    def parse_error(self, expr: str) -> str | None:
        """Why `expr` is refused, or None."""

    def names(self) -> set[str]:
        """Every scraped metric name."""


def check_queries(queries: list[tuple[str, str]], prom: PromAPI) -> list[str]:
    """What is wrong with each query: refused by Prometheus, or naming a metric never scraped."""
    known = prom.names()
    problems = []
    for where, expr in queries:
        error = prom.parse_error(expr)
        if error:
            problems.append(f"{where}: {expr!r} refused: {error}")
        names = metric_names(expr)
        if not names:
            problems.append(f"{where}: {expr!r} names no metric")
        for name in sorted(names - known):
            problems.append(f"{where}: {expr!r} names {name!r}, which the worker does not export")
    return problems
