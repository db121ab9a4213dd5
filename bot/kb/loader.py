"""Load and validate knowledge/: every problem is reported with its file, entry and field.

The bot refuses to start on any error, because a malformed entry is how a wrong legal answer
reaches a farmer. Warnings (style, near-duplicates) never block start-up.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from bot.kb.model import (
    Citation,
    Document,
    Entry,
    Intent,
    KnowledgeBase,
    Province,
    doc_key,
)
from bot.textnorm import Normalizer, fold, nfc

# libyaml's parser when PyYAML was built with it (several times faster); same safe subset either way.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DEFAULT_DIR = Path(os.environ.get("HTX_KNOWLEDGE_DIR") or Path(__file__).resolve().parent.parent.parent / "knowledge")
ENTRY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,47}$")
MIN_QUESTIONS = 4
STAFF_PHRASINGS = "staff-phrasings.yaml"  # extra phrasings added from the staff console
REQUIRED_TEXTS = (
    "welcome",
    "help",
    "unknown",
    "clarify",
    "sources",
    "today",
    "feedback_thanks",
    "feedback_sorry",
    "staff_ask",
    "staff_sent",
    "unsupported",
    "too_long",
    "empty",
    "outdated_doc",
    "error",
)


@dataclass(frozen=True)
class Problem:
    file: str
    entry: str | None
    field: str | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.entry:
            where += f" › {self.entry}"
        if self.field:
            where += f" › {self.field}"
        return f"{self.severity.upper()}: {where}: {self.message}"


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)

    def error(self, file: str, entry: str | None, fld: str | None, message: str) -> None:
        self.problems.append(Problem(file, entry, fld, message, "error"))

    def warn(self, file: str, entry: str | None, fld: str | None, message: str) -> None:
        self.problems.append(Problem(file, entry, fld, message, "warning"))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


class KnowledgeError(Exception):
    """Raised when knowledge/ has errors; str() lists every one of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"knowledge base has {len(problems)} error(s):\n{lines}")


def load(directory: Path | str | None = None) -> KnowledgeBase:
    """Load knowledge/ or raise KnowledgeError naming every error."""
    kb, report = load_with_report(directory)
    if report.errors or kb is None:
        raise KnowledgeError(report.errors)
    return kb


def load_with_report(directory: Path | str | None = None) -> tuple[KnowledgeBase | None, Report]:
    root = Path(directory) if directory else DEFAULT_DIR
    report = Report()
    if not root.is_dir():
        report.error(str(root), None, None, "knowledge directory not found")
        return None, report

    documents = _load_documents(root, report)
    abbreviations, groups, stopwords = _load_synonyms(root, report)
    normalizer = Normalizer.build(abbreviations, groups)
    texts = _load_texts(root, report)
    ui = _read(root / "ui.yaml", report, dict) or {}
    provinces = _load_provinces(root, report)
    intents, subject_lists = _load_intents(root, report)
    entries = _load_entries(root, report, documents, provinces)
    _merge_staff_phrasings(root, report, entries)
    selfchecks = _load_selfchecks(root, report)

    kb = KnowledgeBase(
        documents=documents,
        entries=entries,
        intents=intents,
        out_of_scope=subject_lists["out_of_scope"],
        other_subjects=subject_lists["other_subjects"],
        cooperative_terms=subject_lists["cooperative_terms"],
        normalizer=normalizer,
        stopwords=frozenset(fold(w) for w in stopwords),
        texts=texts,
        ui=ui,
        provinces=provinces,
        selfchecks=selfchecks,
    )
    _validate_selfchecks(kb, root, report)
    return kb, report


# --- file helpers -----------------------------------------------------------------------------


def _read(path: Path, report: Report, expected: type) -> Any:
    rel = _rel(path)
    if not path.exists():
        report.error(rel, None, None, "file is missing")
        return None
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        report.error(rel, None, None, f"not valid YAML: {exc}")
        return None
    if not isinstance(data, expected):
        report.error(rel, None, None, f"top level must be a {expected.__name__}")
        return None
    return data


def _rel(path: Path) -> str:
    parts = path.parts
    return "/".join(parts[parts.index("knowledge") :]) if "knowledge" in parts else str(path)


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return nfc(value.strip()) if "\n" not in value.strip() else value.strip()
    return None


