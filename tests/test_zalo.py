"""The Zalo OA channel end to end: signed events over real HTTP on 127.0.0.1 into the running webhook,
replies captured by a fake OA API (tests/fake_zalo.py), plus the pure parts (signature, events, rendering)."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import socket
import time
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from clock import Clock
from fake_zalo import (
    APP_ID,
    APP_SECRET,
    OA_ID,
    OA_SECRET,
    FakeZalo,
    echo_event,
    encode,
    follow_event,
    now_ms,
    post_event,
    sign,
    text_event,
)

from bot.app import App
from bot.channels import zalo_webhook as hook
from bot.channels.zalo import ZaloService, render, who
from bot.channels.zalo_api import KV_TOKENS, TokenManager, classify
from bot.config import ZaloConfig
from bot.db import Store
from bot.engine import Engine
from bot.markup import to_plain
from bot.types import Button, Reply

# --- helpers ----------------------------------------------------------------------------------------




@dataclass
class Harness:
    app: App
    service: ZaloService
    clock: Clock
    url: str
    fake: FakeZalo

    @property
    def store(self) -> Store:
        return self.app.store


async def until(condition, limit: float = 10.0) -> None:
    """Wait for a background effect (the outbox worker runs in its own task); fail if it never comes."""
    deadline = asyncio.get_running_loop().time() + limit
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


async def settle(h: Harness) -> None:
    """Wait until webhook tasks are done and the outbox worker has nothing due left."""
    await until(lambda: not h.service.busy() and not h.store.due_replies("zalo"))


def zalo_config(config, fake: FakeZalo) -> None:
    z = config.zalo
    z.app_id, z.oa_secret_key, z.app_secret = APP_ID, OA_SECRET, APP_SECRET
    z.access_token, z.refresh_token = fake.access_token, fake.refresh_token
    z.api_base = z.oauth_base = fake.url


@pytest.fixture
async def fake():
    f = FakeZalo()
    await f.start()
    yield f
    await f.stop()


@pytest.fixture
async def zalo(config, kb, searcher, fake, aiohttp_server):
    zalo_config(config, fake)
    clock = Clock()
    store = Store(config.storage.path, clock=clock)
    app = App(config, kb, store, Engine(kb, store, config, searcher=searcher))
    service = ZaloService(app, poll_interval=0.02)
    webapp = web.Application()
    service.routes(webapp)
    server = await aiohttp_server(webapp, host="127.0.0.1")
    await service.start()
    yield Harness(app, service, clock, str(server.make_url(config.zalo.webhook_path)), fake)
    await service.stop()
    store.close()


def stored(store: Store, sql: str, *args):
    return [dict(r) for r in store.conn.execute(sql, args).fetchall()]


# --- signature and events (no I/O) ------------------------------------------------------------------


def test_signature_matches_the_reference_vector():
    raw = ('{"app_id":"1234567890","sender":{"id":"111"},"recipient":{"id":"222"},"event_name":"user_send_text",'
           '"message":{"text":"Xin chào","msg_id":"m1"},"timestamp":"1700000000000"}').encode()
    header = "mac=a78d9f9d5bafeca28e431b16fa0ba091409ecef3f30e5310b12060e66907d604"
    body = json.loads(raw)
    assert len(raw) == 173
    assert hook.verify(raw, header, body, "1234567890", "TEST_OA_SECRET") == hook.PRIMARY
    assert hook.verify(raw, header.upper().replace("MAC=", "mac= "), body, "1234567890", "TEST_OA_SECRET")
    assert hook.verify(raw, header, body, "1234567890", "OTHER_SECRET") is None
    assert hook.verify(raw + b" ", header, body, "1234567890", "TEST_OA_SECRET") is None  # exact bytes only
    assert hook.verify(raw, None, body, "1234567890", "TEST_OA_SECRET") is None


def test_signature_variants_from_other_sources_are_accepted_and_named(caplog):
    event = text_event("111", "hi", timestamp="1700000000000")
    raw = encode(event)
    with_app_secret = sign(raw, "1700000000000", secret=APP_SECRET)
    with_oa_id = sign(raw, "1700000000000", app_id=OA_ID)
    with_header_ts = sign(raw, "1700000000999")
    with caplog.at_level(logging.WARNING):
        assert hook.verify(raw, with_app_secret, event, APP_ID, OA_SECRET, APP_SECRET) == \
            "app_id+body+timestamp+app_secret"
        assert hook.verify(raw, with_oa_id, event, APP_ID, OA_SECRET) == "oa_id+body+timestamp+oa_secret_key"
        assert hook.verify(raw, with_header_ts, event, APP_ID, OA_SECRET, header_timestamp="1700000000999") == \
            "app_id+body+header_timestamp+oa_secret_key"
    assert "app_secret" in caplog.text
    # Without the App secret configured, a MAC made with it proves nothing.
    assert hook.verify(raw, with_app_secret, event, APP_ID, OA_SECRET) is None


def test_events_become_incoming_messages_or_are_ignored():
    tap = hook.to_event(text_event("42", "#faq:e:l12-dk-thanh-vien", msg_id="t1"))
    assert tap.incoming.payload == "faq:e:l12-dk-thanh-vien" and tap.incoming.text is None
    typed = hook.to_event(text_event("42", "#hashtag and words", msg_id="t2"))
    assert typed.incoming.text == "#hashtag and words" and typed.incoming.payload is None
    echo = hook.to_event(echo_event("42", "an answer", msg_id="oa-1"))
    assert (echo.action, echo.user_id, echo.msg_id, echo.text) == ("echo", "42", "oa-1", "an answer")
    picture = hook.to_event(echo_event("42", "", event_name="oa_send_image"))
    assert picture.action == "echo" and picture.text.startswith("[Ảnh")
    follow = hook.to_event(follow_event("42"))
    assert (follow.action, follow.incoming.payload, follow.incoming.user_key) == ("message", "start", "42")
    assert hook.to_event(follow_event("42", name="unfollow")).action == "unfollow"
    mid_only = text_event("42", "hỏi")
    mid_only["message"] = {"text": "hỏi", "mid": "legacy-1"}
    assert hook.to_event(mid_only).incoming.platform_id == "legacy-1"
    image = text_event("42", "", event_name="user_send_image")
    assert hook.to_event(image).incoming.attachment == "photo"
    click = text_event("42", "", event_name="user_click_button")
    click["message"] = {"msg_id": "c1", "payload": "#menu:show"}
    assert hook.to_event(click).incoming.payload == "menu:show"
    for odd in ({}, {"event_name": 5}, {"event_name": "user_send_text", "sender": "x"},
                {"event_name": "user_send_group_text", "sender": {"id": "1"}}, {"event_name": "follow"}):
        assert hook.to_event(odd).action == "ignore"


def test_api_answers_are_classified():
    assert classify(200, '{"error":0,"message":"Success","data":{"message_id":"m9"}}').message_id == "m9"
    assert classify(200, '{"error":-216,"message":"Access token is invalid"}').status == "token"
    assert classify(200, '{"error":-230,"message":"out of window"}').status == "undeliverable"
    assert classify(200, '{"error":-32,"message":"reached limit call api"}').status == "retry"
    assert classify(429, "", "7").retry_after == 7.0
    assert classify(503, "<html>").status == "retry"
    assert classify(200, "not json").status == "retry"


def test_render_splits_long_text_and_extra_buttons():
    cfg = ZaloConfig()
    long = "\n\n".join(f"Đoạn {i}: " + "chữ " * 300 for i in range(8))
    buttons = [[Button(f"Nút {i}", f"faq:e:x{i}")] for i in range(7)]
    messages = render(long, [[{"label": b.label, "payload": b.payload} for b in row] for row in buttons],
                      cfg, "Thêm:")
    assert all(len(m.get("text", "")) <= 2000 for m in messages)
    assert len([m for m in messages if "attachment" not in m]) >= 2
    with_buttons = [m for m in messages if "attachment" in m]
    assert [len(m["attachment"]["payload"]["buttons"]) for m in with_buttons] == [5, 2]
    assert with_buttons[1]["text"] == "Thêm:"
    assert with_buttons[0]["attachment"]["payload"]["buttons"][0] == {
        "title": "Nút 0", "type": "oa.query.hide", "payload": "#faq:e:x0"}
    joined = "".join(m["text"] for m in messages[:-1]).replace("\n", "").replace(" ", "")
    assert joined == to_plain(long).replace("\n", "").replace(" ", "")
    cfg.button_format, cfg.button_title_chars = "button", 10
    (one,) = render("**Chọn**", [[Button("Một nhãn rất dài ở đây", "menu:show")]], cfg, "Thêm:")
    assert one["attachment"]["payload"]["template_type"] == "button"
    assert one["attachment"]["payload"]["text"] == "Chọn"
    title = one["attachment"]["payload"]["buttons"][0]["title"]
    assert len(title) <= 10 and title.startswith("Một nhãn") and title.endswith("…")


# --- the webhook over HTTP --------------------------------------------------------------------------


async def test_a_question_is_answered_through_the_oa_api(zalo):
    status, _ = await post_event(zalo.url, text_event("246845883529197922", "/start"))
    assert status == 200
    await until(lambda: len(zalo.fake.sent) >= 2)
    await settle(zalo)
    first, more = zalo.fake.sent
    assert first.user_id == "246845883529197922" and "Trợ lý HTX" in first.text and "**" not in first.text
    menu = zalo.app.kb.ui["menu"]
    assert [b["title"] for b in first.buttons + more.buttons] == [label for label, _ in menu]
    assert [b["payload"] for b in first.buttons + more.buttons] == ["#" + p for _, p in menu]
    assert more.text == zalo.app.kb.texts["more_choices"]
    (row,) = stored(zalo.store, "select * from replies where channel = 'zalo'")
    assert row["status"] == "sent" and row["platform_msg_id"] == "zmsg1,zmsg2"
    # A tap on the first menu button comes back as hidden text "#<payload>".
    status, _ = await post_event(zalo.url, text_event("246845883529197922", first.buttons[0]["payload"]))
    assert status == 200
    await until(lambda: len(zalo.fake.sent) >= 3)
    assert zalo.fake.sent[2].text.startswith(zalo.app.kb.ui["examples_text"][:20])


async def test_forged_signature_is_refused_with_200_logged_without_ids_and_nothing_is_stored(zalo, caplog):
    # 200, not 401: Zalo retries anything but 200 and then disables the webhook (docs/zalo.md).
    event = text_event("111222333", "điều kiện vào htx")
    raw = encode(event)
    forged = sign(raw, event["timestamp"], secret="guessed")
    with caplog.at_level(logging.WARNING):
        status, text = await post_event(zalo.url, event, signature=forged)
        assert status == 200 and json.loads(text) == {"ok": False, "error": "bad signature"}
        assert (await post_event(zalo.url, event, signature=None))[0] == 200
        tampered = raw.replace("điều kiện".encode(), "giải thể".encode())
        assert (await post_event(zalo.url, raw=tampered, signature=sign(raw, event["timestamp"])))[0] == 200
    assert (await post_event(zalo.url, raw=b"\xff\xfe junk", signature="mac=00"))[0] == 400
    await settle(zalo)
    assert zalo.store.counts()["messages"] == 0 and not [c for c in zalo.fake.calls if c[0] == "cs"]
    assert zalo.service.signatures_refused == 3 and zalo.service.signatures_passed == 0
    assert "refused" in caplog.text and "user_send_text" in caplog.text
    assert "111222333" not in caplog.text  # the member's id never reaches the log
    # One line a minute at most, however many forgeries arrive.
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 1
    # Three refusals and no event accepted since start: most likely our key is wrong; said as an error.
    assert [r.levelname for r in caplog.records if "oa_secret_key" in r.getMessage()] == ["ERROR"]


async def test_replayed_event_is_answered_once(zalo):
    event = text_event("222", "góp vốn tối đa bao nhiêu", msg_id="dup-1")
    results = await asyncio.gather(*(post_event(zalo.url, event) for _ in range(3)))
    assert [s for s, _ in results] == [200, 200, 200]
    await settle(zalo)
    assert len(stored(zalo.store, "select * from messages where platform_id = 'dup-1'")) == 1
    replies = stored(zalo.store, "select * from replies where user_key = '222'")
    assert replies and all(r["status"] == "sent" for r in replies)
    assert len([s for s in zalo.fake.sent if s.user_id == "222"]) == len(replies)
    await post_event(zalo.url, event)  # hours later: Zalo's retry ladder
    await settle(zalo)
    assert len([s for s in zalo.fake.sent if s.user_id == "222"]) == len(replies)


async def test_probe_echo_and_unfollow_have_no_side_effects(zalo):
    assert (await post_event(zalo.url, raw=b"{}", signature=None))[0] == 200
    assert (await post_event(zalo.url, raw=b"", signature=None))[0] == 200
    async with aiohttp.ClientSession() as s, s.get(zalo.url) as resp:
        assert resp.status == 200
    assert (await post_event(zalo.url, follow_event("333", name="unfollow")))[0] == 200
    await settle(zalo)
    assert zalo.store.counts()["messages"] == 0 and zalo.fake.sent == []


async def test_follow_greets_with_the_menu(zalo):
    assert (await post_event(zalo.url, follow_event("444")))[0] == 200
    await until(lambda: len(zalo.fake.sent) >= 2)
    assert zalo.fake.sent[0].user_id == "444" and zalo.fake.sent[0].buttons


async def test_photo_gets_a_polite_text_only_answer(zalo):
    event = text_event("555", "", event_name="user_send_image")
    event["message"] = {"msg_id": "img-1", "attachments": [{"type": "image", "payload": {"url": "http://x/y.jpg"}}]}
    assert (await post_event(zalo.url, event))[0] == 200
    await until(lambda: len(zalo.fake.sent) >= 1)
    assert zalo.fake.sent[0].text == to_plain(zalo.app.kb.texts["unsupported"])


# --- delivery failures ------------------------------------------------------------------------------


async def test_429_is_retried_after_the_platform_says(zalo):
    zalo.fake.fail_next(429, None, {"Retry-After": "0"})
    await post_event(zalo.url, text_event("666", "/help"))
    await until(lambda: len(zalo.fake.sent) >= 1)
    await settle(zalo)
    (row,) = stored(zalo.store, "select * from replies where user_key = '666'")
    assert row["status"] == "sent" and row["attempts"] == 2 and "429" in row["last_error"]
    assert len([c for c in zalo.fake.calls if c[0] == "cs"]) == 2 and len(zalo.fake.sent) == 1


async def test_5xx_is_retried_with_backoff_and_sent_once(zalo, caplog):
    zalo.fake.fail_next(502)
    with caplog.at_level(logging.WARNING):
        await post_event(zalo.url, text_event("777", "/help"))
        await until(lambda: stored(zalo.store, "select * from replies where last_error is not null"))
    (row,) = stored(zalo.store, "select * from replies where user_key = '777'")
    assert row["status"] == "pending" and "502" in row["last_error"] and "502" in caplog.text
    assert row["next_attempt_at"] > zalo.clock.now and zalo.fake.sent == []
    zalo.clock.advance(60)
    zalo.service.worker.notify()
    await until(lambda: len(zalo.fake.sent) == 1)
    await settle(zalo)
    assert stored(zalo.store, "select status from replies where user_key = '777'") == [{"status": "sent"}]
    assert len(zalo.fake.sent) == 1


async def test_error_in_a_200_body_is_detected(zalo):
    zalo.fake.fail_next(200, {"error": -32, "message": "reached limit call api"})
    await post_event(zalo.url, text_event("888", "/help"))
    await until(lambda: stored(zalo.store, "select * from replies where last_error like '%-32%'"))
    (row,) = stored(zalo.store, "select * from replies where user_key = '888'")
    assert row["status"] == "pending" and row["next_attempt_at"] >= zalo.clock.now + 59
    zalo.fake.fail_next(200, {"error": -213, "message": "User has not followed OA"})
    zalo.clock.advance(61)
    zalo.service.worker.notify()
    await until(lambda: stored(zalo.store, "select * from replies where status = 'undeliverable'"))
    (row,) = stored(zalo.store, "select * from replies where user_key = '888'")
    assert "-213" in row["last_error"] and zalo.fake.sent == []


def later(h: Harness) -> str:
    """An event timestamp at the harness clock's now (the tests move that clock by days)."""
    return now_ms(h.clock.now)


