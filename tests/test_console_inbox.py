"""The shared inbox: statuses, assignment, filters, notes, saved and entry replies, spam/bulk, polling, CSRF,
and the web member's phone number left with consent."""

from __future__ import annotations

import re
import time

import pytest
import test_console
from test_console import CSRF, GIBBERISH

from bot.console import inbox
from bot.types import Incoming
from handlers.render import first_text

make_client, cheap_hashing = test_console.make_client, test_console.cheap_hashing
PHONE = "0912 345 678"


@pytest.fixture
def client(make_client):
    """The console logged in as an admin whose display name is "Chị Lan" (it signs replies, notes and
    assignments: a "staff" field typed into a form counts for nothing)."""
    async def make(**kwargs):
        kwargs.setdefault("name", "Chị Lan")
        return await make_client(**kwargs)

    return make


def ticket_of(app, channel: str, user: str, text: str = GIBBERISH) -> dict:
    replies = app.engine.handle(Incoming(channel, user, text=text))
    mid = app.store.conn.execute("select max(id) from messages").fetchone()[0]
    assert app.store.message(mid)["kind"] == "unknown", replies  # precondition: the bot passed it to staff
    [row] = [t for t in app.store.tickets(None) if t["message_id"] == mid]
    return dict(row)


def row(app, ticket_id: int) -> dict:
    return dict(app.store.inbox_ticket(ticket_id))


def member_replies(app, origin: str = "staff") -> list[dict]:
    return [dict(r) for r in app.store.conn.execute("select * from replies where origin = ? order by id", (origin,))]


async def csrf_of(c, path: str = "/console/saved-replies") -> str:
    resp = await c.get(path)
    assert resp.status == 200, path
    match = CSRF.search(await resp.text())
    assert match, path
    return match.group(1)


async def post(c, path: str, **data) -> tuple[int, str]:
    data.setdefault("csrf", await csrf_of(c))
    resp = await c.post(path, data=data, allow_redirects=False)
    return resp.status, resp.headers.get("Location", "")


# --- statuses and transitions ---------------------------------------------------------------------------


async def test_status_follows_the_work(app, client):
    c = await client()
    t = ticket_of(app, "telegram", "11")
    assert (t["status"], t["assignee"]) == ("open", None)

    status, location = await post(c, f"/console/tickets/{t['id']}/assign", assignee="me")
    assert status == 303 and "ok=assigned" in location
    assert (row(app, t["id"])["status"], row(app, t["id"])["assignee"]) == ("in_progress", "Chị Lan")

    # A question back to the member: waiting for them; their reply puts it back in the queue, marked.
    base = t["created_at"] + 1200
    app.store.clock = lambda: base
    status, location = await post(c, f"/console/tickets/{t['id']}/answer", answer="Bà con ở xã nào?", wait="1")
    assert "ok=waiting" in location
    r = row(app, t["id"])
    assert (r["status"], r["first_answered_at"], r["member_replied_at"]) == ("waiting_member", base, None)
    app.store.clock = lambda: base + 600
    app.engine.handle(Incoming("telegram", "11", text="Xã Hòa Bình ạ"))
    r = row(app, t["id"])
    assert (r["status"], r["member_replied_at"]) == ("in_progress", base + 600)
    html = await (await c.get("/console")).text()
    assert "Thành viên vừa nhắn lại" in html

    # The answer: answered; the first answer's time stays for reports.
    app.store.clock = lambda: base + 900
    status, location = await post(c, f"/console/tickets/{t['id']}/answer", answer="Bà con lên UBND xã.")
    assert "ok=answered" in location
    r = row(app, t["id"])
    assert (r["status"], r["first_answered_at"], r["answered_at"], r["member_replied_at"]) == (
        "answered", base, base + 900, None)
    # A button press is not a follow-up, nor thanks, nor a new question the bot answers itself; what the bot
    # cannot take up is.
    app.engine.handle(Incoming("telegram", "11", payload="intent:menu"))
    app.engine.handle(Incoming("telegram", "11", text="Cảm ơn ạ"))
    app.engine.handle(Incoming("telegram", "11", text="htx là gì"))
    assert row(app, t["id"])["status"] == "answered"
    app.engine.handle(Incoming("telegram", "11", text="Vẫn chưa rõ chuyện con dấu của xưởng mộc ạ"))
    assert row(app, t["id"])["status"] == "in_progress"

    assert "ok=closed" in (await post(c, f"/console/tickets/{t['id']}/close"))[1]
    assert row(app, t["id"])["status"] == "closed"
    app.engine.handle(Incoming("telegram", "11", text="Alo"))
    assert row(app, t["id"])["status"] == "closed"  # a closed ticket stays closed
    assert "ok=reopened" in (await post(c, f"/console/tickets/{t['id']}/reopen"))[1]
    assert row(app, t["id"])["status"] == "open"

    page = await (await c.get(f"/console/tickets/{t['id']}")).text()
    assert "trả lời lần đầu sau 20 phút" in page
    assert "Mới" in page and "Chị Lan" in page


