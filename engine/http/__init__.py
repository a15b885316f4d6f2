"""HTTP: the batched runtime's own server, and `POST /events`, the field apps' intake over HTTP.

    server.py   one aiohttp server: /metrics, /healthz, /readyz and the supervisors' feeds
    events.py   the CloudEvents HTTP binding read into the Kafka records it stands for (pure)
    intake.py   `POST /events`: tokens, scopes, limits, checks, sending, the answers
    gateway.py  `hazard-engine gateway`: `POST /events` as its own process
"""
