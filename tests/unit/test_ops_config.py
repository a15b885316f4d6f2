"""The Prometheus rules, the Alertmanager routes and the compose file, checked by the real tools.

CI installs Debian's prometheus and prometheus-alertmanager packages, so these
tests fail rather than skip when promtool or amtool is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def run(*cmd: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert shutil.which(cmd[0]), f"{cmd[0]} is not installed: run `hazard-engine setup` (apt-get)"
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_promtool_checks_the_alert_rules() -> None:
    """`promtool check rules` accepts every rule and counts every alert of the file."""
    out = run("promtool", "check", "rules", "alerts.yml", cwd=DOCKER / "prometheus")
    assert out.returncode == 0, out.stdout + out.stderr
    groups = yaml.safe_load((DOCKER / "prometheus" / "alerts.yml").read_text())["groups"]
    assert f"SUCCESS: {sum(len(g['rules']) for g in groups)} rules found" in out.stdout


def test_promtool_unit_tests_each_alert() -> None:
    """`promtool test rules` passes, and every alert in alerts.yml has a test."""
    out = run("promtool", "test", "rules", "alerts_test.yml", cwd=DOCKER / "prometheus")
    assert out.returncode == 0, out.stdout + out.stderr
    rules = yaml.safe_load((DOCKER / "prometheus" / "alerts.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    tests = yaml.safe_load((DOCKER / "prometheus" / "alerts_test.yml").read_text())
    tested = {t["alertname"] for case in tests["tests"] for t in case["alert_rule_test"]}
    assert alerts == tested
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_promtool_checks_the_scrape_config() -> None:
    """The Prometheus configuration loads, with its rule file."""
    out = run("promtool", "check", "config", "prometheus.yml", cwd=DOCKER / "prometheus")
    assert out.returncode == 0, out.stdout + out.stderr


def test_amtool_checks_the_routes_and_routes_by_town_and_department() -> None:
    """amtool accepts the config; an overdue alert in huxi for fire_rescue reaches both."""
    cfg = DOCKER / "alertmanager" / "alertmanager.yml"
    out = run("amtool", "check-config", str(cfg), cwd=DOCKER)
    assert out.returncode == 0, out.stdout + out.stderr
    routed = run("amtool", "config", "routes", "test", f"--config.file={cfg}", "town=huxi",
                 "department=fire_rescue", "alertname=RectificationOverdue", cwd=DOCKER)
    assert routed.stdout.strip() == "town-huxi,dept-fire-rescue"


# The alerts about the engine itself and what it is fed: the operators can act on them, the district
# duty office cannot (it hears of some, below).
OPERATORS = {"HazardEngineDown", "HazardEngineLagHigh", "HazardEngineTimerLagging", "IntakeRejectionSpike",
             "IntakeEventTimesRefused", "FieldEventsArrivingLate", "HostClockBehindBroker",
             "DecisionDeadLettered", "WorkersRunDifferentRules", "WorkersRunDifferentReleases",
             "HolidayCalendarEnding", "PeriodicFilingFailing", "PeriodicFilingMonthsMissed",
             "PeriodicFilingClockAhead", "PeriodicFilingSchedulerDown", "PeriodicFilingFollowUpFailing"}
# Those of them the duty office hears of as well: the critical ones, and those that change what the
# supervisors see (records refused or late, deadlines turning approximate).
DUTY_OFFICE_TOO = {"HazardEngineDown", "DecisionDeadLettered", "IntakeEventTimesRefused",
                   "FieldEventsArrivingLate", "HolidayCalendarEnding"}


def alert_rules() -> dict[str, dict[str, Any]]:
    rules = yaml.safe_load((DOCKER / "prometheus" / "alerts.yml").read_text())
    return {r["alert"]: r for g in rules["groups"] for r in g["rules"]}


def receivers(name: str, rule: dict[str, Any], *labels: str) -> set[str]:
    """Whom Alertmanager's example routing sends alert `name` of `rule` to (amtool), with `labels`."""
    cfg = DOCKER / "alertmanager" / "alertmanager.yml"
    routed = run("amtool", "config", "routes", "test", f"--config.file={cfg}", f"alertname={name}",
                 f"severity={rule['labels']['severity']}", *[f"{k}={v}" for k, v in
                                                             sorted(rule["labels"].items())
                                                             if k != "severity"], *labels, cwd=DOCKER)
    return set(routed.stdout.strip().split(","))