async def test_answering_an_answered_ticket_is_refused(app, client):
    c = await client()
    t = ticket_of(app, "zalo", "z1")
    await post(c, f"/console/tickets/{t['id']}/answer", answer="Một")
    status, location = await post(c, f"/console/tickets/{t['id']}/answer", answer="Hai")
    assert "err=not_open" in location
    assert [r["text"].endswith("Một") for r in member_replies(app)] == [True]


# --- assignment, filters, counts, sorting ----------------------------------------------------------------


async def test_assignment_filters_and_counts(app, client):
    c = await client()
    a = ticket_of(app, "telegram", "21", GIBBERISH + " alpha")
    b = ticket_of(app, "zalo", "22", GIBBERISH + " beta")
    ticket_of(app, "web", "w" * 20, GIBBERISH + " delta")
    app.store._update_profile("zalo", "22", {"province": "Tỉnh Thử"})

    await post(c, f"/console/tickets/{a['id']}/assign", assignee="me")  # the logged-in member
    await post(c, f"/console/tickets/{b['id']}/assign", assignee="Minh")

    html = await (await c.get("/console?assignee=me")).text()
    assert "alpha" in html and "beta" not in html and "delta" not in html
    assert re.search(r"Của tôi <span class=\"count\">1</span>", html)
    assert re.search(r"Chưa ai nhận <span class=\"count\">1</span>", html)
    html = await (await c.get("/console?assignee=none")).text()
    assert "delta" in html and "alpha" not in html and "beta" not in html
    html = await (await c.get("/console?assignee=Minh")).text()
    assert "beta" in html and "alpha" not in html
    html = await (await c.get("/console?channel=web")).text()
    assert "delta" in html and "alpha" not in html
    html = await (await c.get("/console?province=T%E1%BB%89nh+Th%E1%BB%AD")).text()
    assert "beta" in html and "alpha" not in html and "delta" not in html
    html = await (await c.get("/console?q=alpha")).text()
    assert "alpha" in html and "beta" not in html
    html = await (await c.get(f"/console?q=%23{b['id']}")).text()
    assert "beta" in html and "alpha" not in html

    # Counts per tab keep the other filters: on the web channel one new ticket, nothing in progress.
    counts = app.store.inbox_counts(inbox.InboxFilter(channel="web"))
    assert (counts["open"], counts["in_progress"], counts["todo"], counts["all"]) == (1, 0, 1, 1)
    counts = app.store.inbox_counts(inbox.InboxFilter())
    assert (counts["open"], counts["in_progress"], counts["todo"]) == (1, 2, 3)

    html = await (await c.get("/console?sort=newest")).text()
    assert html.index("delta") < html.index("alpha")
    html = await (await c.get("/console?sort=oldest")).text()
    assert html.index("alpha") < html.index("delta")

    # Unassigning: nobody's again, the status stays.
    status, location = await post(c, f"/console/tickets/{b['id']}/assign", assignee="")
    assert "ok=unassigned" in location
    assert (row(app, b["id"])["assignee"], row(app, b["id"])["status"]) == (None, "in_progress")


