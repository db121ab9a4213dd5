"""The shape of knowledge/selfchecks/*.yaml, checked field by field when the knowledge base loads.

A self-check is a list of questions a cooperative director answers with buttons; everything a
province may want to change for its own round (criteria, models, explanations, sources, the
programme's period) lives in these files, so a mistake there must be reported with the field that
is wrong, never discovered by a farmer halfway through a conversation.

`_common.yaml` is not a check: it holds the answer sets and typed words every check shares.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from typing import Any

COMMON = "_common"
STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
OPTION_ID = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
KINDS = ("mandatory", "priority", "info")
STATUSES = ("auto", "open", "ended")
COMMANDS = ("back", "skip", "restart", "cancel", "help")
MAX_PAYLOAD_BYTES = 64  # Telegram's limit for callback data
MAX_LABEL = 64
# Placeholders a self-check text may use; anything else in braces is an error.
PLACEHOLDERS = {"alliance": "x", "contact": "x", "period": "x", "n": "1", "title": "x"}

CHECK_FIELDS = {"title", "intro", "kind_labels", "programme", "notes", "steps", "dossier", "result", "offer_send"}
PROGRAMME_FIELDS = {"name", "documents", "province", "period", "status", "ended_note", "open_note", "scope_note"}
STEP_FIELDS = {
    "id", "kind", "short", "question", "explanation", "sources", "options", "options_from", "option_labels",
    "groups", "ask_if", "unmet", "unsure", "repealed",
}
OPTION_FIELDS = {"id", "label", "meets", "aliases", "advice"}
SOURCE_FIELDS = {"doc", "article", "clause", "part"}
RESULT_FIELDS = {"pass", "fail", "unclear", "disclaimer"}

Errors = list[tuple[str, str]]


def validate(name: str, data: dict, kb: Any) -> Errors:
    """Every problem in one self-check file as (field, message); empty when the file is usable."""
    errors: Errors = []
    if not isinstance(data, dict):
        return [("", "top level must be a mapping")]
    if name == COMMON:
        _validate_common(data, errors)
        return errors
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,23}", name):
        errors.append(("", "file name must be lower-case ASCII (it becomes the handler name in button payloads)"))
    common = kb.selfchecks.get(COMMON) if kb is not None else None
    if not isinstance(common, dict):
        errors.append(("", f"knowledge/selfchecks/{COMMON}.yaml is missing: it holds the shared answer sets"))
        common = {}
    _unknown(data, CHECK_FIELDS, "", errors)
    for key in ("title", "intro"):
        _text(data.get(key), key, errors)
    labels = data.get("kind_labels")
    if labels is not None and not (isinstance(labels, dict) and all(
        k in KINDS and isinstance(v, str) and v.strip() for k, v in labels.items()
    )):
        errors.append(("kind_labels", f"must map a kind ({', '.join(KINDS)}) to a label"))
    if "offer_send" in data and not isinstance(data["offer_send"], bool):
        errors.append(("offer_send", "must be true or false"))
    if data.get("programme") is not None:
        _validate_programme(data["programme"], kb, errors)
    notes = data.get("notes") or {}
    if not isinstance(notes, dict):
        errors.append(("notes", "must map a note id to {doc, text}"))
        notes = {}
    for nid, note in notes.items():
        _validate_note(str(nid), note, kb, errors)
    _validate_steps(name, data.get("steps"), common, set(notes), kb, errors)
    if data.get("dossier") is not None:
        _validate_dossier(data["dossier"], kb, errors)
    result = data.get("result")
    if not isinstance(result, dict):
        errors.append(("result", "required: {pass, fail, unclear, disclaimer}"))
    else:
        _unknown(result, RESULT_FIELDS, "result", errors)
        for key in sorted(RESULT_FIELDS):
            _text(result.get(key), f"result.{key}", errors)
    return errors


def resolve_options(step: dict, common: dict) -> list[dict]:
    """A step's top-level answers: its own `options`, or a shared set with optional label overrides."""
    if isinstance(step.get("options"), list):
        return [o for o in step["options"] if isinstance(o, dict)]
    set_name = step.get("options_from")
    shared = (common.get("option_sets") or {}).get(set_name) if isinstance(set_name, str) else None
    if not isinstance(shared, list):
        return []
    labels = step.get("option_labels") or {}
    out = []
    for opt in shared:
        if isinstance(opt, dict):
            opt = dict(opt)
            if isinstance(labels, dict) and opt.get("id") in labels:
                opt["label"] = labels[opt["id"]]
            out.append(opt)
    return out


