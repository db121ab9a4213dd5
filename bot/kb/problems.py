"""Problems in knowledge/, each named by file › entry › field in plain words.

A pydantic ValidationError lists errors by `loc` (a path of keys and list positions) and type; here they
become the messages an editor reads: "required", "unknown field 'answr'", "must be a list of strings".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

V1_FIELDS = ("answer", "today")
V1_MESSAGE = "format v1 field '{name}': use short/detail/history, see docs/knowledge-format.md"
# pydantic names the member of a union that failed (a trigger is a phrase or {all: ...}); editors
# get one message for the item instead.
UNION_MESSAGES = {"triggers": "a phrase, or {all: [[phrases], [phrases], ...]}"}
UNION_TAGS = {"str", "constrained-str", "AllTrigger"}


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


Loc = tuple[int | str, ...]
# Splits a loc into the entry it belongs to (a label such as an entry id) and the rest.
EntryOf = Callable[[Loc, Any], tuple[str | None, Loc]]


def whole_file(loc: Loc, data: Any) -> tuple[str | None, Loc]:
    return None, loc


def by_key(loc: Loc, data: Any) -> tuple[str | None, Loc]:
    """texts.yaml: the text's key is the entry (as YAML read it: `yes` unquoted is True)."""
    if not loc:
        return None, loc
    key = next((k for k in data if k == loc[0]), loc[0]) if isinstance(data, dict) else loc[0]
    return str(key), loc[1:]


def listed_under(section: str | None, label_field: str, label_pattern: str = r".+") -> EntryOf:
    """Items of a list (top level, or under `section`) are entries, labelled by a field when it is valid."""

    def entry_of(loc: Loc, data: Any) -> tuple[str | None, Loc]:
        items, rest = data, loc
        if section is not None:
            if not rest or rest[0] != section or not isinstance(data, dict):
                return None, loc
            items, rest = data.get(section), rest[1:]
        if not rest or not isinstance(rest[0], int):
            return None, loc
        index = rest[0]
        item = items[index] if isinstance(items, list) and index < len(items) else None
        label = item.get(label_field) if isinstance(item, dict) else None
        valid = isinstance(label, str) and re.fullmatch(label_pattern, label.strip())
        if valid and isinstance(label, str) and not _field_is(rest[1:], label_field):
            return label.strip(), rest[1:]
        return f"#{index + 1}", rest[1:]

    return entry_of


def under_key(section: str) -> EntryOf:
    """intents.yaml: `intents.<name>` is the entry."""

    def entry_of(loc: Loc, data: Any) -> tuple[str | None, Loc]:
        if len(loc) >= 2 and loc[0] == section:
            return str(loc[1]), loc[2:]
        return None, loc

    return entry_of


def _field_is(loc: Loc, name: str) -> bool:
    return len(loc) >= 1 and loc[0] == name


def from_validation(
    exc: ValidationError, file: str, data: Any, entry_of: EntryOf = whole_file,
    keyed_lists: Sequence[str] = (), key_pattern: str = r"^[a-z][a-z0-9_]{0,15}$",
) -> list[Problem]:
    """One Problem per pydantic error. `keyed_lists` names lists whose items are shown by their id
    (`steps.law.sources[0].doc` rather than `steps[0].sources[0].doc`) when that id is valid."""
    problems: list[Problem] = []
    seen: set[tuple[str | None, str | None, str]] = set()
    for err in exc.errors():
        loc: Loc = tuple(err["loc"])
        message = _message(err)
        raw = _descend(data, loc)
        if err["type"] == "too_short" and isinstance(raw, list) and len(raw) >= err["ctx"]["min_length"]:
            continue  # pydantic also counts the items that failed: their own errors say enough
        collapsed, message = _collapse_union(loc, message)
        if len(loc) >= 2 and loc[-1] == "[key]":
            loc = loc[:-1]
            if err["type"] == "string_type":
                message = "key must be text (quote it: YAML reads yes/no/on/off as booleans)"
        elif collapsed != loc:
            loc = collapsed
        elif err["type"] == "string_type" and loc and type(loc[-1]) is int:
            loc, message = loc[:-1], "must be a list of strings"
        if err["type"] == "extra_forbidden" and len(loc) == 3 and loc[0] == "entries" and loc[2] in V1_FIELDS:
            message = V1_MESSAGE.format(name=loc[-1])
        entry, rest = entry_of(loc, data)
        path = _path(rest, _descend(data, loc[: len(loc) - len(rest)]), keyed_lists, key_pattern)
        key = (entry, path, message)
        if key not in seen:
            seen.add(key)
            problems.append(Problem(file, entry, path or None, message))
    return problems


def _collapse_union(loc: Loc, message: str) -> tuple[Loc, str]:
    """`triggers[0]` and one message, for loc (…, 'triggers', 0, <union member>, …)."""
    for i, part in enumerate(loc[:-2]):
        if isinstance(part, str) and part in UNION_MESSAGES and type(loc[i + 1]) is int and loc[i + 2] in UNION_TAGS:
            return loc[: i + 2], UNION_MESSAGES[part]
    return loc, message


def _descend(data: Any, loc: Loc) -> Any:
    for part in loc:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _path(loc: Loc, data: Any, keyed_lists: Sequence[str], key_pattern: str) -> str:
    out = ""
    parent: int | str | None = None
    for part in loc:
        if type(part) is int:
            item = data[part] if isinstance(data, list) and part < len(data) else None
            ident = item.get("id") if isinstance(item, dict) else None
            if parent in keyed_lists and isinstance(ident, str) and re.fullmatch(key_pattern, ident):
                out += f".{ident}"
            else:
                out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
        data = _descend(data, (part,))
        parent = part
    return out


def _message(err: Any) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return f"unknown field '{err['loc'][-1]}'"
    if kind == "plain":
        return str(err["msg"])
    if kind == "value_error":
        return str(ctx.get("error") or err["msg"])
    if kind in ("string_type",):
        return "must be text"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind in ("list_type", "tuple_type"):
        return "must be a list"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"must have at least {n} items"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a mapping"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number"
    if kind == "greater_than":
        return "must be a positive whole number"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind.startswith("date"):
        return "must be a date written YYYY-MM-DD"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}".replace("'", "")
    return str(err["msg"])
