"""Roles on every console route: anonymous refused, each role allowed only its actions, CSRF, escaping."""

from __future__ import annotations

import pytest
import test_console
from test_console import CSRF, add_staff, login, overlay_of, staff_replies, unknown_ticket

from bot.app import make_webapp
from bot.console import auth, knowledge
from bot.kb import loader

make_client, cheap_hashing = test_console.make_client, test_console.cheap_hashing

# (method, route as registered) → the least role, and the concrete paths tried. Every /console route is here.
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/console"): "viewer",
    ("GET", "/console/"): "viewer",
    ("GET", "/console/inbox/poll"): "viewer",
    ("GET", "/console/tickets/{id}"): "viewer",
    ("GET", "/console/messages"): "viewer",
    ("GET", "/console/conversation"): "viewer",
    ("GET", "/console/summary"): "viewer",
    ("GET", "/console/summary/report.xlsx"): "viewer",
    ("GET", "/console/summary/{table}.csv"): "viewer",
    ("GET", "/console/export/tickets.csv"): "viewer",
    ("GET", "/console/export/messages.csv"): "viewer",
    ("GET", "/console/knowledge"): "viewer",
    ("GET", "/console/review"): "viewer",
    ("GET", "/console/review/drafts/{id}"): "viewer",
    ("GET", "/console/review/export.yaml"): "viewer",
    ("GET", "/console/password"): "viewer",
    ("POST", "/console/password"): "viewer",
    ("POST", "/console/tickets/{id}/answer"): "staff",
    ("POST", "/console/tickets/{id}/answer-entry"): "staff",
    ("POST", "/console/tickets/{id}/assign"): "staff",
    ("POST", "/console/tickets/{id}/note"): "staff",
    ("POST", "/console/tickets/{id}/close"): "staff",
    ("POST", "/console/tickets/{id}/reopen"): "staff",
    ("POST", "/console/tickets/{id}/spam"): "staff",
    ("POST", "/console/tickets/bulk"): "staff",
    ("GET", "/console/review/from/{message}"): "staff",
    ("GET", "/console/review/new"): "staff",
    ("POST", "/console/review/drafts"): "staff",
    ("POST", "/console/review/drafts/{id}/edit"): "staff",
    ("POST", "/console/review/drafts/{id}/propose"): "staff",
    ("GET", "/console/saved-replies"): "editor",
    ("POST", "/console/saved-replies"): "editor",
    ("POST", "/console/saved-replies/{id}/delete"): "editor",
    ("POST", "/console/review/drafts/{id}/publish"): "editor",
    ("POST", "/console/review/drafts/{id}/reject"): "editor",
    ("POST", "/console/review/changes/{id}/rollback"): "editor",
    ("POST", "/console/knowledge/reload"): "editor",
    ("GET", "/console/accounts"): "admin",
    ("POST", "/console/accounts"): "admin",
    ("POST", "/console/accounts/{id}/{action}"): "admin",
    ("GET", "/console/audit"): "admin",
}
PUBLIC = {("GET", "/console/login"), ("POST", "/console/login"), ("POST", "/console/logout")}
ROLES = ["viewer", "staff", "editor", "admin"]


ENTRY_DRAFT = {"id": "ctv-thu-quyen", "title": "HTX nuôi ong có được miễn thuế không",
               "questions": ["htx nuôi ong mật có được miễn thuế không"], "short": "Có, với phần thu từ thành viên.",
               "detail": "", "history": "", "unsure": "", "citations": [{"doc": "17/2023/QH15", "article": 20}],
               "province": "", "related": [], "keywords": []}


def targets(app) -> dict[str, int]:
    """What the routes act on: an unknown question's ticket, another account, an entry draft, a saved reply."""
    ticket = unknown_ticket(app)
    return {
        "ticket": ticket["id"], "message": ticket["message_id"],
        "staff": add_staff(app, "muc-tieu", "viewer", "Mục tiêu"),
        "draft": app.store.create_draft("entry", dict(ENTRY_DRAFT), "Mục tiêu", ticket["message_id"]),
        "saved": app.store.save_reply(None, "Mẫu", "Nội dung mẫu", "Mục tiêu"),
        "change": 1,  # none yet: an allowed rollback reaches its handler and gets 404
    }


