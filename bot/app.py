"""The composition root: config → store → knowledge → engine → channels, built here and nowhere else.

Every part is chosen from an explicit list in this module: the handler table (`handlers.handlers_for`),
the channels (`CHANNELS`), the web routes (`make_webapp`). `bot/server.py` only runs what is built here;
the CLI and the tests build through `build()` too, so they all agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bot.config import Config, ConfigError, load_config
from bot.db import Store
from bot.engine import Engine, Knowledge
from bot.kb.loader import load
from bot.kb.model import KnowledgeBase

if TYPE_CHECKING:
    from aiohttp import web

    from bot.channels.telegram import TelegramService
    from bot.channels.zalo import ZaloService

log = logging.getLogger(__name__)
ReloadListener = Callable[[KnowledgeBase], None]
MAX_REQUEST = 1024 * 1024


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
    from handlers import handlers_for

    config = config or load_config(config_path)
    # Knowledge first: a broken knowledge base creates no database file.
    kb = load(config.knowledge.path or None, config.knowledge.overlay_path or None)
    store = Store(store_path or config.storage.path)
    engine = Engine(kb, store, config, handler_table=handlers_for)
    return App(config, kb, store, engine)


# --- channels ------------------------------------------------------------------------------------------


class Service(Protocol):
    """A channel beyond the web chat: routes on the shared server and/or background work.

    The adapter is handed the App (engine, store, config) when it is made; it never reaches for globals.
    """

    name: str

    def routes(self, webapp: web.Application) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


ServiceFactory = Callable[[App], Service]


@dataclass(frozen=True)
class Channel:
    """One optional channel: when its settings turn it on, and how to make its adapter.

    `load` imports the adapter module only for a channel that is on, so a library that is not installed
    costs nothing until the channel is configured — and then it stops start-up, naming the channel.
    """

    name: str
    setting: str  # what turns it on, for the error message
    enabled: Callable[[Config], bool]
    load: Callable[[], ServiceFactory]


def _telegram() -> Callable[[App], TelegramService]:
    from bot.channels.telegram import TelegramService

    return TelegramService


def _zalo() -> Callable[[App], ZaloService]:
    from bot.channels.zalo import ZaloService

    return ZaloService


CHANNELS: list[Channel] = [
    Channel("Telegram", "telegram.token / HTX_TELEGRAM_TOKEN", lambda c: c.telegram.enabled, _telegram),
    Channel("Zalo OA", "[zalo] oa_secret_key and a token", lambda c: c.zalo.enabled, _zalo),
]


def services(app: App, channels: list[Channel] | None = None) -> list[Service]:
    """The adapters of every configured channel. A channel that is configured but cannot start raises
    ConfigError naming it: a token set for nothing would otherwise leave members without answers."""
    made: list[Service] = []
    for channel in CHANNELS if channels is None else channels:
        if not channel.enabled(app.config):
            continue
        try:
            factory = channel.load()
        except ImportError as exc:
            raise ConfigError(
                f"{channel.name} is configured ({channel.setting}) but cannot start: {exc}. "
                f"Install the project's dependencies (pip install -e .), or clear {channel.setting}."
            ) from exc
        try:
            made.append(factory(app))
        except Exception as exc:  # a bad setting: ConfigError, or the library refusing it
            raise ConfigError(f"{channel.name} is configured but cannot start: {exc}") from exc
    return made


# --- the HTTP server -----------------------------------------------------------------------------------


def make_webapp(app: App, channel_services: list[Service]) -> web.Application:
    """The shared aiohttp application: web chat and staff console (when the web is on), then each
    channel's routes (webhooks). Routes only; `with_lifecycles` adds starting and stopping."""
    from aiohttp import web  # here, not at the top: `htx-bot ask` and the tests of answers need no server

    from bot.channels import web as web_channel
    from bot.console import views as console

    webapp = web.Application(client_max_size=MAX_REQUEST)
    if app.config.web.enabled:
        web_channel.setup(webapp, app)
        console.setup(webapp, app)
    for service in channel_services:
        service.routes(webapp)
    return webapp


def with_lifecycles(webapp: web.Application, app: App, channel_services: list[Service]) -> web.Application:
    """Start and stop everything with the server, in aiohttp's cleanup_ctx order: the store is closed
    last, unanswered messages are answered before any channel starts, channels stop in reverse order."""
    webapp.cleanup_ctx.append(_store_context(app))
    webapp.cleanup_ctx.append(_maintenance_context(app))
    webapp.cleanup_ctx.append(_recovery_context(app))
    webapp.cleanup_ctx.extend(_service_context(s) for s in channel_services)
    return webapp


Lifecycle = Callable[["web.Application"], AsyncIterator[None]]


def _store_context(app: App) -> Lifecycle:
    async def store(_: web.Application) -> AsyncIterator[None]:
        yield
        app.store.close()

    return store


def _maintenance_context(app: App) -> Lifecycle:
    """The daily retention job (bot/maintenance.py), stopped before the store closes."""

    async def maintenance(_: web.Application) -> AsyncIterator[None]:
        from bot.maintenance import retention_loop

        task = asyncio.create_task(retention_loop(app.store, app.config.storage.retention_days), name="retention")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return maintenance


def _recovery_context(app: App) -> Lifecycle:
    async def recovery(_: web.Application) -> AsyncIterator[None]:
        recovered = app.engine.recover()
        if recovered:
            log.info("answered %d message(s) left unanswered by the last run", recovered)
        yield

    return recovery


def _service_context(service: Service) -> Lifecycle:
    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        await service.start()
        yield
        try:
            await service.stop()
        except Exception:  # one channel failing to stop must not keep the others running
            log.exception("%s: stopping failed", service.name)

    return lifecycle
