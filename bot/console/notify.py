"""Telling a staff Telegram group about new tickets (`[console] telegram_notify_chat_id`; off by default).

The announcement is queued in the Telegram channel's outbox like any reply (origin "notify"), so it
gets the channel's retries, flood limits and message splitting; nothing here talks to Telegram.
A background task checks for tickets opened since the last one announced (kept in the kv table, so a
restart neither repeats nor floods: the first run starts from the newest ticket).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bot.app import App
from bot.db import Store
from bot.types import Reply
from handlers.render import short_label

log = logging.getLogger(__name__)
KV = "console_notified_ticket"
INTERVAL = 5.0  # seconds between checks
BATCH = 20
CHANNEL = "telegram"


def enabled(app: App) -> bool:
    """On when a group is set and the Telegram channel has a token to send with."""
    chat = app.config.console.telegram_notify_chat_id
    if chat and not app.config.telegram.token:
        log.warning("console.telegram_notify_chat_id is set but telegram.token is not: no announcements")
    return bool(chat and app.config.telegram.token)


def announcement(ticket: dict[str, Any], labels: dict[str, Any], public_url: str) -> str:
    """The group's message, in Vietnamese: number, channel, reason, a short quote and a link to open it."""
    channel = (labels.get("channels") or {}).get(ticket["channel"], ticket["channel"])
    reason = (labels.get("reasons") or {}).get(ticket["reason"], ticket["reason"])
    question = short_label(" ".join((ticket["text"] or "").split()), 200)
    lines = [f"🆕 **Phiếu hỏi #{ticket['id']}** · {channel} · {reason}", f"“{question}”"]
    if public_url:
        lines.append(f"Mở phiếu: {public_url.rstrip('/')}/console/tickets/{ticket['id']}")
    return "\n".join(lines)


def queue_announcements(store: Store, chat_id: int, labels: dict[str, Any], public_url: str) -> int:
    """Queue one message per ticket opened since the last announced one; how many were queued."""
    with store.transaction():
        last = store.get_kv(KV)
        if last is None or not last.isdigit():
            store.set_kv(KV, str(store.latest_ticket_id()))  # start from now, never announce the backlog
            return 0
        rows = store.tickets_since(int(last), BATCH)
        for ticket in rows:
            store.queue_reply(CHANNEL, str(chat_id), Reply(announcement(ticket, labels, public_url)), origin="notify")
        if rows:
            store.set_kv(KV, str(rows[-1]["id"]))
        return len(rows)


def lifecycle(app: App, labels: dict[str, Any]):
    """An aiohttp cleanup context running the check every INTERVAL seconds while the server runs."""

    async def run() -> None:
        chat_id = app.config.console.telegram_notify_chat_id
        while True:
            try:
                await app.store.run(queue_announcements, app.store, chat_id, labels, app.config.web.public_url)
            except Exception:
                log.exception("console: announcing new tickets failed")
            await asyncio.sleep(INTERVAL)

    async def context(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(run(), name="console-notify")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return context
