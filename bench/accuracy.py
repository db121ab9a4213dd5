"""The engine against two plain baselines on the same question sets, in the same process.

Both baselines rank every phrasing (entry titles and questions, intent and out-of-scope phrasings),
normalised by the knowledge base's own normaliser, so what differs is the ranking, not the text
handling: rapidfuzz takes the phrasing with the best token_set_ratio, BM25 (the `bm25s` package) the
best-scoring one. The best phrasing's item is the answer: an entry is answered with its citations, an
intent as that intent, an out-of-scope phrasing as "unknown". Neither ever declines otherwise, which is
the point of comparison: knowing when not to answer is part of the engine's accuracy.

The figures that must hold are per evaluation set (tests/eval/sets.toml: the sets `make eval` reports,
each as its people wrote it, in-scope and out-of-scope questions together). The per-file table is printed
too, for information: on a file of in-scope questions only, declining is never rewarded and committing
never punished, so a baseline that always commits can lead there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from bench.report import Figure, percentile
from bot.cli import answer_json
from bot.engine import Engine
from bot.evaluate import Answer, Case, evaluate, read_cases, read_sets
from bot.kb.model import KnowledgeBase
from bot.search import ENTRY, INTENT, Searcher

ROOT = Path(__file__).resolve().parent.parent


def question_sets() -> list[Path]:
    tests = ROOT / "tests"
    return ([tests / "eval" / "dev.jsonl", *sorted((tests / "questions").glob("*.jsonl")),
             *sorted(tests.glob("blind*/*.jsonl"))])


@dataclass(frozen=True)
class Phrasings:
    """Every phrasing in search's normal form, with the item it belongs to."""

    texts: list[str]
    tokens: list[list[str]]
    owners: list[tuple[str, str]]  # (kind, key)

    @classmethod
    def of(cls, searcher: Searcher) -> Phrasings:
        rows = [(" ".join(p), list(p), (item.kind, item.key)) for item in searcher.items for p in item.phrasings]
        return cls([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])


def _answer(kb: KnowledgeBase, owner: tuple[str, str]) -> Answer:
    kind, key = owner
    if kind == ENTRY:
        return {"kind": "answer", "citations": [c.as_dict() for c in kb.entries[key].citations]}
    if kind == INTENT:
        return {"kind": "intent", "intent": key}
    return {"kind": "unknown"}


class RapidfuzzBaseline:
    def __init__(self, kb: KnowledgeBase, phrasings: Phrasings):
        self.kb, self.p, self.normalizer = kb, phrasings, kb.normalizer

    def __call__(self, question: str, province: str | None) -> Answer:
        query = " ".join(self.normalizer(question))
        best = process.extractOne(query, self.p.texts, scorer=fuzz.token_set_ratio)
        return _answer(self.kb, self.p.owners[best[2]]) if best else {"kind": "unknown"}


class BM25Baseline:
    def __init__(self, kb: KnowledgeBase, phrasings: Phrasings):
        import bm25s  # type: ignore[import-untyped]  # the `bench` extra, untyped

        self.kb, self.p, self.normalizer = kb, phrasings, kb.normalizer
        self.index = bm25s.BM25()
        self.index.index(phrasings.tokens, show_progress=False)
        self.vocabulary = set(self.index.vocab_dict)

    def __call__(self, question: str, province: str | None) -> Answer:
        query = [t for t in self.normalizer(question) if t in self.vocabulary]
        if not query:
            return {"kind": "unknown"}
        scores = self.index.get_scores(query)
        best = int(scores.argmax())
        return _answer(self.kb, self.p.owners[best]) if scores[best] > 0 else {"kind": "unknown"}


Ask = Callable[[str, str | None], Answer]


def _timed(ask: Ask, times: list[float]) -> Ask:
    def timed(question: str, province: str | None) -> Answer:
        start = time.perf_counter()
        answer = ask(question, province)
        times.append(1000 * (time.perf_counter() - start))
        return answer

    return timed


def compare(kb: KnowledgeBase, engine: Engine) -> tuple[list[str], list[Figure]]:
    """Top-1 accuracy and median latency per evaluation set and system, with one PASS/FAIL figure per set
    (the engine's lead over the better baseline, in points; it must be above 0); then the same per file."""
    phrasings = Phrasings.of(engine.searcher)
    systems: dict[str, Ask] = {
        "engine": lambda q, p: answer_json(engine, q, p),
        "rapidfuzz": RapidfuzzBaseline(kb, phrasings),
        "bm25s": BM25Baseline(kb, phrasings),
    }
    header = ["  ".join(f"{name:>22}" for name in systems),
              "  ".join(f"{'top-1   p50 ms  p99 ms':>22}" for _ in systems)]
    sets = read_sets(ROOT / "tests" / "eval" / "sets.toml")
    lines = ["per evaluation set (tests/eval/sets.toml; the engine must lead on each)",
             f"{'set':<32} {'n':>4}  {header[0]}", f"{'':<32} {'':>4}  {header[1]}"]
    figures = []
    for qs in sets.sets:
        cases = [c for f in qs.files for c in read_cases(f)]
        row = _row(systems, cases)
        lines.append(_line(f"{qs.name} ({qs.role})", len(cases), row))
        lead = row["engine"][0] - max(row["rapidfuzz"][0], row["bm25s"][0])
        figures.append(Figure(f"engine top-1 lead over best baseline, set {qs.name}", lead, "points", "accuracy",
                              at_least=1e-9))
    lines += ["", "per file (information: in-scope-only files never reward declining)",
              f"{'file':<32} {'n':>4}  {header[0]}", f"{'':<32} {'':>4}  {header[1]}"]
    for path in question_sets():
        cases = read_cases(path)
        row = _row(systems, cases)
        lead = row["engine"][0] - max(row["rapidfuzz"][0], row["bm25s"][0])
        note = "" if lead > 0 else f"   (engine behind by {-lead:.1f} points)"
        lines.append(_line(str(path.relative_to(ROOT / "tests")), len(cases), row) + note)
    return lines, figures


def _row(systems: dict[str, Ask], cases: Sequence[Case]) -> dict[str, tuple[float, list[float]]]:
    row: dict[str, tuple[float, list[float]]] = {}
    for name, ask in systems.items():
        times: list[float] = []
        report = evaluate(list(cases), _timed(ask, times))
        row[name] = (100 * report.top1, times)
    return row


def _line(label: str, n: int, row: dict[str, tuple[float, list[float]]]) -> str:
    cells = [f"{top1:6.1f}% {percentile(t, 50):7.2f} {percentile(t, 99):7.2f}" for top1, t in row.values()]
    return f"{label:<32} {n:>4}  " + "  ".join(f"{c:>22}" for c in cells)
