"""Self-check results: stored with the answers given, so staff can see why a cooperative was told what.

The handler (handlers/selfcheck.py) stays pure and asks for an Effect("selfcheck_result", ...):
  {"action": "save", "check", "ref", "answers", "result"}  when a result is shown;
  {"action": "send", ..., "contact_name", "contact_phone"}  when the user agreed to send it to the alliance.
`ref` is the id of the message that produced the result, so "send" completes the same row. A contact
name or phone is written only together with consent = 1 (the table, created by a migration in
bot/store.py, enforces it).
"""

from __future__ import annotations

import json
from typing import Any

from bot.store import EFFECTS, Store, register_effect
from bot.types import Effect


@register_effect("selfcheck_result")
def _selfcheck_result(store: Store, effect: Effect, message_id: int, channel: str, user_key: str, now: float) -> None:
    data = effect.data
    ref = data.get("ref") or message_id
    answers = json.dumps(data.get("answers") or [], ensure_ascii=False)
    result = json.dumps(data.get("result") or {}, ensure_ascii=False)
    if data.get("action") == "send":
        row = store.conn.execute(
            """select id from selfcheck_results where channel = ? and user_key = ? and message_id = ?
               and check_name = ? order by id desc limit 1""",
            (channel, user_key, ref, data["check"]),
        ).fetchone()
        if row is None:  # the saved result is gone (e.g. erased meanwhile): keep what was sent anyway
            row_id = _insert(store, data["check"], channel, user_key, ref, answers, result, now)
        else:
            row_id = row["id"]
        store.conn.execute(
            """update selfcheck_results set consent = 1, contact_name = ?, contact_phone = ?, sent_to_staff = 1,
               sent_at = ?, answers = ?, result = ? where id = ?""",
            (data["contact_name"], data["contact_phone"], now, answers, result, row_id),
        )
        return
    _insert(store, data["check"], channel, user_key, ref, answers, result, now)


def _insert(store: Store, check: str, channel: str, user_key: str, ref: int, answers: str, result: str,
            now: float) -> int:
    cur = store.conn.execute(
        """insert into selfcheck_results (check_name, channel, user_key, message_id, answers, result, created_at)
           values (?, ?, ?, ?, ?, ?, ?)""",
        (check, channel, user_key, ref, answers, result, now),
    )
    return cur.lastrowid


def results(store: Store, check: str | None = None, sent_only: bool = False, limit: int = 200) -> list[dict[str, Any]]:
    """Stored results, newest first, with answers and result decoded — for the staff console and tests."""
    sql, args = "select * from selfcheck_results where 1 = 1", []
    if check:
        sql += " and check_name = ?"
        args.append(check)
    if sent_only:
        sql += " and sent_to_staff = 1"
    sql += " order by id desc limit ?"
    args.append(limit)
    rows = []
    for row in store.conn.execute(sql, args).fetchall():
        d = dict(row)
        d["answers"] = json.loads(d["answers"])
        d["result"] = json.loads(d["result"])
        rows.append(d)
    return rows


def _chain_forget() -> None:
    """Erasing a user's data (/xoadulieu) also erases their self-check results and contact details."""
    previous = EFFECTS.get("forget")
    if previous is None or getattr(previous, "erases_selfchecks", False):
        return

    def forget(store: Store, effect: Effect, message_id: int, channel: str, user_key: str, now: float) -> None:
        previous(store, effect, message_id, channel, user_key, now)
        store.conn.execute("delete from selfcheck_results where channel = ? and user_key = ?", (channel, user_key))

    forget.erases_selfchecks = True  # type: ignore[attr-defined]
    register_effect("forget")(forget)


_chain_forget()
