"""The staff console's routes on the shared aiohttp server (/console/...).

Every route goes through `guarded(handler, role)`: the Host check, the staff member's session
(bot/console/access.py), the least role the route needs (viewer < staff < editor < admin), the CSRF
check on POST, and headers that keep member data out of caches and frames. Logins, accounts and the
audit log are in bot/console/accounts.py. Pages are Jinja2 templates in bot/templates/console/
(autoescaped); all wording for staff lives there.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import markupsafe
import yaml
from aiohttp import web

from bot import proxies
from bot.app import App
from bot.console import access, auth, csvexport, inbox, knowledge, queries, reports, review
from bot.console.access import COOKIE, COOKIE_PATH, SESSION_KEY, Access, Session, current_staff
from bot.kb.loader import STAFF_PHRASINGS, KnowledgeError
from bot.markup import to_html

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LABELS = TEMPLATES / "console" / "labels.yaml"
MAX_ANSWER = 3000
PAGE = 50
CITATION_ROWS = 4
KNOWN_REASONS = ["unknown", "staff_request", "negative_feedback", "selfcheck"]
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self'; "
                               "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}

# A Host the console is not configured for (DNS rebinding, a mistyped proxy): a plain refusal.
BAD_HOST = ("Địa chỉ (tên máy) này không được phép mở bảng điều khiển. Người quản trị thêm tên này vào "
            "allowed_hosts trong mục [web] của tệp cấu hình nếu đây là địa chỉ đúng.\n")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Console:
    app: App
    access: Access
    jinja: jinja2.Environment
    labels: dict[str, Any]
    root: knowledge.Layers  # the shipped knowledge folder and the overlay staff additions are written to


CONSOLE_KEY = web.AppKey("htx_console", Console)


def setup(webapp: web.Application, app: App) -> None:
    """Add /console to the server; `bot.app.make_webapp` calls this after the web chat's setup."""
    from bot.console import accounts

    cfg = app.config.web
    policy = Access(app.store, access.load_secret(app.store), access.allowed_names(cfg.host, cfg.allowed_hosts),
                    proxies.networks(cfg.trusted_proxies), idle_seconds=cfg.session_idle_minutes * 60.0,
                    absolute_seconds=cfg.session_hours * 3600.0, clock=app.store.clock)
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    console = Console(app, policy, environment(labels), labels, knowledge.root_dir(app.config))
    console.jinja.globals["entry_title"] = functools.partial(_entry_title, console)
    webapp[CONSOLE_KEY] = console
    add = webapp.router
    inbox.setup(webapp, console)
    add.add_get("/console/messages", guarded(messages_page, "viewer"))
    add.add_get("/console/conversation", guarded(conversation_page, "viewer"))
    add.add_get("/console/export/tickets.csv", guarded(export_tickets, "viewer"))
    add.add_get("/console/export/messages.csv", guarded(export_messages, "viewer"))
    add.add_get("/console/knowledge", guarded(knowledge_page, "viewer"))
    add.add_post("/console/knowledge/reload", guarded(reload_knowledge, "editor"))
    accounts.setup(webapp, console)
    review.setup(webapp, console)
    reports.setup(webapp, console)


def environment(labels: dict[str, Any]) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.ChainableUndefined)
    env.filters["vntime"] = queries.vn_time
    env.filters["score"] = lambda s: "" if s is None else f"{s:.2f}"
    env.filters["pct"] = lambda r: "—" if r is None else f"{r * 100:.1f}%"
    # to_html escapes first (html.escape), then adds only <b>: safe to mark up.
    env.filters["markup"] = lambda text: markupsafe.Markup(to_html(text or ""))  # nosec B704
    env.filters["label"] = lambda code, group: (labels.get(group) or {}).get(code, code) if code else ""
    env.globals["L"] = labels
    return env


# --- access -----------------------------------------------------------------------------------------


def guarded(handler: Handler, role: str = "staff", public: bool = False) -> Handler:
    """Host → session → login → role → CSRF → handler, with the console's headers on every answer.

    `role` is the least role the route needs. Anonymous requests are sent to the login form (GET) or
    refused with 401 (POST); a role too low gets 403. `public` routes (the login form) skip the last two.
    """
    if role not in auth.ROLES:  # a typo must not silently lock a route for everyone
        raise ValueError(f"unknown console role {role!r} (known: {', '.join(auth.ROLES)})")

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        policy = request.app[CONSOLE_KEY].access
        if not policy.host_allowed(request.headers.get("Host")):
            return _secure(web.Response(status=421, text=BAD_HOST, content_type="text/plain", charset="utf-8"))
        session = policy.read_session(request.cookies.get(COOKIE))
        request[SESSION_KEY] = session
        csrf_valid = True
        if request.method == "POST":
            csrf_valid = policy.csrf_ok(session, _field(await request.post(), "csrf"))
        response: web.StreamResponse
        if not public and session.staff is None:
            if request.method == "GET":
                response = redirect("/console/login?" + urlencode({"next": request.raw_path}))
            else:
                response = render(request, "console/error.html", http_status=401, code="login")
        elif not public and session.staff is not None and not session.staff.can(role):
            response = render(request, "console/error.html", http_status=403, code="role", role=role)
        elif not csrf_valid:
            response = render(request, "console/error.html", http_status=403, code="csrf")
        else:
            response = await handler(request)
        session = request[SESSION_KEY]  # login and logout put a new one
        if session.new and not response.prepared:
            set_session_cookie(request, response, session)
        return _secure(response)

    return wrapped


