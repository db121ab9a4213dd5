"""Knowledge drafts and published changes: staff write a draft, propose it, an editor publishes or rejects it.

A draft's content is JSON (a phrasing: {entry, question}; an entry: the v2 entry fields). Publishing
records the overlay file as it was before and after (`kb_changes`), so a change can be rolled back and
every published change says who published it and when. The files themselves are written by
bot/console/knowledge.py; this module only keeps the record.
"""

from __future__ import annotations

import json
from typing import Any

from bot.db.connection import Connection, Row

DRAFT_STATUSES = ("draft", "proposed", "published", "rejected", "rolled_back")


class Review(Connection):
    def create_draft(self, kind: str, data: dict[str, Any], by: str, message_id: int | None = None) -> int:
        now = self.clock()
        return self._insert("kb_drafts", {
            "kind": kind, "entry_id": data.get("entry") or data.get("id") or None,
            "data": json.dumps(data, ensure_ascii=False), "status": "draft", "message_id": message_id,
            "created_by": by, "created_at": now, "updated_at": now,
        })

    def update_draft(self, draft_id: int, data: dict[str, Any]) -> bool:
        """New content for a draft still being written or proposed (a published one is history)."""
        cur = self._execute(
            """update kb_drafts set data = ?, entry_id = ?, updated_at = ?
               where id = ? and status in ('draft', 'proposed')""",
            (json.dumps(data, ensure_ascii=False), data.get("entry") or data.get("id") or None, self.clock(),
             draft_id),
        )
        return cur.rowcount == 1

    def draft(self, draft_id: int) -> Row | None:
        row = self._row("select * from kb_drafts where id = ?", (draft_id,))
        return _decoded(row) if row else None

    def drafts(self, statuses: tuple[str, ...] = DRAFT_STATUSES, limit: int = 200) -> list[Row]:
        marks = ", ".join("?" for _ in statuses)
        rows = self._rows(f"select * from kb_drafts where status in ({marks}) order by id desc limit ?",
                          (*statuses, limit))
        return [_decoded(r) for r in rows]

    def set_draft_status(self, draft_id: int, status: str, by: str, expected: tuple[str, ...],
                         note: str | None = None) -> bool:
        """Move a draft on, only from one of the `expected` statuses (two editors clicking at once: one wins)."""
        who = "proposed" if status == "proposed" else "decided"
        marks = ", ".join("?" for _ in expected)
        cur = self._execute(
            f"""update kb_drafts set status = ?, {who}_by = ?, {who}_at = ?, updated_at = ?,
                note = coalesce(?, note) where id = ? and status in ({marks})""",
            (status, by, self.clock(), self.clock(), note, draft_id, *expected),
        )
        return cur.rowcount == 1

    def reopen_draft(self, draft_id: int, status: str) -> None:
        """Undo a claim to publish that could not be written (the loader refused it): back to `status`."""
        self._execute("""update kb_drafts set status = ?, decided_by = null, decided_at = null, updated_at = ?
                         where id = ? and status = 'published'""", (status, self.clock(), draft_id))

    def record_change(self, draft_id: int, path: str, before: str | None, after: str, by: str) -> int:
        return self._insert("kb_changes", {
            "draft_id": draft_id, "path": path, "before": before, "after": after, "published_by": by,
            "published_at": self.clock(),
        })

    def change(self, change_id: int) -> Row | None:
        return self._row("select * from kb_changes where id = ?", (change_id,))

    def changes(self, limit: int = 200) -> list[Row]:
        """Published changes, newest first, with their draft's kind, entry and author."""
        return self._rows(
            """select c.id, c.draft_id, c.path, c.published_by, c.published_at, c.rolled_back_by,
               c.rolled_back_at, d.kind, d.entry_id, d.created_by, d.data
               from kb_changes c join kb_drafts d on d.id = c.draft_id order by c.id desc limit ?""",
            (limit,),
        )

    def mark_rolled_back(self, change_id: int, by: str) -> None:
        now = self.clock()
        with self.transaction():
            self._execute("update kb_changes set rolled_back_by = ?, rolled_back_at = ? where id = ?",
                          (by, now, change_id))
            self._execute(
                """update kb_drafts set status = 'rolled_back', decided_by = ?, decided_at = ?, updated_at = ?
                   where id = (select draft_id from kb_changes where id = ?)""",
                (by, now, now, change_id),
            )


def _decoded(row: Row) -> Row:
    return {**row, "data": json.loads(row["data"])}
