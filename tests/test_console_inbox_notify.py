"""New tickets announced to a staff Telegram group through the Telegram channel's outbox (fake Bot API)."""

from __future__ import annotations

import pytest
from fake_telegram import FakeTelegram
from scripted import TelegramHarness, wait_until
from test_console import GIBBERISH

from bot.app import make_webapp
from bot.console import notify
from bot.console.views import CONSOLE_KEY
from bot.types import Incoming

GROUP = -100777


@pytest.fixture
async def fake():
    server = await FakeTelegram().start()
    yield server
    await server.close()


@pytest.fixture
async def telegram(app, fake):
    harness = await TelegramHarness(app, fake).start()
    yield harness
    await harness.stop()


async def test_new_ticket_is_announced_to_the_staff_group(app, telegram, fake, aiohttp_client, monkeypatch):
    monkeypatch.setattr(notify, "INTERVAL", 0.05)
    app.engine.handle(Incoming("web", "old", text=GIBBERISH + " cũ"))  # before the announcer ran: not announced
    app.config.console.telegram_notify_chat_id = GROUP
    app.config.web.public_url = "https://htx.example.vn/"
    await aiohttp_client(make_webapp(app, []))
    await wait_until(lambda: app.store.get_kv(notify.KV) is not None, "the announcer to start")

    app.engine.handle(Incoming("zalo", "z1", text=GIBBERISH + " <b>mới</b>"))
    [ticket] = [t for t in app.store.tickets() if t["user_key"] == "z1"]
    [message] = await wait_until(lambda: fake.sent_to(GROUP), "the announcement")
    assert f"Phiếu hỏi #{ticket['id']}" in message["text"] and "Zalo" in message["text"]
    assert "<b>mới</b>" in message["text"] and "&lt;b&gt;mới" in message["html"]  # the member's words, escaped
    assert f"https://htx.example.vn/console/tickets/{ticket['id']}" in message["text"]
    assert "cũ" not in message["text"]
    def notified():
        return app.store.conn.execute("select * from replies where origin = 'notify'").fetchone()

    await wait_until(lambda: notified()["status"] == "sent", "the outbox to mark it sent")
    assert (notified()["channel"], notified()["user_key"]) == ("telegram", str(GROUP))
    assert app.store.get_kv(notify.KV) == str(ticket["id"])


async def test_off_by_default_and_without_a_telegram_token(app, aiohttp_client):
    client = await aiohttp_client(make_webapp(app, []))
    assert not notify.enabled(client.server.app[CONSOLE_KEY].app)
    app.config.console.telegram_notify_chat_id = GROUP
    assert not notify.enabled(app)  # no telegram.token: nothing to send with
    app.config.telegram.token = "123:abc"
    assert notify.enabled(app)


def test_queue_starts_from_now_and_never_repeats(app):
    app.engine.handle(Incoming("telegram", "1", text=GIBBERISH))
    assert notify.queue_announcements(app.store, GROUP, {}, "") == 0  # the first run only remembers where it is
    assert notify.queue_announcements(app.store, GROUP, {}, "") == 0
    app.engine.handle(Incoming("telegram", "2", text=GIBBERISH + " hai"))
    app.engine.handle(Incoming("telegram", "3", text=GIBBERISH + " ba"))
    assert notify.queue_announcements(app.store, GROUP, {}, "") == 2
    assert notify.queue_announcements(app.store, GROUP, {}, "") == 0
    texts = [r["text"] for r in app.store.conn.execute("select text from replies where origin = 'notify' order by id")]
    assert ["hai" in texts[0], "ba" in texts[1]] == [True, True]
    assert not any("/console/tickets" in t for t in texts)  # no public_url: no link
