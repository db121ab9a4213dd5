"""Replies waiting to be delivered (the outbox) and what happened to each: sent, retried, given up."""

from __future__ import annotations

import json
from typing import Any

from bot.db.connection import Row
from bot.db.messages import Messages
from bot.types import Reply


class Outbox(Messages):
    def _queue(self, message_id: int | None, channel: str, user_key: str, reply: Reply, origin: str,
               now: float) -> int:
        buttons = [[{"label": b.label, "payload": b.payload} for b in row] for row in reply.buttons]
        return self._insert("replies", {
            "message_id": message_id, "channel": channel, "user_key": user_key, "origin": origin,
            "text": reply.text, "buttons": json.dumps(buttons, ensure_ascii=False), "created_at": now,
            "next_attempt_at": now,
        })

    def queue_reply(self, channel: str, user_key: str, reply: Reply, origin: str = "staff") -> int:
        with self.transaction():
            return self._queue(None, channel, user_key, reply, origin, self.clock())

    def due_replies(self, channel: str, limit: int = 50, user_key: str | None = None) -> list[Row]:
        sql = "select * from replies where channel = ? and status = 'pending' and next_attempt_at <= ?"
        args: list[Any] = [channel, self.clock()]
        if user_key is not None:
            sql += " and user_key = ?"
            args.append(user_key)
        return [_decoded(r) for r in self._rows(sql + " order by id limit ?", (*args, limit))]

    def replies_for(self, message_id: int) -> list[Row]:
        rows = self._rows("select * from replies where message_id = ? order by id", (message_id,))
        return [_decoded(r) for r in rows]

    def history(self, channel: str, user_key: str, limit: int = 40) -> list[Row]:
        """The user's messages (typed, or the payload of a button pressed) and the replies they were sent,
        oldest first (the last `limit`)."""
        rows = self._rows(
            """select * from (
                 select 'user' as who, text, payload, '[]' as buttons, received_at as at, id as seq from messages
                   where channel = ? and user_key = ? and (coalesce(text, '') != '' or coalesce(payload, '') != '')
                 union all
                 select 'bot' as who, text, null as payload, buttons, coalesce(sent_at, created_at) as at, id as seq
                   from replies
                   where channel = ? and user_key = ? and status = 'sent' and text != ''
               ) order by at desc, seq desc limit ?""",
            (channel, user_key, channel, user_key, limit),
        )
        return [_decoded(r) for r in reversed(rows)]

    def mark_sent(self, reply_id: int, platform_msg_id: str | None = None) -> None:
        with self.transaction():
            self._execute(
                """update replies set status = 'sent', sent_at = ?, platform_msg_id = ?, attempts = attempts + 1
                   where id = ?""",
                (self.clock(), platform_msg_id, reply_id),
            )

    def mark_retry(self, reply_id: int, error: str, delay: float, max_attempts: int = 8) -> str:
        """Schedule another try, or give up as 'failed' after max_attempts. Returns the new status."""
        with self.transaction():
            attempts = int(self._scalar("select attempts from replies where id = ?", (reply_id,)) or 0) + 1
            status = "failed" if attempts >= max_attempts else "pending"
            self._execute(
                "update replies set attempts = ?, status = ?, next_attempt_at = ?, last_error = ? where id = ?",
                (attempts, status, self.clock() + delay, error[:2000], reply_id),
            )
            return status

    def requeue_closed_window(self, channel: str, user_key: str, max_age: float = 30 * 86400) -> int:
        """Staff answers that could not be delivered because the platform's reply window had
        closed go back to the outbox once the member writes again (the window is open again)."""
        with self.transaction():
            cur = self._execute(
                """update replies set status = 'pending', next_attempt_at = ? where channel = ? and user_key = ?
                   and status = 'undeliverable' and origin = 'staff' and last_error like '%reply window%'
                   and created_at > ?""",
                (self.clock(), channel, user_key, self.clock() - max_age),
            )
            return cur.rowcount

    def record_sent_elsewhere(self, channel: str, user_key: str, text: str, platform_msg_id: str,
                              origin: str = "staff") -> int | None:
        """A message the platform says was sent to the member without the bot (staff typing in the
        platform's own inbox): stored as already sent, so the console shows it and the outbox never
        sends it. None when `platform_msg_id` is already one of the channel's replies (our own echo,
        or the same echo again)."""
        now = self.clock()
        with self.transaction():
            known = self._scalar(
                """select 1 from replies where channel = ? and user_key = ? and platform_msg_id is not null
                   and instr(',' || platform_msg_id || ',', ?) > 0 limit 1""",
                (channel, user_key, f",{platform_msg_id},"),
            )
            if known is not None:
                return None
            return self._insert("replies", {
                "message_id": None, "channel": channel, "user_key": user_key, "origin": origin, "text": text,
                "buttons": "[]", "created_at": now, "next_attempt_at": now, "status": "sent", "sent_at": now,
                "platform_msg_id": platform_msg_id,
            })

    def mark_undeliverable(self, reply_id: int, reason: str) -> None:
        with self.transaction():
            self._execute(
                "update replies set status = 'undeliverable', last_error = ?, attempts = attempts + 1 where id = ?",
                (reason[:2000], reply_id),
            )


def _decoded(row: Row) -> Row:
    return {**row, "buttons": json.loads(row["buttons"])}