def _date(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    return "invalid"


# --- sections ---------------------------------------------------------------------------------


def _load_documents(root: Path, report: Report) -> dict[str, Document]:
    path = root / "documents.yaml"
    rel = _rel(path)
    data = _read(path, report, list) or []
    docs: dict[str, Document] = {}
    for i, raw in enumerate(data):
        label = f"#{i + 1}"
        if not isinstance(raw, dict):
            report.error(rel, label, None, "each document must be a mapping")
            continue
        number = _str(raw.get("number"))
        if not number:
            report.error(rel, label, "number", "required")
            continue
        label = number
        if doc_key(number) in {doc_key(n) for n in docs}:
            report.error(rel, label, "number", "listed twice")
            continue
        for key in ("short", "title", "issuer"):
            if not _str(raw.get(key)):
                report.error(rel, label, key, "required")
        dates = {}
        for key in ("issued", "effective", "expired"):
            dates[key] = _date(raw.get(key))
            if dates[key] == "invalid":
                report.error(rel, label, key, "must be a date written YYYY-MM-DD")
        in_force = raw.get("in_force")
        if not isinstance(in_force, bool):
            report.error(rel, label, "in_force", "required: true or false")
            in_force = True
        articles = raw.get("articles")
        if articles is not None and not (isinstance(articles, int) and articles > 0):
            report.error(rel, label, "articles", "must be a positive whole number")
            articles = None
        unknown = set(raw) - {
            "number", "short", "title", "issuer", "issued", "effective", "expired", "in_force",
            "replaced_by", "link", "province", "articles", "note",
        }
        for key in sorted(unknown):
            report.error(rel, label, key, "unknown field")
        docs[number] = Document(
            number=number,
            short=_str(raw.get("short")) or number,
            title=_str(raw.get("title")) or "",
            issuer=_str(raw.get("issuer")) or "",
            issued=dates["issued"] if dates["issued"] != "invalid" else None,
            effective=dates["effective"] if dates["effective"] != "invalid" else None,
            expired=dates["expired"] if dates["expired"] != "invalid" else None,
            in_force=in_force,
            replaced_by=_str(raw.get("replaced_by")),
            link=_str(raw.get("link")),
            province=_str(raw.get("province")),
            articles=articles,
            note=_str(raw.get("note")),
        )
    keys = {doc_key(n) for n in docs}
    for doc in docs.values():
        if doc.replaced_by and doc_key(doc.replaced_by) not in keys:
            report.error(rel, doc.number, "replaced_by", f"{doc.replaced_by!r} is not in the registry")
        if not doc.in_force and not doc.expired and not doc.note:
            report.warn(rel, doc.number, "expired", "document not in force: give the date or a note")
    return docs


def _load_synonyms(root: Path, report: Report) -> tuple[dict[str, str], list[list[str]], list[str]]:
    """synonyms.yaml plus any synonyms/*.yaml (one per topic, so editors do not collide)."""
    abbreviations: dict[str, str] = {}
    groups: list[list[str]] = []
    stopwords: list[str] = []
    paths = [root / "synonyms.yaml", *sorted((root / "synonyms").glob("*.yaml"))]
    for path in paths:
        rel = _rel(path)
        data = _read(path, report, dict) or {}
        abbr = data.get("abbreviations") or {}
        grp = data.get("synonyms") or []
        stop = data.get("stopwords") or []
        if not isinstance(abbr, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in abbr.items()):
            report.error(rel, None, "abbreviations", "must map text to text")
            abbr = {}
        for key, value in abbr.items():
            if key in abbreviations and fold(abbreviations[key]) != fold(value):
                report.error(rel, None, f"abbreviations.{key}", f"already means {abbreviations[key]!r}")
        if not isinstance(grp, list) or not all(
            isinstance(g, list) and len(g) >= 2 and all(isinstance(p, str) for p in g) for g in grp
        ):
            report.error(rel, None, "synonyms", "must be a list of lists of two or more phrases")
            grp = []
        if not isinstance(stop, list) or not all(isinstance(w, str) for w in stop):
            report.error(rel, None, "stopwords", "must be a list of words")
            stop = []
        abbreviations.update(abbr)
        groups.extend(grp)
        stopwords.extend(stop)
    return abbreviations, groups, stopwords


def _load_texts(root: Path, report: Report) -> dict[str, str]:
    path = root / "texts.yaml"
    rel = _rel(path)
    data = _read(path, report, dict) or {}
    texts: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            # YAML reads unquoted yes/no/on/off as booleans: a silent way to lose a text.
            report.error(rel, str(key), None, "key must be text (quote it: YAML reads yes/no/on/off as booleans)")
            continue
        if not isinstance(value, str) or not value.strip():
            report.error(rel, str(key), None, "must be non-empty text")
            continue
        texts[str(key)] = value.strip()
    for key in REQUIRED_TEXTS:
        if key not in texts:
            report.error(rel, key, None, "required text is missing")
    return texts


def _load_provinces(root: Path, report: Report) -> dict[str, Province]:
    path = root / "provinces.yaml"
    rel = _rel(path)
    data = _read(path, report, list) or []
    provinces: dict[str, Province] = {}
    for i, raw in enumerate(data):
        if not isinstance(raw, dict) or not _str(raw.get("code")) or not _str(raw.get("name")):
            report.error(rel, f"#{i + 1}", None, "each province needs a code and a name")
            continue
        code = raw["code"].strip()
        if not re.fullmatch(r"[a-z0-9-]{2,32}", code):
            report.error(rel, code, "code", "use lower-case ASCII letters, digits and '-'")
        if code in provinces:
            report.error(rel, code, "code", "listed twice")
        aliases = raw.get("aliases") or []
        provinces[code] = Province(
            code=code,
            name=nfc(raw["name"]),
            aliases=tuple(nfc(a) for a in aliases if isinstance(a, str)),
            merged_into=_str(raw.get("merged_into")),
        )
    for prov in provinces.values():
        if prov.merged_into and prov.merged_into not in provinces:
            report.error(rel, prov.code, "merged_into", f"unknown province code {prov.merged_into!r}")
    return provinces


def _load_intents(root: Path, report: Report) -> tuple[dict[str, Intent], dict[str, tuple[str, ...]]]:
    path = root / "intents.yaml"
    rel = _rel(path)
    data = _read(path, report, dict) or {}
    intents: dict[str, Intent] = {}
    for name, raw in (data.get("intents") or {}).items():
        questions = raw.get("questions") if isinstance(raw, dict) else None
        if not isinstance(questions, list) or not all(isinstance(q, str) and q.strip() for q in questions):
            report.error(rel, str(name), "questions", "must be a list of phrasings")
            continue
        keywords = raw.get("keywords") or []
        triggers = _triggers(raw.get("triggers") or [], rel, str(name), report)
        intents[str(name)] = Intent(str(name), tuple(nfc(q) for q in questions), tuple(keywords), triggers)
    lists = {}
    for key in ("out_of_scope", "other_subjects", "cooperative_terms"):
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(q, str) and q.strip() for q in value):
            report.error(rel, None, key, "must be a list of phrases")
            value = []
        lists[key] = tuple(nfc(q) for q in value)
    return intents, lists