def set_session_cookie(request: web.Request, response: web.StreamResponse, session: Session) -> None:
    policy = request.app[CONSOLE_KEY].access
    https = policy.is_https(request.secure, request.remote, request.headers)
    response.set_cookie(COOKIE, session.sid, max_age=int(policy.absolute_seconds), path=COOKIE_PATH,
                        httponly=True, samesite="Strict", secure=https or None)


def client_address(request: web.Request) -> str:
    """The staff member's address (behind `web.trusted_proxies`, the one they forwarded)."""
    return request.app[CONSOLE_KEY].access.client_address(request.remote, request.headers)


def audit(request: web.Request, action: str, target: str | None = None, detail: str | None = None) -> None:
    """One audit line by the logged-in staff member."""
    staff = current_staff(request)
    request.app[CONSOLE_KEY].app.store.audit(staff.username, action, target, detail)


def _secure(response: web.StreamResponse) -> web.StreamResponse:
    for key, value in HEADERS.items():
        response.headers.setdefault(key, value)
    return response


def _field(form: Mapping[str, Any], name: str) -> str | None:
    """A text field of a posted form (a file upload where text belongs reads as absent)."""
    value = form.get(name)
    return value if isinstance(value, str) else None


def safe_next(value: str | None) -> str:
    """Only a path inside the console; never another site ('//evil', 'https://…')."""
    if value and value.startswith("/console") and "\\" not in value and all(" " < ch < "\x7f" for ch in value):
        return value
    return "/console"




# --- rendering helpers ------------------------------------------------------------------------------


def render(request: web.Request, template: str, http_status: int = 200, **context: Any) -> web.Response:
    console = request.app[CONSOLE_KEY]
    session: Session | None = request.get(SESSION_KEY)
    me = session.staff if session else None
    base = {
        "alliance": console.app.config.alliance.name,
        "csrf": console.access.csrf_token(session) if session else "",
        "authenticated": me is not None,
        "me": me,
        "path": request.path,
        "open_count": queries.ticket_counts(console.app.store)["open"] if me else 0,
    }
    html = console.jinja.get_template(template).render(**base, **context)
    return web.Response(text=html, status=http_status, content_type="text/html")


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _entry_title(console: Console, entry_id: str | None) -> str:
    entry = console.app.kb.entries.get(entry_id) if entry_id else None
    return entry.title if entry else ""


def _staff_name(request: web.Request) -> str:
    """Who signs a reply or an addition: the logged-in staff member's display name."""
    return current_staff(request).display_name


def _range(request: web.Request, days: int) -> tuple[dt.date, dt.date]:
    console = request.app[CONSOLE_KEY]
    today = queries.today(console.app.store.clock())
    end = queries.parse_day(request.query.get("to"), today)
    start = queries.parse_day(request.query.get("from"), end - dt.timedelta(days=days - 1))
    return min(start, end), max(start, end)


# --- messages ---------------------------------------------------------------------------------------


