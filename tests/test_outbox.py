import asyncio

from bot.db import Store
from bot.outbox import Delivery, OutboxWorker, backoff
from bot.types import Incoming, Reply


def queued(store, n=1, channel="x"):
    mid, _ = store.record_incoming(Incoming(channel, "u", "q"), "q")
    return store.complete(mid, channel, "u", [Reply(f"r{i}") for i in range(n)], {}, None)


async def test_sent_retry_undeliverable(tmp_path):
    now = [100.0]
    store = Store(tmp_path / "db.sqlite3", clock=lambda: now[0])
    ids = queued(store, 3)
    results = iter([Delivery("sent", "p1"), Delivery("retry", error="boom"), Delivery("undeliverable", error="gone")])

    async def send(row):
        return next(results)

    worker = OutboxWorker(store, "x", send)
    assert await worker.drain() == 1
    rows = {r["id"]: r for r in store.conn.execute("select * from replies").fetchall()}
    assert rows[ids[0]]["status"] == "sent" and rows[ids[0]]["platform_msg_id"] == "p1"
    assert rows[ids[1]]["status"] == "pending" and rows[ids[1]]["next_attempt_at"] == 100.0 + backoff(1)
    assert rows[ids[2]]["status"] == "undeliverable"


async def test_retry_after_stops_the_round_and_keeps_order(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    queued(store, 3)
    calls = []

    async def send(row):
        calls.append(row["text"])
        return Delivery("retry", retry_after=30)

    await OutboxWorker(store, "x", send).drain()
    assert calls == ["r0"]


async def test_exception_in_sender_is_a_retry(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    (rid,) = queued(store)

    async def send(row):
        raise ConnectionError("down")

    await OutboxWorker(store, "x", send).drain()
    row = store.conn.execute("select status, last_error from replies where id = ?", (rid,)).fetchone()
    assert row["status"] == "pending" and "ConnectionError" in row["last_error"]


async def test_stop_is_prompt_even_when_woken(tmp_path):
    store = Store(tmp_path / "db.sqlite3")

    async def send(row):
        return Delivery("sent")

    for _ in range(20):
        worker = OutboxWorker(store, "x", send, poll_interval=0.01)
        worker.start()
        await asyncio.sleep(0)
        worker.notify()
        await asyncio.wait_for(worker.stop(), timeout=5)
