"""The one pass over knowledge/ that needs more than one file at a time.

Every file has already passed its own model in bot/kb/schema.py. Here: citations name documents of
the registry and articles they have, `related` and `examples` name entries that exist, an entry citing a
document no longer in force tells its history, provinces and texts the bot needs exist, button payloads
fit Telegram's 64 bytes, and each self-check's steps, answers, notes and sources fit together.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from bot.kb.model import Readers, doc_key
from bot.kb.problems import Report
from bot.kb.schema import (
    CommonFile,
    DocumentModel,
    EntryModel,
    IntentsFile,
    OptionModel,
    ProvinceModel,
    SelfCheckFile,
    SourceModel,
    StaffPhrasing,
    StepModel,
    SynonymsFile,
    TextsFile,
    UiFile,
)
from bot.kb.style import Style, entry_problems
from bot.textnorm import fold

MIN_QUESTIONS = 4
MAX_PAYLOAD_BYTES = 64  # Telegram's limit for callback data
COMMON = "_common"
CHECK_NAME = r"[a-z][a-z0-9_]{0,23}"
REQUIRED_TEXTS = (
    "welcome", "help", "unknown", "clarify", "sources", "today", "feedback_thanks", "feedback_sorry",
    "staff_ask", "staff_sent", "unsupported", "too_long", "empty", "outdated_doc", "error",
)
DOCUMENTS = "knowledge/documents.yaml"
RULES = "knowledge/rules.yaml"


T = TypeVar("T")


@dataclass(frozen=True)
class Located(Generic[T]):
    """A validated item and where it came from."""

    file: str
    item: T
    topic: str = ""
    index: int = 0


@dataclass
class Parsed:
    """Everything knowledge/ (and the overlay) said, each file validated on its own."""

    documents: list[DocumentModel] = field(default_factory=list)
    entries: list[Located[EntryModel]] = field(default_factory=list)
    phrasings: list[Located[StaffPhrasing]] = field(default_factory=list)
    synonyms: list[Located[SynonymsFile]] = field(default_factory=list)
    intents: IntentsFile | None = None
    texts: TextsFile | None = None
    ui: UiFile | None = None
    provinces: list[ProvinceModel] = field(default_factory=list)
    selfchecks: dict[str, Located[SelfCheckFile | CommonFile]] = field(default_factory=dict)
    style: Style | None = None
    readers: Readers | None = None


def check(parsed: Parsed, report: Report) -> None:
    docs = _documents(parsed.documents, report)
    provinces = _provinces(parsed.provinces, report)
    _synonyms(parsed.synonyms, report)
    _texts(parsed.texts, report)
    entries = _entries(parsed, docs, provinces, report)
    _phrasings(parsed.phrasings, entries, report)
    _ui(parsed.ui, entries, parsed.intents, report)
    if parsed.readers is not None:
        _fact_rules(parsed.readers.facts.data, entries, report)
    common = parsed.selfchecks.get(COMMON)
    for name, located in parsed.selfchecks.items():
        if isinstance(located.item, SelfCheckFile):
            checker = _SelfCheck(name, located.file, report, docs, provinces)
            checker.run(located.item, common.item if common and isinstance(common.item, CommonFile) else None)


def _fact_rules(data: Any, entries: dict[str, Located[EntryModel]], report: Report, path: str = "") -> None:
    """A rule answered from the member's numbers names the entry shown under its sentence: that entry must
    cite the rule's own article, or the sources the member reads contradict the sentence."""
    if isinstance(data, list):
        for i, item in enumerate(data):
            _fact_rules(item, entries, report, f"{path}[{i}]")
        return
    if not isinstance(data, dict):
        return
    entry_id = data.get("entry_id")
    if entry_id:
        rule = str(data.get("id") or path.lstrip("."))
        located = entries.get(str(entry_id))
        wanted = {(doc_key(str(c.get("doc"))), c.get("article")) for c in data.get("citations") or []
                  if isinstance(c, dict)}
        # A link to an entry this knowledge base lacks only switches the rule off (facts.apply skips it).
        cited = {(doc_key(c.doc), c.article) for c in located.item.citations} if located else set()
        if located is not None and wanted and not wanted & cited:
            report.error(RULES, rule, "entry_id", f"{entry_id} does not cite the rule's article")
    for key, value in data.items():
        _fact_rules(value, entries, report, f"{path}.{key}")


