"""The staff console and the web chat in a real browser: headless chromium (Debian's package) driven by
Playwright, against a real `htx-bot run` process on 127.0.0.1 with a temporary database.

What a member of staff does in a day, checked on what they see: log in, watch a new question arrive in
the inbox without reloading, take it and answer it (the answer shows up in the member's open web chat),
turn the question into a phrasing draft, propose and publish it (the bot then answers it), and download
the half-year XLSX report. A second test does the same rounds on a 390×844 phone screen and checks that
no page scrolls sideways, the first ticket is on the first screen, messages are cards and chart words are
at least 12 px.

Screenshots (desktop 1280×800 and phone 390×844) are written to test-artifacts/browser/ at the top of the
checkout, to look at after a run. Marked `browser` and left out of `make test`; `make browser-test`
installs chromium and playwright when they are missing (tests/browser/setup.sh) and runs these. Without
chromium or playwright the tests are skipped and the reason is printed (`pytest -rs`).
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("BROWSER_TEST_CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
FIXTURE_KNOWLEDGE = ROOT / "tests" / "fixtures" / "knowledge"
SETUP_HINT = "run `make browser-test` (tests/browser/setup.sh installs it)"

if not CHROMIUM.exists():
    pytest.skip(f"browser tests skipped: no chromium at {CHROMIUM} (Debian package `chromium`; {SETUP_HINT})",
                allow_module_level=True)
try:
    from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect, sync_playwright
except ImportError:
    pytest.skip(f"browser tests skipped: the Python package `playwright` is not installed ({SETUP_HINT})",
                allow_module_level=True)

USERNAME = "lan"
DISPLAY_NAME = "Nguyễn Thị Lan"
PASSWORD = "mat-khau-thu-nghiem-42"
# Real questions the fixture knowledge base cannot answer: the bot passes them to staff. The first is about
# becoming a member, and is published as a phrasing of the membership entry.
QUESTION = "nhà tôi trồng cà phê muốn xin vô hợp tác xã thì cần giấy tờ gì"
PHONE_QUESTION = "hợp tác xã của tôi muốn đăng ký nhãn hiệu tập thể cho rau thì cần những gì"
ANSWER = "Chào bà con, cán bộ Lan trả lời: hồ sơ gửi về phòng kinh tế xã nhé."
PHONE_ANSWER = "Cán bộ trả lời trên điện thoại: bà con mang theo điều lệ HTX."
ENTRY_ID = "tv-dieu-kien"  # the entry the published phrasing points to
ENTRY_TEXT = "công dân Việt Nam từ đủ"  # in that entry's short answer
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
START_LIMIT = 15.0  # seconds for the server to come up
LIVE_WAIT = 20_000  # ms: the inbox polls every 8 s, the web chat every 5 s
STEP_WAIT = 10_000  # ms: an ordinary page load or form post


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _htx_bot() -> list[str]:
    script = Path(sys.executable).with_name("htx-bot")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from bot.cli import main; main()"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HTX_")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


@dataclass
class Server:
    """`htx-bot run --config <temp file>` as a child process, and where it keeps its things."""

    workdir: Path
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.workdir / "config.toml"

    @property
    def log(self) -> Path:
        return self.workdir / "server.log"

    def write_config(self) -> None:
        self.config.write_text(
            'province = ""\n'
            '[alliance]\nname = "Liên minh HTX tỉnh Thử Nghiệm"\n'
            f'[storage]\npath = "{self.workdir / "htx.sqlite3"}"\n'
            f'[knowledge]\npath = "{FIXTURE_KNOWLEDGE}"\noverlay_path = "{self.workdir / "overlay"}"\n'
            f'[web]\nhost = "127.0.0.1"\nport = {self.port}\n', encoding="utf-8")

    def add_staff(self, username: str, role: str, name: str, password: str) -> None:
        done = subprocess.run(
            [*_htx_bot(), "staff", "add", username, "--role", role, "--name", name, "--password-stdin",
             "--config", str(self.config)],
            input=password + "\n", capture_output=True, text=True, cwd=self.workdir, env=_env(), timeout=30)
        assert done.returncode == 0, f"htx-bot staff add failed:\n{done.stdout}\n{done.stderr}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([*_htx_bot(), "run", "--config", str(self.config)], stdout=out,
                                         stderr=subprocess.STDOUT, cwd=self.workdir, env=_env())
        deadline = time.monotonic() + START_LIMIT
        while True:
            assert self.proc.poll() is None, "the server exited:\n" + self.log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not start:\n" + self.log.read_text()[-3000:]
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("browser"))
    srv.write_config()
    srv.add_staff(USERNAME, "editor", DISPLAY_NAME, PASSWORD)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        except Exception as exc:  # a browser that is there but cannot start is a failure, not a skip
            pytest.fail(f"chromium at {CHROMIUM} is installed but did not start: {exc}")
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module", autouse=True)
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def context(browser: Browser, server: Server, size: ViewportSize, phone: bool = False) -> BrowserContext:
    ctx = browser.new_context(base_url=server.url, viewport=size, locale="vi-VN", accept_downloads=True,
                              is_mobile=phone, has_touch=phone, device_scale_factor=2 if phone else 1)
    ctx.set_default_timeout(STEP_WAIT)
    return ctx


def login(page: Page) -> None:
    page.goto("/console")
    expect(page).to_have_url(re.compile(r"/console/login"))
    expect(page.get_by_role("heading", name="Đăng nhập bảng điều khiển")).to_be_visible()
    page.get_by_label("Tên đăng nhập").fill(USERNAME)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Hộp thư chung")).to_be_visible()
    expect(page.locator("header.top nav a.me")).to_have_text(DISPLAY_NAME)


def open_chat(page: Page) -> None:
    """The web chat as a new member: the greeting arrives before anything is typed."""
    page.goto("/")
    expect(page.get_by_role("heading", name="Trợ lý HTX")).to_be_visible()
    expect(page.locator("#log .msg.bot").first).to_be_visible()


def ask(page: Page, text: str) -> None:
    """Type a question and send it; wait for the bot's reply to it (the log grows past the echo)."""
    before = page.locator("#log .msg.bot").count()
    page.get_by_label("Câu hỏi").fill(text)
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.locator("#log .msg.user").last).to_have_text(text)
    expect(page.locator("#log .msg.bot")).not_to_have_count(before)


