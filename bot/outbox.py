"""Delivering queued replies: one worker per channel, retries with backoff, nothing sent twice.

A channel gives a `send(row)` coroutine that returns a Delivery. The row is marked sent only after
the platform accepted it; a crash between sending and marking can at worst repeat one message, never
lose one. The store's reads and writes run on its writer thread (`Store.run`), never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.db import Store

log = logging.getLogger(__name__)


@dataclass
class Delivery:
    status: str  # "sent", "retry", "undeliverable"
    platform_id: str | None = None
    error: str = ""
    retry_after: float | None = None  # seconds, when the platform said so (Telegram 429)


Sender = Callable[[dict[str, Any]], Awaitable[Delivery]]


def backoff(attempt: int, base: float = 2.0, cap: float = 600.0) -> float:
    return min(cap, base * (2 ** max(attempt - 1, 0)))


class OutboxWorker:
    def __init__(self, store: Store, channel: str, send: Sender, poll_interval: float = 0.5,
                 max_attempts: int = 8):
        self.store = store
        self.channel = channel
        self.send = send
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts
        self.wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None

    def notify(self) -> None:
        """Wake the worker now (a reply was just queued) instead of at the next poll."""
        self.wakeup.set()

    async def drain(self) -> int:
        """Try every due reply once, in order; returns how many were sent."""
        sent = 0
        store = self.store
        for row in await store.run(store.due_replies, self.channel):
            try:
                result = await self.send(row)
            except Exception as exc:  # network errors and bugs alike: retry later, log loudly
                log.exception("sending reply %s on %s failed", row["id"], self.channel)
                result = Delivery("retry", error=f"{type(exc).__name__}: {exc}")
            if result.status == "sent":
                await store.run(store.mark_sent, row["id"], result.platform_id)
                sent += 1
            elif result.status == "undeliverable":
                await store.run(store.mark_undeliverable, row["id"], result.error)
            else:
                delay = result.retry_after if result.retry_after is not None else backoff(row["attempts"] + 1)
                await store.run(store.mark_retry, row["id"], result.error, delay, self.max_attempts)
                if result.retry_after is not None:
                    # The platform asked us to slow down: stop this round, keep the order.
                    break
        return sent

    async def run(self) -> None:
        while True:
            try:
                await self.drain()
            except Exception:
                log.exception("outbox worker for %s", self.channel)
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that arrives
            # while the event fires, and stop() would then wait forever.
            try:
                async with asyncio.timeout(self.poll_interval):
                    await self.wakeup.wait()
            except TimeoutError:
                pass
            self.wakeup.clear()

    def start(self) -> asyncio.Task:
        self._task = asyncio.create_task(self.run(), name=f"outbox-{self.channel}")
        return self._task

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
