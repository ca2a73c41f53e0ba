"""Every backend, for the contract every backend must pass."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from llmhub.store import Store, store_from_url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """An open store on a fresh database of each backend."""
    opened = store_from_url(database_url)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
