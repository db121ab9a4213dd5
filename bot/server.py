"""`htx-bot run`: one process, one event loop, every configured channel.

Nothing is chosen here: `bot/app.py` builds the app, the channel adapters and the aiohttp application
(with their lifecycles in `cleanup_ctx`); this module binds the port, waits for a signal and reloads
the knowledge base on SIGHUP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

from aiohttp import web

from bot import logsafe
from bot.app import App, Service, build, make_webapp, services, with_lifecycles
from bot.config import Config
from bot.kb.loader import KnowledgeError

log = logging.getLogger(__name__)


def serve(config: Config) -> None:
    """Build everything first (a configured channel that cannot start stops here, with its name), then run."""
    logsafe.configure()  # no request URLs (they carry the bot token), tokens masked
    app = build(config)
    try:
        channel_services = services(app)
    except Exception:
        app.store.close()
        raise
    asyncio.run(run(app, channel_services=channel_services))


async def run(app: App, stop: asyncio.Event | None = None, channel_services: list[Service] | None = None) -> None:
    if channel_services is None:
        channel_services = services(app)
    webapp = with_lifecycles(make_webapp(app, channel_services), app, channel_services)
    runner = web.AppRunner(webapp, access_log=None)
    hup = getattr(signal, "SIGHUP", None)  # not on Windows
    reloads: set[asyncio.Task[bool]] = set()
    loop = asyncio.get_running_loop()
    try:
        await runner.setup()  # runs the cleanup_ctx start-ups: recovery, then each channel
        host, port = app.config.web.host, app.config.web.port
        await web.TCPSite(runner, host, port).start()
        _first_start(app)
        _announce(app, channel_services, hup is not None)
        stop = stop or asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)

        def on_hup() -> None:
            task = asyncio.create_task(reload_knowledge(app), name="knowledge-reload")
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        if hup is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(hup, on_hup)
        await stop.wait()
    finally:
        if hup is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(hup)
        for task in list(reloads):
            task.cancel()  # the load in its thread finishes on its own; nothing is swapped in any more
        await runner.cleanup()  # the cleanup_ctx shut-downs, in reverse: channels, then the store


def _announce(app: App, channel_services: list[Service], can_hup: bool) -> None:
    names = [s.name for s in channel_services]
    if app.config.web.enabled:
        names.insert(0, "web chat")
    print(f"Trợ lý HTX is running ({', '.join(names)}); knowledge: {len(app.kb.entries)} entries; "
          f"config: {app.config.source}")
    if app.config.web.enabled:
        host, port = app.config.web.host, app.config.web.port
        print(f"  Web chat:      http://{host}:{port}/")
        print(f"  Staff console: http://{host}:{port}/console")
    if can_hup:
        print(f"  Reload knowledge: kill -HUP {os.getpid()}  (or the console's knowledge page)")
    print("Press Ctrl-C to stop.", flush=True)


def _first_start(app: App) -> None:
    """A console with no account yet gets `admin`, its random password shown here once (stored hashed)."""
    if not app.config.web.enabled:
        return
    from bot.console.accounts import FIRST_ADMIN, first_admin

    password = first_admin(app.store)
    if password:
        print(f"  Tài khoản quản trị bảng điều khiển: {FIRST_ADMIN}  mật khẩu: {password}  (chỉ hiện lần này)")
        print(f"  Đổi mật khẩu: htx-bot staff passwd {FIRST_ADMIN}  (hoặc mục “Đổi mật khẩu” trong bảng điều khiển)",
              flush=True)
    if app.config.web.console_token:
        log.warning("web.console_token / HTX_CONSOLE_TOKEN is no longer used: staff log in with their own "
                    "accounts (htx-bot staff add USERNAME --role staff); remove the setting")
    if app.config.limits.proxy_header:
        log.warning("limits.proxy_header is no longer used: the web chat believes X-Forwarded-For only from "
                    "[web] trusted_proxies, as the console does; list your proxy there and remove the setting")


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
