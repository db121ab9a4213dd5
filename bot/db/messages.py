"""Incoming messages and the feedback members give on answers.

An incoming message is committed before anything else happens, so a process killed before the answer
is stored loses nothing: the message stays `received` and `Engine.recover()` answers it on restart.
"""

from __future__ import annotations

import json
from typing import Any

from bot.db.connection import Row
from bot.db.users import Users
from bot.types import Incoming


class Messages(Users):
    def record_incoming(self, inc: Incoming, text: str | None) -> tuple[int, bool]:
        """Commit the message before anything else. Returns (id, duplicate)."""
        now = self.clock()
        with self.transaction():
            if inc.platform_id:
                existing = self._scalar(
                    "select id from messages where channel = ? and platform_id = ?", (inc.channel, inc.platform_id)
                )
                if existing is not None:
                    return int(existing), True
            self._touch_user(inc.channel, inc.user_key, inc.name, now)
            message_id = self._insert("messages", {
                "channel": inc.channel, "user_key": inc.user_key, "platform_id": inc.platform_id, "text": text,
                "payload": inc.payload, "attachment": inc.attachment, "received_at": now,
            })
            return message_id, False

    def message_by_platform_id(self, channel: str, platform_id: str) -> int | None:
        """The id of the message the channel already delivered under `platform_id`, if any (retries)."""
        value = self._scalar("select id from messages where channel = ? and platform_id = ?", (channel, platform_id))
        return int(value) if value is not None else None

    def message(self, message_id: int) -> Row | None:
        return self._row("select * from messages where id = ?", (message_id,))

    def recent_count(self, channel: str, user_key: str, seconds: float) -> int:
        """Typed messages (not button presses) this user sent in the last `seconds`, for the flood limit."""
        return int(self._scalar(
            "select count(*) from messages where channel = ? and user_key = ? and received_at > ? and payload is null",
            (channel, user_key, self.clock() - seconds),
        ))

    def unhandled(self) -> list[Row]:
        return self._rows("select * from messages where status = 'received' order by id")

    def _mark_handled(self, message_id: int, meta: dict[str, Any], now: float) -> None:
        self._execute(
            """update messages set status = 'handled', handled_at = ?, kind = ?, intent = ?, entry_id = ?,
               score = ?, citations = ? where id = ?""",
            (now, meta.get("kind"), meta.get("intent"), meta.get("entry_id"), meta.get("score"),
             json.dumps(meta.get("citations") or [], ensure_ascii=False), message_id),
        )

    def fail(self, message_id: int, error: str) -> None:
        with self.transaction():
            self._execute(
                "update messages set status = 'failed', error = ?, handled_at = ? where id = ?",
                (error[:2000], self.clock(), message_id),
            )

    # --- feedback -----------------------------------------------------------------------------------------

    def _record_feedback(self, channel: str, user_key: str, target: int, value: int, now: float) -> None:
        """One vote per member and message; only on the member's own messages."""
        own = self._scalar(
            "select 1 from messages where id = ? and channel = ? and user_key = ?", (target, channel, user_key)
        )
        if own is None:
            return
        self._execute(
            """insert into feedback (message_id, channel, user_key, value, created_at) values (?, ?, ?, ?, ?)
               on conflict (message_id, channel, user_key) do update set value = excluded.value,
               created_at = excluded.created_at""",
            (target, channel, user_key, value, now),
        )

    def feedback_value(self, channel: str, user_key: str, message_id: int) -> int | None:
        """The vote this member already gave on that message (1, -1), or None."""
        value = self._scalar("select value from feedback where message_id = ? and channel = ? and user_key = ?",
                             (message_id, channel, user_key))
        return int(value) if value is not None else None
