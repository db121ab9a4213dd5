"""Users (one row per channel and user key) and the small key-value table channels keep state in."""

from __future__ import annotations

from typing import Any

from bot.db.connection import Connection


class Users(Connection):
    def user(self, channel: str, user_key: str) -> dict[str, Any]:
        row = self._row("select * from users where channel = ? and user_key = ?", (channel, user_key))
        return row if row else {"channel": channel, "user_key": user_key}

    def _touch_user(self, channel: str, user_key: str, name: str | None, now: float) -> None:
        self._execute(
            """insert into users (channel, user_key, name, created_at, last_seen_at) values (?, ?, ?, ?, ?)
               on conflict (channel, user_key) do update set last_seen_at = excluded.last_seen_at,
               name = coalesce(excluded.name, users.name)""",
            (channel, user_key, name, now, now),
        )

    def _update_profile(self, channel: str, user_key: str, changes: dict[str, Any]) -> None:
        """Set the given profile fields (province, name) of an existing user."""
        user_id = self._user_id(channel, user_key) if changes else None
        if user_id is not None:
            with self.lock:
                self.db.table("users").update(user_id, changes)

    def _user_id(self, channel: str, user_key: str) -> int | None:
        value = self._scalar("select id from users where channel = ? and user_key = ?", (channel, user_key))
        return int(value) if value is not None else None

    # --- key-value --------------------------------------------------------------------------------------

    def get_kv(self, key: str) -> str | None:
        value = self._scalar("select value from kv where key = ?", (key,))
        return str(value) if value is not None else None

    def set_kv(self, key: str, value: str) -> None:
        with self.transaction():
            self._execute(
                """insert into kv (key, value, updated_at) values (?, ?, ?)
                   on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at""",
                (key, value, self.clock()),
            )

    def counts(self) -> dict[str, int]:
        return {
            t: int(self._scalar(f"select count(*) from {t}"))  # nosec B608 # t is one of the names below
            for t in ("users", "messages", "replies", "feedback", "tickets")
        }
