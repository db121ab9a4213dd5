"""The editorial rules of docs/knowledge-format.md, applied to one entry (data: knowledge/style.yaml).

A member reads `short` first and often nothing else, so it must state today's rule, briefly, without
an editor's research notes, and never present a repealed document as if it still applied.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from bot.kb.schema import EntryModel, StyleRules

# A sentence ends at . ! ? followed by a space and a capital letter, a digit or an opening mark.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZĐÀ-Ỹ0-9«\"(])")
MEMBER_VISIBLE = ("title", "short", "detail", "history", "unsure")


@dataclass(frozen=True)
class Style:
    """knowledge/style.yaml compiled once."""

    rules: StyleRules
    research_notes: re.Pattern[str]
    past_markers: re.Pattern[str]
    old_documents: re.Pattern[str]

    @classmethod
    def build(cls, rules: StyleRules) -> Style:
        def union(patterns: tuple[str, ...]) -> re.Pattern[str]:
            return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)

        return cls(rules, union(rules.research_notes), union(rules.past_markers), union(rules.old_documents))


def words(text: str) -> int:
    return len(text.split())


def sentences(text: str) -> list[str]:
    return [s for s in SENTENCE_END.split(text.strip()) if s.strip()]


def entry_problems(entry: EntryModel, style: Style) -> Iterator[tuple[str, str]]:
    """(field, message) for every rule the entry breaks."""
    limits = style.rules.limits
    short = entry.short
    if words(short) > limits.short_words:
        yield "short", f"{words(short)} words; at most {limits.short_words} (move the rest to detail)"
    if len(sentences(short)) > limits.short_sentences:
        yield "short", f"{len(sentences(short))} sentences; at most {limits.short_sentences}"
    old = style.old_documents.search(sentences(short)[0] if sentences(short) else short)
    if old and states_repealed_first(short, style):
        yield "short", (f"the first sentence names {old.group(0)!r}, no longer in force, without a past marker "
                        "such as 'trước đây' or 'đã hết hiệu lực': say today's rule first")
    for name, limit in (("detail", limits.detail_words), ("history", limits.history_words),
                        ("unsure", limits.unsure_words)):
        value = getattr(entry, name)
        if value and words(value) > limit:
            yield name, f"{words(value)} words; at most {limit}"
    if entry.unsure and len(sentences(entry.unsure)) > limits.unsure_sentences:
        yield "unsure", f"at most {limits.unsure_sentences} sentence(s)"
    for name in MEMBER_VISIBLE:
        value = getattr(entry, name)
        note = style.research_notes.search(value) if value else None
        if note:
            yield name, f"research note {note.group(0)!r} is shown to members: move it to editor_note"


def states_repealed_first(text: str, style: Style) -> bool:
    """Whether the first sentence of `text` names a document no longer in force as if it applied today."""
    first = sentences(text)[0] if sentences(text) else text
    return bool(style.old_documents.search(first)) and not style.past_markers.search(first)
