"""Bad input at the edges: retried posts, lone surrogates, deep JSON, forged payload ids, floods, noise."""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from scripted import CHAT_ID, USER_NAME, TelegramHarness, wait_until

from bot.channels import jsonbody
from bot.channels import web as web_channel
from bot.channels.ratelimit import Window
from bot.junk import syllable, worth_a_ticket
from bot.proxies import TrustedProxies
from bot.textnorm import clean, parse_id
from bot.types import Incoming

DEEP = b"[" * 30_000 + b"]" * 30_000  # 60 KB
SURROGATE = b'{"text": "h\\ud800i"}'


@pytest.fixture
async def client(app, aiohttp_client):
    webapp = web.Application()
    web_channel.setup(webapp, app)
    c = await aiohttp_client(webapp)
    await c.get("/")  # the cookie a browser gets with the page
    return c


def count(app, table: str) -> int:
    return int(app.store.conn.execute(f"select count(*) from {table}").fetchone()[0])


# --- shared helpers ------------------------------------------------------------------------------------


def test_clean_replaces_lone_surrogates_and_keeps_real_text():
    assert clean("h\ud800i\x00") == "h\ufffdi"
    assert clean("Hợp tác xã 👍") == "Hợp tác xã 👍"
    assert clean("h\ud800i").encode("utf-8")  # encodable now


@pytest.mark.parametrize("text,value", [
    ("12", 12), ("0", None), ("²", None), ("١٢", None), ("+1", None), (" 1", None), ("", None),
    ("9" * 18, int("9" * 18)), ("9" * 19, None), ("1" * 30, None),
])
def test_payload_ids_are_parsed_strictly(text, value):
    assert parse_id(text) == value


def test_depth_is_measured_without_recursion_and_strings_do_not_count():
    assert jsonbody.depth(DEEP) == 30_000
    assert jsonbody.depth(b'{"a": "[[[[[[", "b": [{"c": "\\"]]"}]}') == 3
    with pytest.raises(jsonbody.BadBody):
        jsonbody.loads(DEEP)
    assert jsonbody.loads(b'{"a": ["x\\udc00"]}') == {"a": ["x\ufffd"]}


# --- the web chat --------------------------------------------------------------------------------------


async def test_a_retried_post_is_stored_once_and_answered_with_the_same_replies(client, app):
    body = {"text": "điều kiện vào hợp tác xã", "client_id": "c0ffee-0001"}
    first = await (await client.post("/api/message", json=body)).json()
    again = await client.post("/api/message", json=body)
    assert again.status == 200 and (await again.json()) == first and first["replies"]
    assert count(app, "messages") == 1 and count(app, "replies") == len(first["replies"])
    # A new message (new id) is a new message.
    await client.post("/api/message", json={**body, "client_id": "c0ffee-0002"})
    assert count(app, "messages") == 2


async def test_the_same_client_id_from_another_browser_is_another_message(app, aiohttp_client, client):
    body = {"text": "điều kiện vào hợp tác xã", "client_id": "same-id-123"}
    await client.post("/api/message", json=body)
    other = await aiohttp_client(client.server.app)
    await other.get("/")
    await other.post("/api/message", json=body)
    assert count(app, "messages") == 2


async def test_a_malformed_client_id_is_ignored(client, app):
    for _ in range(2):
        assert (await client.post("/api/message", json={"text": "xin chào", "client_id": "<x>"})).status == 200
    assert count(app, "messages") == 2


async def test_lone_surrogates_are_stored_and_answered(client, app):
    for body in (SURROGATE, b'{"payload": "fb:+:\\ud800"}', b'{"text": "a", "province": "\\udfff"}'):
        resp = await client.post("/api/message", data=body, headers={"Content-Type": "application/json"})
        assert resp.status == 200, body
        assert (await resp.json())["replies"]
    texts = [r[0] for r in app.store.conn.execute("select text from messages order by id")]
    assert texts[0] == "h\ufffdi"


