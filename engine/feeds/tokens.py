"""Bearer tokens of supervisors and field apps: minting, hashing, the tokens file and scopes.

The tokens file (YAML, its path in `HAZARD_TOKENS_FILE`) holds one entry per
supervisor, and one per field app that publishes over HTTP (`POST /events`),
with the *hash* of the token, never the token:

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
    field_apps:
      - name: huxi-inspector-app
        hash: sha256:…
        source_prefix: /apps/inspector/
        towns: [huxi]

The two kinds never stand in for each other: a supervisor's token cannot
publish and a field app's token cannot read the feeds. A field app's scope is
a prefix its events' `source` must start with, and the towns its events may
name; either may be left out (then it is not limited by it).

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


@dataclass(frozen=True, slots=True)
class FieldApp:
    """What one field app may publish: events whose source starts with a prefix, in some towns."""

    name: str
    source_prefix: str = ""
    towns: frozenset[str] = frozenset()

    def source_problem(self, source: object) -> str | None:
        """Why an event with this `source` is outside the scope, or None if it is within."""
        if not self.source_prefix or (isinstance(source, str) and source.startswith(self.source_prefix)):
            return None
        return (f"source {str(source)[:200]!r} is outside this token's scope: its events' source "
                f"must start with {self.source_prefix!r}")

    def town_problem(self, town: str | None) -> str | None:
        """Why an event about `town` is outside the scope (None if within, or if it names no town)."""
        if town is None or not self.towns or town in self.towns:
            return None
        return (f"town {town[:100]!r} is outside this token's scope: it may publish for "
                + ", ".join(sorted(self.towns)))


def new_token() -> str:
    """A fresh random token: 256 bits, URL-safe."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The hash stored in the tokens file for `token`."""
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()


def _entry(entry: Any, where: str, keys: set[str]) -> str:
    """Check an entry's shape and return its hash."""
    if not isinstance(entry, dict):
        raise TokenFileError(f"{where}: expected a mapping, got {type(entry).__name__}")
    unknown = set(entry) - keys
    if unknown:
        raise TokenFileError(f"{where}: unknown keys {sorted(unknown)}")
    digest = entry.get("hash")
    if not isinstance(digest, str) or not digest.startswith("sha256:") or len(digest) != 71:
        raise TokenFileError(f"{where}: 'hash' must be 'sha256:' and 64 hex digits "
                             "(see `hazard-engine token new`)")
    return digest.lower()


def _scope(entry: Any, where: str) -> tuple[str, Scope]:
    digest = _entry(entry, where, {"name", "hash", "towns", "departments", "district"})
    towns, depts = entry.get("towns") or [], entry.get("departments") or []
    if not all(isinstance(x, str) for x in [*towns, *depts]):
        raise TokenFileError(f"{where}: towns and departments must be lists of ids")
    district = entry.get("district", False) is True
    if not (district or towns or depts):
        # An entry without any scope is far more likely a mistake than a wish to see nothing.
        raise TokenFileError(f"{where}: give towns, departments or district: true")
    name = str(entry.get("name") or where)
    return digest, Scope(name, frozenset(towns), frozenset(depts), district)


def _field_app(entry: Any, where: str) -> tuple[str, FieldApp]:
    digest = _entry(entry, where, {"name", "hash", "source_prefix", "towns"})
    prefix, towns = entry.get("source_prefix") or "", entry.get("towns") or []
    if not isinstance(prefix, str):
        raise TokenFileError(f"{where}: source_prefix must be text, e.g. /apps/inspector/")
    if not isinstance(towns, list) or not all(isinstance(x, str) for x in towns):
        raise TokenFileError(f"{where}: towns must be a list of ids")
    if not isinstance(entry.get("name"), str) or not entry["name"]:
        # A field app's name is what logs and records say published an event: it must be given.
        raise TokenFileError(f"{where}: give the field app a name")
    return digest, FieldApp(entry["name"], prefix, frozenset(towns))


def parse_file(text: str, source: str = "tokens file") -> tuple[dict[str, Scope], dict[str, FieldApp]]:
    """Parse a tokens file's text into supervisors' and field apps' scopes, each by hash."""
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise TokenFileError(f"{source}: not YAML: {exc}") from exc
    if not isinstance(doc, dict) or not ("supervisors" in doc or "field_apps" in doc):
        raise TokenFileError(f"{source}: expected a top-level 'supervisors:' list "
                             "(or 'field_apps:')")
    unknown = set(doc) - {"supervisors", "field_apps"}
    if unknown:
        raise TokenFileError(f"{source}: unknown top-level keys {sorted(unknown)}")
    seen: set[str] = set()
    found: list[dict[str, Any]] = []
    for section, read in (("supervisors", _scope), ("field_apps", _field_app)):
        entries = doc.get(section)
        if entries is None:
            entries = []
        if not isinstance(entries, list):
            raise TokenFileError(f"{source}: '{section}:' must be a list")
        out: dict[str, Any] = {}
        for i, entry in enumerate(entries):
            digest, scope = read(entry, f"{source}: {section}[{i}]")
            if digest in seen:  # also across sections: one token must not be both kinds
                raise TokenFileError(f"{source}: {section}[{i}]: the same hash appears twice")
            seen.add(digest)
            out[digest] = scope
        found.append(out)
    return found[0], found[1]


