"""Parsing a request's JSON body with a bound on nesting, for every webhook and the web chat.

`json.loads` recurses once per level: a 60 KB body of 30,000 "[" raises RecursionError, which
surfaces as a 500 (and Telegram re-sends a webhook that got a 500, forever). The depth is measured
first, outside strings, without recursion; then the body is parsed and its text cleaned of lone
surrogates (bot.textnorm.clean), so every channel stores what it received.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.textnorm import clean

MAX_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


class BadBody(ValueError):
    """Not a JSON document this server accepts; the message says why (for a 400 answer)."""


def depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in `raw` (strings skipped); no recursion, linear time."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", raw))
    level = deepest = 0
    for byte in brackets:
        if byte in b"[{":
            level += 1
            deepest = max(deepest, level)
        else:
            level -= 1
    return deepest


def loads(raw: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed body with cleaned strings; BadBody when it is not UTF-8 JSON or nests too deeply."""
    if depth(raw) > max_depth:
        raise BadBody(f"nested deeper than {max_depth} levels")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, a number of over 4300 digits
        raise BadBody("not UTF-8 JSON") from exc
    return cleaned(data)


def cleaned(value: Any) -> Any:
    """`value` with `clean()` applied to every string, keys included (depth is already bounded)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [cleaned(v) for v in value]
    if isinstance(value, dict):
        return {clean(k): cleaned(v) for k, v in value.items()}
    return value
