"""Knowledge edits with review: staff draft a phrasing or a v2 entry from a logged question, try what the bot
would answer with it, propose it; an editor publishes it into the overlay (the bot reloads live) or
rejects it; a published change can be rolled back and all of them exported as knowledge/ YAML.

Drafts live in the database (bot/db/review.py); files are written only on publishing, through
bot/console/knowledge.py, and only when the loader accepts base + overlay + draft.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from bot.console import knowledge, queries
from bot.console.auth import Staff
from bot.engine import Engine
from bot.kb.loader import ENTRY_ID, KnowledgeError, Problem
from bot.textnorm import fold

if TYPE_CHECKING:
    from bot.console.views import Console

log = logging.getLogger(__name__)
GUESSES = 5
LIST_LIMIT = 60
MAX_TRY = 300


def current_staff(request: web.Request) -> Staff:
    """The logged-in staff member (bot/console/access.py): drafts and decisions are signed with it."""
    from bot.console import access

    return access.current_staff(request)


def setup(webapp: web.Application, console: Console) -> None:
    from bot.console.views import guarded

    add = webapp.router
    add.add_get("/console/review", guarded(review_page, "viewer"))
    add.add_get(r"/console/review/from/{message:\d+}", guarded(from_question, "staff"))
    add.add_get("/console/review/new", guarded(entry_form, "staff"))
    add.add_post("/console/review/drafts", guarded(create_draft, "staff"))
    add.add_get(r"/console/review/drafts/{id:\d+}", guarded(draft_page, "viewer"))
    add.add_post(r"/console/review/drafts/{id:\d+}/edit", guarded(edit_draft, "staff"))
    add.add_post(r"/console/review/drafts/{id:\d+}/propose", guarded(propose, "staff"))
    add.add_post(r"/console/review/drafts/{id:\d+}/publish", guarded(publish, "editor"))
    add.add_post(r"/console/review/drafts/{id:\d+}/reject", guarded(reject, "editor"))
    add.add_post(r"/console/review/changes/{id:\d+}/rollback", guarded(rollback, "editor"))
    add.add_get("/console/review/export.yaml", guarded(export, "viewer"))


def _console(request: web.Request) -> Console:
    from bot.console.views import CONSOLE_KEY

    return request.app[CONSOLE_KEY]


def _render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    from bot.console.views import render

    return render(request, template, http_status=status, staff_member=current_staff(request), **context)


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


# --- problems in Vietnamese -------------------------------------------------------------------------


def problem_vi(problem: Problem, labels: dict[str, Any]) -> str:
    """A loader problem as staff read it: where (file › entry › field, field named in Vietnamese) and what,
    from the translation table in labels.yaml (`loader_messages`); an unknown message is kept as is."""
    fields = labels.get("entry_fields") or {}
    where = [problem.file]
    if problem.entry:
        where.append(problem.entry)
    if problem.field:
        base = re.sub(r"\[\d+\].*$", "", problem.field)
        where.append(fields.get(problem.field) or fields.get(base) or problem.field)
    return f"{' › '.join(where)}: {message_vi(problem.message, labels)}"


def message_vi(message: str, labels: dict[str, Any]) -> str:
    for rule in labels.get("loader_messages") or []:
        match = re.fullmatch(rule["pattern"], message)
        if match:
            return str(rule["text"]).format(**match.groupdict())
    return message


# --- pages --------------------------------------------------------------------------------------------


async def review_page(request: web.Request) -> web.StreamResponse:
    console = _console(request)
    store = console.app.store
    drafts = store.drafts()
    return _render(
        request, "console/review.html",
        proposed=[d for d in drafts if d["status"] == "proposed"],
        writing=[d for d in drafts if d["status"] == "draft"],
        done=[d for d in drafts if d["status"] in ("published", "rejected", "rolled_back")][:50],
        changes=store.changes(), notice=request.query.get("ok"), error=request.query.get("err"),
    )


async def from_question(request: web.Request) -> web.StreamResponse:
    """A logged question: the bot's own best guesses first, then every entry (filtered by ?q=), to add the
    question as a phrasing; or a new entry drafted from it."""
    console = _console(request)
    message = console.app.store.message(int(request.match_info["message"]))
    if message is None or not message["text"]:
        return _render(request, "console/error.html", status=404, code="not_found")
    kb = console.app.kb
    question = " ".join(message["text"].split())[:knowledge.MAX_LINE]
    found = await asyncio.to_thread(console.app.engine.searcher.search, question, None, GUESSES * 2)
    guesses = [(kb.entries[c.key], c.score) for c in found if c.kind == "entry" and c.key in kb.entries][:GUESSES]
    q = " ".join((request.query.get("q") or "").split())[:100]
    entries = sorted(kb.entries.values(), key=lambda e: (e.topic, e.id))
    if q:
        words = fold(q).split()
        entries = [e for e in entries if all(w in fold(f"{e.id} {e.title} {e.topic}") for w in words)]
    return _render(request, "console/review_from.html", message=message, question=question, guesses=guesses,
                   entries=entries[:LIST_LIMIT], more=len(entries) > LIST_LIMIT, q=q,
                   error=request.query.get("err"))


def _entry_context(console: Console, data: dict[str, Any]) -> dict[str, Any]:
    kb = console.app.kb
    citations = list(data.get("citations") or [])
    return {
        "data": data,
        "citation_rows": citations + [{}] * max(knowledge_rows() - len(citations), 0),
        "documents": sorted(kb.documents.values(), key=lambda d: (not d.in_force, d.short)),
        "provinces": sorted(p.name for p in kb.provinces.values()),
    }


def knowledge_rows() -> int:
    from bot.console.views import CITATION_ROWS

    return CITATION_ROWS


async def entry_form(request: web.Request) -> web.StreamResponse:
    console = _console(request)
    data: dict[str, Any] = {"questions": []}
    message_id = _int(request.query.get("message"))
    message = console.app.store.message(message_id) if message_id else None
    if message and message["text"]:
        data["questions"] = knowledge.parse_list(message["text"], sep="\0")[:1]
        data["message_id"] = message_id
    return _render(request, "console/review_entry.html", action="/console/review/drafts",
                   **_entry_context(console, data))


def _entry_data(console: Console, form: Any) -> dict[str, Any]:
    def text(name: str) -> str:
        value = form.get(name)
        return knowledge.clean_text(value) if isinstance(value, str) else ""

    return {
        "id": text("id").strip(),
        "title": " ".join(text("title").split()),
        "questions": knowledge.parse_list(text("questions")),
        "short": text("short"), "detail": text("detail"), "history": text("history"), "unsure": text("unsure"),
        "citations": knowledge.citations_from_form(
            [str(v) for v in form.getall("doc", [])], [str(v) for v in form.getall("article", [])],
            [str(v) for v in form.getall("clause", [])], console.app.kb),
        "province": text("province").strip(),
        "related": knowledge.parse_list(text("related"), sep=","),
        "keywords": knowledge.parse_list(text("keywords"), sep=","),
    }


def entry_codes(data: dict[str, Any], console: Console, taken: set[str]) -> list[str]:
    """What the form itself can tell (the loader tells the rest when the draft is tried)."""
    kb = console.app.kb
    codes = []
    if data["id"] and not ENTRY_ID.fullmatch(data["id"]):
        codes.append("id_invalid")
    elif data["id"] and data["id"] in taken:
        codes.append("id_taken")
    for name, code in (("title", "title_required"), ("short", "short_required"),
                       ("questions", "questions_required"), ("citations", "citation_required")):
        if not data[name]:
            codes.append(code)
    too_long = any(len(q) > knowledge.MAX_LINE for q in data["questions"]) or len(data["title"]) > knowledge.MAX_LINE
    if too_long or any(len(data[f]) > knowledge.MAX_TEXT for f in knowledge.ENTRY_FIELDS):
        codes.append("too_long")
    if any(c.get("invalid") for c in data["citations"]):
        codes.append("citation_number")
    if any(kb.document(c["doc"]) is None for c in data["citations"]):
        codes.append("citation_doc")
    return codes


def _taken_ids(console: Console, but: int | None = None) -> set[str]:
    taken = set(console.app.kb.entries)
    for d in console.app.store.drafts(("draft", "proposed", "published")):
        if d["kind"] == "entry" and d["id"] != but:
            taken.add(str(d["data"].get("id")))
    return taken


async def create_draft(request: web.Request) -> web.StreamResponse:
    console = _console(request)
    staff = current_staff(request)
    form = await request.post()
    kind = form.get("kind")
    message_id = _int(form.get("message")) or None
    if kind == "phrasing":
        entry_id = str(form.get("entry") or "").strip()
        question = " ".join(str(form.get("question") or "").split())
        entry = console.app.kb.entries.get(entry_id)
        code = ("question_required" if not question else "too_long" if len(question) > knowledge.MAX_LINE
                else "entry_unknown" if entry is None
                else "question_exists" if fold(question) in {fold(q) for q in entry.questions}
                else None)
        if code:
            target = f"/console/review/from/{message_id}?" if message_id else "/console/review?"
            return _redirect(target + urlencode({"err": code}))
        draft_id = console.app.store.create_draft("phrasing", {"entry": entry_id, "question": question},
                                                  staff.display_name, message_id)
        _audit(console, staff, "knowledge.draft", f"draft:{draft_id}", f"{entry_id}: {question}"[:300])
        return _redirect(f"/console/review/drafts/{draft_id}?ok=drafted")
    data = _entry_data(console, form)
    taken = _taken_ids(console)
    codes = entry_codes(data, console, taken)
    if codes:
        data["message_id"] = message_id
        return _render(request, "console/review_entry.html", status=400, action="/console/review/drafts",
                       codes=codes, **_entry_context(console, data))
    data["id"] = data["id"] or knowledge.suggest_id(data["title"], taken)
    draft_id = console.app.store.create_draft("entry", data, staff.display_name, message_id)
    _audit(console, staff, "knowledge.draft", f"draft:{draft_id}", f"{data['id']}: {data['title']}"[:300])
    return _redirect(f"/console/review/drafts/{draft_id}?ok=drafted")


async def edit_draft(request: web.Request) -> web.StreamResponse:
    console = _console(request)
    draft = console.app.store.draft(int(request.match_info["id"]))
    if draft is None:
        return _render(request, "console/error.html", status=404, code="not_found")
    if draft["kind"] != "entry":  # a phrasing is one line: rejected and drafted again, not edited
        return _redirect(f"/console/review/drafts/{draft['id']}?err=phrasing_not_editable")
    data = _entry_data(console, await request.post())
    codes = entry_codes(data, console, _taken_ids(console, but=draft["id"]))
    if codes:
        return await _draft(request, draft, status=400, codes=codes, edited=data)
    data["id"] = data["id"] or draft["data"].get("id") or knowledge.suggest_id(data["title"], _taken_ids(console))
    ok = console.app.store.update_draft(draft["id"], data)
    return _redirect(f"/console/review/drafts/{draft['id']}?" + urlencode({"ok" if ok else "err":
                                                                          "edited" if ok else "not_editable"}))


async def draft_page(request: web.Request) -> web.StreamResponse:
    console = _console(request)
    draft = console.app.store.draft(int(request.match_info["id"]))
    if draft is None:
        return _render(request, "console/error.html", status=404, code="not_found")
    return await _draft(request, draft)


async def _draft(request: web.Request, draft: dict[str, Any], status: int = 200, **extra: Any) -> web.Response:
    """The draft, the loader's verdict on it (in Vietnamese) and the "try it" box."""
    console = _console(request)
    context: dict[str, Any] = {"draft": draft, "notice": request.query.get("ok"), "error": request.query.get("err")}
    question = " ".join((request.query.get("try") or "").split())[:MAX_TRY]
    if not question and draft["kind"] == "phrasing":
        question = draft["data"]["question"]
    elif not question and draft["data"].get("questions"):
        question = draft["data"]["questions"][0]
    context["try"] = question
    if draft["status"] in ("draft", "proposed"):
        trial = await asyncio.to_thread(knowledge.try_draft, console.root, draft["kind"], draft["data"])
        context["problems"] = [problem_vi(p, console.labels) for p in trial.problems]
        context["problems_raw"] = [str(p) for p in trial.problems]
        context["trial_ok"] = trial.ok
        if trial.kb is not None and question:
            context["preview"] = await asyncio.to_thread(_preview, console, trial.kb, question)
    if draft["kind"] == "entry":
        context.update(_entry_context(console, extra.pop("edited", None) or draft["data"]))
    context.update(extra)
    return _render(request, "console/review_draft.html", status=status, **context)