def test_the_operators_get_the_engines_own_alerts_and_the_duty_office_those_it_must_know() -> None:
    """DecisionDeadLettered, HostClockBehindBroker, WorkersRunDifferent* and the intake's alerts went
    to the district duty office only; the operators who can act on them were never told."""
    rules = alert_rules()
    assert OPERATORS <= set(rules)
    for name, rule in rules.items():
        receivers_ = receivers(name, rule)
        assert ("engine-operators" in receivers_) == (name in OPERATORS), (name, receivers_)
        if name in OPERATORS:
            assert ("district-duty-office" in receivers_) == (name in DUTY_OFFICE_TOO), (name, receivers_)


CJK = re.compile(r"[\u4e00-\u9fff]")
TEMPLATE = re.compile(r"\{\{.*?\}\}")
# What a supervisor cannot do with an alert: run the engine's commands at a terminal.
COMMANDS = ("hazard-engine", "tail ", "`")


def test_the_alerts_a_supervisor_receives_speak_chinese_and_point_at_the_board() -> None:
    """A town office, a lead department and the district duty office read Chinese and use the board:
    what reaches any of them says so in Chinese, names the board (看板, its page), and runs no command;
    the English stays beside it for the operators (summary_en, description_en). An alert only the
    operators receive is in English, as before."""
    for name, rule in alert_rules().items():
        # The labels its expression keeps (by town, by department), as a real alert carries them.
        place = [f"{k}={v}" for k, v in (("town", "huxi"), ("department", "fire_rescue"))
                 if k in rule["expr"]]
        supervisors = receivers(name, rule, *place) - {"engine-operators"}
        notes = rule["annotations"]
        if not supervisors:
            assert not CJK.search(TEMPLATE.sub("", notes["summary"])) and "summary_en" not in notes, name
            continue
        for key in ("summary", "description"):
            text = TEMPLATE.sub("", notes[key])
            assert len(CJK.findall(text)) > len(re.findall(r"[A-Za-z]", text)), (name, key, supervisors)
            assert not any(c in notes[key] for c in COMMANDS), (name, key)
        assert "看板" in notes["description"], name
        assert notes["summary_en"] and notes["description_en"], name
        assert not CJK.search(TEMPLATE.sub("", notes["summary_en"]).replace("重大事故隐患", "")
                              .replace("挂牌督办", "").replace("行刑衔接", "").replace("失信", "")), name


# How a Chinese text names a town or a department: `$town` (`$dept`) is set to the id, spaced as the
# text had it, then to the name its look-up finds in the metric the engine exports.
NAMED = re.compile(r'\{\{ \$(?:town|dept) := printf "[^"]*" \$labels\.(?:town|department) \}\}')
LOOKUP = re.compile(r'\{\{ with printf "(\w+)\{kind=\\"(\w+)\\",id=\\"%s\\"\}" \$labels\.(\w+) \| query \}\}')
AN_ID = "?town={{ $labels.town }}"  # where an id is what is wanted: the API's query string


