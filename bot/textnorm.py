"""Vietnamese text handling: one normal form for everything that is stored, indexed or compared.

Users type with or without tones, in NFC or NFD, with teencode abbreviations. Search compares
*folded* text (no tones, đ→d, lower case, punctuation gone) because that is the only form every
way of typing agrees on; the original NFC text is what we store and show.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_NON_WORD = re.compile(r"[^0-9a-z]+")
# Zero-width and bidi controls that phones and copy-paste leave behind.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e"))


def nfc(text: str) -> str:
    """NFC-normalise, drop invisible controls and collapse whitespace."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    return " ".join(text.split())


def fold(text: str) -> str:
    """Lower-case and strip every diacritic, including đ→d which Unicode never decomposes."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", stripped).lower()


def tokens(text: str) -> list[str]:
    """Folded word tokens (Vietnamese syllables, numbers), punctuation dropped."""
    return [t for t in _NON_WORD.split(fold(text)) if t]


@dataclass(frozen=True)
class Normalizer:
    """Turns text into the canonical token list used on both sides of search.

    `abbreviations` maps one folded token to its expansion ("htx" → "hop tac xa");
    `phrases` maps a folded phrase (tuple of tokens) to its canonical form. Both come from
    knowledge/synonyms.yaml so content editors can extend them without code.
    """

    abbreviations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    phrases: Mapping[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    max_phrase: int = 1

    @classmethod
    def build(cls, abbreviations: Mapping[str, str], synonym_groups: Iterable[Iterable[str]]) -> Normalizer:
        abbr = {fold(k).strip(): tuple(tokens(v)) for k, v in abbreviations.items()}
        phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        for group in synonym_groups:
            forms = [tuple(_expand(tokens(p), abbr)) for p in group]
            canonical = forms[0]
            for form in forms[1:]:
                if form and form != canonical:
                    phrases[form] = canonical
        longest = max((len(p) for p in phrases), default=1)
        return cls(abbreviations=abbr, phrases=phrases, max_phrase=longest)

    def __call__(self, text: str) -> list[str]:
        toks = _expand(tokens(text), self.abbreviations)
        if not self.phrases:
            return toks
        out: list[str] = []
        i = 0
        while i < len(toks):
            for n in range(min(self.max_phrase, len(toks) - i), 0, -1):
                canonical = self.phrases.get(tuple(toks[i : i + n]))
                if canonical is not None:
                    out.extend(canonical)
                    i += n
                    break
            else:
                out.append(toks[i])
                i += 1
        return out


def _expand(toks: list[str], abbreviations: Mapping[str, tuple[str, ...]]) -> list[str]:
    out: list[str] = []
    for t in toks:
        out.extend(abbreviations.get(t, (t,)))
    return out
