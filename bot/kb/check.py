"""`htx-bot kb check`: validation errors and warnings, coverage, and near-duplicate phrasings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.kb.loader import Problem, load_with_report
from bot.kb.model import KnowledgeBase

NEAR_DUPLICATE = 92  # rapidfuzz ratio on normalised phrasings


def coverage(kb: KnowledgeBase) -> dict[str, tuple[set[int], int]]:
    """For each document with a known article count: (articles cited by some entry, article count)."""
    cited: dict[str, set[int]] = defaultdict(set)
    for entry in kb.entries.values():
        for c in entry.citations:
            if c.article:
                cited[c.doc].add(c.article)
    return {
        doc.number: (cited.get(doc.number, set()), doc.articles)
        for doc in kb.documents.values()
        if doc.articles
    }


def near_duplicates(kb: KnowledgeBase) -> list[Problem]:
    """Phrasings of different entries that search could not tell apart."""
    owners: list[str] = []
    texts: list[str] = []
    for entry in kb.entries.values():
        for q in entry.questions:
            owners.append(entry.id)
            texts.append(" ".join(kb.normalizer(q)))
    if not texts:
        return []
    problems: list[Problem] = []
    reported: set[tuple[str, str]] = set()
    pairs = (
        (i, j)
        for i, text in enumerate(texts)
        for _, _, j in process.extract(text, texts, scorer=fuzz.ratio, score_cutoff=NEAR_DUPLICATE, limit=None)
    )
    for i, j in pairs:
        if i >= j or owners[i] == owners[j]:
            continue
        a, b = owners[i], owners[j]
        entry_a, entry_b = kb.entries[a], kb.entries[b]
        if entry_a.province != entry_b.province and entry_a.province and entry_b.province:
            continue  # different provinces never compete
        if _negation_differs(texts[i], texts[j]):
            continue  # "… không góp vốn …" and "… góp vốn …": told apart by the negation (handlers/question.py)
        pair = (min(a, b), max(a, b))
        if pair in reported:
            continue
        reported.add(pair)
        problems.append(Problem(
            entry_a.file, a, "questions",
            f"near-duplicate of {b} ({entry_b.file}): {texts[i]!r} ~ {texts[j]!r}", "warning",
        ))
    return problems


NEGATORS = frozenset({"khong", "chua", "ko", "k"})


def _negation_differs(a: str, b: str) -> bool:
    """The two phrasings differ exactly by a negation word."""
    wa, wb = a.split(), b.split()
    if abs(len(wa) - len(wb)) != 1:
        return False
    longer, shorter = (wa, wb) if len(wa) > len(wb) else (wb, wa)
    return any(longer[k] in NEGATORS and longer[:k] + longer[k + 1:] == shorter for k in range(len(longer)))


def run_check(directory: str | Path | None, echo: Callable[[str], None], show_warnings: bool = True,
              overlay: str | Path | None = None) -> bool:
    kb, report = load_with_report(directory, overlay)
    problems = list(report.problems)
    if kb is not None:
        problems += near_duplicates(kb)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    for p in errors:
        echo(str(p))
    if show_warnings:
        for p in warnings:
            echo(str(p))
    if kb is not None:
        files = len({e.file for e in kb.entries.values()})
        echo(f"Entries: {len(kb.entries)} in {files} files; documents: {len(kb.documents)}; "
             f"intents: {len(kb.intents)}; provinces: {len(kb.provinces)}")
        for number, (cited, total) in coverage(kb).items():
            missing = sorted(set(range(1, total + 1)) - cited)
            line = f"Coverage {number}: {len(cited & set(range(1, total + 1)))}/{total} articles"
            if missing:
                line += f" — missing: {_ranges(missing)}"
            echo(line)
    echo(f"{len(errors)} error(s), {len(warnings)} warning(s)")
    return not errors


def _ranges(numbers: list[int]) -> str:
    out: list[str] = []
    start = prev = numbers[0]
    for n in numbers[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}–{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(out)
