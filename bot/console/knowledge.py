"""Staff additions to the knowledge: extra phrasings and new entries, written only when the loader accepts them.

Nothing here writes into the shipped knowledge/ folder (it is in git, edited by editors). Staff additions
go to the overlay folder (`knowledge.overlay_path`, outside the checkout): extra phrasings to
staff-phrasings.yaml, new entries to entries/zz-tu-cong-tac-vien.yaml; the loader reads them on top of
knowledge/. Both are plain YAML a person can review, edit or delete. A change is first written to a
temporary copy of the overlay and loaded there: it is saved only if it adds no error (`htx-bot kb check`
stays as clean as it was) and really took effect. The running bot answers from it after a reload (the console's
"Nạp lại kiến thức" button or SIGHUP, see `App.reload_async`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz

from bot.kb.check import NEAR_DUPLICATE
from bot.kb.loader import DEFAULT_DIR, ENTRY_ID, STAFF_PHRASINGS, Problem, Report, load_with_report
from bot.kb.model import KnowledgeBase, doc_key
from bot.textnorm import fold, nfc

ENTRIES_FILE = "entries/zz-tu-cong-tac-vien.yaml"
ENTRIES_TOPIC = "Bổ sung từ cán bộ Liên minh HTX"
ID_PREFIX = "ctv-"
MAX_TEXT = 4000
MAX_LINE = 300
_LOCK = threading.Lock()  # one console write at a time
_CACHE_LOCK = threading.Lock()  # taken after _LOCK when both are held
_CACHE: dict[tuple[str, str], tuple[KnowledgeBase | None, Report]] = {}
CACHE_SIZE = 4

PHRASINGS_HEADER = """\
# Extra phrasings for existing entries, added by alliance staff from the staff console (/console).
# The loader (bot/kb/loader.py) adds each `question` to the phrasings of the entry `entry`; this file lives
# in the overlay folder (knowledge.overlay_path), outside the git checkout.
# Edit or delete items freely, then run `htx-bot kb check`. Fields: entry, question, added, by, ticket.
"""
ENTRIES_HEADER = f"""\
# Entries written by alliance staff from the staff console (/console). Review them like any other
# entry (facts, citations, what applies today); edit freely in the usual format, or move one into its
# topic's file, then run `htx-bot kb check`.
topic: {ENTRIES_TOPIC}
entries:
"""


@dataclass
class Draft:
    """A new entry as typed in the console form."""

    id: str = ""
    title: str = ""
    questions: list[str] = field(default_factory=list)
    answer: str = ""
    today: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)
    province: str = ""
    related: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)


@dataclass
class Result:
    ok: bool
    codes: list[str] = field(default_factory=list)  # form problems, shown in Vietnamese by the template
    problems: list[str] = field(default_factory=list)  # loader errors this change would add
    near: list[dict[str, str]] = field(default_factory=list)  # phrasings that search may confuse
    entry_id: str = ""
    path: str = ""


@dataclass(frozen=True)
class Layers:
    """The shipped knowledge folder (read only here) and the overlay the console writes to."""

    base: Path
    overlay: Path

    @classmethod
    def of(cls, root: Layers | Path | str) -> Layers:
        """A bare folder gets its overlay beside it: <folder>-overlay (tests and scripts)."""
        if isinstance(root, Layers):
            return root
        base = Path(root)
        return cls(base, base.with_name(base.name + "-overlay"))

    def __str__(self) -> str:
        return str(self.overlay)


def root_dir(config) -> Layers:
    base = Path(config.knowledge.path) if config.knowledge.path else DEFAULT_DIR
    overlay = config.knowledge.overlay_path or "data/knowledge-overlay"
    return Layers(base, Path(overlay))


def load_checked(root: Layers | Path) -> tuple[KnowledgeBase | None, Report]:
    """`load_with_report` of both layers, remembered by the folders' content: parsing YAML takes a second."""
    layers = Layers.of(root)
    with _CACHE_LOCK:
        key = (_fingerprint(layers.base), _fingerprint(layers.overlay))
        if key not in _CACHE:
            while len(_CACHE) >= CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = load_with_report(layers.base, layers.overlay)
        return _CACHE[key]


