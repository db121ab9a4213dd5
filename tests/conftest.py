"""Shared fixtures: a small fixture knowledge base (tests/fixtures/knowledge, format v2) for code tests,
the shipped knowledge base for the few tests about shipped content, and a fresh app per test on a
temp database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.app import App, build
from bot.config import Config
from bot.kb.loader import DEFAULT_DIR, load
from bot.search import Searcher

FIXTURE_DIR = Path(__file__).parent / "fixtures" / "knowledge"


def copy_knowledge(source: Path, tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    return root


@pytest.fixture
def fixture_kdir(tmp_path) -> Path:
    """A private copy of the fixture knowledge base that a test may change. Its overlay (where the
    staff console writes) is tmp_path/knowledge-overlay, the one the `config` fixture names."""
    return copy_knowledge(FIXTURE_DIR, tmp_path)


@pytest.fixture
def kdir(fixture_kdir) -> Path:
    return fixture_kdir


@pytest.fixture
def shipped_kdir(tmp_path) -> Path:
    """A private copy of the shipped knowledge/, for tests about shipped content."""
    return copy_knowledge(DEFAULT_DIR, tmp_path)


@pytest.fixture(scope="session")
def fixture_kb():
    return load(FIXTURE_DIR)


@pytest.fixture(scope="session")
def kb(fixture_kb):
    return fixture_kb


@pytest.fixture(scope="session")
def shipped_kb():
    return load()


@pytest.fixture(scope="session")
def searcher(kb):
    return Searcher(kb)


@pytest.fixture
def config(tmp_path) -> Config:
    cfg = Config()
    cfg.storage.path = str(tmp_path / "test.sqlite3")
    cfg.knowledge.path = str(FIXTURE_DIR)
    cfg.knowledge.overlay_path = str(tmp_path / "knowledge-overlay")
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


@pytest.fixture
async def fake_telegram():
    """A local fake Bot API server over real HTTP (tests/fake_telegram.py)."""
    from fake_telegram import FakeTelegram

    server = await FakeTelegram().start()
    yield server
    await server.close()
