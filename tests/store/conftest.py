"""Every backend, for the contract every backend must pass."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from llmhub.store import Migration, Schema, Store, store_from_url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """An open store on a fresh database of each backend."""
    opened = store_from_url(database_url)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


#: A package's own tables, as a package built on llmhub declares them (the tests' own).
NOTES = Schema(
    "llmhub_tests",
    (
        Migration(
            "notes and holds",
            sqlite="CREATE TABLE notes (id INTEGER PRIMARY KEY, status TEXT NOT NULL,"
            " created_at REAL NOT NULL); CREATE TABLE holds (id TEXT PRIMARY KEY,"
            " owner INTEGER NOT NULL)",
            postgres="CREATE TABLE notes (id BIGINT PRIMARY KEY, status TEXT NOT NULL,"
            " created_at DOUBLE PRECISION NOT NULL); CREATE TABLE holds (id TEXT PRIMARY KEY,"
            " owner BIGINT NOT NULL)",
        ),
    ),
    {"notes": ("id",), "holds": ("id",)},
)


@pytest.fixture
async def noted(store: Store) -> Store:
    """`store` with the tests' own tables (`NOTES`)."""
    await store.use_schema(NOTES)
    return store
