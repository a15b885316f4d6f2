"""Supervisors' feeds: live escalations over SSE and state look-ups over HTTP, behind scoped tokens.

    tokens.py   bearer tokens, their hashes, the tokens file and scopes
    filters.py  query filters, scope checks, stream positions (SSE ids), pagination
    views.py    JSON views of hazards and alerts, behind the StateSource protocol
    web.py      `register(app, ...)`: the pages on the worker's web server
"""
