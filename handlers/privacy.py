"""What is stored, and erasing it on request."""

from __future__ import annotations

from bot.effects import ForgetUser
from bot.types import Button, Context, DialogState, Kind, Message, Outcome, Reply


def handle(ctx: Context, state: DialogState | None, msg: Message) -> Outcome:
    action = msg.arg
    if action == "forget":
        buttons = [[Button(ctx.t("button_yes"), "privacy:forget-yes"), Button(ctx.t("button_no"), "privacy:forget-no")]]
        return Outcome([Reply(ctx.t("forget_confirm"), buttons)], meta={"kind": Kind.PRIVACY})
    if action == "forget-yes":
        return Outcome([Reply(ctx.t("forget_done"))], meta={"kind": Kind.PRIVACY}, effects=[ForgetUser()],
                       end_dialog=True)
    if action == "forget-no":
        return Outcome([Reply(ctx.t("forget_kept"))], meta={"kind": Kind.PRIVACY})
    return Outcome([Reply(ctx.t("privacy"))], meta={"kind": Kind.PRIVACY})
