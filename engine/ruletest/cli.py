"""`hazard-engine rules check` and `hazard-engine rules test FILE...`, like promtool for the hazard rules."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from engine.alerts import AlertRules, load_alert_rules
from engine.alerts.rules import words
from engine.kernel.referral import hold
from engine.plan.rules import optional_plan
from engine.progress import Bar
from engine.reference import RulesFileError
from engine.ruleset import load_rules
from engine.ruleset.calendar import SHANGHAI, calendar_warnings
from engine.ruleset.compiled import Rules
from engine.ruletest import report
from engine.ruletest.run import FileResult, run_file


def register(subparsers: Any) -> None:
    """Add the `rules` command, with `check`, `test` and `replay`, to the main CLI's subparsers."""
    rules = subparsers.add_parser("rules", help="check the rules, or run rule tests against them")
    sub = rules.add_subparsers(dest="rules_command", required=True)
    check = sub.add_parser("check", help="validate rules/hazards.yaml, rules/alerts.yaml and "
                           "rules/reference/")
    check.add_argument("--rules-dir", type=Path, help="default: HAZARD_RULES_DIR or rules/")
    check.set_defaults(func=check_command)
    test = sub.add_parser("test", help="run rule-test files (rules/tests/*.yaml) against the rules")
    test.add_argument("files", nargs="+", type=Path, help="rule-test files, e.g. rules/tests/*.yaml")
    test.add_argument("--rules-dir", type=Path, help="default: HAZARD_RULES_DIR or rules/")
    test.add_argument("-v", "--verbose", action="store_true",
                      help="list every output of passing files too")
    test.set_defaults(func=test_command)
    rep = sub.add_parser("replay", help="run the recorded timeline through the rules in force and "
                         "through NEW, and print what NEW would have sent differently")
    rep.add_argument("--rules-dir", type=Path, required=True, metavar="NEW",
                     help="the new rules (the rules in force are HAZARD_RULES_DIR or rules/)")
    rep.add_argument("--from", dest="since", metavar="T",
                     help="compare only outputs sent at or after T (RFC 3339 with an offset)")
    rep.add_argument("--to", dest="until", metavar="T",
                     help="replay up to T, clocks included (default: the latest entry's time)")
    rep.add_argument("--json", action="store_true", help="print the difference as JSON")
    rep.set_defaults(func=replay_command)


def _rules_dir(args: argparse.Namespace) -> Path:
    if getattr(args, "rules_dir", None):
        return args.rules_dir
    from engine.settings import Settings  # imported late: only needed without --rules-dir

    return Settings.load(getattr(args, "config", None), getattr(args, "secrets_dir", None)).rules_dir


def _late(rules: Rules) -> str:
    if rules.late_after is None:
        return "duty clocks from the events' own times, referrals at the deadline"
    held = f"referrals {rules.late_after} after the deadline" if hold(rules) else "referrals at the deadline"
    return f"duty clocks from arrival when more than {rules.late_after} late, {held}"


def describe(rules: Rules) -> str:
    """A one-line summary of loaded rules, so an operator sees what a change amounted to."""
    ref = rules.reference
    ladder = ", ".join(f"{s.tier} at {s.at}" for s in rules.ladder)
    grades = ", ".join(f"{g.id} {g.rectify_within}" for g in rules.grades.values())
    line = (f"rules OK: version {rules.version}, {len(rules.ladder)} ladder steps ({ladder}), "
            f"grades: {grades}, verify within {rules.verify.within}, review within "
            f"{rules.review.within}, plan within {rules.supervision.plan_within}, "
            f"{_late(rules)}; "
            f"{len(ref.towns)} towns, {len(ref.departments)} departments, {len(ref.sectors)} sectors; "
            f"holidays known exactly through {rules.calendar.last_known_year}; a last day of a period "
            f"in days on a rest day {_moved(rules)}")
    return line


def _moved(rules: Rules) -> str:
    """How the rules end a period in days on a rest day (rules/hazards.yaml `periods`)."""
    if rules.calendar.rest_day_moves_last_day:
        return "moves to the next working day (民法典 art. 203 para. 1)"
    return "is not moved (periods.rest_day_moves_last_day: false)"


def describe_alerts(rules: AlertRules) -> str:
    """A one-line summary of the alert rules."""
    steps = ", ".join(f"+{words(s.after)} {s.rule_id.rsplit('.', 1)[-1]}" for s in rules.handover)
    reports = ", ".join(f"{lv.id} {words(lv.within)}" for lv in rules.report_levels)
    d = rules.disaster
    chain = ", ".join(f"+{words(s.after)} {s.rule_id.rsplit('.', 1)[-1]}" for s in d.initial)
    return (f"alert rules OK: version {rules.version}, {len(rules.kinds)} kinds, grades "
            f"{', '.join(g.id for g in rules.grades)}, handover {steps}, reports {reports} "
            f"(production accidents only); disaster reports: initial {chain}, daily by "
            f"{d.daily_at[0]:02d}:{d.daily_at[1]:02d}, final within {words(d.final_within)} of the close")


