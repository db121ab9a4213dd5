"""The shared inbox: the ticket list and page, answering, assignment, notes, saved replies, spam, live updates.

Routes are registered by `setup()` (called from views.setup) and go through `views.guarded`. Every
answer reaches the member through their own channel's outbox, quoting their question first
(knowledge/texts.yaml `staff_reply`). Notes stay in the console: nothing in them is ever queued.

New tickets show up on an open list by polling /console/inbox/poll every few seconds (static/console-inbox.js)
rather than server-sent events: a plain GET passes every proxy and the session check unchanged, needs
no long-lived connection per open tab, and a missed poll costs nothing but a few seconds.

Saved replies are a table edited in the console by editors (not a YAML file): they change while the
bot runs, from any staff phone, with no file permissions on the server and no reload.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.console import knowledge, notify, queries, views
from bot.db.inbox import ACTIVE, NONE, SORTS, VIEWS, InboxFilter
from bot.search import ENTRY
from bot.types import Context, Reply
from handlers.render import first_text, short_label

PAGE = 50
POLL_SECONDS = 8
MAX_NOTE = 2000
MAX_TITLE = 120
QUOTE_CHARS = 120
GUESSES = 5
BULK_ACTIONS = ("close", "spam", "assign")

MAX_NAME = 80  # a staff member's name as typed in the assignee box


def setup(webapp: web.Application, console: views.Console) -> None:
    """Add the inbox routes (views.setup calls this once)."""
    console.jinja.filters["age"] = age
    if notify.enabled(console.app):
        webapp.cleanup_ctx.append(notify.lifecycle(console.app, console.labels))
    g = views.guarded
    add = webapp.router
    add.add_get("/console", g(tickets_page, "viewer"))
    add.add_get("/console/", g(tickets_page, "viewer"))
    add.add_get("/console/inbox/poll", g(poll, "viewer"))
    add.add_post("/console/tickets/bulk", g(bulk))
    add.add_get(r"/console/tickets/{id:\d+}", g(ticket_page, "viewer"))
    add.add_post(r"/console/tickets/{id:\d+}/answer", g(answer_ticket))
    add.add_post(r"/console/tickets/{id:\d+}/answer-entry", g(answer_with_entry))
    add.add_post(r"/console/tickets/{id:\d+}/assign", g(assign))
    add.add_post(r"/console/tickets/{id:\d+}/note", g(add_note))
    add.add_post(r"/console/tickets/{id:\d+}/close", g(close_ticket))
    add.add_post(r"/console/tickets/{id:\d+}/reopen", g(reopen_ticket))
    add.add_post(r"/console/tickets/{id:\d+}/spam", g(spam_ticket))
    add.add_get("/console/saved-replies", g(saved_replies_page, "editor"))
    add.add_post("/console/saved-replies", g(save_saved_reply, "editor"))
    add.add_post(r"/console/saved-replies/{id:\d+}/delete", g(delete_saved_reply, "editor"))


# --- helpers -------------------------------------------------------------------------------------------


def age(seconds: float | None) -> str:
    """A duration as staff say it: "5 phút", "3 giờ", "2 ngày"."""
    if seconds is None:
        return ""
    minutes = max(int(seconds // 60), 0)
    if minutes < 60:
        return f"{minutes} phút"
    if minutes < 48 * 60:
        return f"{minutes // 60} giờ"
    return f"{minutes // 1440} ngày"


def _staff_name(request: web.Request) -> str:
    """The logged-in staff member's display name: replies, notes and assignments are signed with it."""
    return views._staff_name(request)


def _ticket_url(ticket_id: int, **query: str) -> str:
    return f"/console/tickets/{ticket_id}" + ("?" + urlencode(query) if query else "")


def _audit(request: web.Request, action: str, target: str, detail: str | None = None) -> None:
    """One audit line by the logged-in staff member (their username, as every console action)."""
    views.audit(request, action, target, detail)


