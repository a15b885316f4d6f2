"""The worker and an absent broker: it says so, keeps trying, and starts when the broker comes."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from conftest import EXAMPLES

from engine.harness import Namespace, Worker, free_port, not_enterprise, produce, read_all, values

pytestmark = pytest.mark.broker


class LateProxy:
    """A TCP port that refuses connections until opened, then forwards to the real broker.

    Kafka clients only bootstrap through it: the metadata they receive names the
    broker's own address, so once the proxy opens, the worker talks to the broker.
    """

    def __init__(self, target: str) -> None:
        host, port = target.split(",")[0].rsplit(":", 1)
        self.target = (host, int(port))
        self.port = free_port()  # opened later: outside the range client connections take ports from
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def open(self) -> None:
        """Start accepting connections on the proxy's port."""
        self._thread.start()

        async def serve() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

        asyncio.run_coroutine_threadsafe(serve(), self._loop).result(10)

    def close(self) -> None:
        """Stop the proxy."""
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)


def test_worker_started_without_broker_retries_then_picks_up(namespace: Namespace, tmp_path) -> None:
    """No broker at start: clear warnings, no traceback, no exit; it works once the broker answers."""
    proxy = LateProxy(namespace.bootstrap)
    # The system clock, and an example dated 2026-11-30: no window, or it is `stale` from 2028-11-29.
    worker = Worker(namespace.env(KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{proxy.port}",
                                  HAZARD_BROKER_RETRY_MAX_S="1", HAZARD_DEDUP_DAYS="0"),
                    tmp_path / "worker.log")
    try:
        worker.start()
        worker.wait_for('"event": "broker_unreachable"', timeout=60)
        time.sleep(4)
        log = worker.log_text()
        assert log.count('"event": "broker_unreachable"') >= 2, "it keeps retrying"
        assert f"127.0.0.1:{proxy.port}" in log, "the warning names the address it tried"
        assert "Traceback" not in log
        assert worker.proc is not None and worker.proc.poll() is None, "it has not died"

        proxy.open()
        worker.wait_ready(timeout=120)
        assert '"event": "broker_ready"' in worker.log_text()
        report = (EXAMPLES / "hazard-reported.json").read_bytes()
        asyncio.run(produce(namespace.bootstrap, namespace.topic("hazard.reports"),
                            [(b"HZ-20261130-0001", report)]))
        # The report's enterprise gets a link entry as well (一企一档); not counted here.
        [entry] = values(asyncio.run(read_all(namespace.bootstrap, namespace.topic("engine.timeline"),
                                              expect=1, where=not_enterprise)))
        assert entry["subject"] == "HZ-20261130-0001"
    finally:
        worker.stop()
        proxy.close()
