"""Reading a member's message: framing stripped, story kept apart, questions split, flags set."""

from __future__ import annotations

import time
import unicodedata

import pytest

from bot.reading import PhraseSet, ReadingRules, Text, load_rules, load_yaml, read_message


@pytest.fixture(scope="module")
def norm(kb):
    return kb.normalizer


def questions(text: str, norm) -> list[str]:
    return [q.text for q in read_message(text, norm).questions]


# --- short questions pass through --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "HTX cần mấy người?",
        "htx can may nguoi",
        "thủ tục giải thể htx",
        "vốn góp tối đa của một thành viên là bao nhiêu",
        "Điều 50 Luật Đất đai nói gì",
        "HTX có 8 thành viên thì có phải có HĐQT không",
        "HTX có được vay vốn và góp vốn vào doanh nghiệp không?",
        "thanh vien lien ket co duoc chia lai khong",
    ],
)
def test_short_single_question_is_unchanged(text, norm):
    reading = read_message(text, norm)
    assert [q.text for q in reading.questions] == [text]
    assert reading.story == ""
    q = reading.questions[0]
    assert reading.text[q.start : q.end] == q.text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Chào ad, cho em hỏi HTX cần mấy người?", "HTX cần mấy người?"),
        ("chao ad cho em hoi htx can may nguoi", "htx can may nguoi"),
        ("Kính gửi luật sư, xin hỏi thủ tục giải thể HTX thế nào ạ", "thủ tục giải thể HTX thế nào"),
        ("Dạ em chào anh chị. Em muốn hỏi về thủ tục giải thể htx ạ. Em xin cảm ơn!", "thủ tục giải thể htx"),
        ("xin chao, toi muon hoi ve thu tuc giai the htx", "thu tuc giai the htx"),
        ("Ad ơi cho mình hỏi htx có cần con dấu không vậy ad", "htx có cần con dấu không"),
        (
            "Thưa luật sư, HTX có phải nộp báo cáo hằng năm không ạ? Trân trọng cảm ơn.",
            "HTX có phải nộp báo cáo hằng năm không",
        ),
        ("Hello ad, cho e hỏi tí: htx cần mấy người ạ, cảm ơn ad nhiều", "htx cần mấy người"),
    ],
)
def test_greetings_and_signoffs_are_stripped(text, expected, norm):
    assert questions(text, norm) == [expected]


@pytest.mark.parametrize(
    "text",
    ["chào ad", "Em cảm ơn ad nhiều ạ!", "dạ vâng, em cám ơn", "Xin chào!", "thanks ad", "ạ", "", "???", "1) 2)"],
)
def test_framing_only_has_no_question(text, norm):
    reading = read_message(text, norm)
    assert reading.framing_only
    assert reading.questions == ()


def test_offsets_point_into_the_nfc_text(norm):
    # Typed in NFD (some phones do): offsets refer to the NFC text the reading returns.
    reading = read_message(unicodedata.normalize("NFD", "Cho em hỏi HTX cần mấy người?"), norm)
    q = reading.questions[0]
    assert q.text == "HTX cần mấy người?"
    assert reading.text[q.start : q.end] == q.text


# --- story and questions --------------------------------------------------------------------------


def test_story_is_separated_from_the_question(norm):
    text = (
        "Kính gửi luật sư. Nhà tôi có 5 sào lúa, năm 2019 tôi vào htx. "
        "Thành viên liên kết không góp vốn thì có được chia lãi không ạ? Em xin cảm ơn."
    )
    reading = read_message(text, norm)
    assert [q.text for q in reading.questions] == ["Thành viên liên kết không góp vốn thì có được chia lãi không"]
    assert reading.story == "Nhà tôi có 5 sào lúa, năm 2019 tôi vào htx."


def test_toneless_story_and_question(norm):
    text = (
        "kinh gui luat su. nha toi co 5 sao lua, nam 2019 toi vao htx. "
        "cho toi hoi thanh vien lien ket ko gop von thi co duoc chia lai ko a? xin cam on"
    )
    reading = read_message(text, norm)
    assert [q.text for q in reading.questions] == ["thanh vien lien ket ko gop von thi co duoc chia lai ko"]
    assert reading.story == "nha toi co 5 sao lua, nam 2019 toi vao htx."


