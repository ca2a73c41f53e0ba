"""A process forked by the tests' fork server behaves as the exec'd script does."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests import forkserver

SCRIPT = Path(sys.executable).with_name("llmhub-bot")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        forkserver.SOCKET_VARIABLE not in os.environ or not SCRIPT.exists(),
        reason="no fork server in this session (Linux only), or no llmhub-bot",
    ),
]


async def _run(
    argv: list[str], env: dict[str, str], cwd: Path, *, fresh: Sequence[bool] = (False, True)
) -> list[tuple[int, bytes, bytes]]:
    """(exit code, stdout, stderr) of `argv` forked, then exec'd (or as `fresh` says)."""
    results = []
    for fresh_start in fresh:
        out, err = cwd / f"out-{fresh_start}", cwd / f"err-{fresh_start}"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = await forkserver.start(
                argv, env=env, cwd=cwd, stdout=stdout, stderr=stderr, fresh=fresh_start
            )
            code = await asyncio.wait_for(process.wait(), 60)
        results.append((code, out.read_bytes(), err.read_bytes()))
    return results


def _env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("LLMHUB_")}, **extra}


async def test_arguments_output_and_exit_code_are_the_scripts(tmp_path: Path) -> None:
    forked, execd = await _run([str(SCRIPT), "--version"], _env(), tmp_path)
    assert forked == execd
    assert forked[0] == 0
    assert forked[1].startswith(b"llmhub-bot ")


async def test_the_environment_and_the_working_directory_are_the_ones_given(
    tmp_path: Path,
) -> None:
    env = _env(MISTRAL_API_KEY="k", PYTHONWARNINGS="always")
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=read-from-the-folder\n")
    forked, execd = await _run([str(SCRIPT)], env, tmp_path)
    assert forked == execd
    assert (forked[0], forked[2]) == (
        2,
        b"llmhub-bot: TELEGRAM_BOT_TOKEN is malformed (see @BotFather)\n",
    )

    (tmp_path / ".env").unlink()
    [forked] = await _run([str(SCRIPT)], env, tmp_path, fresh=[False])
    assert forked[0] == 2
    assert b"TELEGRAM_BOT_TOKEN" in forked[2]
    assert b"malformed" not in forked[2]


async def test_a_signal_reaches_the_process_and_its_status_says_so(tmp_path: Path) -> None:
    env = _env(
        TELEGRAM_BOT_TOKEN="123456:" + "a" * 35,
        MISTRAL_API_KEY="k",
        TELEGRAM_API_URL="http://127.0.0.1:9",  # nobody answers: it waits, saying so
    )
    process = await forkserver.start(
        [str(SCRIPT)], env=env, cwd=tmp_path, stdout=forkserver.PIPE, stderr=forkserver.STDOUT
    )
    assert process.stdout is not None
    lines = [await asyncio.wait_for(process.stdout.readline(), 60)]
    while lines[-1] and b"Telegram does not answer" not in lines[-1]:
        lines.append(await asyncio.wait_for(process.stdout.readline(), 60))
    assert lines[-1], lines  # it said so before its output ended
    assert process.pid != os.getpid()
    process.send_signal(signal.SIGKILL)
    await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == -signal.SIGKILL