def _preview(console: Console, kb: Any, question: str) -> dict[str, Any]:
    """What the bot would answer with the draft: a separate engine on the trial knowledge, storing nothing."""
    app = console.app
    engine = Engine(kb, app.store, app.config, clock=app.store.clock, handler_table=app.engine.handler_table)
    outcome = engine.preview(question, user_key="console-preview")
    return {"replies": [r.text for r in outcome.replies], "kind": outcome.meta.get("kind"),
            "entry_id": outcome.meta.get("entry_id")}


async def propose(request: web.Request) -> web.StreamResponse:
    return await _move(request, "proposed", ("draft",), "proposed")


async def reject(request: web.Request) -> web.StreamResponse:
    return await _move(request, "rejected", ("draft", "proposed"), "rejected")


async def _move(request: web.Request, status: str, expected: tuple[str, ...], notice: str) -> web.Response:
    console = _console(request)
    staff = current_staff(request)
    draft_id = int(request.match_info["id"])
    form = await request.post()
    note = " ".join(str(form.get("note") or "").split())[:300] or None
    ok = console.app.store.set_draft_status(draft_id, status, staff.display_name, expected, note)
    _audit(console, staff, f"knowledge.{status}", f"draft:{draft_id}", note or "")
    return _redirect(f"/console/review/drafts/{draft_id}?" + urlencode({"ok": notice} if ok else {"err": "status"}))


