"""The module-level calls' hub closes with its event loop, in a process of its own.

`asyncio.run()` cancels every task before the loop ends; a call left running
then still logs its `cancelled` row, the store writes everything queued, and
the process exits without a word on stderr.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from llmhub.testing.openai_server import Behaviour, FakeOpenAIServer
from tests.scripts import run_python

KEY = "sk-default-hub-key-5e6f7a8b"

LEFT_RUNNING = """
import asyncio

from llmhub import generate_reply, get_default_hub


async def main() -> None:
    await generate_reply(7, "answered", model="mistral-small-latest")
    asyncio.create_task(generate_reply(7, "left running", model="mistral-small-latest"))
    hub = await get_default_hub()
    while len(await hub.store.fetch("SELECT id FROM requests")) < 2:
        await asyncio.sleep(0.01)


asyncio.run(main())
"""


async def _responses(url: str) -> list[tuple[str, str]]:
    sql = "SELECT q.prompt, r.status FROM requests q JOIN responses r ON r.request_id = q.id"
    if url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
            return sorted(db.execute(sql).fetchall())
    import psycopg

    async with await psycopg.AsyncConnection.connect(url) as db:
        cursor = await db.execute(sql)
        return sorted(await cursor.fetchall())


async def test_a_call_left_running_at_the_loop_end_is_logged_and_nothing_stays_open(
    tmp_path: Path, database_url: str
) -> None:
    async with FakeOpenAIServer(api_key=KEY) as llm:
        llm.then(Behaviour(), Behaviour(hang=True))
        code, _out, err = await run_python(
            LEFT_RUNNING,
            tmp_path,
            {
                "MISTRAL_API_KEY": KEY,
                "MISTRAL_ENDPOINT": llm.url,
                "LLMHUB_DATABASE_URL": database_url,
            },
        )
        llm.release()
    assert code == 0, err
    assert err == ""
    assert await _responses(database_url) == [("answered", "ok"), ("left running", "cancelled")]
