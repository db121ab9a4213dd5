"""`htx-bot run`: one process, one event loop, every configured channel.

The HTTP server (web chat, staff console, webhooks) and the push channels (Telegram, Zalo's outbox)
share the loop. Channels plug in through SERVICES: a factory returns None when its keys are empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from typing import Protocol

from aiohttp import web

from bot.app import App, build
from bot.config import Config
from bot.kb.loader import KnowledgeError

log = logging.getLogger(__name__)
MAX_REQUEST = 1024 * 1024


class Service(Protocol):
    """A channel that needs more than the web chat: routes on the shared server and/or a background task."""

    name: str

    def routes(self, webapp: web.Application) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


ServiceFactory = Callable[[App], "Service | None"]
SERVICES: list[ServiceFactory] = []


def _load_services() -> None:
    """Channels register themselves on import; a missing optional channel module is not an error."""
    for module in ("bot.channels.telegram", "bot.channels.zalo"):
        with contextlib.suppress(ModuleNotFoundError):
            __import__(module)


def make_webapp(app: App, services: list[Service]) -> web.Application:
    from bot.channels import web as web_channel

    webapp = web.Application(client_max_size=MAX_REQUEST)
    if app.config.web.enabled:
        web_channel.setup(webapp, app)
        with contextlib.suppress(ImportError):
            from bot.console import views as console

            console.setup(webapp, app)
    for service in services:
        service.routes(webapp)
    return webapp


def serve(config: Config) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = build(config)
    asyncio.run(run(app))


async def run(app: App, stop: asyncio.Event | None = None) -> None:
    _load_services()
    services = [s for s in (factory(app) for factory in SERVICES) if s is not None]
    recovered = app.engine.recover()
    if recovered:
        log.info("answered %d message(s) left unanswered by the last run", recovered)
    webapp = make_webapp(app, services)
    runner = web.AppRunner(webapp, access_log=None)
    await runner.setup()
    host, port = app.config.web.host, app.config.web.port
    site = web.TCPSite(runner, host, port)
    await site.start()
    for service in services:
        await service.start()
    names = ", ".join(["web chat"] + [s.name for s in services]) if app.config.web.enabled else ", ".join(
        s.name for s in services)
    print(f"Trợ lý HTX is running ({names}); knowledge: {len(app.kb.entries)} entries; config: {app.config.source}")
    if app.config.web.enabled:
        print(f"  Web chat:      http://{host}:{port}/")
        print(f"  Staff console: http://{host}:{port}/console")
    hup = getattr(signal, "SIGHUP", None)  # not on Windows
    if hup is not None:
        print(f"  Reload knowledge: kill -HUP {os.getpid()}  (or the console's knowledge page)")
    print("Press Ctrl-C to stop.", flush=True)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    reloads: set[asyncio.Task] = set()

    def on_hup() -> None:
        task = asyncio.create_task(reload_knowledge(app), name="knowledge-reload")
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    if hup is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(hup, on_hup)
    try:
        await stop.wait()
    finally:
        if hup is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(hup)
        for task in list(reloads):
            task.cancel()  # the load in its thread finishes on its own; nothing is swapped in any more
        for service in services:
            with contextlib.suppress(Exception):
                await service.stop()
        await runner.cleanup()
        app.store.close()


async def reload_knowledge(app: App) -> bool:
    """SIGHUP: re-read knowledge/ and log how it went. On errors the bot keeps answering from the
    knowledge it had, so a half-finished edit never takes it down."""
    before = len(app.kb.entries)
    try:
        kb = await app.reload_async()
    except KnowledgeError as exc:
        log.error("knowledge not reloaded, still answering from the %d entries loaded before: %s", before, exc)
        return False
    except Exception:
        log.exception("knowledge not reloaded, still answering from the %d entries loaded before", before)
        return False
    log.info("knowledge reloaded: %d entries (before: %d)", len(kb.entries), before)
    return True
