"""SQL for the staff console, on the store's shared connection (bot/store.py stays the bot's own API).

Times are stored as Unix seconds; the console groups and shows them in Vietnam time (UTC+7, no DST).
Reads are plain queries; the few writes (answering, closing a ticket) run in `store.transaction()`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from bot.store import Store
from bot.types import Reply

VN = dt.timezone(dt.timedelta(hours=7))
VN_OFFSET = 7 * 3600
STATUSES = ("open", "answered", "closed")
# Outcomes of a searched question: the ones the unknown rate is computed over.
SEARCH_KINDS = ("answer", "clarify", "unknown", "intent")
# A question is something a member typed, not a button press or a /command.
QUESTION = "(m.text is not null and m.payload is null and substr(m.text, 1, 1) != '/')"
PAGE = 1000


# --- dates ------------------------------------------------------------------------------------------


def today(now: float) -> dt.date:
    return dt.datetime.fromtimestamp(now, VN).date()


def parse_day(value: str | None, default: dt.date) -> dt.date:
    """A YYYY-MM-DD form value, or `default` when it is missing or not a date."""
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return default


def day_bounds(start: dt.date, end: dt.date) -> tuple[float, float]:
    """[start 00:00, end+1 00:00) in Vietnam time, as Unix seconds; `end` is inclusive."""
    if end < start:
        start, end = end, start
    t0 = dt.datetime.combine(start, dt.time(), VN).timestamp()
    t1 = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), VN).timestamp()
    return t0, t1


def vn_time(ts: float | None, with_seconds: bool = False) -> str:
    if ts is None:
        return ""
    fmt = "%d/%m/%Y %H:%M:%S" if with_seconds else "%d/%m/%Y %H:%M"
    return dt.datetime.fromtimestamp(ts, VN).strftime(fmt)


def iso_time(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts, VN).strftime("%Y-%m-%d %H:%M:%S") if ts is not None else ""


# --- tickets ----------------------------------------------------------------------------------------

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


def ticket_counts(store: Store) -> dict[str, int]:
    rows = store.conn.execute("select status, count(*) as n from tickets group by status").fetchall()
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({r["status"]: r["n"] for r in rows})
    counts["all"] = sum(r["n"] for r in rows)
    return counts


def reasons(store: Store, known: list[str]) -> list[str]:
    """The known reasons first, then any other reason a newer handler has logged."""
    seen = [r["reason"] for r in store.conn.execute("select distinct reason from tickets order by reason")]
    return list(known) + [r for r in seen if r not in known]


def tickets(
    store: Store,
    status: str | None = "open",
    reason: str | None = None,
    channel: str | None = None,
    limit: int = 100,
    offset: int = 0,
    user_key: str | None = None,
) -> list[dict[str, Any]]:
    where, args = [], []
    if status:
        where.append("t.status = ?")
        args.append(status)
    if reason:
        where.append("t.reason = ?")
        args.append(reason)
    if channel:
        where.append("t.channel = ?")
        args.append(channel)
    if user_key is not None:
        where.append("t.user_key = ?")
        args.append(user_key)
    sql = TICKET_SELECT + (" where " + " and ".join(where) if where else "")
    # Open tickets oldest first (a queue); handled ones newest first (a log).
    sql += " order by t.id " + ("asc" if status == "open" else "desc") + " limit ? offset ?"
    return [dict(r) for r in store.conn.execute(sql, (*args, limit, offset)).fetchall()]


def ticket(store: Store, ticket_id: int) -> dict[str, Any] | None:
    row = store.conn.execute(TICKET_SELECT + " where t.id = ?", (ticket_id,)).fetchone()
    return dict(row) if row else None


def answer_ticket(store: Store, ticket_id: int, answer: str, staff: str, reply: Reply) -> int | None:
    """Queue `reply` to the member and mark the ticket answered, atomically. None if it is not open."""
    with store.transaction():
        row = store.conn.execute("select channel, user_key, status from tickets where id = ?", (ticket_id,)).fetchone()
        if not row or row["status"] != "open":
            return None
        reply_id = store.queue_reply(row["channel"], row["user_key"], reply, origin="staff")
        store.conn.execute(
            "update tickets set status = 'answered', answer = ?, staff = ?, answered_at = ? where id = ?",
            (answer, staff, store.clock(), ticket_id),
        )
        return reply_id


def set_status(store: Store, ticket_id: int, status: str, staff: str | None, expected: tuple[str, ...]) -> bool:
    """Close (expected open) or reopen (expected answered/closed) a ticket; False if it was not in `expected`."""
    with store.transaction():
        marks = ", ".join("?" for _ in expected)
        if status == "open":
            cur = store.conn.execute(
                f"update tickets set status = 'open' where id = ? and status in ({marks})", (ticket_id, *expected)
            )
        else:
            cur = store.conn.execute(
                f"update tickets set status = ?, staff = ?, answered_at = ? where id = ? and status in ({marks})",
                (status, staff, store.clock(), ticket_id, *expected),
            )
        return cur.rowcount == 1


def conversation(store: Store, channel: str, user_key: str, limit: int = 40,
                 around: int | None = None) -> list[dict[str, Any]]:
    """The member's messages and every reply they were sent (bot, staff), in time order.

    With `around` (a message id): the messages up to it and a few after it, else the latest ones.
    """
    base = "select * from messages where channel = ? and user_key = ?"
    if around is None:
        msgs = store.conn.execute(base + " order by id desc limit ?", (channel, user_key, limit)).fetchall()
        later = []
    else:
        msgs = store.conn.execute(base + " and id <= ? order by id desc limit ?",
                                  (channel, user_key, around, limit)).fetchall()
        later = store.conn.execute(base + " and id > ? order by id limit 6", (channel, user_key, around)).fetchall()
    msgs = [dict(m) for m in reversed(msgs)] + [dict(m) for m in later[:5]]
    if not msgs:
        return []
    ids = [m["id"] for m in msgs]
    first = msgs[0]["received_at"]
    # Replies not tied to a message (staff answers) up to the next message not shown.
    until = later[5]["received_at"] if len(later) > 5 else float("inf")
    marks = ", ".join("?" for _ in ids)
    replies = store.conn.execute(
        f"""select * from replies where channel = ? and user_key = ? and (message_id in ({marks})
            or (message_id is null and created_at >= ? and created_at < ?)) order by id""",
        (channel, user_key, *ids, first, until),
    ).fetchall()
    items = [{**m, "who": "member", "time": m["received_at"], "order": (m["received_at"], 0, m["id"])}
             for m in msgs]
    items += [{**dict(r), "who": r["origin"], "time": r["created_at"], "order": (r["created_at"], 1, r["id"])}
              for r in replies]
    items.sort(key=lambda i: i["order"])
    return items


def staff_replies(store: Store, channel: str, user_key: str, limit: int = 20) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "select * from replies where channel = ? and user_key = ? and origin = 'staff' order by id desc limit ?",
        (channel, user_key, limit),
    ).fetchall()
    return [dict(r) for r in rows]


# --- messages ---------------------------------------------------------------------------------------

MESSAGE_SELECT = """
    select m.*, u.name as user_name,
           (select count(*) from feedback f where f.message_id = m.id and f.value > 0) as up,
           (select count(*) from feedback f where f.message_id = m.id and f.value < 0) as down
    from messages m left join users u on u.channel = m.channel and u.user_key = m.user_key
