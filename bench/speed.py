"""Search latency and index build time at the shipped size and larger, and messages per second through
the engine and SQLite in one process."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.report import Figure, percentile
from bench.synthetic import enlarge
from bot.config import Config
from bot.db import Store
from bot.engine import Engine
from bot.kb.model import KnowledgeBase
from bot.search import Searcher
from bot.types import Incoming

Question = tuple[str, str | None]  # text, province


def build_time(kb: KnowledgeBase, rounds: int = 3) -> tuple[Searcher, float]:
    """The searcher and the fastest of `rounds` index builds, in ms."""
    best, searcher = float("inf"), None
    for _ in range(rounds):
        start = time.perf_counter()
        searcher = Searcher(kb)
        best = min(best, 1000 * (time.perf_counter() - start))
    assert searcher is not None
    return searcher, best


def latencies(searcher: Searcher, questions: Sequence[Question], rounds: int) -> list[float]:
    """Milliseconds per `search()` call, as the answer path calls it (limit 6, the user's province)."""
    out = []
    for _ in range(rounds):
        for text, province in questions:
            start = time.perf_counter()
            searcher.search(text, province=province, limit=6)
            out.append(1000 * (time.perf_counter() - start))
    return out


def search_figures(kb: KnowledgeBase, questions: Sequence[Question], factor: int, rounds: int) -> list[Figure]:
    figures = []
    for size, base in ((1, kb), (factor, enlarge(kb, factor))):
        label = "shipped" if size == 1 else f"{size}x"
        searcher, build_ms = build_time(base, rounds=3 if size == 1 else 1)
        times = latencies(searcher, questions, rounds if size == 1 else 1)
        p99_target = 5.0 if size == 1 else 25.0
        stage = "search"
        n = len(base.entries)
        figures += [
            Figure(f"search p50, {label} ({n} entries)", percentile(times, 50), "ms", stage),
            Figure(f"search p95, {label}", percentile(times, 95), "ms", stage),
            Figure(f"search p99, {label}", percentile(times, 99), "ms", stage, at_most=p99_target),
            Figure(f"index build, {label}", build_ms, "ms", stage, at_most=1000.0 if size == 1 else None),
        ]
    return figures


def messages_per_second(kb: KnowledgeBase, questions: Sequence[Question], n: int = 600) -> list[Figure]:
    """Free-text messages through Engine.handle (record, answer, queue) on a temp-file database."""
    searcher = Searcher(kb)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(str(Path(tmp) / "bench.sqlite3"))
        config = Config()
        config.limits.messages_per_minute = 10**9  # 20 users sending 600 messages: measure, do not throttle
        engine = Engine(kb, store, config, searcher=searcher)
        incoming = [Incoming("web", f"u{i % 20}", text=questions[i % len(questions)][0], platform_id=str(i))
                    for i in range(n)]
        try:
            engine.handle(Incoming("web", "warm-up", text=questions[0][0], platform_id="warm-up"))
            start, cpu = time.perf_counter(), time.process_time()
            for inc in incoming:
                engine.handle(inc)
            rate = n / (time.perf_counter() - start)
            cpu_rate = n / (time.process_time() - cpu)
        finally:
            store.close()
    return [Figure("messages/s, engine + SQLite file, one process", rate, "msg/s", "messages", at_least=300.0),
            Figure("  the same per CPU-second of this process", cpu_rate, "msg/s", "messages")]
