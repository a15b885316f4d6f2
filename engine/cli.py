"""The `hazard-engine` command: the worker, the local broker, and tools for developers and supervisors."""

from __future__ import annotations

import argparse
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import structlog
import yaml
from aiokafka.errors import KafkaConnectionError

from engine import logs
from engine.broker import cli as broker_cli
from engine.errors import EngineError
from engine.reference.errors import RulesError
from engine.ruletest import cli as ruletest_cli
from engine.settings import REPO_ROOT, Settings, misspelt_environment

PROG = "hazard-engine"


def _settings(args: argparse.Namespace) -> Settings:
    """The settings for this run: --config/--secrets-dir, else HAZARD_CONFIG/HAZARD_SECRETS_DIR."""
    return Settings.load(getattr(args, "config", None), getattr(args, "secrets_dir", None))


def _worker(args: argparse.Namespace) -> int:
    from engine.worker import run_worker

    return run_worker(_settings(args))


def _publish(args: argparse.Namespace) -> int:
    from engine.tools import publish
    from engine.tools.kafka import bootstrap_for, client_auth

    settings = _settings(args)
    return publish.run(args.files, bootstrap_for(settings), settings.topic_prefix,
                       args.topic, args.quiet, args.retry_for, auth=client_auth(settings))


def _tail(args: argparse.Namespace) -> int:
    from engine.tools import tail
    from engine.tools.kafka import bootstrap_for, client_auth

    settings = _settings(args)
    return tail.run(bootstrap_for(settings), settings.topic_prefix + args.topic,
                    args.from_beginning, args.max, args.idle_timeout, args.json,
                    auth=client_auth(settings))


def _show(args: argparse.Namespace) -> int:
    from engine.clocks.timesource import from_settings
    from engine.tools import show
    from engine.tools.kafka import bootstrap_for, client_auth

    settings = _settings(args)
    if (args.hazard_id is None) == (args.enterprise is None):
        print("show: give a hazard id or --enterprise USCC (one of them)", file=sys.stderr)
        return 2
    if args.enterprise is not None:
        return show.run_enterprise(bootstrap_for(settings), settings.topic_prefix, settings.app_id,
                                   args.enterprise, args.json, now=from_settings(settings).now(),
                                   auth=client_auth(settings))
    return show.run(bootstrap_for(settings), settings.topic_prefix, settings.app_id, args.hazard_id,
                    args.json, auth=client_auth(settings), now=int(from_settings(settings).now()))


def _deadletter(args: argparse.Namespace) -> int:
    from engine.tools import deadletter
    from engine.tools.kafka import bootstrap_for, client_auth

    settings = _settings(args)
    if args.deadletter_command == "list":
        return deadletter.run_list(bootstrap_for(settings), settings.topic_prefix, args.json,
                                   auth=client_auth(settings))
    if bool(args.ids) == args.all:
        print("deadletter redecide: give letter ids or --all (one of them)", file=sys.stderr)
        return 2
    return deadletter.run_redecide(bootstrap_for(settings), settings.topic_prefix, args.ids or None,
                                   args.dry_run, args.again, auth=client_auth(settings))


def _filing(args: argparse.Namespace) -> int:
    from engine.ruleset import load_rules
    from engine.tools import filing
    from engine.tools.kafka import bootstrap_for, client_auth

    settings = _settings(args)
    if args.schedule:
        from engine.clocks.timesource import from_settings
        from engine.http.limits import Limits

        return filing.run_schedule(bootstrap_for(settings), settings.topic_prefix, settings.app_id,
                                   load_rules(settings.rules_dir), settings.filing_day,
                                   client_auth(settings), clock=from_settings(settings).now,
                                   listen=(settings.filing_bind, settings.filing_port),
                                   limits=Limits.from_settings(settings))
    return filing.run(bootstrap_for(settings), settings.topic_prefix, settings.app_id, args.month,
                      load_rules(settings.rules_dir), args.publish, args.json, auth=client_auth(settings))