async def staff_answer_after(h: Harness, user: str, seconds: float) -> dict:
    """The member writes, `seconds` pass, staff answer: the reply row once the outbox is done with it."""
    await post_event(h.url, text_event(user, "/help", timestamp=later(h)))
    await until(lambda: any(s.user_id == user for s in h.fake.sent))
    h.clock.advance(seconds)
    rid = h.store.queue_reply("zalo", user, Reply("Cán bộ trả lời: ..."), origin="staff")
    h.service.worker.notify()
    await until(lambda: stored(h.store, "select status from replies where id = ?", rid)[0]["status"] != "pending")
    return stored(h.store, "select * from replies where id = ?", rid)[0]


@pytest.mark.parametrize("hours, billed, status", [
    (48 - 0.02, False, "sent"),           # inside the free 48 h
    (48 + 0.02, False, "undeliverable"),  # billed band, billed replies off (the default)
    (48 + 0.02, True, "sent"),            # billed band, billed replies on
    (7 * 24 - 0.02, True, "sent"),        # last minutes of day 7
    (7 * 24 + 0.02, True, "undeliverable"),  # after day 7 Zalo refuses (-230/-232): not even tried
])
async def test_reply_window_boundaries(zalo, hours, billed, status):
    zalo.app.config.zalo.allow_billed_replies = billed
    user = f"w{int(hours * 100)}{int(billed)}"
    calls = len([c for c in zalo.fake.calls if c[0] == "cs"])
    row = await staff_answer_after(zalo, user, hours * 3600)
    assert row["status"] == status
    if status == "sent":
        assert "Cán bộ trả lời" in zalo.fake.sent[-1].text
    else:
        assert "reply window" in row["last_error"] and row["last_error"].startswith("Đã quá")
        assert len([c for c in zalo.fake.calls if c[0] == "cs"]) == calls + 1  # only the /help answer
        assert ("tính phí" in row["last_error"]) == (hours < 7 * 24)


