"""What a new user meets first: opening a hub, `--version`, a prompt piped in, and
where the log goes. The console scripts run as separate processes, as a user runs
them."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from llmhub import Hub, HubOpening
from llmhub.testing.openai_server import FakeOpenAIServer

KEY = "sk-first-contact-1234567890"
BIN = Path(sys.executable).parent


def _env(server: FakeOpenAIServer, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LLMHUB_", "MISTRAL_"))},
        "MISTRAL_API_KEY": KEY,
        "MISTRAL_ENDPOINT": server.url,
        **extra,
    }


async def _run(
    argv: list[str], cwd: Path, env: dict[str, str], stdin: str | None = None
) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(
        process.communicate(None if stdin is None else stdin.encode()), 60
    )
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_hub_opens_in_async_with_and_closes_at_its_end(tmp_path: Path) -> None:
    env = {"LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'log.db'}"}
    opening = Hub.open(env)
    assert isinstance(opening, HubOpening)
    async with opening as hub:
        assert isinstance(hub, Hub)
        await hub.store.fetch("SELECT 1 AS one")
    with pytest.raises(Exception, match="not open"):
        await hub.store.fetch("SELECT 1 AS one")
    # Awaited, it is the hub itself, which closes as before.
    async with await Hub.open(env) as again:
        assert (await again.store.fetch("SELECT 1 AS one")) == [{"one": 1}]


async def test_version_names_the_package_and_python(tmp_path: Path) -> None:
    import llmhub

    code, out, _ = await _run([str(BIN / "llmhub"), "--version"], tmp_path, dict(os.environ))
    assert code == 0
    assert out.startswith(f"llmhub {llmhub.__version__} (Python 3.")


async def test_a_piped_prompt_loses_the_newline_that_ends_it_and_the_log_is_announced_once(
    tmp_path: Path,
) -> None:
    async with FakeOpenAIServer(api_key=KEY) as server:
        env = _env(server)
        argv = [str(BIN / "llmhub"), "chat", "-m", "mistral-small-latest"]
        code, out, err = await _run(argv, tmp_path, env, stdin="two lines\nof prompt\n")
        assert code == 0, err
        assert out == "echo: two lines\nof prompt\n"
        assert server.requests[-1]["messages"][-1]["content"] == "two lines\nof prompt"
        # Where the log is: said when it is made, not every time after.
        where = tmp_path.resolve() / "llmhub.db"  # noqa: ASYNC240
        assert err.splitlines()[0] == (
            f"llmhub: logging every exchange to {where} (LLMHUB_DATABASE_URL sets another place)"
        )
        code, _, err = await _run([*argv, "again"], tmp_path, env)
        assert code == 0
        assert "logging every exchange" not in err


async def test_the_bot_script_prints_its_help(tmp_path: Path) -> None:
    code, out, err = await _run([str(BIN / "llmhub-bot"), "--help"], tmp_path, dict(os.environ))
    assert code == 0, err
    assert out.startswith("usage: llmhub-bot")
    assert "TELEGRAM_BOT_TOKEN" in out
    assert "WEBHOOK_URL" in out
    code, out, _ = await _run([str(BIN / "llmhub-bot"), "--version"], tmp_path, dict(os.environ))
    assert (code, out.split()[0]) == (0, "llmhub-bot")
