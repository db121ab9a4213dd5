"""The channel-neutral message types every part of the bot speaks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.effects import Effect  # noqa: F401  (re-exported: the typed effects of bot/effects.py)


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
    state: dict[str, Any] | None = None  # this handler's conversation state; None = none of its own
    meta: dict[str, Any] = field(default_factory=dict)  # kind, intent, entry_id, score, citations, ...
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

    kb: Any  # bot.kb.model.KnowledgeBase
    searcher: Any  # bot.search.Searcher
    config: Any  # bot.config.Config
    user: dict[str, Any]
    now: float
    message_text: Callable[[int], str | None] = lambda _id: None
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


Handler = Callable[[Context, dict | None, Message], Outcome]