def concrete(route: str, ids: dict[str, int]) -> list[str]:
    kind = ("ticket" if "/tickets/" in route else "draft" if "/drafts/" in route else "change" if "/changes/" in route
            else "saved" if "/saved-replies/" in route else "staff")
    path = route.replace("{id}", str(ids[kind])).replace("{message}", str(ids["message"]))
    path = path.replace("{table}", "themes")
    if "{action}" in path:
        return [path.replace("{action}", a) for a in ("role", "reset", "disable", "enable")]
    return [path + ("?channel=telegram&user=555" if path.endswith("conversation") else "")]


def form_for(path: str) -> dict:
    """A form the route accepts (or refuses with 400 on its own checks): never an error of access."""
    if path.endswith("/answer"):
        return {"answer": "Trả lời thử"}
    if path.endswith("/review/drafts"):
        return {"kind": "phrasing", "entry": "tv-dieu-kien", "question": "xyzzy cach hoi moi"}
    if path.endswith("/accounts"):
        return {"username": "moi-" + path[-3:].strip("/"), "role": "viewer"}
    if path.endswith("/role"):
        return {"role": "staff"}
    if path.endswith("/reload"):
        return {"next": "/console/knowledge"}
    if path.endswith("/assign"):
        return {"assignee": "me"}
    if path.endswith("/note"):
        return {"note": "Ghi chú thử"}
    if path.endswith("/bulk"):
        return {"action": "close", "ids": "1"}
    if path.endswith("/saved-replies"):
        return {"title": "Mẫu mới", "text": "Nội dung"}
    return {}


def test_every_console_route_is_in_the_table(app, kdir):
    app.config.knowledge.path = str(kdir)
    webapp = make_webapp(app, [])
    registered = {(r.method, r.resource.canonical) for r in webapp.router.routes()
                  if r.resource is not None and r.resource.canonical.startswith("/console") and r.method != "HEAD"}
    assert registered == set(ROUTES) | PUBLIC


def test_a_route_with_an_unknown_role_is_refused_at_start():
    from bot.console.views import guarded

    async def handler(request):
        raise AssertionError

    with pytest.raises(ValueError, match="unknown console role"):
        guarded(handler, "editr")


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_gets_exactly_its_routes(app, make_client, role):
    ids = targets(app)
    client = await make_client(role=role, username=f"u-{role}")
    token = CSRF.search(await (await client.get("/console/password")).text()).group(1)
    for (method, route), needed in ROUTES.items():
        allowed = auth.at_least(role, needed)
        for path in concrete(route, ids):
            if method == "GET":
                resp = await client.get(path, allow_redirects=False)
                await resp.read()
                assert (resp.status == 200) if allowed else (resp.status == 403), (role, path, resp.status)
            else:
                resp = await client.post(path, allow_redirects=False, data={"csrf": token, **form_for(path)})
                assert (resp.status not in (401, 403)) if allowed else (resp.status == 403), (role, path, resp.status)
            if not allowed:
                html = await resp.text()
                assert "Không đủ quyền" in html and "xyzzy" not in html
    if role == "viewer":  # nothing a viewer tried changed anything
        assert app.store.tickets()[0]["status"] == "open" and staff_replies(app) == []
        assert not (overlay_of(app) / loader.STAFF_PHRASINGS).exists()
        assert not (overlay_of(app) / knowledge.ENTRIES_FILE).exists()
        assert [(d["id"], d["status"]) for d in app.store.drafts()] == [(ids["draft"], "draft")]
        assert [r["id"] for r in app.store.saved_replies()] == [ids["saved"]]
        assert app.store.ticket_notes(ids["ticket"]) == []
        assert app.store.staff_by_username("muc-tieu")["role"] == "viewer"
        assert {r["username"] for r in app.store.staff_list()} == {"muc-tieu", "u-viewer"}


