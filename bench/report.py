"""One line per figure: what, value, target, PASS/FAIL, and how to measure it again."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

COMMAND = ".venv/bin/python -m bench"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]) of unsorted values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    stage: str  # the `python -m bench` stage that measures it
    at_most: float | None = None
    at_least: float | None = None

    @property
    def verdict(self) -> str:
        if self.at_most is not None:
            return "PASS" if self.value <= self.at_most else "FAIL"
        if self.at_least is not None:
            return "PASS" if self.value >= self.at_least else "FAIL"
        return ""

    def line(self) -> str:
        target = (f"≤ {self.at_most:g} {self.unit}" if self.at_most is not None
                  else f"≥ {self.at_least:g} {self.unit}" if self.at_least is not None else "")
        value = f"{self.value:.1f}" if abs(self.value) < 1000 else f"{self.value:.0f}"
        return (f"{self.name:<46} {value:>8} {self.unit:<6} {target:<14} {self.verdict:<4}  "
                f"$ {COMMAND} {self.stage}")


def show(figures: list[Figure]) -> None:
    for f in figures:
        print(f.line(), flush=True)
