"""The self-check's messages: questions, explanations, the result, the consent questions.

Pure functions of (view, state): what to show, never what happens next (flow.py decides that).
Source lines and dates come from handlers/render.py, shared with the answers to questions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.kb.model import Citation
from bot.textnorm import nfc
from bot.types import Button, Context, Kind, Meta, Outcome, Reply
from handlers.render import cite, outdated_note, sources_sentence
from handlers.selfcheck.state import CheckState, Phase
from handlers.selfcheck_model import SKIPPED, Check, Option, Source, Step

SHORT_ROW_LABEL = 12  # answers this short share one row of buttons


class _Values(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class View:
    """One turn's fixed facts: who is asked (context) and which check (its file)."""

    ctx: Context
    check: Check

    @property
    def name(self) -> str:
        return self.check.name

    def t(self, key: str, **values: Any) -> str:
        return self.ctx.t(key, **values)

    def step(self, sid: str) -> Step:
        """A step the state names (CheckState.from_json dropped any the file no longer has)."""
        step = self.check.step(sid)
        if step is None:
            raise KeyError(f"self-check {self.name!r} has no step {sid!r}")
        return step

    def payload(self, *parts: str) -> str:
        return ":".join((self.name, *parts))

    def meta(self) -> Meta:
        return {"kind": Kind.SELFCHECK, "intent": self.name}

    def fill(self, text: str, **values: Any) -> str:
        """A text from the self-check file with its placeholders filled (unknown ones left as written)."""
        alliance = self.ctx.config.alliance
        known = {"alliance": alliance.name, "contact": alliance.contact(), "title": self.check.title,
                 "period": (self.check.programme or {}).get("period", {}).get("label", ""), **values}
        return text.format_map(_Values(known)).strip()

    def sources_line(self, sources: Sequence[Source]) -> str:
        parts = []
        for src in sources:
            doc = self.ctx.kb.document(src.doc)
            text = cite(self.ctx.kb, Citation(doc.number if doc else src.doc, src.article, src.clause))
            if src.part and not src.article:
                text = f"{src.part} {text}"
            parts.append(text + outdated_note(self.ctx, doc))
        return sources_sentence(self.ctx, parts)


def prompt(view: View, state: CheckState, note: str | None = None) -> Outcome:
    """Ask whatever the current phase asks (after a stale button, a resume or a misunderstanding)."""
    reply = PHASE_REPLIES[state.phase](view, state)
    if note:
        reply.text = f"{note}\n\n{reply.text}"
    return Outcome([reply], state=state.to_json(), meta=view.meta())


