"""The member's own facts against the law's numbers: a verdict only when the fact and the ask are clear."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from bot.facts import Citation, FactRules, apply, load_rules
from bot.reading import load_yaml

ENTRIES = Path(__file__).resolve().parent.parent / "knowledge" / "entries"


def one(question: str, story: str = "", history: bool = False):
    verdicts = apply(question, story, None, history=history)
    assert len(verdicts) == 1, verdicts
    return verdicts[0]


# --- minimum members -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, yes",
    [
        ("4 người có thành lập HTX được không?", False),
        ("bon nguoi co lap htx duoc khong", False),
        ("Nhóm em 5 người muốn lập hợp tác xã, vậy đủ chưa?", True),
        ("HTX 8 người thì đủ để thành lập chưa", True),
        ("tám người thành lập htx có đủ không", True),
    ],
)
def test_minimum_members_to_found(text, yes):
    v = one(text)
    assert v.rule_id == "min-members-htx-2023" and v.yes is yes
    assert "khoản 7 Điều 4 Luật HTX 2023" in v.sentence
    assert v.citations[0] == Citation("17/2023/QH15", 4, 7)
    assert v.entry_id == "l23-so-thanh-vien-toi-thieu"


def test_falling_below_the_minimum_mentions_revocation():
    v = one("HTX em chỉ còn 4 thành viên thì có bị giải thể không?")
    assert not v.yes
    assert "12 tháng liên tục" in v.sentence and "Điều 103" in v.sentence


def test_minimum_for_other_bodies_and_old_law():
    v = one("3 HTX lập liên hiệp hợp tác xã có đủ không")
    assert v.rule_id == "min-members-lhhtx-2023" and v.yes
    v = one("Tổ hợp tác 2 người có đủ để thành lập không")
    assert v.rule_id == "min-members-tht-2023" and v.yes
    v = one("Theo luật 2012 thì 6 người thành lập HTX được không?", history=True)
    assert v.rule_id == "min-members-htx-2012" and not v.yes
    assert "7" in v.sentence and "Luật HTX 2012" in v.sentence


def test_count_from_the_story():
    v = one("Vậy có đủ để thành lập không ạ?", "Nhóm chúng tôi có 6 hộ trồng rau ở thôn Đông, muốn lập HTX.")
    assert v.rule_id == "min-members-htx-2023" and v.yes


@pytest.mark.parametrize(
    "text",
    [
        "Em có 3 người con, muốn vào HTX được không?",  # no founding question
        "HTX cần mấy người?",  # no number of their own
        "HĐQT có 3 người thì có cần ban kiểm soát không",  # counts the board
        "Nhà em có 4 người, thành lập HTX cần tối thiểu mấy người?",  # counts a family
        "Năm 2019 tôi vào htx, thành lập năm nào thì phải đăng ký lại?",
        "Luật mới có còn quy định từ 30 thành viên mới phải thành lập ban kiểm soát không",
    ],
)
def test_no_minimum_verdict_without_a_clear_fact_and_ask(text):
    assert [v for v in apply(text, "", None) if v.rule_id.startswith("min-members")] == []


def test_sentence_uses_the_unit_the_member_typed():
    v = one("Muốn lập HTX thì tối thiểu phải mấy người, bên em mới gom được 6 Hộ")
    assert v.yes and "6 hộ là đủ" in v.sentence


def test_short_question_borrows_the_story_topic():
    # "như vậy có đúng luật không" says nothing itself: the story holds both the fact and the topic.
    v = one("có đúng luật không", "Ông chủ nhiệm bên em góp tới 35% vốn điều lệ.")
    assert v.rule_id == "max-share-htx-2023" and not v.yes
    # A long question about something else does not borrow it.
    long_question = "Vậy HTX em muốn đổi tên thì phải làm những thủ tục gì ở xã ạ"
    assert apply(long_question, "Ông chủ nhiệm bên em góp tới 35% vốn điều lệ.", None) == []


# --- capital share ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, yes, pct",
    [
        ("Em góp 40% vốn điều lệ có được không?", False, "40%"),
        ("gop 40 phan tram von dieu le duoc ko", False, "40%"),
        ("Một thành viên góp 30% vốn thì có được không", True, "30%"),
        ("toi muon gop 25% von vao htx co duoc khong", True, "25%"),
        ("Ông ấy góp 35,5 % vốn điều lệ có vi phạm không", False, "35,5%"),
    ],
)
def test_capital_share_cap(text, yes, pct):
    v = one(text)
    assert v.rule_id == "max-share-htx-2023" and v.yes is yes
    assert pct in v.sentence and "30%" in v.sentence and "khoản 1 Điều 74 Luật HTX 2023" in v.sentence
    assert v.entry_id == "l23-von-gop-toi-da"


def test_capital_share_for_federation_and_old_law():
    v = one("Một HTX góp 35% vốn điều lệ liên hiệp hợp tác xã được không")
    assert v.rule_id == "max-share-lhhtx-2023" and v.yes and "40%" in v.sentence
    v = one("Theo luật cũ góp 25% vốn điều lệ có được không", history=True)
    assert v.rule_id == "max-share-htx-2012" and not v.yes and "20%" in v.sentence


@pytest.mark.parametrize(
    "text",
    [
        "Tổng vốn của thành viên liên kết góp vốn 40% có được không",  # another cap (k.2)
        "HTX trích 20% lợi nhuận vào quỹ có đúng không",
        "Thành viên nước ngoài góp 35% vốn được không",
        "Vốn góp tối đa là bao nhiêu?",  # no percentage of their own
        "HTX tăng vốn điều lệ 5% thì có phải đăng ký thay đổi không",  # registration, not a share
        "Vốn điều lệ giảm 10% thì có sao không",
    ],
)
def test_no_share_verdict_for_other_caps(text):
    assert [v for v in apply(text, "", None) if v.rule_id.startswith("max-share")] == []


# --- governance ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, story",
    [
        ("HTX có 8 thành viên thì có phải có HĐQT không", ""),
        ("htx 8 nguoi co can hdqt khong", ""),
        ("Vậy HTX em có bắt buộc phải có hội đồng quản trị không?", "HTX em có 12 xã viên, làm dịch vụ lúa."),
    ],
)
def test_small_cooperative_may_use_reduced_governance(question, story):
    v = one(question, story)
    assert v.rule_id == "governance-htx-2023" and v.yes
    assert "quản trị rút gọn" in v.sentence and "Điều 56 Luật HTX 2023" in v.sentence
    assert "Nghị định 113/2024" in v.sentence


def test_quoted_threshold_is_not_the_members_fact():
    assert apply("Có phải HTX từ 30 thành viên trở lên mới bắt buộc có hội đồng quản trị không", "", None) == []


def test_large_cooperative_gets_no_governance_verdict():
    # From 50 official members the size depends on revenue or capital too.
    assert apply("HTX có 120 thành viên có phải có HĐQT không", "", None) == []


def test_federation_governance_both_ways():
    v = one("Liên hiệp 12 HTX có phải có HĐQT không")
    assert v.rule_id == "governance-lhhtx-2023" and not v.yes
    v = one("liên hiệp htx có 6 htx thành viên thì có cần hội đồng quản trị không")
    assert v.rule_id == "governance-lhhtx-2023" and v.yes


def test_old_law_always_had_a_board():
    v = one("Hồi trước HTX 8 người có phải có HĐQT không?", history=True)
    assert v.rule_id == "governance-htx-2012" and not v.yes and "Điều 29 Luật HTX 2012" in v.sentence


# --- family ties -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, story, article",
    [
        ("Con gái giám đốc làm thủ quỹ có sai luật không?", "", "điểm c khoản 2 Điều 62"),
        ("giam doc cho vo lam thu quy duoc khong", "", "điểm c khoản 2 Điều 62"),
        ("Vợ chủ tịch làm trưởng ban kiểm soát có được không", "", "điểm c khoản 1 Điều 62"),
        ("Hai vợ chồng cùng ở HĐQT được không?", "", "điểm c khoản 1 Điều 62"),
        ("Anh em ruột cùng ở ban kiểm soát có được không", "", "điểm c khoản 3 Điều 62"),
        ("Vậy có đúng luật không?", "Vợ chủ tịch HTX em đang làm kế toán trưởng.", "điểm c khoản 1 Điều 62"),
        ("Vợ tôi làm thủ quỹ, tôi làm giám đốc có được không", "", "điểm c khoản 2 Điều 62"),
        ("con rể chủ tịch làm thủ quỹ có vi phạm không", "", "điểm c khoản 1 Điều 62"),
    ],
)
def test_forbidden_family_ties(question, story, article):
    v = one(question, story)
    assert v.rule_id == "family-ties-2023" and not v.yes
    assert v.sentence.startswith("Không được:") and article in v.sentence
    assert Citation("17/2023/QH15", 4, 11) in v.citations
    assert v.entry_id == "l12-quan-he-gia-dinh-quan-ly"


def test_plain_accountant_is_only_forbidden_as_chief_accountant():
    v = one("Vợ chủ tịch làm kế toán có được không?")
    assert not v.yes
    assert v.sentence.startswith("Không được nếu người đó là kế toán trưởng")
    assert "điểm c khoản 1 Điều 62" in v.sentence


def test_director_related_to_board_member_is_not_forbidden():
    v = one("Con trai chủ tịch làm giám đốc được không?")
    assert v.yes and "suy ra" in v.sentence


def test_relative_outside_the_legal_list():
    v = one("Cháu ruột chủ tịch làm thủ quỹ có được không")
    assert v.yes and "khoản 11 Điều 4" in v.sentence


@pytest.mark.parametrize(
    "text",
    [
        "Ông chủ tịch làm thủ quỹ có được không",  # "ông" names the chairman himself, not a relative
        "Vợ chủ tịch làm kế toán trưởng.",  # no question asked
        "Kế toán trưởng và thủ quỹ là chị em ruột có được không",  # not settled by Điều 62 alone
        "Thành viên HĐQT có được kiêm thủ quỹ không",  # no relative at all
    ],
)
def test_no_family_verdict(text):
    assert [v for v in apply(text, "", None) if v.rule_id.startswith("family")] == []


def test_family_rule_is_not_applied_to_the_old_law():
    assert apply("Vợ chủ tịch làm trưởng ban kiểm soát có được không", "", None, history=True) == []


# --- age ---------------------------------------------------------------------------------------


def test_age_rules():
    v = one("Con tôi 16 tuổi có vào HTX được không?")
    assert v.yes and "liên kết không góp vốn" in v.sentence and "khoản 2 Điều 30" in v.sentence
    v = one("con toi 16 tuoi co gop von vao htx duoc khong")
    assert not v.yes and "khoản 1, 2 Điều 30" in v.sentence
    v = one("Cháu 14 tuổi có tham gia HTX được không")
    assert not v.yes
    v = one("Mẹ tôi 62 tuổi có làm thành viên HTX được không")
    assert v.yes and "khoản 1 Điều 30" in v.sentence
    v = one("Theo luật cũ 17 tuổi có vào HTX được không", history=True)
    assert v.rule_id == "member-age-2012" and not v.yes


# --- meeting quorum ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, story, rule_id, yes, ratio",
    [
        (
            "HTX em có 60 xã viên, đại hội hôm rồi chỉ có 38 người đến, vậy đại hội có hợp lệ không?",
            "",
            "quorum-assembly-2023",
            True,
            "38/60",
        ),
        (
            "đại hội có hợp lệ ko",
            "htx em co 60 xa vien, dai hoi hom roi chi co 25 nguoi den.",
            "quorum-assembly-2023",
            False,
            "25/60",
        ),
        ("HTX 40 thành viên, dự đại hội có 20 người thì có đủ không", "", "quorum-assembly-2023", True, "20/40"),
        (
            "cuộc họp có hợp lệ không",
            "HĐQT bên em 5 người mà hôm họp chỉ có 3 người đến.",
            "quorum-board-2023",
            False,
            "3/5",
        ),
        ("HĐQT 3 người, họp có 2 người dự thì có hợp lệ không", "", "quorum-board-2023", True, "2/3"),
    ],
)
def test_meeting_quorum(question, story, rule_id, yes, ratio):
    v = one(question, story)
    assert v.rule_id == rule_id and v.yes is yes and ratio in v.sentence


def test_quorum_under_the_old_law():
    v = one("HTX 40 thành viên, dự đại hội có 29 người thì có đủ không", history=True)
    assert v.rule_id == "quorum-assembly-2012" and not v.yes and "75%" in v.sentence


def test_no_quorum_verdict_without_both_numbers():
    assert apply("Đại hội thành viên cần bao nhiêu người dự thì hợp lệ?", "", None) == []
    assert apply("Đại hội có 38 người đến thì có hợp lệ không", "", None) == []


# --- data --------------------------------------------------------------------------------------


def test_entry_ids_exist():
    ids: set[str] = set()
    for path in ENTRIES.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        ids.update(e["id"] for e in data.get("entries", []))
    rules = load_rules()
    sections = ("min_members", "max_share", "governance", "age", "quorum")
    linked = {r.get("entry_id") for s in sections for r in rules.data[s]["rules"]}
    linked.add(rules.data["family"]["entry_id"])
    assert linked <= ids


def test_every_sentence_cites_its_article():
    rules = load_rules()
    for section in ("min_members", "max_share", "governance", "age", "quorum"):
        for rule in rules.data[section]["rules"]:
            for key, text in rule.items():
                if key.startswith(("say_", "keep_no", "adult_", "minor_", "child_")):
                    assert "Điều" in text and ("Luật HTX" in text), (rule["id"], key)


def test_rules_are_validated():
    data = load_yaml("rules.yaml")
    FactRules.from_data(data)
    broken = dict(data, min_members={**data["min_members"], "rules": [{"id": "x", "law": "2030"}]})
    with pytest.raises(ValueError, match="2030"):
        FactRules.from_data(broken)
    fam = dict(data["family"], forbidden=[{"a": "board", "b": "chef", "article": "Điều 62"}])
    with pytest.raises(ValueError, match="forbidden"):
        FactRules.from_data(dict(data, family=fam))


def test_apply_is_fast_on_a_long_message():
    story = (
        "HTX em thành lập năm 2015, hiện có 8 thành viên, vợ chủ tịch đang làm kế toán trưởng, "
        "em góp 40% vốn điều lệ, con em 16 tuổi cũng muốn vào. "
    ) * 8
    question = "Vậy HTX em có phải có hội đồng quản trị không, và như vậy có đúng luật không?"
    apply(question, story, None)
    started = time.perf_counter()
    for _ in range(50):
        apply(question, story, None)
    assert (time.perf_counter() - started) / 50 < 0.004


def test_of_several_counts_the_one_marked_as_today_counts():
    story = "htx toi lap nam 2019 co 7 nguoi, 2 nguoi mat, 1 nguoi xin ra, gio chi con 4 thanh vien chinh thuc."
    verdict = one("vay co bi giai the khong", story)
    assert verdict.yes is False and "12 tháng" in verdict.sentence


def test_several_counts_none_marked_give_no_verdict():
    assert apply("co bi giai the khong", "HTX tôi có 7 thành viên, năm ngoái 2 người xin ra.", None) == []


@pytest.mark.parametrize("text", ["kiểm soát viên là em ruột giám đốc có được không",
                                  "HTX chỉ có một kiểm soát viên, lại là em ruột giám đốc, vậy đúng hay sai?"])
def test_the_post_first_then_whose_relative_holds_it(text):
    verdict = one(text)
    assert verdict.yes is False and "Điều 62" in verdict.sentence and "giám đốc" in verdict.sentence


def test_founding_a_branch_or_a_company_is_not_asking_about_the_member_count():
    story = "HTX hải sản của chúng tôi có 54 thành viên, quản trị đầy đủ."
    for question in ("Lập chi nhánh ở Hà Nội thì đăng ký ở đâu?", "HTX lập công ty TNHH có được không?"):
        assert [v for v in apply(question, story, None) if v.rule_id.startswith("min-members")] == []


@pytest.mark.parametrize("question", ["Vậy HTX trả vốn trong bao lâu, có phải chờ người khác vào thay không?",
                                      "Phần vốn góp của bố thì mẹ con được nhận lại hay được vào thay?"])
def test_an_age_in_the_story_of_someone_leaving_or_an_heir_is_not_a_joining_question(question):
    story = "Bố em góp 50 triệu vào HTX từ 2019, nay 72 tuổi yếu rồi."
    assert [v for v in apply(question, story, None) if v.rule_id.startswith("member-age")] == []


def test_an_age_in_the_story_does_not_answer_a_question_about_capital_or_profit():
    question = "Vậy thành viên liên kết không góp vốn có được chia lãi không?"
    story = "Mẹ tôi năm nay 67 tuổi, chỉ đăng ký là thành viên liên kết."
    assert [v for v in apply(question, story, None) if v.rule_id.startswith("member-age")] == []


def test_quorum_from_a_story_typed_without_tones():
    (v,) = [v for v in apply("hop dhtv nhu vay dc ko", "htx e co 23 tv chinh thuc, hom chu nhat hop dhtv chi co "
                             "10 nguoi toi.", None) if v.rule_id.startswith("quorum")]
    assert not v.yes and "10/23" in v.sentence
