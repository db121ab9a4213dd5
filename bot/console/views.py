"""The staff console's routes on the shared aiohttp server (/console/...).

Every route goes through `guarded`: the access policy (bot/console/access.py), the login when a token
is configured, the CSRF check on POST, and headers that keep member data out of caches and frames.
Pages are Jinja2 templates in bot/templates/console/ (autoescaped); all wording for staff lives there.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

import jinja2
import markupsafe
import yaml
from aiohttp import web

from bot.app import App
from bot.console import access, csvexport, knowledge, queries, reports, review
from bot.console.access import COOKIE, COOKIE_PATH, SESSION_SECONDS, Access, Session
from bot.kb.loader import MIN_QUESTIONS, STAFF_PHRASINGS, KnowledgeError
from bot.markup import to_html
from bot.types import Reply

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LABELS = TEMPLATES / "console" / "labels.yaml"
STAFF_COOKIE = "htx_console_staff"
MAX_ANSWER = 3000
MAX_STAFF = 80
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

# A request that came through a reverse proxy may come from anywhere: without a token, it is refused.
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Console:
    app: App
    access: Access
    jinja: jinja2.Environment
    labels: dict[str, Any]
    root: knowledge.Layers  # the shipped knowledge folder and the overlay staff additions are written to


CONSOLE_KEY = web.AppKey("htx_console", Console)
# The request's console session (aiohttp < 3.13 has no RequestKey; a plain string works there).
SESSION_KEY: Any = web.RequestKey("htx_console_session", Session) if hasattr(web, "RequestKey") else "htx_session"


def setup(webapp: web.Application, app: App) -> None:
    """Add /console to the server; `bot.app.make_webapp` calls this after the web chat's setup."""
    secret = access.load_secret(app.store)
    policy = Access(app.config.web.host, app.config.web.console_token, secret, clock=app.store.clock)
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    console = Console(app, policy, environment(labels), labels, knowledge.root_dir(app.config))
    console.jinja.globals["entry_title"] = functools.partial(_entry_title, console)
    webapp[CONSOLE_KEY] = console
    add = webapp.router
    add.add_get("/console", guarded(tickets_page))
    add.add_get("/console/", guarded(tickets_page))
    add.add_get(r"/console/tickets/{id:\d+}", guarded(ticket_page))
    add.add_post(r"/console/tickets/{id:\d+}/answer", guarded(answer_ticket))
    add.add_post(r"/console/tickets/{id:\d+}/close", guarded(close_ticket))
    add.add_post(r"/console/tickets/{id:\d+}/reopen", guarded(reopen_ticket))
    add.add_get("/console/messages", guarded(messages_page))
    add.add_get("/console/conversation", guarded(conversation_page))
    add.add_get("/console/export/tickets.csv", guarded(export_tickets))
    add.add_get("/console/export/messages.csv", guarded(export_messages))
    add.add_get("/console/knowledge", guarded(knowledge_page))
    add.add_post("/console/knowledge/phrasing", guarded(add_phrasing))
    add.add_get("/console/knowledge/new", guarded(entry_form))
    add.add_post("/console/knowledge/new", guarded(entry_submit))
    add.add_post("/console/knowledge/reload", guarded(reload_knowledge))
    add.add_get("/console/login", guarded(login_page, public=True))
    add.add_post("/console/login", guarded(login_submit, public=True))
    add.add_post("/console/logout", guarded(logout, public=True))
    review.setup(webapp, console)
    reports.setup(webapp, console)


def environment(labels: dict[str, Any]) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.ChainableUndefined)
    env.filters["vntime"] = queries.vn_time
    env.filters["score"] = lambda s: "" if s is None else f"{s:.2f}"
    env.filters["pct"] = lambda r: "—" if r is None else f"{r * 100:.1f}%"
    env.filters["markup"] = lambda text: markupsafe.Markup(to_html(text or ""))  # to_html escapes first
    env.filters["label"] = lambda code, group: (labels.get(group) or {}).get(code, code) if code else ""
    env.globals["L"] = labels
    return env


# --- access -----------------------------------------------------------------------------------------