# --- sections ---------------------------------------------------------------------------------


def _validate_common(data: dict, errors: Errors) -> None:
    _unknown(data, {"option_sets", "commands", "fillers"}, "", errors)
    sets = data.get("option_sets")
    if not isinstance(sets, dict) or not sets:
        errors.append(("option_sets", "required: a mapping of set name to a list of answers"))
    else:
        for set_name, options in sets.items():
            _validate_options(options, f"option_sets.{set_name}", "info", errors, shared=True)
    commands = data.get("commands")
    if not isinstance(commands, dict):
        errors.append(("commands", f"required: words understood for {', '.join(COMMANDS)}"))
    else:
        for key, words in commands.items():
            if key not in COMMANDS:
                errors.append((f"commands.{key}", f"unknown command; use one of {', '.join(COMMANDS)}"))
            elif not _str_list(words):
                errors.append((f"commands.{key}", "must be a list of words or phrases"))
    if "fillers" in data and not _str_list(data["fillers"]):
        errors.append(("fillers", "must be a list of words"))


def _validate_programme(prog: Any, kb: Any, errors: Errors) -> None:
    if not isinstance(prog, dict):
        errors.append(("programme", "must be a mapping"))
        return
    _unknown(prog, PROGRAMME_FIELDS, "programme", errors)
    _text(prog.get("name"), "programme.name", errors)
    _text(prog.get("ended_note"), "programme.ended_note", errors)
    for key in ("open_note", "scope_note"):
        if key in prog:
            _text(prog[key], f"programme.{key}", errors)
    docs = prog.get("documents")
    if not isinstance(docs, list) or not docs:
        errors.append(("programme.documents", "required: the documents the programme rests on"))
    else:
        for i, doc in enumerate(docs):
            if not isinstance(doc, str) or kb.document(doc) is None:
                errors.append((f"programme.documents[{i}]", f"{doc!r} is not in knowledge/documents.yaml"))
    province = prog.get("province")
    if province is not None and (not isinstance(province, str) or kb.find_province(province) is None):
        errors.append(("programme.province", f"{province!r} is not in knowledge/provinces.yaml"))
    if prog.get("status", "auto") not in STATUSES:
        errors.append(("programme.status", f"must be one of {', '.join(STATUSES)}"))
    period = prog.get("period")
    if not isinstance(period, dict):
        errors.append(("programme.period", "required: {label, start, end}"))
        return
    _unknown(period, {"label", "start", "end"}, "programme.period", errors)
    _text(period.get("label"), "programme.period.label", errors)
    dates = {}
    for key in ("start", "end"):
        dates[key] = _date(period.get(key))
        if dates[key] is None:
            errors.append((f"programme.period.{key}", "required: a date written YYYY-MM-DD"))
    if dates["start"] and dates["end"] and dates["start"] > dates["end"]:
        errors.append(("programme.period.end", "is before the start"))


def _validate_note(nid: str, note: Any, kb: Any, errors: Errors) -> None:
    fld = f"notes.{nid}"
    if not OPTION_ID.fullmatch(nid):
        errors.append((fld, "note ids are lower-case ASCII, digits and '_'"))
    if not isinstance(note, dict):
        errors.append((fld, "must be {doc, text}"))
        return
    _unknown(note, {"doc", "text"}, fld, errors)
    _text(note.get("text"), f"{fld}.text", errors)
    doc = kb.document(note["doc"]) if isinstance(note.get("doc"), str) else None
    if doc is None:
        errors.append((f"{fld}.doc", f"{note.get('doc')!r} is not in knowledge/documents.yaml"))
    elif doc.in_force:
        errors.append((f"{fld}.doc", f"{doc.number} is in force: a repealed-rule note must name a repealed rule"))


