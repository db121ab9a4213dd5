"""The compliance self-check (/tuanthu): has a cooperative founded under the 2012 law done what the
2023 law asks? Walked through the engine; steps, answers and fixes come from
knowledge/selfchecks/compliance.yaml. Navigation, resume and expiry share the engine tested in
test_selfcheck_eligibility.py; here the paths particular to this check are walked, plus the same
walk on the web chat and Telegram.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from pathlib import Path

import pytest
import yaml
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
from bot.cli import answer_json
from bot.db import Store
from bot.engine import Engine
from handlers.selfcheck_model import SKIPPED, Check

NAME = "compliance"
DATA = yaml.safe_load((Path(__file__).parent.parent / "knowledge/selfchecks/compliance.yaml").read_text("utf-8"))
MANDATORY = [s["id"] for s in DATA["steps"] if s["kind"] == "mandatory"]


def filled(app, text: str) -> str:
    alliance = app.config.alliance
    return text.replace("{alliance}", alliance.name).replace("{contact}", alliance.contact()).strip()


def answers_reaching(check: Check, step_id: str) -> dict[str, str]:
    """Meeting answers, with the earlier answer a conditional step needs to be asked at all."""
    answers = meeting_answers(check)
    cond = check.step(step_id).ask_if
    if cond:
        step = check.step(cond["step"])
        if "in" in cond:
            answers[cond["step"]] = cond["in"][0]
        else:
            answers[cond["step"]] = next(o.id for o in step.all_options() if o.id not in cond["not_in"])
    return answers


@pytest.fixture
def chat(app):
    return Chat(app)


@pytest.fixture
def check(kb):
    return check_of(kb, NAME)


def test_every_point_cites_the_2023_law(check):
    for step in check.steps:
        assert any(s.doc == "17/2023/QH15" and s.article for s in step.sources), step.id
        if step.kind == "mandatory":
            assert step.unmet, step.id


@pytest.mark.parametrize("question", ["kiểm tra HTX có đúng luật mới không",
                                      "htx của tôi có phù hợp luật hợp tác xã 2023 không",
                                      "kiem tra htx co dung luat moi khong"])
def test_ask_json_routes_compliance_phrasings(app, question):
    got = answer_json(app.engine, question, None)
    assert (got["kind"], got["intent"]) == ("intent", NAME), got


def test_start_by_command(app, chat, check):
    intro, question = chat.say("/tuanthu")
    assert "Luật HTX 2012" in intro.text and "Luật Hợp tác xã 2023" in intro.text
    assert check.steps[0].question in question.text
    assert "đã kết thúc" not in intro.text  # no programme, no period


def test_all_points_done(app, chat, check):
    answers = answers_reaching(check, "gov_full")
    chat.say("/tuanthu")
    chat.walk(check, answers)
    main_reply, extra, consent = chat.turn
    assert check.result["pass"] in main_reply.text
    assert "Chưa đạt" not in main_reply.text
    assert filled(app, check.result["disclaimer"]) in extra.text
    (row,) = app.store.selfcheck_results(NAME)
    assert row["result"]["verdict"] == "meets"
    asked = [a["step"] for a in row["answers"]]
    assert "gov_full" in asked and "gov_any" not in asked and "size" in asked
    assert "size" not in row["result"]["met"]  # an info question is not a condition


@pytest.mark.parametrize("failing", MANDATORY)
def test_each_point_not_yet_gives_the_fix_and_the_article(app, chat, check, failing):
    answers = answers_reaching(check, failing)
    step = check.step(failing)
    answers[failing] = failing_answer(step)
    chat.say("/tuanthu")
    chat.walk(check, answers)
    text = chat.turn[0].text
    assert check.result["fail"].split("{n}")[0] in text
    unmet_part = text.split("**Chưa đạt — việc cần làm:**")[1].split("**Đã đạt:**")[0]
    assert step.short in unmet_part and filled(app, step.unmet) in unmet_part
    law = next(s for s in step.sources if s.doc == "17/2023/QH15" and s.article)
    assert f"Điều {law.article} Luật HTX 2023" in unmet_part
    (row,) = app.store.selfcheck_results(NAME)
    assert row["result"]["unmet"] == [failing]


def test_management_model_question_follows_the_size(app, chat, check):
    chat.say("/tuanthu")
    chat.walk(check, answers_reaching(check, "gov_full"), stop_at="gov_full")
    assert check.step("gov_full").question in chat.last.text
    chat.press(f"{NAME}:back")
    assert chat.state()["step"] == "size"
    chat.say("siêu nhỏ")
    assert chat.state()["answers"]["size"] == "sieunho" and chat.state()["step"] == "gov_any"
    assert check.step("gov_any").question in chat.last.text
    chat.press(f"{NAME}:a:gov_any:chua")
    chat.walk(check, meeting_answers(check))
    (row,) = app.store.selfcheck_results(NAME)
    asked = [a["step"] for a in row["answers"]]
    assert "gov_any" in asked and "gov_full" not in asked
    assert row["result"]["unmet"] == ["gov_any"]
    # Size not known: the question that allows both models is asked.
    chat.press(f"{NAME}:restart")
    answers = meeting_answers(check)
    answers["size"] = unsure_answer(check.step("size"))
    chat.walk(check, answers)
    assert "gov_any" in [a["step"] for a in app.store.selfcheck_results(NAME)[0]["answers"]]


def test_skipped_size_still_asks_a_model_question(app, chat, check):
    chat.say("/tuanthu")
    chat.walk(check, meeting_answers(check), stop_at="size")
    chat.press(f"{NAME}:skip")
    assert chat.state()["answers"]["size"] == SKIPPED and chat.state()["step"] == "gov_any"


@pytest.mark.parametrize("step_id,typed,expected,meets", [
    ("capital", "không có", "khongco", True),
    ("capital", "ko", "khongco", True),
    ("capital", "có ạ", "co", False),
    ("credit", "vẫn còn", "co", False),
    ("credit", "đã dừng rồi", "khongco", True),
    ("charter", "rồi", "roi", True),
    ("charter", "chưa làm", "chua", False),
    ("charter", "chua biet", "chuabiet", None),
    ("size", "nhỏ", "nholen", None),
])
def test_typed_answers_for_each_kind_of_question(chat, check, step_id, typed, expected, meets):
    chat.say("/tuanthu")
    chat.walk(check, answers_reaching(check, step_id), stop_at=step_id)
    chat.say(typed)
    assert chat.state()["answers"][step_id] == expected
    assert check.step(step_id).option(expected).meets is meets


def test_several_points_not_yet_all_listed(app, chat, check):
    answers = meeting_answers(check)
    for sid in ("charter", "credit", "income"):
        answers[sid] = failing_answer(check.step(sid))
    chat.say("/tuanthu")
    chat.walk(check, answers)
    assert "3 điểm chưa đúng" in chat.turn[0].text
    assert app.store.selfcheck_results(NAME)[0]["result"]["unmet"] == ["charter", "credit", "income"]


def test_send_and_refuse(app, chat, check):
    chat.say("/tuanthu")
    chat.walk(check, meeting_answers(check))
    chat.press(f"{NAME}:nosend")
    assert app.store.selfcheck_results(NAME)[0]["consent"] == 0 and app.store.tickets() == []
    chat.say("/tuanthu")
    chat.walk(check, meeting_answers(check))
    chat.press(f"{NAME}:send")
    chat.say("Lê Văn Cường")
    chat.say("0905 123 456")
    chat.press(f"{NAME}:confirm")
    newest = app.store.selfcheck_results(NAME)[0]
    assert newest["consent"] == 1 and newest["contact_phone"] == "0905123456"
    assert app.store.tickets()[0]["reason"] == "selfcheck"


def test_two_checks_do_not_mix(app, chat, check):
    chat.say("/kiemtra")
    chat.say("có")
    chat.say("/tuanthu")  # starting the other check replaces the first
    assert chat.state()["flow"] == NAME and chat.state()["answers"] == {}
    (reply,) = chat.press("eligibility:a:model:none")  # a button from the abandoned check
    assert "làm lại từ đầu" in reply.text and chat.state()["flow"] == NAME


def test_a_check_without_sending_ends_at_the_result(config, kb, searcher, tmp_path):
    data = dict(kb.selfchecks)  # validated models (bot/kb/schema.py): changed by copy
    data[NAME] = data[NAME].model_copy(update={"offer_send": False})
    edited = dataclasses.replace(kb, selfchecks=data)
    app = make_app(config, edited, searcher)
    try:
        c = Chat(app)
        c.say("/tuanthu")
        c.walk(check_of(edited, NAME), meeting_answers(check_of(edited, NAME)))
        assert len(c.turn) == 2 and f"{NAME}:send" not in c.payloads()
        assert c.state() is None and app.store.selfcheck_results(NAME)[0]["result"]["verdict"] == "meets"
    finally:
        app.store.close()


@pytest.fixture
async def fake():
    server = await FakeTelegram().start()
    yield server
    await server.close()


def make_app(config, kb, searcher) -> App:
    store = Store(config.storage.path, clock=time.time)
    return App(config, kb, store, Engine(kb, store, config, searcher=searcher))


async def test_same_walk_on_web_and_telegram(config, kb, searcher, tmp_path, fake):
    web_cfg, tg_cfg = copy.deepcopy(config), copy.deepcopy(config)
    web_cfg.storage.path, tg_cfg.storage.path = str(tmp_path / "web.db"), str(tmp_path / "tg.db")
    web_app, tg_app = make_app(web_cfg, kb, searcher), make_app(tg_cfg, kb, searcher)
    check = check_of(kb, NAME)
    answers = answers_reaching(check, "gov_full")
    answers["credit"] = failing_answer(check.step("credit"))
    answers["books"] = unsure_answer(check.step("books"))
    steps = script(check, answers, then=[Step(press=kb.texts["sc_send_no"])])
    try:
        web_turns = await play_web(web_app, steps)
        tg_turns = await play_telegram(tg_app, fake, steps)
        assert comparable(tg_turns, name=USER_NAME) == comparable(web_turns)
        for app in (web_app, tg_app):
            (row,) = app.store.selfcheck_results(NAME)
            assert row["result"]["unmet"] == ["credit"] and row["result"]["unknown"] == ["books"]
            assert row["consent"] == 0
    finally:
        web_app.store.close()
        tg_app.store.close()