def test_story_lead_is_framing_and_its_facts_are_story(norm):
    reading = read_message(
        "Tôi có trường hợp như sau: HTX chưa đăng ký thay đổi người đại diện. Vậy có bị phạt không?", norm
    )
    assert [q.text for q in reading.questions] == ["có bị phạt không?"]
    assert reading.story == "HTX chưa đăng ký thay đổi người đại diện."


def test_short_question_searches_with_the_last_story_sentence(norm):
    reading = read_message(
        "Chào ad. Nhà em ở xã Tân Lập. Ông chủ nhiệm bên em góp tới 35% vốn điều lệ. Như vậy có đúng luật không ạ?",
        norm,
    )
    assert [q.text for q in reading.questions] == ["có đúng luật không"]
    assert reading.search_text(0) == "Ông chủ nhiệm bên em góp tới 35% vốn điều lệ. có đúng luật không"
    long = read_message("Nhà em ở xã Tân Lập. HTX có phải nộp báo cáo tài chính hằng năm không?", norm)
    assert long.search_text(0) == "HTX có phải nộp báo cáo tài chính hằng năm không?"


def test_statement_before_comma_vay_goes_to_story(norm):
    reading = read_message("Nhà tôi có 5 sào lúa, vậy tôi có vào HTX được không?", norm)
    assert [q.text for q in reading.questions] == ["tôi có vào HTX được không?"]
    assert reading.story == "Nhà tôi có 5 sào lúa."


def test_condition_inside_the_question_stays(norm):
    # The member's fact is part of the question itself: facts.py needs it there.
    assert questions("HTX em có 8 thành viên thì có phải có hội đồng quản trị không ạ", norm) == [
        "HTX em có 8 thành viên thì có phải có hội đồng quản trị không"
    ]


def test_no_question_word_means_whole_text_is_the_question(norm):
    reading = read_message("Chào ad. Thủ tục giải thể HTX. Hồ sơ gồm những giấy tờ nào", norm)
    assert len(reading.questions) == 1
    # The last sentence has a question word; the first is story.
    assert reading.questions[0].text == "Hồ sơ gồm những giấy tờ nào"
    reading = read_message("Chào ad. Thủ tục giải thể hợp tác xã", norm)
    assert [q.text for q in reading.questions] == ["Thủ tục giải thể hợp tác xã"]


def test_long_message_with_three_questions(norm):
    text = (
        "Chào anh chị, em là xã viên HTX nông nghiệp ở xã Tân Phú. Năm 2019 em vào htx, góp 10 triệu. "
        "Hiện nay htx có 8 thành viên, chủ tịch kiêm giám đốc. Em muốn hỏi: htx em có bắt buộc phải có "
        "hội đồng quản trị không? Trước đây theo luật cũ thì thế nào? Ngoài ra vợ chủ tịch làm kế toán có "
        "được không ạ. Em cảm ơn nhiều."
    )
    reading = read_message(text, norm)
    assert [q.text for q in reading.questions] == [
        "htx em có bắt buộc phải có hội đồng quản trị không?",
        "Trước đây theo luật cũ thì thế nào?",
        "vợ chủ tịch làm kế toán có được không",
    ]
    assert "8 thành viên" in reading.story and "Năm 2019" in reading.story
    assert reading.asks_history


def test_formal_letter(norm):
    text = (
        "Kính gửi Liên minh HTX tỉnh. Tôi tên là Trần Văn Bình, giám đốc HTX dịch vụ nông nghiệp Phú Lộc, "
        "thành lập năm 2016, có 45 thành viên. Nay chúng tôi muốn hỏi: Câu hỏi thứ nhất: HTX có phải sửa "
        "điều lệ theo luật mới không? Câu hỏi thứ hai: thành viên không sử dụng dịch vụ 2 năm thì có bị chấm "
        "dứt tư cách không? Rất mong nhận được phản hồi. Trân trọng."
    )
    reading = read_message(text, norm)
    assert [q.text for q in reading.questions] == [
        "HTX có phải sửa điều lệ theo luật mới không?",
        "thành viên không sử dụng dịch vụ 2 năm thì có bị chấm dứt tư cách không?",
    ]
    assert reading.story.startswith("Tôi tên là Trần Văn Bình") and "45 thành viên" in reading.story
    assert "Kính gửi" not in reading.story and "Câu hỏi" not in reading.story
    assert not reading.asks_history
    assert "khong su dung dich vu" in reading.negations


