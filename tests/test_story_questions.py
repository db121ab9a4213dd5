"""A bare question ("Vậy họ làm như vậy có đúng không?") is searched again with the story sentences before it."""

import pytest

from bot.reading import read_message
from bot.search import ENTRY, Candidate
from bot.types import Kind
from handlers import faq
from handlers.question import Part

STORY = ("Chồng tôi là thành viên HTX rau. Năm ngoái nhà tôi còn nợ HTX 8 triệu. "
         "Tuần trước HĐQT họp rồi khai trừ chồng tôi, không đưa ra đại hội. ")


@pytest.fixture
def seen(app, monkeypatch):
    """analyse() answers only a text that starts with the sentence about the expulsion."""
    tried: list[str] = []

    def analyse(ctx, text, reading=None, context=None, other_subject=False, settled=frozenset()):
        tried.append(text)
        if text.startswith("Tuần trước HĐQT"):
            return Part(text, Kind.ANSWER, (Candidate(ENTRY, "khai-tru", 0.5),), score=0.5)
        if text.startswith("Năm ngoái") and "lead" in text:
            return Part(text, Kind.ANSWER, (Candidate(ENTRY, "no-htx", 0.9),), lead="Không được: …", score=0.9)
        return Part(text, Kind.UNKNOWN)

    monkeypatch.setattr(faq, "analyse", analyse)
    ctx = app.engine._context({"channel": "web", "user_key": "u", "province": None})
    return ctx, tried


def retry(ctx, question):
    reading = read_message(STORY + question, ctx.kb.normalizer, ctx.kb.readers.reading)
    return faq._with_story(ctx, Part(question, Kind.UNKNOWN), len(reading.questions) - 1, reading, None, False)


@pytest.mark.parametrize("question", ["Vậy họ làm như vậy có đúng không?",
                                      "Tôi thấy làm vậy là không ổn, làm gấp như thế có đúng quy định không?"])
def test_a_bare_question_is_answered_with_the_story_sentence_that_makes_it_whole(seen, question):
    ctx, tried = seen
    part = retry(ctx, question)
    assert part.kind == Kind.ANSWER and part.top.key == "khai-tru"
    assert len(tried) == faq.STORY_SENTENCES


def test_a_question_with_words_of_its_own_is_not_retried(seen):
    ctx, tried = seen
    question = "Hội đồng quản trị có quyền tự khai trừ thành viên không cần đại hội thành viên biểu quyết không?"
    assert retry(ctx, question).kind == Kind.UNKNOWN and tried == []


def test_a_rule_read_from_numbers_in_an_unrelated_sentence_is_not_trusted(seen, monkeypatch):
    ctx, tried = seen
    monkeypatch.setattr(faq, "STORY_SENTENCES", 3)
    part = retry(ctx, "lead có được không?")
    assert part.top is not None and part.top.key == "khai-tru"  # not the 0.9 one led by a number


def test_a_short_follow_up_is_tried_with_the_question_before_it(app, monkeypatch):
    tried: list[str] = []

    def analyse(ctx, text, reading=None, context=None, other_subject=False, settled=frozenset()):
        tried.append(text)
        if text.startswith("5 người thì đã đủ lập HTX chưa? Hồ sơ"):
            return Part(text, Kind.ANSWER, (Candidate(ENTRY, "dk-noi-dang-ky", 0.5),), score=0.5)
        if text.startswith("5 người"):
            return Part(text, Kind.ANSWER, (Candidate(ENTRY, "tv-so-thanh-vien", 0.9),), score=0.9)
        return Part(text, Kind.UNKNOWN)

    monkeypatch.setattr(faq, "analyse", analyse)
    ctx = app.engine._context({"channel": "web", "user_key": "u", "province": None})
    out = faq.answer(ctx, "5 người thì đã đủ lập HTX chưa? Hồ sơ nộp ở đâu?", 1)
    assert [p.get("entry_id") for p in out.meta["parts"]] == ["tv-so-thanh-vien", "dk-noi-dang-ky"]
