"""Supervisors' bearer tokens: minting, hashing, the tokens file and what each token may see.

The tokens file (YAML, its path in `HAZARD_TOKENS_FILE`) holds one entry per
supervisor with the *hash* of the token, never the token:

    supervisors:
      - name: huxi-town-office
        hash: sha256:9f86d0818…
        towns: [huxi]
      - name: district-fire-brigade
        hash: sha256:…
        departments: [fire_rescue]
      - name: district-duty-office
        hash: sha256:…
        district: true

A plain SHA-256 is enough here, and deliberately so: every token is minted by
`new_token` with 256 random bits, so there is nothing to guess that a slow,
salted hash (PBKDF2, scrypt) would protect; those exist for passwords people
choose. A fast hash also keeps authentication off the event loop's critical path.
The file is re-read when it changes, so a revoked token stops working without
a restart; a file that no longer parses refuses everyone until it is fixed.

This module knows nothing of the engine, so supervisors' own tools may reuse it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger("engine.feeds.tokens")

PREFIX = "hzt_"  # lets secret scanners and people recognise a leaked token
ENV = "HAZARD_TOKENS_FILE"


class TokenFileError(ValueError):
    """The tokens file is missing, unreadable or malformed."""


@dataclass(frozen=True, slots=True)
class Scope:
    """What one supervisor may see: some towns, some departments, both (each item must match both), or all."""

    name: str
    towns: frozenset[str] = frozenset()
    departments: frozenset[str] = frozenset()
    district: bool = False

    def allows(self, town: str | None, departments: set[str] | frozenset[str] | list[str]) -> bool:
        """Whether an item in `town` concerning `departments` is within this scope."""
        if self.district:
            return True
        if self.towns and town not in self.towns:
            return False
        return not self.departments or bool(self.departments.intersection(departments))

    def may_ask_town(self, town: str) -> bool:
        """Whether a `town=` filter stays within this scope (asking outside it is refused)."""
        return self.district or not self.towns or town in self.towns

    def may_ask_department(self, department: str) -> bool:
        """Whether a `department=` filter stays within this scope."""
        return self.district or not self.departments or department in self.departments


def new_token() -> str:
    """A fresh random token: 256 bits, URL-safe."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The hash stored in the tokens file for `token`."""
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()


def _scope(entry: Any, where: str) -> tuple[str, Scope]:
    if not isinstance(entry, dict):
        raise TokenFileError(f"{where}: expected a mapping, got {type(entry).__name__}")
    unknown = set(entry) - {"name", "hash", "towns", "departments", "district"}
    if unknown:
        raise TokenFileError(f"{where}: unknown keys {sorted(unknown)}")
    digest = entry.get("hash")
    if not isinstance(digest, str) or not digest.startswith("sha256:") or len(digest) != 71:
        raise TokenFileError(f"{where}: 'hash' must be 'sha256:' and 64 hex digits "
                             "(see `hazard-engine token new`)")
    towns, depts = entry.get("towns") or [], entry.get("departments") or []
    if not all(isinstance(x, str) for x in [*towns, *depts]):
        raise TokenFileError(f"{where}: towns and departments must be lists of ids")
    district = entry.get("district", False) is True
    if not (district or towns or depts):
        # An entry without any scope is far more likely a mistake than a wish to see nothing.
        raise TokenFileError(f"{where}: give towns, departments or district: true")
    name = str(entry.get("name") or where)
    return digest.lower(), Scope(name, frozenset(towns), frozenset(depts), district)


def parse(text: str, source: str = "tokens file") -> dict[str, Scope]:
    """Parse a tokens file's text into {hash: scope}."""
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise TokenFileError(f"{source}: not YAML: {exc}") from exc
    entries = doc.get("supervisors") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise TokenFileError(f"{source}: expected a top-level 'supervisors:' list")
    out: dict[str, Scope] = {}
    for i, entry in enumerate(entries):
        digest, scope = _scope(entry, f"{source}: supervisors[{i}]")
        if digest in out:
            raise TokenFileError(f"{source}: supervisors[{i}]: the same hash appears twice")
        out[digest] = scope
    return out


