"""What each press or typed reply does, by phase: two tables (buttons, text) in the manner of
python-telegram-bot's ConversationHandler states, over the frozen CheckState.

Button payloads are "<name>:<action>[:...]", short ASCII for Telegram's 64-byte callback data:
    a:<step>:<answer>  g:<step>:<group>  back  skip  help  restart  cancel  start  resume
    send  nosend  confirm
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.effects import Effect, SaveSelfCheckResult
from bot.textnorm import nfc, tokens
from bot.types import Kind, Message, Meta, Outcome, Reply
from handlers import faq
from handlers.selfcheck import contact, understand
from handlers.selfcheck.render import (
    View,
    explanation_reply,
    intro,
    no_session,
    not_understood_hint,
    prompt,
    question_reply,
    quote,
    result_replies,
    resume_offer,
)
from handlers.selfcheck.render import consent_reply as consent
from handlers.selfcheck.state import CheckState, Phase
from handlers.selfcheck.understand import Consent, Nav, OpenGroup, Pick
from handlers.selfcheck_model import SKIPPED, Step

# Where the commune starts in "HTX Tân Lập, xã Tân Lập" (with or without tones).
COMMUNE = re.compile(r"(?:^|(?<=[\s,;]))(?:xã|xa|phường|phuong|thị trấn|thi tran|đặc khu|dac khu)\s+\S",
                     re.IGNORECASE)
MAX_COOPERATIVE = 120
QUESTION_TOKENS = 3  # after the result, a text this long that is not yes/no is taken as a new question

# (view, state, the rest of the payload or the typed text, the stored message id) → the turn's outcome
Action = Callable[[View, CheckState, str, int], Outcome]


def handle(view: View, state: CheckState | None, msg: Message) -> Outcome:
    if msg.is_payload:
        return on_payload(view, state, msg.arg, msg.message_id)
    if state is None:
        return begin(view)
    return TEXT[state.phase](view, state, msg.text, msg.message_id)


def on_payload(view: View, state: CheckState | None, arg: str, message_id: int) -> Outcome:
    action, _, rest = arg.partition(":")
    if action == "start":
        return start(view, state)
    if state is None:
        if action == "cancel":
            return Outcome([Reply(view.t("nothing_to_cancel"))], meta=view.meta())
        return Outcome([no_session(view)], meta=view.meta())
    if action == "resume":
        return prompt(view, state)
    if action == "restart":
        return begin(view)
    if action == "cancel":
        return cancel(view)
    act = BUTTONS[state.phase].get(action)
    if act is None:
        return stale(view, state)
    return act(view, state, rest, message_id)


# --- starting and stopping ------------------------------------------------------------------------


def start(view: View, state: CheckState | None) -> Outcome:
    """A start request: begin, or offer to resume a check left half-way."""
    if state is not None and (state.trail or state.phase != Phase.ASK):
        return Outcome([resume_offer(view)], state=state.to_json(), meta={"kind": Kind.INTENT, "intent": view.name})
    if state is None and view.ctx.active_flow == view.name:
        # Started from the menu or free text while a check is in progress: the engine kept the
        # saved state (we return none), so "resume" finds it where it stopped.
        return Outcome([resume_offer(view)], meta={"kind": Kind.INTENT, "intent": view.name})
    return begin(view)


def begin(view: View) -> Outcome:
    outcome = prompt(view, CheckState.begin(view.check))
    outcome.replies.insert(0, Reply(intro(view)))
    outcome.meta = {"kind": Kind.INTENT, "intent": view.name}
    return outcome


def cancel(view: View) -> Outcome:
    return Outcome([Reply(view.t("sc_cancelled"))], state=None, meta=view.meta())


def stale(view: View, state: CheckState) -> Outcome:
    return prompt(view, state, view.t("sc_stale"))


# --- the questions --------------------------------------------------------------------------------


def pick_button(view: View, state: CheckState, rest: str, message_id: int) -> Outcome:
    sid, _, oid = rest.partition(":")
    if sid != state.step or view.step(sid).option(oid) is None:
        return stale(view, state)
    return answer(view, state, oid, message_id)


def group_button(view: View, state: CheckState, rest: str, message_id: int) -> Outcome:
    sid, _, gid = rest.partition(":")
    if sid != state.step or view.step(sid).group(gid) is None:
        return stale(view, state)
    return prompt(view, state.but(group=gid))


def answer(view: View, state: CheckState, option_id: str, message_id: int) -> Outcome:
    return advance(view, state.answered(state.step, option_id), message_id)


def advance(view: View, state: CheckState, message_id: int) -> Outcome:
    state = state.but(trail=(*state.trail, state.step), group=None)
    nxt = view.check.next_step(state.step, dict(state.answers))
    if nxt is None and view.check.ask_cooperative:
        return prompt(view, state.but(phase=Phase.COOP))
    if nxt is None:
        return finish(view, state, message_id)
    return prompt(view, state.but(step=nxt.id))


def help_(view: View, state: CheckState, rest: str, message_id: int) -> Outcome:
    replies = [explanation_reply(view, view.step(state.step)), question_reply(view, state)]
    return Outcome(replies, state=state.to_json(), meta=view.meta())


def skip(view: View, state: CheckState, rest: str, message_id: int) -> Outcome:
    return advance(view, state.answered(state.step, SKIPPED), message_id)


def back(view: View, state: CheckState, rest: str, message_id: int) -> Outcome:
    if state.group:
        return prompt(view, state.but(group=None))
    if not state.trail:
        return prompt(view, state, view.t("sc_first_step"))
    previous = state.trail[-1]
    return prompt(view, state.without_answer(previous).but(step=previous, group=None, trail=state.trail[:-1]))


def answer_text(view: View, state: CheckState, text: str, message_id: int) -> Outcome:
    step: Step = view.step(state.step)
    group = step.group(state.group)
    # Numbers only where the text shows them (a group's list): "3" may otherwise mean "3 years".
    numbered: list[understand.Understood] | None = [Pick(o.id) for o in group.options] if group else None
    understood = understand.read(view.check, text, understand.answer_targets(step), numbered=numbered)
    match understood:
        case None | Consent():
            hint = not_understood_hint(view, step, state)
            return prompt(view, state, view.t("sc_not_understood", text=quote(text), hint=hint))
        case Nav.RESTART:
            return begin(view)
        case Nav.CANCEL:
            return cancel(view)
        case Nav():
            return BUTTONS[Phase.ASK][understood.value](view, state, "", message_id)
        case OpenGroup(group=gid):
            return prompt(view, state.but(group=gid))
        case Pick(option=oid):
            return answer(view, state, oid, message_id)


# --- the result and after -------------------------------------------------------------------------


def finish(view: View, state: CheckState, message_id: int) -> Outcome:
    check = view.check
    answers = dict(state.answers)
    result = check.evaluate(answers)
    status = check.programme_status(view.ctx.now)
    if status:
        result["programme_status"] = status
    result.update(state.cooperative_record())
    replies = result_replies(view, state, result, status)
    effects: list[Effect] = [SaveSelfCheckResult(
        check=view.name,
        ref=message_id,
        answers=check.answers_record(answers),
        result=result,
    )]
    meta: Meta = {**view.meta(), "verdict": result["verdict"]}
    if not check.offer_send:
        return Outcome(replies, state=None, meta=meta, effects=effects)
    state = state.but(phase=Phase.SEND, ref=message_id, group=None)
    replies.append(consent(view, state))
    return Outcome(replies, state=state.to_json(), meta=meta, effects=effects)


def cooperative_text(view: View, state: CheckState, text: str, message_id: int) -> Outcome:
    """The cooperative's name and commune as typed ("HTX Tân Lập, xã Tân Lập"), then the result."""
    match understand.command(view.check, text, multiword_only=True):
        case Nav.BACK:
            return cooperative_back(view, state, "", message_id)
        case Nav.RESTART:
            return begin(view)
        case Nav.CANCEL:
            return cancel(view)
        case Nav.SKIP:
            return finish(view, state, message_id)
    cooperative, commune = split_cooperative(text)
    return finish(view, state.but(cooperative=cooperative, commune=commune), message_id)