def test_introduction_after_a_greeting_is_story(norm):
    reading = read_message(
        "Chào ad, em là Lan ở Đồng Tháp. Cho em hỏi với ạ: HTX giải thể thì tài sản chia thế nào?", norm
    )
    assert [q.text for q in reading.questions] == ["HTX giải thể thì tài sản chia thế nào?"]
    assert reading.story == "em là Lan ở Đồng Tháp."


def test_at_most_three_questions_in_order(norm):
    text = "1) HTX cần mấy người? 2) Vốn góp tối đa bao nhiêu? 3) Có cần con dấu không? 4) Ai ký điều lệ?"
    assert questions(text, norm) == ["HTX cần mấy người?", "Vốn góp tối đa bao nhiêu?", "Có cần con dấu không?"]


# --- several questions in one sentence ----------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "HTX 8 người có cần HĐQT không và thành viên liên kết có được chia lãi không?",
            ["HTX 8 người có cần HĐQT không", "thành viên liên kết có được chia lãi không?"],
        ),
        (
            "Em có 2 câu hỏi: 1) HTX có cần con dấu không 2) thành viên liên kết có được chia lãi không",
            ["HTX có cần con dấu không", "thành viên liên kết có được chia lãi không"],
        ),
        (
            "Thứ nhất, htx có phải đăng ký lại không. Thứ hai, vốn góp tối đa bao nhiêu",
            ["htx có phải đăng ký lại không", "vốn góp tối đa bao nhiêu"],
        ),
        (
            "thu nhat htx co phai dang ky lai khong, thu hai von gop toi da bao nhieu",
            ["htx co phai dang ky lai khong", "von gop toi da bao nhieu"],
        ),
        (
            "Dạ cho em hỏi HTX có được cho thành viên vay tiền không ạ, nếu được thì lãi suất tối đa bao nhiêu",
            ["HTX có được cho thành viên vay tiền không", "nếu được thì lãi suất tối đa bao nhiêu"],
        ),
        (
            "htx co can con dau ko, con thanh vien lien ket co duoc bieu quyet ko",
            ["htx co can con dau ko", "thanh vien lien ket co duoc bieu quyet ko"],
        ),
    ],
)
def test_multi_question_sentences_are_split(text, expected, norm):
    assert questions(text, norm) == expected


@pytest.mark.parametrize(
    "text",
    [
        "HTX có được vay vốn và góp vốn vào doanh nghiệp không?",
        "Thành viên chính thức và thành viên liên kết khác nhau thế nào?",
        "HTX có cần con dấu và tài khoản ngân hàng không",
        # "con" is a word here, not the toneless "còn" that joins two questions.
        "HTX có cần con dấu không",
    ],
)
def test_one_question_with_and_is_not_split(text, norm):
    assert questions(text, norm) == [text]


# --- history flag -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Theo luật 2012 thì htx cần mấy thành viên?",
        "theo luat cu thi von gop toi da bao nhieu",
        "Hồi trước htx cần mấy xã viên",
        "Trước 2024 thì HTX có phải có HĐQT không?",
        "Luật năm 2012 quy định đại hội thường niên khi nào",
        "truoc day thanh lap htx can bao nhieu nguoi",
    ],
)
def test_explicit_old_law_questions_ask_history(text, norm):
    assert read_message(text, norm).asks_history


@pytest.mark.parametrize(
    "text",
    [
        "HTX em thành lập năm 2015, giờ có phải đăng ký lại không?",
        "HTX thành lập năm 2015 theo luật 2012. Giờ cần mấy người?",
        "Trước đây tôi là xã viên HTX. Giờ muốn rút vốn thì làm sao?",
        "HTX trước đây có 10 người, giờ còn 4 người thì có bị giải thể không?",
        "hoi truoc htx em dong 20 trieu, bay gio muon rut ra duoc khong",
        "htx can may nguoi",
    ],
)
def test_story_about_the_past_does_not_ask_history(text, norm):
    assert not read_message(text, norm).asks_history


