"""Questions that belong to another office: land, tax, social insurance, vehicles…

A lexical search finds *some* cooperative entry for almost any question, so a question about a
land title or an invoice would get a confident but wrong cooperative answer. This module decides,
from data in knowledge/referrals.yaml, whether a question is another office's matter and which
office the member should ask. A question that is also a cooperative-law matter ("góp vốn bằng
quyền sử dụng đất vào HTX") stays in scope. It also spots "Điều 50 Luật Đất đai": an article of
another law, not of Luật HTX.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.reading import KNOWLEDGE_DIR, PhraseSet, Text, load_yaml, sentence_numbers, str_list
from bot.textnorm import Normalizer, fold, toned_tokens

KEYS = (
    "land",
    "tax",
    "social_insurance",
    "labour",
    "civil_dispute",
    "enterprise",
    "bank_credit",
    "vehicle",
    "farming",
    "civil_status",
    "none",
)


@dataclass(frozen=True)
class Referral:
    """Where to send the member. key "none": off-topic, no office (the text says so politely)."""

    key: str
    office: str
    matched: tuple[str, ...]  # the trigger phrases found, as typed


@dataclass(frozen=True)
class _Topic:
    key: str
    office: str
    triggers: PhraseSet
    keep: PhraseSet


def _key(words: list[str]) -> tuple[str, ...]:
    return tuple(fold(w) for w in words)


@dataclass(frozen=True)
class ReferralRules:
    topics: tuple[_Topic, ...]
    always_in_scope: PhraseSet
    cooperative: PhraseSet
    other_laws: PhraseSet
    other_law_names: dict[tuple[str, ...], str]
    htx_laws: PhraseSet
    article_words: PhraseSet
    private: PhraseSet

    def off_topic(self) -> Referral:
        """The polite 'outside what I answer' reply (key "none"), for subjects with no office."""
        topic = next(t for t in self.topics if t.key == "none")
        return Referral(topic.key, topic.office, ())

    @classmethod
    def from_data(cls, data: dict[str, Any], source: str = "referrals.yaml") -> ReferralRules:
        in_scope = data.get("in_scope")
        if not isinstance(in_scope, dict):
            raise ValueError(f"{source}: `in_scope` must be a mapping with `always` and `cooperative`")
        table = data.get("referrals")
        if not isinstance(table, dict):
            raise ValueError(f"{source}: `referrals` must be a mapping of topic key → office, triggers")
        unknown = set(table) - set(KEYS)
        missing = set(KEYS) - set(table)
        if unknown or missing:
            raise ValueError(
                f"{source}: topic keys must be exactly {KEYS}; unknown {sorted(unknown)}, missing {sorted(missing)}"
            )
        topics = []
        for key in KEYS:
            item = table[key]
            if not isinstance(item, dict) or not isinstance(item.get("office"), str) or not item["office"].strip():
                raise ValueError(f"{source}: `{key}` needs a non-empty `office` sentence")
            keep = item.get("keep_with_cooperative") or []
            topics.append(
                _Topic(
                    key=key,
                    office=" ".join(item["office"].split()),
                    triggers=PhraseSet(str_list(item, "triggers", f"{source}: {key}")),
                    keep=PhraseSet(
                        str_list({"k": keep}, "k", f"{source}: {key}.keep_with_cooperative") if keep else []
                    ),
                )
            )
        laws = data.get("other_laws")
        if not isinstance(laws, list) or not laws:
            raise ValueError(f"{source}: `other_laws` must be a non-empty list of {{phrase, name}}")
        names: dict[tuple[str, ...], str] = {}
        for law in laws:
            if (
                not isinstance(law, dict)
                or not str(law.get("phrase", "")).strip()
                or not str(law.get("name", "")).strip()
            ):
                raise ValueError(f"{source}: every `other_laws` item needs `phrase` and `name`: {law!r}")
            names[_key(toned_tokens(str(law["phrase"])))] = str(law["name"])
        return cls(
            topics=tuple(topics),
            always_in_scope=PhraseSet(str_list(in_scope, "always", f"{source}: in_scope")),
            cooperative=PhraseSet(str_list(in_scope, "cooperative", f"{source}: in_scope")),
            other_laws=PhraseSet(str(law["phrase"]) for law in laws),
            other_law_names=names,
            htx_laws=PhraseSet(str_list(data, "htx_laws", source)),
            article_words=PhraseSet(str_list(data, "article_words", source)),
            private=PhraseSet(str_list(data, "private_markers", source) if "private_markers" in data else []),
        )


@functools.lru_cache(maxsize=4)
def load_rules(directory: Path | None = None) -> ReferralRules:
    return ReferralRules.from_data(
        load_yaml("referrals.yaml", directory), str((directory or KNOWLEDGE_DIR) / "referrals.yaml")
    )


_KEEP_NEAR = 12  # words between a cooperative's name and a keep term, beyond the sentence both are in


def _kept(rules: ReferralRules, topic: _Topic, t: Text) -> bool:
    """A keep term of the topic beside a cooperative's name: in the same sentence or a few words away
    ("HTX có được miễn thuế không"). In a long story a cooperative and a keep term far apart ("bán rau cho
    HTX … Nay nhà nước thu hồi đất … có được hỗ trợ không") do not make a household's matter the
    cooperative's."""
    if not len(topic.keep):
        return False
    words = t.words
    if rules.private.search(words):
        return False  # "em hỏi việc riêng: vợ chồng em ly hôn, tài sản chung …"
    names = [*rules.cooperative.find(words), *rules.always_in_scope.find(words)]
    if not names:
        return False
    sentence = sentence_numbers(t)
    return any(sentence[s] == sentence[a] or (a - _KEEP_NEAR <= e and s <= b + _KEEP_NEAR)
               for s, e in topic.keep.find(words) for a, b in names)


def _in_scope(rules: ReferralRules, topics: list[_Topic], t: Text, cooperative: bool = False) -> bool:
    """A cooperative-law matter: an always-in-scope term, or a cooperative named together with a
    keep term of any topic the question touched (`cooperative`: the message around the question named
    it, so a keep term of the question's own is enough)."""
    if rules.always_in_scope.search(t.words):
        return True
    if cooperative and not rules.private.search(t.words) \
            and any(len(topic.keep) and topic.keep.search(t.words) for topic in topics):
        return True
    return any(_kept(rules, topic, t) for topic in topics)


def _named(rules: ReferralRules, t: Text) -> list[tuple[_Topic, list[str]]]:
    """Each topic whose triggers the text contains, with the phrases found as typed, in table order."""
    found = ((topic, [t.span(a, b) for a, b in topic.triggers.find(t.words)]) for topic in rules.topics)
    return [(topic, phrases) for topic, phrases in found if phrases]


def _most_named(named: list[tuple[_Topic, list[str]]]) -> Referral | None:
    """The topic with the most triggers found; ties go to the topic listed first."""
    if not named:
        return None
    topic, phrases = max(named, key=lambda tp: len(tp[1]))  # max keeps the first of equals
    return Referral(topic.key, topic.office, tuple(phrases))


def touched(text: str, rules: ReferralRules | None = None) -> Referral | None:
    """The office whose matter the text names, even when cooperative words keep it in scope ("tranh chấp
    ranh giới đất giữa hai thành viên HTX"): where the cooperative law has no confident answer, that
    office is the better pointer. A keep word beside the cooperative still makes it the cooperative's."""
    rules = rules or load_rules()
    t = Text.of(text)
    named = [(topic, phrases) for topic, phrases in _named(rules, t) if not _kept(rules, topic, t)]
    best = _most_named(named)
    if best is not None and best.key == "none":
        # An off-topic subject said more than any office's ("bố em là xã viên … đau lưng, uống thuốc gì"):
        # the polite "outside what I answer", not the extension officer for a back pain.
        return best
    return _most_named([(topic, phrases) for topic, phrases in named if topic.key != "none"])


def match(text: str, normalizer: Normalizer | None = None, rules: ReferralRules | None = None,
          cooperative: bool = False) -> Referral | None:
    """The office a question belongs to, or None when it is a cooperative question (or unknown).

    `cooperative`: the question is one of a message that names a cooperative ("Tôi là kế toán HTX … Phần
    thu nhập từ giao dịch với thành viên có được miễn thuế không?"): a keep term in the question keeps it
    in scope. `normalizer` is accepted for symmetry with the other readers; matching works on the typed
    words (the triggers list abbreviations such as "bhxh", "cccd" themselves).
    """
    rules = rules or load_rules()
    t = Text.of(text)
    named = _named(rules, t)
    if _in_scope(rules, [topic for topic, _ in named], t, cooperative):
        return None
    return _most_named(named)


def about_cooperatives(text: str, rules: ReferralRules | None = None) -> bool:
    """Whether a message names a cooperative or a cooperative-law term at all: an unanswered one that does
    not ("trợ cấp hộ nghèo", "cài zalo") is nothing the alliance's staff can answer either."""
    return names_cooperative(text, rules) or cooperative_matter(text, rules)


def names_cooperative(text: str, rules: ReferralRules | None = None) -> bool:
    """Whether the text names a cooperative (HTX, tổ hợp tác…) itself; "vốn điều lệ" alone may be a company's."""
    rules = rules or load_rules()
    return rules.cooperative.search(Text.of(text).words)


def cooperative_matter(text: str, rules: ReferralRules | None = None) -> bool:
    """Whether the text names a cooperative-law matter itself (góp vốn, thành viên chính thức, đại hội…),
    not only a cooperative."""
    rules = rules or load_rules()
    return rules.always_in_scope.search(Text.of(text).words)


_NEAR = 8  # words between an article number and the law it belongs to


def other_law_article(text: str, rules: ReferralRules | None = None) -> str | None:
    """The name of a law other than Luật HTX whose article the text cites, else None.

    "Điều 50 Luật Đất đai" → "Luật Đất đai"; "điều 17 luật htx", "điều 5 nghị định 113" → None.
    The law nearest to the article number decides (after it first, then before it).
    """
    rules = rules or load_rules()
    t = Text.of(text)
    words = t.words
    articles = [b for a, b in rules.article_words.find(words) if b < len(words) and words[b].folded.isdigit()]
    if not articles:
        return None
    laws: list[tuple[int, int, str | None]] = []  # (start, end, name or None for the HTX law)
    for a, b in rules.other_laws.find(words):
        laws.append((a, b, rules.other_law_names.get(tuple(w.folded for w in words[a:b]))))
    for a, b in rules.htx_laws.find(words):
        if not any(a < e and s < b for s, e, _ in laws):
            laws.append((a, b, None))
    for number in articles:
        after = [(s - number, name) for s, _, name in laws if number < s <= number + _NEAR]
        before = [(number - e, name) for _, e, name in laws if number - _NEAR <= e <= number]
        nearest = min(after, key=lambda x: x[0]) if after else (min(before, key=lambda x: x[0]) if before else None)
        if nearest is not None and nearest[1] is not None:
            return nearest[1]
    return None
