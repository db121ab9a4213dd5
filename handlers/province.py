"""Which province the member is in: provincial documents are shown only to their own province.

The prompt offers buttons for the provinces that have documents of their own and a way out; a member who
types a question instead of a province gets the question answered, not refused.
"""

from __future__ import annotations

from bot.effects import UpdateProfile
from bot.types import Button, Context, DialogState, Kind, Message, Outcome, Reply

FLOW = "province"
SKIP = "skip"


def handle(ctx: Context, state: DialogState | None, msg: Message) -> Outcome:
    if msg.is_payload:
        action, _, rest = msg.arg.partition(":")
        if action == "ask" and not rest:
            return _ask(ctx)
        if action == SKIP:
            return Outcome([Reply(ctx.t("province_skipped"))], meta={"kind": Kind.PROVINCE}, end_dialog=True)
        return _set(ctx, rest or action)
    if state is not None:
        return _set(ctx, msg.text, typed=True)
    return _ask(ctx)


def buttons(ctx: Context) -> list[list[Button]]:
    """The provinces (today's names) that have provincial documents, then 'skip'."""
    provinces = ctx.kb.provinces
    with_docs = {e.province for e in ctx.kb.entries.values() if e.province}
    codes: list[str] = []
    for prov in provinces.values():
        if prov.name in with_docs:
            code = prov.merged_into if prov.merged_into in provinces else prov.code
            if code not in codes:
                codes.append(code)
    rows = [[Button(provinces[c].name, f"province:{c}") for c in codes[i : i + 2]] for i in range(0, len(codes), 2)]
    return [*rows, [Button(ctx.t("province_skip"), f"province:{SKIP}")]]


def _ask(ctx: Context) -> Outcome:
    return Outcome([Reply(ctx.t("province_ask"), buttons(ctx))], state={"flow": FLOW},
                   meta={"kind": Kind.PROVINCE})


def _set(ctx: Context, text: str, typed: bool = False) -> Outcome:
    prov = ctx.kb.find_province(text.strip())
    if prov is None:
        if typed and len(ctx.searcher.content_words(text)) >= 2:
            # Not a province but a question: the member moved on, so answer it.
            return Outcome(redirect="faq:", end_dialog=True)
        return Outcome(
            [Reply(ctx.t("province_unknown", text=text.strip()[:60]), buttons(ctx))],
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
