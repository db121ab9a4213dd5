"""CSV downloads of tickets and messages: UTF-8 with BOM (Excel opens Vietnamese right), streamed in pages.

A cell a member wrote that starts like a formula (=, +, -, @) gets a leading apostrophe, so opening
the file in a spreadsheet never runs what a stranger typed into the chat.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from bot.console.queries import iso_time

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
TICKET_COLUMNS = ("id", "created", "channel", "user_key", "user_name", "reason", "status", "question", "outcome",
                  "entry_id", "entry_title", "score", "up", "down", "bot_answer", "answered_at", "staff", "answer")
MESSAGE_COLUMNS = ("id", "received", "channel", "user_key", "user_name", "text", "payload", "attachment", "outcome",
                   "intent", "entry_id", "score", "up", "down")


def cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def ticket_row(t: dict[str, Any], entry_title: Callable[[str | None], str]) -> dict[str, Any]:
    return {
        "id": t["id"], "created": iso_time(t["created_at"]), "channel": t["channel"], "user_key": t["user_key"],
        "user_name": t["user_name"], "reason": t["reason"], "status": t["status"], "question": t["text"],
        "outcome": t["m_kind"], "entry_id": t["m_entry_id"], "entry_title": entry_title(t["m_entry_id"]),
        "score": t["m_score"], "up": t["up"], "down": t["down"], "bot_answer": t["bot_answer"],
        "answered_at": iso_time(t["answered_at"]), "staff": t["staff"], "answer": t["answer"],
    }


def message_row(m: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": m["id"], "received": iso_time(m["received_at"]), "channel": m["channel"], "user_key": m["user_key"],
        "user_name": m["user_name"], "text": m["text"], "payload": m["payload"], "attachment": m["attachment"],
        "outcome": m["kind"] or m["status"], "intent": m["intent"], "entry_id": m["entry_id"], "score": m["score"],
        "up": m["up"], "down": m["down"],
    }


def chunks(columns: tuple[str, ...], headers: dict[str, str], rows: Iterable[dict[str, Any]],
           batch: int = 500) -> Iterator[str]:
    """The CSV text in pieces: BOM and header row first, then `batch` rows at a time."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write(BOM)
    writer.writerow([headers.get(c, c) for c in columns])
    n = 0
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
        n += 1
        if n % batch == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()
