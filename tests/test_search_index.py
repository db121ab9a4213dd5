"""The precomputed, inverted-index search gives the same results as the algorithm it replaced.

`ReferenceSearcher` below is a copy of the previous algorithm: candidates from SQLite FTS5 ordered by
bm25(), and every candidate phrasing re-split and re-weighted per query. Both run on the shipped
knowledge base over a few hundred real questions; the top three must be the same items with the same
scores, and the candidate sets the same.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest
import sqlite_utils
from rapidfuzz import fuzz

from bot.kb.model import KnowledgeBase
from bot.search import Candidate, Item, Query, Searcher, _dedupe
from bot.search_score import Bounds, QueryWeights, terms_of, total
from bot.textnorm import fold

# Slow (the former algorithm over hundreds of questions): run by .ci/run with -m equivalence, not make test.
pytestmark = pytest.mark.equivalence

TESTS = Path(__file__).parent


class ReferenceSearcher(Searcher):
    """The search before the inverted index, kept verbatim where it differs."""

    def __init__(self, kb: KnowledgeBase):
        super().__init__(kb)
        self.db = sqlite_utils.Database(sqlite3.connect(":memory:"))
        rows = [{"item": i, "text": " ".join(p)} for i, item in enumerate(self.items) for p in item.phrasings]
        table = self.db.table("phrasings")
        table.insert_all(rows)
        table.enable_fts(["text"], tokenize="unicode61 remove_diacritics 2")

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
            score, phrasing, coverage = self._old_score(item, q_weight, q_total, q_string)
            if item.province:
                score = min(1.0, score + 0.04)
            results.append(Candidate(item.kind, item.key, round(score, 4), phrasing, round(coverage, 4)))
        results.sort(key=lambda c: c.score, reverse=True)
        return _dedupe(results)[:limit]

    def _old_score(self, item: Item, q_weight: dict[str, float], q_total: float, q_string: str
                   ) -> tuple[float, str, float]:
        union: set[str] = set()
        best, best_phrasing = 0.0, ""
        for p in item.phrasings:
            p_terms = terms_of(p)
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


def _questions() -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    files = sorted((TESTS / "questions").glob("*.jsonl")) + sorted(TESTS.glob("blind*/*.jsonl"))
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out.append((row["q"], row.get("province")))
    return out


QUESTIONS = _questions()


@pytest.fixture(scope="module")
def pair(shipped_kb):
    return Searcher(shipped_kb), ReferenceSearcher(shipped_kb)


def test_enough_questions_to_compare():
    assert len(QUESTIONS) >= 300


def test_same_candidates_as_fts(pair):
    new, old = pair
    for q, _ in QUESTIONS:
        query = new.parse(q)
        assert new.candidates(query) == old.candidates(query), q
        assert new.candidates(query, limit=5) == old.candidates(query, limit=5), q


@pytest.fixture(scope="module")
def reference_results(pair):
    """The old algorithm's 40 best for every question, in its own province and in none (the old
    search cut its one ranking at `limit`, so the top k of these are its answer for limit k)."""
    _, old = pair
    return {(q, prov): old.search(q, province=prov, limit=40)
            for q, province in QUESTIONS for prov in dict.fromkeys([province, None])}


def test_same_results_as_the_old_scorer(pair, reference_results):
    new, _ = pair
    for (q, prov), want in reference_results.items():
        got = new.search(q, province=prov, limit=40)
        assert [c.key for c in got[:3]] == [c.key for c in want[:3]], q
        for a, b in zip(got, want, strict=True):
            assert a.key == b.key and abs(a.score - b.score) < 1e-6, (q, a, b)
            assert abs(a.coverage - b.coverage) < 1e-6 and a.phrasing == b.phrasing, (q, a, b)
    assert len(reference_results) >= 300


def test_typos_junk_and_empty_queries_agree(pair):
    new, old = pair
    for q in ["", "?!", "🙂", "thanh vein htx gop von toi da bao nhieu", "a " * 300, "xin chao " * 200,
              "dieu 17 luat htx 2012", "HTX HTX HTX"]:
        assert new.search(q) == old.search(q), q


def test_pruned_scoring_reports_the_first_best_phrasing(pair):
    """Skipping phrasings whose bound cannot win must not change which phrasing is reported: the best,
    and the first of equals, as a plain loop over every phrasing finds."""
    new, _ = pair
    checked = 0
    for text, _ in QUESTIONS[:80]:
        query = new.parse(text)
        q = QueryWeights.of(query.terms, query.tokens, new.weight)
        for idx in new.candidates(query):
            union = new._prepared[idx].union
            common = q.ordered(union)
            bounds = Bounds.of(new._prepared[idx], q, common, total(q, common) / q.total)
            best, phrasing = bounds.best(q)
            scores = []
            for p in new._prepared[idx].phrasings:
                matched = sum(w for t, w in q.weight.items() if t in p.terms)
                recall, precision = matched / q.total, min(1.0, matched / p.total)
                similarity = fuzz.token_set_ratio(q.text, p.text) / 100
                ratio = fuzz.ratio(q.text, p.text) / 100
                scores.append(0.45 * recall + 0.2 * precision + 0.2 * similarity + 0.15 * ratio)
            assert all(scores[n] <= bound for bound, n, *_ in bounds.rows)
            assert all(score <= 0.35 + 1e-9 for n, score in enumerate(scores)
                       if n not in {r[1] for r in bounds.rows})
            if max(scores) > 0:
                assert best == max(scores)
                assert phrasing == new._prepared[idx].phrasings[scores.index(max(scores))].text
                checked += 1
    assert checked > 500


def test_search_stops_early_without_changing_the_top(pair, reference_results):
    """With a small limit most candidates are never fully scored; the first results must still be those
    of scoring them all (the reference scores them all)."""
    new, _ = pair
    for (q, prov), want in list(reference_results.items())[::2]:
        for limit in (1, 3, 6):
            assert new.search(q, prov, limit=limit) == want[:limit], q


def test_same_candidates_as_fts_on_a_ten_times_larger_knowledge_base(shipped_kb):
    """Recombined phrasings make many equal BM25 scores: ties must still go to the earlier phrasing."""
    sys.path.insert(0, str(TESTS.parent))
    try:
        from bench.synthetic import enlarge
    finally:
        sys.path.remove(str(TESTS.parent))
    big = Searcher(enlarge(shipped_kb, 10))
    db = sqlite_utils.Database(sqlite3.connect(":memory:"))
    table = db.table("phrasings")
    table.insert_all({"item": i, "text": " ".join(p)} for i, item in enumerate(big.items) for p in item.phrasings)
    table.enable_fts(["text"], tokenize="unicode61 remove_diacritics 2")
    sql = ("select phrasings.item from phrasings join phrasings_fts on phrasings.rowid = phrasings_fts.rowid "
           "where phrasings_fts match ? order by bm25(phrasings_fts) limit ?")
    for text, _ in QUESTIONS[::4]:
        query = big.parse(text)
        content = [t for t in dict.fromkeys(query.tokens) if t not in big.stopwords] or query.tokens
        if content:
            match = " OR ".join(f'"{t}"' for t in content)
            want = {row[0] for row in db.execute(sql, [match, 60]).fetchall()}
            assert big.candidates(query) == want, text
