"""Backups under write load, and restoring one: every acknowledged message comes back."""

from __future__ import annotations

import sqlite3
import tarfile
import threading

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.db import Store
from bot.db.backup import BackupError, backup, default_path, restore
from bot.types import Incoming, Reply


def write_load(path, acked: list[int], stop: threading.Event, limit: int = 400) -> None:
    """A writer acknowledging messages as fast as it can (each id is appended once committed)."""
    store = Store(path)
    try:
        for i in range(limit):
            if stop.is_set():
                break
            mid, _ = store.record_incoming(Incoming("telegram", f"{i % 7}", text=f"tin nhắn {i}"), f"tin nhắn {i}")
            store.complete(mid, "telegram", f"{i % 7}", [Reply(f"trả lời {i}")], {"kind": "answer"}, None)
            acked.append(mid)
    finally:
        store.close()


def test_a_backup_taken_under_write_load_restores_every_acknowledged_message(tmp_path):
    db = tmp_path / "data" / "bot.sqlite3"
    Store(db).close()
    acked: list[int] = []
    stop = threading.Event()
    writer = threading.Thread(target=write_load, args=(db, acked, stop))
    writer.start()
    try:
        while len(acked) < 100:
            threading.Event().wait(0.005)
        before = list(acked)  # acknowledged before the backup started
        result = backup(db, tmp_path / "backup.sqlite3")
    finally:
        stop.set()
        writer.join()
    assert len(acked) > len(before)  # writes really went on around the backup
    assert result.messages >= len(before)
    assert not (tmp_path / "backup.sqlite3-wal").exists()  # one self-contained file

    # Restore: the bot is stopped (the writer closed its store), the backup replaces the database.
    aside = restore(result.path, db)
    assert aside.exists()
    restored = Store(db)
    try:
        ids = {r[0] for r in restored.conn.execute("select id from messages where status = 'handled'")}
        assert set(before) <= ids
        for mid in before:
            assert restored.replies_for(mid), mid
        assert restored.conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    finally:
        restored.close()


def test_restore_refuses_while_the_database_looks_open(tmp_path):
    db = tmp_path / "bot.sqlite3"
    store = Store(db)
    try:
        backup(db, tmp_path / "b.sqlite3")
        with pytest.raises(BackupError, match="Stop it first"):
            restore(tmp_path / "b.sqlite3", db)
    finally:
        store.close()
    restore(tmp_path / "b.sqlite3", db)  # stopped: fine


def test_a_file_that_is_not_our_database_is_refused(tmp_path):
    other = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(other)
    conn.execute("create table t (x)")
    conn.close()
    with pytest.raises(BackupError, match="not a Trợ lý HTX database"):
        restore(other, tmp_path / "bot.sqlite3")
    with pytest.raises(BackupError, match="no database"):
        backup(tmp_path / "missing.sqlite3", tmp_path / "x.sqlite3")


def test_cli_backup_and_restore(tmp_path):
    db = tmp_path / "data" / "bot.sqlite3"
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{db}"\n', encoding="utf-8")
    store = Store(db)
    store.record_incoming(Incoming("web", "u", text="một"), "một")
    runner = CliRunner()
    out = runner.invoke(main, ["backup", "--config", str(config)])  # while the "bot" has it open
    assert out.exit_code == 0, out.output
    assert "1 messages, integrity ok" in out.output
    (made,) = (db.parent / "backups").iterdir()
    assert made.name.startswith("bot-") and made.suffix == ".sqlite3"
    store.record_incoming(Incoming("web", "u", text="hai"), "hai")
    refused = runner.invoke(main, ["restore", str(made), "--config", str(config)])
    assert refused.exit_code == 2 and "Stop it first" in refused.output
    store.close()
    out = runner.invoke(main, ["restore", str(made), "--config", str(config)])
    assert out.exit_code == 0, out.output
    back = Store(db)
    assert [r[0] for r in back.conn.execute("select text from messages")] == ["một"]
    back.close()


def test_default_path_is_next_to_the_database():
    assert str(default_path("data/htx-bot.sqlite3", 0)).startswith("data/backups/htx-bot-19")


def test_the_staff_knowledge_overlay_is_backed_up_and_restored(tmp_path):
    db, overlay = tmp_path / "data" / "bot.sqlite3", tmp_path / "data" / "overlay"
    (overlay / "entries").mkdir(parents=True)
    (overlay / "entries" / "them.yaml").write_text("một cách hỏi mới\n", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{db}"\n[knowledge]\noverlay_path = "{overlay}"\n', encoding="utf-8")
    Store(db).close()
    runner = CliRunner()
    out = runner.invoke(main, ["backup", "--config", str(config), "--out", str(tmp_path / "b.sqlite3")])
    assert out.exit_code == 0, out.output
    assert "b.sqlite3.overlay.tar.gz" in out.output
    (overlay / "entries" / "them.yaml").write_text("sửa sau khi sao lưu\n", encoding="utf-8")
    (overlay / "entries" / "sau.yaml").write_text("thêm sau\n", encoding="utf-8")
    out = runner.invoke(main, ["restore", str(tmp_path / "b.sqlite3"), "--config", str(config)])
    assert out.exit_code == 0, out.output
    assert (overlay / "entries" / "them.yaml").read_text(encoding="utf-8") == "một cách hỏi mới\n"
    assert not (overlay / "entries" / "sau.yaml").exists()
    (aside,) = [p for p in overlay.parent.iterdir() if p.name.startswith("overlay.before-restore-")]
    assert (aside / "entries" / "sau.yaml").exists()  # the replaced edits are kept aside, not deleted


def test_a_damaged_overlay_archive_changes_nothing(tmp_path):
    db, overlay = tmp_path / "bot.sqlite3", tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "a.yaml").write_text("a\n", encoding="utf-8")
    Store(db).close()
    made = backup(db, tmp_path / "b.sqlite3", overlay=overlay)
    assert made.overlay is not None
    made.overlay.write_bytes(b"not a tar file")
    with pytest.raises(tarfile.TarError):
        restore(made.path, db, overlay=overlay)
    assert (overlay / "a.yaml").read_text(encoding="utf-8") == "a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.sqlite3", "b.sqlite3.overlay.tar.gz", "bot.sqlite3",
                                                          "overlay"]
