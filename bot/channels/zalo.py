"""The Zalo Official Account channel: webhook in, consultation messages out through the outbox.

`bot/app.py` makes the service (`ZaloService(app)`) only when `[zalo]` has the OA secret key and a
token. The webhook checks the signature, answers 200
at once and hands the event to the engine in a task; replies are only ever sent by the outbox worker,
so a reply Zalo did not take survives a restart and is retried, and nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels import Host
from bot.channels import zalo_webhook as hook
from bot.channels.zalo_api import TokenManager, ZaloAPI
from bot.config import ZaloConfig
from bot.markup import split, to_plain
from bot.outbox import Delivery, OutboxWorker
from bot.types import Incoming

log = logging.getLogger(__name__)

CHANNEL = hook.CHANNEL
TEXT_LIMIT = 2000  # characters per CS text message
MAX_BODY = 256 * 1024  # real events are a few hundred bytes
KV_PROGRESS = "zalo.progress"  # reply id -> ids of the parts already sent, for multi-part replies
BUTTON_TYPE = "oa.query.hide"  # the tap comes back as a message the member does not see in the chat


def render(text: str, buttons: list[list[Any]], config: ZaloConfig, more_text: str) -> list[dict[str, Any]]:
    """One reply as the CS messages that carry it: text split at 2000 characters, buttons on the last
    part, and buttons beyond the per-message limit in follow-up messages headed `more_text`."""
    plain = to_plain(text).strip() or "…"
    parts = split(plain, TEXT_LIMIT)
    flat = [_button(b, config) for row in buttons for b in row]
    step = max(1, config.max_buttons)
    chunks = [flat[i:i + step] for i in range(0, len(flat), step)]
    messages: list[dict[str, Any]] = [{"text": p} for p in parts]
    if chunks:
        messages[-1] = _with_buttons(parts[-1], chunks[0], config)
        messages.extend(_with_buttons(more_text, chunk, config) for chunk in chunks[1:])
    return messages


def _button(button: Any, config: ZaloConfig) -> dict[str, str]:
    label = button["label"] if isinstance(button, dict) else button.label
    payload = button["payload"] if isinstance(button, dict) else button.payload
    limit = config.button_title_chars
    title = label if len(label) <= limit else label[: limit - 1].rstrip() + "…"
    return {"title": title, "type": BUTTON_TYPE, "payload": hook.PAYLOAD_PREFIX + payload}


def _with_buttons(text: str, buttons: list[dict[str, str]], config: ZaloConfig) -> dict[str, Any]:
    if config.button_format == "button":
        return {"attachment": {"type": "template",
                               "payload": {"template_type": "button", "text": text, "buttons": buttons}}}
    return {"text": text, "attachment": {"type": "template", "payload": {"buttons": buttons}}}


class ZaloService:
    """Routes on the shared aiohttp app, plus the outbox worker and the token keeper."""

    name = "Zalo OA"

    def __init__(self, app: Host, poll_interval: float = 0.5):
        self.app = app
        self.config = app.config.zalo
        self.store = app.store
        self._session: aiohttp.ClientSession | None = None
        self.tokens = TokenManager(self.config, self.store, self._get_session, clock=self.store.clock)
        self.api = ZaloAPI(self.config, self.tokens, self._get_session)
        self.worker = OutboxWorker(self.store, CHANNEL, self.send, poll_interval=poll_interval)
        self._tasks: set[asyncio.Task] = set()
        self._keeper: asyncio.Task | None = None

    # --- lifecycle --------------------------------------------------------------------------------

    def routes(self, webapp: web.Application) -> None:
        path = self.config.webhook_path or "/zalo/webhook"
        webapp.router.add_post(path, self.webhook)
        webapp.router.add_get(path, self.probe)

    async def start(self) -> None:
        if self.config.refresh_token and not (self.config.app_id and self.config.app_secret):
            log.warning("zalo.refresh_token is set but zalo.app_id/app_secret are not: the access token "
                        "cannot be refreshed and will stop working after about 25 hours")
        self._get_session()
        self.worker.start()
        self._keeper = asyncio.create_task(self._keep_tokens(), name="zalo-tokens")

    async def stop(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._keeper:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        await self.worker.stop()
        if self._session and not self._session.closed:
            await self._session.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
        return self._session

    async def _keep_tokens(self) -> None:
        """Refresh ahead of expiry even when nobody writes, so the rotating chain never lapses."""
        while True:
            try:
                await self.tokens.token()
            except Exception:
                log.exception("Zalo token keeper")
            wait = self.tokens.seconds_to_refresh()
            if wait is None:
                return
            wait = max(wait, self.tokens.failed_until - self.store.clock(), 1.0)
            await asyncio.sleep(min(wait, 3600.0))

    # --- webhook ----------------------------------------------------------------------------------

    async def probe(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def webhook(self, request: web.Request) -> web.Response:
        """Verify, acknowledge, and leave the work to a task (Zalo wants 200 within ~2 s)."""
        if request.content_length and request.content_length > MAX_BODY:
            return web.json_response({"error": "too large"}, status=413)
        raw = await _read_body(request)
        if raw is None:
            return web.json_response({"error": "too large"}, status=413)
        header = request.headers.get("X-ZEvent-Signature")
        if hook.is_probe(raw, header):
            return web.json_response({"ok": True})
        body = hook.decode(raw)
        if body is None:
            log.warning("Zalo webhook: body is not a JSON object (%d bytes)", len(raw))
            return web.json_response({"error": "bad request"}, status=400)
        variant = hook.verify(raw, header, body, self.config.app_id, self.config.oa_secret_key,
                              self.config.app_secret, request.headers.get("X-ZEvent-Timestamp"))
        if variant is None:
            log.warning("Zalo webhook: rejected an event with a missing or wrong signature (event %r, from %s)",
                        str(body.get("event_name"))[:40], request.remote)
            return web.json_response({"error": "bad signature"}, status=401)
        event = hook.to_event(body)
        if event.action == "message" and event.incoming is not None:
            task = asyncio.create_task(self._handle(event.incoming))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif event.action == "unfollow":
            log.info("Zalo user %s unfollowed the OA", event.user_id)
        else:
            log.debug("Zalo webhook: ignored (%s)", event.reason)
        return web.json_response({"ok": True})

    async def _handle(self, inc: Incoming) -> None:
        try:
            sent = self.app.engine.handle(inc)
            # The member wrote, so the reply window is open again for answers it blocked before.
            requeued = self.store.requeue_closed_window(CHANNEL, inc.user_key)
        except Exception:
            log.exception("Zalo: handling an event from %s failed", inc.user_key)
            return
        if sent or requeued:
            self.worker.notify()

    # --- delivery ---------------------------------------------------------------------------------

    async def send(self, row: dict[str, Any]) -> Delivery:
        """Deliver one queued reply (maybe several CS messages); resumes after the parts already sent."""
        user_key = row["user_key"]
        user = self.store.user(CHANNEL, user_key)
        last = user.get("last_seen_at")
        window = self.config.reply_window_hours * 3600
        if last is None or self.store.clock() - float(last) > window:
            self._forget_progress(row["id"])
            return Delivery("undeliverable", error=(
                f"outside Zalo's {self.config.reply_window_hours}-hour reply window: the member's last "
                "message is too old for a consultation message"))
        messages = render(row["text"], row["buttons"], self.config,
                          self.app.kb.texts.get("more_choices", "…"))
        done = self._progress(row["id"])
        for index in range(len(done), len(messages)):
            result = await self.api.send_cs(user_key, messages[index])
            if result.status == "sent":
                done.append(result.message_id or "")
                if index + 1 < len(messages):
                    self._save_progress(row["id"], done)
                continue
            where = f" (part {index + 1} of {len(messages)})" if len(messages) > 1 else ""
            log.warning("Zalo reply %s to %s not sent%s: %s", row["id"], user_key, where, result.error)
            if result.status == "undeliverable":
                self._forget_progress(row["id"])
                return Delivery("undeliverable", error=result.error + where)
            return Delivery("retry", error=result.error + where, retry_after=result.retry_after)
        self._forget_progress(row["id"])
        return Delivery("sent", platform_id=",".join(done) or None)

    def _progress_all(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.store.get_kv(KV_PROGRESS) or "{}")
        except json.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}

    def _progress(self, reply_id: int) -> list[str]:
        done = self._progress_all().get(str(reply_id))
        return list(done) if isinstance(done, list) else []

    def _save_progress(self, reply_id: int, done: list[str]) -> None:
        data = self._progress_all()
        data[str(reply_id)] = done
        self.store.set_kv(KV_PROGRESS, json.dumps(data))

    def _forget_progress(self, reply_id: int) -> None:
        data = self._progress_all()
        if data.pop(str(reply_id), None) is not None:
            self.store.set_kv(KV_PROGRESS, json.dumps(data))


async def _read_body(request: web.Request) -> bytes | None:
    """The exact body bytes (the MAC covers them), or None past MAX_BODY; reads every chunk."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)

