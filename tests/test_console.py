"""The staff console: tickets, answering members through their channel, knowledge additions, reports, access."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
import yaml

from bot.app import make_webapp
from bot.console import auth, knowledge, queries
from bot.effects import OpenTicket
from bot.kb import loader
from bot.kb.loader import load_with_report
from bot.types import Incoming

GIBBERISH = "hợp tác xã khai thác cát sỏi lòng sông xyzzy"  # a cooperative question the bot cannot answer
SECRET = GIBBERISH + " bí mật"  # an unknown question holding something private
PASSWORD = "correct-horse-battery-staple-42"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CHEAP_HASHER = auth.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch):
    """argon2 with tiny costs: the tests log in often (the real costs are tested in test_console_auth.py)."""
    monkeypatch.setattr(auth, "HASHER", CHEAP_HASHER)


def add_staff(app, username: str = "lan", role: str = "admin", name: str = "Lan", password: str = PASSWORD) -> int:
    """An account straight in the store (the CLI and the accounts page do the same)."""
    row = app.store.staff_by_username(username)
    if row is not None:
        return row["id"]
    staff_id = app.store.create_staff(username, name, role, auth.hash_password(password))
    assert staff_id
    return staff_id


async def login(client, username: str = "lan", password: str = PASSWORD, headers: dict | None = None,
                next_path: str = "/console"):
    """The login form, as a browser fills it in; returns the response (303 on success)."""
    resp = await client.get("/console/login", headers=headers or {})
    match = CSRF.search(await resp.text())
    assert match, "no CSRF field on the login form"
    return await client.post("/console/login", allow_redirects=False, headers=headers or {},
                             data={"csrf": match.group(1), "username": username, "password": password,
                                   "next": next_path})


@pytest.fixture
def make_client(app, kdir, aiohttp_client):
    """A test client logged in as `username` (created with `role` and `name` when new); `log_in=False`: not."""
    async def make(host: str = "127.0.0.1", role: str = "admin", name: str = "Lan", username: str = "lan",
                   log_in: bool = True):
        app.config.web.host = host
        app.config.knowledge.path = str(kdir)
        client = await aiohttp_client(make_webapp(app, []))
        if log_in:
            add_staff(app, username, role, name)
            resp = await login(client, username)
            assert resp.status == 303, await resp.text()
        return client

    return make


def ask(app, channel: str, user: str, text: str) -> int:
    """One typed message through the engine; returns its message id."""
    app.engine.handle(Incoming(channel, user, text=text))
    return app.store.conn.execute("select max(id) from messages").fetchone()[0]


def unknown_ticket(app, channel: str = "telegram", user: str = "555", text: str = GIBBERISH) -> dict:
    mid = ask(app, channel, user, text)
    assert app.store.message(mid)["kind"] == "unknown"  # precondition: the bot logged it for staff
    rows = [t for t in app.store.tickets(None) if t["message_id"] == mid]
    assert len(rows) == 1 and rows[0]["reason"] == "unknown"
    return rows[0]


async def csrf_of(client, path: str) -> str:
    resp = await client.get(path)
    assert resp.status == 200, path
    match = CSRF.search(await resp.text())
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def staff_replies(app) -> list[dict]:
    return [dict(r) for r in app.store.conn.execute("select * from replies where origin = 'staff' order by id")]


def overlay_of(app) -> Path:
    """Where the console writes staff additions (outside the knowledge folder)."""
    return Path(app.config.knowledge.overlay_path)


def loaded(root: Path, overlay: Path):
    """The knowledge base in `root` with its overlay, as `htx-bot kb check` sees it, and its errors."""
    kb, report = load_with_report(root, overlay)
    return kb, {(p.file, p.entry, p.field, p.message) for p in report.errors}


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- tickets ------------------------------------------------------------------------------------------


async def test_tickets_listed_escaped_and_filtered(app, make_client):
    client = await make_client()
    unknown_ticket(app, "web", "w" * 20, "hợp tác xã khai thác cát sỏi lòng sông <b>xyzzy</b>")
    app.engine.handle(Incoming("telegram", "42", payload="intent:staff"))
    app.engine.handle(Incoming("telegram", "42", text="Cho tôi gặp cán bộ về vốn vay"))
    assert {t["reason"] for t in app.store.tickets()} == {"unknown", "staff_request"}

    resp = await client.get("/console")
    html = await resp.text()
    assert resp.status == 200
    assert "&lt;b&gt;xyzzy&lt;/b&gt;" in html and "<b>xyzzy" not in html
    assert "Cho tôi gặp cán bộ về vốn vay" in html
    assert resp.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]

    html = await (await client.get("/console?reason=staff_request")).text()
    assert "Cho tôi gặp cán bộ về vốn vay" in html and "xyzzy" not in html
    html = await (await client.get("/console?status=answered")).text()
    assert "xyzzy" not in html and "vốn vay" not in html
    html = await (await client.get("/console?channel=web")).text()
    assert "xyzzy" in html and "vốn vay" not in html


async def test_ticket_page_shows_bot_answer_for_negative_feedback(app, make_client):
    client = await make_client()
    entry = app.kb.entries["tv-dieu-kien"]
    mid = ask(app, "zalo", "z1", entry.questions[0])
    assert app.store.message(mid)["entry_id"] == entry.id
    app.engine.handle(Incoming("zalo", "z1", payload=f"fb:-:{mid}"))
    ticket = app.store.tickets()[0]
    assert ticket["reason"] == "negative_feedback"
    html = await (await client.get(f"/console/tickets/{ticket['id']}")).text()
    assert entry.title in html and entry.id in html
    assert "Bot đã trả lời" in html
    assert (await client.get("/console/tickets/999999")).status == 404


async def test_answer_reaches_the_web_chat_through_poll(app, make_client):
    client = await make_client(name="Chị Lan")
    resp = await client.post("/api/message", json={"text": GIBBERISH})
    assert resp.status == 200
    uid = client.session.cookie_jar.filter_cookies(client.make_url("/"))["htx_uid"].value
    ticket = app.store.tickets()[0]
    assert (ticket["channel"], ticket["user_key"], ticket["reason"]) == ("web", uid, "unknown")
    assert (await (await client.get("/api/poll")).json())["replies"] == []

    token = await csrf_of(client, f"/console/tickets/{ticket['id']}")
    resp = await client.post(f"/console/tickets/{ticket['id']}/answer", allow_redirects=False,
                             data={"csrf": token, "answer": "Bà con mang **sổ hộ khẩu** đến xã.", "staff": "Chị Lan"})
    assert resp.status == 303
    assert "ok=answered" in resp.headers["Location"]

    t = queries.ticket(app.store, ticket["id"])
    assert (t["status"], t["staff"], t["answer"]) == ("answered", "Chị Lan", "Bà con mang **sổ hộ khẩu** đến xã.")
    assert t["answered_at"] is not None
    [reply] = staff_replies(app)
    assert (reply["channel"], reply["user_key"], reply["status"]) == ("web", uid, "pending")
    expected = app.kb.texts["staff_reply"].format(alliance=app.config.alliance.name, question=GIBBERISH,
                                                  text="Bà con mang **sổ hộ khẩu** đến xã.")
    assert reply["text"] == expected
    assert app.config.alliance.name in expected

    polled = (await (await client.get("/api/poll")).json())["replies"]
    assert [r["text"] for r in polled] == [expected]
    assert "<b>sổ hộ khẩu</b>" in polled[0]["html"]
    assert (await (await client.get("/api/poll")).json())["replies"] == []
    assert staff_replies(app)[0]["status"] == "sent"

    # A second answer to the same ticket is refused, and nothing more is queued.
    token = await csrf_of(client, f"/console/tickets/{ticket['id']}")
    resp = await client.post(f"/console/tickets/{ticket['id']}/answer", allow_redirects=False,
                             data={"csrf": token, "answer": "Lần hai", "staff": "Anh Minh"})
    assert "err=not_open" in resp.headers["Location"]
    assert len(staff_replies(app)) == 1


async def test_answer_goes_to_the_members_own_channel(app, make_client):
    client = await make_client()
    ticket = unknown_ticket(app, "telegram", "777")
    unknown_ticket(app, "zalo", "888")
    token = await csrf_of(client, f"/console/tickets/{ticket['id']}")
    await client.post(f"/console/tickets/{ticket['id']}/answer",
                      data={"csrf": token, "answer": "Trả lời qua Telegram", "staff": "Lan"})
    [reply] = staff_replies(app)
    assert (reply["channel"], reply["user_key"]) == ("telegram", "777")
    assert [r["id"] for r in app.store.due_replies("telegram") if r["origin"] == "staff"] == [reply["id"]]
    assert [r for r in app.store.due_replies("zalo") if r["origin"] == "staff"] == []


async def test_empty_answer_is_rejected(app, make_client):
    client = await make_client()
    ticket = unknown_ticket(app)
    token = await csrf_of(client, f"/console/tickets/{ticket['id']}")
    resp = await client.post(f"/console/tickets/{ticket['id']}/answer",
                             data={"csrf": token, "answer": "   ", "staff": "Lan"})
    assert resp.status == 400
    assert staff_replies(app) == [] and app.store.tickets()[0]["status"] == "open"


async def test_close_and_reopen(app, make_client):
    client = await make_client()
    ticket = unknown_ticket(app)
    token = await csrf_of(client, f"/console/tickets/{ticket['id']}")
    resp = await client.post(f"/console/tickets/{ticket['id']}/close", allow_redirects=False,
                             data={"csrf": token, "staff": "Lan"})
    assert resp.status == 303 and "ok=closed" in resp.headers["Location"]
    t = queries.ticket(app.store, ticket["id"])
    assert (t["status"], t["staff"], t["answer"]) == ("closed", "Lan", None)
    assert staff_replies(app) == []
    assert app.store.tickets("open") == []
    html = await (await client.get("/console?status=closed")).text()
    assert GIBBERISH in html

    resp = await client.post(f"/console/tickets/{ticket['id']}/close", allow_redirects=False, data={"csrf": token})
    assert "err=not_closable" in resp.headers["Location"]
    resp = await client.post(f"/console/tickets/{ticket['id']}/reopen", allow_redirects=False, data={"csrf": token})
    assert "ok=reopened" in resp.headers["Location"]
    assert queries.ticket(app.store, ticket["id"])["status"] == "open"


async def test_post_without_valid_csrf_is_rejected(app, make_client):
    client = await make_client()
    ticket = unknown_ticket(app)
    url = f"/console/tickets/{ticket['id']}/answer"
    form = {"answer": "Xin chào", "staff": "Lan"}
    assert (await client.post(url, data=form)).status == 403
    assert (await client.post(url, data={**form, "csrf": "0" * 40})).status == 403
    # A token from another browser's session is worth nothing here.
    other = await make_client()
    foreign = await csrf_of(other, f"/console/tickets/{ticket['id']}")
    assert (await client.post(url, data={**form, "csrf": foreign})).status == 403
    assert (await client.post(f"/console/tickets/{ticket['id']}/close", data={})).status == 403
    assert staff_replies(app) == [] and app.store.tickets()[0]["status"] == "open"
    # The same form with this session's token works.
    token = await csrf_of(client, f"/console/tickets/{ticket['id']}")
    assert (await client.post(url, data={**form, "csrf": token}, allow_redirects=False)).status == 303


# --- reports ------------------------------------------------------------------------------------------


def _seed_report(app) -> dict:
    """Known traffic: 2 answered questions, 1 unknown, a button, a command, 👍 and 👎."""
    a, b = app.kb.entries["tv-dieu-kien"], app.kb.entries["tv-von-gop-toi-da"]
    m1 = ask(app, "web", "u" * 20, a.questions[0])
    m2 = ask(app, "telegram", "100", b.questions[0])
    m3 = ask(app, "telegram", "100", GIBBERISH)
    assert [app.store.message(m)["kind"] for m in (m1, m2, m3)] == ["answer", "answer", "unknown"]
    assert (app.store.message(m1)["entry_id"], app.store.message(m2)["entry_id"]) == (a.id, b.id)
    app.engine.handle(Incoming("web", "u" * 20, payload=f"faq:e:{a.id}"))
    app.engine.handle(Incoming("zalo", "z5", text="/start"))
    app.engine.handle(Incoming("web", "u" * 20, payload=f"fb:+:{m1}"))
    app.engine.handle(Incoming("telegram", "100", payload=f"fb:-:{m2}"))
    return {"a": a.id, "b": b.id, "m1": m1}


async def test_summary_numbers(app, make_client):
    ids = _seed_report(app)
    day = queries.today(app.store.clock())
    s = queries.summary(app.store, day, day)
    assert (s["messages"], s["questions"], s["users"]) == (7, 3, 3)
    assert {o["kind"]: o["n"] for o in s["outcomes"]} == {"answer": 2, "unknown": 1}
    assert s["searched"] == 3
    assert s["rates"]["unknown"] == pytest.approx(1 / 3) and s["rates"]["answer"] == pytest.approx(2 / 3)
    assert s["feedback"] == {"up": 1, "down": 1}
    assert {c["channel"]: (c["messages"], c["questions"]) for c in s["channels"]} == {
        "web": (3, 1), "telegram": (3, 2), "zalo": (1, 0)}
    top = {e["entry_id"]: (e["n"], e["typed"], e["up"], e["down"]) for e in s["top_entries"]}
    assert top == {ids["a"]: (2, 1, 1, 0), ids["b"]: (1, 1, 0, 1)}
    assert {t["reason"]: t["n"] for t in s["tickets"]} == {"unknown": 1, "negative_feedback": 1}
    assert [d["messages"] for d in s["days"]] == [7]

    week = queries.summary(app.store, day - queries.dt.timedelta(days=6), day)
    assert len(week["days"]) == 7 and [d["messages"] for d in week["days"]] == [0] * 6 + [7]
    before = queries.summary(app.store, day - queries.dt.timedelta(days=3), day - queries.dt.timedelta(days=1))
    assert (before["messages"], before["rates"]["unknown"], before["feedback"]) == (0, None, {"up": 0, "down": 0})

    client = await make_client()
    html = await (await client.get(f"/console/summary?from={day}&to={day}")).text()
    assert '<span class="n" id="st-answered-rate">66,7%</span>' in html  # the period report (reports.py)
    assert '<span class="n" id="st-questions">3</span>' in html
    assert app.kb.entries[ids["a"]].title in html


async def test_messages_page_lists_outcomes_and_feedback(app, make_client):
    ids = _seed_report(app)
    client = await make_client()
    html = await (await client.get("/console/messages")).text()
    assert GIBBERISH in html and app.kb.entries[ids["a"]].title in html
    assert "👍 1 · 👎 1" in html
    html = await (await client.get("/console/messages?kind=unknown")).text()
    assert GIBBERISH in html and app.kb.entries[ids["a"]].questions[0] not in html
    html = await (await client.get("/console/messages?questions=1")).text()
    assert "/start" not in html


async def test_csv_exports(app, make_client):
    _seed_report(app)
    formula = '=HYPERLINK("http://x") htx xyzzy'
    ask(app, "web", "v" * 20, formula)
    client = await make_client()
    day = queries.today(app.store.clock())

    resp = await client.get(f"/console/export/messages.csv?from={day}&to={day}")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in resp.headers["Content-Disposition"]
    body = (await resp.read()).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body[1:])))
    assert len(rows) == 8
    labels = yaml.safe_load((Path(__file__).parent.parent / "bot/templates/console/labels.yaml").read_text())
    text_col, outcome_col = labels["csv_messages"]["text"], labels["csv_messages"]["outcome"]
    assert rows[2][text_col] == GIBBERISH and rows[2][outcome_col] == "unknown"
    assert rows[-1][text_col] == "'" + formula  # never a live formula in a spreadsheet

    resp = await client.get(f"/console/export/tickets.csv?from={day}&to={day}")
    rows = list(csv.DictReader(io.StringIO((await resp.read()).decode("utf-8")[1:])))
    reason_col, question_col = labels["csv_tickets"]["reason"], labels["csv_tickets"]["question"]
    assert sorted(r[reason_col] for r in rows) == sorted(t["reason"] for t in app.store.tickets(None))
    assert {"negative_feedback", "unknown"} <= {r[reason_col] for r in rows}
    assert GIBBERISH in {r[question_col] for r in rows}

    old = day - queries.dt.timedelta(days=30)
    resp = await client.get(f"/console/export/messages.csv?from={old}&to={old}")
    assert list(csv.reader(io.StringIO((await resp.read()).decode("utf-8")[1:])))[1:] == []


# --- knowledge ----------------------------------------------------------------------------------------


async def publish(client, draft_path: str) -> None:
    """An editor (or admin) publishes a draft from its page; the bot reloads by itself."""
    token = await csrf_of(client, draft_path)
    resp = await client.post(draft_path + "/publish", allow_redirects=False, data={"csrf": token})
    assert resp.status == 303 and "ok=published" in resp.headers["Location"], await resp.text()


def drafted(resp) -> str:
    """The draft page a new draft redirects to."""
    assert resp.status == 303, resp.status
    match = re.match(r"(/console/review/drafts/\d+)\?ok=drafted$", resp.headers["Location"])
    assert match, resp.headers["Location"]
    return match.group(1)


async def test_phrasing_from_a_ticket_is_a_draft_until_published(app, make_client, kdir):
    client = await make_client()
    overlay = overlay_of(app)
    question = "con 17 tuổi vào hợp tác xã được không"
    ticket = unknown_ticket(app, text="xyzzy cho con 17 tuổi vào hợp tác xã được không")
    _, baseline = loaded(kdir, overlay)
    shipped = snapshot(kdir)
    page = await (await client.get(f"/console/tickets/{ticket['id']}")).text()
    form = page[page.index('id="kien-thuc"'):]
    assert 'action="/console/review/drafts"' in form and f'name="message" value="{ticket["message_id"]}"' in form
    assert f'href="/console/review/new?message={ticket["message_id"]}"' in form
    assert "/console/knowledge/phrasing" not in page and "/console/knowledge/new" not in page  # no way around review
    token = CSRF.search(page).group(1)
    resp = await client.post("/console/review/drafts", allow_redirects=False, data={
        "csrf": token, "kind": "phrasing", "message": str(ticket["message_id"]), "entry": "tv-dieu-kien",
        "staff": "Người khác", "question": question})
    draft_path = drafted(resp)
    [draft] = app.store.drafts()
    assert (draft["message_id"], draft["created_by"], draft["status"]) == (ticket["message_id"], "Lan", "draft")
    assert not (overlay / loader.STAFF_PHRASINGS).exists()  # a draft writes nothing
    assert question not in app.kb.entries["tv-dieu-kien"].questions

    # A phrasing the entry already has, or an unknown entry: back to the question with the reason, no draft.
    for entry, phrasing, code in (("tv-dieu-kien", app.kb.entries["tv-dieu-kien"].questions[0], "question_exists"),
                                  ("khong-co-muc-nay", "câu gì đó", "entry_unknown")):
        resp = await client.post("/console/review/drafts", allow_redirects=False, data={
            "csrf": token, "kind": "phrasing", "message": str(ticket["message_id"]), "entry": entry,
            "question": phrasing})
        assert resp.status == 303
        assert resp.headers["Location"] == f"/console/review/from/{ticket['message_id']}?err={code}"
    assert len(app.store.drafts()) == 1

    await publish(client, draft_path)
    kb, errors = loaded(kdir, overlay)
    assert kb.entries["tv-dieu-kien"].questions[-1] == question
    assert question in app.kb.entries["tv-dieu-kien"].questions  # the running bot, without a reload
    assert errors == baseline
    assert snapshot(kdir) == shipped  # nothing written into the knowledge folder


def _entry_form(token: str, **overrides) -> dict:
    """A new entry (format v2) as the review form posts it."""
    form = {
        "csrf": token, "kind": "entry", "title": "HTX có được vay vốn Quỹ hỗ trợ phát triển HTX không?",
        "questions": "htx vay quy ho tro phat trien\nhợp tác xã vay quỹ hỗ trợ được không\nquỹ htx cho vay không",
        "short": "Được, nếu HTX đáp ứng điều kiện của quỹ.\n• Có **phương án** sản xuất kinh doanh.",
        "doc": ["17/2023/QH15", ""], "article": ["9", ""], "clause": ["", ""], "staff": "Người khác",
    }
    form.update(overrides)
    return form


async def test_new_entry_from_a_question_is_published_valid_and_cited(app, make_client, kdir):
    client = await make_client()
    overlay = overlay_of(app)
    ticket = unknown_ticket(app)
    _, baseline = loaded(kdir, overlay)
    shipped = snapshot(kdir)
    page = await (await client.get(f"/console/review/new?message={ticket['message_id']}")).text()
    assert GIBBERISH in page  # the member's question is the first phrasing
    token = CSRF.search(page).group(1)
    first = drafted(await client.post("/console/review/drafts", allow_redirects=False, data=_entry_form(
        token, message=str(ticket["message_id"]))))
    assert app.store.drafts()[0]["created_by"] == "Lan"
    assert not (overlay / knowledge.ENTRIES_FILE).exists()
    await publish(client, first)

    # A second entry is appended to the same file; both load.
    old_rule = "Luật 2012 cho HTX cũ giữ điều lệ cũ."
    second = drafted(await client.post("/console/review/drafts", allow_redirects=False, data=_entry_form(
        token, title="HTX cũ phải làm gì theo Luật 2012?", doc=["23/2012/QH13", "17/2023/QH15"],
        article=["13", "30"], clause=["1", ""], short="Nay áp dụng Điều 30 Luật HTX 2023.", history=old_rule,
        questions="htx cu theo luat 2012")))
    await publish(client, second)
    kb, errors = loaded(kdir, overlay)
    first, second = [e for e in kb.entries.values() if e.file.endswith(knowledge.ENTRIES_FILE)]
    assert first.file == second.file == "overlay/" + knowledge.ENTRIES_FILE
    assert first.id.startswith("ctv-htx-co-duoc-vay-von") and first.id in app.kb.entries
    assert [(c.doc, c.article, c.clause) for c in first.citations] == [("17/2023/QH15", 9, None)]
    assert len(first.questions) == 3 and "**phương án**" in first.short and first.history is None
    assert [(c.doc, c.article, c.clause) for c in second.citations] == [("23/2012/QH13", 13, 1),
                                                                          ("17/2023/QH15", 30, None)]
    assert (second.short, second.history) == ("Nay áp dụng Điều 30 Luật HTX 2023.", old_rule)
    assert errors == baseline
    assert snapshot(kdir) == shipped  # nothing written into the knowledge folder


def test_form_text_keeps_its_lines():
    """Answers, notes and entry texts keep the lines staff typed (one phrasing a line, bullets)."""
    assert knowledge.clean_text("Được  nếu:\r\n\r\n• có\u200b phương án  \r\n") == "Được nếu:\n\n• có phương án"
    assert knowledge.parse_list(knowledge.clean_text("hỏi một\r\nhỏi  hai\n")) == ["hỏi một", "hỏi hai"]


@pytest.mark.parametrize("overrides, message", [
    ({"doc": ["", ""]}, "Cần ít nhất một căn cứ pháp lý"),
    ({"short": ""}, "Cần nhập trả lời ngắn"),
    ({"article": ["abc", ""]}, "số nguyên dương"),
    ({"id": "tv-dieu-kien"}, "Mã mục này đã có"),
])
async def test_invalid_entry_is_not_drafted(app, make_client, kdir, overrides, message):
    client = await make_client()
    shipped = snapshot(kdir)
    token = await csrf_of(client, "/console/review/new")
    resp = await client.post("/console/review/drafts", data=_entry_form(token, **overrides))
    assert resp.status == 400
    assert message in await resp.text()
    assert app.store.drafts() == []
    assert not (overlay_of(app) / knowledge.ENTRIES_FILE).exists()
    assert snapshot(kdir) == shipped


async def test_entry_only_the_loader_refuses_is_never_published(app, make_client, kdir):
    """The 2023 law has no article 999: only the loader knows, on the draft page and when publishing."""
    client = await make_client()
    shipped = snapshot(kdir)
    token = await csrf_of(client, "/console/review/new")
    draft_path = drafted(await client.post("/console/review/drafts", allow_redirects=False,
                                           data=_entry_form(token, article=["999", ""])))
    assert "999" in await (await client.get(draft_path)).text()
    token = await csrf_of(client, draft_path)
    resp = await client.post(draft_path + "/publish", data={"csrf": token})
    assert resp.status == 400 and "Chưa đăng" in await resp.text()
    assert app.store.drafts()[0]["status"] == "draft"
    assert not (overlay_of(app) / knowledge.ENTRIES_FILE).exists()
    assert snapshot(kdir) == shipped


async def test_knowledge_page_lists_additions_and_offers_a_reload(app, make_client, kdir):
    client = await make_client()
    html = await (await client.get("/console/knowledge")).text()
    assert 'action="/console/review/drafts"' in html and 'href="/console/review/new"' in html
    token = CSRF.search(html).group(1)
    draft_path = drafted(await client.post("/console/review/drafts", allow_redirects=False, data={
        "csrf": token, "kind": "phrasing", "entry": "tv-dieu-kien", "question": "xyzzy mấy tuổi được vào htx"}))
    assert "xyzzy mấy tuổi được vào htx" not in await (await client.get("/console/knowledge")).text()  # a draft
    await publish(client, draft_path)
    html = await (await client.get("/console/knowledge")).text()
    row = html[html.index("xyzzy mấy tuổi được vào htx"):]
    row = row[:row.index("</tr>")]
    assert "Lan" in row and f'href="{draft_path}"' in row and ">Có<" in row  # who, from which draft, live

    # An addition written into the overlay outside the console waits for the reload button.
    result = knowledge.add_phrasing(knowledge.root_dir(app.config), "tv-dieu-kien", "xyzzy bao nhiêu tuổi vào htx",
                                    "Người biên soạn", None, queries.today(app.store.clock()))
    assert result.ok
    html = await (await client.get("/console/knowledge")).text()
    assert "xyzzy bao nhiêu tuổi vào htx" in html
    assert "Chưa — cần nạp lại" in html and 'action="/console/knowledge/reload"' in html  # tests/test_reload.py


def test_loader_merges_staff_phrasings_and_rejects_unknown_entries(kdir, tmp_path):
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    path = overlay / loader.STAFF_PHRASINGS
    path.write_text("- {entry: tv-dieu-kien, question: 'ong ba 70 tuoi vao htx duoc ko'}\n", encoding="utf-8")
    kb, report = load_with_report(kdir, overlay)
    assert kb.entries["tv-dieu-kien"].questions[-1] == "ong ba 70 tuoi vao htx duoc ko"
    assert not [p for p in report.errors if p.file.endswith(loader.STAFF_PHRASINGS)]
    path.write_text("- {entry: khong-co, question: 'abc'}\n- {entry: tv-dieu-kien, extra: 1}\n",
                    encoding="utf-8")
    _, report = load_with_report(kdir, overlay)
    mine = sorted((p.entry, p.field) for p in report.errors if p.file.endswith(loader.STAFF_PHRASINGS))
    assert mine == [("#1", "entry"), ("#2", "extra"), ("#2", "question")]


def test_effect_ticket_reason_from_a_future_handler_is_listed(app):
    """A reason the console does not know yet still shows up (as its code) and can be filtered."""
    mid = ask(app, "web", "x" * 20, "xin chào")
    app.store.complete(mid, "web", "x" * 20, [], {"kind": "info"}, None,
                       [OpenTicket("document_request", "Xin mẫu điều lệ")])
    assert "document_request" in queries.reasons(app.store, ["unknown"])
    assert [t["text"] for t in queries.tickets(app.store, "open", "document_request")] == ["Xin mẫu điều lệ"]
