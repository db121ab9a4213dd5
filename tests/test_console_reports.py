"""The period report on a seeded database: exact figures, presets, SVG charts, the XLSX workbook in
Vietnamese, and formula-safe CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import openpyxl
import pytest
import test_console
import yaml

from bot.console import reports
from bot.console.queries import VN
from bot.console.views import CONSOLE_KEY, LABELS

FORMULA = '=HYPERLINK("http://x") gia phan bon'


make_client, cheap_hashing = test_console.make_client, test_console.cheap_hashing


def at(y: int, mo: int, d: int, h: int = 9, mi: int = 0) -> float:
    return dt.datetime(y, mo, d, h, mi, tzinfo=VN).timestamp()


def seed(store) -> None:
    """Six typed questions in the first half of 2026 (and a few outside it or not questions)."""
    c = store.conn
    for channel, key, province in (("web", "a", "Kon Tum"), ("telegram", "b", None), ("zalo", "c", "Thái Bình"),
                                   ("web", "d", None)):
        c.execute("insert into users (channel, user_key, province, created_at, last_seen_at) values (?, ?, ?, 0, 0)",
                  (channel, key, province))
    messages = [  # id, channel, user, text, payload, time, kind, entry
        (1, "web", "a", "điều kiện vào htx", None, at(2026, 1, 10), "answer", "tv-dieu-kien"),
        (2, "web", "a", "vốn góp tối đa", None, at(2026, 1, 20), "answer", "tv-von-gop-toi-da"),
        (3, "telegram", "b", "nuôi cá có được vay vốn không", None, at(2026, 2, 5), "unknown", None),
        (4, "telegram", "b", "nuoi ca co duoc vay von khong a", None, at(2026, 2, 6), "unknown", None),
        (5, "zalo", "c", FORMULA, None, at(2026, 3, 1), "unknown", None),
        (6, "zalo", "c", "htx xyz", None, at(2026, 3, 2), "clarify", None),
        (7, "zalo", "c", None, "faq:e:tv-dieu-kien", at(2026, 3, 3), "answer", "tv-dieu-kien"),  # a button
        (8, "web", "a", "ngoài kỳ", None, at(2026, 7, 1), "answer", "tv-dieu-kien"),
        (9, "web", "a", "cũng ngoài kỳ", None, at(2025, 12, 31, 23, 30), "unknown", None),
    ]
    for mid, channel, key, text, payload, t, kind, entry in messages:
        c.execute("""insert into messages (id, channel, user_key, text, payload, received_at, status, kind, entry_id)
                     values (?, ?, ?, ?, ?, ?, 'handled', ?, ?)""", (mid, channel, key, text, payload, t, kind, entry))
    tickets = [  # message, reason, created, answered after (s)
        (2, "negative_feedback", at(2026, 1, 20, 9, 1), 600),
        (3, "unknown", at(2026, 2, 5, 9, 1), 3600),
        (4, "unknown", at(2026, 2, 6, 9, 1), None),
    ]
    for mid, reason, t, wait in tickets:
        row = c.execute("select channel, user_key, text from messages where id = ?", (mid,)).fetchone()
        c.execute("""insert into tickets (message_id, channel, user_key, reason, text, status, created_at, answered_at,
                     answer, staff) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                  (mid, row[0], row[1], reason, row[2], "answered" if wait else "open", t,
                   t + wait if wait else None, "Trả lời" if wait else None, "Lan" if wait else None))
    for mid, channel, key, value, t in ((1, "web", "a", 1, at(2026, 1, 10, 10)), (1, "web", "d", 1, at(2026, 1, 11)),
                                        (2, "web", "a", -1, at(2026, 1, 20, 10)), (8, "web", "a", -1, at(2026, 7, 1))):
        c.execute("insert into feedback (message_id, channel, user_key, value, created_at) values (?, ?, ?, ?, ?)",
                  (mid, channel, key, value, t))
    results = [
        ("eligibility", "web", "a", {"verdict": "not_yet", "unmet": ["law", "profit"], "unknown": [],
                                     "cooperative": "HTX Nông nghiệp Đắk Hà", "commune": "Đắk Hà"}, at(2026, 4, 1)),
        ("eligibility", "web", "a", {"verdict": "meets", "unmet": [], "unknown": [],
                                     "cooperative": "htx nong nghiep dak ha", "commune": "Đắk Hà"}, at(2026, 4, 5)),
        ("compliance", "telegram", "b", {"verdict": "not_yet", "unmet": ["charter"], "unknown": []}, at(2026, 5, 1)),
        ("compliance", "telegram", "b", {"verdict": "not_yet", "unmet": ["members"], "unknown": []}, at(2026, 8, 1)),
    ]
    for check, channel, key, result, t in results:
        c.execute("""insert into selfcheck_results (check_name, channel, user_key, answers, result, created_at)
                     values (?, ?, ?, '[]', ?, ?)""", (check, channel, key, json.dumps(result, ensure_ascii=False), t))


