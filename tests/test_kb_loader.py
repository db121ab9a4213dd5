"""The knowledge base refuses bad data and names file, entry and field."""

from pathlib import Path

import pytest

from bot.kb.loader import KnowledgeError, load, load_with_report


def add_entries(kdir: Path, body: str) -> None:
    (kdir / "entries" / "zz-test.yaml").write_text("topic: Thử\nentries:\n" + body, encoding="utf-8")


GOOD = """
  - id: zz-ok
    title: Một câu hỏi thử
    questions: [câu một, câu hai, câu ba, câu bốn]
    answer: Trả lời thử.
    citations:
      - {doc: 17/2023/QH15, article: 4}
"""


def errors(kdir):
    _, report = load_with_report(kdir)
    return [str(p) for p in report.errors]


def test_shipped_knowledge_base_is_valid():
    kb, report = load_with_report()
    assert not report.errors, "\n".join(map(str, report.errors))
    assert len(kb.entries) >= 30


def test_good_entry_loads(kdir):
    add_entries(kdir, GOOD)
    assert "zz-ok" in load(kdir).entries


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (GOOD.replace("    citations:\n      - {doc: 17/2023/QH15, article: 4}\n", ""), "zz-ok › citations"),
        (GOOD.replace("17/2023/QH15", "99/2099/QH99"), "zz-ok › citations[0].doc"),
        (GOOD.replace("article: 4", "article: 400"), "zz-ok › citations[0].article"),
        (GOOD.replace("article: 4", "article: bốn"), "zz-ok › citations[0].article"),
        (GOOD.replace("{doc: 17/2023/QH15, article: 4}", "{doc: 23/2012/QH13, article: 4}"), "zz-ok › today"),
        (GOOD.replace("    answer: Trả lời thử.\n", ""), "zz-ok › answer"),
        (GOOD.replace("id: zz-ok", "id: Có Dấu"), "#1 › id"),
        (GOOD + "    colour: red\n", "zz-ok › colour"),
        (GOOD + "    related: [khong-co]\n", "zz-ok › related"),
        (GOOD + "    province: Atlantis\n", "zz-ok › province"),
        (GOOD + GOOD, "zz-ok › id"),
    ],
)
def test_errors_name_file_entry_and_field(kdir, body, expected):
    add_entries(kdir, body)
    found = errors(kdir)
    assert any("knowledge/entries/zz-test.yaml" in e and expected in e for e in found), found


def test_invalid_yaml_is_reported_with_file(kdir):
    (kdir / "entries" / "zz-broken.yaml").write_text("topic: [unclosed\n", encoding="utf-8")
    assert any("zz-broken.yaml" in e and "YAML" in e for e in errors(kdir))


def test_missing_required_text_is_reported(kdir):
    texts = (kdir / "texts.yaml").read_text(encoding="utf-8")
    (kdir / "texts.yaml").write_text(texts.replace("unknown: |", "unknown_gone: |"), encoding="utf-8")
    assert any("texts.yaml › unknown" in e for e in errors(kdir))


def test_load_raises_with_every_error(kdir):
    add_entries(kdir, GOOD.replace("17/2023/QH15", "nope") + GOOD.replace("zz-ok", "zz-two").replace("answer:", "x:"))
    with pytest.raises(KnowledgeError) as err:
        load(kdir)
    assert "zz-ok" in str(err.value) and "zz-two" in str(err.value)


def test_every_entry_citing_an_old_document_says_what_applies_today(kb):
    for entry in kb.entries.values():
        old = [c for c in entry.citations if not kb.document(c.doc).in_force]
        if old:
            assert entry.today, entry.id


def test_bad_trigger_is_reported(kdir):
    path = kdir / "intents.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "    triggers:\n      - all:", "    triggers:\n      - all: nope\n      - all:", 1), encoding="utf-8")
    assert any("intents.yaml" in e and "triggers[0]" in e for e in errors(kdir))
