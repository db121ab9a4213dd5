"""Typed answers to typed text (handlers/selfcheck/understand.py), read from the real check files."""

from __future__ import annotations

from selfcheck_chat import check_of

from handlers.selfcheck.understand import Consent, Nav, OpenGroup, Pick, answer_targets, command, read, yes_no_targets


def test_the_longest_phrase_wins_and_a_tie_is_no_answer(kb):
    check = check_of(kb, "eligibility")
    law = answer_targets(check.step("law"))
    yes, no, unsure = (o.id for o in check.step("law").options)
    assert read(check, "có ạ", law) == Pick(yes)  # "ạ" is a filler
    assert read(check, "chưa", law) == Pick(no)
    assert read(check, "chưa biết", law) == Pick(unsure)  # longer than "chưa"
    assert read(check, "có không", law) is None  # two answers of the same length: ask again
    assert read(check, "htx em có giấy chứng nhận đăng ký và điều lệ đầy đủ rồi ạ", law) is None  # a sentence


def test_commands_come_from_the_data(kb):
    check = check_of(kb, "eligibility")
    law = answer_targets(check.step("law"))
    assert read(check, "quay lại", law) is Nav.BACK
    assert read(check, "bỏ qua", law) is Nav.SKIP
    assert read(check, "làm lại từ đầu", law) is Nav.RESTART
    assert command(check, "hủy") is Nav.CANCEL
    assert command(check, "Huy", multiword_only=True) is None  # a name, not "hủy"
    assert command(check, "hủy bỏ", multiword_only=True) is Nav.CANCEL


def test_groups_and_numbers_only_where_a_list_is_shown(kb):
    check = check_of(kb, "eligibility")
    step = check.step("model")
    group = step.groups[0]
    targets = answer_targets(step)
    assert read(check, group.label, targets) == OpenGroup(group.id)
    numbered = [Pick(o.id) for o in group.options]
    assert read(check, "2", targets, numbered=numbered) == Pick(group.options[1].id)
    assert read(check, "2", targets) is None


def test_consent_reads_the_shared_yes_no(kb):
    check = check_of(kb, "compliance")
    targets = yes_no_targets(check)
    assert read(check, "đồng ý gửi", targets) is Consent.YES
    assert read(check, "không gửi", targets) is Consent.NO
    assert read(check, "thôi", targets) is Nav.CANCEL
