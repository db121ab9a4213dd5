"""What the staff console shows: dates in Vietnam time and figures shaped for the pages.

The SQL lives in bot/db/console.py (reads) and bot/db/tickets.py (answering, closing); this module
keeps the console's calling convention (`queries.x(store, ...)`) and the presentation around it.
Times are stored as Unix seconds; the console groups and shows them in Vietnam time (UTC+7, no DST).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from bot.db import Store
from bot.types import Reply

VN = dt.timezone(dt.timedelta(hours=7))
VN_OFFSET = 7 * 3600
STATUSES = ("open", "answered", "closed")
# Outcomes of a searched question: the ones the unknown rate is computed over.
SEARCH_KINDS = ("answer", "clarify", "unknown", "intent")


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


def ticket_counts(store: Store) -> dict[str, int]:
    """Tickets per status, every status present, plus "all"."""
    found = store.ticket_status_counts()
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(found)
    counts["all"] = sum(found.values())
    return counts


def reasons(store: Store, known: list[str]) -> list[str]:
    """The known reasons first, then any other reason a newer handler has logged."""
    return list(known) + [r for r in store.ticket_reasons() if r not in known]


def tickets(
    store: Store,
    status: str | None = "open",
    reason: str | None = None,
    channel: str | None = None,
    limit: int = 100,
    offset: int = 0,
    user_key: str | None = None,
) -> list[dict[str, Any]]:
    return store.console_tickets(status, reason, channel, limit, offset, user_key)


def ticket(store: Store, ticket_id: int) -> dict[str, Any] | None:
    return store.console_ticket(ticket_id)


def answer_ticket(store: Store, ticket_id: int, answer: str, staff: str, reply: Reply) -> int | None:
    """Queue `reply` to the member and mark the ticket answered, atomically. None if it is not open."""
    return store.answer_ticket(ticket_id, answer, staff, reply)


async def answer_ticket_async(store: Store, ticket_id: int, answer: str, staff: str, reply: Reply) -> int | None:
    """The same from the event loop, on the store's writer thread."""
    return await store.run(store.answer_ticket, ticket_id, answer, staff, reply)


def set_status(store: Store, ticket_id: int, status: str, staff: str | None, expected: tuple[str, ...]) -> bool:
    """Close (expected open) or reopen (expected answered/closed) a ticket; False if it was not in `expected`."""
    return store.set_ticket_status(ticket_id, status, staff, expected)


async def set_status_async(store: Store, ticket_id: int, status: str, staff: str | None,
                           expected: tuple[str, ...]) -> bool:
    """The same from the event loop, on the store's writer thread."""
    return await store.run(store.set_ticket_status, ticket_id, status, staff, expected)


def conversation(store: Store, channel: str, user_key: str, limit: int = 40,
                 around: int | None = None) -> list[dict[str, Any]]:
    """The member's messages and every reply they were sent (bot, staff), in time order.

    With `around` (a message id): the messages up to it and a few after it, else the latest ones.
    """
    msgs, replies = store.conversation_rows(channel, user_key, limit, around)
    items = [{**m, "who": "member", "time": m["received_at"], "order": (m["received_at"], 0, m["id"])}
             for m in msgs]
    items += [{**r, "who": r["origin"], "time": r["created_at"], "order": (r["created_at"], 1, r["id"])}
              for r in replies]
    items.sort(key=lambda i: i["order"])
    return items


def staff_replies(store: Store, channel: str, user_key: str, limit: int = 20) -> list[dict[str, Any]]:
    return store.staff_replies(channel, user_key, limit)


# --- messages ---------------------------------------------------------------------------------------


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
    return store.console_messages(start, end, channel, kind, text, questions_only, before, limit)


def feedback_totals(store: Store, start: float, end: float) -> dict[str, int]:
    return store.feedback_totals(start, end)


def channels(store: Store) -> list[str]:
    return store.channels()


def kinds(store: Store) -> list[str]:
    return store.kinds()


# --- summary ----------------------------------------------------------------------------------------


def summary(store: Store, start_day: dt.date, end_day: dt.date, top: int = 15) -> dict[str, Any]:
    """The numbers of the report page, for messages received between the two days (inclusive)."""
    t0, t1 = day_bounds(start_day, end_day)
    start_day, end_day = min(start_day, end_day), max(start_day, end_day)
    figures = store.report_figures(t0, t1, VN_OFFSET, top)
    per_day = {r["day"]: r for r in figures["days"]}
    days = []
    day = start_day
    while day <= end_day:
        key = day.isoformat()
        days.append(per_day.get(key, {"day": key, "messages": 0, "questions": 0, "answer": 0, "unknown": 0}))
        day += dt.timedelta(days=1)
    outcomes = figures["outcomes"]
    by_kind = {o["kind"]: o["n"] for o in outcomes}
    searched = sum(by_kind.get(k, 0) for k in SEARCH_KINDS)
    rates = {k: (by_kind.get(k, 0) / searched if searched else None) for k in SEARCH_KINDS}
    totals, ticket_reasons = figures["totals"], figures["tickets"]
    return {
        "start": start_day,
        "end": end_day,
        "messages": totals["messages"],
        "questions": totals["questions"],
        "users": totals["users"],
        "days": days,
        "channels": figures["channels"],
        "outcomes": outcomes,
        "searched": searched,
        "rates": rates,
        "top_entries": figures["top_entries"],
        "feedback": dict(figures["feedback"]),
        "tickets": ticket_reasons,
        "tickets_total": sum(r["n"] for r in ticket_reasons),
    }


# --- exports ----------------------------------------------------------------------------------------


def export_tickets(store: Store, start: float, end: float) -> Iterator[dict[str, Any]]:
    return store.export_tickets(start, end)


def export_messages(store: Store, start: float, end: float) -> Iterator[dict[str, Any]]:
    return store.export_messages(start, end)
