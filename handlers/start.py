"""/start, the menu and help: what a new user sees first."""

from __future__ import annotations

from bot.effects import Effect, UpdateProfile
from bot.types import Button, Context, DialogState, Kind, Message, Outcome, Reply


def menu_buttons(ctx: Context) -> list[list[Button]]:
    return [[Button(label, payload)] for label, payload in ctx.kb.ui.get("menu") or []]


def start(ctx: Context, state: DialogState | None, msg: Message) -> Outcome:
    """Greets, and honours a deep-link payload naming the province (t.me/bot?start=kontum)."""
    name = ctx.user.get("name")
    effects: list[Effect] = []
    notes: list[str] = []
    prov = ctx.kb.find_province(msg.arg) if msg.arg else None
    if prov:
        effects.append(UpdateProfile(province=prov.name))
        ctx.user["province"] = prov.name
        notes.append(ctx.t("welcome_province", province=prov.name))
        if prov.merged_into and prov.merged_into in ctx.kb.provinces:
            notes.append(ctx.t("province_merged", old=prov.name, new=ctx.kb.provinces[prov.merged_into].name))
    text = ctx.t("welcome", name_part=f" {name}" if name else "")
    if notes:
        text += "\n" + " ".join(notes)
    return Outcome([Reply(text, menu_buttons(ctx))], meta={"kind": Kind.START}, effects=effects, end_dialog=True)


def menu(ctx: Context, state: DialogState | None, msg: Message) -> Outcome:
    return Outcome([Reply(ctx.t("menu"), menu_buttons(ctx))], meta={"kind": Kind.MENU})


def help_(ctx: Context, state: DialogState | None, msg: Message) -> Outcome:
    return Outcome([Reply(ctx.t("help"))], meta={"kind": Kind.HELP})


def cancel(ctx: Context, state: DialogState | None, msg: Message) -> Outcome:
    text = ctx.t("cancelled") if ctx.active_flow else ctx.t("nothing_to_cancel")
    return Outcome([Reply(text)], meta={"kind": Kind.CANCEL}, end_dialog=True)


def thanks(ctx: Context, state: DialogState | None, msg: Message) -> Outcome:
    return Outcome([Reply(ctx.t("thanks_reply"))], meta={"kind": Kind.SMALLTALK})