def split_cooperative(text: str) -> tuple[str | None, str | None]:
    """'HTX Nông nghiệp Tân Lập, xã Tân Lập' → ('HTX Nông nghiệp Tân Lập', 'xã Tân Lập')."""
    text = " ".join(nfc(text or "").replace("*", "").split())
    match = COMMUNE.search(text)
    name, commune = (text[: match.start()], text[match.start():]) if match else (text, "")
    return name.strip(" ,;.-")[:MAX_COOPERATIVE] or None, commune.strip(" ,;.-")[:MAX_COOPERATIVE] or None


def cooperative_back(view: View, state: CheckState, rest: str, message_id: int) -> Outcome:
    """Back from the cooperative question to the last question, its answer undone."""
    previous = state.trail[-1]
    return prompt(view, state.without_answer(previous).but(phase=Phase.ASK, step=previous, group=None,
                                                         trail=state.trail[:-1]))


def _no_cooperative(view: View, state: CheckState, rest: str, message_id: int) -> Outcome:
    return finish(view, state, message_id)


def name_text(view: View, state: CheckState, text: str, message_id: int) -> Outcome:
    # Only two-word commands here: "Dũng" or "Huy" is a name, not "dừng" or "hủy".
    match understand.command(view.check, text, multiword_only=True):
        case Nav.BACK:
            return contact.back(view, state)
        case Nav.RESTART:
            return begin(view)
        case Nav.CANCEL:
            return contact.not_sent(view)
    return contact.take_name(view, state, text)


