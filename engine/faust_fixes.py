"""A correction to faust-streaming that at-least-once delivery of table state depends on.

Faust commits a consumer offset only after `Producer.flush()`, which is meant
to drain the buffer that table changelog writes wait in. But
`ProducerBuffer.flush` (faust/transport/producer.py, flush_atmost) gives up
when no message leaves the buffer within 0.1 s, so the commit can run ahead of
a state write still in the buffer. A worker killed at that moment loses the
write while its input counts as processed: the crash test caught a hazard
whose rectification plan vanished this way. The replacement waits until the
buffer is empty.
"""

from __future__ import annotations

import structlog
from faust.transport.producer import ProducerBuffer

log = structlog.get_logger("engine.faust_fixes")

_original_flush = ProducerBuffer.flush


async def _flush_until_empty(self: ProducerBuffer) -> None:
    """Drain the buffer completely; Faust's own flush may return with messages left."""
    rounds = 0
    while self.size:
        await self.flush_atmost(None)
        rounds += 1
        if rounds % 100 == 0:  # about every 10 s without progress: say so, keep waiting
            log.warning("producer_buffer_not_draining", waiting=self.size, rounds=rounds)


def apply() -> None:
    """Install the fix once; safe to call again."""
    if ProducerBuffer.flush is not _flush_until_empty:
        ProducerBuffer.flush = _flush_until_empty  # type: ignore[method-assign]
