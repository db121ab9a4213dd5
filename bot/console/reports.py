"""The period report (/console/summary): any range of days, with presets for calendar halves and years.

One `Report` is computed from the store (bot/db/reports.py) and shown three ways from the same tables:
the page (with server-rendered SVG charts and a print layout), an XLSX workbook (one sheet per table)
and a CSV per table. Every header and label comes from labels.yaml, so staff never read a code.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import markupsafe
import xlsxwriter  # type: ignore[import-untyped]
from aiohttp import web
from rapidfuzz import fuzz, process

from bot.console import csvexport, queries
from bot.kb.model import KnowledgeBase
from bot.textnorm import fold

if TYPE_CHECKING:
    from bot.console.views import Console
    from bot.db import Store

THEME_SIMILARITY = 80  # rapidfuzz token_set_ratio at which two unanswered questions are one theme
THEMES = 15
TOP_ENTRIES = 15
EXAMPLES = 3
NO_NAME = "no_name"


@dataclass
class Table:
    """One table of the report: its key, title, column keys (headers from labels.yaml) and rows."""

    key: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Report:
    start: dt.date
    end: dt.date
    totals: dict[str, Any]
    tables: dict[str, Table]
    delays: dict[str, float | None]
    themes: list[dict[str, Any]]


# --- periods ------------------------------------------------------------------------------------------


def preset_range(preset: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """'h1-2026' → 01/01–30/06, 'h2-2026' → 01/07–31/12, 'y-2026' → the year; None when not a preset."""
    match = re.fullmatch(r"(h1|h2|y)-(\d{4})", preset or "")
    if not match or not 2000 <= int(match.group(2)) <= 2100:
        return None
    year = int(match.group(2))
    part = match.group(1)
    if part == "h1":
        return dt.date(year, 1, 1), dt.date(year, 6, 30)
    if part == "h2":
        return dt.date(year, 7, 1), dt.date(year, 12, 31)
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def presets(today: dt.date, first_year: int | None) -> list[dict[str, str]]:
    """The halves and years from the first message's year to this year, newest first."""
    out = []
    for year in range(today.year, min(first_year or today.year, today.year) - 1, -1):
        for part, label in (("h2", "6 tháng cuối năm"), ("h1", "6 tháng đầu năm"), ("y", "Cả năm")):
            if part == "h2" and year == today.year and today.month < 7:
                continue
            out.append({"key": f"{part}-{year}", "label": f"{label} {year}"})
    return out


def period(request: web.Request, today: dt.date) -> tuple[dt.date, dt.date, str]:
    """The range asked for: a preset, or from/to; by default this calendar half up to today."""
    preset = request.query.get("preset", "")
    found = preset_range(preset, today)
    if found:
        return found[0], found[1], preset
    half_start = dt.date(today.year, 1 if today.month < 7 else 7, 1)
    end = queries.parse_day(request.query.get("to"), today)
    start = queries.parse_day(request.query.get("from"), half_start)
    return min(start, end), max(start, end), ""


# --- figures ------------------------------------------------------------------------------------------