def _validate_steps(name: str, steps: Any, common: dict, notes: set[str], kb: Any, errors: Errors) -> None:
    if not isinstance(steps, list) or not steps:
        errors.append(("steps", "required: a non-empty list of questions"))
        return
    seen: dict[str, set[str]] = {}
    for i, step in enumerate(steps):
        fld = f"steps[{i}]"
        if not isinstance(step, dict):
            errors.append((fld, "each step must be a mapping"))
            continue
        sid = step.get("id")
        if not isinstance(sid, str) or not STEP_ID.fullmatch(sid):
            errors.append((f"{fld}.id", "required: lower-case ASCII, digits and '_', at most 16 characters"))
            continue
        fld = f"steps.{sid}"
        if sid in seen:
            errors.append((f"{fld}.id", "used twice"))
            continue
        _unknown(step, STEP_FIELDS, fld, errors)
        kind = step.get("kind")
        if kind not in KINDS:
            errors.append((f"{fld}.kind", f"required: one of {', '.join(KINDS)}"))
            kind = "mandatory"
        for key in ("short", "question", "explanation"):
            _text(step.get(key), f"{fld}.{key}", errors)
        for key in ("unmet", "unsure"):
            if key in step:
                _text(step[key], f"{fld}.{key}", errors)
        _validate_sources(step.get("sources"), f"{fld}.sources", kb, errors)
        ids = _validate_step_options(name, sid, step, kind, common, fld, errors)
        _validate_ask_if(step.get("ask_if"), seen, f"{fld}.ask_if", errors)
        repealed = step.get("repealed") or []
        if not _str_list(repealed, allow_empty=True):
            errors.append((f"{fld}.repealed", "must be a list of note ids"))
        else:
            for nid in repealed:
                if nid not in notes:
                    errors.append((f"{fld}.repealed", f"no note {nid!r} under notes"))
        seen[sid] = ids


def _validate_step_options(
    name: str, sid: str, step: dict, kind: str, common: dict, fld: str, errors: Errors
) -> set[str]:
    if "options" in step and "options_from" in step:
        errors.append((f"{fld}.options", "give options or options_from, not both"))
    if "options_from" in step:
        sets = common.get("option_sets") or {}
        if step["options_from"] not in sets:
            errors.append((f"{fld}.options_from", f"no option set {step['options_from']!r} in {COMMON}.yaml"))
            return set()
        overrides = step.get("option_labels")
        if overrides is not None:
            ids = {o.get("id") for o in sets[step["options_from"]] if isinstance(o, dict)}
            if not isinstance(overrides, dict):
                errors.append((f"{fld}.option_labels", "must map an answer id to a label"))
            else:
                for oid, label in overrides.items():
                    if oid not in ids:
                        errors.append((f"{fld}.option_labels.{oid}", "no such answer in the option set"))
                    elif not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL:
                        errors.append((f"{fld}.option_labels.{oid}", f"must be text of at most {MAX_LABEL} characters"))
    elif "option_labels" in step:
        errors.append((f"{fld}.option_labels", "only with options_from"))
    elif "options" in step:
        _validate_options(step["options"], f"{fld}.options", kind, errors)
    elif "groups" not in step:
        errors.append((f"{fld}.options", "required: options, options_from or groups"))
        return set()
    options = resolve_options(step, common)
    ids = [o.get("id") for o in options]
    groups = step.get("groups") or []
    if not isinstance(groups, list):
        errors.append((f"{fld}.groups", "must be a list of {id, label, options}"))
        groups = []
    group_ids: set[str] = set()
    for j, group in enumerate(groups):
        gfld = f"{fld}.groups[{j}]"
        if not isinstance(group, dict):
            errors.append((gfld, "must be {id, label, options}"))
            continue
        _unknown(group, {"id", "label", "options", "aliases"}, gfld, errors)
        if "aliases" in group and not _str_list(group["aliases"], allow_empty=True):
            errors.append((f"{gfld}.aliases", "must be a list of words or phrases"))
        gid = group.get("id")
        if not isinstance(gid, str) or not OPTION_ID.fullmatch(gid):
            errors.append((f"{gfld}.id", "required: lower-case ASCII, digits and '_', at most 16 characters"))
            continue
        if gid in group_ids:
            errors.append((f"{gfld}.id", "used twice"))
        group_ids.add(gid)
        _label(group.get("label"), f"{gfld}.label", errors)
        _payload(f"{name}:g:{sid}:{gid}", f"{gfld}.id", errors)
        _validate_options(group.get("options"), f"{gfld}.options", kind, errors)
        ids += [o.get("id") for o in group.get("options") or [] if isinstance(o, dict)]
    if len(ids) + len(group_ids) < 2:
        errors.append((f"{fld}.options", "a question needs at least two answers"))
    dupes = {i for i in ids if ids.count(i) > 1}
    for oid in sorted(str(d) for d in dupes):
        errors.append((f"{fld}.options", f"answer id {oid!r} used twice"))
    for oid in ids:
        if isinstance(oid, str):
            _payload(f"{name}:a:{sid}:{oid}", f"{fld}.options.{oid}", errors)
    all_options = options + [o for g in groups if isinstance(g, dict) for o in g.get("options") or []
                             if isinstance(o, dict)]
    meets = [o.get("meets") for o in all_options]
    if kind == "info" and any(m is not None for m in meets):
        errors.append((f"{fld}.options", "an info step is not a criterion: its answers carry no 'meets'"))
    if kind != "info" and True not in meets:
        errors.append((f"{fld}.options", "no answer meets the criterion (meets: true)"))
    if kind == "mandatory" and any(
        o.get("meets") is False and not o.get("advice") for o in all_options
    ) and not step.get("unmet"):
        errors.append((f"{fld}.unmet", "required: what to do when the condition is not met"))
    return {i for i in ids if isinstance(i, str)}