"""


def messages(
    store: Store,
    start: float,
    end: float,
    channel: str | None = None,
    kind: str | None = None,
    text: str | None = None,
    questions_only: bool = False,
    before: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    where, args = ["m.received_at >= ?", "m.received_at < ?"], [start, end]
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
    return [dict(r) for r in store.conn.execute(sql, (*args, limit)).fetchall()]


def feedback_totals(store: Store, start: float, end: float) -> dict[str, int]:
    row = store.conn.execute(
        """select coalesce(sum(value > 0), 0) as up, coalesce(sum(value < 0), 0) as down from feedback
           where created_at >= ? and created_at < ?""",
        (start, end),
    ).fetchone()
    return {"up": row["up"], "down": row["down"]}


def channels(store: Store) -> list[str]:
    return [r["channel"] for r in store.conn.execute("select distinct channel from users order by channel")]


def kinds(store: Store) -> list[str]:
    rows = store.conn.execute("select distinct coalesce(kind, status) as k from messages order by k")
    return [r["k"] for r in rows if r["k"]]


# --- summary ----------------------------------------------------------------------------------------


def summary(store: Store, start_day: dt.date, end_day: dt.date, top: int = 15) -> dict[str, Any]:
    """The numbers of the report page, for messages received between the two days (inclusive)."""
    t0, t1 = day_bounds(start_day, end_day)
    start_day, end_day = min(start_day, end_day), max(start_day, end_day)
    q = store.conn.execute
    rng = "m.received_at >= ? and m.received_at < ?"
    totals = q(
        f"""select count(*) as messages, coalesce(sum({QUESTION}), 0) as questions,
            count(distinct m.channel || ':' || m.user_key) as users from messages m where {rng}""",
        (t0, t1),
    ).fetchone()
    per_day = {
        r["day"]: dict(r)
        for r in q(
            f"""select date(m.received_at + {VN_OFFSET}, 'unixepoch') as day, count(*) as messages,
                coalesce(sum({QUESTION}), 0) as questions,
                coalesce(sum({QUESTION} and m.kind = 'answer'), 0) as answer,
                coalesce(sum({QUESTION} and m.kind = 'unknown'), 0) as unknown
                from messages m where {rng} group by day""",
            (t0, t1),
        )
    }
    days = []
    day = start_day
    while day <= end_day:
        key = day.isoformat()
        days.append(per_day.get(key, {"day": key, "messages": 0, "questions": 0, "answer": 0, "unknown": 0}))
        day += dt.timedelta(days=1)
    per_channel = [
        dict(r)
        for r in q(
            f"""select m.channel, count(*) as messages, coalesce(sum({QUESTION}), 0) as questions,
                count(distinct m.user_key) as users from messages m where {rng}
                group by m.channel order by messages desc""",
            (t0, t1),
        )
    ]
    outcomes = [
        dict(r)
        for r in q(
            f"""select coalesce(m.kind, m.status) as kind, count(*) as n from messages m
                where {rng} and {QUESTION} group by 1 order by n desc""",
            (t0, t1),
        )
    ]
    by_kind = {o["kind"]: o["n"] for o in outcomes}
    searched = sum(by_kind.get(k, 0) for k in SEARCH_KINDS)
    rates = {k: (by_kind.get(k, 0) / searched if searched else None) for k in SEARCH_KINDS}
    top_entries = [
        dict(r)
        for r in q(
            f"""select m.entry_id, count(*) as n, coalesce(sum({QUESTION}), 0) as typed,
                (select count(*) from feedback f join messages m2 on m2.id = f.message_id
                  where m2.entry_id = m.entry_id and f.value > 0 and f.created_at >= ? and f.created_at < ?) as up,
                (select count(*) from feedback f join messages m2 on m2.id = f.message_id
                  where m2.entry_id = m.entry_id and f.value < 0 and f.created_at >= ? and f.created_at < ?) as down
                from messages m where {rng} and m.kind = 'answer' and m.entry_id is not null
                group by m.entry_id order by n desc, m.entry_id limit ?""",
            (t0, t1, t0, t1, t0, t1, top),
        )
    ]
    fb = feedback_totals(store, t0, t1)
    ticket_reasons = [
        dict(r)
        for r in q(
            """select reason, count(*) as n, coalesce(sum(status = 'open'), 0) as open,
               coalesce(sum(status = 'answered'), 0) as answered, coalesce(sum(status = 'closed'), 0) as closed
               from tickets where created_at >= ? and created_at < ? group by reason order by n desc""",
            (t0, t1),
        )
    ]
    return {
        "start": start_day,
        "end": end_day,
        "messages": totals["messages"],
        "questions": totals["questions"],
        "users": totals["users"],
        "days": days,
        "channels": per_channel,
        "outcomes": outcomes,
        "searched": searched,
        "rates": rates,
        "top_entries": top_entries,
        "feedback": {"up": fb["up"], "down": fb["down"]},
        "tickets": ticket_reasons,
        "tickets_total": sum(r["n"] for r in ticket_reasons),
    }


# --- exports ----------------------------------------------------------------------------------------


def _pages(store: Store, sql: str, args: tuple) -> Iterator[dict[str, Any]]:
    """Rows in id order, fetched a page at a time so no cursor stays open across writes."""
    last = 0
    while True:
        rows = store.conn.execute(sql, (*args, last, PAGE)).fetchall()
        if not rows:
            return
        for r in rows:
            yield dict(r)
        last = rows[-1]["id"]


def export_tickets(store: Store, start: float, end: float) -> Iterator[dict[str, Any]]:
    sql = TICKET_SELECT + " where t.created_at >= ? and t.created_at < ? and t.id > ? order by t.id limit ?"
    return _pages(store, sql, (start, end))


def export_messages(store: Store, start: float, end: float) -> Iterator[dict[str, Any]]:
    sql = MESSAGE_SELECT + " where m.received_at >= ? and m.received_at < ? and m.id > ? order by m.id limit ?"
    return _pages(store, sql, (start, end))