def build(store: Store, kb: KnowledgeBase, labels: dict[str, Any], start: dt.date, end: dt.date) -> Report:
    t0, t1 = queries.day_bounds(start, end)
    q = store.report_questions(t0, t1, queries.VN_OFFSET)
    total = q["total"][0] if q["total"] else {}
    totals: dict[str, Any] = {k: int(total.get(k) or 0) for k in ("questions", "answered", "unsure", "to_staff")}
    for k in ("answered", "unsure", "to_staff"):
        totals[k + "_rate"] = totals[k] / totals["questions"] if totals["questions"] else None
    activity = q["activity"][0] if q["activity"] else {}
    totals["messages"], totals["users"] = int(activity.get("messages") or 0), int(activity.get("users") or 0)
    tables: dict[str, Table] = {}
    outcome = ("questions", "answered", "unsure", "to_staff", "answered_rate", "unsure_rate", "to_staff_rate")

    def with_rates(row: dict[str, Any], **extra: Any) -> dict[str, Any]:
        n = int(row["questions"] or 0)
        out = {**extra, **{k: int(row[k] or 0) for k in ("questions", "answered", "unsure", "to_staff")}}
        for k in ("answered", "unsure", "to_staff"):
            out[k + "_rate"] = out[k] / n if n else None
        return out

    by_month = {r["month"]: r for r in q["months"]}
    tables["months"] = Table("months", ("month", *outcome), [
        with_rates(by_month.get(m, {"questions": 0, "answered": 0, "unsure": 0, "to_staff": 0}),
                   month=f"{m[5:7]}/{m[:4]}")
        for m in _months(start, end)])
    channel_labels = labels.get("channels") or {}
    tables["channels"] = Table("channels", ("channel", *outcome), [
        with_rates(r, channel=channel_labels.get(r["channel"], r["channel"])) for r in q["channels"]])
    no_province = labels["report"]["no_province"]
    tables["provinces"] = Table("provinces", ("province", *outcome), [
        with_rates(r, province=r["province"] or no_province) for r in q["provinces"]])
    groups: dict[str, dict[str, Any]] = {}
    for r in q["entries"]:
        label = topic_group(kb, labels, r["entry_id"])
        g = groups.setdefault(label, {"group": label, "questions": 0, "answered": 0, "unsure": 0, "to_staff": 0})
        for k in ("questions", "answered", "unsure", "to_staff"):
            g[k] += int(r[k] or 0)
    tables["groups"] = Table("groups", ("group", *outcome), [
        with_rates(g, group=g["group"]) for g in sorted(groups.values(), key=lambda g: (-g["questions"], g["group"]))])

    asked = [r for r in q["entries"] if r["entry_id"]][:TOP_ENTRIES]
    tables["entries"] = Table("entries", ("entry", *outcome), [
        with_rates(r, entry=_entry_name(kb, r["entry_id"])) for r in asked])

    waits = store.report_staff_delays(t0, t1)
    delays = {"answered": float(len(waits)), "median": percentile(waits, 50), "p90": percentile(waits, 90)}

    found = themes(store.report_unanswered(t0, t1))
    tables["themes"] = Table("themes", ("theme", "count", "examples"), [
        {"theme": t["examples"][0], "count": t["count"], "examples": " | ".join(t["examples"])} for t in found])

    feedback = store.report_feedback(t0, t1)
    up, down = sum(int(r["up"]) for r in feedback), sum(int(r["down"]) for r in feedback)
    totals.update(up=up, down=down, satisfaction=up / (up + down) if up + down else None)
    other = labels["report"]["no_entry"]
    tables["feedback"] = Table("feedback", ("entry", "up", "down", "satisfaction"), [
        {"entry": _entry_name(kb, r["entry_id"]) if r["entry_id"] else other, "up": int(r["up"]),
         "down": int(r["down"]), "satisfaction": int(r["up"]) / (int(r["up"]) + int(r["down"]))
         if int(r["up"]) + int(r["down"]) else None} for r in feedback])

    _selfchecks(store.report_selfchecks(t0, t1), kb, labels, totals, tables)
    return Report(start, end, totals, tables, delays, found)


def _selfchecks(rows: list[dict[str, Any]], kb: KnowledgeBase, labels: dict[str, Any], totals: dict[str, Any],
                tables: dict[str, Table]) -> None:
    """Cooperatives that checked (by the name given in the check, else by the chat user), met / not yet
    (each cooperative's latest result per check), conditions most often unmet, and every result by HTX."""
    words = labels["report"]
    verdicts = labels.get("verdicts") or {}
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    unmet: Counter[tuple[str, str]] = Counter()
    listed = []
    for row in rows:
        result = row["result"]
        name = " ".join(str(result.get("cooperative") or "").split())
        who = fold(name) if name else f"{row['channel']}:{row['user_key']}"
        latest[(who, row["check_name"])] = row
        for sid in result.get("unmet") or []:
            unmet[(row["check_name"], str(sid))] += 1
        listed.append({
            "cooperative": name or words["no_cooperative"], "commune": str(result.get("commune") or ""),
            "check": _check_title(kb, row["check_name"]), "day": queries.today(row["created_at"]).strftime("%d/%m/%Y"),
            "verdict": verdicts.get(result.get("verdict"), result.get("verdict") or ""),
            "unmet": "; ".join(_step_short(kb, row["check_name"], s) for s in result.get("unmet") or []),
        })
    totals["selfcheck_results"] = len(rows)
    totals["cooperatives"] = len({who for who, _ in latest})
    totals["met"] = sum(1 for r in latest.values() if r["result"].get("verdict") == "meets")
    totals["not_yet"] = sum(1 for r in latest.values() if r["result"].get("verdict") != "meets")
    tables["unmet"] = Table("unmet", ("check", "condition", "count"), [
        {"check": _check_title(kb, check), "condition": _step_short(kb, check, sid), "count": n}
        for (check, sid), n in sorted(unmet.items(), key=lambda kv: (-kv[1], kv[0]))])
    listed.sort(key=lambda r: (fold(r["cooperative"]), r["check"]))
    tables["cooperatives"] = Table("cooperatives", ("cooperative", "commune", "check", "day", "verdict", "unmet"),
                                   listed)


