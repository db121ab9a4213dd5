"""The light markup of replies (**bold**) rendered for each channel, and splitting long texts."""

from __future__ import annotations

import html
import re

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)


def to_html(text: str) -> str:
    """Escaped HTML with <b> for bold: safe for Telegram's HTML parse mode and for the web page."""
    return _BOLD.sub(lambda m: f"<b>{m.group(1)}</b>", html.escape(text, quote=False))


def to_plain(text: str) -> str:
    return _BOLD.sub(lambda m: m.group(1), text)


def split(text: str, limit: int) -> list[str]:
    """Split at paragraph, then line, then word boundaries so no part exceeds `limit` characters."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for block in _pieces(text, limit):
        candidate = f"{current}{block}" if current else block.lstrip("\n")
        if len(candidate) <= limit:
            current = candidate
        else:
            if current.strip():
                parts.append(current.rstrip())
            current = block.lstrip("\n")
    if current.strip():
        parts.append(current.rstrip())
    return parts


def _pieces(text: str, limit: int) -> list[str]:
    """Paragraphs (keeping their separators); any paragraph longer than limit is cut by lines/words."""
    out: list[str] = []
    for i, para in enumerate(text.split("\n\n")):
        sep = "\n\n" if i else ""
        if len(para) + len(sep) <= limit:
            out.append(sep + para)
            continue
        first = True
        for line in para.split("\n"):
            prefix = sep if first else "\n"
            first = False
            while len(line) + len(prefix) > limit:
                cut = line.rfind(" ", 0, limit - len(prefix))
                cut = cut if cut > 0 else limit - len(prefix)
                out.append(prefix + line[:cut])
                line = line[cut:].lstrip()
                prefix = "\n"
            out.append(prefix + line)
    return out
