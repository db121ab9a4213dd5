"""One question of a member's message: what the bot understood, and how sure it is.

A long message is read first (bot/reading.py: greetings and the story set apart, up to three questions);
each question is then looked at here on its own, so the story's words neither drown the question nor
count against it. Three things steer the match beyond the search scores: another office's matter
(bot/referral.py), a negation that an entry shares ("thành viên liên kết **không** góp vốn"), and the
member's own numbers or relationships (bot/facts.py), which answer their case in the first sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot import facts, referral
from bot.kb.model import Citation, Entry
from bot.reading import Reading
from bot.referral import Referral
from bot.search import ENTRY, INTENT, OUT_OF_SCOPE, Candidate
from bot.textnorm import tokens
from bot.types import Context, Kind

MAX_CHOICES = 3
AGREEMENT_WORDS = 5  # meaningful syllables a question needs before agreement may replace "did you mean"
FOLLOW_UP_WORDS = 4  # at most this many meaningful syllables, and no cooperative named: a follow-up
LONG_QUESTION_WORDS = 10  # meaningful syllables from which a question counts as long
LONG_MIN_COVERAGE = 0.25  # the share of a long question the best entry must explain (search.min_coverage otherwise)
RUNNER_UP_MARGIN = 0.5  # share of search.margin within which BM25's choice may overtake the leader
NEGATION_SHIFT = 0.08  # moves an entry that shares the member's negation above its positive twin


@dataclass(frozen=True)
class Part:
    """The bot's reading of one question."""

    text: str  # the question as searched (a very short one with the story sentence before it)
    kind: Kind  # ANSWER, INTENT, CLARIFY or UNKNOWN
    candidates: tuple[Candidate, ...] = ()
    lead: str | None = None  # the member's own case, answered first ("Không được: … 40% là vượt mức …")
    lead_citations: tuple[Citation, ...] = ()  # what the lead rests on (it names them itself)
    rule: str | None = None  # the rule (knowledge/rules.yaml) the lead comes from
    referral: Referral | None = None  # another office's matter
    score: float = 0.0
    asked: str = ""  # the question as the member put it, for headings

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def visible(ctx: Context, entry: Entry | None) -> bool:
    """Provincial entries only for the member's province (and the old provinces merged into it)."""
    if entry is None:
        return False
    if not entry.province:
        return True
    return entry.province in ctx.kb.province_scope(ctx.province)


def decide(ctx: Context, results: list[Candidate], words: int = 2, other_subject: bool = False
           ) -> tuple[Kind, list[Candidate]]:
    """answer | intent | clarify | unknown, with the candidates that support it.

    `words`: meaningful syllables in the question (one word is offered choices, never answered outright);
    `other_subject`: the question is about another kind of organisation (never answered from an entry).
    """
    # A long question explains itself in more words than any one phrasing has: it needs less coverage.
    min_coverage = ctx.config.search.min_coverage
    if words >= LONG_QUESTION_WORDS:
        min_coverage = min(min_coverage, LONG_MIN_COVERAGE)
    verdict, cands = _decide(ctx, results, min_coverage)
    if verdict in (Kind.ANSWER, Kind.CLARIFY) and cands[0].kind == ENTRY and other_subject:
        return Kind.UNKNOWN, []
    if verdict == Kind.ANSWER and words == 1 and cands[0].kind == ENTRY:
        # One word ("vốn") matches too many entries to answer outright.
        return Kind.CLARIFY, [c for c in cands if c.score >= ctx.config.search.clarify_threshold][:MAX_CHOICES]
    return verdict, cands


def _decide(ctx: Context, results: list[Candidate], min_coverage: float) -> tuple[Kind, list[Candidate]]:
    cfg = ctx.config.search
    useful = [c for c in results if c.kind != OUT_OF_SCOPE]
    if not useful:
        return Kind.UNKNOWN, []
    best = useful[0]
    off_topic = max((c.score for c in results if c.kind == OUT_OF_SCOPE), default=0.0)
    if off_topic >= cfg.clarify_threshold and off_topic > best.score - cfg.margin:
        # As close to a known off-topic subject (prices, weather, land titles...) as to any entry.
        return Kind.UNKNOWN, []
    if best.coverage < min_coverage:
        # Much of the question is about something no entry talks about: say so rather than guess.
        return Kind.UNKNOWN, []
    if best.score >= cfg.answer_threshold:
        return (Kind.INTENT if best.kind == INTENT else Kind.ANSWER), useful
    if best.score >= cfg.clarify_threshold:
        # A choice that explains little of the question is no real alternative to offer.
        return Kind.CLARIFY, [c for c in useful if c.score >= cfg.clarify_threshold
                              and (c is best or c.coverage >= cfg.min_coverage)][:MAX_CHOICES]
    return Kind.UNKNOWN, []


