"""Every example in `examples/` runs as its README says, against the local fakes."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import tomllib
from pathlib import Path

import aiohttp
import pytest

from llmhub.testing.openai_server import Behaviour, FakeOpenAIServer
from tests.bot.conftest import ADMIN, open_world
from tests.scripts import run, run_python
from tests.services import fresh_postgres_database

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
KEY = "sk-examples-5e4d3c2b1a"

pytestmark = pytest.mark.slow


def _mistral(server: FakeOpenAIServer, tmp_path: Path) -> dict[str, str]:
    return {
        "MISTRAL_API_KEY": KEY,
        "MISTRAL_ENDPOINT": server.url,
        "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'llmhub.db'}",
    }


async def test_the_sync_script_answers_and_goes_on_with_the_conversation(tmp_path: Path) -> None:
    async with FakeOpenAIServer(api_key=KEY) as server:
        code, out, err = await run(
            [sys.executable, str(EXAMPLES / "sync_script.py"), "What", "is", "a", "haiku?"],
            tmp_path,
            _mistral(server, tmp_path),
        )
        assert code == 0, err
        assert out == "echo: What is a haiku?\necho: Now one line shorter.\n"
        assert re.fullmatch(r"\(\d+ tokens in, \d+ out\)\n", err), err
        second = [m["content"] for m in server.requests[-1]["messages"]]
        assert second == ["What is a haiku?", "echo: What is a haiku?", "Now one line shorter."]


async def test_the_notebook_runs_in_a_kernels_running_loop(tmp_path: Path) -> None:
    """As Jupyter runs cells: inside a running event loop, one cell after another."""
    source = (EXAMPLES / "notebook.py").read_text(encoding="utf-8")
    cells = re.split(r"^# %%.*$", source, flags=re.MULTILINE)
    assert len(cells) > 4
    code = (
        "import asyncio\n"
        f"cells = {cells!r}\n"
        "async def kernel():\n"
        "    namespace = {}\n"
        "    for cell in cells:\n"
        "        exec(cell, namespace)\n"
        "asyncio.run(kernel())\n"
    )
    async with FakeOpenAIServer(api_key=KEY) as server:
        status, out, err = await run_python(code, tmp_path, _mistral(server, tmp_path))
    assert status == 0, err
    assert "Name a prime number. -> echo: Name a prime number." in out
    assert out.rstrip().endswith("3 exchanges logged")
    assert "ResourceWarning" not in err


async def test_the_plugin_example_is_found_by_its_entry_point_and_answers(tmp_path: Path) -> None:
    """The example plugin as an installer lays it out: its package on the path and
    the entry points its pyproject declares in a dist-info (no build, no index)."""
    root = EXAMPLES / "llmhub-ollama"
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    info = tmp_path / "site" / f"llmhub_ollama-{project['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    points = project["entry-points"]["llmhub.providers"]
    (info / "entry_points.txt").write_text(
        "[llmhub.providers]\n" + "".join(f"{k} = {v}\n" for k, v in points.items())
    )
    pythonpath = f"{tmp_path / 'site'}:{root / 'src'}"
    # The tutorial's own test of the plugin, as a plugin author runs it.
    tutorial = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    test_code = tutorial.split("## 5. Test it", 1)[1].split("```python\n", 1)[1].split("\n```")[0]
    (tmp_path / "test_ollama.py").write_text(test_code, encoding="utf-8")
    llmhub = str(Path(sys.executable).with_name("llmhub"))
    async with FakeOpenAIServer() as server:  # Ollama asks for no key
        env = {
            "PYTHONPATH": pythonpath,
            "OLLAMA_ENDPOINT": f"{server.url}/v1",
            "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'llmhub.db'}",
        }
        pytest_run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        pytest_run += ["-o", "asyncio_mode=auto", "-p", "no:xdist", "test_ollama.py"]
        code, out, err = await run(pytest_run, tmp_path, {"PYTHONPATH": pythonpath})
        assert code == 0, out + err
        assert "1 passed" in out
        code, out, err = await run([llmhub, "providers"], tmp_path, env)
        assert code == 0, err
        [line] = [line for line in out.splitlines() if line.startswith("ollama ")]
        assert "llmhub-ollama 0.1.0" in line
        code, out, err = await run(
            [llmhub, "chat", "-m", "ollama/llama3.2", "--no-stream", "hi"], tmp_path, env
        )
        assert (code, out) == (0, "echo: hi\n"), err
        assert "authorization" not in {h.lower() for h in server.headers[-1]}


async def test_the_dice_tool_is_called_by_the_bots_model(tmp_path: Path) -> None:
    spec = f"{EXAMPLES / 'bot_tool' / 'dice.py'}:roll_dice"
    async with open_world(tmp_path, bot_tools=spec) as world:
        world.llm.then(
            Behaviour(tool_calls=[{"name": "roll_dice", "arguments": {"count": 2, "sides": 6}}]),
            Behaviour(text="You rolled them."),
        )
        await world.tg.push(world.tg.message(ADMIN, "Roll two dice"))
        await world.tg.wait_for(lambda tg: "You rolled them." in tg.texts(ADMIN))
        [tool_turn] = [m for m in world.llm.requests[1]["messages"] if m["role"] == "tool"]
        rolled = [int(n) for n in re.findall(r"\d+", tool_turn["content"])]
        assert len(rolled) == 2
        assert all(1 <= n <= 6 for n in rolled)
        [schema] = world.llm.requests[0]["tools"]
        assert schema["function"]["parameters"]["properties"]["sides"]["description"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_fastapi_app_shares_each_chat_across_its_workers_on_postgres(
    tmp_path: Path,
) -> None:
    pytest.importorskip("fastapi")
    uvicorn = Path(sys.executable).with_name("uvicorn")
    port = _free_port()
    async with (
        FakeOpenAIServer(api_key=KEY) as server,
        fresh_postgres_database() as database,
    ):
        env = {
            "MISTRAL_API_KEY": KEY,
            "MISTRAL_ENDPOINT": server.url,
            "LLMHUB_DATABASE_URL": database,
            "PYTHONPATH": str(EXAMPLES.parent),
        }
        argv = [str(uvicorn), "examples.fastapi_app:app", "--workers", "2", "--port", str(port)]
        serving = await asyncio.create_subprocess_exec(
            *argv,
            cwd=tmp_path,
            env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession() as http:
                for _ in range(300):
                    try:
                        async with http.get(f"{url}/healthz") as answer:
                            if answer.status == 200:
                                assert await answer.json() == {"ok": True, "held_rows": 0}
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError("uvicorn never answered")
                # A fresh connection each time: the requests spread over both workers.
                texts = []
                for n in range(6):
                    async with (
                        aiohttp.ClientSession() as fresh,
                        fresh.post(f"{url}/chats/7", json={"text": f"turn {n}"}) as answer,
                    ):
                        assert answer.status == 200, await answer.text()
                        texts.append((await answer.json())["text"])
                async with http.post(f"{url}/chats/7/stream", json={"text": "last"}) as answer:
                    assert answer.status == 200
                    streamed = await answer.text()
                async with http.post(
                    f"{url}/chats/7", json={"text": "x", "model": "no-such-model"}
                ) as answer:
                    assert answer.status == 400
        finally:
            serving.send_signal(signal.SIGTERM)  # uvicorn stops its workers, which close their hubs
            log, _ = await asyncio.wait_for(serving.communicate(), 60)
    assert serving.returncode == 0, log.decode()
    assert "Traceback" not in log.decode()
    assert texts == [f"echo: turn {n}" for n in range(6)]
    assert streamed == "echo: last"
    # Every turn, whichever worker answered it, was in the last one's context.
    context = [m["content"] for m in server.requests[-1]["messages"]]
    assert context[-3:] == ["turn 5", "echo: turn 5", "last"]
    assert context.count("turn 0") == 1
