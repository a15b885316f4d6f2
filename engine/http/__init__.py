"""HTTP: the worker's own server, fair limits for it, and `POST /events`, the field apps' intake.

    server.py   one aiohttp server: /metrics, /healthz, /readyz and the supervisors' feeds
    limits.py   timeouts and sizes that hold a connection to a fair share
    events.py   the CloudEvents HTTP binding read into the Kafka records it stands for (pure)
    intake.py   `POST /events`: tokens, scopes, limits, checks, sending, the answers
    gateway.py  `hazard-engine gateway`: `POST /events` as its own process
"""
