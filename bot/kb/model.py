"""Typed, read-only view of the curated knowledge in knowledge/."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.facts import FactRules
    from bot.kb.style import Style
    from bot.reading import ReadingRules
    from bot.referral import ReferralRules

from bot.textnorm import Normalizer, fold


def doc_key(number: str) -> str:
    """Comparison key for document numbers: case, spaces and Đ/đ do not matter."""
    return fold(number).replace(" ", "").upper()


@dataclass(frozen=True)
class Citation:
    doc: str
    article: int | None = None
    clause: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"doc": self.doc, "article": self.article, "clause": self.clause}


@dataclass(frozen=True)
class Document:
    number: str
    short: str
    title: str
    issuer: str
    issued: str | None = None
    effective: str | None = None
    expired: str | None = None
    in_force: bool = True
    replaced_by: str | None = None
    link: str | None = None
    province: str | None = None
    articles: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class Entry:
    """One question members ask, in format v2 (docs/knowledge-format.md): today's rule first."""

    id: str
    title: str
    questions: tuple[str, ...]
    short: str  # what applies today: the first message a member reads
    citations: tuple[Citation, ...]
    topic: str
    file: str
    detail: str | None = None  # today's rule in full, on request
    history: str | None = None  # the earlier rule, said as past, when a cited document is not in force
    history_label: str | None = None  # the history button's label; None: the default text
    unsure: str | None = None  # one sentence a member sees when a fact is not certain
    editor_note: str | None = None  # for editors only, never shown to members
    province: str | None = None
    related: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    label: str | None = None  # the topic in a few words, for headings and buttons; None: the title

    @property
    def name(self) -> str:
        """What a heading or a button calls this entry: its short label, else its title."""
        return self.label or self.title.rstrip("?")


@dataclass(frozen=True)
class Intent:
    """A conversation that free text can start ("kiểm tra điều kiện thí điểm" → eligibility)."""

    name: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    # What starts this conversation wherever it appears: each trigger is a tuple of groups, and every
    # group must be present (any one phrase of it): (("gặp cán bộ",),) or (("tự đánh giá", …), ("thí điểm", …)).
    triggers: tuple[tuple[tuple[str, ...], ...], ...] = ()


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    aliases: tuple[str, ...] = ()
    merged_into: str | None = None


@dataclass(frozen=True)
class Readers:
    """How a member's message is read (knowledge/reading.yaml), which office other matters go to
    (referrals.yaml), and rules with numbers applied to the member's own facts (rules.yaml)."""

    reading: ReadingRules
    referral: ReferralRules
    facts: FactRules


@dataclass
class KnowledgeBase:
    documents: dict[str, Document]
    entries: dict[str, Entry]
    intents: dict[str, Intent]
    out_of_scope: tuple[str, ...]
    normalizer: Normalizer
    stopwords: frozenset[str]
    texts: dict[str, str]
    ui: dict[str, Any]
    provinces: dict[str, Province]
    # Validated self-check files by name (bot.kb.schema.SelfCheckFile, or CommonFile for "_common").
    selfchecks: dict[str, Any] = field(default_factory=dict)
    other_subjects: tuple[str, ...] = ()
    cooperative_terms: tuple[str, ...] = ()
    style: Style | None = None  # knowledge/style.yaml compiled: the renderer checks first sentences with it
    readers: Readers | None = None

    def document(self, number: str) -> Document | None:
        return self._docs_by_key().get(doc_key(number))

    def _docs_by_key(self) -> dict[str, Document]:
        cache = self.__dict__.get("_doc_cache")
        if cache is None:
            cache = {doc_key(d.number): d for d in self.documents.values()}
            self.__dict__["_doc_cache"] = cache
        return cache

    def text(self, key: str, **values: Any) -> str:
        """A user-facing text from knowledge/texts.yaml with {placeholders} filled."""
        template = self.texts[key]
        return template.format(**values) if values else template

    def province_scope(self, name_or_code: str | None) -> frozenset[str]:
        """Province names whose documents a user of this province sees: their own, and the old
        provinces merged into it in 2025 (a Quảng Ngãi user also sees old Kon Tum's plan)."""
        prov = self.find_province(name_or_code)
        if prov is None:
            return frozenset()
        merged = {p.name for p in self.provinces.values() if p.merged_into == prov.code}
        return frozenset({prov.name} | merged)

    def find_province(self, name_or_code: str | None) -> Province | None:
        """Resolve a province from a code, its name or an alias, typed with or without tones."""
        if not name_or_code:
            return None
        wanted = fold(name_or_code).replace(" ", "").replace("-", "").replace("_", "")
        for prov in self.provinces.values():
            names = (prov.code, prov.name, *prov.aliases)
            if any(fold(n).replace(" ", "").replace("-", "") == wanted for n in names):
                return prov
        return None
