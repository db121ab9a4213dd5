"""Knowledge edits with review: draft → propose → publish (the bot answers with it), reject, rollback,
roles, loader problems in Vietnamese, the "try it" box and the YAML export."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import test_console
import yaml
from test_console import GIBBERISH, ask, csrf_of

from bot.console.knowledge import ENTRIES_FILE, STAFF_PHRASINGS
from bot.types import Incoming

NEW_QUESTION = "htx nuôi ong mật có được miễn thuế xyzzy không"
make_console, cheap_hashing = test_console.make_client, test_console.cheap_hashing
SHORT = "Có. HTX nuôi ong được miễn thuế thu nhập với phần thu từ sản phẩm thành viên tự làm ra (Luật HTX 2023)."


@pytest.fixture
def make_client(make_console):
    """The console logged in as an editor, "Chị Lan" (who drafts, proposes and publishes)."""
    async def make(role: str = "editor", username: str = "lan", name: str = "Chị Lan"):
        return await make_console(role=role, username=username, name=name)

    return make


def overlay(app) -> Path:
    return Path(app.config.knowledge.overlay_path)


def answered_with(app, text: str, user: str = "check") -> str | None:
    mid = ask(app, "web", user, text)
    return app.store.message(mid)["entry_id"]


async def post(client, path: str, data: dict, csrf_page: str = "/console/review/new") -> object:
    token = await csrf_of(client, csrf_page)
    return await client.post(path, data={"csrf": token, **data}, allow_redirects=False)


def draft_id(resp) -> int:
    assert resp.status == 303, resp.status
    match = re.search(r"/console/review/drafts/(\d+)", resp.headers["Location"])
    assert match, resp.headers["Location"]
    return int(match.group(1))


def entry_form(**extra) -> dict:
    form = {"kind": "entry", "title": "HTX nuôi ong có được miễn thuế không", "questions": NEW_QUESTION,
            "short": SHORT, "doc": "17/2023/QH15", "article": "20", "clause": ""}
    form.update(extra)
    return form


async def test_phrasing_draft_propose_publish_and_the_bot_answers_with_it(app, make_client):
    client = await make_client()
    mid = ask(app, "telegram", "7", GIBBERISH)
    assert app.store.message(mid)["kind"] == "unknown"
    html = await (await client.get(f"/console/review/from/{mid}")).text()
    assert GIBBERISH in html and "Bot đoán gần nhất" in html
    assert "tv-dieu-kien" in html  # the whole list is there too, filterable
    filtered = await (await client.get(f"/console/review/from/{mid}?q=vốn tối đa")).text()
    # the bot's guesses stay first; the list below them keeps only the entries matching the words
    assert 'value="tv-von-gop-toi-da"' in filtered
    assert html.count('value="htx-la-gi"') == 2 and filtered.count('value="htx-la-gi"') == 1

    resp = await post(client, "/console/review/drafts", {"kind": "phrasing", "entry": "tv-dieu-kien",
                                                         "question": GIBBERISH, "message": str(mid)})
    did = draft_id(resp)
    assert app.store.draft(did)["status"] == "draft"
    assert not (overlay(app) / STAFF_PHRASINGS).exists()  # a draft writes no file
    page = await (await client.get(f"/console/review/drafts/{did}")).text()
    assert "Bộ kiểm tra kiến thức chấp nhận" in page
    assert "Điều kiện để trở thành thành viên HTX" in page  # the "try it" answer is the chosen entry

    resp = await post(client, f"/console/review/drafts/{did}/propose", {})
    assert resp.status == 303 and app.store.draft(did)["status"] == "proposed"
    resp = await post(client, f"/console/review/drafts/{did}/publish", {})
    assert resp.status == 303 and "ok=published" in resp.headers["Location"]
    draft = app.store.draft(did)
    assert draft["status"] == "published" and draft["decided_by"] and draft["decided_at"]
    [change] = app.store.changes()
    assert change["path"] == STAFF_PHRASINGS and change["published_by"]
    assert GIBBERISH in (overlay(app) / STAFF_PHRASINGS).read_text(encoding="utf-8")
    assert answered_with(app, GIBBERISH) == "tv-dieu-kien"  # live, without a restart


async def test_entry_draft_try_it_publish_rollback(app, make_client):
    client = await make_client()
    assert answered_with(app, NEW_QUESTION, "before") is None
    did = draft_id(await post(client, "/console/review/drafts", entry_form()))
    draft = app.store.draft(did)
    assert draft["data"]["id"].startswith("ctv-") and draft["data"]["short"] == SHORT
    page = await (await client.get(f"/console/review/drafts/{did}")).text()
    assert "Bộ kiểm tra kiến thức chấp nhận" in page
    assert "miễn thuế thu nhập" in page and 'class="preview"' in page  # what the bot would answer
    assert answered_with(app, NEW_QUESTION, "still-before") is None  # trying changed nothing live

    resp = await post(client, f"/console/review/drafts/{did}/publish", {})
    assert "ok=published" in resp.headers["Location"]
    written = yaml.safe_load((overlay(app) / ENTRIES_FILE).read_text(encoding="utf-8"))
    [entry] = written["entries"]
    assert entry["short"].strip() == SHORT and "answer" not in entry
    assert answered_with(app, NEW_QUESTION, "after") == draft["data"]["id"]

    export = await client.get("/console/review/export.yaml")
    assert export.status == 200 and "attachment" in export.headers["Content-Disposition"]
    docs = list(yaml.safe_load_all(await export.text()))
    assert [e["id"] for e in docs[0]["entries"]] == [draft["data"]["id"]]

    [change] = app.store.changes()
    resp = await post(client, f"/console/review/changes/{change['id']}/rollback", {})
    assert resp.headers["Location"].endswith("ok=rolled_back")
    assert not (overlay(app) / ENTRIES_FILE).exists()  # the file did not exist before the change
    assert app.store.draft(did)["status"] == "rolled_back"
    assert answered_with(app, NEW_QUESTION, "rolled") is None
    resp = await post(client, f"/console/review/changes/{change['id']}/rollback", {})
    assert "err=rolled_back_already" in resp.headers["Location"]


async def test_rollback_of_an_older_change_waits_for_the_newer_one(app, make_client):
    client = await make_client()
    first = draft_id(await post(client, "/console/review/drafts", {"kind": "phrasing", "entry": "tv-dieu-kien",
                                                                   "question": "ai vao htx duoc xyzzy"}))
    second = draft_id(await post(client, "/console/review/drafts", {"kind": "phrasing", "entry": "tv-dieu-kien",
                                                                    "question": "ai vao htx duoc plugh"}))
    for did in (first, second):
        await post(client, f"/console/review/drafts/{did}/publish", {})
    newer, older = app.store.changes()
    resp = await post(client, f"/console/review/changes/{older['id']}/rollback", {})
    assert "err=later_change" in resp.headers["Location"]
    text = (overlay(app) / STAFF_PHRASINGS).read_text(encoding="utf-8")
    assert "xyzzy" in text and "plugh" in text
    await post(client, f"/console/review/changes/{newer['id']}/rollback", {})
    await post(client, f"/console/review/changes/{older['id']}/rollback", {})
    assert not (overlay(app) / STAFF_PHRASINGS).exists()


async def test_reject(app, make_client):
    client = await make_client()
    did = draft_id(await post(client, "/console/review/drafts", entry_form()))
    await post(client, f"/console/review/drafts/{did}/propose", {})
    resp = await post(client, f"/console/review/drafts/{did}/reject", {"note": "Chưa có căn cứ thuế"})
    assert "ok=rejected" in resp.headers["Location"]
    draft = app.store.draft(did)
    assert (draft["status"], draft["note"]) == ("rejected", "Chưa có căn cứ thuế")
    resp = await post(client, f"/console/review/drafts/{did}/publish", {})
    assert "err=status" in resp.headers["Location"]
    assert not (overlay(app) / ENTRIES_FILE).exists()


async def test_viewer_cannot_publish_staff_cannot_publish(app, make_client):
    writer = await make_client(role="staff", username="an", name="An")
    did = draft_id(await post(writer, "/console/review/drafts", entry_form()))
    assert app.store.draft(did)["created_by"] == "An"  # signed by the logged-in member
    viewer = await make_client(role="viewer", username="binh", name="Bình")
    for client in (viewer, writer):
        resp = await post(client, f"/console/review/drafts/{did}/publish", {}, csrf_page="/console/review")
        assert resp.status == 403
        assert "Không đủ quyền" in await resp.text()
    assert app.store.draft(did)["status"] == "draft"
    assert not (overlay(app) / ENTRIES_FILE).exists()
    resp = await post(viewer, "/console/review/drafts", entry_form(title="Khác"), csrf_page="/console/review")
    assert resp.status == 403  # a viewer does not even draft
    assert len(app.store.drafts()) == 1
    assert answered_with(app, NEW_QUESTION) is None


async def test_loader_problems_are_shown_in_vietnamese_and_block_publishing(app, make_client):
    client = await make_client()
    long_short = " ".join(["HTX nuôi ong được miễn thuế"] * 15) + "."
    form = entry_form(short=long_short, unsure="Mức thuế chưa xác minh với cơ quan thuế.",
                      doc="23/2012/QH13", article="13")
    did = draft_id(await post(client, "/console/review/drafts", form))
    page = await (await client.get(f"/console/review/drafts/{did}")).text()
    assert "trả lời ngắn: 90 chữ, quá giới hạn 60 chữ" in page
    assert "ghi chú nghiên cứu" in page and "lưu ý khi chưa chắc" in page
    assert "quy định trước đây: trích 23/2012/QH13 (đã hết hiệu lực)" in page
    resp = await post(client, f"/console/review/drafts/{did}/publish", {})
    assert resp.status == 400 and "Chưa đăng" in await resp.text()
    assert app.store.draft(did)["status"] == "draft"
    assert not (overlay(app) / ENTRIES_FILE).exists()


async def test_form_problems_and_edit(app, make_client):
    client = await make_client()
    resp = await post(client, "/console/review/drafts", entry_form(short="", doc=""))
    html = await resp.text()
    assert resp.status == 400
    assert "Cần nhập trả lời ngắn" in html and "Cần ít nhất một căn cứ pháp lý" in html
    did = draft_id(await post(client, "/console/review/drafts", entry_form()))
    resp = await post(client, f"/console/review/drafts/{did}/edit", entry_form(unsure="Bà con hỏi thêm chi cục thuế."))
    assert "ok=edited" in resp.headers["Location"]
    assert app.store.draft(did)["data"]["unsure"] == "Bà con hỏi thêm chi cục thuế."
    # A phrasing draft is one line: not edited (rejected and drafted again), and said so — not "no rights".
    pid = draft_id(await post(client, "/console/review/drafts", {"kind": "phrasing", "entry": "tv-dieu-kien",
                                                                 "question": "ai vao htx duoc xyzzy"}))
    resp = await post(client, f"/console/review/drafts/{pid}/edit", entry_form())
    assert resp.status == 303 and resp.headers["Location"].endswith("err=phrasing_not_editable")
    assert app.store.draft(pid)["data"] == {"entry": "tv-dieu-kien", "question": "ai vao htx duoc xyzzy"}


def test_engine_still_answers_known_question(app):
    """Sanity: the fixture entry the phrasing tests attach to answers its own phrasing."""
    app.engine.handle(Incoming("web", "s", text="muốn vào htx cần những gì"))
    assert app.store.conn.execute("select entry_id from messages order by id desc").fetchone()[0] == "tv-dieu-kien"
