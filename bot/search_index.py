"""Candidate search: BM25 over phrasings, from an in-memory inverted index.

It ranks as SQLite FTS5's bm25() did when candidates came from an FTS5 table (same formula, same order of
operations, ties to the earlier phrasing), so the candidates are the same; each posting's contribution
is computed once when the index is built, and a query only adds numbers up — and skips the long
postings of common words once they can no longer change the top rows.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Sequence

# BM25 parameters of FTS5's bm25().
K1, B = 1.2, 0.75


class Bm25Index:
    """Phrasings (token lists), each belonging to an item; `top_items()` ranks them for a query."""

    def __init__(self, rows: Sequence[tuple[int, Sequence[str]]]):
        # Rows numbered from 1, like the FTS5 table this replaces.
        self._row_item = [-1] + [item for item, _ in rows]
        lengths = [len(p) for _, p in rows]
        n_rows = len(rows)
        tf: dict[str, list[tuple[int, int]]] = {}
        for row, (_, p) in enumerate(rows, start=1):
            counts = Counter(p).items() if len(set(p)) < len(p) else ((term, 1) for term in p)
            for term, count in counts:
                tf.setdefault(term, []).append((row, count))
        avgdl = sum(lengths) / n_rows if n_rows else 0.0
        # FTS5: idf = log((N - hits + 0.5) / (hits + 0.5)), at least 1e-6; a row's score for a term is
        # idf * (f * (k1 + 1)) / (f + k1 * (1 - b + b * D / avgdl)), the length part the same for every term.
        norm = [0.0] + [K1 * (1 - B + B * d / avgdl) for d in lengths]
        self._postings: dict[str, dict[int, float]] = {}
        self._ceiling: dict[str, float] = {}  # a term's largest contribution to any row
        for term, hits in tf.items():
            idf = math.log((n_rows - len(hits) + 0.5) / (len(hits) + 0.5))
            if idf <= 0.0:
                idf = 1e-6
            postings = {row: idf * ((f * (K1 + 1.0)) / (f + norm[row])) for row, f in hits}
            self._postings[term] = postings
            self._ceiling[term] = max(postings.values())

    def top_items(self, words: Sequence[str], limit: int) -> set[int]:
        """Items of the `limit` phrasings with the best BM25 score for any of `words` (distinct, in
        query order); of equal scores, the earlier phrasings."""
        terms = [t for t in words if t in self._postings]
        if not terms or limit <= 0:
            return set()
        rows = self._top_rows(terms, limit)
        # FTS5 summed a row's score over the query's words in query order; so does this, to rank equals alike.
        lists = [self._postings[t] for t in terms]
        scores = {row: sum_in_order(row, lists) for row in rows}
        best = heapq.nsmallest(limit, scores, key=lambda row: (-scores[row], row))
        return {self._row_item[row] for row in best}

    def best_item(self, words: Sequence[str]) -> int | None:
        """The item of the single best phrasing by BM25 alone (a second opinion beside the re-ranker)."""
        terms = [t for t in words if t in self._postings]
        if not terms:
            return None
        lists = [self._postings[t] for t in terms]
        scores = {row: sum_in_order(row, lists) for row in self._top_rows(terms, 1)}
        best = min(scores, key=lambda row: (-scores[row], row), default=None)
        return None if best is None else self._row_item[best]

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
            if not closed:
                get = partial.get
                for row, part in postings.items():
                    partial[row] = get(row, 0.0) + part
            elif len(postings) < len(partial):
                for row, part in postings.items():
                    if row in partial:
                        partial[row] += part
            else:
                for row in partial:
                    found = postings.get(row)
                    if found is not None:
                        partial[row] += found
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


def sum_in_order(row: int, lists: list[dict[int, float]]) -> float:
    """A row's BM25 score: its contributions added in query order, as FTS5 adds them."""
    score = 0.0
    for postings in lists:
        part = postings.get(row)
        if part is not None:
            score += part
    return score
