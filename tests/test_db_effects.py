"""Typed effects: each one does its job, inside the transaction that queues the replies."""

import pytest

from bot.db import Store
from bot.db.effects import APPLIERS
from bot.effects import (
    EFFECT_TYPES,
    ForgetUser,
    OpenTicket,
    RecordFeedback,
    SaveSelfCheckResult,
    SendSelfCheckResult,
    UpdateProfile,
)
from bot.types import Incoming, Reply


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "db.sqlite3")
    yield s
    s.close()


def receive(store, text="q", user="u"):
    mid, _ = store.record_incoming(Incoming("web", user, text), text)
    return mid


def test_every_effect_type_has_an_applier():
    assert set(EFFECT_TYPES) == set(APPLIERS)


def test_open_ticket_defaults_to_the_message_being_handled(store):
    first = receive(store, "câu hỏi cũ")
    mid = receive(store)
    store.complete(mid, "web", "u", [Reply("a")], {}, None,
                   [OpenTicket("unknown", "x"), OpenTicket("negative_feedback", "y", message_id=first)])
    assert {(t["reason"], t["message_id"]) for t in store.tickets()} == {("unknown", mid), ("negative_feedback", first)}


def test_update_profile_changes_only_the_given_fields(store):
    mid, _ = store.record_incoming(Incoming("web", "u", "q", name="Lan"), "q")
    store.complete(mid, "web", "u", [], {}, None, [UpdateProfile(province="Kon Tum")])
    user = store.user("web", "u")
    assert (user["province"], user["name"]) == ("Kon Tum", "Lan")


def test_feedback_only_on_own_messages_and_a_new_vote_replaces(store):
    mine, theirs = receive(store, "của tôi"), receive(store, "của người khác", user="other")
    mid = receive(store)
    store.complete(mid, "web", "u", [], {}, None,
                   [RecordFeedback(mine, 1), RecordFeedback(theirs, -1), RecordFeedback(mine, -1)])
    rows = [tuple(r) for r in store.conn.execute("select message_id, user_key, value from feedback")]
    assert rows == [(mine, "u", -1)]


def test_selfcheck_send_completes_the_saved_row_with_consent(store):
    mid = receive(store)
    store.complete(mid, "web", "u", [], {}, None,
                   [SaveSelfCheckResult("c", mid, [{"step": "a"}], {"verdict": "meets"})])
    (saved,) = store.selfcheck_results("c")
    assert saved["consent"] == 0 and saved["contact_name"] is None
    m2 = receive(store, "đồng ý")
    store.complete(m2, "web", "u", [], {}, None,
                   [SendSelfCheckResult("c", mid, [{"step": "a"}], {"verdict": "meets"}, "Lan", "0912")])
    (sent,) = store.selfcheck_results("c", sent_only=True)
    assert (sent["id"], sent["consent"], sent["contact_phone"], sent["result"]) == (
        saved["id"], 1, "0912", {"verdict": "meets"})


def test_forget_erases_everything_of_that_user_only(store):
    mid = receive(store, "số tôi 0912")
    other = receive(store, "của người khác", user="other")
    store.complete(mid, "web", "u", [Reply("a")], {}, None,
                   [OpenTicket("unknown", "0912"), RecordFeedback(mid, -1),
                    SaveSelfCheckResult("c", mid, [], {"verdict": "meets"})])
    store.mark_sent(store.replies_for(mid)[0]["id"])
    store.complete(other, "web", "other", [], {}, None, [OpenTicket("unknown", "giữ lại")])
    forget = receive(store, "xóa")
    store.complete(forget, "web", "u", [Reply("đã xóa")], {}, None, [ForgetUser()])
    assert store.message(mid)["text"] is None and store.message(forget)["text"] == "xóa"
    assert store.replies_for(mid)[0]["text"] == "" and store.replies_for(forget)[0]["text"] == "đã xóa"
    assert [t["text"] for t in store.tickets(None)] == ["giữ lại"]
    assert store.selfcheck_results() == [] and store.counts()["feedback"] == 0


def test_effects_run_inside_the_replies_transaction(store, monkeypatch):
    seen = []

    def spy(st, effect, scope):
        seen.append((st.conn.in_transaction, len(st.replies_for(scope.message_id))))

    monkeypatch.setitem(APPLIERS, UpdateProfile, spy)
    mid = receive(store)
    store.complete(mid, "web", "u", [Reply("a"), Reply("b")], {}, None, [UpdateProfile(name="x")])
    assert seen == [(True, 2)]


def test_a_failing_effect_rolls_back_replies_state_and_earlier_effects(store, monkeypatch):
    def boom(st, effect, scope):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(APPLIERS, RecordFeedback, boom)
    mid = receive(store)
    with pytest.raises(RuntimeError):
        store.complete(mid, "web", "u", [Reply("a")], {"kind": "answer"}, {"flow": "staff"},
                       [OpenTicket("unknown", "q"), RecordFeedback(mid, 1)])
    assert store.replies_for(mid) == [] and store.tickets(None) == []
    assert store.dialog("web", "u") == (None, 0.0)
    assert store.message(mid)["status"] == "received"
    assert not store.conn.in_transaction
