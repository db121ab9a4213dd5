"""Out-of-scope routing: another office's matter gets that office; cooperative matters stay in scope."""

from __future__ import annotations

import time

import pytest

from bot.reading import load_yaml
from bot.referral import KEYS, ReferralRules, load_rules, match, other_law_article, touched


@pytest.mark.parametrize(
    "text, key",
    [
        ("Nhà tôi muốn làm sổ đỏ cho mảnh đất ông bà để lại thì làm ở đâu?", "land"),
        ("lam so do cho dat nong nghiep o dau", "land"),
        ("Hàng xóm lấn đất nhà tôi 2 mét thì làm sao?", "land"),
        ("Chuyển mục đích sử dụng đất lúa sang đất ở mất bao lâu?", "land"),
        ("HTX em muốn xin cấp sổ đỏ cho đất trụ sở thì nộp hồ sơ ở đâu", "land"),
        ("Hóa đơn điện tử của HTX xuất thế nào?", "tax"),
        ("hoa don dien tu cua htx xuat the nao", "tax"),
        ("Hộ kinh doanh nộp thuế bao nhiêu một năm?", "tax"),
        ("quyết toán thuế thu nhập cá nhân làm ở đâu", "tax"),
        ("Rút bảo hiểm xã hội một lần thế nào?", "social_insurance"),
        ("rut bhxh 1 lan can giay to gi", "social_insurance"),
        ("Mẹ tôi 60 tuổi có được lương hưu không", "social_insurance"),
        ("Công ty nợ lương 3 tháng thì tôi làm gì?", "labour"),
        ("cty trả lương trễ 2 tháng rồi, e có hđlđ, kiện ở đâu", "labour"),
        ("Thủ tục xin giấy phép lao động cho người nước ngoài thế nào?", "labour"),
        ("Giá phân urê tháng này bao nhiêu một bao?", "none"),
        ("mo cty tnhh can bn von", "enterprise"),
        ("mua máy cày cũ của người trong htx, đưa tiền rồi mà không giao máy, làm sao đòi", "civil_dispute"),
        ("cho ông Khánh mượn 120 triệu, có viết giấy tay, giờ ông ấy tránh mặt", "civil_dispute"),
        ("sdo nha em bi ghi sai ten dem cua me em, sua o dau a", "land"),
        ("bi sa thai khong bao truoc co duoc boi thuong khong", "labour"),
        ("Tôi cho hàng xóm vay tiền không trả, khởi kiện thế nào?", "civil_dispute"),
        ("thủ tục ly hôn đơn phương", "civil_dispute"),
        ("Mở công ty TNHH cần bao nhiêu vốn?", "enterprise"),
        ("dang ky ho kinh doanh o dau", "enterprise"),
        ("Vay vốn ngân hàng Agribank cần thế chấp gì?", "bank_credit"),
        ("lai suat vay ngan hang chinh sach bao nhieu", "bank_credit"),
        ("Đăng ký xe máy mới mua ở đâu?", "vehicle"),
        ("doi bang lai xe o dau", "vehicle"),
        ("Lúa bị rầy nâu thì phun thuốc gì?", "farming"),
        ("cach bon phan cho ca phe", "farming"),
        ("Làm giấy khai sinh cho con ở đâu?", "civil_status"),
        ("Tuần này ở Cờ Đỏ có mưa không ad?", "none"),
        ("vay tiêu dùng FE Credit 20tr trả góp 12 tháng thì tổng lãi bao nhiêu", "bank_credit"),
        ("Ông giám đốc uống rượu lái xe bị thổi nồng độ cồn, phạt bao nhiêu", "vehicle"),
        ("Điện thoại em vào Zalo không gửi được file PDF, báo quá dung lượng", "none"),
        ("Ao tôm bị phân trắng, ruột lỏng thì xử lý nước thế nào", "farming"),
        ("Kế toán thử việc tối đa bao lâu, lương thử việc bao nhiêu %", "labour"),
        ("Thuế đất phi nông nghiệp nhà ở nông thôn nộp ở đâu", "tax"),
        ("lam can cuoc cong dan o dau", "civil_status"),
        ("Tối nay đội tuyển đá bóng mấy giờ?", "none"),
        ("giá lúa hôm nay bao nhiêu", "none"),
        ("kể chuyện cười đi", "none"),
        ("xo so mien nam hom nay", "none"),
    ],
)
def test_other_offices_matters_are_referred(text, key):
    referral = match(text)
    assert referral is not None and referral.key == key
    assert referral.office and referral.matched


