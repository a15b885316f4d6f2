"""Prometheus metrics of the engine, registered on a registry the caller passes in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class IntakeMetrics:
    """Counts of what intake did with each record, by topic; no unbounded labels."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.records = Counter(
            "hazard_intake_records_total",
            "Intake records by topic and outcome (accepted, redelivered, rejected, duplicate).",
            ["topic", "outcome"], registry=registry,
        )
        self.rejections = Counter(
            "hazard_intake_rejections_total",
            "Reasons for rejected intake records, by topic and error type.",
            ["topic", "reason"], registry=registry,
        )
        self.latency = Histogram(
            "hazard_intake_processing_seconds",
            "Time to decide one intake record and hand its outputs to the producer.",
            registry=registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        )
