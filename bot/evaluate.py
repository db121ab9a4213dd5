"""Accuracy on a question set in the format of tests/eval/dev.jsonl (see tests/eval/README.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.kb.model import doc_key


@dataclass
class Case:
    id: str
    q: str
    expect: list[dict[str, Any]]
    province: str | None = None


@dataclass
class Result:
    case: Case
    answer: dict[str, Any]
    top1: bool
    top3: bool


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)

    def _rate(self, rows: list[Result], attr: str) -> float:
        return sum(getattr(r, attr) for r in rows) / len(rows) if rows else 0.0

    @property
    def top1(self) -> float:
        return self._rate(self.results, "top1")

    @property
    def top3(self) -> float:
        return self._rate(self.results, "top3")

    def subset(self, kind: str) -> list[Result]:
        return [r for r in self.results if _target_kind(r.case) == kind]

    @property
    def out_of_scope_unknown(self) -> float:
        return self._rate(self.subset("unknown"), "top1")

    @property
    def in_scope_false_unknown(self) -> float:
        rows = [r for r in self.results if _target_kind(r.case) != "unknown"]
        return sum(r.answer["kind"] == "unknown" for r in rows) / len(rows) if rows else 0.0

    def summary(self) -> dict[str, Any]:
        by_kind = {}
        for kind in ("doc", "intent", "unknown"):
            rows = self.subset(kind)
            if rows:
                by_kind[kind] = {"n": len(rows), "top1": round(self._rate(rows, "top1"), 4),
                                 "top3": round(self._rate(rows, "top3"), 4)}
        return {
            "n": len(self.results),
            "top1": round(self.top1, 4),
            "top3": round(self.top3, 4),
            "out_of_scope_unknown": round(self.out_of_scope_unknown, 4),
            "in_scope_answered_unknown": round(self.in_scope_false_unknown, 4),
            "by_target": by_kind,
        }


def read_cases(path: str | Path) -> list[Case]:
    cases = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(Case(str(row.get("id", n)), row["q"], row["expect"], row.get("province")))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: not a question line ({exc})") from exc
    return cases


def _target_kind(case: Case) -> str:
    first = case.expect[0] if case.expect else {}
    if "kind" in first:
        return "unknown"
    if "intent" in first:
        return "intent"
    return "doc"


def _cites(citations: Iterable[dict[str, Any]], target: dict[str, Any]) -> bool:
    for c in citations:
        same_doc = doc_key(c["doc"]) == doc_key(target["doc"])
        if same_doc and (target.get("article") is None or c.get("article") == target["article"]):
            return True
    return False


def meets(answer: dict[str, Any], target: dict[str, Any], include_alternatives: bool) -> bool:
    if "kind" in target:
        return answer["kind"] == target["kind"]
    if "intent" in target:
        return answer["kind"] == "intent" and answer.get("intent") == target["intent"]
    if answer["kind"] == "answer" and _cites(answer.get("citations") or [], target):
        return True
    if include_alternatives and answer["kind"] in ("answer", "clarify"):
        return any(_cites(a.get("citations") or [], target) for a in answer.get("alternatives") or [])
    return False


def evaluate(cases: list[Case], ask) -> Report:
    """`ask(question, province)` returns the JSON answer of `htx-bot ask --json`."""
    report = Report()
    for case in cases:
        answer = ask(case.q, case.province)
        top1 = any(meets(answer, t, False) for t in case.expect)
        top3 = top1 or any(meets(answer, t, True) for t in case.expect)
        report.results.append(Result(case, answer, top1, top3))
    return report