# --- registry, provinces, synonyms, texts, ui --------------------------------------------------------


def _documents(documents: list[DocumentModel], report: Report) -> dict[str, DocumentModel]:
    docs: dict[str, DocumentModel] = {}
    for doc in documents:
        if doc_key(doc.number) in docs:
            report.error(DOCUMENTS, doc.number, "number", "listed twice")
            continue
        docs[doc_key(doc.number)] = doc
    for doc in docs.values():
        if doc.replaced_by and doc_key(doc.replaced_by) not in docs:
            report.error(DOCUMENTS, doc.number, "replaced_by", f"{doc.replaced_by!r} is not in the registry")
        if not doc.in_force and not doc.expired and not doc.note:
            report.warn(DOCUMENTS, doc.number, "expired", "document not in force: give the date or a note")
    return docs


def _provinces(provinces: list[ProvinceModel], report: Report) -> dict[str, ProvinceModel]:
    file = "knowledge/provinces.yaml"
    out: dict[str, ProvinceModel] = {}
    for prov in provinces:
        if prov.code in out:
            report.error(file, prov.code, "code", "listed twice")
        out[prov.code] = prov
    for prov in out.values():
        if prov.merged_into and prov.merged_into not in out:
            report.error(file, prov.code, "merged_into", f"unknown province code {prov.merged_into!r}")
    return out


def _find_province(provinces: dict[str, ProvinceModel], name: str) -> ProvinceModel | None:
    wanted = fold(name).replace(" ", "").replace("-", "")
    for prov in provinces.values():
        if any(fold(n).replace(" ", "").replace("-", "") == wanted for n in (prov.code, prov.name, *prov.aliases)):
            return prov
    return None


def _synonyms(files: list[Located[SynonymsFile]], report: Report) -> None:
    meaning: dict[str, str] = {}
    for located in files:
        for key, value in located.item.abbreviations.items():
            if key in meaning and fold(meaning[key]) != fold(value):
                report.error(located.file, None, f"abbreviations.{key}", f"already means {meaning[key]!r}")
            meaning.setdefault(key, value)


def _texts(texts: TextsFile | None, report: Report) -> None:
    if texts is None:
        return
    for key in REQUIRED_TEXTS:
        if key not in texts.root:
            report.error("knowledge/texts.yaml", key, None, "required text is missing")


def _payload(payload: str, report: Report, file: str, entry: str | None, fld: str) -> None:
    if len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        report.error(file, entry, fld, f"button payload {payload!r} is longer than {MAX_PAYLOAD_BYTES} bytes: "
                                       "shorten the ids")


def _ui(ui: UiFile | None, entries: dict[str, Located[EntryModel]], intents: IntentsFile | None,
        report: Report) -> None:
    if ui is None:
        return
    file = "knowledge/ui.yaml"
    for i, (_, payload) in enumerate(ui.menu):
        _payload(payload, report, file, None, f"menu[{i}]")
    for name, command in ui.commands.items():
        _payload(command.action, report, file, None, f"commands.{name}.action")
    for i, eid in enumerate(ui.examples):
        if eid not in entries:
            report.error(file, None, f"examples[{i}]", f"no entry with id {eid!r}")
    known = set(intents.intents) if intents else set()
    for name in ui.intent_labels:
        if intents is not None and name not in known:
            report.error(file, None, f"intent_labels.{name}", f"no intent {name!r} in knowledge/intents.yaml")


# --- entries --------------------------------------------------------------------------------------


