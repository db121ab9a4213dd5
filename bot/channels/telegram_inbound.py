"""Which Telegram messages the bot answers, and what the engine sees of them.

Private chats: everything (text, commands, and a polite reply to photos, stickers, voice, files).
Groups: only our commands and messages addressed to the bot (an @mention, or a reply to one of its
messages), so it never talks over members chatting among themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import Message, MessageEntity, Update

from bot.textnorm import clean_fields
from bot.types import Incoming

CHANNEL = "telegram"
# Message fields that carry something other than text, in the order they are checked.
ATTACHMENTS = (
    "photo", "sticker", "voice", "audio", "video", "video_note", "animation", "document",
    "location", "venue", "contact", "poll", "dice",
)


@dataclass(frozen=True)
class BotIdentity:
    id: int
    username: str  # without "@"


def incoming(update: Update, me: BotIdentity, commands: set[str]) -> Incoming | None:
    """The Incoming for a `message` update, or None when the bot should stay silent."""
    msg = update.message
    if msg is None or msg.chat is None:
        return None
    if msg.from_user is not None and msg.from_user.is_bot:
        return None
    text = msg.text if msg.text is not None else msg.caption
    attachment = attachment_kind(msg)
    if text is None and attachment is None:
        return None  # service messages: members joining, pinned messages, ...
    private = msg.chat.type == "private"
    payload = None
    if text is not None:
        text, addressed = _addressed_text(msg, text, me, commands, private)
        if not addressed:
            return None
        if not text and not attachment:
            text, payload = None, "menu:show"  # a bare "@bot": show what the bot can do
    elif not private:
        return None  # a photo in a group without a caption addressed to us
    name = msg.from_user.first_name if msg.from_user else None
    return clean_fields(Incoming(
        channel=CHANNEL,
        user_key=str(msg.chat.id),
        text=text or None,
        payload=payload,
        platform_id=str(update.update_id),
        name=name,
        attachment=attachment,
    ))


def attachment_kind(msg: Message) -> str | None:
    for kind in ATTACHMENTS:
        if getattr(msg, kind, None):
            return kind
    return None


def _addressed_text(msg: Message, text: str, me: BotIdentity, commands: set[str], private: bool) -> tuple[str, bool]:
    """(text to answer, whether it is meant for us). Strips our @username from commands and mentions."""
    stripped = text.strip()
    if stripped.startswith("/"):
        head, _, rest = stripped[1:].partition(" ")
        name, _, target = head.partition("@")
        if target:
            if target.lower() != me.username.lower():
                return text, False  # "/menu@another_bot"
        elif not private and name.lower() not in commands:
            return text, False  # another bot's bare command in a group
        return f"/{name} {rest}".strip() if rest else f"/{name}", True
    if private:
        return text, True
    mentioned = _mentions_us(msg, me) or _replies_to_us(msg, me)
    if not mentioned:
        return text, False
    cleaned = re.sub(r"@" + re.escape(me.username) + r"\b", " ", text, flags=re.IGNORECASE)
    return " ".join(cleaned.split()), True


def _mentions_us(msg: Message, me: BotIdentity) -> bool:
    entities = msg.parse_entities() if msg.text is not None else msg.parse_caption_entities()
    for entity, value in entities.items():
        if entity.type == MessageEntity.MENTION and value.lower() == "@" + me.username.lower():
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == me.id:
            return True
    return False


def _replies_to_us(msg: Message, me: BotIdentity) -> bool:
    original = msg.reply_to_message
    return bool(original and original.from_user and original.from_user.id == me.id)
