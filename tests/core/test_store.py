"""The SQLite store: migrations, no lost rows under load, errors logged without secrets."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from llmhub import ConfigurationError, ProviderUnavailableError, StoreError
from llmhub.store import SCHEMA_VERSION, SQLiteStore, UserRecord, store_from_url
from llmhub.store._schema import MIGRATIONS
from tests.fakes.providers import open_hub


async def test_a_new_file_gets_the_whole_schema_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "new" / "log.db"
    async with SQLiteStore(str(db)) as store:
        assert await store.schema_version() == SCHEMA_VERSION
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"users", "requests", "responses", "models", "chats"} <= tables


async def test_a_version_1_file_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "v1.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(MIGRATIONS[0])
        conn.execute("INSERT INTO requests VALUES ('r1', '7', NULL, 'mistral', 'm', 'hi', 1.0)")
        conn.execute("INSERT INTO responses VALUES ('r1', 'error', '', 'boom', 2.0)")
        conn.execute("PRAGMA user_version = 1")

    async with SQLiteStore(str(db)) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        [row] = await store.recent_exchanges()
        assert (row.request_id, row.prompt, row.status) == ("r1", "hi", "error")
        await store.set_chat_model("7", "mistral/m")
        assert await store.chat_model("7") == "mistral/m"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT error_message FROM responses").fetchone() == ("boom",)


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ConfigurationError, match="upgrade llmhub"):
        await SQLiteStore(str(db)).open()


def test_database_urls() -> None:
    assert store_from_url("sqlite:///rel/x.db").path == "rel/x.db"  # type: ignore[attr-defined]
    assert store_from_url("sqlite:////abs/x.db").path == "/abs/x.db"  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match="PostgreSQL"):
        store_from_url("postgresql://u:secret@h/db")
    with pytest.raises(ConfigurationError) as info:
        store_from_url("mysql://u:hunter2@h/db")
    assert "hunter2" not in str(info.value)


async def test_500_concurrent_replies_leave_500_pairs(tmp_path: Path) -> None:
    db = tmp_path / "load.db"
    hub, _ = await open_hub(str(db))
    try:
        texts = await asyncio.gather(
            *(hub.generate_reply(f"chat-{i % 50}", f"prompt {i}") for i in range(500))
        )
    finally:
        await hub.aclose()
    assert texts[499] == "echo: prompt 499"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM requests").fetchone() == (500,)
        assert conn.execute("SELECT COUNT(*) FROM responses WHERE status = 'ok'").fetchone() == (
            500,
        )
        orphans = conn.execute(
            "SELECT COUNT(*) FROM responses r LEFT JOIN requests q ON q.id = r.request_id"
            " WHERE q.id IS NULL"
        ).fetchone()
    assert orphans == (0,)


async def test_a_provider_error_is_logged_without_the_secret(tmp_path: Path) -> None:
    db = tmp_path / "err.db"
    hub, provider = await open_hub(str(db))
    provider.error = ProviderUnavailableError("upstream 503", provider="fake")
    try:
        with pytest.raises(ProviderUnavailableError) as info:
            await hub.generate_reply(1, "hello")
    finally:
        await hub.aclose()
    assert info.value.request_id
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT request_id, status, error_type, error_message FROM responses"
        ).fetchone()
    assert row == (info.value.request_id, "error", "ProviderUnavailableError", "fake: upstream 503")


async def test_users_and_stats(tmp_path: Path) -> None:
    async with SQLiteStore(str(tmp_path / "u.db")) as store:
        await store.upsert_user(UserRecord(5, "pending", "ann", "Ann", "ru"))
        await store.upsert_user(UserRecord(5, "approved", "ann2", "Ann B", "en"))
        user = await store.get_user(5)
        assert user == UserRecord(5, "pending", "ann2", "Ann B", "en")  # status kept
        await store.set_user_status(5, "approved")
        assert (await store.get_user(5)).status == "approved"  # type: ignore[union-attr]
        assert await store.count_users() == {"approved": 1}
        await store.record_models("fake", ["a", "b"])
        await store.record_models("fake", ["b"])
        assert await store.known_models() == {"fake": ["a", "b"]}
        assert await store.ping()


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
