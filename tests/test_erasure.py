"""/xoadulieu erases every personal field: in the tables, and in the database files' bytes."""

from pathlib import Path

from bot.db import Store
from bot.effects import SendSelfCheckResult
from bot.types import Incoming, Reply

USER = "730045512987"  # a Telegram-like chat id
NAME = "Zơ Rát Độcnhất"
PHONE = "0398877665"
MARKERS = [PHONE.encode(), NAME.encode("utf-8"), USER.encode(), "Độcnhất".encode()]


def say(app, text=None, payload=None, user=USER, name=NAME):
    sent = app.engine.handle(Incoming("telegram", user, text=text, payload=payload, name=name))
    return sent


def files(path: str) -> dict[str, bytes]:
    out = {}
    for suffix in ("", "-wal", "-shm"):
        p = Path(path + suffix)
        if p.exists():
            out[suffix or "main"] = p.read_bytes()
    return out


def leaks(path: str) -> list[tuple[str, bytes]]:
    return [(name, m) for name, data in files(path).items() for m in MARKERS if m in data]


def personal_rows(store: Store) -> list[tuple[str, dict]]:
    """Every row of every table that still mentions the user, their name or phone."""
    found = []
    tables = [r[0] for r in store.conn.execute("select name from sqlite_master where type = 'table'")]
    for table in tables:
        for row in store.conn.execute(f"select * from {table}"):
            values = " ".join(str(v) for v in tuple(row))
            if any(m.decode("utf-8") in values for m in MARKERS):
                found.append((table, dict(row)))
    return found


def fill(app) -> None:
    """A member who typed their phone, asked staff, voted, sent a self-check and is mid-conversation."""
    store = app.store
    say(app, f"số điện thoại tôi là {PHONE}, htx là gì")
    for sent in say(app, "điều kiện vào hợp tác xã"):
        store.mark_sent(sent.id)
    answered = store._scalar("select max(id) from messages")
    say(app, payload=f"fb:-:{answered}")  # a 👎 opens a ticket with the question
    say(app, "/canbo")
    say(app, f"Tôi là {NAME}, gọi lại cho tôi số {PHONE} nhé")
    ticket = store.tickets()[0]
    # Staff answer, not yet delivered: it names the member and their phone.
    store.answer_ticket(ticket["id"], f"Chào {NAME}", "can bo", Reply(f"Chào {NAME}, cán bộ sẽ gọi {PHONE}"))
    mid, _ = store.record_incoming(Incoming("telegram", USER, "đồng ý"), "đồng ý")
    store.complete(mid, "telegram", USER, [Reply("đã gửi")], {}, {"flow": "staff", "note": PHONE},
                   [SendSelfCheckResult("eligibility", mid, [{"step": "a"}], {"verdict": "meets"}, NAME, PHONE)])
    # Someone else, who must keep everything.
    app.engine.handle(Incoming("telegram", "111", text="điều kiện vào hợp tác xã", name="Lan"))


def test_erasure_leaves_no_personal_field_and_no_bytes(app, config):
    fill(app)
    store = app.store
    assert len(personal_rows(store)) > 10 and leaks(config.storage.path)
    counts = store.counts()

    say(app, "/xoadulieu")
    (done,) = say(app, payload="privacy:forget-yes")
    assert "Đã xóa" in done.reply.text
    # The staff answer still waiting for delivery is cancelled, not sent.
    assert [r["id"] for r in store.due_replies("telegram", user_key=USER)] == [done.id]
    assert store._scalar("select count(*) from replies where status = 'cancelled' and origin = 'staff'") == 1
    # Only the confirmation still carries the user's key, until it is delivered.
    assert [t for t, _ in personal_rows(store)] == ["messages", "replies"]
    store.mark_sent(done.id)

    assert personal_rows(store) == []
    assert leaks(config.storage.path) == []  # while the bot runs: the -wal was checkpointed and truncated
    # Counts for reports survive: the messages and replies are anonymised, not deleted.
    after = store.counts()
    assert after["messages"] == counts["messages"] + 2 and after["replies"] >= counts["replies"]
    assert after["tickets"] == 0 and after["feedback"] == 0 and store.selfcheck_results() == []
    assert store.user("telegram", "111")["name"] == "Lan" and store.dialog("telegram", USER) == (None, 0.0)
    assert store.conn.execute("pragma secure_delete").fetchone()[0] == 1

    store.close()
    assert leaks(config.storage.path) == []
    reopened = Store(config.storage.path)
    assert personal_rows(reopened) == []
    reopened.close()


def test_the_web_confirmation_is_anonymised_once_delivered(app):
    sent = app.engine.handle(Incoming("web", "w" * 20, text=f"gọi {PHONE}"))
    for s in sent:
        app.store.mark_sent(s.id)
    app.engine.handle(Incoming("web", "w" * 20, text="/xoadulieu"))
    (done,) = app.engine.handle(Incoming("web", "w" * 20, payload="privacy:forget-yes"))
    app.store.mark_sent(done.id)
    keys = {r[0] for r in app.store.conn.execute("select user_key from messages union select user_key from replies")}
    assert all(k.startswith("erased-") for k in keys)
    assert app.store.history("web", "w" * 20) == []


def test_an_undeliverable_confirmation_is_anonymised_too(app):
    say(app, "/xoadulieu")
    (done,) = say(app, payload="privacy:forget-yes")
    app.store.mark_retry(done.id, "blocked", 0, max_attempts=1)
    assert personal_rows(app.store) == []