def _validate_options(options: Any, fld: str, kind: str, errors: Errors, shared: bool = False) -> None:
    if not isinstance(options, list) or not options:
        errors.append((fld, "must be a non-empty list of {id, label, meets}"))
        return
    for j, opt in enumerate(options):
        ofld = f"{fld}[{j}]"
        if not isinstance(opt, dict):
            errors.append((ofld, "must be {id, label, meets}"))
            continue
        _unknown(opt, OPTION_FIELDS, ofld, errors)
        oid = opt.get("id")
        if not isinstance(oid, str) or not OPTION_ID.fullmatch(oid):
            errors.append((f"{ofld}.id", "required: lower-case ASCII, digits and '_', at most 16 characters"))
        _label(opt.get("label"), f"{ofld}.label", errors)
        if "meets" in opt and opt["meets"] not in (True, False, None):
            errors.append((f"{ofld}.meets", "must be true, false or null (not known)"))
        if "aliases" in opt and not _str_list(opt["aliases"], allow_empty=True):
            errors.append((f"{ofld}.aliases", "must be a list of words or phrases"))
        if "advice" in opt:
            _text(opt["advice"], f"{ofld}.advice", errors)


def _validate_ask_if(cond: Any, earlier: dict[str, set[str]], fld: str, errors: Errors) -> None:
    if cond is None:
        return
    if not isinstance(cond, dict) or not isinstance(cond.get("step"), str):
        errors.append((fld, "must be {step, in: [answers]} or {step, not_in: [answers]}"))
        return
    _unknown(cond, {"step", "in", "not_in"}, fld, errors)
    if cond["step"] not in earlier:
        errors.append((f"{fld}.step", f"{cond['step']!r} is not an earlier step"))
        return
    keys = [k for k in ("in", "not_in") if k in cond]
    if len(keys) != 1 or not _str_list(cond[keys[0]]):
        errors.append((fld, "give exactly one of in / not_in, a list of answer ids"))
        return
    for oid in cond[keys[0]]:
        if oid not in earlier[cond["step"]]:
            errors.append((f"{fld}.{keys[0]}", f"step {cond['step']!r} has no answer {oid!r}"))


