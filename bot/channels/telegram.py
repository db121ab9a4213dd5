"""The Telegram channel: long polling (default) or a webhook on the shared aiohttp server.

Incoming updates become `Incoming` for the engine; the engine queues replies in the store, and only the
outbox worker sends them (`send` below), so a reply survives Telegram being unreachable or the process
restarting. `bot/app.py` makes the service (`TelegramService(app)`) when a token is configured.

Delivery guarantees: an update is recorded before it is acknowledged (polling advances the offset
after handling; the webhook answers 200 after handling), and replays are dropped by the store's dedup
on update_id. A reply is marked sent only after Telegram accepted it; long replies are sent in parts
and the parts already delivered are remembered, so a retry never repeats them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import warnings
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Bot, BotCommand, LinkPreviewOptions, Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from bot.channels import Host, jsonbody
from bot.channels.telegram_format import CallbackKeys, keyboard, render_html, render_plain, split_message, without_row
from bot.channels.telegram_inbound import CHANNEL, BotIdentity, incoming
from bot.channels.telegram_throttle import Throttle
from bot.config import ConfigError, TelegramConfig
from bot.kb.model import KnowledgeBase
from bot.outbox import Delivery, OutboxWorker, backoff
from bot.types import Incoming

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO, and Telegram URLs contain the bot token.
logging.getLogger("httpx").setLevel(logging.WARNING)

ALLOWED_UPDATES = ["message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # nosec B105 # a header name, not a secret
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
DEFAULT_WEBHOOK_PATH = "/telegram/webhook"
MAX_UPDATE_BYTES = 256 * 1024
# A real update nests about ten levels (a reply to a message with entities); far more is an attack.
MAX_UPDATE_DEPTH = 64
# Buttons that are answered once: after a press, their row leaves the keyboard.
ONE_SHOT = ("fb:", "privacy:forget-", "staff:q:")
QUICK = 3.0  # seconds allowed for cosmetic calls (typing, answering a button press)
MAX_ATTEMPTS = 20  # with the outbox's backoff (2 s doubling, 10 min cap) about two hours of retrying
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class TelegramService:
    name = "Telegram"

    def __init__(
        self,
        app: Host,
        bot: Bot | None = None,
        throttle: Throttle | None = None,
        poll_timeout: int = 25,
        outbox_poll: float = 0.5,
    ):
        self.app = app
        self.cfg: TelegramConfig = app.config.telegram
        self.bot = bot or make_bot(self.cfg)
        self.keys = CallbackKeys(app.store)
        self.throttle = throttle or Throttle()
        self.poll_timeout = poll_timeout
        self.worker = OutboxWorker(app.store, CHANNEL, self.send, poll_interval=outbox_poll, max_attempts=MAX_ATTEMPTS)
        self.webhook = self.cfg.mode == "webhook"
        self.secret = webhook_secret(self.cfg) if self.webhook else ""
        self.webhook_path = webhook_path(self.cfg.webhook_url)
        self.commands = {name.lower() for name in (app.kb.ui.get("commands") or {})}
        self.menu: list[tuple[str, str]] | None = None  # the command menu Telegram last accepted
        self.me: BotIdentity | None = None
        self.ready = asyncio.Event()
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()

    # --- lifecycle --------------------------------------------------------------------------------

    def routes(self, webapp: web.Application) -> None:
        if self.webhook:
            webapp.router.add_post(self.webhook_path, self.handle_webhook)

    async def start(self) -> None:
        """Returns at once; connecting, polling and sending run in the background so a Telegram
        outage at start-up never stops the web chat."""
        self.app.reload_listeners.append(self.knowledge_reloaded)
        self._spawn(self._main(), "telegram-main")

    async def stop(self) -> None:
        if self.knowledge_reloaded in self.app.reload_listeners:
            self.app.reload_listeners.remove(self.knowledge_reloaded)
        tasks = list(self._tasks)
        if self.worker._task is not None:
            tasks.append(self.worker._task)
        await _cancel(tasks)
        try:
            await self.bot.shutdown()
        except Exception:
            log.debug("bot shutdown", exc_info=True)

    async def _main(self) -> None:
        await self._connect()
        self.ready.set()
        await self._set_commands()
        self.worker.start()
        self.worker.notify()
        if self.webhook:
            await self._set_webhook()
        else:
            await self._quietly(self.bot.delete_webhook(drop_pending_updates=False), "deleteWebhook")
            await self._poll()

    async def _connect(self) -> None:
        """getMe until it works: the token is checked and our username learnt (for group mentions)."""
        failures = 0
        while True:
            try:
                await self.bot.initialize()
                me = self.bot.bot
                self.me = BotIdentity(me.id, me.username or "")
                log.info("Telegram: connected as @%s", self.me.username)
                return
            except InvalidToken:
                log.error("Telegram rejected the bot token (telegram.token / HTX_TELEGRAM_TOKEN); retrying")
                failures = max(failures, 5)
            except TelegramError as exc:
                log.warning("Telegram not reachable yet (%s); retrying", exc)
            except Exception:  # a bad base_url and the like: say so, keep the rest of the bot running
                log.exception("Telegram: cannot connect; check telegram.base_url")
                failures = max(failures, 5)
            failures += 1
            await asyncio.sleep(backoff(failures, base=1.0, cap=60.0))

    async def _set_commands(self) -> None:
        """The command menu in Vietnamese, from knowledge/ui.yaml (commands marked hidden are left out)."""
        commands = bot_commands(self.app.kb.ui.get("commands") or {})
        if commands:
            menu = [(c.command, c.description) for c in commands]
            if await self._quietly(self.bot.set_my_commands(commands), "setMyCommands", timeout=15):
                self.menu = menu

    def knowledge_reloaded(self, kb: KnowledgeBase) -> None:
        """After `App.reload`: group messages and Telegram's menu follow the new commands in ui.yaml."""
        spec = kb.ui.get("commands") or {}
        self.commands = {name.lower() for name in spec}
        menu = [(c.command, c.description) for c in bot_commands(spec)]
        if self.ready.is_set() and menu and menu != self.menu:
            try:
                asyncio.get_running_loop()
            except RuntimeError:  # a reload outside the event loop: the menu waits for the next start
                return
            self._spawn(self._set_commands(), "telegram-commands")

    async def _set_webhook(self) -> None:
        failures = 0
        while True:
            try:
                await self.bot.set_webhook(
                    url=self.cfg.webhook_url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES
                )
                log.info("Telegram: webhook set to %s", self.cfg.webhook_url)
                return
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
            except TelegramError as exc:
                failures += 1
                log.warning("Telegram: setWebhook failed (%s); retrying", exc)
                await asyncio.sleep(backoff(failures, base=2.0, cap=300.0))

    # --- receiving --------------------------------------------------------------------------------

    async def _poll(self) -> None:
        """Long polling. The offset moves past an update only after it was handled (recorded)."""
        offset: int | None = None
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES
                )
                failures = 0
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
                continue
            except Conflict as exc:
                failures += 1
                log.error("Telegram: getUpdates conflict (%s): another instance or a webhook is active", exc)
                await asyncio.sleep(backoff(failures, base=5.0, cap=60.0))
                await self._quietly(self.bot.delete_webhook(drop_pending_updates=False), "deleteWebhook")
                continue
            except InvalidToken:
                failures += 1
                log.error("Telegram rejected the bot token while polling; retrying")
                await asyncio.sleep(60.0)
                continue
            except TelegramError as exc:  # NetworkError, TimedOut, 5xx
                failures += 1
                log.warning("Telegram: getUpdates failed (%s); retrying", exc)
                await asyncio.sleep(backoff(failures, base=1.0, cap=60.0))
                continue
            except Exception:  # e.g. an update PTB cannot parse: keep polling, loudly
                failures += 1
                log.exception("Telegram: getUpdates failed")
                await asyncio.sleep(backoff(failures, base=1.0, cap=60.0))
                continue
            for update in updates:
                await self._process_with_retries(update)
                offset = update.update_id + 1

    async def _process_with_retries(self, update: Update, attempts: int = 3) -> None:
        for attempt in range(1, attempts + 1):
            try:
                await self.process(update)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Telegram: handling update %s failed (attempt %d)", update.update_id, attempt)
                await asyncio.sleep(attempt)
        log.error("Telegram: update %s skipped after %d attempts", update.update_id, attempts)

    async def handle_webhook(self, request: web.Request) -> web.Response:
        """Telegram's POST. The secret header is checked first; the update is handled before 200."""
        got = request.headers.get(SECRET_HEADER)
        if got is None:
            return web.json_response({"ok": False, "error": "missing secret token"}, status=401)
        if not hmac.compare_digest(got.encode("utf-8", "replace"), self.secret.encode("utf-8")):
            return web.json_response({"ok": False, "error": "wrong secret token"}, status=403)
        if not self.ready.is_set():
            return web.json_response({"ok": False, "error": "starting"}, status=503)  # Telegram retries
        if request.content_length and request.content_length > MAX_UPDATE_BYTES:
            return web.json_response({"ok": False, "error": "too large"}, status=413)
        raw = await request.read()
        if len(raw) > MAX_UPDATE_BYTES:
            return web.json_response({"ok": False, "error": "too large"}, status=413)
        try:
            # Bounded nesting and cleaned strings: a 500 here would make Telegram re-send it forever.
            data = jsonbody.loads(raw, max_depth=MAX_UPDATE_DEPTH)
        except jsonbody.BadBody:
            return web.json_response({"ok": False, "error": "not JSON"}, status=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        try:
            update = Update.de_json(data, self.bot)
        except Exception:
            log.warning("Telegram: could not parse update %s", data.get("update_id"), exc_info=True)
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        try:
            await self.process(update)
        except Exception:
            log.exception("Telegram: handling update %s failed", update.update_id)
            return web.json_response({"ok": False}, status=500)  # Telegram retries; dedup drops repeats
        return web.json_response({"ok": True})

    async def process(self, update: Update) -> None:
        """One update at a time, like polling, so a chat's messages are answered in order."""
        async with self._lock:
            if update.callback_query is not None:
                await self._on_button(update)
            elif update.message is not None and self.me is not None:
                inc = incoming(update, self.me, self.commands)
                if inc is None:
                    return
                if inc.text:
                    await self._quietly(
                        self.bot.send_chat_action(int(inc.user_key), ChatAction.TYPING), "sendChatAction"
                    )
                self._handle(inc)

    async def _on_button(self, update: Update) -> None:
        query = update.callback_query
        if query is None:
            return
        # Answer at once so the client stops its spinner, whatever happens next.
        await self._quietly(self.bot.answer_callback_query(query.id), "answerCallbackQuery")
        message = query.message
        if message is None or query.data is None:
            return  # inline-mode or game buttons: not ours
        payload = self.keys.decode(query.data)
        if payload is None:
            payload = "menu:show"  # a hashed key from a store that was reset: offer the menu
        self._handle(Incoming(
            channel=CHANNEL,
            user_key=str(message.chat.id),
            payload=payload[:200],
            platform_id=str(update.update_id),
            name=query.from_user.first_name if query.from_user else None,
        ))
        markup = message.reply_markup if isinstance(message, Message) else None
        if payload.startswith(ONE_SHOT) and markup is not None:
            self._spawn(self._edit_keyboard(message.chat.id, message.message_id, without_row(markup, query.data)),
                        "telegram-edit")

    def _handle(self, inc: Incoming) -> None:
        sent = self.app.engine.handle(inc)
        if sent:
            self.worker.notify()

    async def _edit_keyboard(self, chat_id: int, message_id: int, markup: Any) -> None:
        await self.throttle.acquire(chat_id)
        await self._quietly(
            self.bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id, reply_markup=markup),
            "editMessageReplyMarkup",
        )

    # --- sending (called by the outbox worker only) -----------------------------------------------

    async def send(self, row: dict[str, Any]) -> Delivery:
        try:
            chat_id = int(row["user_key"])
        except (TypeError, ValueError):
            return Delivery("undeliverable", error=f"not a Telegram chat id: {row['user_key']!r}")
        parts = split_message(row["text"] or "")
        parts = [p for p in parts if p.strip()]
        if not parts:
            return Delivery("undeliverable", error="empty text")
        markup = keyboard(row["buttons"], self.keys)
        progress_key = f"telegram:parts:{row['id']}"
        done = int(self.app.store.get_kv(progress_key) or 0) if len(parts) > 1 else 0
        last: Message | None = None
        for index in range(done, len(parts)):
            is_last = index == len(parts) - 1
            result = await self._send_part(chat_id, parts[index], markup if is_last else None)
            if isinstance(result, Delivery):
                return result
            last = result
            if len(parts) > 1:
                self.app.store.set_kv(progress_key, str(index + 1))
        return Delivery("sent", platform_id=str(last.message_id) if last else None)

    async def _send_part(self, chat_id: int, part: str, markup: Any) -> Message | Delivery:
        text = render_html(part)
        parse_mode: ParseMode | None = ParseMode.HTML
        for _ in range(3):
            await self.throttle.acquire(chat_id)
            try:
                return await self.bot.send_message(
                    chat_id, text, parse_mode=parse_mode, reply_markup=markup, link_preview_options=NO_PREVIEW
                )
            except RetryAfter as exc:
                return Delivery("retry", error=str(exc), retry_after=retry_seconds(exc))
            except Forbidden as exc:  # blocked by the user, removed from the group
                return Delivery("undeliverable", error=f"Forbidden: {exc}")
            except ChatMigrated as exc:  # a group became a supergroup
                chat_id = exc.new_chat_id
            except BadRequest as exc:
                if parse_mode and "parse" in str(exc).lower():
                    log.warning("Telegram refused our HTML (%s); sending plain text", exc)
                    text, parse_mode = render_plain(part), None
                    continue
                return Delivery("undeliverable", error=f"BadRequest: {exc}")
            except InvalidToken as exc:
                return Delivery("retry", error=f"token rejected: {type(exc).__name__}")
            except TelegramError as exc:  # NetworkError, TimedOut, 5xx: Telegram is briefly unreachable
                return Delivery("retry", error=f"{type(exc).__name__}: {exc}")
        return Delivery("undeliverable", error="could not send after format fallback")

    # --- helpers ----------------------------------------------------------------------------------

    async def _quietly(self, coro: Coroutine[Any, Any, Any], what: str, timeout: float = QUICK) -> Any:
        """Cosmetic calls: a failure is logged, never raised, and never waits long."""
        try:
            async with asyncio.timeout(timeout):  # unlike wait_for, never swallows a cancellation
                return await coro
        except (TelegramError, TimeoutError) as exc:
            log.info("Telegram: %s failed: %s", what, exc)
            return None

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Telegram: background task %s failed", task.get_name(), exc_info=task.exception())


