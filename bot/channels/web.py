"""The web chat: a small page on 127.0.0.1 and a JSON API, so the bot works with no token at all.

Replies come back in the HTTP response; replies queued later (a staff answer) are fetched by the
page's polling of /api/poll. The user is a random id in a cookie. Each message carries a `client_id`
chosen by the page, so a retried POST is recognised and answered with the replies already stored, not
answered twice. The body is parsed with bounded nesting and cleaned text (bot/channels/jsonbody.py);
posts are limited per client address as well as per user (bot/channels/ratelimit.py).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from aiohttp import web

from bot.channels import Host, jsonbody
from bot.channels.ratelimit import AddressLimits
from bot.markup import to_html
from bot.proxies import TrustedProxies
from bot.types import Incoming

CHANNEL = "web"
COOKIE = "htx_uid"
UID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_BODY = 64 * 1024
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = Path(__file__).resolve().parent.parent / "static"

R = TypeVar("R", bound=web.StreamResponse)

APP_KEY = web.AppKey("htx_app", Host)
JINJA_KEY = web.AppKey("htx_jinja", jinja2.Environment)
LIMITS_KEY = web.AppKey("htx_web_limits", AddressLimits)
PROXIES_KEY = web.AppKey("htx_web_proxies", TrustedProxies)

TOO_FAST = "Bà con gửi nhanh quá, xin đợi một lát rồi gửi lại nhé."
BAD_BODY = "Dữ liệu gửi lên không hợp lệ."


def environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)


def setup(webapp: web.Application, app: Host) -> None:
    webapp[APP_KEY] = app
    if JINJA_KEY not in webapp:
        webapp[JINJA_KEY] = environment()
    limits = app.config.limits
    webapp[LIMITS_KEY] = AddressLimits(limits.address_messages_per_minute, limits.address_new_users_per_hour)
    webapp[PROXIES_KEY] = TrustedProxies.of(app.config.web.trusted_proxies)
    webapp.router.add_get("/", page)
    webapp.router.add_post("/api/message", message)
    webapp.router.add_get("/api/poll", poll)
    webapp.router.add_get("/api/history", history)
    webapp.router.add_get("/healthz", health)
    webapp.router.add_static("/static", STATIC)


def _uid(request: web.Request) -> tuple[str, bool]:
    uid = request.cookies.get(COOKIE, "")
    if UID.fullmatch(uid):
        return uid, False
    return secrets.token_urlsafe(18), True


def _with_cookie(response: R, uid: str, new: bool) -> R:
    if new:
        response.set_cookie(COOKIE, uid, max_age=365 * 24 * 3600, httponly=True, samesite="Strict")
    return response


def reply_json(text: str, buttons: list[list[Any]]) -> dict[str, Any]:
    rows = [[{"label": b["label"] if isinstance(b, dict) else b.label,
              "payload": b["payload"] if isinstance(b, dict) else b.payload} for b in row] for row in buttons]
    return {"text": text, "html": to_html(text).replace("\n", "<br>"), "buttons": rows}


async def page(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    uid, new = _uid(request)
    html = request.app[JINJA_KEY].get_template("chat.html").render(alliance=app.config.alliance.name)
    return _with_cookie(web.Response(text=html, content_type="text/html"), uid, new)


async def message(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    uid, new = _uid(request)
    if request.content_length and request.content_length > MAX_BODY:
        return _error(413, "Tin nhắn quá dài.")
    raw = await _read_limited(request, MAX_BODY)
    if raw is None:
        return _error(413, "Tin nhắn quá dài.")
    try:
        data = jsonbody.loads(raw)  # bounded nesting; lone surrogates cleaned
    except jsonbody.BadBody:
        return _error(400, BAD_BODY)
    if not isinstance(data, dict):
        return _error(400, BAD_BODY)
    text, payload = data.get("text"), data.get("payload")
    if not isinstance(text, str | None) or not isinstance(payload, str | None) or not (text or payload):
        return _error(400, "Cần có nội dung tin nhắn.")
    client_id = data.get("client_id")
    platform_id = f"{uid}:{client_id}" if isinstance(client_id, str) and CLIENT_ID.match(client_id) else None
    if platform_id and not new:
        # A retry of a message already answered (the response was lost): the same replies again.
        earlier = app.store.message_by_platform_id(CHANNEL, platform_id)
        if earlier is not None:
            replies = app.store.replies_for(earlier)
            return web.json_response({"replies": [reply_json(r["text"], r["buttons"]) for r in replies]})
    if not _within_limits(request, new):
        return _with_cookie(_error(429, TOO_FAST), uid, new)
    province = data.get("province") if isinstance(data.get("province"), str) else None
    inc = Incoming(CHANNEL, uid, text=text, payload=(payload or None) and payload[:200], province=province,
                   platform_id=platform_id)
    sent = app.engine.handle(inc)
    for s in sent:
        app.store.mark_sent(s.id)
    body = {"replies": [reply_json(s.reply.text, s.reply.buttons) for s in sent]}
    return _with_cookie(web.json_response(body), uid, new)


def _within_limits(request: web.Request, new_user: bool) -> bool:
    """Per client address: messages a minute, and (for a post without our cookie) new users an hour."""
    address = request.app[PROXIES_KEY].client_address(request.remote, request.headers)
    return request.app[LIMITS_KEY].allow(address, new_user)


async def _read_limited(request: web.Request, limit: int) -> bytes | None:
    """The whole body, however it was chunked; None when it is longer than `limit`."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def poll(request: web.Request) -> web.Response:
    """Replies queued for this user outside a request (staff answers, recovered messages)."""
    app = request.app[APP_KEY]
    uid, new = _uid(request)
    out = []
    if not new:
        for row in app.store.due_replies(CHANNEL, limit=50, user_key=uid):
            app.store.mark_sent(row["id"])
            out.append(reply_json(row["text"], row["buttons"]))
    return _with_cookie(web.json_response({"replies": out}), uid, new)


async def history(request: web.Request) -> web.Response:
    """What this browser's user already said and was told, so a reload does not lose the conversation."""
    app = request.app[APP_KEY]
    uid, new = _uid(request)
    items = [] if new else app.store.history(CHANNEL, uid)
    out: list[dict[str, Any]] = []
    labels: dict[str, str] = {}  # payload → label of the buttons shown so far
    for it in items:
        if it["who"] == "bot":
            labels.update({b["payload"]: b["label"] for row in it["buttons"] for b in row})
            out.append({"who": "bot", **reply_json(it["text"], it["buttons"]),
                        "feedback": _feedback_shown(app, uid, it["buttons"])})
            continue
        text = it["text"] or labels.get(it["payload"] or "")
        # The page itself sends /start to greet; the member never typed it. A press whose button is no longer
        # in the history has no words to show.
        if text and text.split(" ", 1)[0] != "/start":
            out.append({"who": "user", **reply_json(text, [])})
    return _with_cookie(web.json_response({"items": out}), uid, new)


def _feedback_shown(app: Host, uid: str, buttons: list[list[dict[str, str]]]) -> int | None:
    """The 👍/👎 the member already gave under this reply, so the restored page shows it pressed."""
    for row in buttons:
        for b in row:
            sign, _, target = b["payload"].removeprefix("fb:").partition(":") if b["payload"].startswith("fb:") \
                else ("", "", "")
            if sign and target.isascii() and target.isdigit():
                return app.store.feedback_value(CHANNEL, uid, int(target))
    return None


async def health(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    return web.json_response({"ok": True, "entries": len(app.kb.entries), "schema": app.store.schema_version})


def _error(status: int, text: str) -> web.Response:
    return web.json_response({"error": text}, status=status)
