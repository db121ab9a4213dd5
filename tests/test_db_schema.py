"""An existing database file opens with the new layer and is migrated forward, its data kept."""

import sqlite3

import pytest

from bot.db import MIGRATIONS, Store


def test_a_version_1_database_is_migrated_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("create table _migrations (version integer primary key, applied_at real)")
    conn.executescript(MIGRATIONS[0])
    conn.execute("insert into _migrations values (1, 0)")
    conn.execute("insert into messages (channel, user_key, text, received_at) values ('web', 'u', 'cũ', 1)")
    conn.close()

    store = Store(path)
    try:
        assert store.schema_version == len(MIGRATIONS) > 1
        assert store.unhandled()[0]["text"] == "cũ"
        assert store.selfcheck_results() == []  # the table of migration 2 exists
        indexes = {r[1] for r in store.conn.execute("pragma index_list(messages)")}
        assert "messages_received" in indexes  # migration 3
    finally:
        store.close()


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    import bot.db.schema as schema

    path = tmp_path / "db.sqlite3"
    Store(path).close()
    monkeypatch.setattr(schema, "MIGRATIONS", [*MIGRATIONS, "create table extra (x); create table broken ("])
    with pytest.raises(sqlite3.OperationalError):
        Store(path)
    conn = sqlite3.connect(path)
    assert conn.execute("select max(version) from _migrations").fetchone()[0] == len(MIGRATIONS)
    assert not conn.execute("select 1 from sqlite_master where name = 'extra'").fetchone()
    conn.close()
