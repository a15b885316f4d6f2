"""The machinery every decision core stands on: hazards, alerts, enterprises and plan towns.

A core (engine/decide, engine/alerts, engine/enterprise, engine/plan/tracking.py)
holds only its own rules: which facts an event records, which clocks run, and
what they send. What they share lives here once:

- `ids`: deterministic output ids and clock-firing ids;
- `outputs`: the output record `Out` and the CloudEvent envelope;
- `time`: epoch seconds from and to RFC 3339, and deadlines after a span;
"""
