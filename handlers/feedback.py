"""👍/👎 under each answer. A 👎 also puts the question in front of the alliance's staff."""

from __future__ import annotations

from bot.effects import Effect, OpenTicket, RecordFeedback
from bot.textnorm import parse_id
from bot.types import Context, DialogState, Kind, Message, Outcome, Reply


def handle(ctx: Context, state: DialogState | None, msg: Message) -> Outcome:
    sign, _, target = msg.arg.partition(":")
    target_id = parse_id(target)  # strict: "²" or a 30-digit id is no id (bot/textnorm.py)
    if sign not in ("+", "-") or target_id is None:
        return Outcome([Reply(ctx.t("feedback_unknown"))], meta={"kind": Kind.FEEDBACK})
    question = ctx.message_text(target_id)
    if question is None:
        return Outcome([Reply(ctx.t("feedback_unknown"))], meta={"kind": Kind.FEEDBACK})
    value = 1 if sign == "+" else -1
    if ctx.feedback_given(target_id) == value:
        # Pressed again (or the platform re-sent the press): counted once, and no second ticket.
        return Outcome([Reply(ctx.t("feedback_already"))], meta={"kind": Kind.FEEDBACK})
    effects: list[Effect] = [RecordFeedback(target_id, value)]
    if value > 0:
        return Outcome([Reply(ctx.t("feedback_thanks"))], meta={"kind": Kind.FEEDBACK}, effects=effects)
    effects.append(OpenTicket("negative_feedback", question, message_id=target_id))
    return Outcome([Reply(ctx.t("feedback_sorry"))], meta={"kind": Kind.FEEDBACK}, effects=effects)
