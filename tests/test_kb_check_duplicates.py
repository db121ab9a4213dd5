"""Near-duplicate phrasings: a pair that differs only by a negation is not a duplicate."""

from bot.kb.check import _negation_differs


def test_negation_tells_phrasings_apart():
    assert _negation_differs("thanh vien khong gop von co duoc chia lai", "thanh vien gop von co duoc chia lai")
    assert _negation_differs("htx chua dang ky lai", "htx dang ky lai")


def test_other_differences_are_not_negation():
    assert not _negation_differs("thanh vien gop von", "thanh vien gop von")
    assert not _negation_differs("thanh vien moi gop von", "thanh vien gop von")
    assert not _negation_differs("khong khong gop von", "gop von")
