"""Vietnamese-aware search over entry and intent phrasings.

Two stages, because each is good at one thing:
1. An in-memory inverted index over folded, abbreviation-expanded phrasings finds candidates: BM25 as
   SQLite FTS5 computes it (same formula, same order of operations, so the same candidates), with each
   posting's contribution computed once at index time; a query only adds numbers up.
2. A re-ranker scores each candidate item against the question: IDF-weighted overlap of words and
   word pairs (Vietnamese words are often two syllables, "thành viên", so pairs matter), plus
   rapidfuzz similarity, which forgives typos and word order.

Everything about a phrasing that does not depend on the question (its term set, the total weight
of its terms, its joined text) is computed once when the index is built, so a query does no string
splitting or weighting per candidate.

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.kb.model import KnowledgeBase
from bot.textnorm import Normalizer, Token, fold, tokens, toned_tokens

ENTRY, INTENT, OUT_OF_SCOPE = "entry", "intent", "out_of_scope"
STOPWORD_WEIGHT = 0.15
# BM25 parameters of SQLite FTS5's bm25(), which chose candidates before this index replaced it.
_K1, _B = 1.2, 0.75


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


@dataclass(frozen=True)
class _Phrase:
    """A phrase to find in messages, and its folded syllables: all of them must be present for it to match."""

    text: str
    syllables: frozenset[str]

    @classmethod
    def of(cls, text: str) -> _Phrase:
        return cls(text, frozenset(fold(w) for w in toned_tokens(text)))


@dataclass(frozen=True)
class _Phrasing:
    """One phrasing as scoring sees it, prepared at index time."""

    terms: frozenset[str]
    total: float  # sum of the weights of `terms`, or 1.0 when that is zero
    text: str  # tokens joined by spaces, as the fuzzy scorers compare them


@dataclass(frozen=True)
class _Prepared:
    """An item's phrasings and the union of their terms."""

    index: int  # in Searcher.items
    phrasings: tuple[_Phrasing, ...]
    union: frozenset[str]
    postings: dict[str, tuple[int, ...]]  # term → the phrasings (indices, in order) that have it


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
        self._build_statistics()
        self._build_index()

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

    def _build_index(self) -> None:
        self._known = frozenset(self.vocabulary)
        self._weights = {t: self.weight(t) for t in self.idf}
        self._prepared = [self._prepare(i, item) for i, item in enumerate(self.items)]
        # One row per phrasing, numbered from 1 like the FTS5 table it replaces (ties go to the lower row).
        rows = [(i, p) for i, item in enumerate(self.items) for p in item.phrasings]
        self._row_item = [-1] + [i for i, _ in rows]
        lengths = [len(p) for _, p in rows]
        n_rows = len(rows)
        tf: dict[str, list[tuple[int, int]]] = {}
        for row, (_, p) in enumerate(rows, start=1):
            for term, count in Counter(p).items():
                tf.setdefault(term, []).append((row, count))
        avgdl = sum(lengths) / n_rows if n_rows else 0.0
        # FTS5: idf = log((N - hits + 0.5) / (hits + 0.5)), at least 1e-6; a row's score for a term is
        # idf * (f * (k1 + 1)) / (f + k1 * (1 - b + b * D / avgdl)). Computed here once per posting.
        self._postings: dict[str, dict[int, float]] = {}
        self._ceiling: dict[str, float] = {}  # a term's largest contribution to any row
        for term, hits in tf.items():
            idf = math.log((n_rows - len(hits) + 0.5) / (len(hits) + 0.5))
            if idf <= 0.0:
                idf = 1e-6
            postings = {
                row: idf * ((f * (_K1 + 1.0)) / (f + _K1 * (1 - _B + _B * lengths[row - 1] / avgdl)))
                for row, f in hits
            }
            self._postings[term] = postings
            self._ceiling[term] = max(postings.values())

    def _prepare(self, index: int, item: Item) -> _Prepared:
        phrasings = []
        union: set[str] = set()
        postings: dict[str, list[int]] = {}
        for n, p in enumerate(item.phrasings):
            p_terms = _terms(p)
            union |= p_terms
            total = sum(self._weights[t] for t in p_terms) or 1.0
            phrasings.append(_Phrasing(frozenset(p_terms), total, " ".join(p)))
            for t in p_terms:
                postings.setdefault(t, []).append(n)
        return _Prepared(index, tuple(phrasings), frozenset(union), {t: tuple(ns) for t, ns in postings.items()})

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
        terms = [t for t in content if t in self._postings]
        if not terms or limit <= 0:
            return set()
        rows = self._top_rows(terms, limit)
        # FTS5 summed a row's score over the query's words in query order; so does this, to rank equals alike.
        lists = [self._postings[t] for t in terms]
        scores = {row: sum_in_order(row, lists) for row in rows}
        best = heapq.nsmallest(limit, scores, key=lambda row: (-scores[row], row))
        return {self._row_item[row] for row in best}

    def _top_rows(self, terms: list[str], limit: int) -> Iterable[int]:
        """Rows that may be among the `limit` best, found without walking every common word's postings.

        Rare words (high ceilings) go first. Once `limit` rows have partial scores above what the words
        still to come could add at most, no unseen row can catch up, and a seen row that cannot reach the
        `limit`-th partial score is dropped; the remaining words then only top up the rows still in play.
        Partial scores only grow, so the `limit`-th partial score is a floor for the final one.
        """
        order = sorted(terms, key=lambda t: -self._ceiling[t])
        rest = [0.0] * len(order)
        for i in range(len(order) - 2, -1, -1):
            rest[i] = rest[i + 1] + self._ceiling[order[i + 1]]
        partial: dict[int, float] = {}
        closed = False
        for i, term in enumerate(order):
            postings = self._postings[term]
            if closed:
                for row in partial:
                    part = postings.get(row)
                    if part is not None:
                        partial[row] += part
            else:
                get = partial.get
                for row, part in postings.items():
                    partial[row] = get(row, 0.0) + part
            if len(partial) <= limit:
                continue
            reach = rest[i] * (1 + 1e-9) + 1e-9  # the most a row can still gain, with room for rounding
            if reach >= max(partial.values()):
                continue  # cheap test first: the floor is no higher than the best partial score
            floor = heapq.nlargest(limit, partial.values())[-1]
            if reach < floor:
                closed = True
                partial = {row: p for row, p in partial.items() if p + reach >= floor}
        return partial

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
        q = _QueryWeights.of(query, self.weight)
        # First bound, from the item's words alone: a phrasing matches at most what the whole item
        # matches (recall ≤ item recall), precision and both fuzzy scores are at most 1.
        pending: list[tuple[float, int, int, float, list[str]]] = []
        for position, idx in enumerate(self.candidates(query)):
            item = self.items[idx]
            if item.province and item.province not in scope:
                continue
            common = q.ordered(self._prepared[idx].union)
            item_recall = _total(q, common) / q.total
            ceiling = 0.85 * (0.45 * item_recall + 0.2 + 0.2 + 0.15) + 0.15 * item_recall + 1e-9
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
            bounds = _Bounds.of(self._prepared[idx], q, common, item_recall)
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


