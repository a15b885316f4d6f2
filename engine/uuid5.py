"""Name-based (version 5) UUIDs as text, without building a `uuid.UUID` object per id.

`uuid.uuid5(ns, name)` hashes the namespace and the name with SHA-1, sets the
version and variant bits (RFC 4122 section 4.3), then builds an object that
`str()` formats again. The engine only ever wants the text, so `uuid5_text`
does the same hashing and bit-setting and formats the 16 bytes once; it gives
exactly the text `str(uuid.uuid5(ns, name))` gives (a unit test compares them).
"""

from __future__ import annotations

import hashlib
import uuid


def uuid5_text(namespace: uuid.UUID | bytes, name: str) -> str:
    """`str(uuid.uuid5(namespace, name))`, at about a third of the cost."""
    prefix = namespace.bytes if isinstance(namespace, uuid.UUID) else namespace
    digest = bytearray(hashlib.sha1(prefix + name.encode("utf-8"), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
