"""Each package owns its tables: a `Schema` of its own, made and migrated in place
on every backend, and databases of the schema before the hand-over taken over as
they are."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from llmhub import ConfigurationError
from llmhub.store import CORE_SCHEMA, SCHEMA_VERSION, Migration, Schema, Store, store_from_url
from llmhub_bot._budgets import spent
from llmhub_bot._tables import SCHEMA as BOT_SCHEMA
from llmhub_bot._users import UserRecord, Users
from tests.services import fresh_postgres_database
from tests.store.conftest import NOTES

DATA = Path(__file__).parent / "data"


async def test_a_fresh_database_holds_only_the_cores_tables(store: Store) -> None:
    assert set(await _columns(store)) == set(CORE_SCHEMA.tables)
    assert await store.schema_versions() == {}


async def test_a_packages_schema_is_made_once_whichever_process_comes_first(
    database_url: str,
) -> None:
    # Two stores on one database stand for two replicas starting together.
    async with store_from_url(database_url) as one, store_from_url(database_url) as two:
        await asyncio.gather(one.use_schema(NOTES), two.use_schema(NOTES))
        await one.execute("INSERT INTO notes (id, status, created_at) VALUES (1, 'kept', 1.0)")
        await two.use_schema(NOTES)  # up to date: nothing is made again
        assert await two.schema_versions() == {"llmhub_tests": 1}
        assert await two.fetch("SELECT id, status FROM notes") == [{"id": 1, "status": "kept"}]
        assert set(await _columns(one)) == set(CORE_SCHEMA.tables) | set(NOTES.tables)


async def test_a_new_version_migrates_in_place_and_a_newer_database_is_refused(
    database_url: str,
) -> None:
    grown = Schema(
        NOTES.name,
        (
            *NOTES.migrations,
            Migration(
                "a note's text",
                sqlite="ALTER TABLE notes ADD COLUMN body TEXT",
                postgres="ALTER TABLE notes ADD COLUMN body TEXT",
            ),
        ),
        {**NOTES.tables},
    )
    async with store_from_url(database_url) as store:
        await store.use_schema(NOTES)
        await store.execute("INSERT INTO notes (id, status, created_at) VALUES (1, 'old', 1.0)")
        await store.use_schema(grown)
        assert await store.schema_versions() == {"llmhub_tests": 2}
        assert await store.fetch("SELECT id, body FROM notes") == [{"id": 1, "body": None}]
    async with store_from_url(database_url) as older:
        with pytest.raises(ConfigurationError, match="llmhub_tests schema version 2, newer"):
            await older.use_schema(NOTES)
        with pytest.raises(ConfigurationError, match="the core's own schema"):
            await older.use_schema(CORE_SCHEMA)


#: A row in every table of schema 8 (the core's and the bot's then), by column name.
_ROWS_OF_VERSION_8: dict[str, list[dict[str, Any]]] = {
    "users": [
        {"id": 7, "username": "ann", "full_name": "Ann", "status": "approved", "created_at": 1.0}
        | {"language": "ru", "updated_at": 2.0},
        {"id": 2**40, "username": None, "full_name": None, "status": "pending"}
        | {"created_at": 1.0, "language": None, "updated_at": None},
    ],
    "requests": [
        {"id": "r1", "chat_id": "7", "user_id": 7, "provider": "fake", "model": "fake-small"}
        | {"prompt": "hi", "created_at": 10.0, "context_turns": 0},
    ],
    "responses": [
        {"request_id": "r1", "status": "ok", "text": "hello", "created_at": 11.0}
        | {"finish_reason": "stop", "prompt_tokens": 3, "completion_tokens": 4}
        | {"total_tokens": 7, "latency_ms": 12.5, "cost_usd": 0.001},
    ],
    "models": [{"provider": "fake", "model": "fake-small", "first_seen": 1.0, "last_seen": 2.0}],
    "chats": [
        {"chat_id": "7", "model": "fake/fake-small", "context_since": 0.0, "updated_at": 1.0}
        | {"system_prompt": "be brief"},
    ],
    "usage_limits": [{"user_id": 7, "tokens_day": 1000, "usd_month": 2.5, "updated_at": 1.0}],
    "usage_counters": [
        {"user_id": 7, "period": "2026-12", "requests": 3, "tokens": 300, "usd": 0.25},
    ],
    "usage_holds": [
        {"request_id": "h1", "user_id": 7, "tokens": 50, "usd": 0.0, "created_at": 1.0},
    ],
    "forgotten_usage": [
        {"provider": "fake", "day": 86400.0, "requests": 2, "errors": 0, "prompt_tokens": 10}
        | {"completion_tokens": 20, "cost_usd": 0.5},
    ],
    "tool_calls": [
        {"request_id": "r1", "step": 0, "seq": 0, "call_id": "c1", "name": "weather"}
        | {"arguments": "{}", "output": "sunny", "is_error": 0, "created_at": 10.5},
    ],
    "embeddings": [
        {"id": "e1", "provider": "fake", "model": "fake-embed", "inputs": 2, "chars": 10}
        | {"status": "ok", "created_at": 3.0},
    ],
}


def _inserts(mark: str) -> list[tuple[str, dict[str, Any]]]:
    """Every row's INSERT, its placeholders as `mark` makes them (the driver's style)."""
    return [
        (
            f"INSERT INTO {table} ({', '.join(row)})"
            f" VALUES ({', '.join(mark.format(c) for c in row)})",
            row,
        )
        for table, rows in _ROWS_OF_VERSION_8.items()
        for row in rows
    ]


async def _make_version_8(url: str, dialect: str) -> None:
    """A database as llmhub 0.1 at schema 8 made it, with a row or more in every table."""
    script = (DATA / f"schema-v8.{dialect}.sql").read_text(encoding="utf-8")
    if dialect == "sqlite":
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn, conn:
            conn.executescript(script)
            for sql, row in _inserts(":{}"):
                conn.execute(sql, row)
        return
    import psycopg

    async with await psycopg.AsyncConnection.connect(url) as pg:
        await pg.execute(script.encode())
        for sql, row in _inserts("%({})s"):
            await pg.execute(sql.encode(), row)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
async def test_a_database_of_schema_8_with_rows_in_every_table_migrates_in_place(
    dialect: str, tmp_path: Path
) -> None:
    async with (
        _empty_database(dialect, tmp_path) as url,
        _empty_database(dialect, tmp_path / "fresh") as fresh_url,
    ):
        await _make_version_8(url, dialect)
        async with store_from_url(url) as store:
            await store.use_schema(BOT_SCHEMA)
            assert await store.schema_version() == SCHEMA_VERSION
            assert await store.schema_versions() == {"llmhub_bot": BOT_SCHEMA.version}
            for table, rows in _ROWS_OF_VERSION_8.items():
                [count] = await store.fetch(f"SELECT COUNT(*) AS n FROM {table}")
                assert count["n"] == len(rows), table
            # Both packages read their rows as before.
            assert await Users(store).get(7) == UserRecord(7, "approved", "ann", "Ann", "ru")
            [exchange] = await store.conversation("7")
            assert (exchange.prompt, exchange.text) == ("hi", "hello")
            assert await store.chat_system("7") == "be brief"
            assert (await store.tool_steps(["r1"]))["r1"][0].results[0].output == "sunny"
            day, month = await spent(store, 7, 1_796_200_000.0)  # 2 December 2026
            assert (day.requests, month.requests, month.tokens) == (0, 3, 300)
            migrated = await _columns(store)
        # The same tables and columns as a database made fresh today.
        async with store_from_url(fresh_url) as fresh:
            await fresh.use_schema(BOT_SCHEMA)
            assert await _columns(fresh) == migrated


@pytest.mark.parametrize("left_at", [1, 5])
@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
async def test_a_database_left_part_way_by_another_replica_is_migrated_on(
    dialect: str, left_at: int, tmp_path: Path
) -> None:
    """The first versions applied by this llmhub (a replica killed while it migrated,
    or one still migrating when another starts): the rest follow, without the parts
    only a database made before version 9 takes (it has no `users` table)."""
    async with (
        _empty_database(dialect, tmp_path) as url,
        _empty_database(dialect, tmp_path / "fresh") as fresh_url,
    ):
        migrations = CORE_SCHEMA.migrations[:left_at]
        statements = [s for m in migrations for s in m.statements(dialect)]
        if dialect == "sqlite":
            with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn, conn:
                for statement in statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {left_at}")
        else:
            import psycopg

            async with await psycopg.AsyncConnection.connect(url) as pg:
                await pg.execute(b"CREATE TABLE llmhub_schema (version INTEGER NOT NULL)")
                await pg.execute(b"INSERT INTO llmhub_schema (version) VALUES (%s)", (left_at,))
                for statement in statements:
                    await pg.execute(statement.encode())
        async with store_from_url(url) as store:
            await store.use_schema(BOT_SCHEMA)
            assert await store.schema_version() == SCHEMA_VERSION
            migrated = await _columns(store)
        async with store_from_url(fresh_url) as fresh:
            await fresh.use_schema(BOT_SCHEMA)
            assert await _columns(fresh) == migrated


async def _columns(store: Store) -> dict[str, list[str]]:
    """Every table's columns, in order, but the schema versions' own tables."""
    if store.dialect == "sqlite":
        names = await store.fetch("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {}
        for row in names:
            info = await store.fetch(f"PRAGMA table_info({row['name']})")
            tables[str(row["name"])] = [str(c["name"]) for c in info]
    else:
        rows = await store.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
        tables = {}
        for row in rows:
            tables.setdefault(str(row["table_name"]), []).append(str(row["column_name"]))
    return {t: c for t, c in tables.items() if t not in ("llmhub_schema", "llmhub_schemas")}


def _empty_database(dialect: str, folder: Path) -> Any:
    if dialect == "postgres":
        return fresh_postgres_database()
    return _sqlite_file(folder)


class _sqlite_file:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.url = f"sqlite:///{folder / 'db.sqlite'}"

    async def __aenter__(self) -> str:
        return self.url

    async def __aexit__(self, *exc: object) -> None:
        return None
