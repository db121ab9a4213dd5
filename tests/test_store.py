import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import pytest

from bot.db import MIGRATIONS, Store
from bot.effects import ForgetUser, OpenTicket
from bot.engine import Engine
from bot.types import Button, Incoming, Reply


@dataclass(frozen=True)
class NotAnEffect:
    """An effect class no applier is registered for."""


def test_schema_is_versioned_and_migrations_run_once(tmp_path):
    path = tmp_path / "db.sqlite3"
    store = Store(path)
    assert store.schema_version == len(MIGRATIONS)
    store.close()
    again = Store(path)  # re-opening applies nothing twice
    assert again.schema_version == len(MIGRATIONS)
    assert again.conn.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_dedup_on_platform_id(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    first = store.record_incoming(Incoming("telegram", "1", "hi", platform_id="u-5"), "hi")
    second = store.record_incoming(Incoming("telegram", "1", "hi", platform_id="u-5"), "hi")
    other_channel = store.record_incoming(Incoming("zalo", "1", "hi", platform_id="u-5"), "hi")
    assert first == (first[0], False) and second == (first[0], True) and not other_channel[1]


def test_complete_is_atomic(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    mid, _ = store.record_incoming(Incoming("web", "u", "q"), "q")
    with pytest.raises(TypeError):
        store.complete(mid, "web", "u", [Reply("a")], {"kind": "answer"}, None, [NotAnEffect()])  # type: ignore[list-item]
    assert store.replies_for(mid) == []  # rolled back with the failing effect
    assert store.message(mid)["status"] == "received"


def test_outbox_retry_and_give_up(tmp_path):
    now = [1000.0]
    store = Store(tmp_path / "db.sqlite3", clock=lambda: now[0])
    mid, _ = store.record_incoming(Incoming("zalo", "u", "q"), "q")
    (rid,) = store.complete(mid, "zalo", "u", [Reply("a", [[Button("x", "y")]])], {}, None)
    assert [r["id"] for r in store.due_replies("zalo")] == [rid]
    assert store.mark_retry(rid, "boom", delay=30, max_attempts=3) == "pending"
    assert store.due_replies("zalo") == []  # not before its time
    now[0] += 31
    assert store.due_replies("zalo")[0]["buttons"] == [[{"label": "x", "payload": "y"}]]
    assert store.mark_retry(rid, "boom", delay=30, max_attempts=3) == "pending"
    assert store.mark_retry(rid, "boom", delay=30, max_attempts=3) == "failed"
    now[0] += 1000
    assert store.due_replies("zalo") == []


def test_forget_erases_a_users_texts(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    mid, _ = store.record_incoming(Incoming("web", "u", "số tôi 0912"), "số tôi 0912")
    store.complete(mid, "web", "u", [Reply("a")], {}, None, [OpenTicket("unknown", "0912")])
    m2, _ = store.record_incoming(Incoming("web", "u", "xóa"), "xóa")
    store.complete(m2, "web", "u", [Reply("ok")], {}, None, [ForgetUser()])
    assert store.message(mid)["text"] is None
    assert store.tickets(status=None) == []


KILLER = textwrap.dedent(
    """
    import os, sys
    from bot.config import Config
    from bot.app import build
    from bot.types import Incoming
    cfg = Config()
    cfg.storage.path = sys.argv[1]
    app = build(cfg)
    def die(*args, **kwargs):
        os.kill(os.getpid(), 9)  # SIGKILL: no cleanup, no commit
    app.engine._run = die
    app.engine.handle(Incoming("telegram", "42", text="điều kiện để vào hợp tác xã", platform_id="upd-1"))
    """
)


def test_kill_between_receive_and_reply_loses_nothing(tmp_path, config, kb, searcher):
    db = tmp_path / "killed.sqlite3"
    proc = subprocess.run([sys.executable, "-c", KILLER, str(db)], cwd=os.getcwd(), capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()
    store = Store(db)
    pending = store.unhandled()
    assert [m["text"] for m in pending] == ["điều kiện để vào hợp tác xã"]
    config.storage.path = str(db)
    engine = Engine(kb, store, config, searcher=searcher)
    assert engine.recover() == 1
    replies = store.replies_for(pending[0]["id"])
    assert replies and replies[0]["status"] == "pending"
    assert store.message(pending[0]["id"])["status"] == "handled"
    # The platform redelivers the same update after the restart: it is not answered twice.
    assert engine.handle(Incoming("telegram", "42", text="điều kiện để vào hợp tác xã", platform_id="upd-1")) == []
    assert json.loads(store.message(pending[0]["id"])["citations"])
