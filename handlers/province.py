"""Which province the member is in: provincial documents are shown only to their own province."""

from __future__ import annotations

from bot.effects import UpdateProfile
from bot.types import Context, DialogState, Kind, Message, Outcome, Reply

FLOW = "province"


def handle(ctx: Context, state: DialogState | None, msg: Message) -> Outcome:
    if msg.is_payload:
        action, _, rest = msg.arg.partition(":")
        if action == "ask" and not rest:
            return _ask(ctx)
        return _set(ctx, rest or action)
    if state is not None:
        return _set(ctx, msg.text)
    return _ask(ctx)


def _ask(ctx: Context) -> Outcome:
    return Outcome([Reply(ctx.t("province_ask"))], state={"flow": FLOW}, meta={"kind": Kind.PROVINCE})


def _set(ctx: Context, text: str) -> Outcome:
    prov = ctx.kb.find_province(text.strip())
    if prov is None:
        return Outcome(
            [Reply(ctx.t("province_unknown", text=text.strip()[:60]))],
            state={"flow": FLOW},
            meta={"kind": Kind.PROVINCE},
        )
    lines = [ctx.t("province_set", province=prov.name)]
    if prov.merged_into and prov.merged_into in ctx.kb.provinces:
        lines.append(ctx.t("province_merged", old=prov.name, new=ctx.kb.provinces[prov.merged_into].name))
    return Outcome(
        [Reply(" ".join(lines))],
        meta={"kind": Kind.PROVINCE},
        effects=[UpdateProfile(province=prov.name)],
        end_dialog=True,
    )
