"""The sync API: blocking calls on one shared background loop, from plain code, from
inside a running event loop (Jupyter), and written to the log at process exit."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from pydantic import BaseModel

import llmhub.sync
from llmhub.testing.openai_server import Behaviour, FakeOpenAIServer

KEY = "sk-sync-1234"
MODEL = "mistral-small-latest"


class ServerThread:
    """The fake provider on a loop of its own thread: a sync call made from the test's
    loop blocks that loop, so the server must not live there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = FakeOpenAIServer(api_key=KEY)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.__aenter__(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.__aexit__(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def then(self, *behaviours: Behaviour) -> None:
        self.loop.call_soon_threadsafe(self.server.then, *behaviours)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerThread]:
    with ServerThread() as running:
        monkeypatch.setenv("MISTRAL_API_KEY", KEY)
        monkeypatch.setenv("MISTRAL_ENDPOINT", running.server.url)
        yield running
    llmhub.sync.close_default_hub()


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


class Answer(BaseModel):
    value: int


def test_sync_calls_answer_stream_and_log(server: ServerThread, isolated_env: Path) -> None:
    assert llmhub.sync.generate_reply(1, "hello", MODEL) == "echo: hello"
    with llmhub.sync.stream_reply(1, "one two three", MODEL) as stream:
        pieces = list(stream)
    assert pieces == ["echo:", " one", " two", " three"]
    assert stream.reply is not None
    assert stream.reply.request_id == stream.request_id
    server.then(Behaviour(text='{"value": 42}'))
    assert llmhub.sync.generate_reply(1, "the answer", MODEL, output=Answer) == Answer(value=42)
    vectors = llmhub.sync.embed(["a b", "c"], "mistral-embed")
    assert len(vectors.vectors) == 2
    llmhub.sync.close_default_hub()
    statuses = _rows(isolated_env / "llmhub.db", "SELECT status FROM responses")
    assert statuses == [("ok",), ("ok",), ("ok",)]
    # The second call saw the first as context: one log, one loop, across calls.
    assert server.server.requests[1]["messages"][0]["content"] == "hello"


def test_leaving_a_sync_stream_early_stops_it_and_logs_what_arrived(
    server: ServerThread, isolated_env: Path
) -> None:
    stream = llmhub.sync.stream_reply(2, "a b c d e f", MODEL)
    for piece in stream:
        assert piece == "echo:"
        break
    llmhub.sync.close_default_hub()
    assert _rows(isolated_env / "llmhub.db", "SELECT status, text FROM responses") == [
        ("cancelled", "echo:")
    ]


def test_a_sync_hub_of_ones_own_runs_tools(server: ServerThread, tmp_path: Path) -> None:
    ran: list[str] = []

    def lookup(word: str) -> str:
        """Look a word up."""
        ran.append(word)
        return f"{word} means hello"

    server.then(Behaviour(tool_calls=[{"name": "lookup", "arguments": {"word": "ciao"}}]))
    env = {
        "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'own.db'}",
        "MISTRAL_API_KEY": KEY,
        "MISTRAL_ENDPOINT": server.server.url,
    }
    with llmhub.sync.Hub.open(env) as hub:
        reply = hub.reply(3, "What is ciao?", MODEL, tools=[lookup])
        assert "llmhub.sync.Hub" in repr(hub)
    assert ran == ["ciao"]
    assert reply.text == "echo: What is ciao?"
    assert _rows(tmp_path / "own.db", "SELECT name, output FROM tool_calls") == [
        ("lookup", "ciao means hello")
    ]


async def test_a_sync_call_works_inside_a_running_event_loop(server: ServerThread) -> None:
    # As in a Jupyter cell: this thread runs a loop, and the sync call must not need it.
    asyncio.get_running_loop()
    assert llmhub.sync.generate_reply(4, "from a notebook", MODEL) == "echo: from a notebook"


def test_the_log_is_written_when_a_script_exits_without_closing(
    server: ServerThread, tmp_path: Path
) -> None:
    script = textwrap.dedent(
        f"""
        import llmhub.sync
        print(llmhub.sync.generate_reply(5, "bye", "{MODEL}"))
        """
    )
    db = tmp_path / "script.db"
    env = {
        "LLMHUB_DATABASE_URL": f"sqlite:///{db}",
        "MISTRAL_API_KEY": KEY,
        "MISTRAL_ENDPOINT": server.server.url,
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "echo: bye"
    assert "Traceback" not in done.stderr
    assert _rows(
        db, "SELECT q.prompt, r.status FROM requests q JOIN responses r ON r.request_id = q.id"
    ) == [("bye", "ok")]
