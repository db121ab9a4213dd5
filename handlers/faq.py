"""Free questions: search the knowledge base, then answer, ask "did you mean", or admit not knowing."""

from __future__ import annotations

from typing import Any

from bot.effects import OpenTicket
from bot.junk import worth_a_ticket
from bot.kb.model import Entry
from bot.search import ENTRY, INTENT, OUT_OF_SCOPE, Candidate
from bot.types import Button, Context, DialogState, Kind, Message, Meta, Outcome, Reply
from handlers.render import citations_data, detail_reply, entry_button, entry_reply, history_reply

MAX_CHOICES = 3


def handle(ctx: Context, state: DialogState | None, msg: Message) -> Outcome:
    if msg.is_payload:
        kind, _, rest = msg.arg.partition(":")
        if kind == "e":
            return show_entry(ctx, rest, msg)
        if kind in ("d", "h"):
            return show_more(ctx, kind, rest)
        if kind == "examples":
            return examples(ctx)
        if not msg.text:
            return Outcome([Reply(ctx.t("empty"))], meta={"kind": Kind.INFO})
    text = msg.text.strip()
    if not text:
        return Outcome([Reply(ctx.t("empty"))], meta={"kind": Kind.INFO})
    return answer(ctx, text, msg.message_id)


def visible(ctx: Context, entry: Entry | None) -> bool:
    if entry is None:
        return False
    if not entry.province:
        return True
    return entry.province in ctx.kb.province_scope(ctx.province)


def show_entry(ctx: Context, entry_id: str, msg: Message) -> Outcome:
    entry = ctx.kb.entries.get(entry_id)
    if entry is None:
        return Outcome([Reply(ctx.t("empty"))], meta={"kind": Kind.INFO})
    # No province check here: the entry's button was offered by the bot (search had already decided it
    # fits, e.g. because the question named the province).
    related = [ctx.kb.entries[r] for r in entry.related if visible(ctx, ctx.kb.entries.get(r))][:2]
    return Outcome(
        [entry_reply(ctx, entry, msg.message_id, related)],
        meta={"kind": Kind.ANSWER, "entry_id": entry.id, "score": 1.0, "citations": citations_data(entry)},
    )


def show_more(ctx: Context, kind: str, entry_id: str) -> Outcome:
    """The 'Xem chi tiết' (d) and 'Luật 2012 quy định thế nào' (h) buttons under an answer."""
    entry = ctx.kb.entries.get(entry_id)
    if entry is None:
        return Outcome([Reply(ctx.t("empty"))], meta={"kind": Kind.INFO})
    reply = detail_reply(ctx, entry) if kind == "d" else history_reply(ctx, entry)
    return Outcome([reply], meta={"kind": Kind.ANSWER, "entry_id": entry.id, "score": 1.0,
                                  "citations": citations_data(entry)})


def examples(ctx: Context) -> Outcome:
    ids = ctx.kb.ui.get("examples") or []
    buttons = [[entry_button(ctx.kb.entries[i])] for i in ids if i in ctx.kb.entries]
    return Outcome([Reply(ctx.kb.ui.get("examples_text", ctx.t("empty")), buttons)], meta={"kind": Kind.INFO})


def decide(ctx: Context, results: list[Candidate], words: int = 2, other_subject: bool = False
           ) -> tuple[Kind, list[Candidate]]:
    """answer | intent | clarify | unknown, with the candidates that support it.

    `words`: meaningful syllables in the question (one word is offered choices, never answered outright);
    `other_subject`: the question is about another kind of organisation (never answered from an entry).
    """
    verdict, cands = _decide(ctx, results)
    if verdict in (Kind.ANSWER, Kind.CLARIFY) and cands[0].kind == ENTRY and other_subject:
        return Kind.UNKNOWN, []
    if verdict == Kind.ANSWER and words == 1 and cands[0].kind == ENTRY:
        # One word ("vốn") matches too many entries to answer outright.
        return Kind.CLARIFY, [c for c in cands if c.score >= ctx.config.search.clarify_threshold][:MAX_CHOICES]
    return verdict, cands


def _alternative(ctx: Context, entry_id: str, score: float) -> dict[str, Any]:
    return {"entry_id": entry_id, "score": score, "citations": citations_data(ctx.kb.entries[entry_id])}


def _decide(ctx: Context, results: list[Candidate]) -> tuple[Kind, list[Candidate]]:
    cfg = ctx.config.search
    if not results:
        return Kind.UNKNOWN, []
    useful = [c for c in results if c.kind != OUT_OF_SCOPE]
    if not useful:
        return Kind.UNKNOWN, []
    best = useful[0]
    off_topic = max((c.score for c in results if c.kind == OUT_OF_SCOPE), default=0.0)
    if off_topic >= cfg.clarify_threshold and off_topic > best.score - cfg.margin:
        # As close to a known off-topic subject (prices, weather, land titles...) as to any entry.
        return Kind.UNKNOWN, []
    if best.coverage < cfg.min_coverage:
        # Much of the question is about something no entry talks about: say so rather than guess.
        return Kind.UNKNOWN, []
    if best.score >= cfg.answer_threshold:
        return (Kind.INTENT if best.kind == INTENT else Kind.ANSWER), useful
    if best.score >= cfg.clarify_threshold:
        return Kind.CLARIFY, [c for c in useful if c.score >= cfg.clarify_threshold][:MAX_CHOICES]
    return Kind.UNKNOWN, []