def _filters(request: web.Request) -> tuple[InboxFilter, dict[str, str]]:
    """The list's filters from the query string, and the same as plain values for links and forms."""
    q = request.query
    view = q.get("status", "todo")
    view = view if view in VIEWS else "todo"
    who = q.get("assignee", "")
    assignee = {"": None, "none": NONE, "me": _staff_name(request)}.get(who, who[:MAX_NAME])
    sort = q.get("sort", "")
    sort = sort if sort in SORTS else ""
    text = " ".join((q.get("q") or "").split())[:200]
    values = {"status": view, "assignee": who, "channel": q.get("channel", ""), "reason": q.get("reason", ""),
              "province": q.get("province", ""), "q": text, "sort": sort}
    f = InboxFilter(view=view, assignee=assignee, channel=values["channel"] or None,
                    reason=values["reason"] or None, province=values["province"] or None, text=text or None,
                    sort=sort or None)
    return f, values


def member_reply_text(console: views.Console, question: str, text: str, reason: str = "") -> str:
    """The member-facing frame around a staff answer: a short quote of their question, then the answer
    (knowledge/texts.yaml `staff_reply`). A self-check ticket holds our summary, not their words: it gets
    `staff_reply_selfcheck`, which quotes nothing."""
    alliance = console.app.config.alliance
    texts = console.app.kb.texts
    key = "staff_reply_selfcheck" if reason == "selfcheck" and "staff_reply_selfcheck" in texts else "staff_reply"
    template = texts.get(key, "{text}")
    try:
        return template.format(alliance=alliance.name, contact=alliance.contact(), text=text,
                               question=quote(question))
    except (KeyError, IndexError, ValueError):  # an edited text with an unknown placeholder: still deliver
        return text


def quote(question: str | None) -> str:
    """The member's question on one line, shortened, without markup of ours (no ** in their words)."""
    return short_label(" ".join((question or "").replace("*", "").split()), QUOTE_CHARS)


def _member_context(console: views.Console, ticket: dict[str, Any]) -> Context:
    """A handler context for the ticket's member, to render a knowledge entry as the bot would."""
    app = console.app
    return Context(kb=app.kb, searcher=app.engine.searcher, config=app.config,
                   user=app.store.user(ticket["channel"], ticket["user_key"]), now=app.store.clock())


def entry_guesses(console: views.Console, text: str, province: str | None,
                  limit: int = GUESSES) -> list[dict[str, Any]]:
    """Knowledge entries the bot's own search ranks first for `text`, with their scores."""
    kb = console.app.kb
    found = console.app.engine.searcher.search(text or "", province=province, limit=limit * 3)
    return [{"entry": kb.entries[c.key], "score": c.score} for c in found
            if c.kind == ENTRY and c.key in kb.entries][:limit]


# --- the list ------------------------------------------------------------------------------------------------


async def tickets_page(request: web.Request) -> web.StreamResponse:
    console = request.app[views.CONSOLE_KEY]
    store = console.app.store
    f, values = _filters(request)
    page = max(views._int(request.query.get("page"), 1), 1)
    rows = store.inbox_tickets(f, PAGE + 1, (page - 1) * PAGE)
    now = store.clock()
    link = {k: v for k, v in values.items() if v}
    return views.render(
        request, "console/tickets.html",
        tickets=rows[:PAGE], more=len(rows) > PAGE, page=page, f=values, q=functools.partial(_list_url, link), now=now,
        counts=store.inbox_counts(f), mine=store.assignee_counts(f.view, _staff_name(request)),
        views=VIEWS, reasons=queries.reasons(store, views.KNOWN_REASONS), channels=queries.channels(store),
        provinces=store.ticket_provinces(), assignees=store.assignees(), my_name=_staff_name(request),
        latest=store.latest_ticket_id(), poll_seconds=POLL_SECONDS, notice=request.query.get("ok"),
        error=request.query.get("err"), changed=views._int(request.query.get("n"), -1),
    )


