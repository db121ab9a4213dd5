"""Staff accounts in the console: login and logout, one's own password, the admin's account page, the audit log.

The rules (roles, hashing, throttle) are in bot/console/auth.py, sessions and CSRF in access.py, the SQL in
bot/db/staff.py. `first_admin` makes the one account a fresh installation starts with.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.console import auth, queries
from bot.console.access import SESSION_KEY, current_staff
from bot.console.auth import AccountError, Staff
from bot.console.views import (
    CONSOLE_KEY,
    Console,
    _field,
    _int,
    audit,
    client_address,
    guarded,
    redirect,
    render,
    safe_next,
)
from bot.db import Store

__all__ = ["current_staff", "first_admin", "setup"]

log = logging.getLogger(__name__)
AUDIT_PAGE = 100
VERIFY_KEY = web.AppKey("htx_console_verify", asyncio.Semaphore)
FIRST_ADMIN = "admin"


def setup(webapp: web.Application, console: Console) -> None:
    """Login, logout, own password, accounts and audit log; `views.setup` calls this."""
    webapp[VERIFY_KEY] = asyncio.Semaphore(2)  # password checks at once: argon2 is meant to be costly
    add = webapp.router
    add.add_get("/console/login", guarded(login_page, public=True))
    add.add_post("/console/login", guarded(login_submit, public=True))
    add.add_post("/console/logout", guarded(logout, public=True))
    add.add_get("/console/password", guarded(password_page, "viewer"))
    add.add_post("/console/password", guarded(password_submit, "viewer"))
    add.add_get("/console/accounts", guarded(accounts_page, "admin"))
    add.add_post("/console/accounts", guarded(account_add, "admin"))
    add.add_post(r"/console/accounts/{id:\d+}/{action:disable|enable|reset|role}", guarded(account_change, "admin"))
    add.add_get("/console/audit", guarded(audit_page, "admin"))


def first_admin(store: Store) -> str | None:
    """On a database without any account: create `admin` with a random password and return it, once."""
    if store.staff_count():
        return None
    password = auth.random_password()
    if store.create_staff(FIRST_ADMIN, "Quản trị", "admin", auth.hash_password(password)) is None:
        return None
    store.audit("system", "account.add", f"staff:{FIRST_ADMIN}", "first start, role admin")
    return password


def _store(request: web.Request) -> Store:
    return request.app[CONSOLE_KEY].app.store


# --- login and logout ---------------------------------------------------------------------------------


async def login_page(request: web.Request) -> web.StreamResponse:
    target = safe_next(request.query.get("next"))
    if request[SESSION_KEY].authenticated:
        return redirect(target)
    return render(request, "console/login.html", next=target, notice=request.query.get("ok"))


def _check(row: dict[str, Any] | None, password: str) -> bool:
    """The password against the account; the same work when there is no such account or it is disabled."""
    if row is None or len(password) > auth.MAX_PASSWORD:
        auth.dummy_verify(password[: auth.MAX_PASSWORD])
        return False
    ok = auth.verify_password(row["password_hash"], password)
    return ok and bool(row["active"])


async def login_submit(request: web.Request) -> web.StreamResponse:
    store, policy = _store(request), request.app[CONSOLE_KEY].access
    form = await request.post()
    target = safe_next(_field(form, "next"))
    username = auth.normalize_username(_field(form, "username"))
    password = _field(form, "password") or ""
    page = {"next": target, "username": username}
    if not username or not password:
        return render(request, "console/login.html", http_status=400, error="missing", **page)
    remote = client_address(request)
    history = store.login_history(username, remote, auth.KNOWN, auth.WINDOW)
    wait = auth.wait_seconds(history, store.clock())
    if wait > 0:  # not even checked: a guess now tells nothing
        log.info("console login for %r from %s throttled for %.0f s", username, remote, wait)
        response = render(request, "console/login.html", http_status=429, error="wait", wait=math.ceil(wait), **page)
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    row = store.staff_by_username(username)
    async with request.app[VERIFY_KEY]:
        ok = await asyncio.to_thread(_check, row, password)
    if not ok or row is None:
        store.record_login(username, remote, False)
        store.audit(username if row else "?", "login.failed", f"staff:{username}", f"address {remote}")
        if history.known_pair:  # maybe a guesser behind the staff's own proxy: answer slowly, never refuse
            await asyncio.sleep(auth.tarpit_seconds(history))
        return render(request, "console/login.html", http_status=401, error="wrong", **page)
    store.record_login(username, remote, True)
    if auth.needs_rehash(row["password_hash"]):
        store.rehash_staff_password(row["id"], auth.hash_password(password))
    staff = Staff(row["id"], row["username"], row["display_name"], row["role"])
    request[SESSION_KEY] = policy.start_session(staff, remote)
    store.audit(staff.username, "login", f"staff:{staff.username}", f"address {remote}")
    store.prune_login_attempts(auth.KEEP_ATTEMPTS)
    return redirect(target)


async def logout(request: web.Request) -> web.StreamResponse:
    session = request[SESSION_KEY]
    if session.staff is not None:
        audit(request, "logout", f"staff:{session.staff.username}")
        request[SESSION_KEY] = request.app[CONSOLE_KEY].access.end_session(session)
    return redirect("/console/login?ok=logged_out")


# --- one's own password -----------------------------------------------------------------------------


async def password_page(request: web.Request, status: int = 200, **extra: Any) -> web.StreamResponse:
    return render(request, "console/password.html", http_status=status, notice=request.query.get("ok"),
                  min_password=auth.MIN_PASSWORD, **extra)


async def password_submit(request: web.Request) -> web.StreamResponse:
    store, policy = _store(request), request.app[CONSOLE_KEY].access
    me = current_staff(request)
    form = await request.post()
    current, new, again = (_field(form, k) or "" for k in ("current", "new", "again"))
    row = store.staff_by_id(me.id)
    if row is None or not await asyncio.to_thread(_check, row, current):
        store.audit(me.username, "account.password_failed", f"staff:{me.username}")
        return await password_page(request, 400, error="Mật khẩu hiện tại không đúng.")
    try:
        auth.check_password(new)
        if new != again:
            raise AccountError("Hai lần nhập mật khẩu mới không khớp.")
    except AccountError as exc:
        return await password_page(request, 400, error=str(exc))
    store.set_staff_password(me.id, await asyncio.to_thread(auth.hash_password, new))  # ends every session
    request[SESSION_KEY] = policy.start_session(me, client_address(request))  # ... but this browser's
    audit(request, "account.password", f"staff:{me.username}")
    return redirect("/console/password?ok=changed")


# --- accounts (admin) -------------------------------------------------------------------------------


async def accounts_page(request: web.Request, status: int = 200, **extra: Any) -> web.StreamResponse:
    return render(request, "console/accounts.html", http_status=status, accounts=_store(request).staff_list(),
                  roles=auth.ROLES,
                  notice=request.query.get("ok"), form=extra.pop("form", {}), **extra)


async def account_add(request: web.Request) -> web.StreamResponse:
    store = _store(request)
    form = await request.post()
    fields = {k: _field(form, k) or "" for k in ("username", "display_name", "role")}
    try:
        username = auth.check_username(fields["username"])
        name = auth.check_display_name(fields["display_name"], username)
        role = auth.check_role(fields["role"])
    except AccountError as exc:
        return await accounts_page(request, 400, error=str(exc), form=fields)
    password = auth.random_password()
    if store.create_staff(username, name, role, await asyncio.to_thread(auth.hash_password, password)) is None:
        return await accounts_page(request, 400, error=f"Đã có tài khoản “{username}”.", form=fields)
    audit(request, "account.add", f"staff:{username}", f"role {role}")
    return await accounts_page(request, issued={"username": username, "password": password})


async def account_change(request: web.Request) -> web.StreamResponse:
    store, me = _store(request), current_staff(request)
    row = store.staff_by_id(int(request.match_info["id"]))
    if row is None:
        return render(request, "console/error.html", http_status=404, code="not_found")
    action, target = request.match_info["action"], f"staff:{row['username']}"
    form = await request.post()
    last_admin = row["role"] == "admin" and row["active"] and store.active_admins() <= 1
    if action == "disable":
        if row["id"] == me.id or last_admin:
            return await accounts_page(request, 400, error="Không thể khóa tài khoản của chính mình hoặc "
                                                           "tài khoản quản trị cuối cùng.")
        store.set_staff_active(row["id"], False)  # ends its sessions
        audit(request, "account.disable", target)
        return redirect("/console/accounts?" + urlencode({"ok": "disabled"}))
    if action == "enable":
        store.set_staff_active(row["id"], True)
        audit(request, "account.enable", target)
        return redirect("/console/accounts?" + urlencode({"ok": "enabled"}))
    if action == "role":
        try:
            role = auth.check_role(_field(form, "role"))
        except AccountError as exc:
            return await accounts_page(request, 400, error=str(exc))
        if role != "admin" and (row["id"] == me.id or last_admin):
            return await accounts_page(request, 400, error="Không thể bỏ quyền quản trị của chính mình hoặc "
                                                           "của tài khoản quản trị cuối cùng.")
        store.set_staff_role(row["id"], role)
        audit(request, "account.role", target, f"{row['role']} → {role}")
        return redirect("/console/accounts?" + urlencode({"ok": "role"}))
    password = auth.random_password()  # reset: a new password, shown once; every session of the account ends
    store.set_staff_password(row["id"], await asyncio.to_thread(auth.hash_password, password))
    audit(request, "account.password_reset", target)
    if row["id"] == me.id:
        request[SESSION_KEY] = request.app[CONSOLE_KEY].access.start_session(me, client_address(request))
    return await accounts_page(request, issued={"username": row["username"], "password": password})


# --- audit log (admin) ------------------------------------------------------------------------------


async def audit_page(request: web.Request) -> web.StreamResponse:
    store = _store(request)
    q = request.query
    actor = (q.get("actor") or "").strip()[:64] or None
    action = (q.get("action") or "").strip()[:64] or None
    today = queries.today(store.clock())
    start = queries.parse_day(q.get("from"), today) if q.get("from") else None
    end = queries.parse_day(q.get("to"), today) if q.get("to") else None
    since = queries.day_bounds(start, start)[0] if start else None
    until = queries.day_bounds(end, end)[1] if end else None
    before = _int(q.get("before")) or None
    rows = store.audit_rows(actor, action, since, until, before, AUDIT_PAGE + 1)
    filters = {"actor": actor or "", "action": action or "", "from": start.isoformat() if start else "",
               "to": end.isoformat() if end else ""}
    next_url = None
    if len(rows) > AUDIT_PAGE:
        next_url = "/console/audit?" + urlencode({**{k: v for k, v in filters.items() if v},
                                                 "before": rows[AUDIT_PAGE - 1]["id"]})
    return render(request, "console/audit.html", rows=rows[:AUDIT_PAGE], filters=filters, next_url=next_url,
                  actors=store.audit_values("actor"), actions=store.audit_values("action"),
                  first_page=before is None, today=today.isoformat(), week=(today - dt.timedelta(days=6)).isoformat())