def analyse(ctx: Context, text: str, reading: Reading | None = None, context: Referral | None = None,
            other_subject: bool = False, settled: frozenset[str] = frozenset()) -> Part:
    """Search one question and decide, with the referral, negation and own-facts rules applied.

    `context`: another office's matter the rest of the message is about ("… hộ kinh doanh? Hồ sơ gồm
    gì?"): a question the knowledge base does not answer with confidence belongs to it too.
    `other_subject`: the message as a whole is about another kind of organisation.
    `settled`: rules an earlier question of the message was already answered by (the story's numbers
    answer one question, not every question that shares the story).
    """
    readers = ctx.kb.readers
    if readers is not None:
        around = reading is not None and reading.text != text and referral.about_cooperatives(reading.text,
                                                                                              readers.referral)
        ref = referral.match(text, ctx.kb.normalizer, readers.referral, cooperative=around)
        if ref is not None:
            return Part(text, Kind.UNKNOWN, referral=ref)
    results = ctx.searcher.search(text, province=ctx.province, limit=6)
    if reading is not None and reading.negations:
        results = steer_by_negation(ctx, results, reading.negations)
    words = len(ctx.searcher.content_words(text))
    # BM25's own choice, a second opinion for whole questions (not a topic word or two).
    agreed = ctx.searcher.bm25_best(text) if words >= AGREEMENT_WORDS else None
    if agreed is not None:
        results = promote_agreed(ctx, agreed, results)
    kind, cands = decide(ctx, results, words, other_subject or ctx.searcher.about_other_subject(text))
    score = results[0].score if results else 0.0
    if kind == Kind.CLARIFY and words >= AGREEMENT_WORDS and cands and cands[0].kind == ENTRY and (
            agreed == (ENTRY, cands[0].key)
            or (len(cands) == 1 and cands[0].coverage >= ctx.config.search.min_coverage)):
        # A whole question (not a topic word or two) on which two rankers agree, or with a single choice
        # that explains it: answer it with the hedge and the next-best entries as buttons, rather than ask
        # which one was meant (a yes/no the member cannot judge without the answer).
        kind = Kind.ANSWER
    weak = kind in (Kind.UNKNOWN, Kind.CLARIFY) or (kind == Kind.ANSWER and score < ctx.config.search.answer_threshold)
    if readers is not None and weak:
        # "Tranh chấp ranh giới đất giữa hai thành viên HTX": cooperative words kept it in scope, but no
        # entry matches well; the land office is a better pointer than a guess at a cooperative rule, or
        # than a staff ticket the alliance cannot answer either.
        near = referral.touched(text, readers.referral)
        if near is not None:
            return Part(text, Kind.UNKNOWN, referral=near, score=score)
    if context is not None and readers is not None and words <= FOLLOW_UP_WORDS \
            and not referral.about_cooperatives(text, readers.referral):
        # "Nộp online được không?" after a passport question: a follow-up that names no subject of its own
        # is about the matter of the message, however well its words match an entry.
        return Part(text, Kind.UNKNOWN, referral=context, score=score)
    if context is not None and not (kind == Kind.ANSWER and score >= ctx.config.search.confident_threshold):
        return Part(text, Kind.UNKNOWN, referral=context, score=score)
    if kind == Kind.UNKNOWN and readers is not None and (
            _off_topic(ctx, results) or (agreed is not None and agreed[0] == OUT_OF_SCOPE
                                         and not referral.about_cooperatives(text, readers.referral))):
        # Prices, weather, football…: no office to send the member to, and nothing for staff either. An
        # unanswered question whose closest words, for BM25, are one of those subjects' is one of them,
        # unless it names a cooperative ("… muốn xin vô hợp tác xã thì cần giấy tờ gì" is staff's to answer).
        return Part(text, Kind.UNKNOWN, referral=readers.referral.off_topic(), score=score)
    if readers is None or kind == Kind.INTENT:
        return Part(text, kind, tuple(cands), score=score)
    story = reading.story if reading else ""
    history = reading.asks_history if reading else False
    # The rules read the question itself; a story sentence put in front of it for search is story.
    asked = next((text[len(s) + 1:] for s in (reading.story_sentences if reading else ()) if text.startswith(s + " ")),
                 text)
    for verdict in facts.apply(asked, story, ctx.kb.normalizer, history=history, rules=readers.facts):
        if verdict.rule_id in settled:
            continue
        entry = ctx.kb.entries.get(verdict.entry_id or "")
        if not visible(ctx, entry) or entry is None:
            continue
        keys = [c.key for c in cands if c.kind == ENTRY]
        sure = kind == Kind.ANSWER and bool(cands) and cands[0].score >= ctx.config.search.confident_threshold
        if sure and entry.id not in keys:
            continue  # search is sure of another topic: the rule is about something else
        # The member's own numbers settle which rule they ask about: that entry, their case first.
        chosen = next((c for c in cands if c.key == entry.id), None) or Candidate(ENTRY, entry.id, 1.0)
        others = tuple(c for c in cands if c.key != entry.id)
        return Part(text, Kind.ANSWER, (replace(chosen, score=max(chosen.score, 1.0)), *others),
                    lead=verdict.sentence, lead_citations=verdict.citations, rule=verdict.rule_id, score=score)
    return Part(text, kind, tuple(cands), score=score)


