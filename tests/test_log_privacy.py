"""No personal data and no secrets in the logs: user keys, names, phone numbers, texts, the bot token."""

from __future__ import annotations

import logging

from aiohttp import web
from scripted import CHAT_ID, USER_NAME, TelegramHarness

from bot import logsafe
from bot.channels import web as web_channel
from bot.types import Reply

PHONE = "0366554433"


def leaked(caplog, *secrets: str) -> list[str]:
    lines = []
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        if record.exc_info and not record.exc_text:
            text += logging.Formatter().formatException(record.exc_info)
        lines += [f"{record.name}: {s!r} in {text[:200]!r}" for s in secrets if s and s in text]
    return lines


def production_levels(caplog) -> None:
    """What `htx-bot run` logs: INFO, without the URL-per-request loggers (bot/logsafe.py)."""
    caplog.set_level(logging.INFO)
    for name in logsafe.NOISY:
        caplog.set_level(logging.WARNING, logger=name)


async def test_telegram_flows_log_no_user_and_no_token(app, fake_telegram, caplog, monkeypatch):
    production_levels(caplog)
    harness = await TelegramHarness(app, fake_telegram).start()
    try:
        await harness.say(f"số tôi {PHONE}, htx là gì")
        await harness.say("/xoadulieu")
        fake_telegram.fail("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
        rid = app.store.queue_reply("telegram", str(CHAT_ID), Reply(f"gọi {PHONE}"))
        harness.service.worker.notify()
        for _ in range(200):
            if app.store.conn.execute("select status from replies where id = ?", (rid,)).fetchone()[0] != "pending":
                break
            await __import__("asyncio").sleep(0.01)
    finally:
        await harness.stop()
    token_secret = fake_telegram.token.split(":", 1)[1]
    assert leaked(caplog, str(CHAT_ID), USER_NAME, PHONE, token_secret) == []


async def test_a_failing_handler_logs_the_message_id_only(app, aiohttp_client, caplog, monkeypatch):
    production_levels(caplog)

    def boom(ctx, state, msg):
        raise RuntimeError("handler bug")

    monkeypatch.setitem(app.engine.handlers, "faq", boom)
    webapp = web.Application()
    web_channel.setup(webapp, app)
    client = await aiohttp_client(webapp)
    await client.get("/")
    uid = client.session.cookie_jar.filter_cookies(client.make_url("/"))[web_channel.COOKIE].value
    resp = await client.post("/api/message", json={"text": f"gọi tôi {PHONE}"})
    assert resp.status == 200 and any("handling message" in r.getMessage() for r in caplog.records)
    assert leaked(caplog, uid, PHONE) == []


def test_tokens_are_masked_and_pseudonyms_are_stable_within_a_run(caplog):
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "GET %s", ("https://api.telegram.org/bot"
                               "123456789:AAHk-very-secret-token-value-0123456789/getMe",), None)
    logsafe.RedactSecrets().filter(record)
    assert "secret-token" not in record.getMessage() and "<token>" in record.getMessage()
    # A key as long as a real chat id: a 2-digit one turned up inside the 10 hex digits by chance (~3% of runs).
    assert logsafe.pseudonym("987654321") == logsafe.pseudonym(987654321) != logsafe.pseudonym("987654322")
    assert "987654321" not in logsafe.pseudonym("987654321")


def test_the_running_bot_does_not_log_request_urls():
    logsafe.configure()
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    assert any(isinstance(f, logsafe.RedactSecrets) for h in logging.getLogger().handlers for f in h.filters)
