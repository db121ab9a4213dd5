"""What the web chat page restores and how the province prompt and 👍/👎 behave (fixture knowledge base)."""

from bot.types import Incoming


def send(app, user="u1", **kw):
    return [s.reply for s in app.engine.handle(Incoming("web", user, **kw))]


def test_province_prompt_has_buttons_and_a_way_out(app):
    (ask,) = send(app, text="/tinh")
    payloads = [b.payload for row in ask.buttons for b in row]
    assert "province:skip" in payloads and any(p != "province:skip" for p in payloads)
    (skipped,) = send(app, payload="province:skip")
    assert skipped.text == app.kb.texts["province_skipped"]
    assert app.store.dialog("web", "u1")[0] is None


def test_a_question_typed_at_the_province_prompt_is_answered(app):
    send(app, text="/tinh")
    entry = next(e for e in app.kb.entries.values() if not e.province and not e.history)
    replies = send(app, text=entry.questions[0])
    assert replies and replies[0].text.startswith(entry.short.strip()[:30])
    assert app.store.dialog("web", "u1")[0] is None


def test_an_unknown_province_is_asked_again_with_buttons(app):
    send(app, text="/tinh")
    (again,) = send(app, text="xyz")
    assert any(b.payload == "province:skip" for row in again.buttons for b in row)
    assert app.store.dialog("web", "u1")[0]["flow"] == "province"


def test_feedback_counts_once_and_opens_one_ticket(app):
    entry = next(e for e in app.kb.entries.values() if not e.province and not e.history)
    (answer,) = send(app, text=entry.questions[0])
    down = next(b.payload for row in answer.buttons for b in row if b.payload.startswith("fb:-:"))
    (first,) = send(app, payload=down)
    (second,) = send(app, payload=down)
    assert second.text == app.kb.texts["feedback_already"] and first.text != second.text
    assert [t["reason"] for t in app.store.tickets()] == ["negative_feedback"]
    assert app.store.conn.execute("select count(*) from feedback").fetchone()[0] == 1


async def test_history_restores_button_presses_and_feedback(app, aiohttp_client):
    from bot.app import make_webapp

    client = await aiohttp_client(make_webapp(app, []))
    entry = next(e for e in app.kb.entries.values() if not e.province and e.detail)
    body = await (await client.post("/api/message", json={"text": entry.questions[0]})).json()
    buttons = [b for row in body["replies"][0]["buttons"] for b in row]
    detail = next(b for b in buttons if b["payload"].startswith("faq:d:"))
    up = next(b for b in buttons if b["payload"].startswith("fb:+:"))
    await client.post("/api/message", json={"payload": detail["payload"]})
    await client.post("/api/message", json={"payload": up["payload"]})
    items = (await (await client.get("/api/history")).json())["items"]
    said = [it["text"] for it in items if it["who"] == "user"]
    assert said == [entry.questions[0], detail["label"], up["label"]]
    first_answer = next(it for it in items if it["who"] == "bot" and any(
        b["payload"] == up["payload"] for row in it["buttons"] for b in row))
    assert first_answer["feedback"] == 1