def _plan(args: argparse.Namespace) -> int:
    from engine.clocks.timesource import from_settings
    from engine.plan.rules import load_plan
    from engine.ruleset import load_rules
    from engine.tools import plan
    from engine.tools.kafka import bootstrap_for, client_auth

    settings = _settings(args)
    rules = load_rules(settings.rules_dir)
    plan_rules = load_plan(settings.rules_dir, rules.reference)
    now = from_settings(settings).now()  # HAZARD_CLOCK_*, as the worker's: a simulated run agrees with it
    if args.plan_command == "verify":
        return plan.run_verify(args.file, plan_rules)
    if args.plan_command == "publish":
        return plan.run_publish(bootstrap_for(settings), settings.topic_prefix, settings.app_id,
                                args.period, args.json, now=now, auth=client_auth(settings))
    if args.plan_command == "progress":
        return plan.run_progress(bootstrap_for(settings), settings.topic_prefix, settings.app_id,
                                 plan_rules, rules.reference, args.publish, args.json, now=now,
                                 auth=client_auth(settings))
    return plan.run_draw(bootstrap_for(settings), settings.topic_prefix, settings.app_id, args.period,
                         args.seed, plan_rules, args.record, args.json, now=now,
                         auth=client_auth(settings))


def _quotas(args: argparse.Namespace) -> int:
    import asyncio

    from engine.broker.quotas import (
        engine_slowed,
        limits,
        load_quotas,
        reconcile,
        refuse_engine_slowed,
        table,
    )
    from engine.tools.kafka import bootstrap_for, client_auth

    principals = tuple(getattr(args, "engine_principal", None) or ("engine",))
    if args.quotas_command == "check":
        quotas = load_quotas(args.file)
        for quota in quotas:
            print(f"{quota}: {limits(quota.values)}")
        slowed = engine_slowed(quotas, principals)
        for line in slowed:
            print(f"{args.file}: {line}", file=sys.stderr)
        return 1 if slowed else 0
    settings = _settings(args)
    quotas = load_quotas(args.file) if args.quotas_command == "apply" else None
    if quotas is not None and not args.allow_engine_limits:
        refuse_engine_slowed(quotas, principals, authenticated=settings.kafka_sasl_mechanism is not None)
    held = asyncio.run(reconcile(bootstrap_for(settings), client_auth(settings), quotas, timeout=30.0,
                                 replace=getattr(args, "replace", False)))
    print("\n".join(table(held)))
    return 0


def _schemas(args: argparse.Namespace) -> int:
    from engine import schemas

    if args.action == "export":
        for path in schemas.export():
            print(path)
        return 0
    problems = schemas.differences()
    for problem in problems:
        print(f"topics/schemas/{problem}; run `hazard-engine schemas export`", file=sys.stderr)
    return 1 if problems else 0


def _contract_docs(args: argparse.Namespace) -> int:
    from engine import contractdocs

    if not args.check:
        for path in contractdocs.write():
            print(path)
        return 0
    problems = contractdocs.differences()
    for problem in problems:
        print(f"{problem}; run `hazard-engine contract docs`", file=sys.stderr)
    return 1 if problems else 0


def _watch(args: argparse.Namespace) -> int:
    from engine.tools import watch
    from engine.tools.kafka import bootstrap_for, client_auth

    settings = _settings(args)
    return watch.run(bootstrap_for(settings), settings.topic_prefix, args.town, args.department,
                     args.tier, args.from_beginning, args.idle_timeout,
                     auth=client_auth(settings), rules_dir=settings.rules_dir, zh=args.zh, level=args.level)


def _token(args: argparse.Namespace) -> int:
    from engine.feeds.tokens import cli_new, cli_new_field_app

    if args.field_app:
        if args.department or args.district:
            print("hazard-engine token new: a field app's scope is --source-prefix and --town; "
                  "--department and --district are for supervisors", file=sys.stderr)
            return 2
        return cli_new_field_app(args.name, args.source_prefix, args.town)
    if args.source_prefix:
        print("hazard-engine token new: --source-prefix is for field apps (add --field-app)",
              file=sys.stderr)
        return 2
    return cli_new(args.name, args.town, args.department, args.district)


def _gateway(args: argparse.Namespace) -> int:
    from engine.http.gateway import run_gateway

    return run_gateway(_settings(args))


def _setup(args: argparse.Namespace) -> int:
    from engine.tools import setup

    return setup.run()


def _demo(args: argparse.Namespace) -> int:
    from engine.demo import run_demo

    return run_demo()


def _config_show(args: argparse.Namespace) -> int:
    from engine import configview

    loaded = Settings.load_traced(args.config, args.secrets_dir)
    print(configview.show(loaded, as_json=args.json))
    return 0


