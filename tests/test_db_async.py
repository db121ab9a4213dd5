"""The async API: engine work runs on the store's one writer thread, the event loop stays free."""

import asyncio
import threading
import time

from bot.types import Incoming


async def test_handle_async_answers_on_the_writer_thread(app):
    threads = []
    record = app.store.record_incoming

    def spy(inc, text):
        threads.append(threading.current_thread().name)
        return record(inc, text)

    app.store.record_incoming = spy
    sent = await app.engine.handle_async(Incoming("web", "u1", "điều kiện thành lập hợp tác xã"))
    assert sent and sent[0].reply.text
    assert threads and threads[0].startswith("db-writer") and threads[0] != threading.current_thread().name
    (mid,) = app.store.conn.execute("select max(id) from messages").fetchone()
    assert [r["id"] for r in app.store.replies_for(mid)] == [s.id for s in sent]


async def test_the_loop_keeps_running_while_a_message_is_handled(app):
    run = app.engine._run

    def slow(*args, **kwargs):
        time.sleep(0.3)
        return run(*args, **kwargs)

    app.engine._run = slow
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        await app.engine.handle_async(Incoming("web", "u1", "xin chào"))
    finally:
        task.cancel()
    assert ticks >= 10  # with a blocking handle() the ticker could not run at all


async def test_concurrent_messages_are_handled_one_at_a_time_in_order(app):
    active, overlaps = [0], []
    run = app.engine._run

    def counted(*args, **kwargs):
        active[0] += 1
        overlaps.append(active[0])
        try:
            return run(*args, **kwargs)
        finally:
            active[0] -= 1

    app.engine._run = counted
    results = await asyncio.gather(*(
        app.engine.handle_async(Incoming("web", f"u{i}", "vốn điều lệ", platform_id=str(i))) for i in range(8)
    ))
    assert overlaps == [1] * 8
    ids = [sent[0].id for sent in results]
    assert ids == sorted(ids)
    assert app.store.unhandled() == []


async def test_console_ticket_writes_have_async_forms(app):
    from bot.console import queries
    from bot.types import Reply

    await app.engine.handle_async(Incoming("web", "u1", "/canbo"))
    await app.engine.handle_async(Incoming("web", "u1", "Tôi cần hỏi về thuế"))
    (ticket,) = app.store.tickets()
    reply_id = await queries.answer_ticket_async(app.store, ticket["id"], "Đã trả lời", "cb", Reply("Trả lời"))
    assert reply_id is not None and queries.ticket(app.store, ticket["id"])["status"] == "answered"
    assert await queries.set_status_async(app.store, ticket["id"], "closed", "cb", ("open",)) is False
