"""A field record sent again under a fresh event id: known by what it says, not by its ids.

A field app that did not hear the broker's answer sends its record again, and
some apps give each try an event id of its own. The intake refuses a copy by
its (`source`, `id`) and a state refuses an entry it applied by its source
record (engine/kernel/state.py), so a copy under a fresh id passes both and
would be applied a second time: a failed review starting another cycle and
running its ladder again, a confirmation or a completion claim moving the time
a department's duty counts from to the copy's arrival, an alert's update
issuing another CAP message.

A hazard and an alert keep a fingerprint of each of the latest KEPT field
records they applied, by the records' own times: a record's type, time and
data, which are the record, whatever ids and arrival it came with. A record
whose fingerprint is among them is the same record again; the core notes it on
the subject's record and applies nothing. Two records of one subject of the
same type, time to the second and data are one act: no field app records the
same thing twice in a second. A copy of a record older than the KEPT latest is
applied again as before (each core's own checks still catch what they know: a
report by its hazard id, a failed review by its time).

A fingerprint is the record's time in its high bits and 30 bits of BLAKE2b
below: kept in order, the latest KEPT by time are the largest, so which are
kept does not depend on the order the records came in (the fault suite and
the properties compare the states reached in different orders). Only two
records of the same second can be taken for one another, with a chance of
one in 2^30 (about 10^-9) for each such pair that differs: an app that dates
its records by the day alone gives a subject a few.
"""

from __future__ import annotations

import bisect
import hashlib
from typing import Any

import orjson

KEPT = 16  # field records whose fingerprints a subject keeps (`seen`)
AGAIN = "recorded again under a fresh event id: the same record as one on file, applied once"
_BITS = 30


def fingerprint(entry: dict[str, Any], at: int) -> int:
    """What a field record made at `at` says, its type, time and data but not its ids: `at` above
    30 bits of a hash of them (up to 63 bits until the year 2242)."""
    said = orjson.dumps([entry["type"], at, entry["data"]], option=orjson.OPT_SORT_KEYS)
    return at << _BITS | int.from_bytes(hashlib.blake2b(said, digest_size=4).digest(), "big") >> (32 - _BITS)


def seen_before(state: Any, entry: dict[str, Any], at: int) -> bool:
    """Whether `state` applied a field record saying what `entry` (made at `at`) says; if not, it
    is kept, in order, among the latest KEPT by time."""
    mark = fingerprint(entry, at)
    if mark in state.seen:
        return True
    bisect.insort(state.seen, mark)
    del state.seen[:-KEPT]
    return False