def guarded(handler: Handler, role: str = "staff", public: bool = False) -> Handler:
    """Policy → session → login → CSRF → handler, with the console's headers on every answer."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        console = request.app[CONSOLE_KEY]
        policy = console.access
        proxied = any(h in request.headers for h in PROXY_HEADERS)
        if policy.refused or not policy.remote_allowed(request.remote, proxied):
            response: web.StreamResponse = render(request, "console/refused.html", http_status=403,
                                                  refused=policy.refused, proxied=proxied, host=policy.host)
            return _secure(response)
        session = policy.read_cookie(request.cookies.get(COOKIE))
        if policy.token_required and request.method == "GET" and "token" in request.query:
            return _secure(_token_login(request, policy))
        if session is None:
            session = policy.new_session(authenticated=False)
        request[SESSION_KEY] = session
        if not public and not session.authenticated:
            if request.method == "GET":
                response = redirect("/console/login?" + urlencode({"next": request.raw_path}))
            else:
                response = render(request, "console/error.html", http_status=403, code="login")
        elif request.method == "POST" and not policy.csrf_ok(session, _field(await request.post(), "csrf")):
            response = render(request, "console/error.html", http_status=403, code="csrf")
        else:
            response = await handler(request)
        if session.new:
            _set_session(request, response, policy, session)
        return _secure(response)

    return wrapped


def _token_login(request: web.Request, policy: Access) -> web.StreamResponse:
    """/console?token=… logs in once and redirects to the same page without the token in the address."""
    if policy.locked_out(request.remote):
        return render(request, "console/login.html", http_status=429, error="locked", next="/console")
    query = {k: v for k, v in request.query.items() if k != "token"}
    target = request.path + ("?" + urlencode(query) if query else "")
    if not policy.check_token(request.query.get("token"), request.remote):
        session = policy.new_session(authenticated=False)
        request[SESSION_KEY] = session
        response = render(request, "console/login.html", http_status=401, error="wrong", next=target)
        _set_session(request, response, policy, session)
        return response
    response = redirect(target)
    _set_session(request, response, policy, policy.new_session(authenticated=True))
    return response


def _set_session(request: web.Request, response: web.StreamResponse, policy: Access, session: Session) -> None:
    response.set_cookie(COOKIE, policy.cookie_value(session), max_age=SESSION_SECONDS, path=COOKIE_PATH,
                        httponly=True, samesite="Strict", secure=_https(request) or None)


def _https(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def _secure(response: web.StreamResponse) -> web.StreamResponse:
    for key, value in HEADERS.items():
        response.headers.setdefault(key, value)
    return response


def _field(form: Mapping[str, Any], name: str) -> str | None:
    """A text field of a posted form (a file upload where text belongs reads as absent)."""
    value = form.get(name)
    return value if isinstance(value, str) else None


def _safe_next(value: str | None) -> str:
    """Only a path inside the console; never another site ('//evil', 'https://…')."""
    if value and value.startswith("/console") and "\\" not in value and all(" " < ch < "\x7f" for ch in value):
        return value
    return "/console"


async def login_page(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    if not console.access.token_required or request[SESSION_KEY].authenticated:
        return redirect(_safe_next(request.query.get("next")))
    return render(request, "console/login.html", next=_safe_next(request.query.get("next")),
                  notice=request.query.get("ok"))


async def login_submit(request: web.Request) -> web.StreamResponse:
    policy = request.app[CONSOLE_KEY].access
    form = await request.post()
    target = _safe_next(_field(form, "next"))
    if not policy.token_required:
        return redirect(target)
    if policy.locked_out(request.remote):
        return render(request, "console/login.html", http_status=429, error="locked", next=target)
    if not policy.check_token(str(form.get("token") or ""), request.remote):
        return render(request, "console/login.html", http_status=401, error="wrong", next=target)
    response = redirect(target)
    # A fresh session id on login, so a session planted before it is worth nothing.
    _set_session(request, response, policy, policy.new_session(authenticated=True))
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    response = redirect("/console/login?ok=logged_out")
    response.del_cookie(COOKIE, path=COOKIE_PATH)
    return response


# --- rendering helpers ------------------------------------------------------------------------------


def render(request: web.Request, template: str, http_status: int = 200, **context: Any) -> web.Response:
    console = request.app[CONSOLE_KEY]
    session: Session | None = request.get(SESSION_KEY)
    base = {
        "alliance": console.app.config.alliance.name,
        "csrf": console.access.csrf_token(session) if session else "",
        "token_required": console.access.token_required,
        "authenticated": bool(session and session.authenticated),
        "path": request.path,
        "open_count": queries.ticket_counts(console.app.store)["open"] if session and session.authenticated else 0,
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
    return unquote(request.cookies.get(STAFF_COOKIE, ""))[:MAX_STAFF]


def _remember_staff(response: web.StreamResponse, staff: str) -> None:
    response.set_cookie(STAFF_COOKIE, quote(staff), max_age=365 * 24 * 3600, path=COOKIE_PATH, httponly=True,
                        samesite="Strict")


def _range(request: web.Request, days: int) -> tuple[dt.date, dt.date]:
    console = request.app[CONSOLE_KEY]
    today = queries.today(console.app.store.clock())
    end = queries.parse_day(request.query.get("to"), today)
    start = queries.parse_day(request.query.get("from"), end - dt.timedelta(days=days - 1))
    return min(start, end), max(start, end)


# --- tickets ----------------------------------------------------------------------------------------


async def tickets_page(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    store = console.app.store
    status = request.query.get("status", "open")
    if status not in (*queries.STATUSES, "all"):
        status = "open"
    reason = request.query.get("reason") or None
    channel = request.query.get("channel") or None
    page = max(_int(request.query.get("page"), 1), 1)
    rows = queries.tickets(store, None if status == "all" else status, reason, channel, PAGE + 1, (page - 1) * PAGE)
    return render(
        request, "console/tickets.html",
        tickets=rows[:PAGE], more=len(rows) > PAGE, page=page, status=status, reason=reason or "",
        channel=channel or "", counts=queries.ticket_counts(store),
        reasons=queries.reasons(store, KNOWN_REASONS), channels=queries.channels(store)
    )


async def ticket_page(request: web.Request) -> web.StreamResponse:
    return _ticket(request, int(request.match_info["id"]))


def _ticket(request: web.Request, ticket_id: int, status: int = 200, **extra: Any) -> web.Response:
    """The ticket with the member's conversation, the answer form and the knowledge forms."""
    console = request.app[CONSOLE_KEY]
    store = console.app.store
    ticket = queries.ticket(store, ticket_id)
    if ticket is None:
        return render(request, "console/error.html", http_status=404, code="not_found")
    kb = console.app.kb
    matched = kb.entries.get(ticket["m_entry_id"]) if ticket["m_entry_id"] else None
    default_entry = matched.id if matched and ticket["reason"] != "negative_feedback" else ""
    context: dict[str, Any] = {
        "ticket": ticket,
        "matched": matched,
        "conversation": queries.conversation(store, ticket["channel"], ticket["user_key"],
                                             around=ticket["message_id"]),
        "staff_replies": queries.staff_replies(store, ticket["channel"], ticket["user_key"]),
        "staff": _staff_name(request),
        "entries": sorted(kb.entries.values(), key=lambda e: (e.topic, e.id)),
        "phrasing": {"entry": default_entry, "question": " ".join((ticket["text"] or "").split())[:300]},
        "notice": request.query.get("ok"),
        "error": request.query.get("err"),
        "added_entry": request.query.get("entry") or request.query.get("id") or "",
        "near": [n for n in (request.query.get("near") or "").split(",") if n],
        "max_answer": MAX_ANSWER,
        "draft": "",
        "live_entries": len(kb.entries),
        "before": _int(request.query.get("before"), -1),
    }
    context.update(extra)
    return render(request, "console/ticket.html", http_status=status, **context)