async def poll(request: web.Request) -> web.StreamResponse:
    """Tickets opened after `after` (an id), for the open list to announce without a reload."""
    console = request.app[views.CONSOLE_KEY]
    store = console.app.store
    after = max(views._int(request.query.get("after")), 0)
    rows = store.tickets_after(after)
    labels = console.labels
    items = [{
        "id": t["id"],
        "url": f"/console/tickets/{t['id']}",
        "text": short_label(" ".join((t["text"] or "").split()), 140),
        "reason": (labels.get("reasons") or {}).get(t["reason"], t["reason"]),
        "channel": (labels.get("channels") or {}).get(t["channel"], t["channel"]),
        "created": queries.vn_time(t["created_at"]),
    } for t in rows]
    counts = store.inbox_counts(InboxFilter())
    body = {"latest": max([after, *(t["id"] for t in rows)]), "new": items,
            "todo": counts["todo"], "open": counts["open"]}
    return web.json_response(body, headers=views.HEADERS)


async def bulk(request: web.Request) -> web.StreamResponse:
    """Close, mark as spam or take several tickets ticked on the list."""
    console = request.app[views.CONSOLE_KEY]
    form = await request.post()
    ids = sorted({views._int(v) for v in form.getall("ids", []) if views._int(v) > 0})
    action = str(form.get("action") or "")
    back = views.safe_next(str(form.get("next") or ""))
    if action not in BULK_ACTIONS or not ids:
        return views.redirect(_with(back, err="bulk_empty"))
    staff = _staff_name(request)
    changed = await console.app.store.run(console.app.store.bulk_tickets, ids, action, staff)
    _audit(request, f"ticket.bulk_{action}", "tickets:" + ",".join(map(str, ids)), f"{changed}")
    return views.redirect(_with(back, ok=f"bulk_{action}", n=str(changed)))


def _list_url(current: dict[str, str], changes: dict[str, Any]) -> str:
    """The list's address with the current filters and `changes` (an empty value drops a filter)."""
    merged = {**current, **{k: str(v) for k, v in changes.items()}}
    return "/console" + ("?" + urlencode({k: v for k, v in merged.items() if v}) if any(merged.values()) else "")


def _with(url: str, **query: str) -> str:
    """`url` (a console path) with `query` replacing any ok/err/n it carried."""
    path, _, old = url.partition("?")
    keep = [(k, v) for k, v in (p.partition("=")[::2] for p in old.split("&") if p) if k not in ("ok", "err", "n")]
    encoded = "&".join([f"{k}={v}" for k, v in keep] + [urlencode(query)])
    return path + "?" + encoded


# --- one ticket ---------------------------------------------------------------------------------------------


async def ticket_page(request: web.Request) -> web.StreamResponse:
    return ticket_view(request, int(request.match_info["id"]))


def ticket_view(request: web.Request, ticket_id: int, status: int = 200, **extra: Any) -> web.Response:
    """The ticket with the member's conversation, notes, the answer forms and the knowledge forms."""
    console = request.app[views.CONSOLE_KEY]
    store = console.app.store
    ticket = store.inbox_ticket(ticket_id)
    if ticket is None:
        return views.render(request, "console/error.html", http_status=404, code="not_found")
    kb = console.app.kb
    matched = kb.entries.get(ticket["m_entry_id"]) if ticket["m_entry_id"] else None
    default_entry = matched.id if matched and ticket["reason"] != "negative_feedback" else ""
    saved = store.saved_replies()
    draft = ""
    chosen = views._int(request.query.get("saved"))
    if chosen:
        picked = store.saved_reply(chosen)
        draft = picked["text"] if picked else ""
    search = " ".join((request.query.get("eq") or "").split())[:200]
    province = ticket["user_province"] or console.app.config.province or None
    now = store.clock()
    guesses = entry_guesses(console, search or ticket["text"], province)
    member = _member_context(console, ticket)
    for guess in guesses:
        guess["text"] = first_text(member, guess["entry"])
    context: dict[str, Any] = {
        "ticket": ticket,
        "matched": matched,
        "conversation": queries.conversation(store, ticket["channel"], ticket["user_key"],
                                             around=ticket["message_id"]),
        "staff_replies": queries.staff_replies(store, ticket["channel"], ticket["user_key"]),
        "staff": views._staff_name(request),
        "my_name": _staff_name(request),
        "entries": sorted(kb.entries.values(), key=lambda e: (e.topic, e.id)),
        "phrasing": {"entry": default_entry, "question": " ".join((ticket["text"] or "").split())[:300]},
        "notice": request.query.get("ok"),
        "error": request.query.get("err"),
        "max_answer": views.MAX_ANSWER,
        "draft": draft,
        "notes": store.ticket_notes(ticket_id),
        "saved": saved,
        "chosen_saved": chosen,
        "guesses": guesses,
        "entry_search": search,
        "assignees": store.assignees(),
        "active": ticket["status"] in ACTIVE,
        "age": now - ticket["created_at"],
        "first_answer": (ticket["first_answered_at"] - ticket["created_at"]) if ticket["first_answered_at"] else None,
        "quote": quote(ticket["text"]),
        "max_note": MAX_NOTE,
    }
    context.update(extra)
    return views.render(request, "console/ticket.html", http_status=status, **context)