def promote_agreed(ctx: Context, agreed: tuple[str, str], results: list[Candidate]) -> list[Candidate]:
    """A close runner-up that BM25 ranks first and that explains at least as much of the question goes
    first, with the leader's score.

    The re-ranker's leader can win on one phrasing's likeness while explaining little of the question
    ("chủ tịch … cất giấu tài sản khi giải thể" → the board's entry); a second ranker's choice that is
    nearly as close and covers more of the question is the better reading.
    """
    useful = [c for c in results if c.kind != OUT_OF_SCOPE]
    if len(useful) < 2:
        return results
    top = useful[0]
    for c in useful[1:]:
        if (c.kind, c.key) == agreed and c.score >= top.score - RUNNER_UP_MARGIN * ctx.config.search.margin \
                and c.coverage >= top.coverage:
            return [replace(c, score=top.score), *[x for x in results if x is not c]]
    return results


def _off_topic(ctx: Context, results: list[Candidate]) -> bool:
    """The best match is one of the known off-topic subjects (knowledge/intents.yaml out_of_scope)."""
    useful = max((c.score for c in results if c.kind != OUT_OF_SCOPE), default=0.0)
    off = max((c.score for c in results if c.kind == OUT_OF_SCOPE), default=0.0)
    return off >= ctx.config.search.clarify_threshold and off > useful - ctx.config.search.margin


def steer_by_negation(ctx: Context, results: list[Candidate], negations: tuple[str, ...]) -> list[Candidate]:
    """When an entry shares the member's negation ("không góp vốn"), it goes up and the entries that only
    have the positive form ("góp vốn") go down; with no such entry nothing moves."""
    if not results:
        return results
    phrases = [n for n in negations if " " in n]
    positives = [n.split(" ", 1)[1] for n in phrases]

    def texts(key: str) -> list[str]:
        entry = ctx.kb.entries.get(key)
        if entry is None:
            return []
        return [f" {' '.join(tokens(t))} " for t in (entry.title, *entry.questions)]

    negated = {c.key for c in results if c.kind == ENTRY
               and any(f" {n} " in t for n in phrases for t in texts(c.key))}
    if not negated:
        return results
    moved = []
    for c in results:
        if c.kind == ENTRY and c.key in negated:
            c = replace(c, score=round(min(1.0, c.score + NEGATION_SHIFT), 4))
        elif c.kind == ENTRY and any(f" {p} " in t for p in positives for t in texts(c.key)):
            c = replace(c, score=round(max(0.0, c.score - NEGATION_SHIFT), 4))
        moved.append(c)
    return sorted(moved, key=lambda c: c.score, reverse=True)