@pytest.mark.parametrize("body", [DEEP, b'{"text": "a", "n": ' + b"1" * 5000 + b"}"])
async def test_deeply_nested_json_or_a_huge_number_is_a_400(client, app, body):
    resp = await client.post("/api/message", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 400 and "error" in await resp.json()
    assert count(app, "messages") == 0


@pytest.mark.parametrize("payload", ["fb:+:²", "fb:-:" + "9" * 30, "staff:q:" + "9" * 30, "staff:q:³",
                                     "intent:staff:" + "9" * 40, "fb:+:-1"])
async def test_forged_payload_ids_are_answered_politely(client, app, payload):
    resp = await client.post("/api/message", json={"payload": payload})
    replies = (await resp.json())["replies"]
    assert resp.status == 200 and replies
    assert all(app.kb.texts["error"] not in r["text"] for r in replies)
    assert app.store.conn.execute("select status from messages").fetchone()[0] == "handled"


async def test_cookieless_posts_are_limited_per_address(app, aiohttp_client):
    app.config.limits.address_new_users_per_hour = 5
    app.config.limits.address_messages_per_minute = 8
    webapp = web.Application()
    web_channel.setup(webapp, app)
    client = await aiohttp_client(webapp)
    statuses = []
    for i in range(20):
        client.session.cookie_jar.clear()
        resp = await client.post("/api/message", json={"text": f"asdkjh {i}"})
        statuses.append(resp.status)
    assert statuses.count(200) == 5 and statuses[5:] == [429] * 15
    assert "nhanh quá" in (await resp.json())["error"]
    assert count(app, "users") == 5 and count(app, "tickets") == 0


async def test_one_browser_is_limited_per_address_too(app, aiohttp_client):
    app.config.limits.address_messages_per_minute = 3
    webapp = web.Application()
    web_channel.setup(webapp, app)
    client = await aiohttp_client(webapp)
    await client.get("/")
    statuses = [(await client.post("/api/message", json={"payload": "help:show"})).status for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


async def test_behind_a_trusted_proxy_the_forwarded_address_counts(app, aiohttp_client):
    app.config.limits.address_new_users_per_hour = 2
    app.config.web.trusted_proxies = ["127.0.0.1", "::1"]  # the test client connects from loopback
    webapp = web.Application()
    web_channel.setup(webapp, app)
    client = await aiohttp_client(webapp)

    async def post(headers):
        client.session.cookie_jar.clear()
        return (await client.post("/api/message", json={"text": "xin chào"}, headers=headers)).status

    # Two clients behind the same proxy each get their own allowance ...
    assert [await post({"X-Forwarded-For": "203.0.113.7"}) for _ in range(3)] == [200, 200, 429]
    assert [await post({"X-Forwarded-For": "203.0.113.8"}) for _ in range(3)] == [200, 200, 429]
    # ... and what the client put before the proxy's entry changes nothing.
    assert await post({"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}) == 429


async def test_a_forwarded_address_from_an_untrusted_peer_is_not_believed(app, aiohttp_client):
    app.config.limits.address_new_users_per_hour = 2
    app.config.web.trusted_proxies = []
    webapp = web.Application()
    web_channel.setup(webapp, app)
    client = await aiohttp_client(webapp)

    async def post(forwarded):
        client.session.cookie_jar.clear()
        return (await client.post("/api/message", json={"text": "xin chào"},
                                  headers={"X-Forwarded-For": forwarded})).status

    assert [await post(f"203.0.113.{i}") for i in range(3)] == [200, 200, 429]


def test_client_address_and_window():
    proxies = TrustedProxies.of(["10.0.0.0/8"])
    assert TrustedProxies.of([]).client_address("10.0.0.1", {"X-Forwarded-For": "1.2.3.4"}) == "10.0.0.1"
    assert proxies.client_address("10.0.0.1", {"X-Forwarded-For": "6.6.6.6, 1.2.3.4"}) == "1.2.3.4"
    assert proxies.client_address("10.0.0.1", {}) == "10.0.0.1"
    now = [0.0]
    window = Window(2, 60, clock=lambda: now[0])
    assert [window.allow("a") for _ in range(3)] == [True, True, False]
    assert window.allow("b")
    now[0] = 61
    assert window.allow("a")
    assert Window(0, 60).allow("x")  # 0 = no limit


# --- noise never opens a ticket ------------------------------------------------------------------------


JUNK = ["xin chào", "hello", "cảm ơn", "thanks", "ok", "😀", "👍👍", "asdkjh", "qwerty", "zxcvbn asdf", "12345",
        "0912345678", "???", "hihi", "haha", "hmm", "jjjjjj", "ádfghjk", "dạ vâng", "alo"]


def test_noise_never_opens_a_ticket(app):
    for i, text in enumerate(JUNK):
        sent = app.engine.handle(Incoming("web", f"junk-user-{i:04d}-xxxx", text=text))
        assert sent, text
    assert app.store.tickets(None) == []


def test_a_genuine_unanswered_question_still_opens_one(app):
    question = "thủ tục xin giấy phép khai thác cát sỏi lòng sông cho hợp tác xã"
    app.engine.handle(Incoming("web", "genuine-user-000000", text=question))
    assert [t["text"] for t in app.store.tickets()] == [question]


def test_syllables():
    assert all(syllable(w) for w in ["nghiep", "giay", "khuyen", "thuong", "a", "uy"])
    assert not any(syllable(w) for w in ["asdkjh", "hmm", "qwerty", "hihi", "ocop", "jjj"])
    assert worth_a_ticket(["vay", "von"]) and not worth_a_ticket(["vang"])
    assert not worth_a_ticket(["asdkjh", "qwerty", "vay"])


# --- the Telegram webhook ------------------------------------------------------------------------------


async def test_webhook_answers_lone_surrogates_and_refuses_deep_json(app, fake_telegram):
    from bot.app import make_webapp

    secret = "s3cret-Token_1"
    harness = TelegramHarness(app, fake_telegram, mode="webhook", webhook_url="https://htx.example.org/tg/hook",
                              secret_token=secret)
    webapp = make_webapp(app, [harness.service])
    header = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
    async with TestClient(TestServer(webapp, host="127.0.0.1")) as client:
        await harness.start()
        try:
            await wait_until(lambda: fake_telegram.webhook_url, "setWebhook")
            update = fake_telegram.message_update(CHAT_ID, "PLACEHOLDER", first_name=USER_NAME)
            update["update_id"] = 7001
            raw = json.dumps(update).replace("PLACEHOLDER", "h\\ud800i").replace(USER_NAME, "An\\udc00").encode()
            resp = await client.post("/tg/hook", data=raw, headers=header)
            assert resp.status == 200
            row = harness.row(7001)
            assert row["text"] == "h\ufffdi" and row["status"] == "handled"
            await wait_until(lambda: fake_telegram.sent_to(CHAT_ID), "the reply")

            resp = await client.post("/tg/hook", data=b'{"update_id": 7002, "message": ' + DEEP + b"}",
                                     headers=header)
            assert resp.status == 400
            assert harness.row(7002) is None
        finally:
            await harness.stop()
