"""The `llmhub` command: providers, logs, and the db commands on either backend."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from llmhub import cli
from llmhub.store import CORE_SCHEMA, SCHEMA_VERSION, Store
from llmhub.testing import scripted_hub
from llmhub_bot._tables import SCHEMA as BOT_SCHEMA
from tests.services import fresh_postgres_database


async def _history(url: str, exchanges: int) -> None:
    async with scripted_hub(url) as (hub, _):
        for i in range(exchanges):
            await hub.generate_reply(f"chat-{i % 3}", f"prompt {i}", user_id=2**40 + i)
        await hub.set_chat_model("chat-0", "fake/fake-large")
        await hub.reset_context("chat-1")
        await hub.list_models()
        await hub.store.use_schema(BOT_SCHEMA)
        await hub.store.execute(
            "INSERT INTO users (id, status, created_at) VALUES (:id, 'approved', 1.5)", {"id": 7}
        )
        await _fill_the_other_tables(hub.store)


async def _fill_the_other_tables(store: Store) -> None:
    """A row or more in every table besides the log's: the bot's budgets, the forgotten
    users' totals, tool rounds and embedding calls."""
    from llmhub import ToolCall, ToolResult, ToolStep
    from llmhub.store import EmbeddingRecord

    for sql in (
        "INSERT INTO usage_limits (user_id, tokens_day, usd_month, updated_at) VALUES (7, 1000, 2.5, 1.0)",
        "INSERT INTO usage_counters (user_id, period, requests, tokens, usd) VALUES (7, '2026-12', 3, 300, 0.25)",
        "INSERT INTO usage_counters (user_id, period, requests, tokens, usd) VALUES (7, '2026-12-03', 1, 100, 0.1)",
        "INSERT INTO usage_holds (request_id, user_id, tokens, usd, created_at) VALUES ('h1', 7, 50, 0.0, 1.0)",
        "INSERT INTO chat_notes (chat_id, note, created_at) VALUES ('chat-0', 'context-dropped', 1.0)",
        "INSERT INTO access_groups (id, status, title, created_at, updated_at)"
        " VALUES (-1001, 'approved', 'Team chat', 1.0, 2.0)",
        "INSERT INTO forgotten_usage (provider, day, requests, errors, prompt_tokens, completion_tokens, cost_usd)"
        " VALUES ('fake', 86400, 2, 0, 10, 20, NULL)",
        "INSERT INTO forgotten_usage (provider, day, requests, errors, prompt_tokens, completion_tokens, cost_usd)"
        " VALUES ('fake', 86400, 2, 0, 10, 20, 0.5)",
    ):
        await store.execute(sql)
    call = ToolCall("c1", "weather", '{"city": "Oslo"}')
    await store.log_tool_step("x1", 0, ToolStep((call,), (ToolResult(call, "sunny", False, 3.0),)))
    await store.log_embedding(EmbeddingRecord("e1", "fake", "fake-embed", 2, 10, "ok", 1.0, 2.0))


async def test_db_copy_moves_a_sqlite_history_into_postgres_without_losing_a_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("llmhub.store._copy._PAGE", 100)  # pages of 1,000 rows, made small
    source = f"sqlite:///{tmp_path / 'history.db'}"
    await _history(source, 250)  # more than one page of each table
    async with fresh_postgres_database() as target:
        code = await asyncio.to_thread(cli.main, ["db", "copy", source, target])
        out = capsys.readouterr().out
        assert code == 0, out
        assert "identical" in out
        # Every table of both packages, full, counted and digested alike on both sides.
        counted = {line.split()[0]: line.split()[1:3] for line in out.splitlines()[1:-1]}
        assert counted["requests"] == counted["responses"] == ["250", "250"]
        assert set(counted) == set(CORE_SCHEMA.tables) | set(BOT_SCHEMA.tables)
        assert all(source == target != "0" for source, target in counted.values()), counted
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
        assert await asyncio.to_thread(cli.main, ["db", "migrate", url]) == 0
        assert (
            f"llmhub_bot: schema version {BOT_SCHEMA.version} (installed: {BOT_SCHEMA.version})"
            in (capsys.readouterr().out)
        )
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


async def test_db_copy_refuses_a_table_it_does_not_know_and_never_makes_a_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, target = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    await _history(source, 2)
    async with scripted_hub(source) as (hub, _):
        await hub.store.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    assert await asyncio.to_thread(cli.main, ["db", "copy", source, target]) == 1
    assert "tables this llmhub does not know: notes" in capsys.readouterr().err
    # A package's tables whose package is not installed here: named, nothing copied.
    async with scripted_hub(source) as (hub, _):
        await hub.store.execute("DROP TABLE notes")
        await hub.store.execute(
            "INSERT INTO llmhub_schemas (name, version) VALUES ('llmhub_crm', 3)"
        )
    assert await asyncio.to_thread(cli.main, ["db", "copy", source, target]) == 1
    assert "the tables of llmhub_crm, not installed here" in capsys.readouterr().err
    async with scripted_hub(target) as (hub, _):
        assert await hub.store.recent_exchanges() == []
    typo = f"sqlite:///{tmp_path / 'no-such-folder' / 'typo.db'}"
    assert await asyncio.to_thread(cli.main, ["db", "copy", typo, target]) == 1
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "no-such-folder").exists()


def test_read_only_commands_create_no_database(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLMHUB_DATABASE_URL", "sqlite:///logs/llmhub.db")
    assert cli.main(["logs"]) == 0
    assert "no log yet: logs/llmhub.db does not exist" in capsys.readouterr().out
    cli.main(["models"])
    assert not (isolated_env / "logs").exists()
    assert list(isolated_env.iterdir()) == []
