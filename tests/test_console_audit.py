"""The audit log (what staff did, filtered and paged), the admin's accounts page and one's own password."""

from __future__ import annotations

import re

import test_console
from test_console import CSRF, PASSWORD, add_staff, login, unknown_ticket

from bot.console import knowledge, queries

make_client, cheap_hashing = test_console.make_client, test_console.cheap_hashing
ISSUED = re.compile(r'<code class="secret">([^<]+)</code>')


async def csrf(client, path: str = "/console/password") -> str:
    return CSRF.search(await (await client.get(path)).text()).group(1)


async def logged_in(client) -> bool:
    return (await client.get("/console", allow_redirects=False)).status == 200


def actions(app, actor: str | None = None) -> list[tuple[str, str, str | None]]:
    return [(r["actor"], r["action"], r["target"]) for r in reversed(app.store.audit_rows(actor=actor, limit=1000))]


async def test_staff_actions_are_audited(app, make_client):
    ticket = unknown_ticket(app)
    client = await make_client(role="editor")
    stranger = await make_client(log_in=False)
    assert (await login(stranger, "lan", "khong-phai-dau")).status == 401
    assert (await login(stranger, "khong-co-ai", "khong-phai-dau")).status == 401
    token = await csrf(client)
    tid = ticket["id"]
    await client.post(f"/console/tickets/{tid}/close", data={"csrf": token})
    await client.post(f"/console/tickets/{tid}/reopen", data={"csrf": token})
    await client.post(f"/console/tickets/{tid}/answer", data={"csrf": token, "answer": "Trả lời có **nội dung**"})
    await client.post(f"/console/tickets/{tid}/note", data={"csrf": token, "note": "Đã gọi điện cho bà con"})
    resp = await client.post("/console/review/drafts", allow_redirects=False, data={
        "csrf": token, "kind": "phrasing", "entry": "tv-dieu-kien", "question": "xyzzy hoi the nay"})
    phrasing = test_console.drafted(resp)
    entry = test_console.drafted(await client.post("/console/review/drafts", allow_redirects=False,
                                                   data=test_console._entry_form(token)))
    await test_console.publish(client, entry)
    await client.post("/console/knowledge/reload", data={"csrf": token, "next": "/console/knowledge"})
    day = queries.today(app.store.clock())
    await (await client.get(f"/console/export/tickets.csv?from={day}&to={day}")).read()
    await (await client.get("/console/export/messages.csv")).read()
    await client.post("/console/logout", data={"csrf": token})
    assert actions(app) == [
        ("lan", "login", "staff:lan"),
        ("lan", "login.failed", "staff:lan"),
        ("?", "login.failed", "staff:khong-co-ai"),
        ("lan", "ticket.close", f"ticket:{tid}"),
        ("lan", "ticket.reopen", f"ticket:{tid}"),
        ("lan", "ticket.answer", f"ticket:{tid}"),
        ("lan", "ticket.note", f"ticket:{tid}"),
        ("lan", "knowledge.draft", "draft:" + phrasing.rpartition("/")[2]),
        ("lan", "knowledge.draft", "draft:" + entry.rpartition("/")[2]),
        ("lan", "knowledge.publish", "draft:" + entry.rpartition("/")[2]),
        ("lan", "knowledge.reload", None),
        ("lan", "export.tickets", None),
        ("lan", "export.messages", None),
        ("lan", "logout", "staff:lan"),
    ]
    rows = {r["action"]: r for r in app.store.audit_rows()}
    assert rows["ticket.answer"]["detail"] == "Trả lời có **nội dung**"
    assert rows["ticket.note"]["detail"] == "Đã gọi điện cho bà con"
    assert rows["export.tickets"]["detail"] == f"{day}..{day}"
    assert rows["knowledge.draft"]["detail"] == "tv-dieu-kien: xyzzy hoi the nay"  # the older of the two
    assert app.store.audit_rows(action="knowledge.draft")[0]["detail"].startswith("ctv-htx-co-duoc-vay-von")
    assert rows["knowledge.publish"]["detail"].endswith(knowledge.ENTRIES_FILE)
    assert "127.0.0.1" in rows["login"]["detail"] and "127.0.0.1" in rows["login.failed"]["detail"]
    assert all(PASSWORD not in (r["detail"] or "") and "khong-phai-dau" not in (r["detail"] or "")
               for r in app.store.audit_rows())


