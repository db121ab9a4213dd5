"""The staff console's reads: ticket lists, conversations, message log, report figures and exports.

SQL built with f-strings here formats in only constants (QUESTION, column names), "?" placeholder lists
and an int(): values always travel as parameters. Those lines carry `# nosec B608` (docs/security.md).

Times are Unix seconds; grouping by day takes the console's time-zone offset as a parameter, so the
presentation (bot/console/queries.py) decides what a day is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from bot.db.connection import Connection, Row

# A question is something a member typed, not a button press or a /command.
QUESTION = "(m.text is not null and m.payload is null and substr(m.text, 1, 1) != '/')"
PAGE = 1000

TICKET_SELECT = """
    select t.*, m.text as m_text, m.payload as m_payload, m.kind as m_kind, m.intent as m_intent,
           m.entry_id as m_entry_id, m.score as m_score, m.received_at as m_received_at,
           u.name as user_name, u.province as user_province,
           (select r.text from replies r where r.message_id = t.message_id and r.origin = 'bot'
             order by r.id limit 1) as bot_answer,
           (select count(*) from feedback f where f.message_id = t.message_id and f.value > 0) as up,
           (select count(*) from feedback f where f.message_id = t.message_id and f.value < 0) as down
    from tickets t
    left join messages m on m.id = t.message_id
    left join users u on u.channel = t.channel and u.user_key = t.user_key
"""

MESSAGE_SELECT = """
    select m.*, u.name as user_name,
           (select count(*) from feedback f where f.message_id = m.id and f.value > 0) as up,
           (select count(*) from feedback f where f.message_id = m.id and f.value < 0) as down
    from messages m left join users u on u.channel = m.channel and u.user_key = m.user_key