# --- negations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("Thành viên liên kết không góp vốn thì có được chia lãi không?", "khong gop von"),
        ("thanh vien lien ket ko gop von co duoc chia lai k", "khong gop von"),
        ("htx chua dang ky lai thi co sao khong", "chua dang ky lai"),
        ("HTX em 2 năm nay không họp đại hội thì có bị giải thể không", "khong hop dai hoi"),
        ("htx em k hop dai hoi 2 nam roi", "khong hop dai hoi"),
        ("HTX 8 người, không có HĐQT được không", "khong co hoi dong quan tri"),
        ("Em chưa góp đủ vốn, có bị mất tư cách thành viên không?", "chua gop du von"),
    ],
)
def test_negated_phrases_are_reported(text, phrase, norm):
    assert phrase in read_message(text, norm).negations


@pytest.mark.parametrize(
    "text",
    [
        "HTX có cần con dấu không?",
        "Thành viên liên kết có được chia lãi không ạ",
        "HTX đã đăng ký lại chưa?",
        "Em không biết HTX có phải nộp báo cáo không",
        "htx co duoc vay von hay khong",
        "phí 500 k có phải nộp không",
        # A comma ends the negated phrase: "không, hạn chót" is an answer word, not a negation.
        "gop von vao htx co the gop lam nhieu dot ko, han chot la bao lau",
    ],
)
def test_question_words_are_not_negations(text, norm):
    assert read_message(text, norm).negations == ()


# --- matcher and data --------------------------------------------------------------------------


def test_phrase_matching_is_tone_aware():
    phrases = PhraseSet(["chưa", "mấy"])
    assert phrases.search(Text.of("htx da dang ky chua").words)
    assert phrases.search(Text.of("HTX đã đăng ký chưa").words)
    # Typed with tones, a different tone is a different word.
    assert not phrases.search(Text.of("Ngôi chùa của làng").words)
    assert not phrases.search(Text.of("mua máy cày cho hợp tác xã").words)
    # Old and new tone placement are the same word.
    assert PhraseSet(["hóa đơn"]).search(Text.of("xuất hoá đơn").words)


def test_rules_validate_their_data():
    data = load_yaml("reading.yaml")
    assert ReadingRules.from_data(data).greetings.phrases
    broken = dict(data, question_endings=[])
    with pytest.raises(ValueError, match="question_endings"):
        ReadingRules.from_data(broken)
    with pytest.raises(ValueError, match="negation_span"):
        ReadingRules.from_data(dict(data, negation_span="bốn"))


def test_long_message_reads_fast(norm):
    sentence = (
        "Năm 2019 em vào htx, góp 10 triệu, hiện htx có 8 thành viên và không có ban kiểm soát. "
        "Em muốn hỏi htx em có bắt buộc phải có hội đồng quản trị không? "
    )
    text = "Chào anh chị. " + sentence * 7 + "Em cảm ơn."
    assert 230 <= len(text.split()) <= 270
    load_rules()
    read_message(text, norm)
    runs = 50
    started = time.perf_counter()
    for _ in range(runs):
        read_message(text, norm)
    assert (time.perf_counter() - started) / runs < 0.004  # generous for slow CI; ~0.7 ms on a laptop


def test_a_negation_in_the_story_does_not_steer_a_whole_question(norm):
    text = ("HTX vận tải của chồng tôi nợ ngân hàng, xe bán gần hết mà vẫn không trả nổi. "
            "Nếu tài sản HTX không đủ trả nợ thì gia đình tôi có phải trả thay phần còn thiếu không?")
    negations = read_message(text, norm).negations
    assert "khong du tra no" in negations and not any(n.startswith("khong tra") for n in negations)


def test_a_short_question_keeps_the_negation_of_the_sentence_it_leans_on(norm):
    text = "Tôi là thành viên liên kết, không góp vốn. Có được chia lãi không?"
    assert "khong gop von" in read_message(text, norm).negations


def test_a_count_of_questions_to_come_is_framing(norm):
    reading = read_message("cho em hỏi mấy câu: vốn góp tối đa bao nhiêu? hạn góp vốn bao lâu?", norm)
    assert [q.text for q in reading.questions] == ["vốn góp tối đa bao nhiêu?", "hạn góp vốn bao lâu?"]


