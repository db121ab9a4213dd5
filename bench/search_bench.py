"""Search and engine figures you can re-run: start-up time, per-question latency, memory.

    .venv/bin/python bench/search_bench.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Config  # noqa: E402
from bot.db import Store  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.kb.loader import load  # noqa: E402
from bot.kb.model import KnowledgeBase  # noqa: E402
from bot.search import Searcher  # noqa: E402
from bot.types import Incoming  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    questions = [json.loads(line)["q"] for line in (ROOT / "tests/eval/dev.jsonl").read_text().splitlines() if line]
    for path in sorted((ROOT / "tests/questions").glob("*.jsonl")):
        questions += [json.loads(line)["q"] for line in path.read_text().splitlines() if line.strip()]

    t0 = time.perf_counter()
    kb = load()
    t1 = time.perf_counter()
    searcher = Searcher(kb)
    t2 = time.perf_counter()
    print(f"knowledge: {len(kb.entries)} entries, load {1000 * (t1 - t0):.0f} ms, index {1000 * (t2 - t1):.0f} ms")

    engine = Engine(kb, Store(":memory:"), Config(), searcher=searcher)
    timings = []
    for _ in range(args.rounds):
        for q in questions:
            s = time.perf_counter()
            engine.preview(q)
            timings.append(1000 * (time.perf_counter() - s))
    timings.sort()
    p = lambda q: timings[min(len(timings) - 1, int(q * len(timings)))]  # noqa: E731
    print(f"preview (search + decide + render): {len(timings)} questions, median {statistics.median(timings):.2f} ms, "
          f"p95 {p(0.95):.2f} ms, max {timings[-1]:.2f} ms")

    junk = "xin chao " * 1200
    s = time.perf_counter()
    engine.preview(junk)
    print(f"50 KB-class junk message: {1000 * (time.perf_counter() - s):.1f} ms")

    n = 300
    for label, path in (("in-memory SQLite", ":memory:"), ("WAL file", None)):
        with tempfile.TemporaryDirectory() as tmp:
            sync_rate = handle_rate(kb, searcher, questions, path or f"{tmp}/bench.sqlite3", n, use_async=False)
            async_rate = handle_rate(kb, searcher, questions, path or f"{tmp}/bench-async.sqlite3", n, use_async=True)
        print(f"handle (record + answer + queue, {label}): sync {sync_rate:.0f} messages/s, "
              f"handle_async on the writer thread {async_rate:.0f} messages/s")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MB")


def handle_rate(kb: KnowledgeBase, searcher: Searcher, questions: list[str], path: str, n: int,
                use_async: bool) -> float:
    """Messages per second through Engine.handle (sync, on this thread) or handle_async (awaited one
    after another from an event loop, each run on the store's writer thread)."""
    store = Store(path)
    engine = Engine(kb, store, Config(), searcher=searcher)
    incoming = [Incoming("web", f"u{i % 20}", text=questions[i % len(questions)], platform_id=str(i))
                for i in range(n)]
    try:
        s = time.perf_counter()
        if use_async:
            async def run_all() -> None:
                for inc in incoming:
                    await engine.handle_async(inc)

            asyncio.run(run_all())
        else:
            for inc in incoming:
                engine.handle(inc)
        return n / (time.perf_counter() - s)
    finally:
        store.close()


if __name__ == "__main__":
    main()
