"""The knowledge base refuses bad data and names file, entry and field (tiny fixtures, one per feature)."""

from pathlib import Path

import pytest

from bot.kb.loader import KnowledgeError, load, load_with_report


def add_entries(kdir: Path, body: str) -> None:
    (kdir / "entries" / "zz-test.yaml").write_text("topic: Thử\nentries:\n" + body, encoding="utf-8")


GOOD = """
  - id: zz-ok
    title: Một câu hỏi thử
    questions: [câu một, câu hai, câu ba, câu bốn]
    short: Trả lời thử.
    citations:
      - {doc: 17/2023/QH15, article: 4}
"""


def errors(kdir):
    _, report = load_with_report(kdir)
    return [str(p) for p in report.errors]


def test_fixture_knowledge_base_is_valid(fixture_kdir):
    kb, report = load_with_report(fixture_kdir)
    assert not report.problems, "\n".join(map(str, report.problems))
    assert len(kb.entries) >= 9 and {"_common", "eligibility", "compliance"} <= set(kb.selfchecks)


def test_good_entry_loads_with_v2_fields(kdir):
    extra = "    detail: Chi tiết.\n    unsure: Bà con hỏi xã.\n    editor_note: nguồn chưa xác minh\n"
    add_entries(kdir, GOOD + extra)
    entry = load(kdir).entries["zz-ok"]
    assert (entry.short, entry.detail, entry.unsure) == ("Trả lời thử.", "Chi tiết.", "Bà con hỏi xã.")
    assert entry.history is None
    assert entry.editor_note == "nguồn chưa xác minh" and entry.file == "knowledge/entries/zz-test.yaml"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (GOOD.replace("    citations:\n      - {doc: 17/2023/QH15, article: 4}\n", ""), "zz-ok › citations: required"),
        (GOOD.replace("17/2023/QH15", "99/2099/QH99"), "zz-ok › citations[0].doc"),
        (GOOD.replace("article: 4", "article: 400"), "zz-ok › citations[0].article: 17/2023/QH15 has only 115"),
        (GOOD.replace("article: 4", "article: bốn"), "zz-ok › citations[0].article: must be a whole number"),
        (GOOD.replace("article: 4", "clause: 2"), "zz-ok › citations[0].clause: a clause needs its article"),
        (GOOD.replace("17/2023/QH15, article: 4", "23/2012/QH13, article: 4"), "zz-ok › history"),
        (GOOD.replace("    short: Trả lời thử.\n", ""), "zz-ok › short: required"),
        (GOOD.replace("short:", "answer:"), "zz-ok › answer: format v1 field 'answer': use short/detail/history"),
        (GOOD + "    today: Nay.\n", "zz-ok › today: format v1 field 'today'"),
        (GOOD.replace("id: zz-ok", "id: Có Dấu"), "#1 › id"),
        (GOOD + "    answr: red\n", "zz-ok › answr: unknown field 'answr'"),
        (GOOD.replace("câu hai, câu ba, câu bốn]", "2]"), "zz-ok › questions: must be a list of strings"),
        (GOOD + "    related: [khong-co]\n", "zz-ok › related: no entry with id 'khong-co'"),
        (GOOD + "    province: Atlantis\n", "zz-ok › province"),
        (GOOD + GOOD, "zz-ok › id: also used in"),
        (GOOD + "    label: " + "x" * 41 + "\n", "zz-ok › label"),
    ],
)
def test_errors_name_file_entry_and_field(kdir, body, expected):
    add_entries(kdir, body)
    found = errors(kdir)
    assert any("knowledge/entries/zz-test.yaml" in e and expected in e for e in found), found


def test_a_bad_entry_does_not_hide_the_good_ones_of_its_file(kdir):
    add_entries(kdir, GOOD + GOOD.replace("zz-ok", "zz-bad").replace("short:", "answer:"))
    kb, report = load_with_report(kdir)
    assert "zz-ok" in kb.entries and "zz-bad" not in kb.entries and report.errors


def test_invalid_yaml_is_reported_with_file(kdir):
    (kdir / "entries" / "zz-broken.yaml").write_text("topic: [unclosed\n", encoding="utf-8")
    assert any("zz-broken.yaml" in e and "YAML" in e for e in errors(kdir))


def test_missing_required_text_is_reported(kdir):
    texts = (kdir / "texts.yaml").read_text(encoding="utf-8")
    (kdir / "texts.yaml").write_text(texts.replace("unknown: |", "unknown_gone: |"), encoding="utf-8")
    assert any("texts.yaml › unknown: required text is missing" in e for e in errors(kdir))


def test_a_text_key_yaml_reads_as_a_boolean_is_reported(kdir):
    with (kdir / "texts.yaml").open("a", encoding="utf-8") as fh:
        fh.write("\nyes: Có\n")
    assert any("texts.yaml › True: key must be text (quote it" in e for e in errors(kdir)), errors(kdir)


def test_load_raises_with_every_error(kdir):
    add_entries(kdir, GOOD.replace("17/2023/QH15", "nope") + GOOD.replace("zz-ok", "zz-two").replace("short:", "x:"))
    with pytest.raises(KnowledgeError) as err:
        load(kdir)
    assert "zz-ok" in str(err.value) and "zz-two" in str(err.value)


def test_bad_trigger_is_reported(kdir):
    path = kdir / "intents.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "    triggers:\n      - all:", "    triggers:\n      - all: nope\n      - all:", 1), encoding="utf-8")
    assert any("intents.yaml › eligibility › triggers[0]: a phrase, or {all:" in e for e in errors(kdir))


def test_document_and_province_references_are_checked(kdir):
    docs = kdir / "documents.yaml"
    docs.write_text(docs.read_text(encoding="utf-8").replace("replaced_by: 295/2026/NĐ-CP", "replaced_by: 1/2099"),
                    encoding="utf-8")
    provinces = kdir / "provinces.yaml"
    text = provinces.read_text(encoding="utf-8")
    provinces.write_text(text.replace("merged_into: vinhlong", "merged_into: atlantis"), encoding="utf-8")
    found = errors(kdir)
    assert any("documents.yaml › 92/2024/NĐ-CP › replaced_by" in e for e in found), found
    assert any("provinces.yaml › travinh › merged_into: unknown province code 'atlantis'" in e for e in found), found


def test_ui_payloads_fit_telegram_and_examples_exist(kdir):
    ui = kdir / "ui.yaml"
    text = ui.read_text(encoding="utf-8").replace('"help:show"]', '"help:' + "x" * 70 + '"]', 1)
    ui.write_text(text.replace("  - tv-dieu-kien\n", "  - khong-co-muc-nay\n"), encoding="utf-8")
    found = errors(kdir)
    assert any("ui.yaml › menu[5]" in e and "64 bytes" in e for e in found), found
    assert any("ui.yaml › examples[0]: no entry with id 'khong-co-muc-nay'" in e for e in found), found


def test_every_entry_citing_an_old_document_tells_its_history(kb):
    for entry in kb.entries.values():
        if any(not kb.document(c.doc).in_force for c in entry.citations):
            assert entry.history, entry.id


def test_a_fact_rule_must_link_an_entry_citing_its_article(kdir):
    rules = kdir / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    assert "entry_id: l23-so-thanh-vien-toi-thieu" in text
    rules.write_text(text.replace("entry_id: l23-so-thanh-vien-toi-thieu", "entry_id: htx-lap-doanh-nghiep", 1),
                     encoding="utf-8")
    assert any("knowledge/rules.yaml" in e and "entry_id: htx-lap-doanh-nghiep does not cite the rule's article" in e
               for e in errors(kdir)), errors(kdir)
