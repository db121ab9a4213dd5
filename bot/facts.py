"""The member's own facts against the law's numbers: "HTX 8 người", "góp 40%", "vợ chủ tịch làm kế toán".

An entry can only say "at least 5 official members"; the member asked whether *their* 8 are
enough, or whether *their* 40% is allowed. This module extracts the number or the relationship
from the message and applies the rule (data: knowledge/rules.yaml), returning the first sentence of
the answer with its article. It answers only when the message clearly gives the fact AND asks
about that rule; otherwise it returns nothing and the entry's general answer stands.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.kb.model import Citation
from bot.reading import KNOWLEDGE_DIR, SHORT_QUESTION, PhraseSet, Text, Word, load_yaml, str_list
from bot.textnorm import Normalizer, fold, toned_tokens

LAWS = ("2023", "2012")
BODIES = ("htx", "lhhtx", "tht")


@dataclass(frozen=True)
class Verdict:
    """`yes`: the member's situation is allowed or enough (per rule: enough members, share within
    the cap, board not required, relatives may hold both posts, old enough)."""

    rule_id: str
    yes: bool
    sentence: str
    citations: tuple[Citation, ...]
    entry_id: str | None


def _citations(raw: Any, source: str) -> tuple[Citation, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{source}: every rule needs `citations`")
    out = []
    for c in raw:
        if not isinstance(c, dict) or not isinstance(c.get("doc"), str) or not isinstance(c.get("article"), int):
            raise ValueError(f"{source}: citation needs `doc` and an integer `article`: {c!r}")
        clause = c.get("clause")
        out.append(Citation(c["doc"], c["article"], clause if isinstance(clause, int) else None))
    return tuple(out)


def _text(item: dict[str, Any], key: str, source: str, required: bool = True) -> str:
    value = item.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{source}: `{key}` must be a sentence")
    return value.strip()


def _rule_list(section: dict[str, Any], source: str) -> list[dict[str, Any]]:
    rules = section.get("rules")
    if not isinstance(rules, list) or not rules:
        raise ValueError(f"{source}: `rules` must be a non-empty list")
    for rule in rules:
        if not isinstance(rule, dict) or not isinstance(rule.get("id"), str):
            raise ValueError(f"{source}: every rule needs an `id`")
        if str(rule.get("law")) not in LAWS:
            raise ValueError(f"{source}: rule {rule['id']} has unknown law {rule.get('law')!r}")
        if "body" in rule and rule["body"] not in BODIES:
            raise ValueError(f"{source}: rule {rule['id']} has unknown body {rule['body']!r}")
    return rules


class _Keyed:
    """Phrases that each stand for a value ("chủ tịch" → board); the longest match decides."""

    def __init__(self, table: dict[str, list[str]]):
        self.values: dict[tuple[str, ...], str] = {}
        phrases = []
        for value, items in table.items():
            for phrase in items:
                self.values[tuple(fold(w) for w in toned_tokens(phrase))] = value
                phrases.append(phrase)
        self.set = PhraseSet(phrases)

    def find(self, words: tuple[Word, ...]) -> list[tuple[int, int, str]]:
        return [(a, b, self.values[tuple(w.folded for w in words[a:b])]) for a, b in self.set.find(words)]


def _group(numbers: dict[str, int]) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for word, value in numbers.items():
        table.setdefault(str(value), []).append(str(word))
    return table


@dataclass(frozen=True)
class FactRules:
    data: dict[str, Any]
    body_phrases: _Keyed
    count_units: PhraseSet
    count_units_lhhtx: PhraseSet
    count_not_members: PhraseSet
    count_thresholds: PhraseSet
    count_current: PhraseSet
    number_words: _Keyed
    min_asks: PhraseSet
    min_not_if: PhraseSet
    min_keeping: PhraseSet
    share_asks: PhraseSet
    share_not_if: PhraseSet
    gov_asks: PhraseSet
    gov_not_if: PhraseSet
    family_asks: PhraseSet
    roles: _Keyed
    relations: _Keyed  # "in", "couple", "outside"
    verbs: PhraseSet
    links: PhraseSet
    age_asks: PhraseSet
    age_not_if: PhraseSet
    age_capital: PhraseSet
    quorum_asks: PhraseSet
    quorum_meeting: PhraseSet
    quorum_board: PhraseSet
    quorum_attended: PhraseSet

    @classmethod
    def from_data(cls, data: dict[str, Any], source: str = "rules.yaml") -> FactRules:
        for key in (
            "bodies",
            "body_phrases",
            "min_members",
            "max_share",
            "governance",
            "family",
            "age",
            "number_words",
        ):
            if not isinstance(data.get(key), dict):
                raise ValueError(f"{source}: `{key}` must be a mapping")
        for key in ("min_members", "max_share", "governance", "age", "quorum"):
            if not isinstance(data.get(key), dict):
                raise ValueError(f"{source}: `{key}` must be a mapping")
            for rule in _rule_list(data[key], f"{source}: {key}"):
                _citations(rule.get("citations"), f"{source}: {rule['id']}")
        for rule in data["quorum"]["rules"]:
            share = rule.get("at_least")
            if not (isinstance(share, list) and len(share) == 2 and all(isinstance(x, int) and x > 0 for x in share)):
                raise ValueError(f"{source}: {rule['id']}: `at_least` must be [numerator, denominator]")
        fam = data["family"]
        _text(fam["sentences"], "forbidden", f"{source}: family.sentences")
        roles = fam.get("roles")
        if not isinstance(roles, dict) or not roles:
            raise ValueError(f"{source}: family.roles must be a mapping")
        for pair in fam.get("forbidden", []):
            if pair.get("a") not in roles or pair.get("b") not in roles or not str(pair.get("article", "")).strip():
                raise ValueError(f"{source}: family.forbidden item needs roles a, b and an article: {pair!r}")
        numbers = data["number_words"]
        if not all(isinstance(v, int) for v in numbers.values()):
            raise ValueError(f"{source}: number_words values must be integers")
        return cls(
            data=data,
            body_phrases=_Keyed({k: [str(p) for p in v] for k, v in data["body_phrases"].items()}),
            count_units=PhraseSet(str_list(data, "count_units", source)),
            count_units_lhhtx=PhraseSet(str_list(data, "count_units_lhhtx", source)),
            count_not_members=PhraseSet(str_list(data, "count_not_members", source)),
            count_thresholds=PhraseSet(str_list(data, "count_thresholds", source)),
            count_current=PhraseSet(str_list(data, "count_current", source)),
            number_words=_Keyed(_group(numbers)),
            min_asks=PhraseSet(str_list(data["min_members"], "asks", source)),
            min_not_if=PhraseSet(str_list(data["min_members"], "not_if", source)),
            min_keeping=PhraseSet(str_list(data["min_members"], "keeping", source)),
            share_asks=PhraseSet(str_list(data["max_share"], "asks", source)),
            share_not_if=PhraseSet(str_list(data["max_share"], "not_if", source)),
            gov_asks=PhraseSet(str_list(data["governance"], "asks", source)),
            gov_not_if=PhraseSet(str_list(data["governance"], "not_if", source)),
            family_asks=PhraseSet(str_list(fam, "asks", source)),
            roles=_Keyed({k: [str(p) for p in v] for k, v in roles.items()}),
            relations=_Keyed(
                {
                    "couple": str_list(fam, "couples", source),
                    "in": str_list(fam, "relations", source),
                    "outside": str_list(fam, "outside", source),
                }
            ),
            verbs=PhraseSet(str_list(fam, "verbs", source)),
            links=PhraseSet(str_list(fam, "links", source)),
            age_asks=PhraseSet(str_list(data["age"], "asks", source)),
            age_not_if=PhraseSet(str_list(data["age"], "not_if", source) if "not_if" in data["age"] else []),
            age_capital=PhraseSet(str_list(data["age"], "wants_capital", source)),
            quorum_asks=PhraseSet(str_list(data["quorum"], "asks", source)),
            quorum_meeting=PhraseSet(str_list(data["quorum"], "meeting", source)),
            quorum_board=PhraseSet(str_list(data["quorum"], "board", source)),
            quorum_attended=PhraseSet(str_list(data["quorum"], "attended", source)),
        )

    def rule(self, section: str, law: str, body: str | None = None) -> dict[str, Any] | None:
        for rule in self.data[section]["rules"]:
            if str(rule["law"]) == law and (body is None or rule.get("body") == body):
                return dict(rule)
        return None


@functools.lru_cache(maxsize=4)
def load_rules(directory: Path | None = None) -> FactRules:
    return FactRules.from_data(load_yaml("rules.yaml", directory), str((directory or KNOWLEDGE_DIR) / "rules.yaml"))


# ---------------------------------------------------------------------------------------------
# Extraction

_PERCENT = re.compile(r"(\d{1,3}(?:[.,]\d+)?)\s*(?:%|phần\s*trăm|phan\s*tram)", re.IGNORECASE)
_LOOKBACK = 4  # words before a number that may say it counts a board, not the members


def _number(rules: FactRules, words: tuple[Word, ...], k: int) -> tuple[int, int] | None:
    """(value, words used) of a number at word k: digits or a number word ("tám")."""
    if words[k].folded.isdigit():
        return (int(words[k].folded), 1) if len(words[k].folded) <= 6 else None
    n = rules.number_words.set.at(words, k)
    if n:
        return int(rules.number_words.values[tuple(w.folded for w in words[k : k + n])]), n
    return None


def _count(rules: FactRules, t: Text, body: str) -> tuple[int, str] | None:
    """How many members the message says the cooperative has ("HTX 8 người", "có tám hộ"), with the unit
    as typed. Of several different counts ("lập năm 2019 có 7 người … giờ chỉ còn 4") the one marked as
    today's counts; with none marked the message does not say, and there is no count."""
    words = t.words
    units = [rules.count_units] + ([rules.count_units_lhhtx] if body == "lhhtx" else [])
    found: list[tuple[int, str, bool]] = []
    for k in range(len(words)):
        number = _number(rules, words, k)
        if number is None:
            continue
        value, used = number
        unit = next((n for u in units if (n := u.at(words, k + used))), 0)
        if not unit:
            continue
        if rules.count_not_members.search(words, max(0, k - _LOOKBACK), k):
            continue
        if rules.count_thresholds.ending(words, max(0, k - 2), k):
            continue  # "từ 30 thành viên": the law's threshold, not their cooperative
        typed = t.span(k + used, k + used + unit)
        current = bool(rules.count_current.ending(words, max(0, k - 3), k))
        found.append((value, typed if typed.isupper() else typed.lower(), current))
    if len({value for value, _, _ in found}) > 1:
        found = [f for f in found if f[2]][-1:]
    return (found[0][0], found[0][1]) if found else None