async def test_anonymous_is_sent_to_login_or_refused(app, make_client):
    ids = targets(app)
    client = await make_client(log_in=False)
    token = CSRF.search(await (await client.get("/console/login")).text()).group(1)
    for (method, route) in ROUTES:
        for path in concrete(route, ids):
            if method == "GET":
                resp = await client.get(path, allow_redirects=False)
                assert resp.status == 303, path
                assert resp.headers["Location"].startswith("/console/login?next=%2Fconsole")
            else:
                resp = await client.post(path, allow_redirects=False, data={"csrf": token, **form_for(path)})
                assert resp.status == 401, path
                assert "xyzzy" not in await resp.text()
    assert app.store.tickets()[0]["status"] == "open" and staff_replies(app) == []
    assert app.store.staff_by_username("muc-tieu")["active"] == 1 and app.store.staff_count() == 1
    assert [(d["id"], d["status"]) for d in app.store.drafts()] == [(ids["draft"], "draft")]
    assert len(app.store.saved_replies()) == 1


async def test_csrf_is_enforced_on_every_post(app, make_client):
    ids = targets(app)
    client = await make_client(role="admin")
    other = await make_client(role="admin", username="khac")
    foreign = CSRF.search(await (await other.get("/console/password")).text()).group(1)
    for (method, route) in [*ROUTES, ("POST", "/console/logout")]:
        if method != "POST":
            continue
        for path in concrete(route, ids):
            for token in (None, "0" * 40, foreign):
                data = {**form_for(path), **({"csrf": token} if token else {})}
                resp = await client.post(path, allow_redirects=False, data=data)
                assert resp.status == 403, (path, token)
                assert "Biểu mẫu đã hết hạn" in await resp.text()
    assert app.store.tickets()[0]["status"] == "open" and staff_replies(app) == []
    assert app.store.staff_by_username("muc-tieu")["role"] == "viewer"
    assert app.store.staff_by_username("muc-tieu")["active"] == 1
    assert [(d["id"], d["status"]) for d in app.store.drafts()] == [(ids["draft"], "draft")]
    assert len(app.store.saved_replies()) == 1
    assert (await client.get("/console", allow_redirects=False)).status == 200  # logout without token: still in


async def test_replies_and_additions_carry_the_logged_in_staff_member(app, make_client):
    ticket = unknown_ticket(app)
    client = await make_client(role="staff", username="minh", name="Anh Minh")
    token = CSRF.search(await (await client.get(f"/console/tickets/{ticket['id']}")).text()).group(1)
    resp = await client.post(f"/console/tickets/{ticket['id']}/answer", allow_redirects=False,
                             data={"csrf": token, "answer": "Đã có câu trả lời", "staff": "Người khác gõ vào"})
    assert resp.status == 303
    assert app.store.tickets(None)[0]["staff"] == "Anh Minh"  # the typed field counts for nothing
    resp = await client.post("/console/review/drafts", allow_redirects=False, data={
        "csrf": token, "kind": "phrasing", "entry": "tv-dieu-kien", "question": "xyzzy hỏi kiểu khác",
        "staff": "Giả danh"})
    assert resp.status == 303
    [draft] = app.store.drafts()
    assert draft["created_by"] == "Anh Minh"
    [answer] = app.store.audit_rows(action="ticket.answer")
    assert (answer["actor"], answer["target"]) == ("minh", f"ticket:{ticket['id']}")
    [drafted] = app.store.audit_rows(action="knowledge.draft")
    assert (drafted["actor"], drafted["target"]) == ("minh", f"draft:{draft['id']}")


async def test_staff_data_is_escaped(app, make_client):
    evil = "<script>alert(1)</script>"
    ticket = unknown_ticket(app)
    client = await make_client(role="admin", username="ke-xau", name=evil)
    for path in (f"/console/tickets/{ticket['id']}", "/console/accounts", "/console/password"):
        html = await (await client.get(path)).text()
        assert evil not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
    token = CSRF.search(html).group(1)
    await client.post(f"/console/tickets/{ticket['id']}/answer", data={"csrf": token, "answer": "ok"})
    html = await (await client.get("/console?status=answered")).text()
    assert evil not in html and "&lt;script&gt;" in html
    stranger = await make_client(log_in=False)
    await login(stranger, "<img src=x onerror=alert(2)>", "doan-bua-thoi")
    html = await (await client.get("/console/audit")).text()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
