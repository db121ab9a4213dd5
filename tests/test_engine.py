"""The engine and the basic conversations, driven as a channel would drive them."""

from bot.db import Store
from bot.engine import Engine
from bot.types import Incoming


def send(app, text=None, payload=None, user="u1", channel="web", **kw):
    return [s.reply for s in app.engine.handle(Incoming(channel, user, text=text, payload=payload, **kw))]


def payloads(reply):
    return [b.payload for row in reply.buttons for b in row]


def test_start_shows_menu_and_honours_province_deep_link(app):
    (reply,) = send(app, "/start kontum")
    assert "Trợ lý HTX" in reply.text and "Kon Tum" in reply.text and "Quảng Ngãi" in reply.text
    assert "intent:eligibility" in payloads(reply)
    assert app.store.user("web", "u1")["province"] == "Kon Tum"


def test_answer_has_sources_today_and_feedback_buttons(app, kb):
    entry = kb.entries["tv-dieu-kien"]  # today's rule (2023 law) plus the repealed 2012 rule as history
    (reply,) = send(app, entry.questions[0])
    row = app.store.conn.execute("select id, kind, entry_id, score from messages").fetchone()
    assert row["kind"] == "answer" and row["entry_id"] == entry.id and row["score"] > 0
    first, sources = reply.text.split("\n")  # today's rule, then its sources: nothing else
    assert first == entry.short.strip()
    assert sources.startswith(kb.texts["sources"]) and kb.document("17/2023/QH15").short in sources
    assert "23/2012/QH13" not in reply.text  # the repealed law only behind the history button
    assert entry.history.strip() not in reply.text and entry.detail.strip() not in reply.text
    assert kb.texts["today"] not in reply.text  # no v1 "Hiện nay:" block
    assert [b.payload for b in reply.buttons[0]] == [f"faq:d:{entry.id}", f"faq:h:{entry.id}"]
    assert reply.buttons[0][0].label == kb.texts["detail_button"]
    assert [b.payload for b in reply.buttons[1]] == [f"fb:+:{row['id']}", f"fb:-:{row['id']}"]

    # An entry with an `unsure` line and no detail: the line follows `short`, no detail button.
    entry = kb.entries["dk-noi-dang-ky"]
    (reply,) = send(app, entry.questions[0])
    assert reply.text.split("\n")[:2] == [entry.short.strip(), entry.unsure.strip()]
    assert "295/2026/NĐ-CP" in reply.text.split("\n")[2] and "92/2024" not in reply.text
    assert payloads(reply)[0] == f"faq:h:{entry.id}" and f"faq:d:{entry.id}" not in payloads(reply)


def test_unknown_is_honest_logs_for_staff_and_gives_contact(app):
    (reply,) = send(app, "hợp tác xã có được khai thác cát sỏi lòng sông xyzzy không")
    assert reply.text == app.engine.knowledge.kb.texts["unknown"].format(
        alliance=app.config.alliance.name, contact=app.config.alliance.contact(), hours=app.config.alliance.hours)
    (ticket,) = app.store.tickets()
    assert ticket["reason"] == "unknown" and "xyzzy" in ticket["text"]


def test_off_topic_and_junk_get_a_polite_reply_and_no_ticket(app):
    (price,) = send(app, "giá heo hơi hôm nay bao nhiêu một ký")
    (junk,) = send(app, "asdkjh qwpoei")
    assert "/canbo" not in price.text and app.config.alliance.phone not in price.text
    assert junk.text.startswith(app.kb.texts["not_understood"].split("{")[0])
    assert app.store.tickets() == []


def test_feedback_buttons(app):
    (answer,) = send(app, "góp vốn tối đa bao nhiêu")
    up = next(p for p in payloads(answer) if p.startswith("fb:+:"))
    down = up.replace("fb:+:", "fb:-:")
    (thanks,) = send(app, payload=up)
    assert "Cảm ơn" in thanks.text
    (sorry,) = send(app, payload=down)
    assert "cán bộ" in sorry.text
    fb = app.store.conn.execute("select value from feedback").fetchall()
    assert [r["value"] for r in fb] == [-1]  # the second press replaced the first
    assert app.store.tickets()[0]["reason"] == "negative_feedback"


def test_feedback_on_someone_elses_message_is_ignored(app):
    (answer,) = send(app, "góp vốn tối đa bao nhiêu", user="alice")
    down = next(p for p in payloads(answer) if p.startswith("fb:-:"))
    (reply,) = send(app, payload=down, user="mallory")
    assert app.store.conn.execute("select count(*) from feedback").fetchone()[0] == 0
    assert app.store.tickets() == []
    assert reply.text


def test_staff_conversation(app):
    (ask,) = send(app, "/canbo")
    assert "gõ câu hỏi" in ask.text
    (done,) = send(app, "HTX tôi bị nợ thuế thì làm sao")
    assert "Đã gửi" in done.text
    (ticket,) = app.store.tickets()
    assert ticket["reason"] == "staff_request" and "nợ thuế" in ticket["text"]
    assert app.store.dialog("web", "u1")[0] is None


def test_cancel(app):
    send(app, "/canbo")
    (reply,) = send(app, "/huy")
    assert "Đã dừng" in reply.text and app.store.dialog("web", "u1")[0] is None
    (reply,) = send(app, "/huy")
    assert "không có việc" in reply.text


def test_province_conversation(app):
    send(app, "/tinh")
    (bad,) = send(app, "Atlantis")
    assert "chưa nhận ra" in bad.text
    (ok,) = send(app, "tra vinh")
    assert "Trà Vinh" in ok.text and "Vĩnh Long" in ok.text
    assert app.store.user("web", "u1")["province"] == "Trà Vinh"


