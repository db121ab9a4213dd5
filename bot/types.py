"""The channel-neutral message types every part of the bot speaks."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Required, TypedDict

from bot.config import Config
from bot.effects import Effect
from bot.kb.model import KnowledgeBase
from bot.search import Searcher


class Kind(enum.StrEnum):
    """What a turn was, as stored with the message and printed by `htx-bot ask --json`.

    str-valued: a Kind is written and compared as its plain string ("answer"), so stored rows, reports
    and JSON keep the same words.
    """

    ANSWER = "answer"  # an entry answered the question, with its sources
    CLARIFY = "clarify"  # several entries fit: the member picks one
    UNKNOWN = "unknown"  # nothing fits well enough
    INTENT = "intent"  # the question started a conversation (staff, a self-check)
    INFO = "info"  # examples, empty question
    SELFCHECK = "selfcheck"
    START = "start"
    MENU = "menu"
    HELP = "help"
    CANCEL = "cancel"
    SMALLTALK = "smalltalk"
    FEEDBACK = "feedback"
    STAFF = "staff"
    PROVINCE = "province"
    PRIVACY = "privacy"
    RATE_LIMITED = "rate_limited"
    UNSUPPORTED = "unsupported"


class Meta(TypedDict, total=False):
    """What a turn is recorded as (bot/store.py writes these to the message row)."""

    kind: Kind
    intent: str | None
    entry_id: str | None
    score: float | None
    citations: list[dict[str, Any]]
    alternatives: list[dict[str, Any]]  # other entries that fit: entry_id, score, citations
    verdict: str  # a self-check's result
    referral: str  # out of scope: the office the member was pointed to (knowledge/referrals.yaml key)
    parts: list[dict[str, Any]]  # a message with several questions: what each one was answered with
    history_first: bool  # the member asked about the old law: its rule came first
    repealed_first: bool  # the first sentence named a repealed rule as current (must never happen)


class DialogState(TypedDict, total=False):
    """The conversation in progress, as stored (JSON) between messages: `flow` names its handler.

    The other keys are the self-check's (handlers/selfcheck/state.py reads and writes them).
    """

    flow: Required[str]
    phase: str
    step: str
    group: str | None
    trail: list[str]
    answers: dict[str, str]
    ref: int
    name: str
    phone: str
    cooperative: str
    commune: str



@dataclass(frozen=True)
class Button:
    label: str
    payload: str  # short ASCII id such as "faq:e:l12-dk-thanh-vien"; adapters map it to their limits


@dataclass
class Reply:
    """Plain text with light markup (**bold**), and buttons as rows."""

    text: str
    buttons: list[list[Button]] = field(default_factory=list)


@dataclass(frozen=True)
class Incoming:
    """One thing a user sent, as any channel adapter sees it."""

    channel: str
    user_key: str
    text: str | None = None
    payload: str | None = None
    platform_id: str | None = None  # the platform's message/update id, for dedup
    name: str | None = None
    province: str | None = None  # e.g. from a /start deep link, resolved by the engine
    attachment: str | None = None  # "photo", "sticker", "voice", "file", ... when there is no text


@dataclass
class Outcome:
    replies: list[Reply] = field(default_factory=list)
    state: DialogState | None = None  # this handler's conversation state; None = none of its own
    meta: Meta = field(default_factory=lambda: Meta())
    effects: list[Effect] = field(default_factory=list)
    redirect: str | None = None  # a payload to dispatch next, e.g. "intent:eligibility"
    end_dialog: bool = False  # end the active conversation even though another handler answered


@dataclass(frozen=True)
class Message:
    """What a handler receives: text typed, or the argument of a button/command payload."""

    text: str = ""
    arg: str = ""  # for payload "faq:e:x" the faq handler gets arg "e:x"
    is_payload: bool = False
    message_id: int = 0  # the stored incoming message, for feedback and tickets


@dataclass
class Context:
    """Everything a handler may use; handlers get no channel, HTTP client or SQL."""

    kb: KnowledgeBase
    searcher: Searcher
    config: Config
    user: dict[str, Any]
    now: float
    message_text: Callable[[int], str | None] = lambda _id: None
    feedback_given: Callable[[int], int | None] = lambda _id: None  # the member's vote on a message, if any
    active_flow: str | None = None  # the conversation in progress, if any

    @property
    def province(self) -> str | None:
        return self.user.get("province") or self.config.province or None

    def t(self, key: str, **values: Any) -> str:
        """A user-facing text with the alliance's name and contact filled in."""
        alliance = self.config.alliance
        values.setdefault("alliance", alliance.name)
        values.setdefault("contact", alliance.contact())
        values.setdefault("hours", alliance.hours)
        return self.kb.texts[key].format(**values)


Handler = Callable[[Context, DialogState | None, Message], Outcome]
