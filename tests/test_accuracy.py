"""Accuracy gates on the dev set and on our own held-out questions (tests/questions/*.jsonl)."""

from pathlib import Path

import pytest

from bot.cli import answer_json
from bot.config import Config
from bot.db import Store
from bot.engine import Engine
from bot.evaluate import evaluate, read_cases

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def engine(kb, searcher):
    return Engine(kb, Store(":memory:"), Config(), searcher=searcher)


def report_for(engine, path):
    return evaluate(read_cases(path), lambda q, p: answer_json(engine, q, p))


def test_dev_set(engine):
    report = report_for(engine, HERE / "eval" / "dev.jsonl")
    failures = [(r.case.id, r.case.q, r.answer["entry_id"] or r.answer["kind"]) for r in report.results if not r.top1]
    assert report.top1 >= 0.90, failures
    assert report.top3 >= 0.97, failures
    assert report.out_of_scope_unknown >= 0.90, failures


QUESTION_FILES = sorted((HERE / "questions").glob("*.jsonl"))


def test_own_questions_together(engine):
    cases = [c for path in QUESTION_FILES for c in read_cases(path)]
    report = evaluate(cases, lambda q, p: answer_json(engine, q, p))
    failures = [(r.case.id, r.case.q, r.answer["entry_id"] or r.answer["kind"]) for r in report.results if not r.top3]
    assert report.top1 >= 0.90, failures
    assert report.top3 >= 0.95, failures


@pytest.mark.parametrize("path", QUESTION_FILES, ids=lambda p: p.name)
def test_own_questions_per_file(engine, path):
    report = report_for(engine, path)
    if len(report.results) < 50:
        pytest.skip("too few questions for a per-file gate (counted in the combined gate)")
    failures = [(r.case.id, r.case.q, r.answer["entry_id"] or r.answer["kind"]) for r in report.results if not r.top3]
    assert report.top1 >= 0.85, failures
    assert report.top3 >= 0.93, failures
