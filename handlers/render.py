"""Turning knowledge entries into channel-neutral replies."""

from __future__ import annotations

from typing import Any

from bot.kb.model import Citation, Entry, KnowledgeBase
from bot.types import Button, Context, Reply

LABEL_CHARS = 60


def cite(kb: KnowledgeBase, c: Citation) -> str:
    """'Điều 17 khoản 1 Luật HTX 2012 (23/2012/QH13)' — the form a member can look up."""
    doc = kb.document(c.doc)
    where = ""
    if c.article:
        where = f"Điều {c.article}"
        if c.clause:
            where = f"khoản {c.clause} {where}"
    name = doc.short if doc else c.doc
    if doc and doc.number not in name:
        name = f"{name} ({doc.number})"
    return f"{where} {name}".strip()


def sources_line(ctx: Context, entry: Entry) -> str:
    parts = []
    seen_docs: set[str] = set()
    for c in entry.citations:
        text = cite(ctx.kb, c)
        doc = ctx.kb.document(c.doc)
        if doc and not doc.in_force and doc.number not in seen_docs:
            since = f" từ {_vn_date(doc.expired)}" if doc.expired else ""
            text += " " + ctx.t("outdated_doc", short=doc.short, since=since)
        if doc:
            seen_docs.add(doc.number)
        parts.append(text)
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


def _vn_date(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{d}/{m}/{y}"
