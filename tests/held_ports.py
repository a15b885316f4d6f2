"""Hold a stopped Kafka node's ports so that no other test takes them before it restarts on them."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from engine.broker.cluster import NodeState


@contextmanager
def held(node: NodeState) -> Iterator[list[int]]:
    """Bind the node's client and controller ports here (not listening) until the block ends.

    A node restarts on the ports it had, which other tests' servers, drawing free ports at random
    in the same spans, could take while it is down (a CI run once lost a test so). Clients that
    connect meanwhile are refused, as by the stopped node. SO_REUSEADDR lets the bind succeed
    beside the killed node's connections still in TIME_WAIT; a process binding without it, as
    `free_port` checks, is refused. A port already taken again is left out of the list it yields.
    """
    with ExitStack() as stack:
        ports = []
        for port in (node.port, node.controller_port):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            ports.append(port)
        yield ports