@pytest.fixture
def seeded(app):
    seed(app.store)
    return app


def rows(table: reports.Table, *columns: str) -> list[tuple]:
    return [tuple(r[c] for c in columns) for r in table.rows]


def test_figures_for_the_first_half_of_2026(seeded, kb):
    app = seeded
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    r = reports.build(app.store, kb, labels, dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    t = r.totals
    assert (t["questions"], t["answered"], t["unsure"], t["to_staff"]) == (6, 2, 1, 3)
    assert t["answered_rate"] == pytest.approx(2 / 6) and t["to_staff_rate"] == pytest.approx(0.5)
    assert rows(r.tables["months"], "month", "questions", "answered", "unsure", "to_staff") == [
        ("01/2026", 2, 2, 0, 1), ("02/2026", 2, 0, 0, 2), ("03/2026", 2, 0, 1, 0),
        ("04/2026", 0, 0, 0, 0), ("05/2026", 0, 0, 0, 0), ("06/2026", 0, 0, 0, 0)]
    assert sorted(rows(r.tables["channels"], "channel", "questions")) == [("Telegram", 2), ("Web", 2), ("Zalo", 2)]
    assert sorted(rows(r.tables["provinces"], "province", "questions")) == [
        ("Chưa rõ tỉnh", 2), ("Kon Tum", 2), ("Thái Bình", 2)]
    assert rows(r.tables["groups"], "group", "questions", "answered") == [
        ("Chưa khớp mục nào", 4, 0), ("Thành viên HTX", 2, 2)]
    assert (t["messages"], t["users"]) == (7, 3)  # button presses count as messages, not questions
    assert rows(r.tables["entries"], "entry", "questions", "answered", "to_staff") == [
        ("Điều kiện để trở thành thành viên HTX (tv-dieu-kien)", 1, 1, 0),
        ("Mỗi thành viên được góp vốn tối đa bao nhiêu (tv-von-gop-toi-da)", 1, 1, 1)]
    assert r.delays == {"answered": 2.0, "median": 600.0, "p90": 3600.0}
    assert reports.duration(r.delays["median"]) == "10 phút" and reports.duration(r.delays["p90"]) == "1 giờ"
    assert [(x["count"], len(x["examples"])) for x in r.themes] == [(2, 2), (1, 1)]
    assert "nuôi cá có được vay vốn không" in r.themes[0]["examples"]
    assert (t["up"], t["down"]) == (2, 1) and t["satisfaction"] == pytest.approx(2 / 3)
    assert rows(r.tables["feedback"], "entry", "up", "down") == [
        ("Điều kiện để trở thành thành viên HTX (tv-dieu-kien)", 2, 0),
        ("Mỗi thành viên được góp vốn tối đa bao nhiêu (tv-von-gop-toi-da)", 0, 1)]
    assert (t["selfcheck_results"], t["cooperatives"], t["met"], t["not_yet"]) == (3, 2, 1, 1)
    assert rows(r.tables["unmet"], "condition", "count") == [
        ("Điều lệ đã sửa cho phù hợp Luật HTX 2023", 1), ("Đang hoạt động theo Luật Hợp tác xã", 1),
        ("Có lãi liên tục 3 năm tài chính gần nhất", 1)]
    listed = rows(r.tables["cooperatives"], "cooperative", "commune", "verdict")
    assert listed == [("Chưa ghi tên HTX", "", "Chưa đạt"), ("HTX Nông nghiệp Đắk Hà", "Đắk Hà", "Chưa đạt"),
                      ("htx nong nghiep dak ha", "Đắk Hà", "Đạt")]


def test_presets_and_percentile():
    today = dt.date(2026, 12, 6)
    assert reports.preset_range("h1-2026", today) == (dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    assert reports.preset_range("h2-2026", today) == (dt.date(2026, 7, 1), dt.date(2026, 12, 31))
    assert reports.preset_range("y-2025", today) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert reports.preset_range("h3-2026", today) is None and reports.preset_range("y-1800", today) is None
    keys = [p["key"] for p in reports.presets(dt.date(2026, 3, 1), 2025)]
    assert keys == ["h1-2026", "y-2026", "h2-2025", "h1-2025", "y-2025"]
    assert reports.percentile([], 50) is None
    assert reports.percentile([5, 1, 3, 2, 4], 50) == 3 and reports.percentile(list(range(1, 11)), 90) == 9


async def test_report_page_preset_svg_and_definition(seeded, make_client):
    client = await make_client(role="viewer")
    resp = await client.get("/console/summary?preset=h1-2026")
    html = await resp.text()
    assert resp.status == 200
    assert "Báo cáo từ 01/01/2026 đến 30/06/2026" in html
    assert '<span class="n" id="st-questions">6</span>' in html
    assert '<span class="n" id="st-answered-rate">33,3%</span>' in html
    assert '<span class="n" id="st-staff-rate">50,0%</span>' in html
    assert '<span class="n" id="st-median">10 phút</span>' in html
    assert html.count("<svg") == 4 and "<polyline" in html and "<script" not in html
    assert "Cách tính tỷ lệ" in html and html.count("Tính trên tổng số câu hỏi") == 1
    assert "@media print" in (await (await client.get("/static/console.css")).text())
    for code in (">unknown<", ">negative_feedback<", ">not_yet<", ">meets<"):
        assert code not in html
    other = await (await client.get("/console/summary?preset=h2-2026")).text()
    assert '<span class="n" id="st-questions">1</span>' in other
    custom = await (await client.get("/console/summary?from=2026-02-01&to=2026-02-28")).text()
    assert '<span class="n" id="st-questions">2</span>' in custom


async def test_xlsx_sheets_and_vietnamese_headers(seeded, make_client):
    client = await make_client(role="viewer")
    resp = await client.get("/console/summary/report.xlsx?preset=h1-2026")
    assert resp.status == 200 and "spreadsheetml" in resp.headers["Content-Type"]
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    labels = client.server.app[CONSOLE_KEY].labels
    assert book.sheetnames == [labels["report_sheets"][k] for k in (
        "summary", "months", "channels", "provinces", "groups", "entries", "themes", "feedback", "unmet",
        "cooperatives")]
    months = book[labels["report_sheets"]["months"]]
    assert [c.value for c in months[1]][:5] == ["Tháng", "Số câu hỏi", "Bot trả lời", "Bot chưa chắc", "Chuyển cán bộ"]
    assert [c.value for c in months[2]][:5] == ["01/2026", 2, 2, 0, 1]
    themes = book[labels["report_sheets"]["themes"]]
    cells = [c.value for row in themes.iter_rows() for c in row]
    assert FORMULA in cells  # stored as text, never as a formula
    assert all(c.data_type != "f" for row in themes.iter_rows() for c in row)
    coop = book[labels["report_sheets"]["cooperatives"]]
    assert [c.value for c in coop[1]] == ["Tên HTX", "Xã", "Bài tự kiểm tra", "Ngày", "Kết quả", "Điều kiện chưa đạt"]
    values = {c.value for row in book.worksheets[0].iter_rows() for c in row} | {
        c.value for ws in book.worksheets for row in ws.iter_rows() for c in row}
    assert not values & {"unknown", "negative_feedback", "not_yet", "meets", "web", "telegram"}


async def test_csv_per_table_is_formula_safe(seeded, make_client):
    client = await make_client(role="viewer")
    resp = await client.get("/console/summary/themes.csv?preset=h1-2026")
    assert resp.status == 200
    text = await resp.text()
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert table[0] == ["Chủ đề (câu tiêu biểu)", "Số câu", "Ví dụ"]
    assert ["'" + FORMULA, "1", "'" + FORMULA] in table
    # The tables hold members' own words: every download is in the audit log, like the CSV exports.
    [line] = seeded.store.audit_rows(action="export.report")
    assert (line["actor"], line["detail"]) == ("lan", "2026-01-01..2026-06-30 themes.csv")
    assert (await client.get("/console/summary/nothing.csv")).status == 404
