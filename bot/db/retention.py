"""Retention: what is older than `[storage] retention_days` loses everything that points at a person.

Kept, so reports over old periods still add up: every message row with its time, channel, outcome
(kind, intent, entry) and whether it was a typed question (its text becomes ""); feedback values;
tickets with reason, status and times; self-check answers and verdicts. Removed: texts, payloads,
attachments, errors, platform ids, staff answers, self-check contacts, and the link to the user — the
user key becomes "expired-<random>", one per user and run, so "distinct users" for those periods is an
upper bound. Deleted: users not seen since the cutoff and conversations left since then.
"""

from __future__ import annotations

import secrets

from bot.db.connection import Connection

ANON = ("expired-", "erased-")
_PERSONAL = "user_key not like 'expired-%' and user_key not like 'erased-%'"
# table → (time column, what to blank). The user key is replaced in every one of them.
ANONYMISE: dict[str, tuple[str, str]] = {
    "messages": ("received_at", """text = case when text is not null and payload is null
                                    and substr(text, 1, 1) != '/' then '' end,
                                    payload = null, attachment = null, error = null, platform_id = null"""),
    "replies": ("created_at", """text = '', buttons = '[]', platform_msg_id = null, last_error = null,
                                 status = case when status = 'pending' then 'cancelled' else status end"""),
    "tickets": ("created_at", "text = '', answer = case when answer is null then null else '' end"),
    "feedback": ("created_at", "value = value"),
    "selfcheck_results": ("created_at", "contact_name = null, contact_phone = null"),
}
DELETE: dict[str, str] = {"users": "last_seen_at", "dialogs": "updated_at"}


class Retention(Connection):
    def apply_retention(self, cutoff: float, dry_run: bool = False) -> dict[str, int]:
        """Anonymise or delete what is older than `cutoff` (Unix seconds); rows affected per table.
        With `dry_run` nothing changes and the counts say what would."""
        counts: dict[str, int] = {}
        with self.transaction():
            for table, (column, _) in ANONYMISE.items():
                counts[table] = int(self._scalar(
                    f"select count(*) from {table} where {column} < ? and {_PERSONAL}", (cutoff,)  # nosec B608
                ))
            for table, column in DELETE.items():
                counts[table] = int(self._scalar(
                    f"select count(*) from {table} where {column} < ?", (cutoff,)  # nosec B608 # fixed names
                ))
            if dry_run or not any(counts.values()):
                return counts
            self._anonymise_before(cutoff)
        self.vacuum_log()
        return counts

    def _anonymise_before(self, cutoff: float) -> None:
        self._execute("create temp table if not exists _anon (channel text, user_key text, anon text, "
                      "primary key (channel, user_key))")
        self._execute("delete from _anon")
        people = set()
        for table, (column, _) in ANONYMISE.items():
            people |= {(r["channel"], r["user_key"]) for r in self._rows(
                f"select distinct channel, user_key from {table} where {column} < ? and {_PERSONAL}",  # nosec B608
                (cutoff,),
            )}
        for channel, user_key in people:
            self._execute("insert into _anon values (?, ?, ?)", (channel, user_key, "expired-" + secrets.token_hex(6)))
        for table, (column, blank) in ANONYMISE.items():
            self._execute(
                f"""update {table} set {blank}, user_key = (select anon from _anon a
                    where a.channel = {table}.channel and a.user_key = {table}.user_key)
                    where {column} < ? and {_PERSONAL}""",  # nosec B608 # table and column names are constants
                (cutoff,),
            )
        for table, column in DELETE.items():
            self._execute(f"delete from {table} where {column} < ?", (cutoff,))  # nosec B608 # fixed names
        self._execute("delete from _anon")

    def vacuum_log(self) -> None:
        """Truncate the write-ahead log so the old copies of what was just removed leave the disk."""
        if self.path != ":memory:":
            with self.lock:
                self.conn.execute("pragma wal_checkpoint(TRUNCATE)")