def test_reply_window_settings_and_the_old_name(tmp_path):
    from bot.config import ConfigError, load_config

    path = tmp_path / "c.toml"
    path.write_text("[zalo]\nreply_window_hours = 24\n", encoding="utf-8")
    assert load_config(path, env={}).zalo.free_reply_hours == 24
    path.write_text("[zalo]\nfree_reply_hours = 48\nmax_reply_days = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="max_reply_days"):
        load_config(path, env={})
    path.write_text("[zalo]\nmax_event_age_seconds = 30\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="max_event_age_seconds"):
        load_config(path, env={})
    cfg = ZaloConfig()
    assert (cfg.free_reply_hours, cfg.max_reply_days, cfg.allow_billed_replies) == (48, 7, False)


async def test_staff_answer_refused_by_the_window_goes_out_when_the_member_writes_again(zalo):
    row = await staff_answer_after(zalo, "999", 49 * 3600)
    assert row["status"] == "undeliverable"
    # Once the member writes again the window reopens: the menu and the staff answer both arrive.
    await post_event(zalo.url, text_event("999", "/menu", timestamp=later(zalo)))
    await until(lambda: stored(zalo.store, "select status from replies where id = ?", row["id"])[0]["status"]
                == "sent")
    assert any("Cán bộ trả lời" in str(m) for m in zalo.fake.sent)


@pytest.mark.parametrize("code, reason", [
    (-232, "Lần tương tác cuối"), (-230, "không tương tác"), (-227, "bị khóa hoặc không hoạt động"),
    (-244, "chặn nhận loại tin"), (-211, "hết hạn mức"), (-218, "quá giới hạn"), (-223, "chưa cấp quyền"),
    (-219, "bị gỡ hoặc vô hiệu hóa"), (-213, "chưa quan tâm"),
])
def test_final_error_codes_carry_a_vietnamese_reason(code, reason):
    result = classify(200, json.dumps({"error": code, "message": "from Zalo"}))
    assert result.status == "undeliverable" and result.code == code
    assert result.error.startswith(reason) or reason in result.error.split(" (")[0]
    assert f"Zalo error {code}: from Zalo" in result.error
    assert ("reply window" in result.error) == (code in (-230, -232))


@pytest.mark.parametrize("status, body, retry_after", [
    (502, "bad gateway", None), (503, "", None), (429, "", "3"),
    (200, '{"error":-32,"message":"reached limit call api"}', None),
    (200, '{"error":-999,"message":"something new"}', None),  # unknown: retried, bounded by max_attempts
])
def test_only_transient_failures_are_retried(status, body, retry_after):
    assert classify(status, body, retry_after).status == "retry"


async def test_a_final_error_is_shown_to_staff_and_not_retried(zalo, caplog):
    zalo.fake.fail_next(200, {"error": -227, "message": "User is banned or inactive for more than 45 days"})
    with caplog.at_level(logging.DEBUG, logger="bot.channels"):
        await post_event(zalo.url, text_event("5050505", "/help"))
        await until(lambda: stored(zalo.store, "select * from replies where status = 'undeliverable'"))
        await post_event(zalo.url, follow_event("5050505", name="unfollow"))
        await settle(zalo)
    (row,) = stored(zalo.store, "select * from replies where user_key = '5050505'")
    assert row["attempts"] == 1 and row["last_error"].startswith("Tài khoản Zalo của thành viên bị khóa")
    assert len([c for c in zalo.fake.calls if c[0] == "cs"]) == 1
    zalo_lines = [r.getMessage() for r in caplog.records if r.name.startswith("bot.channels.zalo")]
    assert any("-227" in line for line in zalo_lines) and any("unfollowed" in line for line in zalo_lines)
    assert not any("5050505" in line for line in zalo_lines)  # pseudonyms only
    assert who("5050505") in "\n".join(zalo_lines)


async def test_staff_see_why_their_answer_did_not_reach_the_member(zalo, aiohttp_client, monkeypatch):
    from test_console import CHEAP_HASHER, add_staff, login

    from bot.app import make_webapp
    from bot.console import auth

    row = await staff_answer_after(zalo, "6161", 3 * 24 * 3600)  # billed band, billed replies off
    assert row["status"] == "undeliverable"
    monkeypatch.setattr(auth, "HASHER", CHEAP_HASHER)
    client = await aiohttp_client(make_webapp(zalo.app, []))
    add_staff(zalo.app, role="viewer")
    assert (await login(client)).status == 303
    resp = await client.get("/console/conversation", params={"channel": "zalo", "user": "6161"})
    page = await resp.text()
    assert resp.status == 200 and "Cán bộ trả lời" in page
    assert "Không gửi được" in page and "Đã quá 48 giờ kể từ lần cuối thành viên nhắn cho OA" in page


# --- storing before acknowledging ------------------------------------------------------------------


async def test_an_event_is_stored_before_200_and_answered_after_a_crash_in_between(zalo):
    def crash(message_id, inc):
        raise RuntimeError("process died after storing, before answering")

    answer = zalo.app.engine.answer
    zalo.app.engine.answer = crash  # type: ignore[method-assign]
    status, _ = await post_event(zalo.url, text_event("6060", "/help", msg_id="kept-1"))
    assert status == 200
    # Stored when 200 went out, whatever happened to the answer.
    (msg,) = stored(zalo.store, "select * from messages where platform_id = 'kept-1'")
    assert msg["status"] == "received"
    await settle(zalo)
    assert zalo.fake.sent == []
    zalo.app.engine.answer = answer  # type: ignore[method-assign]
    assert zalo.app.engine.recover() == 1  # what the next start does
    zalo.service.worker.notify()
    await until(lambda: len(zalo.fake.sent) == 1)
    # Zalo's retry of the same event is stored once and not answered again.
    assert (await post_event(zalo.url, text_event("6060", "/help", msg_id="kept-1")))[0] == 200
    await settle(zalo)
    assert len(zalo.fake.sent) == 1
    assert len(stored(zalo.store, "select * from messages where platform_id = 'kept-1'")) == 1


async def test_an_event_that_cannot_be_stored_is_not_acknowledged(zalo):
    def broken(inc):
        raise OSError("disk full")

    zalo.app.engine.accept = broken  # type: ignore[method-assign]
    assert (await post_event(zalo.url, text_event("7070", "/help")))[0] == 500  # Zalo sends it again


# --- freshness ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("offset, accepted", [
    (-10800 + 60, True),       # inside the 3 hours
    (-10800 - 300 - 60, False),  # older than 3 hours plus the skew allowance
    (250, True),               # a little in the future: clock skew
    (300 + 60, False),         # too far in the future
    (None, False),             # no timestamp at all
])
async def test_events_outside_the_freshness_window_are_not_processed(zalo, offset, accepted):
    event = text_event("8080", "/help", msg_id=f"fresh{offset}")
    if offset is None:
        del event["timestamp"]
    else:
        event["timestamp"] = now_ms(zalo.clock.now + offset)
    status, text = await post_event(zalo.url, event)
    assert status == 200  # either way: a refused event must not make Zalo retry or disable the webhook
    await settle(zalo)
    assert len(stored(zalo.store, "select * from messages where platform_id = ?", f"fresh{offset}")) == int(accepted)
    assert (json.loads(text) == {"ok": True}) == accepted


