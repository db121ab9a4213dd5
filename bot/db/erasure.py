"""Erasing one user on request (/xoadulieu): every personal field deleted or anonymised, on disk too.

Deleted: the user's row, dialog state, tickets, feedback and self-check results (with any contact).
Anonymised (kept for the counts in reports): their messages and replies lose their text, payload,
attachment, error and platform ids, and their user key becomes "erased-<n>", where n is the id of the
message asking for the erasure. Replies still waiting in the outbox (a staff answer naming them) are
cancelled. The confirmation itself must still reach the user, so that message and its replies keep the
user key until delivered (or given up), then are anonymised the same way.

On disk: the connection runs with `secure_delete` (freed space is zeroed) and the write-ahead log is
checkpointed and truncated after an erasure, so no old copy survives in the -wal file.
"""

from __future__ import annotations

from bot.db.outbox import Outbox

ERASED_ORIGIN = "erasure"  # replies confirming an erasure: anonymised once delivered


def erased_key(message_id: int) -> str:
    return f"erased-{message_id}"


class Erasure(Outbox):
    def _erase_user(self, channel: str, user_key: str, keep_id: int) -> None:
        """Inside the transaction handling message `keep_id` (the request): erase everything else."""
        anon = erased_key(keep_id)
        who = (channel, user_key)
        for table in ("feedback", "tickets", "selfcheck_results", "dialogs", "users"):
            self._execute(f"delete from {table} where channel = ? and user_key = ?", who)  # nosec B608 # fixed names
        # Also votes others' rows got on this user's messages, and tickets pointing at them.
        mine = "select id from messages where channel = ? and user_key = ?"
        self._execute(f"delete from feedback where message_id in ({mine})", who)  # nosec B608 # constant SQL
        self._execute(f"delete from tickets where message_id in ({mine})", who)  # nosec B608 # constant SQL
        self._execute(
            """update replies set status = case when status = 'pending' then 'cancelled' else status end,
               text = '', buttons = '[]', platform_msg_id = null, last_error = null, user_key = ?
               where channel = ? and user_key = ? and (message_id is null or message_id != ?)""",
            (anon, channel, user_key, keep_id),
        )
        self._execute(
            """update replies set origin = ? where message_id = ? and channel = ? and user_key = ?""",
            (ERASED_ORIGIN, keep_id, channel, user_key),
        )
        self._execute(
            """update messages set text = null, payload = null, attachment = null, error = null,
               platform_id = null, user_key = ? where channel = ? and user_key = ? and id != ?""",
            (anon, channel, user_key, keep_id),
        )

    def _finish_erasure(self, reply_id: int) -> bool:
        """After a confirmation reply was delivered or given up: anonymise it and its request."""
        row = self._row("select message_id, origin from replies where id = ?", (reply_id,))
        if not row or row["origin"] != ERASED_ORIGIN or row["message_id"] is None:
            return False
        mid = int(row["message_id"])
        with self.transaction():
            self._execute(
                """update replies set text = '', buttons = '[]', platform_msg_id = null, last_error = null,
                   user_key = ? where message_id = ? and status != 'pending'""",
                (erased_key(mid), mid),
            )
            pending = self._scalar("select count(*) from replies where message_id = ? and status = 'pending'", (mid,))
            if not pending:
                self._execute(
                    """update messages set text = null, attachment = null, error = null, platform_id = null,
                       user_key = ? where id = ?""",
                    (erased_key(mid), mid),
                )
        self.checkpoint()
        return True

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file and truncate it to zero bytes."""
        if self.path == ":memory:":
            return
        with self.lock:
            if not self.conn.in_transaction:
                self.conn.execute("pragma wal_checkpoint(TRUNCATE)")

    # Delivery outcomes: a confirmation of erasure is anonymised as soon as its fate is known.

    def mark_sent(self, reply_id: int, platform_msg_id: str | None = None) -> None:
        super().mark_sent(reply_id, platform_msg_id)
        self._finish_erasure(reply_id)

    def mark_undeliverable(self, reply_id: int, reason: str) -> None:
        super().mark_undeliverable(reply_id, reason)
        self._finish_erasure(reply_id)

    def mark_retry(self, reply_id: int, error: str, delay: float, max_attempts: int = 8) -> str:
        status = super().mark_retry(reply_id, error, delay, max_attempts)
        if status != "pending":
            self._finish_erasure(reply_id)
        return status
