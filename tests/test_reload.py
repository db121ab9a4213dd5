"""Live reload of the knowledge base: staff additions and edits of knowledge/ take effect without a restart.

Every test works on a private copy of knowledge/ (`config.knowledge.path`); the real folder is never
touched. Covered: the engine and the app swap everything they answer from, a broken folder keeps the old
knowledge and names the errors, the console's button (with CSRF), conversations in progress, Telegram's
command menu and group filter, and SIGHUP on `htx-bot run`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import re
import shutil
import signal
import socket
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from fake_telegram import FakeTelegram
from scripted import TelegramHarness, wait_until
from selfcheck_chat import Chat, check_of, meeting_answers

from bot import server
from bot.app import App, build, make_webapp
from bot.console import knowledge
from bot.kb.loader import KnowledgeError
from bot.types import Incoming

ENTRY = "tv-dieu-kien"
# Words no entry uses, so before the reload the bot cannot know what this is about.
NEW_QUESTION = "thợ khai thác cát sỏi lòng sông xyzzy vào htx được không"
NEW_COMMAND = "hoidap"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TODAY = dt.date(2026, 1, 15)


@pytest.fixture
def live(config, kdir) -> App:
    """The app as `htx-bot run` builds it, over the private copy of knowledge/."""
    config.knowledge.path = str(kdir)
    app = build(config)
    yield app
    app.store.close()


def add_phrasing(kdir: Path, question: str = NEW_QUESTION, entry: str = ENTRY) -> None:
    """Through the console's own writer, as staff would."""
    result = knowledge.add_phrasing(kdir, entry, question, "Lan", None, TODAY)
    assert result.ok, result


def break_knowledge(kdir: Path) -> str:
    """An entry file that does not parse: the loader refuses the whole folder."""
    path = kdir / "entries" / "zz-hong.yaml"
    path.write_text("topic: Hỏng\nentries:\n  - id: [không đóng ngoặc\n", encoding="utf-8")
    return path.name


def add_command(kdir: Path) -> None:
    path = kdir / "ui.yaml"
    text, count = re.subn(r"(?m)^commands:\n", f'commands:\n  {NEW_COMMAND}: {{action: "help:show", '
                                               f'description: "Hỏi đáp nhanh"}}\n', path.read_text("utf-8"))
    assert count == 1
    path.write_text(text, encoding="utf-8")


def answered_entry(app: App, question: str) -> str | None:
    meta = app.engine.preview(question).meta
    return meta.get("entry_id") if meta.get("kind") == "answer" else None


# --- engine and app -----------------------------------------------------------------------------------


def test_reload_picks_up_a_new_phrasing(live, kdir):
    old_kb, old_searcher = live.kb, live.engine.searcher
    assert answered_entry(live, NEW_QUESTION) is None
    add_phrasing(kdir)
    assert answered_entry(live, NEW_QUESTION) is None  # written, not yet loaded

    kb = live.reload()
    assert kb is live.kb is live.engine.kb and kb is not old_kb
    assert live.engine.searcher is not old_searcher and live.engine.searcher.kb is kb
    assert NEW_QUESTION in kb.entries[ENTRY].questions
    assert live.engine.searcher.search(NEW_QUESTION)[0].key == ENTRY
    assert answered_entry(live, NEW_QUESTION) == ENTRY
    assert NEW_QUESTION not in old_kb.entries[ENTRY].questions  # the old one was replaced, not edited


def test_reload_picks_up_a_new_entry_and_commands(live, kdir):
    draft = knowledge.Draft(
        title="HTX nuôi frobozz có được hỗ trợ không?",
        questions=["nuôi frobozz theo htx", "htx nuôi frobozz được hỗ trợ gì", "frobozz hợp tác xã"],
        answer="Được xem xét hỗ trợ như các ngành nghề khác.",
        citations=[{"doc": "17/2023/QH15", "article": 9}],
    )
    result = knowledge.add_entry(kdir, draft, "Lan", None, TODAY)
    assert result.ok, result
    add_command(kdir)
    before = len(live.kb.entries)
    assert result.entry_id not in live.kb.entries and NEW_COMMAND not in live.engine.commands

    kb = live.engine.reload()  # the engine alone, as the brief's API; the app follows with App.reload
    assert len(kb.entries) == before + 1 and result.entry_id in kb.entries
    assert answered_entry(live, "htx nuôi frobozz được hỗ trợ gì") == result.entry_id
    assert live.engine.commands[NEW_COMMAND] == "help:show"
    assert live.reload().entries.keys() == kb.entries.keys() and live.kb is live.engine.kb