def _percent(t: Text) -> float | None:
    m = _PERCENT.search(t.raw)
    return float(m.group(1).replace(",", ".")) if m else None


def _body(rules: FactRules, *texts: Text) -> str:
    for t in texts:
        found = rules.body_phrases.find(t.words)
        if found:
            return found[0][2]
    return "htx"


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value).replace(".", ",")


# ---------------------------------------------------------------------------------------------
# Rules


def _asked(asks: PhraseSet, q: Text, s: Text, not_if: PhraseSet | None = None, borrow: bool = True) -> bool:
    """Whether the question asks about a rule; a very short question borrows the story's topic (and
    another rule's words in the story count against it: "HĐQT 5 người … Như vậy có đủ không?")."""
    texts = [q, s] if borrow and len(q.words) <= SHORT_QUESTION else [q]
    if not any(asks.search(t.words) for t in texts):
        return False
    return not_if is None or not any(not_if.search(t.words) for t in texts)


def _min_members(rules: FactRules, q: Text, s: Text, law: str, body: str) -> Verdict | None:
    if not _asked(rules.min_asks, q, s, rules.min_not_if):
        return None
    rule = rules.rule("min_members", law, body)
    count = _count(rules, q, body) or _count(rules, s, body)
    if rule is None or count is None:
        return None
    n, unit = count
    minimum = int(rule["minimum"])
    keeping = bool(rules.min_keeping.search(q.words)) and "keep_no" in rule
    if n >= minimum:
        key, cites = "say_yes", rule["citations"]
    elif keeping:
        key, cites = "keep_no", rule.get("keep_citations", rule["citations"])
    else:
        key, cites = "say_no", rule["citations"]
    sentence = str(rule[key]).format(n=n, unit=unit, minimum=minimum)
    return Verdict(rule["id"], n >= minimum, sentence, _citations(cites, rule["id"]), rule.get("entry_id"))