async def test_audit_page_filters_and_pages(app, make_client):
    client = await make_client(role="admin")
    for i in range(230):
        app.store.audit("minh" if i % 2 else "hoa", "ticket.close", f"ticket:{i}")
    old = app.store.clock() - 3 * 86400
    app.store.conn.execute("update audit_log set at = ? where target = 'ticket:0'", (old,))

    html = await (await client.get("/console/audit")).text()
    assert html.count("<tr>") == 1 + 100  # header + a page
    nxt = re.search(r'href="(/console/audit\?[^"]*before=\d+)"', html).group(1).replace("&amp;", "&")
    page2 = await (await client.get(nxt)).text()
    first_ids = set(re.findall(r"Phiếu #(\d+)", html))
    assert first_ids and not first_ids & set(re.findall(r"Phiếu #(\d+)", page2))

    html = await (await client.get("/console/audit?actor=minh&action=ticket.close")).text()
    assert "<code>hoa</code>" not in html and "<code>minh</code>" in html
    day = queries.today(old)
    html = await (await client.get(f"/console/audit?from={day}&to={day}")).text()
    assert re.findall(r"Phiếu #(\d+)", html) == ["0"]
    html = await (await client.get("/console/audit?actor=khong-ai")).text()
    assert "Không có dòng nào" in html


async def test_accounts_page_adds_resets_disables_and_changes_roles(app, make_client):
    admin = await make_client(role="admin")
    token = await csrf(admin, "/console/accounts")
    resp = await admin.post("/console/accounts", data={"csrf": token, "username": "Minh", "display_name": "Anh  Minh",
                                                       "role": "staff"})
    assert resp.status == 200
    password = ISSUED.search(await resp.text()).group(1)
    row = app.store.staff_by_username("minh")
    assert (row["display_name"], row["role"]) == ("Anh Minh", "staff") and password not in row["password_hash"]
    assert password not in await (await admin.get("/console/accounts")).text()  # shown once only
    resp = await admin.post("/console/accounts", data={"csrf": token, "username": "minh", "role": "viewer"})
    assert resp.status == 400 and "Đã có tài khoản" in await resp.text()
    resp = await admin.post("/console/accounts", data={"csrf": token, "username": "Hoa Lê", "role": "viewer"})
    assert resp.status == 400 and app.store.staff_count() == 2

    minh = await make_client(log_in=False)
    assert (await login(minh, "minh", password)).status == 303 and await logged_in(minh)
    base = f"/console/accounts/{row['id']}"

    resp = await admin.post(base + "/reset", data={"csrf": token})
    new_password = ISSUED.search(await resp.text()).group(1)
    assert new_password != password
    assert not await logged_in(minh)  # the reset ended Minh's session
    assert (await login(minh, "minh", password)).status == 401
    assert (await login(minh, "minh", new_password)).status == 303

    assert (await admin.post(base + "/role", data={"csrf": token, "role": "editor"},
                             allow_redirects=False)).status == 303
    assert app.store.staff_by_username("minh")["role"] == "editor"
    assert (await minh.get("/console/accounts")).status == 403  # an editor is not an admin

    assert (await admin.post(base + "/disable", data={"csrf": token}, allow_redirects=False)).status == 303
    assert not await logged_in(minh)
    assert (await login(minh, "minh", new_password)).status == 401
    assert (await admin.post(base + "/enable", data={"csrf": token}, allow_redirects=False)).status == 303
    assert (await login(minh, "minh", new_password)).status == 303

    me = app.store.staff_by_username("lan")["id"]
    for action, data in (("disable", {}), ("role", {"role": "staff"})):
        resp = await admin.post(f"/console/accounts/{me}/{action}", data={"csrf": token, **data})
        assert resp.status == 400, action  # never lock out the last admin (or yourself)
    assert app.store.staff_by_username("lan")["role"] == "admin" and await logged_in(admin)
    assert (await admin.post("/console/accounts/999/disable", data={"csrf": token})).status == 404

    assert [a for a in actions(app, "lan") if a[1].startswith("account.")] == [
        ("lan", "account.add", "staff:minh"),
        ("lan", "account.password_reset", "staff:minh"),
        ("lan", "account.role", "staff:minh"),
        ("lan", "account.disable", "staff:minh"),
        ("lan", "account.enable", "staff:minh"),
    ]


async def test_own_password_change_ends_the_other_sessions(app, make_client):
    add_staff(app, "minh", "viewer", "Anh Minh")
    here = await make_client(role="viewer", username="minh")
    elsewhere = await make_client(role="viewer", username="minh")
    token = await csrf(here)
    new = "mot-mat-khau-moi-dai"
    for form in ({"current": "sai-roi-nhe-123", "new": new, "again": new},
                 {"current": PASSWORD, "new": "ngan", "again": "ngan"},
                 {"current": PASSWORD, "new": new, "again": new + "x"}):
        resp = await here.post("/console/password", data={"csrf": token, **form})
        assert resp.status == 400
    assert await logged_in(elsewhere)
    resp = await here.post("/console/password", data={"csrf": token, "current": PASSWORD, "new": new, "again": new},
                           allow_redirects=False)
    assert resp.status == 303
    assert await logged_in(here) and not await logged_in(elsewhere)
    assert (await login(elsewhere, "minh", PASSWORD)).status == 401
    assert (await login(elsewhere, "minh", new)).status == 303
    assert ("minh", "account.password", "staff:minh") in actions(app, "minh")
