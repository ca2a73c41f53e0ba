"""`llmhub-bot` itself, as the README runs it: a separate process on the SQLite
default, with nothing but a token and one provider key, talking to the fakes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import aiohttp
import pytest

from llmhub.testing.openai_server import FakeOpenAIServer
from tests import forkserver
from tests.bot.conftest import ADMIN, PROVIDER_KEY, TOKEN, scrape
from tests.fakes.telegram_server import FakeBotAPI

SCRIPT = Path(sys.executable).with_name("llmhub-bot")

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_console_script_answers_and_stops_cleanly(tmp_path: Path) -> None:
    async with FakeBotAPI() as tg, FakeOpenAIServer(api_key=PROVIDER_KEY) as llm:
        process = await _run_bot(tmp_path, tg, llm, fresh=True)
        log = await _answer_then_interrupt(process, tg, "hello process")
        assert process.returncode == 0, log
        assert TOKEN not in log
        assert PROVIDER_KEY not in log
        with closing(sqlite3.connect(tmp_path / "llmhub.db")) as conn, conn:  # the default database
            assert conn.execute("SELECT prompt FROM requests").fetchall() == [("hello process",)]


async def test_polling_serves_metrics_on_the_port_asked_for(tmp_path: Path) -> None:
    port = free_port()
    async with FakeBotAPI() as tg, FakeOpenAIServer(api_key=PROVIDER_KEY) as llm:
        process = await _run_bot(
            tmp_path, tg, llm, BOT_METRICS_PORT=str(port), BOT_METRICS_HOST="127.0.0.1"
        )
        try:
            await tg.push(tg.message(ADMIN, "count me"))
            await tg.wait_for(lambda fake: "echo: count me" in fake.texts(ADMIN), timeout=60)
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/metrics") as scraped,
            ):
                samples = scrape(await scraped.text())
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, output.decode()
    assert samples[("llmhub_bot_replies_total", (("outcome", "ok"),))] == 1
    [received] = [
        v for (name, _), v in samples.items() if name == "llmhub_bot_updates_received_total"
    ]
    assert received == 1


async def _run_bot(
    tmp_path: Path,
    tg: FakeBotAPI,
    llm: FakeOpenAIServer,
    *,
    token: str = TOKEN,
    fresh: bool = False,
    **extra: str,
) -> forkserver.Process:
    """The bot as a process of its own; `fresh`: the installed script exec'd, not
    forked from the fork server (`tests/forkserver.py`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMHUB_")}
    env.update(extra)
    env.update(
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_URL=tg.url,
        ADMIN_IDS=str(ADMIN),
        MISTRAL_API_KEY=PROVIDER_KEY,
        MISTRAL_ENDPOINT=llm.url,
        LLMHUB_DEFAULT_MODEL="mistral-small-latest",
        PYTHONWARNINGS="always::ResourceWarning",
    )
    return await forkserver.start(
        [str(SCRIPT)],
        cwd=tmp_path,
        env=env,
        stdout=forkserver.PIPE,
        stderr=forkserver.STDOUT,
        fresh=fresh,
    )


async def test_a_server_refusing_the_menu_still_gets_answers_and_a_clean_exit(
    tmp_path: Path,
) -> None:
    async with FakeBotAPI() as tg, FakeOpenAIServer(api_key=PROVIDER_KEY) as llm:
        tg.refuse("setMyCommands", 500)
        tg.refuse("setMyDescription", 400, "Bad Request: method not found")
        process = await _run_bot(tmp_path, tg, llm)
        log = await _answer_then_interrupt(process, tg, "are you up?")
    assert process.returncode == 0, log
    assert "setMyCommands(en) refused" in log
    assert "Traceback" not in log
    assert "Unclosed" not in log
    assert "ResourceWarning" not in log


async def _answer_then_interrupt(process: forkserver.Process, tg: FakeBotAPI, text: str) -> str:
    """Send `text`, wait for its echo, then SIGINT: the process's whole output."""
    try:
        await tg.push(tg.message(ADMIN, text))
        await tg.wait_for(lambda fake: f"echo: {text}" in fake.texts(ADMIN), timeout=60)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    return output.decode()


async def test_a_refused_token_is_one_line_and_exit_2_with_nothing_left_open(
    tmp_path: Path,
) -> None:
    async with FakeBotAPI() as tg, FakeOpenAIServer(api_key=PROVIDER_KEY) as llm:
        tg.refuse("deleteWebhook", 401, "Unauthorized")
        tg.refuse("getMe", 401, "Unauthorized")
        process = await _run_bot(tmp_path, tg, llm)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    log = output.decode()
    assert process.returncode == 2, log
    assert "Telegram refused TELEGRAM_BOT_TOKEN" in log
    assert TOKEN not in log
    assert "Traceback" not in log
    assert "Unclosed" not in log
    assert "ResourceWarning" not in log


async def test_a_database_that_cannot_be_opened_is_one_line_and_exit_2(tmp_path: Path) -> None:
    url = f"postgresql://bot:db-password-1@127.0.0.1:{free_port()}/llmhub"
    async with FakeBotAPI() as tg, FakeOpenAIServer(api_key=PROVIDER_KEY) as llm:
        process = await _run_bot(tmp_path, tg, llm, LLMHUB_DATABASE_URL=url)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    lines = output.decode().splitlines()
    assert process.returncode == 2, lines
    assert [line for line in lines if "llmhub-bot:" in line] == lines[-1:]
    assert "cannot open the database postgresql://bot:***@127.0.0.1" in lines[-1]
    assert "db-password-1" not in output.decode()
    assert "Traceback" not in output.decode()


async def test_a_bot_api_server_that_does_not_answer_yet_is_waited_for(tmp_path: Path) -> None:
    """Nothing listens at TELEGRAM_API_URL when the bot starts: one line per try,
    no traceback, and once the server is up the bot answers."""
    port = free_port()
    async with FakeOpenAIServer(api_key=PROVIDER_KEY) as llm:
        tg = FakeBotAPI(port=port)
        tg.url = f"http://127.0.0.1:{port}"
        process = await _run_bot(tmp_path, tg, llm)
        assert process.stdout is not None
        early: list[str] = []
        while len([line for line in early if "Telegram does not answer" in line]) < 2:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
            assert line, "".join(early)
            early.append(line.decode())
        async with tg:
            log = "".join(early) + await _answer_then_interrupt(process, tg, "are you there?")
    assert process.returncode == 0, log
    assert f"Telegram does not answer at http://127.0.0.1:{port} (TelegramNetworkError" in log
    assert "try 2 again in 2 s" in log
    assert "Traceback" not in log
    assert TOKEN not in log


async def test_without_the_bot_extra_the_script_says_what_to_install(tmp_path: Path) -> None:
    # aiogram made unimportable, as in an install without the `bot` extra.
    blocker = tmp_path / "blocked" / "aiogram"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'aiogram'\", name='aiogram')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMHUB_")}
    env.update(PYTHONPATH=str(blocker.parent), TELEGRAM_BOT_TOKEN=TOKEN)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "llmhub_bot",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2, err.decode()
    assert "the bot needs its extra" in err.decode()
    assert "aiogram missing" in err.decode()
    assert "Traceback" not in err.decode()