def test_photo_gets_a_polite_reply_and_keeps_the_conversation(app):
    send(app, "/canbo")
    (reply,) = send(app, attachment="photo")
    assert "chữ" in reply.text
    assert app.store.dialog("web", "u1")[0]["flow"] == "staff"


def test_long_junk_is_cut_and_said(app):
    replies = send(app, "x" * 50_000)
    assert "dài quá" in replies[0].text
    stored = app.store.conn.execute("select text from messages").fetchone()["text"]
    assert len(stored) <= 8000


def test_stale_or_forged_payloads_do_not_crash(app):
    for payload in ["faq:e:khong-ton-tai", "fb:+:999999", "fb:x:abc", "nope:zzz", "staff:q:abc", ":::", "intent:nope"]:
        replies = send(app, payload=payload)
        assert replies and all(r.text for r in replies), payload


def test_privacy_forget(app):
    send(app, "số điện thoại tôi là 0912345678, htx là gì")
    (confirm,) = send(app, "/xoadulieu")
    assert "privacy:forget-yes" in payloads(confirm)
    (done,) = send(app, payload="privacy:forget-yes")
    assert "Đã xóa" in done.text
    texts = [r["text"] for r in app.store.conn.execute("select text from messages").fetchall()]
    assert not any(t and "0912345678" in t for t in texts)


def test_dialog_survives_restart_and_expires(app, kb, searcher, config):
    send(app, "/canbo")
    restarted = Engine(kb, Store(config.storage.path), config, searcher=searcher)
    restarted.handle(Incoming("web", "u1", text="câu hỏi sau khi khởi động lại"))
    assert "khởi động lại" in app.store.tickets()[0]["text"]

    now = [0.0]
    clocked = Engine(kb, Store(config.storage.path, clock=lambda: now[0]), config, searcher=searcher,
                     clock=lambda: now[0])
    clocked.handle(Incoming("web", "u2", text="/canbo"))
    now[0] += config.dialog.expiry_minutes * 60 + 1
    replies = [s.reply for s in clocked.handle(Incoming("web", "u2", text="htx là gì"))]
    assert "quá hạn" in replies[0].text
    assert len(app.store.tickets()) == 1  # the late text was answered as a question, not sent to staff


def test_handler_crash_is_recorded_and_user_told(app, monkeypatch):
    def boom(*args):
        raise RuntimeError("bug")

    monkeypatch.setitem(app.engine.handlers, "help", boom)
    (reply,) = send(app, "/help")
    assert "trục trặc" in reply.text
    row = app.store.conn.execute("select status, error from messages").fetchone()
    assert row["status"] == "failed" and "RuntimeError" in row["error"]


def test_feedback_on_an_answer_reached_by_a_button(app):
    (answer,) = send(app, payload="faq:e:tv-dieu-kien")
    down = next(p for p in payloads(answer) if p.startswith("fb:-:"))
    (sorry,) = send(app, payload=down)
    assert "cán bộ" in sorry.text
    (ticket,) = app.store.tickets()
    assert ticket["reason"] == "negative_feedback" and "tv-dieu-kien" in ticket["text"]


def test_asking_for_staff_inside_a_longer_message_sends_it_at_once(app):
    text = "ad ơi chuyển giúp em cho cán bộ với, hồ sơ vay quỹ của htx em bị trả lại mà không rõ lý do"
    (reply,) = send(app, text)
    assert "Đã gửi" in reply.text
    (ticket,) = app.store.tickets()
    assert ticket["reason"] == "staff_request" and "hồ sơ vay quỹ" in ticket["text"]
    row = app.store.conn.execute("select kind, intent from messages").fetchone()
    assert (row["kind"], row["intent"]) == ("intent", "staff")


def test_flood_is_stored_but_not_answered_beyond_the_limit(app, kb, searcher, config):
    now = [1000.0]
    config.limits.messages_per_minute = 5
    engine = Engine(kb, Store(config.storage.path, clock=lambda: now[0]), config, searcher=searcher,
                    clock=lambda: now[0])
    replies = [[s.reply.text for s in engine.handle(Incoming("web", "spam", text=f"htx là gì {i}"))]
               for i in range(8)]
    assert all(r and "Nguồn:" in r[0] for r in replies[:5])
    assert "nhanh quá" in replies[5][0] and replies[6] == [] and replies[7] == []
    assert app.store.conn.execute("select count(*) from messages where user_key = 'spam'").fetchone()[0] == 8
    assert [s.reply.text for s in engine.handle(Incoming("web", "other", text="htx là gì"))]  # others unaffected
    now[0] += 61
    assert "Nguồn:" in engine.handle(Incoming("web", "spam", text="htx là gì"))[0].reply.text


def test_an_unanswered_question_about_nothing_cooperative_opens_no_ticket(app):
    (reply,) = send(app, "cài đặt phần mềm diệt virus cho máy tính thế nào")
    # Either the general "not something I answer" or, as here, the off-topic pointer (its closest words are
    # an off-topic subject's): neither promises a staff answer.
    off_topic = app.kb.readers.referral.off_topic().office
    assert reply.text.startswith((app.kb.texts["unknown_general"].split("{")[0], off_topic))
    assert app.store.tickets() == []
    (coop,) = send(app, "hợp tác xã có được khai thác cát sỏi lòng sông xyzzy không")
    assert [t["reason"] for t in app.store.tickets()] == ["unknown"]
