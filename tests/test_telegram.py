"""The Telegram channel end to end: the real python-telegram-bot client over HTTP on 127.0.0.1 against
a fake Bot API server (tests/fake_telegram.py), plus unit tests of its limits (split, callback data,
flood control, which group messages it answers).

Time in the outbox is the store's clock, which these tests move by hand: a retry is due when the test
says so, never after a real sleep.
"""

from __future__ import annotations

import asyncio
import socket
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from clock import Clock
from fake_telegram import FakeTelegram, visible_text
from scripted import CHAT_ID, USER_NAME, TelegramHarness, comparable, run_telegram, run_web, tune, wait_until
from telegram import Bot, Update

from bot.app import App
from bot.channels import telegram as tgmod
from bot.channels.telegram_format import HASH_PREFIX, CallbackKeys, split_message, utf16_len
from bot.channels.telegram_inbound import BotIdentity, incoming
from bot.channels.telegram_throttle import Throttle
from bot.config import ConfigError
from bot.db import Store
from bot.engine import Engine
from bot.markup import to_plain
from bot.outbox import backoff
from bot.types import Button, Reply

GROUP = -100777




@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_app(config, kb, searcher, path, clock=None) -> App:
    config.storage.path = str(path)
    store = Store(config.storage.path, clock=clock or time.time)
    return App(config, kb, store, Engine(kb, store, config, searcher=searcher))


@pytest.fixture
def tg_app(config, kb, searcher, clock, tmp_path):
    app = make_app(config, kb, searcher, tmp_path / "tg.sqlite3", clock)
    yield app
    app.store.close()


@pytest.fixture
async def fake():
    server = await FakeTelegram().start()
    yield server
    await server.close()


@pytest.fixture
async def tg(tg_app, fake):
    harness = await TelegramHarness(tg_app, fake).start()
    yield harness
    await harness.stop()


def texts(messages):
    return [m["text"] for m in messages]


def labels(message):
    return [[b["text"] for b in row] for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])]


def reply_row(app, reply_id):
    return app.store.conn.execute("select * from replies where id = ?", (reply_id,)).fetchone()


async def delivered(harness, reply_id):
    await wait_until(lambda: reply_row(harness.app, reply_id)["status"] != "pending", f"reply {reply_id}")
    return reply_row(harness.app, reply_id)


def answer_question(app) -> str:
    """A question the knowledge base answers directly (first example entry's first phrasing)."""
    for entry_id in app.kb.ui.get("examples") or []:
        entry = app.kb.entries.get(entry_id)
        if entry and app.engine.preview(entry.questions[0]).meta.get("kind") == "answer":
            return entry.questions[0]
    raise AssertionError("no directly answered example question")


# --- start-up, commands, deep links ---------------------------------------------------------------


def test_the_composition_root_makes_telegram_only_when_a_token_is_set(app):
    from bot.app import services

    app.config.telegram.token = ""
    assert not any(isinstance(s, tgmod.TelegramService) for s in services(app))
    app.config.telegram.token = "1:abc"
    made = [s for s in services(app) if isinstance(s, tgmod.TelegramService)]
    assert len(made) == 1 and made[0].app is app


def test_a_configured_channel_that_cannot_start_stops_start_up_naming_it(app, monkeypatch):
    """A token set while python-telegram-bot is missing must not be ignored silently."""
    import builtins
    import sys

    from bot import app as composition

    real_import = builtins.__import__

    def no_telegram(name, *args, **kwargs):
        if name == "telegram" or name.startswith("telegram.") or name == "bot.channels.telegram":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "bot.channels.telegram")
    monkeypatch.setattr(builtins, "__import__", no_telegram)
    app.config.telegram.token = ""
    assert composition.services(app) == []  # not configured: nothing to import, nothing to say
    app.config.telegram.token = "1:abc"
    with pytest.raises(ConfigError) as err:
        composition.services(app)
    assert "Telegram is configured" in str(err.value) and "HTX_TELEGRAM_TOKEN" in str(err.value)


def test_a_configured_channel_with_bad_settings_stops_start_up_naming_it(app):
    from bot.app import services

    app.config.telegram.token = "1:abc"
    app.config.telegram.mode = "webhook"
    app.config.telegram.webhook_url = "https://htx.example.org/hook"
    app.config.telegram.secret_token = "not valid!"
    with pytest.raises(ConfigError, match="Telegram is configured but cannot start: telegram.secret_token"):
        services(app)


