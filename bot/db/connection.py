"""The one owner of the SQLite connection: locking, write transactions and the writer thread.

Every read and write goes through this class, under one lock, so the event loop and the writer thread
never interleave statements on the shared connection. Write transactions start with BEGIN IMMEDIATE
(take the write lock up front, no deadlock-prone upgrade later). Work that should not block the event
loop is handed to `run()`, which executes it on a single dedicated writer thread, in order.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import sqlite_utils
from sqlite_utils.db import jsonify_if_needed

from bot.db.schema import migrate

P = ParamSpec("P")
T = TypeVar("T")
Row = dict[str, Any]


class Connection:
    """The connection, its lock and its writer thread; the query mixins build on this."""

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        # sqlite3.Row rows index by name and position; sqlite-utils' own queries still get dicts.
        conn.row_factory = sqlite3.Row
        self._conn = conn
        self.db = sqlite_utils.Database(conn)
        self.clock = clock
        self.lock = threading.RLock()
        self._insert_sql: dict[tuple[str, tuple[str, ...]], str] = {}
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-writer")
        if self.path != ":memory:":
            self.db.enable_wal()
        conn.execute("pragma foreign_keys = on")
        conn.execute("pragma synchronous = normal")
        # Deleted or overwritten content is zeroed in the file, so an erasure leaves no readable copy.
        conn.execute("pragma secure_delete = on")
        try:
            with self.lock:
                migrate(self.db, self.clock)
        except BaseException:
            self.close()
            raise

    # --- raw access ---------------------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        """The underlying connection, for tests and ad-hoc inspection; bot code uses the query methods."""
        return self._conn

    @property
    def schema_version(self) -> int:
        return int(self._scalar("select coalesce(max(version), 0) from _migrations") or 0)

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self.lock:
            return list(self.db.query(sql, tuple(args)))

    def _row(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        rows = self._rows(sql, args)
        return rows[0] if rows else None

    def _scalar(self, sql: str, args: Sequence[Any] = ()) -> Any:
        with self.lock:
            row = self.db.execute(sql, tuple(args)).fetchone()
            return row[0] if row else None

    def _execute(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        """A write statement; call inside `transaction()` so it commits with its siblings."""
        with self.lock:
            return self.db.execute(sql, tuple(args))

    def _insert(self, table: str, record: dict[str, Any]) -> int:
        """INSERT one row, values converted as sqlite-utils' `insert` converts them (dicts and lists to
        JSON). The statement is built once per table and column set: sqlite-utils' `insert` reads the
        table's schema on every call, which cost more than the insert itself on the message path."""
        key = (table, tuple(record))
        sql = self._insert_sql.get(key)
        if sql is None:
            columns = ", ".join(f"[{c}]" for c in record)
            sql = self._insert_sql[key] = f"insert into [{table}] ({columns}) values ({', '.join('?' * len(record))})"
        with self.lock:
            return int(self._conn.execute(sql, [jsonify_if_needed(v) for v in record.values()]).lastrowid or 0)

    # --- transactions and the writer thread -----------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT under the store's lock; nested use joins the outer transaction."""
        with self.lock:
            if self._conn.in_transaction:
                yield
                return
            self._conn.execute("begin immediate")
            try:
                yield
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("rollback")
                raise
            self._conn.execute("commit")

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn` on the store's one writer thread and await its result, so SQLite never blocks the loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._conn.close()
