"""Vietnamese-aware search over entry and intent phrasings.

Two stages, because each is good at one thing:
1. SQLite FTS5 (built with sqlite-utils, in memory) over folded, abbreviation-expanded phrasings finds
   candidates fast and scales with the knowledge base.
2. A re-ranker scores each candidate item against the question: IDF-weighted overlap of words and
   word pairs (Vietnamese words are often two syllables, "thành viên", so pairs matter), plus
   rapidfuzz similarity, which forgives typos and word order.

Scores are in [0, 1]; the engine turns them into answer / clarify / unknown with thresholds from config.
Typos are corrected only toward the knowledge base's own vocabulary, and only when the corrected
syllable forms a known word pair with its neighbour — Vietnamese syllables are short, and a blind
fix would turn "giá lúa" (rice price) into "giá luật".
"""

from __future__ import annotations

import functools
import math
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlite_utils
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.kb.model import KnowledgeBase
from bot.textnorm import Normalizer, fold, tokens

ENTRY, INTENT, OUT_OF_SCOPE = "entry", "intent", "out_of_scope"
STOPWORD_WEIGHT = 0.15


@dataclass(frozen=True)
class Item:
    """Something a question can match: an entry, an intent, or the out-of-scope set."""

    kind: str
    key: str
    province: str | None
    phrasings: tuple[tuple[str, ...], ...]  # normalised token lists


@dataclass(frozen=True)
class Candidate:
    kind: str
    key: str
    score: float
    phrasing: str = ""
    coverage: float = 0.0  # share of the question's informative weight this item explains


@dataclass
class Query:
    text: str
    tokens: list[str]
    terms: Counter = field(default_factory=Counter)
    corrected: dict[str, str] = field(default_factory=dict)


_ARTICLE = re.compile(r"\bdieu (\d{1,3})\b")
_OTHER_DOC = re.compile(r"\b(nghi dinh|nd|thong tu|tt|quyet dinh|qd|chi thi|ct) (?:so )?(\d{1,4})\b")
_DOC_KINDS = {"nghi dinh": "ndcp", "nd": "ndcp", "thong tu": "tt", "tt": "tt", "quyet dinh": "qd", "qd": "qd",
              "chi thi": "ct", "ct": "ct"}
# How a question says which cooperative law it means, in folded text.
_LAW_MARKS = (
    ("23/2012/QH13", ("2012", "23 2012", "luat cu")),
    ("17/2023/QH15", ("2023", "17 2023", "luat moi", "hien hanh")),
)


def _bigrams(toks: Sequence[str]) -> list[str]:
    return [f"{a}_{b}" for a, b in zip(toks, toks[1:], strict=False)]


def _terms(toks: Sequence[str]) -> set[str]:
    return set(toks) | set(_bigrams(toks))


