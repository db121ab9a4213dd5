"""The rules of docs/knowledge-format.md (data in knowledge/style.yaml) are loader errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.kb.loader import load_with_report


def entry(**fields: str) -> str:
    body = {
        "id": "zz-style", "title": "Thử quy tắc", "questions": "[một, hai, ba, bốn]",
        "short": "Hiện nay HTX cần ít nhất 5 thành viên.", "citations": "[{doc: 17/2023/QH15, article: 4}]",
    }
    body.update(fields)
    lines = [f"  - id: {body.pop('id')}"] + [f"    {k}: {v}" for k, v in body.items()]
    return "topic: Thử\nentries:\n" + "\n".join(lines) + "\n"


def problems(kdir: Path, **fields: str) -> list[str]:
    (kdir / "entries" / "zz-style.yaml").write_text(entry(**fields), encoding="utf-8")
    _, report = load_with_report(kdir)
    return [f"{p.field}: {p.message}" for p in report.errors if p.entry == "zz-style"]


def test_a_plain_entry_passes(kdir):
    assert problems(kdir) == []


@pytest.mark.parametrize(("fields", "expected"), [
    ({"short": " ".join(["chữ"] * 61) + "."}, "short: 61 words; at most 60"),
    ({"short": "Một. Hai. Ba. Bốn."}, "short: 4 sentences; at most 3"),
    ({"detail": " ".join(["chữ"] * 201)}, "detail: 201 words; at most 200"),
    ({"history": " ".join(["chữ"] * 151), "citations": "[{doc: 23/2012/QH13}]"}, "history: 151 words"),
    ({"unsure": " ".join(["chữ"] * 31)}, "unsure: 31 words; at most 30"),
    ({"unsure": "Bà con hỏi xã. Rồi hỏi huyện."}, "unsure: at most 1 sentence"),
    ({"short": "Theo Luật HTX 2012, HTX cần 7 thành viên.", "history": "Luật 2012 cần 7.",
      "citations": "[{doc: 23/2012/QH13}]"}, "short: the first sentence names 'Luật HTX 2012'"),
    ({"detail": "Mức phí (chưa xác minh) là 100.000 đồng."}, "detail: research note 'chưa xác minh'"),
    ({"title": "Thử [A1] nguồn"}, "title: research note '[A1'"),
    ({"citations": "[{doc: 23/2012/QH13}]"}, "history: cites 23/2012/QH13, no longer in force"),
])
def test_a_broken_rule_is_an_error_naming_the_field(kdir, fields, expected):
    found = problems(kdir, **fields)
    assert any(p.startswith(expected) for p in found), found


def test_an_old_document_named_as_past_is_fine(kdir):
    found = problems(kdir, short="Luật HTX 2012 đã hết hiệu lực từ 01/7/2024; nay áp dụng Luật HTX 2023.",
                     history="Luật 2012 áp dụng đến 30/6/2024.", citations="[{doc: 23/2012/QH13}]")
    assert found == []


def test_research_notes_are_fine_in_editor_note(kdir):
    assert problems(kdir, editor_note="chưa xác minh, một nguồn [A1]") == []


def test_the_rules_are_data(kdir):
    style = kdir / "style.yaml"
    style.write_text(style.read_text(encoding="utf-8").replace("short_words: 60", "short_words: 5"), encoding="utf-8")
    assert any(p.startswith("short: 9 words; at most 5") for p in problems(kdir))
