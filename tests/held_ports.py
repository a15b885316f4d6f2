"""Hold a stopped Kafka node's ports so that no other test takes them before it restarts on them."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress

from engine.broker.cluster import NodeState


@contextmanager
def held(node: NodeState) -> Iterator[None]:
    """Bind the node's client and controller ports here (not listening) until the block ends.

    A node restarts on the ports it had, which other tests' servers, drawing free ports at random
    in the same spans, could take while it is down (a CI run once lost a test so). Clients that
    connect meanwhile are refused, as by the stopped node. SO_REUSEADDR lets the bind succeed
    beside the killed node's connections still in TIME_WAIT; a process binding without it, as
    `free_port` checks, is refused. A port already taken again is left to its taker: the
    restart then fails as it would have.
    """
    with ExitStack() as stack:
        for port in (node.port, node.controller_port):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with suppress(OSError):
                sock.bind(("127.0.0.1", port))
        yield