class Searcher:
    """Built once per knowledge base; `search()` is read-only and safe to share."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.normalizer: Normalizer = kb.normalizer
        self.stopwords = frozenset(t for w in kb.stopwords for t in self.normalizer(w))
        self.items: list[Item] = []
        for entry in kb.entries.values():
            texts = [entry.title, *entry.questions]
            self._add(ENTRY, entry.id, entry.province, texts, extra=entry.keywords)
        for intent in kb.intents.values():
            self._add(INTENT, intent.name, None, list(intent.questions), extra=intent.keywords)
        for i, text in enumerate(kb.out_of_scope):
            self._add(OUT_OF_SCOPE, f"oos-{i}", None, [text])
        # The same question is looked at by several rules per message: split it into words once.
        self.words = functools.lru_cache(maxsize=64)(self.normalizer.words)
        self.provincial = {e.province for e in kb.entries.values() if e.province}
        self.other_subjects = kb.other_subjects
        self.cooperative_terms = kb.cooperative_terms
        self._build_statistics()
        self._build_fts()

    # --- index ------------------------------------------------------------------------------------

    def _add(self, kind: str, key: str, province: str | None, texts: list[str], extra: Iterable[str] = ()) -> None:
        phrasings = [tuple(self.normalizer(t)) for t in texts]
        keywords = [tuple(self.normalizer(k)) for k in extra]
        if keywords:
            # Keywords extend the item's vocabulary but are not a question on their own.
            phrasings.append(tuple(t for k in keywords for t in k))
        self.items.append(Item(kind, key, fold(province) if province else None, tuple(p for p in phrasings if p)))

    def _build_statistics(self) -> None:
        df: Counter = Counter()
        for item in self.items:
            seen: set[str] = set()
            for p in item.phrasings:
                seen |= _terms(p)
            df.update(seen)
        n = max(len(self.items), 1)
        self.idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self.max_idf = math.log(1 + n)
        self.vocabulary = sorted({t for t in df if "_" not in t})
        self.pairs = {t for t in df if "_" in t}

    def _build_fts(self) -> None:
        # Built in a worker thread on a live reload and read on the event loop afterwards; the index is
        # never written after this, so sharing the connection between threads is safe.
        self.db = sqlite_utils.Database(sqlite3.connect(":memory:", check_same_thread=False))
        rows = [
            {"item": i, "text": " ".join(p)}
            for i, item in enumerate(self.items)
            for p in item.phrasings
        ]
        table = self.db.table("phrasings")
        table.insert_all(rows)
        table.enable_fts(["text"], tokenize="unicode61 remove_diacritics 2")

    # --- query --------------------------------------------------------------------------------------

    def parse(self, text: str) -> Query:
        toks = self.normalizer(text)
        corrected: dict[str, str] = {}
        fixed = list(toks)
        known = set(self.vocabulary)
        for i, tok in enumerate(toks):
            if tok in known or tok.isdigit() or len(tok) < 3:
                continue
            best = self._correct(tok, toks, i)
            if best:
                corrected[tok] = best
                fixed[i] = best
        return Query(text=text, tokens=fixed, terms=Counter(_terms(fixed)), corrected=corrected)

    def _correct(self, tok: str, toks: list[str], i: int) -> str | None:
        options = process.extract(tok, self.vocabulary, scorer=OSA.distance, score_cutoff=1, limit=8)
        neighbours = [toks[j] for j in (i - 1, i + 1) if 0 <= j < len(toks)]
        for word, _dist, _ in sorted(options, key=lambda o: (o[1], -self.idf.get(o[0], 0))):
            pairs = {f"{n}_{word}" for n in neighbours[:1]} | {f"{word}_{n}" for n in neighbours[1:]}
            if i == 0 and neighbours:
                pairs = {f"{word}_{neighbours[0]}"}
            if pairs & self.pairs:
                return word
        return None

    def provinces_named(self, text: str) -> set[str]:
        """Folded names of provinces with their own documents that the question names ("kế hoạch của
        Kon Tum"): asking about a province by name shows its documents whatever the user's province."""
        words = self.words(text)
        named = set()
        for prov in self.kb.provinces.values():
            if prov.name in self.provincial and any(
                self.normalizer.contains(words, n) for n in (prov.name, *prov.aliases)
            ):
                named.add(fold(prov.name))
        return named

    def article_refs(self, text: str) -> tuple[list[tuple[str, int]], list[str]]:
        """Articles the question names, and the documents it names that lack them.

        "điều 17 luật htx 2012" → ([("23/2012/QH13", 17)], []); "điều 17 nghị định 193" → the decree's
        article; without a document, both cooperative laws are meant; "điều 200 luật htx" → ([], [both laws]).
        """
        folded = " ".join(tokens(text))
        refs: list[tuple[str, int]] = []
        missing: list[str] = []
        for match in _ARTICLE.finditer(folded):
            number = int(match.group(1))
            tail = folded[match.end() : match.end() + 60]
            other = _OTHER_DOC.search(tail)
            if other:
                kind, num = _DOC_KINDS[other.group(1)], other.group(2)
                docs = [d.number for d in self.kb.documents.values()
                        if d.number.split("/")[0] == num and kind in fold(d.number).replace("-", "").lower()]
            else:
                docs = [doc for doc, marks in _LAW_MARKS if any(m in tail for m in marks)] or [d for d, _ in _LAW_MARKS]
            for doc in docs:
                document = self.kb.document(doc)
                if document is None:
                    continue
                if document.articles and number > document.articles:
                    missing.append(document.number)
                else:
                    refs.append((document.number, number))
        return refs, missing

    def entries_citing(self, refs: list[tuple[str, int]], province: str | None = None) -> list[str]:
        """Entry ids citing any of `refs`, those that cite it first (their main article) first."""
        scope = {fold(p) for p in self.kb.province_scope(province)}
        found: list[tuple[int, int, str]] = []
        for entry in self.kb.entries.values():
            if entry.province and fold(entry.province) not in scope:
                continue
            for rank, c in enumerate(entry.citations):
                if (c.doc, c.article) in refs:
                    found.append((rank, len(entry.citations), entry.id))
                    break
        return [eid for _, _, eid in sorted(found)]

    def main_article(self, entry_id: str, refs: list[tuple[str, int]]) -> bool:
        """Whether the entry's first citation is one of `refs` (the article is what the entry is about)."""
        first = self.kb.entries[entry_id].citations[0]
        return (first.doc, first.article) in refs

    def content_words(self, text: str) -> list[str]:
        """The meaningful syllables of a question (abbreviations expanded, before synonym merging):
        not stop words, single letters or bare numbers."""
        return [f for _, f in self.words(text) if f not in self.stopwords and len(f) > 1 and not f.isdigit()]

    def known_words(self, text: str) -> list[str]:
        """The question's meaningful words that the knowledge base itself uses: "asdkjh" has none."""
        known = self.idf
        return [w for w in self.content_words(text) if w in known]

    def triggered_intent(self, text: str) -> str | None:
        """The intent whose trigger phrase the text contains ("… chuyển giúp em cho cán bộ …" → staff)."""
        words = self.words(text)
        for intent in self.kb.intents.values():
            for groups in intent.triggers:
                if all(any(self.normalizer.contains(words, p) for p in group) for group in groups):
                    return intent.name
        return None

    def about_other_subject(self, text: str) -> bool:
        """True when the question names another kind of organisation and nothing cooperative-specific."""
        words = self.words(text)
        names_other = any(self.normalizer.contains(words, p) for p in self.other_subjects)
        return names_other and not any(self.normalizer.contains(words, p) for p in self.cooperative_terms)

    def weight(self, term: str) -> float:
        parts = term.split("_")
        if all(p in self.stopwords for p in parts):
            factor = STOPWORD_WEIGHT
        elif len(parts) == 2:
            factor = 0.9
        else:
            factor = 1.0
        return factor * self.idf.get(term, self.max_idf)

    def candidates(self, query: Query, limit: int = 60) -> set[int]:
        content = [t for t in dict.fromkeys(query.tokens) if t not in self.stopwords] or query.tokens
        if not content:
            return set()
        match = " OR ".join(f'"{t}"' for t in content)
        sql = (
            "select phrasings.item from phrasings join phrasings_fts "
            "on phrasings.rowid = phrasings_fts.rowid where phrasings_fts match ? "
            "order by bm25(phrasings_fts) limit ?"
        )
        return {row[0] for row in self.db.execute(sql, [match, limit]).fetchall()}

    def search(self, text: str, province: str | None = None, limit: int = 5) -> list[Candidate]:
        """Ranked candidates for `text`, best first. Province-scoped entries only for their province."""
        query = self.parse(text)
        if not query.tokens:
            return []
        scope = {fold(p) for p in self.kb.province_scope(province)} | self.provinces_named(text)
        q_weight = {t: self.weight(t) for t in query.terms}
        q_total = sum(q_weight.values()) or 1.0
        q_string = " ".join(query.tokens)
        results: list[Candidate] = []
        for idx in self.candidates(query):
            item = self.items[idx]
            if item.province and item.province not in scope:
                continue
            score, phrasing, coverage = self._score(item, q_weight, q_total, q_string)
            if item.province:
                score = min(1.0, score + 0.04)  # the member's own province is the more specific answer
            results.append(Candidate(item.kind, item.key, round(score, 4), phrasing, round(coverage, 4)))
        results.sort(key=lambda c: c.score, reverse=True)
        return _dedupe(results)[:limit]

    def _score(
        self, item: Item, q_weight: dict[str, float], q_total: float, q_string: str
    ) -> tuple[float, str, float]:
        union: set[str] = set()
        best, best_phrasing = 0.0, ""
        for p in item.phrasings:
            p_terms = _terms(p)
            union |= p_terms
            matched = sum(w for t, w in q_weight.items() if t in p_terms)
            recall = matched / q_total
            p_total = sum(self.weight(t) for t in p_terms) or 1.0
            precision = min(1.0, matched / p_total)
            similarity = fuzz.token_set_ratio(q_string, " ".join(p)) / 100
            ratio = fuzz.ratio(q_string, " ".join(p)) / 100
            score = 0.45 * recall + 0.2 * precision + 0.2 * similarity + 0.15 * ratio
            if score > best:
                best, best_phrasing = score, " ".join(p)
        item_recall = sum(w for t, w in q_weight.items() if t in union) / q_total
        return 0.85 * best + 0.15 * item_recall, best_phrasing, item_recall


def _dedupe(results: list[Candidate]) -> list[Candidate]:
    seen: set[tuple[str, str]] = set()
    out = []
    for c in results:
        key = (c.kind, c.key if c.kind != OUT_OF_SCOPE else OUT_OF_SCOPE)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out
