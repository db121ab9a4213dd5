"""Which entries a question is offered or answered with when search is not sure (handlers/question.py)."""

import pytest

from bot.search import ENTRY, Candidate
from bot.types import Kind
from handlers.question import AGREEMENT_WORDS, analyse

QUESTION = "hợp tác xã bên em muốn biết chuyện này theo luật mới thì làm sao cho đúng ạ"


@pytest.fixture
def ask(app, monkeypatch):
    """analyse() over candidates given by the test, with BM25's own choice given too."""
    ctx = app.engine._context({"channel": "web", "user_key": "u", "province": None})
    keys = [e.id for e in app.kb.entries.values() if not e.province][:3]
    assert len(ctx.searcher.content_words(QUESTION)) >= AGREEMENT_WORDS

    def run(scores, bm25=None):
        cands = [Candidate(ENTRY, keys[i], s, "", cov) for i, (s, cov) in enumerate(scores)]
        monkeypatch.setattr(type(ctx.searcher), "search", lambda self, text, province=None, limit=5: list(cands))
        monkeypatch.setattr(type(ctx.searcher), "bm25_best", lambda self, text: bm25 and (ENTRY, keys[bm25]))
        part = analyse(ctx, QUESTION)
        return part.kind, [c.key for c in part.candidates], keys

    return run


def test_a_close_runner_up_bm25_prefers_and_that_covers_more_goes_first(ask):
    kind, order, keys = ask([(0.50, 0.30), (0.48, 0.60)], bm25=1)
    assert order[0] == keys[1]


def test_the_leader_stays_when_the_runner_up_is_far_behind_or_covers_less(ask):
    kind, order, keys = ask([(0.50, 0.30), (0.40, 0.60)], bm25=1)
    assert order[0] == keys[0]
    kind, order, keys = ask([(0.50, 0.60), (0.49, 0.40)], bm25=1)
    assert order[0] == keys[0]
    kind, order, keys = ask([(0.50, 0.30), (0.49, 0.60)], bm25=None)
    assert order[0] == keys[0]


def test_a_single_choice_covering_the_question_is_answered(ask):
    # 0.40 is between clarify_threshold (0.38) and answer_threshold (0.45): "did you mean", with one choice
    kind, order, keys = ask([(0.40, 0.50)])
    assert kind == Kind.ANSWER and order[0] == keys[0]


def test_choices_that_explain_little_of_the_question_are_not_offered(ask):
    kind, order, keys = ask([(0.42, 0.50), (0.41, 0.10), (0.40, 0.50)])
    assert kind == Kind.CLARIFY and order == [keys[0], keys[2]]
    # with the weak one gone a single choice is left: it is answered
    assert ask([(0.42, 0.50), (0.41, 0.10)])[0] == Kind.ANSWER


def test_a_long_question_needs_less_of_it_explained(app):
    from handlers.question import LONG_MIN_COVERAGE, LONG_QUESTION_WORDS, decide

    ctx = app.engine._context({"channel": "web", "user_key": "u", "province": None})
    key = next(e.id for e in app.kb.entries.values() if not e.province)
    coverage = (LONG_MIN_COVERAGE + ctx.config.search.min_coverage) / 2
    found = [Candidate(ENTRY, key, 0.5, "", coverage)]
    assert decide(ctx, found, words=LONG_QUESTION_WORDS)[0] == Kind.ANSWER
    assert decide(ctx, found, words=LONG_QUESTION_WORDS - 1)[0] == Kind.UNKNOWN