async def messages_page(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    store = console.app.store
    start, end = _range(request, 7)
    t0, t1 = queries.day_bounds(start, end)
    channel = request.query.get("channel") or None
    kind = request.query.get("kind") or None
    text = (request.query.get("q") or "").strip()[:200] or None
    questions_only = request.query.get("questions") == "1"
    before = _int(request.query.get("before")) or None
    rows = queries.messages(store, t0, t1, channel, kind, text, questions_only, before, limit=101)
    filters = {"from": start.isoformat(), "to": end.isoformat(), "channel": channel or "", "kind": kind or "",
               "q": text or "", "questions": "1" if questions_only else ""}
    next_url = None
    if len(rows) > 100:
        next_url = "/console/messages?" + urlencode({**{k: v for k, v in filters.items() if v},
                                                    "before": rows[99]["id"]})
    return render(
        request, "console/messages.html", messages=rows[:100], filters=filters, next_url=next_url,
        channels=queries.channels(store), kinds=queries.kinds(store),
        feedback=queries.feedback_totals(store, t0, t1),
    )


async def conversation_page(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    store = console.app.store
    channel, user_key = request.query.get("channel", ""), request.query.get("user", "")
    user = store.user(channel, user_key)
    items = queries.conversation(store, channel, user_key, limit=100)
    tickets = queries.tickets(store, None, channel=channel, user_key=user_key, limit=200)
    return render(request, "console/conversation.html", user=user, conversation=items, tickets=tickets)


# --- reports ----------------------------------------------------------------------------------------


async def export_tickets(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    start, end = _range(request, 30)
    t0, t1 = queries.day_bounds(start, end)
    title = functools.partial(_entry_title, console)
    rows = (csvexport.ticket_row(t, title) for t in queries.export_tickets(console.app.store, t0, t1))
    chunks = csvexport.chunks(csvexport.TICKET_COLUMNS, console.labels["csv_tickets"], rows)
    audit(request, "export.tickets", None, f"{start}..{end}")
    return await _stream_csv(request, f"phieu-hoi_{start}_{end}.csv", chunks)


async def export_messages(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    start, end = _range(request, 30)
    t0, t1 = queries.day_bounds(start, end)
    rows = (csvexport.message_row(m) for m in queries.export_messages(console.app.store, t0, t1))
    chunks = csvexport.chunks(csvexport.MESSAGE_COLUMNS, console.labels["csv_messages"], rows)
    audit(request, "export.messages", None, f"{start}..{end}")
    return await _stream_csv(request, f"tin-nhan_{start}_{end}.csv", chunks)


async def _stream_csv(request: web.Request, filename: str, chunks) -> web.StreamResponse:
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
        **HEADERS,
    })
    await response.prepare(request)
    for chunk in chunks:
        await response.write(chunk.encode("utf-8"))
    await response.write_eof()
    return response


# --- knowledge --------------------------------------------------------------------------------------


async def knowledge_page(request: web.Request, **extra: Any) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    kb = console.app.kb
    drafts = _published_drafts(console)
    phrasings = knowledge.staff_phrasings(console.root)
    for p in phrasings:
        entry = kb.entries.get(str(p.get("entry")))
        p["loaded"] = bool(entry and str(p.get("question", "")).strip() in entry.questions)
        p["title"] = entry.title if entry else ""
        _provenance(p, drafts.get(("phrasing", str(p.get("entry")), str(p.get("question", "")).strip())))
    entries = knowledge.staff_entries(console.root)
    for e in entries:
        e["loaded"] = str(e.get("id")) in kb.entries
        _provenance(e, drafts.get(("entry", str(e.get("id")), "")))
    _, report = await asyncio.to_thread(knowledge.load_checked, console.root)
    staff_files = (STAFF_PHRASINGS, knowledge.ENTRIES_FILE)
    own = [str(p) for p in report.problems if p.file.endswith(staff_files)]
    context = {
        "phrasings": phrasings, "entries": entries, "own_problems": own, "errors": len(report.errors),
        "root": str(console.root), "notice": request.query.get("ok"),
        "all_entries": sorted(kb.entries.values(), key=lambda e: e.id), "staff": _staff_name(request),
        "live_entries": len(kb.entries), "before": _int(request.query.get("before"), -1),
        "pending": sum(not p["loaded"] for p in phrasings) + sum(not e["loaded"] for e in entries),
    }
    context.update(extra)
    return render(request, "console/knowledge.html", http_status=400 if extra.get("reload_failed") else 200,
                  **context)


def _published_drafts(console: Console) -> dict[tuple[str, str, str], Any]:
    """Published review drafts by what they wrote: the overlay files hold only the knowledge itself."""
    found: dict[tuple[str, str, str], Any] = {}
    for d in reversed(console.app.store.drafts(("published",))):  # oldest first: the newest wins
        data = d["data"]
        key = ((d["kind"], str(data.get("entry")), " ".join(str(data.get("question", "")).split()))
               if d["kind"] == "phrasing" else (d["kind"], str(data.get("id")), ""))
        found[key] = d
    return found


def _provenance(item: dict[str, Any], draft: Any) -> None:
    """Who wrote an addition and when it was published, from its review draft (older additions carry their own)."""
    if draft is None:
        return
    item["draft"] = draft["id"]
    item.setdefault("by", draft["created_by"])
    if draft["decided_at"]:
        item.setdefault("added", queries.today(draft["decided_at"]).isoformat())


async def reload_knowledge(request: web.Request) -> web.StreamResponse:
    """The "Nạp lại kiến thức" button: edits of knowledge/ (and of the overlay) made outside the console take
    effect without a restart; published review drafts reload by themselves (bot/console/review.py). On loader
    errors the bot keeps answering from what it had, and the page lists the errors (with a way back to `next`)."""
    console = request.app[CONSOLE_KEY]
    form = await request.post()
    back = safe_next(str(form.get("next") or "")).partition("?")[0].partition("#")[0]
    before = len(console.app.kb.entries)
    try:
        await console.app.reload_async()
    except KnowledgeError as exc:
        return await knowledge_page(request, reload_failed=True, reload_errors=[str(p) for p in exc.problems],
                                    back=back if back != "/console/knowledge" else "")
    except Exception:
        log.exception("console: reloading the knowledge base failed")
        return await knowledge_page(request, reload_failed=True, reload_errors=[],
                                    back=back if back != "/console/knowledge" else "")
    audit(request, "knowledge.reload", None, f"{before} → {len(console.app.kb.entries)}")
    return redirect("/console/knowledge?" + urlencode({"ok": "reloaded", "before": before}))
