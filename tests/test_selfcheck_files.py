"""A self-check is a file: knowledge/selfchecks/<name>.yaml becomes the handler <name>, with no code change,
and a live reload that adds a file adds its check. Plus the stored state's JSON form, which must keep
a check left half-way resumable."""

from __future__ import annotations

import shutil

import pytest
from selfcheck_chat import Chat, check_of, meeting_answers

from bot.app import App, build
from handlers import handlers_for, selfcheck_names
from handlers.selfcheck.state import CheckState, Phase
from handlers.selfcheck_model import SKIPPED

NEW = "audit"  # a third check: a copy of compliance.yaml under another name


@pytest.fixture
def three(kdir, config) -> App:
    shutil.copy(kdir / "selfchecks" / "compliance.yaml", kdir / "selfchecks" / f"{NEW}.yaml")
    config.knowledge.path = str(kdir)
    application = build(config)
    yield application
    application.store.close()


def test_every_file_but_common_is_a_handler(kb):
    assert selfcheck_names(kb) == ["compliance", "eligibility"]
    table = handlers_for(kb)
    assert {"compliance", "eligibility"} <= set(table) and "_common" not in table
    assert table["compliance"].__name__ == "compliance_selfcheck"


def test_a_new_file_is_a_working_self_check(three):
    check = check_of(three.kb, NEW)
    assert NEW in three.engine.handlers
    chat = Chat(three)
    first = chat.press(f"{NEW}:start")
    assert check.title in first[0].text or check.steps[0].question in chat.text
    assert chat.state()["flow"] == NEW and chat.state()["step"] == check.steps[0].id
    assert all(p.startswith(f"{NEW}:") for p in chat.payloads())
    chat.walk(check, meeting_answers(check))
    assert chat.state()["flow"] == NEW and chat.state()["phase"] == "send"
    assert three.kb.texts["sc_result_title"].format(title=check.title).strip("* ") in chat.text.replace("*", "")
    row = three.store.conn.execute("select intent, kind from messages order by id desc limit 1").fetchone()
    assert (row["intent"], row["kind"]) == (NEW, "selfcheck")


def test_a_reload_that_adds_a_file_adds_its_check(kdir, config):
    config.knowledge.path = str(kdir)
    live = build(config)
    try:
        assert NEW not in live.engine.handlers
        before = Chat(live)
        assert before.press(f"{NEW}:start")  # an unknown handler: answered as a question, no check
        assert before.state() is None and not any(p.startswith(f"{NEW}:") for p in before.payloads())
        shutil.copy(kdir / "selfchecks" / "compliance.yaml", kdir / "selfchecks" / f"{NEW}.yaml")
        live.reload()
        chat = Chat(live, user="u2")
        chat.press(f"{NEW}:start")
        assert chat.state()["flow"] == NEW
        (kdir / "selfchecks" / f"{NEW}.yaml").unlink()
        live.reload()
        assert NEW not in live.engine.handlers
    finally:
        live.store.close()


# --- the state's stored form ----------------------------------------------------------------------


def test_state_round_trips_through_json_and_is_replaced_not_mutated(kb):
    check = check_of(kb, "compliance")
    first, second = check.steps[0].id, check.steps[1].id
    state = CheckState.begin(check)
    later = state.answered(first, SKIPPED).but(trail=(first,), step=second)
    assert state.answers == {} and state.trail == ()  # the old value is untouched
    data = later.to_json()
    assert data == {"flow": "compliance", "phase": "ask", "step": second, "group": None,
                    "trail": [first], "answers": {first: SKIPPED}}
    assert CheckState.from_json(check, data) == later
    with pytest.raises(AttributeError):
        later.step = first  # type: ignore[misc]


def test_a_saved_state_that_no_longer_fits_the_file_is_dropped(kb):
    check = check_of(kb, "compliance")
    first = check.steps[0].id
    good = CheckState.begin(check).to_json()
    assert CheckState.from_json(check, {**good, "flow": "eligibility"}) is None
    assert CheckState.from_json(check, {**good, "step": "gone"}) is None
    assert CheckState.from_json(check, {**good, "phase": "dancing"}) is None
    # Answers to steps the file no longer has are forgotten; contact phases need their details.
    kept = CheckState.from_json(check, {**good, "answers": {first: "x", "gone": "y"}})
    assert kept is not None and dict(kept.answers) == {first: "x"}
    assert CheckState.from_json(check, {**good, "phase": "phone", "trail": [first]}) is None
    named = CheckState.from_json(check, {**good, "phase": "phone", "trail": [first], "name": "Lan"})
    assert named is not None and named.phase is Phase.PHONE and named.name == "Lan"
