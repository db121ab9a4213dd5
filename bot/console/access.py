"""Who may open the console: loopback-only without a token, a signed session cookie with one, CSRF on forms.

The console shows members' questions, so it is never served to a network without a login: a server
bound to anything but a loopback address must have `web.console_token` set, or the console refuses.
Sessions are an HMAC-signed cookie (HttpOnly, SameSite=Strict) keyed on a random secret kept in the
database plus the token, so changing the token logs everyone out. The CSRF token of a form is derived
from the session id, so it needs no server-side state.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

COOKIE = "htx_console"
COOKIE_PATH = "/console"
SESSION_SECONDS = 12 * 3600  # one working day
SECRET_KV = "console_secret"  # nosec B105 # the name of the kv row, not a secret
MAX_FAILURES = 10  # wrong tokens per address ...
FAILURE_WINDOW = 600.0  # ... within this many seconds, then logins from that address are refused


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'; False for 0.0.0.0, '' and every real address."""
    host = (host or "").strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Session:
    sid: str
    authenticated: bool
    new: bool = False


@dataclass
class Access:
    """The console's access policy for one server (host and token come from the config)."""

    host: str
    token: str
    secret: bytes
    clock: Callable[[], float] = time.time
    failures: dict[str, list[float]] = field(default_factory=dict)

    @property
    def token_required(self) -> bool:
        return bool(self.token)

    @property
    def refused(self) -> bool:
        """Bound to a network address with no token: the console must not be served at all."""
        return not self.token and not is_loopback(self.host)

    def remote_allowed(self, remote: str | None, proxied: bool = False) -> bool:
        """Without a token only local clients get in, and not through a reverse proxy (which may be public)."""
        return bool(self.token) or (remote is not None and is_loopback(remote) and not proxied)

    # --- sessions ---------------------------------------------------------------------------------

    def _key(self) -> bytes:
        return hashlib.sha256(self.secret + b"\0" + self.token.encode("utf-8")).digest()

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key(), payload.encode("ascii"), hashlib.sha256).hexdigest()

    def new_session(self, authenticated: bool) -> Session:
        return Session(secrets.token_urlsafe(18), authenticated or not self.token, new=True)

    def cookie_value(self, session: Session) -> str:
        payload = f"{session.sid}.{int(self.clock()) + SESSION_SECONDS}.{1 if session.authenticated else 0}"
        return f"{payload}.{self._sign(payload)}"

    def read_cookie(self, value: str | None) -> Session | None:
        """The session in a cookie, or None when it is missing, forged, expired or from an older token."""
        if not value or len(value) > 200:
            return None
        parts = value.split(".")
        if len(parts) != 4:
            return None
        sid, expires, flag, sig = parts
        payload = f"{sid}.{expires}.{flag}"
        try:
            expected = self._sign(payload)
        except UnicodeEncodeError:
            return None
        if not hmac.compare_digest(expected, sig) or not expires.isdigit() or flag not in ("0", "1"):
            return None
        if int(expires) < self.clock():
            return None
        return Session(sid, flag == "1" or not self.token)

    def csrf_token(self, session: Session) -> str:
        return self._sign(f"csrf:{session.sid}")[:40]

    def csrf_ok(self, session: Session | None, token: str | None) -> bool:
        if session is None or not token:
            return False
        return hmac.compare_digest(self.csrf_token(session), token)

    # --- login --------------------------------------------------------------------------------------

    def check_token(self, given: str | None, remote: str | None) -> bool:
        """Compare a login attempt in constant time, counting failures per address."""
        if not self.token or not given:
            self._fail(remote)
            return False
        ok = hmac.compare_digest(self.token.encode("utf-8"), given.encode("utf-8"))
        if not ok:
            self._fail(remote)
        return ok

    def locked_out(self, remote: str | None) -> bool:
        now = self.clock()
        recent = [t for t in self.failures.get(remote or "?", []) if now - t < FAILURE_WINDOW]
        self.failures[remote or "?"] = recent
        return len(recent) >= MAX_FAILURES

    def _fail(self, remote: str | None) -> None:
        self.failures.setdefault(remote or "?", []).append(self.clock())


def load_secret(store) -> bytes:
    """The signing secret, created once and kept in the database so sessions survive a restart."""
    value = store.get_kv(SECRET_KV)
    if not value:
        value = secrets.token_hex(32)
        store.set_kv(SECRET_KV, value)
    return bytes.fromhex(value)