class TokenStore:
    """The configured tokens, re-read when the file changes; empty when none are configured."""

    def __init__(self, scopes: dict[str, Scope] | None = None, path: Path | None = None) -> None:
        self._scopes = dict(scopes or {})
        self.path = path
        self._stamp = self._stat()

    @classmethod
    def load(cls, path: Path | str) -> TokenStore:
        """Read a tokens file; a bad file fails here, at start, not at the first request."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TokenFileError(f"cannot read tokens file {path}: {exc}") from exc
        return cls(parse(text, str(path)), path)

    @classmethod
    def from_settings(cls, settings: Any) -> TokenStore:
        """The store named by `settings.tokens_file` (HAZARD_TOKENS_FILE), or an unconfigured one."""
        # Any object with a tokens_file attribute will do, so this module still needs no engine import.
        path = getattr(settings, "tokens_file", None)
        return cls.load(path) if path else cls()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TokenStore:
        """Kept for older callers: `from_settings` of the loaded settings, or of `environ` when given."""
        if environ is None:
            from engine.settings import Settings  # late: only this old entry point needs the engine

            return cls.from_settings(Settings.load())
        path = environ.get(ENV)
        return cls.load(path) if path else cls()

    @property
    def configured(self) -> bool:
        """Whether a tokens file was given at all."""
        return self.path is not None

    def unknown_ids(self, towns: set[str], departments: set[str]) -> list[str]:
        """Towns and departments the scopes name that the reference data does not know."""
        return sorted({f"town {t!r} ({s.name})" for s in self._scopes.values()
                       for t in s.towns if t not in towns}
                      | {f"department {d!r} ({s.name})" for s in self._scopes.values()
                         for d in s.departments if d not in departments})

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat() if self.path else None
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size) if st else None

    def _refresh(self) -> None:
        stamp = self._stat()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self._scopes = parse(self.path.read_text(encoding="utf-8"), str(self.path))  # type: ignore[union-attr]
            log.info("tokens file reloaded: %d supervisors", len(self._scopes))
        except (OSError, TokenFileError) as exc:
            # Fail closed: a half-written or broken file must not keep revoked tokens alive.
            self._scopes = {}
            log.error("tokens file unusable, refusing every token: %s", exc)

    def authenticate(self, header: str | None) -> Scope | None:
        """The scope of the bearer token in an Authorization header, or None."""
        if not header or not self.configured:
            return None
        kind, _, token = header.strip().partition(" ")
        # Tokens are URL-safe ASCII; aiohttp hands other header bytes over as surrogates,
        # which would not even encode for hashing.
        if kind.lower() != "bearer" or not token.strip() or not token.isascii():
            return None
        self._refresh()
        digest = hash_token(token.strip())
        found = None
        # Compare against every entry without stopping early, in constant time each.
        for stored, scope in self._scopes.items():
            if hmac.compare_digest(stored, digest):
                found = scope
        return found


def mint(name: str, towns: list[str], departments: list[str], district: bool) -> tuple[str, str]:
    """A new token and the YAML entry to append to the tokens file."""
    token = new_token()
    entry: dict[str, Any] = {"name": name, "hash": hash_token(token)}
    if district:
        entry["district"] = True
    if towns:
        entry["towns"] = sorted(set(towns))
    if departments:
        entry["departments"] = sorted(set(departments))
    _scope(entry, "new entry")  # the same checks the worker applies
    line = "  - " + yaml.safe_dump(entry, default_flow_style=True, sort_keys=False, width=10**6,
                                   allow_unicode=True).strip()
    return token, line


def cli_new(name: str | None, towns: list[str], departments: list[str], district: bool) -> int:
    """`hazard-engine token new`: print a token once (stdout) and its tokens-file entry."""
    try:
        token, line = mint(name or "-".join([*towns, *departments]) or "district",
                           towns, departments, district)
    except TokenFileError as exc:
        print(f"hazard-engine token new: {exc.args[0].removeprefix('new entry: ')}", file=sys.stderr)
        return 2
    print(f"token (give it to the supervisor; it is not stored anywhere): {token}")
    print(f"append under 'supervisors:' in ${ENV}:")
    print(line)
    return 0
