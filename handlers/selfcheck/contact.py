"""After the result: asking consent, the contact's name and phone, and sending it all to the alliance."""

from __future__ import annotations

import re
from typing import Any

from bot.effects import Effect, OpenTicket, SendSelfCheckResult
from bot.textnorm import nfc
from bot.types import Meta, Outcome, Reply
from handlers.selfcheck.render import View, prompt, quote
from handlers.selfcheck.state import CheckState, Phase

NAME_CHARS = (2, 80)

# Where "back" leads from each contact phase (from SEND: to the last question, see `back`).
PREVIOUS = {Phase.NAME: Phase.SEND, Phase.PHONE: Phase.NAME, Phase.CONFIRM: Phase.PHONE}


def ask_name(view: View, state: CheckState, note: str | None = None) -> Outcome:
    return prompt(view, state.but(phase=Phase.NAME), note)


def take_name(view: View, state: CheckState, text: str) -> Outcome:
    name = valid_name(text)
    if name is None:
        return ask_name(view, state, view.t("sc_name_invalid"))
    return prompt(view, state.but(phase=Phase.PHONE, name=name))


def take_phone(view: View, state: CheckState, text: str) -> Outcome:
    phone = valid_phone(text)
    if phone is None:
        return prompt(view, state, view.t("sc_phone_invalid", text=quote(text)))
    return prompt(view, state.but(phase=Phase.CONFIRM, phone=phone))


def back(view: View, state: CheckState) -> Outcome:
    """One phase back; from the consent question back to the last question, its answer undone."""
    if state.phase == Phase.SEND:
        previous = state.trail[-1]
        state = state.without_answer(previous).but(
            phase=Phase.ASK, step=previous, group=None, trail=state.trail[:-1], ref=None)
    elif state.phase in PREVIOUS:
        state = state.but(phase=PREVIOUS[state.phase])
    return prompt(view, state)


def not_sent(view: View) -> Outcome:
    return Outcome([Reply(view.t("sc_not_sent"))], state=None, meta=view.meta())


def send(view: View, state: CheckState, message_id: int) -> Outcome:
    """The user confirmed: store the contact with the result and open a ticket for staff."""
    check = view.check
    answers = dict(state.answers)
    result = check.evaluate(answers)
    status = check.programme_status(view.ctx.now)
    if status:
        result["programme_status"] = status
    result.update(state.cooperative_record())
    name, phone = state.name or "", state.phone or ""
    effects: list[Effect] = [
        SendSelfCheckResult(
            check=view.name,
            ref=state.ref or message_id,
            answers=check.answers_record(answers),
            result=result,
            contact_name=name,
            contact_phone=phone,
        ),
        OpenTicket("selfcheck", ticket_text(view, result, name, phone), message_id=message_id),
    ]
    reply = Reply(view.t("sc_sent", name=name, phone=phone))
    meta: Meta = {**view.meta(), "verdict": result["verdict"]}
    return Outcome([reply], state=None, meta=meta, effects=effects)


def ticket_text(view: View, result: dict[str, Any], name: str, phone: str) -> str:
    t = view.t

    def shorts(ids: list[str]) -> str:
        return "; ".join(view.step(s).short for s in ids) or "—"

    verdict = "sc_verdict_meets" if result["verdict"] == "meets" else (
        "sc_verdict_unclear" if result["unclear"] else "sc_verdict_not_yet")
    return t("sc_ticket", title=view.check.title, verdict=t(verdict), unmet=shorts(result["unmet"]),
             unknown=shorts(result["unknown"]), priority=shorts(result["priority_met"]), name=name, phone=phone)


def valid_name(text: str) -> str | None:
    name = nfc(text).replace("*", "").strip()
    if not NAME_CHARS[0] <= len(name) <= NAME_CHARS[1] or not any(c.isalpha() for c in name):
        return None
    return name


def valid_phone(text: str) -> str | None:
    """A Vietnamese phone number in one form: 0 followed by 9 or 10 digits (+84 accepted)."""
    digits = re.sub(r"[\s.\-()]", "", text or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    return digits if re.fullmatch(r"0\d{9,10}", digits) else None
