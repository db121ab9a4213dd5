"""Load knowledge/ (and the overlay a running bot writes) into a KnowledgeBase, naming every problem.

The bot refuses to start on any error, because a malformed entry is how a wrong legal answer
reaches a farmer. Warnings (style, near-duplicates) never block start-up.

Two layers: the shipped `knowledge/` folder (in git, edited by editors), and an overlay folder
outside the checkout (`knowledge.overlay_path`) where the staff console writes extra phrasings
(staff-phrasings.yaml) and new entries (entries/*.yaml). Each file is checked by its model in
bot/kb/schema.py; what spans files is checked once by bot/kb/crossref.py.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.kb import crossref, problems
from bot.kb.crossref import COMMON, MIN_QUESTIONS, REQUIRED_TEXTS, Located, Parsed
from bot.kb.model import Citation, Document, Entry, Intent, KnowledgeBase, Province, Readers, doc_key
from bot.kb.problems import KnowledgeError, Problem, Report
from bot.kb.schema import (
    ENTRY_ID_PATTERN,
    PROVINCE_CODE_PATTERN,
    AllTrigger,
    CommonFile,
    DocumentModel,
    DocumentsFile,
    EntriesFile,
    EntryModel,
    IntentsFile,
    ProvinceModel,
    ProvincesFile,
    SelfCheckFile,
    StaffPhrasing,
    StaffPhrasingsFile,
    StyleFile,
    SynonymsFile,
    TextsFile,
    UiFile,
)
from bot.kb.style import Style
from bot.textnorm import Normalizer, fold, nfc

__all__ = [
    "DEFAULT_DIR", "ENTRY_ID", "MIN_QUESTIONS", "REQUIRED_TEXTS", "STAFF_PHRASINGS", "KnowledgeError", "Problem",
    "Report", "load", "load_with_report",
]

# libyaml's parser when PyYAML was built with it (several times faster); same safe subset either way.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DEFAULT_DIR = Path(os.environ.get("HTX_KNOWLEDGE_DIR") or Path(__file__).resolve().parent.parent.parent / "knowledge")
ENTRY_ID = re.compile(ENTRY_ID_PATTERN)
STAFF_PHRASINGS = "staff-phrasings.yaml"  # extra phrasings added from the staff console
OVERLAY_LABEL = "overlay"  # how problems name overlay files: overlay/staff-phrasings.yaml

M = TypeVar("M", bound=BaseModel)


def load(directory: Path | str | None = None, overlay: Path | str | None = None) -> KnowledgeBase:
    """Load knowledge/ (plus the overlay, when given) or raise KnowledgeError naming every error."""
    kb, report = load_with_report(directory, overlay)
    if report.errors or kb is None:
        raise KnowledgeError(report.errors)
    return kb


def load_with_report(
    directory: Path | str | None = None, overlay: Path | str | None = None
) -> tuple[KnowledgeBase | None, Report]:
    root = Path(directory) if directory else DEFAULT_DIR
    report = Report()
    if not root.is_dir():
        report.error(str(root), None, None, "knowledge directory not found")
        return None, report
    reader = _Reader(root, report)
    parsed = Parsed(
        documents=reader.listed("documents.yaml", DocumentsFile, DocumentModel, "number"),
        synonyms=[Located(reader.label(p), s) for p in [root / "synonyms.yaml", *sorted(root.glob("synonyms/*.yaml"))]
                  if (s := reader.file(p, SynonymsFile)) is not None],
        intents=reader.file(root / "intents.yaml", IntentsFile, problems.under_key("intents")),
        texts=reader.file(root / "texts.yaml", TextsFile, problems.by_key),
        ui=reader.file(root / "ui.yaml", UiFile),
        provinces=reader.listed("provinces.yaml", ProvincesFile, ProvinceModel, "code", PROVINCE_CODE_PATTERN),
    )
    style = reader.file(root / "style.yaml", StyleFile)
    parsed.style = Style.build(style.style) if style else None
    entry_files = sorted(root.glob("entries/*.yaml"))
    if not entry_files:
        report.error("knowledge/entries", None, None, "no entry files (*.yaml)")
    layers = [(root, reader)]
    if overlay is not None and Path(overlay).is_dir():
        layers.append((Path(overlay), _Reader(Path(overlay), report, OVERLAY_LABEL)))
    for layer_root, layer in layers:
        for path in sorted(layer_root.glob("entries/*.yaml")):
            parsed.entries += layer.entries(path)
        parsed.phrasings += layer.phrasings(layer_root / STAFF_PHRASINGS)
    for path in sorted(root.glob("selfchecks/*.yaml")):
        kind: type[SelfCheckFile] | type[CommonFile] = CommonFile if path.stem == COMMON else SelfCheckFile
        check = reader.file(path, kind, _named(path.stem), keyed_lists=("steps",))
        if check is not None:
            parsed.selfchecks[path.stem] = Located(reader.label(path), check)

    parsed.readers = _readers(root, reader)
    crossref.check(parsed, report)
    return _build(parsed), report


def _readers(root: Path, reader: _Reader) -> Readers | None:
    """The message-reading, referral and fact rules: each module validates its own file."""
    from bot import facts, reading, referral

    loaded = []
    for name, module in (("reading.yaml", reading), ("referrals.yaml", referral), ("rules.yaml", facts)):
        path = root / name
        if not path.exists():
            reader.report.error(reader.label(path), None, None, "file is missing")
            continue
        try:
            loaded.append(module.load_rules.__wrapped__(root))
        except (ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
            reader.report.error(reader.label(path), None, None, str(exc).replace(str(path) + ": ", ""))
    return Readers(*loaded) if len(loaded) == 3 else None


def _named(name: str) -> problems.EntryOf:
    """Self-check problems carry the check's name as their entry."""
    return lambda loc, data: (name, loc)