async def test_the_freshness_check_can_be_switched_off(zalo):
    zalo.app.config.zalo.max_event_age_seconds = 0
    assert (await post_event(zalo.url, text_event("8181", "/help", timestamp="1700000000000")))[0] == 200
    await until(lambda: len(zalo.fake.sent) == 1)


# --- messages staff send from Zalo's own OA manager ------------------------------------------------


async def test_staff_messages_from_the_oa_manager_are_recorded_and_our_echoes_are_not(zalo):
    from bot.console import queries

    await post_event(zalo.url, text_event("9090", "/help"))
    await until(lambda: len(zalo.fake.sent) == 1)
    await settle(zalo)
    ours = zalo.fake.sent[0]
    # Zalo echoes our own reply (known id, known text): nothing new.
    await post_event(zalo.url, echo_event("9090", ours.text, msg_id=ours.message_id))
    # The echo can come before the API call returns: the text alone is enough.
    await post_event(zalo.url, echo_event("9090", ours.text, msg_id="early-echo"))
    # A restart forgot the in-memory ids: the stored platform id still tells.
    zalo.service._sent_ids.clear()
    zalo.service._sent_texts.clear()
    await post_event(zalo.url, echo_event("9090", "something else", msg_id=ours.message_id))
    # Staff type in the OA manager: recorded as a staff reply, already sent; twice is still once.
    typed = echo_event("9090", "Chào anh, cán bộ liên minh đây.", msg_id="oa-staff-1")
    await post_event(zalo.url, typed)
    await post_event(zalo.url, typed)
    await post_event(zalo.url, echo_event("9090", "", msg_id="oa-staff-2", event_name="oa_send_image"))
    await settle(zalo)
    rows = stored(zalo.store, "select * from replies where user_key = '9090' and origin = 'staff' order by id")
    assert [(r["text"], r["status"], r["platform_msg_id"]) for r in rows] == [
        ("Chào anh, cán bộ liên minh đây.", "sent", "oa-staff-1"),
        ("[Ảnh gửi từ trang quản lý OA]", "sent", "oa-staff-2")]
    assert len(zalo.fake.sent) == 1  # never re-sent through the API
    items = queries.conversation(zalo.store, "zalo", "9090")
    assert [i["text"] for i in items if i["who"] == "staff"] == [r["text"] for r in rows]


