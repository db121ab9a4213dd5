"""Reading a member's message before search: framing, story and questions.

People write the way they talk: a greeting, a back-story, two or three questions, a thank-you.
Search must see the questions alone, and the story must be kept (it holds the member's facts).
This module only reads text; the phrase lists are data in knowledge/reading.yaml.

It also holds the tone-aware phrase matcher (`Text`, `PhraseSet`) that bot/referral.py and
bot/facts.py reuse: matching is word by word on folded text, and a phrase written with tones
matches the same words typed toneless but never a differently toned word ("chưa" ≠ "chùa").
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from bot.textnorm import Normalizer, fold, nfc, toned_tokens

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"

# ---------------------------------------------------------------------------------------------
# Tone-aware words with offsets


@functools.lru_cache(maxsize=16384)
def _fold_word(word: str) -> str:
    return fold(word)


_WORD_RE = re.compile(r"[^\W_]+")


@functools.lru_cache(maxsize=1024)
def _text_of(text: str) -> Text:
    """One reading of a text's words however many readers ask (referral, facts, reading): Text is frozen."""
    return Text._read(text)
TONED_SHARE = 0.3  # share of words with diacritics from which a message counts as typed with tones
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b")


@functools.lru_cache(maxsize=4096)
def _marks(word: str) -> tuple[str, ...]:
    """The diacritics of a word, in any order: "hoá" and "hóa" carry the same marks."""
    return tuple(sorted(c for c in unicodedata.normalize("NFD", word) if c in _TONE_MARKS))


