"""One scripted conversation, run over each channel, so the channels can be compared turn by turn.

The script: /start, /menu, a question answered directly, 👎 on it, a vaguer question that gets
"did you mean", a pick among the choices, and 👍 on that answer. `run_web(app)` and
`run_telegram(app)` (and the Zalo channel's `run_zalo(app)`) each play it on a fresh app and return
the same shape: for every step, the replies as (visible text, button rows of (label, payload)).

Two things differ by design and are normalised before comparing: the greeting uses the member's
display name where the platform gives one (USER_NAME), and payloads that carry a database id
("fb:+:17") are compared with the digits masked.

The apps should be built with `search.answer_threshold` raised (see `tune`) so the vague question
reliably lands between the thresholds whatever the knowledge base currently holds.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import App
from bot.markup import to_plain

USER_NAME = "Kiểm Thử"
CHAT_ID = 4242
VAGUE_QUESTIONS = ["vốn góp", "thành viên", "góp vốn tối đa", "giải thể", "đại hội", "hỗ trợ", "quỹ", "vay vốn"]

Button = dict[str, Any]  # {"label", "payload", ...channel's own handle}
Turn = list[dict[str, Any]]  # replies: {"text": visible text, "buttons": [[Button]]}
Comparable = list[list[tuple[str, tuple[tuple[tuple[str, str], ...], ...]]]]


@dataclass(frozen=True)
class Step:
    say: str | None = None
    press: str | int | None = None  # a button label, or an index into the last reply's buttons


def tune(app: App) -> None:
    """Thresholds that make the script's "did you mean" step independent of the knowledge base."""
    app.config.search.answer_threshold = 0.95
    app.config.search.confident_threshold = max(app.config.search.confident_threshold, 0.95)


def script(app: App) -> list[Step]:
    """The steps, with a question and a vague question chosen from the live knowledge base."""
    texts = app.kb.texts
    question = None
    for entry_id in app.kb.ui.get("examples") or []:
        entry = app.kb.entries.get(entry_id)
        if entry is None:
            continue
        for candidate in [*entry.questions, entry.title]:
            outcome = app.engine.preview(candidate)
            if outcome.meta.get("kind") == "answer":
                question = candidate
                break
        if question:
            break
    assert question, "no example question gets a direct answer"
    vague = None
    for candidate in VAGUE_QUESTIONS:
        outcome = app.engine.preview(candidate)
        # At least two entries to choose from, besides "none of these" (the tests compare the choices).
        if outcome.meta.get("kind") == "clarify" and sum(len(r) for r in outcome.replies[0].buttons) >= 3:
            vague = candidate
            break
    assert vague, "no vague question gets a 'did you mean'"
    return [
        Step(say="/start"),
        Step(say="/menu"),
        Step(say=question),
        Step(press=texts["feedback_down"]),
        Step(say=vague),
        Step(press=0),
        Step(press=texts["feedback_up"]),
    ]


async def play(steps: list[Step], say: Callable[[str], Awaitable[Turn]],
               press: Callable[[Button], Awaitable[Turn]]) -> list[Turn]:
    turns: list[Turn] = []
    for step in steps:
        if step.say is not None:
            turn = await say(step.say)
        else:
            turn = await press(_find(turns[-1], step.press))
        assert turn, f"no reply to {step}"
        turns.append(turn)
    return turns


def _find(turn: Turn, wanted: str | int | None) -> Button:
    buttons = [b for reply in turn for row in reply["buttons"] for b in row]
    if isinstance(wanted, int):
        return buttons[wanted]
    for button in buttons:
        if button["label"] == wanted:
            return button
    raise AssertionError(f"no button {wanted!r} in {[b['label'] for b in buttons]}")


def comparable(turns: list[Turn], name: str | None = None) -> Comparable:
    """Texts and buttons only, with the display name and database ids masked."""
    out: Comparable = []
    for turn in turns:
        replies = []
        for reply in turn:
            text = reply["text"].replace(f" {name}", "") if name else reply["text"]
            rows = tuple(tuple((b["label"], re.sub(r"\d+", "#", b["payload"])) for b in row)
                         for row in reply["buttons"])
            replies.append((text, rows))
        out.append(replies)
    return out


