"""Blind sets: questions written from the fact sheets by people who never saw the entries.

They guard generalisation (the dev set alone is easy to overfit). Gates are below the figures
measured when they were added, so a change that makes the bot worse at unseen questions fails.
"""

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


@pytest.mark.parametrize(
    ("name", "top1", "top3"),
    [("blind/in_scope_2012.jsonl", 0.85, 0.93), ("blind/in_scope_other.jsonl", 0.89, 0.95),
     ("blind2/in_scope.jsonl", 0.85, 0.92)],
)
def test_blind_in_scope(engine, name, top1, top3):
    report = evaluate(read_cases(HERE / name), lambda q, p: answer_json(engine, q, p))
    assert report.top1 >= top1 and report.top3 >= top3, report.summary()


@pytest.mark.parametrize("name", ["blind/out_of_scope.jsonl", "blind2/out_of_scope.jsonl"])
def test_blind_out_of_scope(engine, name):
    report = evaluate(read_cases(HERE / name), lambda q, p: answer_json(engine, q, p))
    wrong = [r.case.q for r in report.results if not r.top1]
    assert report.out_of_scope_unknown >= 0.90, wrong
