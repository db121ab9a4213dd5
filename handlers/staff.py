"""Pass a question to the alliance's staff; they answer through the same chat (staff console).

A web-chat member reads a staff answer only if they come back in the same browser, so after a question
goes to staff they are offered to leave a phone number (for a call or Zalo). The number is asked for
only after they pressed "agree", and stored on the ticket (effect `SaveTicketContact`) only once typed.
"""

from __future__ import annotations

from bot.effects import OpenTicket, SaveTicketContact
from bot.textnorm import parse_id
from bot.types import Button, Context, DialogState, Kind, Message, Outcome, Reply
from handlers.selfcheck.contact import valid_phone
from handlers.selfcheck.render import quote

FLOW = "staff"
VIA = ("phone", "zalo")
CONTACT_PHASE = "contact_"  # + "phone" / "zalo": the member agreed and is typing the number


def handle(ctx: Context, state: DialogState | None, msg: Message) -> Outcome:
    if msg.is_payload:
        action, _, rest = msg.arg.partition(":")
        if action == "contact":
            return ask_consent(ctx, rest)
        if action == "consent":
            via, _, ref = rest.partition(":")
            if via in VIA:
                return ask_phone(ctx, via, ref)
        if action == "nocontact":
            return Outcome([Reply(ctx.t("staff_contact_declined"))], meta={"kind": Kind.STAFF}, end_dialog=True)
        target = parse_id(rest)  # strict: "²" or a 30-digit id is no id (bot/textnorm.py)
        if action in ("q", "start") and target is not None:
            question = ctx.message_text(target)
            if question:
                return _send(ctx, question, target)
        # "start", or a question we can no longer find: ask for it.
        return Outcome([Reply(ctx.t("staff_ask"))], state={"flow": FLOW}, meta={"kind": Kind.INTENT, "intent": "staff"})
    text = msg.text.strip()
    phase = state.get("phase", "") if state else ""
    if state and phase.startswith(CONTACT_PHASE) and text:
        return take_phone(ctx, state, text)
    if state and text:
        return _send(ctx, text, msg.message_id)
    return Outcome([Reply(ctx.t("staff_ask"))], state={"flow": FLOW}, meta={"kind": Kind.INTENT, "intent": "staff"})


def _send(ctx: Context, text: str, message_id: int) -> Outcome:
    reply = Reply(ctx.t("staff_sent"))
    if wants_contact_offer(ctx):
        reply.buttons.append([contact_button(ctx, message_id)])
    return Outcome(
        [reply],
        meta={"kind": Kind.STAFF},
        effects=[OpenTicket("staff_request", text, message_id=message_id)],
        end_dialog=True,
    )


def wants_contact_offer(ctx: Context) -> bool:
    """Only the web chat needs it: Telegram and Zalo deliver a staff answer wherever the member is."""
    return ctx.user.get("channel") == "web"


def contact_button(ctx: Context, message_id: int | None = None) -> Button:
    """"Để lại số điện thoại" under a reply that sent a question to staff (`message_id`: the question)."""
    return Button(ctx.t("staff_contact_button"), f"staff:contact:{message_id or ''}")


def ask_consent(ctx: Context, ref: str) -> Outcome:
    """What the number is for and that it is kept only if they agree; nothing is stored yet."""
    ref = ref if ref.isdigit() else ""
    buttons = [[Button(ctx.t("staff_contact_yes_phone"), f"staff:consent:phone:{ref}")],
               [Button(ctx.t("staff_contact_yes_zalo"), f"staff:consent:zalo:{ref}")],
               [Button(ctx.t("staff_contact_no"), "staff:nocontact")]]
    return Outcome([Reply(ctx.t("staff_contact_ask"), buttons)], meta={"kind": Kind.STAFF})


def ask_phone(ctx: Context, via: str, ref: str) -> Outcome:
    state: DialogState = {"flow": FLOW, "phase": CONTACT_PHASE + via}
    if ref.isdigit():
        state["ref"] = int(ref)
    return Outcome([Reply(ctx.t("staff_contact_phone"))], state=state, meta={"kind": Kind.STAFF})


def take_phone(ctx: Context, state: DialogState, text: str) -> Outcome:
    phone = valid_phone(text)
    if phone is None:
        return Outcome([Reply(ctx.t("staff_contact_invalid", text=quote(text)))], state=state,
                       meta={"kind": Kind.STAFF})
    via = state.get("phase", "")[len(CONTACT_PHASE):]
    via = via if via in VIA else "phone"
    how = ctx.t("staff_contact_how_zalo" if via == "zalo" else "staff_contact_how_phone")
    return Outcome(
        [Reply(ctx.t("staff_contact_saved", phone=phone, how=how))],
        state=None,
        meta={"kind": Kind.STAFF},
        effects=[SaveTicketContact(phone=phone, via=via, message_id=state.get("ref"))],
    )
