"""The board's session cookie and CSRF tokens: signing, checking, signing out.

A supervisor signs in once with their bearer token. The cookie that follows
carries the token's *hash* (as the tokens file stores it), a random session id
and an expiry, signed with HMAC-SHA256 under the board's secret:

    v1.<base64url(JSON)>.<base64url(HMAC)>

Every request checks the signature, the expiry, that the session was not signed
out, and asks the token store for the hash's scope again, so a token revoked in
the tokens file ends its board sessions at once, as it ends its feeds. The
cookie never holds the token itself: a copied cookie expires, a copied token
does not.

CSRF: every form carries a token that is an HMAC of the session id (or, on the
sign-in form, of a random nonce kept in a short-lived cookie); a POST whose
token does not match is refused. SameSite=Strict already keeps other sites'
forms from sending the cookie; the token covers browsers that ignore it.

Nothing here touches HTTP or the clock: `now` is always an argument.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from engine.feeds.tokens import Scope, hash_token
from engine.settings import MAX_BOARD_SESSION_S

COOKIE = "hzb_session"
PRE_COOKIE = "hzb_signin"  # the sign-in form's nonce, before there is a session
PRE_TTL_S = 3600  # how long a sign-in form may stay open before it must be reloaded
VERSION = "v1"
MAX_COOKIE = 1024  # a longer value is not one this server made; refused before any decoding


class SessionError(ValueError):
    """A cookie or form token that is not valid (forged, expired, signed out, unknown token)."""


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in supervisor: their token's hash, scope, session id and expiry (epoch seconds)."""

    digest: str
    scope: Scope
    sid: str
    expires: int


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _same(given: str, expected: str) -> bool:
    """Whether text from a request is the MAC expected, compared in constant time. As bytes:
    `hmac.compare_digest` refuses str with non-ASCII characters (TypeError, a 500), and a MAC is
    ASCII, so anything else is simply not a match."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("ascii"))


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


class Sessions:
    """Makes and checks session cookies and CSRF tokens under one secret."""

    def __init__(self, secret: bytes, lifetime_s: int, scope_of: Callable[[str], Scope | None]) -> None:
        if len(secret) < 32:
            raise ValueError("the board's secret must be at least 32 bytes")
        self._key = hashlib.sha256(b"hazard-engine board\0" + secret).digest()
        self.lifetime_s = lifetime_s
        self.scope_of = scope_of  # TokenStore.scope_of: the one place scopes come from
        self._ended: dict[str, int] = {}  # signed-out session ids -> their expiry
        self._prune_at = 64  # how many ended sessions are kept before the expired ones are dropped

    def _mac(self, purpose: str, text: str) -> str:
        # surrogatepass: a cookie aiohttp read with surrogateescape may hold what UTF-8 cannot encode.
        data = f"{purpose}\0{text}".encode("utf-8", "surrogatepass")
        return _b64(hmac.new(self._key, data, hashlib.sha256).digest())

    # --- sessions ----------------------------------------------------------------------------

    def sign_in(self, token: str, now: float) -> tuple[Session, str]:
        """A new session and its cookie value for a bearer token; SessionError if the token is unknown."""
        digest = hash_token(token.strip())
        scope = self.scope_of(digest)
        if scope is None:
            raise SessionError("unknown or revoked token")
        session = Session(digest, scope, secrets.token_urlsafe(16), int(now) + self.lifetime_s)
        body = _b64(json.dumps({"h": digest, "sid": session.sid, "exp": session.expires},
                               separators=(",", ":")).encode())
        value = f"{VERSION}.{body}"
        return session, f"{value}.{self._mac('session', value)}"

    def check(self, cookie: str | None, now: float) -> Session:
        """The session a cookie value stands for; SessionError saying why not."""
        if not cookie:
            raise SessionError("not signed in")
        if len(cookie) > MAX_COOKIE or cookie.count(".") != 2:
            raise SessionError("not a session cookie of this board")
        version, body, mac = cookie.split(".")
        if version != VERSION or not _same(mac, self._mac("session", f"{version}.{body}")):
            raise SessionError("the session cookie's signature is not valid")
        try:
            data = json.loads(_unb64(body))
            digest, sid, expires = str(data["h"]), str(data["sid"]), int(data["exp"])
        except (binascii.Error, ValueError, KeyError, TypeError) as exc:
            # Only this server's key signs cookies, so this means the key was shared with a bug.
            raise SessionError("the session cookie cannot be read") from exc
        if expires <= now:
            raise SessionError("the session has expired; sign in again")
        if sid in self._ended:
            raise SessionError("this session was signed out")
        scope = self.scope_of(digest)
        if scope is None:
            raise SessionError("the token of this session is no longer valid")
        return Session(digest, scope, sid, expires)

    def still_valid(self, session: Session, now: float) -> bool:
        """Whether a session checked earlier still holds, with the same scope (long SSE streams ask)."""
        return (session.expires > now and session.sid not in self._ended
                and self.scope_of(session.digest) == session.scope)

    def sign_out(self, session: Session, now: float) -> None:
        """End a session: its cookie is refused from now on, in this process, until it would expire
        (every worker's board also ends it once it reads the sign-out: engine/board/signouts.py)."""
        self.end(session.sid, session.expires, now)

    def end(self, sid: str, expires: int, now: float) -> None:
        """Refuse session `sid` until `expires`; a session that has expired needs nothing."""
        if expires <= now:
            return
        if len(self._ended) >= self._prune_at:
            self._ended = {s: e for s, e in self._ended.items() if e > now}
            self._prune_at = max(64, 2 * len(self._ended))
        # No cookie lives longer than the longest session a board may give, whatever a record says.
        self._ended[sid] = min(max(expires, self._ended.get(sid, 0)), int(now) + MAX_BOARD_SESSION_S)

    # --- CSRF --------------------------------------------------------------------------------

    def csrf(self, session: Session) -> str:
        """The CSRF token of a session's forms."""
        return self._mac("csrf", session.sid)

    def csrf_ok(self, session: Session, given: str | None) -> bool:
        """Whether a form's CSRF token belongs to this session."""
        return bool(given) and _same(str(given), self.csrf(session))

    def new_signin_nonce(self, now: float) -> str:
        """A value for the sign-in form's cookie: a random nonce and when it stops being accepted."""
        value = f"{secrets.token_urlsafe(16)}:{int(now) + PRE_TTL_S}"
        return f"{value}.{self._mac('signin', value)}"

    def signin_csrf(self, nonce_cookie: str) -> str:
        """The CSRF token of the sign-in form that goes with a nonce cookie."""
        return self._mac("signin-form", nonce_cookie)

    def signin_csrf_ok(self, nonce_cookie: str | None, given: str | None, now: float) -> bool:
        """Whether a sign-in form's CSRF token matches its (signed, unexpired) nonce cookie."""
        if not nonce_cookie or not given or len(nonce_cookie) > MAX_COOKIE:
            return False
        value, _, mac = nonce_cookie.rpartition(".")
        if not value or not _same(mac, self._mac("signin", value)):
            return False
        _, _, until = value.rpartition(":")
        if not until.isdigit() or int(until) <= now:
            return False
        return _same(str(given), self.signin_csrf(nonce_cookie))
