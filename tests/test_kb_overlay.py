"""Knowledge the running bot edits lives in an overlay outside the checkout, read on top of knowledge/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.app import App
from bot.console import knowledge
from bot.kb.loader import load, load_with_report

TODAY = dt.date(2026, 12, 6)
QUESTION = "plugh frobozz xyzzy vào htx được không"


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_adding_a_phrasing_never_writes_into_knowledge(kdir, tmp_path):
    layers = knowledge.Layers(kdir, tmp_path / "overlay")
    before = snapshot(kdir)
    result = knowledge.add_phrasing(layers, "tv-dieu-kien", QUESTION, "Lan", 7, TODAY)
    assert result.ok, result
    assert snapshot(kdir) == before
    assert (tmp_path / "overlay" / "staff-phrasings.yaml").exists()
    assert QUESTION in load(kdir, tmp_path / "overlay").entries["tv-dieu-kien"].questions
    assert QUESTION not in load(kdir).entries["tv-dieu-kien"].questions  # the base layer alone is unchanged
    assert knowledge.staff_phrasings(layers)[0]["ticket"] == 7


def test_adding_an_entry_never_writes_into_knowledge(kdir, tmp_path):
    layers = knowledge.Layers(kdir, tmp_path / "overlay")
    before = snapshot(kdir)
    draft = knowledge.Draft(
        title="HTX nuôi frobozz có được hỗ trợ không?",
        questions=["nuôi frobozz theo htx", "htx nuôi frobozz được hỗ trợ gì", "frobozz hợp tác xã"],
        answer="Được xem xét hỗ trợ như các ngành nghề khác.",
        citations=[{"doc": "17/2023/QH15", "article": 9}],
    )
    result = knowledge.add_entry(layers, draft, "Lan", None, TODAY)
    assert result.ok, result
    assert snapshot(kdir) == before
    entry = load(kdir, tmp_path / "overlay").entries[result.entry_id]
    assert entry.file == "overlay/entries/zz-tu-cong-tac-vien.yaml"
    assert entry.short == "Được xem xét hỗ trợ như các ngành nghề khác."


def test_a_draft_citing_a_repealed_law_puts_today_first(kdir, tmp_path):
    layers = knowledge.Layers(kdir, tmp_path / "overlay")
    draft = knowledge.Draft(
        title="Frobozz theo luật cũ", questions=["frobozz luật cũ thế nào"],
        answer="Luật cũ cho phép frobozz.", today="Hiện nay frobozz cần điều lệ cho phép.",
        citations=[{"doc": "23/2012/QH13", "article": 13}, {"doc": "17/2023/QH15", "article": 30}],
    )
    result = knowledge.add_entry(layers, draft, "Lan", None, TODAY)
    assert result.ok, result
    entry = load(kdir, tmp_path / "overlay").entries[result.entry_id]
    assert (entry.short, entry.history) == (draft.today, draft.answer)


def test_an_overlay_phrasing_for_a_missing_entry_is_an_error_named_in_the_overlay(kdir, tmp_path):
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "staff-phrasings.yaml").write_text("- {entry: khong-co, question: câu hỏi}\n- {entry: tv-dieu-kien}\n",
                                                  encoding="utf-8")
    _, report = load_with_report(kdir, overlay)
    found = [str(p) for p in report.errors]
    assert any("overlay/staff-phrasings.yaml › #1 › entry: no entry with id 'khong-co'" in e for e in found), found
    assert any("overlay/staff-phrasings.yaml › #2 › question: required" in e for e in found), found


def test_config_names_the_overlay_and_the_app_reads_it(config, kdir):
    config.knowledge.path = str(kdir)
    layers = knowledge.root_dir(config)
    assert layers.base == kdir and layers.overlay == Path(config.knowledge.overlay_path)
    assert knowledge.add_phrasing(layers, "tv-ra-khoi-htx", QUESTION, "Lan", None, TODAY).ok
    from bot.app import build

    app: App = build(config)
    try:
        assert QUESTION in app.kb.entries["tv-ra-khoi-htx"].questions
        assert QUESTION in app.reload().entries["tv-ra-khoi-htx"].questions
    finally:
        app.store.close()


def test_the_default_overlay_is_outside_the_checkout():
    from bot.config import Config

    assert Config().knowledge.overlay_path == "data/knowledge-overlay"
