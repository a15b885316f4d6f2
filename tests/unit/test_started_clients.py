"""A Kafka client whose start fails is stopped, not left for the garbage collector to warn about."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaConnectionError

from engine.tools.kafka import opened, producer, reader, started

NOWHERE = "127.0.0.1:9"  # a closed port: every start fails at once


def test_a_client_whose_start_fails_is_stopped_by_started_and_opened() -> None:
    async def run() -> list[object]:
        clients: list[object] = []
        for make in (lambda: producer(NOWHERE), lambda: reader(NOWHERE)):
            client = make()
            clients.append(client)
            with pytest.raises(KafkaConnectionError):
                await started(client)
        within = producer(NOWHERE)
        clients.append(within)
        with pytest.raises(KafkaConnectionError):
            async with opened(within):
                raise AssertionError("the block runs only once the client has started")
        return clients

    for client in asyncio.run(run()):
        assert client._closed is True  # what aiokafka's __del__ checks before it warns