def test_htx_bot_run_refuses_to_start_with_a_channel_it_cannot_start(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from bot import app as composition
    from bot.cli import main

    def broken() -> None:
        raise ModuleNotFoundError("No module named 'telegram'", name="telegram")

    monkeypatch.setattr(composition, "CHANNELS", [
        composition.Channel("Telegram", "telegram.token / HTX_TELEGRAM_TOKEN", lambda c: True, broken)])
    monkeypatch.setenv("HTX_TELEGRAM_TOKEN", "1:abc")
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "--config", str(config)])
    assert result.exit_code == 2
    assert "refusing to start: Telegram is configured" in result.output


async def test_start_sets_vietnamese_commands_and_honours_deep_link(tg, fake):
    ui_commands = tg.app.kb.ui["commands"]
    expected = [{"command": name, "description": spec["description"]}
                for name, spec in ui_commands.items() if not spec.get("hidden")]
    assert fake.commands == expected
    assert any(spec.get("hidden") for spec in ui_commands.values())  # so leaving them out is tested
    assert fake.calls_of("deleteWebhook")  # polling cannot work while a webhook is set

    sent = await tg.say("/start kontum")
    assert len(sent) == 1
    assert "Kon Tum" in sent[0]["text"] and USER_NAME in sent[0]["text"]
    assert "<b>" in sent[0]["html"]
    assert labels(sent[0]) == [[label] for label, _ in tg.app.kb.ui["menu"]]
    assert tg.app.store.user("telegram", str(CHAT_ID))["province"] == "Kon Tum"
    methods = [c.method for c in fake.calls if c.method in ("sendChatAction", "sendMessage")]
    assert methods[:2] == ["sendChatAction", "sendMessage"]


async def test_base_url_may_contain_the_token(fake):
    bot = Bot(fake.token, base_url=f"http://127.0.0.1:{fake.port}/bot{{token}}")
    async with bot:
        assert bot.username == fake.username


# --- buttons --------------------------------------------------------------------------------------


async def test_feedback_button_answers_the_query_and_removes_its_row(tg, fake):
    answer = (await tg.say(answer_question(tg.app)))[-1]
    up = tg.app.kb.texts["feedback_up"]
    assert [up, tg.app.kb.texts["feedback_down"]] in labels(answer)
    data = next(b["callback_data"] for row in answer["reply_markup"]["inline_keyboard"] for b in row
                if b["text"] == up)
    before = len(labels(answer))

    sent = await tg.press(answer, data)
    assert texts(sent) == [to_plain(tg.app.kb.texts["feedback_thanks"])]
    assert fake.calls_of("answerCallbackQuery")
    await wait_until(lambda: fake.calls_of("editMessageReplyMarkup"), "the keyboard edit")
    remaining = labels(fake.current(answer))
    assert len(remaining) == before - 1 and [up, tg.app.kb.texts["feedback_down"]] not in remaining
    feedback = tg.app.store.conn.execute("select value from feedback").fetchall()
    assert [r["value"] for r in feedback] == [1]


async def test_long_vietnamese_payload_is_mapped_to_short_callback_data(tg, fake):
    payload = "province:Thành phố Hồ Chí Minh (gồm cả Bà Rịa – Vũng Tàu và Bình Dương cũ)"
    assert len(payload.encode()) > 64
    rid = tg.app.store.queue_reply("telegram", str(CHAT_ID), Reply("Chọn tỉnh:", [[Button("Hồ Chí Minh", payload)]]))
    tg.service.worker.notify()
    assert (await delivered(tg, rid))["status"] == "sent"
    message = fake.sent_to(CHAT_ID)[-1]
    data = message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert data.startswith(HASH_PREFIX) and len(data.encode()) <= 64

    await tg.press(message, data)
    row = tg.app.store.conn.execute(
        "select payload from messages where channel = 'telegram' and payload is not null order by id desc"
    ).fetchone()
    assert row["payload"] == payload


# --- long answers, escaping -----------------------------------------------------------------------


def long_text() -> str:
    para = "Đoạn {n}: thành viên <script>alert(1)</script> & vốn góp **in đậm {n}**. "
    para += "Nội dung dài. " * 100 + "Hết đoạn."
    return "\n\n".join(para.format(n=n) for n in range(1, 7))


