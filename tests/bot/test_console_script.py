"""`llmhub-bot` itself, as the README runs it: a separate process on the SQLite
default, with nothing but a token and one provider key, talking to the fakes."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

from llmhub.testing.openai_server import FakeOpenAIServer
from tests.bot.conftest import ADMIN, PROVIDER_KEY, TOKEN
from tests.fakes.telegram_server import FakeBotAPI

SCRIPT = Path(sys.executable).with_name("llmhub-bot")


async def test_the_console_script_answers_and_stops_cleanly(tmp_path: Path) -> None:
    async with FakeBotAPI() as tg, FakeOpenAIServer(api_key=PROVIDER_KEY) as llm:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLMHUB_")}
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=tg.url,
            ADMIN_IDS=str(ADMIN),
            MISTRAL_API_KEY=PROVIDER_KEY,
            MISTRAL_ENDPOINT=llm.url,
            LLMHUB_DEFAULT_MODEL="mistral-small-latest",
        )
        process = await asyncio.create_subprocess_exec(
            str(SCRIPT),
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await tg.wait_for(lambda fake: bool(fake.sent("deleteWebhook")), timeout=60)
            await tg.push(tg.message(ADMIN, "hello process"))
            await tg.wait_for(lambda fake: "echo: hello process" in fake.texts(ADMIN), timeout=30)
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        log = output.decode()
        assert process.returncode == 0, log
        assert TOKEN not in log
        assert PROVIDER_KEY not in log
        with sqlite3.connect(tmp_path / "llmhub.db") as conn:  # the default database
            assert conn.execute("SELECT prompt FROM requests").fetchall() == [("hello process",)]