async def _cancel(tasks: list[asyncio.Task]) -> None:
    """Cancel and wait. A task inside asyncio.wait_for (the outbox worker's idle wait) can swallow a
    cancellation that arrives just as the wait ends (Python < 3.12), so cancel until it is done."""
    for task in tasks:
        while not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=0.5)
        if not task.cancelled() and task.exception() is not None:
            log.debug("task %s ended with %r", task.get_name(), task.exception())


# --- construction and settings --------------------------------------------------------------------


def make_bot(cfg: TelegramConfig) -> Bot:
    """The python-telegram-bot client. `base_url` may name a self-hosted Bot API server or a test
    server; it may contain {token} (else the token is appended, as Telegram's own URL expects)."""
    return Bot(
        cfg.token,
        base_url=cfg.base_url or "https://api.telegram.org/bot",
        request=HTTPXRequest(connection_pool_size=8, connect_timeout=10.0, read_timeout=20.0, write_timeout=20.0),
        get_updates_request=HTTPXRequest(connection_pool_size=2, connect_timeout=10.0, read_timeout=10.0),
    )


def webhook_secret(cfg: TelegramConfig) -> str:
    """The configured secret, or one derived from the token (stable across restarts, never empty)."""
    if cfg.secret_token:
        if not SECRET_RE.fullmatch(cfg.secret_token):
            raise ConfigError("telegram.secret_token: 1–256 characters of A-Z, a-z, 0-9, _ and - only")
        return cfg.secret_token
    return hashlib.sha256(("htx-bot webhook " + cfg.token).encode("utf-8")).hexdigest()[:48]


def webhook_path(url: str) -> str:
    path = urlsplit(url).path if url else ""
    return path if path and path != "/" else DEFAULT_WEBHOOK_PATH


def bot_commands(spec: dict[str, Any]) -> list[BotCommand]:
    commands = []
    for name, item in spec.items():
        item = item or {}
        if item.get("hidden"):
            continue
        if not re.fullmatch(r"[a-z0-9_]{1,32}", str(name)):
            log.warning("Telegram: command %r is not valid for Telegram (a-z, 0-9, _), left out", name)
            continue
        description = str(item.get("description") or name)[:256]
        commands.append(BotCommand(str(name), description))
    return commands[:100]


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 deprecates the int form of retry_after
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)

