"""The shared inbox: ticket statuses, assignment, internal notes, saved replies, spam and bulk actions.

Statuses (codes; staff read them in Vietnamese from the console's labels.yaml):
  open (mới) → in_progress (đang xử lý, someone took it) → answered (đã trả lời) or waiting_member
  (chờ thành viên: staff asked the member something) → closed (đã đóng). A member who writes again
  after an answer, with something the bot cannot take up itself, puts their latest answered/waiting ticket
  back to in_progress, marked `member_replied_at` (bot/effects.py FollowUp).
Spam is a closed ticket with `spam = 1`, kept out of every list but its own.
Times are Unix seconds; `first_answered_at` stays the first answer's time, so reports can use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.db.connection import Row
from bot.db.console import TICKET_SELECT
from bot.db.tickets import Tickets
from bot.types import Incoming, Reply

STATUSES = ("open", "in_progress", "waiting_member", "answered", "closed")
ACTIVE = ("open", "in_progress", "waiting_member")  # staff may still answer these
TODO = ("open", "in_progress")  # the default queue: waiting on staff
VIEWS = ("todo", *STATUSES, "spam", "all")  # the list's tabs: a status or a group of them
NONE = "__none__"  # the assignee filter "unassigned"
REPLIED_WINDOW = 14 * 86400  # a member writing within this long after an answer is following it up
SORTS = ("oldest", "newest")

INBOX_SELECT = TICKET_SELECT.replace(
    "from tickets t",
    ", (select count(*) from ticket_notes n where n.ticket_id = t.id) as notes from tickets t",
    1,
)


@dataclass(frozen=True)
class InboxFilter:
    """What the ticket list shows; None / "" means no condition."""

    view: str = "todo"
    assignee: str | None = None  # a name, or NONE for unassigned
    channel: str | None = None
    reason: str | None = None
    province: str | None = None
    text: str | None = None
    sort: str | None = None  # "oldest" / "newest"; default: oldest first for the queues, newest for the rest

    @property
    def oldest_first(self) -> bool:
        if self.sort in SORTS:
            return self.sort == "oldest"
        return self.view in ("todo", "open", "in_progress", "waiting_member")


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _view_clause(view: str) -> tuple[str, list[Any]]:
    if view == "spam":
        return "t.spam = 1", []
    if view == "todo":
        return "t.spam = 0 and t.status in ('open', 'in_progress')", []
    if view in STATUSES:
        return "t.spam = 0 and t.status = ?", [view]
    return "t.spam = 0", []  # "all"


class Inbox(Tickets):
    # --- the member's side ---------------------------------------------------------------------------------

    def record_incoming(self, inc: Incoming, text: str | None) -> tuple[int, bool]:
        """Record the message (bot/db/messages.py). Staff asked this member something (waiting_member):
        whatever they type is their reply, so that ticket goes back to the queue, marked as replied."""
        message_id, duplicate = super().record_incoming(inc, text)
        if not duplicate and text and not inc.payload and not text.startswith("/"):
            self._member_wrote(inc.channel, inc.user_key, ("waiting_member",))
        return message_id, duplicate

    def _member_wrote(self, channel: str, user_key: str,
                      statuses: tuple[str, ...] = ("answered", "waiting_member")) -> None:
        """A follow-up: the member's latest ticket in `statuses`, answered within REPLIED_WINDOW, goes back
        to the queue, marked as replied (for an answered one only when the bot could not take the message
        up itself: bot/effects.py FollowUp)."""
        now = self.clock()
        marks = ", ".join("?" for _ in statuses)  # placeholders only: the values are parameters
        with self.transaction():
            row = self._row(
                f"""select id from tickets where channel = ? and user_key = ? and spam = 0
                   and status in ({marks}) and coalesce(answered_at, 0) >= ?
                   order by id desc limit 1""",  # nosec B608
                (channel, user_key, *statuses, now - REPLIED_WINDOW),
            )
            if row:
                self._execute("update tickets set status = 'in_progress', member_replied_at = ? where id = ?",
                              (now, row["id"]))

    def _save_ticket_contact(self, channel: str, user_key: str, message_id: int | None, phone: str, via: str,
                             now: float) -> bool:
        """The member's phone (for a call or Zalo), given with consent, on the ticket of `message_id`, or
        else on their latest ticket still open. False when there is no such ticket."""
        row = None
        if message_id is not None:
            row = self._row("select id from tickets where channel = ? and user_key = ? and message_id = ?"
                            " order by id desc limit 1", (channel, user_key, message_id))
        if row is None:
            row = self._row("select id from tickets where channel = ? and user_key = ? and status in"
                            " ('open', 'in_progress', 'waiting_member') order by id desc limit 1",
                            (channel, user_key))
        if row is None:
            return False
        self._execute("update tickets set contact_phone = ?, contact_via = ?, contact_consent_at = ? where id = ?",
                      (phone, via, now, row["id"]))
        return True

    def _forget_ticket_notes(self, channel: str, user_key: str) -> None:
        """Notes about a member's tickets go with the tickets (erasure); the contact goes with the row."""
        self._execute(
            "delete from ticket_notes where ticket_id in (select id from tickets where channel = ? and user_key = ?)",
            (channel, user_key),
        )

    # --- lists -----------------------------------------------------------------------------------------------

    def _where(self, f: InboxFilter, with_view: bool = True) -> tuple[str, list[Any]]:
        where, args = list[str](), list[Any]()
        if with_view:
            clause, more = _view_clause(f.view)
            where.append(clause)
            args += more
        if f.assignee == NONE:
            where.append("t.assignee is null")
        elif f.assignee:
            where.append("t.assignee = ?")
            args.append(f.assignee)
        for column, value in (("t.channel", f.channel), ("t.reason", f.reason), ("u.province", f.province)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if f.text:
            if f.text.lstrip("#").isdigit():
                where.append("(t.id = ? or t.text like ? escape '\\')")
                args += [int(f.text.lstrip("#")), _like(f.text)]
            else:
                where.append("(t.text like ? escape '\\' or t.answer like ? escape '\\' or u.name like ? escape '\\')")
                args += [_like(f.text)] * 3
        return (" where " + " and ".join(where) if where else ""), args

    def inbox_tickets(self, f: InboxFilter, limit: int = 50, offset: int = 0) -> list[Row]:
        where, args = self._where(f)
        order = "asc" if f.oldest_first else "desc"
        sql = INBOX_SELECT + where + f" order by t.created_at {order}, t.id {order} limit ? offset ?"
        return self._rows(sql, (*args, limit, offset))

    def inbox_counts(self, f: InboxFilter) -> dict[str, int]:
        """How many tickets each tab would show with the other filters kept."""
        where, args = self._where(f, with_view=False)
        sql = ("select t.status, t.spam, count(*) as n from tickets t left join users u"
               " on u.channel = t.channel and u.user_key = t.user_key" + where + " group by t.status, t.spam")
        counts = dict.fromkeys(VIEWS, 0)
        for row in self._rows(sql, args):
            n = int(row["n"])
            if row["spam"]:
                counts["spam"] += n
                continue
            counts[row["status"]] = counts.get(row["status"], 0) + n
            counts["all"] += n
            if row["status"] in TODO:
                counts["todo"] += n
        return counts

    def assignee_counts(self, view: str, me: str) -> dict[str, int]:
        """Tickets in `view` assigned to `me` and unassigned, for the "của tôi" / "chưa giao" links."""
        clause, args = _view_clause(view)
        row = self._row(
            f"""select coalesce(sum(t.assignee = ?), 0) as mine, coalesce(sum(t.assignee is null), 0) as none
                from tickets t where {clause}""",
            (me, *args),
        ) or {}
        return {"mine": int(row.get("mine") or 0), "none": int(row.get("none") or 0)}

    def assignees(self) -> list[str]:
        """Names tickets are or were assigned to, or answered by: the choices for "giao cho"."""
        rows = self._rows("""select name from (select assignee as name from tickets where assignee is not null
                             union select staff from tickets where staff is not null) order by name""")
        return [r["name"] for r in rows if r["name"]]

    def ticket_provinces(self) -> list[str]:
        rows = self._rows("""select distinct u.province from tickets t join users u on u.channel = t.channel
                             and u.user_key = t.user_key where u.province is not null order by u.province""")
        return [r["province"] for r in rows]

    def inbox_ticket(self, ticket_id: int) -> Row | None:
        return self._row(INBOX_SELECT + " where t.id = ?", (ticket_id,))

    def tickets_after(self, last_id: int, limit: int = 20) -> list[Row]:
        """Tickets opened after `last_id` (not spam), newest first: what the list polls for."""
        return self._rows(INBOX_SELECT + " where t.id > ? and t.spam = 0 order by t.id desc limit ?",
                          (last_id, limit))

    def tickets_since(self, last_id: int, limit: int = 50) -> list[Row]:
        """Tickets opened after `last_id` (not spam), oldest first: what the staff group is told about."""
        return self._rows(INBOX_SELECT + " where t.id > ? and t.spam = 0 order by t.id limit ?", (last_id, limit))

    def latest_ticket_id(self) -> int:
        return int(self._scalar("select coalesce(max(id), 0) from tickets") or 0)

    # --- actions ---------------------------------------------------------------------------------------------

    def inbox_answer(self, ticket_id: int, answer: str, staff: str, reply: Reply, wait: bool = False) -> int | None:
        """Queue `reply` to the member and mark the ticket answered (or waiting for the member), atomically.
        None when the ticket is not open to answers (answered, closed: another staff member was quicker)."""
        now = self.clock()
        with self.transaction():
            row = self._row("select channel, user_key, status from tickets where id = ?", (ticket_id,))
            if not row or row["status"] not in ACTIVE:
                return None
            reply_id = self.queue_reply(row["channel"], row["user_key"], reply, origin="staff")
            self._execute(
                """update tickets set status = ?, answer = ?, staff = ?, answered_at = ?,
                   first_answered_at = coalesce(first_answered_at, ?), member_replied_at = null,
                   assignee = coalesce(assignee, ?) where id = ?""",
                ("waiting_member" if wait else "answered", answer, staff, now, now, staff, ticket_id),
            )
            return reply_id

    def assign_ticket(self, ticket_id: int, assignee: str | None) -> bool:
        """Give the ticket to someone (a new ticket becomes in progress) or to no one; False if it is missing."""
        with self.transaction():
            cur = self._execute(
                """update tickets set assignee = ?,
                   status = case when ? is not null and status = 'open' then 'in_progress' else status end
                   where id = ?""",
                (assignee, assignee, ticket_id),
            )
            return cur.rowcount == 1

    def move_ticket(self, ticket_id: int, status: str, staff: str | None, expected: Sequence[str]) -> bool:
        """Change the status if it is one of `expected`. Closing records who and when; reopening and
        moving between the open statuses keep the answer that was sent."""
        marks = ", ".join("?" for _ in expected)
        with self.transaction():
            if status == "closed":
                cur = self._execute(
                    f"""update tickets set status = 'closed', staff = coalesce(?, staff), answered_at =
                        coalesce(answered_at, ?) where id = ? and status in ({marks})""",
                    (staff, self.clock(), ticket_id, *expected),
                )
            else:
                cur = self._execute(
                    f"update tickets set status = ?, spam = 0 where id = ? and status in ({marks})",
                    (status, ticket_id, *expected),
                )
            return cur.rowcount == 1

    def bulk_tickets(self, ids: Sequence[int], action: str, staff: str) -> int:
        """close / spam / assign (to `staff`) several tickets at once; how many changed."""
        if not ids:
            return 0
        marks = ", ".join("?" for _ in ids)
        now = self.clock()
        with self.transaction():
            if action == "close":
                sql = (f"update tickets set status = 'closed', staff = ?, answered_at = coalesce(answered_at, ?)"
                       f" where id in ({marks}) and status != 'closed'")
                cur = self._execute(sql, (staff, now, *ids))
            elif action == "spam":
                sql = (f"update tickets set status = 'closed', spam = 1, staff = ?, answered_at ="
                       f" coalesce(answered_at, ?) where id in ({marks}) and spam = 0")
                cur = self._execute(sql, (staff, now, *ids))
            elif action == "assign":
                sql = (f"update tickets set assignee = ?, status = case when status = 'open' then 'in_progress'"
                       f" else status end where id in ({marks}) and status in ('open', 'in_progress',"
                       f" 'waiting_member')")
                cur = self._execute(sql, (staff, *ids))
            else:
                raise ValueError(f"unknown bulk action {action!r}")
            return cur.rowcount

    # --- notes -----------------------------------------------------------------------------------------------

    def add_note(self, ticket_id: int, author: str, text: str) -> int | None:
        """An internal note (never sent to the member); None if the ticket does not exist."""
        with self.transaction():
            if self._scalar("select id from tickets where id = ?", (ticket_id,)) is None:
                return None
            return self._insert("ticket_notes", {"ticket_id": ticket_id, "author": author, "text": text,
                                                 "created_at": self.clock()})

    def ticket_notes(self, ticket_id: int) -> list[Row]:
        return self._rows("select * from ticket_notes where ticket_id = ? order by id", (ticket_id,))

    # --- saved replies -----------------------------------------------------------------------------------------

    def saved_replies(self) -> list[Row]:
        return self._rows("select * from saved_replies order by title collate nocase, id")

    def saved_reply(self, reply_id: int) -> Row | None:
        return self._row("select * from saved_replies where id = ?", (reply_id,))

    def save_reply(self, reply_id: int | None, title: str, text: str, author: str) -> int:
        """Add a saved reply, or replace the one with `reply_id`; its id."""
        now = self.clock()
        with self.transaction():
            if reply_id and self.saved_reply(reply_id):
                self._execute("update saved_replies set title = ?, text = ?, author = ?, updated_at = ? where id = ?",
                              (title, text, author, now, reply_id))
                return reply_id
            return self._insert("saved_replies", {"title": title, "text": text, "author": author, "updated_at": now})

    def delete_saved_reply(self, reply_id: int) -> bool:
        with self.transaction():
            return self._execute("delete from saved_replies where id = ?", (reply_id,)).rowcount == 1