def _max_share(rules: FactRules, q: Text, s: Text, law: str, body: str) -> Verdict | None:
    if not _asked(rules.share_asks, q, s, rules.share_not_if):
        return None
    pct = _percent(q) if _percent(q) is not None else _percent(s)
    rule = rules.rule("max_share", law, body)
    if rule is None or pct is None or not 0 < pct <= 100:
        return None
    cap = int(rule["cap"])
    ok = pct <= cap
    sentence = str(rule["say_yes" if ok else "say_no"]).format(pct=_fmt(pct), cap=cap)
    return Verdict(rule["id"], ok, sentence, _citations(rule["citations"], rule["id"]), rule.get("entry_id"))


def _governance(rules: FactRules, q: Text, s: Text, law: str, body: str) -> Verdict | None:
    if not _asked(rules.gov_asks, q, s, rules.gov_not_if, borrow=False):  # "hđqt" in a story may just set the scene
        return None
    rule = rules.rule("governance", law, body)
    count = _count(rules, q, body) or _count(rules, s, body)
    if rule is None or count is None:
        return None
    n = count[0]
    if rule.get("always_full"):
        ok = False
    elif n < int(rule["below"]):
        ok = True
    elif "say_no" in rule:
        ok = False
    else:
        return None  # from the threshold on, size also depends on revenue or capital: no verdict
    sentence = str(rule["say_yes" if ok else "say_no"]).format(n=n)
    return Verdict(rule["id"], ok, sentence, _citations(rule["citations"], rule["id"]), rule.get("entry_id"))


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    kind: str  # role, rel, verb, link
    value: str  # role key / relation kind
    text: str


