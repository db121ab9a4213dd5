"""Backups with SQLite's online backup API, and restoring one.

Copying the database file is not a backup: committed transactions may still be only in the -wal file
(a test copying the file under load missed 1 of 300 acknowledged messages). `backup()` reads a
consistent snapshot through SQLite itself, on its own connection, so it runs while the bot is
answering; the copy is checked (`integrity_check`) and written in rollback-journal mode, one
self-contained file. `restore()` puts a backup in place of a stopped bot's database (docs/security.md).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SIDE_FILES = ("-wal", "-shm", "-journal")


class BackupError(Exception):
    """The backup or restore could not be made; the message says why."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int
    messages: int


def default_path(database: str | Path, now: float | None = None) -> Path:
    """data/backups/<name>-YYYYmmdd-HHMMSS.sqlite3 next to the database."""
    db = Path(database)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return db.parent / "backups" / f"{db.stem}-{stamp}.sqlite3"


def backup(database: str | Path, out: str | Path) -> BackupResult:
    """Copy `database` (which may be in use) to `out` through the online backup API; atomic on `out`."""
    source_path = Path(database)
    if not source_path.exists():
        raise BackupError(f"no database at {source_path}")
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_path, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)  # one step: a consistent snapshot of everything committed before it
            copy.execute("pragma journal_mode = delete")  # one self-contained file, no -wal beside it
            _check(copy, partial)
            messages = int(copy.execute("select count(*) from messages").fetchone()[0])
        finally:
            copy.close()
    finally:
        source.close()
    os.replace(partial, target)
    return BackupResult(target, target.stat().st_size, messages)


def restore(backup_file: str | Path, database: str | Path, force: bool = False) -> Path:
    """Put `backup_file` in place of `database`; the bot must be stopped. Returns where the replaced
    database was moved (nothing is deleted). Refuses while -wal/-shm files suggest it is still open."""
    source, target = Path(backup_file), Path(database)
    if not source.exists():
        raise BackupError(f"no backup at {source}")
    check = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        _check(check, source)
    finally:
        check.close()
    open_files = [str(target) + s for s in SIDE_FILES if Path(str(target) + s).exists()]
    if open_files and not force:
        raise BackupError(
            f"{', '.join(open_files)} exist: the bot may still be running. Stop it first; if it is stopped "
            "(it crashed), restore with --force."
        )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = target.with_name(f"{target.name}.before-restore-{stamp}")
    if target.exists():
        os.replace(target, aside)
        for suffix in SIDE_FILES:  # only with --force: the crashed run's log belongs to the old file
            side = Path(str(target) + suffix)
            if side.exists():
                os.replace(side, Path(str(aside) + suffix))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(source, partial)
    os.replace(partial, target)
    return aside


def _check(conn: sqlite3.Connection, path: Path) -> None:
    result = conn.execute("pragma integrity_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"{path}: integrity check failed: {result}")
    tables = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
    if "messages" not in tables or "_migrations" not in tables:
        raise BackupError(f"{path}: not a Trợ lý HTX database")
