"""Telegram's limits applied to channel-neutral replies: 4096-character parts, HTML, 64-byte callback data.

Kept apart from the service so it can be tested without a network and reused by the staff console's
preview if needed.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.markup import split, to_html, to_plain

MAX_TEXT = 4096  # MessageLimit.MAX_TEXT_LENGTH, counted after entity parsing (in UTF-16 code units)
MAX_CALLBACK_BYTES = 64  # InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
MAX_BUTTONS_PER_ROW = 8
MAX_BUTTONS = 100
HASH_PREFIX = "h!"  # never starts an engine payload ("name:arg")
KV_PREFIX = "telegram:cb:"


def utf16_len(text: str) -> int:
    """Telegram counts text length in UTF-16 code units: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts of `text` (light markup) whose visible text fits one message; cut at paragraphs first.

    A **bold** span cut in two is closed at the end of one part and reopened in the next, so each
    part renders on its own.
    """
    parts = _fit(text, limit, limit)
    balanced: list[str] = []
    carry = False
    for part in parts:
        if carry:
            part = "**" + part
        carry = part.count("**") % 2 == 1
        if carry:
            part += "**"
        balanced.append(part)
    return balanced


def _fit(text: str, chars: int, limit: int) -> list[str]:
    out: list[str] = []
    for part in split(text, chars):
        units = utf16_len(to_plain(part))
        if units <= limit or chars <= 64:
            out.append(part)
        else:  # many emoji or other astral characters: cut this part in proportion
            out.extend(_fit(part, max(64, min(chars - 1, len(part) * limit // units)), limit))
    return out


def render_html(part: str) -> str:
    """HTML for parse_mode=HTML: <, > and & escaped, **bold** as <b>."""
    return to_html(part)


def render_plain(part: str) -> str:
    """The fallback when Telegram refuses our HTML: no parse mode, no markup."""
    return to_plain(part)


class CallbackKeys:
    """Maps button payloads to callback_data of at most 64 bytes.

    Payloads that fit are used as they are. Longer ones (any Vietnamese text quickly exceeds 64 UTF-8
    bytes) are replaced by a short hash, remembered in the store's kv table so a button pressed after a
    restart still resolves.
    """

    def __init__(self, store: Any):
        self.store = store

    def encode(self, payload: str) -> str:
        if 0 < len(payload.encode("utf-8")) <= MAX_CALLBACK_BYTES and not payload.startswith(HASH_PREFIX):
            return payload
        digest = hashlib.sha256(payload.encode("utf-8")).digest()[:15]
        key = HASH_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")
        if self.store.get_kv(KV_PREFIX + key) != payload:
            self.store.set_kv(KV_PREFIX + key, payload)
        return key

    def decode(self, data: str) -> str | None:
        """The payload behind callback data; None for a hashed key we no longer know."""
        if data.startswith(HASH_PREFIX):
            return self.store.get_kv(KV_PREFIX + data)
        return data


def keyboard(rows: Iterable[Iterable[Any]], keys: CallbackKeys) -> InlineKeyboardMarkup | None:
    """An inline keyboard from stored button rows ({label, payload} dicts or Button objects)."""
    out: list[list[InlineKeyboardButton]] = []
    total = 0
    for row in rows:
        buttons: list[InlineKeyboardButton] = []
        for button in row:
            label = button["label"] if isinstance(button, dict) else button.label
            payload = button["payload"] if isinstance(button, dict) else button.payload
            if not label or not payload or total >= MAX_BUTTONS or len(buttons) >= MAX_BUTTONS_PER_ROW:
                continue
            buttons.append(InlineKeyboardButton(label, callback_data=keys.encode(payload)))
            total += 1
        if buttons:
            out.append(buttons)
    return InlineKeyboardMarkup(out) if out else None


def without_row(markup: InlineKeyboardMarkup | None, data: str) -> InlineKeyboardMarkup | None:
    """The keyboard minus the row holding the button with callback data `data` (None when empty)."""
    if markup is None:
        return None
    rows = [list(row) for row in markup.inline_keyboard if not any(b.callback_data == data for b in row)]
    return InlineKeyboardMarkup(rows) if rows else None