async def test_long_reply_is_split_and_a_failed_part_is_not_resent(zalo):
    await post_event(zalo.url, text_event("1010", "/help"))
    await until(lambda: len(zalo.fake.sent) == 1)
    await zalo.service.worker.stop()  # drive the outbox by hand from here
    text = "\n\n".join(f"Phần {i}. " + "nội dung " * 150 for i in range(4))
    zalo.fake.fail_next(200, {"error": -500, "message": "internal"})  # fails the first part
    rid = zalo.store.queue_reply("zalo", "1010", Reply(text, [[Button("Menu", "menu:show")]]))
    await zalo.service.worker.drain()
    assert stored(zalo.store, "select attempts, status from replies where id = ?", rid) == [
        {"attempts": 1, "status": "pending"}]
    sent_before = len(zalo.fake.sent)
    # Second try: the first part goes through and the second fails; the third try resumes at part two.
    original, calls = zalo.service.api.send_cs, []

    async def flaky(user_id, message):
        calls.append(message)
        if len(calls) == 2:
            zalo.fake.fail_next(503)
        return await original(user_id, message)

    zalo.service.api.send_cs = flaky
    zalo.clock.advance(30)
    await zalo.service.worker.drain()
    assert len(zalo.fake.sent) == sent_before + 1
    zalo.clock.advance(60)
    await zalo.service.worker.drain()
    (row,) = stored(zalo.store, "select * from replies where id = ?", rid)
    assert row["status"] == "sent" and row["attempts"] == 3
    parts = [s.text for s in zalo.fake.sent[sent_before:]]
    assert len(parts) == 4 and len(set(parts)) == 4  # each part exactly once
    assert all(len(p) <= 2000 for p in parts) and zalo.fake.sent[-1].buttons
    assert [p.split(".")[0] for p in parts] == ["Phần 0", "Phần 1", "Phần 2", "Phần 3"]
    assert len(row["platform_msg_id"].split(",")) == 4
    assert zalo.store.get_kv("zalo.progress") == "{}"


