"""When search would ask "did you mean", a whole question on whose best entry BM25 alone agrees is answered."""

from bot.types import Kind
from handlers.question import AGREEMENT_WORDS, analyse


def _context(app, text):
    app.config.search.answer_threshold = 1.01  # no score reaches it: every match would be a "did you mean"
    app.config.search.confident_threshold = 1.02
    app.config.search.clarify_threshold = 0.0
    return app.engine._context({"channel": "web", "user_key": "u", "province": None})


def _long_question(app):
    for entry in app.kb.entries.values():
        for q in entry.questions:
            if len(app.engine.searcher.content_words(q)) >= AGREEMENT_WORDS and not entry.province:
                return q
    raise AssertionError("the fixture has no question long enough")


def test_agreement_answers_a_whole_question(app, monkeypatch):
    text = _long_question(app)
    ctx = _context(app, text)
    top = ctx.searcher.search(text, limit=1)[0]
    monkeypatch.setattr(type(ctx.searcher), "bm25_best", lambda self, t: ("entry", top.key))
    assert analyse(ctx, text).kind == Kind.ANSWER


def test_disagreement_or_a_topic_word_still_asks(app, monkeypatch):
    text = _long_question(app)
    ctx = _context(app, text)
    monkeypatch.setattr(type(ctx.searcher), "bm25_best", lambda self, t: ("entry", "khong-co-muc-nay"))
    assert analyse(ctx, text).kind == Kind.CLARIFY
    top = ctx.searcher.search("vốn", limit=1)[0]
    monkeypatch.setattr(type(ctx.searcher), "bm25_best", lambda self, t: ("entry", top.key))
    assert analyse(ctx, "vốn").kind != Kind.ANSWER
