"""Crash tests: the real `htx-bot run` process, killed with SIGKILL in the middle of a burst.

For each channel that receives over HTTP (Zalo webhook, web chat, Telegram in webhook mode) a burst of
messages goes to the real server process on 127.0.0.1 while fake platform servers (tests/fake_zalo.py,
tests/fake_telegram.py) run in this test's event loop. The process is killed with SIGKILL once part of
the burst was acknowledged, started again, and the platform's retries of what was not acknowledged are
delivered. Then:

- nothing lost: every message acknowledged with 200 is in the database, exactly once;
- everything answered: every stored message is handled (`Engine.recover()` after the restart), and on
  Zalo and Telegram every reply was delivered;
- duplicates bounded: neither Zalo's CS API nor Telegram's Bot API takes an idempotency key, so a reply
  the platform accepted just before the kill, and that the bot had not yet marked sent, goes out again
  after the restart. The outbox sends one message at a time per channel, so that is at most one
  message per channel per kill; the test counts them and allows exactly that.

Marked `crash` (each test starts the server twice): `make test` leaves them out, `.ci/run` runs them.
Run them alone with `.venv/bin/pytest -m crash tests/test_crash.py -s` to see the figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import FIXTURE_DIR
from fake_telegram import TOKEN, FakeTelegram
from fake_zalo import APP_ID, OA_SECRET, FakeZalo, encode, sign, text_event

pytestmark = pytest.mark.crash

N = 150  # messages in the burst
KILL_AFTER = 60  # acknowledged messages before the SIGKILL
CONCURRENCY = 16  # requests in flight at once
START_LIMIT = 10.0  # seconds for the server to come up
SETTLE_LIMIT = 10.0  # seconds for every stored message to be answered after the restart
TG_SECRET = "crash-test-secret"
QUESTIONS = ["/help", "hợp tác xã là gì", "điều kiện thành lập hợp tác xã", "/menu", "góp vốn tối đa bao nhiêu"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _command() -> list[str]:
    script = Path(sys.executable).with_name("htx-bot")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from bot.cli import main; main()"]


class Server:
    """`htx-bot run --config <file>` as a child process."""

    def __init__(self, tmp_path: Path, sections: str):
        self.port = _free_port()
        self.db = tmp_path / "crash.sqlite3"
        self.config = tmp_path / "config.toml"
        self.log = tmp_path / "server.log"
        self.config.write_text(
            f'[storage]\npath = "{self.db}"\n'
            f'[knowledge]\npath = "{FIXTURE_DIR}"\noverlay_path = "{tmp_path / "overlay"}"\n'
            f'[web]\nhost = "127.0.0.1"\nport = {self.port}\n'
            # One test client posts a burst from one address: no flood or per-address limits in the way.
            "[limits]\nmessages_per_minute = 1000000\naddress_messages_per_minute = 0\naddress_new_users_per_hour = 0\n"
            + sections, encoding="utf-8")
        self.proc: asyncio.subprocess.Process | None = None
        self.killed = False
        self.url = f"http://127.0.0.1:{self.port}"

    async def start(self, ready: Callable[[], Awaitable[bool]] | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HTX_")}
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        self.killed = False
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *_command(), "run", "--config", str(self.config), stdout=out, stderr=asyncio.subprocess.STDOUT,
                cwd=str(self.config.parent), env=env)
        deadline = time.monotonic() + START_LIMIT
        async with aiohttp.ClientSession() as s:
            while True:
                assert self.proc.returncode is None, "the server exited:\n" + self.log.read_text()[-3000:]
                try:
                    async with s.get(self.url + "/healthz") as r:
                        if r.status == 200 and (ready is None or await ready()):
                            return
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "the server did not start:\n" + self.log.read_text()[-3000:]
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind runs in the server."""
        if self.proc is not None and self.proc.returncode is None and not self.killed:
            self.killed = True
            os.kill(self.proc.pid, signal.SIGKILL)

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()

    def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """Read the server's database from outside (WAL: readers do not disturb the writer)."""
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(sql, args).fetchall()]
        finally:
            conn.close()


