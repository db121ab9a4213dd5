"""Applying typed effects (bot/effects.py): one registry, keyed by the effect's class.

`apply()` runs inside `Store.complete()`'s transaction, so an effect that raises rolls back the replies
and the dialog state with it. An effect class without an applier is a bug and raises TypeError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.effects import (
    Effect,
    FollowUp,
    ForgetUser,
    OpenTicket,
    RecordFeedback,
    SaveSelfCheckResult,
    SaveTicketContact,
    SendSelfCheckResult,
    UpdateProfile,
)

if TYPE_CHECKING:
    from bot.db.store import Store


@dataclass(frozen=True)
class Scope:
    """Whose message is being handled, and when: every effect acts for this user."""

    message_id: int
    channel: str
    user_key: str
    now: float


Applier = Callable[["Store", Any, Scope], None]


def _open_ticket(store: Store, effect: OpenTicket, s: Scope) -> None:
    message_id = effect.message_id if effect.message_id is not None else s.message_id
    store._open_ticket(message_id, s.channel, s.user_key, effect.reason, effect.text, s.now)


def _update_profile(store: Store, effect: UpdateProfile, s: Scope) -> None:
    changes = {k: v for k, v in (("province", effect.province), ("name", effect.name)) if v is not None}
    store._update_profile(s.channel, s.user_key, changes)


def _record_feedback(store: Store, effect: RecordFeedback, s: Scope) -> None:
    store._record_feedback(s.channel, s.user_key, effect.message_id, effect.value, s.now)


def _forget_user(store: Store, effect: ForgetUser, s: Scope) -> None:
    """Erase what this user sent and was sent; keep anonymous counts only (bot/db/erasure.py)."""
    store._forget_ticket_notes(s.channel, s.user_key)  # staff notes hang on the tickets erased next
    store._erase_user(s.channel, s.user_key, keep_id=s.message_id)


def _save_selfcheck(store: Store, effect: SaveSelfCheckResult, s: Scope) -> None:
    store._save_selfcheck(effect.check, s.channel, s.user_key, effect.ref or s.message_id, effect.answers,
                          effect.result, s.now)


def _send_selfcheck(store: Store, effect: SendSelfCheckResult, s: Scope) -> None:
    store._send_selfcheck(effect.check, s.channel, s.user_key, effect.ref or s.message_id, effect.answers,
                          effect.result, effect.contact_name, effect.contact_phone, s.now)


def _save_ticket_contact(store: Store, effect: SaveTicketContact, s: Scope) -> None:
    store._save_ticket_contact(s.channel, s.user_key, effect.message_id, effect.phone, effect.via, s.now)


def _follow_up(store: Store, effect: FollowUp, s: Scope) -> None:
    store._member_wrote(s.channel, s.user_key)


APPLIERS: dict[type, Applier] = {
    OpenTicket: _open_ticket,
    UpdateProfile: _update_profile,
    RecordFeedback: _record_feedback,
    ForgetUser: _forget_user,
    SaveSelfCheckResult: _save_selfcheck,
    SendSelfCheckResult: _send_selfcheck,
    SaveTicketContact: _save_ticket_contact,
    FollowUp: _follow_up,
}


def apply(store: Store, effects: Iterable[Effect], scope: Scope) -> None:
    """Apply each effect in order; the caller holds the transaction."""
    for effect in effects:
        applier = APPLIERS.get(type(effect))
        if applier is None:
            raise TypeError(f"no applier for effect {effect!r}")
        applier(store, effect, scope)