def _triggers(raw: Any, rel: str, name: str, report: Report) -> tuple[tuple[tuple[str, ...], ...], ...]:
    """A trigger is a phrase, or {all: [[phrases…], [phrases…]]}: one phrase of every group must appear."""
    out = []
    if not isinstance(raw, list):
        report.error(rel, name, "triggers", "must be a list")
        return ()
    for i, item in enumerate(raw):
        if isinstance(item, str) and item.strip():
            out.append(((nfc(item),),))
        elif (isinstance(item, dict) and isinstance(item.get("all"), list) and item["all"]
              and all(isinstance(g, list) and g and all(isinstance(p, str) and p.strip() for p in g)
                      for g in item["all"])):
            out.append(tuple(tuple(nfc(p) for p in g) for g in item["all"]))
        else:
            report.error(rel, name, f"triggers[{i}]", "a phrase, or {all: [[phrases], [phrases], ...]}")
    return tuple(out)


ENTRY_FIELDS = {
    "id", "title", "questions", "answer", "today", "citations", "province", "related", "keywords",
}


def _load_entries(
    root: Path, report: Report, documents: dict[str, Document], provinces: dict[str, Province]
) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    docs_by_key = {doc_key(d.number): d for d in documents.values()}
    province_names = {fold(p.name) for p in provinces.values()}
    files = sorted((root / "entries").glob("*.yaml"))
    if not files:
        report.error("knowledge/entries", None, None, "no entry files (*.yaml)")
    related_refs: list[tuple[str, str, str]] = []
    for path in files:
        rel = _rel(path)
        data = _read(path, report, dict)
        if data is None:
            continue
        topic = _str(data.get("topic"))
        if not topic:
            report.error(rel, None, "topic", "required")
        raw_entries = data.get("entries")
        if not isinstance(raw_entries, list) or not raw_entries:
            report.error(rel, None, "entries", "must be a non-empty list")
            continue
        for i, raw in enumerate(raw_entries):
            entry = _parse_entry(raw, i, rel, topic or "", report, docs_by_key, province_names)
            if entry is None:
                continue
            if entry.id in entries:
                report.error(rel, entry.id, "id", f"also used in {entries[entry.id].file}")
                continue
            entries[entry.id] = entry
            related_refs.extend((rel, entry.id, r) for r in entry.related)
    for rel, eid, target in related_refs:
        if target not in entries:
            report.error(rel, eid, "related", f"no entry with id {target!r}")
    return entries


