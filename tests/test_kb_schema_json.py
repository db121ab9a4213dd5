"""The published JSON Schemas (docs/schema/) are the models' own, and stay in step with them."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bot.cli import main
from bot.kb.publish import DEFAULT_OUT, json_schema
from bot.kb.schema import FILE_KINDS


def test_committed_schemas_match_the_models():
    for kind in FILE_KINDS:
        committed = json.loads((DEFAULT_OUT / f"{kind}.schema.json").read_text(encoding="utf-8"))
        assert committed == json_schema(kind), f"docs/schema/{kind}.schema.json is stale: run `htx-bot kb schema`"


def test_entry_schema_requires_short_and_refuses_unknown_fields():
    entry = json_schema("entries")["$defs"]["EntryModel"]
    assert {"id", "title", "short", "citations"} <= set(entry["required"])
    assert entry["additionalProperties"] is False and "answer" not in entry["properties"]


def test_cli_writes_every_kind(tmp_path):
    result = CliRunner().invoke(main, ["kb", "schema", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{k}.schema.json" for k in FILE_KINDS)
