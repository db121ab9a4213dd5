"""A self-check as the conversation uses it, plus the pure logic over answers.

Built from the models the loader has already validated (bot/kb/schema.py, SelfCheckFile and
CommonFile): shared answer sets resolved, typed aliases split into words, placeholders left for the
handler to fill.

Kept apart from the conversation (handlers/selfcheck.py) so the rules — which step comes next,
which answers meet a condition, what the verdict is — can be read and tested on their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bot.kb.crossref import COMMON
from bot.kb.schema import CommonFile, GroupModel, OptionModel, SelfCheckFile, StepModel
from bot.textnorm import tokens

SKIPPED = "_skip"


@dataclass(frozen=True)
class Option:
    id: str
    label: str
    meets: bool | None = None
    aliases: tuple[tuple[str, ...], ...] = ()  # folded token tuples
    advice: str | None = None


@dataclass(frozen=True)
class Group:
    id: str
    label: str
    options: tuple[Option, ...]
    aliases: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Source:
    doc: str
    article: int | None = None
    clause: int | None = None
    part: str | None = None


@dataclass(frozen=True)
class Step:
    id: str
    kind: str  # mandatory | priority | info
    short: str
    question: str
    explanation: str
    sources: tuple[Source, ...]
    options: tuple[Option, ...]  # answers shown directly (for a grouped step: the ones besides the groups)
    groups: tuple[Group, ...] = ()
    ask_if: dict[str, Any] | None = None
    unmet: str | None = None
    unsure: str | None = None
    repealed: tuple[str, ...] = ()

    def all_options(self) -> list[Option]:
        return [o for g in self.groups for o in g.options] + list(self.options)

    def option(self, oid: str | None) -> Option | None:
        return next((o for o in self.all_options() if o.id == oid), None)

    def group(self, gid: str | None) -> Group | None:
        return next((g for g in self.groups if g.id == gid), None)

    def group_of(self, oid: str) -> Group | None:
        return next((g for g in self.groups if any(o.id == oid for o in g.options)), None)


@dataclass(frozen=True)
class Note:
    doc: str
    text: str


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    intro: str
    steps: tuple[Step, ...]
    result: dict[str, str]
    kind_labels: dict[str, str] = field(default_factory=dict)
    programme: dict[str, Any] | None = None
    notes: dict[str, Note] = field(default_factory=dict)
    dossier: dict[str, Any] | None = None
    offer_send: bool = True
    ask_cooperative: bool = False  # ask the cooperative's name and commune before the result
    commands: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    fillers: frozenset[str] = frozenset()
    yes_no: tuple[Option, ...] = ()  # the shared yes/no answers, reused for the consent questions

    # --- steps ------------------------------------------------------------------------------------

    def step(self, sid: str | None) -> Step | None:
        return next((s for s in self.steps if s.id == sid), None)

    def applies(self, step: Step, answers: dict[str, str]) -> bool:
        """Whether a conditional step is asked, given the answers so far (an unanswered condition: as 'no')."""
        cond = step.ask_if
        if not cond:
            return True
        answer = answers.get(cond["step"])
        if "in" in cond:
            return answer in cond["in"]
        return answer not in cond["not_in"]

    def next_step(self, after: str | None, answers: dict[str, str]) -> Step | None:
        """The first step after `after` (None: from the start) that applies."""
        ids = [s.id for s in self.steps]
        start = ids.index(after) + 1 if after in ids else 0
        return next((s for s in self.steps[start:] if self.applies(s, answers)), None)

    def asked(self, answers: dict[str, str]) -> list[Step]:
        return [s for s in self.steps if self.applies(s, answers)]

    # --- programme --------------------------------------------------------------------------------

    def programme_status(self, now: float) -> str | None:
        """'open' or 'ended', from the data: an explicit status, or the period's end date against today."""
        prog = self.programme
        if not prog:
            return None
        status = prog.get("status", "auto")
        if status in ("open", "ended"):
            return status
        end = prog["period"]["end"]
        end = end if isinstance(end, dt.date) else dt.date.fromisoformat(str(end))
        today = dt.datetime.fromtimestamp(now).date()
        return "ended" if today > end else "open"

    # --- verdict ----------------------------------------------------------------------------------

    def evaluate(self, answers: dict[str, str]) -> dict[str, Any]:
        """Which conditions are met, not met or unknown, and the verdict — stored with the answers."""
        met: list[str] = []
        unmet: list[str] = []
        unknown: list[str] = []
        priority: list[str] = []
        repealed: list[str] = []
        for step in self.asked(answers):
            for nid in step.repealed:
                if nid not in repealed:
                    repealed.append(nid)
            if step.kind == "info":
                continue
            option = step.option(answers.get(step.id))
            meets = option.meets if option else None
            if step.kind == "priority":
                if meets:
                    priority.append(step.id)
                continue
            (met if meets else unmet if meets is False else unknown).append(step.id)
        verdict = "meets" if not unmet and not unknown else "not_yet"
        return {
            "verdict": verdict,
            "unclear": not unmet and bool(unknown),
            "met": met,
            "unmet": unmet,
            "unknown": unknown,
            "priority_met": priority,
            "repealed_notes": repealed,
        }

    def answers_record(self, answers: dict[str, str]) -> list[dict[str, Any]]:
        """The answers as staff will read them: question, answer id and the label the user saw."""
        out = []
        for step in self.asked(answers):
            oid = answers.get(step.id)
            option = step.option(oid)
            out.append({
                "step": step.id,
                "kind": step.kind,
                "question": step.question,
                "answer": oid,
                "label": option.label if option else None,
                "meets": option.meets if option else None,
            })
        return out