def test_reload_reads_config_knowledge_path_or_an_explicit_folder(live, kdir, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(kdir, other)
    # An editor's change in the other folder itself (an explicit folder replaces the base layer).
    path = other / "entries" / "thanh-vien.yaml"
    text, count = re.subn(r"(?m)^(      - muốn vào htx cần những gì\n)", r"\1      - zork frobozz plugh htx ở đâu\n",
                          path.read_text("utf-8"))
    assert count == 1
    path.write_text(text, encoding="utf-8")
    assert "zork frobozz plugh htx ở đâu" not in live.reload().entries[ENTRY].questions  # the configured folder
    assert "zork frobozz plugh htx ở đâu" in live.reload(other).entries[ENTRY].questions


async def test_broken_knowledge_keeps_the_old_one_and_names_the_errors(live, kdir, caplog):
    old = live.engine.knowledge
    answer = answered_entry(live, "điều kiện vào htx")
    assert answer is not None
    add_phrasing(kdir)
    name = break_knowledge(kdir)

    with pytest.raises(KnowledgeError) as err:
        live.reload()
    assert any(p.file.endswith(name) for p in err.value.problems)
    with pytest.raises(KnowledgeError):
        await live.reload_async()
    with caplog.at_level(logging.INFO, logger="bot.server"):
        assert await server.reload_knowledge(live) is False  # what SIGHUP runs: logs, never raises
    assert "knowledge not reloaded" in caplog.text and name in caplog.text

    assert live.engine.knowledge is old and live.kb is old.kb
    assert answered_entry(live, "điều kiện vào htx") == answer  # still answering, from the old knowledge
    assert answered_entry(live, NEW_QUESTION) is None

    (kdir / "entries" / name).unlink()  # fixed: the next reload works
    assert await server.reload_knowledge(live) is True
    assert answered_entry(live, NEW_QUESTION) == ENTRY


async def test_async_reload_runs_in_a_thread_and_the_index_works_on_the_loop(live, kdir):
    add_phrasing(kdir)
    kb = await live.reload_async()
    assert kb is live.kb
    # The search index was built in a worker thread; it must serve the loop's thread.
    assert live.engine.searcher.search(NEW_QUESTION)[0].key == ENTRY


async def test_overlapping_reloads_end_on_the_newest_files(live, kdir, monkeypatch):
    """Two reloads at once (SIGHUP and the console): the one that read the files last wins, even when the
    other one finishes after it."""
    real, read, gate = live.engine.prepare, threading.Event(), threading.Event()

    def slow_first(directory=None):
        knowledge = real(directory)
        if not read.is_set():
            read.set()
            gate.wait(30)  # the first load has read the old files and finishes last
        return knowledge

    monkeypatch.setattr(live.engine, "prepare", slow_first)
    first = asyncio.create_task(live.reload_async())
    await wait_until(read.is_set, "the first load")
    add_phrasing(kdir)
    await live.reload_async()
    assert NEW_QUESTION in live.kb.entries[ENTRY].questions
    gate.set()
    assert NEW_QUESTION in (await first).entries[ENTRY].questions
    assert NEW_QUESTION in live.kb.entries[ENTRY].questions and live.kb is live.engine.kb


def test_a_failing_listener_does_not_undo_the_reload(live, kdir):
    seen = []

    def broken(kb):
        raise RuntimeError("boom")

    live.reload_listeners.extend([broken, seen.append])
    add_phrasing(kdir)
    kb = live.reload()
    assert seen == [kb] and live.kb is kb and answered_entry(live, NEW_QUESTION) == ENTRY


# --- conversations in progress -------------------------------------------------------------------------


def test_conversations_in_progress_survive_a_reload(live, kdir):
    check = check_of(live.kb, "eligibility")
    chat = Chat(live)
    chat.say("/kiemtra")
    answers = meeting_answers(check)
    first = check.steps[0]
    chat.answer(check, first.id, answers[first.id])
    state = chat.state()
    assert state["flow"] == "eligibility" and state["answers"] == {first.id: answers[first.id]}
    asked = chat.current_step(check)

    add_phrasing(kdir)
    live.reload()

    chat.answer(check, asked, answers[asked])  # the button of the question asked before the reload
    after = chat.state()
    assert after["flow"] == "eligibility"
    assert after["answers"] == {first.id: answers[first.id], asked: answers[asked]}
    reloaded = check_of(live.kb, "eligibility")
    chat.walk(reloaded, answers)  # and the rest of the walk, on the new knowledge, to the result
    assert chat.current_step(reloaded) is None
    assert chat.state()["answers"] == {s.id: answers[s.id] for s in reloaded.asked(answers)}


# --- console --------------------------------------------------------------------------------------------


@pytest.fixture
async def console(live, aiohttp_client):
    from test_console import add_staff, login

    live.config.web.host = "127.0.0.1"
    client = await aiohttp_client(make_webapp(live, []))
    add_staff(live, role="editor")
    assert (await login(client)).status == 303
    return client


async def csrf_of(client, path: str) -> str:
    resp = await client.get(path)
    assert resp.status == 200, path
    return CSRF.search(await resp.text()).group(1)


async def test_console_button_reloads_and_shows_the_count(live, console):
    token = await csrf_of(console, "/console/knowledge")
    add_phrasing(knowledge.root_dir(live.config))  # into the overlay, by hand (reviewed drafts reload by themselves)
    page = await (await console.get("/console/knowledge")).text()
    assert 'action="/console/knowledge/reload"' in page and "Chưa — cần nạp lại" in page
    before = len(live.kb.entries)
    chat = await console.post("/api/message", json={"text": NEW_QUESTION})
    assert "Nguồn:" not in (await chat.json())["replies"][0]["text"]

    resp = await console.post("/console/knowledge/reload", allow_redirects=False,
                              data={"csrf": token, "next": "/console/knowledge"})
    assert resp.status == 303
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/console/knowledge"
    assert parse_qs(location.query) == {"ok": ["reloaded"], "before": [str(before)]}
    page = await (await console.get(resp.headers["Location"])).text()
    assert "Đã nạp lại kiến thức" in page and f"<strong>{len(live.kb.entries)}</strong> mục" in page
    assert "Chưa — cần nạp lại" not in page

    # The web chat on the same server answers the new phrasing at once; health counts the new knowledge.
    chat = await console.post("/api/message", json={"text": NEW_QUESTION})
    assert "Nguồn:" in (await chat.json())["replies"][0]["text"]
    assert (await (await console.get("/healthz")).json())["entries"] == len(live.kb.entries)


async def test_console_addition_on_a_ticket_needs_no_reload_once_published(live, console):
    live.engine.handle(Incoming("web", "u" * 20, text=NEW_QUESTION))
    ticket = next(t for t in live.store.tickets(None) if t["reason"] == "unknown")
    token = await csrf_of(console, f"/console/tickets/{ticket['id']}")
    resp = await console.post("/console/review/drafts", allow_redirects=False, data={
        "csrf": token, "kind": "phrasing", "message": str(ticket["message_id"]), "entry": ENTRY,
        "question": NEW_QUESTION})
    assert resp.status == 303
    draft = resp.headers["Location"].partition("?")[0]
    assert answered_entry(live, NEW_QUESTION) is None  # a draft changes nothing live
    old = live.engine.knowledge

    resp = await console.post(draft + "/publish", allow_redirects=False, data={"csrf": token})
    assert resp.status == 303 and resp.headers["Location"].endswith("ok=published")
    assert live.engine.knowledge is not old and answered_entry(live, NEW_QUESTION) == ENTRY
    page = await (await console.get("/console/knowledge")).text()
    assert "Chưa — cần nạp lại" not in page


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/console/logout", ""])
async def test_console_reload_only_returns_inside_the_console_pages(live, console, target):
    token = await csrf_of(console, "/console/knowledge")
    resp = await console.post("/console/knowledge/reload", allow_redirects=False, data={"csrf": token, "next": target})
    assert resp.status == 303 and resp.headers["Location"].startswith("/console/knowledge?ok=reloaded")


async def test_console_reload_needs_csrf(live, console, kdir):
    await csrf_of(console, "/console/knowledge")  # a session exists, but this POST does not carry its token
    add_phrasing(kdir)
    old = live.engine.knowledge
    for data in ({}, {"csrf": "forged"}):
        resp = await console.post("/console/knowledge/reload", data=data)
        assert resp.status == 403
    assert live.engine.knowledge is old and answered_entry(live, NEW_QUESTION) is None


async def test_console_reload_of_broken_knowledge_lists_errors_and_keeps_running(live, console, kdir):
    token = await csrf_of(console, "/console/knowledge")
    old = live.engine.knowledge
    name = break_knowledge(kdir)
    resp = await console.post("/console/knowledge/reload", data={"csrf": token, "next": "/console/tickets/1"})
    page = await resp.text()
    assert resp.status == 400
    assert "Chưa nạp lại được kiến thức" in page and name in page
    assert f"({len(old.kb.entries)} mục)" in page and 'href="/console/tickets/1"' in page
    assert live.engine.knowledge is old and live.kb is old.kb
    chat = await console.post("/api/message", json={"text": "điều kiện vào htx"})
    assert "Nguồn:" in (await chat.json())["replies"][0]["text"]  # the bot keeps answering


# --- Telegram -------------------------------------------------------------------------------------------


async def test_telegram_menu_and_group_commands_follow_a_reload(live, kdir):
    fake = await FakeTelegram().start()
    harness = await TelegramHarness(live, fake).start()
    try:
        await wait_until(lambda: fake.commands, "the first setMyCommands")
        assert NEW_COMMAND not in [c["command"] for c in fake.commands]
        assert await harness.say(f"/{NEW_COMMAND}", chat_id=-100777, chat_type="supergroup") == []
        menus = len(fake.calls_of("setMyCommands"))

        await live.reload_async()  # nothing changed in ui.yaml: the menu is not sent again
        await asyncio.sleep(0)
        assert len(fake.calls_of("setMyCommands")) == menus

        add_command(kdir)
        await live.reload_async()
        await wait_until(lambda: NEW_COMMAND in [c["command"] for c in fake.commands or []], "the new menu")
        sent = await harness.say(f"/{NEW_COMMAND}", chat_id=-100777, chat_type="supergroup")
        assert sent and sent[0]["text"].startswith("Cách dùng")
    finally:
        await harness.stop()
        await fake.close()
    assert harness.service.knowledge_reloaded not in live.reload_listeners


# --- htx-bot run: SIGHUP --------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
async def test_sighup_reloads_the_running_bot(live, kdir, caplog):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        live.config.web.port = s.getsockname()[1]
    stop = asyncio.Event()
    running = asyncio.create_task(server.run(live, stop))
    base = f"http://127.0.0.1:{live.config.web.port}"
    try:
        await wait_until(lambda: running.done() or signal.getsignal(signal.SIGHUP) != signal.SIG_DFL,
                         "the SIGHUP handler")
        assert not running.done()
        add_phrasing(kdir)
        with caplog.at_level(logging.INFO, logger="bot.server"):
            os.kill(os.getpid(), signal.SIGHUP)
            await wait_until(lambda: NEW_QUESTION in live.kb.entries[ENTRY].questions, "the reload")
        assert "knowledge reloaded" in caplog.text
        async with aiohttp.ClientSession() as session:
            async with session.post(base + "/api/message", json={"text": NEW_QUESTION}) as resp:
                assert "Nguồn:" in (await resp.json())["replies"][0]["text"]
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL  # a later SIGHUP is not sent to a dead loop
