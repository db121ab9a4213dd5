"""SQLite storage (sqlite-utils, WAL): users, messages, replies/outbox, feedback, dialogs, staff tickets.

An incoming message is committed before anything else happens, and its replies, dialog state and side
effects are committed together in one transaction afterwards. So a process killed in between loses
nothing: the message stays `received` and `Engine.recover()` answers it on the next start.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import sqlite_utils

from bot.types import Effect, Incoming, Reply

# Each migration runs once, in order, inside a transaction; append, never edit a shipped one.
MIGRATIONS: list[str] = [
    """
    create table users (
        id integer primary key,
        channel text not null,
        user_key text not null,
        name text,
        province text,
        created_at real not null,
        last_seen_at real not null,
        unique (channel, user_key)
    );
    create table messages (
        id integer primary key,
        channel text not null,
        user_key text not null,
        platform_id text,
        text text,
        payload text,
        attachment text,
        received_at real not null,
        status text not null default 'received',
        handled_at real,
        kind text,
        intent text,
        entry_id text,
        score real,
        citations text,
        error text
    );
    create unique index messages_platform on messages (channel, platform_id) where platform_id is not null;
    create index messages_status on messages (status);
    create index messages_user on messages (channel, user_key);
    create table replies (
        id integer primary key,
        message_id integer references messages(id),
        channel text not null,
        user_key text not null,
        origin text not null default 'bot',
        text text not null,
        buttons text not null default '[]',
        created_at real not null,
        status text not null default 'pending',
        attempts integer not null default 0,
        next_attempt_at real not null default 0,
        sent_at real,
        platform_msg_id text,
        last_error text
    );
    create index replies_outbox on replies (channel, status, next_attempt_at);
    create table feedback (
        id integer primary key,
        message_id integer not null references messages(id),
        channel text not null,
        user_key text not null,
        value integer not null,
        created_at real not null,
        unique (message_id, channel, user_key)
    );
    create table dialogs (
        channel text not null,
        user_key text not null,
        flow text,
        state text not null,
        updated_at real not null,
        primary key (channel, user_key)
    );
    create table tickets (
        id integer primary key,
        message_id integer references messages(id),
        channel text not null,
        user_key text not null,
        reason text not null,
        text text not null,
        status text not null default 'open',
        created_at real not null,
        answered_at real,
        answer text,
        staff text
    );
    create index tickets_status on tickets (status);
    create table kv (
        key text primary key,
        value text not null,
        updated_at real not null
    );
    """,
    # Self-check results (bot/selfcheck_store.py): the answers and the verdict; contact only with consent.
    """
    create table selfcheck_results (
        id integer primary key,
        check_name text not null,
        channel text not null,
        user_key text not null,
        message_id integer,
        answers text not null,
        result text not null,
        consent integer not null default 0,
        contact_name text,
        contact_phone text,
        created_at real not null,
        sent_to_staff integer not null default 0,
        sent_at real,
        check (consent = 1 or (contact_name is null and contact_phone is null))
    );
    create index selfcheck_results_user on selfcheck_results (channel, user_key);
    create index selfcheck_results_sent on selfcheck_results (sent_to_staff, created_at);
    """,
    # Staff console (bot/console/): reports and exports select by date range.
    """
    create index messages_received on messages (received_at);
    create index tickets_created on tickets (created_at);
    create index feedback_created on feedback (created_at);
    """,
]

# Effects handlers may ask for, by kind; a new kind registers here (see register_effect).
EffectFn = Callable[["Store", Effect, int, str, str, float], None]
EFFECTS: dict[str, EffectFn] = {}


def register_effect(kind: str) -> Callable[[EffectFn], EffectFn]:
    def deco(fn: EffectFn) -> EffectFn:
        EFFECTS[kind] = fn
        return fn

    return deco


class Store:
    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        self.db = sqlite_utils.Database(conn)
        self.conn = _DictConnection(conn)
        self.clock = clock
        self.lock = threading.RLock()
        if self.path != ":memory:":
            self.db.enable_wal()
        conn.execute("pragma foreign_keys = on")
        conn.execute("pragma synchronous = normal")
        self._migrate()

    # --- schema -----------------------------------------------------------------------------------

    def _migrate(self) -> None:
        with self.lock:
            self.conn.execute("create table if not exists _migrations (version integer primary key, applied_at real)")
            done = {r[0] for r in self.conn.execute("select version from _migrations")}
            for version, sql in enumerate(MIGRATIONS, start=1):
                if version in done:
                    continue
                self.conn.execute("begin immediate")
                try:
                    for statement in _statements(sql):
                        self.conn.execute(statement)
                    self.conn.execute("insert into _migrations values (?, ?)", (version, self.clock()))
                    self.conn.execute("commit")
                except Exception:
                    self.conn.execute("rollback")
                    raise

    @property
    def schema_version(self) -> int:
        return self.conn.execute("select coalesce(max(version), 0) from _migrations").fetchone()[0]

    def transaction(self):
        return _Transaction(self)

    def close(self) -> None:
        self.conn.raw.close()

    # --- users ------------------------------------------------------------------------------------

    def user(self, channel: str, user_key: str) -> dict[str, Any]:
        row = self.conn.execute(
            "select * from users where channel = ? and user_key = ?", (channel, user_key)
        ).fetchone()
        return dict(row) if row else {"channel": channel, "user_key": user_key}

    def _touch_user(self, channel: str, user_key: str, name: str | None, now: float) -> None:
        self.conn.execute(
            """insert into users (channel, user_key, name, created_at, last_seen_at) values (?, ?, ?, ?, ?)
               on conflict (channel, user_key) do update set last_seen_at = excluded.last_seen_at,
               name = coalesce(excluded.name, users.name)""",
            (channel, user_key, name, now, now),
        )

    # --- messages ---------------------------------------------------------------------------------

    def record_incoming(self, inc: Incoming, text: str | None) -> tuple[int, bool]:
        """Commit the message before anything else. Returns (id, duplicate)."""
        now = self.clock()
        with self.transaction():
            if inc.platform_id:
                row = self.conn.execute(
                    "select id from messages where channel = ? and platform_id = ?", (inc.channel, inc.platform_id)
                ).fetchone()
                if row:
                    return row[0], True
            self._touch_user(inc.channel, inc.user_key, inc.name, now)
            cur = self.conn.execute(
                """insert into messages (channel, user_key, platform_id, text, payload, attachment, received_at)
                   values (?, ?, ?, ?, ?, ?, ?)""",
                (inc.channel, inc.user_key, inc.platform_id, text, inc.payload, inc.attachment, now),
            )
            return cur.lastrowid, False

    def message(self, message_id: int) -> dict[str, Any] | None:
        row = self.conn.execute("select * from messages where id = ?", (message_id,)).fetchone()
        return dict(row) if row else None

    def recent_count(self, channel: str, user_key: str, seconds: float) -> int:
        """Typed messages (not button presses) this user sent in the last `seconds`, for the flood limit."""
        row = self.conn.execute(
            "select count(*) from messages where channel = ? and user_key = ? and received_at > ? and payload is null",
            (channel, user_key, self.clock() - seconds),
        ).fetchone()
        return row[0]

    def unhandled(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("select * from messages where status = 'received' order by id").fetchall()
        return [dict(r) for r in rows]

    def complete(
        self,
        message_id: int,
        channel: str,
        user_key: str,
        replies: list[Reply],
        meta: dict[str, Any],
        state: dict[str, Any] | None,
        effects: Iterable[Effect] = (),
    ) -> list[int]:
        """Record the outcome, queue the replies, save dialog state and apply effects — atomically."""
        now = self.clock()
        with self.transaction():
            self.conn.execute(
                """update messages set status = 'handled', handled_at = ?, kind = ?, intent = ?, entry_id = ?,
                   score = ?, citations = ? where id = ?""",
                (
                    now,
                    meta.get("kind"),
                    meta.get("intent"),
                    meta.get("entry_id"),
                    meta.get("score"),
                    json.dumps(meta.get("citations") or [], ensure_ascii=False),
                    message_id,
                ),
            )
            ids = [self._queue(message_id, channel, user_key, r, "bot", now) for r in replies]
            self._save_dialog(channel, user_key, state, now)
            for effect in effects:
                fn = EFFECTS.get(effect.kind)
                if fn is None:
                    raise ValueError(f"unknown effect kind {effect.kind!r}")
                fn(self, effect, message_id, channel, user_key, now)
            return ids

    def fail(self, message_id: int, error: str) -> None:
        with self.transaction():
            self.conn.execute(
                "update messages set status = 'failed', error = ?, handled_at = ? where id = ?",
                (error[:2000], self.clock(), message_id),
            )

    # --- outbox -----------------------------------------------------------------------------------

    def _queue(self, message_id: int | None, channel: str, user_key: str, reply: Reply, origin: str, now: float) -> int:
        buttons = [[{"label": b.label, "payload": b.payload} for b in row] for row in reply.buttons]
        cur = self.conn.execute(
            """insert into replies (message_id, channel, user_key, origin, text, buttons, created_at, next_attempt_at)
               values (?, ?, ?, ?, ?, ?, ?, ?)""",
            (message_id, channel, user_key, origin, reply.text, json.dumps(buttons, ensure_ascii=False), now, now),
        )
        return cur.lastrowid

    def queue_reply(self, channel: str, user_key: str, reply: Reply, origin: str = "staff") -> int:
        with self.transaction():
            return self._queue(None, channel, user_key, reply, origin, self.clock())

    def due_replies(self, channel: str, limit: int = 50, user_key: str | None = None) -> list[dict[str, Any]]:
        sql = "select * from replies where channel = ? and status = 'pending' and next_attempt_at <= ?"
        args: list[Any] = [channel, self.clock()]
        if user_key is not None:
            sql += " and user_key = ?"
            args.append(user_key)
        rows = self.conn.execute(sql + " order by id limit ?", (*args, limit)).fetchall()
        return [_reply_row(r) for r in rows]

    def replies_for(self, message_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute("select * from replies where message_id = ? order by id", (message_id,)).fetchall()
        return [_reply_row(r) for r in rows]

    def history(self, channel: str, user_key: str, limit: int = 40) -> list[dict[str, Any]]:
        """The user's typed messages and the replies they were sent, oldest first (the last `limit`)."""
        rows = self.conn.execute(
            """select * from (
                 select 'user' as who, text, '[]' as buttons, received_at as at, id as seq from messages
                   where channel = ? and user_key = ? and text is not null and text != ''
                 union all
                 select 'bot' as who, text, buttons, coalesce(sent_at, created_at) as at, id as seq from replies
                   where channel = ? and user_key = ? and status = 'sent' and text != ''
               ) order by at desc, seq desc limit ?""",
            (channel, user_key, channel, user_key, limit),
        ).fetchall()
        return [dict(r, buttons=json.loads(r["buttons"])) for r in reversed(rows)]

    def mark_sent(self, reply_id: int, platform_msg_id: str | None = None) -> None:
        with self.transaction():
            self.conn.execute(
                """update replies set status = 'sent', sent_at = ?, platform_msg_id = ?, attempts = attempts + 1
                   where id = ?""",
                (self.clock(), platform_msg_id, reply_id),
            )

    def mark_retry(self, reply_id: int, error: str, delay: float, max_attempts: int = 8) -> str:
        """Schedule another try, or give up as 'failed' after max_attempts. Returns the new status."""
        with self.transaction():
            row = self.conn.execute("select attempts from replies where id = ?", (reply_id,)).fetchone()
            attempts = (row[0] if row else 0) + 1
            status = "failed" if attempts >= max_attempts else "pending"
            self.conn.execute(
                "update replies set attempts = ?, status = ?, next_attempt_at = ?, last_error = ? where id = ?",
                (attempts, status, self.clock() + delay, error[:2000], reply_id),
            )
            return status

    def requeue_closed_window(self, channel: str, user_key: str, max_age: float = 30 * 86400) -> int:
        """Staff answers that could not be delivered only because the platform's reply window had
        closed go back to the outbox once the member writes again (the window is open again)."""
        with self.transaction():
            cur = self.conn.execute(
                """update replies set status = 'pending', next_attempt_at = ? where channel = ? and user_key = ?
                   and status = 'undeliverable' and origin = 'staff' and last_error like '%reply window%'
                   and created_at > ?""",
                (self.clock(), channel, user_key, self.clock() - max_age),
            )
            return cur.rowcount

    def mark_undeliverable(self, reply_id: int, reason: str) -> None:
        with self.transaction():
            self.conn.execute(
                "update replies set status = 'undeliverable', last_error = ?, attempts = attempts + 1 where id = ?",
                (reason[:2000], reply_id),
            )

    # --- dialogs ----------------------------------------------------------------------------------

    def dialog(self, channel: str, user_key: str) -> tuple[dict[str, Any] | None, float]:
        row = self.conn.execute(
            "select state, updated_at from dialogs where channel = ? and user_key = ?", (channel, user_key)
        ).fetchone()
        if not row:
            return None, 0.0
        return json.loads(row[0]), row[1]

    def _save_dialog(self, channel: str, user_key: str, state: dict[str, Any] | None, now: float) -> None:
        if state is None:
            self.conn.execute("delete from dialogs where channel = ? and user_key = ?", (channel, user_key))
            return
        self.conn.execute(
            """insert into dialogs (channel, user_key, flow, state, updated_at) values (?, ?, ?, ?, ?)
               on conflict (channel, user_key) do update set flow = excluded.flow, state = excluded.state,
               updated_at = excluded.updated_at""",
            (channel, user_key, state.get("flow"), json.dumps(state, ensure_ascii=False), now),
        )

    # --- tickets, key-value -----------------------------------------------------------------------

    def tickets(self, status: str | None = "open", limit: int = 200) -> list[dict[str, Any]]:
        sql, args = "select * from tickets", []
        if status:
            sql += " where status = ?"
            args.append(status)
        sql += " order by id desc limit ?"
        args.append(limit)
        return [dict(r) for r in self.conn.execute(sql, args).fetchall()]

    def get_kv(self, key: str) -> str | None:
        row = self.conn.execute("select value from kv where key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_kv(self, key: str, value: str) -> None:
        with self.transaction():
            self.conn.execute(
                """insert into kv (key, value, updated_at) values (?, ?, ?)
                   on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at""",
                (key, value, self.clock()),
            )

    def counts(self) -> dict[str, int]:
        return {
            t: self.conn.execute(f"select count(*) from {t}").fetchone()[0]
            for t in ("users", "messages", "replies", "feedback", "tickets")
        }


class _DictConnection:
    """The store's view of the shared connection: its queries return dict rows.

    sqlite-utils expects plain tuples from the connection, so the row factory is set per cursor.
    """

    def __init__(self, conn: sqlite3.Connection):
        self.raw = conn

    def execute(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Cursor:
        cur = self.raw.cursor()
        cur.row_factory = _dict_factory
        return cur.execute(sql, tuple(args))

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    def close(self) -> None:
        self.raw.close()


def _dict_factory(cursor: sqlite3.Cursor, row: tuple) -> Any:
    return _Row(cursor.description, row)


class _Row(dict):
    """A dict row that can still be indexed by position (row[0]) for one-value queries."""

    def __init__(self, description: Any, row: tuple):
        super().__init__(zip((d[0] for d in description), row, strict=False))
        self._values = row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int):
            return self._values[key]
        return super().__getitem__(key)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT under the store's lock; nested use joins the outer transaction."""

    def __init__(self, store: Store):
        self.store = store
        self.outer = False

    def __enter__(self) -> None:
        self.store.lock.acquire()
        self.outer = not self.store.conn.in_transaction
        if self.outer:
            self.store.conn.execute("begin immediate")

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self.outer:
                self.store.conn.execute("rollback" if exc_type else "commit")
        finally:
            self.store.lock.release()


def _statements(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";") if s.strip()]


