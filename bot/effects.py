"""Typed side effects: what a handler may ask the store to do, applied with the replies in one transaction.

Handlers stay pure: they return these values in `Outcome.effects`, and `bot/db/effects.py` applies each
one through a registry keyed by its class, inside the transaction that also queues the replies and
saves the dialog state. The effects act for the user who sent the message being handled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, get_args


@dataclass(frozen=True)
class OpenTicket:
    """Ask staff to look at something; `message_id` defaults to the message being handled."""

    reason: str  # "unknown", "staff_request", "negative_feedback", "selfcheck", ...
    text: str
    message_id: int | None = None


@dataclass(frozen=True)
class UpdateProfile:
    """Remember the user's province or name; a field left None is not changed."""

    province: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class RecordFeedback:
    """A thumbs up (+1) or down (-1) on one of the user's own earlier messages; a new vote replaces one."""

    message_id: int
    value: int


@dataclass(frozen=True)
class ForgetUser:
    """Erase what the user sent and was sent, their tickets, feedback and self-check results (/xoadulieu)."""


@dataclass(frozen=True)
class SaveSelfCheckResult:
    """A self-check result shown to the user, with the answers that led to it (no contact details)."""

    check: str
    ref: int  # the message that produced the result; a later SendSelfCheckResult completes the same row
    answers: Sequence[Any]
    result: Mapping[str, Any]


@dataclass(frozen=True)
class SendSelfCheckResult:
    """The user agreed to send the result to the alliance: store it with their contact and consent."""

    check: str
    ref: int
    answers: Sequence[Any]
    result: Mapping[str, Any]
    contact_name: str
    contact_phone: str


@dataclass(frozen=True)
class SaveTicketContact:
    """The member agreed to be called or messaged on Zalo about their question: the number goes on the
    ticket of `message_id` (else their latest open ticket), with the time of consent."""

    phone: str
    via: str  # "phone" (a call) or "zalo"
    message_id: int | None = None


@dataclass(frozen=True)
class FollowUp:
    """The member wrote after a staff answer and the bot could not take it up itself: their latest answered
    (or waiting) ticket goes back to staff, marked as replied. A new question the bot answers does not."""


Effect: TypeAlias = (OpenTicket | UpdateProfile | RecordFeedback | ForgetUser | SaveSelfCheckResult
                     | SendSelfCheckResult | SaveTicketContact | FollowUp)
EFFECT_TYPES: tuple[type, ...] = get_args(Effect)
