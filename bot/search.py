"""Vietnamese-aware search over entry and intent phrasings.

Two stages, because each is good at one thing:
1. BM25 over folded, abbreviation-expanded phrasings finds candidates fast (`bot.search_index`: an
   in-memory inverted index that ranks as SQLite FTS5 did).
2. A re-ranker scores each candidate item against the question (`bot.search_score`): IDF-weighted
   overlap of words and word pairs (Vietnamese words are often two syllables, "thành viên", so pairs
   matter), plus rapidfuzz similarity, which forgives typos and word order. What does not depend on
   the question is computed when the index is built.

Scores are in [0, 1]; the engine turns them into answer / clarify / unknown with thresholds from config.
Typos are corrected only toward the knowledge base's own vocabulary, and only when the corrected
syllable forms a known word pair with its neighbour — Vietnamese syllables are short, and a blind
fix would turn "giá lúa" (rice price) into "giá luật".
"""

from __future__ import annotations

import functools
import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.kb.model import KnowledgeBase
from bot.search_index import Bm25Index
from bot.search_score import Bounds, QueryWeights, prepare, terms_of, total
from bot.textnorm import Normalizer, Token, fold, tokens, toned_tokens

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


@dataclass(frozen=True)
class _Phrase:
    """A phrase to find in messages, and its folded syllables: all of them must be present for it to match."""

    text: str
    syllables: frozenset[str]

    @classmethod
    def of(cls, text: str) -> _Phrase:
        return cls(text, frozenset(fold(w) for w in toned_tokens(text)))


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
        # Phrases tested against every message, with their folded syllables for a quick first test.
        self._province_names = [
            (fold(prov.name), [_Phrase.of(n) for n in (prov.name, *prov.aliases)])
            for prov in kb.provinces.values()
            if prov.name in self.provincial
        ]
        self._triggers = [
            (intent.name, [[[_Phrase.of(p) for p in group] for group in groups] for groups in intent.triggers])
            for intent in kb.intents.values()
        ]
        self._other_subjects = [_Phrase.of(p) for p in self.other_subjects]
        self._cooperative_terms = [_Phrase.of(p) for p in self.cooperative_terms]
        terms = [[terms_of(p) for p in item.phrasings] for item in self.items]
        self._build_statistics(terms)
        self._known = frozenset(self.vocabulary)
        weights = {t: self.weight(t) for t in self.idf}
        self._prepared = [prepare(item.phrasings, item_terms, weights)
                          for item, item_terms in zip(self.items, terms, strict=True)]
        self._index = Bm25Index([(i, p) for i, item in enumerate(self.items) for p in item.phrasings])

    # --- index ------------------------------------------------------------------------------------

    def _add(self, kind: str, key: str, province: str | None, texts: list[str], extra: Iterable[str] = ()) -> None:
        phrasings = [tuple(self.normalizer(t)) for t in texts]
        keywords = [tuple(self.normalizer(k)) for k in extra]
        if keywords:
            # Keywords extend the item's vocabulary but are not a question on their own.
            phrasings.append(tuple(t for k in keywords for t in k))
        self.items.append(Item(kind, key, fold(province) if province else None, tuple(p for p in phrasings if p)))

    def _build_statistics(self, terms: list[list[set[str]]]) -> None:
        """Document frequencies, an item being the document; `terms` holds each phrasing's terms."""
        df: Counter = Counter()
        for item_terms in terms:
            df.update(set().union(*item_terms))
        n = max(len(self.items), 1)
        self.idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self.max_idf = math.log(1 + n)
        self.vocabulary = sorted({t for t in df if "_" not in t})
        self.pairs = {t for t in df if "_" in t}

    # --- query --------------------------------------------------------------------------------------

    def parse(self, text: str) -> Query:
        toks = self.normalizer(text)
        corrected: dict[str, str] = {}
        fixed = list(toks)
        known = self._known
        for i, tok in enumerate(toks):
            if tok in known or tok.isdigit() or len(tok) < 3:
                continue
            best = self._correct(tok, toks, i)
            if best:
                corrected[tok] = best
                fixed[i] = best
        return Query(text=text, tokens=fixed, terms=Counter(terms_of(fixed)), corrected=corrected)

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
        present = {f for _, f in words}
        return {name for name, phrases in self._province_names if any(self._has(words, present, p) for p in phrases)}

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
        present = {f for _, f in words}
        for name, triggers in self._triggers:
            for groups in triggers:
                if all(any(self._has(words, present, p) for p in group) for group in groups):
                    return name
        return None

    def about_other_subject(self, text: str) -> bool:
        """True when the question names another kind of organisation and nothing cooperative-specific."""
        words = self.words(text)
        present = {f for _, f in words}
        names_other = any(self._has(words, present, p) for p in self._other_subjects)
        return names_other and not any(self._has(words, present, p) for p in self._cooperative_terms)

    def _has(self, words: list[Token], present: set[str], phrase: _Phrase) -> bool:
        """`Normalizer.contains`, asked only when every syllable of the phrase is among the words."""
        return phrase.syllables <= present and self.normalizer.contains(words, phrase.text)

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
        """Items of the `limit` phrasings that rank best by BM25 for any of the query's content words."""
        content = [t for t in dict.fromkeys(query.tokens) if t not in self.stopwords] or query.tokens
        return self._index.top_items(content, limit)

    def bm25_best(self, text: str) -> tuple[str, str] | None:
        """(kind, key) of the item whose phrasing BM25 alone ranks first for `text`."""
        query = self.parse(text)
        content = [t for t in dict.fromkeys(query.tokens) if t not in self.stopwords] or query.tokens
        idx = self._index.best_item(content)
        return None if idx is None else (self.items[idx].kind, self.items[idx].key)

    def search(self, text: str, province: str | None = None, limit: int = 5) -> list[Candidate]:
        """Ranked candidates for `text`, best first. Province-scoped entries only for their province.

        Word overlap is cheap and the fuzzy scores are not, so every candidate first gets an upper bound
        (its overlap with perfect fuzzy scores); candidates are then scored best bound first, and the
        rest are left out once `limit` distinct results score above any bound left: they could only
        have come after them.
        """
        query = self.parse(text)
        if not query.tokens:
            return []
        scope = {fold(p) for p in self.kb.province_scope(province)} | self.provinces_named(text)
        q = QueryWeights.of(query.terms, query.tokens, self.weight)
        # First bound, from the item's words alone (no per-phrasing work), to try the likeliest first.
        q_length = len(q.text)
        pending: list[tuple[float, int, int, float, list[str]]] = []
        for position, idx in enumerate(self.candidates(query)):
            item = self.items[idx]
            if item.province and item.province not in scope:
                continue
            prepared = self._prepared[idx]
            common = q.ordered(prepared.union)
            matched = total(q, common)
            item_recall = matched / q.total
            ceiling = prepared.ceiling(matched, item_recall, q_length)
            if item.province:
                ceiling = min(1.0, ceiling + 0.04)
            pending.append((ceiling, position, idx, item_recall, common))
        pending.sort(key=lambda p: -p[0])
        scored: list[tuple[int, Candidate]] = []
        best_by_key: dict[tuple[str, str], float] = {}
        floor = -1.0  # the limit-th best score so far, over distinct results
        for ceiling, position, idx, item_recall, common in pending:
            if floor > round(ceiling, 4):
                break
            item = self.items[idx]
            bounds = Bounds.of(self._prepared[idx], q, common, item_recall)
            tight = bounds.ceiling
            if item.province:
                tight = min(1.0, tight + 0.04)
            if floor > round(tight, 4):
                continue
            score, phrasing = bounds.best(q)
            score = 0.85 * score + 0.15 * item_recall
            if item.province:
                score = min(1.0, score + 0.04)  # the member's own province is the more specific answer
            candidate = Candidate(item.kind, item.key, round(score, 4), phrasing, round(item_recall, 4))
            scored.append((position, candidate))
            key = _dedupe_key(candidate)
            best_by_key[key] = max(best_by_key.get(key, 0.0), candidate.score)
            if len(best_by_key) >= limit:
                floor = heapq.nlargest(limit, best_by_key.values())[-1]
        # In candidate order, as before, so that equal scores keep their order.
        results = [c for _, c in sorted(scored, key=lambda pc: pc[0])]
        results.sort(key=lambda c: c.score, reverse=True)
        return _dedupe(results)[:limit]


def _dedupe_key(c: Candidate) -> tuple[str, str]:
    return c.kind, c.key if c.kind != OUT_OF_SCOPE else OUT_OF_SCOPE


def _dedupe(results: list[Candidate]) -> list[Candidate]:
    seen: set[tuple[str, str]] = set()
    out = []
    for c in results:
        key = _dedupe_key(c)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out
