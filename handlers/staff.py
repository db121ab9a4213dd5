"""Pass a question to the alliance's staff; they answer through the same chat (staff console)."""

from __future__ import annotations

from bot.effects import OpenTicket
from bot.textnorm import parse_id
from bot.types import Context, DialogState, Kind, Message, Outcome, Reply

FLOW = "staff"


def handle(ctx: Context, state: DialogState | None, msg: Message) -> Outcome:
    if msg.is_payload:
        action, _, rest = msg.arg.partition(":")
        target = parse_id(rest)  # strict: "²" or a 30-digit id is no id (bot/textnorm.py)
        if action in ("q", "start") and target is not None:
            question = ctx.message_text(target)
            if question:
                return _send(ctx, question, target)
        # "start", or a question we can no longer find: ask for it.
        return Outcome([Reply(ctx.t("staff_ask"))], state={"flow": FLOW}, meta={"kind": Kind.INTENT, "intent": "staff"})
    text = msg.text.strip()
    if state and text:
        return _send(ctx, text, msg.message_id)
    return Outcome([Reply(ctx.t("staff_ask"))], state={"flow": FLOW}, meta={"kind": Kind.INTENT, "intent": "staff"})


def _send(ctx: Context, text: str, message_id: int) -> Outcome:
    return Outcome(
        [Reply(ctx.t("staff_sent"))],
        meta={"kind": Kind.STAFF},
        effects=[OpenTicket("staff_request", text, message_id=message_id)],
        end_dialog=True,
    )
