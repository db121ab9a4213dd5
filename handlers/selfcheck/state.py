"""The self-check's dialog state: a frozen value, replaced on every turn and stored as JSON between messages.

Stored form (the same keys as before the split, so a check left half-way resumes after an upgrade):
    {"flow": name, "phase": "ask" | "send" | "name" | "phone" | "confirm", "step": current step id,
     "group": open answer group or None, "trail": step ids answered before the current one,
     "answers": {step id: answer id | "_skip"}, "ref": message id of the stored result,
     "name"/"phone": contact details while asking consent,
     "cooperative"/"commune": the cooperative's name and commune, when the check asks them}
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bot.types import DialogState
from handlers.selfcheck_model import Check


class Phase(enum.StrEnum):
    ASK = "ask"  # a question of the check
    SEND = "send"  # result shown: send it to the alliance?
    NAME = "name"  # asking the contact's name
    PHONE = "phone"  # asking the phone number
    CONFIRM = "confirm"  # confirm sending
    COOP = "coop"  # after the last question: the cooperative's name and commune (optional)


@dataclass(frozen=True)
class CheckState:
    flow: str
    phase: Phase
    step: str
    group: str | None = None
    trail: tuple[str, ...] = ()
    answers: Mapping[str, str] = field(default_factory=dict)  # never mutated: a new mapping each turn
    ref: int | None = None
    name: str | None = None
    phone: str | None = None
    cooperative: str | None = None
    commune: str | None = None

    @classmethod
    def begin(cls, check: Check) -> CheckState:
        first = check.next_step(None, {})
        if first is None:
            raise ValueError(f"self-check {check.name!r} has no step that applies")
        return cls(flow=check.name, phase=Phase.ASK, step=first.id)

    def but(self, **changes: Any) -> CheckState:
        return replace(self, **changes)

    def answered(self, step_id: str, answer: str) -> CheckState:
        return replace(self, answers={**self.answers, step_id: answer})

    def without_answer(self, step_id: str) -> CheckState:
        return replace(self, answers={k: v for k, v in self.answers.items() if k != step_id})

    # --- storage ----------------------------------------------------------------------------------

    def to_json(self) -> DialogState:
        data: DialogState = {
            "flow": self.flow,
            "phase": self.phase.value,
            "step": self.step,
            "group": self.group,
            "trail": list(self.trail),
            "answers": dict(self.answers),
        }
        if self.ref is not None:
            data["ref"] = self.ref
        if self.name is not None:
            data["name"] = self.name
        if self.phone is not None:
            data["phone"] = self.phone
        if self.cooperative is not None:
            data["cooperative"] = self.cooperative
        if self.commune is not None:
            data["commune"] = self.commune
        return data

    def cooperative_record(self) -> dict[str, str]:
        """What the result keeps of the cooperative (nothing when the user skipped the question)."""
        return {k: v for k, v in (("cooperative", self.cooperative), ("commune", self.commune)) if v}

    @classmethod
    def from_json(cls, check: Check, raw: DialogState | None) -> CheckState | None:
        """The saved state, or None when it no longer fits the check (its file was edited meanwhile)."""
        if not raw or raw.get("flow") != check.name:
            return None
        try:
            phase = Phase(str(raw.get("phase")))
        except ValueError:
            return None
        step = check.step(raw.get("step"))
        if step is None:
            return None
        trail = tuple(s for s in raw.get("trail") or [] if check.step(s) is not None)
        if phase != Phase.ASK and not trail:
            return None
        answers = {k: v for k, v in (raw.get("answers") or {}).items() if check.step(k) is not None}
        group = raw.get("group") if step.group(raw.get("group")) else None
        name, phone = raw.get("name") or None, raw.get("phone") or None
        if phase in (Phase.PHONE, Phase.CONFIRM) and not name:
            return None
        if phase == Phase.CONFIRM and not phone:
            return None
        ref = raw.get("ref")
        coop, commune = raw.get("cooperative") or None, raw.get("commune") or None
        return cls(flow=check.name, phase=phase, step=step.id, group=group, trail=trail, answers=answers,
                   ref=ref if isinstance(ref, int) else None, name=name, phone=phone, cooperative=coop,
                   commune=commune)
