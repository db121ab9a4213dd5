"""Wiring: config → knowledge → store → engine. One place, so the CLI, tests and channels agree."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Config, load_config
from bot.db import Store
from bot.engine import Engine, Knowledge
from bot.kb.loader import load
from bot.kb.model import KnowledgeBase

log = logging.getLogger(__name__)
ReloadListener = Callable[[KnowledgeBase], None]


@dataclass
class App:
    config: Config
    kb: KnowledgeBase
    store: Store
    engine: Engine
    # Called with the new knowledge base after each reload (on the event loop when there is one), for
    # whatever keeps something derived from it: Telegram's command menu, for one.
    reload_listeners: list[ReloadListener] = field(default_factory=list, repr=False)
    _started: int = field(default=0, init=False, repr=False)
    _installed: int = field(default=0, init=False, repr=False)

    def reload(self, directory: Path | str | None = None) -> KnowledgeBase:
        """Re-read knowledge/ now, blocking (the CLI, tests). KnowledgeError leaves everything as it was."""
        self._started += 1
        ticket = self._started
        return self._install(self.engine.prepare(directory), ticket)

    async def reload_async(self, directory: Path | str | None = None) -> KnowledgeBase:
        """The same from the event loop: loading runs in a worker thread so chats keep being answered, and
        only the swap happens on the loop, between two messages. KnowledgeError: nothing changed."""
        self._started += 1
        ticket = self._started
        knowledge = await asyncio.to_thread(self.engine.prepare, directory)
        if ticket < self._installed:  # a reload started later finished first: it read newer files
            return self.kb
        return self._install(knowledge, ticket)

    def _install(self, knowledge: Knowledge, ticket: int) -> KnowledgeBase:
        self._installed = ticket
        self.kb = self.engine.install(knowledge)
        for listener in self.reload_listeners:
            try:
                listener(self.kb)
            except Exception:  # a channel's follow-up must not undo or hide a good reload
                log.exception("after reloading the knowledge base: %r failed", listener)
        return self.kb


def build(config: Config | None = None, config_path: str | Path | None = None, store_path: str | None = None) -> App:
    """Load everything; raises ConfigError or KnowledgeError with a message naming the problem."""
    config = config or load_config(config_path)
    kb = load(config.knowledge.path or None, config.knowledge.overlay_path or None)
    store = Store(store_path or config.storage.path)
    engine = Engine(kb, store, config)
    return App(config, kb, store, engine)
