"""The `hazard-engine` command: the worker, the local broker, and tools for developers and supervisors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.broker import cli as broker_cli
from engine.errors import EngineError
from engine.ruletest import cli as ruletest_cli
from engine.settings import Settings


def _worker(args: argparse.Namespace) -> int:
    from engine.worker import run_worker

    return run_worker(Settings())


def _publish(args: argparse.Namespace) -> int:
    from engine.tools import publish
    from engine.tools.kafka import bootstrap_for

    settings = Settings()
    return publish.run(args.files, bootstrap_for(settings), settings.topic_prefix,
                       args.topic, args.quiet, args.retry_for)


def _tail(args: argparse.Namespace) -> int:
    from engine.tools import tail
    from engine.tools.kafka import bootstrap_for

    settings = Settings()
    return tail.run(bootstrap_for(settings), settings.topic_prefix + args.topic,
                    args.from_beginning, args.max, args.idle_timeout, args.json)


def _show(args: argparse.Namespace) -> int:
    from engine.tools import show
    from engine.tools.kafka import bootstrap_for

    settings = Settings()
    return show.run(bootstrap_for(settings), settings.topic_prefix, settings.app_id, args.hazard_id,
                    args.json)


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


def _watch(args: argparse.Namespace) -> int:
    from engine.tools import watch
    from engine.tools.kafka import bootstrap_for

    settings = Settings()
    return watch.run(bootstrap_for(settings), settings.topic_prefix, args.town, args.department,
                     args.tier, args.from_beginning, args.idle_timeout)


def _token(args: argparse.Namespace) -> int:
    from engine.feeds.tokens import cli_new

    return cli_new(args.name, args.town, args.department, args.district)


def _setup(args: argparse.Namespace) -> int:
    from engine.tools import setup

    return setup.run()


def _demo(args: argparse.Namespace) -> int:
    from engine.demo import run_demo

    return run_demo()


def parser() -> argparse.ArgumentParser:
    """Build the argument parser of every subcommand."""
    p = argparse.ArgumentParser(prog="hazard-engine", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("worker", help="run the engine's Faust worker").set_defaults(func=_worker)

    pub = sub.add_parser("publish", help="send CloudEvents from JSON or JSONL files")
    pub.add_argument("files", nargs="+", type=Path)
    pub.add_argument("--topic", help="send every line as it is to this topic (to test rejection)")
    pub.add_argument("--quiet", action="store_true", help="print only the summary")
    pub.add_argument("--retry-for", type=float, default=120.0, metavar="SECONDS",
                     help="keep resending what the broker has not acknowledged for this long "
                          "(default: %(default)s; a broker restart or leader change is ridden out)")
    pub.set_defaults(func=_publish)

    tail = sub.add_parser("tail", help="print what a topic holds, one line per event")
    tail.add_argument("topic")
    tail.add_argument("--from-beginning", action="store_true")
    tail.add_argument("--max", type=int, help="stop after this many records")
    tail.add_argument("--idle-timeout", type=float, help="stop after this many idle seconds")
    tail.add_argument("--json", action="store_true", help="print each record's JSON as it is")
    tail.set_defaults(func=_tail)

    show = sub.add_parser("show", help="print a hazard's state, running clocks and timeline")
    show.add_argument("hazard_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_show)

    sch = sub.add_parser("schemas", help="export or check topics/schemas/")
    sch.add_argument("action", choices=["export", "check"])
    sch.set_defaults(func=_schemas)

    watch = sub.add_parser("watch", help="print escalations as they happen, coloured by tier")
    watch.add_argument("--town", action="append", default=[])
    watch.add_argument("--department", action="append", default=[])
    watch.add_argument("--tier", action="append", default=[],
                       choices=["blue", "yellow", "orange", "red"])
    watch.add_argument("--from-beginning", action="store_true")
    watch.add_argument("--idle-timeout", type=float, help="stop after this many idle seconds")
    watch.set_defaults(func=_watch)

    token = sub.add_parser("token", help="supervisors' tokens for the HTTP feeds")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    new = token_sub.add_parser("new", help="mint a token and print its tokens-file line")
    new.add_argument("--name")
    new.add_argument("--town", action="append", default=[])
    new.add_argument("--department", action="append", default=[])
    new.add_argument("--district", action="store_true")
    new.set_defaults(func=_token)

    sub.add_parser("setup", help="install Kafka and the Prometheus tools the tests use") \
        .set_defaults(func=_setup)

    sub.add_parser("demo", help="start a broker and a worker, publish examples, show results") \
        .set_defaults(func=_demo)

    broker_cli.register(sub)
    ruletest_cli.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EngineError as exc:
        print(f"hazard-engine: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
