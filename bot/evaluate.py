"""Accuracy on question sets (format: tests/eval/README.md), per set, guarded by a committed baseline.

A case is one message with one or more parts (a long message may ask two or three things); each part lists
acceptable targets. A part is right at top-1 when the bot's first answer for the message, or its answer to
one of the message's parts, meets a target; top-3 also counts the alternatives offered ("did you mean").
"""

from __future__ import annotations

import json
import statistics
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.kb.model import doc_key

Answer = dict[str, Any]
Ask = Callable[[str, str | None], Answer]


@dataclass(frozen=True)
class Part:
    ask: str
    expect: list[dict[str, Any]]

    @property
    def target_kind(self) -> str:
        first = self.expect[0] if self.expect else {}
        if "kind" in first:
            return "unknown"
        if "intent" in first:
            return "intent"
        return "doc"


@dataclass(frozen=True)
class Case:
    id: str
    q: str
    parts: list[Part]
    province: str | None = None
    history: bool = False  # the member asked about the 2012 law: the old rule must come first
    referral: str | None = None  # out of scope: the office the member should be sent to

    @property
    def expect(self) -> list[dict[str, Any]]:
        return self.parts[0].expect

    @property
    def out_of_scope(self) -> bool:
        return all(p.target_kind == "unknown" for p in self.parts)


@dataclass
class Result:
    case: Case
    answer: Answer
    top1: list[bool]  # one per part
    top3: list[bool]

    @property
    def all_top1(self) -> bool:
        return all(self.top1)


def _rate(hits: Iterable[bool]) -> float | None:
    values = list(hits)
    return round(sum(values) / len(values), 4) if values else None


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)

    def _parts(self, kind: str | None = None) -> list[tuple[bool, bool]]:
        return [(t1, t3) for r in self.results for p, t1, t3 in zip(r.case.parts, r.top1, r.top3, strict=True)
                if kind is None or p.target_kind == kind]

    @property
    def top1(self) -> float:
        return _rate(t1 for t1, _ in self._parts()) or 0.0

    @property
    def top3(self) -> float:
        return _rate(t3 for _, t3 in self._parts()) or 0.0

    @property
    def out_of_scope_unknown(self) -> float:
        return _rate(t1 for t1, _ in self._parts("unknown")) or 0.0

    @property
    def in_scope_false_unknown(self) -> float:
        rows = [r for r in self.results if not r.case.out_of_scope]
        return _rate(r.answer["kind"] == "unknown" for r in rows) or 0.0

    def summary(self) -> dict[str, Any]:
        in_scope = [r for r in self.results if not r.case.out_of_scope]
        oos = [r for r in self.results if r.case.out_of_scope]
        multi = [r for r in in_scope if len(r.case.parts) > 1]
        with_referral = [r for r in oos if r.case.referral and r.case.referral != "none"]
        asked_history = [r for r in in_scope if r.case.history]
        answered = [r for r in in_scope if r.answer["kind"] == "answer"]
        words = sorted(int(r.answer.get("first_words") or 0) for r in answered)
        by_kind = {}
        for kind in ("doc", "intent", "unknown"):
            rows = self._parts(kind)
            if rows:
                by_kind[kind] = {"n": len(rows), "top1": _rate(t1 for t1, _ in rows),
                                 "top3": _rate(t3 for _, t3 in rows)}
        return {
            "n": len(self.results),
            "parts": len(self._parts()),
            "top1": round(self.top1, 4),
            "top3": round(self.top3, 4),
            "in_scope_top1": _rate(t1 for t1, _ in self._parts("doc") + self._parts("intent")),
            "out_of_scope_unknown": round(self.out_of_scope_unknown, 4),
            "in_scope_answered_unknown": round(self.in_scope_false_unknown, 4),
            "all_parts_top1": _rate(r.all_top1 for r in multi),
            "referral_right": _rate(r.answer.get("referral") == r.case.referral for r in with_referral),
            "tickets_for_out_of_scope": sum(bool(r.answer.get("ticket")) for r in oos),
            "history_first": _rate(bool(r.answer.get("history_first")) for r in asked_history),
            "first_words_median": statistics.median(words) if words else None,
            "first_words_p90": words[min(len(words) - 1, int(len(words) * 0.9))] if words else None,
            "repealed_first": sum(bool(r.answer.get("repealed_first")) for r in answered if not r.case.history),
            "by_target": by_kind,
        }


