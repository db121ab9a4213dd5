"""Typed answers to typed text: what a free-text reply means, or None when it is unclear.

The words come from the data (option labels and aliases, the commands and fillers in _common.yaml);
the rule is the longest phrase the text contains, and only if exactly one meaning has that length.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from bot.textnorm import tokens
from handlers.selfcheck_model import Check, Step

MAX_ANSWER_TOKENS = 6  # a longer text is a sentence, not an answer: ask again rather than guess


class Nav(enum.StrEnum):
    """The commands of _common.yaml (the schema allows exactly these)."""

    BACK = "back"
    SKIP = "skip"
    HELP = "help"
    RESTART = "restart"
    CANCEL = "cancel"


class Consent(enum.StrEnum):
    YES = "yes"
    NO = "no"


@dataclass(frozen=True)
class Pick:
    """An answer option of the current step."""

    option: str


@dataclass(frozen=True)
class OpenGroup:
    """A group of answers (e.g. the 12 models) to show."""

    group: str


Understood = Nav | Consent | Pick | OpenGroup
Targets = dict[tuple[str, ...], Understood | None]  # None: a phrase claimed by two meanings


def read(
    check: Check,
    text: str,
    targets: Targets,
    numbered: list[Understood] | None = None,
    multiword_nav_only: bool = False,
) -> Understood | None:
    """What a typed reply means: the target of the longest phrase it contains, if only one fits.

    "chua biet" beats "chua" because it is longer; "co khong" (two answers, same length) is
    ambiguous and asked again. Navigation words ("quay lai", "bo qua", ...) come from the data.
    """
    words = [w for w in tokens(text) if w not in check.fillers] or tokens(text)
    if not words or len(words) > MAX_ANSWER_TOKENS:
        return None
    if numbered and len(words) == 1 and words[0].isdigit() and 1 <= int(words[0]) <= len(numbered):
        return numbered[int(words[0]) - 1]
    candidates = dict(targets)
    for action, phrases in check.commands.items():
        for phrase in phrases:
            if phrase and (len(phrase) > 1 or not multiword_nav_only):
                add(candidates, phrase, Nav(action))
    best_len, best = 0, set[Understood]()
    for phrase, target in candidates.items():
        if target is None or not _contains(words, phrase):
            continue
        if len(phrase) > best_len:
            best_len, best = len(phrase), {target}
        elif len(phrase) == best_len:
            best.add(target)
    return best.pop() if len(best) == 1 else None


def command(check: Check, text: str, multiword_only: bool = False) -> Nav | None:
    """Only a navigation command (while asking a name: "Dũng" or "Huy" is a name, not "dừng" or "hủy")."""
    understood = read(check, text, {}, multiword_nav_only=multiword_only)
    return understood if isinstance(understood, Nav) else None


def answer_targets(step: Step) -> Targets:
    """The current step's groups and options, by label and alias."""
    targets: Targets = {}
    for g in step.groups:
        for phrase in (tokens(g.label), *g.aliases):
            add(targets, phrase, OpenGroup(g.id))
    for o in step.all_options():
        add(targets, tokens(o.label), Pick(o.id))
        for alias in o.aliases:
            add(targets, alias, Pick(o.id))
    return targets


def yes_no_targets(check: Check) -> Targets:
    """Consent answers: the shared yes/no set, read as yes (meets) or no (does not)."""
    targets: Targets = {}
    for o in check.yes_no:
        if o.meets is None:
            continue
        value = Consent.YES if o.meets else Consent.NO
        for phrase in (tuple(tokens(o.label)), *o.aliases):
            add(targets, phrase, value)
    return targets


def add(targets: Targets, phrase: Sequence[str], target: Understood) -> None:
    """Register a phrase; a phrase claimed by two different targets means nothing (None)."""
    key = tuple(phrase)
    if not key:
        return
    if key in targets and targets[key] != target:
        targets[key] = None
    else:
        targets[key] = target


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))