def _parse_entry(
    raw: Any,
    index: int,
    rel: str,
    topic: str,
    report: Report,
    docs_by_key: dict[str, Document],
    province_names: set[str],
) -> Entry | None:
    if not isinstance(raw, dict):
        report.error(rel, f"#{index + 1}", None, "each entry must be a mapping")
        return None
    eid = raw.get("id")
    if not isinstance(eid, str) or not ENTRY_ID.fullmatch(eid):
        report.error(rel, f"#{index + 1}", "id", "required: lower-case ASCII, digits and '-', 2–48 characters")
        return None
    ok = True
    for key in sorted(set(raw) - ENTRY_FIELDS):
        report.error(rel, eid, key, "unknown field")
        ok = False
    title = _str(raw.get("title"))
    if not title:
        report.error(rel, eid, "title", "required")
        ok = False
    answer = raw.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        report.error(rel, eid, "answer", "required")
        ok = False
    questions = raw.get("questions")
    if not isinstance(questions, list) or not all(isinstance(q, str) and q.strip() for q in questions):
        report.error(rel, eid, "questions", "must be a list of phrasings")
        ok = False
        questions = []
    elif len(questions) < MIN_QUESTIONS:
        report.warn(rel, eid, "questions", f"only {len(questions)} phrasing(s); write at least {MIN_QUESTIONS}")
    today = raw.get("today")
    if today is not None and (not isinstance(today, str) or not today.strip()):
        report.error(rel, eid, "today", "must be non-empty text when given")
        ok = False
    citations: list[Citation] = []
    raw_cits = raw.get("citations")
    if not isinstance(raw_cits, list) or not raw_cits:
        report.error(rel, eid, "citations", "required: at least one {doc, article, clause}")
        ok = False
        raw_cits = []
    for j, c in enumerate(raw_cits):
        fld = f"citations[{j}]"
        if not isinstance(c, dict) or not isinstance(c.get("doc"), str):
            report.error(rel, eid, fld, "must be a mapping with doc")
            ok = False
            continue
        extra = set(c) - {"doc", "article", "clause"}
        if extra:
            report.error(rel, eid, fld, f"unknown field(s): {', '.join(sorted(extra))}")
            ok = False
        doc = docs_by_key.get(doc_key(c["doc"]))
        if doc is None:
            report.error(rel, eid, fld + ".doc", f"{c['doc']!r} is not in knowledge/documents.yaml")
            ok = False
            continue
        article, clause = c.get("article"), c.get("clause")
        if article is not None and not (isinstance(article, int) and article > 0):
            report.error(rel, eid, fld + ".article", "must be a positive whole number or null")
            ok = False
            continue
        if doc.articles and article and article > doc.articles:
            report.error(rel, eid, fld + ".article", f"{doc.number} has only {doc.articles} articles")
            ok = False
        if clause is not None and not (isinstance(clause, int) and clause > 0):
            report.error(rel, eid, fld + ".clause", "must be a positive whole number or null")
            ok = False
            continue
        if clause is not None and article is None:
            report.error(rel, eid, fld + ".clause", "a clause needs its article")
            ok = False
        citations.append(Citation(doc.number, article, clause))
    if ok and today is None and any(
        not docs_by_key[doc_key(c.doc)].in_force for c in citations
    ):
        report.error(rel, eid, "today", "cites a document no longer in force: say what applies today")
        ok = False
    if ok and today is not None and not any(docs_by_key[doc_key(c.doc)].in_force for c in citations):
        replaced = {docs_by_key[doc_key(c.doc)].replaced_by for c in citations} - {None}
        if replaced:
            report.warn(rel, eid, "citations", f"cite what applies today too ({', '.join(sorted(replaced))})")
    province = _str(raw.get("province"))
    if province and fold(province) not in province_names:
        report.error(rel, eid, "province", f"{province!r} is not in knowledge/provinces.yaml")
        ok = False
    related = raw.get("related") or []
    keywords = raw.get("keywords") or []
    if not isinstance(related, list) or not all(isinstance(r, str) for r in related):
        report.error(rel, eid, "related", "must be a list of entry ids")
        ok = False
        related = []
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        report.error(rel, eid, "keywords", "must be a list of words or phrases")
        ok = False
        keywords = []
    if not ok:
        return None
    return Entry(
        id=eid,
        title=title or "",
        questions=tuple(nfc(q) for q in questions),
        answer=answer.strip(),
        citations=tuple(citations),
        topic=topic,
        file=rel,
        today=today.strip() if isinstance(today, str) else None,
        province=province,
        related=tuple(related),
        keywords=tuple(nfc(k) for k in keywords),
    )


