"""htx-bot: run the bot, chat in the terminal, ask one question, evaluate, check the knowledge base,
back up and restore the database, apply the retention period."""

from __future__ import annotations

import json
import sqlite3
import sys
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from bot.config import Config, ConfigError, load_config
from bot.kb.loader import KnowledgeError
from bot.types import Kind

if TYPE_CHECKING:
    from bot.app import App
    from bot.db import Store
    from bot.db.connection import Row
    from bot.engine import Engine

# What `htx-bot ask --json` reports a question led to; anything else reads as unknown.
ASKED_KINDS = (Kind.ANSWER, Kind.CLARIFY, Kind.UNKNOWN, Kind.INTENT)

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None,
    help="Configuration file (default: config.toml when present, else the embedded default).",
)


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


def _config(config_path: str | None) -> Config:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        _fail(str(exc))


def _engine_for_questions(config_path: str | None) -> App:
    """An engine over an in-memory store: asking never writes to the real database."""
    from bot.app import build

    config = _config(config_path)
    try:
        return build(config, store_path=":memory:")
    except KnowledgeError as exc:
        _fail(str(exc))


@click.group()
@click.version_option(package_name="tro-ly-htx")
def main() -> None:
    """Trợ lý HTX — a chatbot for members of Vietnamese cooperatives."""


@main.command()
@config_option
def run(config_path: str | None) -> None:
    """Start every configured channel (with no config: web chat and staff console on 127.0.0.1)."""
    from bot.server import serve

    config = _config(config_path)
    try:
        serve(config)
    except (KnowledgeError, ConfigError) as exc:  # e.g. a channel configured but unable to start
        _fail(f"refusing to start: {exc}")


@main.command()
@config_option
@click.option("--user", default="terminal", help="User key for this terminal conversation.")
def chat(config_path: str | None, user: str) -> None:
    """Chat with the bot in the terminal (buttons are numbered: type the number)."""
    from bot.app import build
    from bot.types import Incoming

    config = _config(config_path)
    try:
        app = build(config)
    except KnowledgeError as exc:
        _fail(str(exc))
    buttons: list[str] = []
    click.echo("Trợ lý HTX — gõ câu hỏi; /start để bắt đầu; Ctrl-D để thoát.")
    while True:
        try:
            line = input("> ").strip()
        except (EOFError, KeyboardInterrupt):
            click.echo()
            break
        if not line:
            continue
        if line.isdigit() and 0 < int(line) <= len(buttons):
            inc = Incoming("cli", user, payload=buttons[int(line) - 1])
        else:
            inc = Incoming("cli", user, text=line)
        buttons = []
        for sent in app.engine.handle(inc):
            app.store.mark_sent(sent.id)
            click.echo(_plain(sent.reply.text))
            for row in sent.reply.buttons:
                for b in row:
                    buttons.append(b.payload)
                    click.echo(f"  [{len(buttons)}] {b.label}")
            click.echo()


@main.command()
@config_option
@click.argument("question", required=False)
@click.option("--province", default=None, help="The asker's province (name or code).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per question.")
@click.option("--batch", type=click.Path(exists=True, dir_okay=False), help="Questions, one per line or JSON lines.")
def ask(config_path: str | None, question: str | None, province: str | None, as_json: bool, batch: str | None) -> None:
    """Answer QUESTION as the bot would (nothing is stored)."""
    app = _engine_for_questions(config_path)
    if batch:
        items = list(_batch_items(Path(batch), province))
    elif question is not None:
        items = [(question, province)]
    else:
        _fail("give a QUESTION or --batch FILE")
    for q, prov in items:
        result = answer_json(app.engine, q, prov)
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False))
        else:
            click.echo(result["text"])
            if result["kind"] != "answer":
                click.echo(f"[{result['kind']}{' ' + result['intent'] if result['intent'] else ''}]")
            click.echo()


def _batch_items(path: Path, province: str | None):
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                row = json.loads(line)
                yield str(row["q"]), row.get("province") or province
            except (json.JSONDecodeError, KeyError, TypeError):
                _fail(f"{path}:{n}: a JSON line needs a \"q\"")
        else:
            yield line, province