# --- web chat -------------------------------------------------------------------------------------


async def play_web(app: App, steps: list[Step]) -> list[Turn]:
    """Play `steps` through the web chat's HTTP API (one browser, one cookie)."""
    from bot.channels import web as web_channel

    webapp = web.Application()
    web_channel.setup(webapp, app)
    async with TestClient(TestServer(webapp, host="127.0.0.1")) as client:

        async def send(body: dict[str, str]) -> Turn:
            resp = await client.post("/api/message", json=body)
            assert resp.status == 200, await resp.text()
            data = await resp.json()
            return [{"text": to_plain(r["text"]), "buttons": r["buttons"]} for r in data["replies"]]

        return await play(steps, lambda text: send({"text": text}), lambda b: send({"payload": b["payload"]}))


async def run_web(app: App) -> Comparable:
    return comparable(await play_web(app, script(app)))


# --- Telegram -------------------------------------------------------------------------------------


async def wait_until(predicate: Callable[[], Any], what: str, deadline: float = 15.0) -> Any:
    """Poll until `predicate()` is truthy; fail the test (not time it) after a generous deadline."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class TelegramHarness:
    """The real Telegram service (python-telegram-bot over HTTP) against a FakeTelegram on 127.0.0.1."""

    def __init__(self, app: App, fake: Any, mode: str = "polling", webhook_url: str = "",
                 secret_token: str = "", fast: bool = True):
        from bot.channels.telegram import TelegramService
        from bot.channels.telegram_throttle import Throttle

        cfg = app.config.telegram
        cfg.token, cfg.base_url, cfg.mode = fake.token, fake.base_url, mode
        cfg.webhook_url, cfg.secret_token = webhook_url, secret_token
        self.app, self.fake = app, fake
        # The flood limits have their own tests; here they would only slow the script down.
        throttle = Throttle(chat_rate=1000, chat_burst=1000, group_rate=1000, group_burst=1000) if fast else None
        self.service = TelegramService(app, throttle=throttle, poll_timeout=1, outbox_poll=0.05)

    async def start(self) -> TelegramHarness:
        polls = len(self.fake.calls_of("getUpdates", ok=None))
        await self.service.start()
        await wait_until(lambda: self.service.worker._task is not None, "the service to connect")
        if not self.service.webhook:
            await wait_until(lambda: len(self.fake.calls_of("getUpdates", ok=None)) > polls, "polling to start")
        return self

    async def stop(self) -> None:
        await self.service.stop()

    def row(self, update_id: int) -> dict[str, Any] | None:
        return self.app.store.conn.execute(
            "select * from messages where channel = 'telegram' and platform_id = ?", (str(update_id),)
        ).fetchone()

    async def settle(self, update_id: int) -> None:
        """Wait until the update was taken (polling moved past it) and every reply left the outbox."""
        if self.service.webhook:
            await wait_until(lambda: self.row(update_id) is not None, f"update {update_id} to be recorded")
        else:
            await wait_until(lambda: self.fake.confirmed > update_id, f"update {update_id} to be confirmed")
        row = self.row(update_id)
        if row is not None:
            await wait_until(lambda: all(r["status"] != "pending" for r in self.app.store.replies_for(row["id"])),
                             f"the replies to update {update_id}")

    async def push(self, update: dict[str, Any], chat_id: int) -> list[dict[str, Any]]:
        """Deliver an update by getUpdates; returns the messages the bot sent to `chat_id` for it."""
        before = len(self.fake.sent_to(chat_id))
        update_id = self.fake.push(update)
        await self.settle(update_id)
        return self.fake.sent_to(chat_id)[before:]

    async def say(self, text: str | None, chat_id: int = CHAT_ID, name: str = USER_NAME, **kw: Any) -> list[dict]:
        return await self.push(self.fake.message_update(chat_id, text, first_name=name, **kw), chat_id)

    async def press(self, message: dict[str, Any], data: str, name: str = USER_NAME) -> list[dict]:
        chat_id = message["chat"]["id"]
        return await self.push(self.fake.callback_update(self.fake.current(message), data, first_name=name), chat_id)

    def turn(self, messages: list[dict[str, Any]]) -> Turn:
        """Sent Telegram messages as channel-neutral replies (payloads decoded from callback data)."""
        turn = []
        for m in messages:
            rows = (m.get("reply_markup") or {}).get("inline_keyboard") or []
            buttons = [[{"label": b["text"], "payload": self.service.keys.decode(b["callback_data"]),
                         "message": m, "data": b["callback_data"]} for b in row] for row in rows]
            turn.append({"text": m["text"], "buttons": buttons})
        return turn


async def run_telegram(app: App, fake: Any = None) -> Comparable:
    from fake_telegram import FakeTelegram

    own = fake is None
    fake = fake or await FakeTelegram().start()
    steps = script(app)
    harness = await TelegramHarness(app, fake).start()
    try:
        async def say(text: str) -> Turn:
            return harness.turn(await harness.say(text))

        async def press(button: Button) -> Turn:
            return harness.turn(await harness.press(button["message"], button["data"]))

        turns = await play(steps, say, press)
    finally:
        await harness.stop()
        if own:
            await fake.close()
    return comparable(turns, name=USER_NAME)


# --- Zalo OA --------------------------------------------------------------------------------------


def stacked(result: Comparable) -> Comparable:
    """Buttons one per row, as Zalo shows template buttons; compare other channels with Zalo this way."""
    return [[(text, tuple((b,) for row in rows for b in row)) for text, rows in turn] for turn in result]


async def run_zalo(app: App, fake: Any = None) -> Comparable:
    """Signed events posted to the running Zalo webhook; replies read back from a FakeZalo OA API.

    A reply may go out as several Zalo messages (text over 2000 characters, buttons beyond the
    per-message limit); the outbox row lists their ids, so they are put back together here.
    """
    from fake_zalo import APP_ID, APP_SECRET, OA_SECRET, FakeZalo, post_event, text_event

    from bot.channels.zalo import ZaloService

    own = fake is None
    if own:
        fake = FakeZalo()
        await fake.start()
    z = app.config.zalo
    z.app_id, z.oa_secret_key, z.app_secret = APP_ID, OA_SECRET, APP_SECRET
    z.access_token, z.refresh_token = fake.access_token, fake.refresh_token
    z.api_base = z.oauth_base = fake.url
    steps = script(app)
    service = ZaloService(app, poll_interval=0.02)
    webapp = web.Application()
    service.routes(webapp)
    user = "246845883529197922"
    more = app.kb.texts.get("more_choices")
    try:
        async with TestClient(TestServer(webapp, host="127.0.0.1")) as client:
            await service.start()
            url = str(client.make_url(z.webhook_path))

            async def send(text: str) -> Turn:
                event = text_event(user, text)
                status, body = await post_event(url, event)
                assert status == 200, body
                msg_id = event["message"]["msg_id"]

                def replies() -> list[dict[str, Any]] | None:
                    row = app.store.conn.execute(
                        "select id from messages where channel = 'zalo' and platform_id = ?", (msg_id,)).fetchone()
                    rows = app.store.replies_for(row["id"]) if row else []
                    return rows if rows and all(r["status"] != "pending" for r in rows) else None

                rows = await wait_until(replies, f"the replies to {text!r}")
                by_id = {s.message_id: s for s in fake.sent}
                turn: Turn = []
                for row in rows:
                    assert row["status"] == "sent", row
                    parts = [by_id[i] for i in row["platform_msg_id"].split(",")]
                    texts = [p.text for p in parts if not (p.text == more and p is not parts[0])]
                    buttons = [[{"label": b["title"], "payload": b["payload"].removeprefix("#"),
                                 "zalo": b["payload"]}] for p in parts for b in p.buttons]
                    turn.append({"text": "\n\n".join(texts), "buttons": buttons})
                return turn

            turns = await play(steps, send, lambda button: send(button["zalo"]))
    finally:
        await service.stop()
        if own:
            await fake.stop()
    return comparable(turns)
