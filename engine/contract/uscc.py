"""The unified social credit code (统一社会信用代码) check character, as GB 32100-2015 defines it."""

from __future__ import annotations

# The 31 characters the standard allows; I, O, S, V and Z are left out so that
# codes can be read aloud and typed without confusion.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# The shape of a code as a JSON Schema pattern, for the published schemas; the check character is
# beyond a regular expression, so the engine's own validation (`uscc_problem`) still checks it.
PATTERN = f"^[{ALPHABET}]{{18}}$"
# Weight of position i is 3**i mod 31 (GB 32100-2015, section 5).
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def check_character(first17: str) -> str:
    """Return the check character for the first 17 characters of a code."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    """Say what is wrong with a code, or return None when it is valid."""
    if len(code) != 18:
        return f"must be 18 characters, got {len(code)}"
    bad = sorted({ch for ch in code if ch not in _VALUE})
    if bad:
        return f"has characters outside GB 32100-2015's alphabet: {''.join(bad)!r}"
    want = check_character(code[:17])
    if code[17] != want:
        return f"check character is {code[17]!r} but GB 32100-2015 gives {want!r}"
    return None
