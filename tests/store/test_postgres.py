"""What is the PostgreSQL backend's own: one schema with SQLite, migrating
under a lock, several processes writing one database."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from llmhub import ConfigurationError, StoreError
from llmhub.store import SCHEMA_VERSION, store_from_url
from tests.services import DatabaseOutage, fresh_postgres_database


async def _postgres_columns(url: str) -> dict[str, list[tuple[str, bool]]]:
    store = store_from_url(url)
    await store.open()
    try:
        rows = await store.fetch(
            "SELECT table_name, column_name, is_nullable FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name <> 'llmhub_schema'"
            " ORDER BY table_name, ordinal_position"
        )
    finally:
        await store.close()
    tables: dict[str, list[tuple[str, bool]]] = {}
    for row in rows:
        tables.setdefault(row["table_name"], []).append(
            (row["column_name"], row["is_nullable"] == "YES")
        )
    return tables


async def _sqlite_columns(path: Path) -> dict[str, list[tuple[str, bool]]]:
    store = store_from_url(f"sqlite:///{path}")
    await store.open()
    await store.close()
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            name: [
                (c[1], not c[3] and not c[5]) for c in conn.execute(f"PRAGMA table_info({name})")
            ]
            for name in sorted(names)
        }
    finally:
        conn.close()


async def test_fresh_sqlite_and_postgres_end_at_the_same_schema(tmp_path: Path) -> None:
    async with fresh_postgres_database() as url:
        postgres = await _postgres_columns(url)
    assert postgres == await _sqlite_columns(tmp_path / "same.db")


async def test_a_newer_schema_is_refused() -> None:
    async with fresh_postgres_database() as url:
        store = store_from_url(url)
        await store.open()
        await store.execute("UPDATE llmhub_schema SET version = :v", {"v": SCHEMA_VERSION + 1})
        await store.close()
        with pytest.raises(ConfigurationError, match="upgrade llmhub"):
            await store_from_url(url).open()


async def test_a_wrong_password_is_a_clear_error_that_hides_it() -> None:
    async with fresh_postgres_database() as url:
        wrong = url.replace("postgresql://postgres@", "postgresql://nobody:hunter2@")
        with pytest.raises(ConfigurationError) as info:
            await store_from_url(wrong).open()
    assert "hunter2" not in str(info.value)
    assert "cannot open the database" in str(info.value)


_WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from llmhub.testing import scripted_hub

    async def main(url: str, worker: int, calls: int) -> None:
        async with scripted_hub(url) as (hub, _):
            await asyncio.gather(*(
                hub.generate_reply(f"w{worker}-c{i % 20}", f"w{worker} p{i}") for i in range(calls)
            ))

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
    """
)


@pytest.mark.slow
async def test_four_processes_write_one_database_and_lose_nothing(tmp_path: Path) -> None:
    async with fresh_postgres_database() as url:
        # Start them together on an empty database: they also race to migrate it.
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                _WORKER,
                url,
                str(worker),
                "500",
                cwd=tmp_path,
                stderr=asyncio.subprocess.PIPE,
            )
            for worker in range(4)
        ]
        errors = [(await p.communicate())[1].decode() for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0, 0], errors
        assert errors == ["", "", "", ""]
        store = store_from_url(url)
        await store.open()
        try:
            counts: list[dict[str, Any]] = await store.fetch(
                "SELECT (SELECT COUNT(*) FROM requests) AS requests,"
                " (SELECT COUNT(*) FROM responses WHERE status = 'ok') AS ok,"
                " (SELECT COUNT(DISTINCT prompt) FROM requests) AS prompts"
            )
            assert await store.schema_version() == SCHEMA_VERSION
        finally:
            await store.close()
    assert counts == [{"requests": 2000, "ok": 2000, "prompts": 2000}]


def test_the_driver_is_imported_only_for_a_postgres_url() -> None:
    code = (
        "import sys, llmhub.store as s\n"
        "s.store_from_url('sqlite:///x.db')\n"
        "assert 'psycopg' not in sys.modules\n"
        "s.store_from_url('postgresql://u@h/db')\n"
        "assert 'psycopg' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("away", [False, True])
async def test_a_database_restart_loses_no_answer_and_no_row(tmp_path: Path, away: bool) -> None:
    """A PostgreSQL restart as a test on the shared server can make one: its connections
    are dropped (the pool still holds them), and with `away` it also refuses new ones
    for a while. The answers given meanwhile reach their callers, and their rows are
    written once it is back: held in memory meanwhile (`held_rows`, /healthz degraded)."""
    from llmhub.testing import scripted_hub

    async with fresh_postgres_database() as url, DatabaseOutage(url) as outage:
        async with scripted_hub(url) as (hub, _provider):
            await hub.generate_reply("c", "before", "fake-small")
            await (outage.refuse() if away else outage.drop_connections())
            # Without the database the calls read no context (they would fail before
            # asking the model, nothing paid): they write only.
            replies = [
                await hub.generate_reply(f"c{n}", f"during {n}", "fake-small", context=not away)
                for n in range(3)
            ]
            assert replies == [f"echo: during {n}" for n in range(3)]  # nobody heard of it
            if away:
                assert hub.store.held_rows > 0  # /healthz says degraded
                await outage.allow()
            for _ in range(400):
                if hub.store.held_rows == 0:
                    break
                await asyncio.sleep(0.05)
            assert hub.store.held_rows == 0
            [row] = await hub.store.fetch(
                "SELECT (SELECT COUNT(*) FROM requests) AS requests,"
                " (SELECT COUNT(*) FROM responses WHERE status = 'ok') AS ok"
            )
        assert row == {"requests": 4, "ok": 4}  # nothing lost


async def test_a_context_read_during_an_outage_waits_and_sees_the_rows_held_meanwhile() -> None:
    """The next message of a chat arrives while the database is away and the last
    answer's rows are held: its context read waits for the database, and for the
    held rows to be written, so the last answer is in it."""
    from llmhub.testing import scripted_hub

    async with fresh_postgres_database() as url, DatabaseOutage(url) as outage:
        async with scripted_hub(url) as (hub, _provider):
            await hub.generate_reply("c", "first", "fake-small")
            await outage.refuse()
            # Answered without its context (nothing paid is lost): held.
            await hub.generate_reply("c", "second", "fake-small", context=False)
            assert hub.store.held_rows > 0
            reading = asyncio.create_task(hub.store.recent_turns("c", 10, 10_000))
            await asyncio.sleep(0)
            assert not reading.done()  # waiting, not failing
            await outage.allow()
            turns = await asyncio.wait_for(reading, 30)
        assert [turn.prompt for turn in turns] == ["first", "second"]


def test_an_error_keeps_its_cause_but_never_the_password() -> None:
    import traceback

    import psycopg

    from llmhub.store.postgres import PostgresStore

    store = PostgresStore("postgresql://u:hunter2@127.0.0.1:1/db")
    plain = psycopg.OperationalError("connection refused")
    assert store._cause(plain) is plain
    echoed = psycopg.OperationalError("password=hunter2 rejected")
    try:
        try:
            raise echoed
        except psycopg.Error as exc:
            raise store._failure(StoreError, "could not read", exc) from store._cause(exc)
    except StoreError as raised:
        scrubbed = raised
    chain = "".join(traceback.format_exception(scrubbed))
    assert "hunter2" not in chain
    assert "password=*** rejected" in chain
    assert isinstance(scrubbed.__cause__, psycopg.Error)
