"""Every test runs in its own empty directory with no provider keys set.

So no test reads the developer's `.env`, writes `llmhub.db` into the checkout,
or reaches a real provider with a real key.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import llmhub
from llmhub import HubSettings, ProviderRegistry, env_names
from llmhub_bot import BotSettings
from tests.services import bot_keys, delete_keys, fresh_postgres_database, sweep_left_databases

_PREFIXES = ("LLMHUB_", "TELEGRAM_", "FAKE_", "REDIS_")
#: Every variable llmhub, its bot and its installed providers read, from their own declarations.
_NAMES = {
    *(var for _, var in env_names(HubSettings)),
    *(var for _, var in env_names(BotSettings)),
    *(var for info in ProviderRegistry({}).info() for var in info.all_names),
    "GOOGLE_APPLICATION_CREDENTIALS",
}


_KEYS_STASH = pytest.StashKey[set[str] | None]()


def _controller(config: pytest.Config) -> bool:
    """The process that runs the session (not one of pytest-xdist's workers)."""
    return not hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Drop what killed runs left on the shared servers; note the bots' Redis keys."""
    if _controller(session.config):
        sweep_left_databases()
        session.config.stash[_KEYS_STASH] = bot_keys()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Leave no bot key behind in Redis (a test that stopped a bot midway may)."""
    if _controller(session.config):
        before = session.config.stash.get(_KEYS_STASH, None)
        after = bot_keys()
        if before is not None and after:
            delete_keys(after - before)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith(_PREFIXES) or name in _NAMES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("LLMHUB_DATABASE_URL", f"sqlite:///{tmp_path / 'llmhub.db'}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(autouse=True)
async def _close_default_hub() -> AsyncIterator[None]:
    yield
    await llmhub.close_default_hub()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database of each backend (PostgreSQL skips, or fails under CI, if absent)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url