async def answer_ticket(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    ticket_id = int(request.match_info["id"])
    form = await request.post()
    text = knowledge.clean_text(str(form.get("answer") or ""))
    staff = " ".join(str(form.get("staff") or "").split())[:MAX_STAFF]
    problem = ("answer_required" if not text else "answer_too_long" if len(text) > MAX_ANSWER
               else "staff_required" if not staff else None)
    if problem:
        return _ticket(request, ticket_id, status=400, error=problem, draft=text, staff=staff or _staff_name(request))
    reply = Reply(staff_reply_text(console, text))
    reply_id = queries.answer_ticket(console.app.store, ticket_id, text, staff, reply)
    response = redirect(f"/console/tickets/{ticket_id}?" + urlencode({"ok" if reply_id else "err":
                                                                       "answered" if reply_id else "not_open"}))
    _remember_staff(response, staff)
    return response


def staff_reply_text(console: Console, text: str) -> str:
    """The member-facing frame around a staff answer (knowledge/texts.yaml `staff_reply`)."""
    alliance = console.app.config.alliance
    template = console.app.kb.texts.get("staff_reply", "{text}")
    try:
        return template.format(alliance=alliance.name, contact=alliance.contact(), text=text)
    except (KeyError, IndexError, ValueError):  # an edited text with an unknown placeholder: still deliver
        return text


async def close_ticket(request: web.Request) -> web.StreamResponse:
    return await _set_status(request, "closed", ("open",), "closed")


async def reopen_ticket(request: web.Request) -> web.StreamResponse:
    return await _set_status(request, "open", ("answered", "closed"), "reopened")


async def _set_status(request: web.Request, status: str, expected: tuple[str, ...], notice: str) -> web.Response:
    console = request.app[CONSOLE_KEY]
    ticket_id = int(request.match_info["id"])
    form = await request.post()
    staff = " ".join(str(form.get("staff") or "").split())[:MAX_STAFF] or _staff_name(request) or None
    ok = queries.set_status(console.app.store, ticket_id, status, staff, expected)
    query = {"ok": notice} if ok else {"err": "not_closable"}
    return redirect(f"/console/tickets/{ticket_id}?" + urlencode(query))


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
    return await _stream_csv(request, f"phieu-hoi_{start}_{end}.csv", chunks)


async def export_messages(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    start, end = _range(request, 30)
    t0, t1 = queries.day_bounds(start, end)
    rows = (csvexport.message_row(m) for m in queries.export_messages(console.app.store, t0, t1))
    chunks = csvexport.chunks(csvexport.MESSAGE_COLUMNS, console.labels["csv_messages"], rows)
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
    phrasings = knowledge.staff_phrasings(console.root)
    for p in phrasings:
        entry = kb.entries.get(str(p.get("entry")))
        p["loaded"] = bool(entry and str(p.get("question", "")).strip() in entry.questions)
        p["title"] = entry.title if entry else ""
    entries = knowledge.staff_entries(console.root)
    for e in entries:
        e["loaded"] = str(e.get("id")) in kb.entries
    _, report = await asyncio.to_thread(knowledge.load_checked, console.root)
    staff_files = (STAFF_PHRASINGS, knowledge.ENTRIES_FILE)
    own = [str(p) for p in report.problems if p.file.endswith(staff_files)]
    context = {
        "phrasings": phrasings, "entries": entries, "own_problems": own, "errors": len(report.errors),
        "root": str(console.root), "notice": request.query.get("ok"), "entry_id": request.query.get("id", ""),
        "all_entries": sorted(kb.entries.values(), key=lambda e: e.id), "staff": _staff_name(request),
        "live_entries": len(kb.entries), "before": _int(request.query.get("before"), -1),
        "pending": sum(not p["loaded"] for p in phrasings) + sum(not e["loaded"] for e in entries),
    }
    context.update(extra)
    failed = extra.get("result") or extra.get("reload_failed")
    return render(request, "console/knowledge.html", http_status=400 if failed else 200, **context)


async def reload_knowledge(request: web.Request) -> web.StreamResponse:
    """The "Nạp lại kiến thức" button: staff additions and edits of knowledge/ take effect without a
    restart. On loader errors the bot keeps answering from what it had, and the page lists the errors."""
    console = request.app[CONSOLE_KEY]
    form = await request.post()
    back = _safe_next(str(form.get("next") or "")).partition("?")[0].partition("#")[0]
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
    ticket = re.fullmatch(r"/console/tickets/\d+", back)
    back = back if ticket else "/console/knowledge"
    anchor = "#kien-thuc" if ticket else ""
    return redirect(back + "?" + urlencode({"ok": "reloaded", "before": before}) + anchor)


async def add_phrasing(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    form = await request.post()
    ticket_id = _int(form.get("ticket")) or None
    entry_id = str(form.get("entry") or "").strip()
    question = str(form.get("question") or "")
    staff = " ".join(str(form.get("staff") or "").split())[:MAX_STAFF] or _staff_name(request)
    today = queries.today(console.app.store.clock())
    result = await asyncio.to_thread(knowledge.add_phrasing, console.root, entry_id, question, staff, ticket_id, today)
    if ticket_id is None:
        if result.ok:
            return redirect("/console/knowledge?" + urlencode({"ok": "phrasing_added"}))
        return await knowledge_page(request, result=result)
    if result.ok:
        query = {"ok": "phrasing_added", "entry": entry_id}
        if result.near:
            query["near"] = ",".join(sorted({n["entry"] for n in result.near}))
        return redirect(f"/console/tickets/{ticket_id}?" + urlencode(query) + "#kien-thuc")
    return _ticket(request, ticket_id, status=400, result=result,
                   phrasing={"entry": entry_id, "question": " ".join(question.split())})


def _entry_context(console: Console, draft: knowledge.Draft, ticket_id: int | None) -> dict[str, Any]:
    kb = console.app.kb
    rows = list(draft.citations) + [{}] * max(CITATION_ROWS - len(draft.citations), 0)
    return {
        "draft": draft,
        "ticket_id": ticket_id,
        "citation_rows": rows,
        "documents": sorted(kb.documents.values(), key=lambda d: (not d.in_force, d.short)),
        "provinces": sorted(p.name for p in kb.provinces.values()),
        "min_questions": MIN_QUESTIONS,
    }


async def entry_form(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    ticket_id = _int(request.query.get("ticket")) or None
    draft = knowledge.Draft()
    ticket = queries.ticket(console.app.store, ticket_id) if ticket_id else None
    if ticket:
        draft.questions = knowledge.parse_list(ticket["text"] or "", sep="\0")[:1]
        matched = console.app.kb.entries.get(ticket["m_entry_id"]) if ticket["m_entry_id"] else None
        if matched and ticket["reason"] != "negative_feedback":
            draft.citations = [c.as_dict() for c in matched.citations]
    return render(request, "console/entry_form.html", ticket=ticket, staff=_staff_name(request),
                  **_entry_context(console, draft, ticket_id if ticket else None))


async def entry_submit(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    form = await request.post()
    ticket_id = _int(form.get("ticket")) or None
    staff = " ".join(str(form.get("staff") or "").split())[:MAX_STAFF] or _staff_name(request)
    draft = knowledge.Draft(
        id=str(form.get("id") or "").strip(),
        title=" ".join(str(form.get("title") or "").split()),
        questions=knowledge.parse_list(str(form.get("questions") or "")),
        answer=knowledge.clean_text(str(form.get("answer") or "")),
        today=knowledge.clean_text(str(form.get("today") or "")),
        citations=knowledge.citations_from_form(
            [str(v) for v in form.getall("doc", [])], [str(v) for v in form.getall("article", [])],
            [str(v) for v in form.getall("clause", [])], console.app.kb),
        province=str(form.get("province") or "").strip(),
        related=knowledge.parse_list(str(form.get("related") or ""), sep=","),
        keywords=knowledge.parse_list(str(form.get("keywords") or ""), sep=","),
    )
    today = queries.today(console.app.store.clock())
    result = await asyncio.to_thread(knowledge.add_entry, console.root, draft, staff, ticket_id, today)
    if result.ok:
        query = {"ok": "entry_added", "id": result.entry_id}
        target = f"/console/tickets/{ticket_id}?" if ticket_id else "/console/knowledge?"
        return redirect(target + urlencode(query))
    ticket = queries.ticket(console.app.store, ticket_id) if ticket_id else None
    return render(request, "console/entry_form.html", http_status=400, ticket=ticket, staff=staff, result=result,
                  **_entry_context(console, draft, ticket_id))