def topic_group(kb: KnowledgeBase, labels: dict[str, Any], entry_id: str | None) -> str:
    """The Vietnamese group of an entry: labels.yaml `topic_groups` by id prefix, else the entry's topic."""
    words = labels["report"]
    if not entry_id:
        return str(words["no_entry"])
    entry = kb.entries.get(entry_id)
    prefix = entry_id.split("-", 1)[0]
    named = (labels.get("topic_groups") or {}).get(prefix)
    if named:
        return str(named)
    return entry.topic if entry else str(words["removed_entry"])


def percentile(values: list[float], p: int) -> float | None:
    """Nearest-rank percentile of sorted-or-not `values` (the median is p=50); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(p / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", fold(text or "")).split())


def themes(texts: list[str], similarity: int = THEME_SIMILARITY, top: int = THEMES) -> list[dict[str, Any]]:
    """Unanswered questions grouped by likeness (token_set_ratio of the normalised text), biggest first,
    each with its count and a few examples as members wrote them."""
    seen: dict[str, list[str]] = {}
    for text in texts:
        key = normalise(text)
        if key:
            seen.setdefault(key, []).append(" ".join(text.split()))
    clusters: list[dict[str, Any]] = []
    keys: list[str] = []
    for key, originals in sorted(seen.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        match = process.extractOne(key, keys, scorer=fuzz.token_set_ratio, score_cutoff=similarity) if keys else None
        if match:
            cluster = clusters[match[2]]
        else:
            cluster = {"count": 0, "examples": []}
            clusters.append(cluster)
            keys.append(key)
        cluster["count"] += len(originals)
        if len(cluster["examples"]) < EXAMPLES:
            cluster["examples"].append(originals[0])
    clusters.sort(key=lambda c: -c["count"])
    return clusters[:top]


def _months(start: dt.date, end: dt.date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _entry_name(kb: KnowledgeBase, entry_id: str) -> str:
    entry = kb.entries.get(entry_id)
    return f"{entry.title} ({entry_id})" if entry else entry_id


def _check(kb: KnowledgeBase, name: str) -> Any:
    located = kb.selfchecks.get(name)
    return getattr(located, "item", located)


def _check_title(kb: KnowledgeBase, name: str) -> str:
    return str(getattr(_check(kb, name), "title", None) or name)


def _step_short(kb: KnowledgeBase, name: str, sid: str) -> str:
    for step in getattr(_check(kb, name), "steps", None) or []:
        if step.id == sid:
            return str(step.short)
    return sid


# --- presentation: values, SVG ------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A figure as staff read it: rates as percentages with a comma, empty as a dash."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value * 100:.1f}%".replace(".", ",")
    return str(value)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = int(round(seconds / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} ngày"] if days else []
    if hours:
        parts.append(f"{hours} giờ")
    if mins or not parts:
        parts.append(f"{mins} phút")
    return " ".join(parts)


def bar_chart(items: list[tuple[str, int]], title: str, width: int = 360) -> markupsafe.Markup:
    """Horizontal bars as inline SVG (no script, no web font): label, bar, value."""
    row, label_w = 22, 130
    peak = max([v for _, v in items] + [1])
    height = row * max(len(items), 1) + 8
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{markupsafe.escape(title)}</title>']
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = (width - label_w - 50) * value / peak
        short = label if len(label) <= 22 else label[:21] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
                     f'{markupsafe.escape(short)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="15" fill="#2f8f4e"/>'
                     f'<text x="{label_w + w + 4:.1f}" y="{y + 15}" font-size="12">{value}</text>')
    parts.append("</svg>")
    return markupsafe.Markup("".join(parts))


def line_chart(labels: list[str], series: list[tuple[str, list[int], str]], title: str,
               width: int = 560, height: int = 200) -> markupsafe.Markup:
    """Lines over months as inline SVG, with a legend; a single month shows as points."""
    left, bottom, top = 36, 34, 12
    peak = max([v for _, values, _ in series for v in values] + [1])
    n = max(len(labels), 1)
    step = (width - left - 10) / max(n - 1, 1)

    def xy(i: int, v: int) -> tuple[float, float]:
        return left + i * step, top + (height - top - bottom) * (1 - v / peak)

    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{markupsafe.escape(title)}</title>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 6}" y2="{height - bottom}" stroke="#999"/>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="11">{peak}</text>',
             f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end" font-size="11">0</text>']
    every = max(1, math.ceil(n / 12))
    for i, label in enumerate(labels):
        if i % every == 0:
            x, _ = xy(i, 0)
            parts.append(f'<text x="{x:.1f}" y="{height - bottom + 14}" text-anchor="middle" font-size="11">'
                         f'{markupsafe.escape(label)}</text>')
    for k, (name, values, colour) in enumerate(series):
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(values)))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        for i, v in enumerate(values):
            x, y = xy(i, v)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
        lx = left + k * 150
        parts.append(f'<rect x="{lx}" y="{height - 12}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{lx + 14}" y="{height - 3}" font-size="11">{markupsafe.escape(name)}</text>')
    parts.append("</svg>")
    return markupsafe.Markup("".join(parts))


def charts(report: Report, labels: dict[str, Any]) -> dict[str, markupsafe.Markup]:
    words = labels["report"]
    cols = labels["report_columns"]
    months = report.tables["months"].rows
    return {
        "months": line_chart([r["month"] for r in months], [
            (cols["questions"], [r["questions"] for r in months], "#1f6f3b"),
            (cols["answered"], [r["answered"] for r in months], "#5aa0d8"),
            (cols["to_staff"], [r["to_staff"] for r in months], "#d88a2a")], words["chart_months"]),
        "channels": bar_chart([(r["channel"], r["questions"]) for r in report.tables["channels"].rows],
                              words["chart_channels"]),
        "provinces": bar_chart([(r["province"], r["questions"]) for r in report.tables["provinces"].rows[:12]],
                               words["chart_provinces"]),
        "groups": bar_chart([(r["group"], r["questions"]) for r in report.tables["groups"].rows[:12]],
                            words["chart_groups"]),
    }


# --- XLSX and CSV ---------------------------------------------------------------------------------------


def summary_rows(report: Report, labels: dict[str, Any]) -> list[tuple[str, str]]:
    words, t = labels["report"], report.totals
    return [
        (words["period"], f"{report.start.strftime('%d/%m/%Y')} – {report.end.strftime('%d/%m/%Y')}"),
        (words["messages"], str(t["messages"])), (words["users"], str(t["users"])),
        (words["questions"], str(t["questions"])),
        (words["answered_rate"], cell_text(t["answered_rate"])),
        (words["unsure_rate"], cell_text(t["unsure_rate"])),
        (words["to_staff_rate"], cell_text(t["to_staff_rate"])),
        (words["definition_title"], words["definition"]),
        (words["staff_answered"], str(int(report.delays["answered"] or 0))),
        (words["median"], duration(report.delays["median"])),
        (words["p90"], duration(report.delays["p90"])),
        ("👍", str(t["up"])), ("👎", str(t["down"])), (words["satisfaction"], cell_text(t["satisfaction"])),
        (words["cooperatives"], str(t["cooperatives"])), (words["selfcheck_results"], str(t["selfcheck_results"])),
        (words["met"], str(t["met"])), (words["not_yet"], str(t["not_yet"])),
    ]


def xlsx(report: Report, labels: dict[str, Any]) -> bytes:
    """The workbook: a summary sheet, then one sheet per table, Vietnamese headers; text is never a formula."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True, "bg_color": "#E3EFE6", "text_wrap": True, "valign": "top"})
    pct = book.add_format({"num_format": "0.0%"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    sheet = book.add_worksheet(labels["report_sheets"]["summary"])
    sheet.set_column(0, 0, 42)
    sheet.set_column(1, 1, 70)
    for i, (name, text) in enumerate(summary_rows(report, labels)):
        sheet.write_string(i, 0, name, bold)
        sheet.write_string(i, 1, text, wrap)
    for table in report.tables.values():
        sheet = book.add_worksheet(labels["report_sheets"][table.key])
        for j, column in enumerate(table.columns):
            sheet.write_string(0, j, labels["report_columns"][column], bold)
            sheet.set_column(j, j, 40 if j == 0 or column in ("examples", "unmet") else 16)
        for i, row in enumerate(table.rows, start=1):
            for j, column in enumerate(table.columns):
                value = row.get(column)
                if value is None:
                    sheet.write_string(i, j, "")
                elif isinstance(value, float):
                    sheet.write_number(i, j, value, pct)
                elif isinstance(value, int):
                    sheet.write_number(i, j, value)
                else:
                    sheet.write_string(i, j, str(value), wrap)
    book.close()
    return buf.getvalue()


def csv_text(table: Table, labels: dict[str, Any]) -> str:
    """One table as CSV (BOM, Vietnamese headers, formula-safe cells: bot/console/csvexport.py)."""
    rows = ({c: (cell_text(v) if isinstance(v, float) else v) for c, v in r.items()} for r in table.rows)
    return "".join(csvexport.chunks(table.columns, labels["report_columns"], rows))


# --- routes ---------------------------------------------------------------------------------------------


def setup(webapp: web.Application, console: Console) -> None:
    from bot.console.views import guarded

    webapp.router.add_get("/console/summary", guarded(report_page, "viewer"))
    webapp.router.add_get("/console/summary/report.xlsx", guarded(report_xlsx, "viewer"))
    webapp.router.add_get(r"/console/summary/{table:[a-z_]+}.csv", guarded(report_csv, "viewer"))


def _report(request: web.Request) -> tuple[Console, Report, str]:
    from bot.console.views import CONSOLE_KEY

    console = request.app[CONSOLE_KEY]
    store = console.app.store
    start, end, preset = period(request, queries.today(store.clock()))
    return console, build(store, console.app.kb, console.labels, start, end), preset


def _query(report: Report, preset: str) -> str:
    if preset:
        return f"preset={preset}"
    return f"from={report.start.isoformat()}&to={report.end.isoformat()}"


async def report_page(request: web.Request) -> web.StreamResponse:
    from bot.console.views import render

    console, report, preset = _report(request)
    store = console.app.store
    first = store.report_first_day()
    today = queries.today(store.clock())
    return render(request, "console/summary.html", r=report, preset=preset, query=_query(report, preset),
                  presets=presets(today, queries.today(first).year if first else None),
                  charts=charts(report, console.labels), cell=cell_text, duration=duration)


def _audit(request: web.Request, report: Report, what: str) -> None:
    """Exports hold members' own words (theme examples): logged like the other exports."""
    from bot.console.views import audit

    audit(request, "export.report", None, f"{report.start}..{report.end} {what}")


async def report_xlsx(request: web.Request) -> web.StreamResponse:
    console, report, _ = _report(request)
    name = f"bao-cao_{report.start.isoformat()}_{report.end.isoformat()}.xlsx"
    _audit(request, report, "xlsx")
    return web.Response(body=xlsx(report, console.labels), headers={
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Content-Disposition": f'attachment; filename="{name}"'})


async def report_csv(request: web.Request) -> web.StreamResponse:
    console, report, _ = _report(request)
    table = report.tables.get(request.match_info["table"])
    if table is None:
        raise web.HTTPNotFound()
    name = f"bao-cao-{table.key}_{report.start.isoformat()}_{report.end.isoformat()}.csv"
    _audit(request, report, f"{table.key}.csv")
    return web.Response(text=csv_text(table, console.labels), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
