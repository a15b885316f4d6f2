"""The `broker up|down|status` command for the local development Kafka broker or cluster.

`--brokers N` (N > 1) manages a local N-node cluster (`engine.broker.cluster`) instead
of the single broker; `--brokers 1`, the default, is the single broker.
"""

from __future__ import annotations

import argparse
import sys

import structlog

from engine import logs
from engine.broker import cluster, local, secure
from engine.broker.install import BrokerStartError
from engine.progress import Bar


def _keep_stdout_for_results() -> None:
    # Unconfigured structlog prints to stdout, which would leak log lines into `$(broker up)`.
    if not structlog.is_configured():
        logs.configure_console()


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _format_duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def _cluster_size(args: argparse.Namespace) -> int | None:
    """Return N if the command is about the N-node cluster (`--brokers N`, N > 1), else None."""
    brokers = getattr(args, "brokers", None)
    return brokers if brokers is not None and brokers > 1 else None


def cmd_up(args: argparse.Namespace) -> int:
    """Start or reuse the local broker or cluster; print its bootstrap as the last stdout line."""
    _keep_stdout_for_results()
    brokers = _cluster_size(args)
    try:
        # The bar counts Maven's downloads on a first install; otherwise it only relays messages.
        with Bar("downloading Kafka's jars") as bar:
            if getattr(args, "secure", False):
                result = secure.ensure_up(args.timeout, bar, prefix=args.prefix, app_id=args.app_id)
            elif brokers:
                result = cluster.ensure_up(brokers, args.timeout, bar)
            else:
                result = local.ensure_up(timeout=args.timeout, progress=bar)
    except BrokerStartError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if result.started:
        _progress(f"start time: {result.state.start_seconds:.1f}s")
    # Scripts capture stdout (`BOOTSTRAP=$(... broker up)`), so it carries only the address.
    print(result.bootstrap, flush=True)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    """Stop the local broker or cluster, reporting what happened; nothing running is not an error."""
    _keep_stdout_for_results()
    if _cluster_size(args):
        print(cluster.down(timeout=args.timeout).message)
        return 0
    home = secure.secure_dir() if getattr(args, "secure", False) else None
    print(local.down(timeout=args.timeout, home=home).message)
    return 0


def _print_cluster_status() -> None:
    st = cluster.status()
    if not st.nodes:
        print("Kafka cluster: not running")
        return
    up = sum(node.up for node in st.nodes)
    state = "running" if st.running else "not running"
    if up and not st.running:
        state = f"degraded, {up} of {len(st.nodes)} up"
    print(f"Kafka cluster: {state} ({len(st.nodes)} nodes)")
    print(f"  bootstrap:  {st.bootstrap}")
    print(f"  cluster id: {st.cluster_id}")
    print(f"  home:       {st.home}")
    if st.uptime_seconds is not None:
        print(f"  uptime:     {_format_duration(st.uptime_seconds)}")
    for node in st.nodes:
        pid = node.pid if node.pid is not None else "-"
        print(f"  node {node.node_id}: pid {pid}  {node.address}  {'up' if node.up else 'down'}")


def cmd_status(args: argparse.Namespace) -> int:
    """Print whether the local broker (or each node of the cluster) is running and where; exit 0."""
    if _cluster_size(args):
        _print_cluster_status()
        return 0
    is_secure = getattr(args, "secure", False)
    st = local.status(home=secure.secure_dir() if is_secure else None)
    name = "secure Kafka" if is_secure else "Kafka"
    if not st.running:
        print(f"{name}: not running")
        return 0
    print(f"{name}: running")
    print(f"  bootstrap: {st.bootstrap}")
    print(f"  pid:       {st.pid}")
    print(f"  log:       {st.log_path}")
    print(f"  data:      {st.data_dir}")
    print(f"  uptime:    {_format_duration(st.uptime_seconds or 0.0)}")
    if st.start_seconds is not None:
        print(f"  started in {st.start_seconds:.1f}s")
    if is_secure:
        print(f"  credentials: {secure.credentials_path()} (SASL_PLAINTEXT, SCRAM-SHA-512)")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _add_target(parser: argparse.ArgumentParser) -> None:
    # Exclusive, so argparse itself rejects `--secure --brokers 3`: the secure broker is one node.
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--secure", action="store_true",
                       help="the SASL/SCRAM broker with ACLs, which runs beside the plain one")  # fmt: skip
    which.add_argument("--brokers", type=_positive, default=None, metavar="N",
                       help="N > 1: the local N-node KRaft cluster, beside the single broker "
                            "(default: 1, the single broker)")  # fmt: skip


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `broker` command with its `up`, `down` and `status` subcommands."""
    broker = subparsers.add_parser("broker", help="manage the local development Kafka broker or cluster")
    commands = broker.add_subparsers(dest="broker_command", metavar="{up,down,status}")
    commands.required = True

    up = commands.add_parser("up", help="start (or reuse) the local broker; print its bootstrap")
    up.add_argument(
        "--timeout",
        type=float,
        default=local.DEFAULT_START_TIMEOUT,
        help="seconds to wait for the broker to answer (default: %(default)s)",
    )
    _add_target(up)
    up.add_argument("--prefix", default="", help="with --secure: HAZARD_TOPIC_PREFIX to grant ACLs for")
    up.add_argument("--app-id", default="hazard-engine", help="with --secure: HAZARD_APP_ID for the ACLs")
    up.set_defaults(func=cmd_up)

    down = commands.add_parser("down", help="stop the local broker (or cluster)")
    down.add_argument(
        "--timeout",
        type=float,
        default=20.0,
        help="seconds to wait after SIGTERM before SIGKILL (default: %(default)s)",
    )
    _add_target(down)
    down.set_defaults(func=cmd_down)

    status = commands.add_parser("status", help="show whether the local broker or cluster is running")
    _add_target(status)
    status.set_defaults(func=cmd_status)
    return broker


def main(argv: list[str] | None = None) -> int:
    """Run the broker command on its own: `python -m engine.broker.cli broker up`."""
    parser = argparse.ArgumentParser(prog="hazard-engine")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
