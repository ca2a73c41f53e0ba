"""What is the SQLite backend's own: the file, WAL, migrating old files, its writer."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from llmhub import ConfigurationError, StoreError
from llmhub.store import MIGRATIONS, SCHEMA_VERSION, store_from_url
from llmhub.store.sqlite import SQLiteStore


async def test_a_new_file_gets_the_whole_schema_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "new" / "log.db"
    async with SQLiteStore(str(db)) as store:
        assert await store.schema_version() == SCHEMA_VERSION
    with closing(sqlite3.connect(db)) as conn, conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"requests", "responses", "models", "chats", "tool_calls", "embeddings"} <= tables
    assert "users" not in tables  # the bot's, made by the bot's own schema


async def test_a_version_1_file_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "v1.db"
    with closing(sqlite3.connect(db)) as conn, conn:
        # Version 1 as llmhub made it: `users` too, the bot's own table since version 9.
        conn.executescript(MIGRATIONS[0].sqlite + _USERS_OF_VERSION_1)
        conn.execute("INSERT INTO users VALUES (5, 'ann', 'Ann', 'approved', 1.0)")
        conn.execute("INSERT INTO requests VALUES ('r1', '7', NULL, 'mistral', 'm', 'hi', 1.0)")
        conn.execute("INSERT INTO responses VALUES ('r1', 'error', '', 'boom', 2.0)")
        conn.execute("PRAGMA user_version = 1")

    async with SQLiteStore(str(db)) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        [row] = await store.recent_exchanges()
        assert (row.request_id, row.prompt, row.status) == ("r1", "hi", "error")
        await store.set_chat_model("7", "mistral/m")
        assert await store.chat_model("7") == "mistral/m"
    with closing(sqlite3.connect(db)) as conn, conn:
        assert conn.execute("SELECT error_message FROM responses").fetchone() == ("boom",)
        # What versions 2-8 did to the bot's tables ran too: the bot takes them over as
        # they are (its users gained a language; its budgets' tables exist).
        assert conn.execute("SELECT id, language FROM users").fetchall() == [(5, None)]
        assert conn.execute("SELECT COUNT(*) FROM usage_holds").fetchone() == (0,)


_USERS_OF_VERSION_1 = """
CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    username    TEXT,
    full_name   TEXT,
    status      TEXT NOT NULL DEFAULT 'pending',
    created_at  REAL NOT NULL
);
"""


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ConfigurationError, match="upgrade llmhub"):
        await SQLiteStore(str(db)).open()


def test_database_urls() -> None:
    assert store_from_url("sqlite:///rel/x.db").path == "rel/x.db"  # type: ignore[attr-defined]
    assert store_from_url("sqlite:////abs/x.db").path == "/abs/x.db"  # type: ignore[attr-defined]
    assert "secret" not in repr(store_from_url("postgresql://u:secret@h/db"))
    with pytest.raises(ConfigurationError) as info:
        store_from_url("mysql://u:hunter2@h/db")
    assert "hunter2" not in str(info.value)


async def test_an_unexpected_writer_failure_fails_its_callers_and_the_writer_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteStore(str(tmp_path / "w.db"))
    await store.open()
    real_flush = store._flush
    calls = 0

    async def flaky(db: object, batch: list[object]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("disk on fire")
        await real_flush(db, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_flush", flaky)
    try:
        with pytest.raises(StoreError, match="disk on fire"):
            await store.set_chat_model("1", "a/b")
        await store.set_chat_model("1", "c/d")  # the writer is still alive
        assert await store.chat_model("1") == "c/d"
    finally:
        await store.close()


async def _log_pairs(store: SQLiteStore, count: int) -> None:
    from llmhub.store import RequestRecord, ResponseRecord

    for i in range(count):
        await store.log_request(RequestRecord(f"r{i}", "chat", "fake", "m", f"prompt {i}", 1.0 + i))
        await store.log_response(ResponseRecord(f"r{i}", "ok", f"reply {i}", 2.0 + i, 1.0))


async def test_batches_run_on_the_loop_and_checkpoints_on_the_stores_thread(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ck.db"
    store = SQLiteStore(str(db), checkpoint_rows=100)
    async with store:
        assert store.in_loop
        await _log_pairs(store, 150)  # 300 rows: a checkpoint at 100, another at 200…
        while store._checkpointing is not None:  # one may still be running: let it end
            await store._checkpointing
        assert store.checkpoints >= 1
        assert store._db is not None  # its commits never checkpoint on the loop
        assert store._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        assert len(await store.recent_turns("chat", 500, 10**6)) == 150
    with closing(sqlite3.connect(db)) as conn, conn:
        assert conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 150


@pytest.mark.parametrize(
    ("synchronous", "in_loop"), [("FULL", False), ("EXTRA", False), ("OFF", True)]
)
async def test_commits_that_wait_for_the_disk_stay_off_the_loop(
    tmp_path: Path, synchronous: str, in_loop: bool
) -> None:
    store = SQLiteStore(str(tmp_path / "s.db"), synchronous=synchronous)
    async with store:
        assert store.in_loop is in_loop
        # Reads go through a connection of the store thread's own when the loop writes.
        assert (store._reader is not None) is in_loop
        await _log_pairs(store, 3)
        assert len(await store.recent_turns("chat", 10, 10**6)) == 3


async def test_one_bad_row_fails_only_its_own_caller_not_the_batch(tmp_path: Path) -> None:
    import asyncio
    import time

    from llmhub.store import RequestRecord, ResponseRecord

    def request(n: int, user_id: int) -> RequestRecord:
        return RequestRecord(
            f"r{n}", "7", "mistral", "m", f"prompt {n}", time.time(), user_id=user_id
        )

    async with SQLiteStore(str(tmp_path / "batch.db")) as store:
        for n in range(150):  # queued together: one batch
            await store.log_request(request(n, 2**63 if n == 75 else n))
        await store.log_request(request(999, 1))
        outcomes = await asyncio.gather(
            *(
                store.log_response(ResponseRecord(f"r{n}", "ok", "fine", time.time(), 1.0))
                for n in (1, 999)
            ),
            return_exceptions=True,
        )
        assert outcomes == [None, None]
        rows = await store.fetch("SELECT COUNT(*) AS n FROM requests")
    assert rows[0]["n"] == 150  # every row but the one that cannot be stored