def quote(text: str, limit: int = 40) -> str:
    """The member's words, shortened, inside our message."""
    text = nfc(text or "").replace("*", "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the questions --------------------------------------------------------------------------------


def question_reply(view: View, state: CheckState) -> Reply:
    check, step = view.check, view.step(state.step)
    n = len(state.trail) + 1
    total = max(n, len(check.asked(dict(state.answers))))
    kind = check.kind_labels.get(step.kind)
    header = view.t("sc_progress", n=n, total=total) + (f" · {kind}" if kind else "")
    text = f"**{header}**\n{view.fill(step.question)}"
    group = step.group(state.group)
    rows: list[list[Button]] = []
    if group is not None:
        text += "\n\n" + view.t("sc_group_pick", group=group.label) + "\n"
        text += "\n".join(f"{i}. {o.label}" for i, o in enumerate(group.options, start=1))
        rows += [[answer_button(view, step, o)] for o in group.options]
    else:
        rows += [[Button(g.label, view.payload("g", step.id, g.id))] for g in step.groups]
        options = [answer_button(view, step, o) for o in step.options]
        if len(options) <= 3 and all(len(o.label) <= SHORT_ROW_LABEL for o in step.options):
            rows.append(options)
        else:
            rows += [[b] for b in options]
    rows.append([Button(view.t("sc_help"), view.payload("help"))])
    rows.append([Button(view.t("sc_back"), view.payload("back")),
                 Button(view.t("sc_skip"), view.payload("skip"))])
    rows.append([Button(view.t("sc_restart"), view.payload("restart")),
                 Button(view.t("sc_cancel"), view.payload("cancel"))])
    return Reply(text, rows)


def answer_button(view: View, step: Step, option: Option) -> Button:
    return Button(option.label, view.payload("a", step.id, option.id))


def explanation_reply(view: View, step: Step) -> Reply:
    parts = [f"**{step.short}**", view.fill(step.explanation)]
    for g in step.groups:
        parts.append(f"**{g.label}**\n" + "\n".join(f"• {o.label}" for o in g.options))
    for nid in step.repealed:
        parts.append("⚠️ " + view.fill(view.check.notes[nid].text))
    parts.append(view.sources_line(step.sources))
    return Reply("\n\n".join(parts))


def intro(view: View) -> str:
    text = view.fill(view.check.intro, n=len(view.check.asked({})))
    note = programme_note(view)
    return text + "\n\n" + note if note else text


def resume_offer(view: View) -> Reply:
    buttons = [[Button(view.t("sc_resume"), view.payload("resume")),
                Button(view.t("sc_restart"), view.payload("restart"))]]
    return Reply(view.t("sc_resume_ask", title=view.check.title), buttons)


def no_session(view: View) -> Reply:
    buttons = [[Button(view.t("sc_start"), view.payload("start"))]]
    return Reply(view.t("sc_no_session", title=view.check.title), buttons)


def not_understood_hint(view: View, step: Step, state: CheckState) -> str:
    group = step.group(state.group)
    shown = group.options if group else step.options
    if step.groups and not group:
        return view.t("sc_hint_buttons")
    if len(shown) <= 4:
        return " / ".join(o.label for o in shown)
    return view.t("sc_hint_number")


# --- the result -----------------------------------------------------------------------------------


def result_replies(view: View, state: CheckState, result: dict[str, Any], status: str | None) -> list[Reply]:
    check, t = view.check, view.t
    answers = dict(state.answers)
    if result["verdict"] == "meets":
        verdict = check.result["pass"]
    elif result["unclear"]:
        verdict = check.result["unclear"]
    else:
        verdict = check.result["fail"]
    n = len(result["unmet"]) or len(result["unknown"])
    main = [t("sc_result_title", title=check.title), view.fill(verdict, n=n)]
    if result["unmet"]:
        lines = [t("sc_unmet_heading")]
        for sid in result["unmet"]:
            step = view.step(sid)
            option = step.option(answers.get(sid))
            advice = (option.advice if option and option.advice else None) or step.unmet or ""
            lines.append(f"• **{step.short}**: {view.fill(advice)}\n  {view.sources_line(step.sources)}")
        main.append("\n".join(lines))
    if result["unknown"]:
        lines = [t("sc_unknown_heading")]
        for sid in result["unknown"]:
            step = view.step(sid)
            skipped = " " + t("sc_skipped") if answers.get(sid) in (SKIPPED, None) else ""
            advice = view.fill(step.unsure) if step.unsure else t("sc_unsure_default")
            lines.append(f"• **{step.short}**{skipped}: {advice}")
        main.append("\n".join(lines))
    if result["met"]:
        main.append(t("sc_met_heading") + "\n" + "\n".join(f"• {met_line(view, state, s)}" for s in result["met"]))
    if any(s.kind == "priority" for s in check.asked(answers)):
        if result["priority_met"]:
            main.append(t("sc_priority_heading") + "\n" + "\n".join(
                f"• {view.step(s).short}" for s in result["priority_met"]))
        else:
            main.append(t("sc_priority_none"))
    extra = []
    dossier = check.dossier
    if dossier:
        lines = [t("sc_dossier_heading")] + [f"• {view.fill(item)}" for item in dossier["items"]]
        if dossier.get("note"):
            lines.append(view.fill(dossier["note"]))
        lines.append(view.sources_line([_source(dossier["source"])]))
        extra.append("\n".join(lines))
    if result["repealed_notes"]:
        lines = [t("sc_repealed_heading")]
        for nid in result["repealed_notes"]:
            shorts = ", ".join(s.short for s in check.asked(answers) if nid in s.repealed)
            lines.append(f"• {shorts}: {view.fill(check.notes[nid].text)}")
        extra.append("\n".join(lines))
    if check.programme:
        extra.append(programme_line(view, status))
    extra.append(view.fill(check.result["disclaimer"]))
    return [Reply("\n\n".join(main)), Reply("\n\n".join(extra))]


def met_line(view: View, state: CheckState, sid: str) -> str:
    """A met condition; for a choice among groups (the models) also what was chosen."""
    step = view.step(sid)
    option = step.option(state.answers.get(sid))
    return f"{step.short}: {option.label}" if step.groups and option else step.short


def programme_line(view: View, status: str | None) -> str:
    prog = view.check.programme or {}
    text = view.t(
        "sc_programme_line",
        name=view.fill(prog["name"]),
        period=prog["period"]["label"],
        status=view.t("sc_status_ended" if status == "ended" else "sc_status_open"),
    )
    note = programme_note(view, status)
    return f"{text}\n{note}" if note else text


def programme_note(view: View, status: str | None = None) -> str:
    """The programme's status in words; said at the start too, so nobody prepares blindly."""
    prog = view.check.programme
    if not prog:
        return ""
    status = status or view.check.programme_status(view.ctx.now)
    parts = []
    if status == "ended":
        parts.append(prog["ended_note"])
    elif prog.get("open_note"):
        parts.append(prog["open_note"])
    if prog.get("scope_note"):
        parts.append(prog["scope_note"])
    return "\n".join(view.fill(p) for p in parts)


# --- sending to the alliance ----------------------------------------------------------------------


def consent_reply(view: View, state: CheckState) -> Reply:
    buttons = [
        [Button(view.t("sc_send_yes"), view.payload("send")),
         Button(view.t("sc_send_no"), view.payload("nosend"))],
        [Button(view.t("sc_back"), view.payload("back")),
         Button(view.t("sc_restart"), view.payload("restart"))],
    ]
    return Reply(view.t("sc_send_ask"), buttons)


def contact_buttons(view: View) -> list[list[Button]]:
    return [[Button(view.t("sc_back"), view.payload("back")),
             Button(view.t("sc_send_stop"), view.payload("nosend"))]]


def name_reply(view: View, state: CheckState) -> Reply:
    return Reply(view.t("sc_name_ask"), contact_buttons(view))


def phone_reply(view: View, state: CheckState) -> Reply:
    return Reply(view.t("sc_phone_ask", name=state.name or ""), contact_buttons(view))


def confirm_reply(view: View, state: CheckState) -> Reply:
    buttons = [[Button(view.t("sc_confirm_yes"), view.payload("confirm")),
                Button(view.t("sc_send_no"), view.payload("nosend"))],
               [Button(view.t("sc_back"), view.payload("back"))]]
    return Reply(view.t("sc_confirm", name=state.name, phone=state.phone), buttons)


def cooperative_reply(view: View, state: CheckState) -> Reply:
    buttons = [[Button(view.t("sc_coop_skip"), view.payload("noname"))],
               [Button(view.t("sc_back"), view.payload("back")),
                Button(view.t("sc_cancel"), view.payload("cancel"))]]
    return Reply(view.t("sc_coop_ask"), buttons)


# What each phase asks, when it is asked again.
PHASE_REPLIES: dict[Phase, Callable[[View, CheckState], Reply]] = {
    Phase.ASK: question_reply,
    Phase.SEND: consent_reply,
    Phase.NAME: name_reply,
    Phase.PHONE: phone_reply,
    Phase.CONFIRM: confirm_reply,
    Phase.COOP: cooperative_reply,
}


def _source(raw: dict[str, Any]) -> Source:
    return Source(raw["doc"], raw.get("article"), raw.get("clause"), raw.get("part"))
