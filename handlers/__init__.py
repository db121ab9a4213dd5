"""Channel-neutral conversations. Each handler is a function (context, state, message) → Outcome.

A payload "name:arg" is routed to HANDLERS[name]; "intent:x" starts the conversation named x.
"""

from __future__ import annotations

from bot.types import Context, Handler, Message, Outcome
from handlers import faq, feedback, privacy, province, selfcheck, staff, start

HANDLERS: dict[str, Handler] = {
    "faq": faq.handle,
    "start": start.start,
    "menu": start.menu,
    "help": start.help_,
    "greeting": start.start,
    "thanks": start.thanks,
    "cancel": start.cancel,
    "fb": feedback.handle,
    "staff": staff.handle,
    "province": province.handle,
    "privacy": privacy.handle,
    "eligibility": selfcheck.handler("eligibility"),  # knowledge/selfchecks/eligibility.yaml
    "compliance": selfcheck.handler("compliance"),  # knowledge/selfchecks/compliance.yaml
}


def intent(ctx: Context, state: dict | None, msg: Message) -> Outcome:
    """Start the conversation an intent names ("intent:staff" → staff handler with arg "start")."""
    name, _, about = msg.arg.partition(":")
    handler = HANDLERS.get(name)
    if handler is None or name in ("intent", "faq"):
        return faq.handle(ctx, None, Message(text=msg.text, message_id=msg.message_id))
    # "intent:staff:<message id>": start with that message as the member's request.
    arg = f"start:{about}" if about.isdigit() else "start"
    return handler(ctx, None, Message(arg=arg, is_payload=True, message_id=msg.message_id, text=msg.text))


HANDLERS["intent"] = intent