_GAP = 2  # words allowed between two parts of a pattern ("vợ CỦA ANH chủ tịch")


def _mentions(rules: FactRules, t: Text) -> list[_Mention]:
    words = t.words
    found: list[_Mention] = []
    taken: set[int] = set()
    for kind, hits in (
        ("rel", rules.relations.find(words)),
        ("role", rules.roles.find(words)),
    ):
        for a, b, value in hits:
            if taken.isdisjoint(range(a, b)):
                found.append(_Mention(a, b, kind, value, t.span(a, b)))
                taken.update(range(a, b))
    for kind, phrases in (("verb", rules.verbs), ("link", rules.links)):
        for a, b in phrases.find(words):
            if taken.isdisjoint(range(a, b)):
                found.append(_Mention(a, b, kind, "", t.span(a, b)))
                taken.update(range(a, b))
    return sorted(found, key=lambda m: m.start)


def _chain(ms: list[_Mention], i: int, kinds: tuple[str, ...]) -> list[_Mention] | None:
    """Mentions ms[i], ms[i+1], … of the given kinds, each close to the one before."""
    if i + len(kinds) > len(ms):
        return None
    chain = ms[i : i + len(kinds)]
    for n, (m, kind) in enumerate(zip(chain, kinds, strict=True)):
        if m.kind != kind or (n and m.start - chain[n - 1].end > _GAP):
            return None
    return chain


