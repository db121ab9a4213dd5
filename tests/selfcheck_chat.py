"""Helpers to drive a guided self-check as a user would, on any channel.

`Chat` talks to the engine directly (the channel-neutral path every adapter uses). `script()` turns
a set of answers into button presses by label — the `scripted.Step` form — so the very same walk can
be played over the web chat and over Telegram with tests/scripted.py (see `play_web`, `play_telegram`).
Answers are read from the knowledge base, never hard-coded, so a province editing the questions
keeps these tests meaningful.
"""

from __future__ import annotations

from typing import Any

from scripted import Step, TelegramHarness, Turn, comparable, play, play_web  # noqa: F401 (re-exported)

from bot.app import App
from bot.types import Incoming, Reply
from handlers.selfcheck_model import Check, load

SKIP_COOPERATIVE = "Bỏ qua, xem kết quả"  # texts.yaml sc_coop_skip


class Chat:
    """One user talking to the engine; keeps the last turn so buttons can be pressed from it."""

    def __init__(self, app: App, user: str = "u1", channel: str = "web"):
        self.app, self.user, self.channel = app, user, channel
        self.turn: list[Reply] = []

    def say(self, text: str) -> list[Reply]:
        return self._send(Incoming(self.channel, self.user, text=text))

    def press(self, payload: str) -> list[Reply]:
        return self._send(Incoming(self.channel, self.user, payload=payload))

    def press_label(self, label: str) -> list[Reply]:
        for button in self.buttons():
            if button.label == label:
                return self.press(button.payload)
        raise AssertionError(f"no button {label!r} in {[b.label for b in self.buttons()]}")

    def _send(self, inc: Incoming) -> list[Reply]:
        self.turn = [s.reply for s in self.app.engine.handle(inc)]
        return self.turn

    @property
    def last(self) -> Reply:
        return self.turn[-1]

    @property
    def text(self) -> str:
        return "\n\n".join(r.text for r in self.turn)

    def buttons(self) -> list:
        return [b for r in self.turn for row in r.buttons for b in row]

    def payloads(self) -> list[str]:
        return [b.payload for b in self.buttons()]

    def state(self) -> dict[str, Any] | None:
        return self.app.store.dialog(self.channel, self.user)[0]

    def current_step(self, check: Check) -> str | None:
        """The step the last turn asks, read from its answer buttons (what a user sees)."""
        for payload in self.payloads():
            parts = payload.split(":")
            if parts[0] == check.name and parts[1] in ("a", "g"):
                return parts[2]
        return None

    def answer(self, check: Check, step_id: str, option_id: str) -> list[Reply]:
        """Press the button for `option_id`, opening its group first when the answer sits in one."""
        step = check.step(step_id)
        group = step.group_of(option_id)
        if group is not None:
            self.press(f"{check.name}:g:{step_id}:{group.id}")
        return self.press(f"{check.name}:a:{step_id}:{option_id}")

    def walk(self, check: Check, answers: dict[str, str], stop_at: str | None = None) -> list[Reply]:
        """Answer each question the bot asks from `answers` (step id → answer id) until the result."""
        for _ in range(len(check.steps) + 2):
            if f"{check.name}:noname" in self.payloads():  # the optional cooperative question: skipped
                self.press(f"{check.name}:noname")
            sid = self.current_step(check)
            if sid is None or sid == stop_at:
                return self.turn
            self.answer(check, sid, answers[sid])
        raise AssertionError("the check did not end")


def check_of(kb: Any, name: str) -> Check:
    check = load(kb, name)
    assert check is not None, f"knowledge/selfchecks/{name}.yaml did not load"
    return check


def meeting_answers(check: Check) -> dict[str, str]:
    """For every step, an answer that meets it (info steps: the first answer)."""
    out = {}
    for step in check.steps:
        options = step.all_options()
        good = [o for o in options if o.meets] if step.kind != "info" else options
        out[step.id] = good[0].id
    return out


def failing_answer(step: Any) -> str:
    return next(o.id for o in step.all_options() if o.meets is False)


def unsure_answer(step: Any) -> str:
    return next(o.id for o in step.all_options() if o.meets is None)


def script(check: Check, answers: dict[str, str], then: list[Step] | None = None, start: str = "") -> list[Step]:
    """The walk as presses by label (and a typed start command), for channel-level tests."""
    steps = [Step(say=start or f"/{_command(check.name)}")]
    for step in check.asked(answers):
        option = step.option(answers[step.id])
        group = step.group_of(option.id)
        if group is not None:
            steps.append(Step(press=group.label))
        steps.append(Step(press=option.label))
    if check.ask_cooperative:  # the optional cooperative question: skipped
        steps.append(Step(press=SKIP_COOPERATIVE))
    return steps + (then or [])


def _command(name: str) -> str:
    return {"eligibility": "kiemtra", "compliance": "tuanthu"}[name]


async def play_telegram(app: App, fake: Any, steps: list[Step]) -> list[Turn]:
    harness = await TelegramHarness(app, fake).start()
    try:
        async def say(text: str) -> Turn:
            return harness.turn(await harness.say(text))

        async def press(button: dict[str, Any]) -> Turn:
            return harness.turn(await harness.press(button["message"], button["data"]))

        return await play(steps, say, press)
    finally:
        await harness.stop()


__all__ = ["Chat", "check_of", "comparable", "failing_answer", "meeting_answers", "play_telegram", "play_web",
           "script", "unsure_answer"]