async def publish(request: web.Request) -> web.StreamResponse:
    """Write the draft into the overlay (when the loader accepts it), record the change, reload live."""
    console = _console(request)
    staff = current_staff(request)
    store = console.app.store
    draft = store.draft(int(request.match_info["id"]))
    if draft is None:
        return _render(request, "console/error.html", status=404, code="not_found")
    # Claim the draft first, so two editors pressing at once publish it once.
    if not store.set_draft_status(draft["id"], "published", staff.display_name, ("draft", "proposed")):
        return _redirect(f"/console/review/drafts/{draft['id']}?err=status")
    try:
        trial = await asyncio.to_thread(knowledge.publish_draft, console.root, draft["kind"], draft["data"])
    except BaseException:
        store.reopen_draft(draft["id"], draft["status"])
        raise
    if not trial.ok:
        store.reopen_draft(draft["id"], draft["status"])
        return await _draft(request, store.draft(draft["id"]) or draft, status=400, publish_failed=True)
    store.record_change(draft["id"], trial.path, trial.before, trial.after, staff.display_name)
    _audit(console, staff, "knowledge.publish", f"draft:{draft['id']}", trial.path)
    notice = "published" if await _reload(console) else "published_not_loaded"
    return _redirect(f"/console/review/drafts/{draft['id']}?ok={notice}")