async def _send(request: web.Request, ticket_id: int, text: str, staff: str, wait: bool) -> web.Response:
    console = request.app[views.CONSOLE_KEY]
    store = console.app.store
    ticket = store.inbox_ticket(ticket_id)
    if ticket is None:
        return views.render(request, "console/error.html", http_status=404, code="not_found")
    reply = Reply(member_reply_text(console, ticket["text"], text, ticket["reason"]))
    reply_id = await store.run(store.inbox_answer, ticket_id, text, staff, reply, wait)
    if reply_id:
        _audit(request, "ticket.answer", f"ticket:{ticket_id}", text[:300])
    response = views.redirect(_ticket_url(ticket_id, **({"ok": "waiting" if wait else "answered"} if reply_id
                                                        else {"err": "not_open"})))
    return response


async def answer_ticket(request: web.Request) -> web.StreamResponse:
    ticket_id = int(request.match_info["id"])
    form = await request.post()
    text = knowledge.clean_text(str(form.get("answer") or ""))
    staff = _staff_name(request)
    problem = "answer_required" if not text else "answer_too_long" if len(text) > views.MAX_ANSWER else None
    if problem:
        return ticket_view(request, ticket_id, status=400, error=problem, draft=text, staff=staff)
    return await _send(request, ticket_id, text, staff, form.get("wait") == "1")


async def answer_with_entry(request: web.Request) -> web.StreamResponse:
    """Answer with a knowledge entry's first message, as the bot itself would have answered."""
    console = request.app[views.CONSOLE_KEY]
    ticket_id = int(request.match_info["id"])
    form = await request.post()
    entry = console.app.kb.entries.get(str(form.get("entry") or ""))
    ticket = console.app.store.inbox_ticket(ticket_id)
    if ticket is None:
        return views.render(request, "console/error.html", http_status=404, code="not_found")
    if entry is None:
        return views.redirect(_ticket_url(ticket_id, err="entry_unknown"))
    text = first_text(_member_context(console, ticket), entry)
    return await _send(request, ticket_id, text, _staff_name(request), False)


async def assign(request: web.Request) -> web.StreamResponse:
    """"Nhận phiếu" (me), give to someone by name, or unassign (empty)."""
    console = request.app[views.CONSOLE_KEY]
    ticket_id = int(request.match_info["id"])
    form = await request.post()
    who = " ".join(str(form.get("assignee") or "").split())[:MAX_NAME]
    if who == "me":
        who = _staff_name(request)
    store = console.app.store
    ok = await store.run(store.assign_ticket, ticket_id, who or None)
    _audit(request, "ticket.assign", f"ticket:{ticket_id}", who)
    response = views.redirect(_ticket_url(ticket_id, **({"ok": "assigned" if who else "unassigned"} if ok
                                                        else {"err": "not_found"})))
    return response