# --- reading and validating files --------------------------------------------------------------


class _Reader:
    """Reads YAML files of one layer and validates them, turning every error into a Problem."""

    def __init__(self, root: Path, report: Report, label: str = "knowledge"):
        self.root, self.report, self.prefix = root, report, label

    def label(self, path: Path) -> str:
        try:
            return f"{self.prefix}/{path.relative_to(self.root).as_posix()}"
        except ValueError:
            return str(path)

    def yaml(self, path: Path, required: bool = True) -> Any:
        if not path.exists():
            if required:
                self.report.error(self.label(path), None, None, "file is missing")
            return None
        try:
            return yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)  # nosec B506 # a SafeLoader
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            self.report.error(self.label(path), None, None, f"not valid YAML: {exc}")
            return None

    def validate(self, model: type[M], data: Any, label: str, entry_of: problems.EntryOf = problems.whole_file,
                 keyed_lists: tuple[str, ...] = ()) -> M | None:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            self.report.problems += problems.from_validation(exc, label, data, entry_of, keyed_lists)
            return None

    def file(self, path: Path, model: type[M], entry_of: problems.EntryOf = problems.whole_file,
             keyed_lists: tuple[str, ...] = ()) -> M | None:
        data = self.yaml(path)
        if data is None:
            return None
        return self.validate(model, data, self.label(path), entry_of, keyed_lists)

    def listed(self, name: str, model: type[DocumentsFile] | type[ProvincesFile],
               item: type[DocumentModel] | type[ProvinceModel], label_field: str,
               pattern: str = r".+") -> list[Any]:
        """A top-level list: problems for the whole file, then every valid item kept."""
        path = self.root / name
        data = self.yaml(path)
        if data is None:
            return []
        whole = self.validate(model, data, self.label(path), problems.listed_under(None, label_field, pattern))
        if whole is not None:
            return list(whole.root)
        return [m for raw in (data if isinstance(data, list) else []) if (m := _quiet(item, raw)) is not None]

    def entries(self, path: Path) -> list[Located[EntryModel]]:
        """Entries of one file; a file with a bad entry still contributes its good ones."""
        data = self.yaml(path)
        if data is None:
            return []
        label = self.label(path)
        entry_of = problems.listed_under("entries", "id", ENTRY_ID_PATTERN)
        whole = self.validate(EntriesFile, data, label, entry_of)
        if whole is not None:
            return [Located(label, e, whole.topic) for e in whole.entries]
        topic = data.get("topic") if isinstance(data, dict) else None
        raw_entries = data.get("entries") if isinstance(data, dict) else None
        good = [m for raw in (raw_entries if isinstance(raw_entries, list) else [])
                if (m := _quiet(EntryModel, raw)) is not None]
        return [Located(label, e, topic.strip() if isinstance(topic, str) else "") for e in good]

    def phrasings(self, path: Path) -> list[Located[StaffPhrasing]]:
        """staff-phrasings.yaml (optional): [{entry, question, ...}] added to those entries' phrasings."""
        data = self.yaml(path, required=False)
        if data is None:
            return []
        label = self.label(path)
        whole = self.validate(StaffPhrasingsFile, data, label, problems.listed_under(None, "", r"(?!)"))
        if whole is not None:
            return [Located(label, p, index=i) for i, p in enumerate(whole.root)]
        items = data if isinstance(data, list) else []
        return [Located(label, p, index=i) for i, raw in enumerate(items)
                if (p := _quiet(StaffPhrasing, raw)) is not None]


