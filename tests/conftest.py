"""Every test runs in its own empty directory with no provider keys set.

So no test reads the developer's `.env`, writes `llmhub.db` into the checkout,
or reaches a real provider with a real key.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import llmhub
from llmhub import HubSettings, ProviderRegistry, env_names
from llmhub_bot import BotSettings
from tests import forkserver
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


_FORKSERVER_STASH = pytest.StashKey[subprocess.Popen[bytes]]()


def pytest_configure(config: pytest.Config) -> None:
    """One fork server for the session's bot processes (`tests/forkserver.py`), started
    before pytest-xdist's workers so they find it in their environment."""
    if _controller(config) and hasattr(os, "pidfd_open"):
        path = Path(tempfile.mkdtemp(prefix="llmhub-forkserver-")) / "socket"
        config.stash[_FORKSERVER_STASH] = forkserver.launch(path)
        os.environ[forkserver.SOCKET_VARIABLE] = str(path)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first: spread over pytest-xdist's workers from the start, a run
    does not end with one worker still busy with them while the others idle."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_FORKSERVER_STASH, None)
    if server is not None:
        assert server.stdin is not None
        assert server.stdout is not None
        server.stdin.close()  # it ends its processes and itself
        server.wait()
        server.stdout.close()
        path = Path(os.environ.pop(forkserver.SOCKET_VARIABLE))
        shutil.rmtree(path.parent, ignore_errors=True)


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
