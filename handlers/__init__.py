"""Channel-neutral conversations. Each handler is a function (context, state, message) → Outcome.

A payload "name:arg" is routed to the handler called name; "intent:x" starts the conversation named x.
The table is built from the knowledge base (`handlers_for`), so every file in knowledge/selfchecks/
is a working self-check, and a reload that adds one adds its handler.
"""

from __future__ import annotations

import logging

from bot.kb.crossref import COMMON
from bot.kb.model import KnowledgeBase
from bot.textnorm import parse_id
from bot.types import Context, DialogState, Handler, Message, Outcome
from handlers import faq, feedback, privacy, province, selfcheck, staff, start

log = logging.getLogger(__name__)

# The handlers written in Python; the self-checks are added per knowledge base.
FIXED: dict[str, Handler] = {
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
}


def selfcheck_names(kb: KnowledgeBase) -> list[str]:
    """One self-check per knowledge/selfchecks/<name>.yaml, except the shared _common.yaml."""
    return sorted(name for name in kb.selfchecks if name != COMMON)


def handlers_for(kb: KnowledgeBase) -> dict[str, Handler]:
    """The handler table for this knowledge base: the fixed handlers, "intent", and one self-check per file.

    A conversation the knowledge still names (a command, a menu button, an intent) whose file was removed
    keeps a self-check handler too: it politely says the check is unavailable and ends any saved one.
    """
    table = dict(FIXED)
    table["intent"] = intent
    for name in selfcheck_names(kb):
        if name in table:
            log.warning("knowledge/selfchecks/%s.yaml: %r is already a handler; the file is not used", name, name)
            continue
        table[name] = selfcheck.handler(name)
    for name in sorted(_named_conversations(kb) - set(table)):
        table[name] = selfcheck.handler(name)
    return table


def _named_conversations(kb: KnowledgeBase) -> set[str]:
    """Handler names the knowledge points at: intents, and the targets of commands and menu buttons."""
    payloads = [str((spec or {}).get("action") or "") for spec in (kb.ui.get("commands") or {}).values()]
    payloads += [str(button[1]) for button in kb.ui.get("menu") or [] if len(button) > 1]
    names = set(kb.intents)
    for payload in payloads:
        head, _, rest = payload.partition(":")
        names.add(rest.partition(":")[0] if head == "intent" else head)
    return {n for n in names if n}


def intent(ctx: Context, state: DialogState | None, msg: Message) -> Outcome:
    """Start the conversation an intent names ("intent:staff" → staff handler with arg "start")."""
    name, _, about = msg.arg.partition(":")
    handler = handlers_for(ctx.kb).get(name)
    if handler is None or name in ("intent", "faq"):
        return faq.handle(ctx, None, Message(text=msg.text, message_id=msg.message_id))
    # "intent:staff:<message id>": start with that message as the member's request.
    arg = f"start:{about}" if parse_id(about) is not None else "start"
    return handler(ctx, None, Message(arg=arg, is_payload=True, message_id=msg.message_id, text=msg.text))
