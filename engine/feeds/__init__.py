"""Supervisors' feeds: live escalations over SSE and state look-ups over HTTP, behind scoped tokens.

    tokens.py   bearer tokens, their hashes, the tokens file and scopes
    filters.py  query filters, scope checks, stream positions (SSE ids), cursors
    index.py    where each subject stands (town, departments, overdue), sorted for paging by key
    share.py    the feeds' share of the event loop, so no number of clients starves the events
    views.py    JSON views of hazards and alerts, behind the StateSource protocol
    web.py      `register(app, ...)`: the pages on the worker's web server
"""
