"""Free questions: search the knowledge base, then answer, ask "did you mean", or admit not knowing."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from bot import referral
from bot.effects import Effect, OpenTicket
from bot.junk import worth_a_ticket
from bot.kb.model import Entry
from bot.reading import Reading, read_message
from bot.referral import Referral
from bot.search import ENTRY, INTENT, OUT_OF_SCOPE
from bot.types import Button, Context, DialogState, Kind, Message, Meta, Outcome, Reply
from handlers import staff
from handlers.question import MAX_CHOICES, Part, analyse, decide, visible
from handlers.render import (
    citations_data,
    detail_reply,
    entry_button,
    entry_reply,
    feedback_buttons,
    first_text,
    history_reply,
    repealed_first,
    short_label,
)

__all__ = ["decide", "handle", "visible"]

STORY_QUESTION_WORDS = 12  # meaningful syllables at most: a question this short may be about the story
STORY_SENTENCES = 2  # story sentences tried in front of such a question, the last ones first



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


def _alternative(ctx: Context, entry_id: str, score: float) -> dict[str, Any]:
    return {"entry_id": entry_id, "score": score, "citations": citations_data(ctx.kb.entries[entry_id])}


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
    # "Điều 17 luật 2012 nói gì" asks about the old law: its rule first, today's right after.
    old_law = any(not doc.in_force for doc in (ctx.kb.document(d) for d, _ in refs) if doc is not None)
    history_first = old_law and bool(entry.history)
    reply = entry_reply(ctx, entry, message_id, others[:2], history_first=history_first)
    if len(ranked) > 1:
        reply.text = ctx.t("article_more") + "\n\n" + reply.text
    return Outcome(
        [reply],
        meta={"kind": Kind.ANSWER, "entry_id": entry.id, "score": round(min(1.0, rank(entry.id)), 4),
              "citations": citations_data(entry), "alternatives": alt, "history_first": history_first,
              "repealed_first": repealed_first(ctx, reply.text) and not history_first},
    )




def answer(ctx: Context, text: str, message_id: int) -> Outcome:
    readers = ctx.kb.readers
    reading = read_message(text, ctx.kb.normalizer, readers.reading) if readers else None
    wanted = ctx.searcher.triggered_intent(text)
    if wanted and (wanted == "staff" or reading is None or len(reading.questions) < 2):
        # The member asked for a person (or to start a self-check): the whole message goes to that
        # conversation as it is. With other questions beside a self-check request, each gets answered.
        meta: Meta = {"kind": Kind.INTENT, "intent": wanted, "score": 1.0}
        return Outcome(meta=meta, redirect=f"intent:{wanted}:{message_id}")
    content = ctx.searcher.content_words(text)
    if not content:
        # "ạ", "4", "?", an emoji: nothing to look up, so ask for a question rather than guess.
        return Outcome([Reply(ctx.t("empty"))], meta={"kind": Kind.UNKNOWN, "score": 0.0})
    law = referral.other_law_article(text, readers.referral) if readers else None
    if law:
        # "Điều 50 Luật Đất đai": an article of another law is not an article of the cooperative law.
        ref = (referral.match(text, ctx.kb.normalizer, readers.referral)
               or referral.touched(text, readers.referral)) if readers else None
        return refer(ctx, [ref] if ref else [], other_law=law)
    refs, missing = ctx.searcher.article_refs(text)
    if refs:
        return article_answer(ctx, text, refs, message_id)
    if missing:
        found = [doc for doc in map(ctx.kb.document, missing) if doc is not None]
        docs = "; ".join(f"{doc.short} có {doc.articles} điều" for doc in found)
        return Outcome([Reply(ctx.t("no_such_article", docs=docs))], meta={"kind": Kind.UNKNOWN, "score": 0.0})
    if reading is None or reading.framing_only:
        return answer_parts(ctx, text, message_id, [analyse(ctx, text, reading)], reading)
    # The office the story is about: a question that names another office itself is referred by its own
    # words and says nothing about its neighbours ("… tạm ngừng hoạt động 6 tháng. Thủ tục thế nào, báo trước
    # bao lâu? Trong thời gian tạm ngừng có phải đóng thuế không?" — only the last is the tax office's).
    whole = referral.match(reading.story or text, ctx.kb.normalizer, readers.referral) if readers else None
    other_subject = ctx.searcher.about_other_subject(text)
    parts: list[Part] = []
    for i in range(len(reading.questions)):
        part = _question(ctx, reading, i, parts, whole, other_subject)
        if part is not None:
            parts.append(part)
    parts = _with_message_office(ctx, parts)
    if len(parts) == 1 and parts[0].kind == Kind.UNKNOWN and parts[0].referral is None and text != parts[0].text:
        # The question alone found nothing: the whole message may still say what it is about (but a word of
        # another office's in a member's story about their share does not make it that office's).
        retry = analyse(ctx, text, reading, other_subject=other_subject)
        told_matter = readers is not None and referral.cooperative_matter(text, readers.referral)
        if retry.kind != Kind.UNKNOWN or (retry.referral is not None and not told_matter):
            parts = [retry]
    if len(parts) > 1 and all(p.kind == Kind.UNKNOWN for p in parts) and readers:
        # Nothing of the message is the cooperative law's to answer, and some of it is another office's
        # ("… nợ lương 3 tháng … nghỉ ngang được không, đòi lương ở đâu?"): one pointer for the message,
        # not the same office once per question, nor a staff ticket for the questions it left open.
        # The story's office only when the story tells no cooperative matter ("… góp 30 triệu, nuôi tôm…"
        # is a member's matter, however many shrimp ponds it names).
        offices = [p.referral for p in parts if p.referral is not None] or \
            [r for r in (referral.touched(text, readers.referral),) if r is not None
             and not referral.cooperative_matter(text, readers.referral)]
        if offices:
            return refer(ctx, list({r.key: r for r in offices}.values()))
    if text != parts[0].text and all(p.kind == Kind.UNKNOWN and p.referral is None for p in parts):
        agreed = _agreed_on_whole(ctx, text, other_subject)
        parts = [agreed] if agreed is not None else parts
    return answer_parts(ctx, text, message_id, parts, reading)


def _agreed_on_whole(ctx: Context, text: str, other_subject: bool) -> Part | None:
    """Nothing in a long message was understood question by question, but both rankers read the whole
    message as the same entry: answered with the hedge ("Tôi hiểu là: …"), rather than a bare "not sure"."""
    if other_subject:
        return None
    results = [c for c in ctx.searcher.search(text, province=ctx.province, limit=4) if c.kind != OUT_OF_SCOPE]
    if not results or results[0].kind != ENTRY or results[0].score < ctx.config.search.clarify_threshold:
        return None
    if ctx.searcher.bm25_best(text) != (ENTRY, results[0].key) or not visible(ctx, ctx.kb.entries.get(results[0].key)):
        return None
    return Part(text, Kind.ANSWER, tuple(results), score=results[0].score)


def _with_message_office(ctx: Context, parts: list[Part]) -> list[Part]:
    """A question the bot is unsure of, that names no cooperative, next to a question sent to another office
    belongs to that office too ("Hàng xóm lấn đất … Giờ tôi phải làm đơn gửi đâu? Có phải đo đạc lại thửa đất
    không?": the first is the land office's too, not "did you mean: leaving an HTX"). Next to a question
    answered from an entry it is that question's follow-up ("Thủ tục tạm ngừng thế nào, báo trước bao lâu?
    … có phải nộp thuế không?") and stays."""
    readers = ctx.kb.readers
    if readers is None:
        return parts

    def office(p: Part) -> Referral | None:
        return p.referral if p.referral is not None and p.referral.key != "none" else None

    out = list(parts)
    for i, p in enumerate(parts):
        if p.referral is not None or p.kind not in (Kind.UNKNOWN, Kind.CLARIFY):
            continue  # an answer the search found stands; a guess or nothing may join the office
        near = [parts[k] for k in (i - 1, i + 1) if 0 <= k < len(parts)]
        offices = [r for r in map(office, near) if r is not None]
        if offices and not any(n.kind == Kind.ANSWER for n in near) \
                and not referral.about_cooperatives(p.asked or p.text, readers.referral):
            out[i] = replace(p, kind=Kind.UNKNOWN, candidates=(), referral=offices[0])
    return out


def _question(ctx: Context, reading: Reading, i: int, parts: list[Part], whole: Referral | None,
              other_subject: bool) -> Part | None:
    """Question `i` of a long message, read with what came before it; None when an earlier answer covers it."""
    readers = ctx.kb.readers
    q = reading.questions[i]
    # A follow-up ("Hồ sơ gồm gì?") belongs to the matter the message or the question before it is about.
    context = parts[-1].referral if parts and parts[-1].referral else whole
    before = reading.story_before(i)
    if context is None and before and readers:
        # "Nay tôi muốn làm sổ đỏ… Có được cấp giấy chứng nhận không?": the sentence before a question may
        # name the matter (land) that the question's own words leave open, even when the member introduced
        # themself as an HTX member earlier in the message.
        context = referral.match(f"{before} {q.text}", ctx.kb.normalizer, readers.referral)
    settled = frozenset(p.rule for p in parts if p.rule)
    answered = {p.top.key for p in parts if p.kind == Kind.ANSWER and p.top is not None}
    part = analyse(ctx, reading.search_text(i), reading, context, other_subject, settled)
    if i > 0 and reading.is_short(i) and part.kind != Kind.ANSWER and part.referral is None:
        # "5 người đã đủ lập HTX chưa? Hồ sơ nộp ở đâu?": the question before says what this one is about.
        follow = analyse(ctx, f"{reading.questions[i - 1].text} {q.text}", reading, context, other_subject, settled)
        if follow.kind == Kind.ANSWER and follow.top is not None and follow.top.key in answered:
            return None  # "… cho vay không, lãi suất tối đa bao nhiêu?": the answer before covers it
        # A guess from a few words ("Có phải báo trước không?" → "did you mean" three entries) that the
        # question before does not bear out is no answer either.
        part = follow if follow.kind == Kind.ANSWER or (part.kind == Kind.CLARIFY and follow.kind == Kind.UNKNOWN
                                                        and follow.referral is None) else part
    previous = parts[-1] if parts and parts[-1].asked == reading.questions[i - 1].text else None
    if previous is not None and previous.referral is not None and previous.referral.key != "none" \
            and part.referral is None and reading.continues(i) and readers is not None \
            and not referral.names_cooperative(q.text, readers.referral) \
            and referral.match(previous.asked, ctx.kb.normalizer, readers.referral) is not None:
        # "Thành lập công ty TNHH thì nộp hồ sơ ở đâu, có cần chứng minh vốn điều lệ không?": the second
        # half of the sentence is about the company too, however well "vốn điều lệ" matches an entry (when
        # the first half named that office's matter in its own words, not only through the story).
        return replace(Part(q.text, Kind.UNKNOWN, referral=previous.referral, score=part.score), asked=q.text)
    if part.kind in (Kind.UNKNOWN, Kind.CLARIFY) and part.referral is None:
        part = _with_story(ctx, part, i, reading, context, other_subject, settled)
    if part.kind == Kind.ANSWER and part.top is not None and part.top.key in answered:
        # The same answer twice in one message: the words borrowed from the question before made this one
        # look like it. Alone it may find its own; if not, it is not answered rather than repeated.
        alone = analyse(ctx, q.text, reading, context, other_subject, settled)
        repeated = alone.kind == Kind.ANSWER and alone.top is not None and alone.top.key in answered
        part = replace(part, kind=Kind.UNKNOWN, candidates=()) if repeated else alone
    return replace(part, asked=q.text)


def _with_story(ctx: Context, part: Part, index: int, reading: Reading, context: Referral | None,
                other_subject: bool, settled: frozenset[str] = frozenset()) -> Part:
    """A question with few words of its own ("Vậy họ làm như vậy có đúng không?") is about the story: tried
    again with each of the last story sentences in front of it, and answered when one of them makes a
    whole question search answers. A rule read from the member's own numbers in such a pairing is not
    trusted (the numbers may be an age or a price in an unrelated sentence)."""
    question = reading.questions[index].text
    told = reading.told_before(index)
    if not told or len(ctx.searcher.content_words(question)) > STORY_QUESTION_WORDS:
        return part
    tries = [analyse(ctx, f"{sentence} {question}", reading, context, other_subject, settled)
             for sentence in told[-STORY_SENTENCES:]]
    answered = [t for t in tries if t.kind == Kind.ANSWER and t.lead is None]
    return max(answered, key=lambda t: t.score) if answered else part


def answer_parts(ctx: Context, text: str, message_id: int, parts: list[Part], reading: Reading | None) -> Outcome:
    """One question: its answer. Several: each answered in its own short message, in the member's order
    (a farmer who asked two things expects two answers, not one answer and a button), then one line for
    the questions the bot could not answer, which go to staff together."""
    history = bool(reading and reading.asks_history)
    if len(parts) == 1:
        return answer_one(ctx, text, message_id, parts[0], history)
    replies: list[Reply] = []
    metas: list[Meta] = []
    unknown: list[Part] = []
    effects: list[Effect] = []
    for i, part in enumerate(parts, start=1):
        wanted = ctx.searcher.triggered_intent(part.text) if part.kind != Kind.INTENT else part.top and part.top.key
        label = (ctx.kb.ui.get("intent_labels") or {}).get(wanted or "")
        if wanted and label:
            # A self-check asked for beside other questions: offered as a button, the answers come first.
            head = _part_head(ctx, i, part.asked or part.text)
            replies.append(Reply(head + "\n" + ctx.t("part_intent"), [[Button(label, f"intent:{wanted}")]]))
            metas.append({"kind": Kind.INTENT, "intent": wanted, "score": 1.0})
            continue
        if part.kind in (Kind.UNKNOWN, Kind.INTENT) and part.referral is None:
            unknown.append(part)
            metas.append({"kind": Kind.UNKNOWN, "score": part.score})
            continue
        out = answer_one(ctx, part.text, message_id, part, history, feedback=False, related=False, hedge=False)
        # Answers are numbered in the member's order. When the match is not certain, or the bot asks which
        # one was meant, the heading says what was understood (the one-part answer's hedge, in fewer words).
        top = part.top
        unsure = top is not None and part.kind == Kind.ANSWER and part.lead is None \
            and top.score < ctx.config.search.confident_threshold
        for reply in out.replies:
            if part.kind == Kind.ANSWER and not unsure:
                reply.text = ctx.t("part_number", n=i) + " " + reply.text
            else:
                about = ctx.kb.entries[top.key].name if unsure and top else part.asked or part.text
                reply.text = _part_head(ctx, i, about) + "\n" + reply.text
        replies += out.replies
        metas.append(out.meta)
        effects += out.effects
    answered = [m for m in metas if m.get("kind") in (Kind.ANSWER, Kind.CLARIFY, Kind.INTENT)]
    if not answered and not any(p.referral for p in parts):
        return not_sure(ctx, text, max(p.score for p in parts))
    if unknown:
        asked = "; ".join(f"“{short_label(p.asked or p.text, 90)}”" for p in unknown)
        # Only say the questions went to staff when they did.
        to_staff = any(plausible(ctx, p.text) for p in unknown)
        replies.append(Reply(ctx.t("part_unknown" if to_staff else "part_unknown_kept", questions=asked)))
        if to_staff:
            effects.append(OpenTicket("unknown", text))
    if replies:
        # 👍/👎 once, under the last message: the member judges the answer to their message.
        replies[-1].buttons.append(feedback_buttons(ctx, message_id))
    first = answered[0] if answered else metas[0]
    meta: Meta = {**first, "parts": [dict(m) for m in metas]}
    # The member asked for the old rule: it comes first on purpose, and is not counted as stated for today.
    meta["repealed_first"] = bool(replies) and not first.get("history_first") \
        and repealed_first(ctx, _first_answer_text(replies[0]))
    return Outcome(replies, meta=meta, effects=effects)


def _part_head(ctx: Context, n: int, about: str) -> str:
    return ctx.t("part_head", n=n, question=short_label(about.rstrip("?"), 60))


_PART_HEAD = re.compile(r"^\*\*\d+\.(?: [^*\n]*)?\*\*[ \n]")


def _first_answer_text(reply: Reply) -> str:
    """A part's reply without its number or heading, as a member reads the answer itself."""
    return _PART_HEAD.sub("", reply.text, count=1)


def answer_one(ctx: Context, text: str, message_id: int, part: Part, history: bool, *, feedback: bool = True,
               related: bool = True, hedge: bool = True) -> Outcome:
    cfg = ctx.config.search
    if part.referral is not None:
        return refer(ctx, [part.referral])
    cands = list(part.candidates)
    alternatives = [c for c in cands[1:] if c.kind == ENTRY and c.score >= cfg.clarify_threshold]
    alt_data = [_alternative(ctx, c.key, c.score) for c in alternatives[:MAX_CHOICES]]
    if part.kind == Kind.INTENT:
        top = cands[0]
        return Outcome(
            meta={"kind": Kind.INTENT, "intent": top.key, "score": top.score, "alternatives": alt_data},
            redirect=f"intent:{top.key}",
        )
    if part.kind == Kind.ANSWER:
        top = cands[0]
        entry = ctx.kb.entries[top.key]
        extra: list[Entry] = []
        if related:
            extra = [ctx.kb.entries[c.key] for c in alternatives[:2]]
            if not extra:
                extra = [ctx.kb.entries[r] for r in entry.related if visible(ctx, ctx.kb.entries.get(r))][:2]
        history_first = history and bool(entry.history)
        # Probably right, not certainly: say what we understood, and offer the next best as buttons.
        reply = entry_reply(ctx, entry, message_id, extra, history_first=history_first, lead=part.lead,
                            hedge=hedge and top.score < cfg.confident_threshold and part.lead is None,
                            feedback=feedback)
        body = first_text(ctx, entry, history_first, part.lead)
        return Outcome(
            [reply],
            meta={"kind": Kind.ANSWER, "entry_id": entry.id, "score": top.score,
                  "citations": [*(c.as_dict() for c in part.lead_citations), *citations_data(entry)],
                  "alternatives": alt_data, "history_first": history_first,
                  "repealed_first": repealed_first(ctx, body) and not history_first},
        )
    if part.kind == Kind.CLARIFY:
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
    return not_sure(ctx, text, part.score)


def refer(ctx: Context, referrals: list[Referral], other_law: str | None = None) -> Outcome:
    """Another office's matter: say which office, politely; no staff ticket (the alliance cannot answer
    it either). `ask --json` keeps kind "unknown" and names the office in `referral`."""
    lines = [ctx.t("other_law", law=other_law)] if other_law else []
    lines += list(dict.fromkeys(r.office for r in referrals))
    if not referrals and not other_law:
        lines.append(ctx.t("not_understood"))
    keys = [r.key for r in referrals]
    if any(k != "none" for k in keys) or other_law:
        lines.append(ctx.t("referral_more"))
    meta: Meta = {"kind": Kind.UNKNOWN, "score": 0.0}
    meta["referral"] = next((k for k in keys if k != "none"), keys[0] if keys else "none")
    return Outcome([Reply("\n".join(lines))], meta=meta)


def plausible(ctx: Context, text: str) -> bool:
    """Whether an unanswered question may be a cooperative question staff can answer: a question in real
    words (bot/junk.py) that the knowledge base itself uses. "asdkjh", "haha", digits open no ticket."""
    return worth_a_ticket(ctx.searcher.content_words(text)) and len(ctx.searcher.known_words(text)) >= 2


def not_sure(ctx: Context, text: str, score: float) -> Outcome:
    readers = ctx.kb.readers
    if readers is not None and plausible(ctx, text) and (not referral.about_cooperatives(text, readers.referral)
                                                          or ctx.searcher.about_other_subject(text)):
        # Not about cooperatives at all ("vốn điều lệ công ty TNHH" is a company's matter): honest, and no
        # ticket promising an answer the alliance cannot give.
        meta: Meta = {"kind": Kind.UNKNOWN, "score": score, "referral": "none"}
        return Outcome([Reply(ctx.t("unknown_general"))], meta=meta)
    if not plausible(ctx, text):
        # Noise ("asdkjh", "hihi", "dạ vâng"): ask for a question; staff never get a ticket.
        return Outcome([Reply(ctx.t("not_understood"))], meta={"kind": Kind.UNKNOWN, "score": score})
    reply = Reply(ctx.t("unknown"))
    if staff.wants_contact_offer(ctx):  # a web member may leave a phone number for staff (with consent)
        reply.buttons.append([staff.contact_button(ctx)])
    return Outcome(
        [reply],
        meta={"kind": Kind.UNKNOWN, "score": score},
        effects=[OpenTicket("unknown", text)],
    )
