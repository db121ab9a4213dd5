"""`python -m bench [STAGE ...]`: figures with targets, PASS/FAIL, and the command that measures each.

Stages: messages (engine + SQLite in one process, and its peak memory), search (latency and index
build, shipped size and 10x), web (`htx-bot run` start-up, HTTP throughput, peak memory), accuracy
(engine vs baselines).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import accuracy, speed, web  # noqa: E402
from bench.report import Figure, show  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.db import Store  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.evaluate import read_cases  # noqa: E402
from bot.kb.loader import load  # noqa: E402

STAGES = ("messages", "search", "web", "accuracy")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stages", nargs="*", metavar="STAGE", help=f"any of {', '.join(STAGES)} (default: all)")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the questions for search latency")
    parser.add_argument("--factor", type=int, default=10, help="size of the synthetic knowledge base")
    args = parser.parse_args()
    stages = args.stages or list(STAGES)
    unknown = set(stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stage {', '.join(sorted(unknown))}; stages: {', '.join(STAGES)}")

    print(_load_line("at start"), flush=True)
    start = time.perf_counter()
    kb = load()
    print(f"knowledge base: {len(kb.entries)} entries, loaded in {time.perf_counter() - start:.2f} s; "
          f"python {sys.version.split()[0]}", flush=True)
    cases = [c for path in accuracy.question_sets() for c in read_cases(path)]
    questions = [(c.q, c.province) for c in cases]
    print(f"questions: {len(questions)} from {len(accuracy.question_sets())} files", flush=True)

    figures: list[Figure] = []
    if "messages" in stages:  # first: this process's peak memory is then the engine's at the shipped size
        found = speed.messages_per_second(kb, questions)
        found.append(Figure("peak RSS (getrusage) of this process: engine + SQLite", _peak_rss(), "MB", "messages",
                            at_most=150.0))
        show(found)
        figures += found
    if "search" in stages:
        found = speed.search_figures(kb, questions, args.factor, args.rounds)
        show(found)
        figures += found
    if "web" in stages:
        found = web.startup_and_http([q for q, _ in questions])
        show(found)
        figures += found
    if "accuracy" in stages:
        engine = Engine(kb, Store(":memory:"), Config())
        lines, found = accuracy.compare(kb, engine)
        print("\n".join(lines), flush=True)
        show(found)
        figures += found
    print(_load_line("at the end"))
    print(f"(this bench process peaked at {_peak_rss():.0f} MB, baselines and the {args.factor}x index included)")
    failed = [f for f in figures if f.verdict == "FAIL"]
    print(f"\n{len(figures) - len(failed)} figures met their targets or have none; {len(failed)} FAIL"
          + "".join(f"\n  FAIL: {f.name}" for f in failed))
    return 1 if failed else 0


def _peak_rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load_line(when: str) -> str:
    """Wall-clock figures mean little on a machine busy with other work: say how busy it was."""
    load1 = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    note = "" if load1 < cores else "  (busy: other processes compete for the cores, wall-clock figures suffer)"
    return f"load average {when}: {load1:.2f} on {cores} cores{note}"


if __name__ == "__main__":
    sys.exit(main())
