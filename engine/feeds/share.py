"""The feeds' share of the worker's event loop, so that no number of clients can starve its events.

A worker decides events and serves HTTP on one event loop. Yielding between
chunks of HTTP work is not enough: twenty clients listing at full speed keep
twenty chunks ready, and each step of an event waits behind all of them
(measured with `python -m bench.http_load`: seconds instead of milliseconds).
So every chunk of the feeds' work (a scan of the index, a few states decoded,
a batch of stream records framed) runs through one `LoopShare`: one chunk at
a time, each followed, still holding the turn, by a pause long enough that
the feeds take at most `share` of the loop's time whatever their number of
clients. A client waits for its turn; past `max_waiting` waiting clients,
new list requests are refused with 503 and Retry-After instead of queueing
without bound. The feeds, the board and the enterprises' pages of one web
server take their turns on the same share (`loop_share`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from aiohttp import web

from engine.settings import Settings

T = TypeVar("T")


class Busy(Exception):
    """Too many clients wait for the feeds' share of the loop (HTTP 503 with Retry-After)."""


class LoopShare:
    """Runs chunks of HTTP work one at a time, within a share of the event loop's time."""

    def __init__(self, share: float = 0.5, max_waiting: int = 64) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be more than 0 and at most 1")
        self.share, self.max_waiting = share, max_waiting
        self.lock = asyncio.Lock()
        self.waiting = 0

    def admit(self) -> None:
        """Raise Busy when too many clients wait already: a new request should come back later."""
        if self.waiting >= self.max_waiting:
            raise Busy(f"{self.waiting} requests wait for this worker's feeds")

    async def run(self, work: Callable[[], T]) -> T:
        """Run one chunk of synchronous work in its turn, then leave the loop to everything else."""
        self.waiting += 1
        entered = False
        try:
            async with self.lock:
                entered = True
                self.waiting -= 1
                started = time.perf_counter()
                try:
                    return work()
                finally:
                    spent = time.perf_counter() - started
                    await asyncio.sleep(spent * (1 / self.share - 1))
        finally:
            if not entered:  # cancelled (the client left) before its turn came
                self.waiting -= 1


SHARE_KEY = web.AppKey("loop_share", LoopShare)


def loop_share(web_app: web.Application, settings: Settings) -> LoopShare:
    """The one LoopShare of a web server, made at the first call: its pages share one budget."""
    if SHARE_KEY not in web_app:
        web_app[SHARE_KEY] = LoopShare(settings.feeds_loop_share, settings.feeds_max_waiting)
    return web_app[SHARE_KEY]