async def test_long_answer_is_split_at_paragraphs_and_escaped(tg, fake):
    text = long_text()
    assert len(text) > 2 * 4096
    rid = tg.app.store.queue_reply("telegram", str(CHAT_ID), Reply(text, [[Button("OK", "menu:show")]]))
    tg.service.worker.notify()
    assert (await delivered(tg, rid))["status"] == "sent"
    parts = fake.sent_to(CHAT_ID)
    assert len(parts) >= 3
    assert all(utf16_len(p["text"]) <= 4096 for p in parts)
    assert "\n\n".join(p["text"] for p in parts) == to_plain(text)  # cut only between paragraphs
    assert all("&lt;script&gt;" in p["html"] and "<b>" in p["html"] for p in parts)
    assert [bool(p.get("reply_markup")) for p in parts] == [False] * (len(parts) - 1) + [True]


async def test_a_failed_part_is_retried_without_repeating_the_parts_already_sent(tg, fake, clock):
    fake.fail("sendMessage", status=502, after=1)
    rid = tg.app.store.queue_reply("telegram", str(CHAT_ID), Reply(long_text()))
    tg.service.worker.notify()
    await wait_until(lambda: reply_row(tg.app, rid)["attempts"] == 1, "the failed attempt")
    assert len(fake.sent_to(CHAT_ID)) == 1
    clock.advance(backoff(1))
    tg.service.worker.notify()
    assert (await delivered(tg, rid))["status"] == "sent"
    sent = texts(fake.sent_to(CHAT_ID))
    assert "\n\n".join(sent) == to_plain(long_text())
    assert len(sent) == len(set(sent))


async def test_html_refused_falls_back_to_plain_text(tg, fake):
    fake.fail("sendMessage", status=400, description="Bad Request: can't parse entities: Unexpected end tag")
    sent = await tg.say("/menu")
    assert texts(sent) == [tg.app.kb.texts["menu"]]
    calls = fake.calls_of("sendMessage", ok=None)
    assert calls[-2].params.get("parse_mode") == "HTML" and "parse_mode" not in calls[-1].params


# --- platform errors: 429, 5xx, unreachable, blocked ----------------------------------------------


async def test_429_is_retried_after_the_servers_retry_after(tg, fake, clock):
    fake.fail("sendMessage", status=429, retry_after=7)
    update_id = fake.push(fake.message_update(CHAT_ID, "/menu", first_name=USER_NAME))
    await wait_until(lambda: fake.confirmed > update_id, "the update")
    reply = tg.app.store.replies_for(tg.row(update_id)["id"])[0]
    await wait_until(lambda: reply_row(tg.app, reply["id"])["attempts"] == 1, "the 429")
    row = reply_row(tg.app, reply["id"])
    assert row["status"] == "pending" and "Flood" in row["last_error"]
    assert row["next_attempt_at"] - clock() == pytest.approx(7)
    assert fake.sent_to(CHAT_ID) == []

    clock.advance(7)
    tg.service.worker.notify()
    assert (await delivered(tg, reply["id"]))["status"] == "sent"
    assert texts(fake.sent_to(CHAT_ID)) == [tg.app.kb.texts["menu"]]


async def test_5xx_is_retried_with_backoff(tg, fake, clock):
    fake.fail("sendMessage", status=502)
    update_id = fake.push(fake.message_update(CHAT_ID, "/menu", first_name=USER_NAME))
    await wait_until(lambda: fake.confirmed > update_id, "the update")
    reply = tg.app.store.replies_for(tg.row(update_id)["id"])[0]
    await wait_until(lambda: reply_row(tg.app, reply["id"])["attempts"] == 1, "the 502")
    row = reply_row(tg.app, reply["id"])
    assert row["status"] == "pending" and row["next_attempt_at"] - clock() == pytest.approx(backoff(1))

    clock.advance(backoff(1))
    tg.service.worker.notify()
    assert (await delivered(tg, reply["id"]))["status"] == "sent"
    assert texts(fake.sent_to(CHAT_ID)) == [tg.app.kb.texts["menu"]]


