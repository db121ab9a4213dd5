"""Vietnamese text handling: one normal form for everything that is stored, indexed or compared.

Users type with or without tones, in NFC or NFD, with teencode abbreviations. Search compares
*folded* text (no tones, đ→d, lower case, punctuation gone) because that is the only form every
way of typing agrees on; the original NFC text is what we store and show.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

D = TypeVar("D")

_NON_WORD = re.compile(r"[^0-9a-z]+")
# Zero-width and bidi controls that phones and copy-paste leave behind.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e"))


# A lone UTF-16 surrogate (JSON "\\ud800" without its pair) can be decoded but never encoded: SQLite,
# aiohttp and every platform API refuse it. Cleaned at the edge, once, by `clean()`.
_SURROGATES = re.compile("[\ud800-\udfff]")
# Payload ids: ASCII digits only ("²".isdigit() is True but int("²") raises), short enough for SQLite.
_ASCII_ID = re.compile(r"[0-9]{1,18}")


def clean(text: str) -> str:
    """Text any channel received, made safe to store and send: lone surrogates become U+FFFD, NUL goes.

    Every channel and the engine pass user-supplied strings (text, payloads, names) through this, so a
    malformed escape in a JSON body is answered like any other message instead of failing on insert.
    """
    if not text.isascii():
        text = _SURROGATES.sub("\ufffd", text)
    return text.replace("\x00", "")


def clean_opt(text: str | None) -> str | None:
    """`clean()` for optional fields."""
    return None if text is None else clean(text)


def clean_fields(record: D) -> D:
    """A copy of the dataclass `record` with `clean()` applied to each of its text fields."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(record):  # type: ignore[arg-type]
        value = getattr(record, f.name)
        if isinstance(value, str):
            cleaned = clean(value)
            if cleaned != value:
                changes[f.name] = cleaned
    return dataclasses.replace(record, **changes) if changes else record  # type: ignore[type-var]


def parse_id(text: str, max_digits: int = 18) -> int | None:
    """A positive id from a payload, strictly: ASCII digits, at most `max_digits` (fits SQLite's int64).

    Anything else (superscript digits, signs, spaces, 30-digit numbers) is None, so handlers answer
    politely instead of raising on `int()` or on SQLite's integer overflow.
    """
    if len(text) > max_digits or not _ASCII_ID.fullmatch(text):
        return None
    value = int(text)
    return value if value > 0 else None


