"""Turning knowledge entries into channel-neutral replies: today's rule first, the rest on request.

The first message is what a member on a phone reads and often all they read: the entry's `short` (today's
rule), at most one plain "whom to ask" line, and the sources of today's rule. The detail and the earlier
(2012-law) rule come from buttons; a member who asked about the old law gets the old rule first.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from bot.kb.model import Citation, Document, Entry, KnowledgeBase
from bot.kb.style import states_repealed_first
from bot.types import Button, Context, Reply

LABEL_CHARS = 60
FIRST_MESSAGE_PLACES = 1  # article references in the first message; all of them, with numbers, in the detail
TODAY_AFTER_HISTORY_WORDS = 20  # today's rule after the old one: its first sentences up to about this many words


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


def in_force(kb: KnowledgeBase, c: Citation) -> bool:
    doc = kb.document(c.doc)
    return doc is None or doc.in_force


def sources_line(ctx: Context, citations: tuple[Citation, ...] | list[Citation],
                 places_per_doc: int | None = None) -> str:
    """One group per document, in citation order, each saying if the document is no longer in force."""
    groups: dict[str, list[str]] = {}
    for c in citations:
        where = groups.setdefault(c.doc, [])
        if _where(c) and _where(c) not in where:
            where.append(_where(c))
    parts = []
    for number, places in groups.items():
        shown = places[:places_per_doc] if places_per_doc else places
        text = f"{', '.join(shown)} {_doc_name(ctx.kb, number)}".strip()
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


def today_citations(ctx: Context, entry: Entry) -> list[Citation]:
    """The citations of what applies today; all of them when the entry is only about past documents."""
    current = [c for c in entry.citations if in_force(ctx.kb, c)]
    return current or list(entry.citations)


def old_citations(ctx: Context, entry: Entry) -> list[Citation]:
    return [c for c in entry.citations if not in_force(ctx.kb, c)] or list(entry.citations)


def first_text(ctx: Context, entry: Entry, history_first: bool = False, lead: str | None = None) -> str:
    """The first message's words: today's rule (or, when asked, the old rule and then today's)."""
    lines = []
    if history_first and entry.history:
        # Both rules in full would double the message; today's rule keeps its first sentences (the
        # rest is under "Xem chi tiết").
        lines.append(entry.history.strip())
        lines.append(lead or _today(ctx, _opening(entry.short, TODAY_AFTER_HISTORY_WORDS)))
        citations = [*old_citations(ctx, entry), *today_citations(ctx, entry)]
    else:
        # The member's own case, when their numbers settle it, says more than the general rule: the
        # general rule is then one button away.
        lines.append(lead or entry.short.strip())
        citations = today_citations(ctx, entry)
    if entry.unsure:
        lines.append(entry.unsure.strip())
    if not lead or history_first:  # a lead names the article it rests on itself
        lines.append(brief_sources(ctx, list(dict.fromkeys(citations)), history_first))
    return "\n".join(lines)


def brief_sources(ctx: Context, citations: list[Citation], history_first: bool) -> str:
    """'Nguồn: khoản 1 Điều 74 Luật HTX 2023.' — the main document of the first message, by its short
    name (every source, with official numbers, is in the detail). With the old rule first, the old law
    and today's are both named."""
    docs = list(dict.fromkeys(c.doc for c in citations))[: 2 if history_first else 1]
    parts = []
    for number in docs:
        places = list(dict.fromkeys(_where(c) for c in citations if c.doc == number and _where(c)))
        doc = ctx.kb.document(number)
        name = doc.short if doc else number
        parts.append(f"{', '.join(places[:FIRST_MESSAGE_PLACES])} {name}".strip())
    return sources_sentence(ctx, parts)


def _opening(text: str, words: int) -> str:
    """The first sentences of a text, as few as make `words` words ("Không còn." alone says too little)."""
    sentences: list[str] = []
    for piece in re.split(r"(?<=[.!?])\s+", text.strip()):
        if sentences and not (piece[:1].isupper() or piece[:1].isdigit() or piece[:1] == "("):
            sentences[-1] += " " + piece  # "v.v. và …": not a new sentence
        else:
            sentences.append(piece)
    kept: list[str] = []
    for sentence in sentences:
        kept.append(sentence)
        if sum(len(k.split()) for k in kept) >= words:
            break
    return " ".join(kept)


def _today(ctx: Context, short: str) -> str:
    """'Hiện nay: …' before today's rule, unless the rule already starts by saying so."""
    short = short.strip()
    label = ctx.t("today").rstrip(":").strip()
    return short if short.lower().startswith(label.lower()) else f"**{ctx.t('today')}** {short}"


def entry_reply(ctx: Context, entry: Entry, message_id: int, extra: list[Entry] | None = None, *,
                history_first: bool = False, lead: str | None = None, hedge: bool = False,
                feedback: bool = True) -> Reply:
    text = first_text(ctx, entry, history_first, lead)
    if hedge:
        text = ctx.t("hedge", title=entry.name) + "\n" + text
    more = []
    if entry.detail or lead:
        more.append(Button(ctx.t("detail_button"), f"faq:d:{entry.id}"))
    if entry.history and not history_first:
        more.append(Button(history_label(ctx, entry), f"faq:h:{entry.id}"))
    buttons = [more] if more else []
    if feedback:
        buttons.append(feedback_buttons(ctx, message_id))
    for other in extra or []:
        buttons.append([entry_button(other)])
    return Reply(text=text, buttons=buttons)


def feedback_buttons(ctx: Context, message_id: int) -> list[Button]:
    return [Button(ctx.t("feedback_up"), f"fb:+:{message_id}"), Button(ctx.t("feedback_down"), f"fb:-:{message_id}")]


def detail_reply(ctx: Context, entry: Entry) -> Reply:
    """'Xem chi tiết': today's rule in full, with every source."""
    body = f"{entry.short.strip()}\n{entry.detail.strip()}" if entry.detail else entry.short.strip()
    text = f"**{entry.title}**\n{body}"
    if entry.unsure:
        text += "\n" + entry.unsure.strip()
    text += "\n\n" + sources_line(ctx, today_citations(ctx, entry))
    buttons = [[Button(history_label(ctx, entry), f"faq:h:{entry.id}")]] if entry.history else []
    return Reply(text=text, buttons=buttons)


def history_reply(ctx: Context, entry: Entry) -> Reply:
    """'Luật 2012 quy định thế nào': the earlier rule, with a reminder of today's."""
    if not entry.history:
        return detail_reply(ctx, entry)
    text = (f"**{history_label(ctx, entry).rstrip('?')}**\n{entry.history.strip()}\n\n"
            f"{sources_line(ctx, old_citations(ctx, entry))}\n\n{_today(ctx, entry.short)}")
    buttons = [[Button(ctx.t("detail_button"), f"faq:d:{entry.id}")]] if entry.detail else []
    return Reply(text=text, buttons=buttons)


def history_label(ctx: Context, entry: Entry) -> str:
    return short_label(entry.history_label or ctx.t("history_button"))


def repealed_first(ctx: Context, text: str) -> bool:
    """Whether a reply's first sentence states a repealed rule as current (the check `kb check` applies
    to `short`, applied to what the member actually reads)."""
    style = ctx.kb.style
    return bool(style) and states_repealed_first(text.replace("**", ""), style)  # type: ignore[arg-type]


def entry_button(entry: Entry) -> Button:
    return Button(short_label(entry.name), f"faq:e:{entry.id}")


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