@pytest.mark.parametrize(("text", "question"), [
    ("bao lau phai nop ho so giai the?", "bao lau phai nop ho so giai the?"),
    ("htx giải thể thế?", "htx giải thể"),
])
def test_a_word_ending_in_a_particle_spelling_keeps_it(text, question, norm):
    assert [q.text.rstrip("?") for q in read_message(text, norm).questions] == [question.rstrip("?")]


def test_a_question_leans_on_the_story_before_it_not_after_it(norm):
    reading = read_message("Cho em hỏi bố em mất rồi thì sao ạ? Bố em là thành viên HTX, góp 30 triệu. "
                           "Giờ ao tôm em vẫn làm tiếp. Em có được vào HTX thay bố không?", norm)
    assert len(reading.questions) == 2
    assert reading.story_before(0) is None and reading.told_before(0) == ()
    assert reading.story_before(1) == "Giờ ao tôm em vẫn làm tiếp."
    assert len(reading.told_before(1)) == 2
    assert reading.search_text(0) == reading.questions[0].text  # short, but nothing told before it


@pytest.mark.parametrize("story", ["Doanh thu mấy năm nay gần như không có.", "Ai cũng bận, lúc nào cũng vắng."])
def test_a_question_word_inside_a_statement_does_not_make_it_a_question(norm, story):
    assert questions(f"HTX còn 12 người. {story} Muốn giải thể thì làm gì?", norm) == ["Muốn giải thể thì làm gì?"]


def test_a_short_question_after_another_leans_on_that_one_not_on_the_story(norm):
    reading = read_message("Công ty TNHH bên cạnh mời hợp tác. Xin hỏi lập chi nhánh ở Hà Nội thì đăng ký ở đâu, "
                           "thời hạn thế nào?", norm)
    assert [q.text for q in reading.questions][-1].startswith("thời hạn")
    assert reading.story_before(len(reading.questions) - 1) is None


def test_a_question_continues_the_sentence_of_the_one_before(norm):
    reading = read_message("Lập công ty TNHH thì nộp hồ sơ ở đâu, có cần chứng minh vốn không? Lệ phí bao nhiêu?", norm)
    assert len(reading.questions) == 3
    assert [reading.continues(i) for i in range(3)] == [False, True, False]


def test_a_lead_announcing_questions_does_not_make_its_sentence_a_question(norm):
    text = ("Chào ad, em hỏi mấy cái: htx e định thành lập có 6 người, 1. thì mỗi người góp tối đa bao nhiêu % vốn? "
            "2. phải góp đủ trong bao lâu? 3. góp bằng con trâu, cái máy cày được ko ad. e cảm ơn")
    assert [q.split()[0] for q in questions(text, norm)] == ["thì", "phải", "góp"]


def test_a_long_statement_after_an_ask_lead_is_the_story_of_the_question_after_it(norm):
    text = ("ad oi cho e hoi, htx e co 23 tv chinh thuc, hom chu nhat hop dhtv chi co 10 nguoi toi vi dang mua thu "
            "hoach, ong ct van cho bieu quyet thong qua phuong an san xuat nam 2027. 10/23 chua toi mot nua ma van "
            "thong qua vay dc ko ad")
    assert questions(text, norm) == ["10/23 chua toi mot nua ma van thong qua vay dc ko"]
    # A short topic after the lead is still a question of its own.
    assert questions("Cho em hỏi thủ tục giải thể HTX. Hồ sơ nộp ở đâu?", norm) == ["thủ tục giải thể HTX",
                                                                                  "Hồ sơ nộp ở đâu?"]


def test_an_address_followed_by_the_story_keeps_the_story(norm):
    reading = read_message("Thưa anh chị, tổ hợp tác trồng nấm của chúng tôi có 8 người, muốn chuyển lên HTX. "
                           "Cần điều kiện gì?", norm)
    assert [q.text for q in reading.questions] == ["Cần điều kiện gì?"]
    assert reading.story_sentences and reading.story_sentences[0].startswith("tổ hợp tác trồng nấm")
    # An address alone is still nothing to read.
    assert read_message("Kính gửi Liên minh HTX tỉnh Thái Bình, Ban biên tập. HTX cần mấy người?",
                        norm).story_sentences == ()