def read_cases(path: str | Path) -> list[Case]:
    cases = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if "parts" in row:
                parts = [Part(str(p.get("ask", "")), list(p["expect"])) for p in row["parts"]]
            else:
                parts = [Part(row["q"], list(row["expect"]))]
            if not parts or not all(p.expect for p in parts):
                raise KeyError("expect")
            cases.append(Case(str(row.get("id", n)), str(row["q"]), parts, row.get("province"),
                              bool(row.get("history")), row.get("referral")))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path}:{n}: not a question line ({exc})") from exc
    return cases


def _cites(citations: Iterable[dict[str, Any]], target: dict[str, Any]) -> bool:
    for c in citations:
        same_doc = doc_key(c["doc"]) == doc_key(target["doc"])
        if same_doc and (target.get("article") is None or c.get("article") == target["article"]):
            return True
    return False


def meets(answer: Answer, target: dict[str, Any], include_alternatives: bool) -> bool:
    """Whether one answer (the message's, or one part's) meets one target."""
    if "kind" in target:
        return answer["kind"] == target["kind"]
    if "intent" in target:
        return answer["kind"] == "intent" and answer.get("intent") == target["intent"]
    if answer["kind"] == "answer" and _cites(answer.get("citations") or [], target):
        return True
    if include_alternatives and answer["kind"] in ("answer", "clarify"):
        return any(_cites(a.get("citations") or [], target) for a in answer.get("alternatives") or [])
    return False


def _part_hit(answer: Answer, part: Part, include_alternatives: bool) -> bool:
    if part.target_kind == "unknown":  # the whole message must be declined, not one part of it
        return meets(answer, part.expect[0], False)
    answers = [answer, *(answer.get("parts") or [])]
    return any(meets(a, t, include_alternatives) for a in answers for t in part.expect)


def evaluate(cases: list[Case], ask: Ask) -> Report:
    """`ask(question, province)` returns the JSON answer of `htx-bot ask --json`."""
    report = Report()
    for case in cases:
        answer = ask(case.q, case.province)
        top1 = [_part_hit(answer, p, False) for p in case.parts]
        top3 = [t or _part_hit(answer, p, True) for t, p in zip(top1, case.parts, strict=True)]
        report.results.append(Result(case, answer, top1, top3))
    return report


# --- question sets and the baseline ---------------------------------------------------------------


@dataclass(frozen=True)
class QuestionSet:
    name: str
    files: list[Path]
    role: str  # "tuning" (thresholds and phrasings may be adjusted on it) or "reported" (measured only)
    about: str


@dataclass(frozen=True)
class SetsFile:
    sets: list[QuestionSet]
    tolerance: float
    guarded: tuple[str, ...]


def read_sets(path: str | Path) -> SetsFile:
    """tests/eval/sets.toml: which files form which set, and what the baseline guard compares."""
    path = Path(path)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    root = path.parent
    sets = []
    for name, spec in data["sets"].items():
        files = sorted(f for pattern in spec["files"] for f in root.glob(pattern))
        if not files:
            raise ValueError(f"{path}: set {name!r}: no file matches {spec['files']}")
        sets.append(QuestionSet(name, files, spec.get("role", "reported"), spec.get("about", "")))
    return SetsFile(sets, float(data.get("tolerance", 0.02)), tuple(data.get("guarded", ("top1", "top3"))))


def run_sets(sets: SetsFile, ask: Ask) -> dict[str, dict[str, Any]]:
    figures = {}
    for qs in sets.sets:
        cases = [c for f in qs.files for c in read_cases(f)]
        figures[qs.name] = evaluate(cases, ask).summary()
    return figures


def compare(figures: dict[str, dict[str, Any]], baseline: dict[str, dict[str, Any]], sets: SetsFile
            ) -> list[str]:
    """Drops beyond the tolerance, one line each; [] means the baseline holds."""
    problems = []
    for name, now in figures.items():
        before = baseline.get(name)
        if before is None:
            continue
        for key in sets.guarded:
            old, new = before.get(key), now.get(key)
            if old is None or new is None:
                continue
            if key in COUNTS:
                worse = new > old
            elif key in LOWER_IS_BETTER:
                worse = new > old + sets.tolerance
            else:
                worse = new < old - sets.tolerance
            if worse:
                problems.append(f"{name}: {key} {new} (baseline {old}, tolerance {sets.tolerance})")
    return problems


LOWER_IS_BETTER = frozenset({"in_scope_answered_unknown"})
COUNTS = frozenset({"repealed_first", "tickets_for_out_of_scope"})  # bad things counted: no increase at all
