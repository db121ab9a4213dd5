"""Self-check results, stored with the answers given, so staff can see why a cooperative was told what.

A result is saved when it is shown; when the user agrees to send it to the alliance, the same row (found
by the message that produced it, `ref`) gets the contact and consent = 1. The table enforces that a
contact name or phone is only ever stored together with consent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.db.connection import Connection, Row


class SelfChecks(Connection):
    def selfcheck_results(self, check: str | None = None, sent_only: bool = False, limit: int = 200) -> list[Row]:
        """Stored results, newest first, with answers and result decoded — for the staff console and tests."""
        sql, args = "select * from selfcheck_results where 1 = 1", list[Any]()
        if check:
            sql += " and check_name = ?"
            args.append(check)
        if sent_only:
            sql += " and sent_to_staff = 1"
        sql += " order by id desc limit ?"
        args.append(limit)
        return [
            {**row, "answers": json.loads(row["answers"]), "result": json.loads(row["result"])}
            for row in self._rows(sql, args)
        ]

    def _save_selfcheck(self, check: str, channel: str, user_key: str, ref: int, answers: Sequence[Any],
                        result: Mapping[str, Any], now: float) -> int:
        return self._insert("selfcheck_results", {
            "check_name": check, "channel": channel, "user_key": user_key, "message_id": ref,
            "answers": json.dumps(list(answers), ensure_ascii=False),
            "result": json.dumps(dict(result), ensure_ascii=False), "created_at": now,
        })

    def _send_selfcheck(self, check: str, channel: str, user_key: str, ref: int, answers: Sequence[Any],
                        result: Mapping[str, Any], contact_name: str, contact_phone: str, now: float) -> None:
        row_id = self._scalar(
            """select id from selfcheck_results where channel = ? and user_key = ? and message_id = ?
               and check_name = ? order by id desc limit 1""",
            (channel, user_key, ref, check),
        )
        if row_id is None:  # the saved result is gone (e.g. erased meanwhile): keep what was sent anyway
            row_id = self._save_selfcheck(check, channel, user_key, ref, answers, result, now)
        with self.lock:
            self.db.table("selfcheck_results").update(row_id, {
                "consent": 1, "contact_name": contact_name, "contact_phone": contact_phone, "sent_to_staff": 1,
                "sent_at": now, "answers": json.dumps(list(answers), ensure_ascii=False),
                "result": json.dumps(dict(result), ensure_ascii=False),
            })