def _family_pair(rules: FactRules, t: Text) -> tuple[str, str, str, str] | None:
    """(role of one, role of the other, relation kind, relation as typed) from the patterns
    "vợ chủ tịch làm kế toán", "giám đốc cho con gái làm thủ quỹ", "kế toán là vợ chủ tịch", "hai vợ
    chồng: chồng làm giám đốc, vợ làm thủ quỹ"."""
    ms = _mentions(rules, t)
    for i, m in enumerate(ms):
        if m.kind == "rel" and m.value != "couple":
            c = _chain(ms, i, ("rel", "role", "verb", "role"))
            if c:
                return c[1].value, c[3].value, c[0].value, c[0].text
        if m.kind == "role":
            c = _chain(ms, i, ("role", "link", "rel", "verb", "role"))
            if c and c[2].value != "couple":
                return c[0].value, c[4].value, c[2].value, c[2].text
            # "kiểm soát viên lại là em ruột giám đốc": the post first, then whose relative holds it.
            c = _chain(ms, i, ("role", "verb", "rel", "role"))
            if c and c[2].value != "couple":
                return c[3].value, c[0].value, c[2].value, c[2].text
    rels = [m for m in ms if m.kind == "rel"]
    roles = [m for m in ms if m.kind == "role"]
    couple = next((m for m in rels if m.value == "couple"), None)
    both = {fold(m.text.lower()) for m in rels} >= {"vo", "chong"}
    if (couple or both) and len(roles) >= 2:
        text = couple.text if couple else "vợ chồng"
        return roles[0].value, roles[1].value, "in", text
    if couple and len(roles) == 1 and any(w.folded == "cung" for w in t.words[couple.end :]):
        return roles[0].value, roles[0].value, "in", couple.text
    # "vợ tôi làm thủ quỹ, tôi làm giám đốc": one relative, two posts each taken up by a verb.
    held = [
        m
        for n, m in enumerate(ms)
        if m.kind == "role" and n and ms[n - 1].kind == "verb" and m.start - ms[n - 1].end <= _GAP
    ]
    kin = [m for m in rels if m.value == "in"]
    if len(kin) == 1 and len(held) >= 2:
        return held[0].value, held[1].value, "in", kin[0].text
    return None


def _family(rules: FactRules, q: Text, s: Text, law: str) -> Verdict | None:
    fam = rules.data["family"]
    if str(fam["law"]) != law or not rules.family_asks.search(q.words):
        return None
    pair = _family_pair(rules, q) or _family_pair(rules, s)
    if pair is None:
        return None
    a, b, kind, relation = pair
    relation = relation.lower()
    names: dict[str, str] = fam["names"]
    sentences: dict[str, str] = fam["sentences"]
    rule_id, entry = str(fam["id"]), fam.get("entry_id")
    regulated = set(names) | {"accountant"}
    if a not in regulated or b not in regulated:
        return None

    def verdict(yes: bool, sentence: str, clause: int | None = None) -> Verdict:
        cites = (Citation("17/2023/QH15", 62, clause), Citation("17/2023/QH15", 4, 11))
        return Verdict(rule_id, yes, sentence, cites, entry)

    if kind == "outside":
        return verdict(True, sentences["outside"].format(relation=relation))
    for pair_rule in fam["forbidden"]:
        if {pair_rule["a"], pair_rule["b"]} == {a, b}:
            first, second = (a, b) if pair_rule["a"] == a else (b, a)
            text = sentences["forbidden"].format(
                a_name=names[first],
                b_name=pair_rule.get("b_name", names[second]),
                article=pair_rule["article"],
                relation=relation,
            )
            return verdict(False, text[0].upper() + text[1:], int(pair_rule["clause"]))
    if "accountant" in (a, b):
        other = b if a == "accountant" else a
        article = fam["accountant_article"].get(other)
        if article is None:
            return None
        return verdict(False, sentences["accountant"].format(a_name=names[other], article=article))
    if {a, b} == {"board", "director"}:
        plain: dict[str, str] = fam.get("plain_names", names)
        return verdict(True, sentences["allowed"].format(a_name=plain["director"], b_name=plain["board"]))
    return None  # not settled by Điều 62 alone (e.g. other laws on accounting staff): no verdict


_AGE = re.compile(r"(\d{1,3})\s*tuổi|(\d{1,3})\s*tuoi", re.IGNORECASE)