def _same_length_lower(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


class Word(NamedTuple):
    start: int
    end: int
    folded: str  # no tones, lower case
    low: str  # lower case, tones kept
    free: bool = False  # typed without marks in a message typed without tones: may stand for any tone


@dataclass(frozen=True)
class Text:
    """NFC text with its words; offsets of every word point into `raw`."""

    raw: str
    words: tuple[Word, ...]

    @classmethod
    def of(cls, text: str) -> Text:
        return _text_of(text)

    @classmethod
    def _read(cls, text: str) -> Text:
        raw = nfc(text)
        low = _same_length_lower(raw)
        spans = [(m.start(), m.end(), _fold_word(m.group()), m.group()) for m in _WORD_RE.finditer(low)]
        lettered = [w for w in spans if not w[2].isdigit()]
        marked = sum(1 for w in lettered if w[2] != w[3])
        # In a message typed with tones, a word without marks is meant as written ("con dấu" is not
        # "còn"); only in a toneless message may a bare word stand for a toned one.
        toneless = not lettered or marked < TONED_SHARE * len(lettered)
        words = tuple(Word(a, b, f, w, toneless and f == w) for a, b, f, w in spans)
        return cls(raw, words)

    def span(self, i: int, j: int) -> str:
        """The raw text of words i..j-1 (empty when i >= j)."""
        return self.raw[self.words[i].start : self.words[j - 1].end] if i < j else ""

    def gap_before(self, i: int) -> str:
        """The characters between word i-1 and word i (punctuation, spaces)."""
        start = self.words[i - 1].end if i > 0 else 0
        end = self.words[i].start if i < len(self.words) else len(self.raw)
        return self.raw[start:end]


@dataclass(frozen=True)
class _Rule:
    """One word of a phrase as written in the data."""

    toned: str
    toneless: bool  # written without marks: matches whatever the member typed
    marks: tuple[str, ...]


def _rule(word: str) -> _Rule:
    return _Rule(word, word == fold(word), _marks(word))


def _tone_ok(rule: _Rule, typed: Word) -> bool:
    """Same rule as textnorm._matches, plus old/new tone placement ("hoá" = "hóa")."""
    return (
        rule.toneless
        or typed.free
        or rule.toned == typed.low
        or (typed.low != typed.folded and rule.marks == _marks(typed.low))
    )


_END = ""  # trie key holding the phrases that end at a node


class PhraseSet:
    """A set of phrases matched word by word, tone-aware, longest first (a trie on folded words)."""

    def __init__(self, phrases: Iterable[str]):
        self._forward: dict[str, Any] = {}
        self._backward: dict[str, Any] = {}
        self.phrases: list[str] = []
        for phrase in phrases:
            toned = toned_tokens(phrase)
            if not toned:
                continue
            rules = tuple(_rule(w) for w in toned)
            key = [fold(w) for w in toned]
            for trie, seq, variant in ((self._forward, key, rules), (self._backward, key[::-1], rules[::-1])):
                node = trie
                for part in seq:
                    node = node.setdefault(part, {})
                node.setdefault(_END, []).append(variant)
            self.phrases.append(phrase)

    def __len__(self) -> int:
        return len(self.phrases)

    @staticmethod
    def _longest(trie: dict[str, Any], words: Sequence[Word], positions: Iterable[int]) -> int:
        node = trie
        hits: list[tuple[int, list[tuple[_Rule, ...]]]] = []
        taken: list[Word] = []
        for n, k in enumerate(positions, 1):
            child: dict[str, Any] | None = node.get(words[k].folded)
            if child is None:
                break
            node = child
            taken.append(words[k])
            if _END in node:
                hits.append((n, node[_END]))
        for n, variants in reversed(hits):
            if any(all(_tone_ok(r, w) for r, w in zip(v, taken, strict=False)) for v in variants):
                return n
        return 0

    def at(self, words: Sequence[Word], i: int, j: int | None = None) -> int:
        """How many words the longest phrase starting at word i covers (0: none)."""
        j = len(words) if j is None else j
        if i >= j or words[i].folded not in self._forward:
            return 0
        return self._longest(self._forward, words, range(i, j))

    def ending(self, words: Sequence[Word], i: int, j: int) -> int:
        """How many words the longest phrase ending just before word j covers (within i..j)."""
        if i >= j or words[j - 1].folded not in self._backward:
            return 0
        return self._longest(self._backward, words, range(j - 1, i - 1, -1))

    def find(self, words: Sequence[Word], i: int = 0, j: int | None = None) -> Iterator[tuple[int, int]]:
        """Non-overlapping matches (start word, end word) from left to right."""
        j = len(words) if j is None else j
        root = self._forward
        k = i
        while k < j:
            if words[k].folded in root and (n := self._longest(root, words, range(k, j))):
                yield k, k + n
                k += n
            else:
                k += 1

    def search(self, words: Sequence[Word], i: int = 0, j: int | None = None) -> bool:
        return next(self.find(words, i, j), None) is not None


def expand_templates(phrases: Iterable[str], slots: Mapping[str, Sequence[str]]) -> list[str]:
    """ "cho {p} hỏi" → one phrase per pronoun; slots not used by a phrase are ignored."""
    out: list[str] = []
    for phrase in phrases:
        forms = [phrase]
        for name, values in slots.items():
            mark = "{" + name + "}"
            forms = [f.replace(mark, v, 1) for f in forms for v in values] if any(mark in f for f in forms) else forms
        out.extend(forms)
    return out


def load_yaml(name: str, directory: Path | None = None) -> dict[str, Any]:
    path = (directory or KNOWLEDGE_DIR) / name
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml when built with it
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def str_list(data: dict[str, Any], key: str, source: str) -> list[str]:
    """A required list of non-empty strings (numbers allowed: "1" in "câu 1" is read as text)."""
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise ValueError(f"{source}: `{key}` must be a non-empty list")
    out = []
    for item in value:
        if not isinstance(item, (str, int)) or not str(item).strip():
            raise ValueError(f"{source}: `{key}` has an empty or non-text item: {item!r}")
        out.append(str(item))
    return out


# ---------------------------------------------------------------------------------------------
# The reading


@dataclass(frozen=True)
class Question:
    """One question of the message; start/end are offsets into `Reading.text`."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Reading:
    text: str  # the NFC text all offsets refer to
    questions: tuple[Question, ...]
    story: str
    asks_history: bool
    negations: tuple[str, ...]
    story_sentences: tuple[str, ...] = ()
    story_starts: tuple[int, ...] = ()  # where each story sentence starts in `text`

    def told_before(self, index: int) -> tuple[str, ...]:
        """The story sentences before question `index`: what a short question leans on. The message's last
        story sentence may come after the question it would explain."""
        start = self.questions[index].start
        return tuple(s for s, at in zip(self.story_sentences, self.story_starts, strict=True) if at < start)

    def story_before(self, index: int) -> str | None:
        """The story sentence just before question `index`; None when the message opens with the question or
        another question comes between ("Lập chi nhánh đăng ký ở đâu, thời hạn thế nào?": the second leans
        on the first, not on the story)."""
        start = self.questions[index].start
        previous = self.questions[index - 1].start if index > 0 else -1
        before = [s for s, at in zip(self.story_sentences, self.story_starts, strict=True) if previous < at < start]
        return before[-1] if before else None

    @property
    def framing_only(self) -> bool:
        """Greeting or thanks only: nothing to answer."""
        return not self.questions

    def search_text(self, index: int) -> str:
        """Question `index` as search should see it: a very short question ("Vậy có đúng luật
        không?") says nothing by itself, so the last story sentence is put in front of it."""
        question = self.questions[index].text
        before = self.story_before(index) if self.is_short(index) else None
        return f"{before} {question}" if before else question

    def continues(self, index: int) -> bool:
        """Question `index` goes on the sentence of the question before it ("… nộp hồ sơ ở đâu, có cần chứng
        minh vốn điều lệ không?"): it has that question's subject."""
        if index == 0:
            return False
        before = self.questions[index - 1]
        between = self.text[before.end:self.questions[index].start]
        return not (_TERMINATOR.search(between) or before.text.rstrip().endswith(("?", "!", ".")))

    def is_short(self, index: int) -> bool:
        return _short(self.questions[index].text)


ADDRESS_THEN_WORDS = 4  # words after "Thưa anh chị," that make the rest of the sentence story, not address
TOLD_AFTER_LEAD = 20  # words: a statement this long after "cho em hỏi" may be story (see _Reader.read)


def _short(question: str) -> bool:
    """A question this short says little by itself and leans on what came before it."""
    return len(_WORD_RE.findall(question)) <= SHORT_QUESTION


@dataclass(frozen=True)
class ReadingRules:
    greetings: PhraseSet
    address_leads: PhraseSet
    ask_leads: PhraseSet
    announce_leads: PhraseSet
    lead_fillers: PhraseSet
    signoffs: PhraseSet
    particle_words: PhraseSet
    particles: PhraseSet
    question_phrases: PhraseSet
    statement_phrases: PhraseSet
    question_openers: PhraseSet
    question_endings: PhraseSet
    story_leads: PhraseSet
    question_joins: PhraseSet
    story_then_question: PhraseSet
    history: PhraseSet
    history_times: PhraseSet
    present_times: PhraseSet
    negation_markers: PhraseSet
    negation_exceptions: PhraseSet
    negation_stops: PhraseSet
    negation_span: int
    enumerators: PhraseSet

    @classmethod
    def from_data(cls, data: dict[str, Any], source: str = "reading.yaml") -> ReadingRules:
        slots = {"p": str_list(data, "pronouns", source), "a": str_list(data, "addressees", source)}

        def phrases(key: str, optional: bool = False) -> PhraseSet:
            if optional and key not in data:  # lists added later: an older reading.yaml still loads
                return PhraseSet(())
            return PhraseSet(expand_templates(str_list(data, key, source), slots))

        span = data.get("negation_span", 4)
        if not isinstance(span, int) or not 1 <= span <= 8:
            raise ValueError(f"{source}: `negation_span` must be an integer 1..8")
        return cls(
            greetings=phrases("greetings"),
            address_leads=phrases("address_leads"),
            ask_leads=phrases("ask_leads"),
            announce_leads=phrases("announce_leads", optional=True),
            lead_fillers=phrases("lead_fillers"),
            signoffs=phrases("signoffs"),
            particle_words=phrases("particle_words"),
            particles=phrases("particles"),
            question_phrases=phrases("question_phrases"),
            statement_phrases=phrases("statement_phrases", optional=True),
            question_openers=phrases("question_openers"),
            question_endings=phrases("question_endings"),
            story_leads=phrases("story_leads"),
            question_joins=phrases("question_joins"),
            story_then_question=phrases("story_then_question"),
            history=phrases("history"),
            history_times=phrases("history_times"),
            present_times=phrases("present_times"),
            negation_markers=phrases("negation_markers"),
            negation_exceptions=phrases("negation_exceptions"),
            negation_stops=phrases("negation_stops"),
            negation_span=span,
            enumerators=phrases("enumerators"),
        )


@functools.lru_cache(maxsize=4)
def load_rules(directory: Path | None = None) -> ReadingRules:
    return ReadingRules.from_data(
        load_yaml("reading.yaml", directory), str((directory or KNOWLEDGE_DIR) / "reading.yaml")
    )


MAX_QUESTIONS = 3
SHORT_QUESTION = 6  # words: a question this short leans on the story before it

# Sentence ends: ? ! ; newline, ellipsis, and a full stop that is not inside a number ("1.000").
_TERMINATOR = re.compile(r"[?!;\n…]+|(?<!\d)\.+|\.+(?!\d)")
# A list number opening an item: "1)", "2.", "a)" at the start of a line or after a stop or colon.
_ENUM_AFTER_STOP = re.compile(r"(?:^|(?<=[\n:?!.;]))\s*(?:\d{1,2}|[a-dA-D])[.)](?=\s)")
_ENUM_PAREN = re.compile(r"(?<=\s)(?:\d{1,2}|[a-dA-D])\)(?=\s)")


@dataclass
class _Sentence:
    i: int  # first word
    j: int  # one past the last word
    qmark: bool


def _split_sentences(t: Text, rules: ReadingRules) -> list[_Sentence]:
    """Word ranges of sentences; list numbers and (when there are two) ordinals start a new one."""
    cuts: set[int] = set()  # character offsets where a new sentence starts
    qmarks: list[tuple[int, int]] = []
    for m in _TERMINATOR.finditer(t.raw):
        cuts.add(m.end())
        if "?" in m.group():
            qmarks.append((m.start(), m.end()))
    for pattern in (_ENUM_AFTER_STOP, _ENUM_PAREN):
        for m in pattern.finditer(t.raw):
            cuts.add(m.start())
    words = t.words
    ordinals = list(rules.enumerators.find(words))
    if len({tuple(w.folded for w in words[a:b]) for a, b in ordinals}) >= 2:
        cuts.update(words[a].start for a, _ in ordinals)
    starts = [w.start for w in words]
    bounds = sorted({bisect.bisect_left(starts, c) for c in cuts} | {len(words)})
    sentences: list[_Sentence] = []
    start = 0
    q = [a for a, _ in qmarks]
    for k in bounds:
        if k <= start:
            continue
        end_char = words[k].start if k < len(words) else len(t.raw)
        x = bisect.bisect_left(q, words[k - 1].end)
        sentences.append(_Sentence(start, k, x < len(q) and q[x] < end_char))
        start = k
    return sentences


def sentence_numbers(t: Text) -> tuple[int, ...]:
    """For each word of the text, the number of the sentence it is in (sentences end at . ? ! ; … or a
    line break)."""
    stops = [m.end() for m in _TERMINATOR.finditer(t.raw)]
    return tuple(bisect.bisect_right(stops, w.start) for w in t.words)


_NORMALISED: dict[int, tuple[Normalizer, dict[str, str]]] = {}


def _normalised(normalizer: Normalizer, text: str) -> str:
    """normalizer(text) joined, memoised per normalizer (the same few phrases recur)."""
    entry = _NORMALISED.get(id(normalizer))
    if entry is None or entry[0] is not normalizer:
        if len(_NORMALISED) > 8:
            _NORMALISED.clear()
        entry = _NORMALISED[id(normalizer)] = (normalizer, {})
    cache = entry[1]
    phrase = cache.get(text)
    if phrase is None:
        if len(cache) > 4096:
            cache.clear()
        phrase = cache[text] = " ".join(normalizer(text))
    return phrase


class _Reader:
    def __init__(self, text: str, normalizer: Normalizer, rules: ReadingRules):
        self.t = Text.of(text)
        self.w = self.t.words
        self.norm = normalizer
        self.r = rules

    # -- framing --

    def _strip_front(self, i: int, j: int) -> tuple[int, bool]:
        """Drop greetings, ask-leads, story leads and list numbers at the front; report an ask-lead."""
        asked = False
        while i < j:
            if (
                self.w[i].folded.isdigit()
                and len(self.w[i].folded) <= 2
                and self.t.gap_before(i + 1)[:1] in (")", ".", ":")
            ):
                i += 1
                continue
            if len(self.w[i].folded) == 1 and self.w[i].folded in "abcd" and self.t.gap_before(i + 1)[:1] == ")":
                i += 1
                continue
            n = self.r.enumerators.at(self.w, i, j)
            if n:
                i += n
                continue
            n = self.r.announce_leads.at(self.w, i, j)
            if n and n >= self.r.ask_leads.at(self.w, i, j):
                i += n  # "em hỏi mấy cái:": questions to come, not this sentence
                while n := self.r.lead_fillers.at(self.w, i, j):
                    i += n
                continue
            n = self.r.ask_leads.at(self.w, i, j)
            if n:
                i, asked = i + n, True
                while n := self.r.lead_fillers.at(self.w, i, j):
                    i += n
                continue
            n = self.r.greetings.at(self.w, i, j) or self.r.story_leads.at(self.w, i, j)
            if n:
                i += n
                continue
            break
        return i, asked

    def _strip_back(self, i: int, j: int) -> int:
        for a, _ in self.r.signoffs.find(self.w, i, j):
            j = a
            break
        while j - i > 1:
            n = self.r.particles.ending(self.w, i, j)
            if not n or j - n <= i or self.r.particle_words.ending(self.w, i, j) > n:
                break  # "giai the": the end of a word ("giải thể"), not the particle "thế"
            j -= n
        return j

    # -- classification --

    def _ends_as_question(self, i: int, j: int) -> bool:
        if i >= j:
            return False
        if self.r.question_endings.ending(self.w, i, j):
            return True
        stripped = j
        while stripped - i > 1 and (n := self.r.particles.ending(self.w, i, stripped)):
            stripped -= n
        return stripped != j and bool(self.r.question_endings.ending(self.w, i, stripped))

    def _is_question(self, i: int, j: int) -> bool:
        return (
            self._asks(i, j)
            or self.r.question_openers.search(self.w, i, j)
            or self._ends_as_question(i, j)
        )

    def _asks(self, i: int, j: int) -> bool:
        """A question phrase that is not part of a statement ("mấy năm nay", "lúc nào cũng")."""
        quiet = list(self.r.statement_phrases.find(self.w, i, j))
        return any(not any(s <= a and b <= e for s, e in quiet) for a, b in self.r.question_phrases.find(self.w, i, j))

    def _left_is_complete_question(self, i: int, k: int) -> bool:
        """The words before a join end like a question ("… không", "… bao nhiêu")."""
        return self._ends_as_question(i, k) or bool(self.r.question_phrases.ending(self.w, i, k))

    def _split_questions(self, i: int, j: int) -> list[tuple[int, int]]:
        joins = {a: b - a for a, b in self.r.question_joins.find(self.w, i + 1, j)}
        cuts = sorted(set(joins) | {k for k in range(i + 1, j) if "," in self.t.gap_before(k)})
        parts: list[tuple[int, int]] = []
        start = i
        for k in cuts:
            if k <= start:
                continue
            if self._left_is_complete_question(start, k):
                right = k + joins.get(k, 0)
                if j - right >= 2 and self._is_question(right, j):
                    parts.append((start, k))
                    start = right
        parts.append((start, j))
        return [self._tidy(a, b) for a, b in parts]

    def _tidy(self, i: int, j: int) -> tuple[int, int]:
        """A split part loses a leading join ("Ngoài ra …") and trailing particles ("… không ạ")."""
        if (n := self.r.question_joins.at(self.w, i, j)) and j - i - n >= 2:
            i += n
        return i, self._strip_back(i, j)

    def _story_prefix(self, i: int, j: int) -> tuple[int, int]:
        """ ", vậy …": the statement before it is story. Returns (story end, question start)."""
        for k in range(i + 2, j - 1):
            if "," not in self.t.gap_before(k) and "." not in self.t.gap_before(k):
                continue
            n = self.r.story_then_question.at(self.w, k, j)
            if n and not self._is_question(i, k) and self._is_question(k + n, j):
                return k, k + n
        return i, i

    # -- flags --

    def _negations(self, ranges: Iterable[tuple[int, int]]) -> list[str]:
        found: list[str] = []
        for i, j in ranges:
            for a, b in self.r.negation_markers.find(self.w, i, j):
                if self.w[a].folded == "k" and a > 0 and self.w[a - 1].folded.isdigit():
                    continue  # "500 k" is money
                if self.r.negation_exceptions.at(self.w, b, j):
                    continue
                end = b
                while end < j and end - b < self.r.negation_span and not self.r.negation_stops.at(self.w, end, j):
                    if self.w[end].folded.isdigit() or "," in self.t.gap_before(end):
                        break
                    end += 1
                if end == b:
                    continue
                phrase = _normalised(self.norm, self.t.span(a, end))
                if phrase and phrase not in found:
                    found.append(phrase)
        return found

    # -- whole message --

    def read(self) -> Reading:
        questions: list[tuple[int, int]] = []
        story: list[tuple[int, int]] = []
        content: list[tuple[int, int]] = []
        told: list[tuple[int, int]] = []  # long sentences that are questions only because an ask-lead opens them
        for s in _split_sentences(self.t, self.r):
            if self.r.address_leads.at(self.w, s.i, s.j) and not (s.qmark or self._is_question(s.i, s.j)):
                # "Kính gửi Liên minh HTX tỉnh …": an address, nothing else; but "Thưa anh chị, tổ hợp tác của
                # chúng tôi có 8 người, muốn chuyển lên HTX …" goes on after a comma with the story.
                rest = self._after_address(s.i, s.j)
                if rest is None:
                    continue
                s = _Sentence(rest, s.j, s.qmark)
            i, asked = self._strip_front(s.i, s.j)
            j = self._strip_back(i, s.j)
            if i >= j or self.r.particles.at(self.w, i, j) == j - i:
                continue  # framing only ("Dạ.", "ạ")
            content.append((i, j))
            if not (s.qmark or asked or self._is_question(i, j)):
                story.append((i, j))
                continue
            if not (s.qmark or self._is_question(i, j)) and j - i > TOLD_AFTER_LEAD:
                told.append((i, j))
            story_end, q_start = self._story_prefix(i, j)
            if story_end > i:
                story.append((i, story_end))
                i = q_start
            elif (n := self.r.story_then_question.at(self.w, i, j)) and j - i - n >= 2:
                i += n  # a leading "Vậy …" is filler
            questions.extend(self._split_questions(i, j))
        if told and any(q not in told for q in questions):
            # "cho e hỏi, htx e có 23 tv, hôm chủ nhật họp chỉ có 10 người tới …. 10/23 mà vẫn thông qua vậy
            # đc ko": a long statement after "cho em hỏi" is the story of the question that follows.
            questions = [q for q in questions if q not in told]
            story = sorted([*story, *told])
        if not questions and content:
            # No question word anywhere ("thủ tục giải thể htx"): the whole content is the question.
            questions = [(content[0][0], content[-1][1])]
            story = []
        parts = tuple(self._question(i, j) for i, j in questions[:MAX_QUESTIONS] if i < j)
        asks_history = any(self._asks_history(i, j) for i, j in questions[:MAX_QUESTIONS])
        return Reading(
            text=self.t.raw,
            questions=parts,
            story=" ".join(self._sentence_text(i, j) for i, j in story),
            story_sentences=tuple(self._sentence_text(i, j) for i, j in story),
            story_starts=tuple(self.w[i].start for i, _ in story),
            asks_history=asks_history,
            negations=tuple(self._negations(self._searched(questions[:MAX_QUESTIONS], story))),
        )

    def _after_address(self, i: int, j: int) -> int | None:
        """Where the words after an address and its comma start, when a few words follow; else None."""
        n = self.r.address_leads.at(self.w, i, j)
        for k in range(i + n, j):
            if "," in self.t.gap_before(k):
                return k if j - k >= ADDRESS_THEN_WORDS else None
        return None

    def _searched(self, questions: list[tuple[int, int]], story: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The words search sees (Reading.search_text): the questions, and the last story sentence when a
        question is too short to say anything alone. A negation elsewhere in the story ("… vẫn không trả
        nổi") is part of the story, not of what is asked, and must not steer the match."""
        short = any(_short(self.t.span(i, j)) for i, j in questions)
        return [*questions, story[-1]] if short and story else list(questions)

    def _asks_history(self, i: int, j: int) -> bool:
        if self.r.history.search(self.w, i, j):
            return True
        return self.r.history_times.search(self.w, i, j) and not self.r.present_times.search(self.w, i, j)

    def _question(self, i: int, j: int) -> Question:
        start, end = self.w[i].start, self.w[j - 1].end
        while end < len(self.t.raw) and self.t.raw[end] == "?":
            end += 1
        return Question(self.t.raw[start:end], start, end)

    def _sentence_text(self, i: int, j: int) -> str:
        text = self.t.span(i, j)
        return text if text[-1:] in ".!" else text + "."


def read_message(text: str, normalizer: Normalizer, rules: ReadingRules | None = None) -> Reading:
    """Split a message into up to three questions, the story, and flags (old law asked, negations)."""
    return _Reader(text, normalizer, rules or load_rules()).read()
