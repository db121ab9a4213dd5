"""An answer led by the member's own numbers names the rule's article in its sentence, and its citations
(what `ask --json` and the evaluation read) start with that article."""

import pytest

from bot.db import Store
from bot.engine import Engine
from bot.kb.loader import DEFAULT_DIR, load
from bot.search import Searcher


@pytest.fixture(scope="module")
def shipped():
    return load(DEFAULT_DIR)


@pytest.fixture
def engine(config, shipped):
    config.knowledge.path = str(DEFAULT_DIR)
    store = Store(config.storage.path)
    yield Engine(shipped, store, config, searcher=Searcher(shipped))
    store.close()


@pytest.mark.parametrize(("text", "article"), [("con em 17 tuổi có vào htx làm xã viên được không ạ", 30),
                                                ("htx em có 4 thành viên thì có đủ thành lập không", 4)])
def test_the_lead_names_its_article_and_cites_it_first(engine, text, article):
    out = engine.preview(text)
    first = out.replies[0].text
    assert f"Điều {article} Luật HTX 2023" in first.splitlines()[0]
    assert "Nguồn:" not in first  # the sentence already says it: no second line repeating it
    assert (out.meta["citations"][0]["doc"], out.meta["citations"][0]["article"]) == ("17/2023/QH15", article)


def test_the_story_numbers_answer_one_question_not_every_question_of_the_message(engine):
    out = engine.preview("Chúng tôi là 5 hộ nuôi ong, muốn lập HTX. Cho tôi hỏi: 5 người thì đã đủ lập HTX chưa? "
                         "Hồ sơ nộp ở đâu, có phải lên tỉnh không?")
    leads = [r.text for r in out.replies if "5 người là đủ" in r.text]
    assert len(out.replies) >= 2 and len(leads) == 1


def test_the_count_the_story_marks_as_today_is_the_one_judged(engine):
    out = engine.preview("htx toi lap nam 2019 co 7 nguoi, 2 nguoi mat, 1 nguoi xin ra, gio chi con 4 thanh vien "
                         "chinh thuc tu dau nam 2025 toi nay. vay co bi giai the khong ad")
    assert out.replies[0].text.startswith("Chưa đủ") and "Điều 103" in out.replies[0].text