PHRASING_FIELDS = {"entry", "question", "added", "by", "ticket"}


def _merge_staff_phrasings(root: Path, report: Report, entries: dict[str, Entry]) -> None:
    """knowledge/staff-phrasings.yaml (optional): [{entry, question, ...}] added to those entries' phrasings.

    The staff console writes here instead of into an editor's entry file; a phrasing whose entry is
    gone is an error, like a broken `related` link.
    """
    path = root / STAFF_PHRASINGS
    if not path.exists():
        return
    rel = _rel(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        report.error(rel, None, None, f"not valid YAML: {exc}")
        return
    if data is None:
        return
    if not isinstance(data, list):
        report.error(rel, None, None, "top level must be a list of {entry, question}")
        return
    for i, raw in enumerate(data):
        label = f"#{i + 1}"
        if not isinstance(raw, dict):
            report.error(rel, label, None, "each item must be a mapping with entry and question")
            continue
        for key in sorted(set(raw) - PHRASING_FIELDS):
            report.error(rel, label, str(key), "unknown field")
        eid, question = raw.get("entry"), _str(raw.get("question"))
        if not isinstance(eid, str) or eid not in entries:
            report.error(rel, label, "entry", f"no entry with id {eid!r}")
            continue
        if not question or "\n" in question:
            report.error(rel, label, "question", "required: one line of text")
            continue
        entry = entries[eid]
        if fold(question) in {fold(q) for q in entry.questions}:
            report.warn(rel, label, "question", f"already a phrasing of {eid}")
            continue
        entries[eid] = replace(entry, questions=(*entry.questions, nfc(question)))


def _load_selfchecks(root: Path, report: Report) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    for path in sorted((root / "selfchecks").glob("*.yaml")):
        data = _read(path, report, dict)
        if data is not None:
            checks[path.stem] = data
    return checks


def _validate_selfchecks(kb: KnowledgeBase, root: Path, report: Report) -> None:
    """Self-check files are validated by their own schema module, which knows their shape."""
    try:
        from bot.kb import selfcheck_schema
    except ImportError:
        return
    for name, data in kb.selfchecks.items():
        for fld, message in selfcheck_schema.validate(name, data, kb):
            report.error(f"knowledge/selfchecks/{name}.yaml", name, fld, message)
