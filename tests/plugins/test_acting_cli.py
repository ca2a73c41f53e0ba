"""`llmhub chat --tool / --schema / --reasoning`, `llmhub embed` and `llmhub models`
against the local OpenAI-style server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from llmhub import cli
from llmhub.testing.openai_server import Behaviour, FakeOpenAIServer

KEY = "sk-cli-acting-42"


@pytest.fixture
async def server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(api_key=KEY) as fake:
        monkeypatch.setenv("MISTRAL_API_KEY", KEY)
        monkeypatch.setenv("MISTRAL_ENDPOINT", fake.url)
        yield fake


TOOLS = '''
def shout(text: str) -> str:
    """Say it loudly."""
    return text.upper() + "!"
'''


async def test_chat_runs_a_tool_from_a_module_and_says_so(
    server: FakeOpenAIServer, isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated_env / "loud.py").write_text(TOOLS)
    server.then(
        Behaviour(tool_calls=[{"name": "shout", "arguments": {"text": "hi"}}]),
        Behaviour(text="Done: HI!"),
    )
    argv = ["chat", "-m", "mistral-small-latest", "--tool", "loud:shout", "say hi"]
    assert await asyncio.to_thread(cli.main, argv) == 0
    captured = capsys.readouterr()
    assert captured.out == "Done: HI!\n"
    assert '(tool shout({"text": "hi"}))' in captured.err
    assert server.requests[0]["tools"][0]["function"]["name"] == "shout"
    assert server.requests[1]["messages"][-1]["content"] == "HI!"


async def test_chat_takes_a_tool_from_a_file_path(
    server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sub" / "my_tools.py"
    path.parent.mkdir()
    path.write_text(TOOLS)
    server.then(
        Behaviour(tool_calls=[{"name": "shout", "arguments": {"text": "yo"}}]), Behaviour(text="ok")
    )
    argv = ["chat", "-m", "mistral-small-latest", "--no-stream", "--tool", f"{path}:shout", "x"]
    assert await asyncio.to_thread(cli.main, argv) == 0
    assert "(tool shout(" in capsys.readouterr().err
    assert server.requests[1]["messages"][-1]["content"] == "YO!"


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("nosuchmodule:f", "ModuleNotFoundError"),
        ("json:nope", "has no function 'nope'"),
        ("justaname", "module:function"),
    ],
)
async def test_a_bad_tool_is_a_clear_error_and_nothing_is_sent(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str], spec: str, says: str
) -> None:
    assert (
        await asyncio.to_thread(
            cli.main, ["chat", "-m", "mistral-small-latest", "--tool", spec, "x"]
        )
        == 2
    )
    assert says in capsys.readouterr().err
    assert server.requests == []


async def test_chat_with_a_schema_prints_the_parsed_json(
    server: FakeOpenAIServer, isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    (isolated_env / "city.json").write_text(json.dumps(schema))
    server.then(Behaviour(text='{"city": "Paris"}'))
    argv = ["chat", "-m", "mistral-small-latest", "--schema", "city.json", "Capital of France?"]
    assert await asyncio.to_thread(cli.main, argv) == 0
    assert json.loads(capsys.readouterr().out) == {"city": "Paris"}
    assert server.requests[0]["response_format"]["json_schema"]["schema"]["required"] == ["city"]


async def test_chat_reasoning_and_its_refusal(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["chat", "-m", "magistral-small-latest", "--reasoning", "off", "--no-stream", "2+2"]
    assert await asyncio.to_thread(cli.main, argv) == 0
    assert server.requests[0]["reasoning_effort"] == "none"
    argv = ["chat", "-m", "magistral-small-latest", "--reasoning", "medium", "2+2"]
    assert await asyncio.to_thread(cli.main, argv) == 2
    assert "does not take reasoning='medium'; it takes off, high" in capsys.readouterr().err
    assert len(server.requests) == 1


async def test_embed_prints_a_vector_a_line(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await asyncio.to_thread(cli.main, ["embed", "-m", "mistral-embed", "ab", "cd e"]) == 0
    captured = capsys.readouterr()
    assert [json.loads(line) for line in captured.out.splitlines()] == [
        [2.0, 97.0, 98.0, 32.0],
        [4.0, 99.0, 100.0, 32.0],
    ]
    assert "(2 vectors, 3 tokens" in captured.err


async def test_models_says_what_each_model_does(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.models = ["mistral-small-latest", "magistral-small-latest", "mistral-embed"]
    assert await asyncio.to_thread(cli.main, ["models"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "chat tools schema" in rows["mistral/mistral-small-latest"]
    assert "off,high (on)" in rows["mistral/magistral-small-latest"]
    assert " embed " in rows["mistral/mistral-embed"]


async def test_logs_show_each_tool_round(
    server: FakeOpenAIServer, isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated_env / "loud.py").write_text(TOOLS)
    server.then(
        Behaviour(tool_calls=[{"name": "shout", "arguments": {"text": "hey"}}]),
        Behaviour(text="HEY!"),
    )
    argv = ["chat", "-m", "mistral-small-latest", "--no-stream", "--tool", "loud:shout", "x"]
    assert await asyncio.to_thread(cli.main, argv) == 0
    capsys.readouterr()
    assert await asyncio.to_thread(cli.main, ["logs", "-n", "1"]) == 0
    out = capsys.readouterr().out
    assert '  🔧 shout({"text": "hey"})' in out
    assert ": HEY!" in out
