"""The web chat through aiohttp's test client."""

import pytest
from aiohttp import web

from bot.channels import web as web_channel
from bot.types import Reply


@pytest.fixture
async def client(app, aiohttp_client):
    webapp = web.Application()
    web_channel.setup(webapp, app)
    return await aiohttp_client(webapp)


async def test_page_sets_cookie_and_renders(client):
    resp = await client.get("/")
    assert resp.status == 200
    assert "Trợ lý HTX" in await resp.text()
    assert web_channel.COOKIE in resp.cookies


async def test_question_roundtrip_with_buttons(client, app):
    resp = await client.post("/api/message", json={"text": "điều kiện vào htx"})
    data = await resp.json()
    assert resp.status == 200
    (reply,) = data["replies"]
    entry = app.kb.entries["tv-dieu-kien"]
    assert reply["text"].startswith(entry.short.strip()) and app.kb.texts["sources"] in reply["text"]
    assert "<br>" in reply["html"] and "\n" not in reply["html"]
    rows = [[b["payload"] for b in row] for row in reply["buttons"]]
    assert rows[0] == [f"faq:d:{entry.id}", f"faq:h:{entry.id}"]
    assert [p.split(":")[:2] for p in rows[1]] == [["fb", "+"], ["fb", "-"]]
    # The reply was delivered in the response: nothing left pending in the outbox.
    assert app.store.due_replies("web") == []

    # "Xem chi tiết": the detail under its bold title, markup turned into HTML.
    resp = await client.post("/api/message", json={"payload": rows[0][0]})
    (detail,) = (await resp.json())["replies"]
    assert f"<b>{entry.title}</b>" in detail["html"] and "**" not in detail["html"]
    assert entry.detail.split("\n")[0] in detail["text"]
    assert app.store.due_replies("web") == []


async def test_button_payload(client):
    await client.post("/api/message", json={"text": "/start"})
    resp = await client.post("/api/message", json={"payload": "help:show"})
    assert "Cách dùng" in (await resp.json())["replies"][0]["text"]


async def test_html_is_escaped(client):
    resp = await client.post("/api/message", json={"text": "<img src=x onerror=alert(1)>"})
    for reply in (await resp.json())["replies"]:
        assert "<img" not in reply["html"]


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1,2]", b'{"text": 5}', b"{}", b'{"text": ""}', b"\xff\xfe", b'{"payload": {"a": 1}}'],
)
async def test_bad_requests_get_clear_errors(client, body):
    resp = await client.post("/api/message", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert "error" in await resp.json()


async def test_oversized_body_is_refused(client):
    resp = await client.post("/api/message", data=b"{" + b" " * 70_000 + b"}")
    assert resp.status == 413


async def test_forged_cookie_gets_a_new_identity(client):
    client.session.cookie_jar.update_cookies({web_channel.COOKIE: "../../etc/passwd"})
    resp = await client.post("/api/message", json={"text": "htx là gì"})
    assert resp.status == 200
    assert resp.cookies[web_channel.COOKIE].value != "../../etc/passwd"


async def test_poll_delivers_staff_replies_to_the_right_user(client, app):
    await client.post("/api/message", json={"text": "/start"})
    uid = client.session.cookie_jar.filter_cookies(client.make_url("/"))[web_channel.COOKIE].value
    app.store.queue_reply("web", uid, Reply("Cán bộ trả lời: đã nhận."))
    app.store.queue_reply("web", "someone-else-entirely", Reply("không phải của bạn"))
    data = await (await client.get("/api/poll")).json()
    assert [r["text"] for r in data["replies"]] == ["Cán bộ trả lời: đã nhận."]
    assert (await (await client.get("/api/poll")).json())["replies"] == []


async def test_health(client, app):
    data = await (await client.get("/healthz")).json()
    assert data["ok"] and data["entries"] == len(app.kb.entries) > 0


async def test_chunked_body_is_read_whole(client):
    async def chunks():
        for part in (b'{"text": "', "điều kiện".encode(), " vào htx\"}".encode()):
            yield part

    resp = await client.post("/api/message", data=chunks(), headers={"Content-Type": "application/json"})
    assert resp.status == 200
    assert "Nguồn:" in (await resp.json())["replies"][0]["text"]


async def test_history_restores_the_conversation_for_this_browser_only(client, app):
    assert (await (await client.get("/api/history")).json())["items"] == []
    await client.post("/api/message", json={"text": "góp vốn tối đa bao nhiêu"})
    await client.post("/api/message", json={"payload": "help:show"})
    items = (await (await client.get("/api/history")).json())["items"]
    assert [i["who"] for i in items] == ["user", "bot", "bot"]
    assert items[0]["text"] == "góp vốn tối đa bao nhiêu" and "Cách dùng" in items[-1]["text"]
    client.session.cookie_jar.clear()
    assert (await (await client.get("/api/history")).json())["items"] == []


async def test_history_leaves_out_the_automatic_greeting_command(client):
    await client.post("/api/message", json={"text": "/start"})
    items = (await (await client.get("/api/history")).json())["items"]
    assert [i["who"] for i in items] == ["bot"] and "Xin chào" in items[0]["text"]


# --- the server's lifecycles (bot/app.py, aiohttp cleanup_ctx) -----------------------------------------


class Recorder:
    """A channel that only records when it is started and stopped; `fail` makes its stop raise."""

    def __init__(self, name: str, log: list[str], fail: bool = False):
        self.name, self.log, self.fail = name, log, fail

    def routes(self, webapp: web.Application) -> None:
        async def who(request: web.Request) -> web.Response:
            return web.json_response({"name": self.name})

        webapp.router.add_get(f"/{self.name}", who)

    async def start(self) -> None:
        self.log.append(f"start {self.name}")

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")
        if self.fail:
            raise RuntimeError("stop failed")


async def test_channels_start_with_the_server_and_stop_in_reverse_even_when_one_fails(
        app, aiohttp_client, caplog, monkeypatch):
    from bot.app import make_webapp, with_lifecycles

    log: list[str] = []
    services = [Recorder("one", log), Recorder("two", log, fail=True), Recorder("three", log)]
    close = app.store.close
    monkeypatch.setattr(app.store, "close", lambda: (log.append("store closed"), close()))
    client = await aiohttp_client(with_lifecycles(make_webapp(app, services), app, services))
    assert log == ["start one", "start two", "start three"]
    assert (await (await client.get("/two")).json()) == {"name": "two"}  # each channel's routes are served
    assert (await client.get("/healthz")).status == 200  # next to the web chat
    await client.close()
    assert log[3:] == ["stop three", "stop two", "stop one", "store closed"]
    assert "two: stopping failed" in caplog.text
