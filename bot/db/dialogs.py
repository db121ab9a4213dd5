"""Conversation state per user: one row while a conversation (a self-check, a staff request) is open."""

from __future__ import annotations

import json
from typing import Any

from bot.db.connection import Connection


class Dialogs(Connection):
    def dialog(self, channel: str, user_key: str) -> tuple[dict[str, Any] | None, float]:
        row = self._row("select state, updated_at from dialogs where channel = ? and user_key = ?", (channel, user_key))
        if not row:
            return None, 0.0
        return json.loads(row["state"]), float(row["updated_at"])

    def _save_dialog(self, channel: str, user_key: str, state: dict[str, Any] | None, now: float) -> None:
        if state is None:
            self._execute("delete from dialogs where channel = ? and user_key = ?", (channel, user_key))
            return
        self._execute(
            """insert into dialogs (channel, user_key, flow, state, updated_at) values (?, ?, ?, ?, ?)
               on conflict (channel, user_key) do update set flow = excluded.flow, state = excluded.state,
               updated_at = excluded.updated_at""",
            (channel, user_key, state.get("flow"), json.dumps(state, ensure_ascii=False), now),
        )
