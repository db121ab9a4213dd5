"""Another office's matter inside a longer message: named by the sentence before the question, or asked
about again in a follow-up that names no subject of its own; and no staff ticket for another organisation."""

import pytest

from bot.db import Store
from bot.engine import Engine
from bot.kb.loader import DEFAULT_DIR, load
from bot.referral import Referral
from bot.search import ENTRY, OUT_OF_SCOPE, Candidate, Searcher
from bot.types import Kind
from handlers.question import analyse


def outcome(app, text):
    return app.engine.preview(text)


def searching(app, monkeypatch, score, coverage, bm25=None):
    """A web context whose search finds one general entry at `score` (BM25's choice: that entry, or `bm25`)."""
    ctx = app.engine._context({"channel": "web", "user_key": "u", "province": None})
    entry = next(e for e in app.kb.entries.values() if not e.province)
    found = [Candidate(ENTRY, entry.id, score, "", coverage)]
    monkeypatch.setattr(type(ctx.searcher), "search", lambda self, text, province=None, limit=5: list(found))
    monkeypatch.setattr(type(ctx.searcher), "bm25_best", lambda self, text: bm25 or (ENTRY, entry.id))
    return ctx


def test_the_sentence_before_a_question_can_name_the_office_matter(app):
    text = ("Chào ad, tôi là thành viên HTX chè được 6 năm nay. Năm 2019 tôi mua của ông Páo một đồi chè, chỉ "
            "viết giấy tay. Nay tôi muốn làm sổ đỏ đứng tên mình để yên tâm trồng lại chè. "
            "Xin hỏi trường hợp của tôi có được cấp giấy chứng nhận không?")
    meta = outcome(app, text).meta
    assert meta.get("referral") == "land" or any(p.get("referral") == "land" for p in meta.get("parts") or [])
    assert meta.get("kind") != Kind.ANSWER


@pytest.mark.parametrize(("follow_up", "referred"), [("Nộp online được không?", True),
                                                      ("Còn HTX thì nộp online được không?", False)])
def test_a_follow_up_without_a_subject_of_its_own_stays_with_the_office_matter(app, monkeypatch, follow_up,
                                                                                  referred):
    ctx = searching(app, monkeypatch, 0.9, 0.9)  # however well its words match an entry
    passport = Referral("civil_status", "…", ("hộ chiếu",))
    part = analyse(ctx, follow_up, context=passport)
    assert (part.referral is passport) is referred
    assert (part.kind == Kind.ANSWER) is not referred


def test_a_follow_up_that_names_a_cooperative_is_still_looked_up(app):
    text = "Em chưa từng có hộ chiếu. Làm hộ chiếu ở đâu ạ? Còn đăng ký thành lập HTX thì ở đâu?"
    parts = outcome(app, text).meta.get("parts") or []
    assert len(parts) == 2 and parts[0].get("referral") == "civil_status"
    assert parts[1].get("kind") == Kind.ANSWER


@pytest.fixture
def shipped_app(config):
    config.knowledge.path = str(DEFAULT_DIR)
    kb = load(DEFAULT_DIR)
    store = Store(config.storage.path)
    engine = Engine(kb, store, config, searcher=Searcher(kb))
    yield engine
    store.close()


@pytest.mark.parametrize("text", ["Công ty TNHH một thành viên vốn điều lệ tối thiểu bao nhiêu",
                                  "Ban quản trị chung cư nhiệm kỳ mấy năm"])
def test_another_organisations_matter_opens_no_ticket(shipped_app, text):
    out = shipped_app.preview(text)
    assert out.meta.get("kind") == Kind.UNKNOWN
    assert not any(type(e).__name__ == "OpenTicket" for e in out.effects)


@pytest.mark.parametrize(("score", "referred"), [(0.20, True), (0.40, True), (0.70, False)])
def test_a_weak_match_kept_in_scope_by_cooperative_words_goes_to_the_office_it_names(app, monkeypatch, score,
                                                                                    referred):
    ctx = searching(app, monkeypatch, score, 0.6)
    part = analyse(ctx, "tranh chấp ranh giới đất giữa hai thành viên HTX thì giải quyết ở đâu?")
    assert (part.referral is not None and part.referral.key == "land") is referred


def test_a_message_that_is_all_another_offices_gets_one_pointer_and_no_ticket(shipped_app):
    text = ("Chào luật sư, tôi làm thợ hàn ở xưởng cơ khí của một công ty TNHH chuyên làm nhà lưới cho các HTX rau "
            "trong vùng. Công ty nợ lương tôi 3 tháng rồi, giám đốc cứ hứa cuối năm trả. Tôi nghỉ ngang có được "
            "không? Có phải báo trước không? Đòi lương ở đâu?")
    out = shipped_app.preview(text)
    assert out.meta.get("kind") == Kind.UNKNOWN and out.meta.get("referral") == "labour"
    assert len(out.replies) == 1 and out.replies[0].text.count("quản lý lao động") == 1  # once, not per question
    assert not any(type(e).__name__ == "OpenTicket" for e in out.effects)