"""


class Console(Connection):
    # --- tickets ------------------------------------------------------------------------------------------

    def ticket_status_counts(self) -> dict[str, int]:
        rows = self._rows("select status, count(*) as n from tickets group by status")
        return {r["status"]: int(r["n"]) for r in rows}

    def ticket_reasons(self) -> list[str]:
        return [r["reason"] for r in self._rows("select distinct reason from tickets order by reason")]

    def console_tickets(self, status: str | None = "open", reason: str | None = None, channel: str | None = None,
                        limit: int = 100, offset: int = 0, user_key: str | None = None) -> list[Row]:
        where, args = list[str](), list[Any]()
        for column, value in (("t.status", status), ("t.reason", reason), ("t.channel", channel)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if user_key is not None:
            where.append("t.user_key = ?")
            args.append(user_key)
        sql = TICKET_SELECT + (" where " + " and ".join(where) if where else "")
        # Open tickets oldest first (a queue); handled ones newest first (a log).
        sql += " order by t.id " + ("asc" if status == "open" else "desc") + " limit ? offset ?"
        return self._rows(sql, (*args, limit, offset))

    def console_ticket(self, ticket_id: int) -> Row | None:
        return self._row(TICKET_SELECT + " where t.id = ?", (ticket_id,))

    # --- conversations ------------------------------------------------------------------------------------

    def conversation_rows(self, channel: str, user_key: str, limit: int = 40,
                          around: int | None = None) -> tuple[list[Row], list[Row]]:
        """The member's messages (the latest `limit`, or up to `around` and five after) and the replies
        they were sent meanwhile, including staff answers not tied to a message."""
        base = "select * from messages where channel = ? and user_key = ?"
        with self.lock:
            if around is None:
                msgs = self._rows(base + " order by id desc limit ?", (channel, user_key, limit))
                later: list[Row] = []
            else:
                msgs = self._rows(base + " and id <= ? order by id desc limit ?", (channel, user_key, around, limit))
                later = self._rows(base + " and id > ? order by id limit 6", (channel, user_key, around))
            msgs = list(reversed(msgs)) + later[:5]
            if not msgs:
                return [], []
            ids = [m["id"] for m in msgs]
            first = msgs[0]["received_at"]
            # Replies not tied to a message (staff answers) up to the next message not shown.
            until = later[5]["received_at"] if len(later) > 5 else float("inf")
            marks = ", ".join("?" for _ in ids)
            replies = self._rows(
                f"""select * from replies where channel = ? and user_key = ? and (message_id in ({marks})
                    or (message_id is null and created_at >= ? and created_at < ?)) order by id""",  # nosec B608
                (channel, user_key, *ids, first, until),
            )
        return msgs, replies

    def staff_replies(self, channel: str, user_key: str, limit: int = 20) -> list[Row]:
        return self._rows(
            "select * from replies where channel = ? and user_key = ? and origin = 'staff' order by id desc limit ?",
            (channel, user_key, limit),
        )

    # --- message log ----------------------------------------------------------------------------------------

    def console_messages(self, start: float, end: float, channel: str | None = None, kind: str | None = None,
                         text: str | None = None, questions_only: bool = False, before: int | None = None,
                         limit: int = 100) -> list[Row]:
        where, args = ["m.received_at >= ?", "m.received_at < ?"], list[Any]([start, end])
        if channel:
            where.append("m.channel = ?")
            args.append(channel)
        if kind:
            where.append("coalesce(m.kind, m.status) = ?")
            args.append(kind)
        if text:
            where.append("m.text like ? escape '\\'")
            args.append("%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        if questions_only:
            where.append(QUESTION)
        if before:
            where.append("m.id < ?")
            args.append(before)
        sql = MESSAGE_SELECT + " where " + " and ".join(where) + " order by m.id desc limit ?"
        return self._rows(sql, (*args, limit))

    def feedback_totals(self, start: float, end: float) -> dict[str, int]:
        row = self._row(
            """select coalesce(sum(value > 0), 0) as up, coalesce(sum(value < 0), 0) as down from feedback
               where created_at >= ? and created_at < ?""",
            (start, end),
        ) or {}
        return {"up": int(row.get("up") or 0), "down": int(row.get("down") or 0)}

    def channels(self) -> list[str]:
        return [r["channel"] for r in self._rows("select distinct channel from users order by channel")]

    def kinds(self) -> list[str]:
        rows = self._rows("select distinct coalesce(kind, status) as k from messages order by k")
        return [r["k"] for r in rows if r["k"]]

    # --- report -------------------------------------------------------------------------------------------------

    def report_figures(self, t0: float, t1: float, tz_offset: int, top: int = 15) -> dict[str, Any]:
        """Raw figures for messages received in [t0, t1): totals, per day (days shifted by `tz_offset`
        seconds), per channel, outcomes of questions, most used entries with votes, tickets by reason."""
        rng = "m.received_at >= ? and m.received_at < ?"
        span = (t0, t1)
        with self.lock:
            totals = self._row(
                f"""select count(*) as messages, coalesce(sum({QUESTION}), 0) as questions,
                    count(distinct m.channel || ':' || m.user_key) as users from messages m where {rng}""",  # nosec B608
                span,
            ) or {}
            per_day = self._rows(
                f"""select date(m.received_at + {int(tz_offset)}, 'unixepoch') as day, count(*) as messages,
                    coalesce(sum({QUESTION}), 0) as questions,
                    coalesce(sum({QUESTION} and m.kind = 'answer'), 0) as answer,
                    coalesce(sum({QUESTION} and m.kind = 'unknown'), 0) as unknown
                    from messages m where {rng} group by day""",  # nosec B608
                span,
            )
            per_channel = self._rows(
                f"""select m.channel, count(*) as messages, coalesce(sum({QUESTION}), 0) as questions,
                    count(distinct m.user_key) as users from messages m where {rng}
                    group by m.channel order by messages desc""",  # nosec B608
                span,
            )
            outcomes = self._rows(
                f"""select coalesce(m.kind, m.status) as kind, count(*) as n from messages m
                    where {rng} and {QUESTION} group by 1 order by n desc""",  # nosec B608
                span,
            )
            top_entries = self._rows(
                f"""select m.entry_id, count(*) as n, coalesce(sum({QUESTION}), 0) as typed,
                    (select count(*) from feedback f join messages m2 on m2.id = f.message_id
                      where m2.entry_id = m.entry_id and f.value > 0 and f.created_at >= ? and f.created_at < ?) as up,
                    (select count(*) from feedback f join messages m2 on m2.id = f.message_id
                      where m2.entry_id = m.entry_id and f.value < 0 and f.created_at >= ? and f.created_at < ?) as down
                    from messages m where {rng} and m.kind = 'answer' and m.entry_id is not null
                    group by m.entry_id order by n desc, m.entry_id limit ?""",  # nosec B608
                (t0, t1, t0, t1, t0, t1, top),
            )
            feedback = self.feedback_totals(t0, t1)
            tickets = self._rows(
                """select reason, count(*) as n, coalesce(sum(status = 'open'), 0) as open,
                   coalesce(sum(status = 'answered'), 0) as answered, coalesce(sum(status = 'closed'), 0) as closed
                   from tickets where created_at >= ? and created_at < ? group by reason order by n desc""",
                span,
            )
        return {"totals": totals, "days": per_day, "channels": per_channel, "outcomes": outcomes,
                "top_entries": top_entries, "feedback": feedback, "tickets": tickets}

    # --- exports ----------------------------------------------------------------------------------------------------

    def export_tickets(self, start: float, end: float) -> Iterator[Row]:
        sql = TICKET_SELECT + " where t.created_at >= ? and t.created_at < ? and t.id > ? order by t.id limit ?"
        return self._pages(sql, (start, end))

    def export_messages(self, start: float, end: float) -> Iterator[Row]:
        sql = MESSAGE_SELECT + " where m.received_at >= ? and m.received_at < ? and m.id > ? order by m.id limit ?"
        return self._pages(sql, (start, end))

    def _pages(self, sql: str, args: Sequence[Any]) -> Iterator[Row]:
        """Rows in id order, fetched a page at a time so no cursor stays open across writes."""
        last = 0
        while True:
            rows = self._rows(sql, (*args, last, PAGE))
            if not rows:
                return
            yield from rows
            last = rows[-1]["id"]
