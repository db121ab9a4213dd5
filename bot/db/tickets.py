"""Staff tickets: opened by the bot (effects), answered, closed or reopened by staff in the console."""

from __future__ import annotations

from typing import Any

from bot.db.connection import Row
from bot.db.outbox import Outbox
from bot.types import Reply


class Tickets(Outbox):
    def tickets(self, status: str | None = "open", limit: int = 200) -> list[Row]:
        sql, args = "select * from tickets", list[Any]()
        if status:
            sql += " where status = ?"
            args.append(status)
        sql += " order by id desc limit ?"
        args.append(limit)
        return self._rows(sql, args)

    def _open_ticket(self, message_id: int | None, channel: str, user_key: str, reason: str, text: str,
                     now: float) -> int:
        return self._insert("tickets", {
            "message_id": message_id, "channel": channel, "user_key": user_key, "reason": reason, "text": text,
            "created_at": now,
        })

    def answer_ticket(self, ticket_id: int, answer: str, staff: str, reply: Reply) -> int | None:
        """Queue `reply` to the member and mark the ticket answered, atomically. None if it is not open."""
        with self.transaction():
            row = self._row("select channel, user_key, status from tickets where id = ?", (ticket_id,))
            if not row or row["status"] != "open":
                return None
            reply_id = self.queue_reply(row["channel"], row["user_key"], reply, origin="staff")
            self._execute(
                "update tickets set status = 'answered', answer = ?, staff = ?, answered_at = ? where id = ?",
                (answer, staff, self.clock(), ticket_id),
            )
            return reply_id

    def set_ticket_status(self, ticket_id: int, status: str, staff: str | None, expected: tuple[str, ...]) -> bool:
        """Close (expected open) or reopen (expected answered/closed) a ticket; False if it was not in `expected`."""
        marks = ", ".join("?" for _ in expected)  # placeholders only: the values are parameters
        with self.transaction():
            if status == "open":
                cur = self._execute(
                    f"update tickets set status = 'open' where id = ? and status in ({marks})",  # nosec B608
                    (ticket_id, *expected),
                )
            else:
                cur = self._execute(
                    f"update tickets set status = ?, staff = ?, answered_at = ? where id = ? and status in ({marks})",  # nosec B608
                    (status, staff, self.clock(), ticket_id, *expected),
                )
            return cur.rowcount == 1
