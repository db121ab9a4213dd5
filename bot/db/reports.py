"""Raw figures of the period report (bot/console/reports.py): counts, durations, texts and self-check rows.

Everything is for a half-open range of Unix seconds [t0, t1); months are taken in the console's time
zone (`tz_offset` seconds). What the figures mean and how they are labelled is decided by the console.
"""

from __future__ import annotations

import json
from typing import Any

from bot.db.connection import Connection, Row
from bot.db.console import QUESTION

MAX_TEXTS = 5000  # unanswered questions read for grouping into themes


class Reports(Connection):
    def report_questions(self, t0: float, t1: float, tz_offset: int) -> dict[str, list[Row]]:
        """Questions members typed in the period, counted by month, channel, province and entry, each with
        how many the bot answered, offered choices for, and passed to staff (a ticket on the message)."""
        rng = f"m.received_at >= ? and m.received_at < ? and {QUESTION}"
        outcome = """count(*) as questions, coalesce(sum(m.kind = 'answer'), 0) as answered,
                     coalesce(sum(m.kind = 'clarify'), 0) as unsure,
                     coalesce(sum(exists (select 1 from tickets t where t.message_id = m.id)), 0) as to_staff"""
        month = f"strftime('%Y-%m', m.received_at + {int(tz_offset)}, 'unixepoch')"
        span = (t0, t1)
        with self.lock:
            return {
                "activity": self._rows(
                    """select count(*) as messages, count(distinct m.channel || ':' || m.user_key) as users
                       from messages m where m.received_at >= ? and m.received_at < ?""", span),
                "total": self._rows(f"select {outcome} from messages m where {rng}", span),
                "months": self._rows(f"select {month} as month, {outcome} from messages m where {rng} "
                                     "group by 1 order by 1", span),
                "channels": self._rows(f"select m.channel, {outcome} from messages m where {rng} "
                                       "group by 1 order by questions desc, 1", span),
                "provinces": self._rows(
                    f"""select u.province, {outcome} from messages m left join users u
                        on u.channel = m.channel and u.user_key = m.user_key where {rng}
                        group by 1 order by questions desc, 1""", span),
                "entries": self._rows(f"select m.entry_id, {outcome} from messages m where {rng} "
                                      "group by 1 order by questions desc, 1", span),
            }

    def report_staff_delays(self, t0: float, t1: float) -> list[float]:
        """Seconds from each ticket opened in the period to its first staff answer (answered tickets only)."""
        rows = self._rows(
            """select coalesce(t.first_answered_at, t.answered_at) - t.created_at as wait from tickets t
               where t.created_at >= ? and t.created_at < ?
               and coalesce(t.first_answered_at, t.answered_at) is not null and t.answer is not null order by wait""",
            (t0, t1),
        )
        return [max(float(r["wait"]), 0.0) for r in rows]

    def report_unanswered(self, t0: float, t1: float, limit: int = MAX_TEXTS) -> list[str]:
        """Texts of questions the bot could not answer (kind 'unknown'), newest first."""
        rows = self._rows(
            f"""select m.text from messages m where m.received_at >= ? and m.received_at < ? and {QUESTION}
                and m.kind = 'unknown' order by m.id desc limit ?""",
            (t0, t1, limit),
        )
        return [r["text"] for r in rows]

    def report_feedback(self, t0: float, t1: float) -> list[Row]:
        """👍/👎 given in the period, per entry of the answer they were given on (entry_id null: other)."""
        return self._rows(
            """select m.entry_id, coalesce(sum(f.value > 0), 0) as up, coalesce(sum(f.value < 0), 0) as down
               from feedback f join messages m on m.id = f.message_id
               where f.created_at >= ? and f.created_at < ? group by 1 order by (up + down) desc, 1""",
            (t0, t1),
        )

    def report_selfchecks(self, t0: float, t1: float) -> list[Row]:
        """Self-check results of the period, oldest first, answers and result decoded."""
        rows = self._rows(
            """select id, check_name, channel, user_key, result, created_at, sent_to_staff, contact_name
               from selfcheck_results where created_at >= ? and created_at < ? order by id""",
            (t0, t1),
        )
        out = []
        for row in rows:
            try:
                result = json.loads(row["result"])
            except ValueError:
                result = {}
            out.append({**row, "result": result if isinstance(result, dict) else {}})
        return out

    def report_first_day(self) -> Any:
        """When the first message was received (None on an empty database): the year presets start there."""
        return self._scalar("select min(received_at) from messages")
