"""How the local brokers' JVMs are started: one garbage collector each, and the single broker's as
Kafka's own start script sets it."""

from __future__ import annotations

from engine.broker import cluster, local


def _collectors(options: tuple[str, ...]) -> list[str]:
    return [o for o in options if o.startswith("-XX:+Use") and o.endswith("GC")]


def test_the_single_broker_runs_the_collector_kafkas_start_script_gives_it() -> None:
    """G1 aiming at 20 ms pauses, as bin/kafka-run-class.sh sets KAFKA_JVM_PERFORMANCE_OPTS, with
    the heap bounded: the broker is started without the scripts, so the options are ours to give."""
    assert _collectors(local.JVM_OPTIONS) == ["-XX:+UseG1GC"]
    assert "-XX:MaxGCPauseMillis=20" in local.JVM_OPTIONS
    assert "-XX:InitiatingHeapOccupancyPercent=35" in local.JVM_OPTIONS
    assert "-Xmx1g" in local.JVM_OPTIONS


def test_a_cluster_node_selects_one_collector_only() -> None:
    """A JVM given two collectors refuses to start: a cluster node keeps its one-thread collector
    (three JVMs start at once) and takes the single broker's heap, not its collector."""
    assert _collectors(cluster.JVM_OPTIONS) == ["-XX:+UseSerialGC"]
    assert not set(local.PERFORMANCE) & set(cluster.JVM_OPTIONS)
    assert cluster.JVM_OPTIONS.index("-Xmx512m") > cluster.JVM_OPTIONS.index("-Xmx1g")  # the last wins