# --- tokens ------------------------------------------------------------------------------------------


async def test_expired_token_is_refreshed_rotated_and_stored(zalo):
    await post_event(zalo.url, text_event("1111", "/help"))
    await until(lambda: len(zalo.fake.sent) == 1)
    refreshes = len(zalo.fake.refreshes)
    zalo.fake.expire_access_token()
    await post_event(zalo.url, text_event("1111", "/menu"))
    await until(lambda: len(zalo.fake.sent) >= 2)
    assert len(zalo.fake.refreshes) == refreshes + 1
    assert zalo.fake.sent[-1].token == zalo.fake.access_token
    saved = json.loads(zalo.store.get_kv(KV_TOKENS))
    assert (saved["access_token"], saved["refresh_token"]) == (zalo.fake.access_token, zalo.fake.refresh_token)
    # A restart reads the stored chain, not the config's refresh token (which Zalo has already killed).
    again = TokenManager(zalo.app.config.zalo, zalo.store, zalo.service._get_session, clock=zalo.clock)
    assert again.refresh_token == zalo.fake.refresh_token != zalo.app.config.zalo.refresh_token
    assert await again.token() == zalo.fake.access_token


async def test_token_is_refreshed_before_it_expires(zalo):
    await post_event(zalo.url, text_event("1212", "/help"))
    await until(lambda: len(zalo.fake.sent) == 1)
    tokens = zalo.service.tokens
    assert tokens.expires_at == pytest.approx(zalo.clock.now + 90000, abs=5)
    before = len(zalo.fake.refreshes)
    zalo.clock.advance(21 * 3600)  # past 80 % of 25 h, before expiry
    await post_event(zalo.url, text_event("1212", "/menu", timestamp=now_ms(zalo.clock.now)))
    await until(lambda: len(zalo.fake.sent) >= 2)
    assert len(zalo.fake.refreshes) == before + 1
    cs_calls = [c for c in zalo.fake.calls if c[0] == "cs"]
    assert len(cs_calls) == len(zalo.fake.sent)  # no call was made with a stale token