@pytest.mark.parametrize(("bm25", "off_topic"), [((OUT_OF_SCOPE, "oos-1"), True), ((ENTRY, "x"), False)])
def test_an_unanswered_question_closest_to_an_off_topic_subject_opens_no_ticket(app, monkeypatch, bm25, off_topic):
    ctx = searching(app, monkeypatch, 0.15, 0.1, bm25)  # nothing answers it
    part = analyse(ctx, "ad xem giúp thứ bảy này ở xã tôi có mưa to không để gặt")
    assert part.kind == Kind.UNKNOWN
    assert (part.referral is not None and part.referral.key == "none") is off_topic
    # A question that names a cooperative is never called off-topic on BM25's word: staff get it.
    named = analyse(ctx, "nhà tôi trồng cà phê muốn xin vô hợp tác xã thì cần giấy tờ gì")
    assert named.kind == Kind.UNKNOWN and named.referral is None


def test_a_members_story_is_not_sent_to_the_office_of_a_word_in_it(shipped_app):
    # Nothing answered, but the story is a member's matter (góp vốn, thành viên chính thức): the shrimp
    # ponds in it do not make it the agricultural extension officer's.
    text = ("ad oi cho em hoi, ba em mat thang 7 nam nay vi tai bien. ba la thanh vien chinh thuc htx thuy san "
            "Tan Thanh tu nam 2018, gop 30 trieu, nuoi tom quang canh 3 ha. gio ao tom em dang lam tiep. em muon "
            "vao htx thay ba thi co duoc ko hay htx chi tra lai 30tr cho gia dinh thoi a?")
    assert shipped_app.preview(text).meta.get("referral") in (None, "none")


def test_an_unsure_question_joins_the_office_of_another_question_in_the_message(app):
    from handlers.faq import _with_message_office
    from handlers.question import Part

    ctx = app.engine._context({"channel": "web", "user_key": "u", "province": None})
    entry = next(e for e in app.kb.entries.values() if not e.province)
    land = Referral("land", "…", ("lấn đất",))
    guess = Part("Giờ tôi phải làm đơn gửi đâu?", Kind.CLARIFY, (Candidate(ENTRY, entry.id, 0.42, "", 0.6),))
    found = Part("Vốn góp được trả lại khi nào?", Kind.ANSWER, (Candidate(ENTRY, entry.id, 0.5, "", 0.6),), score=0.5)
    named = Part("Còn HTX thì phải làm gì?", Kind.UNKNOWN)
    referred = Part("Có phải đo đạc lại thửa đất không?", Kind.UNKNOWN, referral=land)
    out = _with_message_office(ctx, [guess, referred])
    assert out[0].referral is land and out[0].kind == Kind.UNKNOWN and out[0].candidates == ()
    assert out[1] is referred
    # Next to an answered question a guess is that question's follow-up; a question naming the HTX stays.
    assert _with_message_office(ctx, [found, guess, referred]) == [found, guess, referred]
    assert _with_message_office(ctx, [named, referred]) == [named, referred]
    assert _with_message_office(ctx, [guess]) == [guess]  # no office in the message: nothing changes


def test_the_second_half_of_a_sentence_keeps_the_office_of_the_first(shipped_app):
    text = ("Chào chuyên mục, bố em làm giám đốc HTX dịch vụ nông nghiệp. Em muốn tự mở công ty TNHH một thành viên "
            "bán phân bón, không liên quan gì đến HTX. Cho em hỏi thành lập công ty TNHH thì nộp hồ sơ ở đâu, có cần "
            "chứng minh vốn điều lệ không?")
    out = shipped_app.preview(text)
    assert out.meta.get("kind") == Kind.UNKNOWN and out.meta.get("referral") == "enterprise"
    assert not out.meta.get("entry_id") and all(p.get("kind") != Kind.ANSWER for p in out.meta.get("parts") or [])


def test_a_question_that_names_another_office_does_not_take_its_neighbours_with_it(shipped_app):
    text = ("Chào ad, năm nay hạn hán nên HTX em muốn tạm ngừng hoạt động 5 tháng. Thủ tục thế nào, phải báo trước "
            "bao lâu? Trong thời gian tạm ngừng thì có phải nộp thuế không?")
    meta = shipped_app.preview(text).meta
    assert meta.get("kind") == Kind.ANSWER and meta.get("entry_id") == "l23-tam-ngung-hoat-dong"
    assert [p.get("referral") for p in meta["parts"]][-1] == "tax"
    assert [p.get("referral") for p in meta["parts"]][:-1] == [None, None]