def _validate_sources(sources: Any, fld: str, kb: Any, errors: Errors) -> None:
    if not isinstance(sources, list) or not sources:
        errors.append((fld, "required: at least one {doc, article, clause}"))
        return
    for j, src in enumerate(sources):
        _validate_source(src, f"{fld}[{j}]", kb, errors)


def _validate_source(src: Any, fld: str, kb: Any, errors: Errors) -> None:
    if not isinstance(src, dict) or not isinstance(src.get("doc"), str):
        errors.append((fld, "must be a mapping with doc"))
        return
    _unknown(src, SOURCE_FIELDS, fld, errors)
    doc = kb.document(src["doc"])
    if doc is None:
        errors.append((f"{fld}.doc", f"{src['doc']!r} is not in knowledge/documents.yaml"))
        return
    article, clause = src.get("article"), src.get("clause")
    if article is not None and not (isinstance(article, int) and not isinstance(article, bool) and article > 0):
        errors.append((f"{fld}.article", "must be a positive whole number or null"))
        return
    if doc.articles and article and article > doc.articles:
        errors.append((f"{fld}.article", f"{doc.number} has only {doc.articles} articles"))
    if clause is not None:
        if not (isinstance(clause, int) and not isinstance(clause, bool) and clause > 0):
            errors.append((f"{fld}.clause", "must be a positive whole number or null"))
        elif article is None:
            errors.append((f"{fld}.clause", "a clause needs its article"))
    if "part" in src and (not isinstance(src["part"], str) or not src["part"].strip()):
        errors.append((f"{fld}.part", "must be text such as 'mục III.2.a' (for documents without articles)"))


def _validate_dossier(dossier: Any, kb: Any, errors: Errors) -> None:
    if not isinstance(dossier, dict):
        errors.append(("dossier", "must be {source, items, note}"))
        return
    _unknown(dossier, {"source", "items", "note"}, "dossier", errors)
    _validate_source(dossier.get("source"), "dossier.source", kb, errors)
    items = dossier.get("items")
    if not _str_list(items):
        errors.append(("dossier.items", "required: the documents the plan lists, one per line"))
    else:
        for j, item in enumerate(items):
            _text(item, f"dossier.items[{j}]", errors)
    if "note" in dossier:
        _text(dossier["note"], "dossier.note", errors)


# --- small checks ------------------------------------------------------------------------------


def _unknown(data: dict, allowed: set[str], fld: str, errors: Errors) -> None:
    for key in sorted(str(k) for k in set(data) - allowed):
        errors.append((f"{fld}.{key}" if fld else key, "unknown field"))


def _text(value: Any, fld: str, errors: Errors) -> None:
    """Required non-empty text whose {placeholders} are ones the bot fills in."""
    if not isinstance(value, str) or not value.strip():
        errors.append((fld, "required: non-empty text"))
        return
    for _, name, _, _ in _parse_format(value, fld, errors):
        if name is not None and name not in PLACEHOLDERS:
            errors.append((fld, f"unknown placeholder {{{name}}}; use {', '.join(sorted(PLACEHOLDERS))}"))


def _parse_format(value: str, fld: str, errors: Errors) -> list[tuple]:
    try:
        return list(string.Formatter().parse(value))
    except ValueError as exc:
        errors.append((fld, f"braces are for placeholders only ({exc}); write {{{{ or }}}} for a brace"))
        return []


def _label(value: Any, fld: str, errors: Errors) -> None:
    if not isinstance(value, str) or not value.strip():
        errors.append((fld, "required: the button text"))
    elif len(value) > MAX_LABEL:
        errors.append((fld, f"button text longer than {MAX_LABEL} characters"))


def _payload(payload: str, fld: str, errors: Errors) -> None:
    if len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        errors.append((fld, f"button payload {payload!r} is longer than {MAX_PAYLOAD_BYTES} bytes: shorten the ids"))


def _str_list(value: Any, allow_empty: bool = False) -> bool:
    return isinstance(value, list) and (allow_empty or bool(value)) and all(
        isinstance(v, str) and v.strip() for v in value
    )


def _date(value: Any) -> str | None:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    return None