# --- restart and `htx-bot run` ----------------------------------------------------------------------


async def test_a_reply_survives_a_restart(config, kb, searcher, fake, aiohttp_server):
    zalo_config(config, fake)
    store = Store(config.storage.path)
    app = App(config, kb, store, Engine(kb, store, config, searcher=searcher))
    service = ZaloService(app, poll_interval=0.02)
    webapp = web.Application()
    service.routes(webapp)
    server = await aiohttp_server(webapp, host="127.0.0.1")
    await service.start()
    for _ in range(3):
        fake.fail_next(500)
    await post_event(str(server.make_url(config.zalo.webhook_path)), text_event("1313", "/help"))
    await until(lambda: stored(store, "select * from replies where last_error is not null"))
    await service.stop()
    store.close()
    assert fake.sent == []
    fake.failures.clear()

    store = Store(config.storage.path, clock=lambda: time.time() + 3600)  # later, after the backoff
    app = App(config, kb, store, Engine(kb, store, config, searcher=searcher))
    service = ZaloService(app, poll_interval=0.02)
    await service.start()
    try:
        await until(lambda: len(fake.sent) == 1)
        assert fake.sent[0].user_id == "1313"
        assert len(fake.refreshes) == 1  # the rotated token chain was read back, not refreshed again
    finally:
        await service.stop()
        store.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_htx_bot_run_serves_web_chat_and_zalo_in_one_process(config, kb, searcher, fake):
    from bot import server

    zalo_config(config, fake)
    config.web.port = _free_port()
    store = Store(config.storage.path)
    app = App(config, kb, store, Engine(kb, store, config, searcher=searcher))
    stop = asyncio.Event()
    running = asyncio.create_task(server.run(app, stop))
    base = f"http://127.0.0.1:{config.web.port}"
    try:
        async with aiohttp.ClientSession() as s:
            async def up() -> bool:
                try:
                    async with s.get(base + "/healthz") as r:
                        return r.status == 200
                except aiohttp.ClientError:
                    return False

            for _ in range(250):
                if running.done() or await up():
                    break
                await asyncio.sleep(0.02)
            assert await up()
            status, _ = await post_event(base + config.zalo.webhook_path, text_event("1414", "/help"))
            assert status == 200
            await until(lambda: len(fake.sent) == 1)
            assert fake.sent[0].text == to_plain(
                kb.texts["help"].format(alliance=config.alliance.name, contact=config.alliance.contact()))
            async with s.post(base + "/api/message", json={"text": "/help"}) as r:
                assert r.status == 200 and (await r.json())["replies"]
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)