def answer_json(engine: Engine, question: str, province: str | None) -> dict[str, Any]:
    outcome = engine.preview(question, province=province)
    meta = outcome.meta
    kind = meta.get("kind")
    return {
        "question": question,
        "kind": str(kind) if kind in ASKED_KINDS else str(Kind.UNKNOWN),
        "intent": meta.get("intent"),
        "entry_id": meta.get("entry_id"),
        "score": meta.get("score"),
        "citations": meta.get("citations") or [],
        "alternatives": meta.get("alternatives") or [],
        "referral": meta.get("referral"),
        "parts": meta.get("parts") or [],
        "history_first": bool(meta.get("history_first")),
        "ticket": any(getattr(e, "kind", type(e).__name__).lower() in ("ticket", "openticket")
                      for e in outcome.effects),
        "first_words": len(_plain(outcome.replies[0].text).split()) if outcome.replies else 0,
        "repealed_first": bool(meta.get("repealed_first")),
        "text": "\n\n".join(_plain(r.text) for r in outcome.replies),
    }


@main.command("eval")
@config_option
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--sets", "sets_path", default="tests/eval/sets.toml", show_default=True,
              help="Question sets to measure when no FILE is given.")
@click.option("--baseline", "baseline_path", default=None, help="Fail when a set drops below these figures.")
@click.option("--update-baseline", is_flag=True, help="Write the figures measured now as the new baseline.")
@click.option("--failures/--no-failures", default=True, help="List the questions answered wrongly (FILE mode).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def eval_(config_path: str | None, files: tuple[str, ...], sets_path: str, baseline_path: str | None,
          update_baseline: bool, failures: bool, as_json: bool) -> None:
    """Accuracy per question set (format: tests/eval/README.md), compared with a baseline."""
    from bot.evaluate import compare, evaluate, read_cases, read_sets, run_sets

    app = _engine_for_questions(config_path)

    def ask(q: str, p: str | None) -> dict[str, Any]:
        return answer_json(app.engine, q, p)

    if files:
        try:
            cases = [c for f in files for c in read_cases(f)]
        except ValueError as exc:
            _fail(str(exc))
        report = evaluate(cases, ask)
        summary = report.summary()
        if as_json:
            click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
            return
        _print_summary("+".join(Path(f).name for f in files), summary)
        if failures:
            _print_failures(report)
        return
    try:
        sets = read_sets(sets_path)
    except (OSError, ValueError, KeyError) as exc:
        _fail(f"{sets_path}: {exc}")
    figures = run_sets(sets, ask)
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False, indent=2))
    else:
        for qs in sets.sets:
            _print_summary(f"{qs.name} ({qs.role})", figures[qs.name])
    if update_baseline and baseline_path:
        Path(baseline_path).write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        click.echo(f"baseline written: {baseline_path}")
        return
    if baseline_path:
        baseline = json.loads(Path(baseline_path).read_text(encoding="utf-8"))
        problems = compare(figures, baseline, sets)
        if problems:
            click.echo("Below the baseline:")
            for line in problems:
                click.echo(f"  {line}")
            sys.exit(1)
        click.echo(f"baseline holds ({baseline_path}, tolerance {sets.tolerance:.0%})")


def _print_summary(name: str, s: dict[str, Any]) -> None:
    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v:.1%}"

    click.echo(f"{name}: {s['n']} messages, {s['parts']} parts")
    click.echo(f"  top-1 {pct(s['top1'])}  top-3 {pct(s['top3'])}  in-scope top-1 {pct(s['in_scope_top1'])}  "
               f"in-scope answered 'not sure' {pct(s['in_scope_answered_unknown'])}")
    click.echo(f"  out of scope → 'not sure' {pct(s['out_of_scope_unknown'])}  "
               f"right office {pct(s['referral_right'])}  "
               f"tickets opened for out-of-scope {s['tickets_for_out_of_scope']}")
    click.echo(f"  multi-part all right {pct(s['all_parts_top1'])}  history asked → old rule first "
               f"{pct(s['history_first'])}")
    click.echo(f"  first message words: median {s['first_words_median']}, p90 {s['first_words_p90']}; "
               f"first sentence states a repealed rule: {s['repealed_first']}")


