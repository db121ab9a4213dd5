"""Limits per client address, for requests that arrive without any user identity (cookie-less web posts).

The engine limits each user; a script that drops the cookie is a new user on every post, so the web
chat also counts per address. Behind a reverse proxy every request comes from the proxy: the client's
address is then the one the proxy forwarded, believed only from `web.trusted_proxies` (bot/proxies.py),
since any client can send an X-Forwarded-For of its choosing.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_TRACKED = 10_000


class Window:
    """At most `limit` events per key in any `seconds`; memory bounded by `MAX_TRACKED` keys."""

    def __init__(self, limit: int, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.seconds = seconds
        self.clock = clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str) -> bool:
        """Count one event for `key` unless it is over the limit (0 = no limit); True when allowed."""
        if self.limit <= 0:
            return True
        now = self.clock()
        events = self._events.pop(key, None) or deque()
        while events and now - events[0] >= self.seconds:
            events.popleft()
        allowed = len(events) < self.limit
        if allowed:
            events.append(now)
        self._events[key] = events  # most recently seen last
        while len(self._events) > MAX_TRACKED:
            self._events.popitem(last=False)
        return allowed


class AddressLimits:
    """The web chat's two limits per client address: messages a minute, new users (no cookie) an hour."""

    def __init__(self, messages_per_minute: int, new_users_per_hour: int,
                 clock: Callable[[], float] = time.monotonic):
        self.messages = Window(messages_per_minute, 60, clock)
        self.new_users = Window(new_users_per_hour, 3600, clock)

    def allow(self, address: str, new_user: bool) -> bool:
        if new_user and not self.new_users.allow(address):
            return False
        return self.messages.allow(address)