def parse(text: str, source: str = "tokens file") -> dict[str, Scope]:
    """Parse a tokens file's text into the supervisors' {hash: scope}."""
    return parse_file(text, source)[0]


class TokenStore:
    """The configured tokens, re-read when the file changes; empty when none are configured."""

    def __init__(self, scopes: dict[str, Scope] | None = None, path: Path | None = None,
                 field_apps: dict[str, FieldApp] | None = None) -> None:
        self._scopes = dict(scopes or {})
        self._apps = dict(field_apps or {})
        self.path = path
        self._stamp = self._stat()

    @classmethod
    def load(cls, path: Path | str) -> TokenStore:
        """Read a tokens file; a bad file fails here, at start, not at the first request."""
        path = Path(path)
        supervisors, apps = parse_file(_read(path), str(path))
        return cls(supervisors, path, apps)

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
        scoped = [*self._scopes.values(), *self._apps.values()]
        return sorted({f"town {t!r} ({s.name})" for s in scoped for t in s.towns if t not in towns}
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
            self._scopes, self._apps = parse_file(_read(self.path), str(self.path))  # type: ignore[arg-type]
            log.info("tokens file reloaded: %d supervisors, %d field apps", len(self._scopes),
                     len(self._apps))
        except TokenFileError as exc:
            # Fail closed: a half-written or broken file must not keep revoked tokens alive.
            self._scopes, self._apps = {}, {}
            log.error("tokens file unusable, refusing every token: %s", exc)

    def _find(self, header: str | None, field_apps: bool) -> Any:
        if not header or not self.configured:
            return None
        kind, _, token = header.strip().partition(" ")
        # Tokens are URL-safe ASCII; aiohttp hands other header bytes over as surrogates,
        # which would not even encode for hashing.
        if kind.lower() != "bearer" or not token.strip() or not token.isascii():
            return None
        return self._lookup(hash_token(token.strip()), field_apps)

    def _lookup(self, digest: str, field_apps: bool) -> Any:
        self._refresh()
        found = None
        # Compare against every entry without stopping early, in constant time each.
        for stored, scope in (self._apps if field_apps else self._scopes).items():
            if hmac.compare_digest(stored, digest):
                found = scope
        return found

    def scope_of(self, digest: str) -> Scope | None:
        """The supervisor's scope of the token whose hash is `digest` (as `hash_token` makes it).

        The board's session cookie carries this hash, never the token, and asks here
        on every request, so a revoked token ends its sessions too. A field app's
        token has no supervisor's scope: None.
        """
        if not self.configured or not isinstance(digest, str):
            return None
        return self._lookup(digest, field_apps=False)

    def authenticate(self, header: str | None) -> Scope | None:
        """The supervisor's scope of the bearer token in an Authorization header, or None."""
        return self._find(header, field_apps=False)

    def authenticate_field_app(self, header: str | None) -> FieldApp | None:
        """The field app whose bearer token is in an Authorization header, or None."""
        return self._find(header, field_apps=True)


def _entry_line(entry: dict[str, Any]) -> str:
    """A tokens-file entry as the one line to append under its section."""
    return "  - " + yaml.safe_dump(entry, default_flow_style=True, sort_keys=False, width=10**6,
                                   allow_unicode=True).strip()


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
    return token, _entry_line(entry)


def mint_field_app(name: str, source_prefix: str | None, towns: list[str]) -> tuple[str, str]:
    """A new field-app token and the YAML entry to append under `field_apps:`."""
    token = new_token()
    entry: dict[str, Any] = {"name": name, "hash": hash_token(token)}
    if source_prefix:
        entry["source_prefix"] = source_prefix
    if towns:
        entry["towns"] = sorted(set(towns))
    _field_app(entry, "new entry")
    return token, _entry_line(entry)


def cli_new_field_app(name: str | None, source_prefix: str | None, towns: list[str]) -> int:
    """`hazard-engine token new --field-app`: print a token once and its `field_apps:` entry."""
    if not name:
        print("hazard-engine token new: --field-app needs --name (what records say published "
              "an event)", file=sys.stderr)
        return 2
    try:
        token, line = mint_field_app(name, source_prefix, towns)
    except TokenFileError as exc:
        print(f"hazard-engine token new: {exc.args[0].removeprefix('new entry: ')}", file=sys.stderr)
        return 2
    print(f"token (give it to the field app; it is not stored anywhere): {token}")
    print(f"append under 'field_apps:' in ${ENV}:")
    print(line)
    return 0


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


def _read(path: Path) -> str:
    """A tokens file's text; TokenFileError, saying why, when it cannot be read or is not UTF-8."""
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise TokenFileError(f"cannot read tokens file {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise TokenFileError(f"tokens file {path} is not UTF-8 text (byte {exc.start}): "
                             f"{exc.reason}") from exc

