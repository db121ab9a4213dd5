"""The shipped knowledge/ loads and keeps the promises of docs/knowledge-format.md.

Code tests run on tests/fixtures/knowledge; these few check the content that ships.
"""

from __future__ import annotations

from bot.kb.loader import load_with_report


def test_shipped_knowledge_base_has_no_errors():
    kb, report = load_with_report()
    assert not report.errors, "\n".join(map(str, report.errors[:40]))
    assert kb is not None and len(kb.entries) >= 300


def test_every_shipped_entry_citing_an_old_document_tells_its_history(shipped_kb):
    for entry in shipped_kb.entries.values():
        if any(not shipped_kb.document(c.doc).in_force for c in entry.citations):
            assert entry.history, entry.id


def test_shipped_self_checks_and_examples_load(shipped_kb):
    assert {"_common", "eligibility", "compliance"} <= set(shipped_kb.selfchecks)
    assert all(eid in shipped_kb.entries for eid in shipped_kb.ui.get("examples", ()))