# --- notes ----------------------------------------------------------------------------------------------


async def test_notes_are_shown_to_staff_and_never_sent(app, client):
    c = await client()
    resp = await c.post("/api/message", json={"text": GIBBERISH})
    assert resp.status == 200
    t = app.store.tickets()[0]
    note = "Ghi chú nội bộ: người này đã gọi điện hôm qua"
    status, location = await post(c, f"/console/tickets/{t['id']}/note", note=note)
    assert status == 303 and "ok=noted" in location
    html = await (await c.get(f"/console/tickets/{t['id']}")).text()
    assert note in html and "Chị Lan" in html
    assert (await post(c, f"/console/tickets/{t['id']}/note", note="  "))[1].endswith("err=note_required#ghi-chu")

    await post(c, f"/console/tickets/{t['id']}/answer", answer="Bà con lên xã.")
    every_reply = [r["text"] for r in app.store.conn.execute("select text from replies")]
    assert every_reply and not any("gọi điện hôm qua" in text for text in every_reply)
    polled = (await (await c.get("/api/poll")).json())["replies"]
    assert polled and not any("gọi điện hôm qua" in r["text"] for r in polled)
    # Erasure takes the notes with the ticket.
    app.engine.handle(Incoming(t["channel"], t["user_key"], payload="privacy:forget-yes"))
    assert app.store.conn.execute("select count(*) from ticket_notes").fetchone()[0] == 0


# --- saved replies and knowledge entries as answers --------------------------------------------------------


async def test_saved_reply_is_picked_and_sent_with_the_quote(app, client):
    c = await client()
    t = ticket_of(app, "telegram", "31")
    assert (await post(c, "/console/saved-replies", title="", text="x"))[0] == 400
    status, location = await post(c, "/console/saved-replies", title="Hẹn gọi lại",
                                  text="Cán bộ sẽ gọi lại cho bà con trong **hôm nay**.")
    assert status == 303 and "ok=saved" in location
    [saved] = app.store.saved_replies()
    page = await (await c.get("/console/saved-replies")).text()
    assert "Hẹn gọi lại" in page

    html = await (await c.get(f"/console/tickets/{t['id']}?saved={saved['id']}")).text()
    assert "Hẹn gọi lại" in html
    draft = re.search(r'<textarea name="answer"[^>]*>([^<]*)</textarea>', html)
    assert draft and draft.group(1) == "Cán bộ sẽ gọi lại cho bà con trong **hôm nay**."

    await post(c, f"/console/tickets/{t['id']}/answer", answer=saved["text"])
    [reply] = member_replies(app)
    assert (reply["channel"], reply["user_key"]) == ("telegram", "31")
    expected = app.kb.texts["staff_reply"].format(alliance=app.config.alliance.name, question=GIBBERISH,
                                                  text=saved["text"])
    assert reply["text"] == expected
    assert reply["text"].index(GIBBERISH) < reply["text"].index("gọi lại cho bà con")

    # Editing and deleting.
    await post(c, "/console/saved-replies", id=str(saved["id"]), title="Hẹn gọi lại", text="Sửa rồi")
    assert [r["text"] for r in app.store.saved_replies()] == ["Sửa rồi"]
    status, location = await post(c, f"/console/saved-replies/{saved['id']}/delete")
    assert "ok=deleted" in location and app.store.saved_replies() == []


async def test_long_question_is_quoted_short(app, client):
    c = await client()
    long_text = GIBBERISH + " " + " ".join(["thêm chữ"] * 60)
    t = ticket_of(app, "zalo", "32", long_text)
    await post(c, f"/console/tickets/{t['id']}/answer", answer="Trả lời.")
    [reply] = member_replies(app)
    assert long_text not in reply["text"] and "…" in reply["text"]
    assert len(reply["text"]) < len(long_text)


