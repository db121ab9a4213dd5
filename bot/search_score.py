"""Scoring a question against candidate items, with everything about a phrasing that does not depend on
the question computed once, at index time.

An item's score is 0.85 × its best phrasing's score + 0.15 × the share of the question's weight the
whole item covers. A phrasing's score is 0.45 × recall + 0.2 × precision (IDF-weighted overlap of
words and word pairs) + 0.2 × token_set_ratio + 0.15 × ratio (rapidfuzz, which forgives typos and
word order). Word overlap is cheap and the fuzzy scores are not, so phrasings are tried best upper
bound first (their overlap with the best fuzzy scores they could have), and those that cannot win are
never fuzzy-scored.

Sums of weights are always added in the question's term order: float sums depend on order, and the
scores must stay those of the plain algorithm to the last digit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from rapidfuzz import fuzz

# A phrasing sharing no word with the question scores at most this (both fuzzy scores perfect).
NO_SHARED_WORD_CEILING = 0.2 + 0.15 + 1e-9


def bigrams(toks: Sequence[str]) -> list[str]:
    return [f"{a}_{b}" for a, b in zip(toks, toks[1:], strict=False)]


def terms_of(toks: Sequence[str]) -> set[str]:
    """A phrasing's or question's terms: its words and word pairs."""
    return set(toks) | set(bigrams(toks))


@dataclass(frozen=True)
class Phrasing:
    """One phrasing as scoring sees it, prepared at index time."""

    terms: AbstractSet[str]  # never changed after the index is built
    total: float  # sum of the weights of `terms`, or 1.0 when that is zero
    text: str  # tokens joined by spaces, as the fuzzy scorers compare them


@dataclass(frozen=True)
class PreparedItem:
    """An item's phrasings and the union of their terms."""

    phrasings: tuple[Phrasing, ...]
    union: frozenset[str]
    min_total: float  # the smallest phrasing weight total
    lengths: tuple[int, int]  # the shortest and longest phrasing text
    _postings: dict[str, list[int]] = field(default_factory=dict, compare=False, repr=False)

    def postings(self) -> dict[str, list[int]]:
        """Term → the phrasings (indices, in order) that have it. Built the first time the item is a
        candidate: most items never are for a given run, and building all of them slowed the index build."""
        if not self._postings and self.phrasings:
            postings: dict[str, list[int]] = {}
            for n, p in enumerate(self.phrasings):
                for t in p.terms:
                    postings.setdefault(t, []).append(n)
            self._postings.update(postings)  # filled in one step: a concurrent reader sees all or nothing
        return self._postings

    def ceiling(self, matched: float, item_recall: float, q_length: int) -> float:
        """No score of this item can be higher, from what the whole item shares with the question: a
        phrasing's recall is at most the item's, its precision at most `matched` over the smallest
        phrasing total, its ratio at most the length ceiling at the phrasing length closest to the
        question's, and its token_set_ratio at most 1."""
        precision = min(1.0, matched / self.min_total)
        closest = min(max(q_length, self.lengths[0]), self.lengths[1])
        best = 0.45 * item_recall + 0.2 * precision + 0.2 + 0.15 * _ratio_ceiling(q_length, closest) + 1e-9
        return 0.85 * max(best, NO_SHARED_WORD_CEILING) + 0.15 * item_recall + 1e-9


def prepare(phrasings: Sequence[Sequence[str]], terms: Sequence[set[str]], weights: dict[str, float]
            ) -> PreparedItem:
    """An item's phrasings (token lists, and the term set of each) with their weight totals and texts."""
    weight = weights.__getitem__
    prepared = tuple(
        Phrasing(p_terms, sum(map(weight, p_terms)) or 1.0, " ".join(p))
        for p, p_terms in zip(phrasings, terms, strict=True)
    )
    lengths = [len(p.text) for p in prepared] or [0]
    return PreparedItem(prepared, frozenset().union(*terms), min((p.total for p in prepared), default=1.0),
                        (min(lengths), max(lengths)))


