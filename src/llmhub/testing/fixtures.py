"""pytest fixtures for apps and plugins: `pytest_plugins = ["llmhub.testing.fixtures"]`.

- `scripted`: `(hub, provider)` from `scripted_hub()` on a temporary SQLite file.
- `fake_openai`: a running `FakeOpenAIServer` (its `url` goes in `<PROVIDER>_ENDPOINT`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .._hub import Hub
from ._scripted import ScriptedProvider, scripted_hub
from .openai_server import FakeOpenAIServer

__all__ = ["fake_openai", "scripted"]


@pytest.fixture
async def scripted(tmp_path: Path) -> AsyncIterator[tuple[Hub, ScriptedProvider]]:
    """A hub over a scripted provider, logging to a fresh SQLite file."""
    async with scripted_hub(f"sqlite:///{tmp_path / 'scripted.db'}") as opened:
        yield opened


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAIServer]:
    """A fake OpenAI-style server on 127.0.0.1, stopped after the test."""
    async with FakeOpenAIServer() as server:
        yield server
