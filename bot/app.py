"""Wiring: config → knowledge → store → engine. One place, so the CLI, tests and channels agree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.config import Config, load_config
from bot.engine import Engine
from bot.kb.loader import load
from bot.kb.model import KnowledgeBase
from bot.store import Store


@dataclass
class App:
    config: Config
    kb: KnowledgeBase
    store: Store
    engine: Engine


def build(config: Config | None = None, config_path: str | Path | None = None, store_path: str | None = None) -> App:
    """Load everything; raises ConfigError or KnowledgeError with a message naming the problem."""
    config = config or load_config(config_path)
    kb = load(config.knowledge.path or None)
    store = Store(store_path or config.storage.path)
    engine = Engine(kb, store, config)
    return App(config, kb, store, engine)
