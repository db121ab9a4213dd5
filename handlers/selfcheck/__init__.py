"""Guided self-checks, one question at a time: a single data-driven conversation for every check.

The questions, answers, explanations, sources and the programme's period come from
knowledge/selfchecks/<name>.yaml (declared in bot/kb/schema.py); this package only walks them.
`handler(name)` is made for each such file by handlers.handlers_for.

Modules: `state` (the frozen dialog state, stored as JSON), `flow` (phase → action tables),
`understand` (typed free-text answers), `render` (the messages), `contact` (consent, name, phone).
"""

from __future__ import annotations

from bot.types import Context, DialogState, Handler, Kind, Message, Outcome, Reply
from handlers.selfcheck import flow
from handlers.selfcheck.render import View
from handlers.selfcheck.state import CheckState
from handlers.selfcheck_model import load


def handler(name: str) -> Handler:
    """The handler for the self-check in knowledge/selfchecks/<name>.yaml."""

    def handle(ctx: Context, state: DialogState | None, msg: Message) -> Outcome:
        check = load(ctx.kb, name)
        if check is None:
            # The file is missing (a province removed it): say so and end any saved conversation.
            return Outcome([Reply(ctx.t("sc_unavailable"))], meta={"kind": Kind.SELFCHECK, "intent": name})
        return flow.handle(View(ctx, check), CheckState.from_json(check, state), msg)

    handle.__name__ = handle.__qualname__ = f"{name}_selfcheck"
    return handle
