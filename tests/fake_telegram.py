"""A fake Telegram Bot API server (aiohttp, 127.0.0.1) for end-to-end tests with the real PTB client.

It speaks the Bot API's HTTP shape closely enough for python-telegram-bot: `/bot<token>/<method>`,
form/JSON/multipart parameters, `{"ok": true, "result": ...}` answers and Telegram's error bodies
(429 with `parameters.retry_after`, 400 "can't parse entities", 403 blocked, 409 while a webhook is
set). It records every call, serves getUpdates from a queue with long polling and offsets, and can be
told to fail a method (429, 5xx, a dropped connection) or to be down altogether.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-fake-token_abc"
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler",
                "span", "blockquote", "tg-emoji"}
# Parameters Telegram treats as strings even when they look like JSON numbers.
STRING_PARAMS = {"text", "caption", "url", "secret_token", "callback_query_id", "action", "parse_mode",
                 "description", "inline_message_id"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    ok: bool = True


@dataclass
class Failure:
    status: int
    retry_after: int | None = None
    description: str = ""
    drop: bool = False  # close the connection without an answer
    after: int = 0  # let this many calls succeed first


@dataclass
class FakeTelegram:
    token: str = TOKEN
    bot_id: int = 777000
    username: str = "htx_test_bot"
    calls: list[Call] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)  # messages Telegram accepted
    down: bool = False  # every request is dropped, as when Telegram is unreachable
    webhook_url: str = ""
    webhook_secret: str = ""
    commands: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.confirmed = 0  # getUpdates offset: updates below it are gone
        self.next_update_id = 1000
        self.next_message_id = 1
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.failures: dict[str, list[Failure]] = {}
        self._arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.closing = False
        self.port = 0

    # --- server -----------------------------------------------------------------------------------

    async def start(self) -> FakeTelegram:
        webapp = web.Application()
        webapp.router.add_route("*", "/bot{token}/{method}", self._endpoint)
        self._runner = web.AppRunner(webapp, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        self.closing = True
        self._arrived.set()  # release a waiting long poll
        if self._runner:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # --- test controls ----------------------------------------------------------------------------

    def fail(self, method: str, status: int = 502, retry_after: int | None = None, times: int = 1,
             description: str = "", drop: bool = False, after: int = 0) -> None:
        """After `after` successful calls, the next `times` calls of `method` fail this way."""
        self.failures.setdefault(method, []).extend(
            Failure(status, retry_after, description, drop, after if i == 0 else 0) for i in range(times))

    def push(self, update: dict[str, Any], replay: bool = False) -> int:
        """Queue an update for getUpdates. `replay` re-offers an update already confirmed (what
        Telegram does when the bot died before confirming it)."""
        if "update_id" not in update:
            update["update_id"] = self.next_update_id
            self.next_update_id += 1
        if replay:
            self.confirmed = min(self.confirmed, update["update_id"])
        self.updates.append(update)
        self._arrived.set()
        return update["update_id"]

    def calls_of(self, method: str, ok: bool | None = True) -> list[Call]:
        return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["chat"]["id"] == chat_id]

    def user(self, user_id: int = 42, first_name: str = "An") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "vi"}

    def message_update(self, chat_id: int, text: str | None, first_name: str = "An", chat_type: str = "private",
                       user_id: int | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """A `message` update as Telegram sends it; commands get their bot_command entity."""
        msg: dict[str, Any] = {
            "message_id": self._new_message_id(),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type, **({"title": "Nhóm HTX"} if chat_type != "private" else
                                                           {"first_name": first_name})},
            "from": self.user(user_id or (chat_id if chat_id > 0 else 42), first_name),
        }
        if text is not None:
            msg["text"] = text
            entities = []
            if text.startswith("/"):
                entities.append({"type": "bot_command", "offset": 0, "length": _utf16(text.split(" ")[0])})
            for m in re.finditer(r"@[A-Za-z0-9_]{5,32}", text):
                entities.append({"type": "mention", "offset": _utf16(text[: m.start()]), "length": _utf16(m.group())})
            if entities:
                msg["entities"] = entities
        msg.update(extra or {})
        return {"message": msg}

    def callback_update(self, message: dict[str, Any], data: str, first_name: str = "An",
                        user_id: int | None = None) -> dict[str, Any]:
        """A button press on `message` (a message this fake sent)."""
        chat_id = message["chat"]["id"]
        return {"callback_query": {
            "id": f"cq{self._new_message_id()}",
            "from": self.user(user_id or (chat_id if chat_id > 0 else 42), first_name),
            "chat_instance": "ci1",
            "message": message,
            "data": data,
        }}

    def current(self, message: dict[str, Any]) -> dict[str, Any]:
        """The message as it is now (keyboards may have been edited)."""
        return self.messages[(message["chat"]["id"], message["message_id"])]

    def _new_message_id(self) -> int:
        self.next_message_id += 1
        return self.next_message_id

    # --- the Bot API ------------------------------------------------------------------------------

    async def _endpoint(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await _params(request)
        if self.down:
            self.calls.append(Call(method, params, ok=False))
            return _drop(request)
        if request.match_info["token"] != self.token:
            self.calls.append(Call(method, params, ok=False))
            return _error(401, "Unauthorized")
        pending = self.failures.get(method)
        if pending and pending[0].after > 0:
            pending[0].after -= 1
        elif pending:
            failure = pending.pop(0)
            self.calls.append(Call(method, params, ok=False))
            if failure.drop:
                return _drop(request)
            if failure.status == 429:
                wait = failure.retry_after or 1
                return _error(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
            if failure.status >= 500:
                return web.Response(status=failure.status, text="<html><body>Bad Gateway</body></html>",
                                    content_type="text/html")
            return _error(failure.status, failure.description or "Bad Request")
        handler = getattr(self, "_api_" + method, None)
        if handler is None:
            self.calls.append(Call(method, params, ok=False))
            return _error(404, "Not Found")
        call = Call(method, params)
        self.calls.append(call)  # recorded on arrival: a long poll shows up while it waits
        try:
            result = await handler(params)
        except ApiError as exc:
            call.ok = False
            return _error(exc.status, exc.description)
        return web.json_response({"ok": True, "result": result})

    async def _api_getMe(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Trợ lý HTX", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _api_getUpdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = p.get("offset")
        if isinstance(offset, int):
            self.confirmed = max(self.confirmed, offset)
        self.updates = [u for u in self.updates if u["update_id"] >= self.confirmed]
        limit = int(p.get("limit") or 100)
        timeout = float(p.get("timeout") or 0)
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.updates and not self.closing:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return []
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                return []
        return sorted(self.updates, key=lambda u: u["update_id"])[:limit]

    async def _api_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(p)
        text = p.get("text")
        if not isinstance(text, str) or not text:
            raise ApiError(400, "Bad Request: message text is empty")
        plain = parse_html(text) if p.get("parse_mode") == "HTML" else text
        if _utf16(plain) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        markup = p.get("reply_markup")
        if markup is not None:
            _check_markup(markup)
        self.next_message_id += 1
        message = {
            "message_id": self.next_message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": {"id": self.bot_id, "is_bot": True, "first_name": "Trợ lý HTX", "username": self.username},
            "text": plain,
        }
        if markup:
            message["reply_markup"] = markup
        self.messages[(chat_id, message["message_id"])] = message
        self.sent.append({**message, "html": text})
        return message

    async def _api_editMessageReplyMarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        key = (_chat_id(p), int(p.get("message_id") or 0))
        message = self.messages.get(key)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        markup = p.get("reply_markup")
        if markup is not None:
            _check_markup(markup)
        if (markup or None) == message.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        if markup and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message

    async def _api_answerCallbackQuery(self, p: dict[str, Any]) -> bool:
        if not p.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        return True

    async def _api_setMyCommands(self, p: dict[str, Any]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100")
        for c in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", c.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(c.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands = commands
        return True

    async def _api_sendChatAction(self, p: dict[str, Any]) -> bool:
        _chat_id(p)
        if p.get("action") not in {"typing", "upload_photo", "record_video", "upload_video", "record_voice",
                                   "upload_voice", "upload_document", "choose_sticker", "find_location",
                                   "record_video_note", "upload_video_note"}:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _api_setWebhook(self, p: dict[str, Any]) -> bool:
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook_url = p.get("url") or ""
        self.webhook_secret = secret or ""
        return True

    async def _api_deleteWebhook(self, p: dict[str, Any]) -> bool:
        self.webhook_url = ""
        self.webhook_secret = ""
        return True


class ApiError(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


class _TelegramHTML(HTMLParser):
    """Telegram's HTML parse mode: a few tags, balanced; only &lt; &gt; &amp; &quot; and numeric entities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise ApiError(400, f"Bad Request: can't parse entities: Unsupported start tag \"{tag}\"")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise ApiError(400, f"Bad Request: can't parse entities: Unmatched end tag \"{tag}\"")
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(text: str) -> str:
    """The visible text of an HTML message, or ApiError(400) where Telegram would refuse it."""
    if re.search(r"&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", text):
        raise ApiError(400, "Bad Request: can't parse entities: Unsupported entity or bare &")
    if re.search(r"<(?!/?[A-Za-z])", text):
        raise ApiError(400, "Bad Request: can't parse entities: Unexpected <")
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise ApiError(400, "Bad Request: can't parse entities: "
                            f"Can't find end tag corresponding to \"{parser.stack[-1]}\"")
    return html.unescape("".join(parser.text))


def visible_text(html_text: str) -> str:
    """What a member reads: tags removed, entities decoded."""
    return parse_html(html_text)


def _check_markup(markup: Any) -> None:
    if not isinstance(markup, dict) or not isinstance(markup.get("inline_keyboard"), list):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup["inline_keyboard"]:
        for button in row:
            if not button.get("text"):
                raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def _chat_id(p: dict[str, Any]) -> int:
    try:
        return int(p.get("chat_id"))
    except (TypeError, ValueError):
        raise ApiError(400, "Bad Request: chat not found") from None


async def _params(request: web.Request) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if request.method == "GET":
        raw = dict(request.query)
    elif request.content_type == "application/json":
        body = await request.read()
        return json.loads(body) if body else {}
    elif request.can_read_body:
        form = await request.post()
        raw = {k: v for k, v in form.items() if isinstance(v, str)}
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in STRING_PARAMS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


def _drop(request: web.Request) -> web.Response:
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=503)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
