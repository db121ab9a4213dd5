import json

from click.testing import CliRunner

from bot.cli import main


def run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def test_ask_json_has_the_documented_fields():
    result = run("ask", "--json", "góp vốn tối đa bao nhiêu phần trăm")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert set(data) == {"question", "kind", "intent", "entry_id", "score", "citations", "alternatives", "text",
                         "referral", "parts", "history_first", "ticket", "first_words", "repealed_first"}
    assert data["kind"] == "answer" and data["citations"]
    assert set(data["citations"][0]) == {"doc", "article", "clause"}


def test_ask_plain_reads_like_a_person_would():
    result = run("ask", "htx là gì")
    assert result.exit_code == 0 and "Nguồn:" in result.output and "**" not in result.output


def test_ask_batch_keeps_order_and_reads_both_formats(tmp_path):
    batch = tmp_path / "q.txt"
    batch.write_text(
        "htx là gì\n\n" + json.dumps({"q": "giá lúa hôm nay", "province": "Kon Tum"}, ensure_ascii=False) + "\n"
        "tôi muốn gặp cán bộ\n",
        encoding="utf-8",
    )
    result = run("ask", "--json", "--batch", str(batch))
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["question"] for r in rows] == ["htx là gì", "giá lúa hôm nay", "tôi muốn gặp cán bộ"]
    assert [r["kind"] for r in rows] == ["answer", "unknown", "intent"]


def test_eval_prints_figures():
    result = run("eval", "tests/eval/dev.jsonl", "--no-failures")
    assert result.exit_code == 0
    assert "top-1" in result.output and "top-3" in result.output and "first message words" in result.output


def test_kb_check_passes_and_reports_coverage():
    result = run("kb", "check", "--no-warnings")
    assert result.exit_code == 0, result.output
    assert "Coverage 23/2012/QH13:" in result.output


def test_bad_config_is_a_clear_error(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text("[web]\nport = 'x'\n")
    result = CliRunner().invoke(main, ["ask", "--config", str(bad), "htx là gì"])
    assert result.exit_code == 2 and "web.port" in result.output
