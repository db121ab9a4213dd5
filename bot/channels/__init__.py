"""Channel adapters: thin translations between a platform and the engine's Incoming/Reply.

An adapter is handed a `Host` by the composition root (bot/app.py) and takes what it needs from it —
the engine to answer, the store for its outbox, its own settings — so no adapter reaches for a global
or imports the server. `bot.app.App` is the Host the running bot hands over; tests may hand another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.config import Config
    from bot.db import Store
    from bot.engine import Engine
    from bot.kb.model import KnowledgeBase


class Host(Protocol):
    """What a channel adapter may use."""

    @property
    def config(self) -> Config: ...

    @property
    def store(self) -> Store: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base answering now (it changes with each reload)."""
        ...

    @property
    def reload_listeners(self) -> list[Callable[[KnowledgeBase], None]]:
        """Called with the new knowledge base after each reload."""
        ...
