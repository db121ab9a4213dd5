"""Who may open the console: the Host check, server-side sessions of staff accounts, CSRF, client addresses.

- Host: only the names the console is meant to be reached by (`web.allowed_hosts`, the bound host and
  the loopback names) — a page on another site whose name an attacker points at 127.0.0.1 (DNS rebinding)
  gets nothing.
- Sessions: the cookie holds a random id; the database holds its SHA-256, the account, and the times
  that make it expire (idle and absolute). Logging out, disabling the account or changing its password
  deletes the row, so the cookie is worth nothing from that moment on. A browser that is not logged in
  gets an anonymous id too: the login form's CSRF token is bound to it.
- CSRF: the token of a form is an HMAC of the session id under a random secret kept in the database.
- Addresses: `X-Forwarded-For` and `X-Forwarded-Proto` are believed only from `web.trusted_proxies`
  (bot/proxies.py, the rule the web chat's limits use too).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.console.auth import Staff
from bot.proxies import IPNetwork, TrustedProxies

if TYPE_CHECKING:
    from bot.db import Store

COOKIE = "htx_console"
COOKIE_PATH = "/console"
SECRET_KV = "console_secret"  # nosec B105 # the name of the kv row, not a secret
TOUCH_EVERY = 60.0  # seconds between two updates of a session's last-seen time
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
SID = 32  # random bytes in a session id

def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'; False for 0.0.0.0, '' and every real address."""
    host = (host or "").strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str | None) -> str:
    """The name in a Host header, without port, brackets or trailing dot, lower-case ('' if malformed)."""
    value = (header or "").strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else ""
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


def allowed_names(bound_host: str, configured: Iterable[str]) -> frozenset[str]:
    """The configured names, the bound host (unless a wildcard like 0.0.0.0) and the loopback names."""
    names = {host_name(n) for n in configured if n.strip()}
    bound = host_name(bound_host)
    if bound and bound not in ("0.0.0.0", "::"):
        names.add(bound)
    names.update(LOOPBACK_NAMES)
    return frozenset(names)


def hash_sid(sid: str) -> str:
    return hashlib.sha256(sid.encode("ascii", "replace")).hexdigest()


@dataclass
class Session:
    """This browser's session: `staff` is None until it logs in."""

    sid: str
    staff: Staff | None = None
    new: bool = False  # the cookie must be (re)sent

    @property
    def authenticated(self) -> bool:
        return self.staff is not None


# The request's console session (aiohttp < 3.13 has no RequestKey; a plain string works there).
SESSION_KEY: Any = web.RequestKey("htx_console_session", Session) if hasattr(web, "RequestKey") else "htx_session"


def current_staff(request: web.Request) -> Staff:
    """The logged-in staff member of a request that went through `guarded` (401 if there is none)."""
    session = request.get(SESSION_KEY)
    if session is None or session.staff is None:
        raise web.HTTPUnauthorized(text="Cần đăng nhập.")
    return session.staff


@dataclass
class Access:
    """The console's access policy for one server, over the store's accounts and sessions."""

    store: Store
    secret: bytes
    allowed_hosts: frozenset[str]
    trusted_proxies: tuple[IPNetwork, ...] = ()
    idle_seconds: float = 2 * 3600.0
    absolute_seconds: float = 12 * 3600.0
    clock: Callable[[], float] = time.time
    _last_prune: float = field(default=0.0, repr=False)

    # --- requests -----------------------------------------------------------------------------------------

    def host_allowed(self, header: str | None) -> bool:
        name = host_name(header)
        return bool(name) and name in self.allowed_hosts

    def client_address(self, remote: str | None, headers: Mapping[str, str]) -> str:
        """The client's address: the peer's, or behind trusted proxies the last address they did not add."""
        return TrustedProxies(self.trusted_proxies).client_address(remote, headers)

    def is_https(self, secure: bool, remote: str | None, headers: Mapping[str, str]) -> bool:
        return TrustedProxies(self.trusted_proxies).is_https(secure, remote, headers)

    # --- sessions ---------------------------------------------------------------------------------------

    def read_session(self, cookie: str | None) -> Session:
        """The session a cookie names: logged in while its row lives and has not expired, else anonymous."""
        if not cookie or len(cookie) > 100 or not cookie.isascii():
            return Session(secrets.token_urlsafe(SID), new=True)
        row = self.store.session_row(hash_sid(cookie))
        if row is None:
            return Session(cookie)
        now = self.clock()
        if (now - row["last_seen_at"] > self.idle_seconds or now - row["created_at"] > self.absolute_seconds
                or row["created_at"] < row["password_changed_at"]):
            self.store.delete_session(row["id_hash"])
            return Session(secrets.token_urlsafe(SID), new=True)
        if now - row["last_seen_at"] > TOUCH_EVERY:
            self.store.touch_session(row["id_hash"])
        return Session(cookie, Staff(row["staff_id"], row["username"], row["display_name"], row["role"]))

    def start_session(self, staff: Staff, remote: str | None) -> Session:
        """A fresh id at login, so an id planted in the browser before it is worth nothing."""
        now = self.clock()
        if now - self._last_prune > 3600:
            self._last_prune = now
            self.store.prune_sessions(self.idle_seconds, self.absolute_seconds)
        session = Session(secrets.token_urlsafe(SID), staff, new=True)
        self.store.create_session(hash_sid(session.sid), staff.id, remote)
        return session

    def end_session(self, session: Session) -> Session:
        """Logout: the row goes; the browser keeps a new anonymous id."""
        self.store.delete_session(hash_sid(session.sid))
        return Session(secrets.token_urlsafe(SID), new=True)

    # --- CSRF -----------------------------------------------------------------------------------------------

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self.secret, f"csrf:{session.sid}".encode("ascii", "replace"), hashlib.sha256).hexdigest()[:40]

    def csrf_ok(self, session: Session | None, token: str | None) -> bool:
        if session is None or not token:
            return False
        return hmac.compare_digest(self.csrf_token(session), token)


def load_secret(store: Store) -> bytes:
    """The CSRF key, created once and kept in the database so forms survive a restart."""
    value = store.get_kv(SECRET_KV)
    if not value:
        value = secrets.token_hex(32)
        store.set_kv(SECRET_KV, value)
    return bytes.fromhex(value)
