"""A long message understood in no single question is answered when both rankers read it as one entry."""

import pytest

from bot.search import ENTRY, Candidate
from bot.types import Kind
from handlers.faq import _agreed_on_whole


@pytest.fixture
def ctx(app):
    return app.engine._context({"channel": "web", "user_key": "u", "province": None})


@pytest.mark.parametrize(("score", "bm25_same", "other_subject", "answered"), [
    (0.40, True, False, True),
    (0.40, False, False, False),  # the rankers disagree
    (0.30, True, False, False),  # too weak to be worth a hedged answer
    (0.40, True, True, False),  # about a company, not a cooperative
])
def test_both_rankers_must_agree_on_the_whole_message(ctx, monkeypatch, score, bm25_same, other_subject, answered):
    entry = next(e for e in ctx.kb.entries.values() if not e.province)
    found = [Candidate(ENTRY, entry.id, score, "", 0.2)]
    monkeypatch.setattr(type(ctx.searcher), "search", lambda self, text, province=None, limit=5: list(found))
    monkeypatch.setattr(type(ctx.searcher), "bm25_best",
                        lambda self, text: (ENTRY, entry.id if bm25_same else "another"))
    part = _agreed_on_whole(ctx, "một tin nhắn dài …", other_subject)
    assert (part is not None and part.kind == Kind.ANSWER and part.top.key == entry.id) is answered