@pytest.mark.parametrize(
    "text",
    [
        # Land + cooperative law: contributing land-use rights as capital is Luật HTX.
        "Góp vốn bằng quyền sử dụng đất vào HTX được không?",
        "gop von bang quyen su dung dat vao htx duoc khong",
        "HTX có được hỗ trợ tiền thuê đất không?",
        "Nhà tôi có đất nông nghiệp, muốn vào HTX có được không?",
        # Tax + cooperative policy (Điều 109).
        "HTX có được miễn thuế thu nhập doanh nghiệp không?",
        "htx moi thanh lap co duoc mien le phi mon bai khong",
        # Social insurance as the cooperative's own obligation.
        "HTX có phải đóng BHXH cho người lao động không?",
        # Two topics touched (toneless "lao dong thue" reads as "đóng thuế"); the cooperative's
        # social-insurance duty keeps it in scope.
        "htx co phai dong bao hiem xa hoi cho nguoi lao dong thue ngoai khong",
        # Paying back a member's capital, whatever the tax settlement.
        "Em xin ra khỏi HTX mà chưa được trả tiền góp, HTX bảo đợi quyết toán thuế xong",
        # Enterprise founded by a cooperative.
        "HTX muốn thành lập công ty con được không?",
        "chuyển hộ kinh doanh thành hợp tác xã thế nào",
        # Machinery support.
        "HTX mua máy cày có được hỗ trợ không?",
        # Plain cooperative questions.
        "Điều kiện thành lập hợp tác xã là gì?",
        "htx co duoc thue giam doc khong",
        "Thành viên liên kết có được chia lãi không?",
        "so do to chuc htx gom nhung ai",
        "sự kiện ra mắt HTX cần chuẩn bị gì",
        # Toneless words that also spell a trigger: "đặt ở", "ở tổ".
        "tru so htx dat o dau cung duoc a",
        "thanh vien o to hop tac co duoc chia loi nhuan khong",
        # A civil word with a cooperative matter.
        "Khi giải thể thì chia tài sản của HTX thế nào?",
        "Tranh chấp giữa thành viên và HTX thì giải quyết thế nào?",
        # Registration matters named next to another office's word.
        "HTX chưa có mã số thuế thì có bị thu hồi giấy chứng nhận không",
        "chưa có giấy chứng nhận đăng ký mà htx đã mua bán phân bón có bị phạt không",
        "vay vốn quỹ hỗ trợ phát triển hợp tác xã cần hồ sơ vay gì",
        "Ai là người đại diện theo pháp luật khi HTX ký hợp đồng vay vốn ngân hàng?",
        # The cooperative's own property, whatever the bank.
        "mấy tài sản này HTX có được bán hay đem thế chấp không?",
        "nhà nước trưng dụng đất của htx có đền bù không",
        # A cooperative's trucks and ponds in the story are not a vehicle or farming question.
        "HTX định chuyển trụ sở sang xã bên để tiện xe tải vào lấy hàng, có phải đăng ký không",
        "HTX nuôi tôm muốn vay Quỹ hỗ trợ phát triển HTX làm thêm 4 ao nuôi, mức vay tối đa bao nhiêu",
        # A branch is the cooperative's own registration matter.
        "Trong ban quản lý có người muốn lập chi nhánh, có người muốn HTX lập một công ty TNHH. Lập chi nhánh ở "
        "Hà Nội thì đăng ký ở đâu",
        # A company joining a cooperative is a membership question (Điều 30, 34).
        "Công ty TNHH chế biến gạo của tôi muốn tham gia liên hiệp HTX lúa gạo của huyện",
        # "giá phân" is inside "đánh giá phân loại".
        "htx nông nghiệp ở tỉnh đánh giá phân loại theo văn bản gì",
    ],
)
def test_cooperative_matters_stay_in_scope(text):
    assert match(text) is None


def test_land_question_with_a_cooperative_name_but_no_cooperative_matter_is_referred():
    # Naming the HTX is not enough: a land title is still the land office's matter.
    referral = match("HTX tôi bị thu hồi đất thì khiếu nại ở đâu?")
    assert referral is not None and referral.key == "land"
    assert match("HTX tôi bị thu hồi đất, tài sản không chia xử lý thế nào?") is None


def test_offices_name_no_district_level():
    rules = load_rules()
    for topic in rules.topics:
        text = topic.office.lower()
        assert "huyện" not in text and "quận" not in text, topic.key
        assert text.endswith("."), topic.key
    land = next(t for t in rules.topics if t.key == "land")
    assert "UBND xã" in land.office and "Văn phòng đăng ký đất đai" in land.office


def test_every_key_is_present_and_validated():
    data = load_yaml("referrals.yaml")
    assert tuple(t.key for t in ReferralRules.from_data(data).topics) == KEYS
    broken = dict(data, referrals={k: v for k, v in data["referrals"].items() if k != "vehicle"})
    with pytest.raises(ValueError, match="vehicle"):
        ReferralRules.from_data(broken)
    no_office = {k: dict(v) for k, v in data["referrals"].items()}
    no_office["tax"]["office"] = " "
    with pytest.raises(ValueError, match="tax"):
        ReferralRules.from_data(dict(data, referrals=no_office))