def nfc(text: str) -> str:
    """NFC-normalise, drop invisible controls and collapse whitespace."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    return " ".join(text.split())


@functools.lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Lower-case and strip every diacritic, including đ→d which Unicode never decomposes. Cached: the same
    syllables are folded again and again (phrase lists at load, every message's words)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", stripped).lower()


def tokens(text: str) -> list[str]:
    """Folded word tokens (Vietnamese syllables, numbers), punctuation dropped."""
    return [t for t in _NON_WORD.split(fold(text)) if t]


_WORD = re.compile(r"[^\W_]+")


def toned_tokens(text: str) -> list[str]:
    """Lower-case NFC tokens that keep their tones: "Bộ máy" → ["bộ", "máy"]."""
    return [t for t in _WORD.findall(unicodedata.normalize("NFC", text).lower()) if fold(t)]


Token = tuple[str, str]  # (toned, folded)


def _pair(word: str) -> Token:
    return word, fold(word)


def _matches(rule: Token, typed: Token) -> bool:
    """A rule written with tones fires on the same toned word, or on a word typed without any tones.

    Folding alone would let "mấy" (how many) rewrite "máy" (machine), "đuổi" catch "dưới".
    """
    rule_toned, rule_folded = rule
    typed_toned, typed_folded = typed
    if typed_folded != rule_folded:
        return False
    return rule_toned == rule_folded or typed_toned == typed_folded or typed_toned == rule_toned


@dataclass(frozen=True)
class Normalizer:
    """Turns text into the canonical folded token list used on both sides of search.

    `abbreviations` maps one word to its expansion ("htx" → "hợp tác xã"); `phrases` maps a phrase to
    its canonical form. Both come from knowledge/synonyms*.yaml so content editors extend them
    without code, and both respect tones (see `_matches`).
    """

    abbreviations: dict[str, list[tuple[Token, tuple[str, ...]]]] = field(default_factory=dict)
    phrases: dict[str, list[tuple[tuple[Token, ...], tuple[str, ...]]]] = field(default_factory=dict)

    @classmethod
    def build(cls, abbreviations: Mapping[str, str], synonym_groups: Iterable[Iterable[str]]) -> Normalizer:
        abbr: dict[str, list[tuple[Token, tuple[str, ...]]]] = {}
        for key, value in abbreviations.items():
            words = toned_tokens(key)
            if len(words) != 1:
                continue
            abbr.setdefault(fold(words[0]), []).append((_pair(words[0]), tuple(tokens(value))))
        probe = cls(abbreviations=abbr)
        phrases: dict[str, list[tuple[tuple[Token, ...], tuple[str, ...]]]] = {}
        for group in synonym_groups:
            forms = [probe._expand([_pair(w) for w in toned_tokens(p)]) for p in group]
            canonical = tuple(f for _, f in forms[0])
            if not canonical:
                continue
            # The canonical phrase maps to itself, so a shorter rule never rewrites inside it
            # ("nhập tỉnh" → "sáp nhập tỉnh" must not turn "sáp nhập tỉnh" into "sáp sáp nhập tỉnh").
            phrases.setdefault(canonical[0], []).append((tuple(forms[0]), canonical))
            for form in forms[1:]:
                folded = tuple(f for _, f in form)
                if form and folded != canonical:
                    phrases.setdefault(folded[0], []).append((tuple(form), canonical))
        for rules in phrases.values():
            rules.sort(key=lambda r: len(r[0]), reverse=True)  # longest phrase first
        return cls(abbreviations=abbr, phrases=phrases)

    def _expand(self, words: list[Token]) -> list[Token]:
        out: list[Token] = []
        for word in words:
            for rule, expansion in self.abbreviations.get(word[1], ()):
                if _matches(rule, word):
                    out.extend((e, e) for e in expansion)
                    break
            else:
                out.append(word)
        return out

    def words(self, text: str) -> list[Token]:
        """(toned, folded) words with abbreviations expanded, for tone-aware phrase tests."""
        return self._expand([_pair(w) for w in toned_tokens(text)])

    def contains(self, words: list[Token], phrase: str) -> bool:
        """Whether `phrase` occurs in `words`, tone-aware: "chùa" (pagoda) is not "chưa" (not yet)."""
        rule = [_pair(w) for w in toned_tokens(phrase)]
        n = len(rule)
        return n > 0 and any(
            all(_matches(r, w) for r, w in zip(rule, words[i : i + n], strict=True))
            for i in range(len(words) - n + 1)
        )

    def __call__(self, text: str) -> list[str]:
        words = self._expand([_pair(w) for w in toned_tokens(text)])
        # Rules chain ("xã viên" → "thành viên", then "cho thành viên vay" → "cho vay nội bộ"):
        # repeat until nothing changes; rewritten words carry no tones, so later passes match them.
        for _ in range(4):
            rewritten = self._rewrite(words)
            if rewritten == words:
                break
            words = rewritten
        return [f for _, f in words]

    def _rewrite(self, words: list[Token]) -> list[Token]:
        out: list[Token] = []
        i = 0
        while i < len(words):
            for form, canonical in self.phrases.get(words[i][1], ()):
                n = len(form)
                if i + n <= len(words) and all(_matches(r, w) for r, w in zip(form, words[i : i + n], strict=True)):
                    matched = words[i : i + n]
                    # An identity match keeps the words as typed (tones and all).
                    out.extend(matched if tuple(f for _, f in matched) == canonical else [(c, c) for c in canonical])
                    i += n
                    break
            else:
                out.append(words[i])
                i += 1
        return out