def build(name: str, data: SelfCheckFile, common: CommonFile) -> Check:
    """The conversation's view of a validated self-check file."""
    steps = tuple(
        Step(
            id=raw.id,
            kind=raw.kind,
            short=raw.short,
            question=raw.question,
            explanation=raw.explanation,
            sources=tuple(Source(s.doc, s.article, s.clause, s.part) for s in raw.sources),
            options=tuple(_option(o) for o in resolve_options(raw, common)),
            groups=tuple(_group(g) for g in raw.groups),
            ask_if=raw.ask_if.model_dump(by_alias=True, exclude_none=True) if raw.ask_if else None,
            unmet=raw.unmet,
            unsure=raw.unsure,
            repealed=raw.repealed,
        )
        for raw in data.steps
    )
    return Check(
        name=name,
        title=data.title,
        intro=data.intro,
        steps=steps,
        result=data.result.model_dump(by_alias=True),
        kind_labels={str(k): v for k, v in data.kind_labels.items()},
        programme=data.programme.model_dump(exclude_none=True) if data.programme else None,
        notes={k: Note(v.doc, v.text) for k, v in data.notes.items()},
        dossier=data.dossier.model_dump(exclude_none=True) if data.dossier else None,
        offer_send=data.offer_send,
        ask_cooperative=data.ask_cooperative,
        commands={k: tuple(tuple(tokens(w)) for w in words) for k, words in common.commands.items()},
        fillers=frozenset(t for w in common.fillers for t in tokens(w)),
        yes_no=tuple(_option(o) for o in common.option_sets.get("yesno", ())),
    )


def resolve_options(step: StepModel, common: CommonFile) -> list[OptionModel]:
    """A step's top-level answers: its own `options`, or a shared set with optional label overrides."""
    if step.options is not None:
        return list(step.options)
    shared = common.option_sets.get(step.options_from or "", ())
    labels = step.option_labels or {}
    return [o.model_copy(update={"label": labels[o.id]}) if o.id in labels else o for o in shared]


def load(kb: Any, name: str) -> Check | None:
    """The check named `name` from the knowledge base, built once per loaded knowledge base."""
    data = kb.selfchecks.get(name)
    common = kb.selfchecks.get(COMMON)
    if not isinstance(data, SelfCheckFile) or not isinstance(common, CommonFile):
        return None
    cache = kb.__dict__.setdefault("_selfcheck_cache", {})
    if name not in cache:
        cache[name] = build(name, data, common)
    return cache[name]


def _option(raw: OptionModel) -> Option:
    return Option(id=raw.id, label=raw.label, meets=raw.meets, aliases=_aliases(raw.aliases), advice=raw.advice)


def _group(raw: GroupModel) -> Group:
    return Group(raw.id, raw.label, tuple(_option(o) for o in raw.options), _aliases(raw.aliases))


def _aliases(aliases: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(t for t in (tuple(tokens(a)) for a in aliases) if t)
