"""Turning knowledge entries into channel-neutral replies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.kb.model import Citation, Document, Entry, KnowledgeBase
from bot.types import Button, Context, Reply

LABEL_CHARS = 60


def _where(c: Citation) -> str:
    if not c.article:
        return ""
    return f"khoản {c.clause} Điều {c.article}" if c.clause else f"Điều {c.article}"


def _doc_name(kb: KnowledgeBase, number: str) -> str:
    doc = kb.document(number)
    name = doc.short if doc else number
    return name if doc is None or doc.number in name else f"{name} ({doc.number})"


def cite(kb: KnowledgeBase, c: Citation) -> str:
    """'khoản 1 Điều 17 Luật HTX 2012 (23/2012/QH13)' — the form a member can look up."""
    return f"{_where(c)} {_doc_name(kb, c.doc)}".strip()


def sources_line(ctx: Context, entry: Entry) -> str:
    """One group per document, in citation order, each saying if the document is no longer in force."""
    groups: dict[str, list[str]] = {}
    for c in entry.citations:
        where = groups.setdefault(c.doc, [])
        if _where(c) and _where(c) not in where:
            where.append(_where(c))
    parts = []
    for number, places in groups.items():
        text = f"{', '.join(places)} {_doc_name(ctx.kb, number)}".strip()
        parts.append(text + outdated_note(ctx, ctx.kb.document(number)))
    return sources_sentence(ctx, parts)


def outdated_note(ctx: Context, doc: Document | None) -> str:
    """' (đã hết hiệu lực từ …)' after a document no longer in force; '' otherwise."""
    if doc is None or doc.in_force:
        return ""
    since = f" từ {vn_date(doc.expired)}" if doc.expired else ""
    return " " + ctx.t("outdated_doc", short=doc.short, since=since)


def sources_sentence(ctx: Context, parts: list[str]) -> str:
    """'Nguồn: a; b.' — the one form every answer and self-check uses."""
    return f"{ctx.t('sources')} " + "; ".join(parts) + "."


def entry_reply(ctx: Context, entry: Entry, message_id: int, extra: list[Entry] | None = None) -> Reply:
    text = f"**{entry.title}**\n{entry.answer.strip()}"
    if entry.today:
        text += f"\n\n**{ctx.t('today')}** {entry.today.strip()}"
    text += "\n\n" + sources_line(ctx, entry)
    buttons = [[
        Button(ctx.t("feedback_up"), f"fb:+:{message_id}"),
        Button(ctx.t("feedback_down"), f"fb:-:{message_id}"),
    ]]
    for other in extra or []:
        buttons.append([entry_button(other)])
    return Reply(text=text, buttons=buttons)


def entry_button(entry: Entry) -> Button:
    return Button(short_label(entry.title), f"faq:e:{entry.id}")


def short_label(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def citations_data(entry: Entry) -> list[dict[str, Any]]:
    return [c.as_dict() for c in entry.citations]


def vn_date(value: dt.date | str) -> str:
    """2024-07-01 (a date or its ISO text) → 01/07/2024."""
    if isinstance(value, dt.date):
        value = value.isoformat()
    y, m, d = str(value).split("-")
    return f"{d}/{m}/{y}"