def article_answer(ctx: Context, text: str, refs: list[tuple[str, int]], message_id: int) -> Outcome:
    """The question names an article ("điều 17 luật htx 2012 nói gì"): answer from the entries citing it.

    Entries whose main article it is come first; the rest of the question (search) orders them. The best
    one is answered and the next ones are offered as buttons: the article is what the member asked about.
    """
    ids = ctx.searcher.entries_citing(refs, ctx.province)
    if not ids:
        # A real article we have no entry for (a decree's): honest "not sure", and staff get the question.
        return not_sure(ctx, text, 0.0)
    scores = {c.key: c.score for c in ctx.searcher.search(text, province=ctx.province, limit=40) if c.kind == ENTRY}

    def rank(entry_id: str) -> float:
        return scores.get(entry_id, 0.0) + (0.2 if ctx.searcher.main_article(entry_id, refs) else 0.0)

    ranked = sorted(ids, key=lambda i: (-rank(i), ids.index(i)))
    entry = ctx.kb.entries[ranked[0]]
    others = [ctx.kb.entries[i] for i in ranked[1 : 1 + MAX_CHOICES]]
    alt = [_alternative(ctx, e.id, scores.get(e.id, 0.0)) for e in others]
    reply = entry_reply(ctx, entry, message_id, others[:2])
    if len(ranked) > 1:
        reply.text = ctx.t("article_more") + "\n\n" + reply.text
    return Outcome(
        [reply],
        meta={"kind": Kind.ANSWER, "entry_id": entry.id, "score": round(min(1.0, rank(entry.id)), 4),
              "citations": citations_data(entry), "alternatives": alt},
    )


def answer(ctx: Context, text: str, message_id: int) -> Outcome:
    wanted = ctx.searcher.triggered_intent(text)
    if wanted:
        # The member asked for a person: the whole message goes to that conversation as it is.
        meta: Meta = {"kind": Kind.INTENT, "intent": wanted, "score": 1.0}
        return Outcome(meta=meta, redirect=f"intent:{wanted}:{message_id}")
    content = ctx.searcher.content_words(text)
    if not content:
        # "ạ", "4", "?", an emoji: nothing to look up, so ask for a question rather than guess.
        return Outcome([Reply(ctx.t("empty"))], meta={"kind": Kind.UNKNOWN, "score": 0.0})
    refs, missing = ctx.searcher.article_refs(text)
    if refs:
        return article_answer(ctx, text, refs, message_id)
    if missing:
        found = [doc for doc in map(ctx.kb.document, missing) if doc is not None]
        docs = "; ".join(f"{doc.short} có {doc.articles} điều" for doc in found)
        return Outcome([Reply(ctx.t("no_such_article", docs=docs))], meta={"kind": Kind.UNKNOWN, "score": 0.0})
    return answer_by_search(ctx, text, message_id, len(content))


def answer_by_search(ctx: Context, text: str, message_id: int, words: int) -> Outcome:
    results = ctx.searcher.search(text, province=ctx.province, limit=6)
    verdict, cands = decide(ctx, results, words, ctx.searcher.about_other_subject(text))
    alternatives = [c for c in cands[1:] if c.kind == ENTRY and c.score >= ctx.config.search.clarify_threshold]
    alt_data = [_alternative(ctx, c.key, c.score) for c in alternatives[:MAX_CHOICES]]
    if verdict == Kind.INTENT:
        top = cands[0]
        return Outcome(
            meta={"kind": Kind.INTENT, "intent": top.key, "score": top.score, "alternatives": alt_data},
            redirect=f"intent:{top.key}",
        )
    if verdict == Kind.ANSWER:
        top = cands[0]
        entry = ctx.kb.entries[top.key]
        extra = [ctx.kb.entries[c.key] for c in alternatives[:2]]
        if not extra:
            extra = [ctx.kb.entries[r] for r in entry.related if visible(ctx, ctx.kb.entries.get(r))][:2]
        # Probably right, not certainly: say what we understood, and offer the next best as buttons.
        reply = entry_reply(ctx, entry, message_id, extra,
                            hedge=top.score < ctx.config.search.confident_threshold)
        return Outcome(
            [reply],
            meta={"kind": Kind.ANSWER, "entry_id": entry.id, "score": top.score,
                  "citations": citations_data(entry), "alternatives": alt_data},
        )
    if verdict == Kind.CLARIFY:
        buttons = []
        for c in cands:
            if c.kind == ENTRY:
                buttons.append([entry_button(ctx.kb.entries[c.key])])
            elif c.kind == INTENT and c.key in (ctx.kb.ui.get("intent_labels") or {}):
                # Small talk (greeting, thanks) has no label and is never offered as a choice.
                buttons.append([Button(ctx.kb.ui["intent_labels"][c.key], f"intent:{c.key}")])
        buttons.append([Button(ctx.t("clarify_none"), f"staff:q:{message_id}")])
        clar_alts = [_alternative(ctx, c.key, c.score) for c in cands if c.kind == ENTRY]
        return Outcome(
            [Reply(ctx.t("clarify"), buttons)],
            meta={"kind": Kind.CLARIFY, "score": cands[0].score, "alternatives": clar_alts},
        )
    return not_sure(ctx, text, results[0].score if results else 0.0)


def not_sure(ctx: Context, text: str, score: float) -> Outcome:
    if not worth_a_ticket(ctx.searcher.content_words(text)):
        # Noise ("asdkjh", "hihi", "dạ vâng"): ask for a question; staff never get a ticket (bot/junk.py).
        return Outcome([Reply(ctx.t("empty"))], meta={"kind": Kind.UNKNOWN, "score": score})
    return Outcome(
        [Reply(ctx.t("unknown"))],
        meta={"kind": Kind.UNKNOWN, "score": score},
        effects=[OpenTicket("unknown", text)],
    )
