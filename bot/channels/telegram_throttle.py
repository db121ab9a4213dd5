"""Telegram's flood limits as token buckets: ~1 message/s per chat, 20/min per group, ~30/s overall.

Telegram tolerates short bursts in one chat, so a chat may send a few messages at once (an answer plus
a note) and is then held to the average rate. Waiting here is cheaper than a 429 and its retry_after.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

EPSILON = 1e-6  # float rounding must not turn a full wait into an endless series of tiny ones


@dataclass
class Bucket:
    rate: float  # tokens per second
    burst: float  # capacity
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait(self, now: float) -> float:
        self.refill(now)
        return 0.0 if self.tokens >= 1 - EPSILON else (1 - self.tokens) / self.rate


class Throttle:
    def __init__(
        self,
        chat_rate: float = 1.0,
        chat_burst: float = 3,
        group_rate: float = 20 / 60,
        group_burst: float = 3,
        overall_rate: float = 30.0,
        overall_burst: float = 30,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.chat = (chat_rate, chat_burst)
        self.group = (group_rate, group_burst)
        self.clock = clock
        self.sleep = sleep
        self.overall = Bucket(overall_rate, overall_burst, overall_burst, clock())
        self.chats: dict[int, Bucket] = {}

    def _bucket(self, chat_id: int, now: float) -> Bucket:
        bucket = self.chats.get(chat_id)
        if bucket is None:
            if len(self.chats) > 10_000:
                self._forget_idle(now)
            rate, burst = self.group if chat_id < 0 else self.chat  # groups have negative ids
            bucket = self.chats[chat_id] = Bucket(rate, burst, burst, now)
        return bucket

    def _forget_idle(self, now: float) -> None:
        for key, bucket in list(self.chats.items()):
            bucket.refill(now)
            if bucket.tokens >= bucket.burst:
                del self.chats[key]

    def delay(self, chat_id: int) -> float:
        """Seconds to wait before a message to `chat_id` keeps within both limits."""
        now = self.clock()
        return max(self._bucket(chat_id, now).wait(now), self.overall.wait(now))

    async def acquire(self, chat_id: int) -> None:
        """Wait for a slot, then take it."""
        while (wait := self.delay(chat_id)) > 0:
            await self.sleep(wait)
        self.chats[chat_id].tokens -= 1
        self.overall.tokens -= 1