def _completion(args: argparse.Namespace) -> int:
    from engine.completion import SHELLS

    print(SHELLS[args.shell](parser()), end="")
    return 0


def _rules_versions(args: argparse.Namespace) -> str:
    """The versions of the hazard and alert rules, read cheaply from their files' `version:` keys."""
    try:
        rules_dir = _settings(args).rules_dir
    except EngineError:
        rules_dir = REPO_ROOT / "rules"  # --version must answer even with a broken configuration
    found = []
    for name, label in (("hazards.yaml", "rules"), ("alerts.yaml", "alert rules")):
        try:
            doc = yaml.safe_load((rules_dir / name).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(doc, dict) and doc.get("version"):
            found.append(f"{label} {doc['version']}")
    return ", ".join(found)


class _Version(argparse.Action):
    """Print the package version and the rules' versions, then exit (computed only when asked)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: Any = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        try:
            version = metadata.version(PROG)
        except metadata.PackageNotFoundError:
            version = "unknown (not installed)"
        rules = _rules_versions(namespace)
        print(f"{PROG} {version}" + (f" ({rules})" if rules else ""))
        parser.exit()


def _describe_commands(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand its help as its description, so `CMD --help` says what it is for."""
    for action in parser._actions:  # argparse keeps its tree in private attributes
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                sub.description = sub.description or helps.get(name)
                _describe_commands(sub)


def parser() -> argparse.ArgumentParser:
    """Build the argument parser of every subcommand."""
    p = argparse.ArgumentParser(prog=PROG, description=__doc__)
    p.add_argument("--version", action=_Version, help="print the package and rules versions and exit")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="YAML configuration file of settings (keys are the setting names, as "
                        "`config show` lists them); default: $HAZARD_CONFIG")
    p.add_argument("--secrets-dir", type=Path, metavar="DIR",
                   help="directory of secret files, each named after a setting "
                        "(e.g. kafka_sasl_password); default: $HAZARD_SECRETS_DIR")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("worker", help="run the engine's worker").set_defaults(func=_worker)

    pub = sub.add_parser("publish", help="send CloudEvents from JSON or JSONL files")
    pub.add_argument("files", nargs="+", type=Path, help="JSON or JSONL files of CloudEvents")
    pub.add_argument("--topic", help="send every line as it is to this topic (to test rejection)")
    pub.add_argument("--quiet", action="store_true", help="print only the summary")
    pub.add_argument("--retry-for", type=float, default=120.0, metavar="SECONDS",
                     help="keep resending what the broker has not acknowledged for this long "
                          "(default: %(default)s; a broker restart or leader change is ridden out)")
    pub.set_defaults(func=_publish)

    tail = sub.add_parser("tail", help="print what a topic holds, one line per event")
    tail.add_argument("topic", help="the topic's name without HAZARD_TOPIC_PREFIX, e.g. "
                      "intake.rejected or escalations")
    tail.add_argument("--from-beginning", action="store_true",
                      help="start at the oldest record kept, not at the end")
    tail.add_argument("--max", type=int, help="stop after this many records")
    tail.add_argument("--idle-timeout", type=float, help="stop after this many idle seconds")
    tail.add_argument("--json", action="store_true", help="print each record's JSON as it is")
    tail.set_defaults(func=_tail)

    show = sub.add_parser("show", help="print a hazard's state, running clocks and timeline, or an "
                          "enterprise's file (一企一档)")
    show.add_argument("hazard_id", nargs="?", help="the hazard's id, e.g. HZ-20261130-0001")
    show.add_argument("--enterprise", metavar="USCC", help="show this enterprise's file instead")
    show.add_argument("--json", action="store_true", help="print the state and timeline as JSON")
    show.set_defaults(func=_show)

    pln = sub.add_parser("plan", help="the random draw of inspections (双随机、一公开) and its audit")
    plan_sub = pln.add_subparsers(dest="plan_command", required=True, metavar="PLAN_COMMAND")
    drw = plan_sub.add_parser("draw", help="draw a period's enterprises and pairs of inspectors")
    drw.add_argument("--period", required=True, help="the month drawn for, YYYY-MM")
    drw.add_argument("--seed", required=True, help="the published seed anyone can re-run the draw with")
    drw.add_argument("--record", action="store_true", help="record the draw on inspections.draws")
    drw.add_argument("--json", action="store_true", help="print the draw's event as JSON")
    ver = plan_sub.add_parser("verify", help="re-run a recorded draw from its own inputs and compare")
    ver.add_argument("file", type=Path, help="a JSON file holding the draw's event")
    pub = plan_sub.add_parser("publish", help="publish a recorded draw with its results on "
                              "inspections.public (一公开), once every drawn enterprise was inspected")
    pub.add_argument("--period", required=True, help="the month drawn for, YYYY-MM")
    pub.add_argument("--json", action="store_true", help="print the published event as JSON")
    prog = plan_sub.add_parser("progress", help="the annual plan: inspections planned against done, "
                               "by month and town")
    prog.add_argument("--json", action="store_true", help="print the rows as JSON")
    prog.add_argument("--publish", action="store_true", help="escalate each month and town behind plan")
    pln.set_defaults(func=_plan)

    fil = sub.add_parser("filing", help="the month's filing of supervision results with discipline "
                         "inspection, one per sector-leading department (periodic_filing)")
    when = fil.add_mutually_exclusive_group(required=True)
    when.add_argument("--month", help="the month to file, YYYY-MM")
    when.add_argument("--schedule", action="store_true", help="run until stopped, publishing each "
                      "month's filings on day HAZARD_FILING_DAY of the month after (those not on "
                      "the topic yet), and after a stop of up to 12 months those of the months it missed")
    fil.add_argument("--publish", action="store_true", help="write the filings to referrals.discipline")
    fil.add_argument("--json", action="store_true", help="print the filings' CloudEvents as JSON")
    fil.set_defaults(func=_filing)

    dlt = sub.add_parser("deadletter", help="the records the engine failed on (engine.deadletter, and "
                         "processing errors on intake.rejected): list them, send them again once fixed")
    dlt_sub = dlt.add_subparsers(dest="deadletter_command", required=True, metavar="COMMAND")
    dls = dlt_sub.add_parser("list", help="print each letter: its id, when, the record and what raised")
    dls.add_argument("--json", action="store_true", help="print each letter's JSON as it is")
    dls.set_defaults(func=_deadletter)
    dlr = dlt_sub.add_parser("redecide", help="send the letters' records again, each to the partition it "
                             "came from (a decision's to the timeline), for the worker to take again")
    dlr.add_argument("ids", nargs="*", help="the letters' ids, as `deadletter list` prints them")
    dlr.add_argument("--all", action="store_true", help="every letter")
    dlr.add_argument("--dry-run", action="store_true", help="print what would be sent, send nothing")
    dlr.add_argument("--again", action="store_true", help="send an entry sent again before once more")
    dlr.set_defaults(func=_deadletter)

    sch = sub.add_parser("schemas", help="export or check topics/schemas/")
    sch.add_argument("action", choices=["export", "check"],
                     help="export: write the schemas; check: fail if they differ from the code")
    sch.set_defaults(func=_schemas)

    contract = sub.add_parser("contract", help="the published contract: docs/contract.md, "
                              "docs/asyncapi.yaml, docs/openapi.yaml")
    contract_sub = contract.add_subparsers(dest="contract_command", required=True, metavar="COMMAND")
    docs = contract_sub.add_parser("docs", help="generate the contract documents from the code")
    docs.add_argument("--check", action="store_true",
                      help="write nothing; fail if a document differs from the code")
    docs.set_defaults(func=_contract_docs)

    watch = sub.add_parser("watch", help="print escalations as they happen, coloured by tier")
    watch.add_argument("--town", action="append", default=[],
                       help="only escalations in this town (repeatable)")
    watch.add_argument("--department", action="append", default=[],
                       help="only escalations for this department (repeatable)")
    watch.add_argument("--tier", action="append", default=[],
                       choices=["blue", "yellow", "orange", "red"],
                       help="only escalations of this tier (repeatable); without --level, an alert's "
                       "of the response level of the same colour too (I red, II orange, III yellow, IV blue)")
    watch.add_argument("--level", action="append", default=[], choices=["I", "II", "III", "IV"],
                       help="only an alert's escalations of this response level (repeatable; "
                       "with --tier, a hazard's of those tiers too)")
    watch.add_argument("--from-beginning", action="store_true",
                       help="print the escalations already sent too, not only new ones")
    watch.add_argument("--idle-timeout", type=float, help="stop after this many idle seconds")
    watch.add_argument("--zh", action="store_true",
                       help="the action in Chinese, and each reason where the engine gives it")
    watch.set_defaults(func=_watch)

    token = sub.add_parser("token", help="tokens for the HTTP feeds (supervisors) and POST /events "
                           "(field apps)")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    new = token_sub.add_parser("new", help="mint a token and print its tokens-file line")
    new.add_argument("--name", help="who the token is for (default: made from the scope)")
    new.add_argument("--town", action="append", default=[],
                     help="a town the supervisor may see, or the field app may publish for "
                          "(repeatable)")
    new.add_argument("--department", action="append", default=[],
                     help="a department the supervisor may see (repeatable)")
    new.add_argument("--district", action="store_true", help="the supervisor may see everything")
    new.add_argument("--field-app", action="store_true",
                     help="a field app's token, to publish events with POST /events")
    new.add_argument("--source-prefix", metavar="P",
                     help="(field apps) the events' source must start with this, e.g. "
                          "/apps/inspector/")
    new.set_defaults(func=_token)

    sub.add_parser("gateway", help="serve POST /events alone, as its own process (for a district "
                   "that keeps the workers off the field network)").set_defaults(func=_gateway)

    sub.add_parser("setup", help="install Kafka and the Prometheus tools the tests use") \
        .set_defaults(func=_setup)

    sub.add_parser("demo", help="start a broker and a worker, publish examples, show results") \
        .set_defaults(func=_demo)

    config = sub.add_parser("config", help="the effective configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    show_cfg = config_sub.add_parser("show", help="print every setting, its value and where it "
                                     "came from (default, file, secrets, env); secrets masked")
    show_cfg.add_argument("--json", action="store_true", help="print JSON instead of YAML")
    show_cfg.set_defaults(func=_config_show)

    quo = sub.add_parser("quotas", help="Kafka client quotas: how much each field app may send the "
                         "broker (topics/quotas.yaml)")
    quo_sub = quo.add_subparsers(dest="quotas_command", required=True, metavar="COMMAND")
    quo_sub.add_parser("show", help="print the client quotas the broker holds").set_defaults(func=_quotas)
    quotas_file = REPO_ROOT / "topics" / "quotas.yaml"
    for name, what in (("check", "read and check the quotas file, without a broker"),
                       ("apply", "put the quotas file's quotas in force on the broker (as a principal "
                        "allowed to alter the cluster's configuration), then show them")):
        cmd = quo_sub.add_parser(name, help=what)
        cmd.add_argument("--file", type=Path, default=quotas_file, metavar="FILE",
                         help="the quotas file (default: topics/quotas.yaml)")
        cmd.add_argument("--engine-principal", action="append", metavar="USER",
                         help="a principal the worker or the HTTP gateway logs in as (default: engine; "
                              "repeat for each): a quota that would slow it is refused")
        cmd.set_defaults(func=_quotas)
    quo_sub.choices["apply"].add_argument(
        "--allow-engine-limits", action="store_true",
        help="apply even a quota that would slow the engine's own principal")
    quo_sub.choices["apply"].add_argument(
        "--replace", action="store_true",
        help="also lift the limits the broker holds for the file's users that the file does not set "
             "(for every user, when the file sets the default user <default>)")

    comp = sub.add_parser("completion", help="print a shell completion script")
    comp.add_argument("shell", choices=["bash", "zsh"], help="the shell to complete for")
    comp.set_defaults(func=_completion)

    broker_cli.register(sub)
    ruletest_cli.register(sub)
    _describe_commands(p)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = parser().parse_args(argv)
    for warning in misspelt_environment():
        print(f"hazard-engine: warning: {warning}", file=sys.stderr)
    try:
        if args.command != "worker" and not structlog.is_configured():
            # The worker logs JSON lines; it configures itself. Inside the try: the console
            # reads ToolSettings (NO_COLOR), and a bad value there is reported as any other is.
            logs.configure_console()
        return int(args.func(args) or 0)
    except (EngineError, RulesError) as exc:  # each says what is wrong and where
        print(f"hazard-engine: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `show … | head` stopped reading: nothing is wrong, and no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush cannot fail
        return 141  # as a shell reports a command ended by SIGPIPE (128 + 13)
    except KafkaConnectionError as exc:  # a command that reads or writes the broker, which is not there
        print(f"hazard-engine: the broker did not answer: {exc} (is KAFKA_BOOTSTRAP_SERVERS right? "
              "`hazard-engine broker up` starts a local one)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
