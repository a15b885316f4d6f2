"""Readiness: what /readyz answers from the parts the worker's stages report."""

from __future__ import annotations

from engine.health import BROKER_STALE_S, Readiness


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def ready_worker(clock: Clock) -> Readiness:
    """A worker whose tables recovered, whose clocks ticked and whose broker answered just now."""
    r = Readiness(frozenset({"hazard", "alert"}), clocks=True, tick_s=1.0, monotonic=clock)
    r.table_recovered("hazard")
    r.table_recovered("alert")
    r.ticked(held=False)
    r.broker_answered()
    return r


def test_a_fresh_worker_is_not_ready_and_says_what_is_missing() -> None:
    """Before anything is reported, every check is missing, each with its reason."""
    ready, body = Readiness(frozenset({"hazard"}), clocks=True, tick_s=1.0).report()
    assert not ready
    assert body["missing"] == ["tables", "clocks", "broker"]
    assert body["checks"]["tables"] == "recovering: hazard"
    assert body["checks"]["broker"] == "unreachable: no answer yet"


def test_recovered_ticking_and_reachable_is_ready() -> None:
    """All three parts reported: ready, nothing missing."""
    ready, body = ready_worker(Clock()).report()
    assert ready and body == {"ready": True, "missing": [], "checks": {
        "tables": "recovered", "clocks": "running", "broker": "reachable"}}


def test_a_rebalance_makes_the_worker_unready_until_its_tables_recover() -> None:
    """Revoked partitions: not ready until every table has recovered again."""
    clock = Clock()
    r = ready_worker(clock)
    r.revoked()
    r.table_recovered("hazard")
    ready, body = r.report()
    assert not ready and body["checks"]["tables"] == "recovering: alert"


def test_a_broker_silent_too_long_makes_the_worker_unready_and_says_why() -> None:
    """The last broker answer goes stale: unready, with the error of the failed probe."""
    clock = Clock()
    r = ready_worker(clock)
    clock.t += BROKER_STALE_S + 1
    r.ticked(held=False)
    r.broker_failed("KafkaConnectionError: Unable to bootstrap")
    ready, body = r.report()
    assert not ready and body["missing"] == ["broker"]
    assert body["checks"]["broker"] == "unreachable: KafkaConnectionError: Unable to bootstrap"
    r.broker_answered()
    assert r.report()[0]


def test_a_timer_that_stopped_ticking_makes_the_worker_unready() -> None:
    """No tick for more than five intervals: the clocks are reported as not ticking."""
    clock = Clock()
    r = ready_worker(clock)
    clock.t += 8
    r.broker_answered()
    ready, body = r.report()
    assert not ready and body["missing"] == ["clocks"]


def test_clocks_held_after_a_start_still_count_as_ticking() -> None:
    """Clocks waiting for intake to catch up are reported as held; the worker is ready."""
    clock = Clock()
    r = ready_worker(clock)
    r.ticked(held=True)
    ready, body = r.report()
    assert ready and body["checks"]["clocks"] == "held until intake catches up"


def test_an_intake_only_worker_needs_no_clocks() -> None:
    """With HAZARD_DECIDE=false there is no timer; clocks are reported off, not missing."""
    r = Readiness(frozenset({"hazard"}), clocks=False, tick_s=1.0)
    r.table_recovered("hazard")
    r.broker_answered()
    ready, body = r.report()
    assert ready and body["checks"]["clocks"] == "off (HAZARD_DECIDE=false)"


def test_a_malformed_request_is_logged_as_one_warning_without_a_traceback() -> None:
    """aiohttp's traceback for a header too long becomes a warning naming the fault."""
    import logging

    from aiohttp.http_exceptions import LineTooLong

    from engine.logs import ClientFaults

    try:
        raise LineTooLong(b"0:1,0:1", "8190")
    except LineTooLong as exc:
        record = logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1,
                                   "Error handling request from %s", ("127.0.0.1",),
                                   (type(exc), exc, exc.__traceback__))
    assert ClientFaults().filter(record)
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert record.getMessage().startswith("bad_http_request: 400, message:")