async def test_reply_with_a_knowledge_entry(app, client):
    c = await client()
    entry = app.kb.entries["tv-dieu-kien"]
    app.engine.handle(Incoming("zalo", "z9", text=entry.questions[0]))
    mid = app.store.conn.execute("select max(id) from messages").fetchone()[0]
    app.engine.handle(Incoming("zalo", "z9", payload=f"fb:-:{mid}"))
    [t] = app.store.tickets()
    assert t["reason"] == "negative_feedback"

    html = await (await c.get(f"/console/tickets/{t['id']}")).text()
    guesses = html[html.index('id="muc-kien-thuc"'):html.index('id="ghi-chu"')]
    assert f'value="{entry.id}"' in guesses  # the bot's own top guess is offered
    html = await (await c.get(f"/console/tickets/{t['id']}?eq=xyzzy+qwerty")).text()
    assert "Không tìm thấy mục nào" in html

    status, location = await post(c, f"/console/tickets/{t['id']}/answer-entry", entry=entry.id)
    assert "ok=answered" in location
    [reply] = member_replies(app)
    ctx = inbox._member_context(app_console(c), dict(app.store.inbox_ticket(t["id"])))
    body = first_text(ctx, entry)
    assert reply["channel"] == "zalo" and reply["user_key"] == "z9"
    assert reply["text"] == app.kb.texts["staff_reply"].format(
        alliance=app.config.alliance.name, question=entry.questions[0], text=body)
    assert row(app, t["id"])["status"] == "answered"
    assert "err=entry_unknown" in (await post(c, f"/console/tickets/{t['id']}/answer-entry", entry="nope"))[1]


def app_console(c):
    from bot.console.views import CONSOLE_KEY

    return c.server.app[CONSOLE_KEY]


# --- spam and bulk ------------------------------------------------------------------------------------------


async def test_spam_and_bulk_close(app, client):
    c = await client()
    a = ticket_of(app, "telegram", "41", GIBBERISH + " kiwi")
    b = ticket_of(app, "telegram", "42", GIBBERISH + " mango")
    d = ticket_of(app, "telegram", "43", GIBBERISH + " papaya")
    status, location = await post(c, "/console/tickets/bulk", action="close", ids=[str(a["id"]), str(b["id"])],
                                  next="/console?channel=telegram")
    assert status == 303 and location.startswith("/console?channel=telegram") and "ok=bulk_close" in location
    assert "n=2" in location
    assert [row(app, x["id"])["status"] for x in (a, b, d)] == ["closed", "closed", "open"]
    assert member_replies(app) == []  # closing sends nothing

    status, location = await post(c, f"/console/tickets/{d['id']}/spam")
    assert "ok=spam" in location
    r = row(app, d["id"])
    assert (r["status"], r["spam"]) == ("closed", 1)
    html = await (await c.get("/console?status=all")).text()
    assert "papaya" not in html and "kiwi" in html
    html = await (await c.get("/console?status=spam")).text()
    assert "papaya" in html and "kiwi" not in html
    assert app.store.inbox_counts(inbox.InboxFilter())["spam"] == 1

    # Reopening a spam ticket makes it an ordinary one again.
    await post(c, f"/console/tickets/{d['id']}/reopen")
    assert (row(app, d["id"])["status"], row(app, d["id"])["spam"]) == ("open", 0)
    # Nothing ticked, or an unknown action: nothing happens.
    assert "err=bulk_empty" in (await post(c, "/console/tickets/bulk", action="close"))[1]
    assert "err=bulk_empty" in (await post(c, "/console/tickets/bulk", action="drop", ids=[str(d["id"])]))[1]
    assert row(app, d["id"])["status"] == "open"
    await post(c, "/console/tickets/bulk", action="spam", ids=[str(d["id"])])
    assert row(app, d["id"])["spam"] == 1


# --- new tickets without a reload ----------------------------------------------------------------------------