def _entries(parsed: Parsed, docs: dict[str, DocumentModel], provinces: dict[str, ProvinceModel],
             report: Report) -> dict[str, Located[EntryModel]]:
    entries: dict[str, Located[EntryModel]] = {}
    for located in parsed.entries:
        entry = located.item
        if entry.id in entries:
            report.error(located.file, entry.id, "id", f"also used in {entries[entry.id].file}")
            continue
        entries[entry.id] = located
    for located in entries.values():
        file, entry = located.file, located.item

        def error(fld: str | None, message: str, file: str = file, eid: str = entry.id) -> None:
            report.error(file, eid, fld, message)

        if len(entry.questions) < MIN_QUESTIONS:
            report.warn(file, entry.id, "questions",
                        f"only {len(entry.questions)} phrasing(s); write at least {MIN_QUESTIONS}")
        cited: list[DocumentModel] = []
        for j, c in enumerate(entry.citations):
            doc = docs.get(doc_key(c.doc))
            if doc is None:
                error(f"citations[{j}].doc", f"{c.doc!r} is not in knowledge/documents.yaml")
                continue
            cited.append(doc)
            if doc.articles and c.article and c.article > doc.articles:
                error(f"citations[{j}].article", f"{doc.number} has only {doc.articles} articles")
        old = [d.number for d in cited if not d.in_force]
        if old and not entry.history:
            error("history", f"cites {', '.join(old)}, no longer in force: say what it said, as past, in history")
        if cited and all(not d.in_force for d in cited):
            replaced = sorted({d.replaced_by for d in cited if d.replaced_by})
            if replaced:
                report.warn(file, entry.id, "citations", f"cite what applies today too ({', '.join(replaced)})")
        if entry.province and _find_province(provinces, entry.province) is None:
            error("province", f"{entry.province!r} is not in knowledge/provinces.yaml")
        for target in entry.related:
            if target not in entries:
                error("related", f"no entry with id {target!r}")
        if parsed.style is not None:
            for fld, message in entry_problems(entry, parsed.style):
                error(fld, message)
    return entries


def _phrasings(phrasings: list[Located[StaffPhrasing]], entries: dict[str, Located[EntryModel]],
               report: Report) -> None:
    added: dict[str, set[str]] = {}
    for located in phrasings:
        item, label = located.item, f"#{located.index + 1}"
        if item.entry not in entries:
            report.error(located.file, label, "entry", f"no entry with id {item.entry!r}")
            continue
        known = added.setdefault(item.entry, {fold(q) for q in entries[item.entry].item.questions})
        if fold(item.question) in known:
            report.warn(located.file, label, "question", f"already a phrasing of {item.entry}")
        known.add(fold(item.question))


# --- self-checks ------------------------------------------------------------------------------------


