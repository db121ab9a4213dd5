"""Guided self-checks, one question at a time: a single data-driven conversation for every check.

The questions, answers, explanations, sources and the programme's period come from
knowledge/selfchecks/<name>.yaml (see bot/kb/selfcheck_schema.py); this module only walks them.
`handler("eligibility")` and `handler("compliance")` are registered in handlers/__init__.py.

The dialog state lives in the store, so a check left half-way resumes after a restart:
    {"flow": name, "phase": "ask" | "send" | "name" | "phone" | "confirm",
     "step": current step id, "group": open answer group or None,
     "trail": step ids answered before the current one, "answers": {step id: answer id | "_skip"},
     "ref": message id of the stored result, "name"/"phone": contact details while asking consent}

Button payloads are "<name>:<action>[:...]", short ASCII for Telegram's 64-byte callback data:
    a:<step>:<answer>  g:<step>:<group>  back  skip  help  restart  cancel  start  resume
    send  nosend  confirm
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from bot.effects import Effect, OpenTicket, SaveSelfCheckResult, SendSelfCheckResult
from bot.kb.model import Citation
from bot.textnorm import nfc, tokens
from bot.types import Button, Context, Handler, Message, Outcome, Reply
from handlers import faq
from handlers.render import cite
from handlers.selfcheck_model import SKIPPED, Check, Option, Source, Step, load

ASK, SEND, NAME, PHONE, CONFIRM = "ask", "send", "name", "phone", "confirm"
MAX_ANSWER_TOKENS = 6  # a longer text is a sentence, not an answer: ask again rather than guess
SHORT_ROW_LABEL = 12  # answers this short share one row of buttons
NAME_CHARS = (2, 80)
QUESTION_TOKENS = 3  # after the result, a text this long that is not yes/no is taken as a new question


def handler(name: str) -> Handler:
    """The handler for the self-check in knowledge/selfchecks/<name>.yaml."""

    def handle(ctx: Context, state: dict | None, msg: Message) -> Outcome:
        check = load(ctx.kb, name)
        if check is None:
            # The file is missing (a province removed it): say so and end any saved conversation.
            return Outcome([Reply(ctx.t("sc_unavailable"))], meta={"kind": "selfcheck", "intent": name})
        return Conversation(ctx, check, state).handle(msg)

    handle.__name__ = handle.__qualname__ = f"{name}_selfcheck"
    return handle


class Conversation:
    """One turn of a self-check: reads the state, returns the replies and the next state."""

    def __init__(self, ctx: Context, check: Check, state: dict[str, Any] | None):
        self.ctx = ctx
        self.check = check
        self.name = check.name
        self.state = _clean_state(check, state)

    # --- entry points -----------------------------------------------------------------------------

    def handle(self, msg: Message) -> Outcome:
        if msg.is_payload:
            return self.on_payload(msg.arg, msg.message_id)
        if self.state is None:
            return self.begin()
        return self.on_text(msg.text, msg.message_id)

    def on_payload(self, arg: str, message_id: int) -> Outcome:
        action, _, rest = arg.partition(":")
        if action == "start":
            return self.start()
        if self.state is None:
            if action == "cancel":
                return Outcome([Reply(self.ctx.t("nothing_to_cancel"))], meta=self.meta())
            return self.no_session()
        if action == "resume":
            return self.prompt()
        if action in ("restart", "cancel"):
            return self.begin() if action == "restart" else self.cancel()
        phase = self.state["phase"]
        if phase == ASK:
            if action == "a":
                sid, _, oid = rest.partition(":")
                if sid != self.state["step"]:
                    return self.prompt(self.ctx.t("sc_stale"))
                option = self.current().option(oid)
                return self.answer(option, message_id) if option else self.prompt(self.ctx.t("sc_stale"))
            if action == "g":
                sid, _, gid = rest.partition(":")
                if sid != self.state["step"] or self.current().group(gid) is None:
                    return self.prompt(self.ctx.t("sc_stale"))
                self.state["group"] = gid
                return self.prompt()
            if action in ("back", "skip", "help"):
                return self.navigate(action, message_id)
            return self.prompt(self.ctx.t("sc_stale"))
        if action == "back":
            return self.back_from_contact()
        if action == "nosend":
            return self.not_sent()
        if phase == SEND and action == "send":
            return self.ask_name()
        if phase == CONFIRM and action == "confirm":
            return self.send(message_id)
        return self.prompt(self.ctx.t("sc_stale"))

    def on_text(self, text: str, message_id: int) -> Outcome:
        phase = self.state["phase"]
        if phase == ASK:
            return self.on_answer_text(text, message_id)
        if phase == NAME:
            # Only two-word commands here: "Dũng" or "Huy" is a name, not "dừng" or "hủy".
            nav = self.understand(text, {}, multiword_nav_only=True)
            if nav == "nav:back":
                return self.back_from_contact()
            if nav == "nav:restart":
                return self.begin()
            if nav == "nav:cancel":
                return self.not_sent()
            name = _valid_name(text)
            if name is None:
                return self.ask_name(self.ctx.t("sc_name_invalid"))
            self.state.update(phase=PHONE, name=name)
            return self.prompt()
        understood = self.understand(text, self.yes_no_targets())
        if understood == "nav:back":
            return self.back_from_contact()
        if understood == "nav:restart":
            return self.begin()
        if understood in ("nav:cancel", "no"):
            return self.not_sent()
        if phase == PHONE:
            phone = _valid_phone(text)
            if phone is None:
                return self.prompt(self.ctx.t("sc_phone_invalid", text=_quote(text)))
            self.state.update(phase=CONFIRM, phone=phone)
            return self.prompt()
        if understood == "yes":
            return self.ask_name() if phase == SEND else self.send(message_id)
        if phase == SEND and len(tokens(text)) >= QUESTION_TOKENS:
            return self.leave_for_question(text, message_id)
        return self.prompt(self.ctx.t("sc_not_understood_yesno", text=_quote(text)))

    def leave_for_question(self, text: str, message_id: int) -> Outcome:
        """After the result, a sentence is a new question, not an answer: close the check, answer it.

        Nothing is sent and no contact is stored; the result itself was saved when it was shown.
        """
        answered = faq.handle(self.ctx, None, Message(text=text, message_id=message_id))
        return Outcome(
            [Reply(self.ctx.t("sc_closed_for_question")), *answered.replies],
            state=None,
            meta=answered.meta,
            effects=answered.effects,
            redirect=answered.redirect,
        )

    # --- the questions ----------------------------------------------------------------------------

    def start(self) -> Outcome:
        """A start request: begin, or offer to resume a check left half-way."""
        if self.state is not None and (self.state["trail"] or self.state["phase"] != ASK):
            return self.offer_resume(keep=self.state)
        if self.state is None and self.ctx.active_flow == self.name:
            # Started from the menu or free text while a check is in progress: the engine kept the
            # saved state (we return none), so "resume" finds it where it stopped.
            return self.offer_resume(keep=None)
        return self.begin()

    def begin(self) -> Outcome:
        first = self.check.next_step(None, {})
        self.state = {"flow": self.name, "phase": ASK, "step": first.id, "group": None, "trail": [], "answers": {}}
        intro = self.fill(self.check.intro, n=len(self.check.asked({})))
        status_note = self.programme_note()
        if status_note:
            intro += "\n\n" + status_note
        outcome = self.prompt()
        outcome.replies.insert(0, Reply(intro))
        outcome.meta = {"kind": "intent", "intent": self.name}
        return outcome

    def offer_resume(self, keep: dict[str, Any] | None) -> Outcome:
        buttons = [[Button(self.ctx.t("sc_resume"), self.payload("resume")),
                    Button(self.ctx.t("sc_restart"), self.payload("restart"))]]
        text = self.ctx.t("sc_resume_ask", title=self.check.title)
        return Outcome([Reply(text, buttons)], state=keep, meta={"kind": "intent", "intent": self.name})

    def no_session(self) -> Outcome:
        buttons = [[Button(self.ctx.t("sc_start"), self.payload("start"))]]
        return Outcome([Reply(self.ctx.t("sc_no_session", title=self.check.title), buttons)], meta=self.meta())

    def cancel(self) -> Outcome:
        return Outcome([Reply(self.ctx.t("sc_cancelled"))], state=None, meta=self.meta())

    def current(self) -> Step:
        return self.check.step(self.state["step"])

    def prompt(self, note: str | None = None) -> Outcome:
        """Ask whatever the current phase asks (after a stale button, a resume or a misunderstanding)."""
        phase = self.state["phase"]
        if phase == SEND:
            reply = self.consent_reply()
        elif phase == NAME:
            reply = self.name_reply()
        elif phase == PHONE:
            reply = self.phone_reply()
        elif phase == CONFIRM:
            reply = self.confirm_reply()
        else:
            reply = self.question_reply()
        if note:
            reply.text = f"{note}\n\n{reply.text}"
        return Outcome([reply], state=self.state, meta=self.meta())

    def question_reply(self) -> Reply:
        step = self.current()
        answers = self.state["answers"]
        n = len(self.state["trail"]) + 1
        total = max(n, len(self.check.asked(answers)))
        kind = self.check.kind_labels.get(step.kind)
        header = self.ctx.t("sc_progress", n=n, total=total) + (f" · {kind}" if kind else "")
        text = f"**{header}**\n{self.fill(step.question)}"
        group = step.group(self.state.get("group"))
        rows: list[list[Button]] = []
        if group is not None:
            text += "\n\n" + self.ctx.t("sc_group_pick", group=group.label) + "\n"
            text += "\n".join(f"{i}. {o.label}" for i, o in enumerate(group.options, start=1))
            rows += [[self.answer_button(step, o)] for o in group.options]
        else:
            rows += [[Button(g.label, self.payload("g", step.id, g.id))] for g in step.groups]
            options = [self.answer_button(step, o) for o in step.options]
            if len(options) <= 3 and all(len(o.label) <= SHORT_ROW_LABEL for o in step.options):
                rows.append(options)
            else:
                rows += [[b] for b in options]
        rows.append([Button(self.ctx.t("sc_help"), self.payload("help"))])
        rows.append([Button(self.ctx.t("sc_back"), self.payload("back")),
                     Button(self.ctx.t("sc_skip"), self.payload("skip"))])
        rows.append([Button(self.ctx.t("sc_restart"), self.payload("restart")),
                     Button(self.ctx.t("sc_cancel"), self.payload("cancel"))])
        return Reply(text, rows)

    def answer_button(self, step: Step, option: Option) -> Button:
        return Button(option.label, self.payload("a", step.id, option.id))

    def answer(self, option: Option, message_id: int) -> Outcome:
        step = self.current()
        self.state["answers"][step.id] = option.id
        return self.advance(step, message_id)

    def advance(self, step: Step, message_id: int) -> Outcome:
        self.state["trail"].append(step.id)
        self.state["group"] = None
        nxt = self.check.next_step(step.id, self.state["answers"])
        if nxt is None:
            return self.finish(message_id)
        self.state["step"] = nxt.id
        return self.prompt()

    def navigate(self, action: str, message_id: int) -> Outcome:
        step = self.current()
        if action == "help":
            return Outcome([self.explanation_reply(step), self.question_reply()], state=self.state, meta=self.meta())
        if action == "skip":
            self.state["answers"][step.id] = SKIPPED
            return self.advance(step, message_id)
        # back
        if self.state.get("group"):
            self.state["group"] = None
            return self.prompt()
        if not self.state["trail"]:
            return self.prompt(self.ctx.t("sc_first_step"))
        previous = self.state["trail"].pop()
        self.state["answers"].pop(previous, None)
        self.state.update(step=previous, group=None)
        return self.prompt()

    def on_answer_text(self, text: str, message_id: int) -> Outcome:
        step = self.current()
        group = step.group(self.state.get("group"))
        targets: dict[tuple[str, ...], str] = {}
        for g in step.groups:
            for phrase in (tokens(g.label), *g.aliases):
                _add(targets, phrase, f"g:{g.id}")
        for o in step.all_options():
            _add(targets, tokens(o.label), f"a:{o.id}")
            for alias in o.aliases:
                _add(targets, alias, f"a:{o.id}")
        # Numbers only where the text shows them (a group's list): "3" may otherwise mean "3 years".
        numbered = [f"a:{o.id}" for o in group.options] if group else None
        understood = self.understand(text, targets, numbered=numbered)
        if understood is None:
            shown = group.options if group else step.options
            if step.groups and not group:
                hint = self.ctx.t("sc_hint_buttons")
            elif len(shown) <= 4:
                hint = " / ".join(o.label for o in shown)
            else:
                hint = self.ctx.t("sc_hint_number")
            return self.prompt(self.ctx.t("sc_not_understood", text=_quote(text), hint=hint))
        kind, _, value = understood.partition(":")
        if kind == "nav":
            if value == "restart":
                return self.begin()
            if value == "cancel":
                return self.cancel()
            return self.navigate(value, message_id)
        if kind == "g":
            self.state["group"] = value
            return self.prompt()
        return self.answer(step.option(value), message_id)

    def understand(
        self,
        text: str,
        targets: dict[tuple[str, ...], str],
        numbered: list[str] | None = None,
        multiword_nav_only: bool = False,
    ) -> str | None:
        """What a typed reply means: the target of the longest phrase it contains, if only one fits.

        "chua biet" beats "chua" because it is longer; "co khong" (two answers, same length) is
        ambiguous and asked again. Navigation words ("quay lai", "bo qua", ...) come from the data.
        """
        words = [w for w in tokens(text) if w not in self.check.fillers] or tokens(text)
        if not words or len(words) > MAX_ANSWER_TOKENS:
            return None
        if numbered and len(words) == 1 and words[0].isdigit() and 1 <= int(words[0]) <= len(numbered):
            return numbered[int(words[0]) - 1]
        candidates = dict(targets)
        for action, phrases in self.check.commands.items():
            for phrase in phrases:
                if phrase and (len(phrase) > 1 or not multiword_nav_only):
                    _add(candidates, phrase, f"nav:{action}")
        best_len, best = 0, set()
        for phrase, target in candidates.items():
            if target is None or not _contains(words, phrase):
                continue
            if len(phrase) > best_len:
                best_len, best = len(phrase), {target}
            elif len(phrase) == best_len:
                best.add(target)
        return best.pop() if len(best) == 1 else None

    def yes_no_targets(self) -> dict[tuple[str, ...], str]:
        """Consent answers: the shared yes/no set, read as 'yes' (meets) or 'no' (does not)."""
        targets: dict[tuple[str, ...], str] = {}
        for o in self.check.yes_no:
            if o.meets is None:
                continue
            value = "yes" if o.meets else "no"
            for phrase in (tuple(tokens(o.label)), *o.aliases):
                _add(targets, phrase, value)
        return targets

    def explanation_reply(self, step: Step) -> Reply:
        parts = [f"**{step.short}**", self.fill(step.explanation)]
        if step.groups:
            for g in step.groups:
                parts.append(f"**{g.label}**\n" + "\n".join(f"• {o.label}" for o in g.options))
        for nid in step.repealed:
            parts.append("⚠️ " + self.fill(self.check.notes[nid].text))
        parts.append(self.sources_line(step.sources))
        return Reply("\n\n".join(parts))

    # --- the result -------------------------------------------------------------------------------

    def finish(self, message_id: int) -> Outcome:
        answers = self.state["answers"]
        result = self.check.evaluate(answers)
        status = self.check.programme_status(self.ctx.now)
        if status:
            result["programme_status"] = status
        replies = self.result_replies(result, status)
        effects: list[Effect] = [SaveSelfCheckResult(
            check=self.name,
            ref=message_id,
            answers=self.check.answers_record(answers),
            result=result,
        )]
        meta = {**self.meta(), "verdict": result["verdict"]}
        if not self.check.offer_send:
            return Outcome(replies, state=None, meta=meta, effects=effects)
        self.state.update(phase=SEND, ref=message_id, group=None)
        replies.append(self.consent_reply())
        return Outcome(replies, state=self.state, meta=meta, effects=effects)

    def result_replies(self, result: dict[str, Any], status: str | None) -> list[Reply]:
        check, t = self.check, self.ctx.t
        answers = self.state["answers"]
        if result["verdict"] == "meets":
            verdict = check.result["pass"]
        elif result["unclear"]:
            verdict = check.result["unclear"]
        else:
            verdict = check.result["fail"]
        n = len(result["unmet"]) or len(result["unknown"])
        main = [t("sc_result_title", title=check.title), self.fill(verdict, n=n)]
        if result["unmet"]:
            lines = [t("sc_unmet_heading")]
            for sid in result["unmet"]:
                step = check.step(sid)
                option = step.option(answers.get(sid))
                advice = (option.advice if option and option.advice else None) or step.unmet or ""
                lines.append(f"• **{step.short}**: {self.fill(advice)}\n  {self.sources_line(step.sources)}")
            main.append("\n".join(lines))
        if result["unknown"]:
            lines = [t("sc_unknown_heading")]
            for sid in result["unknown"]:
                step = check.step(sid)
                skipped = " " + t("sc_skipped") if answers.get(sid) in (SKIPPED, None) else ""
                advice = self.fill(step.unsure) if step.unsure else t("sc_unsure_default")
                lines.append(f"• **{step.short}**{skipped}: {advice}")
            main.append("\n".join(lines))
        if result["met"]:
            main.append(t("sc_met_heading") + "\n" + "\n".join(f"• {self.met_line(s)}" for s in result["met"]))
        if any(s.kind == "priority" for s in check.asked(answers)):
            if result["priority_met"]:
                main.append(t("sc_priority_heading") + "\n" + "\n".join(
                    f"• {check.step(s).short}" for s in result["priority_met"]))
            else:
                main.append(t("sc_priority_none"))
        extra = []
        dossier = check.dossier
        if dossier:
            lines = [t("sc_dossier_heading")] + [f"• {self.fill(item)}" for item in dossier["items"]]
            if dossier.get("note"):
                lines.append(self.fill(dossier["note"]))
            lines.append(self.sources_line([_source(dossier["source"])]))
            extra.append("\n".join(lines))
        if result["repealed_notes"]:
            lines = [t("sc_repealed_heading")]
            for nid in result["repealed_notes"]:
                shorts = ", ".join(s.short for s in check.asked(answers) if nid in s.repealed)
                lines.append(f"• {shorts}: {self.fill(check.notes[nid].text)}")
            extra.append("\n".join(lines))
        if check.programme:
            extra.append(self.programme_line(status))
        extra.append(self.fill(check.result["disclaimer"]))
        return [Reply("\n\n".join(main)), Reply("\n\n".join(extra))]

    def met_line(self, sid: str) -> str:
        """A met condition; for a choice among groups (the models) also what was chosen."""
        step = self.check.step(sid)
        option = step.option(self.state["answers"].get(sid))
        return f"{step.short}: {option.label}" if step.groups and option else step.short

    def programme_line(self, status: str | None) -> str:
        prog = self.check.programme
        text = self.ctx.t(
            "sc_programme_line",
            name=self.fill(prog["name"]),
            period=prog["period"]["label"],
            status=self.ctx.t("sc_status_ended" if status == "ended" else "sc_status_open"),
        )
        note = self.programme_note(status)
        return f"{text}\n{note}" if note else text

    def programme_note(self, status: str | None = None) -> str:
        """The programme's status in words; said at the start too, so nobody prepares blindly."""
        prog = self.check.programme
        if not prog:
            return ""
        status = status or self.check.programme_status(self.ctx.now)
        parts = []
        if status == "ended":
            parts.append(prog["ended_note"])
        elif prog.get("open_note"):
            parts.append(prog["open_note"])
        if prog.get("scope_note"):
            parts.append(prog["scope_note"])
        return "\n".join(self.fill(p) for p in parts)

    # --- sending to the alliance ------------------------------------------------------------------

    def consent_reply(self) -> Reply:
        buttons = [
            [Button(self.ctx.t("sc_send_yes"), self.payload("send")),
             Button(self.ctx.t("sc_send_no"), self.payload("nosend"))],
            [Button(self.ctx.t("sc_back"), self.payload("back")),
             Button(self.ctx.t("sc_restart"), self.payload("restart"))],
        ]
        return Reply(self.ctx.t("sc_send_ask"), buttons)

    def contact_buttons(self) -> list[list[Button]]:
        return [[Button(self.ctx.t("sc_back"), self.payload("back")),
                 Button(self.ctx.t("sc_send_stop"), self.payload("nosend"))]]

    def name_reply(self) -> Reply:
        return Reply(self.ctx.t("sc_name_ask"), self.contact_buttons())

    def phone_reply(self) -> Reply:
        return Reply(self.ctx.t("sc_phone_ask", name=self.state.get("name", "")), self.contact_buttons())

    def confirm_reply(self) -> Reply:
        buttons = [[Button(self.ctx.t("sc_confirm_yes"), self.payload("confirm")),
                    Button(self.ctx.t("sc_send_no"), self.payload("nosend"))],
                   [Button(self.ctx.t("sc_back"), self.payload("back"))]]
        text = self.ctx.t("sc_confirm", name=self.state["name"], phone=self.state["phone"])
        return Reply(text, buttons)

    def ask_name(self, note: str | None = None) -> Outcome:
        self.state["phase"] = NAME
        return self.prompt(note)

    def back_from_contact(self) -> Outcome:
        phase = self.state["phase"]
        if phase == SEND:
            previous = self.state["trail"].pop()
            self.state["answers"].pop(previous, None)
            self.state.update(phase=ASK, step=previous, group=None)
            self.state.pop("ref", None)
        elif phase == NAME:
            self.state["phase"] = SEND
        elif phase == PHONE:
            self.state["phase"] = NAME
        elif phase == CONFIRM:
            self.state["phase"] = PHONE
        return self.prompt()

    def not_sent(self) -> Outcome:
        return Outcome([Reply(self.ctx.t("sc_not_sent"))], state=None, meta=self.meta())

    def send(self, message_id: int) -> Outcome:
        """The user confirmed: store the contact with the result and open a ticket for staff."""
        answers = self.state["answers"]
        result = self.check.evaluate(answers)
        status = self.check.programme_status(self.ctx.now)
        if status:
            result["programme_status"] = status
        name, phone = self.state["name"], self.state["phone"]
        effects: list[Effect] = [
            SendSelfCheckResult(
                check=self.name,
                ref=self.state.get("ref") or message_id,
                answers=self.check.answers_record(answers),
                result=result,
                contact_name=name,
                contact_phone=phone,
            ),
            OpenTicket("selfcheck", self.ticket_text(result, name, phone), message_id=message_id),
        ]
        reply = Reply(self.ctx.t("sc_sent", name=name, phone=phone))
        return Outcome([reply], state=None, meta={**self.meta(), "verdict": result["verdict"]}, effects=effects)

    def ticket_text(self, result: dict[str, Any], name: str, phone: str) -> str:
        check, t = self.check, self.ctx.t

        def shorts(ids: list[str]) -> str:
            return "; ".join(check.step(s).short for s in ids) or "—"

        verdict = "sc_verdict_meets" if result["verdict"] == "meets" else (
            "sc_verdict_unclear" if result["unclear"] else "sc_verdict_not_yet")
        return t("sc_ticket", title=check.title, verdict=t(verdict), unmet=shorts(result["unmet"]),
                 unknown=shorts(result["unknown"]), priority=shorts(result["priority_met"]), name=name, phone=phone)

    # --- helpers ----------------------------------------------------------------------------------

    def payload(self, *parts: str) -> str:
        return ":".join((self.name, *parts))

    def meta(self) -> dict[str, Any]:
        return {"kind": "selfcheck", "intent": self.name}

    def fill(self, text: str, **values: Any) -> str:
        """A text from the self-check file with its placeholders filled (unknown ones left as written)."""
        alliance = self.ctx.config.alliance
        known = {"alliance": alliance.name, "contact": alliance.contact(), "title": self.check.title,
                 "period": (self.check.programme or {}).get("period", {}).get("label", ""), **values}
        return text.format_map(_Values(known)).strip()

    def sources_line(self, sources: list[Source] | tuple[Source, ...]) -> str:
        parts = []
        for src in sources:
            doc = self.ctx.kb.document(src.doc)
            text = cite(self.ctx.kb, Citation(doc.number if doc else src.doc, src.article, src.clause))
            if src.part and not src.article:
                text = f"{src.part} {text}"
            if doc and not doc.in_force:
                since = f" từ {_vn_date(doc.expired)}" if doc.expired else ""
                text += " " + self.ctx.t("outdated_doc", short=doc.short, since=since)
            parts.append(text)
        return f"{self.ctx.t('sources')} " + "; ".join(parts) + "."