def _load(args: argparse.Namespace) -> tuple[Rules, AlertRules]:
    rules_dir = _rules_dir(args)
    rules = load_rules(rules_dir)
    return rules, load_alert_rules(rules_dir, rules.reference)


def check_command(args: argparse.Namespace) -> int:
    """Validate the rules; print a summary and return 0, or print the problem and return 1."""
    try:
        rules, alert_rules = _load(args)
        plan = optional_plan(_rules_dir(args), rules.reference)
    except RulesFileError as exc:
        print(f"rules check failed: {exc}", file=sys.stderr)
        return 1
    print(describe(rules))
    print(describe_alerts(alert_rules))
    if plan is None:  # a plan.yml, or none: the coverage cycles and the draw run on nothing
        print(f"warning: no plan.yaml in {_rules_dir(args)}: no inspection plan, coverage cycle or credit "
              "threshold applies", file=sys.stderr)
    else:
        days = plan.coverage.days
        print(f"plan rules OK: version {plan.version}, draw {plan.draw.per_period} a period from "
              f"{len(plan.inspectors)} inspectors (at most {plan.draw.max_per_inspector} visits each); "
              f"coverage cycles red {days.red}, orange {days.orange}, yellow {days.yellow}, "
              f"blue {days.blue} days, then {plan.coverage.grace_days} days' grace")
    print(f"checked: the rules in {_rules_dir(args)}")
    if rules.reference.sample:
        print("warning: reference/jurisdiction.yaml is marked as sample data; replace it with the "
              "district's own before going live", file=sys.stderr)
    for warning in calendar_warnings(rules.calendar, today()):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def today() -> date:
    """Today in Asia/Shanghai, the date the calendar warnings are judged on (a seam for tests)."""
    return datetime.now(SHANGHAI).date()


def test_command(args: argparse.Namespace) -> int:
    """Run each rule-test file; print failures with diffs, then `N passed, M failed`."""
    try:
        rules, alert_rules = _load(args)
    except RulesFileError as exc:
        print(f"cannot run rule tests, the rules do not load: {exc}", file=sys.stderr)
        return 1
    results = []
    with Bar("rule tests", total=len(args.files)) as bar:  # drawn on a terminal only
        for path in args.files:
            results.append(run_file(path, rules, alert_rules))
            bar.step(detail=path.name)
    for result in results:
        print(render(result, verbose=args.verbose))
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def replay_command(args: argparse.Namespace) -> int:
    """Shadow replay: the timeline topic through the rules in force and through --rules-dir."""
    from engine.settings import Settings
    from engine.tools import replay
    from engine.tools.kafka import bootstrap_for, client_auth

    settings = Settings.load(getattr(args, "config", None), getattr(args, "secrets_dir", None))
    since = replay.parse_time(args.since, "--from")
    until = replay.parse_time(args.until, "--to")
    try:
        current = load_rules(settings.rules_dir)
        current_alerts = load_alert_rules(settings.rules_dir, current.reference)
    except RulesFileError as exc:
        print(f"cannot replay, the rules in force do not load: {exc}", file=sys.stderr)
        return 1
    try:
        new = load_rules(args.rules_dir)
        new_alerts = load_alert_rules(args.rules_dir, new.reference)
    except RulesFileError as exc:
        print(f"cannot replay, the new rules do not load: {exc}", file=sys.stderr)
        return 1
    return replay.run(bootstrap_for(settings), settings.topic_prefix, (current, current_alerts),
                      (new, new_alerts), since, until, args.json, auth=client_auth(settings))


def render(result: FileResult, verbose: bool = False) -> str:
    """The report of one file: one line when it passed, the diffs and every output when not."""
    title = f"{result.path}" + (f": {result.name}" if result.name else "")
    if result.error is not None:
        return f"ERROR {title}\n  {result.error}"
    lines = [f"{'PASS' if result.passed else 'FAIL'} {title}"]
    for failure in result.failures:
        lines += ["  " + line for line in failure]
    if result.failures or verbose:
        lines.append(f"  every output sent ({len(result.got)}):")
        lines += [f"    {report.when(g.at, result.start)}  {report.summary(g.out.event)}"
                  for g in result.got] or ["    (none)"]
    return "\n".join(lines)
