"""`Store`: the bot's one database object, composed of one query mixin per table group.

Erasure on request (bot/db/erasure.py), retention (bot/db/retention.py) and backups (bot/db/backup.py,
on a connection of their own) are the data-protection parts; docs/security.md describes them.

`complete()` is the heart of it: an answered message's outcome, its replies, the dialog state and the
handler's effects are committed in one transaction, so a crash or a failing effect never leaves half.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.db.console import Console
from bot.db.dialogs import Dialogs
from bot.db.effects import Scope, apply
from bot.db.erasure import Erasure
from bot.db.inbox import Inbox
from bot.db.reports import Reports
from bot.db.retention import Retention
from bot.db.review import Review
from bot.db.selfchecks import SelfChecks
from bot.db.staff import StaffAccounts
from bot.effects import Effect, ForgetUser
from bot.types import Reply


class Store(Erasure, Retention, Inbox, SelfChecks, Dialogs, Console, StaffAccounts, Review, Reports):  # Inbox: Tickets+
    def complete(
        self,
        message_id: int,
        channel: str,
        user_key: str,
        replies: list[Reply],
        meta: dict[str, Any],
        state: dict[str, Any] | None,
        effects: Iterable[Effect] = (),
    ) -> list[int]:
        """Record the outcome, queue the replies, save dialog state and apply effects — atomically."""
        now = self.clock()
        effects = list(effects)
        with self.transaction():
            self._mark_handled(message_id, meta, now)
            ids = [self._queue(message_id, channel, user_key, r, "bot", now) for r in replies]
            self._save_dialog(channel, user_key, state, now)
            apply(self, effects, Scope(message_id, channel, user_key, now))
        if any(isinstance(e, ForgetUser) for e in effects):
            self.checkpoint()  # no copy of the erased rows left in the -wal file
        return ids
