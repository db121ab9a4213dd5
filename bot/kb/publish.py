"""`htx-bot kb schema`: the models of bot/kb/schema.py as JSON Schema files, one per file kind.

Editors point their YAML extension at these (docs/knowledge-format.md) and see a mistyped field or a
missing `short` while typing, before `htx-bot kb check` runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.kb.schema import FILE_KINDS

DEFAULT_OUT = Path(__file__).resolve().parent.parent.parent / "docs" / "schema"
# Which files of knowledge/ each schema describes (for VS Code's `yaml.schemas` setting).
FILES = {
    "documents": ["knowledge/documents.yaml"],
    "entries": ["knowledge/entries/*.yaml", "data/knowledge-overlay/entries/*.yaml"],
    "synonyms": ["knowledge/synonyms.yaml", "knowledge/synonyms/*.yaml"],
    "intents": ["knowledge/intents.yaml"],
    "texts": ["knowledge/texts.yaml"],
    "ui": ["knowledge/ui.yaml"],
    "provinces": ["knowledge/provinces.yaml"],
    "style": ["knowledge/style.yaml"],
    "staff-phrasings": ["data/knowledge-overlay/staff-phrasings.yaml"],
    "selfcheck": ["knowledge/selfchecks/[!_]*.yaml"],
    "selfcheck-common": ["knowledge/selfchecks/_common.yaml"],
}


def json_schema(kind: str) -> dict:
    model = FILE_KINDS[kind]
    schema = model.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def write_all(out: Path = DEFAULT_OUT) -> list[Path]:
    """Write <kind>.schema.json for every file kind into `out`; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in FILE_KINDS:
        path = out / f"{kind}.schema.json"
        path.write_text(json.dumps(json_schema(kind), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