def consent_text(view: View, state: CheckState, text: str, message_id: int) -> Outcome:
    """Yes/no (send? confirm?) and the phone number: navigation and "no" first, as on the buttons."""
    understood = understand.read(view.check, text, understand.yes_no_targets(view.check))
    if understood is Nav.BACK:
        return contact.back(view, state)
    if understood is Nav.RESTART:
        return begin(view)
    if understood in (Nav.CANCEL, Consent.NO):
        return contact.not_sent(view)
    if state.phase == Phase.PHONE:
        return contact.take_phone(view, state, text)
    if understood is Consent.YES:
        return contact.ask_name(view, state) if state.phase == Phase.SEND else contact.send(view, state, message_id)
    if state.phase == Phase.SEND and len(tokens(text)) >= QUESTION_TOKENS:
        return leave_for_question(view, text, message_id)
    return prompt(view, state, view.t("sc_not_understood_yesno", text=quote(text)))


def leave_for_question(view: View, text: str, message_id: int) -> Outcome:
    """After the result, a sentence is a new question, not an answer: close the check, answer it.

    Nothing is sent and no contact is stored; the result itself was saved when it was shown.
    """
    answered = faq.handle(view.ctx, None, Message(text=text, message_id=message_id))
    return Outcome(
        [Reply(view.t("sc_closed_for_question")), *answered.replies],
        state=None,
        meta=answered.meta,
        effects=answered.effects,
        redirect=answered.redirect,
    )


# --- the tables -----------------------------------------------------------------------------------


def _contact_back(view: View, state: CheckState, rest: str, message_id: int) -> Outcome:
    return contact.back(view, state)


def _not_sent(view: View, state: CheckState, rest: str, message_id: int) -> Outcome:
    return contact.not_sent(view)


def _send_yes(view: View, state: CheckState, rest: str, message_id: int) -> Outcome:
    return contact.ask_name(view, state)


def _confirm(view: View, state: CheckState, rest: str, message_id: int) -> Outcome:
    return contact.send(view, state, message_id)


# The buttons each phase accepts besides start/resume/restart/cancel; any other press is stale.
_CONTACT: dict[str, Action] = {"back": _contact_back, "nosend": _not_sent}
BUTTONS: dict[Phase, dict[str, Action]] = {
    Phase.ASK: {"a": pick_button, "g": group_button, "back": back, "skip": skip, "help": help_},
    Phase.SEND: {**_CONTACT, "send": _send_yes},
    Phase.NAME: _CONTACT,
    Phase.PHONE: _CONTACT,
    Phase.CONFIRM: {**_CONTACT, "confirm": _confirm},
    Phase.COOP: {"back": cooperative_back, "noname": _no_cooperative},
}

# What typed text means in each phase.
TEXT: dict[Phase, Action] = {
    Phase.ASK: answer_text,
    Phase.SEND: consent_text,
    Phase.NAME: name_text,
    Phase.PHONE: consent_text,
    Phase.CONFIRM: consent_text,
    Phase.COOP: cooperative_text,
}