def _reply_row(row: Any) -> dict[str, Any]:
    d = dict(row)
    d["buttons"] = json.loads(d["buttons"])
    return d


# --- built-in effects -----------------------------------------------------------------------------


@register_effect("ticket")
def _ticket(store: Store, effect: Effect, message_id: int, channel: str, user_key: str, now: float) -> None:
    store.conn.execute(
        "insert into tickets (message_id, channel, user_key, reason, text, created_at) values (?, ?, ?, ?, ?, ?)",
        (effect.data.get("message_id", message_id), channel, user_key, effect.data["reason"], effect.data["text"], now),
    )


@register_effect("profile")
def _profile(store: Store, effect: Effect, message_id: int, channel: str, user_key: str, now: float) -> None:
    allowed = {"province", "name"}
    for key, value in effect.data.items():
        if key in allowed:
            store.conn.execute(
                f"update users set {key} = ? where channel = ? and user_key = ?", (value, channel, user_key)
            )


@register_effect("feedback")
def _feedback(store: Store, effect: Effect, message_id: int, channel: str, user_key: str, now: float) -> None:
    target = effect.data["message_id"]
    exists = store.conn.execute(
        "select 1 from messages where id = ? and channel = ? and user_key = ?", (target, channel, user_key)
    ).fetchone()
    if not exists:
        return
    store.conn.execute(
        """insert into feedback (message_id, channel, user_key, value, created_at) values (?, ?, ?, ?, ?)
           on conflict (message_id, channel, user_key) do update set value = excluded.value,
           created_at = excluded.created_at""",
        (target, channel, user_key, effect.data["value"], now),
    )


@register_effect("forget")
def _forget(store: Store, effect: Effect, message_id: int, channel: str, user_key: str, now: float) -> None:
    """Erase what this user sent and was sent; keep anonymous counts only."""
    args = (channel, user_key)
    store.conn.execute("delete from feedback where channel = ? and user_key = ?", args)
    store.conn.execute("delete from tickets where channel = ? and user_key = ?", args)
    store.conn.execute(
        "update replies set text = '', buttons = '[]' where channel = ? and user_key = ? and status != 'pending'",
        args,
    )
    store.conn.execute(
        "update messages set text = null, payload = null where channel = ? and user_key = ? and id != ?",
        (*args, message_id),
    )
    store.conn.execute("update users set name = null, province = null where channel = ? and user_key = ?", args)


# Effects defined next to their own tables; imported last because they register with this module.
from bot import selfcheck_store  # noqa: E402,F401