async def test_poll_announces_new_tickets(app, client):
    c = await client()
    html = await (await c.get("/console")).text()
    after = int(re.search(r'data-after="(\d+)"', html).group(1))
    assert '<script src="/static/console-inbox.js"' in html
    body = await (await c.get(f"/console/inbox/poll?after={after}")).json()
    assert body["new"] == [] and body["latest"] == after

    t = ticket_of(app, "zalo", "51", GIBBERISH + " <i>mới</i>")
    resp = await c.get(f"/console/inbox/poll?after={after}")
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    assert [n["id"] for n in body["new"]] == [t["id"]]
    assert body["new"][0]["url"] == f"/console/tickets/{t['id']}"
    assert body["new"][0]["channel"] == "Zalo" and "<i>mới</i>" in body["new"][0]["text"]
    assert body["latest"] == t["id"] and body["todo"] == 1
    assert (await (await c.get(f"/console/inbox/poll?after={t['id']}")).json())["new"] == []
    static = await c.get("/static/console-inbox.js")
    assert static.status == 200 and "inbox/poll" not in (await static.text())  # the URL comes from the page


async def test_poll_needs_a_login(app, client):
    c = await client(log_in=False)
    resp = await c.get("/console/inbox/poll?after=0", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/console/login")


# --- CSRF -----------------------------------------------------------------------------------------------------


async def test_every_post_needs_the_csrf_token(app, client):
    c = await client()
    t = ticket_of(app, "telegram", "61")
    await csrf_of(c)  # a session exists, only the token is missing or wrong
    app.store.save_reply(None, "Mẫu", "Nội dung", "A")
    saved = app.store.saved_replies()[0]["id"]
    paths = {
        f"/console/tickets/{t['id']}/answer": {"answer": "x", "staff": "A"},
        f"/console/tickets/{t['id']}/answer-entry": {"entry": "tv-dieu-kien"},
        f"/console/tickets/{t['id']}/assign": {"assignee": "A"},
        f"/console/tickets/{t['id']}/note": {"note": "x"},
        f"/console/tickets/{t['id']}/close": {},
        f"/console/tickets/{t['id']}/spam": {},
        f"/console/tickets/{t['id']}/reopen": {},
        "/console/tickets/bulk": {"action": "close", "ids": str(t["id"])},
        "/console/saved-replies": {"title": "x", "text": "y"},
        f"/console/saved-replies/{saved}/delete": {},
    }
    for path, data in paths.items():
        for token in (None, "0" * 40):
            form = dict(data, **({"csrf": token} if token else {}))
            resp = await c.post(path, data=form, allow_redirects=False)
            assert resp.status == 403, (path, token)
    r = row(app, t["id"])
    assert (r["status"], r["assignee"], r["spam"]) == ("open", None, 0)
    assert member_replies(app) == [] and app.store.ticket_notes(t["id"]) == []
    assert len(app.store.saved_replies()) == 1


# --- the member's phone, with consent -------------------------------------------------------------------------


def payloads(sent) -> list[str]:
    return [b.payload for s in sent for line in s.reply.buttons for b in line]


def test_web_member_leaves_a_phone_only_after_consent(app):
    sent = app.engine.handle(Incoming("web", "w1", text=GIBBERISH))
    [t] = app.store.tickets()
    assert "staff:contact:" in payloads(sent)

    # The button explains and asks; nothing is stored, and a number typed now is just a message.
    sent = app.engine.handle(Incoming("web", "w1", payload="staff:contact:"))
    assert "/xoadulieu" in sent[0].reply.text
    assert set(payloads(sent)) == {"staff:consent:phone:", "staff:consent:zalo:", "staff:nocontact"}
    app.engine.handle(Incoming("web", "w1", text=PHONE))
    assert row(app, t["id"])["contact_phone"] is None

    # Declining stores nothing.
    sent = app.engine.handle(Incoming("web", "w1", payload="staff:nocontact"))
    assert sent[0].reply.text == app.kb.texts["staff_contact_declined"]
    assert row(app, t["id"])["contact_phone"] is None

    # Agreeing (Zalo), a wrong number is asked again, then stored with the time of consent.
    before = time.time()
    sent = app.engine.handle(Incoming("web", "w1", payload="staff:consent:zalo:"))
    assert "số điện thoại" in sent[0].reply.text
    sent = app.engine.handle(Incoming("web", "w1", text="12345"))
    assert "chưa đúng" in sent[0].reply.text and row(app, t["id"])["contact_phone"] is None
    sent = app.engine.handle(Incoming("web", "w1", text=PHONE))
    assert "0912345678" in sent[0].reply.text
    r = row(app, t["id"])
    assert (r["contact_phone"], r["contact_via"]) == ("0912345678", "zalo")
    assert before <= r["contact_consent_at"] <= time.time()
    assert app.store.dialog("web", "w1")[0] is None  # the contact step is over

    # Erasure (/xoadulieu) removes the ticket and the number on it.
    app.engine.handle(Incoming("web", "w1", payload="privacy:forget-yes"))
    assert app.store.conn.execute("select count(*) from tickets where contact_phone is not null").fetchone()[0] == 0


def test_staff_request_offers_the_contact_step_on_the_web_only(app):
    app.engine.handle(Incoming("web", "w2", payload="intent:staff"))
    sent = app.engine.handle(Incoming("web", "w2", text="Cho tôi hỏi cán bộ về vốn vay"))
    [t] = app.store.tickets()
    [button] = [p for p in payloads(sent) if p.startswith("staff:contact:")]
    assert button == f"staff:contact:{t['message_id']}"
    app.engine.handle(Incoming("web", "w2", payload=button))
    app.engine.handle(Incoming("web", "w2", payload=f"staff:consent:phone:{t['message_id']}"))
    app.engine.handle(Incoming("web", "w2", text="+84 912 345 678"))
    r = row(app, t["id"])
    assert (r["contact_phone"], r["contact_via"]) == ("0912345678", "phone")

    app.engine.handle(Incoming("telegram", "71", payload="intent:staff"))
    sent = app.engine.handle(Incoming("telegram", "71", text="Cho tôi hỏi cán bộ về vốn vay"))
    assert not any(p.startswith("staff:contact") for p in payloads(sent))
    sent = app.engine.handle(Incoming("telegram", "72", text=GIBBERISH))
    assert not any(p.startswith("staff:contact") for p in payloads(sent))


async def test_ticket_page_shows_the_contact(app, client):
    c = await client()
    app.engine.handle(Incoming("web", "w3", text=GIBBERISH))
    app.engine.handle(Incoming("web", "w3", payload="staff:consent:phone:"))
    app.engine.handle(Incoming("web", "w3", text=PHONE))
    [t] = app.store.tickets()
    html = await (await c.get(f"/console/tickets/{t['id']}")).text()
    assert "0912345678" in html and "Gọi điện" in html and "đồng ý để lại số" in html
    assert "📞" in await (await c.get("/console")).text()


# --- the phone layout -----------------------------------------------------------------------------------------


async def test_list_turns_into_cards_on_a_phone(app, client):
    c = await client()
    ticket_of(app, "telegram", "81")
    html = await (await c.get("/console")).text()
    assert 'class="list inbox"' in html and 'data-label="Trạng thái"' in html
    css = await (await c.get("/static/console.css")).text()
    section = css[css.index("=== Shared inbox"):]
    assert "@media (max-width: 760px)" in section and "table.list.inbox thead { display: none; }" in section


async def test_selfcheck_answer_quotes_no_summary(app, client):
    """A self-check ticket holds the bot's summary with the contact, not the member's words: not quoted."""
    c = await client()
    with app.store.transaction():
        ticket_id = app.store._open_ticket(None, "zalo", "z5", "selfcheck", "Kết quả: đáp ứng. SĐT 0912345678",
                                           app.store.clock())
    await post(c, f"/console/tickets/{ticket_id}/answer", answer="Mời anh lên Liên minh.")
    [reply] = member_replies(app)
    assert reply["text"] == app.kb.texts["staff_reply_selfcheck"].format(alliance=app.config.alliance.name,
                                                                         text="Mời anh lên Liên minh.")
    assert "0912345678" not in reply["text"]
