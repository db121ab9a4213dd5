"""An entry's short topic label names it where the full question-form title is too long: the hedge, the
heading of one part of a multi-question answer, and buttons."""

from handlers.render import entry_button, entry_reply


def ctx_of(app):
    return app.engine._context({"channel": "web", "user_key": "u", "province": None})


def test_the_label_heads_a_hedged_answer_and_names_its_button(app):
    ctx, entry = ctx_of(app), app.kb.entries["htx-lap-doanh-nghiep"]
    assert entry.label and entry.name == entry.label
    reply = entry_reply(ctx, entry, 1, hedge=True)
    assert entry.label in reply.text.splitlines()[0] and entry.title not in reply.text
    assert entry_button(entry).label == entry.label


def test_without_a_label_the_title_is_used(app):
    ctx = ctx_of(app)
    entry = next(e for e in app.kb.entries.values() if not e.label)
    assert entry.name == entry.title.rstrip("?")
    assert entry.name in entry_reply(ctx, entry, 1, hedge=True).text.splitlines()[0]


def test_the_shipped_entries_all_have_distinct_labels(shipped_kb):
    labels = [e.label for e in shipped_kb.entries.values()]
    assert all(labels), [e.id for e in shipped_kb.entries.values() if not e.label]
    assert len({label.lower() for label in labels}) == len(labels)