async def rollback(request: web.Request) -> web.StreamResponse:
    console = _console(request)
    staff = current_staff(request)
    store = console.app.store
    change = store.change(int(request.match_info["id"]))
    if change is None:
        return _render(request, "console/error.html", status=404, code="not_found")
    if change["rolled_back_at"] is not None:
        return _redirect("/console/review?err=rolled_back_already")
    restored = await asyncio.to_thread(knowledge.restore, console.root, change["path"], change["before"],
                                       change["after"])
    if not restored:
        return _redirect("/console/review?err=later_change")
    store.mark_rolled_back(change["id"], staff.display_name)
    _audit(console, staff, "knowledge.rollback", f"change:{change['id']}", change["path"])
    notice = "rolled_back" if await _reload(console) else "published_not_loaded"
    return _redirect(f"/console/review?ok={notice}")


async def export(request: web.Request) -> web.StreamResponse:
    """All published changes still in force, in the knowledge/ file format, to commit upstream."""
    console = _console(request)
    published = console.app.store.drafts(("published",))
    published.reverse()  # oldest first, as they were added
    phrasings = [d["data"] for d in published if d["kind"] == "phrasing"]
    entries = [d["data"] for d in published if d["kind"] == "entry"]
    day = queries.today(console.app.store.clock())
    text = knowledge.export_yaml(phrasings, entries, day)
    return web.Response(text=text, content_type="application/x-yaml", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="kien-thuc-da-duyet_{day.isoformat()}.yaml"'})


async def _reload(console: Console) -> bool:
    try:
        await console.app.reload_async()
    except KnowledgeError:
        log.exception("console: reloading after a knowledge change failed")
        return False
    return True


def _audit(console: Console, staff: Staff, action: str, target: str, detail: str) -> None:
    audit = getattr(console.app.store, "audit", None)
    if callable(audit):
        audit(staff.username, action, target, detail)


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0
