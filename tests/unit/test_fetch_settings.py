"""How long the broker holds the worker's fetches comes from Settings (HAZARD_FETCH_WAIT_MS,
HAZARD_FETCH_MIN_BYTES), not from constants an operator would have to edit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from engine.settings import Settings
from engine.stream.runtime import Runtime
from engine.topics import load_topics
from tests.unit.test_batch_decisions import ALERT_RULES, RULES


def _consumer_options(settings: Settings) -> tuple[int, int]:
    specs = load_topics(settings.topics_file, settings.app_id, settings.topic_prefix)
    runtime = Runtime(settings, "127.0.0.1:9", RULES, specs, ALERT_RULES)

    async def build() -> tuple[int, int]:  # aiokafka's consumer wants a running loop; never started
        consumer = runtime._new_consumer()
        return consumer._fetch_max_wait_ms, consumer._fetch_min_bytes

    return asyncio.run(build())


def test_the_worker_asks_the_broker_to_hold_its_fetches_as_settings_say(tmp_path: Any) -> None:
    assert _consumer_options(Settings(data_dir=tmp_path)) == (10, 65_536)
    assert _consumer_options(Settings(data_dir=tmp_path, fetch_wait_ms=200, fetch_min_bytes=1)) == (200, 1)


def test_the_variables_set_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("HAZARD_FETCH_WAIT_MS", "25")
    monkeypatch.setenv("HAZARD_FETCH_MIN_BYTES", "1024")
    settings = Settings(data_dir=tmp_path)
    assert (settings.fetch_wait_ms, settings.fetch_min_bytes) == (25, 1024)


@pytest.mark.parametrize("field, value", [("fetch_wait_ms", 0), ("fetch_wait_ms", 1001),
                                          ("fetch_min_bytes", 0), ("fetch_min_bytes", 16 * 1024 * 1024 + 1)])
def test_a_value_out_of_range_is_refused_with_its_name(field: str, value: int, tmp_path: Any) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(data_dir=tmp_path, **{field: value})