@pytest.mark.parametrize(
    "text, law",
    [
        ("Điều 50 Luật Đất đai quy định gì?", "Luật Đất đai"),
        ("dieu 50 luat dat dai noi gi", "Luật Đất đai"),
        ("Cho em hỏi điều 12 bộ luật dân sự", "Bộ luật Dân sự"),
        ("luật thuế thu nhập cá nhân điều 5 nói gì", "Luật Thuế thu nhập cá nhân"),
        ("theo luật thuế thì điều 5 quy định thế nào", "luật thuế"),
        ("Điều 35 Bộ luật Lao động về nghỉ việc", "Bộ luật Lao động"),
        ("Tôi đọc Điều 38 Luật An toàn, vệ sinh lao động thì thấy…", "Luật An toàn, vệ sinh lao động"),
        ("theo dieu 64 luat bhxh thi sao", "Luật Bảo hiểm xã hội"),
        ("Điều 644 BLDS nói gì", "Bộ luật Dân sự"),
        ("Điều 2 Luật Trật tự, an toàn giao thông đường bộ", "Luật Trật tự, an toàn giao thông đường bộ"),
    ],
)
def test_articles_of_other_laws_are_flagged(text, law):
    assert other_law_article(text) == law


@pytest.mark.parametrize(
    "text",
    [
        "điều 17 luật htx",
        "Điều 30 Luật Hợp tác xã 2023 nói gì?",
        "điều 5 nghị định 113",
        "Điều 62 luật 17/2023/QH15",
        "điều kiện thành lập hợp tác xã",
        "Luật Đất đai có điều khoản nào về HTX",  # no article number
        "điều 17 nói gì",
        # The article belongs to Luật HTX even though another law is named later.
        "Điều 74 Luật HTX 2023 có áp dụng khi góp đất theo Luật Đất đai không",
    ],
)
def test_cooperative_articles_are_not_flagged(text):
    assert other_law_article(text) is None


def test_matching_is_fast():
    text = " ".join(["HTX em có 8 thành viên, năm nay muốn góp vốn bằng quyền sử dụng đất và xuất hóa đơn."] * 12)
    match(text)
    started = time.perf_counter()
    for _ in range(50):
        match(text)
        other_law_article(text)
    assert (time.perf_counter() - started) / 50 < 0.004


def test_touched_names_the_office_even_when_cooperative_words_keep_it_in_scope():
    text = "tranh chấp ranh giới đất giữa hai thành viên HTX thì giải quyết ở đâu?"
    assert match(text) is None  # "thành viên HTX" keeps it in scope
    touched_ = touched(text)
    assert touched_ is not None and touched_.key == "land"


@pytest.mark.parametrize("text", ["xã viên muốn góp vốn bằng con trâu, cái máy cày được ko",
                                  "luật mới có hỗ trợ tiền lương để thuê kỹ sư về làm cho htx không"])
def test_touched_respects_the_keep_words_beside_a_cooperative(text):
    assert touched(text) is None


def test_keep_words_count_only_beside_the_cooperative():
    # A household's matter told in a long story that mentions the cooperative it sells to stays the
    # land office's; "hỗ trợ" beside "HTX" keeps the cooperative's own support in scope.
    far = ("Nhà tôi có 720 m2 đất nông nghiệp, lâu nay bán rau cho HTX rau sạch của xã. Nay nhà nước thu hồi để "
           "làm đường, giá bồi thường thấp quá. Gia đình tôi có được hỗ trợ chuyển nghề không?")
    referral = match(far)
    assert referral is not None and referral.key == "land"
    assert match("HTX có được hỗ trợ tiền thuê đất không?") is None
    assert match("HTX em cần thuê đất làm kho sấy, có được hỗ trợ tiền thuê không?") is None


def test_a_keep_term_in_a_question_of_a_message_about_a_cooperative_keeps_it_in_scope():
    question = "Phần thu nhập từ giao dịch với thành viên có được miễn thuế không?"
    alone = match(question)
    assert alone is not None and alone.key == "tax"
    assert match(question, cooperative=True) is None  # "Tôi là kế toán HTX lúa gạo …" came before it


def test_a_private_matter_is_not_kept_in_scope_by_the_cooperative_beside_it():
    text = ("chao ad, e lam ke toan htx, e muon hoi ve viec rieng: vo chong e muon ly hon, tai san chung co mieng dat "
            "va chiec xe may, chia the nao ad")
    referral = match(text)
    assert referral is not None and referral.key == "civil_dispute"
    assert match("e lam ke toan htx, khi giai the htx thi tai san chung chia the nao") is None


def test_an_off_topic_subject_that_outweighs_an_office_is_said_politely():
    near = touched("bố em là xã viên HTX, năm nay 70 tuổi hay bị đau lưng, uống thuốc gì cho đỡ ạ?")
    assert near is not None and near.key == "none"
