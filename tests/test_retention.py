"""Retention: old messages, replies and tickets lose what points at a person; report counts survive."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from bot.config import ConfigError, load_config
from bot.db import Store
from bot.effects import OpenTicket, RecordFeedback, SendSelfCheckResult
from bot.maintenance import DAY, apply_retention_once, retention_loop
from bot.types import Incoming, Reply

OLD, NEW = 1_000_000.0, 1_000_000.0 + 400 * DAY
PHONE = "0377111222"


def conversation(store: Store, user: str, text: str, name: str | None = None) -> int:
    mid, _ = store.record_incoming(Incoming("telegram", user, text=text, name=name, platform_id=f"{user}-{text}"),
                                   text)
    store.complete(mid, "telegram", user, [Reply(f"trả lời {text}")], {"kind": "unknown"}, {"flow": "staff"},
                   [OpenTicket("unknown", text), RecordFeedback(mid, -1),
                    SendSelfCheckResult("eligibility", mid, [], {"verdict": "meets"}, name or "Lan", PHONE)])
    return mid


def make(tmp_path: Path) -> tuple[Store, list[float]]:
    now = [OLD]
    store = Store(tmp_path / "db.sqlite3", clock=lambda: now[0])
    conversation(store, "501", f"số của tôi {PHONE}", name="Bà Tư Retention")
    conversation(store, "502", "/start")
    store.answer_ticket(store.tickets()[0]["id"], "trả lời riêng", "cán bộ", Reply(f"gọi {PHONE}"))
    now[0] = NEW
    conversation(store, "501", "câu hỏi mới", name="Bà Tư Retention")
    return store, now


def report(store: Store) -> dict:
    figures = store.report_figures(0, NEW + DAY, 7 * 3600)
    return {k: figures[k] for k in ("totals", "days", "channels", "outcomes", "top_entries", "feedback", "tickets")}


def test_old_rows_are_anonymised_counts_are_kept(tmp_path):
    store, now = make(tmp_path)
    before = report(store)
    cutoff = NEW - 365 * DAY

    planned = store.apply_retention(cutoff, dry_run=True)
    assert planned["messages"] == 2 and planned["tickets"] == 2 and planned["users"] == 1
    assert store.apply_retention(cutoff, dry_run=True) == planned  # a dry run changes nothing

    done = store.apply_retention(cutoff)
    assert done == planned
    old = store.conn.execute("select * from messages where received_at < ?", (cutoff,)).fetchall()
    assert [(m["text"], m["payload"], m["platform_id"]) for m in old] == [("", None, None), (None, None, None)]
    assert all(m["user_key"].startswith("expired-") for m in old)
    dump = "\n".join(str(tuple(r)) for t in ("messages", "replies", "tickets", "feedback", "selfcheck_results")
                     for r in store.conn.execute(f"select * from {t} where user_key like 'expired-%'"))
    assert PHONE not in dump and "501" not in dump and "Retention" not in dump
    # The same person keeps one anonymous key across tables within a run.
    keys = {r[0] for r in store.conn.execute("select user_key from messages where received_at < ?", (cutoff,))}
    assert len(keys) == 2
    # What is newer is untouched, and the user seen recently is still there.
    recent = store.conn.execute("select text, user_key from messages where received_at >= ?", (cutoff,)).fetchall()
    assert [tuple(r) for r in recent] == [("câu hỏi mới", "501")]
    assert store.user("telegram", "501")["name"] == "Bà Tư Retention"
    assert store.user("telegram", "502").get("id") is None  # not seen for a year: deleted
    # Reports over the whole period still add up: messages, questions, outcomes, votes, tickets.
    after = report(store)
    assert after["totals"]["messages"] == before["totals"]["messages"]
    assert after["totals"]["questions"] == before["totals"]["questions"]
    for key in ("days", "outcomes", "top_entries", "feedback", "tickets"):
        assert after.get(key) == before.get(key), key
    # Nothing left to do the second time.
    assert not any(store.apply_retention(cutoff).values())
    store.close()


def test_the_old_copies_leave_the_files(tmp_path):
    store, _ = make(tmp_path)
    store.apply_retention(NEW - 365 * DAY)
    path = str(tmp_path / "db.sqlite3")
    data = b"".join(Path(path + s).read_bytes() for s in ("", "-wal") if Path(path + s).exists())
    assert data.count(PHONE.encode()) == 1  # only the recent self-check contact
    store.close()


def test_the_daily_job_and_zero_days(tmp_path):
    store, now = make(tmp_path)

    async def run() -> None:
        assert await apply_retention_once(store, 0, clock=lambda: now[0]) == {}
        counts = await apply_retention_once(store, 365, clock=lambda: now[0])
        assert counts["messages"] == 2
        task = asyncio.create_task(retention_loop(store, 365, interval=0.01, first_delay=0))
        await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(run())
    store.close()


def test_the_running_bot_starts_and_stops_the_job(app, monkeypatch):
    from aiohttp import web

    from bot.app import with_lifecycles

    calls = []

    async def fake_loop(store, days, *args, **kwargs):
        calls.append(days)
        await asyncio.sleep(3600)

    monkeypatch.setattr("bot.maintenance.retention_loop", fake_loop)
    app.config.storage.retention_days = 30

    async def run() -> None:
        runner = web.AppRunner(with_lifecycles(web.Application(), app, []))
        await runner.setup()
        await asyncio.sleep(0)
        await runner.cleanup()

    asyncio.run(run())
    assert calls == [30]


def test_cli_dry_run_and_run(tmp_path):
    store, _ = make(tmp_path)
    store.close()
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\nretention_days = 365\n', encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(main, ["retention", "--dry-run", "--config", str(config)])
    assert out.exit_code == 0 and "would change" in out.output and "messages 3" in out.output, out.output
    out = runner.invoke(main, ["retention", "--config", str(config)])
    assert out.exit_code == 0 and "changed" in out.output


def test_retention_settings(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[storage]\nretention_days = 0\n", encoding="utf-8")
    assert load_config(cfg, env={}).storage.retention_days == 0
    assert load_config(None, env={}).storage.retention_days == 365
    cfg.write_text("[storage]\nretention_days = -1\n", encoding="utf-8")
    try:
        load_config(cfg, env={})
    except ConfigError as exc:
        assert "retention_days" in str(exc)
    else:
        raise AssertionError("negative retention accepted")
