"""CAP message identifiers: issuing-unit code, Beijing send time, sequence number, alert.

An identifier is the issuing unit's code, then the Beijing time the message was
sent as YYYYMMDDHHMMSS, then a 4-digit sequence number, then 16 hex digits
naming the alert the message is about (its id's BLAKE2b-64 digest):

    3715020000 + 20261130190500 + 0001 + 02a431a6c6294687 (alert AL-1)
    -> "371502000020261130190500000102a431a6c6294687"

This follows the parts GB/T 35965.1 puts in an early-warning identifier (unit
code, Beijing time, sequence) in the form the engine's contract asks for. Local
standards derived from GB/T 35965.1 write it as ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N
(a 14-character unit code, underscores, a 1-digit sequence); if messages must go
to the national release system, check the standard's text and adapt here.

The time is always Beijing time, whatever zone `sent` carries, so the same
instant yields the same identifier on every host. The sequence counts one
alert's messages (1 for its Alert, 2 for its first Update...): the engine
decides each alert apart and keeps no count across them, so two alerts sending
in the same second get the same sequence, and the alert's part tells them
apart. Without it (until 2026-12-05) two alerts raised in the same second had
one identifier, and a consumer that drops a message whose identifier it has
seen, as CAP 1.2 lets it (the identifier is unique for its sender), dropped
the second alert's warning.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from engine.cap.message import BEIJING

# Letters and digits only: the identifier must hold no spaces, commas, '<' or '&' (CAP 1.2),
# and issuing-unit codes (行政区划代码 and unit codes) are alphanumeric anyway.
_ISSUER = re.compile(r"[0-9A-Za-z]+")


def identifier(issuer_code: str, sent: datetime, sequence: int, subject: str) -> str:
    """Return the issuer code, then Beijing time as YYYYMMDDHHMMSS, then the sequence in 4 digits,
    then the 16 hex digits of alert `subject` (`subject_part`)."""
    if not _ISSUER.fullmatch(issuer_code):
        raise ValueError(f"issuer_code must be letters and digits only, got {issuer_code!r}")
    if sent.tzinfo is None or sent.utcoffset() is None:
        raise ValueError(f"sent must be timezone-aware: {sent!r}")
    if not 0 <= sequence <= 9999:
        raise ValueError(f"sequence must be 0..9999 to fit 4 digits, got {sequence}")
    t = sent.astimezone(BEIJING)
    # Fields by hand, not strftime: %Y does not zero-pad years below 1000 on every platform.
    stamp = f"{t.year:04d}{t.month:02d}{t.day:02d}{t.hour:02d}{t.minute:02d}{t.second:02d}"
    return f"{issuer_code}{stamp}{sequence:04d}{subject_part(subject)}"


def subject_part(subject: str) -> str:
    """The 16 hex digits that name alert `subject` in its messages' identifiers: letters and digits
    whatever its id holds, and two ids share them with a chance of one in 2**64."""
    return hashlib.blake2b(subject.encode("utf-8"), digest_size=8).hexdigest()
