"""Shared fixtures: the real knowledge base (loaded once), and a fresh app per test on a temp database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.app import App, build
from bot.config import Config
from bot.kb.loader import DEFAULT_DIR, load
from bot.search import Searcher


@pytest.fixture
def kdir(tmp_path) -> Path:
    """A private copy of knowledge/ that a test may change; the real one is never written by tests."""
    root = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_DIR, root, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    return root


@pytest.fixture(scope="session")
def kb():
    return load()


@pytest.fixture(scope="session")
def searcher(kb):
    return Searcher(kb)


@pytest.fixture
def config(tmp_path) -> Config:
    cfg = Config()
    cfg.storage.path = str(tmp_path / "test.sqlite3")
    cfg.alliance.name = "Liên minh HTX tỉnh Thử"
    cfg.alliance.phone = "0123 456 789"
    return cfg


@pytest.fixture
def app(config, kb, searcher) -> App:
    from bot.db import Store
    from bot.engine import Engine

    store = Store(config.storage.path)
    application = App(config, kb, store, Engine(kb, store, config, searcher=searcher))
    yield application
    store.close()


@pytest.fixture
def fresh_build(config):
    """Build the app the way `htx-bot run` does (for start-up tests)."""
    return lambda: build(config)