@dataclass(frozen=True)
class QueryWeights:
    """What scoring needs of the question: its terms' weights in term order, their total, its text."""

    weight: dict[str, float]
    total: float
    text: str
    rank: dict[str, int]  # a term's place in `weight`

    @classmethod
    def of(cls, terms: Iterable[str], tokens: Sequence[str], weight: Callable[[str], float]) -> QueryWeights:
        q_weight = {t: weight(t) for t in terms}
        rank = {t: i for i, t in enumerate(q_weight)}
        return cls(q_weight, sum(q_weight.values()) or 1.0, " ".join(tokens), rank)

    def ordered(self, terms: AbstractSet[str]) -> list[str]:
        """The question's terms among `terms`, in the question's term order."""
        common = self.weight.keys() & terms
        return sorted(common, key=self.rank.__getitem__) if len(common) > 1 else list(common)


def total(q: QueryWeights, terms: list[str]) -> float:
    """Weights added up in the question's term order, as the scorer always has (float sums depend on
    order, and scores are compared to the fourth decimal)."""
    return sum([q.weight[t] for t in terms])


@dataclass
class Bounds:
    """One candidate item's phrasings that share words with the question, with their word-overlap parts
    of the score and an upper bound of the whole score; phrasings sharing no word come last."""

    item: PreparedItem
    rows: list[tuple[float, int, float, float]]  # (bound, phrasing index, recall, precision), best bound first
    item_recall: float
    q_length: int

    @classmethod
    def of(cls, item: PreparedItem, q: QueryWeights, common: list[str], item_recall: float) -> Bounds:
        shared: dict[int, list[float]] = {}
        postings = item.postings()
        for t in common:  # in question order, so each phrasing's weights are listed in that order
            w = q.weight[t]
            for n in postings[t]:
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
        best = max(self.rows[0][0] if self.rows else 0.0, NO_SHARED_WORD_CEILING)
        return 0.85 * best + 0.15 * self.item_recall + 1e-9

    def best(self, q: QueryWeights) -> tuple[float, str]:
        """The best phrasing's score and text; of equal scores, the first phrasing's."""
        best, best_n, best_text = 0.0, -1, ""
        for bound, n, recall, precision in self.rows:
            if bound < best:
                break
            best, best_n, best_text = _better(q, self.item.phrasings[n].text, n, recall, precision,
                                              best, best_n, best_text)
        if best <= NO_SHARED_WORD_CEILING:
            seen = {n for _, n, _, _ in self.rows}
            for n, p in enumerate(self.item.phrasings):
                if n not in seen and 0.2 + 0.15 * _ratio_ceiling(self.q_length, len(p.text)) + 1e-9 >= best:
                    best, best_n, best_text = _better(q, p.text, n, 0.0, 0.0, best, best_n, best_text)
        return best, best_text


def _ratio_ceiling(a: int, b: int) -> float:
    """fuzz.ratio / 100 is at most 2·min/(a + b): an insertion/deletion distance is at least the difference
    in length."""
    return 2 * min(a, b) / (a + b) if a + b else 1.0


def _better(q: QueryWeights, text: str, n: int, recall: float, precision: float,
            best: float, best_n: int, best_text: str) -> tuple[float, int, str]:
    """Phrasing `n` scored in full; it replaces the best so far if higher, or equal and earlier.
    fuzz.ratio is the cheaper of the two: when even a perfect token_set_ratio would not do, the other
    is not computed."""
    ratio = fuzz.ratio(q.text, text) / 100
    if 0.45 * recall + 0.2 * precision + 0.2 + 0.15 * ratio + 1e-9 < best:
        return best, best_n, best_text
    similarity = fuzz.token_set_ratio(q.text, text) / 100
    score = 0.45 * recall + 0.2 * precision + 0.2 * similarity + 0.15 * ratio
    if score > best or (score == best and 0 <= n < best_n):
        return score, n, text
    return best, best_n, best_text
