"""The Zalo Official Account channel: webhook in, consultation messages out through the outbox.

`bot/app.py` makes the service (`ZaloService(app)`) only when `[zalo]` has the OA secret key and a
token. Zalo never sends an event again once it got 200 for it, so the webhook commits the event to the
store first and acknowledges after; answering it happens afterwards in a task (a crash in between is
answered by `Engine.recover()` on the next start). Replies are only ever sent by the outbox worker, so
a reply Zalo did not take survives a restart and is retried. Zalo user ids never reach the log (`who`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels import Host
from bot.channels import zalo_webhook as hook
from bot.channels.zalo_api import ADMIN_ERRORS, TokenManager, ZaloAPI
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
ECHO_MEMORY = 600.0  # seconds: how long what we sent is remembered, to tell our echoes from staff's
SIGNATURE_LOG_EVERY = 60.0  # seconds between two log lines about refused signatures


def who(user_id: str) -> str:
    """A stable pseudonym for a Zalo user id in the log: the same member is recognisable across lines,
    the id itself (personal data) is not written."""
    return "user#" + hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:10]


def message_text(message: dict[str, Any]) -> str:
    """The text a CS message shows (plain, or inside a button template)."""
    text = message.get("text")
    if not isinstance(text, str):
        payload = message.get("attachment", {}).get("payload", {})
        text = payload.get("text") if isinstance(payload, dict) else ""
    return text.strip() if isinstance(text, str) else ""


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
        # Stored messages waiting for their answer, answered one at a time in arrival order: so at most
        # one answer is ahead of a new event's commit on the store's writer thread, and a burst of
        # events is still acknowledged within Zalo's 2 seconds.
        self._answers: asyncio.Queue[tuple[int, Incoming]] = asyncio.Queue()
        self._unanswered = 0
        self._answerer: asyncio.Task | None = None
        self._keeper: asyncio.Task | None = None
        # What this process sent lately (platform ids, and (user, text) while a call is under way), so
        # the `oa_send_*` echo of our own reply is not mistaken for a message staff typed in Zalo.
        self._sent_ids: dict[str, float] = {}
        self._sent_texts: dict[tuple[str, str], float] = {}
        self.signatures_refused = 0
        self.signatures_passed = 0
        self._signature_logged_at = -SIGNATURE_LOG_EVERY

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
        self._start_answerer()
        self._keeper = asyncio.create_task(self._keep_tokens(), name="zalo-tokens")

    async def stop(self) -> None:
        # Answer what is already stored (a message left over is answered by recover() at the next start).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                while self._unanswered and self._answerer is not None and not self._answerer.done():
                    await asyncio.sleep(0.01)
        if self._answerer:
            self._answerer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._answerer
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
        """Verify, store, acknowledge; answer afterwards in a task (Zalo wants 200 within ~2 s).

        Every event answered 200 is committed first: Zalo does not send an event again after a 200.
        When storing fails the answer is 500, and Zalo's retries (same msg_id) are stored once."""
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
            return self._refuse_signature(body, raw, header, request.remote)
        self.signatures_passed += 1
        name = str(body.get("event_name"))[:40]
        stale = hook.staleness(body, self.store.clock(), self.config.max_event_age_seconds,
                               self.config.clock_skew_seconds, request.headers.get("X-ZEvent-Timestamp"))
        if stale:
            log.warning("Zalo webhook: event %r not processed, outside the freshness window: %s", name, stale)
            return web.json_response({"ok": False, "error": "stale event"})
        event = hook.to_event(body)
        try:
            if event.action == "message" and event.incoming is not None:
                await self._accept(event.incoming)
            elif event.action == "echo":
                await self._record_echo(event)
            elif event.action == "unfollow":
                log.info("Zalo: %s unfollowed the OA", who(event.user_id))
            else:
                log.debug("Zalo webhook: ignored (%s)", event.reason)
        except Exception:  # not stored: no 200, so Zalo sends it again
            log.exception("Zalo webhook: could not store event %r", name)
            return web.json_response({"error": "not stored"}, status=500)
        return web.json_response({"ok": True})

    def _refuse_signature(self, body: dict[str, Any], raw: bytes, header: str | None,
                          remote: str | None) -> web.Response:
        """Not processed, not stored, answered 200 all the same: Zalo retries anything else and disables
        the webhook after its retries fail, so a key that does not match would otherwise also cost every
        genuine event after it. Logged (no member ids), at most once a minute."""
        self.signatures_refused += 1
        now = time.monotonic()
        if now - self._signature_logged_at >= SIGNATURE_LOG_EVERY:
            self._signature_logged_at = now
            why = "no X-ZEvent-Signature header" if not header else "X-ZEvent-Signature does not match"
            log.warning("Zalo webhook: event %r (%d bytes, from %s) refused: %s. Answered 200, not processed. "
                        "Refused so far: %d, accepted: %d (docs/zalo.md, 'Signature failures').",
                        str(body.get("event_name"))[:40], len(raw), remote, why, self.signatures_refused,
                        self.signatures_passed)
        if self.signatures_passed == 0 and self.signatures_refused == 3:
            log.error("Zalo webhook: no event has passed the signature check since start: check that "
                      "zalo.oa_secret_key is the OA Secret Key of this OA and zalo.app_id its app's id "
                      "(docs/zalo.md, 'Signature failures')")
        return web.json_response({"ok": False, "error": "bad signature"})

    def busy(self) -> bool:
        """Stored messages not yet answered (for tests and shutdown)."""
        return self._unanswered > 0

    def _start_answerer(self) -> None:
        if self._answerer is None or self._answerer.done():
            self._answerer = asyncio.create_task(self._answer_loop(), name="zalo-answers")

    async def _accept(self, inc: Incoming) -> None:
        """Commit the message (on the store's thread); it is answered afterwards, in arrival order."""
        message_id, duplicate = await self.store.run(self.app.engine.accept, inc)
        if duplicate:
            log.debug("Zalo webhook: event %s already stored", message_id)
            return
        self._unanswered += 1
        self._answers.put_nowait((message_id, inc))
        self._start_answerer()

    async def _answer_loop(self) -> None:
        while True:
            message_id, inc = await self._answers.get()
            try:
                await self._answer(message_id, inc)
            finally:
                self._unanswered -= 1

    async def _answer(self, message_id: int, inc: Incoming) -> None:
        store = self.store
        try:
            sent = await store.run(self.app.engine.answer, message_id, inc)
            # The member wrote, so the reply window is open again for answers it blocked before.
            requeued = await store.run(store.requeue_closed_window, CHANNEL, inc.user_key)
        except Exception:  # the message stays 'received': answered by recover() at the next start
            log.exception("Zalo: answering message %s failed", message_id)
            return
        if sent or requeued:
            self.worker.notify()

    async def _record_echo(self, event: hook.Event) -> None:
        """An `oa_send_*` event: our own reply (known id or text) is skipped; anything else was typed by
        staff in Zalo's OA manager and is stored as a sent staff reply, so the console shows it."""
        self._forget_old()
        if event.msg_id in self._sent_ids or (event.user_id, event.text) in self._sent_texts:
            return
        rid = await self.store.run(self.store.record_sent_elsewhere, CHANNEL, event.user_id, event.text,
                                   event.msg_id, "staff")
        if rid is not None:
            log.info("Zalo: a message staff sent from the OA manager to %s is stored as reply %s",
                     who(event.user_id), rid)

    def _remember(self, user_key: str, message: dict[str, Any], message_id: str | None = None) -> None:
        now = time.monotonic()
        self._sent_texts[(user_key, message_text(message))] = now
        if message_id:
            self._sent_ids[message_id] = now

    def _forget_old(self) -> None:
        cutoff = time.monotonic() - ECHO_MEMORY
        self._sent_ids = {k: at for k, at in self._sent_ids.items() if at >= cutoff}
        self._sent_texts = {k: at for k, at in self._sent_texts.items() if at >= cutoff}

    # --- delivery ---------------------------------------------------------------------------------

    def reply_window(self, last_seen: float | None, now: float) -> tuple[str, str]:
        """May a CS message go to a member whose last interaction was at `last_seen`?

        ("free", "") within `free_reply_hours`; ("billed", "") after it, up to `max_reply_days`, when
        `allow_billed_replies`; else ("closed", reason) — Vietnamese first (staff read it in the console),
        then the English detail. Every reason says "reply window": a staff answer refused here is queued
        again when the member writes (`Store.requeue_closed_window`)."""
        cfg = self.config
        free, days = cfg.free_reply_hours, cfg.max_reply_days
        if last_seen is None:
            return "closed", ("Thành viên chưa nhắn cho OA nên Zalo không cho gửi tin tư vấn "
                              "(reply window: no interaction recorded)")
        age = now - float(last_seen)
        hours = f"{age / 3600:.1f} h"
        if age <= free * 3600:
            return "free", ""
        if age > days * 86400:
            return "closed", (f"Đã quá {days} ngày kể từ lần cuối thành viên nhắn cho OA: Zalo không cho gửi "
                              f"tin tư vấn nữa (reply window closed: last interaction {hours} ago)")
        if cfg.allow_billed_replies:
            return "billed", ""
        return "closed", (f"Đã quá {free} giờ kể từ lần cuối thành viên nhắn cho OA: Zalo tính phí tin tư vấn "
                          f"từ giờ thứ {free} đến ngày thứ {days}, và bot đang tắt gửi tin tính phí "
                          f"(reply window: last interaction {hours} ago; zalo.allow_billed_replies is off)")

    async def send(self, row: dict[str, Any]) -> Delivery:
        """Deliver one queued reply (maybe several CS messages); resumes after the parts already sent."""
        store = self.store
        user_key = row["user_key"]
        user = await store.run(store.user, CHANNEL, user_key)
        band, reason = self.reply_window(user.get("last_seen_at"), store.clock())
        if band == "closed":
            await store.run(self._forget_progress, row["id"])
            return Delivery("undeliverable", error=reason)
        if band == "billed":
            log.info("Zalo reply %s goes out in Zalo's billed band (%d h to %d days after the last message)",
                     row["id"], self.config.free_reply_hours, self.config.max_reply_days)
        messages = render(row["text"], row["buttons"], self.config,
                          self.app.kb.texts.get("more_choices", "…"))
        done = await store.run(self._progress, row["id"])
        for index in range(len(done), len(messages)):
            self._remember(user_key, messages[index])
            result = await self.api.send_cs(user_key, messages[index])
            if result.status == "sent":
                self._remember(user_key, messages[index], result.message_id)
                done.append(result.message_id or "")
                if index + 1 < len(messages):
                    await store.run(self._save_progress, row["id"], done)
                continue
            where = f" (part {index + 1} of {len(messages)})" if len(messages) > 1 else ""
            log.warning("Zalo reply %s to %s not sent%s: %s", row["id"], who(user_key), where, result.error)
            if result.code in ADMIN_ERRORS:
                log.error("Zalo refuses every reply until an OA or app admin acts: %s", result.error)
            if result.status == "undeliverable":
                await store.run(self._forget_progress, row["id"])
                return Delivery("undeliverable", error=result.error + where)
            return Delivery("retry", error=result.error + where, retry_after=result.retry_after)
        await store.run(self._forget_progress, row["id"])
        return Delivery("sent", platform_id=",".join(done) or None)

    # Progress of multi-part replies, in kv; these run on the store's thread (`store.run`).

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

