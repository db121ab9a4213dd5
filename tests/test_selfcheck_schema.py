"""knowledge/selfchecks/*.yaml is checked field by field at start-up: a province editing its criteria
gets an error naming the field, never a conversation that breaks halfway."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from bot.kb.crossref import COMMON
from bot.kb.loader import load_with_report
from bot.kb.schema import CommonFile, SelfCheckFile


def problems_after(kdir, name, edit):
    """Edit knowledge/selfchecks/<name>.yaml of a private copy, load it, return that file's problems."""
    path = kdir / "selfchecks" / f"{name}.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    _, report = load_with_report(kdir)
    return [p for p in report.errors if p.file == f"knowledge/selfchecks/{name}.yaml"]


def fields(problems):
    return {p.field for p in problems}


def test_fixture_files_are_valid_models(kb):
    assert isinstance(kb.selfchecks[COMMON], CommonFile)
    assert isinstance(kb.selfchecks["eligibility"], SelfCheckFile)
    assert isinstance(kb.selfchecks["compliance"], SelfCheckFile)


@pytest.mark.parametrize("edit,field", [
    (lambda d: d["steps"][0]["sources"][0].update(doc="99/2099/NĐ-CP"), "steps.law.sources[0].doc"),
    (lambda d: d["steps"][0]["sources"].append({"doc": "17/2023/QH15", "article": 500}),
     "steps.law.sources[2].article"),
    (lambda d: d["steps"][0]["sources"].append({"doc": "17/2023/QH15", "clause": 2}), "steps.law.sources[2].clause"),
    (lambda d: d["steps"][0].pop("sources"), "steps.law.sources"),
    (lambda d: d["steps"][0].update(qestion="typo"), "steps.law.qestion"),
    (lambda d: d["steps"][0].pop("unmet"), "steps.law.unmet"),
    (lambda d: d["steps"][0].update(kind="optional"), "steps.law.kind"),
    (lambda d: d["steps"][0].update(id="Law Step"), "steps[0].id"),
    (lambda d: d["steps"][1].update(id="law"), "steps.law.id"),
    (lambda d: d["steps"][0].update(options_from="maybe"), "steps.law.options_from"),
    (lambda d: d["steps"][0].update(option_labels={"perhaps": "x"}), "steps.law.option_labels.perhaps"),
    (lambda d: d["steps"][0].update(question="Có {bogus} không?"), "steps.law.question"),
    (lambda d: d["steps"][0].update(question="Có { không?"), "steps.law.question"),
    (lambda d: d["steps"][0].update(repealed=["nosuchnote"]), "steps.law.repealed"),
    (lambda d: d["steps"][0].update(ask_if={"step": "profit", "in": ["co"]}), "steps.law.ask_if.step"),
    (lambda d: d["steps"][2].update(ask_if={"step": "law", "in": ["perhaps"]}), "steps.profit.ask_if.in"),
    (lambda d: d["steps"][2].update(ask_if={"step": "law"}), "steps.profit.ask_if"),
    (lambda d: d["steps"][1]["groups"][0]["options"][0].update(id=True), "steps.model.groups[0].options[0].id"),
    (lambda d: d["steps"][1]["groups"][0]["options"][0].update(label="x" * 80),
     "steps.model.groups[0].options[0].label"),
    (lambda d: d["steps"][1]["groups"][1]["options"][0].update(id="nn1"), "steps.model.options"),
    (lambda d: d["steps"][1]["options"][0].update(meets="no"), "steps.model.options[0].meets"),
    (lambda d: d["notes"]["tt01"].update(doc="17/2023/QH15"), "notes.tt01.doc"),
    (lambda d: d["programme"]["period"].update(end="31/12/2025"), "programme.period.end"),
    (lambda d: d["programme"]["period"].update(end=d["programme"]["period"]["start"].replace(year=2020)),
     "programme.period.end"),
    (lambda d: d["programme"].update(status="paused"), "programme.status"),
    (lambda d: d["programme"].update(province="Atlantis"), "programme.province"),
    (lambda d: d["programme"]["documents"].append("1/XX"), "programme.documents[2]"),
    (lambda d: d["dossier"].pop("items"), "dossier.items"),
    (lambda d: d["result"].pop("fail"), "result.fail"),
    (lambda d: d.pop("title"), "title"),
])
def test_a_mistake_is_reported_with_its_field(kdir, edit, field):
    problems = problems_after(kdir, "eligibility", edit)
    assert field in fields(problems), [str(p) for p in problems]
    assert all(p.entry == "eligibility" for p in problems)


def test_a_criterion_nobody_can_meet_is_an_error(kdir):
    def edit(d):
        step = d["steps"][0]
        step["options"] = [{"id": "a", "label": "A", "meets": False}, {"id": "b", "label": "B", "meets": None}]
        step.pop("options_from")
    assert "steps.charter.options" in fields(problems_after(kdir, "compliance", edit))


def test_an_info_question_carries_no_verdict(kdir):
    def edit(d):
        size = next(s for s in d["steps"] if s["kind"] == "info")
        size["options"][0]["meets"] = True
        edit.sid = size["id"]
    problems = problems_after(kdir, "compliance", edit)
    assert f"steps.{edit.sid}.options" in fields(problems)


def test_common_file_is_checked_too(kdir):
    def edit(d):
        d["commands"]["jump"] = ["nhay"]
        d["option_sets"]["yesno"][1]["aliases"] = [False]  # an unquoted `no` in YAML
    problems = problems_after(kdir, COMMON, edit)
    assert {"commands.jump", "option_sets.yesno[1].aliases"} <= fields(problems), [str(p) for p in problems]


def test_loader_refuses_a_broken_selfcheck_with_file_and_field(kdir):
    problems = problems_after(kdir, "eligibility", lambda d: d["steps"][2]["sources"][0].update(doc="không có"))
    assert [(p.entry, p.field) for p in problems] == [("eligibility", "steps.profit.sources[0].doc")]


def test_a_missing_check_file_is_a_polite_reply_not_a_crash(config, kb, searcher):
    from bot.app import App
    from bot.db import Store
    from bot.engine import Engine
    from bot.types import Incoming

    without = dataclasses.replace(kb, selfchecks={k: v for k, v in kb.selfchecks.items() if k != "eligibility"})
    store = Store(config.storage.path)
    app = App(config, without, store, Engine(without, store, config, searcher=searcher))
    try:
        for inc in (Incoming("web", "u1", text="/kiemtra"), Incoming("web", "u1", payload="eligibility:a:law:co")):
            (sent,) = app.engine.handle(inc)
            assert sent.reply.text == app.kb.texts["sc_unavailable"].format(
                alliance=config.alliance.name, contact=config.alliance.contact())
        assert store.dialog("web", "u1")[0] is None
    finally:
        store.close()
