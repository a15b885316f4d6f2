"""JSON for the hot path: every timeline entry, output and stored state goes through here.

orjson writes the same compact UTF-8 JSON as `json.dumps(..., ensure_ascii=False,
separators=(",", ":"))` for the values the engine stores (strings, integers up
to 64 bits, lists, objects with string keys), in a fraction of the time; the
profile of the full engine had stdlib JSON at 5.6% of its busy time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

JSONDecodeError = orjson.JSONDecodeError  # a subclass of ValueError, as json's is


# Compact UTF-8 JSON: orjson's own function, not a wrapper around it, so that the three to four
# calls an event makes cost no Python frame each.
dumps: Callable[[Any], bytes] = orjson.dumps


def loads(raw: bytes | str) -> Any:
    """Parse JSON; raises `JSONDecodeError` (a ValueError) on anything that is not."""
    try:
        return orjson.loads(raw)
    except JSONDecodeError as exc:
        if _OUT_OF_ROOM not in str(exc):
            raise
    # orjson (3.12, 3.13) sizes its parser's room from how a document opens: one with two bytes of
    # white space after its first bracket is read as pretty-printed, given room for fewer values a
    # byte, and refused with this message when it packs numbers densely (an indented event with a
    # list of 9,000 zeros). Without the white space between its tokens the same document fits.
    return orjson.loads(compact(raw.encode() if isinstance(raw, str) else raw))


_OUT_OF_ROOM = "failed to allocate memory"
_TOKEN_OR_SPACE = re.compile(rb'("(?:[^"\\]|\\.)*")|[ \t\n\r]+')


def compact(doc: bytes) -> bytes:
    """`doc` without the JSON white space between its tokens; the strings are left as they are."""
    return _TOKEN_OR_SPACE.sub(lambda m: m.group(1) or b"", doc)
