"""htx-bot: run the bot, chat in the terminal, ask one question, evaluate, check the knowledge base."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from bot.config import Config, ConfigError, load_config
from bot.kb.loader import KnowledgeError
from bot.types import Kind

if TYPE_CHECKING:
    from bot.app import App
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
        "text": "\n\n".join(_plain(r.text) for r in outcome.replies),
    }


@main.command("eval")
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--failures/--no-failures", default=True, help="List the questions answered wrongly.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def eval_(config_path: str | None, file: str, failures: bool, as_json: bool) -> None:
    """Accuracy report on a question set in the format of tests/eval/dev.jsonl."""
    from bot.evaluate import evaluate, read_cases

    app = _engine_for_questions(config_path)
    try:
        cases = read_cases(file)
    except ValueError as exc:
        _fail(str(exc))
    report = evaluate(cases, lambda q, p: answer_json(app.engine, q, p))
    summary = report.summary()
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    click.echo(f"Questions: {summary['n']}")
    click.echo(f"Top-1 accuracy: {summary['top1']:.1%}")
    click.echo(f"Top-3 accuracy: {summary['top3']:.1%}")
    click.echo(f"Out-of-scope answered 'unknown': {summary['out_of_scope_unknown']:.1%}")
    click.echo(f"In-scope answered 'unknown': {summary['in_scope_answered_unknown']:.1%}")
    for kind, figures in summary["by_target"].items():
        click.echo(f"  {kind:8} n={figures['n']:3}  top-1 {figures['top1']:.1%}  top-3 {figures['top3']:.1%}")
    if failures:
        for r in report.results:
            if not r.top1:
                a = r.answer
                got = a["entry_id"] or a["intent"] or ""
                cites = ", ".join(f"{c['doc']} Đ{c['article']}" for c in a["citations"])
                mark = "top-3" if r.top3 else "MISS "
                click.echo(f"  {mark} {r.case.id}: {r.case.q!r} → {a['kind']} {got} [{cites}] "
                           f"score={a['score']} want={r.case.expect}")


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
    ok = run_check(config.knowledge.path or None, click.echo, show_warnings=warnings)
    sys.exit(0 if ok else 1)


def _plain(text: str) -> str:
    return text.replace("**", "")


if __name__ == "__main__":
    main()