def _quiet(model: type[M], raw: Any) -> M | None:
    try:
        return model.model_validate(raw)
    except ValidationError:
        return None


# --- building the runtime view --------------------------------------------------------------------


def _build(parsed: Parsed) -> KnowledgeBase:
    documents: dict[str, Document] = {}
    for d in parsed.documents:
        if doc_key(d.number) not in {doc_key(n) for n in documents}:
            documents[d.number] = _document(d)
    by_key = {doc_key(n): n for n in documents}
    abbreviations: dict[str, str] = {}
    groups: list[list[str]] = []
    stopwords: list[str] = []
    for synonyms in parsed.synonyms:
        abbreviations.update(synonyms.item.abbreviations)
        groups.extend(list(g) for g in synonyms.item.synonyms)
        stopwords.extend(synonyms.item.stopwords)
    entries: dict[str, Entry] = {}
    for located in parsed.entries:
        if located.item.id not in entries:
            entries[located.item.id] = _entry(located, by_key)
    for phrasing in parsed.phrasings:
        entry = entries.get(phrasing.item.entry)
        question = nfc(phrasing.item.question)
        if entry is not None and fold(question) not in {fold(q) for q in entry.questions}:
            entries[entry.id] = _replace_questions(entry, (*entry.questions, question))
    intents = parsed.intents or IntentsFile()
    return KnowledgeBase(
        documents=documents,
        entries=entries,
        intents={name: _intent(name, i) for name, i in intents.intents.items()},
        out_of_scope=tuple(nfc(q) for q in intents.out_of_scope),
        other_subjects=tuple(nfc(q) for q in intents.other_subjects),
        cooperative_terms=tuple(nfc(q) for q in intents.cooperative_terms),
        normalizer=Normalizer.build(abbreviations, groups),
        stopwords=frozenset(fold(w) for w in stopwords),
        texts=dict(parsed.texts.root) if parsed.texts else {},
        ui=parsed.ui.model_dump(exclude_none=True) if parsed.ui else {},
        provinces={p.code: _province(p) for p in parsed.provinces},
        selfchecks={name: located.item for name, located in parsed.selfchecks.items()},
        style=parsed.style,
        readers=parsed.readers,
    )


def _document(d: DocumentModel) -> Document:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return Document(
        number=d.number, short=d.short, title=d.title, issuer=d.issuer, issued=iso(d.issued),
        effective=iso(d.effective), expired=iso(d.expired), in_force=d.in_force, replaced_by=d.replaced_by,
        link=d.link, province=d.province, articles=d.articles, note=d.note,
    )


def _entry(located: Located[EntryModel], docs_by_key: dict[str, str]) -> Entry:
    e = located.item

    def text(value: str | None) -> str | None:
        return nfc(value) if value is not None else None

    return Entry(
        id=e.id,
        title=nfc(e.title),
        questions=tuple(nfc(q) for q in e.questions),
        short=nfc(e.short),
        citations=tuple(Citation(docs_by_key.get(doc_key(c.doc), c.doc), c.article, c.clause) for c in e.citations),
        topic=located.topic,
        file=located.file,
        detail=text(e.detail),
        history=text(e.history),
        history_label=text(e.history_label),
        label=text(e.label),
        unsure=text(e.unsure),
        editor_note=e.editor_note,
        province=text(e.province),
        related=e.related,
        keywords=tuple(nfc(k) for k in e.keywords),
    )


def _replace_questions(entry: Entry, questions: tuple[str, ...]) -> Entry:
    return replace(entry, questions=questions)


def _intent(name: str, i: Any) -> Intent:
    triggers = tuple(
        tuple(tuple(nfc(p) for p in group) for group in t.all) if isinstance(t, AllTrigger) else ((nfc(t),),)
        for t in i.triggers
    )
    return Intent(name, tuple(nfc(q) for q in i.questions), tuple(i.keywords), triggers)


def _province(p: ProvinceModel) -> Province:
    return Province(code=p.code, name=nfc(p.name), aliases=tuple(nfc(a) for a in p.aliases),
                    merged_into=p.merged_into)
