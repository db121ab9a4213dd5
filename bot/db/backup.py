"""Backups with SQLite's online backup API, and restoring one.

Copying the database file is not a backup: committed transactions may still be only in the -wal file
(a test copying the file under load missed 1 of 300 acknowledged messages). `backup()` reads a
consistent snapshot through SQLite itself, on its own connection, so it runs while the bot is
answering; the copy is checked (`integrity_check`) and written in rollback-journal mode, one
self-contained file. `restore()` puts a backup in place of a stopped bot's database (docs/security.md).

The staff's knowledge edits also live as files in the overlay folder (`knowledge.overlay_path`), outside
the database: a backup takes them too, as a .tar.gz beside the database copy, and a restore puts them back.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tarfile
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
    overlay: Path | None = None  # the overlay folder's archive, when there was one to take


def overlay_archive(backup_file: str | Path) -> Path:
    """Where the overlay folder of a backup goes: <backup>.overlay.tar.gz."""
    path = Path(backup_file)
    return path.with_name(path.name + ".overlay.tar.gz")


def _archive_overlay(overlay: Path, target: Path) -> Path | None:
    if not overlay.is_dir() or not any(overlay.iterdir()):
        return None
    archive = overlay_archive(target)
    partial = archive.with_name(archive.name + ".partial")
    with tarfile.open(partial, "w:gz") as tar:
        tar.add(overlay, arcname=".")
    os.replace(partial, archive)
    return archive


def _restore_overlay(archive: Path, overlay: Path, stamp: str) -> Path | None:
    """Unpack `archive` into `overlay`, moving the current folder aside; None when there is no archive."""
    if not archive.exists():
        return None
    unpacked = overlay.with_name(overlay.name + ".partial")
    shutil.rmtree(unpacked, ignore_errors=True)
    unpacked.mkdir(parents=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(unpacked, filter="data")  # nothing outside the folder, no links or devices
    except BaseException:
        shutil.rmtree(unpacked, ignore_errors=True)
        raise
    aside = overlay.with_name(f"{overlay.name}.before-restore-{stamp}")
    if overlay.exists():
        os.replace(overlay, aside)
    os.replace(unpacked, overlay)
    return aside


def default_path(database: str | Path, now: float | None = None) -> Path:
    """data/backups/<name>-YYYYmmdd-HHMMSS.sqlite3 next to the database."""
    db = Path(database)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return db.parent / "backups" / f"{db.stem}-{stamp}.sqlite3"


def backup(database: str | Path, out: str | Path, overlay: str | Path | None = None) -> BackupResult:
    """Copy `database` (which may be in use) to `out` through the online backup API; atomic on `out`.
    With `overlay`, that folder is archived beside it."""
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
    archive = _archive_overlay(Path(overlay), target) if overlay else None
    return BackupResult(target, target.stat().st_size, messages, archive)


def restore(backup_file: str | Path, database: str | Path, force: bool = False,
            overlay: str | Path | None = None) -> Path:
    """Put `backup_file` in place of `database` (and its overlay archive, if any, in place of the `overlay`
    folder); the bot must be stopped. Returns where the replaced database was moved (nothing is deleted;
    a replaced overlay folder goes aside the same way). Refuses while -wal/-shm files suggest it is open."""
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
    if overlay:  # first: a damaged archive then leaves everything as it was
        _restore_overlay(overlay_archive(source), Path(overlay), stamp)
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