def side_scroll(page: Page) -> int:
    """How wide the document is: over the window's width means the page scrolls sideways."""
    return int(page.evaluate("document.documentElement.scrollWidth"))


CHART_LABELS = """() => [...document.querySelectorAll('svg.chart text')]
    .filter(t => getComputedStyle(t).display !== 'none')
    .map(t => { const r = t.getBoundingClientRect(), charts = [...document.querySelectorAll('svg.chart')];
                return {text: t.textContent, chart: charts.indexOf(t.ownerSVGElement),
                        px: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a,
                        left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })"""


def chart_labels(page: Page) -> list[dict[str, Any]]:
    """Every visible word in the report's charts: its size as drawn on the screen (the font size in viewBox
    units times the chart's scale) and its box."""
    return list(page.evaluate(CHART_LABELS))


def check_chart_labels(page: Page, smallest: float) -> None:
    """Chart words are at least `smallest` px on the screen, inside the window, and words of one line of a
    chart (the months under the axis, the legend) do not run into each other."""
    labels = chart_labels(page)
    assert labels, "the report has no chart labels"
    small = [(d["text"], round(float(d["px"]), 1)) for d in labels if float(d["px"]) < smallest]
    assert not small, f"chart labels smaller than {smallest} px: {small}"
    width = page.viewport_size["width"] if page.viewport_size else 0
    outside = [d["text"] for d in labels if float(d["left"]) < 0 or float(d["right"]) > width]
    assert not outside, f"chart labels outside the window: {outside}"
    boxes = sorted(labels, key=lambda d: (d["chart"], round(float(d["top"])), float(d["left"])))
    for a, b in zip(boxes, boxes[1:], strict=False):
        same_line = a["chart"] == b["chart"] and abs(float(a["top"]) - float(b["top"])) < 2
        assert not same_line or float(a["right"]) <= float(b["left"]), f"chart labels overlap: {a} {b}"