@dataclass(frozen=True)
class _QueryWeights:
    """What scoring needs of the question: its terms' weights in term order, their total, its text."""

    weight: dict[str, float]
    total: float
    text: str
    rank: dict[str, int]  # a term's place in `weight`

    @classmethod
    def of(cls, query: Query, weight: Callable[[str], float]) -> _QueryWeights:
        q_weight = {t: weight(t) for t in query.terms}
        rank = {t: i for i, t in enumerate(q_weight)}
        return cls(q_weight, sum(q_weight.values()) or 1.0, " ".join(query.tokens), rank)

    def ordered(self, terms: frozenset[str]) -> list[str]:
        """The question's terms among `terms`, in the question's term order."""
        common = self.weight.keys() & terms
        return sorted(common, key=self.rank.__getitem__) if len(common) > 1 else list(common)

    def matched(self, terms: frozenset[str]) -> float:
        """Total weight of the question's terms among `terms`."""
        return _total(self, self.ordered(terms))


def _total(q: _QueryWeights, terms: list[str]) -> float:
    """Weights added up in the question's term order, as the scorer always has (float sums depend on
    order, and scores are compared to the fourth decimal)."""
    return sum([q.weight[t] for t in terms])


@dataclass
class _Bounds:
    """One candidate item's phrasings that share words with the question, with their word-overlap parts
    of the score and an upper bound of the whole score; phrasings sharing no word come last."""

    item: _Prepared
    rows: list[tuple[float, int, float, float]]  # (bound, phrasing index, recall, precision), best bound first
    item_recall: float
    q_length: int

    @classmethod
    def of(cls, item: _Prepared, q: _QueryWeights, common: list[str], item_recall: float) -> _Bounds:
        shared: dict[int, list[float]] = {}
        for t in common:  # in question order, so each phrasing's weights are listed in that order
            w = q.weight[t]
            for n in item.postings[t]:
                if n in shared:
                    shared[n].append(w)
                else:
                    shared[n] = [w]
        rows = []
        q_length = len(q.text)
        for n, weights in shared.items():
            p = item.phrasings[n]
            matched = sum(weights)
            recall = matched / q.total
            precision = min(1.0, matched / p.total)
            bound = 0.45 * recall + 0.2 * precision + 0.2 + 0.15 * _ratio_ceiling(q_length, len(p.text)) + 1e-9
            rows.append((bound, n, recall, precision))
        rows.sort(key=lambda r: -r[0])
        return cls(item, rows, item_recall, q_length)

    @property
    def ceiling(self) -> float:
        """No score of this item can be higher (0.85 · best phrasing + 0.15 · item recall); a phrasing
        sharing no word scores at most 0.35."""
        best = max(self.rows[0][0] if self.rows else 0.0, 0.35 + 1e-9)
        return 0.85 * best + 0.15 * self.item_recall + 1e-9

    def best(self, q: _QueryWeights) -> tuple[float, str]:
        """The best phrasing's score and text; of equal scores, the first phrasing's."""
        best, best_n, best_text = 0.0, -1, ""
        for bound, n, recall, precision in self.rows:
            if bound < best:
                break
            best, best_n, best_text = _better(q, self.item.phrasings[n].text, n, recall, precision,
                                              best, best_n, best_text)
        if best <= 0.35 + 1e-9:
            seen = {n for _, n, _, _ in self.rows}
            for n, p in enumerate(self.item.phrasings):
                if n not in seen and 0.2 + 0.15 * _ratio_ceiling(self.q_length, len(p.text)) + 1e-9 >= best:
                    best, best_n, best_text = _better(q, p.text, n, 0.0, 0.0, best, best_n, best_text)
        return best, best_text


def _ratio_ceiling(a: int, b: int) -> float:
    """fuzz.ratio / 100 is at most 2·min/(a + b): an insertion/deletion distance is at least the difference
    in length."""
    return 2 * min(a, b) / (a + b) if a + b else 1.0


def _better(q: _QueryWeights, text: str, n: int, recall: float, precision: float,
            best: float, best_n: int, best_text: str) -> tuple[float, int, str]:
    """Phrasing `n` scored in full; it replaces the best so far if higher, or equal and earlier."""
    similarity = fuzz.token_set_ratio(q.text, text) / 100
    ratio = fuzz.ratio(q.text, text) / 100
    score = 0.45 * recall + 0.2 * precision + 0.2 * similarity + 0.15 * ratio
    if score > best or (score == best and 0 <= n < best_n):
        return score, n, text
    return best, best_n, best_text


def sum_in_order(row: int, lists: list[dict[int, float]]) -> float:
    """A row's BM25 score: its contributions added in query order, as FTS5 adds them."""
    score = 0.0
    for postings in lists:
        part = postings.get(row)
        if part is not None:
            score += part
    return score


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
