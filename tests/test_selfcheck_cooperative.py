"""The self-checks' optional last question: the cooperative's name and commune, kept with the result so the
staff report can list results by cooperative."""

from __future__ import annotations

import datetime as dt

import yaml
from selfcheck_chat import Chat, check_of, meeting_answers

from bot.console import reports
from bot.console.views import LABELS
from handlers.selfcheck.flow import split_cooperative

NAME = "eligibility"


def to_cooperative_question(app, user: str) -> tuple[Chat, object]:
    check = check_of(app.kb, NAME)
    answers = meeting_answers(check)
    chat = Chat(app, user)
    chat.say("/kiemtra")
    for _ in range(len(check.steps) + 1):
        if f"{NAME}:noname" in chat.payloads():
            return chat, check
        sid = chat.current_step(check)
        chat.answer(check, sid, answers[sid])
    raise AssertionError("the cooperative question was not asked")


def test_the_typed_name_and_commune_are_kept_with_the_result(app):
    chat, check = to_cooperative_question(app, "coop1")
    assert chat.state()["phase"] == "coop"
    assert "tên HTX" in chat.text
    chat.say("HTX Nông nghiệp Tân Lập, xã Tân Lập")
    assert chat.state()["phase"] == "send"  # the result, then the usual offer to send it
    [row] = app.store.selfcheck_results(NAME)
    assert row["result"]["cooperative"] == "HTX Nông nghiệp Tân Lập"
    assert row["result"]["commune"] == "xã Tân Lập"
    assert row["result"]["verdict"] == "meets"
    chat.press(f"{NAME}:send")
    chat.say("Nguyễn Văn An")
    chat.say("0912345678")
    chat.press(f"{NAME}:confirm")
    [sent] = app.store.selfcheck_results(NAME)
    assert sent["sent_to_staff"] == 1 and sent["result"]["cooperative"] == "HTX Nông nghiệp Tân Lập"


def test_skip_and_back(app):
    chat, check = to_cooperative_question(app, "coop2")
    last = chat.state()["trail"][-1]
    chat.press(f"{NAME}:back")
    assert chat.state()["phase"] == "ask" and chat.state()["step"] == last
    chat.answer(check, last, meeting_answers(check)[last])
    assert chat.state()["phase"] == "coop"
    chat.press(f"{NAME}:noname")
    [row] = app.store.selfcheck_results(NAME)
    assert "cooperative" not in row["result"] and "commune" not in row["result"]
    chat2, _ = to_cooperative_question(app, "coop3")
    chat2.say("bỏ qua")
    assert chat2.state()["phase"] == "send"
    assert all("cooperative" not in r["result"] for r in app.store.selfcheck_results(NAME))


def test_split_cooperative():
    assert split_cooperative("HTX Nông nghiệp Tân Lập, xã Tân Lập") == ("HTX Nông nghiệp Tân Lập", "xã Tân Lập")
    assert split_cooperative("htx hoa binh xa hoa binh") == ("htx hoa binh", "xa hoa binh")
    assert split_cooperative("HTX Dịch vụ Thành Công") == ("HTX Dịch vụ Thành Công", None)
    assert split_cooperative("  ") == (None, None)


def test_the_report_lists_results_by_cooperative(app):
    chat, _ = to_cooperative_question(app, "coop4")
    chat.say("HTX Nông nghiệp Tân Lập, xã Tân Lập")
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    today = dt.date.today()
    r = reports.build(app.store, app.kb, labels, today - dt.timedelta(days=1), today + dt.timedelta(days=1))
    [row] = r.tables["cooperatives"].rows
    assert (row["cooperative"], row["commune"], row["verdict"]) == ("HTX Nông nghiệp Tân Lập", "xã Tân Lập", "Đạt")
    assert (r.totals["cooperatives"], r.totals["met"]) == (1, 1)