class _SelfCheck:
    """Cross-checks of one self-check file; field paths as editors read them (`steps.law.sources[0]`)."""

    def __init__(self, name: str, file: str, report: Report, docs: dict[str, DocumentModel],
                 provinces: dict[str, ProvinceModel]):
        self.name, self.file, self.report, self.docs, self.provinces = name, file, report, docs, provinces

    def error(self, fld: str, message: str) -> None:
        self.report.error(self.file, self.name, fld or None, message)

    def run(self, check: SelfCheckFile, common: CommonFile | None) -> None:
        if not re.fullmatch(CHECK_NAME, self.name):
            self.error("", "file name must be lower-case ASCII (it becomes the handler name in button payloads)")
        if common is None:
            self.error("", f"knowledge/selfchecks/{COMMON}.yaml is missing: it holds the shared answer sets")
        if check.programme is not None:
            prog = check.programme
            for i, number in enumerate(prog.documents):
                if doc_key(number) not in self.docs:
                    self.error(f"programme.documents[{i}]", f"{number!r} is not in knowledge/documents.yaml")
            if prog.province is not None and _find_province(self.provinces, prog.province) is None:
                self.error("programme.province", f"{prog.province!r} is not in knowledge/provinces.yaml")
        for nid, note in check.notes.items():
            doc = self.docs.get(doc_key(note.doc))
            if doc is None:
                self.error(f"notes.{nid}.doc", f"{note.doc!r} is not in knowledge/documents.yaml")
            elif doc.in_force:
                self.error(f"notes.{nid}.doc", f"{doc.number} is in force: a repealed-rule note must name a "
                                               "repealed rule")
        seen: dict[str, set[str]] = {}
        for step in check.steps:
            fld = f"steps.{step.id}"
            if step.id in seen:
                self.error(f"{fld}.id", "used twice")
                continue
            for j, src in enumerate(step.sources):
                self.source(src, f"{fld}.sources[{j}]")
            seen[step.id] = self.options(step, common, fld)
            self.ask_if(step, seen, fld)
            for nid in step.repealed:
                if nid not in check.notes:
                    self.error(f"{fld}.repealed", f"no note {nid!r} under notes")
        if check.dossier is not None:
            self.source(check.dossier.source, "dossier.source")

    def source(self, src: SourceModel, fld: str) -> None:
        doc = self.docs.get(doc_key(src.doc))
        if doc is None:
            self.error(f"{fld}.doc", f"{src.doc!r} is not in knowledge/documents.yaml")
        elif doc.articles and src.article and src.article > doc.articles:
            self.error(f"{fld}.article", f"{doc.number} has only {doc.articles} articles")

    def options(self, step: StepModel, common: CommonFile | None, fld: str) -> set[str]:
        """The step's answers fit together; returns their ids for later `ask_if`s."""
        if step.options is not None and step.options_from is not None:
            self.error(f"{fld}.options", "give options or options_from, not both")
        if step.option_labels is not None and step.options_from is None:
            self.error(f"{fld}.option_labels", "only with options_from")
        if step.options is None and step.options_from is None and not step.groups:
            self.error(f"{fld}.options", "required: options, options_from or groups")
            return set()
        options = list(step.options or ())
        if step.options_from is not None and common is not None:
            shared = common.option_sets.get(step.options_from)
            if shared is None:
                self.error(f"{fld}.options_from", f"no option set {step.options_from!r} in {COMMON}.yaml")
                return set()
            options = list(shared)
            for oid in step.option_labels or {}:
                if oid not in {o.id for o in shared}:
                    self.error(f"{fld}.option_labels.{oid}", "no such answer in the option set")
        group_ids = [g.id for g in step.groups]
        for j, gid in enumerate(group_ids):
            if gid in group_ids[:j]:
                self.error(f"{fld}.groups[{j}].id", "used twice")
            _payload(f"{self.name}:g:{step.id}:{gid}", self.report, self.file, self.name, f"{fld}.groups[{j}].id")
        every: list[OptionModel] = [o for g in step.groups for o in g.options] + options
        ids = [o.id for o in every]
        if len(ids) + len(set(group_ids)) < 2:
            self.error(f"{fld}.options", "a question needs at least two answers")
        for oid, count in sorted(Counter(ids).items()):
            if count > 1:
                self.error(f"{fld}.options", f"answer id {oid!r} used twice")
        for oid in dict.fromkeys(ids):
            _payload(f"{self.name}:a:{step.id}:{oid}", self.report, self.file, self.name, f"{fld}.options.{oid}")
        meets = [o.meets for o in every]
        if step.kind == "info" and any(m is not None for m in meets):
            self.error(f"{fld}.options", "an info step is not a criterion: its answers carry no 'meets'")
        if step.kind != "info" and True not in meets:
            self.error(f"{fld}.options", "no answer meets the criterion (meets: true)")
        if step.kind == "mandatory" and not step.unmet and any(o.meets is False and not o.advice for o in every):
            self.error(f"{fld}.unmet", "required: what to do when the condition is not met")
        return set(ids)

    def ask_if(self, step: StepModel, earlier: dict[str, set[str]], fld: str) -> None:
        cond = step.ask_if
        if cond is None:
            return
        if cond.step not in earlier or cond.step == step.id:
            self.error(f"{fld}.ask_if.step", f"{cond.step!r} is not an earlier step")
            return
        key, wanted = ("in", cond.in_) if cond.in_ is not None else ("not_in", cond.not_in or ())
        for oid in wanted:
            if oid not in earlier[cond.step]:
                self.error(f"{fld}.ask_if.{key}", f"step {cond.step!r} has no answer {oid!r}")