def test_the_chinese_texts_name_towns_and_departments_without_the_alerts_depending_on_the_names() -> None:
    """A town's office or a department reads 湖西街道 and 区消防救援大队, not huxi and fire_rescue: a
    Chinese text names a town or a department only by the name it looks up in what the engine
    exports (the promtool tests show the names, and without them the ids); no alert's expression
    reads the names, so none fires or keeps silent for want of them."""
    from decide_fixtures import RULES
    from prometheus_client import CollectorRegistry

    from engine.metrics import EngineMetrics

    registry = CollectorRegistry()
    EngineMetrics(registry, "v", "r", reference=RULES.reference)
    exported = {(f.name, s.labels["kind"]) for f in registry.collect() for s in f.samples
                if set(s.labels) == {"kind", "id", "name"}}
    looked_up = set()
    for name, rule in alert_rules().items():
        assert "hazard_reference_name_info" not in rule["expr"], name
        if "summary_en" not in rule["annotations"]:
            continue  # an alert only the operators receive: English, with ids
        for key in ("summary", "description"):
            text = rule["annotations"][key]
            lookups = LOOKUP.findall(text)
            assert all(kind == label for _, kind, label in lookups), (name, key, lookups)
            rest = NAMED.sub("", LOOKUP.sub("", text)).replace(AN_ID, "")
            assert "$labels.town" not in rest and "$labels.department" not in rest, (name, key)
            looked_up |= {(metric, kind) for metric, kind, _ in lookups}
    assert looked_up == {("hazard_reference_name_info", "town"), ("hazard_reference_name_info", "department")}
    assert looked_up <= exported


def test_every_alert_rule_has_a_runbook_line_in_readme() -> None:
    """README says of every alert what it means and what to do, in its own row of the runbook."""
    readme = (DOCKER.parent / "README.md").read_text(encoding="utf-8")
    runbook = readme.split("### What each alert means and what to do", 1)[1].split("\n## ", 1)[0]
    english, chinese = runbook.split(ZH_RUNBOOK, 1)
    rows = runbook_rows(english)
    assert set(alert_rules()) <= set(rows), sorted(set(alert_rules()) - set(rows))
    for name in alert_rules():
        cells = [c.strip() for c in rows[name].strip("|").split("|")]
        assert len(cells) == 4 and all(cells), rows[name]
    # In Chinese, every alert whose texts are (those a town, a department or the duty office reads).
    in_chinese = {name for name, rule in alert_rules().items() if "summary_en" in rule["annotations"]}
    rows = runbook_rows(chinese)
    assert in_chinese == set(rows), sorted(in_chinese ^ set(rows))
    for name in in_chinese:
        cells = [c.strip() for c in rows[name].strip("|").split("|")]
        assert len(cells) == 4 and all(CJK.search(c) for c in cells[1:]), rows[name]


ZH_RUNBOOK = "#### 各告警的含义与处置"


def runbook_rows(text: str) -> dict[str, str]:
    """A runbook table's rows by the alert each names first."""
    return {line.split("`")[1]: line for line in text.splitlines() if line.startswith("| `")}


class _Service(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image: str | None = None
    build: dict[str, str] | None = None
    command: list[str] | None = None
    environment: dict[str, str] | None = None
    ports: list[str] | None = None
    volumes: list[str] | None = None
    depends_on: list[str] | dict[str, dict[Literal["condition"], str]] | None = None
    healthcheck: dict[str, Any] | None = None
    restart: Literal["no", "always", "on-failure", "unless-stopped"] | None = None


class _Compose(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    services: dict[str, _Service] = Field(min_length=1)
    volumes: dict[str, dict[str, Any] | None] = {}  # named volumes (the worker's local store)


def test_compose_file_is_valid_and_consistent() -> None:
    """The compose file parses, fits the compose schema subset it uses, and its paths exist."""
    compose = _Compose.model_validate(yaml.safe_load((DOCKER / "compose.yaml").read_text()))
    assert {"kafka", "engine", "prometheus", "alertmanager", "grafana"} <= set(compose.services)
    for name, service in compose.services.items():
        assert (service.image is None) != (service.build is None), name
        for dep in service.depends_on or []:
            assert dep in compose.services, f"{name} depends on unknown {dep}"
        for volume in service.volumes or []:
            source = volume.split(":")[0]
            assert source in compose.volumes or (DOCKER / source).exists(), volume
    assert (DOCKER.parent / compose.services["engine"].build["dockerfile"]).exists()
