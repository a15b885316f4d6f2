"""`GET /enterprises/{uscc}` and `GET /enterprises`: the enterprises' files, scoped like the feeds.

A town's supervisor sees the files of its town's enterprises and of those with
an open hazard in its town, each limited to what concerns its towns
(engine/enterprise/view.py `seen_as`); a department's those of its sector and
of its open hazards; a file outside the token's scope answers exactly as an
unknown USCC does (404), as the feeds' look-ups do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.contract.common import KnownIds
from engine.feeds.share import loop_share
from engine.feeds.tokens import TokenStore
from engine.feeds.views import StateSource
from engine.feeds.web import lookups
from engine.settings import Settings


def register(app: Any, *, settings: Settings, enterprises: StateSource, tokens: TokenStore,
             now: Callable[[], float], known: KnownIds | None = None) -> None:
    """Add the enterprises' pages to the worker's web server; `known` as the feeds' `register`."""
    share = loop_share(app.web.web_app, settings)
    lookups(app, "enterprise", enterprises, tokens, now, share, known)