async def test_reply_survives_telegram_down_and_a_restart(tg_app, fake, clock):
    first = await TelegramHarness(tg_app, fake).start()
    fake.down = True
    rid = tg_app.store.queue_reply("telegram", str(CHAT_ID), Reply("Cán bộ trả lời: **được**."))
    first.service.worker.notify()
    await wait_until(lambda: reply_row(tg_app, rid)["attempts"] >= 1, "a failed attempt")
    await first.stop()
    assert reply_row(tg_app, rid)["status"] == "pending" and fake.sent == []

    fake.down = False
    clock.advance(3600)
    second = await TelegramHarness(tg_app, fake).start()
    try:
        assert (await delivered(second, rid))["status"] == "sent"
    finally:
        await second.stop()
    assert texts(fake.sent_to(CHAT_ID)) == ["Cán bộ trả lời: được."]


async def test_blocked_user_is_undeliverable(tg, fake):
    fake.fail("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    rid = tg.app.store.queue_reply("telegram", str(CHAT_ID), Reply("Xin chào"))
    tg.service.worker.notify()
    row = await delivered(tg, rid)
    assert row["status"] == "undeliverable" and "blocked" in row["last_error"]


# --- replays and the webhook ----------------------------------------------------------------------


async def test_replayed_update_is_answered_once(tg_app, fake):
    first = await TelegramHarness(tg_app, fake).start()
    update = fake.message_update(CHAT_ID, "/menu", first_name=USER_NAME)
    try:
        assert texts(await first.push(update, CHAT_ID)) == [tg_app.kb.texts["menu"]]
    finally:
        await first.stop()
    fake.push(update, replay=True)  # Telegram re-offers it: the bot died before confirming it
    second = await TelegramHarness(tg_app, fake).start()
    try:
        again = await second.push(fake.message_update(CHAT_ID, "/help", first_name=USER_NAME), CHAT_ID)
    finally:
        await second.stop()
    assert len(again) == 1 and again[0]["text"].startswith("Cách dùng")  # only the new update answered
    assert len(fake.sent_to(CHAT_ID)) == 2
    rows = tg_app.store.conn.execute(
        "select count(*) from messages where platform_id = ?", (str(update["update_id"]),)).fetchone()
    assert rows[0] == 1


async def test_webhook_checks_the_secret_and_drops_replays(tg_app, fake):
    from bot.app import make_webapp

    secret = "s3cret-Token_1"
    harness = TelegramHarness(tg_app, fake, mode="webhook", webhook_url="https://htx.example.org/tg/hook",
                              secret_token=secret)
    webapp = make_webapp(tg_app, [harness.service])
    async with TestClient(TestServer(webapp, host="127.0.0.1")) as client:
        await harness.start()
        try:
            await wait_until(lambda: fake.webhook_url, "setWebhook")
            assert (fake.webhook_url, fake.webhook_secret) == ("https://htx.example.org/tg/hook", secret)
            update = fake.message_update(CHAT_ID, "/menu", first_name=USER_NAME)
            update["update_id"] = 5001
            header = "X-Telegram-Bot-Api-Secret-Token"

            assert (await client.post("/tg/hook", json=update)).status == 401
            assert (await client.post("/tg/hook", json=update, headers={header: "wrong"})).status == 403
            assert (await client.post("/tg/hook", data=b"{not json", headers={header: secret})).status == 400
            assert harness.row(5001) is None

            assert (await client.post("/tg/hook", json=update, headers={header: secret})).status == 200
            await harness.settle(5001)
            assert texts(fake.sent_to(CHAT_ID)) == [tg_app.kb.texts["menu"]]

            assert (await client.post("/tg/hook", json=update, headers={header: secret})).status == 200
            count = tg_app.store.conn.execute("select count(*) from messages").fetchone()[0]
            assert count == 1 and len(fake.sent_to(CHAT_ID)) == 1
            assert not fake.calls_of("getUpdates", ok=None)
        finally:
            await harness.stop()


def test_webhook_secret_is_validated_or_derived(app, tmp_path):
    from bot.config import load_config

    bad = tmp_path / "bad.toml"
    bad.write_text('[telegram]\ntoken = "1:abc"\nsecret_token = "có dấu cách"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="telegram.secret_token"):
        load_config(bad, env={})
    cfg = app.config.telegram
    cfg.token, cfg.secret_token = "1:abc", "bad secret!"
    with pytest.raises(ConfigError, match="secret_token"):
        tgmod.webhook_secret(cfg)
    cfg.secret_token = ""
    derived = tgmod.webhook_secret(cfg)
    assert derived == tgmod.webhook_secret(cfg) and tgmod.SECRET_RE.fullmatch(derived)
    cfg.token = "2:xyz"
    assert tgmod.webhook_secret(cfg) != derived
    assert tgmod.webhook_path("https://x.org/a/b") == "/a/b"
    assert tgmod.webhook_path("https://x.org") == "/telegram/webhook"


# --- groups and media -----------------------------------------------------------------------------


async def test_in_groups_only_commands_and_mentions_are_answered(tg, fake):
    name = fake.username
    assert await tg.say("chào cả nhà, mai họp nhé", chat_id=GROUP, chat_type="supergroup") == []
    assert await tg.say("/menu@another_bot", chat_id=GROUP, chat_type="supergroup") == []
    assert await tg.say("/lenh_bot_khac", chat_id=GROUP, chat_type="supergroup") == []
    photo = {"photo": [{"file_id": "p", "file_unique_id": "pu", "width": 1, "height": 1}]}
    assert await tg.say(None, chat_id=GROUP, chat_type="supergroup", extra=photo) == []

    menu = await tg.say(f"/menu@{name}", chat_id=GROUP, chat_type="supergroup")
    assert texts(menu) == [tg.app.kb.texts["menu"]]
    question = answer_question(tg.app)
    answered = await tg.say(f"@{name} {question}", chat_id=GROUP, chat_type="supergroup")
    assert answered and tg.app.kb.texts["feedback_up"] in [b for row in labels(answered[-1]) for b in row]
    last = tg.app.store.conn.execute("select text from messages order by id desc").fetchone()
    assert last["text"] == question

    reply = fake.message_update(GROUP, "/help", chat_type="supergroup")
    reply["message"]["text"] = "còn câu này nữa"
    del reply["message"]["entities"]
    reply["message"]["reply_to_message"] = fake.current(answered[-1])
    assert texts(await tg.push(reply, GROUP))  # a reply to the bot's message is addressed to it
    handled = tg.app.store.conn.execute("select count(*) from messages where user_key = ?", (str(GROUP),))
    assert handled.fetchone()[0] == 3


@pytest.mark.parametrize("kind,data", [
    ("photo", [{"file_id": "p", "file_unique_id": "pu", "width": 1, "height": 1}]),
    ("sticker", {"file_id": "s", "file_unique_id": "su", "type": "regular", "width": 1, "height": 1,
                 "is_animated": False, "is_video": False}),
    ("voice", {"file_id": "v", "file_unique_id": "vu", "duration": 3}),
    ("document", {"file_id": "d", "file_unique_id": "du", "file_name": "don.pdf"}),
])
async def test_media_gets_a_polite_reply(tg, kind, data):
    sent = await tg.say(None, extra={kind: data})
    assert texts(sent) == [to_plain(tg.app.kb.texts["unsupported"])]
    row = tg.app.store.conn.execute("select attachment from messages order by id desc").fetchone()
    assert row["attachment"] == kind


def test_inbound_rules_without_network():
    me = BotIdentity(777000, "htx_test_bot")
    fake = FakeTelegram()
    commands = {"menu", "start"}

    def inc(text, chat=42, kind="private"):
        return incoming(Update.de_json({"update_id": 1, **fake.message_update(chat, text, chat_type=kind)}, None),
                        me, commands)

    assert inc("/start kontum").text == "/start kontum"
    assert inc("/menu@HTX_test_bot").text == "/menu"
    assert inc("/menu@other_bot") is None
    assert inc("/unknown").text == "/unknown"  # private chats get everything
    assert inc("/unknown", chat=-5, kind="group") is None
    assert inc("@htx_test_bot  vốn góp?", chat=-5, kind="group").text == "vốn góp?"
    bare = inc("@htx_test_bot", chat=-5, kind="group")
    assert bare.text is None and bare.payload == "menu:show"
    assert inc("xin chào", chat=-5, kind="group") is None
    assert inc("xin chào").name == "An"


# --- the building blocks --------------------------------------------------------------------------


def test_split_keeps_bold_balanced_and_counts_utf16():
    text = "**" + "chữ đậm rất dài " * 400 + "**"
    parts = split_message(text)
    assert len(parts) > 1 and all(p.count("**") % 2 == 0 for p in parts)
    assert all(utf16_len(to_plain(p)) <= 4096 for p in parts)
    emoji = "🌾" * 3000  # 6000 UTF-16 units in 3000 characters
    parts = split_message(emoji)
    assert len(parts) == 2 and all(utf16_len(p) <= 4096 for p in parts) and "".join(parts) == emoji
    assert split_message("ngắn") == ["ngắn"]


def test_callback_keys_fit_64_bytes_and_survive_a_restart(tg_app):
    keys = CallbackKeys(tg_app.store)
    assert keys.encode("fb:+:12") == "fb:+:12"
    long_payload = "faq:q:" + "điều kiện vào hợp tác xã " * 5
    data = keys.encode(long_payload)
    assert len(data.encode()) <= 64 and data != long_payload
    assert CallbackKeys(tg_app.store).decode(data) == long_payload
    assert keys.encode(long_payload) == data
    assert keys.decode(HASH_PREFIX + "unknownkey") is None


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


async def test_throttle_keeps_one_message_per_second_per_chat_after_a_burst():
    t = FakeTime()
    throttle = Throttle(clock=t.clock, sleep=t.sleep)
    for _ in range(5):
        await throttle.acquire(1)
    assert t.waits == [pytest.approx(1.0), pytest.approx(1.0)]  # burst of 3, then 1/s
    await throttle.acquire(2)  # another chat is not held up by the first
    assert len(t.waits) == 2


async def test_throttle_limits_groups_and_overall_rate():
    t = FakeTime()
    throttle = Throttle(clock=t.clock, sleep=t.sleep)
    for _ in range(4):
        await throttle.acquire(-100)
    assert sum(t.waits) == pytest.approx(3.0)  # 20 per minute in a group
    t2 = FakeTime()
    throttle = Throttle(clock=t2.clock, sleep=t2.sleep)
    for chat in range(1, 62):
        await throttle.acquire(chat)
    assert t2.now == pytest.approx(31 / 30)  # 30 at once, then 30 per second overall


# --- one process, every channel; the same conversation everywhere --------------------------------


async def test_htx_bot_run_starts_web_and_telegram_together(tg_app, fake):
    from bot import server

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tg_app.config.web.port = port
    tg_app.config.telegram.token, tg_app.config.telegram.base_url = fake.token, fake.base_url
    stop = asyncio.Event()
    task = asyncio.create_task(server.run(tg_app, stop))
    try:
        await wait_until(lambda: fake.calls_of("getUpdates"), "Telegram polling")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                assert resp.status == 200
        update_id = fake.push(fake.message_update(CHAT_ID, "/help", first_name=USER_NAME))
        await wait_until(lambda: fake.sent_to(CHAT_ID), "the Telegram reply")
        await wait_until(lambda: fake.confirmed > update_id, "the update to be confirmed")
        assert visible_text(fake.sent_to(CHAT_ID)[0]["html"]).startswith("Cách dùng")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_same_conversation_on_web_and_telegram(config, kb, searcher, tmp_path):
    import copy

    from scripted import run_zalo, stacked

    web_app = make_app(copy.deepcopy(config), kb, searcher, tmp_path / "web.sqlite3")
    tg_app = make_app(copy.deepcopy(config), kb, searcher, tmp_path / "tg.sqlite3")
    zalo_app = make_app(copy.deepcopy(config), kb, searcher, tmp_path / "zalo.sqlite3")
    tune(web_app)
    tune(tg_app)
    tune(zalo_app)
    try:
        web = await run_web(web_app)
        telegram = await run_telegram(tg_app)
        zalo = await run_zalo(zalo_app)
    finally:
        web_app.store.close()
        tg_app.store.close()
        zalo_app.store.close()
    t = kb.texts
    assert len(web) == 7
    assert web[0][0][0].startswith("Xin chào!") and web[1][0][0] == t["menu"]
    assert web[4][0][0] == t["clarify"] and len(web[4][0][1]) >= 3
    assert web[3][0][0].startswith(t["feedback_sorry"].split("{")[0])
    assert web[6][0][0] in (t["feedback_thanks"], t["feedback_unknown"])
    assert telegram == web
    assert zalo == stacked(web)  # Zalo shows template buttons one per line
    assert comparable([[{"text": f"Xin chào {USER_NAME}!", "buttons": []}]], name=USER_NAME)[0][0][0] == "Xin chào!"