def _age(rules: FactRules, q: Text, s: Text, law: str) -> Verdict | None:
    if not _asked(rules.age_asks, q, s, rules.age_not_if):
        return None
    m = _AGE.search(q.raw) or _AGE.search(s.raw)
    rule = rules.rule("age", law)
    if m is None or rule is None:
        return None
    n = int(m.group(1) or m.group(2))
    adult = int(rule["adult"])
    minor = int(rule.get("minor", adult))
    if n >= adult:
        key, ok = "adult_yes", True
    elif n >= minor:
        key, ok = ("minor_no", False) if rules.age_capital.search(q.words) else ("minor_yes", True)
    else:
        key, ok = "child_no", False
    return Verdict(
        rule["id"], ok, str(rule[key]).format(n=n), _citations(rule["citations"], rule["id"]), rule.get("entry_id")
    )


def _people(rules: FactRules, t: Text) -> list[tuple[int, int, int]]:
    """Every "<number> <unit>" in the text: (value, first word, one past the unit)."""
    words = t.words
    out = []
    for k in range(len(words)):
        number = _number(rules, words, k)
        if number is None:
            continue
        value, used = number
        unit = rules.count_units.at(words, k + used)
        if unit:
            out.append((value, k, k + used + unit))
    return out


_ATTEND_WINDOW = 4  # words around "<n> người" that may say they came ("dự đại hội có 30 người")


def _quorum(rules: FactRules, q: Text, s: Text, law: str) -> Verdict | None:
    """ "HTX có 60 xã viên, đại hội chỉ có 38 người đến, có hợp lệ không"."""
    if not _asked(rules.quorum_asks, q, s):
        return None
    texts = [q, s] if len(q.words) <= SHORT_QUESTION else [q]
    if not any(rules.quorum_meeting.search(t.words) for t in texts):
        return None
    total = came = None
    board = False
    for t in (q, s):
        words = t.words
        for value, a, b in _people(rules, t):
            start = max(0, a - _ATTEND_WINDOW)
            while start < a and "," in "".join(t.gap_before(x) for x in range(start + 1, a + 1)):
                start += 1  # the words before, up to a comma
            end = b
            while end < min(len(words), b + _ATTEND_WINDOW) and "," not in t.gap_before(end):
                end += 1  # the words after, up to a comma
            before = rules.quorum_attended.search(words, start, a)
            after = rules.quorum_attended.search(words, b, end)
            if (before or after) and came is None:
                came = value
            elif not (before or after) and total is None:
                total = value
                board = rules.quorum_board.search(words, max(0, a - _LOOKBACK), a)
    if total is None or came is None or not 0 < came <= total:
        return None
    rule = rules.rule("quorum", law)
    for candidate in rules.data["quorum"]["rules"]:
        if str(candidate["law"]) == law and candidate["meeting"] == ("board" if board else "assembly"):
            rule = dict(candidate)
            break
    else:
        return None
    num, den = rule["at_least"]
    ok = came * den >= num * total
    sentence = str(rule["say_yes" if ok else "say_no"]).format(came=came, total=total)
    return Verdict(rule["id"], ok, sentence, _citations(rule["citations"], rule["id"]), rule.get("entry_id"))


def apply(
    question_text: str,
    story_text: str,
    normalizer: Normalizer | None = None,
    history: bool = False,
    rules: FactRules | None = None,
) -> list[Verdict]:
    """Verdicts for the rules the question asks about, using facts from the question or the story.

    `history`: the member asked about the 2012 law (Reading.asks_history) — the 2012 numbers apply.
    `normalizer` is accepted for symmetry with the other readers; the phrase lists match typed words.
    """
    rules = rules or load_rules()
    q, s = Text.of(question_text), Text.of(story_text or "")
    law = "2012" if history else "2023"
    body = _body(rules, q, s)
    verdicts = [
        _min_members(rules, q, s, law, body),
        _max_share(rules, q, s, law, body),
        _governance(rules, q, s, law, body),
        _family(rules, q, s, law),
        _age(rules, q, s, law),
        _quorum(rules, q, s, law),
    ]
    return [v for v in verdicts if v is not None]