def shot(page: Page, name: str, full_page: bool = True) -> Path:
    """A screenshot in test-artifacts/browser/: the whole page, or (for the chat, whose form sticks to the
    bottom of the window) the window scrolled to the end, as the member sees it."""
    path = ARTIFACTS / f"{name}.png"
    if not full_page:
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        page.locator("#log").evaluate("log => { log.scrollTop = log.scrollHeight; }")
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 1000, path
    return path


def test_staff_answer_phrasing_and_report_in_chromium(browser: Browser, server: Server) -> None:
    staff = context(browser, server, DESKTOP)
    member = context(browser, server, DESKTOP)
    widths: dict[str, int] = {}
    try:
        console = staff.new_page()
        chat = member.new_page()

        # Log in; the inbox is open and empty of this question.
        login(console)
        live = console.locator("#inbox-live")
        expect(live).to_be_hidden()

        # A member asks something the bot does not know; the open inbox shows it without a reload.
        open_chat(chat)
        ask(chat, QUESTION)
        console_url = console.url
        expect(live).to_be_visible(timeout=LIVE_WAIT)
        expect(live).to_contain_text("phiếu mới")
        arrived = live.locator(".live-list a", has_text=QUESTION)
        expect(arrived).to_be_visible()
        assert console.url == console_url  # no reload happened
        expect(console).to_have_title(re.compile(r"^\(1\) "))
        widths["inbox"] = side_scroll(console)
        expect(console.get_by_label("Tìm")).to_be_visible()  # on a desktop the filters show without a click
        expect(console.locator("details.filter-box > summary")).to_be_hidden()
        shot(console, "inbox-new-question-desktop")

        # Take it, answer it.
        arrived.click()
        expect(console).to_have_url(re.compile(r"/console/tickets/\d+$"))
        expect(console.locator("blockquote.question")).to_have_text(QUESTION)
        expect(console.locator(".ticket-meta")).to_contain_text("chưa ai nhận")
        console.get_by_role("button", name="Nhận phiếu này").click()
        expect(console.locator(".ticket-meta")).to_contain_text(f"👤 {DISPLAY_NAME} đang nhận")
        expect(console.get_by_role("button", name="Nhận phiếu này")).to_have_count(0)
        widths["ticket"] = side_scroll(console)
        shot(console, "ticket-desktop")
        console.get_by_label("Nội dung trả lời").fill(ANSWER)
        console.get_by_role("button", name="Gửi trả lời").click()
        expect(console.get_by_text("Đã đưa câu trả lời vào hàng chờ gửi")).to_be_visible()
        expect(console.locator("blockquote.answer")).to_contain_text(ANSWER)

        # The member's open chat receives it (the page polls; nobody reloads it).
        staff_reply = chat.locator("#log .msg.bot", has_text=ANSWER)
        expect(staff_reply).to_be_visible(timeout=LIVE_WAIT)
        expect(staff_reply).to_contain_text(QUESTION)  # the member is reminded what they asked
        widths["chat"] = side_scroll(chat)
        shot(chat, "chat-after-answer-desktop", full_page=False)

        # The inbox no longer lists the ticket as waiting for someone; the "answered" tab does.
        console.goto("/console")
        expect(console.get_by_role("heading", name="Hộp thư chung")).to_be_visible()
        expect(console.locator("table.inbox a.q", has_text=QUESTION)).to_have_count(0)
        console.locator("nav.tabs a", has_text="Đã trả lời").click()
        expect(console.locator("table.inbox a.q", has_text=QUESTION)).to_be_visible()
        widths["inbox answered"] = side_scroll(console)
        shot(console, "inbox-desktop")

        # The question becomes a phrasing of an existing entry: draft, propose, publish.
        console.goto("/console/messages?questions=1")
        expect(console.locator("table.messages thead")).to_be_visible()  # a table with its headings on a desktop
        row = console.locator("table.list tr", has_text=QUESTION).first
        row.get_by_role("link", name="Bổ sung kiến thức").click()
        expect(console.get_by_role("heading", name="Bổ sung kiến thức từ câu hỏi")).to_be_visible()
        expect(console.get_by_label("Cách hỏi (có thể sửa lại cho gọn)")).to_have_value(QUESTION)
        console.locator(f'input[type=radio][name=entry][value="{ENTRY_ID}"]').first.check()
        console.get_by_role("button", name="Tạo bản nháp").click()
        expect(console.get_by_text("Đã lưu bản nháp")).to_be_visible()
        expect(console.get_by_text("Bộ kiểm tra kiến thức chấp nhận bản nháp này")).to_be_visible()
        expect(console.locator(".preview")).to_contain_text(ENTRY_TEXT)  # "try it": what the bot would say
        console.get_by_role("button", name="Đề xuất đăng").click()
        expect(console.get_by_text("Đã đề xuất")).to_be_visible()
        expect(console.locator("h1 .status")).to_have_text("Chờ duyệt")
        console.get_by_role("button", name="Đăng (biên tập viên)").click()
        expect(console.get_by_text("Đã đăng: bot trả lời theo nội dung mới")).to_be_visible()
        expect(console.locator("h1 .status")).to_have_text("Đã đăng")
        console.goto("/console/review")
        expect(console.locator("section", has_text="Thay đổi đã đăng").locator("tbody tr").first).to_contain_text(
            ENTRY_ID)

        # The bot now answers the same question with the entry, in the web chat, without a restart.
        entry_answers = chat.locator("#log .msg.bot", has_text=ENTRY_TEXT)
        expect(entry_answers).to_have_count(0)
        ask(chat, QUESTION)
        expect(entry_answers).to_have_count(1)
        expect(chat.locator("#log .msg.bot").last).to_contain_text(ENTRY_TEXT)

        # The half-year report and its workbook.
        console.goto("/console/summary")
        half = console.get_by_label("Kỳ có sẵn")
        label = half.locator("option", has_text="6 tháng").first.inner_text()
        half.select_option(label=label)
        console.get_by_role("button", name="Xem kỳ này").click()
        expect(half.locator("option:checked")).to_have_text(label)
        heading = console.get_by_role("heading", level=1)
        expect(heading).to_have_text(re.compile(r"Báo cáo từ 01/(01|07)/\d{4} đến (30/06|31/12)/\d{4}"))
        questions = int(console.locator("#st-questions").inner_text())
        assert questions >= 2, questions  # the two typed questions above
        widths["report"] = side_scroll(console)
        check_chart_labels(console, 11.5)  # as drawn before the phone rules: 11-12 units, scaled up to the card
        shot(console, "report-desktop")
        with console.expect_download() as waiting:
            console.get_by_role("link", name=re.compile(r"Cả báo cáo \(\.xlsx")).click()
        download = waiting.value
        assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
        saved = ARTIFACTS / download.suggested_filename
        download.save_as(saved)
        check_workbook(saved.read_bytes(), questions)
    finally:
        staff.close()
        member.close()
    wide = {name: w for name, w in widths.items() if w > DESKTOP["width"]}
    assert not wide, f"pages wider than a {DESKTOP['width']} px screen (they scroll sideways): {wide}"


