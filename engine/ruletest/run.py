"""Running one rule-test file: feed its events to a replay of the core, then check the wants.

The replay is the same pure core the worker runs, so a test that passes here
passes in production for the same rules; only Kafka and the wall clock are
left out, and time moves exactly as the file says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.alerts import Alert, AlertReplay, AlertRules
from engine.decide.replay import Replay
from engine.decide.state import Hazard
from engine.kernel.outputs import Out
from engine.kernel.time import epoch, iso
from engine.reference import RulesFileError
from engine.ruleset.compiled import Rules
from engine.ruletest import report
from engine.ruletest.capview import cap_view
from engine.ruletest.events import Intake, cloud_event
from engine.ruletest.match import field_marks, matches, show
from engine.ruletest.spec import ALERT_EVENT_TYPES, FinalSpec, RuleTest, WantSpec, load, resolve

_CLOSEST = 3  # near misses shown per unmet want: enough to see the pattern, short enough to read


@dataclass(frozen=True, slots=True)
class Got:
    """One output the engine sent, at the time its CloudEvent carries."""

    at: int
    out: Out

    @property
    def type(self) -> str:
        """The CloudEvent type."""
        return self.out.event["type"]

    @property
    def data(self) -> dict[str, Any]:
        """The CloudEvent data; for a CAP document, its fields (engine.ruletest.capview)."""
        if self.type == "cap":
            return cap_view(self.out.event["xml"])
        return self.out.event["data"]

    @property
    def subject(self) -> str | None:
        """The hazard or alert the output is about."""
        return self.out.event.get("subject", self.out.key)


@dataclass
class FileResult:
    """The outcome of one file: passed, or failures to show, or an error that stopped it."""

    path: Path
    name: str = ""
    start: int = 0
    error: str | None = None
    failures: list[list[str]] = field(default_factory=list)
    got: list[Got] = field(default_factory=list)
    states: dict[str, Hazard | Alert] = field(default_factory=dict)  # each subject's state at the end

    @property
    def passed(self) -> bool:
        """Whether the file ran and every want and final state held."""
        return self.error is None and not self.failures


def run_file(path: Path, rules: Rules, alert_rules: AlertRules | None = None) -> FileResult:
    """Run one rule-test file against `rules` (and `alert_rules`, which events about alerts need)."""
    result = FileResult(path)
    try:
        spec = load(path)
        result.name = spec.name
        result.start = resolve(spec.start, 0)
        if alert_rules is None and any(e.type in ALERT_EVENT_TYPES for e in spec.events):
            raise RulesFileError(str(path), "events", "events about alerts need the alert rules "
                                 "(rules/alerts.yaml); none were given to the runner")
        replay, alerts = _replay(spec, path, rules, alert_rules, result.start)
    except RulesFileError as exc:
        result.error = str(exc)
        return result
    except Exception as exc:  # a crash of the core is this file's result, not the end of the run
        result.error = f"{path}: the engine failed on this test: {type(exc).__name__}: {exc}"
        return result
    outputs = replay.outputs + (alerts.outputs if alerts is not None else [])
    result.got = sorted((Got(epoch(o.event["time"]), o) for _, o in outputs), key=lambda g: g.at)
    states = result.states = {**replay.states, **(alerts.states if alerts else {})}
    for i, want in enumerate(spec.want):
        problem = _check_want(i, want, result.got, result.start)
        if problem:
            result.failures.append(problem)
    for subject, final in spec.final.items():
        problem = _check_final(subject, final, states.get(subject))
        if problem:
            result.failures.append(problem)
    return result


def _replay(spec: RuleTest, path: Path, rules: Rules, alert_rules: AlertRules | None,
            start: int) -> tuple[Replay, AlertReplay | None]:
    intake = Intake(rules.reference, str(path))
    replay = Replay(rules)
    alerts = AlertReplay(alert_rules) if alert_rules is not None else None
    # The two cores are independent: each takes the entries of its own subjects.
    cores = [replay, alerts] if alerts is not None else [replay]
    # A stable sort: events at one instant are fed in the order the file lists them.
    order = sorted(enumerate(spec.events), key=lambda pair: resolve(pair[1].at, start))
    for index, ev in order:
        at = resolve(ev.at, start)
        entries = intake.entries(cloud_event(ev, index, start, path.stem), index, at)
        for core in cores:
            core.advance_to(at)
            for entry in entries:
                core.feed(entry, now=at)  # the engine sees it at `at`, whatever its own time says
    for core in cores:
        core.advance_to(resolve(spec.until, start))
    return replay, alerts


def _check_want(i: int, want: WantSpec, got: list[Got], start: int) -> list[str] | None:
    low, high = (resolve(t, start) for t in want.window())
    same = [g for g in got if g.type == want.type and (want.subject is None or g.subject == want.subject)]
    hits = [g for g in same if low <= g.at <= high and matches(want.match, g.data)]
    if len(hits) >= 1 if want.count is None else len(hits) == want.count:
        return None
    wanted = "at least 1" if want.count is None else f"exactly {want.count}"
    lines = [f"want[{i}]: {wanted} {want.type}"
             + (f" about {want.subject}" if want.subject else "")
             + f" {report.window(low, high, start)}"]
    if want.match:
        lines.append("  matching " + ", ".join(f"{k}={show(v)}" for k, v in want.match.items()))
    lines.append(f"  got {len(hits)} in the window")
    if hits:
        lines += [f"  {report.when(g.at, start)}  {report.summary(g.out.event)}" for g in hits]
        return lines
    if not same:
        lines.append(f"  no {want.type} was sent at all" + (f" about {want.subject}" if want.subject else ""))
        return lines
    lines.append("  closest of that type:")
    ranked = sorted(same, key=lambda g: (-sum(m[0] for m in field_marks(want.match, g.data)),
                                         max(low - g.at, g.at - high, 0), g.at))
    for g in ranked[:_CLOSEST]:
        lines.append(f"  {report.when(g.at, start)}  {report.summary(g.out.event)}  "
                     f"({report.distance(g.at, low, high)})")
        lines += [f"      {'✓' if ok else '✗'} {key}: {text}"
                  for ok, key, text in field_marks(want.match, g.data)]
    return lines


def state_view(h: Hazard) -> dict[str, Any]:
    """The parts of a hazard's final state a test may check, in the test file's vocabulary."""
    listed = h.listed or [None, None, None, False]
    return {"status": h.status(), "verdict": h.verdict, "grade": h.grade, "tier": h.tier,
            "deadline": iso(h.deadline), "listed": bool(listed[3]), "listed_deadline": iso(listed[2]),
            "cycle": h.cycle, "running": sorted(h.clocks)}


def alert_view(a: Alert) -> dict[str, Any]:
    """The parts of an alert's final state a test may check, in the test file's vocabulary."""
    return {"status": a.status(), "grade": a.grade, "level": a.level, "reported": sorted(a.reported),
            "missed": sorted(a.missed), "handovers": a.step, "exercise": a.exercise,
            "running": sorted(a.clocks), "incident_class": a.incident_class,
            "disaster_reports": [r[2] for r in a.disaster_reports], "disaster_missed": len(a.dmissed)}


def _check_final(subject: str, final: FinalSpec, h: Hazard | Alert | None) -> list[str] | None:
    head = f"final {subject}:"
    if h is None:
        return [f"{head} no event about {subject} reached the engine, so it has no state"]
    view = alert_view(h) if isinstance(h, Alert) else state_view(h)
    wanted = final.keys()
    foreign = [k for k in wanted if k not in view]
    if foreign:
        noun = "an alert" if isinstance(h, Alert) else "a hazard"
        return [f"{head} {', '.join(foreign)} is not a key of {noun} (use {', '.join(view)})"]
    bad = []
    for key, value in wanted.items():
        ok = sorted(value) == view[key] if key in ("running", "reported", "missed") and value is not None \
            else matches(value, view[key])
        if not ok:
            bad.append(f"  ✗ {key}: wanted {show(value)}, got {show(view[key])}")
    if not bad:
        return None
    return [head, *bad, "  state: " + ", ".join(f"{k}={show(v)}" for k, v in view.items())]