async def add_note(request: web.Request) -> web.StreamResponse:
    console = request.app[views.CONSOLE_KEY]
    ticket_id = int(request.match_info["id"])
    form = await request.post()
    text = knowledge.clean_text(str(form.get("note") or ""))
    if not text or len(text) > MAX_NOTE:
        return views.redirect(_ticket_url(ticket_id, err="note_required" if not text else "note_too_long") + "#ghi-chu")
    store = console.app.store
    note_id = await store.run(store.add_note, ticket_id, _staff_name(request), text)
    if note_id is None:
        return views.render(request, "console/error.html", http_status=404, code="not_found")
    _audit(request, "ticket.note", f"ticket:{ticket_id}", text[:300])
    return views.redirect(_ticket_url(ticket_id, ok="noted") + "#ghi-chu")


async def _move(request: web.Request, status: str, expected: tuple[str, ...], notice: str,
                action: str) -> web.Response:
    console = request.app[views.CONSOLE_KEY]
    ticket_id = int(request.match_info["id"])
    await request.post()
    staff = _staff_name(request)
    store = console.app.store
    ok = await store.run(store.move_ticket, ticket_id, status, staff, expected)
    if ok:
        _audit(request, action, f"ticket:{ticket_id}")
    return views.redirect(_ticket_url(ticket_id, **({"ok": notice} if ok else {"err": "not_closable"})))


async def close_ticket(request: web.Request) -> web.StreamResponse:
    return await _move(request, "closed", ACTIVE, "closed", "ticket.close")


async def reopen_ticket(request: web.Request) -> web.StreamResponse:
    return await _move(request, "open", ("answered", "closed"), "reopened", "ticket.reopen")


async def spam_ticket(request: web.Request) -> web.StreamResponse:
    console = request.app[views.CONSOLE_KEY]
    ticket_id = int(request.match_info["id"])
    store = console.app.store
    changed = await store.run(store.bulk_tickets, [ticket_id], "spam", _staff_name(request))
    _audit(request, "ticket.spam", f"ticket:{ticket_id}")
    return views.redirect(_ticket_url(ticket_id, **({"ok": "spam"} if changed else {"err": "not_closable"})))


# --- saved replies --------------------------------------------------------------------------------------------


async def saved_replies_page(request: web.Request, status: int = 200, **extra: Any) -> web.StreamResponse:
    console = request.app[views.CONSOLE_KEY]
    store = console.app.store
    editing = store.saved_reply(views._int(request.query.get("edit"))) if request.query.get("edit") else None
    context: dict[str, Any] = {"replies": store.saved_replies(), "editing": editing or {},
                               "notice": request.query.get("ok"), "max_answer": views.MAX_ANSWER,
                               "max_title": MAX_TITLE}
    context.update(extra)
    return views.render(request, "console/saved_replies.html", http_status=status, **context)


async def save_saved_reply(request: web.Request) -> web.StreamResponse:
    console = request.app[views.CONSOLE_KEY]
    form = await request.post()
    title = " ".join(str(form.get("title") or "").split())
    text = knowledge.clean_text(str(form.get("text") or ""))
    reply_id = views._int(form.get("id")) or None
    problem = ("title_required" if not title else "answer_required" if not text
               else "too_long" if len(title) > MAX_TITLE or len(text) > views.MAX_ANSWER else None)
    if problem:
        return await saved_replies_page(request, status=400, error=problem,
                                        editing={"id": reply_id, "title": title, "text": text})
    store = console.app.store
    saved_id = await store.run(store.save_reply, reply_id, title, text, _staff_name(request))
    _audit(request, "saved_reply.save", f"saved_reply:{saved_id}", title)
    return views.redirect("/console/saved-replies?ok=saved")


async def delete_saved_reply(request: web.Request) -> web.StreamResponse:
    console = request.app[views.CONSOLE_KEY]
    reply_id = int(request.match_info["id"])
    store = console.app.store
    await store.run(store.delete_saved_reply, reply_id)
    _audit(request, "saved_reply.delete", f"saved_reply:{reply_id}")
    return views.redirect("/console/saved-replies?ok=deleted")

