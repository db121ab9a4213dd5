"""The old rule first (the member asked about the 2012 law), then today's rule in its first sentences."""

from dataclasses import replace

from handlers.render import TODAY_AFTER_HISTORY_WORDS, _opening, first_text

TODAY = ("Không còn. Hai quỹ bắt buộc cũ (đầu tư phát triển 20%, dự phòng 5%) đã bỏ. Nay HTX trích quỹ chung "
         "không chia: ít nhất 5% thu nhập từ giao dịch bên ngoài. Phần giao dịch nội bộ thì theo điều lệ, v.v. và "
         "đại hội quyết.")


def test_opening_keeps_whole_sentences_up_to_the_word_count():
    opening = _opening(TODAY, TODAY_AFTER_HISTORY_WORDS)
    assert opening.startswith("Không còn. Hai quỹ") and opening.endswith("giao dịch bên ngoài.")
    assert _opening("Một câu ngắn.", 20) == "Một câu ngắn."
    assert _opening("Theo điều lệ, v.v. và đại hội quyết. Câu hai.", 3) == "Theo điều lệ, v.v. và đại hội quyết."


def test_history_first_shortens_todays_rule_but_not_the_old_one(app):
    ctx = app.engine._context({"channel": "web", "user_key": "u", "province": None})
    entry = next(e for e in app.kb.entries.values() if e.history)
    entry = replace(entry, short=TODAY)
    text = first_text(ctx, entry, history_first=True)
    assert entry.history.strip() in text
    assert "giao dịch bên ngoài." in text and "đại hội quyết" not in text
    assert "đại hội quyết" in first_text(ctx, entry)  # asked about today: today's rule whole