def _fingerprint(root: Path) -> str:
    digest = hashlib.sha256()
    if not root.is_dir():
        return ""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            digest.update(str(rel).encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


# --- public API -------------------------------------------------------------------------------------


def add_phrasing(root: Layers | Path, entry_id: str, question: str, staff: str, ticket: int | None,
                 day: dt.date) -> Result:
    """Append `question` as an extra phrasing of `entry_id` to the overlay's staff-phrasings.yaml."""
    layers = Layers.of(root)
    question = _one_line(question)
    codes = []
    if not question:
        codes.append("question_required")
    elif len(question) > MAX_LINE:
        codes.append("too_long")
    if not ENTRY_ID.fullmatch(entry_id or ""):
        codes.append("entry_unknown")
    if codes:
        return Result(False, codes)
    record: dict[str, Any] = {"entry": entry_id, "question": question, "added": day, "by": staff or None}
    if ticket:
        record["ticket"] = ticket
    record = {k: v for k, v in record.items() if v is not None}
    path = layers.overlay / STAFF_PHRASINGS
    with _LOCK:
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        appended = (old if old.strip() else PHRASINGS_HEADER)
        appended = _with_newline(appended) + _dump([record])
        data = _safe_load(old)
        redumped = PHRASINGS_HEADER + _dump([*(data if isinstance(data, list) else []), record])

        def took_effect(kb: KnowledgeBase) -> bool:
            entry = kb.entries.get(entry_id)
            return entry is not None and nfc(question) in entry.questions

        before, report = load_checked(layers)
        if before is not None and entry_id not in before.entries:
            return Result(False, ["entry_unknown"])
        if before is not None and fold(question) in {fold(q) for q in before.entries[entry_id].questions}:
            return Result(False, ["question_exists"])
        return _commit(layers, STAFF_PHRASINGS, [appended, redumped], took_effect, [question], entry_id, report)


def add_entry(root: Layers | Path, draft: Draft, staff: str, ticket: int | None, day: dt.date) -> Result:
    """Append a new entry to the overlay's entries/zz-tu-cong-tac-vien.yaml."""
    layers = Layers.of(root)
    with _LOCK:
        before, report = load_checked(layers)
        taken = set(before.entries) if before else set()
        taken |= {str(e["id"]) for e in staff_entries(layers) if isinstance(e, dict) and e.get("id")}
        codes = check_draft(draft, before, taken)
        if codes:
            return Result(False, codes)
        entry_id = draft.id or suggest_id(draft.title, taken)
        entry = _entry_data(draft, entry_id)
        note = f"# added from the staff console on {day.isoformat()}"
        if staff:
            note += f" by {_one_line(staff)}"
        if ticket:
            note += f", from ticket #{ticket}"
        path = layers.overlay / ENTRIES_FILE
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        block = _indent(note + "\n" + _dump([entry]), 2)
        appended = _with_newline(old if old.strip() else ENTRIES_HEADER) + "\n" + block
        data = _safe_load(old)
        data = data if isinstance(data, dict) else {"topic": ENTRIES_TOPIC}
        data["entries"] = [*(data.get("entries") or []), entry]
        redumped = ENTRIES_HEADER.split("topic:")[0] + _dump(data)

        def took_effect(kb: KnowledgeBase) -> bool:
            found = kb.entries.get(entry_id)
            return found is not None and found.file.endswith(ENTRIES_FILE)

        return _commit(layers, ENTRIES_FILE, [appended, redumped], took_effect, draft.questions, entry_id, report)


def check_draft(draft: Draft, kb: KnowledgeBase | None, taken: set[str]) -> list[str]:
    """Form problems the loader would also catch, named so the page can say them in Vietnamese."""
    codes = []
    if draft.id and not ENTRY_ID.fullmatch(draft.id):
        codes.append("id_invalid")
    elif draft.id and draft.id in taken:
        codes.append("id_taken")
    if not draft.title:
        codes.append("title_required")
    if not draft.answer:
        codes.append("answer_required")
    if not draft.questions:
        codes.append("questions_required")
    if any(len(q) > MAX_LINE for q in draft.questions) or len(draft.title) > MAX_LINE:
        codes.append("too_long")
    if len(draft.answer) > MAX_TEXT or len(draft.today) > MAX_TEXT:
        codes.append("too_long")
    if not draft.citations:
        codes.append("citation_required")
    for c in draft.citations:
        if c.get("invalid"):
            codes.append("citation_number")
            break
    if kb is not None and not draft.today:
        for c in draft.citations:
            doc = kb.document(c["doc"])
            if doc is not None and not doc.in_force:
                codes.append("today_required")
                break
    if kb is not None:
        for c in draft.citations:
            if kb.document(c["doc"]) is None:
                codes.append("citation_doc")
                break
    return codes


def suggest_id(title: str, taken: set[str]) -> str:
    """'ctv-' and the title without tones: 'ctv-htx-co-duoc-vay-von-khong', unique among `taken`."""
    slug = re.sub(r"[^a-z0-9]+", "-", fold(title)).strip("-") or "muc"
    base = (ID_PREFIX + slug)[:44].rstrip("-")
    candidate, n = base, 2
    while candidate in taken:
        candidate = f"{base}-{n}"
        n += 1
    return candidate


def staff_phrasings(root: Layers | Path) -> list[dict[str, Any]]:
    data = _safe_load(_read(Layers.of(root).overlay / STAFF_PHRASINGS))
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def staff_entries(root: Layers | Path) -> list[dict[str, Any]]:
    data = _safe_load(_read(Layers.of(root).overlay / ENTRIES_FILE))
    entries = data.get("entries") if isinstance(data, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def parse_list(text: str, sep: str = "\n") -> list[str]:
    """Form textarea/field → clean items (one line each, NFC, no blanks or repeats)."""
    items: list[str] = []
    for part in (text or "").replace("\r\n", "\n").split(sep):
        item = _one_line(part)
        if item and fold(item) not in {fold(i) for i in items}:
            items.append(item)
    return items


def clean_text(text: str) -> str:
    """A multi-line form text as it will be stored: NFC, Unix newlines, one space between words."""
    # nfc() collapses all whitespace, newlines included: line by line, so the lines stay lines.
    lines = [nfc(line) for line in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


# --- internals --------------------------------------------------------------------------------------


def _commit(layers: Layers, rel_path: str, candidates: list[str], took_effect, new_questions: list[str],
            entry_id: str, base: Report) -> Result:
    """Try each candidate text on a copy of the overlay; save the first that adds no error to `base`."""
    base_errors = _error_keys(base.errors, layers.overlay)
    problems: list[str] = []
    for text in candidates:
        kb, added = _load_with(layers, rel_path, text, base_errors, str(layers.overlay))
        if not added and kb is not None and took_effect(kb):
            _write_atomic(layers.overlay / rel_path, text)
            return Result(True, entry_id=entry_id, path=rel_path, near=_near(kb, entry_id, new_questions))
        problems = [str(p) for p in added] or problems
    return Result(False, ["loader"], problems=problems, entry_id=entry_id)


def _load_with(layers: Layers, rel_path: str, text: str, base_errors: set[tuple], label: str
               ) -> tuple[KnowledgeBase | None, list[Problem]]:
    """Load the base with a copy of the overlay in which `rel_path` holds `text` (the live overlay is not
    touched); the errors this adds to `base_errors`, the temporary folder's name replaced by `label`."""
    with tempfile.TemporaryDirectory(prefix="htx-kb-") as tmp:
        copy = Path(tmp) / "overlay"
        if layers.overlay.is_dir():
            shutil.copytree(layers.overlay, copy, ignore=shutil.ignore_patterns(".*", "__pycache__"))
        target = copy / rel_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        kb, report = load_with_report(layers.base, copy)
        added = [Problem(p.file.replace(str(copy), label), p.entry, p.field, p.message.replace(str(copy), label),
                         p.severity)
                 for p in report.errors if _key(p, copy) not in base_errors]
    return kb, added


def _key(p: Problem, base: Path) -> tuple:
    return (p.file.replace(str(base), ""), p.entry, p.field, p.message.replace(str(base), ""))


def _error_keys(problems: list[Problem], base: Path) -> set[tuple]:
    return {_key(p, base) for p in problems}


def _near(kb: KnowledgeBase, entry_id: str, questions: list[str]) -> list[dict[str, str]]:
    """Phrasings of other entries so close to the new ones that search could not tell them apart."""
    out: list[dict[str, str]] = []
    others = [(e.id, q, " ".join(kb.normalizer(q))) for e in kb.entries.values() if e.id != entry_id
              for q in e.questions]
    for question in questions:
        mine = " ".join(kb.normalizer(question))
        for other_id, other_q, norm in others:
            if fuzz.ratio(mine, norm) >= NEAR_DUPLICATE:
                out.append({"question": question, "entry": other_id, "other": other_q})
    return out


def _entry_data(draft: Draft, entry_id: str) -> dict[str, Any]:
    data: dict[str, Any] = {"id": entry_id, "title": draft.title, "questions": list(draft.questions)}
    if draft.keywords:
        data["keywords"] = _Flow(draft.keywords)
    # Format v2: `short` says what applies today. A draft citing a repealed rule has the old rule in
    # `answer` and today's in `today` (the form's two boxes): today's goes first, the old one is history.
    if draft.today:
        data["short"] = draft.today + "\n"
        data["history"] = draft.answer + "\n"
    else:
        data["short"] = draft.answer + "\n"
    data["citations"] = [_FlowMap({k: v for k, v in c.items() if k in ("doc", "article", "clause") and v is not None})
                         for c in draft.citations]
    if draft.province:
        data["province"] = draft.province
    if draft.related:
        data["related"] = _Flow(draft.related)
    return data


def citations_from_form(docs: list[str], articles: list[str], clauses: list[str],
                        kb: KnowledgeBase | None) -> list[dict[str, Any]]:
    """Citation rows of the form → [{doc, article, clause}]; a row with a bad number is flagged."""
    out = []
    for i, doc in enumerate(docs):
        doc = (doc or "").strip()
        if not doc:
            continue
        known = kb.document(doc) if kb is not None else None
        cit: dict[str, Any] = {"doc": known.number if known else doc}
        for key, values in (("article", articles), ("clause", clauses)):
            raw = (values[i] if i < len(values) else "").strip()
            if not raw:
                continue
            if raw.isdigit() and int(raw) > 0:
                cit[key] = int(raw)
            else:
                cit["invalid"] = True
        if "clause" in cit and "article" not in cit:
            cit["invalid"] = True
        out.append(cit)
    unique: dict[tuple, dict[str, Any]] = {}
    for c in out:
        unique.setdefault((doc_key(c["doc"]), c.get("article"), c.get("clause")), c)
    return list(unique.values())


class _Flow(list):
    """A list written on one line, as editors write keywords: [a, b]."""


class _FlowMap(dict):
    """A mapping written on one line, as editors write citations: {doc: ..., article: 13}."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)  # "questions:\n  - a", like the hand-written files


def _represent_str(dumper: yaml.SafeDumper, text: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
_Dumper.add_representer(_FlowMap, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(),
                                                                   flow_style=True))


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=4096,
                     default_flow_style=False)


def _indent(text: str, n: int) -> str:
    pad = " " * n
    return "".join(pad + line if line.strip() else line for line in text.splitlines(keepends=True))


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") or not text else text + "\n"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _safe_load(text: str) -> Any:
    try:
        return yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        return None


def _one_line(text: str) -> str:
    return " ".join(nfc(text or "").split())


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):  # keep the original file; drop the partial copy
            os.unlink(tmp)
        raise



# --- reviewed changes: drafts tried on a copy of the overlay, published with the file as it was -------

ENTRY_FIELDS = ("short", "detail", "history", "unsure")  # format v2 member-visible texts, in file order


@dataclass
class Trial:
    """A draft applied to a temporary copy of the overlay: the file it changes, its text before and after,
    the knowledge base loaded from base + copy, and the loader errors the change would add."""

    path: str
    before: str | None
    after: str
    kb: KnowledgeBase | None
    problems: list[Problem]
    took_effect: bool

    @property
    def ok(self) -> bool:
        return not self.problems and self.kb is not None and self.took_effect


def entry_v2(data: dict[str, Any]) -> dict[str, Any]:
    """A draft entry (form fields) as it is written in an entries file, keys in the documented order."""
    out: dict[str, Any] = {"id": data.get("id", ""), "title": data.get("title", ""),
                           "questions": list(data.get("questions") or [])}
    if data.get("keywords"):
        out["keywords"] = _Flow(data["keywords"])
    for name in ENTRY_FIELDS:
        text = str(data.get(name) or "").strip()
        if text:
            out[name] = text + "\n" if name != "unsure" else " ".join(text.split())
    out["citations"] = [_FlowMap({k: v for k, v in c.items() if k in ("doc", "article", "clause") and v is not None})
                        for c in data.get("citations") or []]
    if data.get("related"):
        out["related"] = _Flow(data["related"])
    if data.get("province"):
        out["province"] = data["province"]
    return out


def changed_text(layers: Layers, kind: str, data: dict[str, Any]) -> tuple[str, str | None, str]:
    """(overlay file, its text now or None, its text with the draft added) — the file is re-dumped whole."""
    rel = STAFF_PHRASINGS if kind == "phrasing" else ENTRIES_FILE
    path = layers.overlay / rel
    old = path.read_text(encoding="utf-8") if path.exists() else None
    parsed = _safe_load(old or "")
    if kind == "phrasing":
        record = {"entry": data["entry"], "question": _one_line(data["question"])}
        items = parsed if isinstance(parsed, list) else []
        return rel, old, PHRASINGS_HEADER + _dump([*items, record])
    doc = parsed if isinstance(parsed, dict) else {"topic": ENTRIES_TOPIC}
    doc.setdefault("topic", ENTRIES_TOPIC)
    doc["entries"] = [*(doc.get("entries") or []), entry_v2(data)]
    return rel, old, ENTRIES_HEADER.split("topic:")[0] + _dump(doc)


def try_draft(root: Layers | Path, kind: str, data: dict[str, Any]) -> Trial:
    """Load base + (overlay with the draft) in a temporary folder; the live overlay is not touched."""
    layers = Layers.of(root)
    _, base_report = load_checked(layers)
    base_errors = _error_keys(base_report.errors, layers.overlay)
    rel, before, after = changed_text(layers, kind, data)
    kb, added = _load_with(layers, rel, after, base_errors, "overlay")
    return Trial(rel, before, after, kb, added, kb is not None and _took_effect(kb, kind, data))


def publish_draft(root: Layers | Path, kind: str, data: dict[str, Any]) -> Trial:
    """Try the draft on the overlay as it is now and, when it adds no error, write it (one writer at a time)."""
    layers = Layers.of(root)
    with _LOCK:
        trial = try_draft(layers, kind, data)
        if trial.ok:
            _write_atomic(layers.overlay / trial.path, trial.after)
        return trial


def restore(root: Layers | Path, rel_path: str, before: str | None, after: str) -> bool:
    """Put an overlay file back as it was before a change — only while it still holds that change's text
    (a later change to the same file must be rolled back first, or it would be lost)."""
    layers = Layers.of(root)
    path = layers.overlay / rel_path
    with _LOCK:
        now = path.read_text(encoding="utf-8") if path.exists() else None
        if now != after:
            return False
        if before is None:
            path.unlink()
        else:
            _write_atomic(path, before)
        return True


def export_yaml(phrasings: list[dict[str, Any]], entries: list[dict[str, Any]], day: dt.date) -> str:
    """Published changes in the knowledge/ file format, to commit upstream: new entries as an entries
    file, extra phrasings as a staff-phrasings list (each document says where it goes)."""
    head = f"# Published from the staff console, exported {day.isoformat()}.\n"
    parts = [head + f"# → knowledge/{ENTRIES_FILE}\ntopic: {ENTRIES_TOPIC}\n"
             + (_dump({"entries": [entry_v2(e) for e in entries]}) if entries else "entries: []\n")]
    records = [{"entry": p["entry"], "question": _one_line(p["question"])} for p in phrasings]
    parts.append(f"# → extra phrasings (add each to its entry's questions, or keep as {STAFF_PHRASINGS})\n"
                 + (_dump(records) if records else "[]\n"))
    return "---\n".join(parts)


def _took_effect(kb: KnowledgeBase, kind: str, data: dict[str, Any]) -> bool:
    if kind == "phrasing":
        entry = kb.entries.get(str(data.get("entry")))
        return entry is not None and nfc(_one_line(data.get("question", ""))) in entry.questions
    found = kb.entries.get(str(data.get("id")))
    return found is not None and found.file.endswith(ENTRIES_FILE)