# --- the same conversation as on the web chat -------------------------------------------------------


async def test_scripted_conversation_is_the_same_as_on_the_web_chat(config, kb, searcher, tmp_path, fake):
    import scripted

    def fresh(name: str) -> App:
        cfg = copy.deepcopy(config)
        cfg.storage.path = str(tmp_path / f"{name}.sqlite3")
        store = Store(cfg.storage.path)
        app = App(cfg, kb, store, Engine(kb, store, cfg, searcher=searcher))
        scripted.tune(app)
        return app

    web_app, zalo_app = fresh("web"), fresh("zalo")
    try:
        on_web = await scripted.run_web(web_app)
        on_zalo = await scripted.run_zalo(zalo_app, fake)
    finally:
        web_app.store.close()
        zalo_app.store.close()
    assert len(on_zalo) == len(on_web) == 7
    assert on_zalo == scripted.stacked(on_web)
    # The script really exercised buttons: menu, "did you mean" choices and feedback.
    assert sum(len(rows) for turn in on_zalo for _, rows in turn) >= 10


async def test_body_sent_in_small_chunks_is_verified_whole_and_oversize_is_refused(zalo):
    event = text_event("1515", "hợp tác xã là gì " * 40)
    raw = encode(event)

    async def trickle():
        for i in range(0, len(raw), 7):
            yield raw[i:i + 7]
            await asyncio.sleep(0)

    headers = {"X-ZEvent-Signature": sign(raw, event["timestamp"]), "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as s:
        async with s.post(zalo.url, data=trickle(), headers=headers) as resp:  # chunked, no Content-Length
            assert resp.status == 200
        async with s.post(zalo.url, data=b"{" + b" " * (300 * 1024) + b"}", headers=headers) as resp:
            assert resp.status == 413
    await until(lambda: zalo.fake.sent)
    assert zalo.fake.sent[0].user_id == "1515"
