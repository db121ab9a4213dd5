"""The bot as deployed: `htx-bot run` in its own process, timed until /healthz answers, then loaded with
concurrent web chat requests; its peak memory is read when it exits."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

import aiohttp

from bench.report import Figure, percentile

HTX_BOT = str(Path(sys.executable).with_name("htx-bot"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(folder: Path, port: int) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[storage]\npath = "{folder / "bot.sqlite3"}"\n'
        f'[knowledge]\noverlay_path = "{folder / "overlay"}"\n'
        f'[web]\nhost = "127.0.0.1"\nport = {port}\n'
        # 16 clients from one address send hundreds of messages a minute each: measure throughput, do not
        # throttle (per user or per address; 0 = no address limit).
        "[limits]\nmessages_per_minute = 1000000\naddress_messages_per_minute = 0\naddress_new_users_per_hour = 0\n",
        encoding="utf-8",
    )
    return path


@contextmanager
def running_bot(folder: Path) -> Iterator[tuple[str, float, subprocess.Popen[bytes]]]:
    """Start `htx-bot run`; yield its base URL and the seconds until /healthz answered; stop it."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HTX_")}  # no real channel keys
    start = time.perf_counter()
    proc = subprocess.Popen([HTX_BOT, "run", "--config", str(_config(folder, port))], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        elapsed = asyncio.run(_wait_healthy(url, start, proc))
        yield url, elapsed, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _wait_healthy(url: str, start: float, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> float:
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() - start < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"htx-bot run exited with {proc.returncode}")
            try:
                async with session.get(f"{url}/healthz") as resp:
                    if resp.status == 200:
                        return time.perf_counter() - start
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.01)
    raise RuntimeError("htx-bot run did not answer /healthz in time")


async def _load(url: str, texts: Sequence[str], clients: int, count: int, seconds: float
                ) -> tuple[int, int, float, list[float]]:
    """`clients` concurrent chats (one cookie each) post messages until `count` are sent or `seconds`
    pass. Returns (sent, errors, elapsed seconds, per-request ms)."""
    sent = errors = 0
    times: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(n: int) -> None:
        nonlocal sent, errors
        jar = aiohttp.CookieJar(unsafe=True)  # keep the chat cookie on 127.0.0.1: one user per client
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            i = n
            while sent < count and time.perf_counter() < deadline:
                sent += 1
                start = time.perf_counter()
                async with session.post(f"{url}/api/message", json={"text": texts[i % len(texts)]}) as resp:
                    await resp.read()
                    errors += resp.status != 200
                times.append(1000 * (time.perf_counter() - start))
                i += clients

    start = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return sent, errors, time.perf_counter() - start, times


def _peak_rss_mb(pid: int) -> float:
    """The bot's own peak resident memory (VmHWM). getrusage(RUSAGE_CHILDREN) would not do: a child
    forked from this process starts with this process's resident pages, the 10x index included."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _stored_messages(db: Path) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("select count(*) from messages where channel = 'web'").fetchone()[0])


def startup_and_http(texts: Sequence[str], clients: int = 16, count: int = 2000, seconds: float = 20.0,
                     starts: int = 3) -> list[Figure]:
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        startup = []
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        for i in range(starts):
            folder = Path(tmp) / f"start{i}"
            folder.mkdir()
            with running_bot(folder) as (_url, elapsed, _proc):
                startup.append(elapsed)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        startup_cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / starts
        folder = Path(tmp) / "load"
        folder.mkdir()
        with running_bot(folder) as (url, _elapsed, proc):
            sent, errors, elapsed, times = asyncio.run(_load(url, texts, clients, count, seconds))
            stored = _stored_messages(folder / "bot.sqlite3")
            peak = _peak_rss_mb(proc.pid)
    rate = sent / elapsed
    figures.append(Figure("start-up, htx-bot run until /healthz (median)", percentile(startup, 50), "s", "web",
                          at_most=1.5))
    figures.append(Figure("  CPU of one start (up to /healthz and stop)", startup_cpu, "s", "web"))
    figures.append(Figure(f"HTTP /api/message, {clients} clients, {sent} requests", rate, "req/s", "web",
                          at_least=250.0 if errors == 0 and stored == sent else float("inf")))
    figures.append(Figure("HTTP request latency p50", percentile(times, 50), "ms", "web"))
    figures.append(Figure("HTTP request latency p99", percentile(times, 99), "ms", "web"))
    figures.append(Figure(f"HTTP: non-200 answers ({errors}) / rows stored ({stored})", float(errors), "", "web",
                          at_most=0.0 if stored == sent else -1.0))
    figures.append(Figure("peak RSS of the running bot after the load", peak, "MB", "web", at_most=150.0))
    return figures
