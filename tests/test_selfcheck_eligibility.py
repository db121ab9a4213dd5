"""The pilot-eligibility self-check (/kiemtra), walked through the engine as a user would.

Every path of the issue: all conditions met, each single mandatory condition failing, unknown and
skipped answers, back / skip / restart / cancel at every step, typed answers, help on every
question, resume after a restart, expiry, consent given and refused, stale and orphan buttons, and
the same walk over the web chat and Telegram. Questions and answers come from
knowledge/selfchecks/eligibility.yaml, so the tests follow the data.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import sqlite3
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from fake_telegram import FakeTelegram
from scripted import USER_NAME, Step
from selfcheck_chat import (
    Chat,
    check_of,
    comparable,
    failing_answer,
    meeting_answers,
    play_telegram,
    play_web,
    script,
    unsure_answer,
)

from bot.app import App
from bot.cli import answer_json, main
from bot.db import Store
from bot.engine import Engine
from bot.markup import to_plain
from handlers.selfcheck_model import SKIPPED

NAME = "eligibility"
DATA = yaml.safe_load((Path(__file__).parent.parent / "knowledge/selfchecks/eligibility.yaml").read_text("utf-8"))
STEP_IDS = [s["id"] for s in DATA["steps"]]
MANDATORY = [s["id"] for s in DATA["steps"] if s["kind"] == "mandatory"]
PRIORITY = [s["id"] for s in DATA["steps"] if s["kind"] == "priority"]


class Clock:
    def __init__(self, now: float | None = None):
        self.now = now if now is not None else time.time()

    def __call__(self) -> float:
        return self.now


def make_app(config, kb, searcher, clock=None) -> App:
    store = Store(config.storage.path, clock=clock or time.time)
    return App(config, kb, store, Engine(kb, store, config, searcher=searcher, clock=clock or time.time))


def filled(app, text: str) -> str:
    alliance = app.config.alliance
    return text.replace("{alliance}", alliance.name).replace("{contact}", alliance.contact()).strip()


@pytest.fixture
def chat(app):
    return Chat(app)


@pytest.fixture
def check(kb):
    return check_of(kb, NAME)


def test_the_data_has_the_plans_12_models_and_both_kinds_of_condition(check):
    model = next(s for s in check.steps if s.groups)
    assert [len(g.options) for g in model.groups] == [8, 4]
    assert len(MANDATORY) >= 5 and len(PRIORITY) >= 5
    assert check.programme["period"]["label"] == "2021–2025"
    assert {n.doc for n in check.notes.values()} >= {"01/2020/TT-BKHĐT", "23/2012/QH13"}


# --- starting ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["/kiemtra", "payload:intent:eligibility",
                                   "tôi muốn kiểm tra HTX có đủ điều kiện thí điểm không"])
def test_command_menu_button_and_free_text_start_the_check(chat, check, start):
    if start.startswith("payload:"):
        chat.press(start.removeprefix("payload:"))
    else:
        chat.say(start)
    intro, question = chat.turn
    assert "Kon Tum" in intro.text and str(len(check.steps)) in intro.text
    # The period is over (today is after 31/12/2025): said at once, before any question.
    assert "đã kết thúc" in intro.text and "2026–2030" in intro.text
    first = check.steps[0]
    assert first.question in question.text and "Câu 1/" in question.text
    assert f"{NAME}:a:{first.id}:co" in chat.payloads()
    assert {f"{NAME}:{a}" for a in ("help", "back", "skip", "restart", "cancel")} <= set(chat.payloads())
    assert chat.state()["flow"] == NAME and chat.state()["step"] == first.id


def test_ask_json_routes_eligibility_phrasings_to_the_check(app):
    for question in ["tôi muốn kiểm tra HTX có đủ điều kiện thí điểm không",
                     "htx toi co du dieu kien tham gia mo hinh htx kieu moi khong",
                     "tự kiểm tra điều kiện thí điểm"]:
        got = answer_json(app.engine, question, None)
        assert (got["kind"], got["intent"]) == ("intent", NAME), (question, got)
        assert "Câu 1/" in got["text"]


def test_htx_bot_ask_json_command(tmp_path):
    result = CliRunner().invoke(main, ["ask", "--json", "tôi muốn kiểm tra HTX có đủ điều kiện thí điểm không"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert '"kind": "intent"' in result.output and '"intent": "eligibility"' in result.output


# --- results -------------------------------------------------------------------------------------------


def test_all_conditions_met(app, chat, check):
    chat.say("/kiemtra")
    chat.walk(check, meeting_answers(check))
    main_reply, extra, consent = chat.turn
    assert check.result["pass"] in main_reply.text
    for sid in MANDATORY:
        assert check.step(sid).short in main_reply.text
    assert "Chưa đạt" not in main_reply.text
    # Priority conditions met, the dossier, the repealed rules and the programme's status.
    for sid in PRIORITY:
        assert check.step(sid).short in main_reply.text
    for item in check.dossier["items"]:
        assert filled(app, item) in extra.text
    assert "01/2020/TT-BKHĐT" in extra.text and "18/09/2025" in extra.text
    assert "Giai đoạn 2021–2025: **đã kết thúc**" in extra.text
    assert f"{NAME}:send" in [b.payload for row in consent.buttons for b in row]
    assert chat.state()["phase"] == "send"
    (row,) = app.store.selfcheck_results(NAME)
    assert row["result"]["verdict"] == "meets" and row["result"]["unmet"] == []
    assert row["result"]["programme_status"] == "ended"
    assert [a["step"] for a in row["answers"]] == STEP_IDS
    assert all(a["question"] and a["label"] for a in row["answers"])
    assert row["consent"] == 0 and row["contact_name"] is None and row["sent_to_staff"] == 0


@pytest.mark.parametrize("failing", MANDATORY)
def test_each_mandatory_condition_failing(app, chat, check, failing):
    answers = meeting_answers(check)
    step = check.step(failing)
    answers[failing] = failing_answer(step)
    chat.say("/kiemtra")
    chat.walk(check, answers)
    text = chat.turn[0].text
    assert check.result["fail"].split("{n}")[0] in text
    unmet_part = text.split("**Chưa đạt — việc cần làm:**")[1].split("**Đã đạt:**")[0]
    assert step.short in unmet_part and filled(app, step.unmet) in unmet_part
    assert "Nguồn:" in unmet_part
    for other in MANDATORY:
        if other != failing:
            assert check.step(other).short not in unmet_part
    (row,) = app.store.selfcheck_results(NAME)
    assert row["result"]["verdict"] == "not_yet" and row["result"]["unmet"] == [failing]


def test_an_unknown_condition_makes_the_result_unclear(app, chat, check):
    answers = meeting_answers(check)
    answers["profit"] = unsure_answer(check.step("profit"))
    chat.say("/kiemtra")
    chat.walk(check, answers)
    text = chat.turn[0].text
    assert check.result["unclear"].split("{n}")[0] in text and "**Chưa rõ — cần xem lại:**" in text
    assert filled(app, check.step("profit").unsure) in text
    (row,) = app.store.selfcheck_results(NAME)
    assert row["result"]["verdict"] == "not_yet" and row["result"]["unclear"] is True
    assert row["result"]["unknown"] == ["profit"]


def test_priority_conditions_listed_only_when_met(app, chat, check):
    answers = meeting_answers(check)
    for sid in PRIORITY:
        answers[sid] = failing_answer(check.step(sid))
    answers[PRIORITY[-1]] = "co"
    chat.say("/kiemtra")
    chat.walk(check, answers)
    text = chat.turn[0].text
    priority_part = text.split("**Điều kiện ưu tiên HTX đang có:**")[1]
    assert check.step(PRIORITY[-1]).short in priority_part
    assert all(check.step(s).short not in priority_part for s in PRIORITY[:-1])
    assert app.store.selfcheck_results(NAME)[0]["result"]["priority_met"] == [PRIORITY[-1]]
    # None met: said so, and it does not change the verdict.
    answers[PRIORITY[-1]] = "khong"
    chat.press(f"{NAME}:restart")
    chat.walk(check, answers)
    assert to_plain(app.kb.texts["sc_priority_none"]) in chat.turn[0].text
    assert check.result["pass"] in chat.turn[0].text


def test_the_model_is_picked_from_groups_by_button_number_or_word(app, chat, check):
    chat.say("/kiemtra")
    chat.say("có")
    assert chat.current_step(check) == "model"
    model = check.step("model")
    assert [p for p in chat.payloads() if ":g:" in p] == [f"{NAME}:g:model:nn", f"{NAME}:g:model:pnn"]
    chat.press(f"{NAME}:g:model:pnn")
    assert [p for p in chat.payloads() if ":a:" in p] == [f"{NAME}:a:model:{o.id}" for o in model.groups[1].options]
    assert "1. " + model.groups[1].options[0].label in chat.last.text
    chat.say("quay lại")  # back from a group: to the groups, same question
    assert f"{NAME}:g:model:nn" in chat.payloads() and chat.state()["step"] == "model"
    chat.say("nông nghiệp")
    chat.say("6")
    assert chat.state()["answers"]["model"] == model.groups[0].options[5].id
    chat.say("quay lại")
    chat.say("OCOP")  # a model's own word, without opening its group
    assert chat.state()["answers"]["model"] == "nn6"
    chat.walk(check, meeting_answers(check))
    assert "Làm theo một trong 12 mô hình của kế hoạch: Sản phẩm OCOP" in chat.turn[0].text


# --- help, navigation, typed answers -------------------------------------------------------------------


def test_every_question_has_a_plain_explanation_with_its_source(app, chat, check):
    chat.say("/kiemtra")
    seen = []
    while (sid := chat.current_step(check)) is not None:
        step = check.step(sid)
        explanation, again = chat.press(f"{NAME}:help")
        assert step.short in explanation.text
        assert filled(app, step.explanation).splitlines()[0][:60] in explanation.text
        assert "Nguồn:" in explanation.text
        for src in step.sources:
            assert app.kb.document(src.doc).short in explanation.text
        for nid in step.repealed:
            assert filled(app, check.notes[nid].text)[:60] in explanation.text
        assert step.question in again.text and chat.state()["step"] == sid
        seen.append(sid)
        chat.answer(check, sid, meeting_answers(check)[sid])
    assert seen == STEP_IDS
    # The model question's help lists all 12 models.
    chat.press(f"{NAME}:restart")
    chat.say("có")
    (explanation, _) = chat.press(f"{NAME}:help")
    for group in check.step("model").groups:
        for option in group.options:
            assert option.label in explanation.text


@pytest.mark.parametrize("index", range(len(STEP_IDS)))
def test_back_skip_restart_cancel_at_every_step(app, check, index):
    answers = meeting_answers(check)
    sid = STEP_IDS[index]

    def at_step(user):
        c = Chat(app, user=user)
        c.say("/kiemtra")
        c.walk(check, answers, stop_at=sid)
        assert c.current_step(check) == sid
        return c

    back = at_step("back")
    back.press(f"{NAME}:back")
    if index == 0:
        assert to_plain(app.kb.texts["sc_first_step"]) in back.last.text and back.state()["step"] == sid
    else:
        assert back.state()["step"] == STEP_IDS[index - 1]
        assert STEP_IDS[index - 1] not in back.state()["answers"]
        assert check.step(STEP_IDS[index - 1]).question in back.last.text

    skip = at_step("skip")
    skip.press(f"{NAME}:skip")
    assert skip.state()["answers"][sid] == SKIPPED
    if index + 1 < len(STEP_IDS):
        assert skip.state()["step"] == STEP_IDS[index + 1]
    else:  # skipping the last question asks the cooperative's name (optional), then gives the result
        assert skip.state()["phase"] == "coop"
        skip.press(f"{NAME}:noname")
        assert skip.state()["phase"] == "send"

    restart = at_step("restart")
    intro, question = restart.press(f"{NAME}:restart")
    assert "Kon Tum" in intro.text and check.steps[0].question in question.text
    assert restart.state()["answers"] == {} and restart.state()["step"] == STEP_IDS[0]

    cancel = at_step("cancel")
    (reply,) = cancel.press(f"{NAME}:cancel")
    assert reply.text == app.kb.texts["sc_cancelled"] and cancel.state() is None
    assert [r for r in app.store.selfcheck_results(NAME) if r["user_key"] != "skip"] == []  # nothing stored on the way


def test_a_skipped_mandatory_condition_is_reported_as_not_known(app, chat, check):
    chat.say("/kiemtra")
    chat.walk(check, meeting_answers(check), stop_at="rating")
    chat.press(f"{NAME}:skip")
    chat.walk(check, meeting_answers(check))
    text = chat.turn[0].text
    assert check.step("rating").short + "** " + to_plain(app.kb.texts["sc_skipped"]) in text
    assert app.store.selfcheck_results(NAME)[0]["result"]["unknown"] == ["rating"]


@pytest.mark.parametrize("typed,expected", [
    ("co", "co"), ("Có ạ", "co"), ("dạ có", "co"), ("khong", "khong"), ("ko", "khong"),
    ("dạ không", "khong"), ("chưa", "khong"), ("chua biet", "chuabiet"), ("không biết", "chuabiet"),
    ("em chưa rõ", "chuabiet"),
])
def test_typed_answers_are_understood(chat, check, typed, expected):
    chat.say("/kiemtra")
    chat.say(typed)
    assert chat.state()["answers"] == {"law": expected}
    assert chat.state()["step"] == "model"


@pytest.mark.parametrize("typed", ["hôm nay trời đẹp quá", "có không", "👍", "?", "3",
                                   "HTX tôi có lãi năm 2023 nhưng năm 2022 bị lỗ một chút do hạn hán"])
def test_unclear_text_is_asked_again_politely(app, chat, check, typed):
    chat.say("/kiemtra")
    (reply,) = chat.say(typed)
    assert reply.text.startswith("Xin lỗi, tôi chưa hiểu") and check.steps[0].question in reply.text
    assert chat.state()["answers"] == {} and chat.state()["step"] == "law"
    assert f"{NAME}:a:law:co" in chat.payloads()


def test_typed_navigation_words(app, chat, check):
    chat.say("/kiemtra")
    chat.say("có")
    chat.say("bỏ qua")
    assert chat.state()["answers"]["model"] == SKIPPED and chat.state()["step"] == "profit"
    chat.say("quay lại")
    assert chat.state()["step"] == "model"
    explanation, _ = chat.say("nghĩa là gì")
    assert "12 mô hình" in explanation.text
    chat.say("làm lại")
    assert chat.state()["answers"] == {}
    chat.say("hủy")
    assert chat.state() is None


def test_stale_button_from_an_earlier_question(app, chat, check):
    chat.say("/kiemtra")
    chat.press(f"{NAME}:a:law:co")
    (reply,) = chat.press(f"{NAME}:a:law:khong")  # pressed again on the old message
    assert to_plain(app.kb.texts["sc_stale"]) in reply.text and check.step("model").question in reply.text
    assert chat.state()["answers"] == {"law": "co"}
    chat.press(f"{NAME}:a:nosuchstep:co")
    chat.press(f"{NAME}:a:model:nosuchanswer")
    chat.press(f"{NAME}:g:model:nosuchgroup")
    chat.press(f"{NAME}:frobnicate")
    assert chat.state()["answers"] == {"law": "co"} and chat.state()["step"] == "model"


@pytest.mark.parametrize("payload", [f"{NAME}:a:law:co", f"{NAME}:help", f"{NAME}:back", f"{NAME}:send",
                                     f"{NAME}:confirm", f"{NAME}:resume", f"{NAME}:g:model:nn", NAME])
def test_own_button_without_a_conversation_offers_to_start(app, chat, payload):
    (reply,) = chat.press(payload)
    assert "làm lại từ đầu" in reply.text and chat.payloads() == [f"{NAME}:start"]
    assert chat.state() is None
    chat.press(f"{NAME}:start")
    assert chat.state()["step"] == "law"
    assert app.store.conn.execute("select count(*) from messages where status = 'failed'").fetchone()[0] == 0


def test_cancel_button_without_a_conversation(app, chat):
    (reply,) = chat.press(f"{NAME}:cancel")
    assert reply.text == app.kb.texts["nothing_to_cancel"]


def test_huy_command_cancels_mid_check(app, chat):
    chat.say("/kiemtra")
    chat.say("có")
    chat.say("/huy")
    assert chat.state() is None


def test_a_question_from_the_menu_mid_check_keeps_the_check(app, chat, check):
    chat.say("/kiemtra")
    chat.say("có")
    chat.press("help:show")
    assert chat.state()["step"] == "model" and chat.state()["answers"] == {"law": "co"}


# --- resume, expiry --------------------------------------------------------------------------------------


def test_resume_after_a_restart_of_the_bot(config, kb, searcher, check):
    first = make_app(config, kb, searcher)
    c = Chat(first)
    c.say("/kiemtra")
    c.walk(check, meeting_answers(check), stop_at="rating")
    first.store.close()

    second = make_app(config, kb, searcher)  # a new process over the same database file
    try:
        c = Chat(second)
        c.say("chưa biết")  # typed straight away: answers the question it stopped at
        assert c.state()["answers"]["rating"] == "chuabiet" and c.state()["step"] == "plan"
        (offer,) = c.say("/kiemtra")  # asked to start again: offered to resume instead of losing answers
        assert "đang làm dở" in offer.text
        assert [b.payload for row in offer.buttons for b in row] == [f"{NAME}:resume", f"{NAME}:restart"]
        assert c.state()["step"] == "plan" and len(c.state()["answers"]) == 4
        (question,) = c.press(f"{NAME}:resume")
        assert check.step("plan").question in question.text and "Câu 5/" in question.text
        c.walk(check, meeting_answers(check))
        assert second.store.selfcheck_results(NAME)[0]["result"]["unknown"] == ["rating"]
    finally:
        second.store.close()


def test_resume_offer_from_the_menu_button_and_restart_choice(app, chat, check):
    chat.say("/kiemtra")
    chat.say("có")
    (offer,) = chat.press("intent:eligibility")
    assert "đang làm dở" in offer.text and chat.state()["answers"] == {"law": "co"}
    chat.press(f"{NAME}:restart")
    assert chat.state()["answers"] == {} and chat.state()["step"] == "law"


def test_expiry(config, kb, searcher, check):
    clock = Clock()
    app = make_app(config, kb, searcher, clock)
    try:
        c = Chat(app)
        c.say("/kiemtra")
        c.press(f"{NAME}:a:law:co")
        clock.now += config.dialog.expiry_minutes * 60 - 60  # just inside: still there
        c.press(f"{NAME}:a:model:none")
        assert c.state()["step"] == "profit"
        clock.now += config.dialog.expiry_minutes * 60 + 1
        expired, offer = c.press(f"{NAME}:a:profit:co")
        assert expired.text == app.kb.texts["dialog_expired"]
        assert "làm lại từ đầu" in offer.text and c.payloads() == [f"{NAME}:start"]
        assert c.state() is None
        c.say("co")  # typed after expiry: no conversation to answer, so it is not taken as an answer
        assert c.state() is None
    finally:
        app.store.close()


def test_programme_status_follows_the_period_in_the_data(config, kb, searcher, check):
    during = dt.datetime(2024, 6, 1, 12).timestamp()
    app = make_app(config, kb, searcher, Clock(during))
    try:
        c = Chat(app)
        intro, _ = c.say("/kiemtra")
        assert "đã kết thúc" not in intro.text
        c.walk(check, meeting_answers(check))
        assert "Giai đoạn 2021–2025: **đang thực hiện**" in c.turn[1].text
        assert app.store.selfcheck_results(NAME)[0]["result"]["programme_status"] == "open"
    finally:
        app.store.close()
    # A province may set the status itself: "ended" wins over the dates.
    data = dict(kb.selfchecks)  # validated models (bot/kb/schema.py): changed by copy
    programme = data[NAME].programme.model_copy(update={"status": "ended"})
    data[NAME] = data[NAME].model_copy(update={"programme": programme})
    edited = dataclasses.replace(kb, selfchecks=data)
    app = make_app(config, edited, searcher, Clock(during))
    try:
        intro, _ = Chat(app, user="u2").say("/kiemtra")
        assert "đã kết thúc" in intro.text
    finally:
        app.store.close()


# --- consent and sending to the alliance -------------------------------------------------------------


def test_consent_given_sends_result_contact_and_ticket(app, chat, check):
    chat.say("/kiemtra")
    answers = meeting_answers(check)
    answers["profit"] = "khong"
    chat.walk(check, answers)
    (ask_name,) = chat.press(f"{NAME}:send")
    assert "tên người liên hệ" in ask_name.text and chat.state()["phase"] == "name"
    chat.say("Nguyễn Văn An")
    (bad,) = chat.say("12345")
    assert "chưa đúng" in bad.text and chat.state()["phase"] == "phone"
    (confirm,) = chat.say("+84 912.345.678")
    assert "Nguyễn Văn An" in confirm.text and "0912345678" in confirm.text
    assert app.store.selfcheck_results(NAME)[0]["contact_name"] is None  # nothing stored before the explicit yes
    (sent,) = chat.press(f"{NAME}:confirm")
    assert "Đã gửi" in sent.text and chat.state() is None
    (row,) = app.store.selfcheck_results(NAME)
    assert (row["consent"], row["sent_to_staff"]) == (1, 1)
    assert (row["contact_name"], row["contact_phone"]) == ("Nguyễn Văn An", "0912345678")
    assert row["result"]["unmet"] == ["profit"]
    (ticket,) = app.store.tickets()
    assert ticket["reason"] == "selfcheck"
    assert "Nguyễn Văn An" in ticket["text"] and "0912345678" in ticket["text"]
    assert check.step("profit").short in ticket["text"] and check.title in ticket["text"]


def test_consent_typed_yes_and_back_steps(app, chat, check):
    chat.say("/kiemtra")
    chat.walk(check, meeting_answers(check))
    chat.say("có")
    assert chat.state()["phase"] == "name"
    chat.press(f"{NAME}:back")
    assert chat.state()["phase"] == "send"
    chat.press(f"{NAME}:back")  # from the consent question: back to the last question
    assert chat.state()["phase"] == "ask" and chat.state()["step"] == STEP_IDS[-1]
    chat.walk(check, meeting_answers(check))
    chat.press(f"{NAME}:send")
    chat.say("quay lại")  # typed commands still work while asked for a name
    assert chat.state()["phase"] == "send"
    chat.press(f"{NAME}:send")
    chat.say("Dũng")  # a name that folds like "dừng" (stop) is still a name
    assert chat.state()["phase"] == "phone" and chat.state()["name"] == "Dũng"
    chat.say("0912345678")
    chat.press(f"{NAME}:back")
    assert chat.state()["phase"] == "phone"
    chat.say("0262 3 862 123")
    assert chat.state()["phone"] == "02623862123"
    chat.say("đồng ý gửi")
    assert chat.state() is None and app.store.selfcheck_results(NAME)[0]["consent"] == 1
    assert len(app.store.selfcheck_results(NAME)) == 2  # each result shown is kept with its own answers


@pytest.mark.parametrize("refuse_at", ["send", "name", "phone", "confirm", "typed"])
def test_consent_refused_stores_no_contact(app, chat, check, refuse_at):
    chat.say("/kiemtra")
    chat.walk(check, meeting_answers(check))
    if refuse_at == "typed":
        chat.say("không")
    elif refuse_at == "send":
        chat.press(f"{NAME}:nosend")
    else:
        chat.press(f"{NAME}:send")
        if refuse_at in ("phone", "confirm"):
            chat.say("Trần Thị Bình")
        if refuse_at == "confirm":
            chat.say("0987654321")
        chat.press(f"{NAME}:nosend")
    assert "không được lưu" in chat.last.text and chat.state() is None
    (row,) = app.store.selfcheck_results(NAME)
    assert row["consent"] == 0 and row["contact_name"] is None and row["contact_phone"] is None
    assert row["sent_to_staff"] == 0 and app.store.tickets() == []


def test_a_question_after_the_result_is_answered_and_closes_the_check(app, chat, check):
    chat.say("/kiemtra")
    chat.walk(check, meeting_answers(check))
    note, *answer = chat.say("góp vốn tối đa của một thành viên là bao nhiêu")
    assert note.text == app.kb.texts["sc_closed_for_question"]
    assert answer and "Nguồn:" in answer[0].text
    assert chat.state() is None
    (row,) = app.store.selfcheck_results(NAME)
    assert row["consent"] == 0 and row["contact_name"] is None and app.store.tickets() == []
    # A short unclear reply is still asked again rather than taken as a question.
    chat.say("/kiemtra")
    chat.press(f"{NAME}:restart")
    chat.walk(check, meeting_answers(check))
    (again,) = chat.say("hả")
    assert "chưa hiểu" in again.text and chat.state()["phase"] == "send"


def test_the_table_refuses_a_contact_without_consent(app):
    with pytest.raises(sqlite3.IntegrityError):
        app.store.conn.execute(
            """insert into selfcheck_results (check_name, channel, user_key, answers, result, consent,
               contact_phone, created_at) values ('eligibility', 'web', 'x', '[]', '{}', 0, '0912345678', 0)""")


def test_erasing_my_data_erases_my_results(app, chat, check):
    chat.say("/kiemtra")
    chat.walk(check, meeting_answers(check))
    chat.press(f"{NAME}:send")
    chat.say("Nguyễn Văn An")
    chat.say("0912345678")
    chat.press(f"{NAME}:confirm")
    other = Chat(app, user="u2")
    other.say("/kiemtra")
    other.walk(check, meeting_answers(check))
    assert len(app.store.selfcheck_results(NAME)) == 2
    chat.say("/xoadulieu")
    chat.press("privacy:forget-yes")
    assert [r["user_key"] for r in app.store.selfcheck_results(NAME)] == ["u2"]


# --- the same check on the web chat and on Telegram --------------------------------------------------


@pytest.fixture
async def fake():
    server = await FakeTelegram().start()
    yield server
    await server.close()


async def test_same_walk_on_web_and_telegram(config, kb, searcher, tmp_path, fake):
    web_cfg, tg_cfg = copy.deepcopy(config), copy.deepcopy(config)
    web_cfg.storage.path, tg_cfg.storage.path = str(tmp_path / "web.db"), str(tmp_path / "tg.db")
    web_app, tg_app = make_app(web_cfg, kb, searcher), make_app(tg_cfg, kb, searcher)
    check = check_of(kb, NAME)
    answers = meeting_answers(check)
    answers["rating"] = failing_answer(check.step("rating"))
    answers["model"] = "pn3"
    t = kb.texts
    steps = script(check, answers, then=[
        Step(press=t["sc_send_yes"]), Step(say="Nguyễn Văn An"), Step(say="0912 345 678"),
        Step(press=t["sc_confirm_yes"]),
    ])
    try:
        web_turns = await play_web(web_app, steps)
        tg_turns = await play_telegram(tg_app, fake, steps)
        assert comparable(tg_turns, name=USER_NAME) == comparable(web_turns)
        assert "Đã gửi" in web_turns[-1][0]["text"]
        for app in (web_app, tg_app):
            (row,) = app.store.selfcheck_results(NAME)
            assert row["result"]["unmet"] == ["rating"] and row["contact_phone"] == "0912345678"
            assert row["channel"] in ("web", "telegram")
            assert app.store.tickets()[0]["reason"] == "selfcheck"
    finally:
        web_app.store.close()
        tg_app.store.close()