def check_workbook(data: bytes, questions: int) -> None:
    """The sheets staff expect, in order, with the six months and the questions asked in them."""
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl (dev extra) reads the downloaded workbook")
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert book.sheetnames == ["Tổng quan", "Theo tháng", "Theo kênh", "Theo tỉnh", "Theo nhóm chủ đề",
                               "Mục được hỏi nhiều nhất", "Câu chưa trả lời được", "Hài lòng theo mục",
                               "Điều kiện chưa đạt", "Tự kiểm tra theo HTX"], book.sheetnames
    months = [list(r) for r in book["Theo tháng"].iter_rows(values_only=True)]
    header, body = months[0], months[1:]
    assert len(body) == 6, months
    assert all(re.fullmatch(r"\d{4}-\d{2}|\d{2}/\d{4}", str(r[0])) for r in body), months
    column = next(i for i, h in enumerate(header) if h and "câu hỏi" in str(h).lower())
    assert sum(int(r[column] or 0) for r in body) == questions, months
    channels = [list(r) for r in book["Theo kênh"].iter_rows(values_only=True)]
    assert any("Web" in str(r[0]) for r in channels[1:]), channels


def test_phone_screens_do_not_scroll_sideways(browser: Browser, server: Server) -> None:
    """A member asks and a member of staff answers, both on 390×844 phones; every page fits the width."""
    staff = context(browser, server, PHONE, phone=True)
    member = context(browser, server, PHONE, phone=True)
    widths: dict[str, int] = {}
    try:
        chat = member.new_page()
        open_chat(chat)
        widths["chat"] = side_scroll(chat)
        ask(chat, PHONE_QUESTION)

        console = staff.new_page()
        login(console)
        widths["inbox"] = side_scroll(console)
        # The first ticket is on the first screen: the filters wait behind a closed "Bộ lọc".
        first = console.locator("table.inbox tbody tr").first.bounding_box()
        assert first is not None and first["y"] < PHONE["height"] - 60, f"first ticket below the first screen: {first}"
        expect(console.get_by_label("Tìm")).to_be_hidden()
        shot(console, "inbox-phone")
        console.locator("details.filter-box > summary", has_text="Bộ lọc").click()
        expect(console.get_by_label("Tìm")).to_be_visible()
        console.get_by_label("Tìm").fill("nhãn hiệu tập thể")
        console.get_by_role("button", name="Lọc", exact=True).click()
        expect(console).to_have_url(re.compile(r"[?&]q=nh"))
        expect(console.locator("details.filter-box > summary")).to_contain_text("1 đang dùng")
        expect(console.get_by_label("Tìm")).to_have_value("nhãn hiệu tập thể")  # open while a filter is in use
        expect(console.locator("table.inbox a.q", has_text=PHONE_QUESTION)).to_be_visible()
        widths["inbox filtered"] = side_scroll(console)
        console.locator("table.inbox a.q", has_text=PHONE_QUESTION).click()
        expect(console.locator("blockquote.question")).to_have_text(PHONE_QUESTION)
        widths["ticket"] = side_scroll(console)
        shot(console, "ticket-phone")
        console.get_by_role("button", name="Nhận phiếu này").click()
        expect(console.locator(".ticket-meta")).to_contain_text(f"👤 {DISPLAY_NAME} đang nhận")
        console.get_by_label("Nội dung trả lời").fill(PHONE_ANSWER)
        console.get_by_role("button", name="Gửi trả lời").click()
        expect(console.get_by_text("Đã đưa câu trả lời vào hàng chờ gửi")).to_be_visible()
        widths["ticket answered"] = side_scroll(console)

        console.goto("/console/summary")
        expect(console.get_by_role("heading", level=1)).to_contain_text("Báo cáo từ")
        widths["report"] = side_scroll(console)
        check_chart_labels(console, 12)
        shot(console, "report-phone")
        console.goto("/console/review")
        widths["review"] = side_scroll(console)
        console.goto("/console/messages")
        widths["messages"] = side_scroll(console)
        expect(console.get_by_label("Có chữ")).to_be_hidden()  # the filters wait behind "Bộ lọc" here too
        # Each message is a card: its words are inside the window, not off the edge of a scrolled table.
        cell = console.locator("table.messages td.wide", has_text=PHONE_QUESTION).first
        expect(cell).to_be_visible()
        expect(console.locator("table.messages thead")).to_be_hidden()
        box = cell.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        shot(console, "messages-phone")

        expect(chat.locator("#log .msg.bot", has_text=PHONE_ANSWER)).to_be_visible(timeout=LIVE_WAIT)
        widths["chat answered"] = side_scroll(chat)
        shot(chat, "chat-after-answer-phone", full_page=False)
    finally:
        staff.close()
        member.close()
    wide = {name: w for name, w in widths.items() if w > PHONE["width"]}
    assert not wide, f"pages wider than a {PHONE['width']} px phone (they scroll sideways): {wide}"
