"""The `llmhub` command: providers, logs, and the db commands on either backend."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from llmhub import cli
from llmhub.store import SCHEMA_VERSION
from llmhub.testing import scripted_hub
from tests.services import fresh_postgres_database


async def _history(url: str, exchanges: int) -> None:
    async with scripted_hub(url) as (hub, _):
        for i in range(exchanges):
            await hub.generate_reply(f"chat-{i % 3}", f"prompt {i}", user_id=2**40 + i)
        await hub.set_chat_model("chat-0", "fake/fake-large")
        await hub.reset_context("chat-1")
        await hub.list_models()
        await hub.store.execute(
            "INSERT INTO users (id, status, created_at) VALUES (:id, 'approved', 1.5)", {"id": 7}
        )


async def test_db_copy_moves_a_sqlite_history_into_postgres_without_losing_a_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"sqlite:///{tmp_path / 'history.db'}"
    await _history(source, 2500)  # more than one page of each table
    async with fresh_postgres_database() as target:
        code = await asyncio.to_thread(cli.main, ["db", "copy", source, target])
        out = capsys.readouterr().out
        assert code == 0, out
        assert "identical" in out
        assert "requests        2500      2500" in out
        assert "responses       2500      2500" in out
        # Run again (a copy cut short is simply repeated): nothing doubles.
        assert await asyncio.to_thread(cli.main, ["db", "copy", source, target]) == 0
        assert "identical" in capsys.readouterr().out
        # What was copied is a working store: its context and chat models carry over.
        async with scripted_hub(target) as (hub, _):
            assert await hub.store.chat_model("chat-0") == "fake/fake-large"
            assert (await hub.context_info("chat-1")).turns == 0
            assert (await hub.context_info("chat-2")).turns == 20


async def test_db_copy_into_a_database_holding_other_rows_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, target = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    await _history(source, 3)
    await _history(target, 4)
    assert await asyncio.to_thread(cli.main, ["db", "copy", source, target]) == 1
    captured = capsys.readouterr()
    assert "MISMATCH" in captured.out
    assert "differs from the source" in captured.err


async def test_db_migrate_and_logs_work_on_postgres(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with fresh_postgres_database() as url:
        assert await asyncio.to_thread(cli.main, ["db", "migrate", url]) == 0
        latest = SCHEMA_VERSION
        assert f"schema version {latest} (this llmhub: {latest})" in capsys.readouterr().out
        await _history(url, 2)
        monkeypatch.setenv("LLMHUB_DATABASE_URL", url)
        assert await asyncio.to_thread(cli.main, ["logs", "-n", "5"]) == 0
    out = capsys.readouterr().out
    assert "> prompt 1" in out
    assert "< echo: prompt 0" in out


def test_a_database_url_password_is_never_printed(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["db", "migrate", "postgresql://u:hunter2@127.0.0.1:1/db"])
    captured = capsys.readouterr()
    assert code == 2
    assert "hunter2" not in captured.out + captured.err
    assert "cannot open the database" in captured.err


def test_cli_providers_lists_the_plugins_and_what_each_needs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["providers"]) == 0
    out = capsys.readouterr().out
    assert "gemini" in out
    assert "not configured: set GEMINI_PROJECT or GEMINI_KEY" in out
    assert "not configured: set MISTRAL_API_KEY" in out
    assert "not configured: set DIPSEEK_API_KEY" in out
    assert "aiollmhub-mistral 0.1.0" in out


def test_cli_providers_says_which_accepted_name_it_read(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-alias-key-3c4d")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "my-project")
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-alias-key-5e6f")
    assert cli.main(["providers"]) == 0
    out = capsys.readouterr().out
    assert "DIPSEEK_API_KEY read from DEEPSEEK_API_KEY" in out
    assert "GEMINI_PROJECT read from GOOGLE_CLOUD_PROJECT" in out
    assert "GEMINI_KEY read from GOOGLE_API_KEY" in out
    assert "not configured: set DIPSEEK_API_KEY" not in out
    assert "not configured: set GEMINI_PROJECT" not in out
    assert "sk-alias-key" not in out
    assert "AIza-alias" not in out