async def burst(server: Server, send: Callable[[aiohttp.ClientSession, int], Awaitable[bool]],
                indexes: list[int], kill_after: int | None) -> set[int]:
    """Send `indexes` with CONCURRENCY in flight; SIGKILL the server after `kill_after` acknowledgements.
    Returns the indexes acknowledged with 200."""
    acked: set[int] = set()
    queue = list(indexes)
    timeout = aiohttp.ClientTimeout(total=5)

    async def worker(session: aiohttp.ClientSession) -> None:
        while queue:
            i = queue.pop(0)
            try:
                if await send(session, i):
                    acked.add(i)
            except (aiohttp.ClientError, TimeoutError):
                pass  # the server is gone: not acknowledged
            if kill_after is not None and len(acked) >= kill_after:
                server.kill()

    async with aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as session:
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
    if server.proc is not None and kill_after is not None:
        server.kill()  # even if too few were acknowledged (the test then fails on the count, never hangs)
        await server.proc.wait()
    return acked


async def settled(server: Server, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + SETTLE_LIMIT
    while not condition():
        assert time.monotonic() < deadline, "not everything was answered after the restart:\n" + \
            server.log.read_text()[-3000:]
        await asyncio.sleep(0.1)


def report(channel: str, acked: int, stored: int, lost: int, duplicates: int) -> None:
    print(f"\n[crash] {channel}: burst of {N}, SIGKILL after {KILL_AFTER} acknowledged; acknowledged before "
          f"the kill {acked}, stored {stored}, acknowledged but lost {lost}, replies sent twice {duplicates}")


# --- Zalo -------------------------------------------------------------------------------------------


@pytest.fixture
async def fake_zalo():
    fake = FakeZalo()
    await fake.start()
    yield fake
    await fake.stop()


async def test_zalo_webhook_under_sigkill(tmp_path, fake_zalo):
    server = Server(tmp_path, f'[zalo]\napp_id = "{APP_ID}"\noa_secret_key = "{OA_SECRET}"\n'
                              f'access_token = "{fake_zalo.access_token}"\napi_base = "{fake_zalo.url}"\n'
                              f'oauth_base = "{fake_zalo.url}"\n')
    events = [text_event(f"84{i % 25:04d}", QUESTIONS[i % len(QUESTIONS)], msg_id=f"crash-{i:04d}")
              for i in range(N)]
    webhook = server.url + "/zalo/webhook"

    async def send(session: aiohttp.ClientSession, i: int) -> bool:
        raw = encode(events[i])
        headers = {"Content-Type": "application/json", "X-ZEvent-Signature": sign(raw, events[i]["timestamp"])}
        async with session.post(webhook, data=raw, headers=headers) as resp:
            return resp.status == 200 and (await resp.json()).get("ok") is True

    await server.start()
    try:
        acked = await burst(server, send, list(range(N)), KILL_AFTER)
        lost = [i for i in acked if not server.rows("select 1 from messages where platform_id = ?", f"crash-{i:04d}")]
        stored_at_kill = len(server.rows("select id from messages"))
        await server.start()
        # Zalo retries what it got no 200 for (same bytes, same msg_id); the burst is otherwise done.
        retried = await burst(server, send, [i for i in range(N) if i not in acked], None)
        assert len(retried) == N - len(acked)

        def done() -> bool:
            return not server.rows("select 1 from messages where status = 'received'") and \
                not server.rows("select 1 from replies where status = 'pending'")

        await settled(server, done)
        messages = server.rows("select * from messages")
        replies = server.rows("select * from replies")
        parts = sum(len(r["platform_msg_id"].split(",")) for r in replies if r["status"] == "sent")
        duplicates = len(fake_zalo.sent) - parts
        report("Zalo webhook", len(acked), stored_at_kill, len(lost), duplicates)
        assert len(acked) >= KILL_AFTER and lost == []
        assert sorted(m["platform_id"] for m in messages) == [f"crash-{i:04d}" for i in range(N)]  # each once
        assert all(m["status"] == "handled" for m in messages)
        assert {r["message_id"] for r in replies} >= {m["id"] for m in messages}
        assert all(r["status"] == "sent" for r in replies)
        assert 0 <= duplicates <= 1
    finally:
        await server.stop()


# --- web chat ---------------------------------------------------------------------------------------


async def test_web_chat_under_sigkill(tmp_path):
    server = Server(tmp_path, "")
    texts = [f"{QUESTIONS[i % len(QUESTIONS)]} (câu {i:04d})" for i in range(N)]

    async def send(session: aiohttp.ClientSession, i: int) -> bool:
        async with session.post(server.url + "/api/message", json={"text": texts[i]}) as resp:
            return resp.status == 200 and bool((await resp.json())["replies"])

    await server.start()
    try:
        acked = await burst(server, send, list(range(N)), KILL_AFTER)
        stored = {m["text"] for m in server.rows("select text from messages")}
        lost = [i for i in acked if texts[i] not in stored]
        await server.start()
        await settled(server, lambda: not server.rows("select 1 from messages where status = 'received'"))
        messages = server.rows("select * from messages")
        answered = {r["message_id"] for r in server.rows("select message_id from replies")}
        report("web chat", len(acked), len(stored), len(lost), 0)
        assert len(acked) >= KILL_AFTER and lost == []
        assert len(messages) == len({m["text"] for m in messages})  # none stored twice
        assert all(m["status"] == "handled" and m["id"] in answered for m in messages)
        # Replies to acknowledged messages went out in the HTTP answer and are marked sent; replies to
        # messages answered only after the restart wait for the browser's next poll.
        acked_ids = {m["id"] for m in messages if m["text"] in {texts[i] for i in acked}}
        assert all(r["status"] == "sent" for r in server.rows("select * from replies") if r["message_id"] in acked_ids)
    finally:
        await server.stop()


# --- Telegram (webhook mode) ------------------------------------------------------------------------


@pytest.fixture
async def fake_tg():
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.close()


async def test_telegram_webhook_under_sigkill(tmp_path, fake_tg):
    server = Server(tmp_path, f'[telegram]\ntoken = "{TOKEN}"\nmode = "webhook"\nbase_url = "{fake_tg.base_url}"\n'
                              f'webhook_url = "https://htx.example.org/tg/hook"\nsecret_token = "{TG_SECRET}"\n')
    updates = []
    for i in range(N):
        update = fake_tg.message_update(5000 + i % 25, QUESTIONS[i % len(QUESTIONS)])
        update["update_id"] = 900000 + i
        updates.append(update)
    hook = server.url + "/tg/hook"
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}

    async def send(session: aiohttp.ClientSession, i: int) -> bool:
        async with session.post(hook, data=json.dumps(updates[i]), headers={
                **headers, "Content-Type": "application/json"}) as resp:
            return resp.status == 200

    async def ready() -> bool:  # the webhook answers 503 until the bot has met Telegram (getMe)
        webhooks = len(fake_tg.calls_of("setWebhook"))
        return webhooks > ready.seen  # type: ignore[attr-defined]

    ready.seen = 0  # type: ignore[attr-defined]
    await server.start(ready)
    try:
        acked = await burst(server, send, list(range(N)), KILL_AFTER)
        lost = [i for i in acked if not server.rows("select 1 from messages where platform_id = ?", str(900000 + i))]
        stored_at_kill = len(server.rows("select id from messages"))
        ready.seen = len(fake_tg.calls_of("setWebhook"))  # type: ignore[attr-defined]
        await server.start(ready)
        # Telegram re-delivers every update it got no 200 for.
        await burst(server, send, [i for i in range(N) if i not in acked], None)

        def done() -> bool:
            return not server.rows("select 1 from messages where status = 'received'") and \
                not server.rows("select 1 from replies where status = 'pending'")

        await settled(server, done)
        messages = server.rows("select * from messages")
        replies = server.rows("select * from replies")
        duplicates = len(fake_tg.calls_of("sendMessage")) - len(replies)  # every reply here is one message
        report("Telegram webhook", len(acked), stored_at_kill, len(lost), duplicates)
        assert len(acked) >= KILL_AFTER and lost == []
        assert sorted(int(m["platform_id"]) for m in messages) == [900000 + i for i in range(N)]
        assert all(m["status"] == "handled" for m in messages)
        assert {r["message_id"] for r in replies} >= {m["id"] for m in messages}
        assert all(r["status"] == "sent" for r in replies)
        assert 0 <= duplicates <= 1
    finally:
        await server.stop()
