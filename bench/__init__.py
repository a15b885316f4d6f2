"""Benchmarks: the throughput ladder, latency, a million clocks, recovery and scale-out.

Run them all with `python -m bench` (see docs/benchmarks.md).
"""