# --- pure helpers ---------------------------------------------------------------------------------


class _Values(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _clean_state(check: Check, state: dict[str, Any] | None) -> dict[str, Any] | None:
    """The saved state, or None when it no longer fits the check (its file was edited meanwhile)."""
    if not state or state.get("flow") != check.name:
        return None
    if state.get("phase") not in (ASK, SEND, NAME, PHONE, CONFIRM) or check.step(state.get("step")) is None:
        return None
    trail = [s for s in state.get("trail") or [] if check.step(s) is not None]
    if state["phase"] != ASK and not trail:
        return None
    answers = {k: v for k, v in (state.get("answers") or {}).items() if check.step(k) is not None}
    group = state.get("group") if check.step(state["step"]).group(state.get("group")) else None
    if state["phase"] in (PHONE, CONFIRM) and not state.get("name"):
        return None
    if state["phase"] == CONFIRM and not state.get("phone"):
        return None
    return {**state, "trail": trail, "answers": answers, "group": group}


def _add(targets: dict[tuple[str, ...], Any], phrase: tuple[str, ...] | list[str], target: str) -> None:
    """Register a phrase; a phrase claimed by two different targets means nothing (None)."""
    phrase = tuple(phrase)
    if not phrase:
        return
    if phrase in targets and targets[phrase] != target:
        targets[phrase] = None
    else:
        targets[phrase] = target


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))


def _valid_name(text: str) -> str | None:
    name = nfc(text).replace("*", "").strip()
    if not NAME_CHARS[0] <= len(name) <= NAME_CHARS[1] or not any(c.isalpha() for c in name):
        return None
    return name


def _valid_phone(text: str) -> str | None:
    """A Vietnamese phone number in one form: 0 followed by 9 or 10 digits (+84 accepted)."""
    digits = re.sub(r"[\s.\-()]", "", text or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    return digits if re.fullmatch(r"0\d{9,10}", digits) else None


def _quote(text: str, limit: int = 40) -> str:
    text = nfc(text or "").replace("*", "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _source(raw: dict[str, Any]) -> Source:
    return Source(raw["doc"], raw.get("article"), raw.get("clause"), raw.get("part"))


def _vn_date(value: Any) -> str:
    if isinstance(value, dt.date):
        value = value.isoformat()
    y, m, d = str(value).split("-")
    return f"{d}/{m}/{y}"
