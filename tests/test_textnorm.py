import unicodedata

import pytest

from bot.textnorm import Normalizer, fold, nfc, tokens


def test_fold_removes_tones_and_d_stroke():
    assert fold("Đại hội thành viên hợp tác xã ƯU ĐÃI Ơn") == "dai hoi thanh vien hop tac xa uu dai on"


def test_nfd_input_folds_like_nfc():
    text = "Điều kiện vào hợp tác xã"
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text
    assert fold(decomposed) == fold(text) == "dieu kien vao hop tac xa"
    assert nfc(decomposed) == text


def test_old_and_new_tone_placement_fold_together():
    assert fold("hoà") == fold("hòa") and fold("thuỷ") == fold("thủy")


def test_nfc_strips_invisible_characters_and_collapses_space():
    assert nfc("htx\u200b  là\u00a0gì \ufeff") == "htx là gì"


def test_tokens_drop_punctuation_and_keep_numbers():
    assert tokens("Điều 17, khoản 1: 20%?!") == ["dieu", "17", "khoan", "1", "20"]


@pytest.mark.parametrize("text", ["", "   ", "???", "🙂🙂", "\x00"])
def test_tokens_of_nothing_is_empty(text):
    assert tokens(text) == []


def test_normalizer_expands_abbreviations_and_synonyms():
    norm = Normalizer.build({"htx": "hợp tác xã", "tv": "thành viên"}, [["ra khỏi", "rút khỏi", "xin ra"]])
    assert norm("TV rút khỏi HTX") == ["thanh", "vien", "ra", "khoi", "hop", "tac", "xa"]
    assert norm("xin ra htx") == norm("ra khỏi hợp tác xã")


def test_normalizer_prefers_longest_phrase():
    norm = Normalizer.build({}, [["a b c", "x"], ["a b", "y"]])
    assert norm("x") == ["a", "b", "c"]
    assert norm("y") == ["a", "b"]


def test_shipped_synonyms_cover_chat_abbreviations(kb):
    norm = kb.normalizer
    assert norm("dhtv") == norm("đại hội thành viên")
    assert norm("hdqt") == norm("Hội đồng quản trị")
    assert norm("htx ko") == norm("hợp tác xã không")


def test_synonyms_respect_tones_when_typed_with_tones():
    norm = Normalizer.build({}, [["bao nhiêu", "mấy"], ["khai trừ", "đuổi"]])
    assert norm("cần mấy người") == ["can", "bao", "nhieu", "nguoi"]
    assert norm("can may nguoi") == ["can", "bao", "nhieu", "nguoi"]  # no tones at all: the rule applies
    assert norm("bộ máy hợp tác xã") == ["bo", "may", "hop", "tac", "xa"]  # "máy" is not "mấy"
    assert norm("dưới mức tối thiểu") == ["duoi", "muc", "toi", "thieu"]  # "dưới" is not "đuổi"
    assert norm("bị đuổi") == ["bi", "khai", "tru"]


def test_synonym_rules_chain_and_never_rewrite_inside_their_canonical_form():
    norm = Normalizer.build({}, [["thành viên", "xã viên"], ["cho vay nội bộ", "cho thành viên vay"],
                                 ["sáp nhập tỉnh", "nhập tỉnh", "gộp tỉnh"]])
    assert norm("cho xã viên vay") == norm("cho vay nội bộ") == ["cho", "vay", "noi", "bo"]
    assert norm("sáp nhập tỉnh") == ["sap", "nhap", "tinh"]
    assert norm("gộp tỉnh rồi") == ["sap", "nhap", "tinh", "roi"]
