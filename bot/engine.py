"""The one path every message takes: record → route → handler → record replies (→ outbox).

Channels call `Engine.handle()` and send what it returns; nothing here knows a channel. Routing is
data: commands come from knowledge/ui.yaml, payloads name their handler ("faq:e:x" → faq), and an
active conversation in the store gets free text before search does.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from bot.config import Config
from bot.db import Store
from bot.effects import Effect, FollowUp, UpdateProfile
from bot.kb.loader import load
from bot.kb.model import KnowledgeBase
from bot.search import Searcher
from bot.textnorm import clean_fields, nfc
from bot.types import Context, DialogState, Handler, Incoming, Kind, Message, Outcome, Reply

log = logging.getLogger(__name__)
HandlerTable = Callable[[KnowledgeBase], dict[str, Handler]]
MAX_REDIRECTS = 3
# Hard cap on what we even look at; the configured question limit is lower.
MAX_STORED_CHARS = 8000


@dataclass
class Sent:
    """A reply as queued in the outbox, ready for a channel to deliver."""

    id: int
    reply: Reply


@dataclass(frozen=True)
class Knowledge:
    """Everything the engine answers from, swapped as one object so no message sees half a reload."""

    kb: KnowledgeBase
    searcher: Searcher
    commands: dict[str, str]
    handlers: dict[str, Handler]  # from the knowledge too: one self-check per knowledge/selfchecks/ file

    @classmethod
    def build(cls, kb: KnowledgeBase, table: HandlerTable, searcher: Searcher | None = None) -> Knowledge:
        commands = {name: spec["action"] for name, spec in (kb.ui.get("commands") or {}).items()}
        return cls(kb, searcher or Searcher(kb), commands, table(kb))


class Engine:
    def __init__(
        self,
        kb: KnowledgeBase,
        store: Store,
        config: Config,
        searcher: Searcher | None = None,
        clock: Callable[[], float] = time.time,
        handler_table: HandlerTable | None = None,
    ):
        if handler_table is None:
            from handlers import handlers_for

            handler_table = handlers_for
        self.handler_table: HandlerTable = handler_table
        self.knowledge = Knowledge.build(kb, handler_table, searcher)
        self.store = store
        self.config = config
        self.clock = clock

    @property
    def kb(self) -> KnowledgeBase:
        return self.knowledge.kb

    @property
    def searcher(self) -> Searcher:
        return self.knowledge.searcher

    @property
    def commands(self) -> dict[str, str]:
        return self.knowledge.commands

    @property
    def handlers(self) -> dict[str, Handler]:
        return self.knowledge.handlers

    # --- public API -------------------------------------------------------------------------------

    def prepare(self, directory: Path | str | None = None) -> Knowledge:
        """Load and index knowledge/ without touching what is answering now: CPU work (~0.3 s), safe in
        a worker thread. Raises KnowledgeError naming every error."""
        overlay = self.config.knowledge.overlay_path or None
        return Knowledge.build(load(directory or self.config.knowledge.path or None, overlay), self.handler_table)

    def install(self, knowledge: Knowledge) -> KnowledgeBase:
        """Answer from `knowledge` from the next message on. One assignment: call it on the thread that
        handles messages (the event loop), between two messages."""
        self.knowledge = knowledge
        return knowledge.kb

    def reload(self, directory: Path | str | None = None) -> KnowledgeBase:
        """Re-read knowledge/ (`config.knowledge.path`) and swap it in; on KnowledgeError the knowledge
        in use stays as it was, so a broken edit never takes the bot down. Conversations in progress
        live in the store and carry on."""
        return self.install(self.prepare(directory))

    def handle(self, inc: Incoming) -> list[Sent]:
        """Record `inc`, answer it, queue the replies. Never raises for anything a user can send."""
        message_id, duplicate = self.accept(inc)
        if duplicate:
            return []
        return self.answer(message_id, inc)

    def accept(self, inc: Incoming) -> tuple[int, bool]:
        """Only commit `inc` (returns its id and whether it was a duplicate): for a webhook that must
        have the message stored before it acknowledges, and answers it afterwards with `answer()`.
        If the process dies in between, `recover()` answers it on the next start."""
        inc = clean_fields(inc)  # lone surrogates and NUL, whichever channel let them through
        return self.store.record_incoming(inc, _clean(inc.text))

    def answer(self, message_id: int, inc: Incoming) -> list[Sent]:
        """Answer a message `accept()` committed, queue the replies. Never raises for user input."""
        inc = clean_fields(inc)
        return self._process(message_id, inc, _clean(inc.text))

    async def handle_async(self, inc: Incoming) -> list[Sent]:
        """`handle()` from the event loop: all of it (SQLite and search) runs on the store's one writer
        thread, so the loop keeps serving other chats and messages are still handled one at a time."""
        return await self.store.run(self.handle, inc)

    async def recover_async(self) -> int:
        """`recover()` from the event loop, on the writer thread."""
        return await self.store.run(self.recover)

    async def install_async(self, knowledge: Knowledge) -> KnowledgeBase:
        """`install()` queued on the writer thread, so with `handle_async()` the swap still falls between
        two messages."""
        return await self.store.run(self.install, knowledge)

    def recover(self) -> int:
        """Answer messages that were received but not handled (the process died in between)."""
        count = 0
        for row in self.store.unhandled():
            inc = Incoming(
                channel=row["channel"],
                user_key=row["user_key"],
                text=row["text"],
                payload=row["payload"],
                attachment=row["attachment"],
            )
            self._process(row["id"], inc, row["text"])
            count += 1
        return count

    def preview(self, text: str, province: str | None = None, user_key: str = "cli") -> Outcome:
        """Answer without storing anything: for `htx-bot ask` and evaluation."""
        user = {"channel": "cli", "user_key": user_key, "province": province}
        msg = Message(text=(_clean(text) or "")[: self.config.search.max_question_chars])
        ctx = self._context(user)
        return self._run(ctx, None, msg, payload=None)

    # --- internals --------------------------------------------------------------------------------

    def _process(self, message_id: int, inc: Incoming, text: str | None) -> list[Sent]:
        user = self.store.user(inc.channel, inc.user_key)
        extra_effects: list[Effect] = []
        if inc.province and not user.get("province"):
            prov = self.kb.find_province(inc.province)
            if prov:
                user["province"] = prov.name
                extra_effects.append(UpdateProfile(province=prov.name))
        state, expired = self._active_state(inc.channel, inc.user_key)
        ctx = self._context(user, message_id)
        ctx.active_flow = state.get("flow") if state else None
        msg = Message(text=(text or "")[: self.config.search.max_question_chars], message_id=message_id)
        try:
            flood = self._flooding(inc)
            if flood is not None:
                # Over the limit: stored, not searched; said once per minute, then silence.
                outcome = Outcome([Reply(ctx.t("too_fast"))] if flood == 1 else [], state=state,
                                  meta={"kind": Kind.RATE_LIMITED})
            elif inc.attachment and not text and not inc.payload:
                outcome = Outcome([Reply(ctx.t("unsupported"))], state=state, meta={"kind": Kind.UNSUPPORTED})
            else:
                outcome = self._run(ctx, state, msg, payload=inc.payload)
            if text and not inc.payload and not text.startswith("/") \
                    and outcome.meta.get("kind") in (Kind.UNKNOWN, Kind.CLARIFY):
                # Perhaps a reply to a staff answer ("vẫn chưa rõ ạ"): staff see the ticket again. A new
                # question the bot answers itself does not put an old ticket back in their queue.
                extra_effects.append(FollowUp())
            if expired:
                outcome.replies.insert(0, Reply(ctx.t("dialog_expired")))
            if inc.text and len(inc.text) > self.config.search.max_question_chars:
                limit = self.config.search.max_question_chars
                outcome.replies.insert(0, Reply(ctx.t("too_long", limit=limit)))
            ids = self.store.complete(
                message_id, inc.channel, inc.user_key, outcome.replies, dict(outcome.meta),
                dict(outcome.state) if outcome.state is not None else None,
                extra_effects + outcome.effects,
            )
            return [Sent(i, r) for i, r in zip(ids, outcome.replies, strict=True)]
        except Exception:  # a bug must not cost the user an answer or the message
            log.exception("handling message %s failed", message_id)
            self.store.fail(message_id, traceback.format_exc())
            reply = Reply(ctx.t("error"))
            try:
                rid = self.store.queue_reply(inc.channel, inc.user_key, reply, origin="error")
            except Exception:
                log.exception("could not queue the error reply")
                return []
            return [Sent(rid, reply)]

    def _flooding(self, inc: Incoming) -> int | None:
        """How far over the per-minute limit this typed message is (1 = the first one over), or None.

        Button presses do not count: they cost no search, and a self-check legitimately takes many.
        """
        if inc.payload:
            return None
        limit = self.config.limits.messages_per_minute
        over = self.store.recent_count(inc.channel, inc.user_key, 60) - limit
        return over if over > 0 else None

    def _context(self, user: dict[str, Any], message_id: int = 0) -> Context:
        def message_text(mid: int) -> str | None:
            """The user's own message: its text, or for a button press what it led to."""
            row = self.store.message(mid)
            if row and row["channel"] == user.get("channel") and row["user_key"] == user.get("user_key"):
                return row["text"] or f"[{row['entry_id'] or row['payload'] or row['kind'] or 'nút bấm'}]"
            return None

        def feedback_given(mid: int) -> int | None:
            return self.store.feedback_value(str(user.get("channel")), str(user.get("user_key")), mid)

        return Context(
            kb=self.kb,
            searcher=self.searcher,
            config=self.config,
            user=user,
            now=self.clock(),
            message_text=message_text,
            feedback_given=feedback_given,
        )

    def _active_state(self, channel: str, user_key: str) -> tuple[DialogState | None, bool]:
        """The conversation in progress, or None; expired conversations are dropped (flag True)."""
        state, updated = self.store.dialog(channel, user_key)
        if state is None:
            return None, False
        if self.clock() - updated > self.config.dialog.expiry_minutes * 60:
            return None, True
        return cast(DialogState, state), False

    def _run(self, ctx: Context, state: DialogState | None, msg: Message, payload: str | None) -> Outcome:
        """Route once, follow redirects, and decide which dialog state survives.

        The active conversation's own handler decides its next state (None ends it). Any other handler
        only replaces it by starting a conversation of its own, or ends it by setting `end_dialog`;
        otherwise a quick question in the middle of a self-check leaves the check where it was.
        """
        route, msg = self._route(state, msg, payload)
        outcome = self._call(route, ctx, state, msg)
        name = route
        replies, effects, meta = outcome.replies, outcome.effects, outcome.meta
        end_dialog = outcome.end_dialog  # a handler that hands over ("faq:") may end its conversation first
        hops = 0
        while outcome.redirect and hops < MAX_REDIRECTS:
            hops += 1
            name, _, arg = outcome.redirect.partition(":")
            outcome = self._call(name, ctx, state, Message(arg=arg, is_payload=True, message_id=msg.message_id,
                                                            text=msg.text))
            replies, effects = replies + outcome.replies, effects + outcome.effects
            meta = meta if meta.get("kind") else outcome.meta
            end_dialog = end_dialog or outcome.end_dialog
        active = state.get("flow") if state else None
        if name == active or outcome.state is not None or end_dialog:
            new_state = outcome.state
        else:
            new_state = state
        return Outcome(replies=replies, state=new_state, meta=meta, effects=effects)

    def _route(self, state: DialogState | None, msg: Message, payload: str | None) -> tuple[str, Message]:
        if payload:
            name, _, arg = nfc(payload)[:200].partition(":")
            return name, Message(arg=arg, is_payload=True, message_id=msg.message_id)
        text = msg.text
        if text.startswith("/"):
            command, _, rest = text[1:].partition(" ")
            command = command.split("@", 1)[0].lower()
            action = self.commands.get(command)
            if action:
                name, _, arg = action.partition(":")
                if rest.strip():
                    arg = f"{arg}:{rest.strip()}" if arg else rest.strip()
                return name, Message(arg=arg, is_payload=True, message_id=msg.message_id, text=rest.strip())
        if state and state.get("flow") in self.handlers:
            return state["flow"], msg
        return "faq", msg

    def _call(self, name: str, ctx: Context, state: DialogState | None, msg: Message) -> Outcome:
        handler = self.handlers.get(name)
        if handler is None:
            # An unknown or stale button: treat what is left as a question, never crash.
            handler = self.handlers["faq"]
            msg = Message(text=msg.text, message_id=msg.message_id)
            state = None
        flow_state = state if state and state.get("flow") == name else None
        return handler(ctx, flow_state, msg)


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    cleaned = nfc(text[:MAX_STORED_CHARS]).replace("\x00", "")
    return cleaned or None