def _print_failures(report: Any) -> None:
    for r in report.results:
        if r.all_top1:
            continue
        a = r.answer
        got = a["entry_id"] or a["intent"] or ""
        cites = ", ".join(f"{c['doc']} Đ{c['article']}" for c in a["citations"])
        mark = "top-3" if all(r.top3) else "MISS "
        want = [p.expect for p in r.case.parts]
        click.echo(f"  {mark} {r.case.id}: {r.case.q[:160]!r} → {a['kind']} {got} [{cites}] "
                   f"score={a['score']} want={want}")


@main.group()
def kb() -> None:
    """Knowledge base tools."""


@kb.command("check")
@config_option
@click.option("--warnings/--no-warnings", default=True)
def kb_check(config_path: str | None, warnings: bool) -> None:
    """Validate knowledge/ and report coverage; exits 1 on any error."""
    from bot.kb.check import run_check

    config = _config(config_path)
    ok = run_check(config.knowledge.path or None, click.echo, show_warnings=warnings,
                   overlay=config.knowledge.overlay_path or None)
    sys.exit(0 if ok else 1)


@kb.command("schema")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Folder for the <kind>.schema.json files (default: docs/schema).")
def kb_schema(out: str | None) -> None:
    """Write the JSON Schema of every knowledge file kind, for editors' YAML extensions."""
    from bot.kb.publish import DEFAULT_OUT, write_all

    for path in write_all(Path(out) if out else DEFAULT_OUT):
        click.echo(str(path))


@main.command()
@config_option
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Backup file (default: backups/<name>-<date>-<time>.sqlite3 next to the database).")
def backup(config_path: str | None, out: str | None) -> None:
    """Back up the database with SQLite's online backup API; safe while the bot is running."""
    from bot.db.backup import BackupError, default_path
    from bot.db.backup import backup as make_backup

    config = _config(config_path)
    try:
        result = make_backup(config.storage.path, out or default_path(config.storage.path),
                             overlay=config.knowledge.overlay_path or None)
    except (BackupError, OSError, sqlite3.Error, tarfile.TarError) as exc:
        _fail(f"backup failed: {exc}")
    click.echo(f"{result.path}: {result.bytes} bytes, {result.messages} messages, integrity ok")
    if result.overlay:
        click.echo(f"{result.overlay}: the staff's knowledge edits (knowledge.overlay_path)")


@main.command()
@config_option
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Restore although -wal/-shm files exist (the bot crashed).")
def restore(config_path: str | None, backup_file: str, force: bool) -> None:
    """Replace the database with BACKUP_FILE. Stop the bot first (docs/security.md)."""
    from bot.db.backup import BackupError
    from bot.db.backup import restore as put_back

    config = _config(config_path)
    try:
        aside = put_back(backup_file, config.storage.path, force=force,
                         overlay=config.knowledge.overlay_path or None)
    except (BackupError, OSError, sqlite3.Error, tarfile.TarError) as exc:
        _fail(f"restore failed: {exc}")
    click.echo(f"restored {backup_file} to {config.storage.path}")
    if aside.exists():
        click.echo(f"the database it replaced is kept as {aside}")


@main.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Only count what would be anonymised or deleted.")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Override [storage] retention_days for this run.")
def retention(config_path: str | None, dry_run: bool, days: int | None) -> None:
    """Anonymise messages, replies and tickets older than [storage] retention_days (counts are kept)."""
    import time

    from bot.db import Store

    config = _config(config_path)
    keep = days or config.storage.retention_days
    if keep <= 0:
        click.echo("storage.retention_days = 0: everything is kept; nothing to do")
        return
    if not Path(config.storage.path).exists():
        _fail(f"no database at {config.storage.path}")
    store = Store(config.storage.path)
    try:
        counts = store.apply_retention(time.time() - keep * 86400, dry_run=dry_run)
    finally:
        store.close()
    verb = "would change" if dry_run else "changed"
    click.echo(f"older than {keep} days, rows {verb}: " + ", ".join(f"{t} {n}" for t, n in counts.items()))


# --- staff accounts ---------------------------------------------------------------------------------------


@main.group()
def staff() -> None:
    """Staff console accounts: add, change a password, disable, list."""


def _store(config_path: str | None) -> Store:
    """The real database (the server may be running: SQLite lets both write; sessions end at once)."""
    from bot.db import Store

    return Store(_config(config_path).storage.path)


