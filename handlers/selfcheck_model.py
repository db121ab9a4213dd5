"""A validated self-check file as typed objects, plus the pure logic over answers.

Kept apart from the conversation (handlers/selfcheck.py) so the rules — which step comes next,
which answers meet a condition, what the verdict is — can be read and tested on their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bot.kb.selfcheck_schema import COMMON, resolve_options
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


def build(name: str, data: dict[str, Any], common: dict[str, Any]) -> Check:
    """Typed view of a file that has passed selfcheck_schema.validate."""
    steps = []
    for raw in data["steps"]:
        options = tuple(_option(o) for o in resolve_options(raw, common))
        groups = tuple(
            Group(g["id"], g["label"].strip(), tuple(_option(o) for o in g["options"]), _aliases(g))
            for g in raw.get("groups") or []
        )
        steps.append(Step(
            id=raw["id"],
            kind=raw["kind"],
            short=raw["short"].strip(),
            question=raw["question"].strip(),
            explanation=raw["explanation"].strip(),
            sources=tuple(Source(s["doc"], s.get("article"), s.get("clause"), s.get("part"))
                          for s in raw["sources"]),
            options=options,
            groups=groups,
            ask_if=raw.get("ask_if"),
            unmet=(raw.get("unmet") or "").strip() or None,
            unsure=(raw.get("unsure") or "").strip() or None,
            repealed=tuple(raw.get("repealed") or ()),
        ))
    sets = common.get("option_sets") or {}
    yes_no = tuple(_option(o) for o in sets.get("yesno") or [])
    return Check(
        name=name,
        title=data["title"].strip(),
        intro=data["intro"].strip(),
        steps=tuple(steps),
        result={k: v.strip() for k, v in data["result"].items()},
        kind_labels=dict(data.get("kind_labels") or {}),
        programme=data.get("programme"),
        notes={k: Note(v["doc"], v["text"].strip()) for k, v in (data.get("notes") or {}).items()},
        dossier=data.get("dossier"),
        offer_send=data.get("offer_send", True),
        commands={k: tuple(tuple(tokens(w)) for w in words) for k, words in (common.get("commands") or {}).items()},
        fillers=frozenset(t for w in common.get("fillers") or [] for t in tokens(w)),
        yes_no=yes_no,
    )


def load(kb: Any, name: str) -> Check | None:
    """The check named `name` from the knowledge base, built once per loaded knowledge base."""
    data = kb.selfchecks.get(name)
    common = kb.selfchecks.get(COMMON)
    if not isinstance(data, dict) or not isinstance(common, dict) or name == COMMON:
        return None
    cache = kb.__dict__.setdefault("_selfcheck_cache", {})
    if name not in cache:
        cache[name] = build(name, data, common)
    return cache[name]


def _option(raw: dict[str, Any]) -> Option:
    return Option(
        id=raw["id"],
        label=raw["label"].strip(),
        meets=raw.get("meets"),
        aliases=_aliases(raw),
        advice=(raw.get("advice") or "").strip() or None,
    )


def _aliases(raw: dict[str, Any]) -> tuple[tuple[str, ...], ...]:
    return tuple(t for t in (tuple(tokens(a)) for a in raw.get("aliases") or []) if t)