def _read_password(password_stdin: bool) -> str:
    """A new password: one line from stdin for scripts, else a hidden prompt asked twice."""
    from bot.console.auth import AccountError, check_password

    if password_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
    else:
        value = click.prompt("Mật khẩu mới", hide_input=True, confirmation_prompt="Nhập lại mật khẩu")
    try:
        return check_password(value)
    except AccountError as exc:
        _fail(str(exc))


def _account(store: Store, username: str) -> Row:
    from bot.console.auth import normalize_username

    row = store.staff_by_username(normalize_username(username))
    if row is None:
        store.close()
        _fail(f"no account {username!r} (htx-bot staff list)")
    return row


@staff.command("add")
@config_option
@click.argument("username")
@click.option("--role", type=click.Choice(["viewer", "staff", "editor", "admin"]), required=True,
              help="viewer < staff < editor < admin.")
@click.option("--name", "display_name", default="", help="Name shown to members in replies (default: USERNAME).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def staff_add(config_path: str | None, username: str, role: str, display_name: str, password_stdin: bool) -> None:
    """Create an account for USERNAME with a password (asked twice, never shown)."""
    from bot.console.auth import AccountError, check_display_name, check_username, hash_password

    try:
        username = check_username(username)
        display_name = check_display_name(display_name, username)
    except AccountError as exc:
        _fail(str(exc))
    store = _store(config_path)
    try:
        if store.staff_by_username(username):
            _fail(f"account {username!r} already exists")
        password = _read_password(password_stdin)
        if store.create_staff(username, display_name, role, hash_password(password)) is None:
            _fail(f"account {username!r} already exists")
        store.audit("cli", "account.add", f"staff:{username}", f"role {role}")
    finally:
        store.close()
    click.echo(f"account {username} ({role}) created")


@staff.command("passwd")
@config_option
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def staff_passwd(config_path: str | None, username: str, password_stdin: bool) -> None:
    """Set a new password for USERNAME; every console session of the account ends."""
    from bot.console.auth import hash_password

    store = _store(config_path)
    try:
        row = _account(store, username)
        password = _read_password(password_stdin)
        store.set_staff_password(row["id"], hash_password(password))
        store.audit("cli", "account.password_reset", f"staff:{row['username']}")
    finally:
        store.close()
    click.echo(f"password of {row['username']} changed; its console sessions ended")


def _set_active(config_path: str | None, username: str, active: bool) -> str:
    """Disable or re-enable an account (audited); returns its username."""
    store = _store(config_path)
    try:
        row = _account(store, username)
        store.set_staff_active(row["id"], active)
        store.audit("cli", "account.enable" if active else "account.disable", f"staff:{row['username']}")
    finally:
        store.close()
    return str(row["username"])


@staff.command("disable")
@config_option
@click.argument("username")
def staff_disable(config_path: str | None, username: str) -> None:
    """Disable USERNAME: it can no longer log in and its console sessions end now."""
    click.echo(f"account {_set_active(config_path, username, False)} disabled; its console sessions ended")


@staff.command("enable")
@config_option
@click.argument("username")
def staff_enable(config_path: str | None, username: str) -> None:
    """Allow a disabled USERNAME to log in again (with its old password)."""
    click.echo(f"account {_set_active(config_path, username, True)} enabled")


@staff.command("list")
@config_option
def staff_list(config_path: str | None) -> None:
    """Every account: username, role, active or not, last login (UTC), display name."""
    import datetime as dt

    store = _store(config_path)
    try:
        rows = store.staff_list()
    finally:
        store.close()
    if not rows:
        click.echo("no accounts yet: htx-bot run creates 'admin' on first start "
                   "(or: htx-bot staff add NAME --role admin)")
    for r in rows:
        last = (dt.datetime.fromtimestamp(r["last_login_at"], dt.UTC).strftime("%Y-%m-%d %H:%M")
                if r["last_login_at"] else "never")
        state = "active" if r["active"] else "disabled"
        click.echo(f"{r['username']:<20} {r['role']:<7} {state:<8} last login {last:<16}  {r['display_name']}")


def _plain(text: str) -> str:
    return text.replace("**", "")


if __name__ == "__main__":
    main()
